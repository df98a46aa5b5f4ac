//! Two-sided conversations: a client and a server talking across the device under test, as
//! a capture on the link between them would show it (in the spirit of quinn-proto's
//! `tests/util.rs`, without I/O and with a virtual clock).
//!
//! A conversation records every frame its sides send, stamped with its clock, which then
//! advances by the gap ([`Conversation::idle`] adds silence). A capture generator takes the
//! frames ([`Conversation::into_frames`]); a test hands the frames not yet delivered to
//! whatever processes packets ([`Conversation::deliver`]), each on the device port its sender
//! sits behind, and gets back what that returned:
//!
//! ```
//! # use synwall_testkit::conv::{Side, TcpConversation};
//! # use synwall_testkit::frame::IpPair;
//! let ips = IpPair::v4([10, 0, 0, 1], [10, 1, 0, 10]);
//! let mut talk = TcpConversation::new(ips, 40000, 80, 0).with_device_ports(0, 1);
//! let mut seen = Vec::new();
//! talk.handshake().send(Side::Client, b"GET /");
//! let out = talk.deliver(|_now, frame, port| { seen.push(frame.len()); port ^ 1 });
//! assert_eq!(out, [1, 0, 1, 1], "the client's frames arrive on port 0, the server's on 1");
//! ```
//!
//! [`TcpConversation`] keeps both sequence spaces right; [`UdpConversation`] sends datagrams.

mod tcp;
#[cfg(test)]
mod tests;
mod udp;

pub use tcp::{
    Tcp, TcpConversation, DEFAULT_CLIENT_ISN, DEFAULT_SERVER_ISN, HANDSHAKE_MSS,
    HANDSHAKE_WINDOW_SCALE,
};
pub use udp::{Udp, UdpConversation};

use crate::frame::{FrameSpec, IpPair};
use crate::Frames;

/// Gap between consecutive frames unless set: 1 ms, a whole number of microseconds so that a
/// microsecond pcap keeps timestamps exact.
pub const DEFAULT_GAP_NS: u64 = 1_000_000;

/// Who sends a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Client,
    Server,
}

impl Side {
    pub fn peer(self) -> Side {
        match self {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        }
    }
}

/// A conversation over transport `T` ([`Tcp`] or [`Udp`]): both sides' frame specs, the
/// device port behind which each side sits, the clock, and what was sent.
pub struct Conversation<T> {
    client: FrameSpec,
    server: FrameSpec,
    /// Device ports: the client's frames arrive on the first, the server's on the second.
    device_ports: [u8; 2],
    now_ns: u64,
    gap_ns: u64,
    frames: Frames,
    senders: Vec<Side>,
    delivered: usize,
    transport: T,
}

impl<T> Conversation<T> {
    /// `ips` in the client-to-server direction. Nothing is sent yet.
    fn with_transport(ips: IpPair, start_ns: u64, transport: T) -> Self {
        Conversation {
            client: FrameSpec::from_client(ips),
            server: FrameSpec::from_server(ips.reversed()),
            device_ports: [0, 1],
            now_ns: start_ns,
            gap_ns: DEFAULT_GAP_NS,
            frames: Vec::new(),
            senders: Vec::new(),
            delivered: 0,
            transport,
        }
    }

    pub fn with_gap(mut self, gap_ns: u64) -> Self {
        self.gap_ns = gap_ns;
        self
    }

    /// Tags both directions with an 802.1Q VLAN id.
    pub fn with_vlan(self, vlan_id: u16) -> Self {
        self.with_specs(|spec| spec.with_vlan(vlan_id))
    }

    /// Changes both sides' frame specs (tags, TTL, padding, checksums).
    pub fn with_specs(mut self, change: impl Fn(FrameSpec) -> FrameSpec) -> Self {
        self.client = change(self.client);
        self.server = change(self.server);
        self
    }

    /// The device ports the client and the server sit behind (0 and 1 unless set).
    pub fn with_device_ports(mut self, client: u8, server: u8) -> Self {
        self.device_ports = [client, server];
        self
    }

    /// The spec `side` sends with.
    pub fn spec(&self, side: Side) -> &FrameSpec {
        match side {
            Side::Client => &self.client,
            Side::Server => &self.server,
        }
    }

    /// The device port `side`'s frames arrive on.
    pub fn device_port(&self, side: Side) -> u8 {
        self.device_ports[usize::from(side == Side::Server)]
    }

    /// Timestamp the next frame will carry.
    pub fn now_ns(&self) -> u64 {
        self.now_ns
    }

    /// Silence on the link for `ns` (on top of the usual gap).
    pub fn idle(&mut self, ns: u64) -> &mut Self {
        self.now_ns += ns;
        self
    }

    pub fn frames(&self) -> &[(u64, Vec<u8>)] {
        &self.frames
    }

    /// Who sent each of [`Self::frames`].
    pub fn senders(&self) -> &[Side] {
        &self.senders
    }

    pub fn into_frames(self) -> Frames {
        self.frames
    }

    /// Hands every frame not yet delivered, in order, to `device` as (timestamp, frame,
    /// device port of its sender) and returns what it answered, one value a frame.
    pub fn deliver<R>(&mut self, mut device: impl FnMut(u64, &[u8], u8) -> R) -> Vec<R> {
        let start = self.delivered;
        self.delivered = self.frames.len();
        (start..self.frames.len())
            .map(|i| {
                let port = self.device_port(self.senders[i]);
                let (at, frame) = &self.frames[i];
                device(*at, frame, port)
            })
            .collect()
    }

    /// Records a frame from `side` at the current time; the clock moves on by the gap.
    fn sent(&mut self, side: Side, frame: Vec<u8>) -> &mut Self {
        self.frames.push((self.now_ns, frame));
        self.senders.push(side);
        self.now_ns += self.gap_ns;
        self
    }
}
