//! What the tracker needs from a TCP segment, and the flag classifier.

use serde::{Deserialize, Serialize};

/// TCP header flag bits (RFC 9293 section 3.1, plus ECE/CWR from RFC 3168).
pub use synwall_types::tcp::flags;

/// The fields of one TCP segment that connection tracking reads. The parser fills it from the
/// header; tests write it literally.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Segment {
    /// Flag byte (header offset 13), see [`flags`].
    pub flags: u8,
    pub seq: u32,
    pub ack: u32,
    /// Raw window field, not yet shifted by the window scale.
    pub window: u16,
    /// Window-scale option (RFC 7323), only meaningful on SYN and SYN-ACK.
    pub wscale: Option<u8>,
    /// TCP payload bytes (IP payload minus the TCP header).
    pub payload_len: u32,
}

impl Segment {
    pub const fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    /// Sequence space the segment occupies: payload, plus one for SYN and one for FIN.
    pub const fn seq_len(&self) -> u32 {
        self.payload_len
            .wrapping_add(self.has(flags::SYN) as u32)
            .wrapping_add(self.has(flags::FIN) as u32)
    }
}

/// The flag combinations the state machine distinguishes (conntrack's `flag_index`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum SegClass {
    Syn = 0,
    SynAck = 1,
    /// FIN with ACK. A FIN without ACK is `Invalid`: every segment after the handshake
    /// carries ACK (RFC 9293 3.10.7.4), and a bare FIN is a scan (nmap -sF).
    Fin = 2,
    /// ACK with no SYN, FIN or RST (data or not).
    Ack = 3,
    /// RST, with or without ACK.
    Rst = 4,
    /// Any other combination: no flag, SYN with FIN or RST, FIN without ACK, FIN with RST...
    Invalid = 5,
}

impl SegClass {
    pub const ALL: [SegClass; 6] = [
        SegClass::Syn,
        SegClass::SynAck,
        SegClass::Fin,
        SegClass::Ack,
        SegClass::Rst,
        SegClass::Invalid,
    ];
    pub const COUNT: usize = SegClass::ALL.len();

    pub const fn index(self) -> usize {
        self as usize
    }
}

/// Classifies a flag byte. PSH, URG, ECE and CWR never change the class.
///
/// Hot path: a few bit tests, no allocation.
pub const fn segment_class(tcp_flags: u8) -> SegClass {
    use flags::*;
    let syn = tcp_flags & SYN != 0;
    let ack = tcp_flags & ACK != 0;
    let fin = tcp_flags & FIN != 0;
    let rst = tcp_flags & RST != 0;
    match (syn, fin, rst, ack) {
        (true, false, false, false) => SegClass::Syn,
        (true, false, false, true) => SegClass::SynAck,
        (false, true, false, true) => SegClass::Fin,
        (false, false, false, true) => SegClass::Ack,
        (false, false, true, _) => SegClass::Rst,
        _ => SegClass::Invalid,
    }
}

/// True when the first segment of a flow with no session is a SYN-ACK: the SYN went another
/// way, only one direction of the handshake passes here. The caller applies
/// `asymmetric_path`: `drop` refuses it (`DropReason::Asymmetric`), `bypass` opens a session
/// with [`TcpTracker::new_midstream`](super::TcpTracker::new_midstream)`(Dir::ServerToClient, seg)`,
/// keyed so that the SYN-ACK's sender is the server.
///
/// Check `tcp_reject_non_syn` first if PAN-OS order is wanted: there a SYN-ACK with no session
/// is a "non-SYN" like any other when the option is on.
pub const fn is_asymmetric(tcp_flags: u8) -> bool {
    matches!(segment_class(tcp_flags), SegClass::SynAck)
}

/// Whether a segment with no session may open one mid-stream (`tcp_reject_non_syn: false`):
/// ACK and FIN-ACK segments of a connection the firewall did not see open. RST and invalid
/// combinations never open a session (there is nothing to track), SYN opens a normal one,
/// SYN-ACK is the asymmetric case ([`is_asymmetric`]).
pub const fn can_open_midstream(tcp_flags: u8) -> bool {
    matches!(segment_class(tcp_flags), SegClass::Ack | SegClass::Fin)
}

#[cfg(test)]
mod tests {
    use super::flags::*;
    use super::*;

    #[test]
    fn classes_of_common_flag_bytes() {
        let cases: &[(u8, SegClass)] = &[
            (SYN, SegClass::Syn),
            (SYN | ECE | CWR, SegClass::Syn),
            (SYN | ACK, SegClass::SynAck),
            (SYN | ACK | ECE, SegClass::SynAck),
            (FIN | ACK, SegClass::Fin),
            (FIN | PSH | ACK, SegClass::Fin),
            (ACK, SegClass::Ack),
            (PSH | ACK, SegClass::Ack),
            (URG | ACK, SegClass::Ack),
            (RST, SegClass::Rst),
            (RST | ACK, SegClass::Rst),
            (FIN, SegClass::Invalid),
            (SYN | FIN, SegClass::Invalid),
            (SYN | RST, SegClass::Invalid),
            (FIN | RST | ACK, SegClass::Invalid),
            (SYN | FIN | RST | PSH | ACK | URG, SegClass::Invalid),
            (0, SegClass::Invalid),
            (PSH, SegClass::Invalid),
        ];
        for &(f, class) in cases {
            assert_eq!(segment_class(f), class, "flags {f:#04x}");
        }
    }

    #[test]
    fn every_flag_byte_has_exactly_one_class() {
        // The match is exhaustive; this checks the counts so that an edit that widens one
        // class at another's expense is noticed. 16 control combinations x 16 of PSH/URG/ECE/CWR.
        let mut counts = [0usize; SegClass::COUNT];
        for f in 0..=255u8 {
            counts[segment_class(f).index()] += 1;
        }
        // SYN, SYN-ACK, FIN-ACK, ACK: one combination each; RST: with or without ACK.
        assert_eq!(counts, [16, 16, 16, 16, 32, 160]);
    }

    #[test]
    fn opening_helpers() {
        assert!(is_asymmetric(SYN | ACK));
        assert!(!is_asymmetric(SYN));
        assert!(can_open_midstream(ACK));
        assert!(can_open_midstream(PSH | ACK));
        assert!(can_open_midstream(FIN | ACK));
        assert!(!can_open_midstream(RST));
        assert!(!can_open_midstream(SYN));
        assert!(!can_open_midstream(SYN | ACK));
        assert!(!can_open_midstream(FIN));
    }

    #[test]
    fn seq_len_counts_syn_and_fin() {
        let s = Segment {
            flags: SYN,
            payload_len: 0,
            ..Default::default()
        };
        assert_eq!(s.seq_len(), 1);
        let s = Segment {
            flags: FIN | ACK,
            payload_len: 10,
            ..Default::default()
        };
        assert_eq!(s.seq_len(), 11);
        let s = Segment {
            flags: ACK,
            payload_len: 0,
            ..Default::default()
        };
        assert_eq!(s.seq_len(), 0);
    }
}
