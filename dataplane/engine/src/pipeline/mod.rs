//! The data path, top to bottom, in one place.
//!
//! For each burst: **parse** every packet and hash its flow key, starting the load of its index
//! bucket (stage 1; the common frame, untagged IPv4 or IPv6 TCP/UDP, takes `wire`'s
//! straight-line path, which also hands over the table key); with the buckets arriving, start
//! loading each packet's likely session entry and build the other packets' table keys (stage
//! 2); then, in arrival order, for each packet (stage 3): a common frame whose live session is
//! in that entry goes straight to it (IPv4 in the loop, IPv6 one call out); any other packet
//! finds its session
//! (aging it out first if its timeout passed while the wheel had not reached it), or decide
//! whether it may open one (TCP: only a SYN unless `tcp_reject_non_syn: false`; ICMP errors
//! never open one; the ingress zone's flood protection, `crate::protect`, must admit it), run
//! the TCP tracker, count, and give a verdict. Stage 3 handles packets in order, so a SYN and
//! its SYN-ACK in the same burst see each other. Between bursts the timer wheel expires a
//! bounded batch of sessions.
//!
//! Nothing on this path allocates (scratch arrays are sized at construction), locks, or makes a
//! syscall: counters are single-writer relaxed stores into the stats segment and records go
//! into a bounded lock-free ring.

use std::sync::Arc;

use crate::appid::{self, AppState};
use crate::config::{AsymmetricPath, Config, TimeoutsNs};
use crate::dir::Dir;
use crate::flow::{FlowHash, FlowKey, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP};
use crate::forge::{self, Unreachable};
use crate::frag::FragTable;
use crate::policy::{Decision, Policy, Query};
use crate::protect::{Protection, ProtectionConfig};
use crate::reasons::{Action, DropReason, EndReason, Flood};
use crate::records::{RecordRing, SessionRecord, Subtype, NONE_ID};
use crate::session::{session_flags as sf, Session, SessionKind, NO_END};
use crate::stats::{CounterBlock, WorkerBlock};
use crate::stored_key::{stored_hash, AddressStore, StoredKey};
use crate::table::{SessionTable, TableFull};
use crate::tcp::{self, Segment, TcpAction, TcpConfig, TcpTracker};
use crate::timer::{Rearm, TimerWheel};
use crate::wire::{self, IcmpKind, Kind, Parsed};

mod fragment;
mod manage;
#[cfg(test)]
mod stored_key_tests;
#[cfg(test)]
pub(crate) mod test_engine;

// The session budget: its table entry (stored key, generation, session: 96 bytes, two cache
// lines wherever it starts; an established UDP packet touches its first 32, see
// `UDP_ENTRY_BYTES`) plus its share of the index. (Per session the engine also keeps
// app-ID progress and timer links, and an IPv6 session its address pair: see perf/README.md
// for the whole resident figure.)
const _: () = assert!(std::mem::size_of::<Session>() == 80);
const _: () = assert!(std::mem::size_of::<crate::table::Entry<StoredKey, Session>>() == 96);
const _: () = assert!(
    std::mem::size_of::<crate::table::Entry<StoredKey, Session>>()
        + (crate::table::index_buckets(1 << 20) * 4).div_ceil(1 << 20)
        <= 104
);

type SessionEntry = crate::table::Entry<StoredKey, Session>;

/// Bytes of a table entry that a packet of an established UDP session touches: the key, then
/// the session's head (`Session`'s field order). Entries (96 bytes, aligned to 32) start at a
/// line's start or middle: 32 bytes from there are one cache line either way.
const UDP_ENTRY_BYTES: usize =
    std::mem::offset_of!(SessionEntry, value) + crate::session::UDP_PACKET_BYTES;
const _: () = assert!(UDP_ENTRY_BYTES == 32);
const ENTRY_BYTES: u8 = std::mem::size_of::<SessionEntry>() as u8;

/// Most packets in one burst.
pub const MAX_BURST: usize = 256;
/// Sessions the wheel may expire per call (bounds the time one loop spends aging).
pub const EXPIRE_BUDGET: usize = 256;
/// Timer wheel tick.
pub const TICK_NS: u64 = 10_000_000;
/// "Not a valid SYN packet" log records per second per worker (the counters count them all).
pub const NON_SYN_LOGS_PER_SEC: u32 = 20;

/// What happens to a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Verdict {
    /// Send it on along its virtual wire.
    #[default]
    Forward,
    Drop(DropReason),
    /// Another worker owns the packet's flow: hand the packet to it, unprocessed (software
    /// hand-off, [`EngineConfig::hand_off_workers`]; never given otherwise).
    HandOff(u8),
}

/// A port as the engine sees it.
#[derive(Clone, Copy, Debug, Default)]
pub struct PortInfo {
    /// Virtual-wire peer (egress) of this port.
    pub peer: Option<u8>,
}

/// The engine's settings, compiled from the config.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    pub worker: u8,
    /// Sessions this worker's table holds.
    pub capacity: u32,
    pub timeouts: TimeoutsNs,
    pub tcp: TcpConfig,
    pub reject_non_syn: bool,
    pub ports: Vec<PortInfo>,
    /// The compiled security policy (swapped whole on reload).
    pub policy: Arc<Policy>,
    /// Zone id (in the policy) of each port, by port index.
    pub port_zone: Vec<u8>,
    /// Datagrams this worker's fragment table holds (`crate::frag`).
    pub fragments: u32,
    /// Zone protection (flood limits) by zone id, this worker's share.
    pub protection: ProtectionConfig,
    /// Workers that share flows by software hand-off (the NIC does not send both directions of
    /// a flow to one worker): with more than one, a packet of a flow another worker owns
    /// ([`owner_worker`]) gets [`Verdict::HandOff`] in the burst's first stage, from the hash
    /// that stage computes anyway. 1: this engine takes every packet it is given.
    pub hand_off_workers: u8,
}

impl EngineConfig {
    /// Settings for worker `worker` of `workers`, each holding an equal share of
    /// `session.max_sessions`.
    pub fn from_config(
        config: &Config,
        policy: Arc<Policy>,
        worker: u8,
        workers: usize,
    ) -> EngineConfig {
        let s = &config.session;
        let share = (s.max_sessions / workers.max(1) as u64)
            .clamp(1, crate::table::MAX_CAPACITY as u64) as u32;
        let ports = config
            .dataplane
            .ports
            .iter()
            .map(|p| PortInfo {
                peer: config
                    .vwire_peer(&p.name)
                    .and_then(|peer| config.dataplane.ports.iter().position(|q| q.name == peer))
                    .map(|i| i as u8),
            })
            .collect();
        EngineConfig {
            worker,
            capacity: share,
            timeouts: s.timeouts.to_nanos(),
            tcp: TcpConfig {
                out_of_order_limit: s.out_of_order_limit,
                asymmetric_bypass: s.asymmetric_path == AsymmetricPath::Bypass,
            },
            reject_non_syn: s.tcp_reject_non_syn,
            port_zone: config
                .dataplane
                .ports
                .iter()
                .map(|p| policy.zone_id(&p.zone).unwrap_or(u8::MAX))
                .collect(),
            protection: ProtectionConfig::from_config(config, policy.zones(), workers),
            ports,
            policy,
            fragments: crate::frag::capacity_for(share),
            hand_off_workers: 1,
        }
    }
}

