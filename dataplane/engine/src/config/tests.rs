//! Whole-config tests: the INTERFACE.md example, every validation error with its path and
//! line, serde errors, several errors at once, and mutated texts that must never panic.

use super::*;
use std::net::IpAddr;

/// The example of INTERFACE.md ("Config (YAML)"), verbatim.
const INTERFACE_EXAMPLE: &str = r#"dataplane:
  eal: ["--no-huge", "-m", "1024", "--no-shconf", "--no-pci",
        "--vdev=net_tap0,iface=sw0", "--vdev=net_tap1,iface=sw1"]
  workers: [1]                  # lcores that run workers; the main lcore runs management
  mbufs: 16383                  # mbuf pool size (a pcap vdev with infinite_rx holds the whole capture)
  ports:
    - { name: ethernet1/1, device: net_tap0, zone: trust }
    - { name: ethernet1/2, device: net_tap1, zone: untrust }
  vwires:                       # virtual wires: packets in one port leave by the other
    - [ethernet1/1, ethernet1/2]
session:
  max_sessions: 1000000
  tcp_reject_non_syn: true      # PAN-OS: set deviceconfig setting session tcp-reject-non-syn
  asymmetric_path: drop         # drop | bypass (PAN-OS: set deviceconfig setting tcp asymmetric-path)
  out_of_order_limit: 64        # segments per flow (PAN-OS default); past it: resources-unavailable
  timeouts:                     # seconds; PAN-OS defaults and ranges
    tcp: 3600                   # 1..1599999
    tcp_init: 5
    tcp_handshake: 10
    tcp_half_closed: 120
    tcp_time_wait: 15
    udp: 30
    icmp: 6
    default: 30
    discard_tcp: 90
    discard_udp: 60
    discard_default: 60
addresses: { web-servers: [10.1.0.0/24, "2001:db8::/64"] }
services:  { tcp-8080: { protocol: tcp, ports: ["8080"] } }
rules:                          # first match wins; after the list: intrazone allow, interzone deny
  - name: allow-web
    from: [trust]
    to: [untrust]
    source: [any]
    destination: [web-servers]
    application: [web-browsing, ssl]
    service: [application-default]   # application-default | any | service names
    action: allow               # allow | deny | drop | drop-icmp | reset-client | reset-server | reset-both
    log_end: true
    connection_tracking: true   # false: stateless, packet by packet (no session)
logging:
  traffic: { path: /var/log/synwall/traffic.jsonl }   # and/or syslog: { target: 127.0.0.1:514 }
control:
  socket: /run/synwall/synwall.sock
  stats: /dev/shm/synwall.stats
  metrics_listen: 127.0.0.1:9650
"#;

/// A valid config in block style, mutated by the tests below one line at a time.
const BASE: &str = r#"dataplane:
  eal: ["--no-huge", "-l", "0-3", "--vdev=net_tap0,iface=sw0", "--vdev=net_tap1,iface=sw1"]
  workers: [1, 2]
  mbufs: 16383
  ports:
    - name: ethernet1/1
      device: net_tap0
      zone: trust
    - name: ethernet1/2
      device: net_tap1
      zone: untrust
  vwires:
    - [ethernet1/1, ethernet1/2]
session:
  timeouts:
    tcp: 3600
addresses:
  web-servers:
    - 10.1.0.0/24
    - "2001:db8::/64"
  dmz: [web-servers, 192.0.2.1-192.0.2.9]
services:
  tcp-8080:
    protocol: tcp
    ports: ["8080", "8443-8444"]
  web-alt:
    members: [tcp-8080]
rules:
  - name: allow-web
    from: [trust]
    to: [untrust]
    source: [any]
    destination: [web-servers, 198.51.100.7]
    application: [web-browsing, ssl]
    service: [application-default]
    action: allow
  - name: deny-rest
    from: [any]
    to: [any]
    service: [web-alt]
    action: deny
logging:
  syslog: { target: "logs.example.net:514" }
"#;

/// BASE with the first `from` replaced by `to` (which must be there).
fn mutate(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "BASE has no {from:?}");
    BASE.replacen(from, to, 1)
}

/// The 1-based line of the one line of `text` containing `needle`.
fn line_with(text: &str, needle: &str) -> usize {
    let lines: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(lines.len(), 1, "{needle:?} should be on exactly one line");
    lines[0]
}

