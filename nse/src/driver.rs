//! Runs the chosen scripts against hosts and ports with nmap's semantics:
//! each script runs in an environment of its own (`SCRIPT_NAME`,
//! `SCRIPT_PATH`, `SCRIPT_TYPE`, globals through `_G`); its `portrule` or
//! `hostrule` decides, and its `action` runs in a coroutine on a tokio
//! runtime; results become `ScriptOutput`s as nmap's `set_output` makes them.
//!
//! Scripts run one after another on one VM per scan, which keeps
//! `nmap.registry` shared across hosts as in nmap. `--script-timeout` ends
//! a script waiting on the network (the future is dropped) and one looping
//! in Lua (a count hook raises an error once the deadline has passed); the
//! memory cap (a Lua allocation limit while the script runs) ends one that
//! allocates without bound. Either way only that script ends.

use crate::vm::{new_vm, Vm};
use crate::{first_line, select, Error, NseConfig};
use mlua::{ChunkMode, Function, HookTriggers, Lua, MultiValue, Table, Value, VmState};
use prtip_core::result::{PortState, Protocol, ScriptOutput, ScriptResults, ServiceInfo};
use std::cell::Cell;
use std::net::IpAddr;
use std::rc::Rc;
use std::time::Instant;

/// nmap's output for a script that raised an error (without `-d`).
const FAILED: &str = "ERROR: Script execution failed (use -d to debug)";
/// Lua instructions between two deadline checks.
const HOOK_EVERY: u32 = 20_000;

/// One port as scripts see it.
#[derive(Debug, Clone)]
pub struct PortInput {
    pub number: u16,
    pub protocol: Protocol,
    pub state: PortState,
    pub reason: String,
    pub service: Option<ServiceInfo>,
}

/// One host as scripts see it.
#[derive(Debug, Clone)]
pub struct HostInput {
    pub ip: IpAddr,
    /// Reverse-DNS name, `None` with `-n`.
    pub name: Option<String>,
    /// The name given on the command line, if any.
    pub targetname: Option<String>,
    pub ports: Vec<PortInput>,
}

/// A script that loaded: its id, file, compiled chunk (Lua bytecode, so a
/// run only loads it into a fresh environment instead of parsing the
/// source again), and which rules it has.
#[derive(Debug)]
struct Script {
    id: String,
    path: String,
    source: Vec<u8>,
    /// Whether `source` is bytecode (after the first load) or text.
    compiled: bool,
    portrule: bool,
    hostrule: bool,
    /// Ids this script runs after (its `dependencies`, when chosen too).
    dependencies: Vec<String>,
}

/// NSE for one scan: the VM, the loaded scripts, the runtime.
#[derive(Debug)]
pub struct ScriptEngine {
    vm: Vm,
    scripts: Vec<Script>,
    cfg: NseConfig,
    rt: tokio::runtime::Runtime,
}

/// How one run of a script ended.
pub(crate) enum Ending {
    Output(Option<ScriptOutput>),
    Failed(String),
    TimedOut,
}

