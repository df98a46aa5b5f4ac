//! A TCP conversation between one client and one server, as a capture on the link between
//! them would show it.
//!
//! The model keeps each side's next sequence number (`snd.nxt`): a segment carries the
//! sender's next sequence number and, when it has ACK set, acknowledges everything the peer
//! has sent so far. SYN and FIN count one each. So any sequence of calls gives consistent
//! sequence spaces, with or without a handshake (a conversation that starts with data is a
//! flow picked up mid-stream). Deliberate inconsistencies (lost or out-of-order segments,
//! bare ACKs) go through [`TcpConversation::skip`] and [`TcpConversation::segment_at`].
//!
//! Each emitted frame is stamped with the conversation's clock, which then advances by the
//! gap; [`TcpConversation::idle`] adds silence.

use crate::frame::{FrameSpec, IpPair, TcpFields, TcpFlags};
use crate::Frames;

/// Who sends a segment.
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

/// Client initial sequence number unless set: close to the wrap so that conversations
/// cross 2^32 (sequence arithmetic bugs show up in replay).
pub const DEFAULT_CLIENT_ISN: u32 = 0xffff_ff00;
pub const DEFAULT_SERVER_ISN: u32 = 0x1000_0000;
/// Gap between consecutive segments unless set: 1 ms, a whole number of microseconds so
/// that a microsecond pcap keeps timestamps exact.
pub const DEFAULT_GAP_NS: u64 = 1_000_000;
/// MSS announced on SYN and SYN-ACK.
pub const HANDSHAKE_MSS: u16 = 1460;
/// Window scale announced on SYN and SYN-ACK.
pub const HANDSHAKE_WINDOW_SCALE: u8 = 7;

struct Endpoint {
    spec: FrameSpec,
    port: u16,
    next_seq: u32,
}

pub struct TcpConversation {
    client: Endpoint,
    server: Endpoint,
    now_ns: u64,
    gap_ns: u64,
    frames: Frames,
}

impl TcpConversation {
    /// `ips` in the client-to-server direction. Nothing is emitted yet.
    pub fn new(ips: IpPair, client_port: u16, server_port: u16, start_ns: u64) -> Self {
        TcpConversation {
            client: Endpoint {
                spec: FrameSpec::from_client(ips),
                port: client_port,
                next_seq: DEFAULT_CLIENT_ISN,
            },
            server: Endpoint {
                spec: FrameSpec::from_server(ips.reversed()),
                port: server_port,
                next_seq: DEFAULT_SERVER_ISN,
            },
            now_ns: start_ns,
            gap_ns: DEFAULT_GAP_NS,
            frames: Vec::new(),
        }
    }

    pub fn with_isns(mut self, client_isn: u32, server_isn: u32) -> Self {
        self.client.next_seq = client_isn;
        self.server.next_seq = server_isn;
        self
    }

    pub fn with_gap(mut self, gap_ns: u64) -> Self {
        self.gap_ns = gap_ns;
        self
    }

    /// Tags both directions with an 802.1Q VLAN id.
    pub fn with_vlan(mut self, vlan_id: u16) -> Self {
        self.client.spec = self.client.spec.with_vlan(vlan_id);
        self.server.spec = self.server.spec.with_vlan(vlan_id);
        self
    }

    /// The next sequence number `side` will send (its `snd.nxt`).
    pub fn next_seq(&self, side: Side) -> u32 {
        self.endpoint(side).next_seq
    }

    /// Timestamp the next segment will carry.
    pub fn now_ns(&self) -> u64 {
        self.now_ns
    }

    pub fn frames(&self) -> &[(u64, Vec<u8>)] {
        &self.frames
    }

    pub fn into_frames(self) -> Frames {
        self.frames
    }

    /// SYN (with MSS, SACK-permitted, window scale), SYN-ACK (same options), ACK.
    pub fn handshake(&mut self) -> &mut Self {
        self.syn(Side::Client).syn(Side::Server).ack(Side::Client)
    }

    /// A SYN from the client, or a SYN-ACK from the server, with handshake options.
    pub fn syn(&mut self, from: Side) -> &mut Self {
        let flags = match from {
            Side::Client => TcpFlags::SYN,
            Side::Server => TcpFlags::SYN | TcpFlags::ACK,
        };
        self.segment(from, flags, &[])
    }

    /// A data segment (PSH|ACK).
    pub fn send(&mut self, from: Side, payload: &[u8]) -> &mut Self {
        self.segment(from, TcpFlags::PSH | TcpFlags::ACK, payload)
    }

    /// A pure ACK.
    pub fn ack(&mut self, from: Side) -> &mut Self {
        self.segment(from, TcpFlags::ACK, &[])
    }

    /// FIN|ACK.
    pub fn fin(&mut self, from: Side) -> &mut Self {
        self.segment(from, TcpFlags::FIN | TcpFlags::ACK, &[])
    }

    /// Orderly close started by `first`: FIN, the peer's FIN|ACK, the last ACK. The
    /// `first` side then sits in TIME_WAIT.
    pub fn close(&mut self, first: Side) -> &mut Self {
        self.fin(first).fin(first.peer()).ack(first)
    }

    /// RST|ACK at the sender's next sequence number (what a stack sends to abort).
    pub fn rst(&mut self, from: Side) -> &mut Self {
        self.segment(from, TcpFlags::RST | TcpFlags::ACK, &[])
    }

