//! Properties of prtip-core checked on generated inputs (proptest): the
//! probe-order permutation, target counting, the SYN cookie, the wire
//! builders against the views, and the service matcher's two engines
//! against PCRE, the library nmap itself runs its patterns with.
//!
//! Case counts are kept small so the whole file runs in a few seconds in a
//! debug build; `PROPTEST_CASES` raises them for a longer hunt.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use prtip_core::cookie::SynCookie;
use prtip_core::permutation::Permutation;
use prtip_core::service_db::{search_with, Engine};
use prtip_core::target::{ExcludeSet, Family, NoResolver, TargetList, TargetSpec};
use prtip_core::wire::{
    build_ipv4_icmp, build_ipv4_tcp, build_ipv4_udp, build_syn, parse_reply, IcmpMessage, IcmpView,
    Ipv4Header, Ipv4View, Reply, TcpFlags, TcpHeader, TcpReply, TcpView, UdpHeader, UdpView,
    ICMP_ECHO_REPLY, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, UDP_REPLY_HEAD,
};

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        // The failure file would land in the source tree; the seed printed
        // on failure is enough to reproduce.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------
// Permutation

proptest! {
    #![proptest_config(config(64))]

    /// Every element of [0, n) exactly once, in any seed's order.
    #[test]
    fn permutation_is_a_bijection(n in 0u64..5_000, seed: u64) {
        let p = Permutation::new(n, seed);
        let mut seen = vec![false; n as usize];
        for x in p.iter() {
            prop_assert!(x < n, "{x} out of range");
            prop_assert!(!seen[x as usize], "{x} twice");
            seen[x as usize] = true;
        }
        prop_assert!(seen.iter().all(|&s| s));
        prop_assert_eq!(p.get(n), None);
    }

    /// The shards are disjoint, cover [0, n), and shard i holds positions
    /// i, i + count, ... of the whole order.
    #[test]
    fn shards_partition_the_permutation(n in 0u64..3_000, seed: u64, count in 1u64..9) {
        let p = Permutation::new(n, seed);
        let whole: Vec<u64> = p.iter().collect();
        let mut union = HashSet::new();
        for index in 0..count {
            let shard: Vec<u64> = p.shard(index, count).expect("index < count").collect();
            let expected: Vec<u64> = whole
                .iter()
                .copied()
                .skip(index as usize)
                .step_by(count as usize)
                .collect();
            prop_assert_eq!(&shard, &expected);
            for x in shard {
                prop_assert!(union.insert(x), "{x} in two shards");
            }
        }
        prop_assert_eq!(union.len() as u64, n);
        prop_assert!(p.shard(count, count).is_none());
    }
}

// ---------------------------------------------------------------------------
// Target expansion

/// One octet of a target expression and the values it stands for.
fn octet() -> impl Strategy<Value = (String, Vec<u8>)> {
    prop_oneof![
        any::<u8>().prop_map(|v| (v.to_string(), vec![v])),
        (any::<u8>(), 0u8..4).prop_map(|(lo, w)| {
            let hi = lo.saturating_add(w);
            (format!("{lo}-{hi}"), (lo..=hi).collect())
        }),
        (any::<u8>(), any::<u8>()).prop_map(|(a, b)| {
            let mut v = vec![a, b];
            v.sort_unstable();
            v.dedup();
            (format!("{a},{b}"), v)
        }),
        Just(("*".to_owned(), (0..=255).collect())),
    ]
}

/// Addresses an octet expression covers, by brute force.
fn octet_addresses(octets: &[Vec<u8>; 4]) -> impl Iterator<Item = u32> + '_ {
    octets[0].iter().flat_map(move |&a| {
        octets[1].iter().flat_map(move |&b| {
            octets[2].iter().flat_map(move |&c| {
                octets[3]
                    .iter()
                    .map(move |&d| u32::from_be_bytes([a, b, c, d]))
            })
        })
    })
}