/// The worker of `workers` that owns a flow whose owner hash ([`wire::flow_hash`]) is `hash`.
/// A multiply-shift of hash bits 32-55, which neither the index's home bucket (bits 0-31) nor
/// its tag (bits 56-63) uses: a worker's flows spread over its whole index and all tags.
#[inline(always)]
pub fn owner_worker(hash: u64, workers: u8) -> u8 {
    ((((hash >> 32) & 0xff_ffff) * workers as u64) >> 24) as u8
}

/// A session id: worker, 24 bits of the slot's generation, slot. Unique while a slot is reused
/// fewer than 2^23 times, and it finds its session in O(1) (`show session id`).
pub fn session_id(worker: u8, slot: u32, generation: u32) -> u64 {
    ((worker as u64) << 56) | (((generation as u64) & 0xff_ffff) << 32) | slot as u64
}

/// Splits a session id into (worker, slot, generation low bits).
pub fn split_session_id(id: u64) -> (u8, u32, u32) {
    ((id >> 56) as u8, id as u32, ((id >> 32) & 0xff_ffff) as u32)
}

/// A simple token bucket for log rate limits (per second, refilled by the packet clock).
struct RateLimit {
    per_sec: u32,
    tokens: u32,
    second: u64,
}

impl RateLimit {
    fn allow(&mut self, now_ns: u64) -> bool {
        let second = now_ns / 1_000_000_000;
        if second != self.second {
            self.second = second;
            self.tokens = self.per_sec;
        }
        if self.tokens > 0 {
            self.tokens -= 1;
            true
        } else {
            false
        }
    }
}

/// The parse result of a frame the parser's common path took (`parsed[i]`), written (by
/// [`wire::materialise`]) when first asked for: stage 3's straight path to an established
/// session reads nothing from it, and pays nothing to carry it (indexed only when asked for:
/// indexed before, a TCP segment paid 5 instructions more).
#[inline(always)]
fn deferred<'p>(
    parsed: &'p mut [Parsed],
    i: usize,
    frame: &'p [u8],
) -> impl FnOnce() -> &'p Parsed {
    move || {
        let p = &mut parsed[i];
        wire::materialise(frame, p);
        p
    }
}

/// Stage 1's outcome for a packet: which path it takes, or its verdict. One byte to test
/// (`Verdict`'s spare tag values hold the two paths), where a result and a flag took two.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// The parser's common path took the packet (untagged IPv4 TCP or UDP, not a fragment;
    /// its parse result deferred): stage 3 may take it straight to its session.
    Common,
    /// The same for IPv6 (no extension header): the session's addresses are compared with the
    /// frame's.
    Common6,
    /// Parsed by the full parser: the general path.
    Other,
    /// The packet's verdict, already reached (a drop: it did not parse; a hand-off: another
    /// worker owns its flow).
    Decided(Verdict),
}

const _: () = assert!(std::mem::size_of::<Stage>() == std::mem::size_of::<Verdict>());

/// What the first two stages of a burst learn of a packet.
#[derive(Clone, Copy, Debug)]
struct Staged {
    stage: Stage,
    /// The flow key's hash and orientation (when parsed).
    hashed: FlowHash,
    /// The table key of the packet's flow (canonical orientation): from the parser's common
    /// path in stage 1, else built in stage 2.
    probe: StoredKey,
    /// The slot stage 2's index walk found: the likely session.
    candidate: Option<u32>,
    /// A common TCP frame's segment (`wire::parse_common`; left as it was for other frames).
    segment: Segment,
    /// Bytes of its session's table entry that stage 2 prefetches: a common UDP packet's
    /// session work reads the entry's head only ([`UDP_ENTRY_BYTES`]); others may read all of
    /// it (the TCP tracker is at the end). Decided in stage 1, where the protocol is at hand.
    entry_bytes: u8,
}

impl Default for Staged {
    fn default() -> Self {
        Staged {
            stage: Stage::Other,
            hashed: FlowHash::default(),
            probe: StoredKey::default(),
            candidate: None,
            segment: Segment::default(),
            entry_bytes: ENTRY_BYTES,
        }
    }
}

/// `process_burst`'s scratch, allocated once (`MAX_BURST` elements each).
#[derive(Default)]
struct BurstScratch {
    parsed: Vec<Parsed>,
    staged: Vec<Staged>,
}

/// One worker's engine: its session table, timers, counters and record ring.
pub struct Engine {
    cfg: EngineConfig,
    table: SessionTable<StoredKey, Session>,
    /// IPv6 sessions' address pairs (the table keeps IPv4 keys whole).
    keys: AddressStore,
    wheel: TimerWheel,
    counters: CounterBlock,
    records: Arc<RecordRing>,
    /// Time origin of the sessions' ms fields (unix ns).
    epoch_ns: u64,
    /// Scratch of `process_burst`, one element per packet of a burst.
    scratch: BurstScratch,
    /// Scratch: sessions the wheel found idle, ended after its call.
    expired: Vec<u32>,
    non_syn_logs: RateLimit,
    /// Packets the engine sends (resets, unreachables), collected during a burst.
    emits: Emits,
    icmp_errors: RateLimit,
    /// App-ID's per-session state, by slot: touched only until the application is decided, so
    /// it lives beside the table rather than in the hot session struct.
    app_states: Vec<AppState>,
    /// TLS server names of live sessions, by slot; bounded (a full map stores no more names).
    snis: hashbrown::HashMap<u32, [u8; 48]>,
    sni_capacity: usize,
    /// Verdicts of first fragments, for the fragments after them.
    frags: FragTable,
    /// Zone protection meters (flood protection), asked only by `open`.
    protect: Protection,
}

/// TLS server names kept at once per worker (for the `sni` log field).
pub const SNI_CAPACITY: usize = 65_536;

/// Most packets the engine may send per burst; more are not sent (the flow retransmits).
pub const MAX_EMITS: usize = 32;
/// Largest packet the engine sends (an ICMPv6 error quotes up to 1280 bytes).
pub const EMIT_BYTES: usize = 1536;
/// ICMP unreachables sent per second per worker (`drop-icmp` and UDP resets).
pub const ICMP_ERRORS_PER_SEC: u32 = 100;

/// Packets to send: each goes out of port `ports[i]`.
pub struct Emits {
    buf: Vec<[u8; EMIT_BYTES]>,
    lens: [u16; MAX_EMITS],
    ports: [u8; MAX_EMITS],
    n: usize,
}

impl Emits {
    fn new() -> Self {
        Emits {
            buf: vec![[0u8; EMIT_BYTES]; MAX_EMITS],
            lens: [0; MAX_EMITS],
            ports: [0; MAX_EMITS],
            n: 0,
        }
    }

    /// Builds one packet with `build` into the next free slot, to leave by `port`.
    fn push(&mut self, port: u8, build: impl FnOnce(&mut [u8]) -> Option<usize>) -> bool {
        if self.n == MAX_EMITS || port == u8::MAX {
            return false;
        }
        match build(&mut self.buf[self.n]) {
            Some(len) => {
                self.lens[self.n] = len as u16;
                self.ports[self.n] = port;
                self.n += 1;
                true
            }
            None => false,
        }
    }

    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Packet `i` and its egress port.
    pub fn get(&self, i: usize) -> (&[u8], u8) {
        (&self.buf[i][..self.lens[i] as usize], self.ports[i])
    }

    pub fn clear(&mut self) {
        self.n = 0;
    }
}