    /// A segment with `flags` at the sender's next sequence number, acknowledging everything
    /// the peer sent when ACK is set (ack 0 otherwise). Advances the sender by the payload,
    /// plus one for SYN and one for FIN. SYNs carry the handshake options.
    pub fn segment(&mut self, from: Side, flags: TcpFlags, payload: &[u8]) -> &mut Self {
        let seq = self.endpoint(from).next_seq;
        let ack = if flags.contains(TcpFlags::ACK) {
            self.endpoint(from.peer()).next_seq
        } else {
            0
        };
        self.segment_at(from, flags, seq, ack, payload);
        let consumed = payload.len() as u32
            + u32::from(flags.contains(TcpFlags::SYN))
            + u32::from(flags.contains(TcpFlags::FIN));
        let sender = self.endpoint_mut(from);
        sender.next_seq = sender.next_seq.wrapping_add(consumed);
        self
    }

    /// A segment with explicit seq and ack, changing no sequence state (bare ACKs of a broken
    /// handshake, retransmissions, forged RSTs).
    pub fn segment_at(
        &mut self,
        from: Side,
        flags: TcpFlags,
        seq: u32,
        ack: u32,
        payload: &[u8],
    ) -> &mut Self {
        let sender = self.endpoint(from);
        let mut tcp = TcpFields::new(sender.port, self.endpoint(from.peer()).port, flags);
        tcp.seq = seq;
        tcp.ack = ack;
        if flags.contains(TcpFlags::SYN) {
            tcp.mss = Some(HANDSHAKE_MSS);
            tcp.sack_permitted = true;
            tcp.window_scale = Some(HANDSHAKE_WINDOW_SCALE);
        } else {
            // After the handshake, windows are in scaled units: 64240 >> 7, rounded up.
            tcp.window = 502;
        }
        let frame = sender.spec.tcp(&tcp, payload);
        self.frames.push((self.now_ns, frame));
        self.now_ns += self.gap_ns;
        self
    }

    /// Advances `side`'s sequence number by `bytes` without emitting: a segment lost before
    /// the capture point. What `side` sends next is ahead of sequence.
    pub fn skip(&mut self, side: Side, bytes: u32) -> &mut Self {
        let endpoint = self.endpoint_mut(side);
        endpoint.next_seq = endpoint.next_seq.wrapping_add(bytes);
        self
    }

    /// Silence on the link for `ns` (on top of the usual gap).
    pub fn idle(&mut self, ns: u64) -> &mut Self {
        self.now_ns += ns;
        self
    }

    fn endpoint(&self, side: Side) -> &Endpoint {
        match side {
            Side::Client => &self.client,
            Side::Server => &self.server,
        }
    }

    fn endpoint_mut(&mut self, side: Side) -> &mut Endpoint {
        match side {
            Side::Client => &mut self.client,
            Side::Server => &mut self.server,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn conversation() -> TcpConversation {
        let ips = IpPair::V4 {
            src: Ipv4Addr::new(10, 0, 0, 1),
            dst: Ipv4Addr::new(10, 1, 0, 10),
        };
        TcpConversation::new(ips, 40000, 80, 1_000).with_isns(100, 5000)
    }

    /// (seq, ack, flags) of a frame without a VLAN tag or IP options.
    fn seq_ack_flags(frame: &[u8]) -> (u32, u32, u8) {
        let tcp = &frame[34..];
        let word = |at: usize| u32::from_be_bytes([tcp[at], tcp[at + 1], tcp[at + 2], tcp[at + 3]]);
        (word(4), word(8), tcp[13])
    }

    #[test]
    fn handshake_data_and_close_number_both_directions() {
        let mut conv = conversation();
        conv.handshake()
            .send(Side::Client, b"abc")
            .send(Side::Server, b"hello")
            .close(Side::Client);
        let got: Vec<_> = conv
            .frames()
            .iter()
            .map(|(_, f)| seq_ack_flags(f))
            .collect();
        assert_eq!(
            got,
            vec![
                (100, 0, 0x02),
                (5000, 101, 0x12),
                (101, 5001, 0x10),
                (101, 5001, 0x18),
                (5001, 104, 0x18),
                (104, 5006, 0x11),
                (5006, 105, 0x11),
                (105, 5007, 0x10),
            ]
        );
        let times: Vec<_> = conv.frames().iter().map(|(t, _)| *t).collect();
        assert_eq!(times[0], 1_000);
        assert_eq!(times[7], 1_000 + 7 * DEFAULT_GAP_NS);
    }

    #[test]
    fn skip_and_idle_move_state_without_emitting() {
        let mut conv = conversation();
        conv.skip(Side::Client, 10)
            .idle(500)
            .send(Side::Client, b"x");
        assert_eq!(conv.frames().len(), 1);
        assert_eq!(conv.frames()[0].0, 1_500);
        assert_eq!(seq_ack_flags(&conv.frames()[0].1), (110, 5000, 0x18));
        assert_eq!(conv.next_seq(Side::Client), 111);
    }

    #[test]
    fn sequence_numbers_wrap() {
        let mut conv = conversation().with_isns(u32::MAX, 0);
        conv.syn(Side::Client).send(Side::Client, b"ab");
        assert_eq!(seq_ack_flags(&conv.frames()[1].1).0, 0);
        assert_eq!(conv.next_seq(Side::Client), 2);
    }
}
