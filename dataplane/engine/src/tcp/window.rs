//! Per-direction sequence state and the window checks (conntrack's `tcp_in_window`, rewritten).
//!
//! Notation, for a segment travelling from `s` (sender) to `r` (receiver):
//! ```text
//!   seq, end = seq + len (+1 for SYN, +1 for FIN), ack,
//!   win = window << s.scale        (a SYN or SYN-ACK window is never scaled, RFC 7323 2.2)
//!
//!   s.end     highest `end` the sender has sent                          (td_end)
//!   s.maxend  highest `end` the receiver has allowed: max(ack + win) of its segments (td_maxend)
//!   s.maxwin  largest window the sender has advertised, 0 = sender not seen yet (td_maxwin)
//! ```
//! A segment is in window when
//! ```text
//!   I.   seq <= s.maxend                      it starts inside what the receiver allowed
//!   II.  end >= s.end - r.maxwin              it is not older than the receiver's largest window
//!   III. ack <= r.end                         it acknowledges nothing the receiver has not sent
//!   IV.  ack >= r.end - max(s.maxwin, 66000)  it is not an acknowledgement from long ago
//! ```
//! III and IV only apply when the segment carries ACK and the receiver has been seen. An empty
//! segment (no payload, no SYN, no FIN, not RST) is taken at `seq = end = s.end`: keep-alives
//! send `s.end - 1` and window probes may carry stale numbers, and neither may fail I/II nor
//! look out of order. `66000` is conntrack's `MAXACKWINCONST`: a little more than the largest
//! unscaled window, slack for acknowledgements overtaken by later ones.
//!
//! After an accepted segment:
//! ```text
//!   s.maxwin = max(s.maxwin, win)
//!   s.end    = max(s.end, end)
//!   r.maxend = max(r.maxend, ack + max(win, 1))   (a zero window still admits a 1-byte probe)
//!   if end > s.maxend: r.maxwin += end - s.maxend, s.maxend = end
//!       (the receiver's window was larger than we saw: believe the data that got through)
//! ```
//! A side marked liberal (picked up mid-stream, or never seen because of an asymmetric path)
//! skips I-IV: its window scale is unknown, so its windows cannot be judged. Updates still run.
//!
//! Hot path: integer arithmetic only, no allocation.

use serde::{Deserialize, Serialize};

use super::segment::{flags, Segment};
use super::seq::SeqNumber;
use super::table::TcpInvalid;

/// conntrack's `MAXACKWINCONST`, see the module documentation (bound IV).
const MIN_ACK_WINDOW: u32 = 66_000;
/// RFC 7323 2.3: shift counts above 14 are treated as 14.
const MAX_WSCALE: u8 = 14;

/// Bits of [`TcpPeer::bits`].
pub mod peer_bits {
    /// This side sent the window-scale option in its SYN / SYN-ACK.
    pub const WSCALE_OFFERED: u8 = 0x01;
    /// Window checks are skipped for segments from or to this side.
    pub const LIBERAL: u8 = 0x02;
    /// The other side has acknowledged this side's FIN.
    pub const FIN_ACKED: u8 = 0x04;
    /// This side has sent a FIN / SYN / ACK / RST (the flags whose history is kept: the FIN
    /// for the close, SYN and ACK for "did the handshake complete", all four for the CLI).
    pub const SENT_FIN: u8 = 0x08;
    pub const SENT_SYN: u8 = 0x10;
    pub const SENT_RST: u8 = 0x20;
    pub const SENT_ACK: u8 = 0x40;
}

/// The `SENT_*` peer bits a segment's flags set: TCP's FIN, SYN, RST flags are bits 0, 1, 2
/// and ACK is bit 4, so they shift into place.
#[inline(always)]
pub(crate) const fn sent_bits(seg_flags: u8) -> u8 {
    ((seg_flags & (flags::FIN | flags::SYN | flags::RST)) << 3) | ((seg_flags & flags::ACK) << 2)
}

