//! Reading a frame back: the spec that would build it, its transport fields, its payload.
//! Enough for a test to look at what a firewall sent and to answer it:
//!
//! ```
//! # use synwall_testkit::frame::{FrameSpec, IpPair, TcpFields, TcpFlags};
//! # use synwall_testkit::parse::{parse, Transport};
//! let syn = FrameSpec::from_client(IpPair::v4([10, 0, 0, 1], [10, 0, 0, 2]))
//!     .tcp(&TcpFields::new(40000, 80, TcpFlags::SYN), b"");
//! let p = parse(&syn).unwrap();
//! let Transport::Tcp(t) = p.transport else { panic!() };
//! let mut answer = TcpFields::new(t.dst_port, t.src_port, TcpFlags::SYN | TcpFlags::ACK);
//! answer.ack = t.seq.wrapping_add(1);
//! let syn_ack = p.spec.reversed().tcp(&answer, b"");
//! ```
//!
//! [`verify`] also checks every length and checksum. Written apart from the builders (it reads
//! offsets, it does not reuse them), so that a builder bug shows up in a round trip.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::checksum::{finish, internet_checksum, pseudo_header_sum, sum_words};
use crate::frame::{
    Fragment, FrameSpec, IpPair, TcpFields, Vlans, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_QINQ,
    ETHERTYPE_VLAN, IPV6_FRAGMENT, IPV6_HOP_BY_HOP, IP_PROTO_ICMP, IP_PROTO_ICMPV6, IP_PROTO_TCP,
    IP_PROTO_UDP, MAX_TAGS,
};

/// IPv6 extension headers walked before the transport header (beyond: an error).
const MAX_EXTENSIONS: usize = 8;

/// The transport header, as far as it was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Tcp(TcpFields),
    Udp {
        src_port: u16,
        dst_port: u16,
    },
    /// ICMP or ICMPv6; the rest of the header is `segment()[4..8]`.
    Icmp {
        icmp_type: u8,
        code: u8,
    },
    /// A later fragment, or a protocol read as bytes only.
    Other,
}

/// A frame read back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet<'a> {
    pub frame: &'a [u8],
    /// What builds this frame's headers again (`checksums` and `pad_to_minimum` are set;
    /// IPv4 options and other IPv6 extension headers are skipped, not kept).
    pub spec: FrameSpec,
    /// The transport protocol (after IPv6 extension headers).
    pub protocol: u8,
    /// Offsets in `frame`: the IP header, the transport header, the end of the IP packet
    /// (Ethernet padding excluded).
    pub l3: usize,
    pub l4: usize,
    pub end: usize,
    pub transport: Transport,
}

