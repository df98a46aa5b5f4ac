//! The common frame in one straight line: untagged Ethernet; an IPv4 header without options
//! that is not a fragment, or an IPv6 header with no extension header; then TCP or UDP, from
//! an ordinary source. Nearly every packet on a wire is this (VPP's `ip4-input` and `ip6-input`
//! keep the same fast cases). Its fields sit at fixed offsets, so they are read from
//! fixed-size arrays (one length check each, no per-field bounds checks) and the result is
//! written once, whole, instead of reset and then filled field by field.
//!
//! Anything else, and every packet this path would have to refuse, goes to the full parser,
//! which decides it and names the drop reason. Where this path answers, its answer is the full
//! parser's: the `parse` fuzz target and `tests.rs` compare the two on every input they make.

use super::{l4, Common, Common6, FragInfo, Kind, Parsed, TcpInfo, ETHERTYPE_IPV4, ETHERTYPE_IPV6};
use crate::flow::{ipv4_flow, ipv6_flow, v4_mapped, FlowKey, PROTO_TCP, PROTO_UDP};
use crate::tcp::Segment;

const L3: usize = 14;
const L4: usize = L3 + 20;
const UDP_PAYLOAD: usize = L4 + 8;
const TCP_OPTIONS: usize = L4 + 20;

/// IPv6: the addresses, and the transport header after the fixed 40-byte header.
const SRC6: usize = L3 + 8;
const L4_6: usize = L3 + 40;
const UDP_PAYLOAD6: usize = L4_6 + 8;

#[inline(always)]
fn be16(b: [u8; 2]) -> u16 {
    u16::from_be_bytes(b)
}

#[inline(always)]
fn be32(b: [u8; 4]) -> u32 {
    u32::from_be_bytes(b)
}

/// The four bytes at `at` (a constant offset inside the header: one load, no check left).
#[inline(always)]
fn four(h: &[u8], at: usize) -> [u8; 4] {
    h[at..at + 4].try_into().unwrap_or_default()
}

/// Parses `frame` into `p` if it is the common case (either family) and valid; `false` leaves
/// `p` untouched and the frame to the full parser.
#[inline(always)]
pub fn parse(frame: &[u8], p: &mut Parsed) -> bool {
    parse4(frame, p).is_some() || parse6(frame, p).is_some()
}

/// [`parse`] of an IPv4 frame: also returns its key's hash and its flow in canonical
/// orientation (computed from the fields in hand).
#[inline(always)]
pub fn parse4(frame: &[u8], p: &mut Parsed) -> Option<Common> {
    scan::<false>(frame, p, &mut Segment::default())
}

/// [`parse`] of an IPv6 frame: also returns its key's hash and its ports in canonical
/// orientation.
#[inline(always)]
pub fn parse6(frame: &[u8], p: &mut Parsed) -> Option<Common6> {
    scan6::<false>(frame, p, &mut Segment::default())
}

/// [`parse`], except that `p` is left unwritten: the engine's straight path to an established
/// session reads nothing from the result but, for TCP, the segment's fields, written to
/// `segment` (and only for TCP: a UDP frame writes nothing at all). Writing the result was a
/// tenth of that packet's instructions. A caller that needs it after all runs [`parse`] again
/// on the same frame.
#[inline(always)]
pub fn parse_or_defer(frame: &[u8], p: &mut Parsed, segment: &mut Segment) -> Option<Common> {
    scan::<true>(frame, p, segment)
}

/// [`parse_or_defer`] for IPv6.
#[inline(always)]
pub fn parse6_or_defer(frame: &[u8], p: &mut Parsed, segment: &mut Segment) -> Option<Common6> {
    scan6::<true>(frame, p, segment)
}

/// The source and destination addresses of a frame [`parse6_or_defer`] took.
#[inline(always)]
pub fn addresses6(frame: &[u8]) -> Option<(&[u8; 16], &[u8; 16])> {
    let (src, dst) = frame.get(SRC6..L4_6)?.split_at(16);
    Some((src.try_into().ok()?, dst.try_into().ok()?))
}

