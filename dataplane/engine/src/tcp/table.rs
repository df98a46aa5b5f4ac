//! The transition table: `TRANSITIONS[dir][class][state] -> Cell`, the whole state machine as
//! data (conntrack's `tcp_conntracks`). Exceptions that need more than flags and state (sequence
//! checks, which side sent a FIN) are named functions in `tracker.rs`; this table says where a
//! segment *may* move the connection, they say whether this one does.

use serde::{Deserialize, Serialize};

use super::segment::SegClass;
use super::state::TcpState;
use crate::dir::Dir;

/// Why the tracker refused a segment. All count as `DropReason::TcpInvalid`; the detail is for
/// debug counters and tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum TcpInvalid {
    /// Non-SYN with no session: opening mid-stream or asymmetrically is the session layer's call.
    NoSession,
    /// Flag combination that no TCP stack sends ([`SegClass::Invalid`]).
    BadFlags,
    /// SYN-ACK from the client side.
    SynAckFromClient,
    /// Both sides sent SYN (RFC 9293 figure 8): not supported.
    SimultaneousOpen,
    /// SYN from the server on a live connection.
    SynFromServer,
    /// FIN before the handshake got as far as a SYN-ACK.
    FinBeforeHandshake,
    /// SYN-ACK on a session that has already ended.
    StaleSynAck,
    /// SYN-ACK whose ACK is not the client's ISN + 1.
    SynAckBadAck,
    /// Handshake-completing ACK whose ACK is not the server's ISN + 1.
    HandshakeBadAck,
    /// Client ACK in SYN_SENT whose sequence number does not follow its SYN.
    AckNotAfterSyn,
    /// Sequence number outside the window (bounds I/II, see `window.rs`).
    SeqOutOfWindow,
    /// Acknowledgement outside the window (bounds III/IV).
    AckOutOfWindow,
    /// RST whose sequence number is not acceptable (RFC 9293 3.10.7, RFC 5961 section 3).
    RstOutOfWindow,
}

impl TcpInvalid {
    pub const fn label(self) -> &'static str {
        match self {
            TcpInvalid::NoSession => "no-session",
            TcpInvalid::BadFlags => "bad-flags",
            TcpInvalid::SynAckFromClient => "synack-from-client",
            TcpInvalid::SimultaneousOpen => "simultaneous-open",
            TcpInvalid::SynFromServer => "syn-from-server",
            TcpInvalid::FinBeforeHandshake => "fin-before-handshake",
            TcpInvalid::StaleSynAck => "stale-synack",
            TcpInvalid::SynAckBadAck => "synack-bad-ack",
            TcpInvalid::HandshakeBadAck => "handshake-bad-ack",
            TcpInvalid::AckNotAfterSyn => "ack-not-after-syn",
            TcpInvalid::SeqOutOfWindow => "seq-out-of-window",
            TcpInvalid::AckOutOfWindow => "ack-out-of-window",
            TcpInvalid::RstOutOfWindow => "rst-out-of-window",
        }
    }
}

/// One cell of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cell {
    /// Track the segment (window checks) and move to this state (possibly the same one).
    Next(TcpState),
    /// Forward the segment untracked; the state holds. Used where the firewall may be out of
    /// sync with the endpoints and the endpoints' answer will tell (conntrack's `sIG`).
    Ignore,
    /// Refuse the segment.
    Invalid(TcpInvalid),
    /// A SYN on a closing or ended session: end the old session, open a new one.
    Reuse,
    /// Client ACK while only its SYN was seen: the SYN-ACK went another way (`asymmetric_path`).
    Asymmetric,
}

// Short names so that the table reads as a grid.
const SS: Cell = Cell::Next(TcpState::SynSent);
const SR: Cell = Cell::Next(TcpState::SynRecv);
const ES: Cell = Cell::Next(TcpState::Established);
const FW: Cell = Cell::Next(TcpState::FinWait);
const CW: Cell = Cell::Next(TcpState::CloseWait);
const LA: Cell = Cell::Next(TcpState::LastAck);
const TW: Cell = Cell::Next(TcpState::TimeWait);
const CL: Cell = Cell::Next(TcpState::Close);
const IG: Cell = Cell::Ignore;
const RU: Cell = Cell::Reuse;
const AS: Cell = Cell::Asymmetric;
const NOS: Cell = Cell::Invalid(TcpInvalid::NoSession);
const BAD: Cell = Cell::Invalid(TcpInvalid::BadFlags);
const SAC: Cell = Cell::Invalid(TcpInvalid::SynAckFromClient);
const SIM: Cell = Cell::Invalid(TcpInvalid::SimultaneousOpen);
const SFS: Cell = Cell::Invalid(TcpInvalid::SynFromServer);
const FBH: Cell = Cell::Invalid(TcpInvalid::FinBeforeHandshake);
const STA: Cell = Cell::Invalid(TcpInvalid::StaleSynAck);

