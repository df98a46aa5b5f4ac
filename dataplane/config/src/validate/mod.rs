//! Semantic checks on a deserialized config. Every check pushes onto one [`Problems`] list
//! and goes on, so an operator sees all that is wrong in one `--check` run.
//!
//! Timeout ranges follow PAN-OS (Device > Setup > Session > Session Timeouts, and
//! `set deviceconfig setting session timeout-*`): tcp_init and tcp_handshake 1..60,
//! tcp_half_closed 1..604800, tcp_time_wait 1..600. For the long timeouts (tcp, udp, icmp,
//! default, discard_*) the PAN-OS web-interface help says 1..15,999,999; INTERFACE.md fixes
//! 1..1,599,999, which is stricter, so every config we accept PAN-OS would accept too.
//! `fragment` (ours, not PAN-OS's) is 1..60: no host waits longer for the rest of a datagram
//! (RFC 8200 4.5 gives up after 60 s, Linux after 30), so a longer wait would serve nothing.

mod protection;

use std::net::IpAddr;

use super::eal::eal_lcores;
use super::error::Problems;
use super::net::{AddrLiteral, PortRange};
use super::path::KeyPath;
use super::schema::{Config, Rule, Timeouts, ANY, APPLICATION_DEFAULT, MAX_BURST};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Upper bound of the long timeouts, in seconds (see the module doc).
pub const MAX_LONG_TIMEOUT_S: u64 = 1_599_999;
/// Upper bound of `session.timeouts.fragment`, in seconds (see the module doc).
pub const MAX_FRAGMENT_TIMEOUT_S: u64 = 60;
/// Smallest mbuf pool: below it the ports' descriptor rings alone would starve.
pub const MIN_MBUFS: u64 = 1023;
/// Names longer than this are refused (PAN-OS allows 63 characters).
pub const MAX_NAME_LEN: usize = 63;

impl Config {
    /// Runs every semantic check. The config is usable if `problems` stays empty.
    pub fn check(&self, problems: &mut Problems) {
        self.check_dataplane(problems);
        self.check_session(problems);
        self.check_addresses(problems);
        self.check_services(problems);
        self.check_rules(problems);
        self.check_zone_protection(problems);
        self.check_logging_and_control(problems);
    }

    /// The hook for app-ID: refuses rule applications missing from `known` (the engine's
    /// application list). `check` only checks their spelling, since the config module does
    /// not know which applications exist.
    pub fn validate_applications(&self, known: &[&str], problems: &mut Problems) {
        for (i, rule) in self.rules.iter().enumerate() {
            for (j, app) in rule.application.iter().enumerate() {
                if app != ANY && is_application_name(app) && !known.contains(&app.as_str()) {
                    problems.push(
                        rule_path(i).key("application").index(j),
                        format!("unknown application {app:?}"),
                    );
                }
            }
        }
    }

