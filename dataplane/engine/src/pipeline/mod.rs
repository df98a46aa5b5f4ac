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
//!
//! Where each step lives (all `impl Engine`):
//! - `stage.rs`: stage 1 (parse, hash, hand-off, index prefetch) and the straight path's
//!   candidate test; `process_burst` below runs the stages.
//! - `general.rs`: stage 3's general path: find the session or go to `open`; fragments
//!   (`fragment.rs`), ICMP errors, link control, "Not a valid SYN packet".
//! - `existing.rs`: a packet of a live session (TCP tracker, counters, app-ID while undecided).
//! - `open.rs`: a packet with no session: TCP opening rules, zone protection, policy, insert.
//! - `enforce.rs`: the policy's decision and what a refusing action sends; `inspect.rs`: app-ID.
//! - `end.rs`: timers, expiry in bounded batches, end records, removal.
//! - `manage.rs`: what operators ask between bursts (views, clears, reload); `walk.rs`: the
//!   table walked in bounded slices for them.
//! - `snapshot.rs`: a whole session out of one engine and into another (HA sync, tests).
//! - `settings.rs`: the engine's compiled settings and session ids; `emit.rs`: packets the
//!   engine sends itself and its rate limits.

use std::sync::Arc;

use crate::appid::{self, AppState};
use crate::dir::Dir;
use crate::flow::{FlowHash, FlowKey, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP};
use crate::forge::{self, Unreachable};
use crate::frag::FragTable;
use crate::policy::{Decision, Policy, Query};
use crate::protect::Protection;
use crate::reasons::{Action, DropReason, EndReason, Flood};
use crate::records::{RecordRing, SessionRecord, Subtype, NONE_ID};
use crate::session::{session_flags as sf, Session, SessionKind, NO_END};
use crate::stats::{CounterBlock, WorkerBlock};
use crate::stored_key::{stored_hash, AddressStore, StoredKey};
use crate::table::{SessionTable, TableFull};
use crate::tcp::{self, Segment, TcpAction, TcpTracker};
use crate::timer::{Rearm, TimerWheel};
use crate::wire::{self, IcmpKind, Kind, Parsed};

mod emit;
mod end;
mod enforce;
mod existing;
mod fragment;
mod general;
mod inspect;
mod manage;
mod open;
mod settings;
mod snapshot;
#[cfg(test)]
mod snapshot_tests;
mod stage;
#[cfg(test)]
mod stored_key_tests;
#[cfg(test)]
pub(crate) mod test_engine;
mod walk;
#[cfg(test)]
mod walk_tests;

pub use crate::verdict::{Verdict, NO_PORT};
use emit::RateLimit;
pub use emit::{Emits, EMIT_BYTES, ICMP_ERRORS_PER_SEC, MAX_EMITS};
pub use settings::{owner_worker, session_id, split_session_id, EngineConfig, PortInfo};
pub use snapshot::{InstallError, SessionSnapshot};
use stage::{deferred, BurstScratch, Stage, Staged};
pub use walk::{Cursor, Task, Walk, SLICE_SESSIONS, SLICE_SESSIONS_NO_VIEW, SLICE_SLOTS};

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

/// One packet as the per-packet steps see it: its bytes, the port it came in on, and the
/// burst's time (ns, and ms since the engine's epoch, the sessions' clock). Passed whole
/// instead of as four parameters; the inlined steps keep its fields in registers.
#[derive(Clone, Copy)]
struct Packet<'f> {
    frame: &'f [u8],
    ingress: u8,
    now_ns: u64,
    now_ms: u32,
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
    /// `process`'s copy of its frame (the one-packet path of tests and tools).
    copy: Vec<u8>,
    /// The forwarding step's table: each port's egress, by port index (`NO_PORT` for none;
    /// 256 entries, so a port index needs no bounds check).
    egress: [u8; 256],
}

