//! Named captures for replay and end-to-end tests. Each exercises one behaviour of the
//! engine; its doc says what a default config (`tcp_reject_non_syn: true`,
//! `asymmetric_path: drop`, PAN-OS timeouts, an allow rule) should make of it.
//!
//! Addresses: clients in 10.0.0.0/24 or 2001:db8:100::/64, the server 10.1.0.10 or
//! 2001:db8::10 (inside the example config's `web-servers`). Client ports count up from
//! 40000, so the flows of one scenario never share a 5-tuple unless the scenario means it.
//! Every scenario starts at [`SCENARIO_EPOCH_NS`] and segments are 1 ms apart.

use std::net::{Ipv4Addr, Ipv6Addr};

use synwall_testkit::conv::{Side, TcpConversation, DEFAULT_GAP_NS};
use synwall_testkit::frame::{ip_packet_of, FrameSpec, IcmpErrorKind, IpPair, TcpFlags};

use super::{Frames, IpFamily};

/// 2023-11-14T22:13:20Z: a plausible capture date.
pub const SCENARIO_EPOCH_NS: u64 = 1_700_000_000 * 1_000_000_000;
const HTTP_REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: example.test\r\n\r\n";
const HTTP_RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
const FIRST_CLIENT_PORT: u16 = 40000;

/// Where and when a scenario runs; `mixed` runs the others side by side with different
/// clients and start times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScenarioParams {
    pub family: IpFamily,
    /// Last part of the client address (10.0.0.N or 2001:db8:100::N).
    pub client_host: u8,
    pub start_ns: u64,
}

impl ScenarioParams {
    pub fn new(family: IpFamily) -> Self {
        ScenarioParams {
            family,
            client_host: 1,
            start_ns: SCENARIO_EPOCH_NS,
        }
    }

    /// Client-to-server addresses.
    pub fn ips(&self) -> IpPair {
        match self.family {
            IpFamily::V4 => IpPair::V4 {
                src: Ipv4Addr::new(10, 0, 0, self.client_host),
                dst: Ipv4Addr::new(10, 1, 0, 10),
            },
            IpFamily::V6 => IpPair::V6 {
                src: Ipv6Addr::new(0x2001, 0xdb8, 0x100, 0, 0, 0, 0, self.client_host.into()),
                dst: Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10),
            },
        }
    }
}

macro_rules! scenarios {
    ($($variant:ident => $name:literal, $builder:ident, $about:literal;)+) => {
        /// The scenarios of `synwall-gen scenario NAME`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Scenario { $(#[doc = $about] $variant,)+ }

        impl Scenario {
            pub const ALL: &'static [Scenario] = &[$(Scenario::$variant,)+];

            pub fn name(self) -> &'static str {
                match self { $(Scenario::$variant => $name,)+ }
            }

            /// One line for `synwall-gen list`.
            pub fn about(self) -> &'static str {
                match self { $(Scenario::$variant => $about,)+ }
            }

            pub fn from_name(name: &str) -> Option<Scenario> {
                match name { $($name => Some(Scenario::$variant),)+ _ => None }
            }

            /// The capture, in timestamp order.
            pub fn frames_with(self, params: ScenarioParams) -> Frames {
                match self { $(Scenario::$variant => $builder(params),)+ }
            }
        }
    };
}

scenarios! {
    TcpFin => "tcp-fin", tcp_fin,
        "handshake, HTTP request and response, FIN both ways: one session, tcp-fin";
    TcpRstClient => "tcp-rst-client", tcp_rst_client,
        "client RST after data, and client RST of a half-open handshake: two sessions, tcp-rst-from-client";
    TcpRstServer => "tcp-rst-server", tcp_rst_server,
        "server RST after data, and RST/ACK to a SYN on a closed port: two sessions, tcp-rst-from-server";
    AgedOut => "aged-out", aged_out,
        "a UDP exchange and an idle established TCP flow, then silence: two sessions, aged-out";
    TcpReuse => "tcp-reuse", tcp_reuse,
        "FIN close, then a new SYN on the same 5-tuple within TIME_WAIT: tcp-reuse, then tcp-fin";
    NonSyn => "non-syn", non_syn,
        "A, PA, FA, R and SA segments on five flows with no session: five non-syn drops";
    Asymmetric => "asymmetric", asymmetric,
        "SYN then client ACK with no SYN-ACK seen; a lone SYN-ACK on another flow";
    OutOfOrder => "out-of-order", out_of_order,
        "established flow, one client segment lost, 8 segments ahead of sequence (gap never filled)";
    BrokenHandshake => "broken-handshake", broken_handshake,
        "SYN, a bare ACK (no SYN) from the server, then the client's RST";
    Icmp => "icmp", icmp,
        "echo request/reply pair, and a UDP datagram answered by ICMP port unreachable";
    Mixed => "mixed", mixed,
        "every other scenario interleaved, each from its own client address";
}

