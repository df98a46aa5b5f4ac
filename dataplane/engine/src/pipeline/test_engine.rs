//! Tests' engine: worker 0 of 1 built from a config text, with standalone counters and its own
//! record ring, as the fragment, stored-key and zone-protection tests use it.

use std::sync::Arc;

use crate::config::Config;
use crate::pipeline::{Engine, EngineConfig};
use crate::policy::Policy;
use crate::records::RecordRing;
use crate::stats::CounterBlock;

/// An engine for the config `yaml` (which must be valid), started at `now_ns`; `adjust` may
/// change its settings first (capacity, fragment table size). Returns its counters too.
pub(crate) fn test_engine(
    yaml: &str,
    now_ns: u64,
    adjust: impl FnOnce(&mut EngineConfig),
) -> (Engine, CounterBlock) {
    let config = Config::from_yaml_str(yaml).unwrap_or_else(|e| panic!("{e}"));
    let policy = Policy::compile(&config).expect("compiles");
    let mut cfg = EngineConfig::from_config(&config, Arc::new(policy), 0, 1);
    adjust(&mut cfg);
    let counters = CounterBlock::standalone();
    let engine = Engine::new(
        cfg,
        counters.clone(),
        Arc::new(RecordRing::new(1 << 16)),
        now_ns,
    );
    (engine, counters)
}
