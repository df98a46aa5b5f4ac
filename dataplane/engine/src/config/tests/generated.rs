//! Structured random configs: whole YAML documents built from the schema's own keys, with
//! values that are mostly right and sometimes wrong (wrong types, out-of-range and huge
//! numbers, unicode, unknown and missing keys, anchors and aliases, deep nesting), rendered in
//! block or flow style. Deterministic (seeded), so a failure names a reproducible case.
//!
//! The loader must answer every document without panicking; an accepted config round-trips
//! and compiles; every error of a refused one carries a key path under a known section, or a
//! line (syntax errors and unknown top-level keys are about the document, not a value).

use super::robustness::XorShift;
use super::*;

/// A YAML node before rendering.
#[derive(Clone, Debug)]
enum Node {
    /// Written as is (numbers, booleans, YAML-special words).
    Plain(String),
    /// Written double-quoted with JSON escapes (valid YAML).
    Quoted(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
    /// `&name` before the node.
    Anchored(String, Box<Node>),
    /// `*name`.
    Alias(String),
    /// Written in flow style whatever the context (`[..]`, `{..}`).
    Flow(Box<Node>),
}

/// Scalars that mean something special to YAML or to the loader.
const WEIRD: &[&str] = &[
    "~",
    "null",
    "yes",
    "no",
    "on",
    "off",
    "true",
    "FALSE",
    ".inf",
    "-.inf",
    ".nan",
    "0x7fffffff",
    "0o777",
    "0b1010",
    "1e309",
    "-0",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775809",
    "340282366920938463463374607431768211456",
    "1_000",
    "12:30:00",
    "2001-01-01",
    "!!binary aGVsbG8=",
    "!!str 80",
    "!custom tag",
    "''",
    "\"\"",
    "[]",
    "{}",
];

/// Strings for names and free text (wrong almost everywhere).
const TEXT: &[&str] = &[
    "",
    " ",
    "ünïcødé",
    "日本語のゾーン",
    "\u{202e}evil\u{202c}",
    "emoji-🔥",
    "tab\there",
    "new\nline",
    "quote\"d",
    "back\\slash",
    "nul\u{0}byte",
    "a.b[0]",
    "#not-a-comment",
    "-dash",
    ":colon",
    "x-very-long-name-that-goes-past-sixty-three-characters-for-the-name-limit-check",
];

const ZONES: &[&str] = &["trust", "untrust", "any"];
const BAD_ZONES: &[&str] = &["nowhere", "Trust", "dmz"];
const ADDRESSES: &[&str] = &[
    "any",
    "10.0.0.0/8",
    "192.0.2.1",
    "192.0.2.1-192.0.2.9",
    "2001:db8::/32",
    "::/0",
    "fd00::1",
];
const BAD_ADDRESSES: &[&str] = &[
    "192.0.2.9-192.0.2.1",
    "10.0.0.1/24",
    "300.1.1.1",
    "10.0.0.0/33",
    "fd00::/129",
    "10.0.0.1-fd00::1",
    "nowhere",
];
const PORTS: &[&str] = &["80", "8080-8090", "1", "65535"];
const BAD_PORTS: &[&str] = &["0", "65536", "90-80", "1-2-3", "-1", "http", ""];
const APPS: &[&str] = &["web-browsing", "ssl", "dns", "ssh"];
const BAD_APPS: &[&str] = &["no-such-app", "Web Browsing"];
const ACTIONS: &[&str] = &[
    "allow",
    "deny",
    "drop",
    "drop-icmp",
    "reset-client",
    "reset-server",
    "reset-both",
];
const BAD_ACTIONS: &[&str] = &["permit", "ALLOW", "reject"];

/// The config's top-level keys: every located error's path starts with one of them.
const SECTIONS: &[&str] = &[
    "dataplane",
    "session",
    "addresses",
    "services",
    "rules",
    "logging",
    "control",
    "zone_protection",
    "zones",
];

/// Builds documents. With `wrong` at 0 every document is a valid config; above it, that
/// percentage of the choices goes wrong (a wrong value, type or shape, a missing, unknown or
/// repeated key, an alias to anything).
struct Gen {
    rng: XorShift,
    wrong: u64,
    anchors: Vec<String>,
}

impl Gen {
    fn chance(&mut self, percent: u64) -> bool {
        self.rng.below(100) < percent as usize
    }

    /// Whether this choice goes wrong.
    fn slip(&mut self) -> bool {
        self.wrong > 0 && self.chance(self.wrong)
    }

