//! The valid sessions among the hostile frames: TCP conversations closed by FIN (plain, IPv6,
//! 802.1Q-tagged, with IPv4 options), UDP exchanges (IPv4, IPv6, QinQ, an IPv6 extension
//! chain, fragmented datagrams, one answered by an ICMP error) and a ping. Each must come
//! through whole and end with its reason.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use synwall_engine::reasons::EndReason;
use synwall_testkit::conv::{Side, TcpConversation};
use synwall_testkit::frame::{ip_packet_of, FrameSpec, IcmpErrorKind, IpPair, CLIENT_MAC};

use super::attacks::fragment4;
use super::{put16, with_ip_options, ValidSession};
use crate::gen::Frames;

const ETH: usize = 14;
/// Between the packets of one session (as in the scenarios).
const STEP_NS: u64 = 1_000_000;

fn client4(host: u8) -> IpPair {
    IpPair::V4 {
        src: Ipv4Addr::new(10, 0, 0, host),
        dst: Ipv4Addr::new(10, 1, 0, 10),
    }
}

fn client6(host: u16) -> IpPair {
    IpPair::V6 {
        src: Ipv6Addr::new(0x2001, 0xdb8, 0x100, 0, 0, 0, 0, host),
        dst: Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10),
    }
}

fn addrs(ips: IpPair) -> (IpAddr, IpAddr) {
    match ips {
        IpPair::V4 { src, dst } => (src.into(), dst.into()),
        IpPair::V6 { src, dst } => (src.into(), dst.into()),
    }
}

/// Collects sessions, each starting one stagger after the previous.
struct Sessions {
    next_start: u64,
    stagger: u64,
    frames: Frames,
    sessions: Vec<ValidSession>,
}

/// What a session is, before its counts are known.
struct Flow {
    name: &'static str,
    ips: IpPair,
    ports: (u16, u16),
    proto: &'static str,
    end: EndReason,
}

impl Sessions {
    fn start(&mut self) -> u64 {
        let t = self.next_start;
        self.next_start += self.stagger;
        t
    }

    /// Adds frames already stamped; the session counts every frame by its sender's MAC.
    fn add(&mut self, flow: Flow, frames: Frames) {
        let sent = frames
            .iter()
            .filter(|(_, f)| f[6..12] == CLIENT_MAC)
            .count();
        let received = frames.len() - sent;
        self.add_counted(flow, frames, sent as u64, received as u64);
    }

    fn add_counted(&mut self, flow: Flow, frames: Frames, sent: u64, received: u64) {
        let (client, server) = addrs(flow.ips);
        self.sessions.push(ValidSession {
            name: flow.name,
            client,
            server,
            client_port: flow.ports.0,
            server_port: flow.ports.1,
            proto: flow.proto,
            end_reason: flow.end,
            packets_sent: sent,
            packets_received: received,
        });
        self.frames.extend(frames);
    }

    /// Unstamped frames, one step apart from the next start.
    fn stamp(&mut self, frames: Vec<Vec<u8>>) -> Frames {
        let t = self.start();
        frames
            .into_iter()
            .enumerate()
            .map(|(i, f)| (t + i as u64 * STEP_NS, f))
            .collect()
    }

    fn tcp(&mut self, flow: Flow, talk: impl FnOnce(&mut TcpConversation)) {
        let start = self.start();
        let mut conv = TcpConversation::new(flow.ips, flow.ports.0, flow.ports.1, start);
        talk(&mut conv);
        self.add(flow, conv.into_frames());
    }
}

