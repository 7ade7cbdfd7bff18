//! `nmap.new_socket`'s native half: TCP connect, send and receive on tokio.
//!
//! Each operation is an async Rust function called from Lua: while it waits
//! on the network the script's coroutine is suspended and the runtime runs
//! something else. Results follow nsock's shape: `true[, data]`, or
//! `false, message` with nmap's words (`TIMEOUT`, `EOF`). `"ssl"` sockets
//! and `reconnect_ssl` (STARTTLS) use rustls with the scanner's connector,
//! which verifies nothing (as -sV); rustls speaks TLS 1.2 and 1.3 only, so
//! servers limited to TLS 1.0/1.1 fail the handshake. UDP sockets are not
//! implemented yet and answer with an error message.

use mlua::{AnyUserData, IntoLuaMulti, Lua, MultiValue, Table, UserData};
use std::net::IpAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// A script socket's connection: plain TCP, or TLS over it.
#[derive(Debug)]
enum Conn {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Conn {
    async fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf).await,
            Conn::Tls(s) => s.read(buf).await,
        }
    }

    async fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        match self {
            Conn::Plain(s) => s.write_all(data).await,
            Conn::Tls(s) => {
                s.write_all(data).await?;
                s.flush().await
            }
        }
    }

    fn tcp(&self) -> &TcpStream {
        match self {
            Conn::Plain(s) => s,
            Conn::Tls(s) => s.get_ref().0,
        }
    }
}

/// The scan's TLS connector, made on first use.
fn connector() -> Option<TlsConnector> {
    static CONNECTOR: std::sync::OnceLock<Option<TlsConnector>> = std::sync::OnceLock::new();
    CONNECTOR
        .get_or_init(|| prtip_scanner::service::tls_connector().ok())
        .clone()
}

/// TLS over `tcp`, within `timeout`; the error in nsock's words.
async fn handshake(tcp: TcpStream, timeout: Duration) -> Result<Conn, String> {
    let Some(c) = connector() else {
        return Err("SSL is not available".into());
    };
    let peer = tcp.peer_addr().map_err(|e| io_words(&e))?;
    let name = prtip_scanner::service::tls_server_name(None, peer.ip());
    match tokio::time::timeout(timeout, c.connect(name, tcp)).await {
        Ok(Ok(s)) => Ok(Conn::Tls(Box::new(s))),
        Ok(Err(_)) => Err("Failed to establish SSL connection".into()),
        Err(_) => Err("TIMEOUT".into()),
    }
}

/// nmap's default socket timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const READ_CHUNK: usize = 8192;

/// One script socket.
#[derive(Debug)]
pub struct NativeSocket {
    stream: Option<Conn>,
    timeout: Duration,
}

impl UserData for NativeSocket {}

type Reply = mlua::Result<MultiValue>;

fn fail(lua: &Lua, msg: &str) -> Reply {
    (false, msg.to_string()).into_lua_multi(lua)
}

fn ok_data(lua: &Lua, data: &[u8]) -> Reply {
    (true, lua.create_string(data)?).into_lua_multi(lua)
}

