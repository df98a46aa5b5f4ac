//! The Prometheus collector: reads the stats segment at scrape time and turns it into metric
//! families. Nothing is cached: every value comes straight from the dataplane's counters, so a
//! counter never goes backwards while the same dataplane lives, and starts again from 0 (a counter
//! reset, which Prometheus handles) when a restarted dataplane makes a new segment.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::AtomicU64;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use prometheus::core::{Collector, Desc};
use prometheus::proto::{self, MetricFamily, MetricType};
use synwall_engine::protect::summaries;
use synwall_engine::stats::{
    FloodWord, NicCounter, SegmentReader, WorkerBlock, LOOP_BUCKETS, MAX_APPS,
};
use synwall_types::app::APP_NAMES;
use synwall_types::reasons::{DropReason, EndReason};
use synwall_types::tcp::flag_code;

use crate::source::{health, Health, Source};

/// One metric family's fixed facts.
pub struct Spec {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: MetricType,
    pub labels: &'static [&'static str],
}

const fn spec(
    name: &'static str,
    kind: MetricType,
    labels: &'static [&'static str],
    help: &'static str,
) -> Spec {
    Spec {
        name,
        help,
        kind,
        labels,
    }
}

use MetricType::{COUNTER, GAUGE, HISTOGRAM};

pub const UP: Spec = spec(
    "synwall_dataplane_up",
    GAUGE,
    &[],
    "1 when the dataplane is running (stats segment valid, state running, process alive), else 0.",
);
pub const START_TIME: Spec = spec(
    "synwall_dataplane_start_time_seconds",
    GAUGE,
    &[],
    "Unix time the running dataplane started (the stats segment epoch).",
);
pub const SESSION_END: Spec = spec(
    "synwall_session_end_total",
    COUNTER,
    &["reason"],
    "Sessions ended, by PAN-OS session-end reason.",
);
pub const SESSIONS_ACTIVE: Spec = spec(
    "synwall_sessions_active",
    GAUGE,
    &[],
    "Sessions in the session tables now.",
);
pub const SESSIONS_CREATED: Spec = spec(
    "synwall_sessions_created_total",
    COUNTER,
    &[],
    "Sessions created.",
);
pub const CAPACITY: Spec = spec(
    "synwall_session_table_capacity",
    GAUGE,
    &[],
    "Configured session-table capacity, all workers together.",
);
pub const APP_SESSIONS: Spec = spec(
    "synwall_app_sessions_total",
    COUNTER,
    &["app"],
    "Ended sessions, by application.",
);
pub const NON_SYN: Spec = spec(
    "synwall_tcp_non_syn_drop_total",
    COUNTER,
    &["flags"],
    "TCP packets without a session that were not a valid SYN, dropped, by TCP flag code.",
);
pub const DROPS: Spec = spec(
    "synwall_drops_total",
    COUNTER,
    &["reason"],
    "Packets dropped, by reason.",
);
pub const PORT_PACKETS: Spec = spec(
    "synwall_port_packets_total",
    COUNTER,
    &["port", "direction"],
    "Packets received and transmitted by the workers, per port.",
);
pub const PORT_BYTES: Spec = spec(
    "synwall_port_bytes_total",
    COUNTER,
    &["port", "direction"],
    "Bytes received and transmitted, per port (NIC counters).",
);
pub const PORT_DROPS: Spec = spec(
    "synwall_port_drops_total",
    COUNTER,
    &["port"],
    "Packets lost at a port: transmit queue full, NIC rx missed, no mbuf for rx.",
);
pub const WORKER_PACKETS: Spec = spec(
    "synwall_worker_packets_total",
    COUNTER,
    &["worker"],
    "Packets each worker handled.",
);
pub const RECORDS_WRITTEN: Spec = spec(
    "synwall_log_records_written_total",
    COUNTER,
    &[],
    "Traffic log records written.",
);
pub const RECORDS_DROPPED: Spec = spec(
    "synwall_log_records_dropped_total",
    COUNTER,
    &[],
    "Traffic log records lost (queue full in a worker, or write errors).",
);
pub const HEARTBEAT_AGE: Spec = spec(
    "synwall_worker_heartbeat_age_seconds",
    GAUGE,
    &["worker"],
    "Seconds since each worker last went round its loop.",
);
pub const LOOP_SECONDS: Spec = spec(
    "synwall_worker_loop_seconds",
    HISTOGRAM,
    &["worker"],
    "Duration of worker loop iterations.",
);
pub const LONGEST_LOOP: Spec = spec(
    "synwall_worker_longest_loop_seconds",
    GAUGE,
    &["worker"],
    "Longest worker loop iteration seen since the dataplane started.",
);
pub const HANDOFF: Spec = spec(
    "synwall_handoff_total",
    COUNTER,
    &["worker"],
    "Packets each worker handed off to another worker.",
);

