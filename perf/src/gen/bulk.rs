//! Bulk benchmark traffic: many flows, streamed one frame at a time so that a capture of
//! ten million flows never sits in memory.
//!
//! # Ordering
//! Flows are generated in windows of [`BulkProfile::window`] flows (default 1024). Within a
//! window the generator goes round by round: packet 0 of every flow, then packet 1 of every
//! flow, and so on; then the next window. So consecutive packets belong to different flows
//! (session lookups miss the cache as in real traffic), yet each flow's packets stay close in
//! time (a SYN-ACK follows its SYN by one window, well inside handshake timeouts).
//!
//! With [`BulkProfile::shuffle_rounds`], every round after the first visits the window's flows
//! in a new random order: the first round still opens them in order, but the later packets of
//! each flow arrive in no relation to the order their sessions were opened in, as on a link
//! where many flows interleave. (Replayed in the order they opened, a firewall's sessions are
//! read in the order they were stored, which a CPU's prefetcher streams.)
//!
//! # Packets of a flow
//! - UDP: `packets_per_flow` datagrams.
//! - TCP with `handshake`: SYN, SYN-ACK, ACK, then `packets_per_flow` PSH|ACK data segments
//!   (the handshake is extra). Without: only the data segments, a flow picked up mid-stream.
//! - `both_directions`: data packets alternate client, server, client, ... (packet 0 from the
//!   client); otherwise all data goes client to server.
//! - CPS profile ([`BulkProfile::cps`]): every packet is a new flow: a TCP SYN (followed by
//!   the client's RST with `cps_close`), or one UDP
//!   datagram.
//!
//! Flows are never closed: benchmarks measure table load, and sessions age out.
//!
//! # Sizes
//! A size is an Ethernet frame length *including* the 4-byte FCS, as traffic generators and
//! RFC 2544 count them; the capture holds the frame without FCS (size - 4 bytes). Payload
//! fills the frame; a size too small for the headers gives header-only frames (an IPv6 TCP
//! segment is at least 74 bytes without FCS), and frames below 60 bytes are padded.
//!
//! IMIX is the "simple IMIX" 7:4:1 of 64, 570 and 1518-byte frames, exactly: each flow
//! cycles through the fixed 12-slot pattern [`IMIX_PATTERN`] from a per-flow starting slot,
//! per direction. Every 12 consecutive data packets of one direction of a flow therefore hold
//! seven 64s, four 570s and one 1518 (average 353.8 bytes with FCS). Handshake segments are
//! header-only whatever the size.
//!
//! # Addresses
//! Flow `i` is mapped through a seeded bijection of 32 bits, then split into a client
//! address (20 bits) and a client port (12 bits): 5-tuples are unique for up to 2^32 flows
//! and neighbouring flows differ in their address bits, so RSS spreads them.
//! - IPv4: clients 10.a.b.c with c in 1..=254 (a < 17); servers 172.16.x.y, 1000 of them.
//! - IPv6: clients 2001:db8:c000::/64 with the 20 bits in the interface id; servers
//!   2001:db8:5e00::/112.
//! - Client ports 1024..=5119; server port 5201 for TCP, 5001 for UDP.
//!
//! Everything derives from the seed: the same profile gives the same bytes.

use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr};

use synwall_engine::capture::{CaptureError, PcapWriter};
use synwall_testkit::conv::{HANDSHAKE_MSS, HANDSHAKE_WINDOW_SCALE};
use synwall_testkit::frame::{
    FrameSpec, IpPair, TcpFields, TcpFlags, TcpOptions, IP_PROTO_TCP, IP_PROTO_UDP,
};
use synwall_testkit::Rng;

use super::IpFamily;