fn errors(text: &str) -> Vec<ConfigError> {
    match Config::from_yaml_str(text) {
        Ok(_) => panic!("config was accepted:\n{text}"),
        Err(errors) => errors.0,
    }
}

/// The config is refused with exactly this error (path, line of `line_needle`, message part).
fn only_error(text: &str, path: &str, line_needle: &str, message: &str) {
    let errors = errors(text);
    assert_eq!(errors.len(), 1, "expected one error, got {errors:#?}");
    check_error(&errors[0], text, path, line_needle, message);
}

/// The config is refused with (at least) this error.
fn has_error(text: &str, path: &str, line_needle: &str, message: &str) {
    let errors = errors(text);
    let found = errors
        .iter()
        .find(|e| e.path == path && e.message.contains(message));
    let error = found.unwrap_or_else(|| panic!("no {path}: {message} in {errors:#?}"));
    check_error(error, text, path, line_needle, message);
}

fn check_error(error: &ConfigError, text: &str, path: &str, line_needle: &str, message: &str) {
    assert_eq!(error.path, path, "{error:?}");
    assert_eq!(error.line, Some(line_with(text, line_needle)), "{error:?}");
    assert!(
        error.message.contains(message),
        "{error:?} lacks {message:?}"
    );
}

#[test]
fn interface_example_parses_with_its_values() {
    let config = Config::from_yaml_str(INTERFACE_EXAMPLE).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.dataplane.workers, vec![1]);
    assert_eq!(config.dataplane.eal.len(), 7);
    assert_eq!(config.dataplane.burst, DEFAULT_BURST);
    assert_eq!(config.zones(), vec!["trust", "untrust"]);
    assert_eq!(config.vwire_peer("ethernet1/2"), Some("ethernet1/1"));
    assert_eq!(config.port("ethernet1/1").unwrap().queues(1), 1);
    assert_eq!(config.session.timeouts, Timeouts::default());
    assert_eq!(config.session.timeouts.to_nanos().tcp_init, 5_000_000_000);
    let rule = &config.rules[0];
    assert_eq!(rule.action, crate::reasons::Action::Allow);
    assert!(rule.log_end && !rule.log_start && rule.connection_tracking && !rule.disabled);
    let web = config.address_set(&rule.destination).unwrap();
    assert!(web.contains("10.1.0.77".parse().unwrap()));
    assert!(web.contains("2001:db8::5".parse().unwrap()));
    assert!(!web.contains("10.1.1.1".parse().unwrap()));
    let traffic = config.logging.as_ref().unwrap().traffic.as_ref().unwrap();
    assert_eq!(
        traffic.path.to_str(),
        Some("/var/log/synwall/traffic.jsonl")
    );
    assert_eq!(config.control, Control::default());
}

#[test]
fn base_and_shipped_configs_parse() {
    for (name, text) in [
        ("BASE", BASE),
        (
            "quickstart",
            include_str!("../../../../configs/quickstart.yaml"),
        ),
        (
            "baremetal",
            include_str!("../../../../configs/baremetal.yaml"),
        ),
    ] {
        if let Err(e) = Config::from_yaml_str(text) {
            panic!("{name}:\n{e}");
        }
    }
}

#[test]
fn defaults_fill_a_minimal_config() {
    let text = "dataplane:\n  workers: [1]\n  ports: [{ name: p, device: net_null0, zone: z }]\n";
    let config = Config::from_yaml_str(text).unwrap();
    assert_eq!(config.session, SessionConfig::default());
    assert_eq!(config.session.max_sessions, 1_000_000);
    assert!(config.session.tcp_reject_non_syn);
    assert_eq!(config.session.asymmetric_path, AsymmetricPath::Drop);
    assert_eq!(config.session.out_of_order_limit, 64);
    assert_eq!(config.dataplane.mbufs, DEFAULT_MBUFS);
    assert_eq!(
        config.control.socket.to_str(),
        Some("/run/synwall/synwall.sock")
    );
    assert_eq!(
        config.control.stats.to_str(),
        Some("/dev/shm/synwall.stats")
    );
    assert_eq!(config.control.metrics_listen.to_string(), "127.0.0.1:9650");
    assert!(config.logging.is_none() && config.rules.is_empty());
}

