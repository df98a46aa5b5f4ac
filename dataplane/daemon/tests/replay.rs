//! `synwall replay` over captures made by the project's generator (`synwall_perf::gen`): every
//! session-end reason and TCP mode, IPv4 and IPv6, with every packet accounted for. Needs no EAL,
//! no root: replay runs the engine alone.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use synwall_engine::capture::PcapWriter;
use synwall_engine::reasons::DropReason;
use synwall_perf::gen::hostile::hostile_capture;
use synwall_perf::gen::scenarios::Scenario;
use synwall_perf::gen::IpFamily;
use synwall_testkit::yaml::{VwireConfig, ALLOW_OUT};

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("synwall-replay-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write_capture(path: &Path, frames: &[(u64, Vec<u8>)]) {
    let mut w = PcapWriter::new(std::fs::File::create(path).unwrap()).unwrap();
    for (ts, frame) in frames {
        w.write_record(*ts, frame).unwrap();
    }
    w.flush().unwrap();
}

/// The usual virtual wire, `--no-huge` as the daemon's configs have it (replay runs the
/// engine alone, without EAL).
fn wire() -> VwireConfig {
    VwireConfig::new().eal("--no-huge")
}

/// Everything allowed both ways: a capture holds both directions on one port, and a flow
/// tracked from its server's SYN-ACK (asymmetric bypass) is judged from its client, on the
/// other side.
fn base() -> String {
    wire().allow_both_ways().yaml()
}

/// Replays `scenario` with `session_yaml` appended to the config; returns the JSON summary.
fn replay(tag: &str, scenario: Scenario, family: IpFamily, session_yaml: &str) -> (Value, String) {
    let config = wire().section(session_yaml).allow_both_ways().yaml();
    replay_config(tag, scenario, family, &config)
}

/// Replays `scenario` under the whole config `config_text`; checks the accounting and returns
/// the JSON summary and the traffic log.
fn replay_config(
    tag: &str,
    scenario: Scenario,
    family: IpFamily,
    config_text: &str,
) -> (Value, String) {
    replay_frames(tag, &scenario.frames(family), config_text)
}

