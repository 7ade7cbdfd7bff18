//! nmap's host and port tables, as scripts and shortport read them.

use crate::driver::{HostInput, PortInput};
use mlua::{Lua, Table};
use std::net::IpAddr;

fn port_table(lua: &Lua, p: &PortInput) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.set("number", p.number)?;
    t.set("protocol", p.protocol.as_str())?;
    t.set("state", p.state.as_str())?;
    t.set("reason", p.reason.as_str())?;
    let version = lua.create_table()?;
    if let Some(s) = &p.service {
        t.set("service", s.name.as_str())?;
        version.set("name", s.name.as_str())?;
        version.set("name_confidence", s.conf)?;
        version.set("product", s.product.as_deref())?;
        version.set("version", s.version.as_deref())?;
        version.set("extrainfo", s.extrainfo.as_deref())?;
        version.set("hostname", s.hostname.as_deref())?;
        version.set("ostype", s.ostype.as_deref())?;
        version.set("devicetype", s.devicetype.as_deref())?;
        version.set("service_tunnel", s.tunnel.as_deref().unwrap_or("none"))?;
        version.set(
            "cpe",
            lua.create_sequence_from(s.cpe.iter().map(String::as_str))?,
        )?;
    } else {
        version.set("name_confidence", 0)?;
        version.set("service_tunnel", "none")?;
        version.set("cpe", lua.create_table()?)?;
    }
    t.set("version", version)?;
    Ok(t)
}

fn bin_ip(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// The host table and its ports keyed "proto:number".
pub(crate) fn host_tables(lua: &Lua, h: &HostInput) -> mlua::Result<(Table, Table)> {
    let host = lua.create_table()?;
    host.set("ip", h.ip.to_string())?;
    host.set("name", h.name.as_deref().unwrap_or(""))?;
    host.set("targetname", h.targetname.as_deref())?;
    host.set("bin_ip", lua.create_string(bin_ip(h.ip))?)?;
    host.set("directly_connected", h.ip.is_loopback())?;
    host.set("registry", lua.create_table()?)?;
    let times = lua.create_table()?;
    times.set("srtt", 0.001)?;
    times.set("rttvar", 0.001)?;
    times.set("timeout", 1.0)?;
    host.set("times", times)?;
    let ports = lua.create_table()?;
    for p in &h.ports {
        ports.set(
            format!("{}:{}", p.protocol.as_str(), p.number),
            port_table(lua, p)?,
        )?;
    }
    Ok((host, ports))
}
