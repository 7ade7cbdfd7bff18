//! The Lua state NSE runs in: nselib on `package.path`, Debian's Lua C
//! modules (lua-lpeg) on the default `package.cpath`, and the `nmap` module.

use crate::{Error, NseConfig};
use mlua::{Lua, LuaOptions, StdLib, Table};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

const PRELUDE: &str = include_str!("prelude.lua");

/// One VM: the state, and the `native` table the driver and prelude share.
#[derive(Debug)]
pub struct Vm {
    pub lua: Lua,
    pub native: Table,
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// `nmap.get_random_bytes`: `n` bytes from the kernel's generator.
fn random_bytes(n: usize) -> mlua::Result<Vec<u8>> {
    use std::io::Read;
    let mut buf = vec![0u8; n];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .map_err(mlua::Error::external)?;
    Ok(buf)
}

/// `nmap.fetchfile`: the first data directory holding `name`.
fn fetch(dirs: &[PathBuf], name: &str) -> Option<String> {
    if name.split('/').any(|part| part == "..") {
        return None;
    }
    dirs.iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .and_then(|p| p.to_str().map(str::to_string))
}

/// The `nmap` functions written in Rust that need no socket.
fn nmap_module(lua: &Lua, cfg: &NseConfig) -> mlua::Result<Table> {
    let nmap = lua.create_table()?;
    let (v, d) = (cfg.verbosity, cfg.debugging);
    nmap.set("verbosity", lua.create_function(move |_, ()| Ok(v))?)?;
    nmap.set("debugging", lua.create_function(move |_, ()| Ok(d))?)?;
    nmap.set("clock", lua.create_function(|_, ()| Ok(now_secs()))?)?;
    nmap.set(
        "clock_ms",
        lua.create_function(|_, ()| Ok((now_secs() * 1000.0).floor()))?,
    )?;
    let family = if cfg.ipv6 { "inet6" } else { "inet" };
    nmap.set(
        "address_family",
        lua.create_function(move |_, ()| Ok(family))?,
    )?;
    nmap.set("timing_level", lua.create_function(|_, ()| Ok(3))?)?;
    nmap.set("version_intensity", lua.create_function(|_, ()| Ok(7))?)?;
    nmap.set("is_privileged", lua.create_function(|_, ()| Ok(false))?)?;
    nmap.set("have_ssl", lua.create_function(|_, ()| Ok(true))?)?;
    nmap.set(
        "list_interfaces",
        lua.create_function(|lua, ()| lua.create_table())?,
    )?;
    nmap.set(
        "get_random_bytes",
        lua.create_function(|lua, n: usize| lua.create_string(random_bytes(n.min(1 << 20))?))?,
    )?;
    let dirs = cfg.data_dirs.clone();
    nmap.set(
        "fetchfile",
        lua.create_function(move |_, name: String| Ok(fetch(&dirs, &name)))?,
    )?;
    nmap.set(
        "log_write",
        lua.create_function(|_, (_, msg): (String, String)| {
            eprintln!("NSE: {msg}");
            Ok(())
        })?,
    )?;
    Ok(nmap)
}

/// A fresh VM for NSE rooted at `root` (the data directory holding
/// `nselib/`; `None` for prtip's built-in scripts, which need no nselib).
pub fn new_vm(cfg: &NseConfig, root: Option<&Path>) -> Result<Vm, Error> {
    // SAFETY: the unsafe constructor only allows loading C modules
    // (package.loadlib and the C searcher); those are Debian's Lua 5.3
    // modules (lua-lpeg) that nselib requires, built for this liblua.
    let lua = unsafe { Lua::unsafe_new_with(StdLib::ALL, LuaOptions::new()) };
    let package: Table = lua.globals().get("package")?;
    let path = match root {
        Some(root) => format!("{}/?.lua", root.join("nselib").display()),
        None => String::new(),
    };
    package.set("path", path)?;
    let nmap = nmap_module(&lua, cfg)?;
    let native = lua.create_table()?;
    crate::socket::install(&lua, &native)?;
    lua.load(PRELUDE)
        .set_name("prtip-nse prelude")
        .call::<()>((nmap.clone(), native.clone()))?;
    let loaded: Table = package.get("loaded")?;
    loaded.set("nmap", nmap)?;
    Ok(Vm { lua, native })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetch_refuses_parent_paths() {
        let dirs = vec![PathBuf::from("/")];
        assert_eq!(fetch(&dirs, "../etc/passwd"), None);
    }
}
