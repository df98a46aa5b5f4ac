//! Frame builders: Ethernet (optionally 802.1Q-tagged), IPv4 or IPv6, then TCP, UDP, ICMP
//! echo or an ICMP error quoting an original packet. Every length and checksum is right.
//!
//! A [`FrameSpec`] holds what one side of a conversation puts below the transport header
//! (MACs, VLAN, addresses, TTL). The `write_*` methods build into a caller's buffer so that
//! bulk generation reuses one allocation; the other methods return a fresh `Vec`.
//!
//! Frames shorter than Ethernet's 60-byte minimum (without FCS) are zero-padded to it, as a
//! NIC does on the wire: the IP total length then covers less than the frame, which parsers
//! must handle. [`FrameSpec::pad_to_minimum`] turns it off.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::checksum::{internet_checksum, transport_checksum};

/// Source MAC of every frame sent by the client side.
pub const CLIENT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
/// Source MAC of every frame sent by the server side.
pub const SERVER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
/// Smallest Ethernet frame without its 4-byte FCS (what a capture records).
pub const ETHERNET_MIN_FRAME: usize = 60;

pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
pub const ETHERTYPE_VLAN: u16 = 0x8100;
pub const IP_PROTO_ICMP: u8 = 1;
pub const IP_PROTO_TCP: u8 = 6;
pub const IP_PROTO_UDP: u8 = 17;
pub const IP_PROTO_ICMPV6: u8 = 58;

const ETHERNET_HEADER_LEN: usize = 14;
const VLAN_TAG_LEN: usize = 4;
const IPV4_HEADER_LEN: usize = 20;
const IPV6_HEADER_LEN: usize = 40;
const TCP_HEADER_LEN: usize = 20;
const UDP_HEADER_LEN: usize = 8;
const ICMP_HEADER_LEN: usize = 8;
/// IPv6 minimum MTU: an ICMPv6 error quotes as much of the original as fits in it.
const IPV6_MIN_MTU: usize = 1280;
/// Bytes of the original transport header an ICMPv4 error quotes (RFC 792).
const ICMPV4_QUOTED_TRANSPORT: usize = 8;

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
    pub fn family(&self) -> IpFamily {
        match self {
            IpPair::V4 { .. } => IpFamily::V4,
            IpPair::V6 { .. } => IpFamily::V6,
        }
    }

    /// The other direction.
    pub fn reversed(&self) -> IpPair {
        match *self {
            IpPair::V4 { src, dst } => IpPair::V4 { src: dst, dst: src },
            IpPair::V6 { src, dst } => IpPair::V6 { src: dst, dst: src },
        }
    }

    fn header_len(&self) -> usize {
        match self {
            IpPair::V4 { .. } => IPV4_HEADER_LEN,
            IpPair::V6 { .. } => IPV6_HEADER_LEN,
        }
    }

    fn icmp_protocol(&self) -> u8 {
        match self {
            IpPair::V4 { .. } => IP_PROTO_ICMP,
            IpPair::V6 { .. } => IP_PROTO_ICMPV6,
        }
    }

    fn transport_checksum(&self, protocol: u8, segment: &[u8]) -> u16 {
        match self {
            IpPair::V4 { src, dst } => {
                transport_checksum(&src.octets(), &dst.octets(), protocol, segment)
            }
            IpPair::V6 { src, dst } => {
                transport_checksum(&src.octets(), &dst.octets(), protocol, segment)
            }
        }
    }
}

/// TCP header flags, as on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    pub const FIN: TcpFlags = TcpFlags(0x01);
    pub const SYN: TcpFlags = TcpFlags(0x02);
    pub const RST: TcpFlags = TcpFlags(0x04);
    pub const PSH: TcpFlags = TcpFlags(0x08);
    pub const ACK: TcpFlags = TcpFlags(0x10);
    pub const URG: TcpFlags = TcpFlags(0x20);

    pub fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for TcpFlags {
    type Output = TcpFlags;
    fn bitor(self, rhs: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | rhs.0)
    }
}

/// A TCP header's fields. Options are written in Linux's SYN order (MSS, SACK-permitted,
/// window scale), NOP-padded to whole words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpFields {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    /// Written as is; meaningful to receivers only with [`TcpFlags::ACK`].
    pub ack: u32,
    pub flags: TcpFlags,
    pub window: u16,
    pub mss: Option<u16>,
    pub window_scale: Option<u8>,
    pub sack_permitted: bool,
}

impl TcpFields {
    /// No options, window 64240 (Linux's initial window), seq and ack 0.
    pub fn new(src_port: u16, dst_port: u16, flags: TcpFlags) -> Self {
        TcpFields {
            src_port,
            dst_port,
            seq: 0,
            ack: 0,
            flags,
            window: 64_240,
            mss: None,
            window_scale: None,
            sack_permitted: false,
        }
    }

