//! Malformed frames: cuts, lying lengths, bad offsets, options, extension chains, tags, and ICMP
//! errors quoting cut headers. Each fate follows from the header rules alone.

use std::collections::BTreeSet;

use synwall_engine::reasons::DropReason::{self, *};
use synwall_testkit::frame::{ip_packet_of, IcmpErrorKind, TcpFields, TcpFlags, TcpOptions};

use super::{fix_ipv4_checksum, put16, set_ipv4_total, spec, v4, v6, with_ip_options};
use super::{Builder, Fate};

const ETH: usize = 14;

/// What follows the IP header of a base frame.
#[derive(Clone, Copy, PartialEq, Eq)]
enum L4 {
    Tcp,
    Udp,
    Icmp,
}

impl L4 {
    fn malformed(self) -> DropReason {
        match self {
            L4::Tcp => MalformedTcp,
            L4::Udp => MalformedUdp,
            L4::Icmp => MalformedIcmp,
        }
    }

    /// Smallest header.
    fn min_len(self) -> usize {
        match self {
            L4::Tcp => 20,
            L4::Udp | L4::Icmp => 8,
        }
    }
}

/// A valid frame to cut: where its IP header starts, how long it is, what follows.
struct Base {
    frame: Vec<u8>,
    l3: usize,
    ipv6: bool,
    l4: L4,
    /// Transport header length (TCP options included).
    l4_len: usize,
}

impl Base {
    fn ip_len(&self) -> usize {
        if self.ipv6 {
            40
        } else {
            20
        }
    }

    /// The fate of the frame cut to `cut` bytes, its lengths left as they were.
    fn raw_cut_fate(&self, cut: usize) -> DropReason {
        if cut < ETH {
            MalformedEthernet
        } else if cut < self.l3 {
            MalformedVlan
        } else if self.ipv6 {
            // Header cut short, or payload length larger than what is left.
            MalformedIpv6Header
        } else if cut < self.l3 + 20 {
            MalformedIpv4Header
        } else {
            MalformedIpv4Length
        }
    }

    /// The frame cut to `cut` bytes with the IP length rewritten to match: the cut now falls
    /// in the transport header, which the transport parser must catch.
    fn consistent_cut(&self, cut: usize) -> Vec<u8> {
        let mut f = self.frame[..cut].to_vec();
        let ip_payload = (cut - self.l3 - self.ip_len()) as u16;
        if self.ipv6 {
            put16(&mut f, self.l3 + 4, ip_payload);
        } else {
            set_ipv4_total(&mut f, self.l3, ip_payload + 20);
        }
        f
    }
}

fn tcp_syn(sport: u16) -> TcpFields {
    TcpFields {
        seq: 1,
        options: TcpOptions::handshake(1460, 7),
        ..TcpFields::new(sport, 80, TcpFlags::SYN)
    }
}