const _: () = assert!(sent_bits(flags::FIN) == peer_bits::SENT_FIN);
const _: () = assert!(sent_bits(flags::SYN) == peer_bits::SENT_SYN);
const _: () = assert!(sent_bits(flags::RST) == peer_bits::SENT_RST);
const _: () = assert!(sent_bits(flags::ACK) == peer_bits::SENT_ACK);

/// What the tracker knows about one direction's sequence space (conntrack's `ip_ct_tcp_state`).
///
/// Packed to 2-byte alignment: 18 bytes instead of 20, so two peers and the tracker's own fields
/// fit the session's size budget. Fields are read and written by value (x86 loads unaligned
/// words at full speed); never take a reference to one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[repr(C, packed(2))]
pub struct TcpPeer {
    /// Highest end of sequence space sent (`td_end`).
    pub end: SeqNumber,
    /// Highest end the other side's windows allow (`td_maxend`).
    pub maxend: SeqNumber,
    /// Largest (scaled) window advertised; 0 until a segment from this side is tracked.
    pub maxwin: u32,
    /// Everything before this has been seen or acknowledged: a segment starting after it
    /// leaves a hole, i.e. it is out of order. `next <= end`.
    pub next: SeqNumber,
    /// Window scale shift applied to this side's windows (`td_scale`).
    pub scale: u8,
    /// See [`peer_bits`].
    pub bits: u8,
}

/// A segment's numbers as the checks use them (after the empty-segment rule).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SegNumbers {
    pub seq: SeqNumber,
    pub end: SeqNumber,
    /// `None` when the segment carries no ACK.
    pub ack: Option<SeqNumber>,
    /// Window in bytes (scaled unless SYN).
    pub win: u32,
    /// The segment occupies sequence space (payload, SYN or FIN).
    pub occupies_space: bool,
}

impl TcpPeer {
    /// This side as the sender of a SYN or SYN-ACK.
    pub fn from_syn(seg: &Segment) -> TcpPeer {
        let end = SeqNumber(seg.seq) + seg.seq_len();
        let (scale, bits) = match seg.wscale {
            Some(shift) => (shift.min(MAX_WSCALE), peer_bits::WSCALE_OFFERED),
            None => (0, 0),
        };
        TcpPeer {
            end,
            maxend: end,
            maxwin: u32::from(seg.window).max(1),
            next: end,
            scale,
            bits: bits | sent_bits(seg.flags),
        }
    }

    /// This side as the sender of a non-SYN segment, the first one seen from it. Its scale is
    /// unknown (it was in a SYN we did not see), so the window is taken unscaled and the side
    /// should be liberal.
    pub fn from_midstream(seg: &Segment) -> TcpPeer {
        let end = SeqNumber(seg.seq) + seg.seq_len();
        let maxwin = u32::from(seg.window).max(1);
        TcpPeer {
            end,
            maxend: end + maxwin,
            maxwin,
            next: end,
            scale: 0,
            bits: peer_bits::LIBERAL | sent_bits(seg.flags),
        }
    }

    /// A side known only from the other side's acknowledgement: it will send `ack` next.
    /// `maxwin` stays 0 so its first segment initialises it.
    pub fn from_ack(ack: u32) -> TcpPeer {
        let at = SeqNumber(ack);
        TcpPeer {
            end: at,
            maxend: at,
            next: at,
            bits: peer_bits::LIBERAL,
            ..TcpPeer::default()
        }
    }

    /// Whether a segment from this side has been tracked.
    pub const fn seen(&self) -> bool {
        self.maxwin != 0
    }

    pub const fn has_bit(&self, bit: u8) -> bool {
        self.bits & bit != 0
    }

    /// The TCP flags (FIN, SYN, RST, ACK only) this side has sent.
    pub const fn flags_sent(&self) -> u8 {
        ((self.bits >> 3) & (flags::FIN | flags::SYN | flags::RST))
            | ((self.bits >> 2) & flags::ACK)
    }

