//! `-sC` / `--script`: the NSE settings, the script engine of one scan, and
//! running it on each host before the host is written (prtip-nse does the
//! work; this is the binary's seam to it).

use crate::cli::{Args, UsageError};
use crate::settings::{data_dirs, Settings};
use memprof::Phase;
use prtip_core::result::{HostResult, HostStatus};
use prtip_nse::{HostInput, NseConfig, PortInput, ScriptEngine};
use prtip_scanner::cancel::StopFlag;
use std::time::Duration;

/// Lua heap one script may add before it is stopped (a hostile or broken
/// script ends alone instead of taking the scan's memory).
const MEMORY_CAP: usize = 256 << 20;

/// What `-sC`, `--script` and `--script-timeout` asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptSettings {
    pub spec: String,
    pub timeout: Option<Duration>,
    /// `--script-args`, then `--script-args-file`'s lines, joined by commas.
    pub args: String,
    /// nmap's data directories, where `scripts/` and `nselib/` are looked for.
    pub data_dirs: Vec<std::path::PathBuf>,
}

/// `None` without `-sC` or `--script`.
pub fn settings(args: &Args) -> Result<Option<ScriptSettings>, UsageError> {
    let spec = match (&args.script, args.script_default) {
        (Some(s), true) => format!("default,{s}"),
        (Some(s), false) => s.clone(),
        (None, true) => "default".to_string(),
        (None, false) => {
            if args.script_timeout.is_some()
                || args.script_args.is_some()
                || args.script_args_file.is_some()
            {
                return Err(UsageError(
                    "--script-timeout and --script-args need -sC or --script".into(),
                ));
            }
            return Ok(None);
        }
    };
    // nmap runs the `version` scripts whenever -sV is on; prtip does so
    // when scripts run at all (-sV alone does not start the VM yet).
    let spec = if args.version_scan {
        format!("{spec},version")
    } else {
        spec
    };
    if spec.trim().is_empty() {
        return Err(UsageError(
            "--script needs a script, category or expression".into(),
        ));
    }
    let timeout = match &args.script_timeout {
        Some(v) => {
            let d = crate::settings::parse_time("--script-timeout", v)?;
            (!d.is_zero()).then_some(d)
        }
        None => None,
    };
    Ok(Some(ScriptSettings {
        spec,
        timeout,
        args: script_args(args)?,
        data_dirs: data_dirs(args.datadir.as_deref()),
    }))
}

/// `--script-args` and the lines of `--script-args-file`, checked here so
/// a mistake is a usage error before anything is scanned.
fn script_args(args: &Args) -> Result<String, UsageError> {
    let mut parts: Vec<String> = args.script_args.iter().cloned().collect();
    if let Some(path) = &args.script_args_file {
        let text = std::fs::read_to_string(path).map_err(|e| {
            UsageError(format!(
                "cannot read --script-args-file {}: {e}",
                path.display()
            ))
        })?;
        parts.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from),
        );
    }
    let joined = parts.join(",");
    prtip_nse::args::parse(&joined).map_err(|e| UsageError(e.to_string()))?;
    Ok(joined)
}

/// The scan's script engine on a thread of its own: the Lua VM is not
/// `Send`, and hosts arrive from inside the engines' tokio runtimes, where
/// the VM's own runtime could not block.
#[derive(Debug)]
pub struct Scripts {
    /// `None` once closing: the thread sees its queue end and drops the VM.
    to: Option<std::sync::mpsc::Sender<HostInput>>,
    from: std::sync::mpsc::Receiver<Option<prtip_core::result::ScriptResults>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// The scan's stop flag: a stopped scan stops waiting for scripts.
    stop: StopFlag,
}

impl Drop for Scripts {
    /// Ends the script thread and waits for it, so the VM is freed in the
    /// phase that drops this (teardown), not at exit.
    fn drop(&mut self) {
        self.to = None;
        // A stopped scan may have left a script running: the process is
        // about to exit, so it is not waited for.
        if let Some(t) = self.thread.take().filter(|_| !self.stop.is_stopped()) {
            let _ = t.join();
        }
    }
}

/// Why the scripts could not start: the user's input (exit 2) or not.
#[derive(Debug)]
pub enum OpenError {
    Usage(String),
    Failed(String),
}

/// Starts the script thread (scripts chosen and loaded), or `None` without
/// scripts; an error is one line for the user.
pub fn open(settings: &Settings, stop: &StopFlag) -> Result<Option<Scripts>, OpenError> {
    let Some(s) = &settings.scripts else {
        return Ok(None);
    };
    let cfg = NseConfig {
        data_dirs: s.data_dirs.clone(),
        spec: s.spec.clone(),
        args: s.args.clone(),
        timeout: s.timeout,
        memory_cap: MEMORY_CAP,
        verbosity: settings.verbose,
        debugging: settings.debug,
        ipv6: settings.family == prtip_core::target::Family::V6,
    };
    let (to, hosts) = std::sync::mpsc::channel::<HostInput>();
    let (reply, from) = std::sync::mpsc::channel();
    let (ready_tx, ready) = std::sync::mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("scripts".into())
        .spawn(move || {
            // Started before the scan thread gives up its capabilities:
            // scripts read hostile bytes, so this thread drops them first.
            if let Err(e) = prtip_scanner::sys::privs::drop_all() {
                let _ = ready_tx.send(Err(OpenError::Failed(format!(
                    "cannot drop privileges: {e}"
                ))));
                return;
            }
            let _phase = memprof::phase(Phase::Scripts);
            let engine = match ScriptEngine::new(cfg) {
                Ok(e) => e,
                Err(e) => {
                    let _ = ready_tx.send(Err(if e.is_usage() {
                        OpenError::Usage(e.to_string())
                    } else {
                        OpenError::Failed(e.to_string())
                    }));
                    return;
                }
            };
            let _ = ready_tx.send(Ok(()));
            for host in hosts {
                if reply.send(engine.run_host(&host)).is_err() {
                    return;
                }
            }
        })
        .map_err(|e| OpenError::Failed(format!("cannot start the script thread: {e}")))?;
    ready.recv().map_err(|_| {
        OpenError::Failed("the script thread ended before it was ready".to_string())
    })??;
    Ok(Some(Scripts {
        to: Some(to),
        from,
        thread: Some(thread),
        stop: stop.clone(),
    }))
}

/// Runs the scripts on `host` (when it is up) and keeps their results in it.
pub fn run(scripts: Option<&Scripts>, host: &mut HostResult) {
    let Some(scripts) = scripts else { return };
    if host.status != HostStatus::Up {
        return;
    }
    let input = HostInput {
        ip: host.addr,
        name: host.hostname.clone(),
        targetname: None,
        ports: host
            .ports
            .shown
            .iter()
            .map(|p| PortInput {
                number: p.port,
                protocol: p.protocol,
                state: p.state,
                reason: p.reason.as_str().to_string(),
                service: p.service.as_deref().cloned(),
            })
            .collect(),
    };
    let Some(to) = &scripts.to else { return };
    if to.send(input).is_err() {
        return;
    }
    // Waits in slices, so Ctrl-C or SIGTERM during a long script still
    // ends the scan (the host is then written without script results).
    while !scripts.stop.is_stopped() {
        match scripts.from.recv_timeout(Duration::from_millis(100)) {
            Ok(r) => {
                host.scripts = r.map(Box::new);
                return;
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
        }
    }
}