#[inline(always)]
fn scan<const DEFER: bool>(frame: &[u8], p: &mut Parsed, segment: &mut Segment) -> Option<Common> {
    // Through the UDP header: shorter frames (never the common case: a minimum Ethernet frame
    // has 60 bytes) go to the full parser, and UDP's header needs no check of its own.
    let h = frame.first_chunk::<UDP_PAYLOAD>()?;
    if be16([h[12], h[13]]) != ETHERTYPE_IPV4 || h[L3] != 0x45 {
        return None;
    }
    let total = be16([h[L3 + 2], h[L3 + 3]]) as usize;
    let end = L3 + total;
    // Not a fragment (no MF flag, offset 0), and the whole packet within the frame (and within
    // `Parsed`'s 16-bit offsets, as the full parser requires).
    if be16([h[L3 + 6], h[L3 + 7]]) & 0x3fff != 0 || end > frame.len() || end > u16::MAX as usize {
        return None;
    }
    let (src, dst) = (four(h, L3 + 12), four(h, L3 + 16));
    // The full parser's address checks: multicast, reserved or broadcast sources, the
    // unspecified source (allowed only for DHCP there), land attacks. Any of them: its call.
    // As words: the unspecified source wraps to the top, so one compare refuses it with the
    // addresses from 224.0.0.0 up.
    let (s, d) = (be32(src), be32(dst));
    if s.wrapping_sub(1) >= 0xdfff_ffff || s == d {
        return None;
    }
    let proto = h[L3 + 9];
    // Each protocol writes the result itself, so that UDP's empty TCP fields are constants the
    // compiler merges with the others into wide stores.
    let ip = Ip {
        src,
        dst,
        proto,
        total,
        ttl: h[L3 + 8],
        id: be16([h[L3 + 4], h[L3 + 5]]),
    };
    match proto {
        PROTO_UDP => {
            let len = be16([h[L4 + 4], h[L4 + 5]]) as usize;
            // A length of 8 or more within the packet: the packet holds the whole header.
            if len < 8 || L4 + len > end {
                return None;
            }
            let ports = (be16([h[L4], h[L4 + 1]]), be16([h[L4 + 2], h[L4 + 3]]));
            if DEFER {
                return Some(common(&ip, ports));
            }
            write(
                p,
                &ip.header(),
                ports,
                TcpInfo::default(),
                UDP_PAYLOAD,
                L4 + len,
            );
            Some(common(&ip, ports))
        }
        PROTO_TCP => {
            let t = frame.get(L4..TCP_OPTIONS)?;
            let doff = (t[12] >> 4) as usize * 4;
            // A header of 20 bytes or more within the packet (so the packet holds its fixed part).
            if doff < 20 || L4 + doff > end {
                return None;
            }
            let mut tcp = TcpInfo {
                flags: t[13],
                seq: be32(four(t, 4)),
                ack: be32(four(t, 8)),
                window: be16([t[14], t[15]]),
                ..TcpInfo::default()
            };
            let ports = (be16([t[0], t[1]]), be16([t[2], t[3]]));
            if DEFER {
                // The options (read only for a SYN's window scale, so `wscale` stays `None`)
                // wait with the rest: they never refuse a segment.
                *segment = tcp.segment((end - (L4 + doff)) as u32);
                return Some(common(&ip, ports));
            }
            if doff > 20 {
                let options = frame.get(TCP_OPTIONS..L4 + doff).unwrap_or(&[]);
                l4::tcp_options(options, &mut tcp);
            }
            write(p, &ip.header(), ports, tcp, L4 + doff, end);
            Some(common(&ip, ports))
        }
        _ => None,
    }
}

/// The IPv4 header fields the result needs.
struct Ip {
    src: [u8; 4],
    dst: [u8; 4],
    proto: u8,
    total: usize,
    ttl: u8,
    id: u16,
}

impl Ip {
    /// The fields the result takes from the header.
    #[inline(always)]
    fn header(&self) -> Header {
        Header {
            ethertype: ETHERTYPE_IPV4,
            src: v4_mapped(self.src),
            dst: v4_mapped(self.dst),
            proto: self.proto,
            family: 4,
            ttl: self.ttl,
            ip_len: self.total,
            l4_offset: L4,
            frag: FragInfo {
                is_fragment: false,
                first: true,
                more: false,
                offset_bytes: 0,
                len: (self.total - 20) as u16,
                id: self.id as u32,
            },
        }
    }
}

/// The IP header's part of the result, either family.
struct Header {
    ethertype: u16,
    src: [u8; 16],
    dst: [u8; 16],
    proto: u8,
    family: u8,
    ttl: u8,
    ip_len: usize,
    l4_offset: usize,
    frag: FragInfo,
}