    /// The numbers of a segment sent by this side, with the empty-segment rule applied.
    pub(crate) fn numbers(&self, seg: &Segment) -> SegNumbers {
        let syn = seg.has(flags::SYN);
        let occupies_space = seg.seq_len() != 0;
        let (seq, end) = if !occupies_space && !seg.has(flags::RST) {
            (self.end, self.end)
        } else {
            (SeqNumber(seg.seq), SeqNumber(seg.seq) + seg.seq_len())
        };
        let win = if syn {
            u32::from(seg.window)
        } else {
            u32::from(seg.window) << self.scale
        };
        let ack = seg.has(flags::ACK).then_some(SeqNumber(seg.ack));
        SegNumbers {
            seq,
            end,
            ack,
            win,
            occupies_space,
        }
    }
}

/// Bounds I-IV (module documentation) for a segment from `s` to `r`.
pub(crate) fn in_window(s: &TcpPeer, r: &TcpPeer, n: &SegNumbers) -> Result<(), TcpInvalid> {
    if s.has_bit(peer_bits::LIBERAL) || r.has_bit(peer_bits::LIBERAL) {
        return Ok(());
    }
    let seq_ok = n.seq <= { s.maxend } && n.end >= s.end - r.maxwin;
    if !seq_ok {
        return Err(TcpInvalid::SeqOutOfWindow);
    }
    if let (Some(ack), true) = (n.ack, r.seen()) {
        let ack_ok = ack <= { r.end } && ack >= r.end - s.maxwin.max(MIN_ACK_WINDOW);
        if !ack_ok {
            return Err(TcpInvalid::AckOutOfWindow);
        }
    }
    Ok(())
}

/// Whether a RST's sequence number is acceptable in a synchronised state: inside the same
/// bounds I and II as data (conntrack's choice; RFC 5961 3 would demand an exact match, which
/// a middlebox that misses segments cannot check). Liberal sides accept any RST.
pub(crate) fn rst_in_window(s: &TcpPeer, r: &TcpPeer, seq: u32) -> bool {
    if s.has_bit(peer_bits::LIBERAL) || r.has_bit(peer_bits::LIBERAL) {
        return true;
    }
    let seq = SeqNumber(seq);
    seq <= { s.maxend } && seq >= s.end - r.maxwin
}

/// Whether a tracked segment from `s` starts after a hole: `seq > s.next` for a segment that
/// occupies sequence space. Retransmissions and in-order data are not out of order.
pub(crate) fn is_out_of_order(s: &TcpPeer, n: &SegNumbers) -> bool {
    n.occupies_space && n.seq > { s.next }
}