impl<'a> Packet<'a> {
    /// The IP packet, padding excluded.
    pub fn ip_packet(&self) -> &'a [u8] {
        &self.frame[self.l3..self.end]
    }

    /// The transport header and its payload.
    pub fn segment(&self) -> &'a [u8] {
        &self.frame[self.l4..self.end]
    }

    /// What follows the transport header (all of the segment for [`Transport::Other`]).
    pub fn payload(&self) -> &'a [u8] {
        let header = match self.transport {
            Transport::Tcp(t) => t.header_len(),
            Transport::Udp { .. } | Transport::Icmp { .. } => 8,
            Transport::Other => 0,
        };
        &self.segment()[header..]
    }

    /// TCP or UDP ports, source first.
    pub fn ports(&self) -> Option<(u16, u16)> {
        match self.transport {
            Transport::Tcp(t) => Some((t.src_port, t.dst_port)),
            Transport::Udp { src_port, dst_port } => Some((src_port, dst_port)),
            _ => None,
        }
    }

    pub fn tcp(&self) -> Option<TcpFields> {
        match self.transport {
            Transport::Tcp(t) => Some(t),
            _ => None,
        }
    }
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// Reads Ethernet, tags, IPv4 or IPv6 (walking hop-by-hop, routing, destination options and
/// fragment headers) and the transport header. An error names what does not fit.
pub fn parse(frame: &[u8]) -> Result<Packet<'_>, String> {
    let short = |what: &str| format!("{what} cut short in a frame of {} bytes", frame.len());
    if frame.len() < 14 {
        return Err(short("Ethernet header"));
    }
    let mut vlans = Vlans::NONE;
    let mut at = 12;
    let mut ethertype = be16(frame, at);
    while ethertype == ETHERTYPE_VLAN || ethertype == ETHERTYPE_QINQ {
        if frame.len() < at + 6 {
            return Err(short("VLAN tag"));
        }
        if vlans.len() == MAX_TAGS {
            return Err("too many VLAN tags".into());
        }
        vlans = vlans.push(ethertype, be16(frame, at + 2));
        at += 4;
        ethertype = be16(frame, at);
    }
    let l3 = at + 2;
    let ip = &frame[l3..];
    let mut spec = FrameSpec::from_client(IpPair::v4([0; 4], [0; 4]));
    spec.src_mac.copy_from_slice(&frame[6..12]);
    spec.dst_mac.copy_from_slice(&frame[..6]);
    spec.vlans = vlans;
    let (mut protocol, mut l4, end) = match ethertype {
        ETHERTYPE_IPV4 => {
            if ip.len() < 20 || ip[0] >> 4 != 4 || ip[0] & 0x0f < 5 {
                return Err(short("IPv4 header"));
            }
            let (ihl, total) = (usize::from(ip[0] & 0x0f) * 4, usize::from(be16(ip, 2)));
            if total < ihl || total > ip.len() {
                return Err(format!("IPv4 total length {total} in {} bytes", ip.len()));
            }
            let src: [u8; 4] = ip[12..16].try_into().unwrap_or_default();
            let dst: [u8; 4] = ip[16..20].try_into().unwrap_or_default();
            spec.ips = IpPair::v4(src, dst);
            spec.ttl = ip[8];
            spec.ip_id = u32::from(be16(ip, 4));
            let field = be16(ip, 6);
            spec.dont_fragment = field & 0x4000 != 0;
            let fragment = Fragment {
                offset: (field & 0x1fff) * 8,
                more: field & 0x2000 != 0,
            };
            spec.fragment = (fragment.offset != 0 || fragment.more).then_some(fragment);
            (ip[9], l3 + ihl, l3 + total)
        }
        ETHERTYPE_IPV6 => {
            if ip.len() < 40 || ip[0] >> 4 != 6 {
                return Err(short("IPv6 header"));
            }
            let payload = usize::from(be16(ip, 4));
            if 40 + payload > ip.len() {
                return Err(format!(
                    "IPv6 payload length {payload} in {} bytes",
                    ip.len()
                ));
            }
            let src: [u8; 16] = ip[8..24].try_into().unwrap_or_default();
            let dst: [u8; 16] = ip[24..40].try_into().unwrap_or_default();
            spec.ips = IpPair::v6(src, dst);
            spec.ttl = ip[7];
            spec.dont_fragment = false;
            (ip[6], l3 + 40, l3 + 40 + payload)
        }
        other => return Err(format!("not IP: ethertype {other:#06x}")),
    };
    if let IpPair::V6 { .. } = spec.ips {
        let mut walked = 0;
        while matches!(protocol, IPV6_HOP_BY_HOP | 43 | 60 | IPV6_FRAGMENT) {
            walked += 1;
            if walked > MAX_EXTENSIONS || end < l4 + 8 {
                return Err("IPv6 extension chain too long or cut short".into());
            }
            let header = &frame[l4..l4 + 8];
            if protocol == IPV6_FRAGMENT {
                let field = be16(header, 2);
                spec.fragment = Some(Fragment {
                    offset: field & 0xfff8,
                    more: field & 1 != 0,
                });
                spec.ip_id = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
                l4 += 8;
            } else {
                spec.hop_by_hop |= protocol == IPV6_HOP_BY_HOP && walked == 1;
                l4 += (usize::from(header[1]) + 1) * 8;
            }
            protocol = header[0];
            if spec.fragment.is_some_and(|f| f.offset != 0) {
                break;
            }
        }
        if l4 > end {
            return Err("IPv6 extension header past the payload".into());
        }
    }
    let segment = &frame[l4..end];
    let later_fragment = spec.fragment.is_some_and(|f| f.offset != 0);
    let transport = match protocol {
        _ if later_fragment => Transport::Other,
        IP_PROTO_TCP => Transport::Tcp(TcpFields::read(segment).ok_or_else(|| short("TCP"))?),
        IP_PROTO_UDP if segment.len() >= 8 => Transport::Udp {
            src_port: be16(segment, 0),
            dst_port: be16(segment, 2),
        },
        IP_PROTO_ICMP | IP_PROTO_ICMPV6 if segment.len() >= 8 => Transport::Icmp {
            icmp_type: segment[0],
            code: segment[1],
        },
        IP_PROTO_UDP | IP_PROTO_ICMP | IP_PROTO_ICMPV6 => return Err(short("UDP or ICMP")),
        _ => Transport::Other,
    };
    Ok(Packet {
        frame,
        spec,
        protocol,
        l3,
        l4,
        end,
        transport,
    })
}

/// [`parse`], then checks the IPv4 header checksum and, unless the packet is a fragment (whose
/// transport checksum covers its whole datagram), the UDP length and the transport checksum
/// of TCP, UDP, ICMP and ICMPv6.
pub fn verify(frame: &[u8]) -> Result<Packet<'_>, String> {
    let p = parse(frame)?;
    if let IpPair::V4 { .. } = p.spec.ips {
        if internet_checksum(&frame[p.l3..p.l4]) != 0 {
            return Err("IPv4 header checksum".into());
        }
    }
    if p.spec.fragment.is_some() {
        return Ok(p);
    }
    let segment = p.segment();
    if p.protocol == IP_PROTO_UDP {
        if usize::from(be16(segment, 4)) != segment.len() {
            return Err("UDP length".into());
        }
        if be16(segment, 6) == 0 {
            return Err("UDP checksum present".into());
        }
    }
    let length = u32::try_from(segment.len()).unwrap_or(u32::MAX);
    let sum = match (p.protocol, p.spec.ips) {
        (IP_PROTO_ICMP, _) => sum_words(0, segment),
        (IP_PROTO_TCP | IP_PROTO_UDP | IP_PROTO_ICMPV6, IpPair::V4 { src, dst }) => {
            sum_words(pseudo(src, dst, p.protocol, length), segment)
        }
        (IP_PROTO_TCP | IP_PROTO_UDP | IP_PROTO_ICMPV6, IpPair::V6 { src, dst }) => {
            sum_words(pseudo6(src, dst, p.protocol, length), segment)
        }
        _ => return Ok(p),
    };
    if finish(sum) != 0 {
        return Err(format!("checksum of protocol {}", p.protocol));
    }
    Ok(p)
}

fn pseudo(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, length: u32) -> u64 {
    pseudo_header_sum(&src.octets(), &dst.octets(), protocol, length)
}

fn pseudo6(src: Ipv6Addr, dst: Ipv6Addr, protocol: u8, length: u32) -> u64 {
    pseudo_header_sum(&src.octets(), &dst.octets(), protocol, length)
}
