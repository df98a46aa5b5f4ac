//! The stats segment: counters the dataplane writes and the control process reads.
//!
//! The idea is VPP's stats segment. The dataplane maps a file (`control.stats`, normally in
//! `/dev/shm`) and every worker writes its own counters there with plain relaxed stores: one
//! writer per word, no locked instructions, no syscalls. `synwall-control` maps the same file
//! read-only and sums the workers at scrape time. Either side can restart without the other
//! noticing; a restarted dataplane makes a new file with a new epoch, which readers detect.
//!
//! This module defines the layout and typed access over a `&[AtomicU64]`; the mapping itself is
//! the `synwall-shm` crate's (the only `unsafe`), and tests and `synwall replay` use plain memory.
//!
//! # Layout (in 64-bit words)
//!
//! | words | what | writer |
//! | --- | --- | --- |
//! | 0 | magic `b"SYNWALL\0"` | dataplane, at start |
//! | 1 | layout version ([`LAYOUT_VERSION`]) | dataplane, at start |
//! | 2 | epoch: unix ns of this dataplane's start; changes on every restart | dataplane, at start |
//! | 3 | worker count | at start |
//! | 4 | port count | at start |
//! | 5 | dataplane pid | at start |
//! | 6 | session-table capacity (all workers) | at start |
//! | 7 | state: 0 starting, 1 running, 2 stopped | management thread |
//! | 8 | management heartbeat, unix ns | management thread |
//! | 9 | offset of the first worker block (words) | at start |
//! | 10 | words per worker block | at start |
//! | 11 | log records written | management thread |
//! | 12 | log records dropped by the writer (I/O errors) | management thread |
//! | 13 | zone count | at start |
//! | 14..16 | reserved | |
//! | 16..144 | port names, [`MAX_PORTS`] x 32 bytes, NUL-padded UTF-8 | at start |
//! | 144..400 | per-port NIC counters, [`MAX_PORTS`] x [`NicCounter::COUNT`] (ethdev stats) | management thread |
//! | 400..528 | zone names by zone id, [`MAX_ZONES`] x 32 bytes, NUL-padded UTF-8 | at start |
//! | 528.. | worker blocks, each [`WorkerBlock::WORDS`] words, 64-byte aligned | each its worker |
//!
//! A worker block is laid out by [`WorkerBlock`]'s offsets: scalars, then drops by
//! [`DropReason`], session ends by [`EndReason`], non-SYN drops by TCP flag byte (256), the
//! loop-time histogram, per-port rx/tx/tx-drop packets, sessions ended by application, then
//! zone protection: one cache line of [`FloodWord`]s per (zone id, [`Flood`]).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::reasons::{DropReason, EndReason, Flood};

/// Bumped whenever the layout changes; readers refuse other versions.
pub const LAYOUT_VERSION: u64 = 2;
/// `b"SYNWALL\0"` read as a little-endian u64.
pub const MAGIC: u64 = u64::from_le_bytes(*b"SYNWALL\0");
/// Most ports a dataplane drives.
pub const MAX_PORTS: usize = 32;
/// Most zones the segment names and meters (every zone is some port's, so at most
/// [`MAX_PORTS`]).
pub const MAX_ZONES: usize = MAX_PORTS;
/// Most workers a segment describes.
pub const MAX_WORKERS: usize = 128;
/// Application counter slots per worker.
pub const MAX_APPS: usize = 64;
/// Buckets of the loop-time histogram: bucket `i` counts loops of < 2^(i+10) ns (1 us, 2 us, ...
/// ~34 s); the last bucket takes everything longer.
pub const LOOP_BUCKETS: usize = 16;

const PORT_NAME_WORDS: usize = 4;
const HEADER_PORT_NAMES: usize = 16;

/// Counters the management thread copies from each port's ethdev statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum NicCounter {
    RxPackets,
    RxBytes,
    TxPackets,
    TxBytes,
    RxMissed,
    RxErrors,
    TxErrors,
    RxNoMbuf,
}

