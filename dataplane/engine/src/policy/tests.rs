//! Policy tests: PAN-OS semantics on small rule sets, and the bitset lookup against a naive
//! linear reference over random rule sets.

use super::*;
use crate::config::{Config, Rule, Service, ServiceProtocol};
use crate::flow::{PROTO_TCP, PROTO_UDP};
use std::net::IpAddr;

const BASE: &str = r#"dataplane:
  workers: [1]
  ports:
    - { name: ethernet1/1, device: net_tap0, zone: trust }
    - { name: ethernet1/2, device: net_tap1, zone: untrust }
    - { name: ethernet1/3, device: net_tap2, zone: dmz }
addresses:
  web-servers: [10.1.0.0/24, "2001:db8::/64"]
  dmz-hosts: [web-servers, 192.0.2.1-192.0.2.9]
services:
  tcp-8080: { protocol: tcp, ports: ["8080", "8443-8444"] }
  udp-hi: { protocol: udp, ports: ["10000-20000"] }
  web-alt: { members: [tcp-8080] }
"#;

fn base() -> Config {
    Config::from_yaml_str(BASE).expect("base config")
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

struct R<'a> {
    from: &'a [&'a str],
    to: &'a [&'a str],
    src: &'a [&'a str],
    dst: &'a [&'a str],
    app: &'a [&'a str],
    svc: &'a [&'a str],
}

const ANY_R: R<'static> = R {
    from: &["any"],
    to: &["any"],
    src: &["any"],
    dst: &["any"],
    app: &["any"],
    svc: &["any"],
};

fn rule(name: &str, r: R, action: Action) -> Rule {
    Rule {
        name: name.to_owned(),
        description: None,
        from: strings(r.from),
        to: strings(r.to),
        source: strings(r.src),
        destination: strings(r.dst),
        application: strings(r.app),
        service: strings(r.svc),
        action,
        log_start: false,
        log_end: true,
        connection_tracking: true,
        disabled: false,
    }
}

fn policy(rules: Vec<Rule>) -> Policy {
    let mut c = base();
    c.rules = rules;
    Policy::compile(&c).expect("compiles")
}

fn addr(s: &str) -> ([u8; 16], u8) {
    match s.parse::<IpAddr>().unwrap() {
        IpAddr::V4(a) => (crate::flow::v4_mapped(a.octets()), 4),
        IpAddr::V6(a) => (a.octets(), 6),
    }
}

fn q<'a>(
    p: &Policy,
    from: &str,
    to: &str,
    src: &str,
    dst: &str,
    proto: u8,
    dport: u16,
) -> Query<'a> {
    let (s, family) = addr(src);
    let (d, family_d) = addr(dst);
    assert_eq!(family, family_d);
    Query {
        from_zone: p.zone_id(from).unwrap(),
        to_zone: p.zone_id(to).unwrap(),
        src: s,
        dst: d,
        family,
        proto,
        dport,
        app: None,
    }
}

fn with_app<'a>(mut query: Query<'a>, app: &'a str) -> Query<'a> {
    query.app = Some(app);
    query
}

fn name(p: &Policy, d: &Decision) -> String {
    match d.default_rule {
        Some(r) => r.label().to_owned(),
        None => p.rule_name(d.rule).unwrap().to_owned(),
    }
}

#[test]
fn zones_get_ids_in_config_order() {
    let p = policy(vec![]);
    assert_eq!(p.zone_id("dmz"), Some(0));
    assert_eq!(p.zone_id("trust"), Some(1));
    assert_eq!(p.zone_id("untrust"), Some(2));
    assert_eq!(p.zone_id("nowhere"), None);
    assert_eq!(p.zone_name(2), Some("untrust"));
    assert!(p.is_empty());
}

