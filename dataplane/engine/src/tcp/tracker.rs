//! `TcpTracker`: one session's TCP state, driven segment by segment.
//!
//! `on_segment` looks the segment up in the table, then applies the named exceptions below,
//! each a small pure function with its own test: `fin_is_retransmit`, `synack_acks_syn`,
//! `handshake_ack_ok`, `rst_acceptable`, `is_broken_handshake_rst`, `close_step_done`.

use serde::{Deserialize, Serialize};

use super::segment::{flags, segment_class, SegClass, Segment};
use super::seq::SeqNumber;
use super::state::TcpState;
use super::table::{transition, Cell, TcpInvalid};
use super::window::{self, peer_bits, TcpPeer};
use crate::dir::Dir;
use crate::reasons::{DropReason, EndReason};

/// Session-wide TCP options (from `session.*` in the config). Plain data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcpConfig {
    /// Out-of-order segments allowed per flow (PAN-OS default 64); one more ends the session
    /// `resources-unavailable`. The count saturates at 65535, so larger limits never trip.
    pub out_of_order_limit: u32,
    /// `asymmetric_path: bypass`: a handshake completed without its SYN-ACK is accepted.
    pub asymmetric_bypass: bool,
}

impl Default for TcpConfig {
    fn default() -> TcpConfig {
        TcpConfig {
            out_of_order_limit: 64,
            asymmetric_bypass: false,
        }
    }
}

/// What the caller does with the segment and the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpAction {
    /// Forward; the session goes on.
    Accept,
    /// Forward; the session has just ended with this reason (`tcp-fin`, `tcp-rst-from-*`). The
    /// tracker is now in TIME_WAIT or CLOSE: keep the entry for its timeout class to absorb
    /// late segments. Reported once per session.
    AcceptAndEnd(EndReason),
    /// Refuse the segment; the session goes on unchanged.
    Drop(DropReason),
    /// Refuse the segment and end the session now with this reason (out-of-order limit).
    DropAndEnd(DropReason, EndReason),
    /// A SYN on a closing or ended session: end the old one with `tcp-reuse` (unless it already
    /// ended, `has_ended()`, and so has its reason) and open a new session from this SYN, whose
    /// sender is the new client.
    Reuse,
}

/// The tracker's answer for one segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpVerdict {
    pub action: TcpAction,
    /// Why the tracker refused the segment (`Drop(TcpInvalid)`), for debug counters.
    pub invalid: Option<TcpInvalid>,
    /// The segment starts after a hole in its direction's sequence space.
    pub out_of_order: bool,
    /// This RST completes a broken handshake: SYN, a bare ACK from the server (it held an old
    /// connection), RST from the client matching that ACK.
    pub broken_handshake: bool,
    /// A client ACK completed a handshake whose SYN-ACK was never seen (asymmetric path);
    /// `action` already applies `asymmetric_bypass`.
    pub asymmetric: bool,
}

impl TcpVerdict {
    const fn new(action: TcpAction) -> TcpVerdict {
        TcpVerdict {
            action,
            invalid: None,
            out_of_order: false,
            broken_handshake: false,
            asymmetric: false,
        }
    }

    const fn invalid(why: TcpInvalid) -> TcpVerdict {
        TcpVerdict {
            invalid: Some(why),
            ..TcpVerdict::new(TcpAction::Drop(DropReason::TcpInvalid))
        }
    }

    /// Whether the segment is forwarded.
    pub const fn forwards(&self) -> bool {
        matches!(self.action, TcpAction::Accept | TcpAction::AcceptAndEnd(_))
    }
}

/// Bits of `TcpTracker::bits`.
mod tracker_bits {
    /// A bare server ACK was forwarded in SYN_SENT; `stray_ack` holds its ACK number.
    pub const STRAY_ACK: u8 = 0x01;
    /// Picked up mid-stream (or asymmetrically): windows are judged leniently.
    pub const MIDSTREAM: u8 = 0x02;
}