impl NicCounter {
    pub const COUNT: usize = 8;
    pub const ALL: [NicCounter; 8] = [
        NicCounter::RxPackets,
        NicCounter::RxBytes,
        NicCounter::TxPackets,
        NicCounter::TxBytes,
        NicCounter::RxMissed,
        NicCounter::RxErrors,
        NicCounter::TxErrors,
        NicCounter::RxNoMbuf,
    ];
}

const HEADER_NIC: usize = HEADER_PORT_NAMES + MAX_PORTS * PORT_NAME_WORDS;
const HEADER_ZONE_NAMES: usize = HEADER_NIC + MAX_PORTS * NicCounter::COUNT;
const FIRST_WORKER: usize = (HEADER_ZONE_NAMES + MAX_ZONES * PORT_NAME_WORDS).next_multiple_of(8);

/// Word offsets inside one worker's block.
pub struct WorkerBlock;

impl WorkerBlock {
    pub const PACKETS: usize = 0;
    pub const BYTES: usize = 1;
    pub const LOOPS: usize = 2;
    /// Last time the worker went round its loop (ns on the dataplane's clock, see word 2).
    pub const HEARTBEAT: usize = 3;
    pub const LCORE: usize = 4;
    pub const SESSIONS_CREATED: usize = 5;
    pub const SESSIONS_ACTIVE: usize = 6;
    pub const HANDOFF_SENT: usize = 7;
    pub const HANDOFF_RECEIVED: usize = 8;
    pub const RECORDS_DROPPED: usize = 9;
    pub const LONGEST_LOOP_NS: usize = 10;
    pub const LOOP_NS_SUM: usize = 11;
    /// TCP handshakes broken by a stale server (SYN, bare ACK from the server, client RST).
    pub const BROKEN_HANDSHAKES: usize = 12;
    /// TCP segments that arrived after a hole in their direction's sequence space.
    pub const OUT_OF_ORDER: usize = 13;
    /// Packets a stateless rule (`connection_tracking: false`) let through without a session.
    pub const STATELESS_FORWARDED: usize = 14;
    /// Packets the firewall sent itself (TCP resets, ICMP unreachables).
    pub const EMITTED: usize = 15;
    pub const DROPS: usize = 16;
    pub const ENDS: usize = Self::DROPS + DropReason::COUNT;
    pub const NON_SYN: usize = Self::ENDS + EndReason::COUNT;
    pub const LOOP_HIST: usize = Self::NON_SYN + 256;
    pub const PORT_RX: usize = Self::LOOP_HIST + LOOP_BUCKETS;
    pub const PORT_TX: usize = Self::PORT_RX + MAX_PORTS;
    pub const PORT_TX_DROPS: usize = Self::PORT_TX + MAX_PORTS;
    pub const APPS: usize = Self::PORT_TX_DROPS + MAX_PORTS;
    /// Zone protection meters: [`MAX_ZONES`] x [`Flood::COUNT`] cache lines of [`FloodWord`]s.
    pub const FLOODS: usize = (Self::APPS + MAX_APPS).next_multiple_of(8);
    /// Block size, rounded to whole cache lines so that workers never share one.
    pub const WORDS: usize =
        (Self::FLOODS + MAX_ZONES * Flood::COUNT * FloodWord::WORDS).next_multiple_of(8);

    /// Offset of the meter of `flood` in zone `zone` (add a [`FloodWord`]); `None` for a zone
    /// id past [`MAX_ZONES`].
    #[inline(always)]
    pub const fn flood(zone: usize, flood: Flood) -> Option<usize> {
        if zone < MAX_ZONES {
            Some(Self::FLOODS + (zone * Flood::COUNT + flood as usize) * FloodWord::WORDS)
        } else {
            None
        }
    }
}

/// The words of one zone protection meter (one zone, one flood), relative to
/// [`WorkerBlock::flood`]. Counters count session-opening packets.
pub struct FloodWord;

