//! The YAML config: one file for the dataplane and the control process (INTERFACE.md).
//!
//! Loading is two steps. serde_yaml deserializes into the structs of [`schema`], refusing
//! unknown keys and wrong types; it stops at the first such error, which keeps its path and
//! line. Then [`Config::check`] runs every semantic check (references between sections,
//! ranges, prefixes, cycles) and collects all problems; [`locate`] gives each one the line
//! of its key path in the source text. Either way the caller gets a [`ConfigErrors`] that
//! prints `line N: path: message`, one a line.
//!
//! Nothing here is on the packet path except the compiled matchers in [`net`] and the
//! [`TimeoutsNs`] copy; the rest runs at start and on reload.

mod eal;
mod error;
mod locate;
mod net;
mod path;
mod protection;
mod schema;
mod validate;

#[cfg(any(test, feature = "testgen"))]
#[doc(hidden)]
pub mod testgen;
#[cfg(test)]
mod tests;

pub use eal::{eal_lcores, EalLcores};
pub use error::{ConfigError, ConfigErrors, Problems};
pub use locate::line_of;
pub use net::{AddrLiteral, AddrRange, AddressSet, Family, PortRange, Prefix};
pub use path::{KeyPath, Segment};
pub use protection::{
    FloodAction, FloodProtection, FloodThresholds, ZoneProtection, ZoneSettings,
    DEFAULT_ACTIVATE_RATE, DEFAULT_ALARM_RATE, DEFAULT_MAXIMAL_RATE, MAX_FLOOD_RATE,
};
pub use schema::{
    secs_to_ns, AsymmetricPath, Config, Control, Dataplane, DataplaneMode, Logging, Port, Rule,
    Service, ServiceProtocol, SessionConfig, SyslogLog, Timeouts, TimeoutsNs, TrafficLog, ANY,
    APPLICATION_DEFAULT, DEFAULT_BURST, DEFAULT_FRAGMENT_TIMEOUT_S, DEFAULT_MAX_SESSIONS,
    DEFAULT_MBUFS, DEFAULT_OUT_OF_ORDER_LIMIT, MAX_BURST,
};
pub use validate::{MAX_FRAGMENT_TIMEOUT_S, MAX_LONG_TIMEOUT_S, MAX_NAME_LEN, MIN_MBUFS};

use std::collections::BTreeSet;
use std::path::Path;