#[test]
fn first_match_wins() {
    let p = policy(vec![
        rule(
            "deny-one",
            R {
                dst: &["10.1.0.5"],
                ..ANY_R
            },
            Action::Deny,
        ),
        rule(
            "allow-net",
            R {
                dst: &["10.1.0.0/24"],
                ..ANY_R
            },
            Action::Allow,
        ),
        rule("drop-all", ANY_R, Action::Drop),
    ]);
    let d = p.lookup(&q(
        &p, "trust", "untrust", "10.0.0.1", "10.1.0.5", PROTO_TCP, 80,
    ));
    assert_eq!((d.rule, d.action), (0, Action::Deny));
    assert!(d.log_end && !d.log_start && !d.app_pending && d.default_rule.is_none());
    let d = p.lookup(&q(
        &p, "trust", "untrust", "10.0.0.1", "10.1.0.6", PROTO_TCP, 80,
    ));
    assert_eq!((d.rule, d.action), (1, Action::Allow));
    let d = p.lookup(&q(
        &p, "trust", "trust", "10.0.0.1", "10.2.0.6", PROTO_UDP, 53,
    ));
    assert_eq!((d.rule, d.action), (2, Action::Drop));
    assert_eq!(p.rule_name(2), Some("drop-all"));
}

#[test]
fn zones_and_default_rules() {
    let p = policy(vec![
        rule(
            "t-u",
            R {
                from: &["trust"],
                to: &["untrust"],
                ..ANY_R
            },
            Action::Allow,
        ),
        rule(
            "any-dmz",
            R {
                to: &["dmz"],
                ..ANY_R
            },
            Action::ResetBoth,
        ),
    ]);
    let l = |from, to| p.lookup(&q(&p, from, to, "10.0.0.1", "10.0.0.2", PROTO_TCP, 22));
    assert_eq!(l("trust", "untrust").rule, 0);
    assert_eq!(l("untrust", "dmz").action, Action::ResetBoth);
    assert_eq!(l("dmz", "dmz").rule, 1, "a rule beats intrazone-default");
    let d = l("untrust", "trust");
    assert_eq!(d.rule, NONE_ID);
    assert_eq!(d.action, Action::Deny);
    assert_eq!(d.default_rule, Some(DefaultRule::Interzone));
    assert!(!d.log_end && !d.log_start);
    let d = l("trust", "trust");
    assert_eq!(
        (d.action, d.default_rule),
        (Action::Allow, Some(DefaultRule::Intrazone))
    );
    assert_eq!(name(&p, &d), "intrazone-default");
    // An unknown zone id matches no rule.
    let mut query = q(
        &p, "trust", "untrust", "10.0.0.1", "10.0.0.2", PROTO_TCP, 22,
    );
    query.from_zone = 200;
    assert_eq!(p.lookup(&query).default_rule, Some(DefaultRule::Interzone));
}

#[test]
fn addresses_v4_v6_prefixes_ranges_groups() {
    let p = policy(vec![
        rule(
            "group",
            R {
                dst: &["dmz-hosts"],
                ..ANY_R
            },
            Action::Allow,
        ),
        rule(
            "v6-src",
            R {
                src: &["2001:db8:1::/48"],
                ..ANY_R
            },
            Action::Drop,
        ),
        rule(
            "v4-range",
            R {
                src: &["172.16.0.10-172.16.0.20"],
                ..ANY_R
            },
            Action::Deny,
        ),
        rule(
            "v6-range",
            R {
                dst: &["2001:db8:9::1-2001:db8:9::ff"],
                ..ANY_R
            },
            Action::ResetClient,
        ),
        rule(
            "host",
            R {
                src: &["198.51.100.7"],
                dst: &["198.51.100.8/32"],
                ..ANY_R
            },
            Action::ResetServer,
        ),
    ]);
    let l = |src, dst| {
        name(
            &p,
            &p.lookup(&q(&p, "trust", "untrust", src, dst, PROTO_TCP, 443)),
        )
    };
    assert_eq!(l("1.1.1.1", "10.1.0.255"), "group");
    assert_eq!(l("1.1.1.1", "10.1.1.0"), "interzone-default");
    assert_eq!(l("1.1.1.1", "192.0.2.1"), "group");
    assert_eq!(l("1.1.1.1", "192.0.2.9"), "group");
    assert_eq!(l("1.1.1.1", "192.0.2.10"), "interzone-default");
    assert_eq!(l("2001:db8:5::1", "2001:db8::abcd"), "group");
    assert_eq!(l("2001:db8:5::1", "2001:db8:0:1::1"), "interzone-default");
    assert_eq!(l("2001:db8:1:ffff::1", "2001:db8:5::1"), "v6-src");
    assert_eq!(l("2001:db8:2::", "2001:db8:5::1"), "interzone-default");
    assert_eq!(l("172.16.0.10", "8.8.8.8"), "v4-range");
    assert_eq!(l("172.16.0.20", "8.8.8.8"), "v4-range");
    assert_eq!(l("172.16.0.21", "8.8.8.8"), "interzone-default");
    assert_eq!(l("172.16.0.9", "8.8.8.8"), "interzone-default");
    assert_eq!(l("::1", "2001:db8:9::80"), "v6-range");
    assert_eq!(l("::1", "2001:db8:9::100"), "interzone-default");
    assert_eq!(l("198.51.100.7", "198.51.100.8"), "host");
    assert_eq!(l("198.51.100.7", "198.51.100.9"), "interzone-default");
    // Families never mix: ::ffff:10.1.0.1 as IPv6 is not 10.1.0.1.
    assert_eq!(l("::2", "::ffff:10.1.0.1"), "interzone-default");
}

