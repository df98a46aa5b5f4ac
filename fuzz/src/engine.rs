//! The `engine` target's driver: the whole engine run by a little program decoded from the fuzz
//! input, with invariants checked after every step.
//!
//! # Input format
//!
//! Byte 0 picks one of [`variants`] (rules x session settings). The rest is a sequence of ops;
//! each op is one byte (`op % 32`) followed by its argument bytes, and a missing byte reads as
//! 0, so every input is a valid program:
//!
//! | op | what | arguments |
//! | --- | --- | --- |
//! | 0..=11 | TCP segment | flow, `[dir, flags(4), seq mode(2), odd port]`, `[size(3), content(3), window(2)]`, then raw flags / seq when asked |
//! | 12..=15 | UDP datagram | flow, `[dir, content(3), size(3), odd port]` |
//! | 16..=17 | ICMP echo | flow, `[dir, swap type, v6 type quirk, size(3)]` |
//! | 18 | ICMP error about a flow | flow, `[tcp/udp, type(2), truncated quote, from a router]` |
//! | 19 | IP fragment | flow, `[first, more, tcp/udp, hop-by-hop]` |
//! | 20 | raw frame | length, bytes |
//! | 21 | raw transport bytes after good IP headers | flow, protocol, `[dir, vlan]`, length, bytes |
//! | 22..=25 | time passes, then one `expire` call | step selector |
//! | 26 | end the current burst | |
//! | 27 | run every due timer (like `synwall replay`) | |
//! | 28 | `clear session id` of a live session, or of a stale id | selector |
//! | 29 | reload with another rule set | rules selector |
//! | 30 | CLI views: `list` and `view` of every session | |
//! | 31 | `clear session all` | |
//!
//! Packets collect into a burst of up to [`BURST`] frames, processed when it is full or when an
//! op other than a packet needs the engine. Flows are 16 "hot" 5-tuples (flow byte < 0xc0)
//! plus 64 "spray" tuples, more than the table's [`CAPACITY`], so table-full paths are reached.
//! Each TCP flow keeps a model of both endpoints' next sequence numbers, so that segments are
//! in window unless the seq mode says otherwise and the handshake, data, FIN and RST states
//! are reachable by a few bytes each.
//!
//! # Invariants
//!
//! After every step: no panic; `active_sessions() <= CAPACITY`; the `sessions_active` counter
//! equals the table; sessions created = sessions ended (end-reason counters) + live sessions
//! not ended yet; no session id is in two end records or two start records; no record was lost
//! (the ring is drained after each step); packets counted = forwarded + dropped, and drops by
//! reason add up; every packet the engine emits (resets, unreachables) parses.
//! At the end: once time passes every timeout, the timers alone empty the table; after
//! `clear_all` every session created has ended exactly once.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};

use synwall_engine::api::SessionFilter;
use synwall_engine::config::Config;
use synwall_engine::pipeline::{Engine, EngineConfig, Verdict, MAX_EMITS};
use synwall_engine::policy::Policy;
use synwall_engine::reasons::{DropReason, EndReason};
use synwall_engine::records::{NameTable, RecordRing, Subtype};
use synwall_engine::session::session_flags;
use synwall_engine::stats::{CounterBlock, WorkerBlock};
use synwall_engine::tcp::flags::{ACK, FIN, PSH, RST, SYN, URG};
use synwall_engine::wire;

use synwall_testkit::frame::{ip_packet_of, udp_datagram, TcpFields, TcpFlags};
use synwall_testkit::payload::{dns_query, ClientHello};

use crate::frames::{self, syn_options, Endpoints};

/// Session table capacity (small, so that a few bytes fill it).
pub const CAPACITY: u32 = 64;
/// Frames per burst at most.
pub const BURST: usize = 8;
/// Ops per input at most (bounds the time of one run).
pub const MAX_OPS: usize = 4096;
/// Record ring size: larger than what one step can write (a burst, a full expiry, a clear).
const RING: usize = 4096;
/// Unix time the engine starts at.
const START_NS: u64 = 1_795_392_000_000_000_000;
const HOT_FLOWS: usize = 16;
const FLOWS: usize = HOT_FLOWS + 64;
/// Destination ports of the flows (the rule sets below refer to them).
const DPORTS: [u16; 8] = [80, 443, 22, 53, 25, 8080, 5000, 123];