pub(super) fn truncated(b: &mut Builder) {
    b.group(
        "truncated",
        "five valid frames (IPv4/IPv6, TCP with options, UDP tagged, ICMP) cut at every \
         header boundary; then cut inside the transport header with the IP length made to match",
        |b| {
            let bases = [
                Base {
                    frame: spec(v4(1, 1)).tcp(&tcp_syn(30000), &[]),
                    l3: ETH,
                    ipv6: false,
                    l4: L4::Tcp,
                    l4_len: 32,
                },
                Base {
                    frame: spec(v4(2, 1)).with_vlan(7).udp(30001, 53, &[0x11; 12]),
                    l3: ETH + 4,
                    ipv6: false,
                    l4: L4::Udp,
                    l4_len: 8,
                },
                Base {
                    frame: spec(v6(1, 1)).tcp(&tcp_syn(30002), &[]),
                    l3: ETH,
                    ipv6: true,
                    l4: L4::Tcp,
                    l4_len: 32,
                },
                Base {
                    frame: spec(v4(3, 1)).icmp_echo(false, 7, 1, &[0; 8]),
                    l3: ETH,
                    ipv6: false,
                    l4: L4::Icmp,
                    l4_len: 8,
                },
                Base {
                    frame: spec(v6(2, 1)).udp(30003, 53, &[0x22; 12]),
                    l3: ETH,
                    ipv6: true,
                    l4: L4::Udp,
                    l4_len: 8,
                },
            ];
            for base in &bases {
                let (l3, ip, len) = (base.l3, base.ip_len(), base.frame.len());
                let l4 = l3 + ip;
                let mut cuts: BTreeSet<usize> = [
                    0,
                    1,
                    6,
                    12,
                    13,
                    l3,
                    l3 + 1,
                    l3 + ip / 2,
                    l4 - 1,
                    l4,
                    l4 + 1,
                    l4 + base.l4.min_len() - 1,
                    l4 + base.l4_len - 1,
                    len - 1,
                ]
                .into();
                if l3 > ETH {
                    cuts.extend(ETH..l3);
                }
                for &cut in cuts.iter().filter(|&&c| c < len) {
                    let fate = base.raw_cut_fate(cut);
                    b.drop(base.frame[..cut].to_vec(), fate);
                }
                let mut inside: BTreeSet<usize> = [l4, l4 + 1, l4 + base.l4.min_len() - 1].into();
                match base.l4 {
                    // The fixed header whole, its options cut.
                    L4::Tcp => inside.extend([l4 + 20, l4 + base.l4_len - 1]),
                    // The header whole, the datagram shorter than its UDP length.
                    L4::Udp => {
                        inside.insert(l4 + 8 + 4);
                    }
                    L4::Icmp => {}
                }
                for &cut in inside.iter().filter(|&&c| c < len) {
                    b.drop(base.consistent_cut(cut), base.l4.malformed());
                }
            }
        },
    );
}

pub(super) fn lying_lengths(b: &mut Builder) {
    b.group(
        "lying-lengths",
        "IPv4 total length, IPv6 payload length and UDP length larger than the frame, \
         smaller than a header, zero, 0xffff",
        |b| {
            let udp4 = spec(v4(10, 1)).udp(31000, 53, &[0x33; 16]);
            for total in [45, 0xffff, 19, 0] {
                let mut f = udp4.clone();
                set_ipv4_total(&mut f, ETH, total);
                b.drop(f, MalformedIpv4Length);
            }
            // The IP length ends inside the TCP header.
            let mut tcp4 = spec(v4(11, 1)).tcp(&TcpFields::new(31001, 80, TcpFlags::SYN), &[]);
            set_ipv4_total(&mut tcp4, ETH, 32);
            b.drop(tcp4, MalformedTcp);
            let udp6 = spec(v6(10, 1)).udp(31002, 53, &[0x44; 16]);
            for (payload, reason) in [
                (25, MalformedIpv6Header),
                (0xffff, MalformedIpv6Header),
                (4, MalformedUdp),
                (0, MalformedUdp),
            ] {
                let mut f = udp6.clone();
                put16(&mut f, ETH + 4, payload);
                b.drop(f, reason);
            }
            // UDP lengths: one past the datagram, 0xffff, shorter than its own header, zero.
            for (frame, l4) in [(&udp4, ETH + 20), (&udp6, ETH + 40)] {
                for udp_len in [25, 0xffff, 7, 0] {
                    let mut f = frame.clone();
                    put16(&mut f, l4 + 4, udp_len);
                    b.drop(f, MalformedUdp);
                }
            }
        },
    );
}

