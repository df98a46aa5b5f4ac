//! The exporter's tests: the stats segment read into Prometheus families, and their text.

use super::*;
use prometheus::{Encoder, Registry, TextEncoder};
use std::sync::Arc;
use synwall_engine::stats::{heap_segment, SegmentInfo, SegmentWriter, STATE_RUNNING};

fn scrape(mem: &Arc<Vec<AtomicU64>>) -> String {
    let registry = Registry::new();
    registry
        .register(Box::new(SegmentCollector::new(Source::Memory(mem.clone()))))
        .unwrap();
    let mut buf = Vec::new();
    TextEncoder::new()
        .encode(&registry.gather(), &mut buf)
        .unwrap();
    String::from_utf8(buf).unwrap()
}

fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {series} in\n{text}"))
        .parse()
        .unwrap()
}

fn running_segment() -> Arc<Vec<AtomicU64>> {
    let mem = Arc::new(heap_segment(2));
    let w = SegmentWriter::format(
        &mem,
        &SegmentInfo {
            epoch_ns: 1_700_000_000_000_000_000,
            pid: std::process::id() as u64,
            session_capacity: 1000,
            port_names: vec!["ethernet1/1".into(), "ethernet1/2".into()],
            worker_lcores: vec![1, 2],
            zone_names: vec!["trust".into(), "untrust".into()],
        },
    )
    .unwrap();
    w.set_state(STATE_RUNNING);
    // Zone protection: SYN metered in zone 0 ("trust") by both workers.
    use synwall_types::reasons::Flood;
    let syn = WorkerBlock::flood(0, Flood::Syn).unwrap();
    for (wk, allowed, red, max, rate, state) in [
        (w.worker(0), 100, 20, 30, 400, FloodWord::STATE_ALARM),
        (w.worker(1), 50, 5, 0, 100, FloodWord::STATE_ACTIVE),
    ] {
        wk.set(syn + FloodWord::ENABLED, 1);
        wk.add(syn + FloodWord::ALLOWED, allowed);
        wk.add(syn + FloodWord::RED_DROPS, red);
        wk.add(syn + FloodWord::MAXIMAL_DROPS, max);
        wk.add(syn + FloodWord::ALARMS, 1);
        wk.add(syn + FloodWord::ACTIVATIONS, 1);
        wk.set(syn + FloodWord::RATE, rate);
        wk.set(syn + FloodWord::STATE, state);
    }
    let (w0, w1) = (w.worker(0), w.worker(1));
    for _ in 0..2 {
        w0.add_end(EndReason::TcpFin);
    }
    w1.add_end(EndReason::TcpFin);
    w1.add_end(EndReason::AgedOut);
    w0.add_drop(DropReason::NonSyn, 4);
    w0.add_non_syn(0x10); // A
    w1.add_non_syn(0x10);
    w1.add_non_syn(0x18); // PA
    w0.add_non_syn(0x00); // no flags
    w0.add_non_syn(0xc2); // S + E + C
    w0.add_port_rx(0, 10);
    w1.add_port_rx(0, 5);
    w0.add_port_tx(1, 14, 1);
    w.set_nic(0, NicCounter::RxBytes, 1500);
    w.set_nic(1, NicCounter::TxBytes, 1400);
    w.set_nic(1, NicCounter::RxMissed, 2);
    w0.add(WorkerBlock::PACKETS, 15);
    w0.add(WorkerBlock::SESSIONS_CREATED, 4);
    w0.set(WorkerBlock::SESSIONS_ACTIVE, 1);
    w0.add_app(2);
    w0.add(WorkerBlock::HANDOFF_SENT, 7);
    w0.record_loop(500);
    w0.record_loop(1500);
    w0.record_loop(3000);
    w0.record_loop(u64::MAX / 4);
    w1.add(WorkerBlock::RECORDS_DROPPED, 3);
    w.add_records_dropped(1);
    w.add_records_written(9);
    w0.set(WorkerBlock::HEARTBEAT, unix_ns());
    mem
}