    fn check_dataplane(&self, problems: &mut Problems) {
        let dp = &self.dataplane;
        let at = KeyPath::keys("dataplane");

        match eal_lcores(&dp.eal) {
            Err((index, message)) => problems.push(at.key("eal").index(index), message),
            Ok(lcores) => {
                if dp.workers.is_empty() {
                    problems.push(at.key("workers"), "at least one worker lcore is needed");
                }
                let mut seen = BTreeSet::new();
                for (i, &lcore) in dp.workers.iter().enumerate() {
                    let path = at.key("workers").index(i);
                    if !seen.insert(lcore) {
                        problems.push(path, format!("lcore {lcore} is listed twice"));
                    } else if lcore == lcores.main {
                        problems.push(
                            path,
                            format!(
                                "lcore {lcore} is the main lcore, which runs management \
                                 (the main lcore is --main-lcore, else the lowest lcore \
                                 of the EAL -l/-c list, else 0)"
                            ),
                        );
                    } else if let Some(enabled) = &lcores.enabled {
                        if !enabled.contains(&lcore) {
                            problems.push(
                                path,
                                format!("lcore {lcore} is not in the EAL core list {enabled:?}"),
                            );
                        }
                    }
                }
            }
        }

        if dp.mbufs < MIN_MBUFS || dp.mbufs >= 1 << 31 {
            problems.push(
                at.key("mbufs"),
                format!("{} is out of range {MIN_MBUFS}..2147483647", dp.mbufs),
            );
        }
        if dp.burst == 0 || dp.burst > MAX_BURST {
            problems.push(
                at.key("burst"),
                format!("{} is out of range 1..{MAX_BURST}", dp.burst),
            );
        }

        if dp.ports.is_empty() {
            problems.push(at.key("ports"), "at least one port is needed");
        }
        let mut names = HashMap::new();
        let mut devices = HashMap::new();
        for (i, port) in dp.ports.iter().enumerate() {
            let path = at.key("ports").index(i);
            check_name(&path.key("name"), "port", &port.name, problems);
            if let Some(first) = names.insert(port.name.as_str(), i) {
                problems.push(
                    path.key("name"),
                    format!("port {:?} is already defined by ports[{first}]", port.name),
                );
            }
            if port.device.trim().is_empty() {
                problems.push(path.key("device"), "device is empty");
            } else if let Some(first) = devices.insert(port.device.as_str(), i) {
                problems.push(
                    path.key("device"),
                    format!("device {:?} is already used by ports[{first}]", port.device),
                );
            }
            check_name(&path.key("zone"), "zone", &port.zone, problems);
            if port.queues == Some(0) {
                problems.push(path.key("queues"), "a port needs at least one queue");
            }
        }

        let mut wired: HashMap<&str, usize> = HashMap::new();
        for (i, vwire) in dp.vwires.iter().enumerate() {
            let path = at.key("vwires").index(i);
            if vwire.len() != 2 {
                problems.push(
                    path,
                    format!(
                        "a virtual wire joins exactly two ports, not {}",
                        vwire.len()
                    ),
                );
                continue;
            }
            for (j, port) in vwire.iter().enumerate() {
                let path = path.index(j);
                if !names.contains_key(port.as_str()) {
                    problems.push(path, format!("unknown port {port:?}"));
                } else if j == 1 && vwire[0] == vwire[1] {
                    problems.push(path, format!("port {port:?} cannot be wired to itself"));
                } else if let Some(other) = wired.insert(port, i) {
                    problems.push(path, format!("port {port:?} is already in vwires[{other}]"));
                }
            }
        }
    }

    fn check_session(&self, problems: &mut Problems) {
        let at = KeyPath::keys("session");
        if self.session.max_sessions == 0 {
            problems.push(at.key("max_sessions"), "at least 1 session is needed");
        }
        let workers = self.dataplane.workers.len().max(1) as u64;
        let per_worker = synwall_types::ids::MAX_TABLE_CAPACITY as u64;
        if self.session.max_sessions / workers > per_worker {
            problems.push(
                at.key("max_sessions"),
                format!(
                    "at most {per_worker} sessions per worker ({workers} worker(s) here): \
                     add workers or lower it"
                ),
            );
        }
        // Destructured without `..`: a new timeout field does not compile until it has a range.
        let Timeouts {
            tcp,
            tcp_init,
            tcp_handshake,
            tcp_half_closed,
            tcp_time_wait,
            udp,
            icmp,
            default,
            discard_tcp,
            discard_udp,
            discard_default,
            fragment,
        } = self.session.timeouts;
        let long = 1..=MAX_LONG_TIMEOUT_S;
        let ranges = [
            ("tcp", tcp, long.clone()),
            ("tcp_init", tcp_init, 1..=60),
            ("tcp_handshake", tcp_handshake, 1..=60),
            ("tcp_half_closed", tcp_half_closed, 1..=604_800),
            ("tcp_time_wait", tcp_time_wait, 1..=600),
            ("udp", udp, long.clone()),
            ("icmp", icmp, long.clone()),
            ("default", default, long.clone()),
            ("discard_tcp", discard_tcp, long.clone()),
            ("discard_udp", discard_udp, long.clone()),
            ("discard_default", discard_default, long),
            ("fragment", fragment, 1..=MAX_FRAGMENT_TIMEOUT_S),
        ];
        for (name, value, range) in ranges {
            if !range.contains(&value) {
                problems.push(
                    at.key("timeouts").key(name),
                    format!(
                        "{value} seconds is out of range {}..{}",
                        range.start(),
                        range.end()
                    ),
                );
            }
        }
    }