impl Engine {
    /// Builds an engine; all memory of the table and wheel is allocated here. `now_ns` is unix
    /// time (the daemon's TSC clock or a capture's timestamps).
    pub fn new(
        cfg: EngineConfig,
        counters: CounterBlock,
        records: Arc<RecordRing>,
        now_ns: u64,
    ) -> Engine {
        let protect = Protection::new(&cfg.protection, cfg.worker as u64);
        protect.publish(&counters, cfg.policy.zones().len());
        Engine {
            protect,
            table: SessionTable::new(cfg.capacity, stored_hash),
            keys: AddressStore::new(cfg.capacity),
            wheel: TimerWheel::new(cfg.capacity, TICK_NS, now_ns),
            counters,
            records,
            epoch_ns: now_ns,
            scratch: BurstScratch {
                parsed: vec![Parsed::default(); MAX_BURST],
                staged: vec![Staged::default(); MAX_BURST],
            },
            expired: Vec::with_capacity(EXPIRE_BUDGET),
            non_syn_logs: RateLimit {
                per_sec: NON_SYN_LOGS_PER_SEC,
                tokens: 0,
                second: 0,
            },
            emits: Emits::new(),
            icmp_errors: RateLimit {
                per_sec: ICMP_ERRORS_PER_SEC,
                tokens: 0,
                second: 0,
            },
            app_states: vec![AppState::default(); cfg.capacity as usize],
            snis: hashbrown::HashMap::with_capacity(SNI_CAPACITY.min(cfg.capacity as usize)),
            // Half the map's room: hashbrown then always rehashes in place, never grows.
            sni_capacity: SNI_CAPACITY.min(cfg.capacity as usize) / 2,
            frags: FragTable::new(cfg.fragments),
            cfg,
        }
    }

    pub fn config(&self) -> &EngineConfig {
        &self.cfg
    }

    pub fn sessions(&self) -> &SessionTable<StoredKey, Session> {
        &self.table
    }

    pub fn active_sessions(&self) -> usize {
        self.table.len()
    }

    /// The virtual-wire peer of a port (`u8::MAX` if none).
    #[inline(always)]
    pub fn egress_of(&self, ingress: u8) -> u8 {
        self.cfg
            .ports
            .get(ingress as usize)
            .and_then(|p| p.peer)
            .unwrap_or(u8::MAX)
    }

    #[inline(always)]
    fn ms(&self, now_ns: u64) -> u32 {
        (now_ns.saturating_sub(self.epoch_ns) / 1_000_000) as u32
    }

    fn ms_to_ns(&self, ms: u32, now_ns: u64) -> u64 {
        // ms fields wrap every 49 days: rebuild the full time from the distance to `now`.
        let now_ms = self.ms(now_ns);
        now_ns.saturating_sub(now_ms.wrapping_sub(ms) as u64 * 1_000_000)
    }

    /// Processes one packet (a burst of one).
    pub fn process(&mut self, now_ns: u64, frame: &[u8], ingress: u8) -> Verdict {
        let mut v = [Verdict::Forward];
        self.process_burst(now_ns, &[frame], &[ingress], &mut v);
        v[0]
    }

    /// Processes a burst: `frames[i]` arrived on port `ingress[i]`; `verdicts[i]` receives its
    /// fate. At most [`MAX_BURST`] packets. Returns how many it forwards (`Verdict::Forward`):
    /// when that is all of them, the caller can send the burst on whole.
    pub fn process_burst(
        &mut self,
        now_ns: u64,
        frames: &[&[u8]],
        ingress: &[u8],
        verdicts: &mut [Verdict],
    ) -> usize {
        let n = frames.len().min(MAX_BURST);
        debug_assert!(ingress.len() >= n && verdicts.len() >= n);
        // The per-packet work, staged over the burst so that each packet's cache misses (index
        // bucket, then session entry) are in flight while the others are worked on. The scratch
        // arrays are taken out of `self` and walked with iterators: no bounds check per access.
        let mut scratch = std::mem::take(&mut self.scratch);
        let parsed = &mut scratch.parsed[..n];
        let staged = &mut scratch.staged[..n];
        // Stage 1: parse and hash every packet; start loading its index bucket. With software
        // hand-off the owner test is compiled in; a lone worker's loop has none.
        let handed_off = if self.cfg.hand_off_workers > 1 {
            self.parse_stage::<true>(frames, parsed, staged)
        } else {
            self.parse_stage::<false>(frames, parsed, staged)
        };
        // Stage 2: with the buckets arriving, start loading each packet's likely entry, and
        // build the table key of the packets the common path did not take. (Here, not in stage
        // 1: read right after the parser stored it, the key's address would wait on the store
        // buffer, 15 % of this function's samples; the common path hands its key over from
        // registers instead.)
        // (The parse result is indexed in the branch that reads it, not zipped in: the common
        // path then spends nothing on its address.)
        for (i, st) in staged.iter_mut().enumerate() {
            if let Stage::Decided(_) = st.stage {
                continue;
            }
            let bytes = st.entry_bytes as usize;
            st.candidate = self.table.prefetch_entry_head(st.hashed.hash, bytes);
            if st.stage == Stage::Other {
                let key = &parsed[i].key;
                st.probe = StoredKey::probe(key, st.hashed.reversed, st.hashed.hash);
            }
        }
        // Stage 3: each packet in arrival order. The common case, a packet of a live IPv4 TCP or
        // UDP session in its candidate slot, goes straight to the session (`existing`); every
        // other packet goes one call out (`general_packet`: IPv6 straight to its session the
        // same way, any other the general path, which finds or opens its session).
        let now_ms = self.ms(now_ns);
        let mut dropped = 0;
        let packets = staged.iter().zip(frames).zip(ingress).enumerate();
        for (verdict, (i, ((st, frame), &port))) in verdicts.iter_mut().zip(packets) {
            // (Tests in this order, not a `match`: that computed the variant's index first.)
            let hit = if st.stage == Stage::Common {
                self.candidate_hit(st, now_ms)
            } else {
                None
            };
            *verdict = if let Some(slot) = hit {
                let swapped = st.hashed.reversed;
                // Read only if the session is TCP: then so is the frame (the key matched), and
                // stage 1 wrote its segment.
                let seg = &st.segment;
                let parsed = deferred(&mut *parsed, i, frame);
                self.existing(slot, swapped, parsed, seg, frame, port, now_ns, now_ms)
            } else if let Stage::Decided(decided) = st.stage {
                decided
            } else {
                self.general_packet(now_ns, now_ms, &mut parsed[i], st, frame, port)
            };
            // Drops are counted as they are decided (a second pass over the verdicts cost
            // more than the branch here).
            if let Verdict::Drop(reason) = *verdict {
                self.counters.view().add_drop(reason, 1);
                dropped += 1;
            }
        }
        self.scratch = scratch;
        self.table.step_growth();
        let c = self.counters.view();
        c.add(WorkerBlock::PACKETS, (n - handed_off) as u64);
        c.set(WorkerBlock::SESSIONS_ACTIVE, self.table.len() as u64);
        n - handed_off - dropped
    }

