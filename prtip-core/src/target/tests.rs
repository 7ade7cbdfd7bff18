use super::octets::OctetSet;
use super::*;
use std::net::Ipv4Addr;

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn resolver(name: &str) -> std::result::Result<Vec<IpAddr>, String> {
    let v4 = |s: &str| IpAddr::V4(s.parse().unwrap());
    match name {
        "localhost" => Ok(vec![
            "::1".parse().unwrap(),
            v4("127.0.0.1"),
            v4("127.0.0.2"),
        ]),
        "scanme.example" => Ok(vec![v4("198.18.0.5")]),
        "multi.example" => Ok(vec![v4("198.18.1.1"), v4("198.18.2.1")]),
        "v6only.example" => Ok(vec!["2001:db8::1".parse().unwrap()]),
        _ => Err("Name or service not known".to_owned()),
    }
}

fn expand(list: &TargetList, ex: &ExcludeSet, n: usize) -> Vec<String> {
    list.iter(ex, &resolver)
        .take(n)
        .map(|r| match r {
            Ok(Target {
                addr,
                hostname: Some(h),
                ..
            }) => format!("{h} ({addr})"),
            Ok(Target { addr, .. }) => addr.to_string(),
            Err(e) => format!("ERR {e}"),
        })
        .collect()
}

fn one(spec: &str) -> TargetList {
    let mut l = TargetList::new();
    l.push_arg(spec);
    l
}

#[test]
fn good_specs_count_and_expand() {
    let cases: &[(&str, u64, &[&str])] = &[
        ("192.168.1.1", 1, &["192.168.1.1"]),
        ("010.0.0.001", 1, &["10.0.0.1"]),
        (
            "10.0.0.0/8",
            16_777_216,
            &["10.0.0.0", "10.0.0.1", "10.0.0.2"],
        ),
        ("10.0.0.5/24", 256, &["10.0.0.0", "10.0.0.1"]),
        ("10.0.0.5/32", 1, &["10.0.0.5"]),
        ("0.0.0.0/0", 1 << 32, &["0.0.0.0", "0.0.0.1"]),
        (
            "255.255.255.254/31",
            2,
            &["255.255.255.254", "255.255.255.255"],
        ),
        ("192.168.0-3.1-254", 1016, &["192.168.0.1", "192.168.0.2"]),
        (
            "10.0.1,3.5-7",
            6,
            &[
                "10.0.1.5", "10.0.1.6", "10.0.1.7", "10.0.3.5", "10.0.3.6", "10.0.3.7",
            ],
        ),
        ("10.0.0.-", 256, &["10.0.0.0", "10.0.0.1"]),
        (
            "10.0.0.250-",
            6,
            &[
                "10.0.0.250",
                "10.0.0.251",
                "10.0.0.252",
                "10.0.0.253",
                "10.0.0.254",
                "10.0.0.255",
            ],
        ),
        ("10.0.0.-2", 3, &["10.0.0.0", "10.0.0.1", "10.0.0.2"]),
        ("10.*.0.1", 256, &["10.0.0.1", "10.1.0.1", "10.2.0.1"]),
        ("1-2.0.0.1", 2, &["1.0.0.1", "2.0.0.1"]),
        ("192.168.0-3.1/24", 1024, &["192.168.0.0", "192.168.0.1"]),
        (
            "10.0.0.1,3/31",
            4,
            &["10.0.0.0", "10.0.0.1", "10.0.0.2", "10.0.0.3"],
        ),
        (
            "10.0.0.1,5/31",
            4,
            &["10.0.0.0", "10.0.0.1", "10.0.0.4", "10.0.0.5"],
        ),
        ("scanme.example", 1, &["scanme.example (198.18.0.5)"]),
        ("localhost", 1, &["localhost (127.0.0.1)"]),
        (
            "localhost/30",
            4,
            &[
                "127.0.0.0",
                "localhost (127.0.0.1)",
                "127.0.0.2",
                "127.0.0.3",
            ],
        ),
        ("multi.example/0", 1 << 32, &["0.0.0.0"]),
    ];
    for &(spec, count, first) in cases {
        let list = one(spec);
        assert_eq!(list.count(), Ok(count), "count of {spec}");
        let got = expand(&list, &ExcludeSet::new(), first.len() + 1);
        assert_eq!(&got[..first.len()], first, "expansion of {spec}");
        if u64::try_from(first.len()).unwrap() == count {
            assert_eq!(got.len(), first.len(), "{spec} yields more than {count}");
        }
    }
}