/// One session's TCP tracking state: 44 bytes, `Copy`, serialisable for HA session sync.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcpTracker {
    /// Indexed by `Dir::index()`: what each side has sent.
    peers: [TcpPeer; 2],
    /// ACK number of the bare server ACK seen in SYN_SENT (valid with `STRAY_ACK`).
    stray_ack: SeqNumber,
    /// Out-of-order segments since the flow last had no hole (saturating).
    out_of_order: u16,
    state: TcpState,
    bits: u8,
}

const _: () = assert!(core::mem::size_of::<TcpTracker>() <= 44);

impl TcpTracker {
    /// Starts tracking from the client's SYN (the segment is consumed: do not pass it to
    /// `on_segment` again). State SYN_SENT.
    pub fn new_from_syn(seg: &Segment) -> TcpTracker {
        let mut peers = [TcpPeer::default(); 2];
        peers[Dir::ClientToServer.index()] = TcpPeer::from_syn(seg);
        TcpTracker {
            peers,
            stray_ack: SeqNumber(0),
            out_of_order: 0,
            state: TcpState::SynSent,
            bits: 0,
        }
    }

    /// Starts tracking a connection whose opening was not seen (`tcp_reject_non_syn: false`,
    /// or the asymmetric bypass of a lone SYN-ACK). `dir` is the direction of `seg` in the new
    /// session. Both sides are liberal: their window scales were in SYNs we did not see.
    ///
    /// - ACK: ESTABLISHED. FIN-ACK: FIN_WAIT.
    /// - SYN-ACK (with `dir = ServerToClient`): SYN_RECV; the client's ACK then completes it.
    /// - SYN: same as [`new_from_syn`](Self::new_from_syn) (the sender is the client).
    /// - RST or invalid flags: CLOSE. Callers should not open sessions for those
    ///   ([`can_open_midstream`](super::can_open_midstream)).
    pub fn new_midstream(dir: Dir, seg: &Segment) -> TcpTracker {
        let class = segment_class(seg.flags);
        let state = match class {
            SegClass::Syn => return TcpTracker::new_from_syn(seg),
            SegClass::SynAck => TcpState::SynRecv,
            SegClass::Ack => TcpState::Established,
            SegClass::Fin => TcpState::FinWait,
            SegClass::Rst | SegClass::Invalid => TcpState::Close,
        };
        let mut sender = match class {
            SegClass::SynAck => TcpPeer::from_syn(seg),
            _ => TcpPeer::from_midstream(seg),
        };
        sender.bits |= peer_bits::LIBERAL;
        let mut receiver = TcpPeer {
            bits: peer_bits::LIBERAL,
            ..TcpPeer::default()
        };
        if seg.has(flags::ACK) {
            receiver = TcpPeer::from_ack(seg.ack);
        }
        let mut peers = [TcpPeer::default(); 2];
        peers[dir.index()] = sender;
        peers[dir.reverse().index()] = receiver;
        TcpTracker {
            peers,
            stray_ack: SeqNumber(0),
            out_of_order: 0,
            state,
            bits: tracker_bits::MIDSTREAM,
        }
    }

    pub const fn state(&self) -> TcpState {
        self.state
    }

    /// What one direction has sent.
    pub const fn peer(&self, dir: Dir) -> &TcpPeer {
        &self.peers[dir.index()]
    }

    /// Out-of-order segments counted since the flow last had no hole.
    pub const fn out_of_order_count(&self) -> u16 {
        self.out_of_order
    }

    /// Whether the session was picked up mid-stream or asymmetrically (windows judged leniently).
    pub const fn is_midstream(&self) -> bool {
        self.bits & tracker_bits::MIDSTREAM != 0
    }

    /// Whether the session's end has been reported (TIME_WAIT or CLOSE).
    pub const fn has_ended(&self) -> bool {
        self.state.has_ended()
    }

