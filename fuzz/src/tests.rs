//! The targets' decoders reach what they are meant to reach, and the committed seeds are
//! current and run clean. (`cargo test --release` in `fuzz/`, no libFuzzer needed.)

use synwall_engine::reasons::{DropReason, EndReason};

use crate::engine::{Driver, Summary, CAPACITY};

fn run(seed: &str) -> Summary {
    let (_, data) = crate::seeds::engine()
        .into_iter()
        .find(|(name, _)| *name == seed)
        .expect("a seed of that name");
    Driver::run_summary(&data)
}

#[test]
fn a_tcp_connection_ends_tcp_fin_with_its_records() {
    let s = run("tcp-fin");
    assert_eq!(s.created, 1, "{s:?}");
    assert_eq!(s.ended(EndReason::TcpFin), 1, "{s:?}");
    assert_eq!((s.start_records, s.end_records), (1, 1), "{s:?}");
    assert!(s.drops.is_empty(), "{s:?}");
}

#[test]
fn resets_reuse_and_aging() {
    let s = run("rst-reuse-aging");
    assert_eq!(s.ended(EndReason::TcpRstFromClient), 1, "{s:?}");
    assert_eq!(s.ended(EndReason::TcpReuse), 1, "{s:?}");
    // The UDP flow, the echo, and the reused TCP flow's new SYN age out.
    assert_eq!(s.ended(EndReason::AgedOut), 3, "{s:?}");
}

#[test]
fn more_flows_than_room_fill_the_table() {
    let s = run("table-full");
    assert_eq!(s.max_active, CAPACITY as usize, "{s:?}");
    assert_eq!(
        s.dropped(DropReason::TableFull),
        70 - CAPACITY as u64,
        "{s:?}"
    );
}

#[test]
fn refusing_rules_reset_and_end_policy_deny() {
    // Rule set 1: flow 2 is TCP port 22, refused reset-both.
    let s = run("policy-reset");
    assert_eq!(s.ended(EndReason::PolicyDeny), 1, "{s:?}");
    assert_eq!(s.dropped(DropReason::Policy), 2, "{s:?}");
    assert!(s.emitted >= 2, "{s:?}");
}

#[test]
fn app_id_and_reload_decide_live_sessions() {
    // Rule set 1 allows web-browsing and ssl to ports 80/443 once app-ID has spoken; a reload
    // to the set with no rules refuses them (interzone default deny).
    let s = run("app-id-reload");
    assert_eq!(s.ended(EndReason::PolicyDeny), 2, "{s:?}");
}

#[test]
fn out_of_order_segments_past_the_limit_end_the_session() {
    // Session settings 3: out_of_order_limit 1.
    let s = run("out-of-order");
    assert_eq!(s.ended(EndReason::ResourcesUnavailable), 1, "{s:?}");
}

#[test]
fn icmp_errors_follow_their_session() {
    let s = run("icmp-errors");
    assert_eq!(s.dropped(DropReason::IcmpErrorNoSession), 1, "{s:?}");
}

#[test]
fn lone_syn_ack_and_midstream_pickup_open_sessions() {
    // Session settings 1: tcp_reject_non_syn false, asymmetric_path bypass.
    let s = run("midstream-bypass");
    assert_eq!(s.created, 2, "{s:?}");
    assert!(s.drops.is_empty(), "{s:?}");
}

#[test]
fn seeds_are_current_and_run_clean() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    type Body = fn(&[u8]);
    let targets: [(&str, crate::seeds::Seeds, Body); 3] = [
        ("parse", crate::seeds::parse(), crate::parse),
        ("engine", crate::seeds::engine(), Driver::run),
        ("config", crate::seeds::config(), crate::config),
    ];
    for (target, seeds, body) in targets {
        for (name, data) in seeds {
            body(&data);
            let path = dir.join(target).join(name);
            let committed = std::fs::read(&path).unwrap_or_default();
            assert!(
                committed == data,
                "{} is not current: cargo run --release --example seeds",
                path.display()
            );
        }
    }
}

#[test]
fn arbitrary_bytes_run_clean() {
    // A quick stand-in for the fuzzer: xorshift bytes through every target.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for len in 0..600usize {
        let data: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        crate::parse(&data);
        Driver::run(&data);
        crate::config(&data);
    }
}

#[test]
fn hand_off_spreads_flows_over_every_worker() {
    // Flows of every kind through the parse target, whose hand-off check has each worker's
    // engine agree with `flow_hash` on the owner; and the owners are spread evenly.
    use synwall_engine::pipeline::owner_worker;
    use synwall_testkit::frame::{TcpFields, TcpFlags};
    let workers = crate::HAND_OFF_WORKERS;
    let mut owned = vec![0usize; workers.into()];
    for n in 0..400u16 {
        for v6 in [false, true] {
            for kind in 0..3 {
                let mut client = [0u8; 16];
                let mut server = [0u8; 16];
                if v6 {
                    client[..2].copy_from_slice(&[0x20, 0x01]);
                    server[..2].copy_from_slice(&[0x20, 0x01]);
                } else {
                    client[10..12].copy_from_slice(&[0xff, 0xff]);
                    server[10..12].copy_from_slice(&[0xff, 0xff]);
                    client[12] = 10;
                    server[12] = 10;
                }
                client[14..].copy_from_slice(&n.to_be_bytes());
                server[13] = 9;
                server[15] = 1;
                // TTL 1, as these frames always had.
                let spec = crate::frames::spec(v6, client, server).with_ttl(1);
                let frame = match kind {
                    0 => spec.udp(1024 + n, 53, b"data"),
                    1 => {
                        let mut syn = TcpFields::new(1024 + n, 80, TcpFlags::SYN);
                        syn.window = 1000;
                        spec.tcp(&syn, b"")
                    }
                    _ => spec.with_fragment(0, true).udp(1024 + n, 53, b"data"),
                };
                let hash = synwall_engine::wire::flow_hash(&frame).expect("an IP flow");
                owned[owner_worker(hash, workers) as usize] += 1;
                let mut input = vec![0u8];
                input.extend_from_slice(&frame);
                crate::parse(&input);
            }
        }
    }
    let total: usize = owned.iter().sum();
    for (worker, &n) in owned.iter().enumerate() {
        assert!(
            n * 4 > total && n * 5 < total * 2,
            "worker {worker} owns {n} of {total} flows: {owned:?}"
        );
    }
}
