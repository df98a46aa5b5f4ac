//! The session: what the table keeps per flow, and how long it may stay idle.

use serde::{Deserialize, Serialize};

use crate::config::TimeoutsNs;
use crate::dir::Dir;
use crate::records::NONE_ID;
use crate::tcp::{flags, timeout_class, Segment, TcpState, TcpTimeoutClass, TcpTracker};

/// `Session::pending_end` when no end reason is pending.
pub const NO_END: u8 = u8::MAX;

/// What kind of state a session tracks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[repr(u8)]
pub enum SessionKind {
    Tcp,
    Udp,
    Icmp,
    #[default]
    Other,
}

/// Bits of [`Session::flags`].
pub mod session_flags {
    /// The session has ended (its record is out); the entry stays to absorb late packets of a
    /// closed TCP connection until its TIME_WAIT timeout, then leaves silently.
    pub const ENDED: u8 = 0x01;
    /// Picked up mid-stream (`tcp_reject_non_syn: false`): app `non-syn-tcp`.
    pub const MIDSTREAM: u8 = 0x02;
    /// Write an end record when it ends.
    pub const LOG_END: u8 = 0x04;
    /// The table's key is the reverse of the client's view (the client is the key's `dst`).
    pub const CLIENT_IS_DST: u8 = 0x08;
    /// A handshake completed without its SYN-ACK was let through (`asymmetric_path: bypass`).
    pub const ASYMMETRIC: u8 = 0x10;
    /// Refused by the policy: a short discard entry (PAN-OS discard timeouts) that drops the
    /// flow's retransmissions; `pending_end` holds the rule's action.
    pub const DISCARD: u8 = 0x20;
    /// The policy decision waits for app-ID (some rule naming applications could match).
    pub const APP_PENDING: u8 = 0x40;
    /// App-ID has decided (or will not look: ICMP, mid-stream).
    pub const APP_DECIDED: u8 = 0x80;
}

/// One session: 80 bytes. The flow key lives in the table entry beside it; with its share of
/// the index a session costs at most 128 bytes (asserted in `pipeline`).
///
/// `repr(C)`, in this order: what a packet of an established UDP session reads and writes
/// comes first, in 16 bytes (flags, kind, the counters' low halves, last packet), so that with
/// the key before it that packet's work is the entry's first 32 bytes: one cache line wherever
/// a 96-byte entry starts (at 0 or 32 in a line). The counters' high parts take a carry now
/// and then; the TCP tracker and what only session start and end read come last.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[repr(C)]
pub struct Session {
    pub flags: u8,
    pub kind: SessionKind,
    /// Packets seen, by [`Dir::index`]: the low halves of 32-bit counters (the high halves in
    /// `packets_hi`); read them with [`Session::packets`].
    pub packets_lo: [u16; 2],
    /// Bytes seen, by [`Dir::index`]: the low 16 bits of 48-bit counters (256 TiB a direction;
    /// the rest in `bytes_hi`); read them with [`Session::bytes`].
    pub bytes_lo: [u16; 2],
    /// The end reason decided but not yet logged (`NO_END` if none): a closed TCP session keeps
    /// its entry through TIME_WAIT and is logged when it leaves, `tcp-fin`, or `tcp-reuse` if a
    /// new SYN takes its 5-tuple first (as PAN-OS does). The egress port is not stored: it is
    /// the ingress port's virtual-wire peer.
    pub pending_end: u8,
    pub ingress: u8,
    /// Last packet, in ms since the engine's epoch (differences wrap safely for 49 days, far
    /// above the longest timeout).
    pub last_seen_ms: u32,
    /// The counters' high parts: written when a low half carries (every 65,536 packets; for
    /// the bytes, every 44 frames of 1,514 bytes), so an established packet rarely touches
    /// their line.
    pub packets_hi: [u16; 2],
    pub bytes_hi: [u32; 2],
    /// Rule that allowed it (index into the policy), `NONE_ID` for the default rules.
    pub rule: u16,
    /// Application id (`crate::app`): `incomplete` until app-ID decides.
    pub app: u16,
    /// Start, in ms since the engine's epoch.
    pub start_ms: u32,
    /// TCP state (unused by other kinds).
    pub tcp: TcpTracker,
}