impl Scenario {
    /// The capture with default parameters (client .1, [`SCENARIO_EPOCH_NS`]).
    pub fn frames(self, family: IpFamily) -> Frames {
        self.frames_with(ScenarioParams::new(family))
    }
}

/// Runs conversations one after another on one clock, each starting a gap after the
/// previous one's last segment.
struct Timeline {
    params: ScenarioParams,
    next_client_port: u16,
    now_ns: u64,
    frames: Frames,
}

impl Timeline {
    fn new(params: ScenarioParams) -> Self {
        Timeline {
            params,
            next_client_port: FIRST_CLIENT_PORT,
            now_ns: params.start_ns,
            frames: Vec::new(),
        }
    }

    /// A TCP conversation from a fresh client port to `server_port`, starting now.
    fn tcp(&mut self, server_port: u16) -> TcpConversation {
        let client_port = self.take_port();
        TcpConversation::new(self.params.ips(), client_port, server_port, self.now_ns)
    }

    fn take_port(&mut self) -> u16 {
        let port = self.next_client_port;
        self.next_client_port += 1;
        port
    }

    fn push_tcp(&mut self, conversation: TcpConversation) {
        self.now_ns = conversation.now_ns();
        self.frames.extend(conversation.into_frames());
    }

    fn push(&mut self, frame: Vec<u8>) {
        self.frames.push((self.now_ns, frame));
        self.now_ns += DEFAULT_GAP_NS;
    }

    fn client(&self) -> FrameSpec {
        FrameSpec::from_client(self.params.ips())
    }

    fn server(&self) -> FrameSpec {
        FrameSpec::from_server(self.params.ips().reversed())
    }
}

fn tcp_fin(params: ScenarioParams) -> Frames {
    let mut timeline = Timeline::new(params);
    let mut conv = timeline.tcp(80);
    conv.handshake()
        .send(Side::Client, HTTP_REQUEST)
        .ack(Side::Server)
        .send(Side::Server, HTTP_RESPONSE)
        .ack(Side::Client)
        .close(Side::Client);
    timeline.push_tcp(conv);
    timeline.frames
}

fn tcp_rst_client(params: ScenarioParams) -> Frames {
    let mut timeline = Timeline::new(params);
    let mut conv = timeline.tcp(80);
    conv.handshake()
        .send(Side::Client, HTTP_REQUEST)
        .send(Side::Server, HTTP_RESPONSE)
        .rst(Side::Client);
    timeline.push_tcp(conv);
    let mut half_open = timeline.tcp(443);
    half_open
        .syn(Side::Client)
        .syn(Side::Server)
        .rst(Side::Client);
    timeline.push_tcp(half_open);
    timeline.frames
}

fn tcp_rst_server(params: ScenarioParams) -> Frames {
    let mut timeline = Timeline::new(params);
    let mut conv = timeline.tcp(80);
    conv.handshake()
        .send(Side::Client, HTTP_REQUEST)
        .rst(Side::Server);
    timeline.push_tcp(conv);
    // A closed port answers a SYN with RST|ACK, seq 0, acknowledging the SYN (RFC 9293).
    let mut closed_port = timeline.tcp(81);
    closed_port.syn(Side::Client);
    let ack = closed_port.next_seq(Side::Client);
    closed_port.segment_at(Side::Server, TcpFlags::RST | TcpFlags::ACK, 0, ack, &[]);
    timeline.push_tcp(closed_port);
    timeline.frames
}

fn aged_out(params: ScenarioParams) -> Frames {
    let mut timeline = Timeline::new(params);
    let client_port = timeline.take_port();
    let query = timeline.client().udp(client_port, 9999, b"ping");
    let answer = timeline.server().udp(9999, client_port, b"pong");
    timeline.push(query);
    timeline.push(answer);
    let mut idle = timeline.tcp(8080);
    idle.handshake()
        .send(Side::Client, b"hello")
        .send(Side::Server, b"hi")
        .ack(Side::Client);
    timeline.push_tcp(idle);
    timeline.frames
}

fn tcp_reuse(params: ScenarioParams) -> Frames {
    let mut timeline = Timeline::new(params);
    let reused_port = timeline.next_client_port;
    let mut first = timeline.tcp(80);
    first
        .handshake()
        .send(Side::Client, HTTP_REQUEST)
        .send(Side::Server, HTTP_RESPONSE)
        .close(Side::Client);
    // One second later (inside the 15 s TIME_WAIT) the client reuses its port, with a new
    // ISN far from the old sequence space, as Linux does.
    let second_start = first.now_ns() + 1_000_000_000;
    let ips = params.ips();
    timeline.push_tcp(first);
    let mut second = TcpConversation::new(ips, reused_port, 80, second_start)
        .with_isns(0x4000_0000, 0x5000_0000);
    second
        .handshake()
        .send(Side::Client, HTTP_REQUEST)
        .send(Side::Server, HTTP_RESPONSE)
        .close(Side::Client);
    timeline.push_tcp(second);
    timeline.frames
}

