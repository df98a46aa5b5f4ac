//! Frame builders: Ethernet (802.1Q or 802.1ad tags), IPv4 or IPv6 (optionally a fragment, or
//! behind a hop-by-hop header), then TCP, UDP, ICMP echo, an ICMP error quoting an original
//! packet, any ICMP message, or raw transport bytes. Every length and checksum is right unless
//! a spec says to leave checksums out.
//!
//! A [`FrameSpec`] holds what one side of a conversation puts below the transport header
//! (MACs, tags, addresses, TTL, fragment). The `write_*` methods build into a caller's buffer
//! so that bulk generation reuses one allocation; the other methods return a fresh `Vec`.
//! [`crate::parse`] reads a frame back into a spec and transport fields.
//!
//! Frames shorter than Ethernet's 60-byte minimum (without FCS) are zero-padded to it, as a
//! NIC does on the wire: the IP total length then covers less than the frame, which parsers
//! must handle. [`FrameSpec::unpadded`] turns it off.

mod addr;
mod icmp;
mod tcp;
#[cfg(test)]
mod tests;

pub use addr::{Fragment, IpFamily, IpPair, Vlans, MAX_TAGS};
pub use icmp::{icmp_echo_type, icmp_message, IcmpErrorKind, IPV6_MIN_MTU};
pub use tcp::{TcpFields, TcpFlags, TcpOptions, MAX_OPTIONS};

use crate::checksum::{internet_checksum, transport_checksum};

/// Source MAC of every frame sent by the client side.
pub const CLIENT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
/// Source MAC of every frame sent by the server side.
pub const SERVER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
/// Smallest Ethernet frame without its 4-byte FCS (what a capture records).
pub const ETHERNET_MIN_FRAME: usize = 60;

pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// 802.1Q customer tag.
pub const ETHERTYPE_VLAN: u16 = 0x8100;
/// 802.1ad service tag (the outer tag of QinQ).
pub const ETHERTYPE_QINQ: u16 = 0x88a8;
pub const IP_PROTO_ICMP: u8 = 1;
pub const IP_PROTO_TCP: u8 = 6;
pub const IP_PROTO_UDP: u8 = 17;
pub const IP_PROTO_ICMPV6: u8 = 58;
/// IPv6 extension headers the builder writes and the reader walks.
pub const IPV6_HOP_BY_HOP: u8 = 0;
pub const IPV6_FRAGMENT: u8 = 44;

const ETHERNET_HEADER_LEN: usize = 14;
const VLAN_TAG_LEN: usize = 4;
const IPV4_HEADER_LEN: usize = 20;
const IPV6_HEADER_LEN: usize = 40;
/// A hop-by-hop or fragment extension header as written here.
const IPV6_EXTENSION_LEN: usize = 8;
const TCP_HEADER_LEN: usize = 20;
const UDP_HEADER_LEN: usize = 8;

/// Everything one sender puts below the transport header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameSpec {
    pub src_mac: [u8; 6],
    pub dst_mac: [u8; 6],
    pub vlans: Vlans,
    pub ips: IpPair,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// The datagram's identification: IPv4's 16-bit field (the low bits), IPv6's fragment
    /// header (written only with [`FrameSpec::fragment`]).
    pub ip_id: u32,
    /// IPv4 "don't fragment" (set unless [`FrameSpec::with_fragment`] clears it).
    pub dont_fragment: bool,
    /// This packet is a fragment: its IPv4 fragment field, or an IPv6 fragment header.
    pub fragment: Option<Fragment>,
    /// IPv6: an 8-byte hop-by-hop options header (PadN) first in the chain.
    pub hop_by_hop: bool,
    /// IPv4 header and transport checksums; off, they are left 0 (the engine does not check
    /// them, and the fuzz targets' frames are built that way).
    pub checksums: bool,
    pub pad_to_minimum: bool,
}

impl FrameSpec {
    /// Client to server: MACs [`CLIENT_MAC`] -> [`SERVER_MAC`], TTL 64, DF, checksums, padded.
    pub fn from_client(ips: IpPair) -> Self {
        FrameSpec {
            src_mac: CLIENT_MAC,
            dst_mac: SERVER_MAC,
            vlans: Vlans::NONE,
            ips,
            ttl: 64,
            ip_id: 0,
            dont_fragment: true,
            fragment: None,
            hop_by_hop: false,
            checksums: true,
            pad_to_minimum: true,
        }
    }