#[test]
fn services_ports_and_ranges() {
    let p = policy(vec![
        rule(
            "alt",
            R {
                svc: &["web-alt"],
                ..ANY_R
            },
            Action::Allow,
        ),
        rule(
            "udp",
            R {
                svc: &["udp-hi"],
                ..ANY_R
            },
            Action::Drop,
        ),
    ]);
    let l = |proto, port| {
        name(
            &p,
            &p.lookup(&q(
                &p, "trust", "untrust", "10.0.0.1", "10.0.0.2", proto, port,
            )),
        )
    };
    assert_eq!(l(PROTO_TCP, 8080), "alt");
    assert_eq!(l(PROTO_TCP, 8081), "interzone-default");
    assert_eq!(l(PROTO_TCP, 8443), "alt");
    assert_eq!(l(PROTO_TCP, 8444), "alt");
    assert_eq!(l(PROTO_TCP, 8445), "interzone-default");
    assert_eq!(l(PROTO_UDP, 8080), "interzone-default");
    assert_eq!(l(PROTO_UDP, 10000), "udp");
    assert_eq!(l(PROTO_UDP, 20000), "udp");
    assert_eq!(l(PROTO_UDP, 20001), "interzone-default");
    assert_eq!(l(PROTO_TCP, 15000), "interzone-default");
    assert_eq!(l(1, 0), "interzone-default");
}

fn web_ports(app: &str, proto: u8, dport: u16) -> bool {
    match app {
        "web-browsing" => proto == PROTO_TCP && dport == 80,
        "ssl" => proto == PROTO_TCP && dport == 443,
        _ => false,
    }
}

#[test]
fn application_default_uses_the_hook() {
    let rules = vec![
        rule(
            "web",
            R {
                app: &["web-browsing", "ssl"],
                svc: &["application-default"],
                ..ANY_R
            },
            Action::Allow,
        ),
        rule("rest", ANY_R, Action::Deny),
    ];
    let p = policy(rules.clone());
    // Default hook: every port is a default port.
    let base_q = q(
        &p, "trust", "untrust", "10.0.0.1", "10.0.0.2", PROTO_TCP, 8000,
    );
    assert_eq!(p.lookup(&with_app(base_q, "ssl")).rule, 0);

    let p = policy(rules).with_app_default(web_ports);
    let at = |port, app| {
        let query = q(
            &p, "trust", "untrust", "10.0.0.1", "10.0.0.2", PROTO_TCP, port,
        );
        p.lookup(&with_app(query, app))
    };
    assert_eq!(at(80, "web-browsing").rule, 0);
    assert_eq!(at(443, "ssl").rule, 0);
    assert_eq!(at(443, "web-browsing").rule, 1, "not web-browsing's port");
    assert_eq!(at(8080, "web-browsing").action, Action::Deny);
    assert_eq!(at(80, "dns").rule, 1);
    // App unknown: application-default matches any port, the rule is a candidate.
    let d = p.lookup(&q(
        &p, "trust", "untrust", "10.0.0.1", "10.0.0.2", PROTO_TCP, 8080,
    ));
    assert!(d.app_pending);
    assert_eq!((d.rule, d.action), (0, Action::Allow));

    // application-default with an explicit service: the service's ports match whatever the app.
    let p = policy(vec![rule(
        "mixed",
        R {
            app: &["any"],
            svc: &["application-default", "tcp-8080"],
            ..ANY_R
        },
        Action::Allow,
    )])
    .with_app_default(web_ports);
    let at = |port, app| {
        let query = q(
            &p, "trust", "untrust", "10.0.0.1", "10.0.0.2", PROTO_TCP, port,
        );
        p.lookup(&with_app(query, app))
    };
    assert_eq!(at(8080, "dns").rule, 0);
    assert_eq!(at(80, "web-browsing").rule, 0);
    assert_eq!(at(81, "web-browsing").rule, NONE_ID);
    let d = p.lookup(&q(
        &p, "trust", "untrust", "10.0.0.1", "10.0.0.2", PROTO_TCP, 8080,
    ));
    assert!(!d.app_pending, "tcp-8080 matches whatever the app");
    let d = p.lookup(&q(
        &p, "trust", "untrust", "10.0.0.1", "10.0.0.2", PROTO_TCP, 81,
    ));
    assert!(d.app_pending && d.rule == 0);
}

