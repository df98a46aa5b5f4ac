//! Helpers shared by the benches: a seeded PRNG (no `rand` dependency) and configs.
#![allow(dead_code)]

use synwall_engine::flow::FlowKey;

use synwall_testkit::yaml::VwireConfig;
/// The project's seeded generator (`uniform_below` is multiply-shift).
pub use synwall_testkit::Rng;

/// A distinct IPv4 UDP key for every `i` (the bits of `i` spread over both addresses and
/// the source port).
pub fn key_of(i: u64) -> FlowKey {
    let s = (i as u32).to_be_bytes();
    let d = ((i >> 32) as u32 ^ 0xac10_0000).to_be_bytes();
    FlowKey {
        src: synwall_engine::flow::v4_mapped([10, s[1], s[2], s[3]]),
        dst: synwall_engine::flow::v4_mapped(d),
        sport: 1024 + (s[0] as u16),
        dport: 5001,
        proto: 17,
        family: 4,
    }
}

/// A config of `n` rules: random source and destination /24 prefixes (10/8 and 172.16/12),
/// a random TCP or UDP port range each (one service per rule), from trust to untrust or back,
/// allow or deny. Returns the YAML text and, per rule, (src /24, dst /24, proto, lo, hi,
/// trust-to-untrust).
pub fn rules_yaml(n: usize, seed: u64) -> (String, Vec<RuleShape>) {
    let mut rng = Rng::new(seed);
    let mut services = String::from("services:\n");
    let mut rules = String::from("rules:\n");
    let mut shapes = Vec::with_capacity(n);
    for i in 0..n {
        let src = [
            10,
            rng.uniform_below(256) as u8,
            rng.uniform_below(256) as u8,
            0,
        ];
        let dst = [
            172,
            16 + rng.uniform_below(16) as u8,
            rng.uniform_below(256) as u8,
            0,
        ];
        let tcp = rng.uniform_below(2) == 0;
        let lo = 1 + rng.uniform_below(60_000) as u16;
        let hi = lo + rng.uniform_below(1_000) as u16;
        let forward = rng.uniform_below(2) == 0;
        let (from, to) = if forward {
            ("trust", "untrust")
        } else {
            ("untrust", "trust")
        };
        let action = if rng.uniform_below(4) == 0 {
            "deny"
        } else {
            "allow"
        };
        services.push_str(&format!(
            "  svc{i}: {{ protocol: {}, ports: [\"{lo}-{hi}\"] }}\n",
            if tcp { "tcp" } else { "udp" }
        ));
        rules.push_str(&format!(
            "  - {{ name: r{i}, from: [{from}], to: [{to}], source: [{}.{}.{}.0/24], \
             destination: [{}.{}.{}.0/24], service: [svc{i}], action: {action} }}\n",
            src[0], src[1], src[2], dst[0], dst[1], dst[2]
        ));
        shapes.push(RuleShape {
            src,
            dst,
            proto: if tcp { 6 } else { 17 },
            lo,
            hi,
            forward,
        });
    }
    // The usual virtual wire: trust on port 0, untrust on port 1.
    let base = VwireConfig::new().yaml();
    (format!("{base}{services}{rules}"), shapes)
}

#[derive(Clone, Copy, Debug)]
pub struct RuleShape {
    pub src: [u8; 4],
    pub dst: [u8; 4],
    pub proto: u8,
    pub lo: u16,
    pub hi: u16,
    pub forward: bool,
}