/// Bytes of a session, from its start, that a packet of an established UDP session reads and
/// writes (through the last packet's time).
pub const UDP_PACKET_BYTES: usize =
    std::mem::offset_of!(Session, last_seen_ms) + std::mem::size_of::<u32>();
const _: () = assert!(UDP_PACKET_BYTES == 16);

/// The tracker field of a session that is not TCP (never consulted).
pub fn untracked() -> TcpTracker {
    TcpTracker::new_from_syn(&Segment {
        flags: flags::SYN,
        ..Segment::default()
    })
}

impl Default for Session {
    fn default() -> Self {
        Session {
            tcp: untracked(),
            bytes_lo: [0; 2],
            bytes_hi: [0; 2],
            packets_lo: [0; 2],
            packets_hi: [0; 2],
            last_seen_ms: 0,
            start_ms: 0,
            ingress: 0,
            pending_end: NO_END,
            kind: SessionKind::Other,
            flags: 0,
            rule: NONE_ID,
            app: crate::app::INCOMPLETE,
        }
    }
}

impl Session {
    #[inline(always)]
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    /// The direction within this session of a packet that runs against its stored
    /// (canonical) key when `reversed` ([`crate::flow::FlowHash::reversed`]): the one place
    /// where the key's orientation and the client's side meet.
    #[inline(always)]
    pub fn dir_of(&self, reversed: bool) -> Dir {
        if reversed == self.has(session_flags::CLIENT_IS_DST) {
            Dir::ClientToServer
        } else {
            Dir::ServerToClient
        }
    }

    /// The idle timeout that applies now, in ns.
    #[inline]
    pub fn timeout_ns(&self, t: &TimeoutsNs) -> u64 {
        if self.has(session_flags::DISCARD) {
            return match self.kind {
                SessionKind::Tcp => t.discard_tcp,
                SessionKind::Udp => t.discard_udp,
                _ => t.discard_default,
            };
        }
        match self.kind {
            SessionKind::Tcp => match timeout_class(self.tcp.state()) {
                TcpTimeoutClass::Init => t.tcp_init,
                TcpTimeoutClass::Handshake => t.tcp_handshake,
                TcpTimeoutClass::Established => t.tcp,
                TcpTimeoutClass::HalfClosed => t.tcp_half_closed,
                TcpTimeoutClass::TimeWait | TcpTimeoutClass::Closed => t.tcp_time_wait,
            },
            SessionKind::Udp => t.udp,
            SessionKind::Icmp => t.icmp,
            SessionKind::Other => t.default,
        }
    }

    /// Whether the session, idle for `idle_ms`, has passed the timeout that applies now
    /// (`idle_ms * 1e6 > timeout_ns`, which for whole ms is `idle_ms > timeout_ns / 1e6`). A
    /// session without state to track reads its timeout from a table by kind: no match, no
    /// multiply for the packets of established UDP flows.
    #[inline(always)]
    pub fn idle_past_timeout(&self, idle_ms: u32, t: &TimeoutsNs) -> bool {
        if self.kind != SessionKind::Tcp && !self.has(session_flags::DISCARD) {
            return u64::from(idle_ms) > t.stateless_ms[self.kind as usize];
        }
        u64::from(idle_ms) * 1_000_000 > self.timeout_ns(t)
    }

    /// Counts a packet in direction `dir`.
    #[inline(always)]
    pub fn count(&mut self, dir: Dir, bytes: usize, now_ms: u32) {
        let d = dir.index();
        let (packets, carry) = self.packets_lo[d].overflowing_add(1);
        self.packets_lo[d] = packets;
        if carry {
            self.packets_hi[d] = self.packets_hi[d].wrapping_add(1);
        }
        let sum = u64::from(self.bytes_lo[d]) + bytes as u64;
        self.bytes_lo[d] = sum as u16;
        if sum >> 16 != 0 {
            self.bytes_hi[d] = self.bytes_hi[d].wrapping_add((sum >> 16) as u32);
        }
        self.last_seen_ms = now_ms;
    }

