//! Wire parsing over byte buffers: Ethernet, 802.1Q/QinQ, IPv4, IPv6 (extension headers), TCP,
//! UDP, ICMP and ICMPv6 (with the inner headers of ICMP errors).
//!
//! [`parse`] reads any `&[u8]` (an mbuf's data, a pcap record, a test array) and returns a
//! [`Parsed`] summary or the [`DropReason`] naming what is wrong. Every read goes through the
//! checked helpers of [`bytes`] (or, on the common frame's straight-line path, `plain.rs`,
//! through fixed-size arrays taken with a length check), so no input can make it panic; it
//! allocates nothing.
//! Checksums are not verified: NICs and the end hosts do that, and a firewall that dropped bad
//! checksums would hide the problem from the hosts that must see it.

mod bytes;
mod ip;
mod l4;
mod plain;
#[cfg(test)]
mod tests;

use crate::flow::{FlowHash, FlowKey, V4Flow};
use crate::reasons::DropReason;

pub use synwall_types::tcp::{flag_code, FlagCode};

/// TCP flag bits (the TCP tracker's own constants).
pub use crate::tcp::flags as tcp_flags;

pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
pub const ETHERTYPE_VLAN: u16 = 0x8100;
pub const ETHERTYPE_QINQ: u16 = 0x88a8;
/// VLAN tags parsed; one more is `MalformedVlan`.
pub const MAX_VLANS: usize = 2;
/// IPv6 extension headers walked; one more is `MalformedIpv6ExtHeader`.
pub const MAX_IPV6_EXT_HEADERS: usize = 8;

/// Whether the frame carries IP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(u8)]
pub enum Kind {
    /// ARP, LLDP, ...: not ours to judge on a virtual wire.
    #[default]
    NonIp,
    Ip,
}

/// TCP header fields. (`repr(C)` and the field order: see [`Parsed`].)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(C)]
pub struct TcpInfo {
    pub seq: u32,
    pub ack: u32,
    pub window: u16,
    pub flags: u8,
    pub sack_ok: bool,
    pub mss: Option<u16>,
    pub wscale: Option<u8>,
}