fn non_syn(params: ScenarioParams) -> Frames {
    let mut timeline = Timeline::new(params);
    let a = TcpFlags::ACK;
    let flag_sets = [
        (Side::Client, a),
        (Side::Client, TcpFlags::PSH | a),
        (Side::Client, TcpFlags::FIN | a),
        (Side::Client, TcpFlags::RST),
        (Side::Server, TcpFlags::SYN | a),
    ];
    for (from, flags) in flag_sets {
        let mut conv = timeline.tcp(80);
        let payload: &[u8] = if flags.contains(TcpFlags::PSH) {
            b"data"
        } else {
            &[]
        };
        conv.segment(from, flags, payload);
        timeline.push_tcp(conv);
    }
    timeline.frames
}

fn asymmetric(params: ScenarioParams) -> Frames {
    let mut timeline = Timeline::new(params);
    let mut client_only = timeline.tcp(80);
    client_only.syn(Side::Client);
    // The SYN-ACK took another path: the client's ACK acknowledges it all the same.
    client_only.skip(Side::Server, 1);
    client_only
        .ack(Side::Client)
        .send(Side::Client, HTTP_REQUEST);
    timeline.push_tcp(client_only);
    let mut lone_syn_ack = timeline.tcp(80);
    lone_syn_ack.skip(Side::Client, 1).syn(Side::Server);
    timeline.push_tcp(lone_syn_ack);
    timeline.frames
}

/// Segments sent ahead of sequence in the `out-of-order` scenario.
pub const OUT_OF_ORDER_SEGMENTS: usize = 8;

fn out_of_order(params: ScenarioParams) -> Frames {
    out_of_order_with(params, OUT_OF_ORDER_SEGMENTS)
}

/// An established flow whose first 100-byte client segment is lost, then `segments` more
/// 100-byte segments, all ahead of sequence. The gap is never filled and the flow is left
/// to age out.
pub fn out_of_order_with(params: ScenarioParams, segments: usize) -> Frames {
    let mut timeline = Timeline::new(params);
    let mut conv = timeline.tcp(8080);
    conv.handshake().skip(Side::Client, 100);
    for index in 0..segments {
        conv.send(Side::Client, &[index as u8; 100]);
    }
    timeline.push_tcp(conv);
    timeline.frames
}

fn broken_handshake(params: ScenarioParams) -> Frames {
    let mut timeline = Timeline::new(params);
    let mut conv = timeline.tcp(80);
    conv.syn(Side::Client);
    let server_seq = conv.next_seq(Side::Server);
    let client_next = conv.next_seq(Side::Client);
    conv.segment_at(Side::Server, TcpFlags::ACK, server_seq, client_next, &[]);
    // RFC 9293: in SYN-SENT, an unacceptable ACK is answered by RST with seq = its ack.
    conv.segment_at(Side::Client, TcpFlags::RST, client_next, 0, &[]);
    timeline.push_tcp(conv);
    timeline.frames
}

fn icmp(params: ScenarioParams) -> Frames {
    let mut timeline = Timeline::new(params);
    let (client, server) = (timeline.client(), timeline.server());
    let data = [0x5a; 56];
    for sequence in 1..=2 {
        timeline.push(client.icmp_echo(false, 0x1234, sequence, &data));
        timeline.push(server.icmp_echo(true, 0x1234, sequence, &data));
    }
    let client_port = timeline.take_port();
    let datagram = client.udp(client_port, 33434, b"probe");
    let unreachable = server.icmp_error(IcmpErrorKind::PortUnreachable, ip_packet_of(&datagram));
    timeline.push(datagram);
    timeline.push(unreachable);
    timeline.frames
}

/// Start offset between the scenarios interleaved by `mixed`.
const MIXED_STAGGER_NS: u64 = 250_000;

fn mixed(params: ScenarioParams) -> Frames {
    let mut frames: Frames = Scenario::ALL
        .iter()
        .filter(|&&scenario| scenario != Scenario::Mixed)
        .enumerate()
        .flat_map(|(index, scenario)| {
            scenario.frames_with(ScenarioParams {
                family: params.family,
                client_host: params.client_host.wrapping_add(10 + index as u8),
                start_ns: params.start_ns + index as u64 * MIXED_STAGGER_NS,
            })
        })
        .collect();
    // Stable: frames of one flow keep their order even on equal timestamps.
    frames.sort_by_key(|(ts, _)| *ts);
    frames
}

#[cfg(test)]
#[path = "scenarios_tests.rs"]
mod tests;