const BASE: &str = r#"dataplane:
  workers: [1]
  ports:
    - { name: ethernet1/1, device: net_tap0, zone: trust }
    - { name: ethernet1/2, device: net_tap1, zone: untrust }
    - { name: ethernet1/3, device: net_tap2, zone: dmz }
  vwires:
    - [ethernet1/1, ethernet1/2]
services:
  ssh: { protocol: tcp, ports: ["22"] }
  dns: { protocol: udp, ports: ["53"] }
  smtp: { protocol: tcp, ports: ["25"] }
  alt: { protocol: tcp, ports: ["8080"] }
  high: { protocol: udp, ports: ["5000-5001"] }
"#;

/// Rule sets; every one but the last logs session ends.
const RULES: [&str; 4] = [
    // Everything allowed, starts and ends logged.
    r#"rules:
  - { name: out, from: [trust], to: [untrust], action: allow, log_start: true }
  - { name: in, from: [untrust], to: [trust], action: allow, log_start: true }
  - { name: dmz, from: [dmz], to: [any], action: allow }
"#,
    // Every refusing action, and an application rule (decisions wait for app-ID).
    r#"rules:
  - { name: ssh-reset, from: [any], to: [any], service: [ssh], action: reset-both }
  - { name: dns-deny, from: [trust], to: [untrust], service: [dns], action: deny }
  - { name: high-icmp, from: [trust], to: [untrust], service: [high], action: drop-icmp }
  - { name: alt-rc, from: [untrust], to: [trust], service: [alt], action: reset-client }
  - { name: smtp-rs, from: [any], to: [any], service: [smtp], action: reset-server }
  - { name: drop-low, from: [untrust], to: [trust], destination: [10.0.0.0/30, "fd00::/126"], action: drop }
  - { name: web, from: [trust], to: [untrust], application: [web-browsing, ssl], service: [application-default], action: allow, log_start: true }
  - { name: apps-deny, from: [trust], to: [untrust], application: [ssh, dns], action: deny }
  - { name: rest, from: [any], to: [any], action: allow }
"#,
    // Stateless rules beside stateful ones.
    r#"rules:
  - { name: dns-stateless, from: [any], to: [any], service: [dns], action: allow, connection_tracking: false }
  - { name: alt-stateless, from: [any], to: [any], service: [alt], action: reset-both, connection_tracking: false }
  - { name: apps, from: [trust], to: [untrust], application: [ssh, dns, web-browsing], action: allow }
  - { name: rest, from: [trust], to: [untrust], action: allow }
  - { name: back, from: [untrust], to: [trust], action: deny, log_start: true }
"#,
    // No rules: the default rules (intrazone allow, interzone deny), which log nothing.
    "rules: []\n",
];

/// Session settings: (tcp_reject_non_syn, asymmetric_path, out_of_order_limit).
const SESSIONS: [(bool, &str, u32); 4] = [
    (true, "drop", 64),
    (false, "bypass", 64),
    (true, "bypass", 2),
    (false, "drop", 1),
];

/// The YAML of variant `variant` (rules `variant % 4`, session settings `variant / 4`).
pub fn config_text(variant: usize) -> String {
    let rules = RULES[variant % RULES.len()];
    let (reject, asym, ooo) = SESSIONS[variant / RULES.len() % SESSIONS.len()];
    format!(
        "{BASE}session:\n  max_sessions: {CAPACITY}\n  tcp_reject_non_syn: {reject}\n  \
         asymmetric_path: {asym}\n  out_of_order_limit: {ooo}\n  timeouts: {{ tcp: 6, \
         tcp_init: 1, tcp_handshake: 2, tcp_half_closed: 3, tcp_time_wait: 1, udp: 2, \
         icmp: 1, default: 2, discard_tcp: 2, discard_udp: 1, discard_default: 1 }}\n{rules}"
    )
}

/// The compiled engine settings of every (rules, session) pair, built once per process.
pub fn variants() -> &'static [EngineConfig] {
    static VARIANTS: OnceLock<Vec<EngineConfig>> = OnceLock::new();
    VARIANTS.get_or_init(|| {
        (0..RULES.len() * SESSIONS.len())
            .map(|variant| {
                let config =
                    Config::from_yaml_str(&config_text(variant)).unwrap_or_else(|e| panic!("{e}"));
                let policy = Policy::compile(&config)
                    .unwrap_or_else(|e| panic!("{e}"))
                    .with_app_default(synwall_engine::appid::is_default_port);
                let mut cfg = EngineConfig::from_config(&config, Arc::new(policy), 0, 1);
                cfg.capacity = CAPACITY;
                cfg
            })
            .collect()
    })
}