impl TcpInfo {
    /// The fields the TCP tracker reads, for a segment of `payload_len` payload bytes.
    #[inline(always)]
    pub fn segment(&self, payload_len: u32) -> crate::tcp::Segment {
        crate::tcp::Segment {
            flags: self.flags,
            seq: self.seq,
            ack: self.ack,
            window: self.window,
            wscale: self.wscale,
            payload_len,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(u8)]
pub enum IcmpKind {
    /// Not ICMP.
    #[default]
    None,
    EchoRequest,
    EchoReply,
    /// Destination unreachable, time exceeded, parameter problem, packet too big.
    Error,
    Other,
}

/// ICMP/ICMPv6 header fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(C)]
pub struct IcmpInfo {
    pub icmp_type: u8,
    pub code: u8,
    pub kind: IcmpKind,
    /// Echo identifier.
    pub id: u16,
}

/// Fragmentation of the IP packet. (`repr(C)` and the field order: see [`Parsed`].)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(C)]
pub struct FragInfo {
    pub id: u32,
    /// Bytes of the original datagram's fragmentable part this fragment carries (after the
    /// IPv4 header, or after the IPv6 fragment header): with `offset_bytes`, the byte range
    /// the fragment table checks for overlaps.
    pub len: u16,
    pub offset_bytes: u16,
    /// A piece of a larger datagram (more fragments follow, or an offset). An IPv6 "atomic
    /// fragment" (fragment header, offset 0, no more: RFC 6946) is a whole datagram and is not.
    pub is_fragment: bool,
    /// Offset 0 (carries the transport header).
    pub first: bool,
    pub more: bool,
}

/// What the engine needs to know about a frame. Plain data, no references into the frame.
///
/// `repr(C)`, in this order: the fields that vary between common frames first, then the ones
/// that the common frame's path (`plain.rs`) writes as constants, side by side, so that the
/// compiler writes them in a few wide stores (there are ~40 fields; written one by one, their
/// stores alone took a third of that path's instructions).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(C)]
pub struct Parsed {
    /// The flow as seen on the wire, source to destination.
    pub key: FlowKey,
    pub kind: Kind,
    pub ttl: u8,
    /// Bytes of the IP packet (header included, padding excluded).
    pub ip_len: u16,
    pub payload_offset: u16,
    /// Transport payload bytes (Ethernet padding excluded).
    pub payload_len: u16,
    pub l4_offset: u16,
    pub frag: FragInfo,
    pub tcp: TcpInfo,
    /// The ethertype after any VLAN tags.
    pub ethertype: u16,
    pub l3_offset: u16,
    pub vlan_count: u8,
    pub vlans: [u16; MAX_VLANS],
    pub icmp: IcmpInfo,
    /// For ICMP errors: the key of the packet the error is about, as its sender sent it.
    pub inner: Option<FlowKey>,
}

impl Parsed {
    /// A TCP packet's segment as the tracker reads it.
    #[inline(always)]
    pub fn segment(&self) -> crate::tcp::Segment {
        self.tcp.segment(self.payload_len as u32)
    }
}

/// Parses a frame. Never panics; allocates nothing.
pub fn parse(frame: &[u8]) -> Result<Parsed, DropReason> {
    let mut p = Parsed::default();
    if !plain::parse(frame, &mut p) {
        parse_full_into(frame, &mut p)?;
    }
    Ok(p)
}

/// The common frame as [`parse_common`] found it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Common {
    /// The flow key's hash and orientation (`p.key.hashed()`).
    pub hashed: FlowHash,
    /// The flow in canonical orientation, from the values the path holds.
    pub flow: V4Flow,
}

/// The engine's burst stage, first step: the common IPv4 frame (untagged TCP or UDP, not a
/// fragment) on its straight-line path (`plain.rs`), parsed into `p` in place (the stage keeps
/// an array of results rather than moving a ~140-byte result per packet), with the same result
/// as [`parse`]. The result is **not written** until [`materialise`] is called: the engine's
/// straight path to an established session needs only the hash, the flow and, for TCP, the
/// segment's fields, which are written to `segment` (as the tracker's established step reads
/// them: `wscale` stays `None`, it counts only on a SYN, which the step leaves to the full
/// tracker; a UDP frame leaves `segment` as it was). `None`: any other frame, for
/// [`parse_other`].
#[inline(always)]
pub fn parse_common(
    frame: &[u8],
    p: &mut Parsed,
    segment: &mut crate::tcp::Segment,
) -> Option<Common> {
    plain::parse_or_defer(frame, p, segment)
}

/// The common IPv6 frame as [`parse_common6`] found it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Common6 {
    /// The flow key's hash and orientation (`p.key.hashed()`).
    pub hashed: FlowHash,
    /// Source and destination port in the canonical orientation.
    pub ports: (u16, u16),
    pub proto: u8,
}

/// [`parse_common`] for the common IPv6 frame (untagged, no extension header, TCP or UDP),
/// for the frames `parse_common` left. Its addresses stay in the frame, where
/// [`common6_addresses`] finds them.
#[inline(always)]
pub fn parse_common6(
    frame: &[u8],
    p: &mut Parsed,
    segment: &mut crate::tcp::Segment,
) -> Option<Common6> {
    plain::parse6_or_defer(frame, p, segment)
}

/// The source and destination addresses of a frame [`parse_common6`] took (as sent, not
/// oriented).
#[inline(always)]
pub fn common6_addresses(frame: &[u8]) -> Option<(&[u8; 16], &[u8; 16])> {
    plain::addresses6(frame)
}

/// The engine's burst stage, for the frames [`parse_common`] and [`parse_common6`] left:
/// parses into `p` and returns the key's hash and orientation. Out of line: it keeps the
/// common path's registers free.
#[inline(never)]
pub fn parse_other(frame: &[u8], p: &mut Parsed) -> Result<FlowHash, DropReason> {
    parse_full_into(frame, p)?;
    Ok(p.key.hashed())
}

