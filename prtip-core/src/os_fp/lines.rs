//! Test lines computed from single replies: OPS, WIN, ECN, T1-T7, U1, IE.
//! (SEQ, which looks at the SEQ replies as a series, is in `seq.rs`.)

use super::obs::Observations;
use super::probes::{Probe, IE_CODE, MAX_PROBE_LEN, U1_IP_ID};
use super::reply::{OsReply, TcpInfo};
use super::val::{Line, Val};

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;
const URG: u8 = 0x20;
const ECE: u8 = 0x40;
const CWR: u8 = 0x80;

/// CRC-32 (IEEE, as zlib), bit by bit: RST payloads are rare and short, so
/// a 1 KB table would cost more than it saves.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xedb8_8320 & 0u32.wrapping_sub(crc & 1));
        }
    }
    !crc
}

/// nmap's initial-TTL guess: the received TTL rounded up to 32, 64, 128 or 255.
pub fn initial_ttl_guess(ttl: u8) -> u8 {
    match ttl {
        0..=32 => 32,
        33..=64 => 64,
        65..=128 => 128,
        _ => 255,
    }
}

/// The `O` notation of TCP options: `L` end of list, `N` no-op, `M<mss>`,
/// `W<shift>`, `S` SACK permitted, `T<a><b>` timestamp (1 where TSval / TSecr
/// is nonzero), numbers in upper-case hex. Each EOL byte counts (padding
/// after an EOL shows as `LL...`, as in nmap's database). An option that
/// runs past the end stops the string; an unknown kind is skipped by its
/// length byte.
pub fn tcp_options_string(opts: &[u8]) -> Val {
    let mut v = Val::empty();
    let mut rest = opts;
    while let [kind, ..] = rest {
        let need = match kind {
            0 | 1 => 1,
            2 => 4,
            3 => 3,
            4 => 2,
            8 => 10,
            _ => match rest.get(1) {
                Some(&len) if len >= 2 && usize::from(len) <= rest.len() => {
                    rest = &rest[usize::from(len)..];
                    continue;
                }
                _ => break,
            },
        };
        let Some(opt) = rest.get(..need) else { break };
        match opt {
            [0] => v.push(b'L'),
            [1] => v.push(b'N'),
            [2, _, hi, lo] => {
                v.push(b'M');
                v.push_str(Val::hex(u64::from(u16::from_be_bytes([*hi, *lo]))).as_str());
            }
            [3, _, shift] => {
                v.push(b'W');
                v.push_str(Val::hex(u64::from(*shift)).as_str());
            }
            [4, _] => v.push(b'S'),
            [8, _, ts @ ..] => {
                v.push(b'T');
                v.push(if ts[..4] == [0; 4] { b'0' } else { b'1' });
                v.push(if ts[4..] == [0; 4] { b'0' } else { b'1' });
            }
            _ => break,
        }
        rest = &rest[need..];
    }
    v
}

/// `T` (exact initial TTL, when U1 told the distance) or `TG` (a guess).
fn add_ttl(line: &mut Line, ttl: u8, distance: Option<u8>) {
    match distance {
        Some(d) => line.add(
            "T",
            Val::hex(u64::from(ttl) + u64::from(d).saturating_sub(1)),
        ),
        None => line.add("TG", Val::hex(u64::from(initial_ttl_guess(ttl)))),
    }
}

fn yn(b: bool) -> &'static str {
    if b {
        "Y"
    } else {
        "N"
    }
}

fn flags_val(flags: u8) -> Val {
    let mut v = Val::empty();
    for (bit, c) in [
        (ECE, b'E'),
        (URG, b'U'),
        (ACK, b'A'),
        (PSH, b'P'),
        (RST, b'R'),
        (SYN, b'S'),
        (FIN, b'F'),
    ] {
        if flags & bit != 0 {
            v.push(c);
        }
    }
    v
}

fn seq_val(tcp: &TcpInfo, probe_ack: u32) -> &'static str {
    match tcp.seq {
        0 => "Z",
        s if s == probe_ack => "A",
        s if s == probe_ack.wrapping_add(1) => "A+",
        _ => "O",
    }
}