proptest! {
    #![proptest_config(config(96))]

    /// A CIDR block counts 2^(32 - prefix) addresses, and expands to the
    /// block around its base address.
    #[test]
    fn cidr_counts(addr: u32, prefix in 0u8..=32) {
        let spec = format!("{}/{prefix}", Ipv4Addr::from(addr));
        let parsed = TargetSpec::parse(&spec).expect("a CIDR parses");
        prop_assert_eq!(parsed.count(), 1u64 << (32 - u32::from(prefix)));
        let mut list = TargetList::new();
        list.push_arg(spec);
        let first = list.iter(&ExcludeSet::new(), &NoResolver).next();
        let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix)) };
        let first = first.expect("one address").expect("no error").addr;
        prop_assert_eq!(first, IpAddr::V4(Ipv4Addr::from(addr & mask)));
    }

    /// Octet ranges and lists count the product of their octets' sizes, and
    /// expanding them with an exclude yields exactly the covered addresses
    /// that are not excluded, ascending.
    #[test]
    fn octet_expressions_count_and_expand(
        a: u8,
        b: u8,
        c in octet(),
        d in octet(),
        exclude_prefix in 24u8..=32,
        exclude_pick: prop::sample::Index,
    ) {
        // The first two octets stay single values so that expansion is small.
        let spec = format!("{a}.{b}.{}.{}", c.0, d.0);
        let octets = [vec![a], vec![b], c.1, d.1];
        let expected: Vec<u32> = octet_addresses(&octets).collect();
        let parsed = TargetSpec::parse(&spec).expect("an octet expression parses");
        prop_assert_eq!(parsed.count(), expected.len() as u64, "{}", spec);
        // Exclude a block around one of the covered addresses.
        let victim = expected[exclude_pick.index(expected.len())];
        let exclude = format!("{}/{exclude_prefix}", Ipv4Addr::from(victim));
        let mut excludes = ExcludeSet::new();
        excludes.add_list(&exclude, &NoResolver).expect("a CIDR exclude parses");
        let mask = u32::MAX << (32 - u32::from(exclude_prefix));
        let mut kept: Vec<u32> = expected
            .iter()
            .copied()
            .filter(|x| x & mask != victim & mask)
            .collect();
        kept.sort_unstable();
        let mut list = TargetList::new();
        list.push_arg(spec.clone());
        let got: Vec<u32> = list
            .iter(&excludes, &NoResolver)
            .map(|t| match t.expect("no error").addr {
                IpAddr::V4(a) => u32::from(a),
                IpAddr::V6(a) => panic!("{a} from an IPv4 list"),
            })
            .collect();
        prop_assert_eq!(got, kept, "{} excluding {}", spec, exclude);
    }
}

/// The example of the issue, worked by hand: three /24s, less one /25.
#[test]
fn octet_range_with_exclude_by_hand() {
    let mut list = TargetList::new();
    list.push_arg("10.0.1-3.0-255");
    assert_eq!(list.count().expect("parses"), 3 * 256);
    let mut excludes = ExcludeSet::new();
    excludes
        .add_list("10.0.2.128/25", &NoResolver)
        .expect("parses");
    assert_eq!(list.iter(&excludes, &NoResolver).count(), 3 * 256 - 128);
}

// ---------------------------------------------------------------------------
// SYN cookie

fn addr() -> impl Strategy<Value = Ipv4Addr> {
    any::<u32>().prop_map(Ipv4Addr::from)
}

proptest! {
    #![proptest_config(config(256))]

    /// The SYN-ACK or RST-ACK answering our probe validates; the same reply
    /// with any one field changed does not. The probe goes through the real
    /// builder and the reply through the real parser.
    #[test]
    fn cookie_round_trips(
        key: [u8; 16],
        us in addr(),
        them in addr(),
        sport: u16,
        dport: u16,
        rst: bool,
        which in 0usize..5,
        delta in 1u32..,
    ) {
        let cookie = SynCookie::new(key);
        let seq = cookie.seq(us, them, sport, dport);
        let mut probe = [0u8; 64];
        let n = build_syn(&mut probe, us, them, sport, dport, seq, 1, 64);
        let sent = TcpView::parse(&probe[20..n]).expect("the probe parses");
        prop_assert_eq!(sent.seq(), seq);
        let flags = if rst { TcpFlags::RST_ACK } else { TcpFlags::SYN_ACK };
        let answer = TcpReply {
            src: them.into(),
            dst: us.into(),
            sport: dport,
            dport: sport,
            seq: 12345,
            ack: sent.seq().wrapping_add(1),
            flags,
            window: 0,
            ttl: 64,
        };
        prop_assert!(cookie.validate(&Reply::Tcp(answer)));
        let mut wrong = answer;
        match which {
            0 => wrong.ack = wrong.ack.wrapping_add(delta),
            1 => wrong.src = Ipv4Addr::from(u32::from(them).wrapping_add(delta)).into(),
            2 => wrong.dst = Ipv4Addr::from(u32::from(us).wrapping_add(delta)).into(),
            3 => wrong.sport = wrong.sport.wrapping_add(delta as u16 | 1),
            _ => wrong.dport = wrong.dport.wrapping_add(delta as u16 | 1),
        }
        // A 32-bit keyed hash collides with probability 2^-32: treat a
        // collision as the failure it almost surely is not.
        prop_assert!(!cookie.validate(&Reply::Tcp(wrong)), "{:?}", wrong);
    }

    /// Source ports stay in `base .. base + range`, clipped at 65535, and a
    /// zero range means `base`.
    #[test]
    fn source_port_stays_in_its_window(key: [u8; 16], dst in addr(), dport: u16, base: u16, range: u16) {
        let p = SynCookie::new(key).source_port(dst, dport, base, range);
        let top = (u32::from(base) + u32::from(range).max(1) - 1).min(65_535);
        prop_assert!(u32::from(p) >= u32::from(base) && u32::from(p) <= top, "{p} not in {base}..={top}");
    }
}

