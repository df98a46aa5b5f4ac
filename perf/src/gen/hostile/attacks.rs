//! Attacks and noise: the 256 TCP flag bytes, forbidden source addresses, fragments, random
//! bytes and bit-flipped copies of valid frames.

use std::net::{Ipv4Addr, Ipv6Addr};

use synwall_engine::reasons::DropReason::*;
use synwall_testkit::conv::{Side, TcpConversation};
use synwall_testkit::frame::{FrameSpec, IpPair, TcpFields, TcpFlags};

use super::{spec, v4, v6, Builder, Fate};

const ETH: usize = 14;

pub(super) fn tcp_flags(b: &mut Builder) {
    b.group(
        "tcp-flags",
        "every TCP flag byte 0x00-0xff, each on its own flow with no session: SYN (with any of \
         PSH, URG, ECE, CWR) opens one, SYN-ACK is asymmetric, the rest are not valid SYNs",
        |b| {
            let client = spec(v4(100, 1));
            for flags in 0..=255u8 {
                let has = |bit: u8| flags & bit != 0;
                let (syn, fin, rst, ack) = (has(0x02), has(0x01), has(0x04), has(0x10));
                let tcp = TcpFields {
                    seq: 1000 + u32::from(flags),
                    ack: if ack { 5000 } else { 0 },
                    ..TcpFields::new(20000 + u16::from(flags), 80, TcpFlags(flags))
                };
                let fate = match (syn, fin, rst, ack) {
                    (true, false, false, false) => Fate::Forward,
                    (true, false, false, true) => Fate::Drop(Asymmetric),
                    _ => Fate::Drop(NonSyn),
                };
                if fate == Fate::Forward {
                    b.other_sessions += 1;
                }
                b.push(client.tcp(&tcp, &[]), fate);
            }
        },
    );
}

pub(super) fn addresses(b: &mut Builder) {
    b.group(
        "addresses",
        "land (source = destination, IPv4 and IPv6), broadcast, multicast, class E and \
         unspecified sources; a DHCP discover and an IPv6 duplicate-address probe pass",
        |b| {
            let syn = TcpFields::new(36000, 80, TcpFlags::SYN);
            let land4 = Ipv4Addr::new(192, 0, 2, 77);
            let land6 = Ipv6Addr::new(0x2001, 0xdb8, 0xbad, 0, 0, 0, 0, 77);
            let pair4 = |src: [u8; 4], dst: [u8; 4]| IpPair::V4 {
                src: src.into(),
                dst: dst.into(),
            };
            b.drop(
                spec(IpPair::V4 {
                    src: land4,
                    dst: land4,
                })
                .tcp(&syn, &[]),
                LandAttack,
            );
            b.drop(
                spec(IpPair::V4 {
                    src: land4,
                    dst: land4,
                })
                .udp(36001, 36001, b"land"),
                LandAttack,
            );
            b.drop(
                spec(IpPair::V6 {
                    src: land6,
                    dst: land6,
                })
                .tcp(&syn, &[]),
                LandAttack,
            );
            for src in [[255, 255, 255, 255], [224, 0, 0, 251], [240, 0, 0, 1]] {
                let f = spec(pair4(src, [198, 51, 100, 1])).udp(5353, 5353, b"x");
                b.drop(f, BadSourceAddress);
            }
            let unspecified = pair4([0, 0, 0, 0], [198, 51, 100, 1]);
            b.drop(spec(unspecified).tcp(&syn, &[]), BadSourceAddress);
            b.drop(spec(unspecified).udp(36002, 53, b"q"), BadSourceAddress);
            let multicast6 = IpPair::V6 {
                src: Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1),
                dst: Ipv6Addr::new(0x2001, 0xdb8, 0xbeef, 0, 0, 0, 0, 1),
            };
            b.drop(spec(multicast6).udp(36003, 53, b"q"), BadSourceAddress);
            let unspecified6 = IpPair::V6 {
                src: Ipv6Addr::UNSPECIFIED,
                dst: Ipv6Addr::new(0x2001, 0xdb8, 0xbeef, 0, 0, 0, 0, 1),
            };
            b.drop(spec(unspecified6).udp(36004, 53, b"q"), BadSourceAddress);
            // The two legitimate unspecified sources.
            let discover = pair4([0, 0, 0, 0], [255, 255, 255, 255]);
            b.push(spec(discover).udp(68, 67, &[1; 32]), Fate::Forward);
            b.other_sessions += 1;
            let dad = IpPair::V6 {
                src: Ipv6Addr::UNSPECIFIED,
                dst: Ipv6Addr::new(0xff02, 0, 0, 0, 0, 1, 0xff00, 1),
            };
            // A neighbour solicitation: link control, no session.
            let mut ns = spec(dad).icmp_echo(false, 0, 0, &[0; 16]);
            ns[ETH + 40] = 135;
            b.push(ns, Fate::Forward);
        },
    );
}