/// Frame sizes (with FCS) of the simple IMIX, in the order each flow cycles through them.
pub const IMIX_PATTERN: [u16; 12] = [64, 570, 64, 64, 1518, 64, 570, 64, 64, 570, 64, 570];
/// Ethernet FCS length: counted in sizes, absent from captures.
pub const FCS_LEN: usize = 4;
/// Largest frame size accepted (jumbo frames, with FCS).
pub const MAX_FRAME_SIZE: u16 = 9018;
/// Smallest frame size accepted (Ethernet's minimum, with FCS).
pub const MIN_FRAME_SIZE: u16 = 64;
pub const BULK_TCP_SERVER_PORT: u16 = 5201;
pub const BULK_UDP_SERVER_PORT: u16 = 5001;
/// Largest window: 16 Mi flows of state, about 320 MiB.
pub const MAX_WINDOW: u32 = 1 << 24;
const SERVER_POOL: u32 = 1000;
const FIRST_CLIENT_PORT: u16 = 1024;
const HANDSHAKE_ROUNDS: u32 = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BulkProto {
    Udp,
    Tcp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameSize {
    /// Every frame this size (with FCS).
    Fixed(u16),
    /// The 7:4:1 simple IMIX, see the module doc.
    Imix,
}

/// What to generate. Build with [`BulkProfile::new`] or [`BulkProfile::cps`], then adjust
/// the public fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BulkProfile {
    pub flows: u64,
    pub packets_per_flow: u32,
    pub proto: BulkProto,
    pub handshake: bool,
    pub size: FrameSize,
    pub both_directions: bool,
    pub family: IpFamily,
    pub seed: u64,
    /// Every packet a new flow (TCP SYN or one UDP datagram); the per-flow options are
    /// ignored.
    pub cps: bool,
    /// With `cps` and TCP: each SYN is followed (one window later) by the client's RST, so
    /// the session ends and a replayed capture (`infinite_rx`) opens it again on every pass
    /// (`tcp-reuse` of the closed entry): a steady session-setup load.
    pub cps_close: bool,
    /// Flows interleaved at a time.
    pub window: u32,
    /// Rounds after the first visit the window's flows in a new random order each.
    pub shuffle_rounds: bool,
    pub start_ns: u64,
    /// Capture time between consecutive frames.
    pub gap_ns: u64,
}

/// A profile that cannot be generated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProfileError {
    NoFlows,
    /// More flows than the 32-bit address/port space holds.
    TooManyFlows(u64),
    /// No packet at all per flow (0 packets and no handshake).
    EmptyFlows,
    /// Window of 0, or above [`MAX_WINDOW`] (its state would not stay small).
    BadWindow(u32),
    SizeOutOfRange(u16),
}

impl std::fmt::Display for ProfileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProfileError::NoFlows => f.write_str("at least one flow is needed"),
            ProfileError::TooManyFlows(n) => write!(f, "{n} flows: at most 2^32"),
            ProfileError::EmptyFlows => f.write_str("flows need at least one packet"),
            ProfileError::BadWindow(window) => {
                write!(f, "window {window} outside 1..={MAX_WINDOW}")
            }
            ProfileError::SizeOutOfRange(size) => write!(
                f,
                "frame size {size} outside {MIN_FRAME_SIZE}..={MAX_FRAME_SIZE}"
            ),
        }
    }
}

impl std::error::Error for ProfileError {}

impl BulkProfile {
    /// `flows` flows of `packets_per_flow` packets, one direction, 64-byte frames, IPv4,
    /// seed 1, window 1024, 1 µs apart from [`super::scenarios::SCENARIO_EPOCH_NS`].
    pub fn new(flows: u64, packets_per_flow: u32, proto: BulkProto) -> Self {
        BulkProfile {
            flows,
            packets_per_flow,
            proto,
            handshake: false,
            size: FrameSize::Fixed(MIN_FRAME_SIZE),
            both_directions: false,
            family: IpFamily::V4,
            seed: 1,
            cps: false,
            cps_close: false,
            window: 1024,
            shuffle_rounds: false,
            start_ns: super::scenarios::SCENARIO_EPOCH_NS,
            gap_ns: 1_000,
        }
    }

    /// Connections per second: `flows` packets, each opening a new flow.
    pub fn cps(flows: u64, proto: BulkProto) -> Self {
        BulkProfile {
            cps: true,
            ..BulkProfile::new(flows, 1, proto)
        }
    }

    pub fn validate(&self) -> Result<(), ProfileError> {
        if self.flows == 0 {
            return Err(ProfileError::NoFlows);
        }
        if self.flows > 1 << 32 {
            return Err(ProfileError::TooManyFlows(self.flows));
        }
        if self.rounds_per_flow() == 0 {
            return Err(ProfileError::EmptyFlows);
        }
        if self.window == 0 || self.window > MAX_WINDOW {
            return Err(ProfileError::BadWindow(self.window));
        }
        if let FrameSize::Fixed(size) = self.size {
            if !(MIN_FRAME_SIZE..=MAX_FRAME_SIZE).contains(&size) {
                return Err(ProfileError::SizeOutOfRange(size));
            }
        }
        Ok(())
    }