    fn pick<'a>(&mut self, pool: &[&'a str]) -> &'a str {
        pool[self.rng.below(pool.len())]
    }

    /// A string node: plain when it is a safe word, quoted otherwise (or at random).
    fn text(&mut self, s: &str) -> Node {
        let safe = !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_/.:".contains(c))
            && !s.starts_with(['-', '.', ':'])
            && !s.contains(": ");
        if safe && self.chance(70) {
            Node::Plain(s.to_owned())
        } else {
            Node::Quoted(s.to_owned())
        }
    }

    /// A value built by `right`, or (when slipping) anything at all; anchored now and then,
    /// or (when slipping) an alias to an earlier anchor of any shape, or to none.
    fn value(&mut self, right: impl FnOnce(&mut Gen) -> Node) -> Node {
        if self.slip() {
            return match self.rng.below(4) {
                0 if !self.anchors.is_empty() => {
                    let i = self.rng.below(self.anchors.len());
                    Node::Alias(self.anchors[i].clone())
                }
                1 => Node::Alias("undefined".into()),
                _ => self.any(3),
            };
        }
        let node = right(self);
        if self.chance(4) {
            let name = format!("a{}", self.anchors.len());
            self.anchors.push(name.clone());
            return Node::Anchored(name, Box::new(node));
        }
        node
    }

    fn int(&mut self, lo: u64, hi: u64) -> Node {
        if !self.slip() {
            return Node::Plain((lo + self.rng.next() % (hi - lo + 1)).to_string());
        }
        let n = match self.rng.below(5) {
            0 => lo.wrapping_sub(1),
            1 => hi.saturating_add(1),
            2 => u64::MAX,
            _ => return Node::Plain(self.pick(WEIRD).to_owned()),
        };
        Node::Plain(n.to_string())
    }

    /// One of `good`, or when slipping one of `bad` or of [`TEXT`].
    fn word(&mut self, good: &[&str], bad: &[&str]) -> Node {
        let s = match (self.slip(), self.chance(50)) {
            (false, _) => self.pick(good),
            (true, true) if !bad.is_empty() => self.pick(bad),
            (true, _) => self.pick(TEXT),
        };
        self.text(s)
    }

    /// One word (when slipping: none, or up to three, repeats and `any` among others).
    fn list(&mut self, good: &[&str], bad: &[&str]) -> Node {
        let n = if self.slip() { self.rng.below(4) } else { 1 };
        Node::Seq((0..n).map(|_| self.value(|g| g.word(good, bad))).collect())
    }

    fn bool(&mut self) -> Node {
        let s = if self.slip() {
            self.pick(&["yes", "1", "on", "True "])
        } else {
            self.pick(&["true", "false", "True", "FALSE"])
        };
        Node::Plain(s.to_owned())
    }

    /// A random node of any shape, `depth` levels at most.
    fn any(&mut self, depth: usize) -> Node {
        match self.rng.below(if depth == 0 { 3 } else { 5 }) {
            0 => Node::Plain(self.pick(WEIRD).to_owned()),
            1 => {
                let s = self.pick(TEXT).to_owned();
                self.text(&s)
            }
            2 => Node::Plain((self.rng.next() % 100_000).to_string()),
            3 => Node::Seq(
                (0..self.rng.below(4))
                    .map(|_| self.any(depth - 1))
                    .collect(),
            ),
            _ => Node::Map(
                (0..self.rng.below(4))
                    .map(|_| (self.pick(TEXT).to_owned(), self.any(depth - 1)))
                    .collect(),
            ),
        }
    }

    /// A mapping of the schema's `fields` (`optional` ones left out at random), shuffled now
    /// and then; when slipping, a field goes missing or twice, or an unknown key comes in.
    fn map(&mut self, fields: Vec<(&str, Node)>, optional: &[&str]) -> Node {
        let mut entries: Vec<(String, Node)> = Vec::new();
        for (key, node) in fields {
            if optional.contains(&key) && self.chance(30) {
                continue;
            }
            if self.slip() {
                match self.rng.below(3) {
                    0 => continue,
                    1 => entries.push((key.to_owned(), node.clone())),
                    _ => {
                        let unknown = self.pick(&["tcp_wait", "Name", "zones", "<<", "", "ü"]);
                        entries.push((unknown.to_owned(), self.any(2)));
                    }
                }
            }
            entries.push((key.to_owned(), node));
        }
        if self.chance(20) && entries.len() > 1 {
            let i = self.rng.below(entries.len());
            let j = self.rng.below(entries.len());
            entries.swap(i, j);
        }
        Node::Map(entries)
    }

    fn dataplane(&mut self) -> Node {
        let n = if self.slip() {
            self.rng.below(4)
        } else {
            2 + self.rng.below(2)
        };
        let ports = (0..n)
            .map(|i| {
                let zone = ["trust", "untrust", "dmz"][i];
                let fields = vec![
                    (
                        "name",
                        self.value(|g| g.text(&format!("ethernet1/{}", i + 1))),
                    ),
                    ("device", self.value(|g| g.text(&format!("net_tap{i}")))),
                    ("zone", self.value(|g| g.word(&[zone], &[]))),
                    ("queues", self.value(|g| g.int(1, 8))),
                ];
                let port = self.map(fields, &["queues"]);
                if self.chance(50) {
                    Node::Flow(Box::new(port))
                } else {
                    port
                }
            })
            .collect();
        let fields = vec![
            (
                "eal",
                self.value(|g| {
                    let lcores = g.word(&["0-3"], &["9-1", "0"]);
                    Node::Flow(Box::new(Node::Seq(vec![
                        g.text("--no-huge"),
                        g.text("-l"),
                        lcores,
                    ])))
                }),
            ),
            ("workers", self.value(|g| Node::Seq(vec![g.int(1, 3)]))),
            ("mbufs", self.value(|g| g.int(1023, 1 << 20))),
            ("ports", self.value(|_| Node::Seq(ports))),
            (
                "vwires",
                self.value(|g| {
                    let b = g.word(&["ethernet1/2"], &["ethernet1/1", "ethernet1/9"]);
                    let wire = Node::Flow(Box::new(Node::Seq(vec![g.text("ethernet1/1"), b])));
                    Node::Seq(vec![wire])
                }),
            ),
            ("burst", self.value(|g| g.int(1, 256))),
            (
                "mode",
                self.value(|g| g.word(&["firewall", "passthrough"], &["bridge"])),
            ),
        ];
        self.map(fields, &["eal", "mbufs", "vwires", "burst", "mode"])
    }

    fn session(&mut self) -> Node {
        let timeouts = [
            ("tcp", 1_599_999),
            ("tcp_init", 60),
            ("tcp_handshake", 60),
            ("tcp_half_closed", 604_800),
            ("tcp_time_wait", 600),
            ("udp", 1_599_999),
            ("icmp", 1_599_999),
            ("default", 1_599_999),
            ("discard_tcp", 1_599_999),
            ("discard_udp", 1_599_999),
            ("discard_default", 1_599_999),
        ];
        let t = timeouts
            .iter()
            .map(|&(key, hi)| (key, self.value(|g| g.int(1, hi))))
            .collect();
        let all: Vec<&str> = timeouts.iter().map(|(k, _)| *k).collect();
        let timeouts = self.map(t, &all);
        let fields = vec![
            ("max_sessions", self.value(|g| g.int(1, 1 << 24))),
            ("tcp_reject_non_syn", self.value(Gen::bool)),
            (
                "asymmetric_path",
                self.value(|g| g.word(&["drop", "bypass"], &["allow", "Drop"])),
            ),
            ("out_of_order_limit", self.value(|g| g.int(0, 4096))),
            ("timeouts", self.value(|_| timeouts)),
        ];
        let optional = [
            "max_sessions",
            "tcp_reject_non_syn",
            "asymmetric_path",
            "out_of_order_limit",
            "timeouts",
        ];
        self.map(fields, &optional)
    }

    /// Address objects `net0`.. (each may name the objects before it).
    fn addresses(&mut self, n: usize) -> Node {
        let entries = (0..n)
            .map(|i| {
                let earlier: Vec<String> = (0..i).map(|j| format!("net{j}")).collect();
                let mut good: Vec<&str> = ADDRESSES[1..].to_vec();
                good.extend(earlier.iter().map(String::as_str));
                let list = self.value(|g| {
                    let one = g.word(&good, BAD_ADDRESSES);
                    Node::Seq(vec![one])
                });
                (format!("net{i}"), list)
            })
            .collect();
        Node::Map(entries)
    }

    /// Services `svc0`.. (ports, or a group of the services before it).
    fn services(&mut self, n: usize) -> Node {
        let entries = (0..n)
            .map(|i| {
                let fields = if i == 0 || self.chance(70) {
                    vec![
                        (
                            "protocol",
                            self.value(|g| g.word(&["tcp", "udp"], &["sctp"])),
                        ),
                        (
                            "ports",
                            self.value(|g| Node::Seq(vec![g.word(PORTS, BAD_PORTS)])),
                        ),
                    ]
                } else {
                    let member = format!("svc{}", self.rng.below(i));
                    let members = self.value(|g| g.list(&[&member], &["svc99", "loop"]));
                    vec![("members", members)]
                };
                let service = self.map(fields, &[]);
                (format!("svc{i}"), service)
            })
            .collect();
        Node::Map(entries)
    }

    fn rules(&mut self, addresses: usize, services: usize) -> Node {
        let mut address_words: Vec<String> = ADDRESSES.iter().map(|s| s.to_string()).collect();
        address_words.extend((0..addresses).map(|i| format!("net{i}")));
        let address_words: Vec<&str> = address_words.iter().map(String::as_str).collect();
        let mut service_words: Vec<String> = vec!["any".into(), "application-default".into()];
        service_words.extend((0..services).map(|i| format!("svc{i}")));
        let service_words: Vec<&str> = service_words.iter().map(String::as_str).collect();
        let rules = (0..self.rng.below(5))
            .map(|i| {
                let fields = vec![
                    ("name", self.value(|g| g.text(&format!("rule-{i}")))),
                    (
                        "description",
                        self.value(|g| g.word(&["web", "ünïcødé ok"], TEXT)),
                    ),
                    ("from", self.value(|g| g.list(ZONES, BAD_ZONES))),
                    ("to", self.value(|g| g.list(ZONES, BAD_ZONES))),
                    (
                        "source",
                        self.value(|g| Node::Seq(vec![g.word(&address_words, BAD_ADDRESSES)])),
                    ),
                    (
                        "destination",
                        self.value(|g| Node::Seq(vec![g.word(&address_words, BAD_ADDRESSES)])),
                    ),
                    ("application", self.value(|g| g.list(APPS, BAD_APPS))),
                    (
                        "service",
                        self.value(|g| Node::Seq(vec![g.word(&service_words, &["svc99"])])),
                    ),
                    ("action", self.value(|g| g.word(ACTIONS, BAD_ACTIONS))),
                    ("log_start", self.value(Gen::bool)),
                    ("log_end", self.value(Gen::bool)),
                    ("connection_tracking", self.value(Gen::bool)),
                    ("disabled", self.value(Gen::bool)),
                ];
                let optional = [
                    "description",
                    "source",
                    "destination",
                    "application",
                    "service",
                    "log_start",
                    "log_end",
                    "connection_tracking",
                    "disabled",
                ];
                self.map(fields, &optional)
            })
            .collect();
        Node::Seq(rules)
    }

    fn logging(&mut self) -> Node {
        let path =
            self.value(|g| g.word(&["/var/log/synwall/traffic.jsonl"], &["", "relative.log"]));
        let traffic = self.map(vec![("path", path)], &[]);
        let target = self.value(|g| {
            g.word(
                &["127.0.0.1:514", "[::1]:514", "logs.example.net:514"],
                &["nohost", ":514"],
            )
        });
        let syslog = self.map(vec![("target", target)], &[]);
        self.map(
            vec![("traffic", traffic), ("syslog", syslog)],
            &["traffic", "syslog"],
        )
    }

    fn control(&mut self) -> Node {
        let fields = vec![
            (
                "socket",
                self.value(|g| g.word(&["/run/synwall/synwall.sock"], &[""])),
            ),
            (
                "stats",
                self.value(|g| g.word(&["/dev/shm/synwall.stats"], &[""])),
            ),
            (
                "metrics_listen",
                self.value(|g| g.word(&["127.0.0.1:9650", "[::1]:9650"], &["9650", "localhost:1"])),
            ),
        ];
        self.map(fields, &["socket", "stats", "metrics_listen"])
    }

    /// A whole document.
    fn document(&mut self) -> Node {
        self.anchors.clear();
        let (n_addresses, n_services) = (self.rng.below(4), self.rng.below(3));
        let fields = vec![
            ("dataplane", self.dataplane()),
            ("session", self.session()),
            ("addresses", self.addresses(n_addresses)),
            ("services", self.services(n_services)),
            ("rules", self.rules(n_addresses, n_services)),
            ("logging", self.logging()),
            ("control", self.control()),
        ];
        // Objects the rules may name are there (unless a slip drops them).
        let mut optional = vec!["session", "rules", "logging", "control"];
        if n_addresses == 0 {
            optional.push("addresses");
        }
        if n_services == 0 {
            optional.push("services");
        }
        self.map(fields, &optional)
    }
}