#[test]
fn app_pending_semantics() {
    let p = policy(vec![
        rule(
            "deny-ssh",
            R {
                app: &["ssh"],
                ..ANY_R
            },
            Action::Deny,
        ),
        rule("allow-any", ANY_R, Action::Allow),
    ]);
    assert_eq!(p.rule_apps(0), Some(&["ssh".to_owned()][..]));
    assert_eq!(p.rule_apps(1), None);
    let unknown = q(
        &p, "trust", "untrust", "10.0.0.1", "10.0.0.2", PROTO_TCP, 22,
    );
    let d = p.lookup(&unknown);
    assert!(d.app_pending);
    assert_eq!((d.rule, d.action), (0, Action::Allow));
    let d = p.lookup(&with_app(unknown, "ssh"));
    assert!(!d.app_pending);
    assert_eq!((d.rule, d.action), (0, Action::Deny));
    let d = p.lookup(&with_app(unknown, "web-browsing"));
    assert!(!d.app_pending);
    assert_eq!((d.rule, d.action), (1, Action::Allow));

    // Only deny rules could match: the first candidate's action.
    let p = policy(vec![
        rule(
            "drop-ssh",
            R {
                app: &["ssh"],
                ..ANY_R
            },
            Action::Drop,
        ),
        rule("deny-rest", ANY_R, Action::Deny),
    ]);
    let d = p.lookup(&q(
        &p, "trust", "untrust", "10.0.0.1", "10.0.0.2", PROTO_TCP, 22,
    ));
    assert!(d.app_pending);
    assert_eq!((d.rule, d.action), (0, Action::Drop));

    // An allow candidate below a deny candidate; nothing app-independent: the default ends it.
    let p = policy(vec![
        rule(
            "deny-ssh",
            R {
                app: &["ssh"],
                ..ANY_R
            },
            Action::Deny,
        ),
        rule(
            "allow-web",
            R {
                app: &["web-browsing"],
                ..ANY_R
            },
            Action::Allow,
        ),
    ]);
    let query = q(
        &p, "trust", "untrust", "10.0.0.1", "10.0.0.2", PROTO_TCP, 80,
    );
    let d = p.lookup(&query);
    assert!(d.app_pending);
    assert_eq!((d.rule, d.action), (0, Action::Allow));
    assert_eq!(p.lookup(&with_app(query, "web-browsing")).rule, 1);
    let d = p.lookup(&with_app(query, "dns"));
    assert_eq!(d.default_rule, Some(DefaultRule::Interzone));
    // Intrazone: the default allows, so even deny candidates alone give allow-while-pending.
    let p = policy(vec![rule(
        "deny-ssh",
        R {
            app: &["ssh"],
            ..ANY_R
        },
        Action::Deny,
    )]);
    let d = p.lookup(&q(
        &p, "trust", "trust", "10.0.0.1", "10.0.0.2", PROTO_TCP, 22,
    ));
    assert!(d.app_pending);
    assert_eq!((d.rule, d.action), (0, Action::Allow));
    let d = p.lookup(&q(
        &p, "trust", "untrust", "10.0.0.1", "10.0.0.2", PROTO_TCP, 22,
    ));
    assert_eq!((d.rule, d.action), (0, Action::Deny));
}