pub(super) fn bad_offsets(b: &mut Builder) {
    b.group(
        "bad-offsets",
        "IPv4 IHL 0-4, 6 and 15, wrong IP versions, TCP data offsets 0-4 and past the segment",
        |b| {
            let tcp4 = spec(v4(20, 1)).tcp(&TcpFields::new(32000, 80, TcpFlags::SYN), &[]);
            for ihl in 0..=4u8 {
                let mut f = tcp4.clone();
                f[ETH] = 0x40 | ihl;
                b.drop(f, MalformedIpv4Header);
            }
            // IHL 15: a 60-byte header in a 40-byte packet.
            let mut f = tcp4.clone();
            f[ETH] = 0x4f;
            b.drop(f, MalformedIpv4Header);
            // IHL 6: the "options" eat the first 4 TCP bytes, 16 are left for a 20-byte header.
            let mut f = tcp4.clone();
            f[ETH] = 0x46;
            fix_ipv4_checksum(&mut f, ETH);
            b.drop(f, MalformedTcp);
            for version in [0u8, 6, 15] {
                let mut f = tcp4.clone();
                f[ETH] = (version << 4) | 5;
                b.drop(f, MalformedIpv4Header);
            }
            let tcp6 = spec(v6(20, 1)).tcp(&TcpFields::new(32001, 80, TcpFlags::SYN), &[]);
            let mut f = tcp6.clone();
            f[ETH] = 0x40;
            b.drop(f, MalformedIpv6Header);
            for (frame, l4) in [(&tcp4, ETH + 20), (&tcp6, ETH + 40)] {
                for doff in [0u8, 1, 2, 3, 4, 6, 15] {
                    let mut f = frame.clone();
                    f[l4 + 12] = doff << 4;
                    b.drop(f, MalformedTcp);
                }
            }
        },
    );
}

