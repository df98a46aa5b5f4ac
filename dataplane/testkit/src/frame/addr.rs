//! Who a frame is between and how it is wrapped: address pairs, VLAN tags, fragments.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Address family of a frame or a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpFamily {
    V4,
    V6,
}

/// Source and destination addresses of one direction, of one family by construction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IpPair {
    V4 { src: Ipv4Addr, dst: Ipv4Addr },
    V6 { src: Ipv6Addr, dst: Ipv6Addr },
}

impl IpPair {
    pub fn v4(src: [u8; 4], dst: [u8; 4]) -> IpPair {
        IpPair::V4 {
            src: src.into(),
            dst: dst.into(),
        }
    }

    pub fn v6(src: [u8; 16], dst: [u8; 16]) -> IpPair {
        IpPair::V6 {
            src: src.into(),
            dst: dst.into(),
        }
    }

    /// From two addresses of one family; panics on a mixed pair.
    pub fn new(src: IpAddr, dst: IpAddr) -> IpPair {
        match (src, dst) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => IpPair::V4 { src, dst },
            (IpAddr::V6(src), IpAddr::V6(dst)) => IpPair::V6 { src, dst },
            _ => panic!("{src} and {dst} are of different families"),
        }
    }

    /// From 16-byte addresses as the engine's flow keys hold them: IPv4 in the last four
    /// bytes unless `v6`.
    pub fn from_key_bytes(v6: bool, src: [u8; 16], dst: [u8; 16]) -> IpPair {
        if v6 {
            IpPair::v6(src, dst)
        } else {
            let last4 = |a: [u8; 16]| [a[12], a[13], a[14], a[15]];
            IpPair::v4(last4(src), last4(dst))
        }
    }

    pub fn family(&self) -> IpFamily {
        match self {
            IpPair::V4 { .. } => IpFamily::V4,
            IpPair::V6 { .. } => IpFamily::V6,
        }
    }

    pub fn src(&self) -> IpAddr {
        match *self {
            IpPair::V4 { src, .. } => src.into(),
            IpPair::V6 { src, .. } => src.into(),
        }
    }

    pub fn dst(&self) -> IpAddr {
        match *self {
            IpPair::V4 { dst, .. } => dst.into(),
            IpPair::V6 { dst, .. } => dst.into(),
        }
    }

    /// The other direction.
    pub fn reversed(&self) -> IpPair {
        match *self {
            IpPair::V4 { src, dst } => IpPair::V4 { src: dst, dst: src },
            IpPair::V6 { src, dst } => IpPair::V6 { src: dst, dst: src },
        }
    }

    pub(super) fn icmp_protocol(&self) -> u8 {
        match self {
            IpPair::V4 { .. } => super::IP_PROTO_ICMP,
            IpPair::V6 { .. } => super::IP_PROTO_ICMPV6,
        }
    }
}

/// Most tags a frame carries here: one more than a firewall usually accepts (QinQ), so that
/// a test can build the frame it must refuse.
pub const MAX_TAGS: usize = 3;

/// VLAN tags as `(TPID, TCI)`, outermost first. Copy, no allocation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Vlans {
    tags: [(u16, u16); MAX_TAGS],
    len: u8,
}

impl Vlans {
    pub const NONE: Vlans = Vlans {
        tags: [(0, 0); MAX_TAGS],
        len: 0,
    };

    /// These tags and one more inside them.
    pub fn push(mut self, tpid: u16, tci: u16) -> Vlans {
        let at = usize::from(self.len);
        assert!(at < MAX_TAGS, "more than {MAX_TAGS} VLAN tags");
        self.tags[at] = (tpid, tci);
        self.len += 1;
        self
    }

    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// `(TPID, TCI)` outermost first.
    pub fn iter(&self) -> impl Iterator<Item = (u16, u16)> + '_ {
        self.tags[..self.len()].iter().copied()
    }

    /// The 12-bit VLAN ids, outermost first.
    pub fn ids(&self) -> impl Iterator<Item = u16> + '_ {
        self.iter().map(|(_, tci)| tci & 0x0fff)
    }
}

/// Where a fragment sits in its datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Fragment {
    /// Byte offset of this fragment's data (a multiple of 8).
    pub offset: u16,
    /// More fragments follow.
    pub more: bool,
}