    /// Burst stage 1: parses and hashes every frame and starts loading its index bucket.
    /// Results are written in place and borrowed by the later stages, never moved (a parse
    /// result is ~140 bytes). The common IPv4 frame takes a branch of its own, every other
    /// frame one call out of line (`parse_stage_other`: IPv6's straight path, or the full
    /// parser): with one join after both, the compiler kept the common path's values on the
    /// stack. `HAND_OFF`: packets of flows another worker owns get their verdict here
    /// (`Verdict::HandOff`) and go no further; returns how many.
    #[inline(always)]
    fn parse_stage<const HAND_OFF: bool>(
        &self,
        frames: &[&[u8]],
        parsed: &mut [Parsed],
        staged: &mut [Staged],
    ) -> usize {
        let mut handed_off = 0;
        for ((frame, p), st) in frames.iter().zip(parsed.iter_mut()).zip(staged.iter_mut()) {
            if let Some(c) = wire::parse_common(frame, p, &mut st.segment) {
                let probe = StoredKey::canonical_v4(&c.flow);
                handed_off += self.stage_common::<HAND_OFF>(st, Stage::Common, c.hashed, probe);
                continue;
            }
            handed_off += self.parse_stage_other::<HAND_OFF>(frame, p, st);
        }
        handed_off
    }

    /// Stage 1 for a frame the IPv4 common path did not take: the IPv6 common path, or the
    /// full parser. Out of line, so that the IPv4 common path's loop keeps its registers (with
    /// this inlined, the IPv4 frame cost 20 more instructions). Returns 1 for a hand-off.
    #[inline(never)]
    fn parse_stage_other<const HAND_OFF: bool>(
        &self,
        frame: &[u8],
        p: &mut Parsed,
        st: &mut Staged,
    ) -> usize {
        if let Some(c) = wire::parse_common6(frame, p, &mut st.segment) {
            let probe = StoredKey::canonical_v6(c.hashed.hash, c.ports, c.proto);
            return self.stage_common::<HAND_OFF>(st, Stage::Common6, c.hashed, probe);
        }
        st.entry_bytes = ENTRY_BYTES;
        let hashed = match wire::parse_other(frame, p) {
            Err(reason) => {
                st.stage = Stage::Decided(Verdict::Drop(reason));
                return 0;
            }
            Ok(hashed) => hashed,
        };
        st.hashed = hashed;
        if HAND_OFF {
            let owner = wire::owner_hash(p, hashed.hash)
                .map(|hash| owner_worker(hash, self.cfg.hand_off_workers));
            if let Some(owner) = owner.filter(|&owner| owner != self.cfg.worker) {
                st.stage = Stage::Decided(Verdict::HandOff(owner));
                return 1;
            }
        }
        self.table.prefetch_index(hashed.hash);
        st.stage = Stage::Other;
        0
    }

    /// Stage 1 for a frame the parser's common path took (`stage`: which family's), with its
    /// flow's hash and table key: a hand-off (returns 1) or its index bucket on its way.
    #[inline(always)]
    fn stage_common<const HAND_OFF: bool>(
        &self,
        st: &mut Staged,
        stage: Stage,
        hashed: FlowHash,
        probe: StoredKey,
    ) -> usize {
        st.hashed = hashed;
        if HAND_OFF {
            // A common frame is never a fragment: its flow hash is its owner hash.
            let owner = owner_worker(hashed.hash, self.cfg.hand_off_workers);
            if owner != self.cfg.worker {
                st.stage = Stage::Decided(Verdict::HandOff(owner));
                return 1;
            }
        }
        st.stage = stage;
        self.table.prefetch_index(hashed.hash);
        st.probe = probe;
        st.entry_bytes = if probe.proto() == PROTO_UDP {
            UDP_ENTRY_BYTES as u8
        } else {
            ENTRY_BYTES
        };
        0
    }

    /// The session slot of a packet that needs none of `flow_packet`'s general checks, for one
    /// the parser's common path took ([`Stage::Common`]: IPv4 TCP or UDP, not a fragment: no
    /// ICMP error to relate, no link control to pass): its session is in its candidate slot
    /// (stage 2) and has not timed out. `None` leaves the packet to `packet`, which decides the
    /// same way for these and handles all others.
    #[inline(always)]
    fn candidate_hit(&self, st: &Staged, now_ms: u32) -> Option<u32> {
        let slot = st.candidate?;
        (*self.table.key(slot) == st.probe && !self.timed_out(slot, now_ms)).then_some(slot)
    }

    /// Stage 3 for every packet that did not go straight to its session: an IPv6 packet the
    /// parser's common path took ([`Stage::Common6`]) goes straight to its session here, as an
    /// IPv4 one does in stage 3's loop; every other takes the general path (`packet`). Out of
    /// line: inlined in the loop, this path's values took registers that the common IPv4
    /// packet's path then spilled.
    #[inline(never)]
    fn general_packet(
        &mut self,
        now_ns: u64,
        now_ms: u32,
        p: &mut Parsed,
        st: &Staged,
        frame: &[u8],
        port: u8,
    ) -> Verdict {
        if st.stage == Stage::Common6 {
            if let Some(slot) = self.candidate_hit6(st, frame, now_ms) {
                let swapped = st.hashed.reversed;
                let seg = &st.segment;
                let parsed = deferred(std::slice::from_mut(p), 0, frame);
                return self.existing(slot, swapped, parsed, seg, frame, port, now_ns, now_ms);
            }
        }
        if matches!(st.stage, Stage::Common | Stage::Common6) {
            wire::materialise(frame, p);
        }
        self.packet(now_ns, p, st, frame, port)
    }

    /// [`Self::candidate_hit`] for a packet the parser's IPv6 common path took
    /// ([`Stage::Common6`]): the stored key's in-place fields, then its address pair against the
    /// frame's addresses.
    #[inline(always)]
    fn candidate_hit6(&self, st: &Staged, frame: &[u8], now_ms: u32) -> Option<u32> {
        let slot = st.candidate?;
        let (src, dst) = wire::common6_addresses(frame)?;
        let (src, dst) = if st.hashed.reversed {
            (dst, src)
        } else {
            (src, dst)
        };
        let stored = self.table.key(slot);
        (self.keys.matches_v6(stored, &st.probe, src, dst) && !self.timed_out(slot, now_ms))
            .then_some(slot)
    }

    /// Whether the live session in `slot` saw no packet for longer than its timeout (the wheel
    /// has not reached it yet): it ages out on this packet's arrival.
    #[inline(always)]
    fn timed_out(&self, slot: u32, now_ms: u32) -> bool {
        let session = self.table.value(slot);
        session.idle_past_timeout(
            now_ms.wrapping_sub(session.last_seen_ms),
            &self.cfg.timeouts,
        )
    }

    /// One parsed packet of the burst.
    #[inline]
    fn packet(
        &mut self,
        now_ns: u64,
        p: &Parsed,
        st: &Staged,
        frame: &[u8],
        ingress: u8,
    ) -> Verdict {
        if p.kind == Kind::NonIp {
            // ARP and other non-IP frames cross a virtual wire untouched.
            return Verdict::Forward;
        }
        if p.frag.is_fragment {
            // The first fragment is judged by `flow_packet` like any packet; the ones after it
            // carry no ports and follow its verdict (`fragment.rs`).
            return self.fragment(now_ns, p, st, frame, ingress);
        }
        self.flow_packet(now_ns, p, st, frame, ingress)
    }