/// Writes the result whole.
#[inline(always)]
fn write(
    p: &mut Parsed,
    ip: &Header,
    (sport, dport): (u16, u16),
    tcp: TcpInfo,
    payload_offset: usize,
    payload_end: usize,
) {
    *p = Parsed {
        kind: Kind::Ip,
        ethertype: ip.ethertype,
        vlan_count: 0,
        vlans: [0; super::MAX_VLANS],
        l3_offset: L3 as u16,
        l4_offset: ip.l4_offset as u16,
        payload_offset: payload_offset as u16,
        payload_len: (payload_end - payload_offset) as u16,
        ip_len: ip.ip_len as u16,
        ttl: ip.ttl,
        key: FlowKey {
            src: ip.src,
            dst: ip.dst,
            sport,
            dport,
            proto: ip.proto,
            family: ip.family,
        },
        tcp,
        icmp: Default::default(),
        inner: None,
        frag: ip.frag,
    };
}

/// The key's hash and canonical flow.
#[inline(always)]
fn common(ip: &Ip, (sport, dport): (u16, u16)) -> Common {
    let (hashed, flow) = ipv4_flow(
        u32::from_be_bytes(ip.src),
        u32::from_be_bytes(ip.dst),
        sport,
        dport,
        ip.proto,
    );
    Common { hashed, flow }
}

/// [`scan`] for IPv6: a fixed header with TCP or UDP as its next header (any extension header
/// goes to the full parser), from an ordinary source. Its TCP and UDP steps are `scan`'s at
/// other offsets, written out again: one function for both families, with the offset as a
/// parameter, cost the IPv4 packet 3 to 5 instructions (its two protocols then joined before
/// the hash, and their values went through the stack), and 17 to 30 with the hash passed in.
#[inline(always)]
fn scan6<const DEFER: bool>(
    frame: &[u8],
    p: &mut Parsed,
    segment: &mut Segment,
) -> Option<Common6> {
    // Through the UDP header, as for IPv4 (a minimum frame of 60 bytes is shorter than this:
    // it holds no IPv6 datagram with a transport header anyway).
    let h = frame.first_chunk::<UDP_PAYLOAD6>()?;
    if be16([h[12], h[13]]) != ETHERTYPE_IPV6 || h[L3] >> 4 != 6 {
        return None;
    }
    let end = L4_6 + be16([h[L3 + 4], h[L3 + 5]]) as usize;
    if end > frame.len() || end > u16::MAX as usize {
        return None;
    }
    let (src, dst) = addresses6(h)?;
    // The full parser's address checks: a multicast source, the unspecified one (allowed for
    // duplicate address detection there), land attacks. Any of them: its call.
    if src[0] == 0xff || u128::from_ne_bytes(*src) == 0 || src == dst {
        return None;
    }
    let proto = h[L3 + 6];
    let ip = Header {
        ethertype: ETHERTYPE_IPV6,
        src: *src,
        dst: *dst,
        proto,
        family: 6,
        ttl: h[L3 + 7],
        ip_len: end - L3,
        l4_offset: L4_6,
        // No fragment header: the full parser leaves these at their defaults.
        frag: FragInfo::default(),
    };
    let common6 = |ports: (u16, u16)| {
        let hashed = ipv6_flow(src, dst, ports.0, ports.1, proto);
        let ports = if hashed.reversed {
            (ports.1, ports.0)
        } else {
            ports
        };
        Common6 {
            hashed,
            ports,
            proto,
        }
    };
    match proto {
        PROTO_UDP => {
            let len = be16([h[L4_6 + 4], h[L4_6 + 5]]) as usize;
            if len < 8 || L4_6 + len > end {
                return None;
            }
            let ports = (
                be16([h[L4_6], h[L4_6 + 1]]),
                be16([h[L4_6 + 2], h[L4_6 + 3]]),
            );
            if !DEFER {
                let tcp = TcpInfo::default();
                write(p, &ip, ports, tcp, UDP_PAYLOAD6, L4_6 + len);
            }
            Some(common6(ports))
        }
        PROTO_TCP => {
            let t = frame.get(L4_6..L4_6 + 20)?;
            let doff = (t[12] >> 4) as usize * 4;
            if doff < 20 || L4_6 + doff > end {
                return None;
            }
            let mut tcp = TcpInfo {
                flags: t[13],
                seq: be32(four(t, 4)),
                ack: be32(four(t, 8)),
                window: be16([t[14], t[15]]),
                ..TcpInfo::default()
            };
            let ports = (be16([t[0], t[1]]), be16([t[2], t[3]]));
            if DEFER {
                *segment = tcp.segment((end - (L4_6 + doff)) as u32);
            } else {
                if doff > 20 {
                    let options = frame.get(L4_6 + 20..L4_6 + doff).unwrap_or(&[]);
                    l4::tcp_options(options, &mut tcp);
                }
                write(p, &ip, ports, tcp, L4_6 + doff, end);
            }
            Some(common6(ports))
        }
        _ => None,
    }
}
