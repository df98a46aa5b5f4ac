//! Validation of rules, logging and control: path and line of every error.

use super::*;

#[test]
fn rule_names() {
    only_error(
        &mutate("name: deny-rest", "name: allow-web # dup"),
        "rules[1].name",
        "# dup",
        "already used by rules[0]",
    );
    only_error(
        &mutate("name: deny-rest", "name: \"\""),
        "rules[1].name",
        "name: \"\"",
        "rule name is empty",
    );
    only_error(
        &mutate("name: deny-rest", "name: any"),
        "rules[1].name",
        "name: any",
        "reserved",
    );
}

#[test]
fn rule_zones() {
    only_error(
        &mutate("to: [untrust]", "to: [dmz]"),
        "rules[0].to[0]",
        "to: [dmz]",
        "unknown zone \"dmz\" (zones come from dataplane.ports: trust, untrust)",
    );
    only_error(
        &mutate("from: [trust]", "from: []"),
        "rules[0].from",
        "from: []",
        "is empty",
    );
    only_error(
        &mutate("from: [any]", "from: [trust, any]"),
        "rules[1].from[1]",
        "from: [trust, any]",
        "cannot be combined",
    );
    only_error(
        &mutate("from: [trust]", "from: [trust, trust]"),
        "rules[0].from[1]",
        "from: [trust, trust]",
        "listed twice",
    );
}

#[test]
fn rule_addresses() {
    let text = mutate(
        "destination: [web-servers, 198.51.100.7]",
        "destination: [web, 198.51.100.7]",
    );
    only_error(
        &text,
        "rules[0].destination[0]",
        "destination: [web,",
        "unknown address object \"web\"",
    );
    let line = line_with(&text, "destination: [web,");
    assert_eq!(
        errors(&text)[0].to_string(),
        format!("line {line}: rules[0].destination[0]: unknown address object \"web\"")
    );
    let text = mutate("198.51.100.7]", "198.51.100.7/24]");
    only_error(
        &text,
        "rules[0].destination[1]",
        "198.51.100.7/24",
        "did you mean 198.51.100.0/24",
    );
    let text = mutate(
        "source: [any]",
        "source:\n      - 10.0.0.0/8\n      - 10.0.0.1-10.0.0.0",
    );
    only_error(&text, "rules[0].source[1]", "10.0.0.1-10.0.0.0", "empty");
    let text = mutate("source: [any]", "source: []");
    only_error(&text, "rules[0].source", "source: []", "is empty");
}

#[test]
fn rule_applications() {
    let text = mutate(
        "application: [web-browsing, ssl]",
        "application: [Web_Browsing, ssl]",
    );
    only_error(
        &text,
        "rules[0].application[0]",
        "Web_Browsing",
        "not an application name",
    );
    let config = Config::from_yaml_str(BASE).unwrap();
    assert!(config
        .check_applications(BASE, &["web-browsing", "ssl"])
        .is_ok());
    let errors = config
        .check_applications(BASE, &["web-browsing"])
        .unwrap_err()
        .0;
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].path, "rules[0].application[1]");
    assert_eq!(
        errors[0].line,
        Some(line_with(BASE, "application: [web-browsing, ssl]"))
    );
    assert_eq!(errors[0].message, "unknown application \"ssl\"");
}

#[test]
fn rule_services() {
    only_error(
        &mutate("service: [web-alt]", "service: [web]"),
        "rules[1].service[0]",
        "service: [web]",
        "unknown service \"web\"",
    );
    only_error(
        &mutate(
            "service: [application-default]",
            "service: [tcp-8080, application-default]",
        ),
        "rules[0].service[1]",
        "service: [tcp-8080, application-default]",
        "cannot be combined",
    );
}

#[test]
fn rule_action_is_a_pan_os_action() {
    only_error(
        &mutate("action: deny", "action: block"),
        "rules[1].action",
        "action: block",
        "unknown action \"block\", expected one of allow, deny",
    );
}

// --- logging and control -----------------------------------------------------------------

#[test]
fn logging_targets() {
    let at = "logging.syslog.target";
    only_error(
        &mutate("logs.example.net:514", "logs.example.net"),
        at,
        "logs.example.net",
        "no port",
    );
    only_error(
        &mutate("logs.example.net:514", "logs.example.net:0"),
        at,
        "logs.example.net",
        "1..65535",
    );
    only_error(
        &mutate("logs.example.net:514", "bad_host!:514"),
        at,
        "bad_host",
        "not an address or a DNS name",
    );
    assert!(Config::from_yaml_str(&mutate("logs.example.net:514", "[2001:db8::1]:514")).is_ok());
    let text = mutate("logging:\n", "logging:\n  traffic: { path: \"\" }\n");
    only_error(&text, "logging.traffic.path", "traffic:", "path is empty");
}

#[test]
fn control_addresses() {
    let text = format!("{BASE}control:\n  metrics_listen: localhost:9650\n");
    only_error(
        &text,
        "control.metrics_listen",
        "metrics_listen",
        "invalid socket address",
    );
    let without_logging = BASE.split("logging:").next().unwrap();
    let text = format!("{without_logging}control:\n  socket: \"\"\n");
    only_error(&text, "control.socket", "socket:", "path is empty");
}