    fn check_addresses(&self, problems: &mut Problems) {
        let at = KeyPath::keys("addresses");
        let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (name, entries) in &self.addresses {
            let path = at.key(name);
            check_object_name(&path, "address object", name, problems);
            if entries.is_empty() {
                problems.push(path.clone(), "address object is empty");
            }
            let members = groups.entry(name).or_default();
            let mut literals: Vec<(usize, IpAddr, IpAddr)> = Vec::new();
            for (i, entry) in entries.iter().enumerate() {
                match AddrLiteral::parse(entry) {
                    Err(message) => problems.push(path.index(i), message),
                    Ok(Some(lit)) => {
                        // Overlapping entries in one object are almost always a typo (a /16
                        // where a /24 was meant): say so rather than silently widen it.
                        let r = lit.range();
                        let (first, last) = (r.first(), r.last());
                        if let Some((j, _, _)) = literals.iter().find(|(_, f, l)| {
                            f.is_ipv4() == first.is_ipv4() && *f <= last && first <= *l
                        }) {
                            problems.push(
                                path.index(i),
                                format!("{entry} overlaps entry {j} of this address object"),
                            );
                        }
                        literals.push((i, first, last));
                    }
                    Ok(None) if entry == ANY => problems.push(
                        path.index(i),
                        "\"any\" cannot be part of an address object; use any in the rule",
                    ),
                    Ok(None) if self.addresses.contains_key(entry) => members.push(entry),
                    Ok(None) => {
                        problems.push(path.index(i), format!("unknown address object {entry:?}"))
                    }
                }
            }
        }
        let member_path = |name: &str, member: &str| {
            let index = self.addresses[name].iter().position(|e| e == member);
            index.map_or_else(|| at.key(name), |i| at.key(name).index(i))
        };
        report_cycles("address", &groups, member_path, problems);
    }

    fn check_services(&self, problems: &mut Problems) {
        let at = KeyPath::keys("services");
        let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (name, service) in &self.services {
            let path = at.key(name);
            check_object_name(&path, "service", name, problems);
            if name == APPLICATION_DEFAULT {
                problems.push(path.clone(), "\"application-default\" is reserved");
            }
            let members = groups.entry(name).or_default();
            if !service.members.is_empty() {
                if service.protocol.is_some() || !service.ports.is_empty() {
                    problems.push(
                        path.clone(),
                        "a service has either members, or protocol and ports, not both",
                    );
                }
                for (i, member) in service.members.iter().enumerate() {
                    if self.services.contains_key(member) {
                        members.push(member);
                    } else {
                        problems.push(
                            path.key("members").index(i),
                            format!("unknown service {member:?}"),
                        );
                    }
                }
                continue;
            }
            if service.protocol.is_none() {
                problems.push(
                    path.clone(),
                    "a service needs protocol (tcp or udp) and ports, or members",
                );
            } else if service.ports.is_empty() {
                problems.push(path.key("ports"), "a service needs at least one port");
            }
            let mut seen: Vec<(usize, PortRange)> = Vec::new();
            for (i, ports) in service.ports.iter().enumerate() {
                match ports.parse::<PortRange>() {
                    Err(message) => problems.push(path.key("ports").index(i), message),
                    Ok(r) => {
                        if let Some((j, _)) =
                            seen.iter().find(|(_, o)| o.lo <= r.hi && r.lo <= o.hi)
                        {
                            problems.push(
                                path.key("ports").index(i),
                                format!("ports {ports} overlap ports[{j}] of this service"),
                            );
                        }
                        seen.push((i, r));
                    }
                }
            }
        }
        let member_path = |name: &str, member: &str| {
            let index = self.services[name].members.iter().position(|m| m == member);
            index.map_or_else(|| at.key(name), |i| at.key(name).key("members").index(i))
        };
        report_cycles("service", &groups, member_path, problems);
    }

