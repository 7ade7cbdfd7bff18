//! `prtip db diff --json`: the same differences as the text, one JSON
//! object per line: first the two scans, then one line per changed host.
//! A side that lacks something (a new host's old state, a port the old
//! scan did not list) is `null`.

use super::diff::{HostDiff, Port, Seen};
use serde_json::{json, Value};

/// `{"type":"scans","a":{"id":1,"banner":"..."},"b":{...}}`
pub(super) fn banner(a: i64, banner_a: &str, b: i64, banner_b: &str) -> String {
    let v = json!({
        "type": "scans",
        "a": {"id": a, "banner": banner_a},
        "b": {"id": b, "banner": banner_b},
    });
    format!("{v}\n")
}

/// One changed host: `change` is "new", "gone" or "changed"; `state`,
/// `not_shown` and `os` are there when they changed, `ports` lists the
/// ports whose state or service changed.
pub(super) fn host(d: &HostDiff<'_>) -> String {
    let (a, b) = (d.a, d.b);
    let change = match (a.state, b.state) {
        (None, _) => "new",
        (_, None) => "gone",
        _ => "changed",
    };
    let named = if b.state.is_some() { b } else { a };
    let mut v = json!({
        "type": "host",
        "change": change,
        "addr": named.addr,
        "hostname": named.hostname,
    });
    if d.state_changed {
        v["state"] = json!({"a": a.state, "b": b.state});
    }
    if d.extra_changed {
        v["not_shown"] = json!({"a": groups(a), "b": groups(b)});
    }
    let ports: Vec<Value> = d
        .ports
        .iter()
        .map(|(pa, pb)| {
            json!({
                "port": pa.port,
                "protocol": pa.protocol,
                "a": port(pa),
                "b": port(pb),
            })
        })
        .collect();
    if !ports.is_empty() {
        v["ports"] = Value::Array(ports);
    }
    if d.os_changed() {
        v["os"] = json!({"a": a.os, "b": b.os});
    }
    format!("{v}\n")
}

fn groups(h: &Seen) -> Value {
    h.extra
        .iter()
        .map(|(state, count)| json!({"state": state, "count": count}))
        .collect()
}

fn port(p: &Port) -> Value {
    if p.state.is_none() {
        return Value::Null;
    }
    let s = &p.service;
    json!({
        "state": p.state,
        "service": s.name,
        "product": s.product,
        "version": s.version,
        "extrainfo": s.extrainfo,
        "tunnel": s.tunnel,
    })
}
