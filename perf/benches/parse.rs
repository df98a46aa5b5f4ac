//! `wire::parse` on three frame shapes.
use std::hint::black_box;
use std::net::{Ipv4Addr, Ipv6Addr};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use synwall_engine::wire;
use synwall_testkit::frame::{FrameSpec, IpPair, TcpFields, TcpFlags, TcpOptions};

fn frames() -> Vec<(&'static str, Vec<u8>)> {
    let v4 = FrameSpec::from_client(IpPair::V4 {
        src: Ipv4Addr::new(10, 0, 0, 1),
        dst: Ipv4Addr::new(172, 16, 0, 1),
    });
    let v6 = FrameSpec::from_client(IpPair::V6 {
        src: "2001:db8:c000::1".parse::<Ipv6Addr>().unwrap(),
        dst: "2001:db8:5e00::1".parse::<Ipv6Addr>().unwrap(),
    });
    // 64 bytes on the wire with FCS: 60 captured, 18 bytes of UDP payload.
    let udp = v4.udp(40_000, 5001, &[0xab; 18]);
    assert_eq!(udp.len(), 60);
    let mut syn = TcpFields::new(40_000, 443, TcpFlags::SYN);
    syn.seq = 0x1234_5678;
    syn.options = TcpOptions::handshake(1460, 7);
    let syn = v4.tcp(&syn, &[]);
    let mut data = TcpFields::new(40_000, 443, TcpFlags::PSH | TcpFlags::ACK);
    data.seq = 1;
    data.ack = 1;
    let v6tcp = v6.tcp(&data, &[0x5a; 100]);
    vec![
        ("udp4_64B", udp),
        ("tcp4_syn_options", syn),
        ("tcp6_data_174B", v6tcp),
    ]
}

fn bench_parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Elements(1));
    for (name, frame) in frames() {
        assert!(wire::parse(&frame).is_ok(), "{name} must parse");
        g.bench_function(name, |b| b.iter(|| wire::parse(black_box(&frame))));
    }
    g.finish();
}

criterion_group!(benches, bench_parse);
criterion_main!(benches);
