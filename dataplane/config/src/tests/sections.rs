//! Validation of the dataplane, session, address and service sections: path and line of
//! every error.

use super::*;

#[test]
fn eal_core_list_that_does_not_parse() {
    let text = mutate("\"-l\", \"0-3\"", "\"-l\", \"0-x\"");
    only_error(&text, "dataplane.eal[2]", "0-x", "EAL core list");
}

#[test]
fn workers_empty_duplicated_main_or_disabled() {
    only_error(
        &mutate("workers: [1, 2]", "workers: []"),
        "dataplane.workers",
        "workers",
        "at least one",
    );
    only_error(
        &mutate("workers: [1, 2]", "workers: [1, 1]"),
        "dataplane.workers[1]",
        "workers",
        "twice",
    );
    only_error(
        &mutate("workers: [1, 2]", "workers: [0, 1]"),
        "dataplane.workers[0]",
        "workers",
        "main lcore",
    );
    only_error(
        &mutate("workers: [1, 2]", "workers: [1, 5]"),
        "dataplane.workers[1]",
        "workers",
        "not in the EAL core list",
    );
    // --main-lcore moves management off lcore 0, so 0 may then be a worker.
    let moved = mutate("\"0-3\",", "\"0-3\", \"--main-lcore\", \"3\",");
    assert!(Config::from_yaml_str(&moved.replace("workers: [1, 2]", "workers: [0, 1]")).is_ok());
    only_error(
        &moved.replace("[1, 2]", "[1, 3]"),
        "dataplane.workers[1]",
        "workers",
        "main lcore",
    );
}

#[test]
fn workers_written_in_block_style_point_at_the_item() {
    let text = mutate("workers: [1, 2]", "workers:\n    - 1\n    - 0 # here");
    only_error(&text, "dataplane.workers[1]", "# here", "main lcore");
}

#[test]
fn mbufs_and_burst_ranges() {
    only_error(
        &mutate("mbufs: 16383", "mbufs: 1000"),
        "dataplane.mbufs",
        "mbufs",
        "out of range",
    );
    only_error(
        &mutate("mbufs: 16383", "mbufs: 2147483648"),
        "dataplane.mbufs",
        "mbufs",
        "out of range",
    );
    assert!(Config::from_yaml_str(&mutate("mbufs: 16383", "mbufs: 1023")).is_ok());
    only_error(
        &mutate("mbufs: 16383", "mbufs: 16383\n  burst: 0"),
        "dataplane.burst",
        "burst",
        "1..256",
    );
    only_error(
        &mutate("mbufs: 16383", "mbufs: 16383\n  burst: 257"),
        "dataplane.burst",
        "burst",
        "1..256",
    );
}

#[test]
fn ports_missing_duplicated_or_badly_named() {
    let no_ports = "dataplane:\n  workers: [1]\n  ports: []\n";
    only_error(no_ports, "dataplane.ports", "ports", "at least one port");
    let text = mutate("name: ethernet1/2", "name: ethernet1/1 # dup");
    has_error(
        &text,
        "dataplane.ports[1].name",
        "# dup",
        "already defined by ports[0]",
    );
    let text = mutate("device: net_tap1", "device: net_tap0 # dup");
    only_error(
        &text,
        "dataplane.ports[1].device",
        "# dup",
        "already used by ports[0]",
    );
    let text = mutate("device: net_tap1", "device: \"\"");
    only_error(&text, "dataplane.ports[1].device", "device: \"\"", "empty");
    let text = mutate("zone: untrust", "zone: any");
    has_error(&text, "dataplane.ports[1].zone", "zone: any", "reserved");
    let text = mutate("name: ethernet1/2", "name: \" ethernet1/2\"");
    has_error(
        &text,
        "dataplane.ports[1].name",
        "\" ethernet1/2\"",
        "leading or trailing",
    );
    let long = "x".repeat(64);
    let text = mutate("zone: untrust", &format!("zone: {long}"));
    has_error(&text, "dataplane.ports[1].zone", &long, "longer than 63");
    let text = mutate("zone: untrust", "zone: untrust\n      queues: 0");
    only_error(
        &text,
        "dataplane.ports[1].queues",
        "queues",
        "at least one queue",
    );
}