/// Replays `frames` under `config_text`: the replay must exit 0 and account for every packet.
fn replay_frames(tag: &str, frames: &[(u64, Vec<u8>)], config_text: &str) -> (Value, String) {
    let dir = tmpdir(tag);
    let pcap = dir.join("in.pcap");
    let cfg = dir.join("synwall.yaml");
    let log = dir.join("log.jsonl");
    write_capture(&pcap, frames);
    std::fs::write(&cfg, config_text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_synwall"))
        .args(["--config"])
        .arg(&cfg)
        .args(["replay", "--json", "--pcap"])
        .arg(&pcap)
        .arg("--log")
        .arg(&log)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "replay failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    let log_text = std::fs::read_to_string(&log).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    // Every packet is accounted for.
    let dropped: u64 = summary["dropped"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(
        summary["packets"].as_u64().unwrap(),
        summary["forwarded"].as_u64().unwrap() + dropped
    );
    (summary, log_text)
}

fn n(v: &Value, section: &str, key: &str) -> u64 {
    v[section][key].as_u64().unwrap_or(0)
}

fn both_families(check: impl Fn(IpFamily, &str)) {
    check(IpFamily::V4, "v4");
    check(IpFamily::V6, "v6");
}

#[test]
fn tcp_fin() {
    both_families(|f, t| {
        let (s, log) = replay(&format!("fin-{t}"), Scenario::TcpFin, f, "");
        assert_eq!(n(&s, "sessions", "tcp-fin"), 1, "{s}");
        assert_eq!(s["forwarded"], s["packets"]);
        let rec: Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
        assert_eq!(rec["session_end_reason"], "tcp-fin");
        assert_eq!(rec["type"], "TRAFFIC");
        assert!(
            rec["bytes_received"].as_u64().unwrap() > 0
                && rec["packets_sent"].as_u64().unwrap() > 0
        );
    });
}

#[test]
fn resets_from_each_side() {
    both_families(|f, t| {
        let (s, _) = replay(&format!("rstc-{t}"), Scenario::TcpRstClient, f, "");
        assert_eq!(n(&s, "sessions", "tcp-rst-from-client"), 2, "{s}");
        let (s, _) = replay(&format!("rsts-{t}"), Scenario::TcpRstServer, f, "");
        assert_eq!(n(&s, "sessions", "tcp-rst-from-server"), 2, "{s}");
    });
}

#[test]
fn aged_out_udp_and_tcp() {
    both_families(|f, t| {
        let (s, _) = replay(&format!("aged-{t}"), Scenario::AgedOut, f, "");
        assert_eq!(n(&s, "sessions", "aged-out"), 2, "{s}");
    });
}

#[test]
fn tcp_reuse_in_time_wait() {
    both_families(|f, t| {
        let (s, _) = replay(&format!("reuse-{t}"), Scenario::TcpReuse, f, "");
        assert_eq!(n(&s, "sessions", "tcp-reuse"), 1, "{s}");
        assert_eq!(n(&s, "sessions", "tcp-fin"), 1, "{s}");
    });
}

#[test]
fn non_syn_rejected_by_flag_code() {
    both_families(|f, t| {
        let (s, log) = replay(&format!("nonsyn-{t}"), Scenario::NonSyn, f, "");
        assert_eq!(s["forwarded"], 0, "{s}");
        for code in ["A", "PA", "FA", "R", "SA"] {
            assert_eq!(n(&s, "tcp_non_syn_drop", code), 1, "{code}: {s}");
        }
        assert_eq!(n(&s, "dropped", "non-syn"), 4);
        assert_eq!(n(&s, "dropped", "asymmetric"), 1);
        assert!(log.contains("Not a valid SYN packet [PA]"), "{log}");
    });
}

#[test]
fn non_syn_picked_up_mid_stream_when_allowed() {
    both_families(|f, t| {
        let (s, _) = replay(
            &format!("midstream-{t}"),
            Scenario::NonSyn,
            f,
            "session: { tcp_reject_non_syn: false }\n",
        );
        assert_eq!(
            n(&s, "dropped", "non-syn"),
            1,
            "only the bare RST opens nothing: {s}"
        );
        assert!(n(&s, "apps", "non-syn-tcp") >= 3, "{s}");
    });
}

#[test]
fn asymmetric_drop_and_bypass() {
    both_families(|f, t| {
        let (s, _) = replay(&format!("asym-{t}"), Scenario::Asymmetric, f, "");
        assert_eq!(n(&s, "dropped", "asymmetric"), 3, "{s}");
        let (s, _) = replay(
            &format!("asymb-{t}"),
            Scenario::Asymmetric,
            f,
            "session: { asymmetric_path: bypass }\n",
        );
        assert_eq!(n(&s, "dropped", "asymmetric"), 0, "{s}");
        assert_eq!(s["forwarded"], s["packets"]);
    });
}

#[test]
fn out_of_order_limit_ends_resources_unavailable() {
    both_families(|f, t| {
        let (s, _) = replay(
            &format!("ooo-{t}"),
            Scenario::OutOfOrder,
            f,
            "session: { out_of_order_limit: 4 }\n",
        );
        assert_eq!(n(&s, "sessions", "resources-unavailable"), 1, "{s}");
        assert!(s["tcp_out_of_order"].as_u64().unwrap() >= 4, "{s}");
        let (s, _) = replay(&format!("ooo64-{t}"), Scenario::OutOfOrder, f, "");
        assert_eq!(n(&s, "sessions", "resources-unavailable"), 0, "{s}");
    });
}

#[test]
fn broken_handshake_and_icmp() {
    both_families(|f, t| {
        let (s, _) = replay(&format!("broken-{t}"), Scenario::BrokenHandshake, f, "");
        assert_eq!(n(&s, "sessions", "tcp-rst-from-client"), 1, "{s}");
        assert_eq!(s["tcp_broken_handshakes"], 1, "{s}");
        let (s, _) = replay(&format!("icmp-{t}"), Scenario::Icmp, f, "");
        // The echo pair is one session, the UDP flow another; the port-unreachable error
        // refers to the UDP session and opens none.
        assert_eq!(s["sessions_created"], 2, "{s}");
        assert_eq!(s["forwarded"], s["packets"]);
    });
}

#[test]
fn replay_is_deterministic() {
    let (a, log_a) = replay("det-a", Scenario::Mixed, IpFamily::V4, "");
    let (b, log_b) = replay("det-b", Scenario::Mixed, IpFamily::V4, "");
    assert_eq!(a, b);
    assert_eq!(log_a, log_b);
    assert!(n(&a, "sessions", "tcp-fin") >= 1 && n(&a, "sessions", "aged-out") >= 1);
}

#[test]
fn full_table_refuses_new_sessions_and_keeps_the_others() {
    // Mixed opens 14 sessions, interleaved; a table of 3 refuses some, counted as table-full.
    let (s, log) = replay(
        "full",
        Scenario::Mixed,
        IpFamily::V4,
        "session: { max_sessions: 3 }\n",
    );
    assert!(n(&s, "dropped", "table-full") > 0, "{s}");
    // Sessions that got a place end normally (none is evicted for a newcomer).
    let ended: u64 = s["sessions"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(ended, s["sessions_created"].as_u64().unwrap(), "{s}");
    assert!(
        !log.contains("resources-unavailable"),
        "no session was pushed out"
    );
}

#[test]
fn policy_refusal_ends_policy_deny_and_resets() {
    // The same capture with a rule resetting port 80: the session is refused at its SYN (one
    // discard entry, logged once as deny), its retransmissions dropped, resets forged.
    let config = wire()
        .section(r#"services: { web: { protocol: tcp, ports: ["80"] } }"#)
        .rule("{ name: no-web, from: [trust], to: [untrust], service: [web], action: reset-both }")
        .rule(ALLOW_OUT)
        .yaml();
    let (s, log) = replay_config("policy", Scenario::TcpFin, IpFamily::V4, &config);
    assert_eq!(n(&s, "sessions", "policy-deny"), 1, "{s}");
    assert_eq!(s["forwarded"], 0, "{s}");
    assert!(n(&s, "dropped", "policy") >= 1, "{s}");
    assert!(s["emitted"].as_u64().unwrap() >= 2, "a RST each way: {s}");
    let recs: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(recs.len(), 1, "{log}");
    assert_eq!(recs[0]["subtype"], "deny");
    assert_eq!(recs[0]["action"], "reset-both");
    assert_eq!(recs[0]["rule"], "no-web");
    assert_eq!(recs[0]["session_end_reason"], "policy-deny");
}

#[test]
fn hostile_capture_is_survived_and_valid_sessions_stay_whole() {
    // Malformed and malicious frames of every kind around 11 valid sessions
    // (`synwall-gen hostile`, docs/robustness.md). `replay_frames` checks the exit status
    // (no panic) and that packets = forwarded + dropped.
    let capture = hostile_capture();
    let (s, log) = replay_frames("hostile", &capture.frames, &base());
    assert_eq!(s["packets"], capture.frames.len() as u64, "{s}");
    // Frames of known fate give exactly their reasons; the random and bit-flipped ones (of
    // unknown fate) can only add to a count, and add up to their number.
    let unknown = capture.unknown();
    let known = capture.known_drops();
    let mut excess = 0;
    for reason in DropReason::ALL {
        let want = known.get(reason).copied().unwrap_or(0);
        let got = n(&s, "dropped", reason.label());
        assert!(
            want <= got && got <= want + unknown,
            "{reason}: {got} dropped, {want} expected (+ up to {unknown}): {s}"
        );
        excess += got - want;
    }
    let forwarded = s["forwarded"].as_u64().unwrap();
    assert!(forwarded >= capture.known_forwarded(), "{s}");
    excess += forwarded - capture.known_forwarded();
    assert_eq!(excess, unknown, "{s}");
    for (reason, at_least) in capture.known_session_ends() {
        assert!(
            n(&s, "sessions", reason.label()) >= at_least,
            "{reason}: {s}"
        );
    }
    // Each valid session ends with its reason and all its packets.
    let records: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for v in &capture.sessions {
        let record = records
            .iter()
            .find(|r| {
                r["src"] == v.client.to_string()
                    && r["dst"] == v.server.to_string()
                    && r["sport"] == v.client_port
                    && r["dport"] == v.server_port
                    && r["proto"] == v.proto
            })
            .unwrap_or_else(|| panic!("{}: no end record in\n{log}", v.name));
        assert_eq!(record["subtype"], "end", "{}", v.name);
        assert_eq!(
            record["session_end_reason"],
            v.end_reason.label(),
            "{}",
            v.name
        );
        assert_eq!(
            (
                record["packets_sent"].as_u64(),
                record["packets_received"].as_u64()
            ),
            (Some(v.packets_sent), Some(v.packets_received)),
            "{}",
            v.name
        );
    }
}