pub const ZONE_PROTECTION_PACKETS: Spec = spec(
    "synwall_zone_protection_packets_total",
    COUNTER,
    &["zone", "flood", "outcome"],
    "Session-opening packets metered by zone protection, by ingress zone, flood (syn, udp, icmp, \
     icmpv6, other-ip) and outcome (allowed, red-drop: random early drop, maximal-drop: above \
     the maximal rate).",
);
pub const ZONE_PROTECTION_ALARMS: Spec = spec(
    "synwall_zone_protection_alarms_total",
    COUNTER,
    &["zone", "flood"],
    "Times a zone's new-session rate rose above its alarm rate (summed over workers).",
);
pub const ZONE_PROTECTION_ACTIVATIONS: Spec = spec(
    "synwall_zone_protection_activations_total",
    COUNTER,
    &["zone", "flood"],
    "Times a zone's new-session rate rose above its activate rate: random early drop started \
     (summed over workers).",
);
pub const ZONE_PROTECTION_RATE: Spec = spec(
    "synwall_zone_protection_rate",
    GAUGE,
    &["zone", "flood"],
    "New sessions per second entering the zone, offered (refused ones included), over a sliding \
     one-second window.",
);
pub const ZONE_PROTECTION_ALARM: Spec = spec(
    "synwall_zone_protection_alarm",
    GAUGE,
    &["zone", "flood"],
    "1 while the zone's new-session rate is above its alarm rate (in any worker).",
);
pub const ZONE_PROTECTION_ACTIVE: Spec = spec(
    "synwall_zone_protection_active",
    GAUGE,
    &["zone", "flood"],
    "1 while random early drop is engaged for the zone (in any worker).",
);

pub const ALL: &[&Spec] = &[
    &UP,
    &START_TIME,
    &SESSION_END,
    &SESSIONS_ACTIVE,
    &SESSIONS_CREATED,
    &CAPACITY,
    &APP_SESSIONS,
    &NON_SYN,
    &DROPS,
    &PORT_PACKETS,
    &PORT_BYTES,
    &PORT_DROPS,
    &WORKER_PACKETS,
    &RECORDS_WRITTEN,
    &RECORDS_DROPPED,
    &HEARTBEAT_AGE,
    &LOOP_SECONDS,
    &LONGEST_LOOP,
    &HANDOFF,
    &ZONE_PROTECTION_PACKETS,
    &ZONE_PROTECTION_ALARMS,
    &ZONE_PROTECTION_ACTIVATIONS,
    &ZONE_PROTECTION_RATE,
    &ZONE_PROTECTION_ALARM,
    &ZONE_PROTECTION_ACTIVE,
];

/// Flag codes exported even at 0, so dashboards and alerts always find the common ones.
const ALWAYS_FLAGS: &[&str] = &["A", "PA", "FA", "R", "SA"];

/// Reads the segment at every scrape.
pub struct SegmentCollector {
    source: Mutex<Source>,
    descs: Vec<Desc>,
}

impl SegmentCollector {
    pub fn new(source: Source) -> Self {
        let descs = ALL
            .iter()
            .map(|s| {
                Desc::new(
                    s.name.into(),
                    s.help.into(),
                    s.labels.iter().map(|l| l.to_string()).collect(),
                    HashMap::new(),
                )
                .expect("valid metric spec")
            })
            .collect();
        SegmentCollector {
            source: Mutex::new(source),
            descs,
        }
    }

    /// The dataplane's health now (re-checks the mapping).
    pub fn health(&self) -> Health {
        let mut source = self.source.lock().unwrap_or_else(|e| e.into_inner());
        health(source.refresh())
    }
}

impl Collector for SegmentCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let mut source = self.source.lock().unwrap_or_else(|e| e.into_inner());
        let words = source.refresh();
        families(words, unix_ns())
    }
}

fn unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// Every family for the segment in `words` (if any) at time `now_ns`.
pub fn families(words: Option<&[AtomicU64]>, now_ns: u64) -> Vec<MetricFamily> {
    let up = health(words).is_up();
    let mut out = vec![family(&UP, vec![gauge(&[], if up { 1.0 } else { 0.0 })])];
    if !up {
        return out;
    }
    let Some(r) = words.and_then(|w| SegmentReader::open(w).ok()) else {
        return out;
    };
    out.extend(dataplane_families(&r, now_ns));
    out
}