/// The valid sessions, starting evenly over `span_ns` from `start_ns`; their frames (stamped)
/// and how each must end.
pub(super) fn sessions(start_ns: u64, span_ns: u64) -> (Frames, Vec<ValidSession>) {
    const COUNT: u64 = 11;
    let mut s = Sessions {
        next_start: start_ns,
        // Whole microseconds, so that a microsecond pcap keeps the order exactly.
        stagger: span_ns / COUNT / 1000 * 1000,
        frames: Vec::new(),
        sessions: Vec::new(),
    };
    let flow = |name, ips, ports, proto, end| Flow {
        name,
        ips,
        ports,
        proto,
        end,
    };
    let fin = EndReason::TcpFin;
    let aged = EndReason::AgedOut;
    s.tcp(
        flow("tcp-v4-http", client4(1), (40000, 80), "tcp", fin),
        |c| {
            c.handshake()
                .send(Side::Client, b"GET / HTTP/1.1\r\nHost: valid.test\r\n\r\n")
                .ack(Side::Server)
                .send(
                    Side::Server,
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
                )
                .ack(Side::Client)
                .close(Side::Client);
        },
    );
    s.tcp(flow("tcp-v6", client6(1), (40001, 443), "tcp", fin), |c| {
        c.handshake()
            .send(Side::Client, &[0x16; 200])
            .send(Side::Server, &[0x17; 1000])
            .ack(Side::Client)
            .close(Side::Server);
    });
    let start = s.start();
    let mut tagged = TcpConversation::new(client4(2), 40002, 22, start).with_vlan(100);
    tagged
        .handshake()
        .send(Side::Client, b"SSH-2.0-client\r\n")
        .send(Side::Server, b"SSH-2.0-server\r\n")
        .close(Side::Client);
    let tagged_flow = flow("tcp-v4-vlan", client4(2), (40002, 22), "tcp", fin);
    s.add(tagged_flow, tagged.into_frames());
    let start = s.start();
    let mut smtp = TcpConversation::new(client4(3), 40003, 25, start);
    smtp.handshake()
        .send(Side::Server, b"220 mail.valid.test\r\n")
        .send(Side::Client, b"QUIT\r\n")
        .close(Side::Server);
    // Record route (one slot) and a NOP on every segment of the conversation.
    let with_options = smtp
        .into_frames()
        .into_iter()
        .map(|(t, f)| (t, with_ip_options(&f, &[7, 7, 4, 0, 0, 0, 0, 1])))
        .collect();
    s.add(
        flow("tcp-v4-ip-options", client4(3), (40003, 25), "tcp", fin),
        with_options,
    );

    let (c, sv) = (
        FrameSpec::from_client(client4(4)),
        FrameSpec::from_server(client4(4).reversed()),
    );
    let frames = s.stamp(vec![
        c.udp(40004, 53, b"query-1"),
        sv.udp(53, 40004, b"answer-1"),
        c.udp(40004, 53, b"query-2"),
        sv.udp(53, 40004, b"answer-2"),
    ]);
    s.add(flow("udp-v4", client4(4), (40004, 53), "udp", aged), frames);
    // A probe answered by port unreachable: the error follows the session, uncounted.
    let probe = c.udp(40005, 33434, b"probe");
    let unreachable = sv.icmp_error(IcmpErrorKind::PortUnreachable, ip_packet_of(&probe));
    let frames = s.stamp(vec![probe, unreachable]);
    let probe_flow = flow(
        "udp-v4-unreachable",
        client4(4),
        (40005, 33434),
        "udp",
        aged,
    );
    s.add_counted(probe_flow, frames, 1, 0);

    let (c, sv) = (
        FrameSpec::from_client(client6(2)),
        FrameSpec::from_server(client6(2).reversed()),
    );
    let frames = s.stamp(vec![
        c.udp(40006, 123, &[0x23; 48]),
        sv.udp(123, 40006, &[0x24; 48]),
        c.udp(40006, 123, &[0x23; 48]),
        sv.udp(123, 40006, &[0x24; 48]),
    ]);
    s.add(
        flow("udp-v6", client6(2), (40006, 123), "udp", aged),
        frames,
    );

    let (c, sv) = (
        FrameSpec::from_client(client4(5)),
        FrameSpec::from_server(client4(5).reversed()),
    );
    let frames = s.stamp(vec![
        c.icmp_echo(false, 0x4242, 1, &[0x5a; 56]),
        sv.icmp_echo(true, 0x4242, 1, &[0x5a; 56]),
        c.icmp_echo(false, 0x4242, 2, &[0x5a; 56]),
        sv.icmp_echo(true, 0x4242, 2, &[0x5a; 56]),
    ]);
    let ping = flow("icmp-v4-echo", client4(5), (0x4242, 0x4242), "icmp", aged);
    s.add(ping, frames);

    // QinQ: service tag 200 outside customer tag 100.
    let qinq = |f: Vec<u8>| {
        let mut f = f;
        f.splice(12..12, [0x88, 0xa8, 0x00, 0xc8]);
        f
    };
    let (c, sv) = (
        FrameSpec::from_client(client4(6)).with_vlan(100),
        FrameSpec::from_server(client4(6).reversed()).with_vlan(100),
    );
    let frames = s.stamp(vec![
        qinq(c.udp(40007, 514, b"<13>hello")),
        qinq(sv.udp(514, 40007, b"<13>back")),
    ]);
    s.add(
        flow("udp-v4-qinq", client4(6), (40007, 514), "udp", aged),
        frames,
    );

    // Hop-by-hop and destination options before UDP, both ways.
    let chain = |f: Vec<u8>| {
        let mut f = f;
        f[ETH + 6] = 0;
        let payload = u16::from_be_bytes([f[ETH + 4], f[ETH + 5]]) + 16;
        put16(&mut f, ETH + 4, payload);
        let headers = [60, 0, 1, 4, 0, 0, 0, 0, 17, 0, 1, 4, 0, 0, 0, 0];
        f.splice(ETH + 40..ETH + 40, headers);
        f
    };
    let (c, sv) = (
        FrameSpec::from_client(client6(3)),
        FrameSpec::from_server(client6(3).reversed()),
    );
    let frames = s.stamp(vec![
        chain(c.udp(40008, 53, b"query")),
        chain(sv.udp(53, 40008, b"answer")),
    ]);
    let chained = flow("udp-v6-ext-chain", client6(3), (40008, 53), "udp", aged);
    s.add(chained, frames);

    // Two 48-byte requests in two fragments each, unfragmented answers. The session counts
    // a datagram once, by its first fragment.
    let mut request = vec![0x9c, 0x49, 0x08, 0x01, 0, 48, 0, 0];
    request.resize(48, 0x4e);
    let sv = FrameSpec::from_server(client4(7).reversed());
    let mut unstamped = Vec::new();
    for id in [0x700, 0x701] {
        unstamped.push(fragment4(client4(7), 17, id, 0, true, &request[..24]));
        unstamped.push(fragment4(client4(7), 17, id, 24, false, &request[24..]));
        unstamped.push(sv.udp(2049, 40009, b"reply"));
    }
    let frames = s.stamp(unstamped);
    let nfs = flow("udp-v4-fragmented", client4(7), (40009, 2049), "udp", aged);
    s.add_counted(nfs, frames, 2, 2);
    debug_assert_eq!(s.sessions.len() as u64, COUNT);
    (s.frames, s.sessions)
}
