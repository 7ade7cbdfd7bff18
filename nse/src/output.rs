//! A script's return values made into nmap's result: the text shown in
//! normal output and XML's `output` attribute, and the structure (XML
//! `<elem>`/`<table>`) when the script returned a table.

use crate::driver::Ending;
use mlua::{Function, Lua, MultiValue, Table, Value};
use prtip_core::result::{ScriptElem, ScriptOutput};

/// From `native.run_action`'s answer to how the run ended.
pub(crate) fn ending(lua: &Lua, native: &Table, id: &str, out: MultiValue) -> mlua::Result<Ending> {
    let mut it = out.into_iter();
    let status = match it.next() {
        Some(Value::String(s)) => s.to_str()?.to_string(),
        _ => return Ok(Ending::Failed("no status from the script runner".into())),
    };
    let r1 = it.next().unwrap_or(Value::Nil);
    let r2 = it.next().unwrap_or(Value::Nil);
    match status.as_str() {
        "ok" => Ok(Ending::Output(set_output(lua, native, id, r1, r2)?)),
        "try" => Ok(Ending::Output(None)),
        _ => Ok(Ending::Failed(lua_text(&r1))),
    }
}

fn lua_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string_lossy(),
        other => format!("{other:?}"),
    }
}

/// nmap's rules: (table, text) keeps both; a lone string is text only; a
/// lone table is formatted into text; nil shows nothing.
fn set_output(
    lua: &Lua,
    native: &Table,
    id: &str,
    r1: Value,
    r2: Value,
) -> mlua::Result<Option<ScriptOutput>> {
    let tostring: Function = lua.globals().get("tostring")?;
    let (tab, text) = match (&r1, &r2) {
        (_, v2) if !v2.is_nil() => (Some(r1.clone()), tostring.call::<String>(r2)?),
        (Value::String(s), _) => (None, s.to_string_lossy()),
        (Value::Nil, _) => return Ok(None),
        _ => {
            let fmt: Function = native.get("format_table")?;
            (Some(r1.clone()), fmt.call::<String>(r1.clone())?)
        }
    };
    let structured = match tab {
        Some(t) => Some(structure(native, t)?),
        None => None,
    };
    Ok(Some(ScriptOutput {
        id: id.to_string(),
        output: text,
        structured,
    }))
}

/// The children of a table result (or one `<elem>` for a scalar).
fn structure(native: &Table, v: Value) -> mlua::Result<Vec<ScriptElem>> {
    let tree: Function = native.get("tree")?;
    let root: Table = tree.call(v)?;
    Ok(match elem(&root)? {
        ScriptElem::Table { children, .. } => children,
        e => vec![e],
    })
}

fn elem(node: &Table) -> mlua::Result<ScriptElem> {
    let key: Option<String> = node.get("key")?;
    if node.get::<bool>("table")? {
        let children: Table = node.get("children")?;
        let mut out = Vec::new();
        for c in children.sequence_values::<Table>() {
            out.push(elem(&c?)?);
        }
        Ok(ScriptElem::Table { key, children: out })
    } else {
        Ok(ScriptElem::Elem {
            key,
            value: node.get("value")?,
        })
    }
}
