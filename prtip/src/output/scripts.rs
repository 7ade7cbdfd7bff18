//! NSE script results in nmap's shapes: `|`/`|_` lines under a port or
//! under "Host script results:" (normal output), and `<script id output>`
//! with `<elem>`/`<table>` children (XML).

use super::text::screen_safe;
use super::xml::escape;
use prtip_core::result::{ScriptElem, ScriptOutput, ScriptResults};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use std::fmt::Write as _;

/// A host's script results in `-oJ`: `{"ports": [{"port", "protocol",
/// "results"}], "host": [results]}`.
pub(crate) struct ScriptsJson<'a>(pub &'a ScriptResults);

struct OutputsJson<'a>(&'a [ScriptOutput]);
struct ElemsJson<'a>(&'a [ScriptElem]);

impl Serialize for ScriptsJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct PortJson<'a> {
            port: u16,
            protocol: &'static str,
            results: OutputsJson<'a>,
        }
        let ports: Vec<PortJson<'_>> = self
            .0
            .ports
            .iter()
            .map(|(proto, port, outs)| PortJson {
                port: *port,
                protocol: proto.as_str(),
                results: OutputsJson(outs),
            })
            .collect();
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("ports", &ports)?;
        m.serialize_entry("host", &OutputsJson(&self.0.host))?;
        m.end()
    }
}

impl Serialize for OutputsJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for o in self.0 {
            let mut m = serde_json::Map::new();
            m.insert("id".into(), o.id.clone().into());
            m.insert("output".into(), o.output.clone().into());
            let elems = o
                .structured
                .as_deref()
                .map(|e| serde_json::to_value(ElemsJson(e)))
                .transpose()
                .map_err(serde::ser::Error::custom)?;
            m.insert("elements".into(), elems.unwrap_or(serde_json::Value::Null));
            seq.serialize_element(&m)?;
        }
        seq.end()
    }
}

impl Serialize for ElemsJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for e in self.0 {
            let mut m = serde_json::Map::new();
            let key = match e {
                ScriptElem::Elem { key, value } => {
                    m.insert("value".into(), value.clone().into());
                    key
                }
                ScriptElem::Table { key, children } => {
                    let c = serde_json::to_value(ElemsJson(children))
                        .map_err(serde::ser::Error::custom)?;
                    m.insert("table".into(), c);
                    key
                }
            };
            m.insert("key".into(), key.clone().into());
            seq.serialize_element(&m)?;
        }
        seq.end()
    }
}

/// nmap's normal-output lines of `outs`: the first line after `| id: `,
/// the last after `|_`, one trailing newline of the text ignored.
pub(crate) fn normal_lines(outs: &[ScriptOutput], out: &mut String) {
    for o in outs {
        let text = o.output.strip_suffix('\n').unwrap_or(&o.output);
        let lines: Vec<&str> = text.split('\n').collect();
        let last = lines.len() - 1;
        for (i, line) in lines.iter().enumerate() {
            out.push_str(if i == last { "|_" } else { "| " });
            if i == 0 {
                out.push_str(&screen_safe(&o.id));
                out.push_str(": ");
            }
            out.push_str(&screen_safe(line));
            out.push('\n');
        }
    }
}

/// The host scripts' block of normal output (nothing when there are none).
pub(crate) fn host_section(outs: &[ScriptOutput], out: &mut String) {
    if outs.is_empty() {
        return;
    }
    out.push_str("\nHost script results:\n");
    normal_lines(outs, out);
}

/// `<script>` elements (`tag` is `script`) for `outs`, as nmap writes them:
/// self-closed for a text-only result, children for a structured one.
pub(crate) fn xml_elements(outs: &[ScriptOutput], s: &mut String) {
    for o in outs {
        let _ = write!(
            s,
            "<script id=\"{}\" output=\"{}\"",
            escape(&o.id),
            escape(&o.output)
        );
        match &o.structured {
            None => s.push_str("/>"),
            Some(children) => {
                s.push('>');
                for c in children {
                    xml_elem(c, s);
                }
                s.push_str("</script>");
            }
        }
    }
}

fn key_attr(key: &Option<String>) -> String {
    key.as_ref()
        .map(|k| format!(" key=\"{}\"", escape(k)))
        .unwrap_or_default()
}

fn xml_elem(e: &ScriptElem, s: &mut String) {
    match e {
        ScriptElem::Elem { key, value } => {
            let _ = writeln!(s, "<elem{}>{}</elem>", key_attr(key), escape(value));
        }
        ScriptElem::Table { key, children } => {
            let _ = writeln!(s, "<table{}>", key_attr(key));
            for c in children {
                xml_elem(c, s);
            }
            s.push_str("</table>\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(id: &str, text: &str, structured: Option<Vec<ScriptElem>>) -> ScriptOutput {
        ScriptOutput {
            id: id.into(),
            output: text.into(),
            structured,
        }
    }

    #[test]
    fn one_line_and_many_lines_like_nmap() {
        let mut s = String::new();
        normal_lines(
            &[
                out("http-title", "Site doesn't have a title (text/html).", None),
                out(
                    "ssl-date",
                    "\n  ERROR: Unable to obtain data from the target\n",
                    None,
                ),
            ],
            &mut s,
        );
        assert_eq!(
            s,
            "|_http-title: Site doesn't have a title (text/html).\n\
             | ssl-date: \n\
             |_  ERROR: Unable to obtain data from the target\n"
        );
    }

    #[test]
    fn xml_children_and_self_closed() {
        let mut s = String::new();
        let elems = vec![
            ScriptElem::Elem {
                key: None,
                value: "nginx/1.22.1".into(),
            },
            ScriptElem::Table {
                key: Some("t".into()),
                children: vec![],
            },
        ];
        xml_elements(
            &[
                out("a", "x\ny", None),
                out("b", "nginx/1.22.1", Some(elems)),
            ],
            &mut s,
        );
        assert_eq!(
            s,
            "<script id=\"a\" output=\"x&#xa;y\"/>\
             <script id=\"b\" output=\"nginx/1.22.1\"><elem>nginx/1.22.1</elem>\n\
             <table key=\"t\">\n</table>\n</script>"
        );
    }
}