#[test]
fn small_specs_expand_to_exactly_count_addresses() {
    for spec in [
        "192.168.0-3.1-254",
        "10.0.1,3.5-7",
        "1-3.0-1.*.7,9",
        "10.0.0.1,5/31",
    ] {
        let list = one(spec);
        let all: Vec<Target> = list
            .iter(&ExcludeSet::new(), &NoResolver)
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(all.len() as u64, list.count().unwrap(), "{spec}");
        assert!(
            all.windows(2).all(|w| w[0].addr < w[1].addr),
            "{spec} not ascending"
        );
    }
}

#[test]
fn bad_specs_name_the_token() {
    let cases = [
        ("10.0.0.300", "invalid target \"10.0.0.300\": octet 300 out of range"),
        ("10.0.0.0/", "invalid CIDR prefix \"/\" in \"10.0.0.0/\""),
        ("10.0.0.0/-1", "invalid CIDR prefix \"/-1\" in \"10.0.0.0/-1\""),
        ("10.0.0.0/+8", "invalid CIDR prefix \"/+8\" in \"10.0.0.0/+8\""),
        ("10.0.0.0/99999999999", "invalid CIDR prefix \"/99999999999\" in \"10.0.0.0/99999999999\""),
        ("localhost/x", "invalid CIDR prefix \"/x\" in \"localhost/x\""),
        ("/24", "invalid target \"/24\": missing address before \"/\""),
        ("10.0.0", "invalid target \"10.0.0\": expected 4 octets, found 3 (a range needs all four, like 10.0.0.1-254)"),
        ("10.0.0.1.2", "invalid target \"10.0.0.1.2\": more than 4 octets"),
        ("10..0.1", "invalid target \"10..0.1\": empty octet"),
        ("10.0.0.", "invalid target \"10.0.0.\": empty octet"),
        ("10.0.0.1,,2", "invalid target \"10.0.0.1,,2\": empty octet"),
        ("10.0.0.5-3", "invalid target \"10.0.0.5-3\": octet range 5-3 is reversed"),
        ("10.0.0.1--2", "invalid target \"10.0.0.1--2\": malformed octet \"-2\""),
        ("10.0.0.1*", "invalid target \"10.0.0.1*\": malformed octet \"1*\""),
        ("10.0.0.99999999999999999999", "invalid target \"10.0.0.99999999999999999999\": octet 99999999999999999999 out of range"),
        ("fe80::1/64", "invalid target \"fe80::1/64\": 2^64 addresses are too many to scan; the largest IPv6 block prtip scans is a /96"),
        ("2001:db8::/95", "invalid target \"2001:db8::/95\": 2^33 addresses are too many to scan; the largest IPv6 block prtip scans is a /96"),
        ("2001:db8::1/129", "invalid CIDR prefix \"/129\" in \"2001:db8::1/129\""),
        ("::1/200", "invalid CIDR prefix \"/200\" in \"::1/200\""),
        ("2001:db8:::1", "invalid target \"2001:db8:::1\": not a valid IPv6 address"),
        ("2001:db8::1-8", "invalid target \"2001:db8::1-8\": not a valid IPv6 address"),
        ("fe80::1%", "invalid target \"fe80::1%\": \"\" is not an interface name"),
        ("fe80::1%a b", "invalid target \"fe80::1%a b\": \"a b\" is not an interface name"),
        ("fe80::1%abcdefghijklmnop", "invalid target \"fe80::1%abcdefghijklmnop\": \"abcdefghijklmnop\" is not an interface name"),
        ("a:b", "invalid target \"a:b\": not a valid IPv6 address"),
        ("foo!bar", "invalid target \"foo!bar\": character '!' is not allowed in a hostname"),
        ("-oops", "invalid target \"-oops\": a hostname cannot start with '-'"),
        ("foo..example", "invalid target \"foo..example\": empty or over-long label in hostname"),
        ("", "invalid target \"\": empty target"),
    ];
    for (spec, want) in cases {
        match TargetSpec::parse(spec) {
            Ok(s) => panic!("{spec:?} parsed as {s:?}"),
            Err(e) => assert_eq!(e.to_string(), want, "spec {spec:?}"),
        }
    }
}