impl Config {
    /// Parses and validates a config. On failure, every semantic problem is reported, each
    /// with its key path and line; a syntax or type error stops parsing and is reported alone.
    pub fn from_yaml_str(text: &str) -> Result<Config, ConfigErrors> {
        let config: Config = serde_yaml::from_str(text)
            .map_err(|err| ConfigErrors(vec![error::from_serde_error(&err, text)]))?;
        let mut problems = Problems::default();
        config.check(&mut problems);
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(problems.locate(text))
        }
    }

    /// Reads and parses a config file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Config, ConfigErrors> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|err| ConfigErrors::whole(format!("cannot read {}: {err}", path.display())))?;
        Config::from_yaml_str(&text)
    }

    /// Validates a config built or changed in code (no source text, so no lines).
    pub fn validate(&self) -> Result<(), ConfigErrors> {
        let mut problems = Problems::default();
        self.check(&mut problems);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.unlocated())
        }
    }

    /// Checks rule applications against app-ID's list, with lines from `source` (the text
    /// this config was parsed from). See [`Config::validate_applications`].
    pub fn check_applications(&self, source: &str, known: &[&str]) -> Result<(), ConfigErrors> {
        let mut problems = Problems::default();
        self.validate_applications(known, &mut problems);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.locate(source))
        }
    }

    /// The effective config as YAML, defaults included (`show running config`).
    pub fn to_yaml(&self) -> String {
        // Serializing plain structs of strings, numbers and maps with string keys cannot
        // fail; a failure would be a bug in the schema, not in the operator's input.
        serde_yaml::to_string(self).expect("config serializes to YAML")
    }

    /// The security zones: every zone a port names, sorted, each once.
    pub fn zones(&self) -> Vec<&str> {
        let zones: BTreeSet<&str> = self
            .dataplane
            .ports
            .iter()
            .map(|p| p.zone.as_str())
            .collect();
        zones.into_iter().collect()
    }

    /// The zone protection profile of zone `zone`, if it names one that exists.
    pub fn zone_protection_of(&self, zone: &str) -> Option<&ZoneProtection> {
        let name = self
            .zone_settings
            .get(zone)?
            .zone_protection_profile
            .as_ref()?;
        self.zone_protection.get(name)
    }

    /// The port called `name`.
    pub fn port(&self, name: &str) -> Option<&Port> {
        self.dataplane.ports.iter().find(|p| p.name == name)
    }

    /// The port wired to `name` by a virtual wire.
    pub fn vwire_peer(&self, name: &str) -> Option<&str> {
        self.dataplane
            .vwires
            .iter()
            .find_map(|w| match w.as_slice() {
                [a, b] if a == name => Some(b.as_str()),
                [a, b] if b == name => Some(a.as_str()),
                _ => None,
            })
    }

    /// Compiles a rule's `source` or `destination` list: `any`, address object names
    /// (groups flattened), literal prefixes, addresses and ranges.
    pub fn address_set(&self, entries: &[String]) -> Result<AddressSet, String> {
        let mut set = AddressSet::default();
        let mut visiting = Vec::new();
        for entry in entries {
            if entry == ANY {
                set.any = true;
            } else {
                self.add_addresses(entry, &mut set, &mut visiting)?;
            }
        }
        Ok(set)
    }

    fn add_addresses<'a>(
        &'a self,
        entry: &'a str,
        set: &mut AddressSet,
        visiting: &mut Vec<&'a str>,
    ) -> Result<(), String> {
        if let Some(literal) = AddrLiteral::parse(entry)? {
            set.ranges.push(literal.range());
            return Ok(());
        }
        let members = self
            .addresses
            .get(entry)
            .ok_or_else(|| format!("unknown address object {entry:?}"))?;
        if visiting.contains(&entry) {
            return Err(format!("address group cycle through {entry:?}"));
        }
        visiting.push(entry);
        for member in members {
            self.add_addresses(member, set, visiting)?;
        }
        visiting.pop();
        Ok(())
    }

    /// Compiles a rule's `service` list: `any`, `application-default`, service names
    /// (groups flattened).
    pub fn service_set(&self, entries: &[String]) -> Result<ServiceSet, String> {
        let mut set = ServiceSet::default();
        let mut visiting = Vec::new();
        for entry in entries {
            match entry.as_str() {
                ANY => set.any = true,
                APPLICATION_DEFAULT => set.application_default = true,
                name => self.add_services(name, &mut set, &mut visiting)?,
            }
        }
        Ok(set)
    }

    fn add_services<'a>(
        &'a self,
        name: &'a str,
        set: &mut ServiceSet,
        visiting: &mut Vec<&'a str>,
    ) -> Result<(), String> {
        let service = self
            .services
            .get(name)
            .ok_or_else(|| format!("unknown service {name:?}"))?;
        if visiting.contains(&name) {
            return Err(format!("service group cycle through {name:?}"));
        }
        visiting.push(name);
        for member in &service.members {
            self.add_services(member, set, visiting)?;
        }
        if let Some(protocol) = service.protocol {
            for ports in &service.ports {
                set.ports.push((protocol, ports.parse()?));
            }
        }
        visiting.pop();
        Ok(())
    }
}

/// A compiled `service` list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceSet {
    /// `any`: every protocol and port.
    pub any: bool,
    /// `application-default`: the identified application's standard ports; the policy
    /// decides this once the application is known, so [`ServiceSet::contains`] ignores it.
    pub application_default: bool,
    pub ports: Vec<(ServiceProtocol, PortRange)>,
}

impl ServiceSet {
    /// Whether a packet of IP protocol `ip_proto` to destination port `port` is in the set.
    /// Hot-path safe: no allocation, no lock, no syscall.
    pub fn contains(&self, ip_proto: u8, port: u16) -> bool {
        self.any
            || self
                .ports
                .iter()
                .any(|(proto, range)| proto.ip_proto() == ip_proto && range.contains(port))
    }
}