    /// An IP packet with its transport header (a whole one, or a first fragment).
    #[inline]
    fn flow_packet(
        &mut self,
        now_ns: u64,
        p: &Parsed,
        st: &Staged,
        frame: &[u8],
        ingress: u8,
    ) -> Verdict {
        if p.icmp.kind == IcmpKind::Error {
            return self.icmp_error(p);
        }
        if p.key.proto == PROTO_ICMPV6 && is_icmpv6_link_control(p.icmp.icmp_type) {
            // Neighbour discovery and multicast listener messages: link-local control that
            // IPv6 needs on either side of a wire, not sessions.
            return Verdict::Forward;
        }
        // The lookup compares the table key stage 2 built; the canonical copy of the flow key is
        // made only to open a session.
        let swapped = st.hashed.reversed;
        let now_ms = self.ms(now_ns);
        if let Some(slot) = self.find(st.candidate, st.hashed.hash, &st.probe, &p.key, swapped) {
            if self.timed_out(slot, now_ms) {
                self.end(slot, EndReason::AgedOut, now_ns);
            } else {
                let seg = &p.segment();
                return self.existing(slot, swapped, || p, seg, frame, ingress, now_ns, now_ms);
            }
        }
        self.open(
            p.key.oriented(swapped),
            swapped,
            st.hashed.hash,
            p,
            frame,
            ingress,
            now_ns,
            now_ms,
        )
    }