#[test]
fn to_yaml_round_trips() {
    for text in [INTERFACE_EXAMPLE, BASE] {
        let config = Config::from_yaml_str(text).unwrap();
        let again = Config::from_yaml_str(&config.to_yaml()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again, config);
    }
    let yaml = Config::from_yaml_str(BASE).unwrap().to_yaml();
    assert!(yaml.contains("action: allow"), "{yaml}");
    assert!(
        yaml.contains("tcp_time_wait: 15"),
        "defaults are shown: {yaml}"
    );
}

#[test]
fn compiled_sets_flatten_groups() {
    let config = Config::from_yaml_str(BASE).unwrap();
    let dmz = config.address_set(&["dmz".to_owned()]).unwrap();
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    assert!(dmz.contains(ip("10.1.0.1")) && dmz.contains(ip("192.0.2.9")));
    assert!(!dmz.contains(ip("192.0.2.10")) && !dmz.any);
    let alt = config.service_set(&config.rules[1].service).unwrap();
    assert!(alt.contains(6, 8080) && alt.contains(6, 8444));
    assert!(!alt.contains(17, 8080) && !alt.contains(6, 8445));
    let default = config.service_set(&config.rules[0].service).unwrap();
    assert!(default.application_default && !default.any && !default.contains(6, 80));
    assert!(config.address_set(&["nope".to_owned()]).is_err());
}

// --- dataplane ---------------------------------------------------------------------------

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
fn every_timeout_has_its_range() {
    let cases: [(&str, u64); 11] = [
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

// --- rules -------------------------------------------------------------------------------

#[test]
fn rule_names() {
    only_error(
        &mutate("name: deny-rest", "name: allow-web # dup"),
        "rules[1].name",
        "# dup",
        "already used by rules[0]",
    );
    only_error(
        &mutate("name: deny-rest", "name: \"\""),
        "rules[1].name",
        "name: \"\"",
        "rule name is empty",
    );
    only_error(
        &mutate("name: deny-rest", "name: any"),
        "rules[1].name",
        "name: any",
        "reserved",
    );
}

#[test]
fn rule_zones() {
    only_error(
        &mutate("to: [untrust]", "to: [dmz]"),
        "rules[0].to[0]",
        "to: [dmz]",
        "unknown zone \"dmz\" (zones come from dataplane.ports: trust, untrust)",
    );
    only_error(
        &mutate("from: [trust]", "from: []"),
        "rules[0].from",
        "from: []",
        "is empty",
    );
    only_error(
        &mutate("from: [any]", "from: [trust, any]"),
        "rules[1].from[1]",
        "from: [trust, any]",
        "cannot be combined",
    );
    only_error(
        &mutate("from: [trust]", "from: [trust, trust]"),
        "rules[0].from[1]",
        "from: [trust, trust]",
        "listed twice",
    );
}

#[test]
fn rule_addresses() {
    let text = mutate(
        "destination: [web-servers, 198.51.100.7]",
        "destination: [web, 198.51.100.7]",
    );
    only_error(
        &text,
        "rules[0].destination[0]",
        "destination: [web,",
        "unknown address object \"web\"",
    );
    let line = line_with(&text, "destination: [web,");
    assert_eq!(
        errors(&text)[0].to_string(),
        format!("line {line}: rules[0].destination[0]: unknown address object \"web\"")
    );
    let text = mutate("198.51.100.7]", "198.51.100.7/24]");
    only_error(
        &text,
        "rules[0].destination[1]",
        "198.51.100.7/24",
        "did you mean 198.51.100.0/24",
    );
    let text = mutate(
        "source: [any]",
        "source:\n      - 10.0.0.0/8\n      - 10.0.0.1-10.0.0.0",
    );
    only_error(&text, "rules[0].source[1]", "10.0.0.1-10.0.0.0", "empty");
    let text = mutate("source: [any]", "source: []");
    only_error(&text, "rules[0].source", "source: []", "is empty");
}

#[test]
fn rule_applications() {
    let text = mutate(
        "application: [web-browsing, ssl]",
        "application: [Web_Browsing, ssl]",
    );
    only_error(
        &text,
        "rules[0].application[0]",
        "Web_Browsing",
        "not an application name",
    );
    let config = Config::from_yaml_str(BASE).unwrap();
    assert!(config
        .check_applications(BASE, &["web-browsing", "ssl"])
        .is_ok());
    let errors = config
        .check_applications(BASE, &["web-browsing"])
        .unwrap_err()
        .0;
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].path, "rules[0].application[1]");
    assert_eq!(
        errors[0].line,
        Some(line_with(BASE, "application: [web-browsing, ssl]"))
    );
    assert_eq!(errors[0].message, "unknown application \"ssl\"");
}

