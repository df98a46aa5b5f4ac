//! Whole-config tests: the INTERFACE.md example and the shipped configs parse, defaults,
//! round trips. Beside this file: every validation error with its path and line
//! (`sections.rs`, `rules.rs`), serde errors and several errors at once (`errors.rs`),
//! mutated texts that must never panic (`robustness.rs`), and structured random documents
//! (`generated.rs`, documents from `crate::testgen`).

mod errors;
mod generated;
mod protection;
mod robustness;
mod rules;
mod sections;

use super::*;
use std::net::IpAddr;

/// The example of INTERFACE.md ("Config (YAML)"), verbatim.
pub(super) const INTERFACE_EXAMPLE: &str = r#"dataplane:
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
pub(super) const BASE: &str = r#"dataplane:
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
pub(super) fn mutate(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "BASE has no {from:?}");
    BASE.replacen(from, to, 1)
}

/// The 1-based line of the one line of `text` containing `needle`.
pub(super) fn line_with(text: &str, needle: &str) -> usize {
    let lines: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(lines.len(), 1, "{needle:?} should be on exactly one line");
    lines[0]
}

pub(super) fn errors(text: &str) -> Vec<ConfigError> {
    match Config::from_yaml_str(text) {
        Ok(_) => panic!("config was accepted:\n{text}"),
        Err(errors) => errors.0,
    }
}

/// The config is refused with exactly this error (path, line of `line_needle`, message part).
pub(super) fn only_error(text: &str, path: &str, line_needle: &str, message: &str) {
    let errors = errors(text);
    assert_eq!(errors.len(), 1, "expected one error, got {errors:#?}");
    check_error(&errors[0], text, path, line_needle, message);
}

/// The config is refused with (at least) this error.
pub(super) fn has_error(text: &str, path: &str, line_needle: &str, message: &str) {
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
    assert_eq!(rule.action, synwall_types::reasons::Action::Allow);
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
    assert_eq!(config.session.timeouts.fragment, DEFAULT_FRAGMENT_TIMEOUT_S);
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