    /// Packets seen in direction `dir` (wraps at 2^32).
    #[inline]
    pub fn packets(&self, dir: Dir) -> u32 {
        let d = dir.index();
        u32::from(self.packets_hi[d]) << 16 | u32::from(self.packets_lo[d])
    }

    /// Bytes seen in direction `dir` (wraps at 2^48).
    #[inline]
    pub fn bytes(&self, dir: Dir) -> u64 {
        let d = dir.index();
        u64::from(self.bytes_hi[d]) << 16 | u64::from(self.bytes_lo[d])
    }

    /// CLI label of the state.
    pub fn state_label(&self) -> &'static str {
        if self.has(session_flags::DISCARD) {
            return "DISCARD";
        }
        if self.has(session_flags::ENDED) {
            return "CLOSED";
        }
        match self.kind {
            SessionKind::Tcp => self.tcp.state().label(),
            _ => "ACTIVE",
        }
    }

    pub fn tcp_state(&self) -> Option<TcpState> {
        (self.kind == SessionKind::Tcp).then(|| self.tcp.state())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Timeouts;

    /// The table lookup answers as the general rule does, at and around every timeout, for
    /// every kind, with and without a discard entry, whatever the configured seconds.
    #[test]
    fn idle_past_timeout_is_the_general_rule() {
        let mut timeouts = Timeouts::default();
        (timeouts.udp, timeouts.icmp, timeouts.default) = (31, 7, 3601);
        for t in [Timeouts::default().to_nanos(), timeouts.to_nanos()] {
            for kind in [
                SessionKind::Tcp,
                SessionKind::Udp,
                SessionKind::Icmp,
                SessionKind::Other,
            ] {
                for flags in [0, session_flags::DISCARD] {
                    let s = Session {
                        kind,
                        flags,
                        ..Session::default()
                    };
                    let limit_ms = (s.timeout_ns(&t) / 1_000_000) as u32;
                    assert!(limit_ms > 0);
                    for idle in [0, 1, limit_ms - 1, limit_ms, limit_ms + 1, u32::MAX] {
                        assert_eq!(
                            s.idle_past_timeout(idle, &t),
                            u64::from(idle) * 1_000_000 > s.timeout_ns(&t),
                            "{kind:?} flags {flags:#x} idle {idle} ms"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn counters_carry_into_their_high_parts() {
        // Against plain wide counters, packet by packet, across the low halves' wraps (packets
        // at 65,536; bytes at 65,536 with frames of every size, jumbo and oversized included).
        let mut s = Session::default();
        let (mut packets, mut bytes) = ([0u64; 2], [0u64; 2]);
        let sizes = [60usize, 1514, 9018, 65535, 65536, 200_000, 1];
        for i in 0..200_000usize {
            let dir = if i % 3 == 0 {
                Dir::ServerToClient
            } else {
                Dir::ClientToServer
            };
            let len = sizes[i % sizes.len()];
            s.count(dir, len, i as u32);
            packets[dir.index()] += 1;
            bytes[dir.index()] += len as u64;
            if i % 997 == 0 || i > 199_990 {
                for d in [Dir::ClientToServer, Dir::ServerToClient] {
                    assert_eq!(u64::from(s.packets(d)), packets[d.index()], "packets {i}");
                    assert_eq!(s.bytes(d), bytes[d.index()], "bytes {i}");
                }
                assert_eq!(s.last_seen_ms, i as u32);
            }
        }
        // The byte counters wrap at 48 bits.
        let mut s = Session::default();
        s.bytes_hi[0] = u32::MAX;
        s.bytes_lo[0] = u16::MAX;
        assert_eq!(s.bytes(Dir::ClientToServer), (1 << 48) - 1);
        s.count(Dir::ClientToServer, 2, 0);
        assert_eq!(s.bytes(Dir::ClientToServer), 1);
    }
}