#[test]
fn rule_services() {
    only_error(
        &mutate("service: [web-alt]", "service: [web]"),
        "rules[1].service[0]",
        "service: [web]",
        "unknown service \"web\"",
    );
    only_error(
        &mutate(
            "service: [application-default]",
            "service: [tcp-8080, application-default]",
        ),
        "rules[0].service[1]",
        "service: [tcp-8080, application-default]",
        "cannot be combined",
    );
}

#[test]
fn rule_action_is_a_pan_os_action() {
    only_error(
        &mutate("action: deny", "action: block"),
        "rules[1].action",
        "action: block",
        "unknown action \"block\", expected one of allow, deny",
    );
}

// --- logging and control -----------------------------------------------------------------

#[test]
fn logging_targets() {
    let at = "logging.syslog.target";
    only_error(
        &mutate("logs.example.net:514", "logs.example.net"),
        at,
        "logs.example.net",
        "no port",
    );
    only_error(
        &mutate("logs.example.net:514", "logs.example.net:0"),
        at,
        "logs.example.net",
        "1..65535",
    );
    only_error(
        &mutate("logs.example.net:514", "bad_host!:514"),
        at,
        "bad_host",
        "not an address or a DNS name",
    );
    assert!(Config::from_yaml_str(&mutate("logs.example.net:514", "[2001:db8::1]:514")).is_ok());
    let text = mutate("logging:\n", "logging:\n  traffic: { path: \"\" }\n");
    only_error(&text, "logging.traffic.path", "traffic:", "path is empty");
}

#[test]
fn control_addresses() {
    let text = format!("{BASE}control:\n  metrics_listen: localhost:9650\n");
    only_error(
        &text,
        "control.metrics_listen",
        "metrics_listen",
        "invalid socket address",
    );
    let text = format!("{BASE}control:\n  socket: \"\"\n");
    only_error(&text, "control.socket", "socket:", "path is empty");
}

// --- serde errors ------------------------------------------------------------------------

#[test]
fn unknown_keys_are_errors_with_their_line() {
    let text = mutate("    tcp: 3600\n", "    tcp: 3600\n    tcp_wait: 5\n");
    only_error(
        &text,
        "session.timeouts",
        "tcp_wait",
        "unknown field `tcp_wait`",
    );
    let text = mutate(
        "    action: deny\n",
        "    action: deny\n    log_ends: true\n",
    );
    only_error(&text, "rules[1]", "log_ends", "unknown field `log_ends`");
    let text = mutate(
        "      zone: untrust\n",
        "      zone: untrust\n      mtu: 9000\n",
    );
    only_error(&text, "dataplane.ports[1]", "mtu", "unknown field `mtu`");
    only_error(
        &format!("{BASE}extra: 1\n"),
        "",
        "extra",
        "unknown field `extra`",
    );
}

#[test]
fn type_errors_keep_path_and_line() {
    only_error(
        &mutate("workers: [1, 2]", "workers: [1, two]"),
        "dataplane.workers[1]",
        "workers",
        "invalid type",
    );
    only_error(
        &mutate("mbufs: 16383", "mbufs: -5"),
        "dataplane.mbufs",
        "mbufs",
        "invalid type: integer `-5`",
    );
    let text = mutate("session:\n", "session:\n  asymmetric_path: allow\n");
    only_error(
        &text,
        "session.asymmetric_path",
        "asymmetric_path",
        "unknown variant `allow`",
    );
    let text = BASE
        .replace("dataplane:\n", "dataplane:\n  burst: 32\n")
        .replace("  mbufs: 16383\n", "  mbufs: 16383\n  burst: 64\n");
    only_error(&text, "dataplane", "burst: 64", "duplicate field `burst`");
}