fn names() -> &'static NameTable {
    static NAMES: OnceLock<NameTable> = OnceLock::new();
    NAMES.get_or_init(|| NameTable {
        ports: vec![
            "ethernet1/1".into(),
            "ethernet1/2".into(),
            "ethernet1/3".into(),
        ],
        zones: vec!["trust".into(), "untrust".into(), "dmz".into()],
        rules: (0..16).map(|i| format!("rule{i}")).collect(),
        apps: synwall_engine::app::names(),
    })
}

/// Reads the input; past its end every byte is 0.
struct Input<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Input<'_> {
    fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    fn u8(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    fn u32(&mut self) -> u32 {
        u32::from_be_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    fn bytes(&mut self, n: usize) -> &[u8] {
        let start = self.pos.min(self.data.len());
        let end = (start + n).min(self.data.len());
        self.pos += n;
        &self.data[start..end]
    }
}

/// The flow named by a flow byte.
fn endpoints(sel: u8) -> (usize, Endpoints) {
    let idx = if (sel as usize) < 0xc0 {
        sel as usize % HOT_FLOWS
    } else {
        HOT_FLOWS + (sel as usize - 0xc0)
    };
    let v6 = idx % 5 == 4;
    let host = |net: u8, h: u8| -> [u8; 16] {
        if v6 {
            let mut a = [0u8; 16];
            a[0] = 0xfd;
            a[13] = net;
            a[15] = h;
            a
        } else {
            synwall_engine::flow::v4_mapped([10, 0, net, h])
        }
    };
    let e = Endpoints {
        v6,
        client: host(0, 1 + (idx % 4) as u8),
        server: host(1, 1 + (idx % 8) as u8),
        client_port: 40_000 + idx as u16,
        server_port: DPORTS[idx % DPORTS.len()],
    };
    (idx, e)
}

/// A payload from a content and a size selector.
fn payload(content: u8, size: u8, input: &mut Input, counter: &mut u32) -> Vec<u8> {
    let mut p = match content % 8 {
        0 => Vec::new(),
        1 => b"GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n".to_vec(),
        2 => ClientHello::new(b"www.example.com").record(),
        3 => b"SSH-2.0-OpenSSH_9.2p1\r\n".to_vec(),
        4 => dns_query("www.example.com"),
        5 => b"220 mail.example.com ESMTP ready\r\n".to_vec(),
        6 => (0..64u32)
            .map(|i| {
                *counter = counter.wrapping_mul(1_103_515_245).wrapping_add(12_345 + i);
                (*counter >> 16) as u8
            })
            .collect(),
        _ => {
            let n = input.u8() as usize % 48;
            input.bytes(n).to_vec()
        }
    };
    let len = match size % 8 {
        0 => 0,
        1 => p.len(),
        2 => 1,
        3 => 10,
        4 => 100,
        5 => 512,
        6 => 1400,
        _ => 3000,
    };
    p.resize(len, 0);
    p
}

/// Both endpoints' next sequence numbers of a TCP flow (0: client, 1: server).
#[derive(Clone, Copy)]
struct TcpModel {
    nxt: [u32; 2],
}

/// One engine and everything the invariants need.
pub struct Driver {
    engine: Engine,
    ring: Arc<RecordRing>,
    counters: CounterBlock,
    variant: usize,
    now: u64,
    burst: Vec<(Vec<u8>, u8)>,
    tcp: [TcpModel; FLOWS],
    counter: u32,
    scratch: Vec<u8>,
    l4: Vec<u8>,
    ended: HashSet<u64>,
    started: HashSet<u64>,
    packets: u64,
    forwarded: u64,
    dropped: u64,
    max_active: usize,
}

/// What a run did (for the tests that check the decoder reaches what it should).
#[derive(Debug, Default)]
pub struct Summary {
    pub created: u64,
    pub ends: HashMap<EndReason, u64>,
    pub drops: HashMap<DropReason, u64>,
    pub max_active: usize,
    pub emitted: u64,
    pub end_records: usize,
    pub start_records: usize,
}

impl Summary {
    pub fn ended(&self, r: EndReason) -> u64 {
        self.ends.get(&r).copied().unwrap_or(0)
    }

    pub fn dropped(&self, r: DropReason) -> u64 {
        self.drops.get(&r).copied().unwrap_or(0)
    }
}

impl Driver {
    pub fn new(variant: usize) -> Driver {
        let variant = variant % variants().len();
        let ring = Arc::new(RecordRing::new(RING));
        let counters = CounterBlock::standalone();
        let engine = Engine::new(
            variants()[variant].clone(),
            counters.clone(),
            Arc::clone(&ring),
            START_NS,
        );
        let mut tcp = [TcpModel { nxt: [0; 2] }; FLOWS];
        for (i, m) in tcp.iter_mut().enumerate() {
            // Server ISNs near the top of sequence space: their numbers wrap mid-flow.
            let i = i as u32;
            m.nxt = [1_000 + 7_919 * i, 0xfff0_0000u32.wrapping_add(104_729 * i)];
        }
        Driver {
            engine,
            ring,
            counters,
            variant,
            now: START_NS,
            burst: Vec::with_capacity(BURST),
            tcp,
            counter: 1,
            scratch: Vec::new(),
            l4: Vec::new(),
            ended: HashSet::new(),
            started: HashSet::new(),
            packets: 0,
            forwarded: 0,
            dropped: 0,
            max_active: 0,
        }
    }

    /// Runs a whole fuzz input.
    pub fn run(data: &[u8]) {
        Self::run_summary(data);
    }

    /// Runs a whole fuzz input and tells what happened.
    pub fn run_summary(data: &[u8]) -> Summary {
        let mut input = Input { data, pos: 0 };
        let mut d = Driver::new(input.u8() as usize);
        let mut ops = 0;
        while !input.is_empty() && ops < MAX_OPS {
            d.op(&mut input);
            ops += 1;
        }
        d.finish();
        let c = d.counters.view();
        Summary {
            created: c.get(WorkerBlock::SESSIONS_CREATED),
            ends: EndReason::ALL
                .iter()
                .map(|&r| (r, c.get(WorkerBlock::ENDS + r.index())))
                .filter(|&(_, n)| n > 0)
                .collect(),
            drops: DropReason::ALL
                .iter()
                .map(|&r| (r, c.get(WorkerBlock::DROPS + r.index())))
                .filter(|&(_, n)| n > 0)
                .collect(),
            max_active: d.max_active,
            emitted: c.get(WorkerBlock::EMITTED),
            end_records: d.ended.len(),
            start_records: d.started.len(),
        }
    }

    fn queue(&mut self, ingress: u8) {
        let frame = std::mem::take(&mut self.scratch);
        self.burst.push((frame, ingress));
        if self.burst.len() == BURST {
            self.flush();
        }
    }

    fn ingress(from_client: bool, odd: bool) -> u8 {
        match (from_client, odd) {
            (true, false) => 0,
            (false, false) => 1,
            // The port with no virtual-wire peer, or a port that does not exist.
            (true, true) => 2,
            (false, true) => 7,
        }
    }

    fn op(&mut self, input: &mut Input) {
        match input.u8() % 32 {
            0..=11 => self.tcp_op(input),
            12..=15 => self.udp_op(input),
            16..=17 => self.echo_op(input),
            18 => self.icmp_error_op(input),
            19 => self.fragment_op(input),
            20 => {
                let n = input.u8() as usize;
                self.scratch = input.bytes(n).to_vec();
                self.queue(0);
            }
            21 => self.raw_l4_op(input),
            22..=25 => {
                const STEPS_MS: [u64; 12] = [
                    0,
                    1,
                    10,
                    250,
                    999,
                    1_000,
                    1_001,
                    2_000,
                    5_000,
                    30_000,
                    3_600_000,
                    50 * 86_400_000,
                ];
                self.flush();
                let step = STEPS_MS[input.u8() as usize % STEPS_MS.len()];
                self.now += step * 1_000_000;
                self.engine.expire(self.now);
                self.check();
            }
            26 => self.flush(),
            27 => {
                self.flush();
                self.run_timers();
                self.check();
            }
            28 => {
                self.flush();
                let sel = input.u8();
                let live: Vec<u32> = self.engine.sessions().live_slots().collect();
                let id = if live.is_empty() || sel == 0xff {
                    // A stale or made-up id: refused, nothing changes.
                    synwall_engine::pipeline::session_id(0, sel as u32 % CAPACITY, 2)
                } else {
                    let slot = live[sel as usize % live.len()];
                    self.engine.id_of(slot).expect("live slot has an id")
                };
                self.engine.clear_session(id, EndReason::Unknown, self.now);
                self.check();
            }
            29 => {
                self.flush();
                let rules = input.u8() as usize % RULES.len();
                let target = self.variant / RULES.len() * RULES.len() + rules;
                let cfg = &variants()[target];
                self.engine
                    .reload(Arc::clone(&cfg.policy), cfg.port_zone.clone(), self.now);
                self.check();
            }
            30 => {
                self.flush();
                let listed =
                    self.engine
                        .list(&SessionFilter::default(), self.now, names(), usize::MAX);
                let open = self
                    .engine
                    .sessions()
                    .live_slots()
                    .filter(|&s| !self.engine.sessions().value(s).has(session_flags::ENDED))
                    .count();
                assert_eq!(listed.len(), open, "list shows every session not ended");
                for slot in self.engine.sessions().live_slots() {
                    let v = self.engine.view(slot, self.now, names());
                    assert_eq!(Some(v.id), self.engine.id_of(slot));
                }
            }
            _ => {
                self.flush();
                self.engine.clear_all(EndReason::Unknown, self.now);
                self.check();
            }
        }
    }

    fn tcp_op(&mut self, input: &mut Input) {
        const FLAGS: [u8; 16] = [
            SYN,
            SYN | ACK,
            ACK,
            PSH | ACK,
            FIN | ACK,
            RST,
            RST | ACK,
            ACK,
            PSH | ACK,
            FIN | PSH | ACK,
            SYN, // with a new ISN
            FIN,
            0,
            SYN | FIN,
            URG | PSH | FIN,
            0, // raw flags byte follows
        ];
        const WINDOWS: [(u16, Option<u8>); 4] = [
            (65_535, Some(7)),
            (29_200, None),
            (1_024, Some(0)),
            (0, Some(14)),
        ];
        let (idx, e) = endpoints(input.u8());
        let a = input.u8();
        let b = input.u8();
        let from_client = a & 1 == 0;
        let flag_sel = (a >> 1) & 15;
        let seq_mode = (a >> 5) & 3;
        let odd_port = a & 0x80 != 0;
        let flags = match flag_sel {
            15 => input.u8(),
            f => FLAGS[f as usize],
        };
        let d = usize::from(!from_client);
        if flag_sel == 10 {
            self.tcp[idx].nxt[d] = input.u32();
        }
        let data = payload(b >> 3, b, input, &mut self.counter);
        let (window, wscale) = WINDOWS[(b >> 6) as usize];
        let model = self.tcp[idx];
        let mut seq = model.nxt[d];
        match seq_mode {
            0 | 1 => {}
            // A hole: a segment before this one never reached the firewall.
            2 => seq = seq.wrapping_add(1_400),
            _ => {
                let k = input.u8();
                seq = if k < 128 {
                    seq.wrapping_sub(u32::from(k) * 8) // an old segment, retransmitted
                } else {
                    input.u32()
                };
            }
        }
        let syn = flags & SYN != 0;
        let (_, _, sport, dport) = e.oriented(from_client);
        let mut t = TcpFields::new(sport, dport, TcpFlags(flags));
        t.seq = seq;
        if flags & ACK != 0 {
            t.ack = model.nxt[1 - d];
        }
        t.window = window;
        if syn {
            t.options = syn_options(Some(1460), true, wscale);
        }
        let len = data.len() as u32 + u32::from(syn) + u32::from(flags & FIN != 0);
        if seq_mode != 3 {
            self.tcp[idx].nxt[d] = seq.wrapping_add(len);
        }
        e.spec(from_client).write_tcp(&t, &data, &mut self.scratch);
        self.queue(Self::ingress(from_client, odd_port));
    }

    fn udp_op(&mut self, input: &mut Input) {
        let (_, e) = endpoints(input.u8());
        let a = input.u8();
        let from_client = a & 1 == 0;
        let data = payload(a >> 1, a >> 4, input, &mut self.counter);
        let (_, _, sport, dport) = e.oriented(from_client);
        let mut spec = e.spec(from_client);
        if a & 0x40 != 0 && a & 0x20 != 0 {
            spec = spec.with_vlan(100);
        }
        spec.write_udp(sport, dport, &data, &mut self.scratch);
        self.queue(Self::ingress(from_client, a & 0x80 != 0));
    }

    fn echo_op(&mut self, input: &mut Input) {
        let (_, e) = endpoints(input.u8());
        let a = input.u8();
        let from_client = a & 1 == 0;
        let request = from_client != (a & 2 != 0);
        let icmp_type = match (e.v6, request) {
            (false, true) => 8,
            (false, false) => 0,
            (true, true) => 128,
            (true, false) => 129,
        };
        // Types other than echo now and then: informational ICMP, neighbour discovery.
        let icmp_type = match (a >> 2) & 7 {
            0 if e.v6 => 135,
            1 => 13,
            _ => icmp_type,
        };
        let mut rest = Vec::new();
        rest.extend_from_slice(&e.client_port.to_be_bytes());
        rest.extend_from_slice(&1u16.to_be_bytes());
        rest.resize(4 + usize::from(a >> 5) * 16, 0xab);
        // ICMP for IPv4, ICMPv6 for IPv6.
        e.spec(from_client)
            .write_icmp(icmp_type, 0, &rest, &mut self.scratch);
        self.queue(Self::ingress(from_client, false));
    }

    fn icmp_error_op(&mut self, input: &mut Input) {
        let (idx, e) = endpoints(input.u8());
        let a = input.u8();
        let tcp = a & 1 == 0;
        // The packet the error is about: one the client sent.
        let (src, _, sport, dport) = e.oriented(true);
        let inner = if tcp {
            let mut t = TcpFields::new(sport, dport, TcpFlags(SYN));
            (t.seq, t.window) = (self.tcp[idx].nxt[0], 0);
            e.spec(true).tcp(&t, &[])
        } else {
            e.spec(true).udp(sport, dport, b"query")
        };
        let mut quote = vec![0u8; 4];
        let packet = ip_packet_of(&inner);
        let keep = if a & 8 != 0 { 12 } else { packet.len() };
        quote.extend_from_slice(&packet[..keep.min(packet.len())]);
        let (icmp_type, code) = match (e.v6, (a >> 1) & 3) {
            (false, 0) => (3, 3),
            (false, 1) => (3, 4),
            (false, 2) => (11, 0),
            (false, _) => (12, 0),
            (true, 0) => (1, 4),
            (true, 1) => (2, 0),
            (true, 2) => (3, 0),
            (true, _) => (4, 0),
        };
        // From the server, or from a router on the server's side.
        let mut from = e.server;
        if a & 16 != 0 {
            from[15] = 254;
        }
        frames::spec(e.v6, from, src).write_icmp(icmp_type, code, &quote, &mut self.scratch);
        self.queue(1);
    }

    fn fragment_op(&mut self, input: &mut Input) {
        let (_, e) = endpoints(input.u8());
        let a = input.u8();
        let first = a & 1 == 0;
        let more = a & 2 == 0;
        let tcp = a & 4 != 0;
        let (_, _, sport, dport) = e.oriented(true);
        if !first {
            self.l4 = vec![0x5a; 64];
        } else if tcp {
            let mut t = TcpFields::new(sport, dport, TcpFlags(SYN));
            t.window = 1024;
            self.l4 = t.segment(&[1; 32]);
            if a & 16 != 0 {
                // A first fragment too short for the TCP header.
                self.l4.truncate(8);
            }
        } else {
            self.l4 = udp_datagram(sport, dport, &[2; 40]);
        }
        let units = if first { 0 } else { 1 + u16::from(a >> 5) };
        let mut spec = e.spec(true).with_fragment(units * 8, more);
        if a & 8 != 0 {
            spec = spec.with_hop_by_hop();
        }
        let proto = if tcp { 6 } else { 17 };
        spec.write_raw(proto, &self.l4, &mut self.scratch);
        self.queue(0);
    }

    fn raw_l4_op(&mut self, input: &mut Input) {
        let (_, e) = endpoints(input.u8());
        let proto = match input.u8() % 6 {
            0 => 6,
            1 => 17,
            2 => 1,
            3 => 58,
            4 => 47,
            _ => input.u8(),
        };
        let a = input.u8();
        let from_client = a & 1 == 0;
        let n = input.u8() as usize;
        self.l4 = input.bytes(n).to_vec();
        let mut spec = e.spec(from_client);
        if a & 2 != 0 {
            spec = spec.with_vlan(7);
        }
        if a & 4 != 0 {
            spec = spec.with_hop_by_hop();
        }
        spec.write_raw(proto, &self.l4, &mut self.scratch);
        self.queue(Self::ingress(from_client, false));
    }

    /// Processes the pending burst and checks what came out.
    fn flush(&mut self) {
        if self.burst.is_empty() {
            return;
        }
        let ports: Vec<u8> = self.burst.iter().map(|(_, p)| *p).collect();
        let mut frames: Vec<&mut [u8]> = self
            .burst
            .iter_mut()
            .map(|(f, _)| f.as_mut_slice())
            .collect();
        let mut verdicts = vec![Verdict::Forward(synwall_engine::verdict::NO_PORT); frames.len()];
        let forwarded = self
            .engine
            .process_burst(self.now, &mut frames, &ports, &mut verdicts);
        self.packets += frames.len() as u64;
        let before = self.forwarded;
        for v in &verdicts {
            match v {
                Verdict::Forward(_) => self.forwarded += 1,
                Verdict::Drop(_) => self.dropped += 1,
                Verdict::HandOff(owner) => panic!("a lone worker handed a packet to {owner}"),
            }
        }
        // The worker sends a burst on whole when the count says every packet is forwarded.
        assert_eq!(
            forwarded as u64,
            self.forwarded - before,
            "process_burst's forwarded count against its verdicts"
        );
        let emits = self.engine.emits();
        assert!(emits.len() <= MAX_EMITS);
        for i in 0..emits.len() {
            let (frame, port) = emits.get(i);
            assert_ne!(port, u8::MAX, "an emitted packet has a port");
            if let Err(reason) = wire::parse(frame) {
                panic!("emitted packet does not parse ({reason}): {frame:02x?}");
            }
        }
        self.engine.clear_emits();
        self.burst.clear();
        self.check();
    }

    /// Runs every due timer, however many expiry budgets that takes.
    fn run_timers(&mut self) {
        for _ in 0..1_000 {
            match self.engine.next_timer() {
                Some(t) if t <= self.now => {
                    self.engine.expire(self.now);
                }
                _ => return,
            }
        }
        panic!("timers still due after 1000 expiry rounds");
    }

    /// The invariants that hold between any two steps.
    fn check(&mut self) {
        let c = self.counters.view();
        let active = self.engine.active_sessions();
        assert!(
            active <= CAPACITY as usize,
            "{active} sessions in a table of {CAPACITY}"
        );
        self.max_active = self.max_active.max(active);
        assert_eq!(c.get(WorkerBlock::SESSIONS_ACTIVE), active as u64);
        let created = c.get(WorkerBlock::SESSIONS_CREATED);
        let ended: u64 = EndReason::ALL
            .iter()
            .map(|r| c.get(WorkerBlock::ENDS + r.index()))
            .sum();
        let table = self.engine.sessions();
        // The index (growing or not) names every live slot once, reachably.
        table
            .check_index()
            .unwrap_or_else(|e| panic!("session index: {e}"));
        let open = table
            .live_slots()
            .filter(|&s| !table.value(s).has(session_flags::ENDED))
            .count() as u64;
        assert_eq!(
            created,
            ended + open,
            "created {created} != ended {ended} + open {open}"
        );
        while let Some(r) = self.ring.pop() {
            match r.subtype {
                Subtype::Start => {
                    assert!(self.started.insert(r.session_id), "two starts: {r:?}");
                }
                _ if r.session_id != 0 => {
                    assert!(self.ended.insert(r.session_id), "two ends: {r:?}");
                    assert_ne!(r.end_reason, EndReason::NotApplicable, "{r:?}");
                }
                // Refused before a session exists (non-SYN drops).
                _ => assert_eq!(r.drop_reason, Some(DropReason::NonSyn), "{r:?}"),
            }
        }
        assert_eq!(c.get(WorkerBlock::RECORDS_DROPPED), 0, "records lost");
        assert_eq!(c.get(WorkerBlock::PACKETS), self.packets);
        let drops: u64 = DropReason::ALL
            .iter()
            .map(|r| c.get(WorkerBlock::DROPS + r.index()))
            .sum();
        assert_eq!(drops, self.dropped);
        assert_eq!(self.packets, self.forwarded + self.dropped);
    }

    /// End of input: time passes every timeout, the timers empty the table, and every session
    /// created has ended exactly once.
    fn finish(&mut self) {
        self.flush();
        self.check();
        self.now += 3_600 * 1_000_000_000;
        self.run_timers();
        self.check();
        assert_eq!(
            self.engine.active_sessions(),
            0,
            "sessions left after every timeout passed"
        );
        self.engine.clear_all(EndReason::Unknown, self.now);
        self.check();
        let c = self.counters.view();
        let ended: u64 = EndReason::ALL
            .iter()
            .map(|r| c.get(WorkerBlock::ENDS + r.index()))
            .sum();
        assert_eq!(c.get(WorkerBlock::SESSIONS_CREATED), ended);
        // Every rule that logs starts logs ends too (`log_end` defaults to true).
        for id in &self.started {
            assert!(
                self.ended.contains(id),
                "session {id:#x} started, never ended"
            );
        }
    }
}

/// Builds engine inputs op by op (seeds and tests); the fuzzer mutates from there.
pub struct Script(Vec<u8>);

/// Flag selectors of [`Script::tcp`] (indexes into the TCP op's flag table).
pub mod flag {
    pub const SYN: u8 = 0;
    pub const SYN_ACK: u8 = 1;
    pub const ACK: u8 = 2;
    pub const PSH_ACK: u8 = 3;
    pub const FIN_ACK: u8 = 4;
    pub const RST: u8 = 5;
    pub const NEW_SYN: u8 = 10;
}

/// Payload content selectors.
pub mod content {
    pub const NONE: u8 = 0;
    pub const HTTP: u8 = 1;
    pub const TLS: u8 = 2;
    pub const SSH: u8 = 3;
    pub const DNS: u8 = 4;
}

/// Seq modes of [`Script::tcp_seq`].
pub mod seq {
    pub const EXACT: u8 = 0;
    pub const HOLE: u8 = 2;
}

/// Step selectors of [`Script::wait`].
pub mod step {
    pub const MS_250: u8 = 3;
    pub const S_2: u8 = 7;
    pub const S_5: u8 = 8;
    pub const S_30: u8 = 9;
}

impl Script {
    /// A script for variant `rules` x `session` (see `RULES`, `SESSIONS`).
    pub fn new(rules: u8, session: u8) -> Script {
        Script(vec![session * RULES.len() as u8 + rules])
    }

    /// A TCP segment of flow `flow` with flag selector `flags` (see [`flag`]); `size` 1 is
    /// the content's own length.
    pub fn tcp(self, flow: u8, from_client: bool, flags: u8, content: u8, size: u8) -> Script {
        self.tcp_seq(flow, from_client, flags, seq::EXACT, content, size)
    }

    pub fn tcp_seq(
        mut self,
        flow: u8,
        from_client: bool,
        flags: u8,
        seq_mode: u8,
        content: u8,
        size: u8,
    ) -> Script {
        let a = u8::from(!from_client) | (flags & 15) << 1 | (seq_mode & 3) << 5;
        self.0
            .extend_from_slice(&[0, flow, a, (size & 7) | (content & 7) << 3]);
        if flags == flag::NEW_SYN {
            self.0.extend_from_slice(&0x5eed_0000u32.to_be_bytes());
        }
        self
    }

    /// The whole handshake of a flow.
    pub fn handshake(self, flow: u8) -> Script {
        self.tcp(flow, true, flag::SYN, 0, 0)
            .tcp(flow, false, flag::SYN_ACK, 0, 0)
            .tcp(flow, true, flag::ACK, 0, 0)
    }

    pub fn udp(mut self, flow: u8, from_client: bool, content: u8, size: u8) -> Script {
        let a = u8::from(!from_client) | (content & 7) << 1 | (size & 3) << 4;
        self.0.extend_from_slice(&[12, flow, a]);
        self
    }

    pub fn echo(mut self, flow: u8, from_client: bool) -> Script {
        self.0
            .extend_from_slice(&[16, flow, u8::from(!from_client) | 0x08]);
        self
    }

    pub fn icmp_error(mut self, flow: u8, tcp: bool) -> Script {
        self.0.extend_from_slice(&[18, flow, u8::from(!tcp)]);
        self
    }

    pub fn wait(mut self, step: u8) -> Script {
        self.0.extend_from_slice(&[22, step]);
        self
    }

    pub fn flush(mut self) -> Script {
        self.0.push(26);
        self
    }

    pub fn timers(mut self) -> Script {
        self.0.push(27);
        self
    }

    pub fn reload(mut self, rules: u8) -> Script {
        self.0.extend_from_slice(&[29, rules]);
        self
    }

    pub fn views(mut self) -> Script {
        self.0.push(30);
        self
    }

    pub fn bytes(self) -> Vec<u8> {
        self.0
    }
}