    /// A packet of an existing session. Inlined where it is called (stage 3's common case and
    /// `flow_packet`): a UDP packet's whole work, and a TCP segment's in-order step, are the
    /// few lines here; the full TCP tracker, app-ID and a refused flow's drop are calls.
    /// `parsed` gives the packet's parse result, which only those calls read (stage 3 may have
    /// it to write yet); `seg` is a TCP packet's segment.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn existing<'p>(
        &mut self,
        slot: u32,
        swapped: bool,
        parsed: impl FnOnce() -> &'p Parsed,
        seg: &Segment,
        frame: &[u8],
        ingress: u8,
        now_ns: u64,
        now_ms: u32,
    ) -> Verdict {
        let session = self.table.value_mut(slot);
        if session.has(sf::DISCARD) {
            return self.discarded(slot, parsed(), frame, ingress, now_ns);
        }
        let dir = if swapped == session.has(sf::CLIENT_IS_DST) {
            Dir::ClientToServer
        } else {
            Dir::ServerToClient
        };
        // An in-order data or ACK segment of an established connection is the TCP tracker's
        // one step, and then handled as a datagram; any other segment goes through the whole
        // state machine.
        if session.kind == SessionKind::Tcp && !session.tcp.established_step(dir, seg) {
            let p = parsed();
            return self.existing_tcp(slot, dir, swapped, p, frame, ingress, now_ns, now_ms);
        }
        session.count(dir, frame.len(), now_ms);
        if !session.has(sf::APP_DECIDED) {
            let p = parsed();
            if p.payload_len > 0 {
                return self.identify(slot, dir, p, frame, ingress, now_ns);
            }
        }
        Verdict::Forward
    }

    /// A packet of a refused flow (a discard entry): its retransmissions are dropped fast,
    /// logged once already.
    #[inline(never)]
    fn discarded(
        &mut self,
        slot: u32,
        p: &Parsed,
        frame: &[u8],
        ingress: u8,
        now_ns: u64,
    ) -> Verdict {
        let action = Action::ALL[self.table.value(slot).pending_end as usize];
        self.enforce(action, p, frame, ingress, now_ns, true);
        Verdict::Drop(DropReason::Policy)
    }

    /// A packet of an existing TCP session, going `dir`: the tracker decides.
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    fn existing_tcp(
        &mut self,
        slot: u32,
        dir: Dir,
        swapped: bool,
        p: &Parsed,
        frame: &[u8],
        ingress: u8,
        now_ns: u64,
        now_ms: u32,
    ) -> Verdict {
        let len = frame.len();
        let session = self.table.value_mut(slot);
        let verdict = session.tcp.on_segment(dir, &p.segment(), &self.cfg.tcp);
        if verdict.forwards() {
            session.count(dir, len, now_ms);
        }
        if verdict.broken_handshake || verdict.out_of_order {
            let c = self.counters.view();
            c.add(
                WorkerBlock::BROKEN_HANDSHAKES,
                verdict.broken_handshake as u64,
            );
            c.add(WorkerBlock::OUT_OF_ORDER, verdict.out_of_order as u64);
        }
        let ended = session.has(sf::ENDED);
        let inspect = !session.has(sf::APP_DECIDED) && p.payload_len > 0;
        match verdict.action {
            TcpAction::Accept if inspect => self.identify(slot, dir, p, frame, ingress, now_ns),
            TcpAction::Accept => Verdict::Forward,
            TcpAction::AcceptAndEnd(reason) => {
                // The entry stays (TIME_WAIT / CLOSE) until its timeout absorbs late segments,
                // and is logged when it leaves; re-arm for the new, shorter timeout.
                let s = self.table.value_mut(slot);
                if !ended && s.pending_end == NO_END {
                    s.pending_end = reason as u8;
                }
                self.arm(slot, now_ns);
                Verdict::Forward
            }
            TcpAction::Drop(reason) => Verdict::Drop(reason),
            TcpAction::DropAndEnd(drop, reason) => {
                self.end(slot, reason, now_ns);
                Verdict::Drop(drop)
            }
            TcpAction::Reuse => {
                let reason = if ended {
                    None
                } else {
                    Some(EndReason::TcpReuse)
                };
                self.end_with(slot, reason, now_ns);
                self.open(
                    p.key.oriented(swapped),
                    swapped,
                    p.key.hash64(),
                    p,
                    frame,
                    ingress,
                    now_ns,
                    now_ms,
                )
            }
        }
    }

    /// A packet with no session: refuse it, or open one.
    #[allow(clippy::too_many_arguments)]
    fn open(
        &mut self,
        key: FlowKey,
        swapped: bool,
        hash: u64,
        p: &Parsed,
        frame: &[u8],
        ingress: u8,
        now_ns: u64,
        now_ms: u32,
    ) -> Verdict {
        let len = frame.len();
        // A stateless rule (`connection_tracking: false`) decides packet by packet, before any
        // TCP state check, and opens nothing. Without such rules the policy is looked up only
        // for packets that may open a session: a flood of non-SYN segments costs no lookups.
        let early = self
            .cfg
            .policy
            .has_stateless_rules()
            .then(|| self.decide(p, ingress));
        if let Some(d) = early.filter(|d| !d.connection_tracking) {
            if d.action == Action::Allow {
                self.counters
                    .view()
                    .add(WorkerBlock::STATELESS_FORWARDED, 1);
                return Verdict::Forward;
            }
            self.enforce(d.action, p, frame, ingress, now_ns, true);
            return Verdict::Drop(DropReason::Policy);
        }
        let mut flags = 0;
        let mut app = crate::app::INCOMPLETE;
        let mut client_is_receiver = false;
        let (kind, tcp) = match p.key.proto {
            PROTO_TCP => {
                let seg = p.segment();
                let class = tcp::segment_class(p.tcp.flags);
                if class == tcp::SegClass::Syn {
                    (SessionKind::Tcp, TcpTracker::new_from_syn(&seg))
                } else if tcp::is_asymmetric(p.tcp.flags) {
                    // A SYN-ACK for a SYN never seen: only one direction of the handshake
                    // crosses this firewall. Counted with the non-SYN flag codes ("SA").
                    self.counters.view().add_non_syn(p.tcp.flags);
                    if !self.cfg.tcp.asymmetric_bypass {
                        return Verdict::Drop(DropReason::Asymmetric);
                    }
                    // Bypass: track it from the server's SYN-ACK; the client is its receiver.
                    client_is_receiver = true;
                    (
                        SessionKind::Tcp,
                        TcpTracker::new_midstream(Dir::ServerToClient, &seg),
                    )
                } else if !self.cfg.reject_non_syn && tcp::can_open_midstream(p.tcp.flags) {
                    flags |= sf::MIDSTREAM;
                    app = crate::app::NON_SYN_TCP;
                    (
                        SessionKind::Tcp,
                        TcpTracker::new_midstream(Dir::ClientToServer, &seg),
                    )
                } else {
                    return self.non_syn(p, ingress, now_ns);
                }
            }
            PROTO_UDP => (SessionKind::Udp, crate::session::untracked()),
            PROTO_ICMP | PROTO_ICMPV6 => {
                if p.icmp.kind != IcmpKind::EchoRequest && p.icmp.kind != IcmpKind::EchoReply {
                    // Informational ICMP other than echo: let it pass without a session.
                    return Verdict::Forward;
                }
                (SessionKind::Icmp, crate::session::untracked())
            }
            _ => (SessionKind::Other, crate::session::untracked()),
        };
        // Zone protection meters what opens sessions from the ingress zone: not a lone SYN-ACK
        // (asymmetric bypass) nor a mid-stream pickup, which open no new connection.
        if !client_is_receiver && flags & sf::MIDSTREAM == 0 {
            let zone = self.zone_of(ingress);
            let flood = Flood::of_proto(p.key.proto);
            if let Err(reason) = self.protect.admit(zone, flood, now_ns, &self.counters) {
                return Verdict::Drop(reason);
            }
        }
        if swapped != client_is_receiver {
            // The client is the canonical key's destination.
            flags |= sf::CLIENT_IS_DST;
        }
        let decision = match early {
            Some(d) => d,
            // A tracked lone SYN-ACK: its receiver is the client, on the other side of the wire.
            None if client_is_receiver => {
                self.policy_for(&p.key.reversed(), self.egress_of(ingress), None)
            }
            None => self.decide(p, ingress),
        };
        if decision.log_end {
            flags |= sf::LOG_END;
        }
        let refused = decision.action != Action::Allow;
        if refused {
            // A short discard entry: its retransmissions are dropped fast and logged once. Refused
            // before identification: the application is `not-applicable`.
            flags |= sf::DISCARD | sf::LOG_END | sf::APP_DECIDED;
            app = crate::app::NOT_APPLICABLE;
            self.enforce(decision.action, p, frame, ingress, now_ns, true);
        }
        if decision.app_pending {
            flags |= sf::APP_PENDING;
        }
        if flags & sf::MIDSTREAM != 0 {
            // Picked up mid-stream: `non-syn-tcp`, nothing to identify. (ICMP and other
            // protocols are named by `final_reason` when they end.)
            flags |= sf::APP_DECIDED;
        }
        let mut session = Session {
            tcp,
            start_ms: now_ms,
            ingress,
            kind,
            flags,
            app,
            rule: decision.rule,
            // A discard entry keeps its action here (it never has an end reason pending).
            pending_end: if refused {
                decision.action as u8
            } else {
                NO_END
            },
            ..Session::default()
        };
        let first_dir = if client_is_receiver {
            Dir::ServerToClient
        } else {
            Dir::ClientToServer
        };
        session.count(first_dir, len, now_ms);
        let inserted = if self.table.is_full() {
            Err(TableFull)
        } else {
            let stored = self
                .keys
                .store(&key, hash)
                .expect("the store has the table's room");
            self.table.insert(hash, stored, session)
        };
        match inserted {
            Ok(handle) => {
                let c = self.counters.view();
                c.add(WorkerBlock::SESSIONS_CREATED, 1);
                self.arm(handle.index, now_ns);
                let (client_port, server_port) = if client_is_receiver {
                    (p.key.dport, p.key.sport)
                } else {
                    (p.key.sport, p.key.dport)
                };
                self.app_states[handle.index as usize] =
                    AppState::for_ports(client_port, server_port);
                self.snis.remove(&handle.index);
                if refused {
                    self.finish(handle.index, EndReason::PolicyDeny, now_ns);
                    return Verdict::Drop(DropReason::Policy);
                }
                if decision.log_start {
                    let mut r = self.record_of(&p.key, ingress, now_ns);
                    if client_is_receiver {
                        let k = p.key.reversed();
                        (r.src, r.dst, r.sport, r.dport) = (k.src, k.dst, k.sport, k.dport);
                    }
                    r.subtype = Subtype::Start;
                    r.session_id = session_id(self.cfg.worker, handle.index, handle.generation);
                    r.rule = decision.rule;
                    r.end_reason = EndReason::NotApplicable;
                    self.push_record(r);
                }
                if p.payload_len > 0 && flags & sf::APP_DECIDED == 0 {
                    // The first packet's payload (a UDP query, data on a mid-stream pickup).
                    return self.identify(handle.index, first_dir, p, frame, ingress, now_ns);
                }
                Verdict::Forward
            }
            Err(_) if refused => Verdict::Drop(DropReason::Policy),
            Err(_) => Verdict::Drop(DropReason::TableFull),
        }
    }

    /// The policy's decision for a flow's first packet (app not identified yet).
    #[inline]
    fn decide(&self, p: &Parsed, ingress: u8) -> Decision {
        self.policy_for(&p.key, ingress, None)
    }

    /// The policy's decision for a flow seen from its client: `key` client to server, entering
    /// on `ingress`.
    fn policy_for(&self, key: &FlowKey, ingress: u8, app: Option<&str>) -> Decision {
        let zone = |port: u8| {
            self.cfg
                .port_zone
                .get(port as usize)
                .copied()
                .unwrap_or(u8::MAX)
        };
        self.cfg.policy.lookup(&Query {
            from_zone: zone(ingress),
            to_zone: zone(self.egress_of(ingress)),
            src: key.src,
            dst: key.dst,
            family: key.family,
            proto: key.proto,
            dport: key.dport,
            app,
        })
    }

    /// The zone id of a port (`u8::MAX` if none).
    #[inline(always)]
    fn zone_of(&self, port: u8) -> u8 {
        self.cfg
            .port_zone
            .get(port as usize)
            .copied()
            .unwrap_or(u8::MAX)
    }

    /// Sends what a refusing action sends: TCP resets (RFC 793 numbers, so stacks accept them)
    /// or ICMP unreachables (rate-limited). `p` came in on `ingress` from the client.
    ///
    /// `from_client`: whether `p` was sent by the session's client (the first packet always is;
    /// an app-ID decision may come on a server packet, and then "client" is its receiver).
    fn enforce(
        &mut self,
        action: Action,
        p: &Parsed,
        frame: &[u8],
        ingress: u8,
        now_ns: u64,
        from_client: bool,
    ) {
        let tcp = p.key.proto == PROTO_TCP;
        let (to_client, to_server, icmp) = match (action, tcp) {
            (Action::Deny | Action::ResetBoth, true) => (true, true, None),
            (Action::ResetClient, true) => (true, false, None),
            (Action::ResetServer, true) => (false, true, None),
            (Action::DropIcmp, _) => (false, false, Some(Unreachable::AdminProhibited)),
            (Action::ResetClient | Action::ResetBoth | Action::ResetServer, false) => {
                (false, false, Some(Unreachable::PortUnreachable))
            }
            _ => (false, false, None),
        };
        let (to_client, to_server) = if from_client {
            (to_client, to_server)
        } else {
            (to_server, to_client)
        };
        let back = ingress;
        let onward = self.egress_of(ingress);
        let mut sent = 0;
        if to_client
            && self
                .emits
                .push(back, |out| forge::tcp_reset_to_sender(frame, p, out))
        {
            sent += 1;
        }
        if to_server
            && self
                .emits
                .push(onward, |out| forge::tcp_reset_to_receiver(frame, p, out))
        {
            sent += 1;
        }
        if let Some(kind) = icmp {
            if self.icmp_errors.allow(now_ns)
                && self
                    .emits
                    .push(back, |out| forge::icmp_unreachable(frame, p, kind, out))
            {
                sent += 1;
            }
        }
        if sent > 0 {
            self.counters.view().add(WorkerBlock::EMITTED, sent);
        }
    }

    /// The policy's decision for a live session, from its client's view (reload, app-ID).
    fn recheck(&self, slot: u32, app: Option<&str>) -> Decision {
        self.policy_for(&self.client_key(slot), self.table.value(slot).ingress, app)
    }

    /// The app-ID stage: looks at a payload of an undecided session; once it names the
    /// application, a session whose policy decision waited for it is looked up again, and ends
    /// `policy-deny` with the refusing rule's action if the rules now refuse it.
    fn identify(
        &mut self,
        slot: u32,
        dir: Dir,
        p: &Parsed,
        frame: &[u8],
        ingress: u8,
        now_ns: u64,
    ) -> Verdict {
        let payload = frame
            .get(p.payload_offset as usize..p.payload_offset as usize + p.payload_len as usize)
            .unwrap_or(&[]);
        let mut sni = [0u8; 48];
        let state = &mut self.app_states[slot as usize];
        let Some(app) = appid::inspect(
            state,
            p.key.proto,
            dir == Dir::ClientToServer,
            payload,
            &mut sni,
        ) else {
            return Verdict::Forward;
        };
        if sni[0] != 0 && self.snis.len() < self.sni_capacity {
            self.snis.insert(slot, sni);
        }
        let session = self.table.value_mut(slot);
        session.app = app;
        session.flags |= sf::APP_DECIDED;
        if !session.has(sf::APP_PENDING) {
            return Verdict::Forward;
        }
        session.flags &= !sf::APP_PENDING;
        let d = self.recheck(slot, Some(crate::app::name(app)));
        let session = self.table.value_mut(slot);
        session.rule = d.rule;
        if d.action == Action::Allow {
            return Verdict::Forward;
        }
        self.enforce(
            d.action,
            p,
            frame,
            ingress,
            now_ns,
            dir == Dir::ClientToServer,
        );
        let v = self.table.value_mut(slot);
        v.flags |= sf::DISCARD | sf::LOG_END;
        v.pending_end = d.action as u8;
        self.end_with(slot, Some(EndReason::PolicyDeny), now_ns);
        Verdict::Drop(DropReason::Policy)
    }

    /// Packets the engine wants sent (after `process_burst`); the caller sends them, then calls
    /// `clear_emits`.
    pub fn emits(&self) -> &Emits {
        &self.emits
    }

    pub fn clear_emits(&mut self) {
        self.emits.clear();
    }

    /// A TCP packet that may not open a session: "Not a valid SYN packet".
    fn non_syn(&mut self, p: &Parsed, ingress: u8, now_ns: u64) -> Verdict {
        self.counters.view().add_non_syn(p.tcp.flags);
        if self.non_syn_logs.allow(now_ns) {
            let mut r = self.record_of(&p.key, ingress, now_ns);
            r.subtype = Subtype::Drop;
            r.action = Action::Drop;
            r.drop_reason = Some(DropReason::NonSyn);
            r.tcp_flags = p.tcp.flags;
            r.packets_sent = 1;
            self.push_record(r);
        }
        Verdict::Drop(DropReason::NonSyn)
    }

    /// An ICMP error: forwarded when it refers to a live session, never opens one.
    fn icmp_error(&mut self, p: &Parsed) -> Verdict {
        let Some(inner) = p.inner else {
            return Verdict::Drop(DropReason::MalformedIcmpInner);
        };
        let hashed = inner.hashed();
        let probe = StoredKey::probe(&inner, hashed.reversed, hashed.hash);
        match self.find(None, hashed.hash, &probe, &inner, hashed.reversed) {
            Some(_) => Verdict::Forward,
            None => Verdict::Drop(DropReason::IcmpErrorNoSession),
        }
    }

    /// Arms (or re-arms) a session's timer for its current timeout.
    fn arm(&mut self, slot: u32, now_ns: u64) {
        let timeout = self.table.value(slot).timeout_ns(&self.cfg.timeouts);
        self.wheel.arm(slot, now_ns.saturating_add(timeout));
    }

    /// Records the end of a session (counters, log record) without removing it.
    fn finish(&mut self, slot: u32, reason: EndReason, now_ns: u64) {
        // A session ending undecided gets PAN-OS's reason for not naming its application.
        if !self.table.value(slot).has(sf::APP_DECIDED) {
            let s = *self.table.value(slot);
            let client = s.tcp.peer(Dir::ClientToServer).flags_sent();
            let server = s.tcp.peer(Dir::ServerToClient).flags_sent();
            let handshake = s.kind == SessionKind::Tcp
                && server & crate::tcp::flags::SYN != 0
                && client & crate::tcp::flags::ACK != 0;
            let proto = self.table.key(slot).proto();
            let app = appid::final_reason(
                &self.app_states[slot as usize],
                proto,
                handshake,
                s.kind == SessionKind::Icmp,
            );
            let v = self.table.value_mut(slot);
            v.app = app;
            v.flags |= sf::APP_DECIDED;
        }
        let c = self.counters.view();
        c.add_end(reason);
        let session = *self.table.value(slot);
        if session.has(sf::LOG_END) {
            let key = self.flow_key(slot);
            let handle = self.table.handle(slot).expect("live slot");
            let mut r = self.record_of(&key, session.ingress, now_ns);
            if session.has(sf::CLIENT_IS_DST) {
                let k = key.reversed();
                r.src = k.src;
                r.dst = k.dst;
                r.sport = k.sport;
                r.dport = k.dport;
            }
            r.session_id = session_id(self.cfg.worker, slot, handle.generation);
            r.rule = session.rule;
            r.app = session.app;
            r.end_reason = reason;
            if let Some(sni) = self.snis.get(&slot) {
                r.sni = *sni;
            }
            if session.has(sf::DISCARD) {
                let action = Action::ALL
                    .get(session.pending_end as usize)
                    .copied()
                    .unwrap_or(Action::Deny);
                r.action = action;
                r.subtype = if matches!(action, Action::Drop | Action::DropIcmp) {
                    Subtype::Drop
                } else {
                    Subtype::Deny
                };
                r.drop_reason = Some(DropReason::Policy);
            }
            self.counters.view().add_app(session.app as usize);
            r.packets_sent = u64::from(session.packets(Dir::ClientToServer));
            r.packets_received = u64::from(session.packets(Dir::ServerToClient));
            r.bytes_sent = session.bytes(Dir::ClientToServer);
            r.bytes_received = session.bytes(Dir::ServerToClient);
            r.start_ns = self.ms_to_ns(session.start_ms, now_ns);
            r.elapsed_ns = now_ns.saturating_sub(r.start_ns);
            self.push_record(r);
        }
        self.table.value_mut(slot).flags |= sf::ENDED;
    }

    /// Ends a session with `reason` and removes it.
    fn end(&mut self, slot: u32, reason: EndReason, now_ns: u64) {
        self.end_with(slot, Some(reason), now_ns);
    }

    /// Removes a session, first recording its end unless it has ended already (`None`).
    fn end_with(&mut self, slot: u32, reason: Option<EndReason>, now_ns: u64) {
        // A decided but unlogged reason (a closed TCP session in TIME_WAIT) is how it ended,
        // whatever removes the entry now (aging, `clear session`, a reload); only a new SYN on
        // its 5-tuple turns it into tcp-reuse (the caller passes that explicitly).
        let v = self.table.value(slot);
        let pending = if v.has(sf::DISCARD) {
            NO_END
        } else {
            v.pending_end
        };
        let reason = match (EndReason::ALL.get(pending as usize), reason) {
            (Some(&p), Some(r)) if r != EndReason::TcpReuse => Some(p),
            (_, r) => r,
        };
        if !self.table.value(slot).has(sf::ENDED) {
            self.finish(slot, reason.unwrap_or(EndReason::Unknown), now_ns);
        }
        self.wheel.cancel(slot);
        self.snis.remove(&slot);
        if let Some(key) = self.table.remove(slot) {
            self.keys.release(&key);
        }
    }

    /// The live slot of `key`'s flow: `probe` is its table key (`StoredKey::probe`), `reversed`
    /// whether `key` is the reverse of the canonical orientation; `candidate`: the slot stage 2
    /// found, tried first. Hot path.
    #[inline(always)]
    fn find(
        &self,
        candidate: Option<u32>,
        hash: u64,
        probe: &StoredKey,
        key: &FlowKey,
        reversed: bool,
    ) -> Option<u32> {
        // IPv4 compares the stored key whole; one closure for both families (`matches` checks
        // the family per compare) cost 23 more instructions a packet (callgrind).
        if key.family == 4 {
            self.table
                .lookup_from(candidate, hash, |stored| stored == probe)
        } else {
            self.table.lookup_from(candidate, hash, |stored| {
                self.keys.matches(stored, probe, key, reversed)
            })
        }
    }

    /// The (canonical) flow key of a live slot.
    pub fn flow_key(&self, slot: u32) -> FlowKey {
        self.keys.flow_key(self.table.key(slot))
    }

    fn record_of(&self, key: &FlowKey, ingress: u8, now_ns: u64) -> SessionRecord {
        SessionRecord {
            time_ns: now_ns,
            src: key.src,
            dst: key.dst,
            family: key.family,
            sport: key.sport,
            dport: key.dport,
            proto: key.proto,
            ingress,
            egress: self.egress_of(ingress),
            rule: NONE_ID,
            start_ns: now_ns,
            ..SessionRecord::default()
        }
    }

    fn push_record(&self, r: SessionRecord) {
        if !self.records.try_push(r) {
            self.counters.view().add(WorkerBlock::RECORDS_DROPPED, 1);
        }
    }

    /// Ages out idle sessions: at most [`EXPIRE_BUDGET`] timers per call, so a mass expiry
    /// never stalls the data path. Returns how many sessions ended or left.
    pub fn expire(&mut self, now_ns: u64) -> usize {
        self.protect.tick(now_ns, &self.counters);
        // The tables' indexes grow with their sessions, a few buckets per insert; this moves a
        // bounded batch more (and gives back the spare bucket array once one reaches full size).
        self.table.maintain();
        self.frags.maintain();
        let now_ms = self.ms(now_ns);
        let (table, timeouts, expired) = (&self.table, &self.cfg.timeouts, &mut self.expired);
        self.wheel.expire(now_ns, EXPIRE_BUDGET, |slot| {
            if !table.is_live(slot) {
                return Rearm::Expired;
            }
            let s = table.value(slot);
            let due_ms = s
                .last_seen_ms
                .wrapping_add((s.timeout_ns(timeouts) / 1_000_000) as u32);
            if (now_ms.wrapping_sub(due_ms) as i32) < 0 {
                // Refreshed since it was armed (lazy aging): re-arm for the new deadline.
                let ahead_ms = due_ms.wrapping_sub(now_ms) as u64;
                return Rearm::At(now_ns + ahead_ms * 1_000_000);
            }
            if expired.len() < expired.capacity() {
                expired.push(slot);
            }
            Rearm::Expired
        });
        let n = self.expired.len();
        for k in 0..n {
            let slot = self.expired[k];
            if self.table.is_live(slot) {
                self.wheel.cancel(slot);
                self.end_with(slot, Some(EndReason::AgedOut), now_ns);
            }
        }
        self.expired.clear();
        if n > 0 {
            self.counters
                .view()
                .set(WorkerBlock::SESSIONS_ACTIVE, self.table.len() as u64);
        }
        n
    }

    /// When the next timer may fire (for a replay's virtual clock).
    pub fn next_timer(&self) -> Option<u64> {
        self.wheel.next_deadline_hint()
    }

    /// Ends every session now with `reason` (shutdown, `clear session all`).
    pub fn clear_all(&mut self, reason: EndReason, now_ns: u64) -> usize {
        let slots: Vec<u32> = self.table.live_slots().collect();
        for &slot in &slots {
            self.end_with(slot, Some(reason), now_ns);
        }
        self.counters
            .view()
            .set(WorkerBlock::SESSIONS_ACTIVE, self.table.len() as u64);
        slots.len()
    }

    /// Ends one session by id; false if it does not exist (any more).
    pub fn clear_session(&mut self, id: u64, reason: EndReason, now_ns: u64) -> bool {
        let (worker, slot, generation) = split_session_id(id);
        match self.table.handle(slot) {
            Some(h) if worker == self.cfg.worker && h.generation & 0xff_ffff == generation => {
                self.end_with(slot, Some(reason), now_ns);
                self.counters
                    .view()
                    .set(WorkerBlock::SESSIONS_ACTIVE, self.table.len() as u64);
                true
            }
            _ => false,
        }
    }

    /// The session id of a live slot.
    pub fn id_of(&self, slot: u32) -> Option<u64> {
        self.table
            .handle(slot)
            .map(|h| session_id(self.cfg.worker, slot, h.generation))
    }

    /// Seconds until a session times out.
    pub fn remaining_ns(&self, slot: u32, now_ns: u64) -> u64 {
        let s = self.table.value(slot);
        let idle = (self.ms(now_ns).wrapping_sub(s.last_seen_ms) as u64) * 1_000_000;
        s.timeout_ns(&self.cfg.timeouts).saturating_sub(idle)
    }

    /// Start of a session (unix ns).
    pub fn start_ns(&self, slot: u32, now_ns: u64) -> u64 {
        self.ms_to_ns(self.table.value(slot).start_ms, now_ns)
    }

    /// The client-to-server key of a live slot.
    pub fn client_key(&self, slot: u32) -> FlowKey {
        let key = self.flow_key(slot);
        if self.table.value(slot).has(sf::CLIENT_IS_DST) {
            key.reversed()
        } else {
            key
        }
    }
}

/// ICMPv6 messages of the link (router/neighbour discovery, multicast listeners).
fn is_icmpv6_link_control(icmp_type: u8) -> bool {
    matches!(icmp_type, 130..=137 | 143)
}