    /// Server to client: `ips` are given in the server's direction (src = server).
    pub fn from_server(ips: IpPair) -> Self {
        FrameSpec {
            src_mac: SERVER_MAC,
            dst_mac: CLIENT_MAC,
            ..FrameSpec::from_client(ips)
        }
    }

    /// The peer's spec: MACs and addresses swapped, the rest kept.
    pub fn reversed(&self) -> Self {
        FrameSpec {
            src_mac: self.dst_mac,
            dst_mac: self.src_mac,
            ips: self.ips.reversed(),
            ..*self
        }
    }

    /// Adds an 802.1Q tag (12-bit id, priority 0) inside those already there.
    pub fn with_vlan(self, vlan_id: u16) -> Self {
        self.with_tag(ETHERTYPE_VLAN, vlan_id & 0x0fff)
    }

    /// Adds a tag with any TPID and TCI (QinQ's outer tag: [`ETHERTYPE_QINQ`]).
    pub fn with_tag(mut self, tpid: u16, tci: u16) -> Self {
        self.vlans = self.vlans.push(tpid, tci);
        self
    }

    pub fn with_ttl(self, ttl: u8) -> Self {
        FrameSpec { ttl, ..self }
    }

    pub fn with_ip_id(self, ip_id: u32) -> Self {
        FrameSpec { ip_id, ..self }
    }

    pub fn with_dont_fragment(self, dont_fragment: bool) -> Self {
        FrameSpec {
            dont_fragment,
            ..self
        }
    }

    /// A fragment at byte `offset` (a multiple of 8) of its datagram, more to come or not;
    /// clears DF. Fragments carry no transport checksum (it would cover the whole datagram).
    pub fn with_fragment(self, offset: u16, more: bool) -> Self {
        assert!(
            offset.is_multiple_of(8),
            "fragment offsets count 8-byte units"
        );
        FrameSpec {
            fragment: Some(Fragment { offset, more }),
            dont_fragment: false,
            ..self
        }
    }

    pub fn with_hop_by_hop(self) -> Self {
        FrameSpec {
            hop_by_hop: true,
            ..self
        }
    }

    pub fn unpadded(self) -> Self {
        FrameSpec {
            pad_to_minimum: false,
            ..self
        }
    }

    pub fn without_checksums(self) -> Self {
        FrameSpec {
            checksums: false,
            ..self
        }
    }

    /// Bytes before the IP header (Ethernet and tags).
    pub fn l2_len(&self) -> usize {
        ETHERNET_HEADER_LEN + VLAN_TAG_LEN * self.vlans.len()
    }

    /// Bytes before the transport header (Ethernet, tags, IP, IPv6 extension headers).
    pub fn headers_len(&self) -> usize {
        let ip = match self.ips {
            IpPair::V4 { .. } => IPV4_HEADER_LEN,
            IpPair::V6 { .. } => {
                IPV6_HEADER_LEN
                    + IPV6_EXTENSION_LEN
                        * (usize::from(self.hop_by_hop) + usize::from(self.fragment.is_some()))
            }
        };
        self.l2_len() + ip
    }

    /// Frame length (before padding) of a TCP segment without options or of a UDP datagram
    /// carrying `payload_len` bytes: lets bulk profiles size payloads to a frame size.
    pub fn frame_len(&self, protocol: u8, payload_len: usize) -> usize {
        let transport = if protocol == IP_PROTO_TCP {
            TCP_HEADER_LEN
        } else {
            UDP_HEADER_LEN
        };
        self.headers_len() + transport + payload_len
    }

    pub fn tcp(&self, tcp: &TcpFields, payload: &[u8]) -> Vec<u8> {
        let mut frame = Vec::new();
        self.write_tcp(tcp, payload, &mut frame);
        frame
    }

    pub fn udp(&self, src_port: u16, dst_port: u16, payload: &[u8]) -> Vec<u8> {
        let mut frame = Vec::new();
        self.write_udp(src_port, dst_port, payload, &mut frame);
        frame
    }