#[test]
fn exports_every_counter() {
    let text = scrape(&running_segment());
    assert_eq!(value(&text, "synwall_dataplane_up"), 1.0);
    assert_eq!(
        value(&text, r#"synwall_session_end_total{reason="tcp-fin"}"#),
        3.0
    );
    assert!(text.contains("synwall_session_end_total{reason=\"tcp-fin\"} 3\n"));
    for e in EndReason::ALL {
        let series = format!("synwall_session_end_total{{reason=\"{}\"}}", e.label());
        assert_eq!(
            text.contains(&series),
            *e != EndReason::NotApplicable,
            "{series}"
        );
    }
    for d in DropReason::ALL {
        let series = format!("synwall_drops_total{{reason=\"{}\"}}", d.label());
        assert!(text.contains(&series), "{series}");
    }
    for a in APP_NAMES {
        assert!(text.contains(&format!("synwall_app_sessions_total{{app=\"{a}\"}}")));
    }
    assert_eq!(
        value(&text, r#"synwall_app_sessions_total{app="unknown-tcp"}"#),
        1.0
    );
    assert_eq!(
        value(&text, r#"synwall_drops_total{reason="non-syn"}"#),
        4.0
    );
    let flags = |f: &str| {
        value(
            &text,
            &format!("synwall_tcp_non_syn_drop_total{{flags=\"{f}\"}}"),
        )
    };
    assert_eq!(
        (
            flags("A"),
            flags("PA"),
            flags("FA"),
            flags("R"),
            flags("SA")
        ),
        (2.0, 1.0, 0.0, 0.0, 0.0)
    );
    assert_eq!((flags("none"), flags("SEC")), (1.0, 1.0));
    let port = |p: &str, d: &str| {
        value(
            &text,
            &format!("synwall_port_packets_total{{port=\"{p}\",direction=\"{d}\"}}"),
        )
    };
    assert_eq!(port("ethernet1/1", "rx"), 15.0);
    assert_eq!(port("ethernet1/2", "tx"), 14.0);
    assert_eq!(
        value(
            &text,
            r#"synwall_port_bytes_total{port="ethernet1/1",direction="rx"}"#
        ),
        1500.0
    );
    assert_eq!(
        value(&text, r#"synwall_port_drops_total{port="ethernet1/2"}"#),
        3.0
    );
    assert_eq!(
        value(&text, r#"synwall_worker_packets_total{worker="0"}"#),
        15.0
    );
    assert_eq!(value(&text, "synwall_sessions_created_total"), 4.0);
    assert_eq!(value(&text, "synwall_sessions_active"), 1.0);
    assert_eq!(value(&text, "synwall_session_table_capacity"), 1000.0);
    assert_eq!(value(&text, "synwall_log_records_dropped_total"), 4.0);
    assert_eq!(value(&text, "synwall_log_records_written_total"), 9.0);
    assert_eq!(value(&text, r#"synwall_handoff_total{worker="0"}"#), 7.0);
    assert!(value(&text, r#"synwall_worker_heartbeat_age_seconds{worker="0"}"#) < 60.0);
    // Worker 1 never beat: its age counts from the (long past) epoch.
    assert!(value(&text, r#"synwall_worker_heartbeat_age_seconds{worker="1"}"#) > 1e6);
    assert!(value(&text, r#"synwall_worker_longest_loop_seconds{worker="0"}"#) > 1e9);
    for spec in ALL {
        assert!(
            text.contains(&format!("# HELP {} ", spec.name)),
            "{}",
            spec.name
        );
    }
}

#[test]
fn exports_zone_protection_of_metered_zones_only() {
    let text = scrape(&running_segment());
    let zp = |name: &str, labels: &str| value(&text, &format!("{name}{{{labels}}}"));
    let syn = r#"zone="trust",flood="syn""#;
    let packets = "synwall_zone_protection_packets_total";
    assert_eq!(zp(packets, &format!(r#"{syn},outcome="allowed""#)), 150.0);
    assert_eq!(zp(packets, &format!(r#"{syn},outcome="red-drop""#)), 25.0);
    assert_eq!(
        zp(packets, &format!(r#"{syn},outcome="maximal-drop""#)),
        30.0
    );
    assert_eq!(zp("synwall_zone_protection_alarms_total", syn), 2.0);
    assert_eq!(zp("synwall_zone_protection_activations_total", syn), 2.0);
    assert_eq!(zp("synwall_zone_protection_rate", syn), 500.0);
    assert_eq!(zp("synwall_zone_protection_alarm", syn), 1.0);
    assert_eq!(zp("synwall_zone_protection_active", syn), 1.0);
    // Zones and floods nobody meters have no series.
    assert!(!text.contains(r#"zone="untrust""#), "{text}");
    assert!(!text.contains(r#"flood="udp""#), "{text}");
}

#[test]
fn loop_histogram_is_cumulative() {
    let text = scrape(&running_segment());
    let bucket = |le: &str| {
        value(
            &text,
            &format!("synwall_worker_loop_seconds_bucket{{worker=\"0\",le=\"{le}\"}}"),
        )
    };
    assert_eq!(bucket("0.000001024"), 1.0);
    assert_eq!(bucket("0.000002048"), 2.0);
    assert_eq!(bucket("0.000004096"), 3.0);
    assert_eq!(bucket("+Inf"), 4.0);
    assert_eq!(
        value(&text, r#"synwall_worker_loop_seconds_count{worker="0"}"#),
        4.0
    );
    assert_eq!(
        value(&text, r#"synwall_worker_loop_seconds_count{worker="1"}"#),
        0.0
    );
    let lines: Vec<f64> = text
        .lines()
        .filter(|l| l.starts_with("synwall_worker_loop_seconds_bucket{worker=\"0\""))
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(lines.len(), LOOP_BUCKETS);
    assert!(lines.windows(2).all(|w| w[0] <= w[1]), "{lines:?}");
    assert!(text.contains("# TYPE synwall_worker_loop_seconds histogram"));
}

#[test]
fn down_dataplane_exports_only_up() {
    // No segment at all.
    let f = families(None, 0);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].get_metric()[0].get_gauge().get_value(), 0.0);
    // A segment not formatted yet (bad magic).
    let text = scrape(&Arc::new(heap_segment(1)));
    assert_eq!(
        text.trim_end().lines().last(),
        Some("synwall_dataplane_up 0")
    );
    // A stopped dataplane.
    let mem = running_segment();
    mem[7].store(
        synwall_engine::stats::STATE_STOPPED,
        std::sync::atomic::Ordering::Relaxed,
    );
    let text = scrape(&mem);
    assert_eq!(value(&text, "synwall_dataplane_up"), 0.0);
    assert!(!text.contains("synwall_session_end_total"));
    // A dataplane whose process is gone.
    let mem = running_segment();
    mem[5].store(u32::MAX as u64, std::sync::atomic::Ordering::Relaxed);
    assert_eq!(value(&scrape(&mem), "synwall_dataplane_up"), 0.0);
}

#[test]
fn scrapes_follow_the_live_counters() {
    let mem = running_segment();
    let series = r#"synwall_session_end_total{reason="tcp-fin"}"#;
    let before = value(&scrape(&mem), series);
    let reader = SegmentReader::open(&mem).unwrap();
    assert_eq!(reader.sum(WorkerBlock::ENDS + EndReason::TcpFin.index()), 3);
    // The collector holds no state of its own: the next scrape sees the new value.
    mem[reader_worker_word(1, WorkerBlock::ENDS + EndReason::TcpFin.index())]
        .fetch_add(2, std::sync::atomic::Ordering::Relaxed);
    assert_eq!(value(&scrape(&mem), series), before + 2.0);
}

/// Index of worker `w`'s word `offset` in a segment (the first block follows the header).
fn reader_worker_word(w: usize, offset: usize) -> usize {
    let first = synwall_engine::stats::segment_words(0);
    first + w * WorkerBlock::WORDS + offset
}