    fn options_len(&self) -> usize {
        4 * (usize::from(self.mss.is_some())
            + usize::from(self.sack_permitted)
            + usize::from(self.window_scale.is_some()))
    }
}

/// ICMP errors the generator can send, mapped to each family's type and code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IcmpErrorKind {
    PortUnreachable,
    HostUnreachable,
    AdminProhibited,
    TimeExceeded,
}

impl IcmpErrorKind {
    /// `(type, code)` for ICMPv4 (RFC 792/1812) or ICMPv6 (RFC 4443).
    pub fn type_code(self, family: IpFamily) -> (u8, u8) {
        match (family, self) {
            (IpFamily::V4, IcmpErrorKind::PortUnreachable) => (3, 3),
            (IpFamily::V4, IcmpErrorKind::HostUnreachable) => (3, 1),
            (IpFamily::V4, IcmpErrorKind::AdminProhibited) => (3, 13),
            (IpFamily::V4, IcmpErrorKind::TimeExceeded) => (11, 0),
            (IpFamily::V6, IcmpErrorKind::PortUnreachable) => (1, 4),
            (IpFamily::V6, IcmpErrorKind::HostUnreachable) => (1, 3),
            (IpFamily::V6, IcmpErrorKind::AdminProhibited) => (1, 1),
            (IpFamily::V6, IcmpErrorKind::TimeExceeded) => (3, 0),
        }
    }
}

/// ICMP echo request/reply type for a family.
pub fn icmp_echo_type(family: IpFamily, reply: bool) -> u8 {
    match (family, reply) {
        (IpFamily::V4, false) => 8,
        (IpFamily::V4, true) => 0,
        (IpFamily::V6, false) => 128,
        (IpFamily::V6, true) => 129,
    }
}

/// Everything one sender puts below the transport header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameSpec {
    pub src_mac: [u8; 6],
    pub dst_mac: [u8; 6],
    /// 802.1Q VLAN id (12 bits; priority 0).
    pub vlan: Option<u16>,
    pub ips: IpPair,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// IPv4 identification (IPv4 packets are sent with DF set).
    pub ip_id: u16,
    pub pad_to_minimum: bool,
}