#[test]
fn syntax_errors_have_a_line() {
    let text = mutate("    to: [untrust]", "    to: [untrust");
    let errors = errors(&text);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].path, "");
    let line = errors[0].line.expect("a syntax error has a line");
    assert!(line >= line_with(&text, "to: [untrust"), "{errors:?}");
    assert!(Config::from_yaml_str("").is_err());
}

#[test]
fn all_semantic_errors_are_reported_in_line_order() {
    let text = BASE
        .replace("workers: [1, 2]", "workers: [0, 2]")
        .replace("- 10.1.0.0/24", "- 10.1.0.1/24")
        .replace("to: [untrust]", "to: [dmz]")
        .replace("service: [web-alt]", "service: [web]")
        .replace("logs.example.net:514", "nohost");
    let errors = errors(&text);
    let got: Vec<(&str, Option<usize>)> =
        errors.iter().map(|e| (e.path.as_str(), e.line)).collect();
    assert_eq!(
        got,
        vec![
            ("dataplane.workers[0]", Some(line_with(&text, "workers"))),
            (
                "addresses.web-servers[0]",
                Some(line_with(&text, "10.1.0.1/24"))
            ),
            ("rules[0].to[0]", Some(line_with(&text, "to: [dmz]"))),
            (
                "rules[1].service[0]",
                Some(line_with(&text, "service: [web]"))
            ),
            ("logging.syslog.target", Some(line_with(&text, "nohost"))),
        ]
    );
    let printed = Config::from_yaml_str(&text).unwrap_err().to_string();
    assert_eq!(printed.lines().count(), 5);
    assert!(printed.lines().all(|l| l.starts_with("line ")), "{printed}");
}

#[test]
fn validate_without_source_has_no_lines() {
    let mut config = Config::from_yaml_str(BASE).unwrap();
    assert!(config.validate().is_ok());
    config.session.timeouts.tcp_init = 0;
    let errors = config.validate().unwrap_err().0;
    assert_eq!(errors.len(), 1);
    assert_eq!(
        (errors[0].path.as_str(), errors[0].line),
        ("session.timeouts.tcp_init", None)
    );
}

// --- robustness --------------------------------------------------------------------------

/// xorshift64: deterministic, so a failing case is reproducible from its index.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Truncations, byte flips, and YAML punctuation dropped in at random: the loader must
/// answer Ok or Err, never panic, and every error it prints must carry a line or be about
/// the whole document.
#[test]
fn mutated_configs_never_panic() {
    const PUNCTUATION: &[u8] = b":-[]{},\"'#&*!|>%@` \n\t0a";
    let mut rng = XorShift(0x5eed_c0f1_9a11_u64);
    let (mut accepted, mut refused) = (0, 0);
    for case in 0..3000 {
        let source = if case % 2 == 0 {
            INTERFACE_EXAMPLE
        } else {
            BASE
        };
        let mut bytes = source.as_bytes().to_vec();
        match case % 3 {
            0 => bytes.truncate(rng.below(bytes.len() + 1)),
            1 => {
                for _ in 0..1 + rng.below(4) {
                    let at = rng.below(bytes.len());
                    bytes[at] ^= 1 << rng.below(8);
                }
            }
            _ => {
                for _ in 0..1 + rng.below(3) {
                    let at = rng.below(bytes.len());
                    bytes.insert(at, PUNCTUATION[rng.below(PUNCTUATION.len())]);
                }
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        match Config::from_yaml_str(&text) {
            Ok(config) => {
                accepted += 1;
                let again = Config::from_yaml_str(&config.to_yaml());
                assert_eq!(
                    again.as_ref().ok(),
                    Some(&config),
                    "case {case}: round trip"
                );
            }
            Err(errors) => {
                refused += 1;
                assert!(!errors.0.is_empty(), "case {case}");
                let printed = errors.to_string();
                assert_eq!(
                    printed.lines().count(),
                    errors.0.len(),
                    "case {case}: {printed}"
                );
            }
        }
    }
    // Both outcomes occur, so the test exercises both paths.
    assert!(
        accepted > 100 && refused > 100,
        "accepted {accepted}, refused {refused}"
    );
}