#[test]
fn oversized_netmasks_mean_one_host_in_targets_as_in_nmap() {
    // nmap 7.93: `Illegal netmask in "10.0.0.0/33". Assuming /32 (one host)`.
    for (spec, count, first) in [
        ("10.0.0.0/33", 1, "10.0.0.0"),
        ("10.0.0.9/033", 1, "10.0.0.9"),
        ("10.0.0.9/2147483647", 1, "10.0.0.9"),
        ("10.0.0.1-3/40", 3, "10.0.0.1"),
    ] {
        let list = one(spec);
        assert_eq!(list.count(), Ok(count), "{spec}");
        assert_eq!(expand(&list, &ExcludeSet::new(), 1), vec![first], "{spec}");
        let warned: Vec<String> = list.warnings().collect();
        assert_eq!(
            warned,
            vec![format!(
                "illegal netmask in \"{spec}\": assuming /32 (one host), as nmap does"
            )]
        );
    }
    // Beyond an int, nmap cannot split the netmask off at all.
    for spec in [
        "10.0.0.0/2147483648",
        "10.0.0.0/+33",
        "10.0.0.0/-1",
        "::1/200",
    ] {
        assert!(one(spec).count().is_err(), "{spec}");
        assert_eq!(one(spec).warnings().count(), 0, "{spec}");
    }
    // A legal netmask is no warning.
    assert_eq!(one("10.0.0.0/32").warnings().count(), 0);
    // In a file, the warning says where.
    let mut l = TargetList::new();
    l.push_file("list.txt", "10.0.0.1\n# x/99\n10.0.0.2/99\n");
    assert_eq!(l.count(), Ok(2));
    assert_eq!(
        l.warnings().collect::<Vec<_>>(),
        vec![
            "list.txt:3: illegal netmask in \"10.0.0.2/99\": assuming /32 (one host), as nmap does"
        ]
    );
    // nmap quits on an exclusion with such a netmask; so does prtip.
    let e = ExcludeSet::new().add_list("10.0.0.1/33", &NoResolver);
    assert_eq!(
        e.map_err(|e| e.to_string()),
        Err("invalid CIDR prefix \"/33\" in \"10.0.0.1/33\"".to_string())
    );
    let e = ExcludeSet::new().add_file("x", "10.0.0.1/40\n", &NoResolver);
    assert!(e.is_err(), "{e:?}");
    assert_eq!(TargetSpec::parse("10.0.0.0/33").map(|s| s.count()), Ok(1));
}

#[test]
fn resolution_failures_are_items_and_iteration_goes_on() {
    let mut l = TargetList::new();
    for t in ["nx.example", "10.0.0.1", "v6only.example", "10.0.0.2"] {
        l.push_arg(t);
    }
    assert_eq!(l.count(), Ok(4));
    assert_eq!(
        expand(&l, &ExcludeSet::new(), 10),
        vec![
            "ERR failed to resolve \"nx.example\": Name or service not known",
            "10.0.0.1",
            "ERR failed to resolve \"v6only.example\": no IPv4 address (scan its IPv6 addresses with -6)",
            "10.0.0.2",
        ]
    );
}

#[test]
fn hostnames_are_resolved_once_per_expression() {
    let calls = std::cell::Cell::new(0);
    let counting = |name: &str| {
        calls.set(calls.get() + 1);
        resolver(name)
    };
    let l = one("localhost/24");
    let n = l.iter(&ExcludeSet::new(), &counting).count();
    assert_eq!(n, 256);
    assert_eq!(calls.get(), 1);
}