    /// Frames the profile produces.
    pub fn total_packets(&self) -> u64 {
        self.flows * u64::from(self.rounds_per_flow())
    }

    fn has_handshake(&self) -> bool {
        !self.cps && self.handshake && self.proto == BulkProto::Tcp
    }

    fn rounds_per_flow(&self) -> u32 {
        if self.cps {
            return if self.cps_close && self.proto == BulkProto::Tcp {
                2
            } else {
                1
            };
        }
        let handshake = if self.has_handshake() {
            HANDSHAKE_ROUNDS
        } else {
            0
        };
        handshake + self.packets_per_flow
    }
}

/// Per-flow state of the current window.
#[derive(Clone, Copy, Default)]
struct FlowState {
    client_next_seq: u32,
    server_next_seq: u32,
    client_packets: u32,
    server_packets: u32,
    imix_slot: u8,
}

/// Streams a profile's frames: `while let Some((ts, frame)) = generator.next_frame()`.
pub struct BulkGenerator {
    profile: BulkProfile,
    window_start: u64,
    window_len: u32,
    round: u32,
    flow_in_window: u32,
    flows: Vec<FlowState>,
    /// The order the current round visits the window's flows in (`shuffle_rounds`; empty
    /// otherwise, and in the first round: in order).
    order: Vec<u32>,
    now_ns: u64,
    frame: Vec<u8>,
    payload: Vec<u8>,
}

impl BulkGenerator {
    pub fn new(profile: BulkProfile) -> Result<Self, ProfileError> {
        profile.validate()?;
        let mut generator = BulkGenerator {
            profile,
            window_start: 0,
            window_len: 0,
            round: 0,
            flow_in_window: 0,
            flows: Vec::with_capacity(profile.window as usize),
            order: Vec::new(),
            now_ns: profile.start_ns,
            frame: Vec::with_capacity(usize::from(MAX_FRAME_SIZE)),
            // Recognisable, constant payload bytes: app-ID sees "unknown".
            payload: (0..MAX_FRAME_SIZE)
                .map(|i| b"synwall-gen "[i as usize % 12])
                .collect(),
        };
        generator.start_window(0);
        Ok(generator)
    }

    /// The next frame and its timestamp, or `None` when the profile is done. The frame is
    /// borrowed from a buffer reused for every frame.
    pub fn next_frame(&mut self) -> Option<(u64, &[u8])> {
        if self.round == self.profile.rounds_per_flow() {
            let next_start = self.window_start + u64::from(self.window_len);
            if next_start >= self.profile.flows {
                return None;
            }
            self.start_window(next_start);
        }
        let in_window = match self.order.get(self.flow_in_window as usize) {
            Some(&shuffled) => shuffled,
            None => self.flow_in_window,
        };
        let flow_index = self.window_start + u64::from(in_window);
        self.build_frame(flow_index, in_window as usize, self.round);
        self.flow_in_window += 1;
        if self.flow_in_window == self.window_len {
            self.flow_in_window = 0;
            self.round += 1;
            if self.profile.shuffle_rounds {
                self.shuffle_order();
            }
        }
        let timestamp = self.now_ns;
        self.now_ns += self.profile.gap_ns;
        Some((timestamp, &self.frame))
    }

    /// A new random order of the window's flows for the next round, seeded by the profile's
    /// seed, the window and the round: the same capture every time.
    fn shuffle_order(&mut self) {
        let n = self.window_len;
        self.order.clear();
        self.order.extend(0..n);
        let seed =
            mix64(self.profile.seed ^ 0x05ff_1e00, self.window_start) ^ u64::from(self.round);
        Rng::new(seed).shuffle(&mut self.order);
    }

