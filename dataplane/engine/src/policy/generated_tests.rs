//! Every config the loader accepts compiles into a policy, or is refused with an error: the
//! compiler never panics. The documents are the config crate's generated ones (its `testgen`
//! feature), the same the config's own tests check the loader with.

use super::*;
use crate::config::{testgen, Config};

#[test]
fn accepted_generated_configs_compile_without_panicking() {
    let generated = testgen::documents().into_iter().map(|(_, text)| text);
    let mut accepted = 0;
    for (case, text) in generated.chain(testgen::odd_documents()).enumerate() {
        if let Ok(config) = Config::from_yaml_str(&text) {
            accepted += 1;
            let compiled = std::panic::catch_unwind(|| Policy::compile(&config).is_ok());
            assert!(
                compiled.is_ok(),
                "case {case}: the compiler panicked on:\n{text}"
            );
        }
    }
    // The config crate's test checks that a third of the generated documents are valid.
    assert!(accepted >= 500, "accepted {accepted}");
}
