//! `synwall replay`: the engine over a capture, clocked by the capture's timestamps.
//!
//! Every packet enters on the first port (a capture taken on one link holds both directions; the
//! side that opened a session is its client) and its verdict decides whether it goes to `--out`.
//! When the capture ends, virtual time jumps from timer to timer until every session has ended,
//! so each one gets its end reason. The output is deterministic: the same capture gives the
//! same summary and log, byte for byte.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use serde_json::json;
use synwall_engine::capture::{PcapReader, PcapWriter};
use synwall_engine::config::Config;
use synwall_engine::pipeline::{Engine, EngineConfig};
use synwall_engine::policy::Policy;
use synwall_engine::reasons::{DropReason, EndReason};
use synwall_engine::records::{flag_letters, NameTable, RecordRing};
use synwall_engine::stats::{CounterBlock, SegmentReader, WorkerBlock};

/// Records held between drains (drained after every packet, so never full).
const RING: usize = 65_536;

pub struct ReplayArgs<'a> {
    pub pcap: &'a Path,
    pub out: Option<&'a Path>,
    pub log: Option<&'a Path>,
    pub json: bool,
}

pub fn replay(config: &Config, args: &ReplayArgs) -> Result<(), String> {
    let input =
        File::open(args.pcap).map_err(|e| format!("cannot open {}: {e}", args.pcap.display()))?;
    let mut reader = PcapReader::new(BufReader::new(input))
        .map_err(|e| format!("{}: {e}", args.pcap.display()))?;
    let mut writer = match args.out {
        Some(p) => Some(
            PcapWriter::new(BufWriter::new(
                File::create(p).map_err(|e| format!("cannot create {}: {e}", p.display()))?,
            ))
            .map_err(|e| format!("{}: {e}", p.display()))?,
        ),
        None => None,
    };
    let mut log = match args.log {
        Some(p) => {
            Some(BufWriter::new(File::create(p).map_err(|e| {
                format!("cannot create {}: {e}", p.display())
            })?))
        }
        None => None,
    };
    let names = NameTable {
        ports: config
            .dataplane
            .ports
            .iter()
            .map(|p| p.name.clone())
            .collect(),
        zones: config
            .dataplane
            .ports
            .iter()
            .map(|p| p.zone.clone())
            .collect(),
        rules: config.rules.iter().map(|r| r.name.clone()).collect(),
        apps: synwall_engine::app::names(),
    };

    let counters = CounterBlock::standalone();
    let ring = Arc::new(RecordRing::new(RING));
    let policy = Arc::new(
        Policy::compile(config)
            .map(|p| p.with_app_default(synwall_engine::appid::is_default_port))
            .map_err(|e| format!("policy: {e}"))?,
    );
    let mut cfg = EngineConfig::from_config(config, policy, 0, 1);
    cfg.capacity = cfg
        .capacity
        .min(config.session.max_sessions.min(u32::MAX as u64) as u32);
    let mut engine: Option<Engine> = None;
    let (mut packets, mut forwarded) = (0u64, 0u64);
    let mut now = 0u64;
    let mut line = String::new();
    let mut drain = |ring: &RecordRing, log: &mut Option<BufWriter<File>>| -> Result<(), String> {
        while let Some(r) = ring.pop() {
            if let Some(out) = log.as_mut() {
                line.clear();
                r.write_json_line(&names, &mut line);
                out.write_all(line.as_bytes())
                    .map_err(|e| format!("--log: {e}"))?;
            }
        }
        Ok(())
    };

    while let Some(record) = reader
        .next_record()
        .map_err(|e| format!("{}: {e}", args.pcap.display()))?
    {
        // Capture time never runs backwards for the engine (captures can be slightly unordered).
        now = now.max(record.timestamp_ns);
        let engine = engine.get_or_insert_with(|| {
            Engine::new(cfg.clone(), counters.clone(), Arc::clone(&ring), now)
        });
        run_timers(engine, now);
        packets += 1;
        let verdict = engine.process(now, record.data, 0);
        // What the firewall itself sends (resets, unreachables) is counted, not replayed.
        engine.clear_emits();
        if verdict.forwards() {
            forwarded += 1;
            if let Some(w) = writer.as_mut() {
                w.write_record(record.timestamp_ns, record.data)
                    .map_err(|e| format!("--out: {e}"))?;
            }
        }
        drain(&ring, &mut log)?;
    }
    // The capture is over: let virtual time run until every session has ended.
    if let Some(engine) = engine.as_mut() {
        while engine.active_sessions() > 0 {
            match engine.next_timer() {
                Some(t) => {
                    now = now.max(t);
                    run_timers(engine, now);
                }
                None => {
                    engine.clear_all(EndReason::AgedOut, now);
                }
            }
            drain(&ring, &mut log)?;
        }
    }
    if let Some(w) = writer.as_mut() {
        w.flush().map_err(|e| format!("--out: {e}"))?;
    }
    if let Some(l) = log.as_mut() {
        l.flush().map_err(|e| format!("--log: {e}"))?;
    }

    let seg = SegmentReader::open(counters.segment()).map_err(|e| e.to_string())?;
    let mut dropped = BTreeMap::new();
    for d in DropReason::ALL {
        let n = seg.sum(WorkerBlock::DROPS + d.index());
        if n > 0 {
            dropped.insert(d.label().to_string(), n);
        }
    }
    let mut sessions = BTreeMap::new();
    for e in EndReason::ALL {
        let n = seg.sum(WorkerBlock::ENDS + e.index());
        if n > 0 {
            sessions.insert(e.label().to_string(), n);
        }
    }
    let mut apps = BTreeMap::new();
    for (id, name) in names.apps.iter().enumerate() {
        let n = seg.sum(WorkerBlock::APPS + id);
        if n > 0 {
            apps.insert(name.clone(), n);
        }
    }
    let mut non_syn = BTreeMap::new();
    for flags in 0..=255u8 {
        let n = seg.sum(WorkerBlock::NON_SYN + flags as usize);
        if n > 0 {
            *non_syn.entry(flag_letters(flags)).or_insert(0) += n;
        }
    }
    let dropped_total: u64 = dropped.values().sum();
    let summary = json!({
        "packets": packets,
        "forwarded": forwarded,
        "dropped_total": dropped_total,
        "dropped": dropped,
        "sessions": sessions,
        "sessions_created": seg.sum(WorkerBlock::SESSIONS_CREATED),
        "apps": apps,
        "tcp_non_syn_drop": non_syn,
        "log_records_dropped": seg.sum(WorkerBlock::RECORDS_DROPPED),
        "tcp_broken_handshakes": seg.sum(WorkerBlock::BROKEN_HANDSHAKES),
        "emitted": seg.sum(WorkerBlock::EMITTED),
        "stateless_forwarded": seg.sum(WorkerBlock::STATELESS_FORWARDED),
        "tcp_out_of_order": seg.sum(WorkerBlock::OUT_OF_ORDER),
    });
    if args.json {
        println!("{summary}");
    } else {
        println!("packets read:      {packets}");
        println!("forwarded:         {forwarded}");
        println!("dropped:           {dropped_total}");
        for (reason, n) in &dropped {
            println!("  {reason:<24} {n}");
        }
        println!(
            "sessions created:  {}",
            seg.sum(WorkerBlock::SESSIONS_CREATED)
        );
        println!("sessions by end reason:");
        for (reason, n) in &sessions {
            println!("  {reason:<24} {n}");
        }
        println!("sessions by application:");
        for (app, n) in &apps {
            println!("  {app:<24} {n}");
        }
    }
    if packets != forwarded + dropped_total {
        return Err(format!(
            "accounting error: {packets} read != {forwarded} forwarded + {dropped_total} dropped"
        ));
    }
    Ok(())
}

/// Runs every timer due by `now`, however many budgets that takes.
fn run_timers(engine: &mut Engine, now: u64) {
    while engine.next_timer().is_some_and(|t| t <= now) {
        engine.expire(now);
    }
}