/// Applies an accepted segment from `s` to `r` (the update rules in the module documentation,
/// plus the out-of-order bookkeeping and the FIN-acknowledged bit). Inlined: the tracker's
/// established step is its hot caller.
#[inline]
pub(crate) fn update(s: &mut TcpPeer, r: &mut TcpPeer, seg: &Segment, n: &SegNumbers) {
    s.bits |= sent_bits(seg.flags);
    s.maxwin = s.maxwin.max(n.win);
    s.end = s.end.max(n.end);
    if n.seq <= { s.next } {
        // In order (or a retransmission reaching past the hole): the contiguous part grows.
        s.next = s.next.max(n.end);
    }
    if n.end > { s.maxend } {
        if r.seen() {
            r.maxwin = r.maxwin.saturating_add(n.end.diff(s.maxend) as u32);
        }
        s.maxend = n.end;
    }
    if let Some(ack) = n.ack {
        r.maxend = r.maxend.max(ack + n.win.max(1));
        // The receiver of the ACK has delivered everything before it: the hole, if any, is
        // filled up to there. Never past what we saw (liberal sides skip bound III).
        if ack > { r.next } && ack <= { r.end } {
            r.next = ack;
        }
        if r.bits & peer_bits::SENT_FIN != 0 && ack >= { r.end } {
            r.bits |= peer_bits::FIN_ACKED;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::flags::*;
    use super::*;

    fn seg(f: u8, seq: u32, ack: u32, window: u16, len: u32) -> Segment {
        Segment {
            flags: f,
            seq,
            ack,
            window,
            wscale: None,
            payload_len: len,
        }
    }

    /// Client ISN 1000 (end 1001), server ISN 5000 (end 5001), both windows 1000, no scaling,
    /// after the SYN-ACK: the client may send up to 1001 + 1000.
    fn handshake_peers() -> (TcpPeer, TcpPeer) {
        let mut client = TcpPeer::from_syn(&seg(SYN, 1000, 0, 1000, 0));
        let synack = seg(SYN | ACK, 5000, 1001, 1000, 0);
        let mut server = TcpPeer::from_syn(&synack);
        let n = server.numbers(&synack);
        update(&mut server, &mut client, &synack, &n);
        (client, server)
    }

    #[test]
    fn syn_initialises_the_sender() {
        let mut s = seg(SYN, u32::MAX, 0, 0, 0);
        s.wscale = Some(20);
        let p = TcpPeer::from_syn(&s);
        assert_eq!({ p.end }, SeqNumber(0), "ISN + 1 wraps");
        assert_eq!({ p.maxend }, { p.end });
        assert_eq!({ p.maxwin }, 1, "a zero window still counts as seen");
        assert_eq!(p.scale, 14, "shift capped at 14");
        assert!(p.has_bit(peer_bits::WSCALE_OFFERED));
    }

    #[test]
    fn synack_opens_the_clients_window() {
        let (client, server) = handshake_peers();
        assert_eq!({ client.maxend }, SeqNumber(2001));
        assert_eq!({ server.end }, SeqNumber(5001));
    }

    #[test]
    fn bound_one_rejects_data_beyond_the_window() {
        let (client, server) = handshake_peers();
        let fits = client.numbers(&seg(ACK, 2001, 5001, 1000, 10));
        assert_eq!(
            in_window(&client, &server, &fits),
            Ok(()),
            "starts at maxend"
        );
        let beyond = client.numbers(&seg(ACK, 2002, 5001, 1000, 10));
        assert_eq!(
            in_window(&client, &server, &beyond),
            Err(TcpInvalid::SeqOutOfWindow)
        );
    }

    #[test]
    fn bound_two_rejects_data_older_than_a_window() {
        let (client, server) = handshake_peers();
        // s.end = 1001, r.maxwin = 1000: a segment must end at or after 1.
        let old = client.numbers(&seg(ACK, u32::MAX - 20, 5001, 1000, 10));
        assert_eq!(
            in_window(&client, &server, &old),
            Err(TcpInvalid::SeqOutOfWindow)
        );
        let retransmit = client.numbers(&seg(ACK, 991, 5001, 1000, 10));
        assert_eq!(in_window(&client, &server, &retransmit), Ok(()));
    }

    #[test]
    fn bounds_three_and_four_check_the_ack() {
        let (client, server) = handshake_peers();
        let future = client.numbers(&seg(ACK, 1001, 5002, 1000, 0));
        assert_eq!(
            in_window(&client, &server, &future),
            Err(TcpInvalid::AckOutOfWindow)
        );
        let ancient = client.numbers(&seg(ACK, 1001, 5001u32.wrapping_sub(66_001), 1000, 0));
        assert_eq!(
            in_window(&client, &server, &ancient),
            Err(TcpInvalid::AckOutOfWindow)
        );
        let slack = client.numbers(&seg(ACK, 1001, 5001u32.wrapping_sub(66_000), 1000, 0));
        assert_eq!(in_window(&client, &server, &slack), Ok(()));
    }

    #[test]
    fn empty_segments_are_taken_at_the_senders_end() {
        let (client, server) = handshake_peers();
        // A keep-alive one byte back, and a bare ACK with a wild seq: neither fails I/II.
        for wild in [1000, 1_000_000] {
            let n = client.numbers(&seg(ACK, wild, 5001, 1000, 0));
            assert_eq!(n.seq, { client.end });
            assert_eq!(in_window(&client, &server, &n), Ok(()));
            assert!(!is_out_of_order(&client, &n));
        }
        // A RST keeps its own number.
        let n = client.numbers(&seg(RST, 1_000_000, 0, 0, 0));
        assert_eq!(n.seq, SeqNumber(1_000_000));
    }

    #[test]
    fn windows_after_the_handshake_are_scaled() {
        let mut client = TcpPeer::from_syn(&seg(SYN, 0, 0, 100, 0));
        client.scale = 3;
        assert_eq!(client.numbers(&seg(ACK, 1, 0, 100, 0)).win, 800);
        assert_eq!(
            client.numbers(&seg(SYN, 0, 0, 100, 0)).win,
            100,
            "SYN windows unscaled"
        );
    }

    #[test]
    fn liberal_sides_skip_the_checks() {
        let (mut client, server) = handshake_peers();
        let beyond = client.numbers(&seg(ACK, 900_000, 77, 1000, 10));
        assert!(in_window(&client, &server, &beyond).is_err());
        assert!(!rst_in_window(&client, &server, 900_000));
        client.bits |= peer_bits::LIBERAL;
        assert_eq!(in_window(&client, &server, &beyond), Ok(()));
        assert!(rst_in_window(&client, &server, 900_000));
    }

    #[test]
    fn rst_bounds() {
        let (client, server) = handshake_peers();
        assert!(rst_in_window(&client, &server, 1001));
        assert!(rst_in_window(&client, &server, 2001), "up to maxend");
        assert!(!rst_in_window(&client, &server, 2002));
        assert!(
            rst_in_window(&client, &server, 1),
            "down to end - receiver maxwin"
        );
        assert!(!rst_in_window(&client, &server, 0));
    }

    #[test]
    fn holes_open_and_close() {
        let (mut client, mut server) = handshake_peers();
        let send = |c: &mut TcpPeer, s: &mut TcpPeer, seq: u32| {
            let sg = seg(ACK, seq, 5001, 1000, 100);
            let n = c.numbers(&sg);
            let ooo = is_out_of_order(c, &n);
            update(c, s, &sg, &n);
            ooo
        };
        assert!(!send(&mut client, &mut server, 1001));
        assert!(send(&mut client, &mut server, 1201), "1101..1201 missing");
        assert!(
            send(&mut client, &mut server, 1301),
            "still behind the hole"
        );
        assert_eq!(
            (client.next, client.end),
            (SeqNumber(1101), SeqNumber(1401))
        );
        assert!(
            !send(&mut client, &mut server, 1101),
            "the retransmission fills it"
        );
        assert_eq!({ client.next }, SeqNumber(1201));
        // The server acknowledges everything: no hole left.
        let ack = seg(ACK, 5001, 1401, 1000, 0);
        let n = server.numbers(&ack);
        update(&mut server, &mut client, &ack, &n);
        assert_eq!({ client.next }, { client.end });
    }

    #[test]
    fn data_beyond_maxend_grows_the_receivers_window() {
        let (mut client, mut server) = handshake_peers();
        let sg = seg(ACK, 2001, 5001, 1000, 500);
        let n = client.numbers(&sg);
        update(&mut client, &mut server, &sg, &n);
        assert_eq!({ client.maxend }, SeqNumber(2501));
        assert_eq!({ server.maxwin }, 1500);
    }

    #[test]
    fn fin_acknowledged_bit() {
        let (mut client, mut server) = handshake_peers();
        let fin = seg(FIN | ACK, 1001, 5001, 1000, 0);
        let n = client.numbers(&fin);
        update(&mut client, &mut server, &fin, &n);
        assert_eq!({ client.end }, SeqNumber(1002));
        let short = seg(ACK, 5001, 1001, 1000, 0);
        let n = server.numbers(&short);
        update(&mut server, &mut client, &short, &n);
        assert!(
            !client.has_bit(peer_bits::FIN_ACKED),
            "ACK of the data before the FIN"
        );
        let full = seg(ACK, 5001, 1002, 1000, 0);
        let n = server.numbers(&full);
        update(&mut server, &mut client, &full, &n);
        assert!(client.has_bit(peer_bits::FIN_ACKED));
    }
}
