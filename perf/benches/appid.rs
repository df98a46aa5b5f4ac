//! The App-ID stage's cost: `appid::inspect` on the payloads that decide (an HTTP request, a TLS
//! ClientHello with SNI, a DNS query) and on undecidable random bytes, and what a decided session
//! costs afterwards (the engine then checks one flag and skips the stage).
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use synwall_engine::appid::{self, AppState};
use synwall_perf::gen::apps::tls_client_hello;

fn bench(c: &mut Criterion) {
    let http =
        b"GET /index.html HTTP/1.1\r\nHost: www.example.test\r\nUser-Agent: curl/7.88.1\r\n\r\n"
            .to_vec();
    let tls = tls_client_hello("secure.example.test");
    let mut dns = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    dns.extend_from_slice(b"\x03www\x07example\x04test\x00\x00\x01\x00\x01");
    let random: Vec<u8> = (0..512u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mut g = c.benchmark_group("appid");
    g.throughput(Throughput::Elements(1));
    for (name, proto, payload) in [
        ("http", 6u8, &http),
        ("tls_sni", 6, &tls),
        ("dns", 17, &dns),
        ("random_512B", 6, &random),
    ] {
        g.bench_function(format!("first_payload/{name}"), |b| {
            b.iter(|| {
                let mut state = AppState::for_ports(40_000, 443);
                let mut sni = [0u8; 48];
                black_box(appid::inspect(
                    &mut state,
                    proto,
                    true,
                    black_box(payload),
                    &mut sni,
                ))
            })
        });
    }
    // After the decision the engine only tests the session's APP_DECIDED bit; measured here as
    // the state's own check, the whole per-packet cost of the stage from then on.
    let mut decided = AppState::for_ports(40_000, 80);
    let mut sni = [0u8; 48];
    assert!(appid::inspect(&mut decided, 6, true, &http, &mut sni).is_some());
    g.bench_function("after_decision", |b| {
        b.iter(|| black_box(black_box(&decided).decided()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