impl FloodWord {
    /// Let through (rate at or below the activate rate, or spared by random early drop).
    pub const ALLOWED: usize = 0;
    /// Dropped by random early drop (rate between the activate and maximal rates).
    pub const RED_DROPS: usize = 1;
    /// Dropped because the rate was above the maximal rate.
    pub const MAXIMAL_DROPS: usize = 2;
    /// Times the rate rose above the alarm rate.
    pub const ALARMS: usize = 3;
    /// Times the rate rose above the activate rate (random early drop started).
    pub const ACTIVATIONS: usize = 4;
    /// Gauge: this worker's estimated rate (packets per second).
    pub const RATE: usize = 5;
    /// Gauge: [`FloodWord::STATE_ALARM`] | [`FloodWord::STATE_ACTIVE`] |
    /// [`FloodWord::STATE_MAXIMAL`].
    pub const STATE: usize = 6;
    /// Gauge: 1 while protection is enabled for this zone and flood in this worker.
    pub const ENABLED: usize = 7;
    pub const WORDS: usize = 8;

    /// State bit: the rate is above the alarm rate.
    pub const STATE_ALARM: u64 = 1;
    /// State bit: the rate went above the activate rate and has not stayed at or below it for
    /// a whole second since (random early drop engaged).
    pub const STATE_ACTIVE: u64 = 2;
    /// State bit: the rate is above the maximal rate (every new session refused).
    pub const STATE_MAXIMAL: u64 = 4;
}

/// Words a segment for `workers` workers needs.
pub const fn segment_words(workers: usize) -> usize {
    FIRST_WORKER + workers * WorkerBlock::WORDS
}

/// Single-writer add: load and store, no read-modify-write instruction. Exact as long as the
/// caller is the word's only writer (the layout's rule).
#[inline(always)]
fn add(word: &AtomicU64, n: u64) {
    word.store(word.load(Relaxed).wrapping_add(n), Relaxed);
}

/// Memory holding a segment: the daemon's shared mapping, or plain memory.
pub trait CounterMemory: Send + Sync {
    fn words(&self) -> &[AtomicU64];
}

impl CounterMemory for Vec<AtomicU64> {
    fn words(&self) -> &[AtomicU64] {
        self
    }
}

/// A worker's block inside a shared segment, owned (the engine keeps one).
#[derive(Clone)]
pub struct CounterBlock {
    mem: std::sync::Arc<dyn CounterMemory>,
    start: usize,
}

impl CounterBlock {
    /// Worker `index`'s block of a formatted segment.
    pub fn new(mem: std::sync::Arc<dyn CounterMemory>, index: usize) -> Self {
        CounterBlock {
            mem,
            start: FIRST_WORKER + index * WorkerBlock::WORDS,
        }
    }

    /// A standalone formatted segment with one worker (tests, tools).
    pub fn standalone() -> Self {
        let mem = heap_segment(1);
        let info = SegmentInfo {
            worker_lcores: vec![0],
            ..SegmentInfo::default()
        };
        SegmentWriter::format(&mem, &info).expect("sized for one worker");
        CounterBlock::new(std::sync::Arc::new(mem), 0)
    }

    /// Typed access for this burst.
    #[inline(always)]
    pub fn view(&self) -> WorkerCounters<'_> {
        WorkerCounters {
            words: &self.mem.words()[self.start..self.start + WorkerBlock::WORDS],
        }
    }

    /// A reader over the whole segment this block lives in.
    pub fn segment(&self) -> &[AtomicU64] {
        self.mem.words()
    }
}

/// Plain memory backing a segment, for tests and `synwall replay`.
pub fn heap_segment(workers: usize) -> Vec<AtomicU64> {
    (0..segment_words(workers))
        .map(|_| AtomicU64::new(0))
        .collect()
}

/// Facts the dataplane writes once at start.
#[derive(Clone, Debug, Default)]
pub struct SegmentInfo {
    pub epoch_ns: u64,
    pub pid: u64,
    pub session_capacity: u64,
    pub port_names: Vec<String>,
    pub worker_lcores: Vec<u32>,
    /// Zone names by zone id (the policy's ids; `Config::zones()` order).
    pub zone_names: Vec<String>,
}

/// The dataplane's view: formats the header, hands each worker its block.
pub struct SegmentWriter<'a> {
    words: &'a [AtomicU64],
}