fn dataplane_families(r: &SegmentReader<'_>, now_ns: u64) -> Vec<MetricFamily> {
    let mut out = Vec::with_capacity(ALL.len());
    out.push(family(
        &START_TIME,
        vec![gauge(&[], r.epoch() as f64 / 1e9)],
    ));

    let ends = EndReason::ALL
        .iter()
        .filter(|e| **e != EndReason::NotApplicable)
        .map(|e| {
            let v = r.sum(WorkerBlock::ENDS + e.index());
            counter(&[("reason", e.label())], v)
        })
        .collect();
    out.push(family(&SESSION_END, ends));

    out.push(family(
        &SESSIONS_ACTIVE,
        vec![gauge(&[], r.sum(WorkerBlock::SESSIONS_ACTIVE) as f64)],
    ));
    out.push(family(
        &SESSIONS_CREATED,
        vec![counter(&[], r.sum(WorkerBlock::SESSIONS_CREATED))],
    ));
    out.push(family(
        &CAPACITY,
        vec![gauge(&[], r.session_capacity() as f64)],
    ));

    let apps = APP_NAMES
        .iter()
        .take(MAX_APPS)
        .enumerate()
        .map(|(id, name)| counter(&[("app", name)], r.sum(WorkerBlock::APPS + id)))
        .collect();
    out.push(family(&APP_SESSIONS, apps));

    out.push(family(&NON_SYN, non_syn(r)));

    let drops = DropReason::ALL
        .iter()
        .map(|d| {
            counter(
                &[("reason", d.label())],
                r.sum(WorkerBlock::DROPS + d.index()),
            )
        })
        .collect();
    out.push(family(&DROPS, drops));

    let (mut packets, mut bytes, mut port_drops) = (Vec::new(), Vec::new(), Vec::new());
    for p in 0..r.ports() {
        let name = r.port_name(p);
        let port = name.as_str();
        packets.push(counter(
            &[("port", port), ("direction", "rx")],
            r.sum(WorkerBlock::PORT_RX + p),
        ));
        packets.push(counter(
            &[("port", port), ("direction", "tx")],
            r.sum(WorkerBlock::PORT_TX + p),
        ));
        bytes.push(counter(
            &[("port", port), ("direction", "rx")],
            r.nic(p, NicCounter::RxBytes),
        ));
        bytes.push(counter(
            &[("port", port), ("direction", "tx")],
            r.nic(p, NicCounter::TxBytes),
        ));
        let lost = r.sum(WorkerBlock::PORT_TX_DROPS + p)
            + r.nic(p, NicCounter::RxMissed)
            + r.nic(p, NicCounter::RxNoMbuf);
        port_drops.push(counter(&[("port", port)], lost));
    }
    out.push(family(&PORT_PACKETS, packets));
    out.push(family(&PORT_BYTES, bytes));
    out.push(family(&PORT_DROPS, port_drops));

    out.push(family(
        &RECORDS_WRITTEN,
        vec![counter(&[], r.records_written())],
    ));
    out.push(family(
        &RECORDS_DROPPED,
        vec![counter(
            &[],
            r.sum(WorkerBlock::RECORDS_DROPPED) + r.records_write_dropped(),
        )],
    ));

    let (mut worker_packets, mut age, mut hist, mut longest, mut handoff) =
        (vec![], vec![], vec![], vec![], vec![]);
    for w in 0..r.workers() {
        let id = w.to_string();
        let l = [("worker", id.as_str())];
        worker_packets.push(counter(&l, r.worker(w, WorkerBlock::PACKETS)));
        // Before a worker's first heartbeat, its age counts from the dataplane's start.
        let beat = match r.worker(w, WorkerBlock::HEARTBEAT) {
            0 => r.epoch(),
            b => b,
        };
        age.push(gauge(&l, now_ns.saturating_sub(beat) as f64 / 1e9));
        hist.push(loop_histogram(r, w, &l));
        longest.push(gauge(
            &l,
            r.worker(w, WorkerBlock::LONGEST_LOOP_NS) as f64 / 1e9,
        ));
        handoff.push(counter(&l, r.worker(w, WorkerBlock::HANDOFF_SENT)));
    }
    out.push(family(&WORKER_PACKETS, worker_packets));
    out.push(family(&HEARTBEAT_AGE, age));
    out.push(family(&LOOP_SECONDS, hist));
    out.push(family(&LONGEST_LOOP, longest));
    out.push(family(&HANDOFF, handoff));
    out.extend(zone_protection(r));
    out
}

