//! ICMP and ICMPv6 messages: echo, errors quoting an original packet, any type and code.

use super::{FrameSpec, IpFamily, IPV6_HEADER_LEN};

/// IPv6 minimum MTU: an ICMPv6 error quotes as much of the original as fits in it.
pub const IPV6_MIN_MTU: usize = 1280;
const ICMP_HEADER_LEN: usize = 8;
/// Bytes of the original transport header an ICMPv4 error quotes (RFC 792).
const ICMPV4_QUOTED_TRANSPORT: usize = 8;
/// Offset of the checksum in an ICMP header.
const CHECKSUM_AT: usize = 2;

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

/// An ICMP or ICMPv6 message alone (checksum 0): type, code, then `rest` (the second header
/// word and the body), for IP payloads put together by hand.
pub fn icmp_message(icmp_type: u8, code: u8, rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + rest.len());
    push_icmp(icmp_type, code, rest, &mut out);
    out
}

fn push_icmp(icmp_type: u8, code: u8, rest: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&[icmp_type, code, 0, 0]);
    out.extend_from_slice(rest);
}

impl FrameSpec {
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

    /// Any ICMP or ICMPv6 message: type, code, checksum, then `rest` (the second header word
    /// and the body).
    pub fn icmp(&self, icmp_type: u8, code: u8, rest: &[u8]) -> Vec<u8> {
        let mut frame = Vec::new();
        self.write_icmp(icmp_type, code, rest, &mut frame);
        frame
    }

    /// Builds any ICMP or ICMPv6 message into `out` (cleared first).
    pub fn write_icmp(&self, icmp_type: u8, code: u8, rest: &[u8], out: &mut Vec<u8>) {
        let protocol = self.ips.icmp_protocol();
        self.write_frame(protocol, Some(CHECKSUM_AT), out, |out| {
            push_icmp(icmp_type, code, rest, out)
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
        self.write_frame(self.ips.icmp_protocol(), Some(CHECKSUM_AT), out, |out| {
            out.extend_from_slice(&[icmp_type, 0, 0, 0]);
            out.extend_from_slice(&identifier.to_be_bytes());
            out.extend_from_slice(&sequence.to_be_bytes());
            out.extend_from_slice(data);
        });
    }

    /// Builds an ICMP error quoting `original_ip_packet` (an IP packet, no Ethernet header;
    /// see [`super::ip_packet_of`]) into `out`. ICMPv4 quotes the IP header and 8 bytes of
    /// transport (RFC 792); ICMPv6 as much as keeps the error within 1280 bytes (RFC 4443).
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
        self.write_frame(self.ips.icmp_protocol(), Some(CHECKSUM_AT), out, |out| {
            out.extend_from_slice(&[icmp_type, code, 0, 0, 0, 0, 0, 0]);
            out.extend_from_slice(quoted);
        });
    }
}