/// Why a segment cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SegmentError {
    TooSmall { words: usize, needed: usize },
    BadMagic,
    Version(u64),
    TooManyWorkers(usize),
    TooManyPorts(usize),
    TooManyZones(usize),
}

impl std::fmt::Display for SegmentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SegmentError::TooSmall { words, needed } => {
                write!(f, "stats segment has {words} words, needs {needed}")
            }
            SegmentError::BadMagic => f.write_str("not a synwall stats segment (bad magic)"),
            SegmentError::Version(v) => {
                write!(
                    f,
                    "stats segment layout {v}, this build reads {LAYOUT_VERSION}"
                )
            }
            SegmentError::TooManyWorkers(n) => write!(f, "{n} workers, at most {MAX_WORKERS}"),
            SegmentError::TooManyPorts(n) => write!(f, "{n} ports, at most {MAX_PORTS}"),
            SegmentError::TooManyZones(n) => write!(f, "{n} zones, at most {MAX_ZONES}"),
        }
    }
}

impl std::error::Error for SegmentError {}

/// Segment state word values.
pub const STATE_STARTING: u64 = 0;
pub const STATE_RUNNING: u64 = 1;
pub const STATE_STOPPED: u64 = 2;

impl<'a> SegmentWriter<'a> {
    /// Formats a zeroed segment. The magic is written last, so a reader never sees a valid
    /// magic over a half-written header.
    pub fn format(words: &'a [AtomicU64], info: &SegmentInfo) -> Result<Self, SegmentError> {
        let workers = info.worker_lcores.len();
        if workers > MAX_WORKERS {
            return Err(SegmentError::TooManyWorkers(workers));
        }
        if info.port_names.len() > MAX_PORTS {
            return Err(SegmentError::TooManyPorts(info.port_names.len()));
        }
        if info.zone_names.len() > MAX_ZONES {
            return Err(SegmentError::TooManyZones(info.zone_names.len()));
        }
        let needed = segment_words(workers);
        if words.len() < needed {
            return Err(SegmentError::TooSmall {
                words: words.len(),
                needed,
            });
        }
        let set = |i: usize, v: u64| words[i].store(v, Relaxed);
        set(1, LAYOUT_VERSION);
        set(2, info.epoch_ns);
        set(3, workers as u64);
        set(4, info.port_names.len() as u64);
        set(5, info.pid);
        set(6, info.session_capacity);
        set(7, STATE_STARTING);
        set(9, FIRST_WORKER as u64);
        set(10, WorkerBlock::WORDS as u64);
        set(13, info.zone_names.len() as u64);
        let names = info
            .port_names
            .iter()
            .enumerate()
            .map(|(p, name)| (HEADER_PORT_NAMES + p * PORT_NAME_WORDS, name))
            .chain(
                info.zone_names
                    .iter()
                    .enumerate()
                    .map(|(z, name)| (HEADER_ZONE_NAMES + z * PORT_NAME_WORDS, name)),
            );
        for (at, name) in names {
            let mut bytes = [0u8; PORT_NAME_WORDS * 8];
            let n = name.len().min(bytes.len() - 1);
            bytes[..n].copy_from_slice(&name.as_bytes()[..n]);
            for w in 0..PORT_NAME_WORDS {
                let chunk: [u8; 8] = bytes[w * 8..w * 8 + 8].try_into().expect("8 bytes");
                set(at + w, u64::from_le_bytes(chunk));
            }
        }
        for (w, &lcore) in info.worker_lcores.iter().enumerate() {
            set(
                FIRST_WORKER + w * WorkerBlock::WORDS + WorkerBlock::LCORE,
                lcore as u64,
            );
        }
        std::sync::atomic::fence(std::sync::atomic::Ordering::Release);
        words[0].store(MAGIC, std::sync::atomic::Ordering::Release);
        Ok(SegmentWriter { words })
    }