    /// Tracks one segment travelling in `dir`. Drops leave the tracker unchanged.
    ///
    /// Hot path: a table lookup and integer arithmetic; no allocation, no lock, no clock.
    pub fn on_segment(&mut self, dir: Dir, seg: &Segment, cfg: &TcpConfig) -> TcpVerdict {
        let mut class = segment_class(seg.flags);
        if class == SegClass::Fin && fin_is_retransmit(self.peer(dir)) {
            class = SegClass::Ack;
        }
        match transition(dir, class, self.state) {
            Cell::Invalid(why) => TcpVerdict::invalid(why),
            Cell::Reuse => TcpVerdict::new(TcpAction::Reuse),
            Cell::Ignore => {
                if self.state == TcpState::SynSent && dir == Dir::ServerToClient {
                    // Only the bare server ACK is ignored here (see the table).
                    self.stray_ack = SeqNumber(seg.ack);
                    self.bits |= tracker_bits::STRAY_ACK;
                }
                TcpVerdict::new(TcpAction::Accept)
            }
            Cell::Asymmetric => self.on_asymmetric_ack(seg, cfg),
            Cell::Next(next) => self.advance(dir, class, next, seg, cfg),
        }
    }

    /// `on_segment`'s commonest case without its dispatch: an ACK segment (no SYN, FIN or RST)
    /// of an ESTABLISHED connection, from a side already seen, in window and in order. Returns
    /// `true` with the tracker exactly as `on_segment` would leave it, whose verdict would be a
    /// plain `Accept`; `false`, the tracker untouched, for any other segment, which the caller
    /// then gives to `on_segment`. (The class and state lookups, the exceptions and the
    /// verdict's bookkeeping are a third of `on_segment`'s instructions on a data segment.)
    #[inline(always)]
    pub fn established_step(&mut self, dir: Dir, seg: &Segment) -> bool {
        let class_bits = flags::SYN | flags::FIN | flags::RST | flags::ACK;
        if self.state != TcpState::Established || seg.flags & class_bits != flags::ACK {
            return false;
        }
        let (sender, receiver) = self.sender_receiver(dir);
        if !sender.seen() {
            return false;
        }
        let numbers = sender.numbers(seg);
        if window::in_window(sender, receiver, &numbers).is_err()
            || window::is_out_of_order(sender, &numbers)
        {
            return false;
        }
        self.track(dir, seg, &numbers);
        true
    }

    /// The side sending in `dir` and the side receiving.
    #[inline(always)]
    fn sender_receiver(&mut self, dir: Dir) -> (&mut TcpPeer, &mut TcpPeer) {
        let [first, second] = &mut self.peers;
        match dir {
            Dir::ClientToServer => (first, second),
            Dir::ServerToClient => (second, first),
        }
    }

    /// Applies an accepted segment's numbers to both sides; a flow with no hole left in
    /// either direction starts its out-of-order count again.
    #[inline(always)]
    fn track(&mut self, dir: Dir, seg: &Segment, numbers: &window::SegNumbers) {
        let (sender, receiver) = self.sender_receiver(dir);
        window::update(sender, receiver, seg, numbers);
        if self.peers.iter().all(|p| { p.next } >= { p.end }) {
            self.out_of_order = 0;
        }
    }