fn ack_val(tcp: &TcpInfo, probe_seq: u32) -> &'static str {
    match tcp.ack {
        0 => "Z",
        a if a == probe_seq => "S",
        a if a == probe_seq.wrapping_add(1) => "S+",
        _ => "O",
    }
}

fn quirks(tcp: &TcpInfo) -> Val {
    let mut v = Val::empty();
    if tcp.reserved != 0 {
        v.push(b'R');
    }
    if tcp.urgent != 0 && tcp.flags & URG == 0 {
        v.push(b'U');
    }
    v
}

/// `OPS`: the options of each SEQ reply.
pub(crate) fn ops_line(obs: &Observations) -> Line {
    per_seq_line(obs, "OPS", &["O1", "O2", "O3", "O4", "O5", "O6"], |t| {
        tcp_options_string(t.options())
    })
}

/// `WIN`: the window of each SEQ reply.
pub(crate) fn win_line(obs: &Observations) -> Line {
    per_seq_line(obs, "WIN", &["W1", "W2", "W3", "W4", "W5", "W6"], |t| {
        Val::hex(u64::from(t.window))
    })
}

fn per_seq_line(
    obs: &Observations,
    name: &'static str,
    attrs: &[&'static str; 6],
    value: impl Fn(&TcpInfo) -> Val,
) -> Line {
    let mut line = Line::new(name);
    for (probe, attr) in Probe::ALL[..6].iter().zip(attrs) {
        if let Some(tcp) = obs.reply(*probe).and_then(OsReply::tcp) {
            line.add(attr, value(tcp));
        }
    }
    if line.is_empty() {
        line.add_lit("R", "N");
    }
    line
}

/// `ECN`: the answer to the SYN with CWR and ECE.
pub(crate) fn ecn_line(obs: &Observations) -> Line {
    let mut line = Line::new("ECN");
    let Some((reply, tcp)) = obs.reply(Probe::Ecn).and_then(|r| Some((r, r.tcp()?))) else {
        line.add_lit("R", "N");
        return line;
    };
    line.add_lit("R", "Y");
    line.add_lit("DF", yn(reply.ip.df));
    add_ttl(&mut line, reply.ip.ttl, obs.distance());
    line.add("W", Val::hex(u64::from(tcp.window)));
    line.add("O", tcp_options_string(tcp.options()));
    let cc = match (tcp.flags & ECE != 0, tcp.flags & CWR != 0) {
        (true, false) => "Y",
        (false, false) => "N",
        (true, true) => "S",
        (false, true) => "O",
    };
    line.add_lit("CC", cc);
    line.add("Q", quirks(tcp));
    line
}

/// `T1`..`T7`. `T1` is the reply to SEQ1 and has no `W` or `O` (those are
/// in `WIN` and `OPS`).
pub(crate) fn t_line(obs: &Observations, name: &'static str, probe: Probe) -> Line {
    let mut line = Line::new(name);
    let Some((reply, tcp)) = obs.reply(probe).and_then(|r| Some((r, r.tcp()?))) else {
        line.add_lit("R", "N");
        return line;
    };
    let full = probe != Probe::Seq1;
    line.add_lit("R", "Y");
    line.add_lit("DF", yn(reply.ip.df));
    add_ttl(&mut line, reply.ip.ttl, obs.distance());
    if full {
        line.add("W", Val::hex(u64::from(tcp.window)));
    }
    line.add_lit("S", seq_val(tcp, obs.numbers.ack_of(probe)));
    line.add_lit("A", ack_val(tcp, obs.numbers.seq_of(probe)));
    line.add("F", flags_val(tcp.flags));
    if full {
        line.add("O", tcp_options_string(tcp.options()));
    }
    line.add("RD", Val::hex(u64::from(tcp.data_crc)));
    line.add("Q", quirks(tcp));
    line
}

/// `U1`: the port unreachable quoting our UDP probe.
pub(crate) fn u1_line(obs: &Observations) -> Line {
    let mut line = Line::new("U1");
    let Some((reply, u)) = obs.reply(Probe::U1).and_then(|r| Some((r, r.unreach()?))) else {
        line.add_lit("R", "N");
        return line;
    };
    let g_or_hex = |good: bool, n: u64| if good { Val::lit("G") } else { Val::hex(n) };
    line.add_lit("R", "Y");
    line.add_lit("DF", yn(reply.ip.df));
    add_ttl(&mut line, reply.ip.ttl, obs.distance());
    line.add("IPL", Val::hex(u64::from(reply.ip.total_len)));
    line.add("UN", Val::hex(u64::from(u.unused)));
    line.add(
        "RIPL",
        g_or_hex(
            usize::from(u.quoted_total_len) == MAX_PROBE_LEN,
            u64::from(u.quoted_total_len),
        ),
    );
    line.add(
        "RID",
        g_or_hex(u.quoted_id == U1_IP_ID, u64::from(u.quoted_id)),
    );
    let ripck = if u.quoted_ip_checksum == 0 {
        "Z"
    } else if u.quoted_ip_checksum_ok {
        "G"
    } else {
        "I"
    };
    line.add_lit("RIPCK", ripck);
    let ruck = u.quoted_udp_checksum.unwrap_or(0);
    line.add(
        "RUCK",
        g_or_hex(
            u.quoted_udp_checksum == Some(obs.numbers.u1_udp_checksum),
            u64::from(ruck),
        ),
    );
    line.add_lit("RUD", if u.quoted_data_intact { "G" } else { "I" });
    line
}

/// `IE`: both echo replies, or `R=N`.
pub(crate) fn ie_line(obs: &Observations) -> Line {
    let mut line = Line::new("IE");
    let pair = |p| obs.reply(p).and_then(|r| Some((r, r.echo()?)));
    let (Some((r1, e1)), Some((r2, e2))) = (pair(Probe::Ie1), pair(Probe::Ie2)) else {
        line.add_lit("R", "N");
        return line;
    };
    line.add_lit("R", "Y");
    // IE1 went with DF, IE2 without.
    let dfi = match (r1.ip.df, r2.ip.df) {
        (false, false) => "N",
        (true, false) => "S",
        (true, true) => "Y",
        (false, true) => "O",
    };
    line.add_lit("DFI", dfi);
    add_ttl(&mut line, r1.ip.ttl, obs.distance());
    let cd = if e1.code == 0 && e2.code == 0 {
        Val::lit("Z")
    } else if [e1.code, e2.code] == IE_CODE {
        Val::lit("S")
    } else if e1.code == e2.code {
        Val::hex(u64::from(e1.code))
    } else {
        Val::lit("O")
    };
    line.add("CD", cd);
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn ttl_guess_rounds_up() {
        for (ttl, want) in [
            (1, 32),
            (32, 32),
            (33, 64),
            (64, 64),
            (100, 128),
            (129, 255),
        ] {
            assert_eq!(initial_ttl_guess(ttl), want, "{ttl}");
        }
    }

    #[test]
    fn option_strings() {
        let linux = [
            2, 4, 5, 0xb4, 4, 2, 8, 10, 0x87, 0x31, 0x4d, 0x93, 0xff, 0xff, 0xff, 0xff, 1, 3, 3, 10,
        ];
        assert_eq!(tcp_options_string(&linux).as_str(), "M5B4ST11NWA");
        let padded = [
            2, 4, 5, 0xb4, 1, 3, 3, 1, 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 4, 2, 0, 0,
        ];
        assert_eq!(tcp_options_string(&padded).as_str(), "M5B4NW1NNT10SLL");
        // Truncated MSS stops the string; an unknown kind is skipped.
        assert_eq!(tcp_options_string(&[1, 2, 4, 5]).as_str(), "N");
        assert_eq!(tcp_options_string(&[19, 4, 0, 0, 1]).as_str(), "N");
        assert_eq!(tcp_options_string(&[19, 1, 0]).as_str(), "");
        assert_eq!(tcp_options_string(&[]).as_str(), "");
    }

    #[test]
    fn flags_in_nmap_order() {
        assert_eq!(flags_val(0x12).as_str(), "AS");
        assert_eq!(flags_val(0x14).as_str(), "AR");
        assert_eq!(flags_val(0xff).as_str(), "EUAPRSF");
        assert_eq!(flags_val(0x80).as_str(), "");
    }
}