    /// The counters of worker `index`.
    pub fn worker(&self, index: usize) -> WorkerCounters<'a> {
        let start = FIRST_WORKER + index * WorkerBlock::WORDS;
        WorkerCounters {
            words: &self.words[start..start + WorkerBlock::WORDS],
        }
    }

    pub fn set_state(&self, state: u64) {
        self.words[7].store(state, Relaxed);
    }

    pub fn set_heartbeat(&self, unix_ns: u64) {
        self.words[8].store(unix_ns, Relaxed);
    }

    pub fn add_records_written(&self, n: u64) {
        add(&self.words[11], n);
    }

    pub fn add_records_dropped(&self, n: u64) {
        add(&self.words[12], n);
    }

    /// Stores a port's NIC counter (the management thread copies ethdev stats here).
    pub fn set_nic(&self, port: usize, counter: NicCounter, value: u64) {
        if port < MAX_PORTS {
            self.words[HEADER_NIC + port * NicCounter::COUNT + counter as usize]
                .store(value, Relaxed);
        }
    }
}

/// One worker's counters. Only that worker may call the adding methods.
#[derive(Clone, Copy)]
pub struct WorkerCounters<'a> {
    words: &'a [AtomicU64],
}

impl<'a> WorkerCounters<'a> {
    #[inline(always)]
    fn at(&self, i: usize) -> &'a AtomicU64 {
        &self.words[i]
    }

    #[inline(always)]
    pub fn add(&self, offset: usize, n: u64) {
        add(self.at(offset), n);
    }

    #[inline(always)]
    pub fn set(&self, offset: usize, v: u64) {
        self.at(offset).store(v, Relaxed);
    }

    #[inline(always)]
    pub fn get(&self, offset: usize) -> u64 {
        self.at(offset).load(Relaxed)
    }

    #[inline(always)]
    pub fn add_drop(&self, reason: DropReason, n: u64) {
        self.add(WorkerBlock::DROPS + reason.index(), n);
    }

    #[inline(always)]
    pub fn add_end(&self, reason: EndReason) {
        self.add(WorkerBlock::ENDS + reason.index(), 1);
    }

    #[inline(always)]
    pub fn add_non_syn(&self, tcp_flags: u8) {
        self.add(WorkerBlock::NON_SYN + tcp_flags as usize, 1);
    }

    #[inline(always)]
    pub fn add_port_rx(&self, port: usize, n: u64) {
        if port < MAX_PORTS {
            self.add(WorkerBlock::PORT_RX + port, n);
        }
    }

    #[inline(always)]
    pub fn add_port_tx(&self, port: usize, sent: u64, dropped: u64) {
        if port < MAX_PORTS {
            self.add(WorkerBlock::PORT_TX + port, sent);
            if dropped > 0 {
                self.add(WorkerBlock::PORT_TX_DROPS + port, dropped);
            }
        }
    }

    #[inline(always)]
    pub fn add_app(&self, app: usize) {
        self.add(WorkerBlock::APPS + app.min(MAX_APPS - 1), 1);
    }

    /// Records one loop's duration in the histogram and the longest-loop gauge.
    #[inline(always)]
    pub fn record_loop(&self, ns: u64) {
        let bucket = (64 - (ns >> 10).leading_zeros() as usize).min(LOOP_BUCKETS - 1);
        self.add(WorkerBlock::LOOP_HIST + bucket, 1);
        self.add(WorkerBlock::LOOP_NS_SUM, ns);
        if ns > self.get(WorkerBlock::LONGEST_LOOP_NS) {
            self.set(WorkerBlock::LONGEST_LOOP_NS, ns);
        }
    }
}

/// The control process's view: validates the header and reads.
pub struct SegmentReader<'a> {
    words: &'a [AtomicU64],
    workers: usize,
    ports: usize,
    zones: usize,
}