/// TLS server names kept at once per worker (for the `sni` log field).
pub const SNI_CAPACITY: usize = 65_536;

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
            table: if cfg.second_keys {
                SessionTable::with_second_keys(cfg.capacity, stored_hash)
            } else {
                SessionTable::new(cfg.capacity, stored_hash)
            },
            keys: AddressStore::new(cfg.capacity * (1 + cfg.second_keys as u32)),
            wheel: TimerWheel::new(cfg.capacity, TICK_NS, now_ns),
            counters,
            records,
            epoch_ns: now_ns,
            scratch: BurstScratch {
                parsed: vec![Parsed::default(); MAX_BURST],
                staged: vec![Staged::default(); MAX_BURST],
            },
            expired: Vec::with_capacity(EXPIRE_BUDGET),
            non_syn_logs: RateLimit::new(NON_SYN_LOGS_PER_SEC),
            emits: Emits::new(),
            icmp_errors: RateLimit::new(ICMP_ERRORS_PER_SEC),
            app_states: vec![AppState::default(); cfg.capacity as usize],
            snis: hashbrown::HashMap::with_capacity(SNI_CAPACITY.min(cfg.capacity as usize)),
            // Half the map's room: hashbrown then always rehashes in place, never grows.
            sni_capacity: SNI_CAPACITY.min(cfg.capacity as usize) / 2,
            frags: FragTable::new(cfg.fragments),
            egress: egress_table(&cfg.ports),
            copy: Vec::new(),
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

    /// The forwarding step: where a packet that came in on `ingress` leaves (its virtual
    /// wire's other port; [`NO_PORT`] if none). A session's packets leave by the port the
    /// other side's packets come in on: the client's by this step from the session's ingress,
    /// the server's by the session's ingress.
    #[inline(always)]
    pub fn egress_of(&self, ingress: u8) -> u8 {
        self.egress[ingress as usize]
    }

    /// The verdict that sends on a packet that came in on `ingress`.
    #[inline(always)]
    fn forward(&self, ingress: u8) -> Verdict {
        Verdict::Forward(self.egress_of(ingress))
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

    /// Processes one packet (a burst of one) in place: the engine may rewrite `frame` (the
    /// forwarding step's rewrites) before it leaves.
    pub fn process_mut(&mut self, now_ns: u64, frame: &mut [u8], ingress: u8) -> Verdict {
        let mut v = [Verdict::Forward(NO_PORT)];
        self.process_burst(now_ns, &mut [frame], &[ingress], &mut v);
        v[0]
    }

    /// Processes a copy of one packet (tests and tools that keep their frames as they are).
    /// Off the worker's path: the copy's buffer grows to the largest frame seen.
    pub fn process(&mut self, now_ns: u64, frame: &[u8], ingress: u8) -> Verdict {
        let mut copy = std::mem::take(&mut self.copy);
        copy.clear();
        copy.extend_from_slice(frame);
        let v = self.process_mut(now_ns, &mut copy, ingress);
        self.copy = copy;
        v
    }

    /// Processes a burst: `frames[i]` arrived on port `ingress[i]`; `verdicts[i]` receives its
    /// fate. At most [`MAX_BURST`] packets. Returns how many it forwards ([`Verdict::Forward`]):
    /// when that is all of them, the caller can send the burst on whole. The frames are the
    /// caller's buffers (the mbufs' data): a forwarded one leaves as the engine left it, so the
    /// forwarding step may rewrite it in place (layer 3's MACs and TTL, NAT's addresses).
    pub fn process_burst(
        &mut self,
        now_ns: u64,
        frames: &mut [&mut [u8]],
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
                // Read only if the session is TCP: then so is the frame (the key matched), and
                // stage 1 wrote its segment.
                let seg = &st.segment;
                let parsed = deferred(&mut *parsed, i, frame);
                let reversed = st.hashed.reversed;
                self.existing(slot, reversed, parsed, seg, frame, port, now_ns, now_ms)
            } else if let Stage::Decided(decided) = st.stage {
                decided
            } else {
                let pkt = Packet {
                    frame,
                    ingress: port,
                    now_ns,
                    now_ms,
                };
                self.general_packet(&mut parsed[i], st, pkt)
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

    /// Packets the engine wants sent (after `process_burst`); the caller sends them, then calls
    /// `clear_emits`.
    pub fn emits(&self) -> &Emits {
        &self.emits
    }

    pub fn clear_emits(&mut self) {
        self.emits.clear();
    }
}

/// Each port's egress by port index: its virtual-wire peer.
fn egress_table(ports: &[PortInfo]) -> [u8; 256] {
    let mut table = [NO_PORT; 256];
    for (slot, port) in table.iter_mut().zip(ports) {
        *slot = port.peer.unwrap_or(NO_PORT);
    }
    table
}