/// Renders in block style (flow style inside `Node::Flow`).
fn block(node: &Node, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match node {
        Node::Map(entries) if !entries.is_empty() => {
            for (key, value) in entries {
                out.push_str(&pad);
                out.push_str(&serde_json::to_string(key).expect("a string serializes"));
                out.push(':');
                inline_or_nested(value, indent, out);
            }
        }
        Node::Seq(items) if !items.is_empty() => {
            for item in items {
                out.push_str(&pad);
                out.push('-');
                inline_or_nested(item, indent, out);
            }
        }
        Node::Anchored(name, inner) => {
            out.push_str(&pad);
            out.push_str(&format!("&{name}\n"));
            block(inner, indent, out);
        }
        other => {
            out.push_str(&pad);
            flow(other, out);
            out.push('\n');
        }
    }
}

fn is_collection(node: &Node) -> bool {
    matches!(node, Node::Map(e) if !e.is_empty()) || matches!(node, Node::Seq(s) if !s.is_empty())
}

/// After `key:` or `-`: a scalar or flow node on the same line, a block collection below.
fn inline_or_nested(node: &Node, indent: usize, out: &mut String) {
    match node {
        Node::Anchored(name, inner) if is_collection(inner) => {
            out.push_str(&format!(" &{name}\n"));
            block(inner, indent + 2, out);
        }
        n if is_collection(n) => {
            out.push('\n');
            block(n, indent + 2, out);
        }
        n => {
            out.push(' ');
            flow(n, out);
            out.push('\n');
        }
    }
}

