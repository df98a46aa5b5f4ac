//! Mutated configs: the loader answers, it never panics.

use super::*;
use synwall_testkit::Rng;

/// Truncations, byte flips, and YAML punctuation dropped in at random: the loader must
/// answer Ok or Err, never panic, and every error it prints must carry a line or be about
/// the whole document.
#[test]
fn mutated_configs_never_panic() {
    const PUNCTUATION: &[u8] = b":-[]{},\"'#&*!|>%@` \n\t0a";
    let mut rng = Rng::xorshift(0x5eed_c0f1_9a11_u64);
    let (mut accepted, mut refused) = (0, 0);
    for case in 0..3000 {
        let source = if case % 2 == 0 {
            INTERFACE_EXAMPLE
        } else {
            BASE
        };
        let mut bytes = source.as_bytes().to_vec();
        match case % 3 {
            0 => bytes.truncate(rng.index(bytes.len() + 1)),
            1 => {
                for _ in 0..1 + rng.index(4) {
                    let at = rng.index(bytes.len());
                    bytes[at] ^= 1 << rng.index(8);
                }
            }
            _ => {
                for _ in 0..1 + rng.index(3) {
                    let at = rng.index(bytes.len());
                    bytes.insert(at, PUNCTUATION[rng.index(PUNCTUATION.len())]);
                }
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        match Config::from_yaml_str(&text) {
            Ok(config) => {
                accepted += 1;
                let again = Config::from_yaml_str(&config.to_yaml());
                assert_eq!(
                    again.as_ref().ok(),
                    Some(&config),
                    "case {case}: round trip"
                );
            }
            Err(errors) => {
                refused += 1;
                assert!(!errors.0.is_empty(), "case {case}");
                let printed = errors.to_string();
                assert_eq!(
                    printed.lines().count(),
                    errors.0.len(),
                    "case {case}: {printed}"
                );
            }
        }
    }
    // Both outcomes occur, so the test exercises both paths.
    assert!(
        accepted > 100 && refused > 100,
        "accepted {accepted}, refused {refused}"
    );
}