/// `TRANSITIONS[dir][class][state]`. Columns follow [`TcpState`], rows [`SegClass`].
///
/// The `NO` column (no session yet) documents how a first segment is treated; trackers are
/// created by constructors and never sit in `None`, so only `Syn -> SS` is ever taken from it.
///
/// A FIN from a side that already sent one is looked up as `Ack` (`fin_is_retransmit`), so the
/// `Fin` cells of `LA` and `TW`, where both sides have sent FIN, are never reached from a
/// normal close; they keep the state.
#[rustfmt::skip]
pub const TRANSITIONS: [[[Cell; TcpState::COUNT]; SegClass::COUNT]; 2] = [
    // ClientToServer
    [
        //        NO   SS   SR   ES   FW   CW   LA   TW   CL
        /*syn*/ [ SS,  SS,  IG,  IG,  RU,  RU,  RU,  RU,  RU ],
        // NO: a SYN opens the connection.
        // SS: retransmitted SYN, perhaps with a new ISN: the client side is re-initialised.
        // SR: the SYN-ACK was lost on its way back, the client repeats its SYN; forwarded so the
        //     server repeats the SYN-ACK, the state holds.
        // ES: a SYN on an open connection: the client rebooted and reuses the port. Forwarded
        //     so the server answers with a challenge ACK (RFC 5961 4) and the client resets
        //     the old connection; the firewall does not resynchronise on it.
        // FW CW LA: the client reopens a closing connection (fast port reuse): tcp-reuse.
        // TW: a new SYN in TIME-WAIT is allowed (RFC 1122 4.2.2.13): new session.
        // CL: after a RST, a new connection on the same tuple: new session.
        /*sac*/ [ NOS, SIM, SAC, SAC, SAC, SAC, SAC, SAC, SAC ],
        // NO: not a first segment (a client does not open with a SYN-ACK).
        // SS: the client answers a SYN with SYN-ACK: simultaneous open, not supported.
        // others: only servers send SYN-ACK.
        /*fin*/ [ NOS, FBH, FW,  FW,  LA,  LA,  LA,  TW,  IG ],
        // NO: opening mid-stream is the session layer's call (`can_open_midstream`).
        // SS: FIN before the server even answered.
        // SR: FIN-ACK as the third segment: completes the handshake (its ACK is checked) and
        //     closes at once.
        // ES: the first FIN.
        // FW: the FIN of the other side (a repeated FIN of the same side is looked up as Ack).
        // CW: the second FIN, after the first was acknowledged.
        // LA TW: unreachable after the FIN-retransmit rule; the state holds.
        // CL: after a RST: late segment forwarded untracked, the session has already ended.
        /*ack*/ [ NOS, AS,  ES,  ES,  CW,  CW,  TW,  TW,  IG ],
        // NO: opening mid-stream is the session layer's call (`can_open_midstream`).
        // SS: the client completes a handshake whose SYN-ACK was never seen: asymmetric path.
        // SR: the third ACK (its ACK must be the server's ISN + 1).
        // ES: data or acknowledgements.
        // FW: CW once this ACK acknowledges the FIN (`close_step_done`), else the state holds.
        // CW: data or acknowledgements from either side while half-closed.
        // LA: TW once both FINs are acknowledged (`close_step_done`): the session ends
        //     tcp-fin. Otherwise the state holds.
        // TW: a repeated last ACK (the peer repeated its FIN).
        // CL: late segment after a RST, forwarded untracked.
        /*rst*/ [ NOS, CL,  CL,  CL,  CL,  CL,  CL,  CL,  CL ],
        // NO: nothing to reset.
        // others: a RST closes, if its sequence number is acceptable (`rst_acceptable`); a
        //     RST in TW or CL changes nothing that was reported (the session already ended).
        /*inv*/ [ BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD ],
        // Flag combinations no stack sends: refused in every state.
    ],
    // ServerToClient
    [
        //        NO   SS   SR   ES   FW   CW   LA   TW   CL
        /*syn*/ [ NOS, SIM, SFS, SFS, SFS, SFS, SFS, RU,  RU  ],
        // NO: a reply direction does not exist before a session.
        // SS: the server's SYN crosses the client's: simultaneous open, not supported.
        // SR ES FW CW LA: a server does not open connections on a live tuple.
        // TW CL: the old server reopens the tuple in the client role (conntrack allows the
        //     same): new session with the roles swapped.
        /*sac*/ [ NOS, SR,  SR,  IG,  IG,  IG,  IG,  STA, STA ],
        // NO: a SYN-ACK with no session is the asymmetric case (`is_asymmetric`).
        // SS: the server answers (its ACK must be the client's ISN + 1).
        // SR: the SYN-ACK repeated (the client repeated its SYN): tracked, the state holds.
        // ES FW CW LA: the SYN-ACK repeated because the client's third ACK was lost: forwarded
        //     untracked so the client acknowledges again.
        // TW CL: the session is over; a SYN-ACK now is stale or forged.
        /*fin*/ [ NOS, FBH, FW,  FW,  LA,  LA,  LA,  TW,  IG ],
        // NO: opening mid-stream is the session layer's call.
        // SS: FIN answering a SYN, without the SYN-ACK.
        // SR: the server closes right after its SYN-ACK, before the client's third ACK.
        // ES FW CW LA TW CL: as for the client.
        /*ack*/ [ NOS, IG,  SR,  ES,  CW,  CW,  TW,  TW,  IG ],
        // NO: opening mid-stream is the session layer's call.
        // SS: a bare ACK answering a SYN: the server holds an old connection on the tuple (or
        //     sends a challenge ACK). Forwarded untracked so the client can reset it, and
        //     remembered: a client RST matching it is a broken handshake.
        // SR: server ACK before the client's third ACK (a window update): the state holds.
        // ES FW CW LA TW CL: as for the client.
        /*rst*/ [ NOS, CL,  CL,  CL,  CL,  CL,  CL,  CL,  CL ],
        // NO: nothing to reset.
        // SS: connection refused, if the RST acknowledges the SYN (`rst_acceptable`).
        // others: as for the client.
        /*inv*/ [ BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD ],
        // Flag combinations no stack sends: refused in every state.
    ],
];