    /// A `Next` cell: the exceptions, window checks, bookkeeping, then the state change.
    fn advance(
        &mut self,
        dir: Dir,
        class: SegClass,
        next: TcpState,
        seg: &Segment,
        cfg: &TcpConfig,
    ) -> TcpVerdict {
        let (s, r) = (dir.index(), dir.reverse().index());
        match class {
            SegClass::Rst => {
                let broken = is_broken_handshake_rst(self, dir, seg);
                if !broken && !rst_acceptable(self.state, dir, &self.peers[s], &self.peers[r], seg)
                {
                    return TcpVerdict::invalid(TcpInvalid::RstOutOfWindow);
                }
                self.peers[s].bits |= window::sent_bits(seg.flags);
                let mut verdict = self.enter(next, rst_end_reason(dir));
                verdict.broken_handshake = broken;
                return verdict;
            }
            SegClass::Syn if self.state == TcpState::SynSent => {
                // Repeated SYN, perhaps with a new ISN: start over from it.
                *self = TcpTracker::new_from_syn(seg);
                return TcpVerdict::new(TcpAction::Accept);
            }
            SegClass::SynAck if self.state == TcpState::SynSent => {
                if !synack_acks_syn(&self.peers[r], seg) {
                    return TcpVerdict::invalid(TcpInvalid::SynAckBadAck);
                }
                self.init_synack_sender(dir, seg);
            }
            SegClass::Ack | SegClass::Fin
                if self.state == TcpState::SynRecv
                    && dir == Dir::ClientToServer
                    && !handshake_ack_ok(&self.peers[r], seg) =>
            {
                return TcpVerdict::invalid(TcpInvalid::HandshakeBadAck);
            }
            _ => {}
        }
        if !self.peers[s].seen() {
            // First segment from a side known only from an ACK (mid-stream, asymmetric).
            let liberal = self.peers[s].bits & peer_bits::LIBERAL;
            self.peers[s] = TcpPeer::from_midstream(seg);
            self.peers[s].bits |= liberal;
        }

        let numbers = self.peers[s].numbers(seg);
        if let Err(why) = window::in_window(&self.peers[s], &self.peers[r], &numbers) {
            return TcpVerdict::invalid(why);
        }
        let out_of_order = window::is_out_of_order(&self.peers[s], &numbers);
        if out_of_order {
            self.out_of_order = self.out_of_order.saturating_add(1);
            if u32::from(self.out_of_order) > cfg.out_of_order_limit {
                self.state = TcpState::Close;
                return TcpVerdict {
                    out_of_order,
                    ..TcpVerdict::new(TcpAction::DropAndEnd(
                        DropReason::OutOfOrderLimit,
                        EndReason::ResourcesUnavailable,
                    ))
                };
            }
        }

        self.track(dir, seg, &numbers);

        let next = if close_step_done(self.state, next, &self.peers) {
            next
        } else {
            self.state
        };
        TcpVerdict {
            out_of_order,
            ..self.enter(next, EndReason::TcpFin)
        }
    }

    /// The server's side from its SYN-ACK; window scaling holds only if both sides offered it.
    fn init_synack_sender(&mut self, dir: Dir, seg: &Segment) {
        let (s, r) = (dir.index(), dir.reverse().index());
        self.peers[s] = TcpPeer::from_syn(seg);
        let both = self.peers[s].has_bit(peer_bits::WSCALE_OFFERED)
            && self.peers[r].has_bit(peer_bits::WSCALE_OFFERED);
        if !both {
            self.peers[s].scale = 0;
            self.peers[r].scale = 0;
        }
        if self.is_midstream() {
            self.peers[s].bits |= peer_bits::LIBERAL;
        }
    }

    /// Client ACK in SYN_SENT: the server's SYN-ACK went another way.
    fn on_asymmetric_ack(&mut self, seg: &Segment, cfg: &TcpConfig) -> TcpVerdict {
        let client = Dir::ClientToServer.index();
        if SeqNumber(seg.seq) != { self.peers[client].end } {
            return TcpVerdict::invalid(TcpInvalid::AckNotAfterSyn);
        }
        if !cfg.asymmetric_bypass {
            return TcpVerdict {
                asymmetric: true,
                ..TcpVerdict::new(TcpAction::Drop(DropReason::Asymmetric))
            };
        }
        // Bypass: the server is known only from this ACK; judge both sides leniently.
        self.bits |= tracker_bits::MIDSTREAM;
        let server = Dir::ServerToClient.index();
        self.peers[server] = TcpPeer::from_ack(seg.ack);
        self.peers[client].bits |= peer_bits::LIBERAL;
        let [c, s] = &mut self.peers;
        let numbers = c.numbers(seg);
        window::update(c, s, seg, &numbers);
        self.state = TcpState::Established;
        TcpVerdict {
            asymmetric: true,
            ..TcpVerdict::new(TcpAction::Accept)
        }
    }