/// An IPv4 fragment: `data` at byte `offset` of datagram `id`.
pub(super) fn fragment4(
    ips: IpPair,
    proto: u8,
    id: u16,
    offset: u16,
    more: bool,
    data: &[u8],
) -> Vec<u8> {
    spec(ips)
        .with_ip_id(id.into())
        .with_fragment(offset, more)
        .raw(proto, data)
}

/// An IPv6 fragment: a fragment header (next header `next`), then `data` at byte `offset`.
fn fragment6(ips: IpPair, next: u8, id: u32, offset: u16, more: bool, data: &[u8]) -> Vec<u8> {
    spec(ips)
        .with_ip_id(id)
        .with_fragment(offset, more)
        .raw(next, data)
}

/// The first `len` bytes of a UDP datagram 5353 -> 53 of `total` bytes (header included).
fn udp_start(total: u16, len: usize) -> Vec<u8> {
    let mut d = vec![0x14, 0xe9, 0, 53];
    d.extend_from_slice(&total.to_be_bytes());
    d.extend_from_slice(&[0, 0]);
    d.resize(len, 0x66);
    d
}

/// The first 8 bytes of a TCP header: ports and sequence number, no flags (tiny fragment).
const TCP_START: [u8; 8] = [0x8c, 0xa0, 0, 80, 0, 0, 0, 1];

pub(super) fn fragments(b: &mut Builder) {
    b.group(
        "fragments",
        "IPv4 and IPv6 fragments: valid pairs and triples, out of order, orphans, overlaps \
         (inside, straddling, a repeated first, data past the end), tiny first fragments, \
         datagrams past 65535 bytes, an IPv6 atomic fragment",
        |b| {
            let ips = v4(60, 60);
            let f = |id, offset, more, data: &[u8]| fragment4(ips, 17, id, offset, more, data);
            let ok = Fate::Forward;
            // A 48-byte UDP datagram in two, then in three.
            b.push(f(1, 0, true, &udp_start(48, 24)), ok);
            b.push(f(1, 24, false, &[1; 24]), ok);
            b.push(f(2, 0, true, &udp_start(48, 16)), ok);
            b.push(f(2, 16, true, &[2; 16]), ok);
            b.push(f(2, 32, false, &[2; 16]), ok);
            // The last fragment first: an orphan; the first then passes (and waits in vain).
            b.drop(f(3, 24, false, &[3; 24]), FragmentOrphan);
            b.push(f(3, 0, true, &udp_start(48, 24)), ok);
            b.drop(f(4, 24, false, &[4; 24]), FragmentOrphan);
            // Straddling the first fragment's end; the rest of that datagram goes with it.
            b.push(f(5, 0, true, &udp_start(48, 24)), ok);
            b.drop(f(5, 16, true, &[5; 24]), FragmentOverlap);
            b.drop(f(5, 40, false, &[5; 8]), FragmentOverlap);
            // Inside the first fragment (teardrop), and a second first fragment.
            b.push(f(6, 0, true, &udp_start(48, 24)), ok);
            b.drop(f(6, 8, true, &[6; 8]), FragmentOverlap);
            b.push(f(7, 0, true, &udp_start(48, 24)), ok);
            b.drop(f(7, 0, true, &udp_start(48, 24)), FragmentOverlap);
            // Data past the end the last fragment declared.
            b.push(f(8, 0, true, &udp_start(48, 24)), ok);
            b.push(f(8, 32, false, &[8; 8]), ok);
            b.drop(f(8, 40, false, &[8; 8]), FragmentOverlap);
            // Tiny: 8 bytes of TCP header (no flags); the rest at offset 8 (RFC 1858).
            let tcp = |offset, more, data: &[u8]| fragment4(ips, 6, 9, offset, more, data);
            b.drop(tcp(0, true, &TCP_START), FragmentTiny);
            b.drop(
                tcp(8, false, &[0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]),
                FragmentOrphan,
            );
            // Ping of death: offset 65528 + 16 bytes.
            b.drop(f(10, 65528, false, &[0; 16]), MalformedIpv4Length);
            b.other_sessions += 1;

            let ips = v6(60, 60);
            let f = |id, offset, more, data: &[u8]| fragment6(ips, 17, id, offset, more, data);
            b.push(f(0x100, 0, true, &udp_start(48, 24)), ok);
            b.push(f(0x100, 24, false, &[1; 24]), ok);
            b.drop(f(0x101, 24, false, &[1; 24]), FragmentOrphan);
            b.push(f(0x102, 0, true, &udp_start(48, 24)), ok);
            b.drop(f(0x102, 8, false, &[2; 40]), FragmentOverlap);
            b.drop(fragment6(ips, 6, 0x103, 0, true, &TCP_START), FragmentTiny);
            b.drop(f(0x104, 65528, false, &[0; 16]), MalformedIpv6ExtHeader);
            // Offset 0, no more fragments: a whole datagram (RFC 6946), on the same flow.
            b.push(f(0x105, 0, false, &udp_start(16, 16)), ok);
            b.other_sessions += 1;
        },
    );
}