#[test]
fn disabled_rules_match_nothing() {
    let mut off = rule("off", ANY_R, Action::Deny);
    off.disabled = true;
    let p = policy(vec![
        off,
        rule(
            "on",
            R {
                svc: &["tcp-8080"],
                ..ANY_R
            },
            Action::Drop,
        ),
    ]);
    assert_eq!(p.len(), 1);
    assert_eq!(p.rule_name(0), Some("off"));
    assert_eq!(p.rule_apps(0), None);
    let d = p.lookup(&q(
        &p, "trust", "trust", "10.0.0.1", "10.0.0.2", PROTO_TCP, 22,
    ));
    assert_eq!(d.default_rule, Some(DefaultRule::Intrazone));
    let d = p.lookup(&q(
        &p, "trust", "trust", "10.0.0.1", "10.0.0.2", PROTO_TCP, 8080,
    ));
    assert_eq!(
        (d.rule, d.action),
        (1, Action::Drop),
        "config index, not position"
    );
}

#[test]
fn compile_errors_name_the_rule() {
    let mut c = base();
    c.rules = vec![rule(
        "bad",
        R {
            to: &["mars"],
            ..ANY_R
        },
        Action::Allow,
    )];
    let err = Policy::compile(&c).unwrap_err();
    assert!(
        err.contains("rules[0] (bad)") && err.contains("mars"),
        "{err}"
    );
    c.rules = vec![rule(
        "bad2",
        R {
            src: &["nope"],
            ..ANY_R
        },
        Action::Allow,
    )];
    assert!(Policy::compile(&c).unwrap_err().contains("nope"));
    c.rules = vec![rule(
        "bad3",
        R {
            svc: &["nope"],
            ..ANY_R
        },
        Action::Allow,
    )];
    assert!(Policy::compile(&c).unwrap_err().contains("nope"));
}

// ---- randomized comparison with a linear reference ----

use synwall_testkit::Rng;

const APPS: &[&str] = &["ssh", "web-browsing", "ssl", "dns", "ftp"];
const ZONES: &[&str] = &["dmz", "trust", "untrust"];

fn odd_ports(app: &str, proto: u8, dport: u16) -> bool {
    !(usize::from(dport) + app.len() + usize::from(proto)).is_multiple_of(3)
}

/// The reference: every rule in order, the config's own matchers, no bitsets.
fn naive(c: &Config, query: &Query, hook: AppDefaultFn) -> Decision {
    let ip = |b: &[u8; 16]| {
        if query.family == 4 {
            IpAddr::from([b[12], b[13], b[14], b[15]])
        } else {
            IpAddr::from(*b)
        }
    };
    let zone_ok =
        |list: &[String], id: u8| list.iter().any(|z| z == "any" || z == ZONES[id as usize]);
    let decide = |i: usize, r: &Rule, pending: bool| Decision {
        rule: i as u16,
        action: r.action,
        log_start: r.log_start,
        log_end: r.log_end,
        connection_tracking: r.connection_tracking,
        app_pending: pending,
        default_rule: None,
    };
    let mut first: Option<usize> = None;
    let mut some_allow = false;
    let mut definite: Option<usize> = None;
    for (i, r) in c.rules.iter().enumerate() {
        if r.disabled
            || !zone_ok(&r.from, query.from_zone)
            || !zone_ok(&r.to, query.to_zone)
            || !c.address_set(&r.source).unwrap().contains(ip(&query.src))
            || !c
                .address_set(&r.destination)
                .unwrap()
                .contains(ip(&query.dst))
        {
            continue;
        }
        let svc = c.service_set(&r.service).unwrap();
        let port_ok = svc.contains(query.proto, query.dport);
        let any_app = r.application.iter().any(|a| a == "any");
        match query.app {
            Some(app) => {
                let app_ok = any_app || r.application.iter().any(|a| a == app);
                if app_ok
                    && (port_ok || (svc.application_default && hook(app, query.proto, query.dport)))
                {
                    return decide(i, r, false);
                }
            }
            None => {
                if any_app && port_ok {
                    definite = Some(i);
                    break;
                }
                if port_ok || svc.application_default {
                    first.get_or_insert(i);
                    some_allow |= r.action == Action::Allow;
                }
            }
        }
    }
    let default = Policy::default_decision(query);
    let end_allow = match definite {
        Some(i) => c.rules[i].action == Action::Allow,
        None => default.action == Action::Allow,
    };
    match (first, definite) {
        (Some(f), _) => {
            let mut d = decide(f, &c.rules[f], true);
            if some_allow || end_allow {
                d.action = Action::Allow;
            }
            d
        }
        (None, Some(i)) => decide(i, &c.rules[i], false),
        (None, None) => default,
    }
}