pub(super) fn ip_options(b: &mut Builder) {
    b.group(
        "ip-options",
        "one UDP flow whose datagrams carry IPv4 options: NOPs, record route, timestamp, \
         router alert, a zero option length, 40 bytes of garbage (IHL 15); forwarded",
        |b| {
            let garbage: Vec<u8> = (0..40u8).map(|i| 0xff - i).collect();
            let sets: [&[u8]; 6] = [
                &[1, 1, 1, 0],
                &[7, 7, 4, 0, 0, 0, 0, 1],
                &[68, 12, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                &[148, 4, 0, 0],
                &[130, 0, 0, 0],
                &garbage,
            ];
            for (i, options) in sets.iter().enumerate() {
                let f = spec(v4(30, 1)).udp(33000, 514, &[i as u8; 8]);
                b.push(with_ip_options(&f, options), Fate::Forward);
            }
            b.other_sessions += 1;
        },
    );
}

/// An IPv6 UDP frame from 2001:db8:bad::`src` whose extension chain is `chain` (headers in
/// wire order, each naming the next), the first header's type `first`.
fn v6_chain(src: u16, first: u8, chain: &[u8]) -> Vec<u8> {
    let mut f = spec(v6(src, 1)).udp(33100 + src, 53, &[0x55; 8]);
    f[ETH + 6] = first;
    let payload = u16::from_be_bytes([f[ETH + 4], f[ETH + 5]]) + chain.len() as u16;
    put16(&mut f, ETH + 4, payload);
    f.splice(ETH + 40..ETH + 40, chain.iter().copied());
    f
}

/// `n` 8-byte option headers of type `kind` (PadN inside), the last naming UDP.
fn option_headers(kind: u8, n: usize) -> Vec<u8> {
    let mut chain = Vec::new();
    for i in 0..n {
        let next = if i + 1 == n { 17 } else { kind };
        chain.extend_from_slice(&[next, 0, 1, 4, 0, 0, 0, 0]);
    }
    chain
}

pub(super) fn ipv6_extensions(b: &mut Builder) {
    b.group(
        "ipv6-extensions",
        "IPv6 chains of 9 destination-options and 9 hop-by-hop headers (the walk stops at 8), \
         a header longer than the packet, a chain cut by the payload length; 8 headers pass",
        |b| {
            b.drop(
                v6_chain(1, 60, &option_headers(60, 9)),
                MalformedIpv6ExtHeader,
            );
            // A loop of hop-by-hop headers, each naming hop-by-hop again.
            b.drop(
                v6_chain(2, 0, &option_headers(0, 9)),
                MalformedIpv6ExtHeader,
            );
            // Destination options claiming 88 bytes in a 16-byte payload.
            b.drop(
                v6_chain(3, 60, &[17, 10, 1, 4, 0, 0, 0, 0]),
                MalformedIpv6ExtHeader,
            );
            // The payload length ends 4 bytes into the first header.
            let mut cut = v6_chain(4, 60, &option_headers(60, 2));
            put16(&mut cut, ETH + 4, 4);
            cut.truncate(ETH + 44);
            b.drop(cut, MalformedIpv6ExtHeader);
            // Exactly as many headers as the parser walks: a valid packet, a new flow.
            b.push(v6_chain(5, 60, &option_headers(60, 8)), Fate::Forward);
            b.other_sessions += 1;
        },
    );
}

pub(super) fn vlan_tags(b: &mut Builder) {
    b.group(
        "vlan-tags",
        "802.1Q and QinQ tags cut at every byte, three stacked tags; a tagged ARP frame passes",
        |b| {
            let tagged = spec(v4(40, 1)).with_vlan(10).udp(34000, 53, &[0; 8]);
            for cut in ETH..ETH + 4 {
                b.drop(tagged[..cut].to_vec(), MalformedVlan);
            }
            let mut qinq = tagged.clone();
            qinq.splice(12..12, [0x88, 0xa8, 0x00, 0x14]);
            for cut in ETH + 4..ETH + 8 {
                b.drop(qinq[..cut].to_vec(), MalformedVlan);
            }
            let mut three = qinq.clone();
            three.splice(12..12, [0x81, 0x00, 0x00, 0x1e]);
            b.drop(three, MalformedVlan);
            let mut arp = tagged[..ETH + 4].to_vec();
            arp[16..18].copy_from_slice(&[0x08, 0x06]);
            arp.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
            arp.extend_from_slice(&[0; 20]);
            b.push(arp, Fate::Forward);
        },
    );
}

pub(super) fn icmp_errors(b: &mut Builder) {
    b.group(
        "icmp-errors",
        "ICMP and ICMPv6 errors quoting nothing, a cut IP header, a bad version or IHL, no \
         ports; an ICMP header cut short; complete quotes of flows that do not exist",
        |b| {
            let router = spec(v4(51, 2));
            let victim = spec(v4(50, 1)).udp(35000, 53, &[0; 8]);
            let quoted = ip_packet_of(&victim).to_vec();
            let unreachable = IcmpErrorKind::PortUnreachable;
            let mut bad_version = quoted.clone();
            bad_version[0] = 0x75;
            let mut bad_ihl = quoted.clone();
            bad_ihl[0] = 0x43;
            for q in [
                &[][..],
                &quoted[..10],
                &bad_version,
                &bad_ihl,
                &quoted[..20],
                &quoted[..22],
            ] {
                b.drop(router.icmp_error(unreachable, q), MalformedIcmpInner);
            }
            for kind in [unreachable, IcmpErrorKind::TimeExceeded] {
                b.drop(router.icmp_error(kind, &quoted), IcmpErrorNoSession);
            }
            // An ICMP header of 4 bytes.
            let mut short = router.icmp_error(unreachable, &quoted);
            short.truncate(ETH + 20 + 4);
            set_ipv4_total(&mut short, ETH, 24);
            b.drop(short, MalformedIcmp);
            let router6 = spec(v6(51, 2));
            let victim6 = spec(v6(50, 1)).udp(35001, 53, &[0; 8]);
            let quoted6 = ip_packet_of(&victim6).to_vec();
            for q in [&quoted6[..20], &quoted6[..40]] {
                b.drop(router6.icmp_error(unreachable, q), MalformedIcmpInner);
            }
            b.drop(
                router6.icmp_error(unreachable, &quoted6),
                IcmpErrorNoSession,
            );
        },
    );
}
