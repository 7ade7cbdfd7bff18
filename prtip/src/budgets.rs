//! Heap budgets, defined once. The dhat tests (`cargo test --features
//! dhat-heap`, files `prtip/tests/heap_*.rs`) assert them, and README's
//! budget table must equal [`markdown_table`] (checked by a unit test).

/// The peak heap allowed for one scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Short name, also the name of the test file (`heap_<name>.rs`).
    pub name: &'static str,
    /// What the scenario does, as a user would type or describe it.
    pub scenario: &'static str,
    /// Largest live heap allowed at any moment, in requested bytes (dhat's `max_bytes`).
    pub max_heap_bytes: u64,
    /// The memory plan's budget for the same work, where it names one.
    pub plan_bytes: Option<u64>,
}

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

/// Connect scan of 1,000 ports on 127.0.0.1, three of them open.
pub const CONNECT_1K: Budget = Budget {
    name: "connect_1k",
    scenario: "`prtip -sT -n -p <1,000 ports> 127.0.0.1` (3 listeners)",
    max_heap_bytes: 160 * KIB,
    plan_bytes: Some(MIB),
};

/// Expanding a /8 (16,777,216 addresses) with an exclude, without scanning.
pub const TARGETS_SLASH8: Budget = Budget {
    name: "targets_slash8",
    scenario: "expand `10.0.0.0/8 --exclude 10.1.0.0/16` (16,711,680 addresses)",
    max_heap_bytes: 4 * KIB,
    plan_bytes: None,
};

/// SYN scan of 1,000 ports on 127.0.0.1, three of them open (root).
pub const SYN_1K: Budget = Budget {
    name: "syn_1k",
    scenario: "`prtip -sS -n -p <1,000 ports> 127.0.0.1` (3 listeners)",
    max_heap_bytes: 256 * KIB,
    plan_bytes: Some(MIB),
};

/// SYN scan of a /22 x 1,000 ports across the namespace lab (root).
pub const SYN_LAB22: Budget = Budget {
    name: "syn_lab22",
    scenario: "`prtip -sS -n -Pn -p 1-1000 198.18.4.0/22` in the lab (1,024 hosts x 3 listeners)",
    max_heap_bytes: 2 * MIB,
    plan_bytes: Some(100 * MIB),
};

/// The ACK scan (`-sA`) of [`SYN_LAB22`]'s /22, at its budget (root).
pub const ACK_LAB22: Budget = Budget {
    name: "ack_lab22",
    scenario: "`prtip -sA -n -Pn -p 1-1000 198.18.4.0/22` in the lab (1,024 hosts x 3 listeners)",
    ..SYN_LAB22
};

/// The FIN scan (`-sF`) of [`SYN_LAB22`]'s /22, at its budget (root):
/// silent ports are retransmitted, nothing more is kept.
pub const FIN_LAB22: Budget = Budget {
    name: "fin_lab22",
    scenario: "`prtip -sF -n -Pn -p 1-1000 198.18.4.0/22` in the lab (1,024 hosts x 3 listeners)",
    ..SYN_LAB22
};

/// SYN scan of a /16 with few ports across the namespace lab (root): the
/// same budget as the /22, because memory must not grow with the target count.
pub const SYN_LAB16: Budget = Budget {
    name: "syn_lab16",
    scenario:
        "`prtip -sS -n -Pn -p 22,80,443,1000 198.19.0.0/16` in the lab (65,536 hosts x 3 listeners)",
    max_heap_bytes: SYN_LAB22.max_heap_bytes,
    plan_bytes: SYN_LAB22.plan_bytes,
};

/// Service/version detection of three real daemons on 127.0.0.1 (OpenSSH,
/// nginx http and https, in a namespace of their own), with nmap's complete
/// nmap-service-probes (root).
pub const VERSION_SCAN: Budget = Budget {
    name: "version_scan",
    scenario:
        "`prtip -sV -n -Pn -p 22,80,443 127.0.0.1` (real ssh, http, https; nmap's full probe file)",
    max_heap_bytes: 1536 * KIB,
    plan_bytes: Some(10 * MIB),
};

/// The same `-sV` scan with prtip's built-in probe database (nmap's data
/// files hidden), as on a machine without nmap (root).
pub const VERSION_BUILTIN: Budget = Budget {
    name: "version_builtin",
    scenario: "the same `-sV` scan with the built-in probes (nmap's data files hidden)",
    max_heap_bytes: 384 * KIB,
    plan_bytes: Some(10 * MIB),
};

/// Default and version scripts with `-sV` on the same three daemons: the
/// Lua VM, nselib and every script loaded, in-process (root). Measured
/// 13,917,560 bytes at the peak (heap_script_scan, stage 1 of NSE).
pub const SCRIPT_SCAN: Budget = Budget {
    name: "script_scan",
    scenario: "`prtip -sV -sC -n -Pn -p 22,80,443 127.0.0.1` (real ssh, http, https; nmap's scripts and nselib)",
    max_heap_bytes: 16 * MIB,
    plan_bytes: Some(32 * MIB),
};

/// OS detection of 127.0.0.1 with one open port, matching against nmap's
/// complete nmap-os-db (streamed from the mapped file), in-process (root).
pub const OS_DETECT: Budget = Budget {
    name: "os_detect",
    scenario: "`prtip -O -n -p <open port> 127.0.0.1` (nmap's full nmap-os-db)",
    max_heap_bytes: 512 * KIB,
    plan_bytes: Some(5 * MIB),
};

