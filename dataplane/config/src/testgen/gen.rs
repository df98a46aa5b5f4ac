//! The document builder: the schema's own keys, values mostly right and sometimes wrong.

use synwall_testkit::Rng;

use super::pools::*;
use super::render::Node;

/// Builds documents. With `wrong` at 0 every document is a valid config; above it, that
/// percentage of the choices goes wrong (a wrong value, type or shape, a missing, unknown or
/// repeated key, an alias to anything).
pub(super) struct Gen {
    pub(super) rng: Rng,
    pub(super) wrong: u64,
    pub(super) anchors: Vec<String>,
}

impl Gen {
    fn chance(&mut self, percent: u64) -> bool {
        self.rng.index(100) < percent as usize
    }

    /// Whether this choice goes wrong.
    fn slip(&mut self) -> bool {
        self.wrong > 0 && self.chance(self.wrong)
    }

    fn pick<'a>(&mut self, pool: &[&'a str]) -> &'a str {
        pool[self.rng.index(pool.len())]
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
            return match self.rng.index(4) {
                0 if !self.anchors.is_empty() => {
                    let i = self.rng.index(self.anchors.len());
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
            return Node::Plain((lo + self.rng.next_u64() % (hi - lo + 1)).to_string());
        }
        let n = match self.rng.index(5) {
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
        let n = if self.slip() { self.rng.index(4) } else { 1 };
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
        match self.rng.index(if depth == 0 { 3 } else { 5 }) {
            0 => Node::Plain(self.pick(WEIRD).to_owned()),
            1 => {
                let s = self.pick(TEXT).to_owned();
                self.text(&s)
            }
            2 => Node::Plain((self.rng.next_u64() % 100_000).to_string()),
            3 => Node::Seq(
                (0..self.rng.index(4))
                    .map(|_| self.any(depth - 1))
                    .collect(),
            ),
            _ => Node::Map(
                (0..self.rng.index(4))
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
                match self.rng.index(3) {
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
            let i = self.rng.index(entries.len());
            let j = self.rng.index(entries.len());
            entries.swap(i, j);
        }
        Node::Map(entries)
    }

    fn dataplane(&mut self) -> Node {
        let n = if self.slip() {
            self.rng.index(4)
        } else {
            2 + self.rng.index(2)
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
                    let member = format!("svc{}", self.rng.index(i));
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
        let rules = (0..self.rng.index(5))
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
    pub(super) fn document(&mut self) -> Node {
        self.anchors.clear();
        let (n_addresses, n_services) = (self.rng.index(4), self.rng.index(3));
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