#[test]
fn input_list_content_with_comments_and_line_numbers() {
    let content = "10.0.0.1 10.0.0.2 # trailing comment 10.9.9.9\n\
                   \n\
                   # whole-line comment\n\
                   \tlocalhost\tscanme.example#glued comment\n\
                   10.0.0.300\n\
                   10.0.0.3\n";
    let mut l = TargetList::new();
    l.push_file("hosts.txt", content);
    assert_eq!(
        l.count().unwrap_err().to_string(),
        "hosts.txt:5: invalid target \"10.0.0.300\": octet 300 out of range"
    );
    assert_eq!(
        expand(&l, &ExcludeSet::new(), 10),
        vec![
            "10.0.0.1",
            "10.0.0.2",
            "localhost (127.0.0.1)",
            "scanme.example (198.18.0.5)",
            "ERR hosts.txt:5: invalid target \"10.0.0.300\": octet 300 out of range",
            "10.0.0.3",
        ]
    );
    let mut empty = TargetList::new();
    empty.push_file("-", "# nothing here\n\n   \n");
    assert!(empty.is_empty());
    assert_eq!(empty.count(), Ok(0));
    assert!(!l.is_empty());
}

#[test]
fn args_and_files_keep_their_order_and_duplicates() {
    let mut l = TargetList::new();
    l.push_arg("10.0.0.1");
    l.push_file("a.txt", "10.0.0.2\n10.0.0.1\n");
    l.push_arg(" 10.0.0.1 ");
    assert_eq!(l.count(), Ok(4));
    assert_eq!(
        expand(&l, &ExcludeSet::new(), 10),
        vec!["10.0.0.1", "10.0.0.2", "10.0.0.1", "10.0.0.1"]
    );
}

#[test]
fn iterator_can_move_to_another_thread() {
    fn assert_send<T: Send>() {}
    assert_send::<Targets<'static, NoResolver>>();
    assert_send::<TargetList>();
    assert_send::<ExcludeSet>();
}

#[test]
fn huge_cidr_is_lazy() {
    let l = one("10.0.0.0/8");
    assert_eq!(l.count(), Ok(16_777_216));
    let first: Vec<Target> = l
        .iter(&ExcludeSet::new(), &NoResolver)
        .take(1000)
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(first.len(), 1000);
    assert_eq!(first[0].addr, ip("10.0.0.0"));
    assert_eq!(first[999].addr, ip("10.0.3.231"));
    assert!(first.iter().all(|t| t.hostname.is_none()));
    let mut all = TargetList::new();
    for _ in 0..5 {
        all.push_arg("0.0.0.0/0");
    }
    assert_eq!(all.count(), Ok(5 << 32));
}

#[test]
fn overlapping_excludes_merge_into_ranges() {
    let mut ex = ExcludeSet::new();
    ex.add_list(
        "10.0.0.0/24, 10.0.0.128/25,10.0.0.250-255,10.0.1.0/24",
        &resolver,
    )
    .unwrap();
    ex.add_list("10.0.1.7,10.0.5.5", &resolver).unwrap();
    let ranges: Vec<_> = ex.ranges().collect();
    assert_eq!(
        ranges,
        vec![
            (ip("10.0.0.0"), ip("10.0.1.255")),
            (ip("10.0.5.5"), ip("10.0.5.5"))
        ]
    );
    assert!(ex.contains(ip("10.0.0.0")) && ex.contains(ip("10.0.1.255")));
    assert!(!ex.contains(ip("10.0.2.0")) && !ex.contains(ip("9.255.255.255")));
    let l = one("10.0.0.0/22");
    let got = expand(&l, &ex, 2000);
    assert_eq!(got.len(), 512);
    assert_eq!(got[0], "10.0.2.0");
    assert_eq!(got[511], "10.0.3.255");
}