fn random_v4(rng: &mut Rng) -> u32 {
    0x0a00_0000 | ((rng.below(4) as u32) << 16) | rng.below(1 << 16) as u32
}

fn random_v6(rng: &mut Rng) -> u128 {
    (0x2001_0db8u128 << 96)
        | (u128::from(rng.below(4)) << 80)
        | (u128::from(rng.below(1 << 16)) << 64)
        | u128::from(rng.below(1 << 12))
}

fn random_entry(
    rng: &mut Rng,
    pool4: &mut Vec<u32>,
    pool6: &mut Vec<u128>,
    objects: &[String],
) -> String {
    match rng.below(6) {
        0 | 1 => {
            let a = random_v4(rng);
            pool4.push(a);
            let len = 14 + rng.below(19) as u32;
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            format!("{}/{len}", std::net::Ipv4Addr::from(a & mask))
        }
        2 => {
            let a = random_v4(rng);
            let b = a.saturating_add(rng.below(5000) as u32);
            pool4.push(a);
            pool4.push(b);
            format!(
                "{}-{}",
                std::net::Ipv4Addr::from(a),
                std::net::Ipv4Addr::from(b)
            )
        }
        3 => {
            let a = random_v6(rng);
            pool6.push(a);
            let len = 40 + rng.below(89) as u32;
            let mask = u128::MAX << (128 - len);
            format!("{}/{len}", std::net::Ipv6Addr::from(a & mask))
        }
        4 => {
            let a = random_v6(rng);
            let b = a.saturating_add(u128::from(rng.below(1 << 40)));
            pool6.push(a);
            pool6.push(b);
            format!(
                "{}-{}",
                std::net::Ipv6Addr::from(a),
                std::net::Ipv6Addr::from(b)
            )
        }
        _ => objects[rng.below(objects.len() as u64) as usize].clone(),
    }
}

fn random_config(
    rng: &mut Rng,
    rules: usize,
    pool4: &mut Vec<u32>,
    pool6: &mut Vec<u128>,
) -> Config {
    let mut c = base();
    let mut objects: Vec<String> = c.addresses.keys().cloned().collect();
    for i in 0..40 {
        let members: Vec<String> = (0..1 + rng.below(3))
            .map(|_| random_entry(rng, pool4, pool6, &objects))
            .collect();
        let name = format!("obj{i}");
        c.addresses.insert(name.clone(), members);
        objects.push(name);
    }
    let mut services: Vec<String> = c.services.keys().cloned().collect();
    for i in 0..20 {
        let lo = rng.below(2000) as u16;
        let hi = lo + rng.below(50) as u16;
        let protocol = if rng.chance(50) {
            ServiceProtocol::Tcp
        } else {
            ServiceProtocol::Udp
        };
        let name = format!("svc{i}");
        c.services.insert(
            name.clone(),
            Service {
                protocol: Some(protocol),
                ports: vec![format!("{lo}-{hi}"), format!("{}", rng.below(2000))],
                members: vec![],
            },
        );
        services.push(name);
    }
    for i in 0..rules {
        let zones = |rng: &mut Rng| -> Vec<String> {
            if rng.chance(40) {
                vec!["any".into()]
            } else {
                (0..1 + rng.below(2))
                    .map(|_| ZONES[rng.below(3) as usize].to_owned())
                    .collect()
            }
        };
        let addrs = |rng: &mut Rng, pool4: &mut Vec<u32>, pool6: &mut Vec<u128>| -> Vec<String> {
            if rng.chance(35) {
                vec!["any".into()]
            } else {
                (0..1 + rng.below(3))
                    .map(|_| random_entry(rng, pool4, pool6, &objects))
                    .collect()
            }
        };
        let from = zones(rng);
        let to = zones(rng);
        let source = addrs(rng, pool4, pool6);
        let destination = addrs(rng, pool4, pool6);
        let service = match rng.below(10) {
            0..=2 => vec!["any".to_owned()],
            3 | 4 => vec!["application-default".to_owned()],
            5 => vec![
                "application-default".to_owned(),
                services[rng.below(services.len() as u64) as usize].clone(),
            ],
            _ => (0..1 + rng.below(2))
                .map(|_| services[rng.below(services.len() as u64) as usize].clone())
                .collect(),
        };
        let application = if rng.chance(60) {
            vec!["any".to_owned()]
        } else {
            (0..1 + rng.below(2))
                .map(|_| APPS[rng.below(APPS.len() as u64) as usize].to_owned())
                .collect()
        };
        let action = Action::ALL[rng.below(Action::ALL.len() as u64) as usize];
        c.rules.push(Rule {
            name: format!("r{i}"),
            description: None,
            from,
            to,
            source,
            destination,
            application,
            service,
            action,
            log_start: rng.chance(50),
            log_end: rng.chance(50),
            connection_tracking: rng.chance(90),
            disabled: rng.chance(5),
        });
    }
    c
}