    /// `transport` as the IP payload of protocol `protocol`, as given: no transport checksum
    /// (a cut or malformed header, an IPv6 extension chain, an unknown protocol).
    pub fn raw(&self, protocol: u8, transport: &[u8]) -> Vec<u8> {
        let mut frame = Vec::new();
        self.write_raw(protocol, transport, &mut frame);
        frame
    }

    /// The IP packet alone (no Ethernet, no padding) with `transport` as given: what an ICMP
    /// error quotes, or a header for a test to bend.
    pub fn ip_packet(&self, protocol: u8, transport: &[u8]) -> Vec<u8> {
        let mut frame = self.unpadded().raw(protocol, transport);
        frame.drain(..self.l2_len());
        frame
    }

    /// An Ethernet frame (this spec's MACs and tags) around `payload` of any ethertype: ARP,
    /// or an IP header written by hand.
    pub fn ethernet(&self, ethertype: u16, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_l2(ethertype, &mut out);
        out.extend_from_slice(payload);
        self.pad(&mut out);
        out
    }

    /// Builds a TCP frame into `out` (cleared first).
    pub fn write_tcp(&self, tcp: &TcpFields, payload: &[u8], out: &mut Vec<u8>) {
        self.write_frame(IP_PROTO_TCP, Some(16), out, |out| {
            tcp.write_segment(payload, out)
        });
    }

    /// Builds a UDP frame into `out` (cleared first).
    pub fn write_udp(&self, src_port: u16, dst_port: u16, payload: &[u8], out: &mut Vec<u8>) {
        self.write_frame(IP_PROTO_UDP, Some(6), out, |out| {
            push_udp(src_port, dst_port, payload, out)
        });
    }

    /// Builds a frame with `transport` as given into `out` (cleared first); see [`Self::raw`].
    pub fn write_raw(&self, protocol: u8, transport: &[u8], out: &mut Vec<u8>) {
        self.write_frame(protocol, None, out, |out| out.extend_from_slice(transport));
    }

