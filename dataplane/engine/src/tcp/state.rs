//! Connection states and the timeout class each one is aged with.

use serde::{Deserialize, Serialize};

/// Connection state, conntrack's `tcp_conntrack` minus `SYN_SENT2` (simultaneous open is
/// refused, see the table). The states do not say which side closed first; the per-direction
/// `FIN_SENT` bits of [`TcpPeer`](super::TcpPeer) do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum TcpState {
    /// No segment seen yet. Only the table's first column; a tracker is never left here.
    #[default]
    None = 0,
    /// Client SYN seen.
    SynSent = 1,
    /// Server SYN-ACK seen.
    SynRecv = 2,
    /// Handshake completed (or session picked up mid-stream).
    Established = 3,
    /// FIN seen in one direction.
    FinWait = 4,
    /// The only FIN so far has been acknowledged.
    CloseWait = 5,
    /// FIN seen in both directions, not both acknowledged yet.
    LastAck = 6,
    /// Both FINs acknowledged: the session ended with `tcp-fin`.
    TimeWait = 7,
    /// RST seen (or the session was ended by the tracker).
    Close = 8,
}

impl TcpState {
    pub const ALL: [TcpState; 9] = [
        TcpState::None,
        TcpState::SynSent,
        TcpState::SynRecv,
        TcpState::Established,
        TcpState::FinWait,
        TcpState::CloseWait,
        TcpState::LastAck,
        TcpState::TimeWait,
        TcpState::Close,
    ];
    pub const COUNT: usize = TcpState::ALL.len();

    pub const fn index(self) -> usize {
        self as usize
    }

    /// The name `show session` prints (conntrack's spelling).
    pub const fn label(self) -> &'static str {
        match self {
            TcpState::None => "NONE",
            TcpState::SynSent => "SYN_SENT",
            TcpState::SynRecv => "SYN_RECV",
            TcpState::Established => "ESTABLISHED",
            TcpState::FinWait => "FIN_WAIT",
            TcpState::CloseWait => "CLOSE_WAIT",
            TcpState::LastAck => "LAST_ACK",
            TcpState::TimeWait => "TIME_WAIT",
            TcpState::Close => "CLOSE",
        }
    }

    /// Parses a label back (CLI filters).
    pub fn from_label(label: &str) -> Option<TcpState> {
        TcpState::ALL.into_iter().find(|s| s.label() == label)
    }

    /// True once the session has ended (its end reason was reported): it only lingers to
    /// absorb late segments until its timer fires.
    pub const fn has_ended(self) -> bool {
        matches!(self, TcpState::TimeWait | TcpState::Close)
    }
}

/// Which configured timeout ages a session in a given state. The session layer maps it:
/// `Init -> session.timeouts.tcp_init`, `Handshake -> tcp_handshake`, `Established -> tcp`,
/// `HalfClosed -> tcp_half_closed`, `TimeWait -> tcp_time_wait`, and `Closed` (after a RST
/// or a tracker-ended session) to `tcp_time_wait` as well, or to immediate removal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum TcpTimeoutClass {
    Init,
    Handshake,
    Established,
    HalfClosed,
    TimeWait,
    Closed,
}

/// The timeout class for a state (see [`TcpTimeoutClass`] for the config keys).
pub const fn timeout_class(state: TcpState) -> TcpTimeoutClass {
    match state {
        TcpState::None | TcpState::SynSent => TcpTimeoutClass::Init,
        TcpState::SynRecv => TcpTimeoutClass::Handshake,
        TcpState::Established => TcpTimeoutClass::Established,
        TcpState::FinWait | TcpState::CloseWait | TcpState::LastAck => TcpTimeoutClass::HalfClosed,
        TcpState::TimeWait => TcpTimeoutClass::TimeWait,
        TcpState::Close => TcpTimeoutClass::Closed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip_and_indices_match() {
        for (i, s) in TcpState::ALL.into_iter().enumerate() {
            assert_eq!(s.index(), i);
            assert_eq!(TcpState::from_label(s.label()), Some(s));
        }
        assert_eq!(TcpState::SynSent.label(), "SYN_SENT");
        assert_eq!(TcpState::Established.label(), "ESTABLISHED");
        assert_eq!(TcpState::from_label("established"), None);
    }

    #[test]
    fn timeout_classes() {
        use TcpTimeoutClass as T;
        let expected = [
            (TcpState::None, T::Init),
            (TcpState::SynSent, T::Init),
            (TcpState::SynRecv, T::Handshake),
            (TcpState::Established, T::Established),
            (TcpState::FinWait, T::HalfClosed),
            (TcpState::CloseWait, T::HalfClosed),
            (TcpState::LastAck, T::HalfClosed),
            (TcpState::TimeWait, T::TimeWait),
            (TcpState::Close, T::Closed),
        ];
        for (state, class) in expected {
            assert_eq!(timeout_class(state), class, "{state:?}");
        }
    }

    #[test]
    fn only_time_wait_and_close_have_ended() {
        let ended: Vec<_> = TcpState::ALL
            .into_iter()
            .filter(|s| s.has_ended())
            .collect();
        assert_eq!(ended, [TcpState::TimeWait, TcpState::Close]);
    }
}