/// An OS error's text without Rust's "(os error N)" suffix.
fn io_words(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Takes the socket's stream out for one operation (it goes back after).
fn take(ud: &AnyUserData) -> mlua::Result<(Option<Conn>, Duration)> {
    let mut s = ud.borrow_mut::<NativeSocket>()?;
    Ok((s.stream.take(), s.timeout))
}

fn put(ud: &AnyUserData, stream: Conn) -> mlua::Result<()> {
    ud.borrow_mut::<NativeSocket>()?.stream = Some(stream);
    Ok(())
}

async fn connect(lua: Lua, (ud, ip, port, proto): (AnyUserData, String, u16, String)) -> Reply {
    if proto != "tcp" && proto != "ssl" {
        return fail(
            &lua,
            &format!("{proto} sockets are not supported by prtip yet"),
        );
    }
    let Ok(addr) = ip.parse::<IpAddr>() else {
        return fail(&lua, "Failed to resolve the address");
    };
    let (_, timeout) = take(&ud)?;
    let tcp = match tokio::time::timeout(timeout, TcpStream::connect((addr, port))).await {
        Ok(Ok(tcp)) => tcp,
        Ok(Err(e)) => return fail(&lua, &io_words(&e)),
        Err(_) => return fail(&lua, "TIMEOUT"),
    };
    let conn = if proto == "ssl" {
        match handshake(tcp, timeout).await {
            Ok(c) => c,
            Err(e) => return fail(&lua, &e),
        }
    } else {
        Conn::Plain(tcp)
    };
    put(&ud, conn)?;
    true.into_lua_multi(&lua)
}

/// `socket:reconnect_ssl()`: TLS over the connected plain socket (STARTTLS).
async fn reconnect_ssl(lua: Lua, ud: AnyUserData) -> Reply {
    let (stream, timeout) = take(&ud)?;
    match stream {
        Some(Conn::Plain(tcp)) => match handshake(tcp, timeout).await {
            Ok(c) => {
                put(&ud, c)?;
                true.into_lua_multi(&lua)
            }
            Err(e) => fail(&lua, &e),
        },
        Some(tls) => {
            put(&ud, tls)?;
            fail(&lua, "the socket already speaks SSL")
        }
        None => fail(&lua, "Trying to reconnect a closed socket"),
    }
}

async fn send(lua: Lua, (ud, data): (AnyUserData, mlua::String)) -> Reply {
    let (stream, timeout) = take(&ud)?;
    let Some(mut stream) = stream else {
        return fail(&lua, "Trying to send through a closed socket");
    };
    let bytes = data.as_bytes().to_vec();
    // A write larger than a TLS record flushes in pieces; the timeout
    // bounds the whole.
    let r = tokio::time::timeout(timeout, stream.write_all(&bytes)).await;
    put(&ud, stream)?;
    match r {
        Ok(Ok(())) => true.into_lua_multi(&lua),
        Ok(Err(e)) => fail(&lua, &io_words(&e)),
        Err(_) => fail(&lua, "TIMEOUT"),
    }
}

/// Whether `buf` satisfies a receive of `kind` (`any`, `bytes`, `lines`).
fn enough(kind: &str, n: usize, buf: &[u8]) -> bool {
    match kind {
        "bytes" => buf.len() >= n,
        "lines" => buf.iter().filter(|&&b| b == b'\n').count() >= n,
        _ => !buf.is_empty(),
    }
}

async fn recv(lua: Lua, (ud, kind, n): (AnyUserData, String, usize)) -> Reply {
    let (stream, timeout) = take(&ud)?;
    let Some(mut stream) = stream else {
        return fail(&lua, "Trying to receive through a closed socket");
    };
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; READ_CHUNK];
    let deadline = tokio::time::Instant::now() + timeout;
    let mut err = None;
    while !enough(&kind, n, &buf) {
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Ok(Ok(0)) => err = Some("EOF".to_string()),
            Ok(Ok(k)) => buf.extend_from_slice(&chunk[..k]),
            Ok(Err(e)) => err = Some(io_words(&e)),
            Err(_) => err = Some("TIMEOUT".to_string()),
        }
        if err.is_some() {
            break;
        }
    }
    put(&ud, stream)?;
    match err {
        Some(e) if buf.is_empty() => fail(&lua, &e),
        _ => ok_data(&lua, &buf),
    }
}

fn set_timeout(_: &Lua, (ud, ms): (AnyUserData, f64)) -> mlua::Result<()> {
    let ms = if ms.is_finite() && ms > 0.0 { ms } else { 0.0 };
    ud.borrow_mut::<NativeSocket>()?.timeout = Duration::from_millis(ms as u64);
    Ok(())
}

fn close(lua: &Lua, ud: AnyUserData) -> Reply {
    match ud.borrow_mut::<NativeSocket>()?.stream.take() {
        Some(_) => true.into_lua_multi(lua),
        None => fail(lua, "Trying to close a closed socket"),
    }
}

fn info(lua: &Lua, ud: AnyUserData) -> Reply {
    let s = ud.borrow::<NativeSocket>()?;
    let Some(stream) = &s.stream else {
        return fail(lua, "Trying to get information about a closed socket");
    };
    match (stream.tcp().local_addr(), stream.tcp().peer_addr()) {
        (Ok(l), Ok(p)) => (
            true,
            l.ip().to_string(),
            l.port(),
            p.ip().to_string(),
            p.port(),
        )
            .into_lua_multi(lua),
        _ => fail(lua, "socket not connected"),
    }
}

async fn sleep(_: Lua, secs: f64) -> mlua::Result<()> {
    if secs.is_finite() && secs > 0.0 {
        tokio::time::sleep(Duration::from_secs_f64(secs.min(86_400.0))).await;
    }
    Ok(())
}

/// Adds the socket functions and `sleep` to `native`.
pub fn install(lua: &Lua, native: &Table) -> mlua::Result<()> {
    native.set(
        "socket",
        lua.create_function(|_, ()| {
            Ok(NativeSocket {
                stream: None,
                timeout: DEFAULT_TIMEOUT,
            })
        })?,
    )?;
    native.set("connect", lua.create_async_function(connect)?)?;
    native.set("send", lua.create_async_function(send)?)?;
    native.set("recv", lua.create_async_function(recv)?)?;
    native.set("sleep", lua.create_async_function(sleep)?)?;
    native.set("reconnect_ssl", lua.create_async_function(reconnect_ssl)?)?;
    native.set("set_timeout", lua.create_function(set_timeout)?)?;
    native.set("close", lua.create_function(close)?)?;
    native.set("info", lua.create_function(info)?)?;
    Ok(())
}
