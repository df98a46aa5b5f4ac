//! The loader's answer to every document of [`crate::testgen`]: it never panics; an accepted
//! config round-trips; every error of a refused one carries a key path under a known section,
//! or a line (syntax errors and unknown top-level keys are about the document, not a value).
//! That accepted configs compile is the engine's test (`policy/generated_tests.rs`).

use super::*;
use crate::testgen;

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
    let (mut accepted, mut refused) = (0, 0);
    for (case, (wrong, text)) in testgen::documents().into_iter().enumerate() {
        if check_answer(case, &text) {
            accepted += 1;
        } else {
            // The generator's valid documents are valid, in any rendering.
            assert!(
                wrong > 0,
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
    for (case, text) in testgen::odd_documents().iter().enumerate() {
        check_answer(case, text);
    }
}
