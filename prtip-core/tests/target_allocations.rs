//! Iterating targets allocates nothing per address (except the hostname copy
//! for the address a typed hostname resolved to). Counted per thread by the
//! `heapcount` allocator this test binary installs, so the test harness's
//! other threads do not disturb the count.

use std::net::IpAddr;

use heapcount::thread_usage;
use prtip_core::target::{ExcludeSet, Family, NoResolver, TargetList};

#[global_allocator]
static GLOBAL: heapcount::Counting = heapcount::Counting;

#[test]
fn slash_8_first_1000_without_per_address_allocation() {
    let mut list = TargetList::new();
    list.push_arg("10.0.0.0/8");
    assert_eq!(list.count(), Ok(16_777_216));
    let mut excludes = ExcludeSet::new();
    excludes
        .add_list("10.0.0.0/30,10.0.1.0-255", &NoResolver)
        .unwrap();
    let mut iter = list.iter(&excludes, &NoResolver);
    assert!(
        iter.next().is_some(),
        "warm up: the first expression is parsed here"
    );
    let (last, usage) = thread_usage(|| {
        let mut last = None;
        for t in iter.by_ref().take(999) {
            last = Some(t.expect("valid target").addr);
        }
        last
    });
    let allocs = usage.allocs;
    // 10.0.0.4 first, then .5-.255 (251), 10.0.2.0-10.0.3.255 (512), 10.0.4.0-235 (236).
    assert_eq!(last, Some("10.0.4.235".parse().unwrap()));
    assert_eq!(allocs, 0, "allocations while iterating 999 addresses");
}

#[test]
fn octet_ranges_and_hostname_blocks_allocate_per_expression_only() {
    let resolver =
        |_: &str| -> Result<Vec<IpAddr>, String> { Ok(vec!["127.0.0.1".parse().unwrap()]) };
    let mut list = TargetList::new();
    list.push_arg("192.168.0-255.1-254");
    list.push_arg("localhost/22");
    let excludes = ExcludeSet::new();
    let (n, usage) = thread_usage(|| list.iter(&excludes, &resolver).count());
    let allocs = usage.allocs;
    assert_eq!(n, 256 * 254 + 1024);
    // Iterator state, the octet set, the resolver's Vec, the hostname and its
    // one copy for 127.0.0.1: a handful, independent of the 66,048 addresses.
    assert!(allocs <= 16, "{allocs} allocations for {n} addresses");
}

#[test]
fn ipv6_slash_96_walks_a_million_addresses_without_allocating() {
    let mut list = TargetList::with_family(Family::V6);
    list.push_arg("2001:db8::/96");
    list.push_arg("2001:db8:4::/118");
    assert_eq!(list.count(), Ok((1 << 32) + 1024));
    let mut excludes = ExcludeSet::new();
    excludes
        .add_list("2001:db8::/112,2001:db8::1:0/120", &NoResolver)
        .unwrap();
    let mut iter = list.iter(&excludes, &NoResolver);
    assert_eq!(
        iter.next().map(|t| t.expect("target").addr),
        Some("2001:db8::1:100".parse().unwrap()),
        "warm up: the first expression is parsed here"
    );
    let (last, usage) = thread_usage(|| {
        let mut last = None;
        for t in iter.by_ref().take(1_000_000) {
            last = Some(t.expect("valid target").addr);
        }
        last
    });
    // 2001:db8::1:100 + 1,000,000 = 2001:db8::10:4340.
    assert_eq!(last, Some("2001:db8::10:4340".parse().unwrap()));
    assert_eq!(
        usage.allocs, 0,
        "allocations while iterating 1,000,000 addresses"
    );
}
