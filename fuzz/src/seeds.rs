//! Seed inputs: a few hand-written programs per target, written to `fuzz/seeds/` by
//! `cargo run --release --example seeds` (and checked to be current by the tests).

use crate::engine::{content, flag, seq, step, Script};
use synwall_testkit::frame::{ip_packet_of, TcpFields, TcpFlags};
use synwall_testkit::payload::dns_query;

use crate::frames::{syn_options, Endpoints};

/// Seeds by name.
pub type Seeds = Vec<(&'static str, Vec<u8>)>;

/// Named engine programs (each also a test of what the decoder reaches, see `tests.rs`).
pub fn engine() -> Seeds {
    let mut spray = Script::new(0, 0);
    // The 64 spray flows, then 6 hot ones.
    for i in 0..70u8 {
        let flow = if i < 64 { 0xc0 + i } else { i - 64 };
        spray = spray.tcp(flow, true, flag::SYN, 0, 0);
    }
    vec![
        (
            "tcp-fin",
            Script::new(0, 0)
                .handshake(0)
                .tcp(0, true, flag::PSH_ACK, content::HTTP, 1)
                .tcp(0, false, flag::ACK, 0, 0)
                .tcp(0, true, flag::FIN_ACK, 0, 0)
                .tcp(0, false, flag::FIN_ACK, 0, 0)
                .tcp(0, true, flag::ACK, 0, 0)
                .views()
                .bytes(),
        ),
        (
            "rst-reuse-aging",
            Script::new(0, 0)
                .handshake(1)
                .tcp(1, true, flag::RST, 0, 0)
                .handshake(2)
                .tcp(2, true, flag::FIN_ACK, 0, 0)
                .tcp(2, false, flag::FIN_ACK, 0, 0)
                .tcp(2, true, flag::ACK, 0, 0)
                .tcp(2, true, flag::NEW_SYN, 0, 0)
                .udp(3, true, content::DNS, 1)
                .echo(4, true)
                .echo(4, false)
                .wait(step::S_30)
                .bytes(),
        ),
        ("table-full", spray.bytes()),
        (
            "policy-reset",
            Script::new(1, 0)
                .tcp(2, true, flag::SYN, 0, 0)
                .tcp(2, true, flag::SYN, 0, 0)
                .bytes(),
        ),
        (
            "app-id-reload",
            Script::new(1, 0)
                .handshake(0)
                .tcp(0, true, flag::PSH_ACK, content::HTTP, 1)
                .tcp(0, false, flag::ACK, 0, 0)
                .handshake(1)
                .tcp(1, true, flag::PSH_ACK, content::TLS, 1)
                .reload(0)
                .reload(3)
                .bytes(),
        ),
        (
            "out-of-order",
            Script::new(0, 3)
                .handshake(0)
                .tcp_seq(0, true, flag::PSH_ACK, seq::HOLE, content::NONE, 4)
                .tcp_seq(0, true, flag::PSH_ACK, seq::HOLE, content::NONE, 4)
                .tcp_seq(0, true, flag::PSH_ACK, seq::HOLE, content::NONE, 4)
                .bytes(),
        ),
        (
            "icmp-errors",
            Script::new(0, 0)
                .tcp(0, true, flag::SYN, 0, 0)
                .icmp_error(0, true)
                .icmp_error(5, false)
                .bytes(),
        ),
        (
            "midstream-bypass",
            Script::new(0, 1)
                .tcp(3, false, flag::SYN_ACK, 0, 0)
                .tcp(3, true, flag::ACK, 0, 0)
                .tcp(6, true, flag::PSH_ACK, content::SSH, 1)
                .wait(step::MS_250)
                .timers()
                .wait(step::S_2)
                .bytes(),
        ),
    ]
}

/// Named frames for the parser (first byte: the target's mode byte, 0 = as is).
pub fn parse() -> Seeds {
    let v4 = Endpoints {
        v6: false,
        client: synwall_engine::flow::v4_mapped([10, 0, 0, 1]),
        server: synwall_engine::flow::v4_mapped([10, 0, 1, 1]),
        client_port: 40_000,
        server_port: 443,
    };
    let mut server6 = [0u8; 16];
    server6[0] = 0xfd;
    server6[15] = 2;
    let mut client6 = server6;
    client6[15] = 1;
    let v6 = Endpoints {
        v6: true,
        client: client6,
        server: server6,
        ..v4
    };
    let syn = |sport, dport| {
        let mut t = TcpFields::new(sport, dport, TcpFlags::SYN);
        (t.seq, t.window) = (1000, 65_535);
        t.options = syn_options(Some(1460), true, Some(7));
        t
    };
    let mut out = Vec::new();
    let mut add = |name, frame: &[u8]| {
        let mut seed = vec![0u8];
        seed.extend_from_slice(frame);
        out.push((name, seed));
    };
    for (name, e) in [("tcp-syn-v4", v4), ("tcp-syn-v6", v6)] {
        let frame = e.spec(true).tcp(&syn(e.client_port, e.server_port), b"");
        add(name, &frame);
    }
    let query = dns_query("example.com");
    let frame = v6.spec(true).with_vlan(42).with_hop_by_hop();
    add("udp-v6-vlan-hop-by-hop", &frame.udp(5353, 53, &query));
    // An ICMP port unreachable quoting the UDP datagram above, in IPv4.
    let datagram = v4.spec(true).udp(5353, 53, &query);
    let mut quote = vec![0u8; 4];
    quote.extend_from_slice(ip_packet_of(&datagram));
    add("icmp-error-v4", &v4.spec(false).icmp(3, 3, &quote));
    let fragment = v6.spec(true).with_fragment(0, true);
    add(
        "first-fragment-v6",
        &fragment.tcp(&syn(40_000, 80), &[7; 16]),
    );
    // Jumbo mode (first byte 0x80 and up pads the frame past 64 KiB): an IPv6 header with the
    // largest payload length.
    let mut jumbo = vec![0xff];
    jumbo.extend_from_slice(&[0; 12]);
    jumbo.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0, 0xff, 0xff, 59, 64]);
    jumbo.extend_from_slice(&server6);
    jumbo.extend_from_slice(&client6);
    out.push(("jumbo-v6", jumbo));
    out
}

/// Configs: the INTERFACE.md-style example, the shipped quickstart, the engine target's own.
pub fn config() -> Seeds {
    vec![
        (
            "quickstart",
            include_bytes!("../../configs/quickstart.yaml").to_vec(),
        ),
        (
            "baremetal",
            include_bytes!("../../configs/baremetal.yaml").to_vec(),
        ),
        ("engine-mixed", crate::engine::config_text(5).into_bytes()),
    ]
}