impl<'a> SegmentReader<'a> {
    pub fn open(words: &'a [AtomicU64]) -> Result<Self, SegmentError> {
        if words.len() < FIRST_WORKER {
            return Err(SegmentError::TooSmall {
                words: words.len(),
                needed: FIRST_WORKER,
            });
        }
        if words[0].load(std::sync::atomic::Ordering::Acquire) != MAGIC {
            return Err(SegmentError::BadMagic);
        }
        let version = words[1].load(Relaxed);
        if version != LAYOUT_VERSION {
            return Err(SegmentError::Version(version));
        }
        let workers = words[3].load(Relaxed) as usize;
        let ports = words[4].load(Relaxed) as usize;
        let zones = words[13].load(Relaxed) as usize;
        if zones > MAX_ZONES {
            return Err(SegmentError::TooManyZones(zones));
        }
        if workers > MAX_WORKERS {
            return Err(SegmentError::TooManyWorkers(workers));
        }
        if ports > MAX_PORTS {
            return Err(SegmentError::TooManyPorts(ports));
        }
        let needed = segment_words(workers);
        if words.len() < needed {
            return Err(SegmentError::TooSmall {
                words: words.len(),
                needed,
            });
        }
        Ok(SegmentReader {
            words,
            workers,
            ports,
            zones,
        })
    }

    pub fn epoch(&self) -> u64 {
        self.words[2].load(Relaxed)
    }
    pub fn workers(&self) -> usize {
        self.workers
    }
    pub fn ports(&self) -> usize {
        self.ports
    }
    /// Zones named in the segment (zone ids `0..zones()`).
    pub fn zones(&self) -> usize {
        self.zones
    }
    pub fn pid(&self) -> u64 {
        self.words[5].load(Relaxed)
    }
    pub fn session_capacity(&self) -> u64 {
        self.words[6].load(Relaxed)
    }
    pub fn state(&self) -> u64 {
        self.words[7].load(Relaxed)
    }
    pub fn heartbeat(&self) -> u64 {
        self.words[8].load(Relaxed)
    }
    pub fn records_written(&self) -> u64 {
        self.words[11].load(Relaxed)
    }
    pub fn records_write_dropped(&self) -> u64 {
        self.words[12].load(Relaxed)
    }

    pub fn port_name(&self, port: usize) -> String {
        self.name_at(HEADER_PORT_NAMES + port * PORT_NAME_WORDS)
    }

    /// The name of zone id `zone`.
    pub fn zone_name(&self, zone: usize) -> String {
        self.name_at(HEADER_ZONE_NAMES + zone.min(MAX_ZONES - 1) * PORT_NAME_WORDS)
    }