fn random_query<'a>(rng: &mut Rng, pool4: &[u32], pool6: &[u128]) -> Query<'a> {
    let v4 = |rng: &mut Rng| {
        let a = if rng.chance(60) {
            pool4[rng.below(pool4.len() as u64) as usize]
                .wrapping_add(rng.below(3) as u32)
                .wrapping_sub(1)
        } else {
            random_v4(rng)
        };
        crate::flow::v4_mapped(a.to_be_bytes())
    };
    let v6 = |rng: &mut Rng| {
        let a = if rng.chance(60) {
            pool6[rng.below(pool6.len() as u64) as usize]
                .wrapping_add(u128::from(rng.below(3)))
                .wrapping_sub(1)
        } else {
            random_v6(rng)
        };
        a.to_be_bytes()
    };
    let family = if rng.chance(60) { 4 } else { 6 };
    let (src, dst) = if family == 4 {
        (v4(rng), v4(rng))
    } else {
        (v6(rng), v6(rng))
    };
    let proto = [PROTO_TCP, PROTO_UDP, 1][rng.below(3) as usize];
    Query {
        from_zone: rng.below(3) as u8,
        to_zone: rng.below(3) as u8,
        src,
        dst,
        family,
        proto,
        dport: rng.below(2100) as u16,
        app: if rng.chance(30) {
            None
        } else {
            Some(APPS[rng.below(APPS.len() as u64) as usize])
        },
    }
}

#[test]
fn bitset_lookup_equals_linear_reference() {
    let mut rng = Rng::xorshift(0x9e37_79b9_7f4a_7c15);
    let (mut pool4, mut pool6) = (Vec::new(), Vec::new());
    let c = random_config(&mut rng, 2000, &mut pool4, &mut pool6);
    let p = Policy::compile(&c).unwrap().with_app_default(odd_ports);
    assert_eq!(p.zones().len(), 3);
    let (mut matched, mut pending) = (0, 0);
    for i in 0..20_000 {
        let query = random_query(&mut rng, &pool4, &pool6);
        let want = naive(&c, &query, odd_ports);
        let got = p.lookup(&query);
        assert_eq!(got, want, "query {i}: {query:?}");
        matched += usize::from(got.default_rule.is_none());
        pending += usize::from(got.app_pending);
    }
    // The test is only worth something if rules actually match, pending included.
    assert!(
        matched > 5_000 && pending > 500,
        "matched {matched}, pending {pending}"
    );
}

#[test]
fn ten_thousand_rules_compile_small_and_fast_enough() {
    let mut rng = Rng::xorshift(42);
    let (mut pool4, mut pool6) = (Vec::new(), Vec::new());
    let c = random_config(&mut rng, 10_000, &mut pool4, &mut pool6);
    let p = Policy::compile(&c).unwrap();
    // Documented bound: intervals × ceil(rules/64) × 8 bytes per table.
    assert!(p.memory_bytes() < 400 << 20, "{} bytes", p.memory_bytes());
    for _ in 0..200 {
        let query = random_query(&mut rng, &pool4, &pool6);
        assert_eq!(p.lookup(&query), naive(&c, &query, any_port));
    }
}
