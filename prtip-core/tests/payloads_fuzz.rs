//! The payload parser on arbitrary and damaged input: it must never panic,
//! and whatever it keeps must respect its limits. Deterministic (a fixed
//! xorshift seed), so a failure reproduces; the inputs are printed on panic.

use prtip_core::payloads::{PayloadDb, BUILTIN_NAME, BUILTIN_PAYLOADS, MAX_PAYLOAD};

const NMAP: &str = "/usr/share/nmap/nmap-payloads";

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Pieces the grammar cares about, so random text often gets deep into it.
const PIECES: &[&str] = &[
    "udp",
    "udp ",
    "source",
    " source ",
    "tcp",
    "\n",
    "\r\n",
    " ",
    "\t",
    "#",
    "# c\n",
    "\"",
    "\\",
    "\\x",
    "\\x4",
    "\\x41",
    "\\0",
    "\\01",
    "\\n",
    "\\\"",
    "\\q",
    "0",
    "53",
    "65535",
    "65536",
    "99999999999",
    ",",
    "-",
    "1-2",
    "32768-65535",
    "a",
    "é",
    "\u{feff}",
    "\0",
    "\"ab\"",
    "udp 1 \"x\"\n",
    "udp 1,2-3\n \"y\"\nsource 5\n",
];

fn random_text(rng: &mut Rng) -> String {
    let pieces = rng.below(40);
    let mut s = String::new();
    for _ in 0..pieces {
        if rng.below(8) == 0 {
            // Any byte, made valid UTF-8.
            let b = [rng.next() as u8];
            s.push_str(&String::from_utf8_lossy(&b));
        } else {
            s.push_str(PIECES[rng.below(PIECES.len())]);
        }
    }
    s
}

/// Parses `text` and checks the result's invariants.
fn check(text: &str) {
    let loaded = PayloadDb::parse(text, "fuzz");
    let db = &loaded.value;
    let lines = text.split('\n').count();
    for w in &loaded.warnings {
        assert!((1..=lines).contains(&w.line), "{text:?}: {w}");
        assert!(!w.reason.is_empty());
    }
    // Every kept payload has at least one port.
    assert_eq!(db.is_empty(), db.port_count() == 0, "{text:?}");
    assert!(db.port_count() <= 65_536);
    for port in [0, 1, 2, 3, 5, 53, 65_535] {
        assert!(db.for_port(port).all(|p| p.len() <= MAX_PAYLOAD));
        assert!(db.for_port(port).count() <= db.len());
    }
}

#[test]
fn random_text_never_panics() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..20_000 {
        let text = random_text(&mut rng);
        check(&text);
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for _ in 0..5_000 {
        let len = rng.below(200);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        check(&String::from_utf8_lossy(&bytes));
    }
}

/// Truncations at every 97th byte and random single-byte damage.
fn damage(name: &str, text: &str, seed: u64) {
    let full = PayloadDb::parse(text, name);
    assert_eq!(full.warnings, [], "{name}");
    let bytes = text.as_bytes();
    for end in (0..=bytes.len()).step_by(97) {
        check(&String::from_utf8_lossy(&bytes[..end]));
    }
    let mut rng = Rng(seed);
    for _ in 0..2_000 {
        let mut copy = bytes.to_vec();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(copy.len());
            match rng.below(3) {
                0 => copy[at] = rng.next() as u8,
                1 => {
                    copy.remove(at);
                }
                _ => copy.insert(at, b"\"\\#\n x0,-"[rng.below(9)]),
            }
        }
        check(&String::from_utf8_lossy(&copy));
    }
}

#[test]
fn damaged_builtin_file_never_panics() {
    damage(BUILTIN_NAME, BUILTIN_PAYLOADS, 0x0123_4567_89ab_cdef);
}

#[test]
fn damaged_installed_file_never_panics() {
    // Optional here: nmap_payloads.rs insists on the file where CI needs it.
    let Ok(text) = std::fs::read_to_string(NMAP) else {
        eprintln!("SKIPPED (needs {NMAP}): damaged_installed_file_never_panics");
        return;
    };
    damage(NMAP, &text, 0xfedc_ba98_7654_3210);
}
