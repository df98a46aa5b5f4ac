//! Errors from serde_yaml (unknown keys, types, syntax) and several errors at once.

use super::*;

#[test]
fn unknown_keys_are_errors_with_their_line() {
    let text = mutate("    tcp: 3600\n", "    tcp: 3600\n    tcp_wait: 5\n");
    only_error(
        &text,
        "session.timeouts",
        "tcp_wait",
        "unknown field `tcp_wait`",
    );
    let text = mutate(
        "    action: deny\n",
        "    action: deny\n    log_ends: true\n",
    );
    only_error(&text, "rules[1]", "log_ends", "unknown field `log_ends`");
    let text = mutate(
        "      zone: untrust\n",
        "      zone: untrust\n      mtu: 9000\n",
    );
    only_error(&text, "dataplane.ports[1]", "mtu", "unknown field `mtu`");
    only_error(
        &format!("{BASE}extra: 1\n"),
        "",
        "extra",
        "unknown field `extra`",
    );
}

#[test]
fn type_errors_keep_path_and_line() {
    only_error(
        &mutate("workers: [1, 2]", "workers: [1, two]"),
        "dataplane.workers[1]",
        "workers",
        "invalid type",
    );
    only_error(
        &mutate("mbufs: 16383", "mbufs: -5"),
        "dataplane.mbufs",
        "mbufs",
        "invalid type: integer `-5`",
    );
    let text = mutate("session:\n", "session:\n  asymmetric_path: allow\n");
    only_error(
        &text,
        "session.asymmetric_path",
        "asymmetric_path",
        "unknown variant `allow`",
    );
    let text = BASE
        .replace("dataplane:\n", "dataplane:\n  burst: 32\n")
        .replace("  mbufs: 16383\n", "  mbufs: 16383\n  burst: 64\n");
    only_error(&text, "dataplane", "burst: 64", "duplicate field `burst`");
}

#[test]
fn syntax_errors_have_a_line() {
    let text = mutate("    to: [untrust]", "    to: [untrust");
    let errors = errors(&text);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].path, "");
    let line = errors[0].line.expect("a syntax error has a line");
    assert!(line >= line_with(&text, "to: [untrust"), "{errors:?}");
    assert!(Config::from_yaml_str("").is_err());
}

/// Regression (config property test, config fuzz target): two documents in one file were
/// refused with an error that had neither a path nor a line; it now names the line where the
/// second document's content starts.
#[test]
fn a_second_document_is_refused_at_its_line() {
    let text = format!("# synwall\n---\n{BASE}---\n{BASE}");
    let errors = errors(&text);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].message.contains("more than one document"),
        "{errors:?}"
    );
    assert_eq!(errors[0].line, Some(BASE.lines().count() + 4), "{errors:?}");
    // No `---` at all (found by the config fuzz target): a first mapping indented by one
    // space ends where a key at column 0 starts a second document.
    let text = format!(" {BASE}");
    let again = super::errors(&text);
    assert_eq!(again.len(), 1, "{again:?}");
    assert!(
        again[0].message.contains("more than one document"),
        "{again:?}"
    );
    assert_eq!(
        again[0].line,
        Some(line_with(&text, "session:")),
        "{again:?}"
    );
}

#[test]
fn all_semantic_errors_are_reported_in_line_order() {
    let text = BASE
        .replace("workers: [1, 2]", "workers: [0, 2]")
        .replace("- 10.1.0.0/24", "- 10.1.0.1/24")
        .replace("to: [untrust]", "to: [dmz]")
        .replace("service: [web-alt]", "service: [web]")
        .replace("logs.example.net:514", "nohost");
    let errors = errors(&text);
    let got: Vec<(&str, Option<usize>)> =
        errors.iter().map(|e| (e.path.as_str(), e.line)).collect();
    assert_eq!(
        got,
        vec![
            ("dataplane.workers[0]", Some(line_with(&text, "workers"))),
            (
                "addresses.web-servers[0]",
                Some(line_with(&text, "10.1.0.1/24"))
            ),
            ("rules[0].to[0]", Some(line_with(&text, "to: [dmz]"))),
            (
                "rules[1].service[0]",
                Some(line_with(&text, "service: [web]"))
            ),
            ("logging.syslog.target", Some(line_with(&text, "nohost"))),
        ]
    );
    let printed = Config::from_yaml_str(&text).unwrap_err().to_string();
    assert_eq!(printed.lines().count(), 5);
    assert!(printed.lines().all(|l| l.starts_with("line ")), "{printed}");
}

#[test]
fn validate_without_source_has_no_lines() {
    let mut config = Config::from_yaml_str(BASE).unwrap();
    assert!(config.validate().is_ok());
    config.session.timeouts.tcp_init = 0;
    let errors = config.validate().unwrap_err().0;
    assert_eq!(errors.len(), 1);
    assert_eq!(
        (errors[0].path.as_str(), errors[0].line),
        ("session.timeouts.tcp_init", None)
    );
}

#[test]
fn overlapping_entries_in_one_object_are_errors() {
    let text = BASE
        .replace(
            r#"ports: ["8080", "8443-8444"]"#,
            r#"ports: ["8080", "8000-8100"]"#,
        )
        .replace(
            "dmz: [web-servers, 192.0.2.1-192.0.2.9]",
            "dmz: [192.0.2.0/24, 192.0.2.1-192.0.2.9]",
        );
    let errors = errors(&text);
    let got: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    assert!(got.contains(&"addresses.dmz[1]"), "{errors:?}");
    assert!(got.iter().any(|p| p.ends_with(".ports[1]")), "{errors:?}");
    assert!(errors.iter().all(|e| e.line.is_some()));
}
