//! The Lua heap of NSE's VM, as Lua counts it (every byte of it goes
//! through Rust's global allocator): empty, and with the nselib modules the
//! default scripts on the lab daemons load. Printed for README; the bounds
//! only catch a VM that stopped loading or grew tenfold.

use prtip_nse::{vm::new_vm, NseConfig};
use prtip_testkit::prereq::require_file;
use std::path::{Path, PathBuf};

#[test]
fn vm_heap_empty_and_with_nselib() {
    if !require_file("/usr/share/nmap/nselib/http.lua") {
        return;
    }
    let cfg = NseConfig {
        data_dirs: vec![PathBuf::from("/usr/share/nmap")],
        spec: "default".into(),
        args: String::new(),
        timeout: None,
        memory_cap: 64 << 20,
        verbosity: 0,
        debugging: 0,
        ipv6: false,
    };
    let vm = new_vm(&cfg, Some(Path::new("/usr/share/nmap"))).expect("VM starts");
    let empty = vm.lua.used_memory();
    vm.lua
        .load("for _, m in ipairs({'stdnse', 'shortport', 'comm', 'http', 'smtp', 'lpeg-utility'}) do require(m) end")
        .exec()
        .expect("nselib loads");
    let loaded = vm.lua.used_memory();
    println!("Lua heap: empty VM {empty} B, with stdnse, shortport, comm, http, smtp, lpeg-utility {loaded} B");
    assert!(empty > 0 && empty < 1 << 20, "empty VM {empty} B");
    assert!(loaded > empty && loaded < 64 << 20, "loaded VM {loaded} B");
}