/// UDP scan of nmap's 1,000 most frequent UDP ports on one lab host, with
/// its ICMP limits lifted, three of them answered by an echo server (root).
pub const UDP_1K: Budget = Budget {
    name: "udp_1k",
    scenario:
        "`prtip -sU -n -Pn --top-ports 1000 198.18.0.2` in a lab namespace (3 UDP echo ports)",
    max_heap_bytes: 256 * KIB,
    plan_bytes: Some(MIB),
};

/// UDP scan of a /22 x 1,000 ports across the namespace lab with the
/// target's ICMP limits lifted (root): the SYN /22's budget, because memory
/// must not grow with the target count.
pub const UDP_LAB22: Budget = Budget {
    name: "udp_lab22",
    scenario:
        "`prtip -sU -n -Pn -p 1-1000 198.18.4.0/22` in the lab (1,024 hosts x 3 UDP echo ports)",
    max_heap_bytes: SYN_LAB22.max_heap_bytes,
    plan_bytes: SYN_LAB22.plan_bytes,
};

/// The connect scan of [`CONNECT_1K`] over IPv6 (::1), at its budget.
pub const CONNECT6_1K: Budget = Budget {
    name: "connect6_1k",
    scenario: "`prtip -6 -sT -n -p <1,000 ports> ::1` (3 listeners)",
    ..CONNECT_1K
};

/// The SYN scan of [`SYN_1K`] over IPv6 (::1), at its budget.
pub const SYN6_1K: Budget = Budget {
    name: "syn6_1k",
    scenario: "`prtip -6 -sS -n -p <1,000 ports> ::1` (3 listeners)",
    ..SYN_1K
};

/// The SYN scan of [`SYN_LAB22`] over IPv6: the lab's /118, 1,024 hosts.
pub const SYN6_LAB118: Budget = Budget {
    name: "syn6_lab118",
    scenario:
        "`prtip -6 -sS -n -Pn -p 1-1000 2001:db8:4::/118` in the lab (1,024 hosts x 3 listeners)",
    ..SYN_LAB22
};

/// The SYN scan of [`SYN_LAB22`] recorded with `--db` (SQLite, SQLite's own
/// heap counted through the global allocator): the same budget, because
/// the history is written host by host.
pub const SYN_LAB22_DB: Budget = Budget {
    name: "syn_lab22_db",
    scenario: "the same /22 SYN scan with `--db FILE` (a new SQLite file; SQLite's heap included)",
    ..SYN_LAB22
};

/// What `--event-log` may add to a scan's heap peak: the event channel's
/// slots, the log's write buffer and its thread. A constant, whatever the
/// number of events.
pub const EVENT_LOG_EXTRA: u64 = 128 * KIB;

/// The SYN scan of [`SYN_LAB22`] with `--event-log FILE` (about 4,100
/// events): at most [`EVENT_LOG_EXTRA`] above the same scan without it,
/// measured in the same test.
pub const SYN_LAB22_EVENTS: Budget = Budget {
    name: "syn_lab22_events",
    scenario: "the same /22 SYN scan with `--event-log FILE` (at most 128 KiB above it without)",
    max_heap_bytes: SYN_LAB22.max_heap_bytes + EVENT_LOG_EXTRA,
    plan_bytes: SYN_LAB22.plan_bytes,
};

/// Discovery only with chosen ping types (`-sn -PS22,80 -PE`) of
/// [`SYN_LAB22`]'s /22, within its budget (root): a ping set is a few
/// port lists, whatever the number of hosts.
pub const PING_LAB22: Budget = Budget {
    name: "ping_lab22",
    scenario: "`prtip -sn -n -PS22,80 -PE 198.18.4.0/22` in the lab (1,024 hosts up)",
    ..SYN_LAB22
};

/// Every budget, in README order.
pub const ALL: &[Budget] = &[
    CONNECT_1K,
    CONNECT6_1K,
    TARGETS_SLASH8,
    SYN_1K,
    SYN6_1K,
    SYN_LAB22,
    SYN_LAB22_DB,
    SYN_LAB22_EVENTS,
    SYN6_LAB118,
    ACK_LAB22,
    FIN_LAB22,
    PING_LAB22,
    SYN_LAB16,
    UDP_1K,
    UDP_LAB22,
    VERSION_SCAN,
    VERSION_BUILTIN,
    SCRIPT_SCAN,
    OS_DETECT,
];

fn human(bytes: u64) -> String {
    if bytes >= MIB && bytes % MIB == 0 {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB && bytes % KIB == 0 {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} B")
    }
}

/// The budget table as it appears in README.md.
pub fn markdown_table() -> String {
    let mut out =
        String::from("| test | scenario | heap budget (peak) | memory plan |\n|---|---|---|---|\n");
    for b in ALL {
        out.push_str(&format!(
            "| `heap_{}` | {} | {} | {} |\n",
            b.name,
            b.scenario,
            human(b.max_heap_bytes),
            b.plan_bytes.map_or("-".to_string(), human)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readme_table_matches_the_budgets() {
        let readme = include_str!("../../README.md");
        let table = markdown_table();
        assert!(
            readme.contains(&table),
            "README.md's budget table is out of date; replace it with:\n{table}"
        );
    }

    #[test]
    fn every_budget_has_a_test_file() {
        for b in ALL {
            let path = format!("{}/tests/heap_{}.rs", env!("CARGO_MANIFEST_DIR"), b.name);
            assert!(std::path::Path::new(&path).is_file(), "missing {path}");
        }
    }
}