    fn check_rules(&self, problems: &mut Problems) {
        let zones = self.zones();
        let mut names: HashMap<&str, usize> = HashMap::new();
        for (i, rule) in self.rules.iter().enumerate() {
            let path = rule_path(i);
            check_name(&path.key("name"), "rule", &rule.name, problems);
            if let Some(first) = names.insert(rule.name.as_str(), i) {
                problems.push(
                    path.key("name"),
                    format!(
                        "rule name {:?} is already used by rules[{first}]",
                        rule.name
                    ),
                );
            }
            self.check_rule_lists(&path, rule, &zones, problems);
        }
    }

    fn check_rule_lists(&self, at: &KeyPath, rule: &Rule, zones: &[&str], problems: &mut Problems) {
        let zone_list = zones.join(", ");
        let zone_known = |z: &str| {
            zones.contains(&z).then_some(()).ok_or_else(|| {
                format!("unknown zone {z:?} (zones come from dataplane.ports: {zone_list})")
            })
        };
        check_list(&at.key("from"), &rule.from, &[ANY], problems, zone_known);
        check_list(&at.key("to"), &rule.to, &[ANY], problems, zone_known);
        let address = |a: &str| match AddrLiteral::parse(a) {
            Err(message) => Err(message),
            Ok(Some(_)) => Ok(()),
            Ok(None) if self.addresses.contains_key(a) => Ok(()),
            Ok(None) => Err(format!("unknown address object {a:?}")),
        };
        check_list(&at.key("source"), &rule.source, &[ANY], problems, address);
        check_list(
            &at.key("destination"),
            &rule.destination,
            &[ANY],
            problems,
            address,
        );
        check_list(
            &at.key("application"),
            &rule.application,
            &[ANY],
            problems,
            |app| {
                is_application_name(app).then_some(()).ok_or_else(|| {
                    format!(
                        "{app:?} is not an application name (lowercase letters, digits and '-')"
                    )
                })
            },
        );
        check_list(
            &at.key("service"),
            &rule.service,
            &[ANY, APPLICATION_DEFAULT],
            problems,
            |s| {
                self.services
                    .contains_key(s)
                    .then_some(())
                    .ok_or_else(|| format!("unknown service {s:?}"))
            },
        );
    }

    fn check_logging_and_control(&self, problems: &mut Problems) {
        let at = KeyPath::keys("logging");
        let logging = self.logging.as_ref();
        if let Some(traffic) = logging.and_then(|l| l.traffic.as_ref()) {
            if traffic.path.as_os_str().is_empty() {
                problems.push(at.key("traffic").key("path"), "path is empty");
            }
        }
        if let Some(syslog) = logging.and_then(|l| l.syslog.as_ref()) {
            if let Err(message) = check_host_port(&syslog.target) {
                problems.push(at.key("syslog").key("target"), message);
            }
        }
        let control = KeyPath::keys("control");
        for (key, path) in [
            ("socket", &self.control.socket),
            ("stats", &self.control.stats),
        ] {
            if path.as_os_str().is_empty() {
                problems.push(control.key(key), "path is empty");
            }
        }
    }
}

fn rule_path(i: usize) -> KeyPath {
    KeyPath::root().key("rules").index(i)
}

/// A rule's list: not empty, a reserved word (`any`, `application-default`) alone, every
/// other entry accepted by `check`.
fn check_list(
    at: &KeyPath,
    entries: &[String],
    reserved: &[&str],
    problems: &mut Problems,
    check: impl Fn(&str) -> Result<(), String>,
) {
    if entries.is_empty() {
        problems.push(at.clone(), "is empty; write [any] to match everything");
    }
    let mut seen = BTreeSet::new();
    for (i, entry) in entries.iter().enumerate() {
        let path = at.index(i);
        if !seen.insert(entry.as_str()) {
            problems.push(path, format!("{entry:?} is listed twice"));
        } else if reserved.contains(&entry.as_str()) {
            if entries.len() > 1 {
                problems.push(
                    path,
                    format!("{entry:?} cannot be combined with other entries"),
                );
            }
        } else if let Err(message) = check(entry) {
            problems.push(path, message);
        }
    }
}