#[test]
fn an_exclude_covering_the_whole_target_skips_it_at_once() {
    let mut ex = ExcludeSet::new();
    ex.add_list("10.0.0.0/8", &NoResolver).unwrap();
    let mut l = TargetList::new();
    l.push_arg("10.0.0.0/8");
    l.push_arg("10.0-255.0-255.1");
    l.push_arg("10.1.2.3");
    l.push_arg("11.0.0.1");
    assert_eq!(l.count(), Ok(16_777_216 + 65_536 + 2));
    assert_eq!(expand(&l, &ex, 10), vec!["11.0.0.1"]);
    let mut everything = ExcludeSet::new();
    everything.add_list("0.0.0.0/0", &NoResolver).unwrap();
    assert!(expand(&one("0.0.0.0/0"), &everything, 1).is_empty());
}

#[test]
fn octet_pattern_excludes() {
    let mut ex = ExcludeSet::new();
    ex.add_list("*.*.*.1", &NoResolver).unwrap();
    assert_eq!(ex.ranges().count(), 0, "kept as a pattern, not 16M ranges");
    assert_eq!(ex.patterns.len(), 1);
    assert_eq!(
        expand(&one("10.0.0.0/30"), &ex, 10),
        vec!["10.0.0.0", "10.0.0.2", "10.0.0.3"]
    );
    let mut small = ExcludeSet::new();
    small.add_list("10.0.0-3.1-2", &NoResolver).unwrap();
    assert_eq!(small.ranges().count(), 4);
    assert!(small.patterns.is_empty());
}

#[test]
fn exclude_hostnames_and_files() {
    let mut ex = ExcludeSet::new();
    ex.add_list("multi.example", &resolver).unwrap();
    assert!(ex.contains(ip("198.18.1.1")) && ex.contains(ip("198.18.2.1")));
    ex.add_file("ex.txt", "# c\n127.0.0.0/30 # loopback\n", &resolver)
        .unwrap();
    assert_eq!(expand(&one("localhost"), &ex, 10), Vec::<String>::new());
    let err = ex
        .add_file("ex.txt", "10.0.0.1\n\n10.0.0.0/40\n", &resolver)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "ex.txt:3: invalid CIDR prefix \"/40\" in \"10.0.0.0/40\""
    );
    let err = ex.add_list("10.0.0.1,nx.example", &resolver).unwrap_err();
    assert_eq!(
        err.to_string(),
        "failed to resolve \"nx.example\": Name or service not known"
    );
    let err = ex.add_list("10.0.0.300", &resolver).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid target \"10.0.0.300\": octet 300 out of range"
    );
}

