//! TCP: the model keeps each side's next sequence number (`snd.nxt`). A segment carries the
//! sender's next sequence number and, when it has ACK set, acknowledges everything the peer
//! has sent so far; SYN and FIN count one each. So any sequence of calls gives consistent
//! sequence spaces, with or without a handshake (a conversation that starts with data is a
//! flow picked up mid-stream). Deliberate inconsistencies (lost or out-of-order segments,
//! bare ACKs) go through [`TcpConversation::skip`] and [`TcpConversation::segment_at`].

use super::{Conversation, Side};
use crate::frame::{IpPair, TcpFields, TcpFlags, TcpOptions};

/// Client initial sequence number unless set: close to the wrap so that conversations
/// cross 2^32 (sequence arithmetic bugs show up in replay).
pub const DEFAULT_CLIENT_ISN: u32 = 0xffff_ff00;
pub const DEFAULT_SERVER_ISN: u32 = 0x1000_0000;
/// MSS announced on SYN and SYN-ACK.
pub const HANDSHAKE_MSS: u16 = 1460;
/// Window scale announced on SYN and SYN-ACK.
pub const HANDSHAKE_WINDOW_SCALE: u8 = 7;
/// Window of segments after the handshake unless set: 64240 >> 7, rounded up (scaled units).
const SCALED_WINDOW: u16 = 502;

#[derive(Clone, Copy)]
struct Endpoint {
    port: u16,
    next_seq: u32,
}

/// A TCP conversation's transport state: both endpoints and the shape of their segments.
pub struct Tcp {
    client: Endpoint,
    server: Endpoint,
    syn_options: TcpOptions,
    window: u16,
}

pub type TcpConversation = Conversation<Tcp>;

impl Conversation<Tcp> {
    /// `ips` in the client-to-server direction. Nothing is sent yet. SYNs carry MSS 1460,
    /// SACK-permitted and window scale 7; later segments a window of 502 (scaled).
    pub fn new(ips: IpPair, client_port: u16, server_port: u16, start_ns: u64) -> Self {
        let tcp = Tcp {
            client: Endpoint {
                port: client_port,
                next_seq: DEFAULT_CLIENT_ISN,
            },
            server: Endpoint {
                port: server_port,
                next_seq: DEFAULT_SERVER_ISN,
            },
            syn_options: TcpOptions::handshake(HANDSHAKE_MSS, HANDSHAKE_WINDOW_SCALE),
            window: SCALED_WINDOW,
        };
        Conversation::with_transport(ips, start_ns, tcp)
    }

    pub fn with_isns(mut self, client_isn: u32, server_isn: u32) -> Self {
        self.transport.client.next_seq = client_isn;
        self.transport.server.next_seq = server_isn;
        self
    }

    /// Options of SYNs and SYN-ACKs (none: windows are not scaled).
    pub fn with_syn_options(mut self, options: TcpOptions) -> Self {
        self.transport.syn_options = options;
        self
    }

    /// Window of every segment but SYNs (which announce 64240).
    pub fn with_window(mut self, window: u16) -> Self {
        self.transport.window = window;
        self
    }

    /// The next sequence number `side` will send (its `snd.nxt`).
    pub fn next_seq(&self, side: Side) -> u32 {
        self.endpoint(side).next_seq
    }

    /// SYN (with the SYN options), SYN-ACK (same options), ACK.
    pub fn handshake(&mut self) -> &mut Self {
        self.syn(Side::Client).syn(Side::Server).ack(Side::Client)
    }

    /// A SYN from the client, or a SYN-ACK from the server, with the SYN options.
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
    /// plus one for SYN and one for FIN. SYNs carry the SYN options.
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
        self.skip(from, consumed)
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
        let (sender, receiver) = (self.endpoint(from), self.endpoint(from.peer()));
        let mut tcp = TcpFields::new(sender.port, receiver.port, flags);
        tcp.seq = seq;
        tcp.ack = ack;
        if flags.contains(TcpFlags::SYN) {
            tcp.options = self.transport.syn_options;
        } else {
            tcp.window = self.transport.window;
        }
        let frame = self.spec(from).tcp(&tcp, payload);
        self.sent(from, frame)
    }

    /// Advances `side`'s sequence number by `bytes` without sending: a segment lost before
    /// the capture point. What `side` sends next is ahead of sequence.
    pub fn skip(&mut self, side: Side, bytes: u32) -> &mut Self {
        let endpoint = match side {
            Side::Client => &mut self.transport.client,
            Side::Server => &mut self.transport.server,
        };
        endpoint.next_seq = endpoint.next_seq.wrapping_add(bytes);
        self
    }

    fn endpoint(&self, side: Side) -> Endpoint {
        match side {
            Side::Client => self.transport.client,
            Side::Server => self.transport.server,
        }
    }
}
