//! Which way a packet travels within its session.

use serde::{Deserialize, Serialize};

/// Direction of a packet relative to its session: the client is the side that opened it
/// (sent the first SYN, or the first packet of a session picked up mid-stream).
///
/// The discriminants are array indices: per-direction state is kept in `[T; 2]` indexed by
/// `dir.index()`, the way conntrack keeps `seen[IP_CT_DIR_ORIGINAL / IP_CT_DIR_REPLY]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum Dir {
    ClientToServer = 0,
    ServerToClient = 1,
}

impl Dir {
    /// Both directions, in index order.
    pub const ALL: [Dir; 2] = [Dir::ClientToServer, Dir::ServerToClient];

    /// Index into a per-direction `[T; 2]`.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The other direction.
    pub const fn reverse(self) -> Dir {
        match self {
            Dir::ClientToServer => Dir::ServerToClient,
            Dir::ServerToClient => Dir::ClientToServer,
        }
    }

    /// Short label for the CLI and logs.
    pub const fn label(self) -> &'static str {
        match self {
            Dir::ClientToServer => "c2s",
            Dir::ServerToClient => "s2c",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_and_reverse_agree() {
        for dir in Dir::ALL {
            assert_eq!(Dir::ALL[dir.index()], dir);
            assert_ne!(dir.reverse(), dir);
            assert_eq!(dir.reverse().reverse(), dir);
        }
        assert_eq!(Dir::ClientToServer.index(), 0);
        assert_eq!(Dir::ServerToClient.index(), 1);
    }
}