#[test]
fn vwires_must_join_two_distinct_unshared_ports() {
    let wire = "- [ethernet1/1, ethernet1/2]";
    only_error(
        &mutate(wire, "- [ethernet1/1]"),
        "dataplane.vwires[0]",
        "- [ethernet1/1]",
        "exactly two",
    );
    only_error(
        &mutate(wire, "- [ethernet1/1, eth9]"),
        "dataplane.vwires[0][1]",
        "eth9",
        "unknown port \"eth9\"",
    );
    only_error(
        &mutate(wire, "- [ethernet1/1, ethernet1/1]"),
        "dataplane.vwires[0][1]",
        "- [ethernet1/1, ethernet1/1]",
        "itself",
    );
    let twice = mutate(
        wire,
        "- [ethernet1/1, ethernet1/2]\n    - [ethernet1/2, ethernet1/1]",
    );
    has_error(
        &twice,
        "dataplane.vwires[1][0]",
        "- [ethernet1/2, ethernet1/1]",
        "already in vwires[0]",
    );
    assert_eq!(errors(&twice).len(), 2);
}

// --- session -----------------------------------------------------------------------------

#[test]
fn max_sessions_at_least_one() {
    let text = mutate("session:\n", "session:\n  max_sessions: 0\n");
    only_error(&text, "session.max_sessions", "max_sessions", "at least 1");
}

#[test]
fn max_sessions_fit_the_workers_tables() {
    // Two workers here: each table holds at most 2^24 - 2 sessions (24-bit index buckets).
    let text = mutate("session:\n", "session:\n  max_sessions: 40000000\n");
    only_error(&text, "session.max_sessions", "max_sessions", "per worker");
    let ok = mutate("session:\n", "session:\n  max_sessions: 32000000\n");
    assert!(Config::from_yaml_str(&ok).is_ok());
}

#[test]
fn every_timeout_has_its_range() {
    let cases: [(&str, u64); 12] = [
        ("tcp", MAX_LONG_TIMEOUT_S),
        ("tcp_init", 60),
        ("tcp_handshake", 60),
        ("tcp_half_closed", 604_800),
        ("tcp_time_wait", 600),
        ("udp", MAX_LONG_TIMEOUT_S),
        ("icmp", MAX_LONG_TIMEOUT_S),
        ("default", MAX_LONG_TIMEOUT_S),
        ("discard_tcp", MAX_LONG_TIMEOUT_S),
        ("discard_udp", MAX_LONG_TIMEOUT_S),
        ("discard_default", MAX_LONG_TIMEOUT_S),
        ("fragment", MAX_FRAGMENT_TIMEOUT_S),
    ];
    for (name, max) in cases {
        let set = |value: u64| {
            mutate(
                "    tcp: 3600\n",
                &format!("    tcp: 3600\n    {name}: {value} # t\n"),
            )
        };
        let with = |value: u64| {
            let text = set(value);
            // `tcp` is already set by BASE: replace it rather than write it twice.
            if name == "tcp" {
                BASE.replace("tcp: 3600", &format!("tcp: {value} # t"))
            } else {
                text
            }
        };
        let path = format!("session.timeouts.{name}");
        for bad in [0, max + 1] {
            only_error(&with(bad), &path, "# t", "out of range");
        }
        for good in [1, max] {
            assert!(Config::from_yaml_str(&with(good)).is_ok(), "{name}: {good}");
        }
    }
}

// --- addresses ---------------------------------------------------------------------------

#[test]
fn address_object_names() {
    let add = |entry: &str| mutate("addresses:\n", &format!("addresses:\n{entry}\n"));
    only_error(
        &add("  any: [10.0.0.0/8]"),
        "addresses.any",
        "any: [10.0.0.0/8]",
        "reserved",
    );
    only_error(
        &add("  \"10.0.0.1\": [10.0.0.1]"),
        "addresses.10.0.0.1",
        "\"10.0.0.1\":",
        "reads as an address",
    );
    only_error(
        &add("  empty: []"),
        "addresses.empty",
        "empty: []",
        "is empty",
    );
    let text = mutate("  dmz: [", "  web-servers: [10.9.0.0/16]\n  dmz: [");
    only_error(
        &text,
        "addresses",
        "10.9.0.0/16",
        "\"web-servers\" is defined twice",
    );
}