/// The zone protection families: one series set per (zone, flood) that some worker meters, or
/// metered before a reload turned it off (its counters stay).
fn zone_protection(r: &SegmentReader<'_>) -> Vec<MetricFamily> {
    let (mut packets, mut alarms, mut activations) = (vec![], vec![], vec![]);
    let (mut rate, mut alarm, mut active) = (vec![], vec![], vec![]);
    for m in summaries(r) {
        let l = [("zone", m.zone.as_str()), ("flood", m.flood.label())];
        for (outcome, v) in [
            ("allowed", m.allowed),
            ("red-drop", m.red_drops),
            ("maximal-drop", m.maximal_drops),
        ] {
            packets.push(counter(&[l[0], l[1], ("outcome", outcome)], v));
        }
        alarms.push(counter(&l, m.alarms));
        activations.push(counter(&l, m.activations));
        rate.push(gauge(&l, m.rate as f64));
        let bit = |b: u64| if m.state & b != 0 { 1.0 } else { 0.0 };
        alarm.push(gauge(&l, bit(FloodWord::STATE_ALARM)));
        active.push(gauge(&l, bit(FloodWord::STATE_ACTIVE)));
    }
    vec![
        family(&ZONE_PROTECTION_PACKETS, packets),
        family(&ZONE_PROTECTION_ALARMS, alarms),
        family(&ZONE_PROTECTION_ACTIVATIONS, activations),
        family(&ZONE_PROTECTION_RATE, rate),
        family(&ZONE_PROTECTION_ALARM, alarm),
        family(&ZONE_PROTECTION_ACTIVE, active),
    ]
}

/// The 256 per-flag-byte slots, summed into flag codes (`A`, `PA`, ...).
fn non_syn(r: &SegmentReader<'_>) -> Vec<proto::Metric> {
    let mut by_code: BTreeMap<String, u64> =
        ALWAYS_FLAGS.iter().map(|f| (f.to_string(), 0)).collect();
    for flags in 0..=255u8 {
        let v = r.sum(WorkerBlock::NON_SYN + flags as usize);
        if v > 0 {
            let code = match flag_code(flags) {
                s if s.is_empty() => "none".to_string(),
                s => s.to_string(),
            };
            *by_code.entry(code).or_default() += v;
        }
    }
    by_code
        .iter()
        .map(|(code, v)| counter(&[("flags", code)], *v))
        .collect()
}

/// Worker `w`'s loop-time histogram: bucket `i` counts loops < 2^(i+10) ns, the last one
/// everything longer (the +Inf bucket, which the encoder writes from the sample count).
fn loop_histogram(r: &SegmentReader<'_>, w: usize, labels: &[(&str, &str)]) -> proto::Metric {
    let mut buckets = Vec::with_capacity(LOOP_BUCKETS - 1);
    let mut cumulative = 0u64;
    for i in 0..LOOP_BUCKETS {
        cumulative += r.worker(w, WorkerBlock::LOOP_HIST + i);
        if i + 1 < LOOP_BUCKETS {
            let mut b = proto::Bucket::new();
            b.set_upper_bound((1u64 << (i + 10)) as f64 / 1e9);
            b.set_cumulative_count(cumulative);
            buckets.push(b);
        }
    }
    let mut h = proto::Histogram::new();
    h.set_bucket(buckets.into());
    h.set_sample_count(cumulative);
    h.set_sample_sum(r.worker(w, WorkerBlock::LOOP_NS_SUM) as f64 / 1e9);
    let mut m = metric(labels);
    m.set_histogram(h);
    m
}

fn family(spec: &Spec, metrics: Vec<proto::Metric>) -> MetricFamily {
    let mut f = MetricFamily::new();
    f.set_name(spec.name.into());
    f.set_help(spec.help.into());
    f.set_field_type(spec.kind);
    f.set_metric(metrics.into());
    f
}

fn metric(labels: &[(&str, &str)]) -> proto::Metric {
    let mut m = proto::Metric::new();
    m.set_label(
        labels
            .iter()
            .map(|(k, v)| {
                let mut l = proto::LabelPair::new();
                l.set_name(k.to_string());
                l.set_value(v.to_string());
                l
            })
            .collect(),
    );
    m
}

fn counter(labels: &[(&str, &str)], v: u64) -> proto::Metric {
    let mut c = proto::Counter::new();
    c.set_value(v as f64);
    let mut m = metric(labels);
    m.set_counter(c);
    m
}

fn gauge(labels: &[(&str, &str)], v: f64) -> proto::Metric {
    let mut g = proto::Gauge::new();
    g.set_value(v);
    let mut m = metric(labels);
    m.set_gauge(g);
    m
}

#[cfg(test)]
#[path = "collector_tests.rs"]
mod tests;