// ---------------------------------------------------------------------------
// Wire: builders against views

fn ip(src: Ipv4Addr, dst: Ipv4Addr, id: u16, ttl: u8, tos: u8, df: bool) -> Ipv4Header {
    Ipv4Header {
        src,
        dst,
        id,
        ttl,
        tos,
        df,
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// A UDP datagram with any fields and payload reads back the same, with
    /// valid checksums, through the view and the engines' classifier.
    #[test]
    fn udp_round_trips(
        src in addr(), dst in addr(), id: u16, ttl: u8, tos: u8, df: bool,
        sport: u16, dport: u16, payload in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let h = ip(src, dst, id, ttl, tos, df);
        let mut buf = [0u8; 256];
        let n = build_ipv4_udp(&mut buf, &h, &UdpHeader { sport, dport }, &payload).expect("fits");
        let v = Ipv4View::parse(&buf[..n]).expect("IPv4 parses");
        prop_assert!(v.checksum_ok());
        prop_assert_eq!((v.src(), v.dst(), v.id(), v.ttl(), v.tos(), v.df()), (src, dst, id, ttl, tos, df));
        prop_assert_eq!(v.proto(), IPPROTO_UDP);
        let u = UdpView::parse(v.payload()).expect("UDP parses");
        prop_assert_eq!((u.sport(), u.dport(), u.payload()), (sport, dport, &payload[..]));
        prop_assert_eq!(prtip_core::wire::checksum::ipv4_transport(src, dst, IPPROTO_UDP, v.payload()), Some(0));
        match parse_reply(&buf[..n]) {
            Some(Reply::Udp(r)) => {
                prop_assert_eq!((r.src, r.dst, r.sport, r.dport, r.ttl), (IpAddr::from(src), IpAddr::from(dst), sport, dport, ttl));
                let kept = payload.len().min(UDP_REPLY_HEAD);
                prop_assert_eq!(r.head(), &payload[..kept]);
            }
            other => prop_assert!(false, "classified as {:?}", other),
        }
    }

    /// A TCP segment with any fields and whole 32-bit words of options.
    #[test]
    fn tcp_round_trips(
        src in addr(), dst in addr(), id: u16, ttl: u8, df: bool,
        sport: u16, dport: u16, seq: u32, ack: u32, flags: u8, reserved in 0u8..16,
        window: u16, urgent: u16, words in 0usize..=10, fill: [u8; 40],
    ) {
        let options = &fill[..words * 4];
        let t = TcpHeader {
            sport, dport, seq, ack, flags: TcpFlags(flags), reserved, window, urgent, options,
        };
        let mut buf = [0u8; 128];
        let n = build_ipv4_tcp(&mut buf, &ip(src, dst, id, ttl, 0, df), &t).expect("fits");
        let v = Ipv4View::parse(&buf[..n]).expect("IPv4 parses");
        prop_assert!(v.checksum_ok());
        prop_assert_eq!(v.proto(), IPPROTO_TCP);
        let s = TcpView::parse(v.payload()).expect("TCP parses");
        prop_assert_eq!(
            (s.sport(), s.dport(), s.seq(), s.ack(), s.flags().0, s.reserved(), s.window(), s.urgent()),
            (sport, dport, seq, ack, flags, reserved, window, urgent)
        );
        prop_assert_eq!(s.options(), options);
        prop_assert!(s.payload().is_empty());
        prop_assert_eq!(prtip_core::wire::checksum::ipv4_transport(src, dst, IPPROTO_TCP, v.payload()), Some(0));
        match parse_reply(&buf[..n]) {
            Some(Reply::Tcp(r)) => prop_assert_eq!(
                (r.src, r.dst, r.sport, r.dport, r.seq, r.ack, r.flags.0, r.window, r.ttl),
                (IpAddr::from(src), IpAddr::from(dst), sport, dport, seq, ack, flags, window, ttl)
            ),
            other => prop_assert!(false, "classified as {:?}", other),
        }
    }

    /// An ICMP message with any type, code, rest of header and body.
    #[test]
    fn icmp_round_trips(
        src in addr(), dst in addr(), id: u16, ttl: u8,
        icmp_type: u8, code: u8, rest: u32, body in prop::collection::vec(any::<u8>(), 0..100),
    ) {
        let m = IcmpMessage { icmp_type, code, rest, body: &body };
        let mut buf = [0u8; 160];
        let n = build_ipv4_icmp(&mut buf, &ip(src, dst, id, ttl, 0, false), &m).expect("fits");
        let v = Ipv4View::parse(&buf[..n]).expect("IPv4 parses");
        prop_assert_eq!(v.proto(), IPPROTO_ICMP);
        let i = IcmpView::parse(v.payload()).expect("ICMP parses");
        prop_assert_eq!((i.icmp_type(), i.code(), i.rest(), i.body()), (icmp_type, code, rest, &body[..]));
        prop_assert_eq!(prtip_core::wire::checksum::checksum(v.payload()), 0);
        if icmp_type == ICMP_ECHO_REPLY {
            match parse_reply(&buf[..n]) {
                Some(Reply::IcmpEchoReply(r)) => prop_assert_eq!(
                    (r.src, r.dst, r.id, r.seq, r.ttl),
                    (IpAddr::from(src), IpAddr::from(dst), (rest >> 16) as u16, rest as u16, ttl)
                ),
                other => prop_assert!(false, "classified as {:?}", other),
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Service patterns: prtip's engines against PCRE

/// A pattern from a small grammar of what nmap's rules use, over a small
/// alphabet so that generated subjects often match: literals, classes,
/// `.`, groups, alternation, greedy and lazy quantifiers, anchors; with
/// `extended`, also what only the backtracker runs (lookaround,
/// backreferences, atomic groups, possessive quantifiers).
fn pattern(extended: bool) -> impl Strategy<Value = String> {
    let atom = prop_oneof![
        4 => prop::sample::select(vec!["a", "b", "c", "0", " ", "\\n"]).prop_map(str::to_owned),
        1 => prop::sample::select(vec![".", "[ab]", "[^a]", "[a-c0]", "\\d", "\\w", "\\s", "\\x61", "[[:alpha:]]"])
            .prop_map(str::to_owned),
    ];
    let leaf = atom.prop_recursive(3, 24, 4, move |inner| {
        let quantifier = prop::sample::select(vec![
            "*", "+", "?", "{2}", "{1,2}", "*?", "+?", "??", "{0,2}?",
        ]);
        let mut choices = vec![
            prop::collection::vec(inner.clone(), 1..4)
                .prop_map(|v| v.concat())
                .boxed(),
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| format!("{a}|{b}"))
                .boxed(),
            inner.clone().prop_map(|a| format!("({a})")).boxed(),
            inner.clone().prop_map(|a| format!("(?:{a})")).boxed(),
            (inner.clone(), quantifier)
                .prop_map(|(a, q)| format!("(?:{a}){q}"))
                .boxed(),
        ];
        if extended {
            choices.push(inner.clone().prop_map(|a| format!("(?={a})")).boxed());
            choices.push(inner.clone().prop_map(|a| format!("(?!{a})")).boxed());
            choices.push(inner.clone().prop_map(|a| format!("(?>{a})")).boxed());
            choices.push(inner.clone().prop_map(|a| format!("(?:{a})++")).boxed());
            choices.push(inner.clone().prop_map(|a| format!("({a})\\1")).boxed());
            choices.push(
                prop::sample::select(vec!["(?<=a)", "(?<!b)", "\\b", "\\B"])
                    .prop_map(str::to_owned)
                    .boxed(),
            );
        }
        prop::strategy::Union::new(choices)
    });
    (any::<bool>(), leaf, any::<bool>()).prop_map(|(start, body, end)| {
        format!(
            "{}{}{}",
            if start { "^" } else { "" },
            body,
            if end { "$" } else { "" }
        )
    })
}

fn subject() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(b"abc0 \nA".to_vec()), 0..12)
}

type Spans = Vec<Option<(usize, usize)>>;

/// What PCRE (nmap's engine; flags as nmap sets them: none, or CASELESS
/// and DOTALL for `i` and `s`) finds: the spans of the leftmost match.
fn pcre(pattern: &str, fold: bool, dotall: bool, hay: &[u8]) -> Option<Spans> {
    let re = pcre2::bytes::RegexBuilder::new()
        .caseless(fold)
        .dotall(dotall)
        .build(pattern)
        .unwrap_or_else(|e| panic!("PCRE rejects generated pattern {pattern:?}: {e}"));
    let caps = re.captures(hay).expect("PCRE matching does not fail")?;
    Some(
        (0..caps.len())
            .map(|i| caps.get(i).map(|m| (m.start(), m.end())))
            .collect(),
    )
}

/// The spans with the whole match's end left out.
fn without_end(spans: &Option<Spans>) -> Option<Spans> {
    spans.as_ref().map(|s| {
        let mut s = s.clone();
        if let Some(Some((start, _))) = s.first().copied() {
            s[0] = Some((start, start));
        }
        s
    })
}

fn check_against_pcre(
    pattern: &str,
    fold: bool,
    dotall: bool,
    hay: &[u8],
) -> Result<(), TestCaseError> {
    let want = pcre(pattern, fold, dotall, hay);
    let mut ran = false;
    for engine in [Engine::Regex, Engine::Backtrack] {
        // Err: this engine cannot run the pattern, or gave up; nothing to compare.
        let Ok(got) = search_with(pattern, fold, dotall, engine, hay) else {
            continue;
        };
        ran = true;
        // The automaton renders a final `$` as `\n?\z`, taking in the
        // newline PCRE's `$` only looks at: the whole match may end one byte
        // later there, and nothing reads it (see fuzz-targets' service.rs).
        let (got, want) = match engine {
            Engine::Regex => (without_end(&got), without_end(&want)),
            Engine::Backtrack => (got, want.clone()),
        };
        prop_assert_eq!(
            &got,
            &want,
            "{:?} on {:?} (i={}, s={}): {:?} differs from PCRE",
            pattern,
            String::from_utf8_lossy(hay),
            fold,
            dotall,
            engine
        );
    }
    prop_assert!(ran, "no engine ran {:?}", pattern);
    Ok(())
}

proptest! {
    #![proptest_config(config(512))]

    /// Patterns both engines can run: each must find what PCRE finds,
    /// capture groups included.
    #[test]
    fn engines_agree_with_pcre(p in pattern(false), hay in subject(), fold: bool, dotall: bool) {
        check_against_pcre(&p, fold, dotall, &hay)?;
    }

    /// Patterns with constructs only the backtracker runs.
    #[test]
    fn backtracker_agrees_with_pcre(p in pattern(true), hay in subject(), fold: bool, dotall: bool) {
        check_against_pcre(&p, fold, dotall, &hay)?;
    }

    /// An IPv6 block counts 2^(128 - prefix) addresses and expands from its
    /// base; excluding a smaller block inside it removes exactly that block.
    #[test]
    fn ipv6_blocks_count_expand_and_exclude(addr: u128, prefix in 120u8..=128, hole in 124u8..=128, pick: u8) {
        let host_bits = 128 - u32::from(prefix);
        let base = addr & !(u128::MAX.checked_shr(u32::from(prefix)).unwrap_or(0));
        let spec = format!("{}/{prefix}", Ipv6Addr::from(addr));
        let parsed = TargetSpec::parse_in(&spec, Family::V6).expect("an IPv6 block parses");
        prop_assert_eq!(parsed.count(), 1u64 << host_bits);
        let size = 1u128 << host_bits;
        let victim = base + u128::from(pick) % size;
        let hole_mask = !u128::MAX.checked_shr(u32::from(hole)).unwrap_or(0);
        let mut excludes = ExcludeSet::new();
        excludes
            .add_list(&format!("{}/{hole}", Ipv6Addr::from(victim)), &NoResolver)
            .expect("an IPv6 exclude parses");
        let mut list = TargetList::with_family(Family::V6);
        list.push_arg(spec.clone());
        let got: Vec<u128> = list
            .iter(&excludes, &NoResolver)
            .map(|t| match t.expect("no error").addr {
                IpAddr::V6(a) => u128::from(a),
                IpAddr::V4(a) => panic!("{a} from an IPv6 list"),
            })
            .collect();
        let want: Vec<u128> = (0..size)
            .map(|i| base + i)
            .filter(|x| x & hole_mask != victim & hole_mask)
            .collect();
        prop_assert_eq!(got, want, "{}", spec);
    }
}