/// Table lookup. Hot path: three array indices.
pub const fn transition(dir: Dir, class: SegClass, state: TcpState) -> Cell {
    TRANSITIONS[dir.index()][class.index()][state.index()]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The expected table, written again independently as one line per cell, in words. A change
    /// to `TRANSITIONS` must be made here too, deliberately.
    const EXPECTED: &str = "
        c2s syn NO SS | c2s syn SS SS | c2s syn SR ignore | c2s syn ES ignore | c2s syn FW reuse
        c2s syn CW reuse | c2s syn LA reuse | c2s syn TW reuse | c2s syn CL reuse
        c2s sac NO !no-session | c2s sac SS !simultaneous-open | c2s sac SR !synack-from-client
        c2s sac ES !synack-from-client | c2s sac FW !synack-from-client
        c2s sac CW !synack-from-client | c2s sac LA !synack-from-client
        c2s sac TW !synack-from-client | c2s sac CL !synack-from-client
        c2s fin NO !no-session | c2s fin SS !fin-before-handshake | c2s fin SR FW | c2s fin ES FW
        c2s fin FW LA | c2s fin CW LA | c2s fin LA LA | c2s fin TW TW | c2s fin CL ignore
        c2s ack NO !no-session | c2s ack SS asymmetric | c2s ack SR ES | c2s ack ES ES
        c2s ack FW CW | c2s ack CW CW | c2s ack LA TW | c2s ack TW TW | c2s ack CL ignore
        c2s rst NO !no-session | c2s rst SS CL | c2s rst SR CL | c2s rst ES CL | c2s rst FW CL
        c2s rst CW CL | c2s rst LA CL | c2s rst TW CL | c2s rst CL CL
        c2s inv NO !bad-flags | c2s inv SS !bad-flags | c2s inv SR !bad-flags | c2s inv ES !bad-flags
        c2s inv FW !bad-flags | c2s inv CW !bad-flags | c2s inv LA !bad-flags | c2s inv TW !bad-flags
        c2s inv CL !bad-flags
        s2c syn NO !no-session | s2c syn SS !simultaneous-open | s2c syn SR !syn-from-server
        s2c syn ES !syn-from-server | s2c syn FW !syn-from-server | s2c syn CW !syn-from-server
        s2c syn LA !syn-from-server | s2c syn TW reuse | s2c syn CL reuse
        s2c sac NO !no-session | s2c sac SS SR | s2c sac SR SR | s2c sac ES ignore
        s2c sac FW ignore | s2c sac CW ignore | s2c sac LA ignore | s2c sac TW !stale-synack
        s2c sac CL !stale-synack
        s2c fin NO !no-session | s2c fin SS !fin-before-handshake | s2c fin SR FW | s2c fin ES FW
        s2c fin FW LA | s2c fin CW LA | s2c fin LA LA | s2c fin TW TW | s2c fin CL ignore
        s2c ack NO !no-session | s2c ack SS ignore | s2c ack SR SR | s2c ack ES ES
        s2c ack FW CW | s2c ack CW CW | s2c ack LA TW | s2c ack TW TW | s2c ack CL ignore
        s2c rst NO !no-session | s2c rst SS CL | s2c rst SR CL | s2c rst ES CL | s2c rst FW CL
        s2c rst CW CL | s2c rst LA CL | s2c rst TW CL | s2c rst CL CL
        s2c inv NO !bad-flags | s2c inv SS !bad-flags | s2c inv SR !bad-flags | s2c inv ES !bad-flags
        s2c inv FW !bad-flags | s2c inv CW !bad-flags | s2c inv LA !bad-flags | s2c inv TW !bad-flags
        s2c inv CL !bad-flags
    ";

    fn state_by_abbrev(s: &str) -> TcpState {
        let i = ["NO", "SS", "SR", "ES", "FW", "CW", "LA", "TW", "CL"]
            .iter()
            .position(|a| *a == s)
            .unwrap_or_else(|| panic!("unknown state {s}"));
        TcpState::ALL[i]
    }

    fn describe(cell: Cell) -> String {
        const ABBREV: [&str; 9] = ["NO", "SS", "SR", "ES", "FW", "CW", "LA", "TW", "CL"];
        match cell {
            Cell::Next(s) => ABBREV[s.index()].to_string(),
            Cell::Ignore => "ignore".to_string(),
            Cell::Invalid(why) => format!("!{}", why.label()),
            Cell::Reuse => "reuse".to_string(),
            Cell::Asymmetric => "asymmetric".to_string(),
        }
    }

    #[test]
    fn every_cell_matches_the_expected_table() {
        let mut checked = std::collections::HashSet::new();
        for entry in EXPECTED
            .split(['|', '\n'])
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            let words: Vec<&str> = entry.split_whitespace().collect();
            let [dir, class, state, want] = words[..] else {
                panic!("bad line {entry:?}")
            };
            let dir = match dir {
                "c2s" => Dir::ClientToServer,
                "s2c" => Dir::ServerToClient,
                _ => panic!("bad dir {dir}"),
            };
            let class = match class {
                "syn" => SegClass::Syn,
                "sac" => SegClass::SynAck,
                "fin" => SegClass::Fin,
                "ack" => SegClass::Ack,
                "rst" => SegClass::Rst,
                "inv" => SegClass::Invalid,
                _ => panic!("bad class {class}"),
            };
            let state = state_by_abbrev(state);
            assert!(
                checked.insert((dir, class, state)),
                "cell listed twice: {entry}"
            );
            assert_eq!(
                describe(transition(dir, class, state)),
                want,
                "cell {entry}"
            );
        }
        assert_eq!(
            checked.len(),
            2 * SegClass::COUNT * TcpState::COUNT,
            "every cell listed"
        );
    }

    #[test]
    fn invalid_labels_are_unique() {
        let all = [
            TcpInvalid::NoSession,
            TcpInvalid::BadFlags,
            TcpInvalid::SynAckFromClient,
            TcpInvalid::SimultaneousOpen,
            TcpInvalid::SynFromServer,
            TcpInvalid::FinBeforeHandshake,
            TcpInvalid::StaleSynAck,
            TcpInvalid::SynAckBadAck,
            TcpInvalid::HandshakeBadAck,
            TcpInvalid::AckNotAfterSyn,
            TcpInvalid::SeqOutOfWindow,
            TcpInvalid::AckOutOfWindow,
            TcpInvalid::RstOutOfWindow,
        ];
        let labels: std::collections::HashSet<_> = all.iter().map(|w| w.label()).collect();
        assert_eq!(labels.len(), all.len());
    }
}