impl ScriptEngine {
    /// Chooses the scripts of `cfg.spec`, starts a VM and loads them. A
    /// script that cannot load (a module prtip does not provide yet) is
    /// reported on stderr with the reason and left out; a selection that
    /// matches nothing is an error.
    pub fn new(cfg: NseConfig) -> Result<ScriptEngine, Error> {
        let (root, chosen) = match cfg.nse_root() {
            Ok(root) => {
                let chosen = select::choose(&cfg.spec, &root.join("scripts"))?;
                (Some(root), chosen)
            }
            Err(Error::NoData) => {
                eprintln!("NSE: nmap's scripts were not found; running prtip's built-in scripts");
                (None, select::choose_builtin(&cfg.spec)?)
            }
            Err(e) => return Err(e),
        };
        let vm = new_vm(&cfg, root.as_deref())?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Lua(e.to_string()))?;
        let mut engine = ScriptEngine {
            vm,
            scripts: Vec::new(),
            cfg,
            rt,
        };
        engine.set_args()?;
        engine.install_stdnse_hooks()?;
        for c in chosen {
            match engine.load(&c) {
                Ok(s) => engine.scripts.push(s),
                Err(e) => eprintln!("NSE: {e} (script left out)"),
            }
        }
        engine.scripts = by_runlevel(std::mem::take(&mut engine.scripts))?;
        Ok(engine)
    }

    /// The ids of the scripts that loaded, in run order.
    pub fn script_ids(&self) -> Vec<&str> {
        self.scripts.iter().map(|s| s.id.as_str()).collect()
    }

    /// The Lua heap now, in bytes.
    pub fn lua_heap(&self) -> usize {
        self.vm.lua.used_memory()
    }

    /// `nmap.registry.args` from `--script-args`.
    fn set_args(&self) -> Result<(), Error> {
        let items = crate::args::parse(&self.cfg.args)?;
        let table = crate::args::to_lua(&self.vm.lua, &items)?;
        let nmap: Table = self
            .vm
            .lua
            .globals()
            .get::<Table>("package")?
            .get::<Table>("loaded")?
            .get("nmap")?;
        nmap.get::<Table>("registry")?.set("args", table)?;
        Ok(())
    }

    /// `stdnse.getid` and friends name the running script, as nmap's
    /// driver makes them do; `new_thread` is not supported yet.
    fn install_stdnse_hooks(&self) -> Result<(), Error> {
        self.vm
            .lua
            .load(
                "local native = ...\n\
                 local found, stdnse = pcall(require, 'stdnse')\n\
                 if not found then return end\n\
                 rawset(stdnse, 'getid', function() return native.current end)\n\
                 rawset(stdnse, 'getinfo', function() return native.current end)\n\
                 rawset(stdnse, 'silent_require', require)\n\
                 rawset(stdnse, 'new_thread', function() error('stdnse.new_thread is not supported by prtip yet') end)",
            )
            .set_name("prtip-nse stdnse hooks")
            .call::<()>(self.vm.native.clone())?;
        Ok(())
    }

    /// A fresh environment for `script` of `kind` and its chunk compiled in it.
    fn instantiate(&self, script: &Script, kind: &str) -> mlua::Result<(Table, Function)> {
        let lua = &self.vm.lua;
        let env = lua.create_table()?;
        env.set("SCRIPT_PATH", script.path.as_str())?;
        env.set("SCRIPT_NAME", script.id.as_str())?;
        env.set("SCRIPT_TYPE", kind)?;
        let meta = lua.create_table()?;
        meta.set("__index", lua.globals())?;
        env.set_metatable(Some(meta));
        let chunk = lua
            .load(&script.source)
            .set_name(format!("@{}", script.path))
            .set_mode(if script.compiled {
                ChunkMode::Binary
            } else {
                ChunkMode::Text
            })
            .set_environment(env.clone())
            .into_function()?;
        Ok((env, chunk))
    }

    fn load(&self, c: &select::Chosen) -> Result<Script, Error> {
        let load_err = |e: String| Error::Load(c.id.clone(), e);
        let source = match c.builtin {
            Some(src) => src.as_bytes().to_vec(),
            None => std::fs::read(&c.path).map_err(|e| load_err(e.to_string()))?,
        };
        let mut script = Script {
            id: c.id.clone(),
            path: c.path.display().to_string(),
            source,
            compiled: false,
            portrule: false,
            hostrule: false,
            dependencies: Vec::new(),
        };
        let (env, chunk) = self
            .instantiate(&script, "portrule")
            .map_err(|e| load_err(first_line(&e.to_string())))?;
        // Our own compiler's output, kept with its debug information so
        // errors still name the script's lines.
        script.source = chunk.dump(false);
        script.compiled = true;
        chunk
            .call::<()>(())
            .map_err(|e| load_err(first_line(&e.to_string())))?;
        let has = |name: &str| matches!(env.raw_get::<Value>(name), Ok(Value::Function(_)));
        if !has("action") {
            return Err(load_err("no action function".into()));
        }
        if let Ok(deps) = env.raw_get::<Vec<String>>("dependencies") {
            script.dependencies = deps;
        }
        script.portrule = has("portrule");
        script.hostrule = has("hostrule");
        if !script.portrule && !script.hostrule {
            return Err(load_err(
                "only prerule/postrule scripts, which prtip does not run yet".into(),
            ));
        }
        Ok(script)
    }

    /// Runs every script whose rules match on `host` and its open ports.
    /// `None` when no script printed anything.
    pub fn run_host(&self, host: &HostInput) -> Option<ScriptResults> {
        let mut results = ScriptResults::default();
        let Ok((host_t, ports_t)) = crate::tables::host_tables(&self.vm.lua, host) else {
            return None;
        };
        if let Ok(f) = self.vm.native.get::<Function>("set_host_ports") {
            let _ = f.call::<()>(ports_t.clone());
        }
        for port in host.ports.iter().filter(|p| p.state.maybe_open()) {
            let key = format!("{}:{}", port.protocol.as_str(), port.number);
            let Ok(port_t) = ports_t.get::<Table>(key) else {
                continue;
            };
            let mut outs = Vec::new();
            for s in self.scripts.iter().filter(|s| s.portrule) {
                let what = format!("{}:{}", host.ip, port.number);
                if let Some(o) = self.run(s, "portrule", &host_t, Some(&port_t), &what) {
                    outs.push(o);
                }
            }
            if !outs.is_empty() {
                results.ports.push((port.protocol, port.number, outs));
            }
        }
        for s in self.scripts.iter().filter(|s| s.hostrule) {
            if let Some(o) = self.run(s, "hostrule", &host_t, None, &host.ip.to_string()) {
                results.host.push(o);
            }
        }
        (!results.ports.is_empty() || !results.host.is_empty()).then_some(results)
    }

    /// One script against one target: the rule, then the action.
    fn run(
        &self,
        s: &Script,
        kind: &str,
        host: &Table,
        port: Option<&Table>,
        what: &str,
    ) -> Option<ScriptOutput> {
        let (env, chunk) = match self.instantiate(s, kind) {
            Ok(x) => x,
            Err(e) => return self.report(s, what, Ending::Failed(e.to_string())),
        };
        let _ = self.vm.native.set("current", s.id.as_str());
        let started = Instant::now();
        let ending = self
            .rt
            .block_on(self.rule_then_action(&env, chunk, kind, host, port, s));
        let ending = match ending {
            Ok(e) => e,
            Err(e) => Ending::Failed(e.to_string()),
        };
        if let Ok(release) = self.vm.native.get::<Function>("release_mutexes") {
            let _ = release.call::<()>(());
        }
        if self.cfg.debugging > 0 {
            eprintln!(
                "NSE: {} against {what} took {:.2}s",
                s.id,
                started.elapsed().as_secs_f64()
            );
        }
        self.report(s, what, ending)
    }

    /// The stderr line for a script that did not end normally, and its
    /// output as nmap would show it.
    fn report(&self, s: &Script, what: &str, ending: Ending) -> Option<ScriptOutput> {
        match ending {
            Ending::Output(o) => o,
            Ending::TimedOut => {
                let t = self.cfg.timeout.map_or(0.0, |t| t.as_secs_f64());
                eprintln!(
                    "NSE: {} against {what} timed out after {t}s (--script-timeout)",
                    s.id
                );
                None
            }
            Ending::Failed(e) => {
                eprintln!("NSE: {} against {what} failed: {}", s.id, first_line(&e));
                Some(ScriptOutput {
                    id: s.id.clone(),
                    output: FAILED.to_string(),
                    structured: None,
                })
            }
        }
    }

    async fn rule_then_action(
        &self,
        env: &Table,
        chunk: Function,
        kind: &str,
        host: &Table,
        port: Option<&Table>,
        s: &Script,
    ) -> mlua::Result<Ending> {
        let lua = &self.vm.lua;
        let args = || {
            let mut v = vec![Value::Table(host.clone())];
            if let Some(p) = port {
                v.push(Value::Table(p.clone()));
            }
            MultiValue::from_vec(v)
        };
        let deadline = self.cfg.timeout.map(|t| Instant::now() + t);
        let timed_out = Rc::new(Cell::new(false));
        let before = lua.used_memory();
        lua.set_memory_limit(before.saturating_add(self.cfg.memory_cap))?;
        let result = async {
            self.guarded(chunk, MultiValue::new(), deadline, &timed_out)
                .await?;
            let rule: Function = env.get(kind)?;
            let go = self.guarded(rule, args(), deadline, &timed_out).await?;
            if !matches!(go.front(), Some(v) if v.as_boolean() != Some(false) && !v.is_nil()) {
                return Ok(Ending::Output(None));
            }
            let mut call = MultiValue::from_vec(vec![Value::Function(env.get("action")?)]);
            call.extend(args());
            let runner: Function = self.vm.native.get("run_action")?;
            let out = self.guarded(runner, call, deadline, &timed_out).await?;
            crate::output::ending(lua, &self.vm.native, &s.id, out)
        };
        let r = match deadline {
            Some(d) => match tokio::time::timeout_at(d.into(), result).await {
                Ok(r) => r,
                Err(_) => Ok(Ending::TimedOut),
            },
            None => result.await,
        };
        lua.set_memory_limit(0)?;
        if timed_out.get() {
            return Ok(Ending::TimedOut);
        }
        match r {
            Err(e) => Ok(Ending::Failed(e.to_string())),
            ok => ok,
        }
    }

    /// Calls `f` in a coroutine whose count hook raises an error once the
    /// deadline has passed.
    async fn guarded(
        &self,
        f: Function,
        args: MultiValue,
        deadline: Option<Instant>,
        timed_out: &Rc<Cell<bool>>,
    ) -> mlua::Result<MultiValue> {
        let thread = self.vm.lua.create_thread(f)?;
        if let Some(d) = deadline {
            let flag = timed_out.clone();
            thread.set_hook(
                HookTriggers::new().every_nth_instruction(HOOK_EVERY),
                move |_, _| {
                    if Instant::now() >= d {
                        flag.set(true);
                        return Err(mlua::Error::RuntimeError("script timed out".into()));
                    }
                    Ok(VmState::Continue)
                },
            );
        }
        thread.into_async::<MultiValue>(args).await
    }
}