    fn start_window(&mut self, first_flow: u64) {
        let remaining = self.profile.flows - first_flow;
        // CPS flows have one packet each: a window changes nothing but the bookkeeping.
        self.window_len = remaining.min(u64::from(self.profile.window)) as u32;
        self.window_start = first_flow;
        self.round = 0;
        self.flow_in_window = 0;
        self.order.clear();
        self.flows.clear();
        for offset in 0..u64::from(self.window_len) {
            let bits = mix64(self.profile.seed ^ 0x5eed, first_flow + offset);
            self.flows.push(FlowState {
                client_next_seq: bits as u32,
                server_next_seq: (bits >> 32) as u32,
                client_packets: 0,
                server_packets: 0,
                imix_slot: (bits % IMIX_PATTERN.len() as u64) as u8,
            });
        }
    }

    fn build_frame(&mut self, flow_index: u64, slot: usize, round: u32) {
        let ips = flow_ips(self.profile.family, self.profile.seed, flow_index);
        let client_port = flow_client_port(self.profile.seed, flow_index);
        let client = FrameSpec::from_client(ips);
        let server = FrameSpec::from_server(ips.reversed());
        let profile = self.profile;
        let state = &mut self.flows[slot];
        let server_port = match profile.proto {
            BulkProto::Tcp => BULK_TCP_SERVER_PORT,
            BulkProto::Udp => BULK_UDP_SERVER_PORT,
        };
        let mut tcp = TcpFields::new(client_port, server_port, TcpFlags::SYN);
        // MSS; NOP, window scale (no SACK-permitted).
        tcp.options = TcpOptions::NONE
            .mss(HANDSHAKE_MSS)
            .nop()
            .window_scale(HANDSHAKE_WINDOW_SCALE);
        tcp.seq = state.client_next_seq;

        if profile.cps {
            match profile.proto {
                BulkProto::Tcp if round == 1 => {
                    // The client gives up: RST at the sequence number after its SYN.
                    let mut rst = TcpFields::new(client_port, server_port, TcpFlags::RST);
                    rst.seq = state.client_next_seq.wrapping_add(1);
                    client.write_tcp(&rst, &[], &mut self.frame)
                }
                BulkProto::Tcp => client.write_tcp(&tcp, &[], &mut self.frame),
                BulkProto::Udp => {
                    let len = payload_len(&client, IP_PROTO_UDP, profile.size, state.imix_slot);
                    client.write_udp(
                        client_port,
                        server_port,
                        &self.payload[..len],
                        &mut self.frame,
                    )
                }
            }
            return;
        }

        if profile.has_handshake() && round < HANDSHAKE_ROUNDS {
            match round {
                0 => {
                    client.write_tcp(&tcp, &[], &mut self.frame);
                    state.client_next_seq = state.client_next_seq.wrapping_add(1);
                }
                1 => {
                    tcp = TcpFields {
                        src_port: server_port,
                        dst_port: client_port,
                        seq: state.server_next_seq,
                        ack: state.client_next_seq,
                        flags: TcpFlags::SYN | TcpFlags::ACK,
                        ..tcp
                    };
                    server.write_tcp(&tcp, &[], &mut self.frame);
                    state.server_next_seq = state.server_next_seq.wrapping_add(1);
                }
                _ => {
                    let mut ack = TcpFields::new(client_port, server_port, TcpFlags::ACK);
                    ack.seq = state.client_next_seq;
                    ack.ack = state.server_next_seq;
                    client.write_tcp(&ack, &[], &mut self.frame);
                }
            }
            return;
        }

        let data_round = round
            - if profile.has_handshake() {
                HANDSHAKE_ROUNDS
            } else {
                0
            };
        let from_server = profile.both_directions && data_round % 2 == 1;
        let (spec, side_packets) = if from_server {
            (&server, &mut state.server_packets)
        } else {
            (&client, &mut state.client_packets)
        };
        let imix_slot = ((u32::from(state.imix_slot) + *side_packets) % 12) as u8;
        *side_packets += 1;
        match profile.proto {
            BulkProto::Udp => {
                let len = payload_len(spec, IP_PROTO_UDP, profile.size, imix_slot);
                let (src, dst) = if from_server {
                    (server_port, client_port)
                } else {
                    (client_port, server_port)
                };
                spec.write_udp(src, dst, &self.payload[..len], &mut self.frame);
            }
            BulkProto::Tcp => {
                let len = payload_len(spec, IP_PROTO_TCP, profile.size, imix_slot);
                let (seq, ack, src, dst) = if from_server {
                    (
                        state.server_next_seq,
                        state.client_next_seq,
                        server_port,
                        client_port,
                    )
                } else {
                    (
                        state.client_next_seq,
                        state.server_next_seq,
                        client_port,
                        server_port,
                    )
                };
                let mut segment = TcpFields::new(src, dst, TcpFlags::PSH | TcpFlags::ACK);
                segment.seq = seq;
                segment.ack = ack;
                spec.write_tcp(&segment, &self.payload[..len], &mut self.frame);
                let sender_seq = if from_server {
                    &mut state.server_next_seq
                } else {
                    &mut state.client_next_seq
                };
                *sender_seq = sender_seq.wrapping_add(len as u32);
            }
        }
    }
}