    fn write_l2(&self, ethertype: u16, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.dst_mac);
        out.extend_from_slice(&self.src_mac);
        for (tpid, tci) in self.vlans.iter() {
            out.extend_from_slice(&tpid.to_be_bytes());
            out.extend_from_slice(&tci.to_be_bytes());
        }
        out.extend_from_slice(&ethertype.to_be_bytes());
    }

    fn pad(&self, out: &mut Vec<u8>) {
        if self.pad_to_minimum && out.len() < ETHERNET_MIN_FRAME {
            out.resize(ETHERNET_MIN_FRAME, 0);
        }
    }

    /// Writes L2 and L3, lets `transport` append its header and payload (checksum zeroed),
    /// then fills the IP length and checksums. `checksum_at` is the transport checksum's
    /// offset in the transport header (`None`: raw bytes, no checksum).
    fn write_frame(
        &self,
        protocol: u8,
        checksum_at: Option<usize>,
        out: &mut Vec<u8>,
        transport: impl FnOnce(&mut Vec<u8>),
    ) {
        out.clear();
        let ethertype = match self.ips {
            IpPair::V4 { .. } => ETHERTYPE_IPV4,
            IpPair::V6 { .. } => ETHERTYPE_IPV6,
        };
        self.write_l2(ethertype, out);
        let ip_start = out.len();
        match self.ips {
            IpPair::V4 { src, dst } => {
                let mut flags = if self.dont_fragment { 0x4000 } else { 0 };
                if let Some(f) = self.fragment {
                    flags |= (f.offset / 8) | if f.more { 0x2000 } else { 0 };
                }
                out.extend_from_slice(&[0x45, 0, 0, 0]); // version/IHL, DSCP, total length
                out.extend_from_slice(&(self.ip_id as u16).to_be_bytes());
                out.extend_from_slice(&flags.to_be_bytes());
                out.extend_from_slice(&[self.ttl, protocol, 0, 0]);
                out.extend_from_slice(&src.octets());
                out.extend_from_slice(&dst.octets());
            }
            IpPair::V6 { src, dst } => {
                let after_hop_by_hop = match self.fragment {
                    Some(_) => IPV6_FRAGMENT,
                    None => protocol,
                };
                let next = if self.hop_by_hop {
                    IPV6_HOP_BY_HOP
                } else {
                    after_hop_by_hop
                };
                out.extend_from_slice(&[0x60, 0, 0, 0, 0, 0, next, self.ttl]);
                out.extend_from_slice(&src.octets());
                out.extend_from_slice(&dst.octets());
                if self.hop_by_hop {
                    // Length 0 (8 bytes), PadN filling the rest.
                    out.extend_from_slice(&[after_hop_by_hop, 0, 1, 4, 0, 0, 0, 0]);
                }
                if let Some(f) = self.fragment {
                    out.extend_from_slice(&[protocol, 0]);
                    out.extend_from_slice(&(f.offset | u16::from(f.more)).to_be_bytes());
                    out.extend_from_slice(&self.ip_id.to_be_bytes());
                }
            }
        }
        let transport_start = out.len();
        transport(out);
        match self.ips {
            IpPair::V4 { .. } => {
                let total = u16::try_from(out.len() - ip_start).expect("IPv4 packet too long");
                out[ip_start + 2..ip_start + 4].copy_from_slice(&total.to_be_bytes());
                if self.checksums {
                    let sum = internet_checksum(&out[ip_start..transport_start]);
                    out[ip_start + 10..ip_start + 12].copy_from_slice(&sum.to_be_bytes());
                }
            }
            IpPair::V6 { .. } => {
                let payload = out.len() - ip_start - IPV6_HEADER_LEN;
                let payload = u16::try_from(payload).expect("IPv6 payload too long");
                out[ip_start + 4..ip_start + 6].copy_from_slice(&payload.to_be_bytes());
            }
        }
        if let (Some(checksum_at), true, None) = (checksum_at, self.checksums, self.fragment) {
            let at = transport_start + checksum_at;
            let checksum = self.transport_checksum(protocol, &out[transport_start..]);
            out[at..at + 2].copy_from_slice(&checksum.to_be_bytes());
        }
        self.pad(out);
    }

    fn transport_checksum(&self, protocol: u8, segment: &[u8]) -> u16 {
        if protocol == IP_PROTO_ICMP {
            return internet_checksum(segment);
        }
        let sum = match self.ips {
            IpPair::V4 { src, dst } => {
                transport_checksum(&src.octets(), &dst.octets(), protocol, segment)
            }
            IpPair::V6 { src, dst } => {
                transport_checksum(&src.octets(), &dst.octets(), protocol, segment)
            }
        };
        match sum {
            // UDP sends "no checksum" as 0, so a computed 0 is written as its other form.
            0 if protocol == IP_PROTO_UDP => 0xffff,
            sum => sum,
        }
    }
}

/// A UDP header (checksum 0) and `payload`: the datagram alone, for IP payloads put
/// together by hand.
pub fn udp_datagram(src_port: u16, dst_port: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(UDP_HEADER_LEN + payload.len());
    push_udp(src_port, dst_port, payload, &mut out);
    out
}

fn push_udp(src_port: u16, dst_port: u16, payload: &[u8], out: &mut Vec<u8>) {
    let length = u16::try_from(UDP_HEADER_LEN + payload.len()).expect("UDP too long");
    out.extend_from_slice(&src_port.to_be_bytes());
    out.extend_from_slice(&dst_port.to_be_bytes());
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(payload);
}

/// The IP packet inside a frame: skips Ethernet and its tags, and drops Ethernet padding
/// using the IP length. For quoting a packet in an ICMP error.
pub fn ip_packet_of(frame: &[u8]) -> &[u8] {
    let mut at = 12;
    while let [0x81, 0x00, ..] | [0x88, 0xa8, ..] = frame[at..] {
        at += VLAN_TAG_LEN;
    }
    let ethertype = u16::from_be_bytes([frame[at], frame[at + 1]]);
    let packet = &frame[at + 2..];
    let len = if ethertype == ETHERTYPE_IPV4 {
        usize::from(u16::from_be_bytes([packet[2], packet[3]]))
    } else {
        IPV6_HEADER_LEN + usize::from(u16::from_be_bytes([packet[4], packet[5]]))
    };
    &packet[..len.min(packet.len())]
}