/// Scripts in nmap's run order: by runlevel (one more than the highest of
/// the chosen scripts it depends on), then by id. A dependency cycle is an
/// error naming the chain, as in nmap.
fn by_runlevel(scripts: Vec<Script>) -> Result<Vec<Script>, Error> {
    let index: std::collections::HashMap<&str, usize> = scripts
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    let mut level: Vec<Option<u32>> = vec![None; scripts.len()];
    fn visit(
        i: usize,
        scripts: &[Script],
        index: &std::collections::HashMap<&str, usize>,
        level: &mut [Option<u32>],
        chain: &mut Vec<usize>,
    ) -> Result<u32, Error> {
        if let Some(l) = level[i] {
            return Ok(l);
        }
        if chain.contains(&i) {
            let names: Vec<&str> = chain.iter().map(|&j| scripts[j].id.as_str()).collect();
            return Err(Error::Load(
                scripts[i].id.clone(),
                format!("circular dependency in chain `{}`", names.join("->")),
            ));
        }
        chain.push(i);
        let mut l = 1;
        for d in &scripts[i].dependencies {
            if let Some(&j) = index.get(d.as_str()) {
                l = l.max(visit(j, scripts, index, level, chain)? + 1);
            }
        }
        chain.pop();
        level[i] = Some(l);
        Ok(l)
    }
    for i in 0..scripts.len() {
        visit(i, &scripts, &index, &mut level, &mut Vec::new())?;
    }
    let mut keyed: Vec<(u32, Script)> = scripts
        .into_iter()
        .zip(level)
        .map(|(s, l)| (l.unwrap_or(1), s))
        .collect();
    keyed.sort_by(|a, b| (a.0, &a.1.id).cmp(&(b.0, &b.1.id)));
    Ok(keyed.into_iter().map(|(_, s)| s).collect())
}

/// The Lua state a `ScriptEngine` runs (for measurements).
pub fn lua_of(engine: &ScriptEngine) -> &Lua {
    &engine.vm.lua
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(id: &str, deps: &[&str]) -> Script {
        Script {
            id: id.into(),
            path: String::new(),
            source: Vec::new(),
            compiled: false,
            portrule: true,
            hostrule: false,
            dependencies: deps.iter().map(|d| d.to_string()).collect(),
        }
    }

    fn ids(v: Vec<Script>) -> Vec<String> {
        v.into_iter().map(|s| s.id).collect()
    }

    #[test]
    fn dependencies_run_first_then_ids() {
        let order = by_runlevel(vec![
            script("a", &["c"]),
            script("b", &[]),
            script("c", &["d", "not-chosen"]),
            script("d", &[]),
        ])
        .expect("no cycle");
        assert_eq!(ids(order), ["b", "d", "c", "a"]);
    }

    #[test]
    fn cycles_are_one_error() {
        let e = by_runlevel(vec![script("a", &["b"]), script("b", &["a"])]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "script a: circular dependency in chain `a->b`"
        );
    }
}