/// Payload bytes that make a frame of the profile's size (with FCS), 0 if the headers alone
/// are larger.
fn payload_len(spec: &FrameSpec, protocol: u8, size: FrameSize, imix_slot: u8) -> usize {
    let size = match size {
        FrameSize::Fixed(size) => size,
        FrameSize::Imix => IMIX_PATTERN[usize::from(imix_slot) % IMIX_PATTERN.len()],
    };
    (usize::from(size) - FCS_LEN).saturating_sub(spec.frame_len(protocol, 0))
}

/// Writes every frame of `profile` to `writer`; returns the number of frames.
pub fn write_bulk<W: Write>(
    profile: BulkProfile,
    writer: &mut PcapWriter<W>,
) -> Result<u64, BulkError> {
    let mut generator = BulkGenerator::new(profile).map_err(BulkError::Profile)?;
    let mut written = 0;
    while let Some((timestamp, frame)) = generator.next_frame() {
        writer
            .write_record(timestamp, frame)
            .map_err(BulkError::Capture)?;
        written += 1;
    }
    Ok(written)
}

#[derive(Debug)]
pub enum BulkError {
    Profile(ProfileError),
    Capture(CaptureError),
}

impl std::fmt::Display for BulkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BulkError::Profile(err) => write!(f, "bad profile: {err}"),
            BulkError::Capture(err) => write!(f, "{err}"),
        }
    }
}

impl std::error::Error for BulkError {}

/// A seeded bijection of `u32` (odd multiplications and xor-shifts are each invertible).
fn permute32(value: u32, seed: u64) -> u32 {
    let mut x = value ^ (seed >> 32) as u32;
    x = x.wrapping_mul(0x9e37_79b1);
    x ^= x >> 16;
    x = x.wrapping_add(seed as u32);
    x = x.wrapping_mul(0x85eb_ca6b);
    x ^= x >> 13;
    x = x.wrapping_mul(0xc2b2_ae35);
    x ^= x >> 16;
    x
}

/// splitmix64 of `seed + index`: per-flow random bits.
fn mix64(seed: u64, index: u64) -> u64 {
    let mut z = seed.wrapping_add(index.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Client-to-server addresses of flow `index` (see the module doc).
pub fn flow_ips(family: IpFamily, seed: u64, index: u64) -> IpPair {
    let client_bits = permute32(index as u32, seed) >> 12;
    let server = (mix64(seed, index) % u64::from(SERVER_POOL)) as u32;
    match family {
        IpFamily::V4 => {
            let host = 1 + client_bits % 254;
            let rest = client_bits / 254;
            IpPair::V4 {
                src: Ipv4Addr::new(10, (rest >> 8) as u8, rest as u8, host as u8),
                dst: Ipv4Addr::new(172, 16, (server / 250) as u8, (1 + server % 250) as u8),
            }
        }
        IpFamily::V6 => IpPair::V6 {
            src: Ipv6Addr::new(
                0x2001,
                0xdb8,
                0xc000,
                0,
                0,
                0,
                (client_bits >> 16) as u16,
                client_bits as u16,
            ),
            dst: Ipv6Addr::new(0x2001, 0xdb8, 0x5e00, 0, 0, 0, 0, 1 + server as u16),
        },
    }
}

/// Client port of flow `index`: the low 12 bits of its permuted index, from 1024.
pub fn flow_client_port(seed: u64, index: u64) -> u16 {
    FIRST_CLIENT_PORT + (permute32(index as u32, seed) & 0x0fff) as u16
}

#[cfg(test)]
#[path = "bulk_tests.rs"]
mod tests;