    /// Moves to `next`; reports the end once, when a live session reaches TIME_WAIT or CLOSE.
    fn enter(&mut self, next: TcpState, reason: EndReason) -> TcpVerdict {
        let was_ended = self.state.has_ended();
        self.state = next;
        if !was_ended && next.has_ended() {
            TcpVerdict::new(TcpAction::AcceptAndEnd(reason))
        } else {
            TcpVerdict::new(TcpAction::Accept)
        }
    }
}

/// A FIN from a side that already sent one is a retransmission (its FIN was not acknowledged
/// yet): it must not count as the other side's FIN, so it is looked up as an ACK.
fn fin_is_retransmit(sender: &TcpPeer) -> bool {
    sender.bits & peer_bits::SENT_FIN != 0
}

/// RFC 9293 3.10.7.3: in SYN-SENT an acceptable ACK acknowledges exactly the SYN (ISN + 1).
fn synack_acks_syn(client: &TcpPeer, seg: &Segment) -> bool {
    SeqNumber(seg.ack) == { client.end }
}

/// The segment completing the handshake (ACK or FIN-ACK) must acknowledge the SYN-ACK: in
/// SYN_RECV the server side always comes from a SYN-ACK, so its `end` is its ISN + 1.
fn handshake_ack_ok(server: &TcpPeer, seg: &Segment) -> bool {
    SeqNumber(seg.ack) == { server.end }
}

/// Whether a RST may close the session. In SYN_SENT a RST from the server is acceptable only if
/// it acknowledges the SYN (RFC 9293 3.10.7.3: "connection refused"); a RST from the client
/// must be at its ISN + 1. Elsewhere the sequence number must be in window.
fn rst_acceptable(state: TcpState, dir: Dir, s: &TcpPeer, r: &TcpPeer, seg: &Segment) -> bool {
    match (state, dir) {
        (TcpState::SynSent, Dir::ServerToClient) => {
            seg.has(flags::ACK) && SeqNumber(seg.ack) == { r.end }
        }
        (TcpState::SynSent, Dir::ClientToServer) => SeqNumber(seg.seq) == { s.end },
        _ => window::rst_in_window(s, r, seg.seq),
    }
}

/// The client's RST answering a bare server ACK in SYN_SENT: RFC 9293 3.10.7.3 makes a
/// SYN-SENT client answer an unacceptable ACK with `<SEQ=SEG.ACK><CTL=RST>`, so its sequence
/// number is the stray ACK's acknowledgement number. The server drops its stale connection;
/// the client's next SYN opens a new session.
fn is_broken_handshake_rst(t: &TcpTracker, dir: Dir, seg: &Segment) -> bool {
    t.state == TcpState::SynSent
        && dir == Dir::ClientToServer
        && t.bits & tracker_bits::STRAY_ACK != 0
        && SeqNumber(seg.seq) == t.stray_ack
}

/// An ACK in a closing state advances it only when it acknowledges enough: FIN_WAIT ->
/// CLOSE_WAIT needs the FIN acknowledged, LAST_ACK -> TIME_WAIT needs both FINs acknowledged.
/// Every other move proceeds. Called after the segment's bookkeeping (`FIN_ACKED` bits).
fn close_step_done(state: TcpState, next: TcpState, peers: &[TcpPeer; 2]) -> bool {
    let fin_acked =
        |p: &TcpPeer| !p.has_bit(peer_bits::SENT_FIN) || p.has_bit(peer_bits::FIN_ACKED);
    match (state, next) {
        (TcpState::FinWait, TcpState::CloseWait) | (TcpState::LastAck, TcpState::TimeWait) => {
            peers.iter().all(fin_acked)
        }
        _ => true,
    }
}

/// Which side's RST ended the session.
const fn rst_end_reason(dir: Dir) -> EndReason {
    match dir {
        Dir::ClientToServer => EndReason::TcpRstFromClient,
        Dir::ServerToClient => EndReason::TcpRstFromServer,
    }
}