    fn name_at(&self, at: usize) -> String {
        let mut bytes = Vec::with_capacity(PORT_NAME_WORDS * 8);
        for w in 0..PORT_NAME_WORDS {
            let v = self.words[at + w].load(Relaxed);
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        String::from_utf8_lossy(&bytes[..end]).into_owned()
    }

    pub fn nic(&self, port: usize, counter: NicCounter) -> u64 {
        self.words[HEADER_NIC + port * NicCounter::COUNT + counter as usize].load(Relaxed)
    }

    /// Worker `w`'s word at `offset` (a [`WorkerBlock`] constant plus an index).
    pub fn worker(&self, w: usize, offset: usize) -> u64 {
        self.words[FIRST_WORKER + w * WorkerBlock::WORDS + offset].load(Relaxed)
    }

    /// The sum over workers of the word at `offset`.
    pub fn sum(&self, offset: usize) -> u64 {
        (0..self.workers)
            .map(|w| self.worker(w, offset))
            .fold(0, u64::wrapping_add)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> SegmentInfo {
        SegmentInfo {
            epoch_ns: 77,
            pid: 1234,
            session_capacity: 1000,
            port_names: vec!["ethernet1/1".into(), "ethernet1/2".into()],
            worker_lcores: vec![1, 2],
            zone_names: vec!["trust".into(), "untrust".into()],
        }
    }

    #[test]
    fn blocks_are_cache_line_aligned_and_disjoint() {
        const {
            assert!(FIRST_WORKER.is_multiple_of(8));
            assert!(WorkerBlock::WORDS.is_multiple_of(8));
            assert!(WorkerBlock::LONGEST_LOOP_NS < WorkerBlock::DROPS);
            assert!(WorkerBlock::APPS + MAX_APPS <= WorkerBlock::FLOODS);
            assert!(WorkerBlock::FLOODS.is_multiple_of(8));
            assert!(FloodWord::WORDS == 8 && FloodWord::ENABLED < FloodWord::WORDS);
            assert!(
                WorkerBlock::FLOODS + MAX_ZONES * Flood::COUNT * FloodWord::WORDS
                    <= WorkerBlock::WORDS
            );
        }
        let last = WorkerBlock::flood(MAX_ZONES - 1, Flood::OtherIp).unwrap();
        assert_eq!(
            last + FloodWord::WORDS,
            WorkerBlock::FLOODS + MAX_ZONES * Flood::COUNT * 8
        );
        assert_eq!(WorkerBlock::flood(MAX_ZONES, Flood::Syn), None);
        assert_eq!(FIRST_WORKER, 528);
    }

    #[test]
    fn writer_and_reader_agree() {
        let mem = heap_segment(2);
        let w = SegmentWriter::format(&mem, &info()).unwrap();
        let w0 = w.worker(0);
        let w1 = w.worker(1);
        w0.add_drop(DropReason::NonSyn, 3);
        w1.add_drop(DropReason::NonSyn, 4);
        w1.add_end(EndReason::TcpFin);
        w0.add_non_syn(0x10);
        w0.add_port_rx(1, 9);
        w1.add_port_tx(0, 5, 2);
        w.set_nic(1, NicCounter::TxBytes, 999);
        let r = SegmentReader::open(&mem).unwrap();
        assert_eq!(
            (r.workers(), r.ports(), r.epoch(), r.pid()),
            (2, 2, 77, 1234)
        );
        assert_eq!(r.port_name(0), "ethernet1/1");
        assert_eq!((r.zones(), r.zone_name(1).as_str()), (2, "untrust"));
        let syn = WorkerBlock::flood(1, Flood::Syn).unwrap();
        w0.add(syn + FloodWord::RED_DROPS, 5);
        w1.add(syn + FloodWord::RED_DROPS, 6);
        assert_eq!(r.sum(syn + FloodWord::RED_DROPS), 11);
        assert_eq!(r.sum(WorkerBlock::DROPS + DropReason::NonSyn.index()), 7);
        assert_eq!(r.sum(WorkerBlock::ENDS + EndReason::TcpFin.index()), 1);
        assert_eq!(r.sum(WorkerBlock::NON_SYN + 0x10), 1);
        assert_eq!(r.sum(WorkerBlock::PORT_RX + 1), 9);
        assert_eq!(r.sum(WorkerBlock::PORT_TX_DROPS), 2);
        assert_eq!(r.nic(1, NicCounter::TxBytes), 999);
        assert_eq!(r.worker(1, WorkerBlock::LCORE), 2);
    }

    #[test]
    fn reader_refuses_garbage() {
        let mem = heap_segment(1);
        assert_eq!(
            SegmentReader::open(&mem).err(),
            Some(SegmentError::BadMagic)
        );
        assert!(matches!(
            SegmentReader::open(&mem[..10]),
            Err(SegmentError::TooSmall { .. })
        ));
        SegmentWriter::format(&mem, &info())
            .err()
            .expect("too small for 2 workers");
        let one = SegmentInfo {
            worker_lcores: vec![1],
            ..info()
        };
        SegmentWriter::format(&mem, &one).unwrap();
        mem[1].store(99, Relaxed);
        assert_eq!(
            SegmentReader::open(&mem).err(),
            Some(SegmentError::Version(99))
        );
    }

    #[test]
    fn loop_histogram_buckets() {
        let mem = heap_segment(1);
        let w = SegmentWriter::format(
            &mem,
            &SegmentInfo {
                worker_lcores: vec![1],
                ..info()
            },
        )
        .unwrap()
        .worker(0);
        w.record_loop(500); // < 1 us
        w.record_loop(1500); // 1..2 us
        w.record_loop(u64::MAX); // clamps to the last bucket
        assert_eq!(w.get(WorkerBlock::LOOP_HIST), 1);
        assert_eq!(w.get(WorkerBlock::LOOP_HIST + 1), 1);
        assert_eq!(w.get(WorkerBlock::LOOP_HIST + LOOP_BUCKETS - 1), 1);
        assert_eq!(w.get(WorkerBlock::LONGEST_LOOP_NS), u64::MAX);
    }
}