/// Zone, port and rule names: not empty, no padding, no control characters, not `any`,
/// at most 63 characters.
pub(super) fn check_name(at: &KeyPath, what: &str, name: &str, problems: &mut Problems) {
    let message = if name.trim().is_empty() {
        format!("{what} name is empty")
    } else if name.trim() != name {
        format!("{what} name {name:?} has leading or trailing spaces")
    } else if name.chars().any(char::is_control) {
        format!("{what} name {name:?} has control characters")
    } else if name == ANY {
        format!("\"any\" is reserved and cannot name a {what}")
    } else if name.chars().count() > MAX_NAME_LEN {
        format!("{what} name is longer than {MAX_NAME_LEN} characters")
    } else {
        return;
    };
    problems.push(at.clone(), message);
}

/// Address and service names must also not read as an address literal, or a rule naming
/// them would be ambiguous.
fn check_object_name(at: &KeyPath, what: &str, name: &str, problems: &mut Problems) {
    check_name(at, what, name, problems);
    if !matches!(AddrLiteral::parse(name), Ok(None)) {
        problems.push(
            at.clone(),
            format!("{what} name {name:?} reads as an address"),
        );
    }
}

/// App-ID names: one lowercase word of letters, digits and '-' (`web-browsing`, `ssl`).
fn is_application_name(app: &str) -> bool {
    let mut chars = app.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// `host:port`: an IPv4 address, a bracketed IPv6 address or a DNS name, and a port 1..65535.
fn check_host_port(target: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("{target:?} is not host:port ({why})"));
    if target.parse::<std::net::SocketAddr>().is_ok() {
        return Ok(());
    }
    let Some((host, port)) = target.rsplit_once(':') else {
        return bad("no port");
    };
    match port.parse::<u16>() {
        Ok(0) | Err(_) => return bad("the port must be 1..65535"),
        Ok(_) => {}
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if host.is_empty() || host.len() > 253 || !host.split('.').all(label_ok) {
        return bad("the host is not an address or a DNS name");
    }
    Ok(())
}

/// Reports each cycle among object groups once, at the member entry that closes it.
/// `groups`: object -> members that are themselves objects of the same kind;
/// `member_path`: where (object, member) is written.
fn report_cycles<'a>(
    kind: &str,
    groups: &BTreeMap<&'a str, Vec<&'a str>>,
    member_path: impl Fn(&str, &str) -> KeyPath,
    problems: &mut Problems,
) {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnStack,
        Done,
    }
    let mut marks: BTreeMap<&str, Mark> = groups.keys().map(|&k| (k, Mark::New)).collect();
    for &start in groups.keys() {
        if marks[start] != Mark::New {
            continue;
        }
        // Iterative depth-first walk: (object, next member to look at).
        let mut stack: Vec<(&str, usize)> = vec![(start, 0)];
        marks.insert(start, Mark::OnStack);
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            let members = &groups[node];
            if *next == members.len() {
                marks.insert(node, Mark::Done);
                stack.pop();
                continue;
            }
            let member = members[*next];
            *next += 1;
            match marks.get(member).copied() {
                Some(Mark::New) => {
                    marks.insert(member, Mark::OnStack);
                    stack.push((member, 0));
                }
                Some(Mark::OnStack) => {
                    let from = stack.iter().position(|&(n, _)| n == member).unwrap_or(0);
                    let mut cycle: Vec<&str> = stack[from..].iter().map(|&(n, _)| n).collect();
                    cycle.push(member);
                    problems.push(
                        member_path(node, member),
                        format!("{kind} group cycle: {}", cycle.join(" -> ")),
                    );
                }
                Some(Mark::Done) | None => {}
            }
        }
    }
}
