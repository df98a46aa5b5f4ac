//! The usual test config, written once: one worker, `ethernet1/1` (zone `trust`, device
//! `net_tap0`) and `ethernet1/2` (zone `untrust`, `net_tap1`) joined by a virtual wire, then
//! whatever sections and rules a test adds.
//!
//! ```
//! # use synwall_testkit::yaml::{VwireConfig, ALLOW_OUT};
//! let yaml = VwireConfig::new()
//!     .section("services:\n  tftp: { protocol: udp, ports: [\"69\"] }")
//!     .rule("{ name: no-tftp, from: [trust], to: [untrust], service: [tftp], action: deny }")
//!     .rule(ALLOW_OUT)
//!     .yaml();
//! assert!(yaml.contains("vwires: [[ethernet1/1, ethernet1/2]]"));
//! ```

/// Device port of `ethernet1/1` (zone `trust`): the first port, index 0.
pub const TRUST_PORT: u8 = 0;
/// Device port of `ethernet1/2` (zone `untrust`), index 1.
pub const UNTRUST_PORT: u8 = 1;
/// Allows trust to untrust.
pub const ALLOW_OUT: &str = "{ name: allow-out, from: [trust], to: [untrust], action: allow }";
/// Allows untrust to trust (a capture replayed on one port holds both directions).
pub const ALLOW_IN: &str = "{ name: allow-in, from: [untrust], to: [trust], action: allow }";

/// The two-port virtual-wire config with optional EAL arguments, sections and rules.
#[derive(Clone, Debug, Default)]
pub struct VwireConfig {
    eal: Vec<String>,
    sections: Vec<String>,
    rules: Vec<String>,
}

impl VwireConfig {
    pub fn new() -> VwireConfig {
        VwireConfig::default()
    }

    /// An EAL argument (`dataplane.eal`), e.g. `--no-huge`.
    pub fn eal(mut self, arg: &str) -> VwireConfig {
        self.eal.push(arg.to_string());
        self
    }

    /// Top-level YAML (`session:`, `services:`, `zone_protection:`...) as written, each
    /// starting at column 0 (blank lines around it dropped; an empty one adds nothing).
    pub fn section(mut self, yaml: &str) -> VwireConfig {
        let yaml = yaml.trim_matches('\n').trim_end();
        if !yaml.is_empty() {
            self.sections.push(yaml.to_string());
        }
        self
    }

    /// One rule as a flow mapping, `{ name: ..., action: ... }`, after those given before.
    /// With none, the config has no `rules:` key (the default rules apply).
    pub fn rule(mut self, rule: &str) -> VwireConfig {
        self.rules.push(rule.to_string());
        self
    }

    /// [`ALLOW_OUT`] and [`ALLOW_IN`].
    pub fn allow_both_ways(self) -> VwireConfig {
        self.rule(ALLOW_OUT).rule(ALLOW_IN)
    }

    pub fn yaml(&self) -> String {
        let mut out = String::from("dataplane:\n");
        if !self.eal.is_empty() {
            let args: Vec<String> = self.eal.iter().map(|a| format!("{a:?}")).collect();
            out += &format!("  eal: [{}]\n", args.join(", "));
        }
        out += "  workers: [1]\n  ports:\n";
        out += "    - { name: ethernet1/1, device: net_tap0, zone: trust }\n";
        out += "    - { name: ethernet1/2, device: net_tap1, zone: untrust }\n";
        out += "  vwires: [[ethernet1/1, ethernet1/2]]\n";
        for section in &self.sections {
            out += section;
            out.push('\n');
        }
        if !self.rules.is_empty() {
            out += "rules:\n";
            for rule in &self.rules {
                out += &format!("  - {rule}\n");
            }
        }
        out
    }
}

/// The config with `rules` (flow mappings) and nothing else.
pub fn vwire_yaml(rules: &[&str]) -> String {
    rules
        .iter()
        .fold(VwireConfig::new(), |c, r| c.rule(r))
        .yaml()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_whole_text() {
        let yaml = VwireConfig::new()
            .eal("--no-huge")
            .section("session:\n  max_sessions: 64\n")
            .allow_both_ways()
            .yaml();
        assert_eq!(
            yaml,
            "dataplane:\n  eal: [\"--no-huge\"]\n  workers: [1]\n  ports:\n    \
             - { name: ethernet1/1, device: net_tap0, zone: trust }\n    \
             - { name: ethernet1/2, device: net_tap1, zone: untrust }\n  \
             vwires: [[ethernet1/1, ethernet1/2]]\nsession:\n  max_sessions: 64\nrules:\n  \
             - { name: allow-out, from: [trust], to: [untrust], action: allow }\n  \
             - { name: allow-in, from: [untrust], to: [trust], action: allow }\n"
        );
        assert!(!vwire_yaml(&[]).contains("rules"));
        assert_eq!(VwireConfig::new().section("\n").yaml(), vwire_yaml(&[]));
    }
}