/// Tiny xorshift generator, so the "fuzz" cases are reproducible.
fn rng(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

#[test]
fn first_at_or_after_agrees_with_brute_force() {
    let mut seed = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..40 {
        let mut set = OctetSet::empty();
        set.set(0, 10);
        set.set(1, 20);
        for i in 2..4 {
            for _ in 0..(rng(&mut seed) % 6 + 1) {
                set.set(i, (rng(&mut seed) % 256) as u8);
            }
        }
        let base = u32::from(ip("10.20.0.0"));
        let members: Vec<u32> = (0..65_536u32)
            .map(|x| base + x)
            .filter(|&a| set.contains(a))
            .collect();
        assert_eq!(members.len() as u64, set.count());
        for _ in 0..200 {
            let x = u32::from(ip("10.19.255.0")) + (rng(&mut seed) % 66_000) as u32;
            let want = members.iter().copied().find(|&a| a >= x);
            assert_eq!(
                set.first_at_or_after(x),
                want,
                "{set:?} from {}",
                Ipv4Addr::from(x)
            );
        }
        let pieces: Vec<(u32, u32)> = set.pieces().collect();
        let from_pieces: u64 = pieces.iter().map(|&(lo, hi)| u64::from(hi - lo) + 1).sum();
        assert_eq!(from_pieces, set.count());
        assert!(pieces.len() as u64 <= set.piece_count());
    }
}

#[test]
fn random_input_never_panics() {
    const ALPHABET: &[u8] = b"0123456789..../,,--**::abcxyzAZ #!_\t\n\xc3\xa9";
    let mut seed = 0x1234_5678_9ABC_DEF1;
    for _ in 0..20_000 {
        let len = (rng(&mut seed) % 24) as usize;
        let bytes: Vec<u8> = (0..len)
            .map(|_| ALPHABET[(rng(&mut seed) % ALPHABET.len() as u64) as usize])
            .collect();
        let s = String::from_utf8_lossy(&bytes).into_owned();
        if let Ok(spec) = TargetSpec::parse(&s) {
            let _ = spec.count();
        }
        let _ = crate::ports::PortSpec::parse(&s, None);
        let _ = ExcludeSet::new().add_list(&s, &resolver);
        let mut l = TargetList::new();
        l.push_arg(s.clone());
        l.push_file("f", s.clone());
        let _ = l.count();
        for r in l.iter(&ExcludeSet::new(), &resolver).take(3) {
            let _ = r;
        }
        let _ = crate::services::top_ports(&s, "f", crate::result::Protocol::Tcp, 3);
    }
}

fn one6(spec: &str) -> TargetList {
    let mut l = TargetList::with_family(Family::V6);
    l.push_arg(spec);
    l
}

#[test]
fn ipv6_literals_blocks_and_scopes_count_and_expand() {
    let cases: &[(&str, u64, &[&str])] = &[
        ("::1", 1, &["::1"]),
        ("2001:DB8::0001", 1, &["2001:db8::1"]),
        (
            "2001:db8::5/126",
            4,
            &["2001:db8::4", "2001:db8::5", "2001:db8::6"],
        ),
        ("2001:db8:4::/118", 1024, &["2001:db8:4::", "2001:db8:4::1"]),
        ("2001:db8::/96", 1 << 32, &["2001:db8::", "2001:db8::1"]),
        ("2001:db8::7/128", 1, &["2001:db8::7"]),
        ("::ffff:198.18.0.1", 1, &["::ffff:198.18.0.1"]),
        ("fe80::1%eth0", 1, &["fe80::1"]),
    ];
    for &(spec, count, first) in cases {
        let l = one6(spec);
        assert_eq!(l.count(), Ok(count), "{spec}");
        assert_eq!(expand(&l, &ExcludeSet::new(), first.len()), first, "{spec}");
        assert_eq!(l.warnings().count(), 0, "{spec}");
    }
    let t: Vec<Target> = one6("fe80::1%eth0/127")
        .iter(&ExcludeSet::new(), &NoResolver)
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(t.len(), 2);
    assert!(
        t.iter().all(|t| t.scope.as_deref() == Some("eth0")),
        "{t:?}"
    );
    // The top of the space ends the walk instead of wrapping around.
    let top = one6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127");
    assert_eq!(
        expand(&top, &ExcludeSet::new(), 5),
        [
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
        ]
    );
}

#[test]
fn a_family_mismatch_is_an_error_on_the_command_line_and_skipped_in_files() {
    assert_eq!(
        one("::1").count().map_err(|e| e.to_string()),
        Err("invalid target \"::1\": an IPv6 address; scan IPv6 targets with -6".to_owned())
    );
    assert_eq!(
        one6("198.18.0.1").count().map_err(|e| e.to_string()),
        Err("invalid target \"198.18.0.1\": an IPv4 address; -6 scans IPv6 targets only; scan IPv4 without it".to_owned())
    );
    let content = "198.18.0.1\n2001:db8::1\n198.18.0.2/31 # two\n2001:db8::8/127\n";
    let mut v4 = TargetList::new();
    v4.push_file("mixed.txt", content);
    assert_eq!(v4.count(), Ok(3));
    assert_eq!(
        expand(&v4, &ExcludeSet::new(), 10),
        ["198.18.0.1", "198.18.0.2", "198.18.0.3"]
    );
    assert_eq!(
        v4.warnings().collect::<Vec<_>>(),
        [
            "mixed.txt:2: skipping \"2001:db8::1\": an IPv6 address in an IPv4 scan",
            "mixed.txt:4: skipping \"2001:db8::8/127\": an IPv6 address in an IPv4 scan",
        ]
    );
    let mut v6 = TargetList::with_family(Family::V6);
    v6.push_file("mixed.txt", content);
    assert_eq!(v6.count(), Ok(3));
    assert_eq!(
        expand(&v6, &ExcludeSet::new(), 10),
        ["2001:db8::1", "2001:db8::8", "2001:db8::9"]
    );
    assert_eq!(v6.warnings().count(), 2);
    // A file's bad line is still an error, whatever the family.
    let mut bad = TargetList::with_family(Family::V6);
    bad.push_file("bad.txt", "::1\n2001:db8::/64\n");
    assert_eq!(
        bad.count().map_err(|e| e.to_string()),
        Err("bad.txt:2: invalid target \"2001:db8::/64\": 2^64 addresses are too many to scan; the largest IPv6 block prtip scans is a /96".to_owned())
    );
}

#[test]
fn names_resolve_to_the_scan_family() {
    let mut l = TargetList::with_family(Family::V6);
    for t in ["localhost", "scanme.example", "v6only.example/126"] {
        l.push_arg(t);
    }
    assert_eq!(l.count(), Ok(6));
    assert_eq!(
        expand(&l, &ExcludeSet::new(), 10),
        [
            "localhost (::1)",
            "ERR failed to resolve \"scanme.example\": no IPv6 address (scan its IPv4 addresses without -6)",
            "2001:db8::",
            "v6only.example (2001:db8::1)",
            "2001:db8::2",
            "2001:db8::3",
        ]
    );
    // A name's netmask is as wide as its family.
    assert!(TargetSpec::parse_in("localhost/120", Family::V6).is_ok());
    assert!(TargetSpec::parse_in("localhost/64", Family::V6).is_err());
    assert_eq!(TargetSpec::parse("localhost/120").map(|s| s.count()), Ok(1));
}

#[test]
fn ipv6_excludes_skip_blocks_in_one_step() {
    let mut ex = ExcludeSet::new();
    ex.add_list(
        "2001:db8::/97,2001:db8::8000:4/126, 198.18.0.0/24",
        &resolver,
    )
    .expect("excludes");
    ex.add_list("localhost", &resolver).expect("name");
    assert_eq!(ex.ranges6().count(), 3);
    assert!(ex.contains("2001:db8::7fff:ffff".parse::<IpAddr>().unwrap()));
    assert!(!ex.contains("2001:db8::8000:0".parse::<IpAddr>().unwrap()));
    assert!(ex.contains("::1".parse::<IpAddr>().unwrap()));
    assert!(ex.contains(ip("127.0.0.2")));
    // Half a /96 excluded: the walk jumps over 2^31 addresses at once.
    let l = one6("2001:db8::/96");
    let got = expand(&l, &ex, 3);
    assert_eq!(
        got,
        ["2001:db8::8000:0", "2001:db8::8000:1", "2001:db8::8000:2"]
    );
    let got = expand(&one6("2001:db8::8000:2/125"), &ex, 10);
    assert_eq!(
        got,
        [
            "2001:db8::8000:0",
            "2001:db8::8000:1",
            "2001:db8::8000:2",
            "2001:db8::8000:3"
        ]
    );
    // Excluding the very top of the space ends the walk.
    let mut top = ExcludeSet::new();
    top.add_list("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0/124", &NoResolver)
        .expect("top");
    assert_eq!(
        expand(
            &one6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/120"),
            &top,
            300
        )
        .len(),
        240
    );
    assert_eq!(
        ExcludeSet::new()
            .add_list("::1/129", &NoResolver)
            .map_err(|e| e.to_string()),
        Err("invalid CIDR prefix \"/129\" in \"::1/129\"".to_owned())
    );
}

#[test]
fn link_scope_is_one_interface_per_scan() {
    let mut l = TargetList::with_family(Family::V6);
    l.push_arg("2001:db8::1");
    assert_eq!(l.link_scope(), Ok(None));
    l.push_arg("fe80::1%eth0");
    l.push_file("f", "fe80::2%eth0/127\n::1\n");
    assert_eq!(l.link_scope(), Ok(Some("eth0".to_owned())));
    l.push_arg("fe80::9%eth1");
    assert_eq!(
        l.link_scope().map_err(|e| e.to_string()),
        Err("invalid target \"fe80::9%eth1\": link-local targets on two interfaces (eth0 and eth1): scan each interface's targets separately".to_owned())
    );
}