/// Renders in flow style.
fn flow(node: &Node, out: &mut String) {
    match node {
        Node::Plain(s) => out.push_str(s),
        Node::Quoted(s) => out.push_str(&serde_json::to_string(s).expect("a string serializes")),
        Node::Seq(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                flow(item, out);
            }
            out.push(']');
        }
        Node::Map(entries) => {
            out.push('{');
            for (i, (key, value)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&serde_json::to_string(key).expect("a string serializes"));
                out.push_str(": ");
                flow(value, out);
            }
            out.push('}');
        }
        Node::Anchored(name, inner) => {
            out.push_str(&format!("&{name} "));
            flow(inner, out);
        }
        Node::Alias(name) => out.push_str(&format!("*{name}")),
        Node::Flow(inner) => flow(inner, out),
    }
}

/// What every answer of the loader must satisfy.
fn check_answer(case: usize, text: &str) -> bool {
    let answer = std::panic::catch_unwind(|| Config::from_yaml_str(text));
    let answer = answer.unwrap_or_else(|_| panic!("case {case}: the loader panicked on:\n{text}"));
    match answer {
        Ok(config) => {
            let again = Config::from_yaml_str(&config.to_yaml());
            assert_eq!(
                again.as_ref().ok(),
                Some(&config),
                "case {case}: round trip"
            );
            let _ = crate::policy::Policy::compile(&config);
            true
        }
        Err(errors) => {
            assert!(!errors.0.is_empty(), "case {case}");
            let lines = text.lines().count() + 1;
            for e in &errors.0 {
                let section = e.path.split(['.', '[']).next().unwrap_or("");
                assert!(
                    SECTIONS.contains(&section) || (e.path.is_empty() && e.line.is_some()),
                    "case {case}: error without a known path or a line: {e:?}\n{text}"
                );
                if let Some(line) = e.line {
                    assert!(
                        (1..=lines).contains(&line),
                        "case {case}: line {line}: {e:?}"
                    );
                }
            }
            assert_eq!(
                errors.to_string().lines().count(),
                errors.0.len(),
                "case {case}"
            );
            false
        }
    }
}

