//! Structured random configs: whole YAML documents built from the schema's own keys, with
//! values that are mostly right and sometimes wrong (wrong types, out-of-range and huge
//! numbers, unicode, unknown and missing keys, anchors and aliases, deep nesting), rendered in
//! block or flow style. Deterministic (seeded), so a failure names a reproducible case.
//!
//! Test support, not part of the config's API: this crate's tests check the loader's answer
//! to every document (`tests/generated.rs`); the engine's tests, through the `testgen`
//! feature, compile every accepted one into a policy.

mod gen;
mod pools;
mod render;

use synwall_testkit::Rng;

use gen::Gen;
use render::{block, flow};

/// 1500 generated documents, each with the percentage of its choices that went wrong (0: the
/// document is a valid config). A third of them are valid, the rest more and more wrong; one
/// in four is rendered in flow style.
pub fn documents() -> Vec<(u64, String)> {
    let mut gen = Gen {
        // The xorshift64 stream these documents have always come from: deterministic, so a
        // failing case is reproducible from its index.
        rng: Rng::xorshift(0x00c0_ff1e_5eed_u64),
        wrong: 0,
        anchors: Vec::new(),
    };
    (0..1500)
        .map(|case| {
            gen.wrong = [0, 0, 1, 3, 8, 25][case % 6];
            let doc = gen.document();
            let mut text = String::new();
            if case % 4 == 3 {
                flow(&doc, &mut text);
                text.push('\n');
            } else {
                block(&doc, 0, &mut text);
            }
            (gen.wrong, text)
        })
        .collect()
}

/// Hand-made odd documents: deep nesting, aliases (a small "billion laughs", undefined and
/// self references, merge keys), huge numbers and odd scalars where numbers belong, several
/// documents, tags, a BOM, control characters, enormous keys.
pub fn odd_documents() -> Vec<String> {
    let valid = "dataplane:\n  workers: [1]\n  ports: [{ name: p, device: net_null0, zone: z }]\n";
    let mut docs: Vec<String> = Vec::new();
    // Deep nesting, in flow and block style, at a known path and at the top.
    for depth in [64, 127, 128, 129, 1_000, 3_000] {
        let nested = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
        docs.push(format!("{valid}rules: {nested}\n"));
        docs.push(format!("{valid}addresses: {{ deep: {nested} }}\n"));
        docs.push(nested);
        let mut blocky = String::from("session:\n");
        for level in 1..depth.min(300) {
            blocky.push_str(&format!("{}k{level}:\n", " ".repeat(level)));
        }
        docs.push(format!("{valid}{blocky}"));
    }
    // Aliases: a small "billion laughs", an alias used before its anchor, a self-reference,
    // merge keys, anchors across sections.
    let mut laughs = String::from("a0: &a0 [x, x, x, x, x, x, x, x]\n");
    for i in 1..8 {
        let refs = vec![format!("*a{}", i - 1); 8].join(", ");
        laughs.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    docs.push(laughs.clone());
    let indented: String = laughs.lines().map(|l| format!("  {l}\n")).collect();
    docs.push(format!("{valid}addresses:\n{indented}"));
    docs.push(format!("{valid}rules: *nope\n"));
    docs.push(format!("{valid}addresses: &self {{ x: *self }}\n"));
    docs.push(format!(
        "{valid}session: &s {{ max_sessions: 10 }}\ncontrol:\n  <<: *s\n"
    ));
    docs.push(
        "dataplane: &dp\n  workers: [1]\n  ports: [{ name: p, device: d, zone: &z z }]\n\
         rules: [{ name: r, from: [*z], to: [*z], action: allow }]\n"
            .to_owned(),
    );
    docs.push("dataplane: *dp\n".to_owned());
    // Huge numbers and odd scalars where numbers belong.
    for n in [
        "18446744073709551616",
        "-1",
        "1e400",
        ".nan",
        "0x10",
        "99999999999999999999999999999999999999",
    ] {
        docs.push(format!("{valid}session: {{ max_sessions: {n} }}\n"));
        docs.push(format!("{valid}session: {{ timeouts: {{ tcp: {n} }} }}\n"));
    }
    // Several documents, tags, a BOM, control characters, an enormous key.
    docs.push(format!("{valid}---\n{valid}"));
    docs.push(format!("--- !!map\n{valid}"));
    docs.push(format!("\u{feff}{valid}"));
    docs.push(format!(
        "{valid}rules: [{{ name: \"\u{1}\u{7f}\", from: [a], to: [b], action: allow }}]\n"
    ));
    docs.push(format!("{valid}{}: 1\n", "k".repeat(100_000)));
    docs.push(format!(
        "{valid}addresses: {{ \"{}\": [10.0.0.0/8] }}\n",
        "é".repeat(5_000)
    ));
    docs
}