#[test]
fn address_entries() {
    let text = mutate("- 10.1.0.0/24", "- 10.1.0.1/24");
    only_error(
        &text,
        "addresses.web-servers[0]",
        "10.1.0.1/24",
        "10.1.0.1/24 has host bits set; did you mean 10.1.0.0/24",
    );
    let text = mutate("192.0.2.1-192.0.2.9", "192.0.2.9-192.0.2.1");
    only_error(&text, "addresses.dmz[1]", "dmz:", "empty");
    let text = mutate("dmz: [web-servers,", "dmz: [any,");
    only_error(
        &text,
        "addresses.dmz[0]",
        "dmz:",
        "cannot be part of an address object",
    );
    let text = mutate("dmz: [web-servers,", "dmz: [web,");
    only_error(
        &text,
        "addresses.dmz[0]",
        "dmz:",
        "unknown address object \"web\"",
    );
    let text = mutate("- \"2001:db8::/64\"", "- \"2001:db8::/129\"");
    only_error(&text, "addresses.web-servers[1]", "/129", "longer than 128");
    let text = mutate("- \"2001:db8::/64\"", "- 10.1.2.300");
    only_error(
        &text,
        "addresses.web-servers[1]",
        "10.1.2.300",
        "not a valid",
    );
}

#[test]
fn address_group_cycles() {
    let text = mutate(
        "addresses:\n",
        "addresses:\n  a: [b]\n  b: [c, 10.0.0.1]\n  c: [a] # closes\n",
    );
    only_error(
        &text,
        "addresses.c[0]",
        "# closes",
        "address group cycle: a -> b -> c -> a",
    );
    let text = mutate("addresses:\n", "addresses:\n  me: [10.0.0.1, me] # self\n");
    only_error(&text, "addresses.me[1]", "# self", "cycle: me -> me");
}

// --- services ----------------------------------------------------------------------------

#[test]
fn service_objects() {
    let add = |entry: &str| mutate("services:\n", &format!("services:\n{entry}\n"));
    only_error(
        &add("  any: { protocol: tcp, ports: [\"1\"] }"),
        "services.any",
        "any: {",
        "reserved",
    );
    only_error(
        &add("  application-default: { protocol: tcp, ports: [\"1\"] }"),
        "services.application-default",
        "application-default: {",
        "reserved",
    );
    only_error(
        &add("  mixed: { protocol: tcp, ports: [\"1\"], members: [tcp-8080] }"),
        "services.mixed",
        "mixed:",
        "not both",
    );
    only_error(
        &add("  bare: {}"),
        "services.bare",
        "bare:",
        "needs protocol",
    );
    // `ports` is absent: the line falls back to the service's own.
    only_error(
        &add("  noports: { protocol: udp }"),
        "services.noports.ports",
        "noports:",
        "at least one port",
    );
    only_error(
        &add("  emptyports:\n    protocol: udp\n    ports: [] # e"),
        "services.emptyports.ports",
        "# e",
        "at least one port",
    );
    only_error(
        &add("  big: { protocol: udp, ports: [\"70000\"] }"),
        "services.big.ports[0]",
        "big:",
        "0..65535",
    );
    only_error(
        &add("  rev: { protocol: udp, ports: [\"9-1\"] }"),
        "services.rev.ports[0]",
        "rev:",
        "empty",
    );
    let text = mutate("members: [tcp-8080]", "members: [tcp-8081]");
    only_error(
        &text,
        "services.web-alt.members[0]",
        "tcp-8081",
        "unknown service \"tcp-8081\"",
    );
}

#[test]
fn service_group_cycles() {
    let text = mutate(
        "members: [tcp-8080]",
        "members: [tcp-8080, loop]\n  loop:\n    members: [web-alt] # back",
    );
    only_error(
        &text,
        "services.web-alt.members[1]",
        "members: [tcp-8080, loop]",
        "service group cycle: loop -> web-alt -> loop",
    );
}