#[test]
fn generated_configs_never_panic_and_errors_carry_a_path() {
    let mut gen = Gen {
        rng: XorShift(0x00c0_ff1e_5eed_u64),
        wrong: 0,
        anchors: Vec::new(),
    };
    let (mut accepted, mut refused) = (0, 0);
    for case in 0..1500 {
        // A third of the documents valid, the rest more and more wrong.
        gen.wrong = [0, 0, 1, 3, 8, 25][case % 6];
        let doc = gen.document();
        let mut text = String::new();
        if case % 4 == 3 {
            flow(&doc, &mut text);
            text.push('\n');
        } else {
            block(&doc, 0, &mut text);
        }
        if check_answer(case, &text) {
            accepted += 1;
        } else {
            // The generator's valid documents are valid, in any rendering.
            assert!(
                gen.wrong > 0,
                "case {case}: a valid config was refused:\n{text}"
            );
            refused += 1;
        }
    }
    // Both outcomes occur, so both paths are exercised.
    assert!(
        accepted >= 500 && refused > 500,
        "accepted {accepted}, refused {refused}"
    );
}

#[test]
fn deep_nesting_aliases_and_odd_documents_are_refused_cleanly() {
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
    for (case, text) in docs.iter().enumerate() {
        check_answer(case, text);
    }
}