pub(super) fn random_bytes(b: &mut Builder) {
    b.group(
        "random",
        "seeded random bytes: 120 frames of 0-256 bytes, 80 of an Ethernet header (IPv4 or \
         IPv6 ethertype) and 0-120 random bytes",
        |b| {
            for _ in 0..120 {
                let len = b.rng.below(257) as usize;
                let f = b.rng.bytes(len);
                b.push(f, Fate::Unknown);
            }
            for i in 0..80 {
                let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
                f.extend_from_slice(if i < 40 { &[8, 0] } else { &[0x86, 0xdd] });
                let len = b.rng.below(121) as usize;
                f.extend(b.rng.bytes(len));
                b.push(f, Fate::Unknown);
            }
        },
    );
}

/// Copies made of each template frame.
const COPIES: usize = 6;

pub(super) fn bit_flips(b: &mut Builder) {
    b.group(
        "bit-flips",
        "6 copies of each frame of a TCP conversation, a UDP exchange (IPv6) and a ping, each \
         copy with 1 or 2 seeded bits flipped",
        |b| {
            let ips = IpPair::V4 {
                src: Ipv4Addr::new(172, 16, 0, 1),
                dst: Ipv4Addr::new(172, 16, 1, 1),
            };
            let mut conv = TcpConversation::new(ips, 50000, 80, 0);
            conv.handshake()
                .send(Side::Client, b"GET / HTTP/1.1\r\n\r\n")
                .send(Side::Server, b"HTTP/1.1 204 No Content\r\n\r\n")
                .close(Side::Client);
            let mut templates: Vec<Vec<u8>> =
                conv.into_frames().into_iter().map(|(_, f)| f).collect();
            let ips6 = IpPair::V6 {
                src: Ipv6Addr::new(0xfd00, 0xac10, 0, 0, 0, 0, 0, 1),
                dst: Ipv6Addr::new(0xfd00, 0xac10, 1, 0, 0, 0, 0, 1),
            };
            templates.push(FrameSpec::from_client(ips6).udp(50001, 53, b"query"));
            templates.push(FrameSpec::from_server(ips6.reversed()).udp(53, 50001, b"answer"));
            templates.push(FrameSpec::from_client(ips).icmp_echo(false, 9, 1, &[0; 32]));
            templates.push(FrameSpec::from_server(ips.reversed()).icmp_echo(true, 9, 1, &[0; 32]));
            for template in &templates {
                for _ in 0..COPIES {
                    let mut f = template.clone();
                    for _ in 0..1 + b.rng.below(2) {
                        let bit = b.rng.below(f.len() as u64 * 8) as usize;
                        f[bit / 8] ^= 1 << (bit % 8);
                    }
                    b.push(f, Fate::Unknown);
                }
            }
        },
    );
}