/// Writes the result [`parse_common`] or [`parse_common6`] deferred for `frame`: the same as
/// [`parse`]'s.
#[inline(never)]
pub fn materialise(frame: &[u8], p: &mut Parsed) {
    if !plain::parse(frame, p) {
        // Not reached (the same frame took the path before); the general parser's answer is
        // the same in any case.
        debug_assert!(false, "materialise on a frame neither common path took");
        let _ = parse_full_into(frame, p);
    }
}

/// [`parse`] without the straight-line path for the common frame: every frame through the
/// general parser. Its result is `parse`'s; the fuzz targets and tests compare the two.
pub fn parse_full(frame: &[u8]) -> Result<Parsed, DropReason> {
    let mut p = Parsed::default();
    parse_full_into(frame, &mut p)?;
    Ok(p)
}

#[inline(never)]
fn parse_full_into(frame: &[u8], p: &mut Parsed) -> Result<(), DropReason> {
    *p = Parsed::default();
    let mut ethertype = bytes::be16(frame, 12).ok_or(DropReason::MalformedEthernet)?;
    let mut off = 14usize;
    while ethertype == ETHERTYPE_VLAN || ethertype == ETHERTYPE_QINQ {
        if p.vlan_count as usize == MAX_VLANS {
            return Err(DropReason::MalformedVlan);
        }
        let tci = bytes::be16(frame, off).ok_or(DropReason::MalformedVlan)?;
        ethertype = bytes::be16(frame, off + 2).ok_or(DropReason::MalformedVlan)?;
        p.vlans[p.vlan_count as usize] = tci & 0x0fff;
        p.vlan_count += 1;
        off += 4;
    }
    p.ethertype = ethertype;
    p.l3_offset = off as u16;
    match ethertype {
        ETHERTYPE_IPV4 => ip::ipv4(frame, off, p)?,
        ETHERTYPE_IPV6 => ip::ipv6(frame, off, p)?,
        _ => return Ok(()),
    }
    p.kind = Kind::Ip;
    ip::check_addresses(p)
}

/// Parses and hashes a frame's flow (symmetric): the owner hash, which picks the worker that
/// owns it (`crate::pipeline::owner_worker`). `None` for frames without a flow (non-IP,
/// malformed). The engine computes the same in its burst's first stage.
///
/// Fragments hash by addresses (and, IPv4, protocol) alone, as NICs' RSS hashes them: a
/// datagram's later fragments have no ports, and they must reach the worker that saw its first
/// fragment, whose fragment table holds the verdict they follow (`crate::frag`). The price: a
/// fragmented packet of a flow may be judged on another worker than the flow's unfragmented
/// packets.
pub fn flow_hash(frame: &[u8]) -> Option<u64> {
    let p = parse(frame).ok()?;
    owner_hash(&p, p.key.hash64())
}

/// The owner hash of a parsed packet whose flow key hashes to `key_hash`: that hash, or for a
/// fragment its [`owner_key`]'s; `None` for a frame without a flow (not IP), which stays with
/// the worker that received it.
#[inline]
pub fn owner_hash(p: &Parsed, key_hash: u64) -> Option<u64> {
    match p.kind {
        Kind::Ip if p.frag.is_fragment => Some(owner_key(p).hash64()),
        Kind::Ip => Some(key_hash),
        _ => None,
    }
}

/// The key whose hash picks a parsed IP packet's worker: its flow key, or for a fragment the
/// addresses (and, IPv4, the protocol) alone; see [`flow_hash`].
pub fn owner_key(p: &Parsed) -> FlowKey {
    if p.frag.is_fragment {
        FlowKey {
            sport: 0,
            dport: 0,
            proto: if p.key.family == 4 { p.key.proto } else { 0 },
            ..p.key
        }
    } else {
        p.key
    }
}