impl FrameSpec {
    /// Client to server: MACs [`CLIENT_MAC`] -> [`SERVER_MAC`], TTL 64.
    pub fn from_client(ips: IpPair) -> Self {
        FrameSpec {
            src_mac: CLIENT_MAC,
            dst_mac: SERVER_MAC,
            vlan: None,
            ips,
            ttl: 64,
            ip_id: 0,
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

    pub fn with_vlan(self, vlan_id: u16) -> Self {
        FrameSpec {
            vlan: Some(vlan_id & 0x0fff),
            ..self
        }
    }

    /// Bytes before the transport header (Ethernet, tag, IP).
    pub fn headers_len(&self) -> usize {
        ETHERNET_HEADER_LEN
            + if self.vlan.is_some() { VLAN_TAG_LEN } else { 0 }
            + self.ips.header_len()
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

    pub fn icmp_echo(&self, reply: bool, identifier: u16, sequence: u16, data: &[u8]) -> Vec<u8> {
        let mut frame = Vec::new();
        self.write_icmp_echo(reply, identifier, sequence, data, &mut frame);
        frame
    }

    pub fn icmp_error(&self, kind: IcmpErrorKind, original_ip_packet: &[u8]) -> Vec<u8> {
        let mut frame = Vec::new();
        self.write_icmp_error(kind, original_ip_packet, &mut frame);
        frame
    }

    /// Builds a TCP frame into `out` (cleared first).
    pub fn write_tcp(&self, tcp: &TcpFields, payload: &[u8], out: &mut Vec<u8>) {
        self.write_frame(IP_PROTO_TCP, 16, out, |out| {
            let header_len = TCP_HEADER_LEN + tcp.options_len();
            out.extend_from_slice(&tcp.src_port.to_be_bytes());
            out.extend_from_slice(&tcp.dst_port.to_be_bytes());
            out.extend_from_slice(&tcp.seq.to_be_bytes());
            out.extend_from_slice(&tcp.ack.to_be_bytes());
            out.push(((header_len / 4) as u8) << 4);
            out.push(tcp.flags.0);
            out.extend_from_slice(&tcp.window.to_be_bytes());
            out.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
            if let Some(mss) = tcp.mss {
                out.extend_from_slice(&[2, 4]);
                out.extend_from_slice(&mss.to_be_bytes());
            }
            if tcp.sack_permitted {
                out.extend_from_slice(&[1, 1, 4, 2]);
            }
            if let Some(shift) = tcp.window_scale {
                out.extend_from_slice(&[1, 3, 3, shift]);
            }
            out.extend_from_slice(payload);
        });
    }

    /// Builds a UDP frame into `out` (cleared first).
    pub fn write_udp(&self, src_port: u16, dst_port: u16, payload: &[u8], out: &mut Vec<u8>) {
        self.write_frame(IP_PROTO_UDP, 6, out, |out| {
            let length = u16::try_from(UDP_HEADER_LEN + payload.len()).expect("UDP too long");
            out.extend_from_slice(&src_port.to_be_bytes());
            out.extend_from_slice(&dst_port.to_be_bytes());
            out.extend_from_slice(&length.to_be_bytes());
            out.extend_from_slice(&[0, 0]);
            out.extend_from_slice(payload);
        });
    }

    /// Builds an ICMP or ICMPv6 echo request/reply into `out` (cleared first).
    pub fn write_icmp_echo(
        &self,
        reply: bool,
        identifier: u16,
        sequence: u16,
        data: &[u8],
        out: &mut Vec<u8>,
    ) {
        let icmp_type = icmp_echo_type(self.ips.family(), reply);
        self.write_frame(self.ips.icmp_protocol(), 2, out, |out| {
            out.extend_from_slice(&[icmp_type, 0, 0, 0]);
            out.extend_from_slice(&identifier.to_be_bytes());
            out.extend_from_slice(&sequence.to_be_bytes());
            out.extend_from_slice(data);
        });
    }

    /// Builds an ICMP error quoting `original_ip_packet` (an IP packet, no Ethernet header;
    /// see [`ip_packet_of`]) into `out`. ICMPv4 quotes the IP header and 8 bytes of transport
    /// (RFC 792); ICMPv6 as much as keeps the error within 1280 bytes (RFC 4443).
    pub fn write_icmp_error(
        &self,
        kind: IcmpErrorKind,
        original_ip_packet: &[u8],
        out: &mut Vec<u8>,
    ) {
        let (icmp_type, code) = kind.type_code(self.ips.family());
        let quoted_len = match self.ips.family() {
            IpFamily::V4 => {
                let ihl = original_ip_packet
                    .first()
                    .map_or(0, |b| usize::from(b & 0x0f) * 4);
                ihl + ICMPV4_QUOTED_TRANSPORT
            }
            IpFamily::V6 => IPV6_MIN_MTU - IPV6_HEADER_LEN - ICMP_HEADER_LEN,
        };
        let quoted = &original_ip_packet[..quoted_len.min(original_ip_packet.len())];
        self.write_frame(self.ips.icmp_protocol(), 2, out, |out| {
            out.extend_from_slice(&[icmp_type, code, 0, 0, 0, 0, 0, 0]);
            out.extend_from_slice(quoted);
        });
    }

    /// Writes L2 and L3, lets `transport` append its header and payload (checksum zeroed),
    /// then fills the IP length and checksums. `checksum_at` is the transport checksum's
    /// offset in the transport header.
    fn write_frame(
        &self,
        protocol: u8,
        checksum_at: usize,
        out: &mut Vec<u8>,
        transport: impl FnOnce(&mut Vec<u8>),
    ) {
        out.clear();
        out.extend_from_slice(&self.dst_mac);
        out.extend_from_slice(&self.src_mac);
        if let Some(vlan_id) = self.vlan {
            out.extend_from_slice(&ETHERTYPE_VLAN.to_be_bytes());
            out.extend_from_slice(&vlan_id.to_be_bytes());
        }
        let ethertype = match self.ips {
            IpPair::V4 { .. } => ETHERTYPE_IPV4,
            IpPair::V6 { .. } => ETHERTYPE_IPV6,
        };
        out.extend_from_slice(&ethertype.to_be_bytes());
        let ip_start = out.len();
        match self.ips {
            IpPair::V4 { src, dst } => {
                out.extend_from_slice(&[0x45, 0, 0, 0]); // version/IHL, DSCP, total length
                out.extend_from_slice(&self.ip_id.to_be_bytes());
                out.extend_from_slice(&[0x40, 0, self.ttl, protocol, 0, 0]); // DF
                out.extend_from_slice(&src.octets());
                out.extend_from_slice(&dst.octets());
            }
            IpPair::V6 { src, dst } => {
                out.extend_from_slice(&[0x60, 0, 0, 0, 0, 0, protocol, self.ttl]);
                out.extend_from_slice(&src.octets());
                out.extend_from_slice(&dst.octets());
            }
        }
        let transport_start = out.len();
        transport(out);
        let transport_len = out.len() - transport_start;
        match self.ips {
            IpPair::V4 { .. } => {
                let total = u16::try_from(out.len() - ip_start).expect("IPv4 packet too long");
                out[ip_start + 2..ip_start + 4].copy_from_slice(&total.to_be_bytes());
                let header_checksum = internet_checksum(&out[ip_start..transport_start]);
                out[ip_start + 10..ip_start + 12].copy_from_slice(&header_checksum.to_be_bytes());
            }
            IpPair::V6 { .. } => {
                let payload = u16::try_from(transport_len).expect("IPv6 payload too long");
                out[ip_start + 4..ip_start + 6].copy_from_slice(&payload.to_be_bytes());
            }
        }
        let segment = &out[transport_start..];
        let checksum = if protocol == IP_PROTO_ICMP {
            internet_checksum(segment)
        } else {
            match self.ips.transport_checksum(protocol, segment) {
                // UDP sends "no checksum" as 0, so a computed 0 is written as its other form.
                0 if protocol == IP_PROTO_UDP => 0xffff,
                sum => sum,
            }
        };
        let at = transport_start + checksum_at;
        out[at..at + 2].copy_from_slice(&checksum.to_be_bytes());
        if self.pad_to_minimum && out.len() < ETHERNET_MIN_FRAME {
            out.resize(ETHERNET_MIN_FRAME, 0);
        }
    }
}

/// The IP packet inside a frame built here: skips Ethernet and one optional 802.1Q tag, and
/// drops Ethernet padding using the IP length. For quoting a packet in an ICMP error.
pub fn ip_packet_of(frame: &[u8]) -> &[u8] {
    let mut at = 12;
    if frame[at..at + 2] == ETHERTYPE_VLAN.to_be_bytes() {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn v4_pair() -> IpPair {
        IpPair::V4 {
            src: Ipv4Addr::new(10, 0, 0, 1),
            dst: Ipv4Addr::new(10, 1, 0, 10),
        }
    }

    #[test]
    fn tcp_syn_matches_hand_assembled_bytes() {
        let mut tcp = TcpFields::new(40000, 80, TcpFlags::SYN);
        tcp.seq = 0x0102_0304;
        tcp.mss = Some(1460);
        tcp.window_scale = Some(7);
        let frame = FrameSpec::from_client(v4_pair()).tcp(&tcp, &[]);
        #[rustfmt::skip]
        let expected_without_checksums: [u8; 62] = [
            0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00,
            0x45, 0, 0, 48, 0, 0, 0x40, 0, 64, 6, 0xff, 0xff, 10, 0, 0, 1, 10, 1, 0, 10,
            0x9c, 0x40, 0, 80, 1, 2, 3, 4, 0, 0, 0, 0, 0x70, 0x02, 0xfa, 0xf0, 0xff, 0xff, 0, 0,
            2, 4, 0x05, 0xb4, 1, 3, 3, 7,
        ];
        let mut masked = frame.clone();
        masked[24..26].copy_from_slice(&[0xff, 0xff]);
        masked[50..52].copy_from_slice(&[0xff, 0xff]);
        assert_eq!(masked, expected_without_checksums);
        // The IPv4 header checksum of this exact header, computed separately: 0x26bd.
        assert_eq!(&frame[24..26], &[0x26, 0xbd]);
    }

    #[test]
    fn short_frames_are_padded_and_lengths_exclude_padding() {
        let frame = FrameSpec::from_client(v4_pair()).udp(1, 2, b"x");
        assert_eq!(frame.len(), ETHERNET_MIN_FRAME);
        assert_eq!(u16::from_be_bytes([frame[16], frame[17]]), 20 + 8 + 1);
        assert_eq!(ip_packet_of(&frame).len(), 29);
        let mut spec = FrameSpec::from_client(v4_pair());
        spec.pad_to_minimum = false;
        assert_eq!(spec.udp(1, 2, b"x").len(), 14 + 29);
    }

    #[test]
    fn vlan_tag_sits_before_the_ethertype() {
        let frame = FrameSpec::from_client(v4_pair())
            .with_vlan(100)
            .udp(1, 2, &[0; 40]);
        assert_eq!(&frame[12..18], &[0x81, 0x00, 0x00, 100, 0x08, 0x00]);
        assert_eq!(ip_packet_of(&frame).len(), 20 + 8 + 40);
    }

    #[test]
    fn icmpv4_error_quotes_header_and_eight_bytes() {
        let client = FrameSpec::from_client(v4_pair());
        let original = client.udp(40000, 9999, &[0xaa; 100]);
        let error = client
            .reversed()
            .icmp_error(IcmpErrorKind::PortUnreachable, ip_packet_of(&original));
        let icmp = &error[14 + 20..];
        assert_eq!(&icmp[..2], &[3, 3]);
        assert_eq!(&icmp[8..], &ip_packet_of(&original)[..28]);
    }
}
