//! The security policy: a compiled, immutable rule set and its lookup (PAN-OS semantics).
//!
//! First matching rule wins; after the list, the predefined `intrazone-default` (from zone ==
//! to zone) allows and `interzone-default` denies, neither logging. A rule matches when its
//! zones, source and destination addresses, service and application match.
//!
//! # Classification
//! Lookups never scan the rule list. Compilation builds, per dimension, bitsets of the rules
//! matching each value (bit `i` = the `i`-th enabled rule, so bit order is rule order):
//! - from zone and to zone: one bitset per zone id (zone "any" sets the rule in every zone);
//! - source and destination address: elementary intervals over `u128` keys
//!   ([`bitset::IntervalTable`]), one table per family (IPv4 widened, IPv6) per direction;
//! - service: elementary intervals over `proto << 16 | dport` (`any` and
//!   `application-default` cover the whole space).
//!
//! A lookup is four binary searches and a word-by-word AND of five bitsets, walking the set
//! bits of each word in order; the first rule whose application (and, for
//! `application-default`, port) check passes ends it. Nothing is stored or allocated.
//!
//! # Memory
//! With `R` enabled rules, `W = ceil(R / 64)` words per bitset:
//! `(2 × zones + Σ intervals over the 5 tables) × W × 8` bytes, plus 16 bytes per interval
//! start. A table has at most `2 × ranges + 1` intervals. Example: 10,000 rules, each with its
//! own IPv4 source and destination prefix: W = 157, about 20,000 intervals per address table,
//! so about 25 MB per table and about 50 MB in all; rules sharing objects cost far less
//! ([`Policy::memory_bytes`] reports the real figure).
//!
//! # Applications
//! A rule naming applications matches a query whose `app` is in its list. While the
//! application is not yet identified (`app: None`) such a rule *could* still match: the lookup
//! goes on past it, and the decision is `app_pending` with `rule` the first such candidate and
//! action `allow` if any candidate, or the first app-independent match (or the default rule
//! that ends the list), allows: the handshake is let through while some rule could still allow
//! the session. The engine looks up again with `Some(app)` once app-ID names it.
//! A rule whose service is `application-default` (and whose explicit services, if any, do not
//! hold the port) is likewise a candidate while the app is unknown; once it is known the port
//! must be one of the app's default ports, as told by the [`AppDefaultFn`] hook.

mod bitset;
mod compile;
#[cfg(test)]
mod generated_tests;
#[cfg(test)]
mod tests;

use crate::config::PortRange;
use crate::reasons::Action;
use crate::records::NONE_ID;
use bitset::IntervalTable;

/// Whether `dport` (of IP protocol `proto`) is one of application `app`'s default ports.
/// App-ID supplies the real table; until then [`any_port`].
pub type AppDefaultFn = fn(app: &str, proto: u8, dport: u16) -> bool;

/// The default [`AppDefaultFn`]: every port is a default port.
pub fn any_port(_app: &str, _proto: u8, _dport: u16) -> bool {
    true
}

/// The predefined rules after the list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DefaultRule {
    /// From zone == to zone: allow.
    Intrazone,
    /// Between zones: deny.
    Interzone,
}

impl DefaultRule {
    /// PAN-OS's rule name, for logs.
    pub const fn label(self) -> &'static str {
        match self {
            DefaultRule::Intrazone => "intrazone-default",
            DefaultRule::Interzone => "interzone-default",
        }
    }
}

/// What the policy is asked about one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Query<'a> {
    pub from_zone: u8,
    pub to_zone: u8,
    /// Addresses as in [`crate::flow::FlowKey`]: 16 bytes, IPv4 v4-mapped.
    pub src: [u8; 16],
    pub dst: [u8; 16],
    /// 4 or 6.
    pub family: u8,
    pub proto: u8,
    pub dport: u16,
    /// The identified application; `None`: not identified yet.
    pub app: Option<&'a str>,
}

/// The policy's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// Index in `config.rules`, or [`NONE_ID`] for the default rules.
    pub rule: u16,
    pub action: Action,
    pub log_start: bool,
    pub log_end: bool,
    pub connection_tracking: bool,
    /// The application is unknown and some rule naming applications could still match: look
    /// up again once app-ID has named it.
    pub app_pending: bool,
    /// Set when `rule` is [`NONE_ID`].
    pub default_rule: Option<DefaultRule>,
}

/// One enabled rule, as the lookup needs it.
#[derive(Clone, Debug)]
struct CompiledRule {
    /// Index in `config.rules`.
    index: u16,
    action: Action,
    log_start: bool,
    log_end: bool,
    connection_tracking: bool,
    /// `None`: any application.
    apps: Option<Vec<String>>,
    /// The service has `application-default` and not `any`: beyond `ports`, a port matches
    /// only through the app's defaults.
    app_default: bool,
    /// Explicit services, checked only when `app_default` (otherwise the bitset is exact).
    ports: Vec<(u8, PortRange)>,
}

/// How a rule that passed the bitset dimensions fares on application and service.
enum Fit {
    No,
    Yes,
    /// The app is unknown and decides.
    Pending,
}

impl CompiledRule {
    #[inline]
    fn fit(&self, app: Option<&str>, proto: u8, dport: u16, hook: AppDefaultFn) -> Fit {
        // The service bitset holds the rule when it has `any`, an explicit port matching, or
        // `application-default`; only in the last case is there more to check.
        let port_ok = !self.app_default
            || self
                .ports
                .iter()
                .any(|&(p, r)| p == proto && r.contains(dport));
        match app {
            Some(name) => {
                let app_ok = self
                    .apps
                    .as_ref()
                    .is_none_or(|list| list.iter().any(|a| a == name));
                if app_ok && (port_ok || hook(name, proto, dport)) {
                    Fit::Yes
                } else {
                    Fit::No
                }
            }
            None if self.apps.is_none() && port_ok => Fit::Yes,
            None => Fit::Pending,
        }
    }

    fn decision(&self, app_pending: bool) -> Decision {
        Decision {
            rule: self.index,
            action: self.action,
            log_start: self.log_start,
            log_end: self.log_end,
            connection_tracking: self.connection_tracking,
            app_pending,
            default_rule: None,
        }
    }
}

/// The compiled rule set. Immutable: a reload compiles a new one.
#[derive(Clone, Debug)]
pub struct Policy {
    zones: Vec<String>,
    /// Every rule's name, by config index (disabled ones included).
    names: Vec<String>,
    /// Position among enabled rules by config index, or `NONE_ID` for disabled ones.
    position: Vec<u16>,
    rules: Vec<CompiledRule>,
    /// Words per bitset.
    words: usize,
    /// `zones × words`: the rules whose `from` holds each zone.
    from_zone: Vec<u64>,
    to_zone: Vec<u64>,
    src4: IntervalTable,
    src6: IntervalTable,
    dst4: IntervalTable,
    dst6: IntervalTable,
    service: IntervalTable,
    app_default: AppDefaultFn,
    /// Some enabled rule has `connection_tracking: false`.
    stateless: bool,
}

/// The service dimension's key.
#[inline]
const fn service_key(proto: u8, port: u16) -> u128 {
    ((proto as u128) << 16) | port as u128
}

/// An address as its family's table key.
#[inline]
fn address_key(bytes: &[u8; 16], family: u8) -> u128 {
    if family == 4 {
        u128::from(u32::from_be_bytes([
            bytes[12], bytes[13], bytes[14], bytes[15],
        ]))
    } else {
        u128::from_be_bytes(*bytes)
    }
}

impl Policy {
    /// Whether any enabled rule is stateless: only then must a packet that cannot open a session
    /// (a non-SYN TCP segment) be looked up before the session checks refuse it.
    pub fn has_stateless_rules(&self) -> bool {
        self.stateless
    }

    /// Replaces the application-default port check (app-ID's table).
    pub fn with_app_default(mut self, hook: AppDefaultFn) -> Policy {
        self.app_default = hook;
        self
    }

    /// The id of a zone (its index in `config.zones()`).
    pub fn zone_id(&self, name: &str) -> Option<u8> {
        self.zones
            .iter()
            .position(|z| z == name)
            .and_then(|i| u8::try_from(i).ok())
    }

    /// The name of zone `id`.
    pub fn zone_name(&self, id: u8) -> Option<&str> {
        self.zones.get(id as usize).map(String::as_str)
    }

    /// The zones, by id.
    pub fn zones(&self) -> &[String] {
        &self.zones
    }

    /// The name of the rule at `rule` (index in `config.rules`); the default rules' names for
    /// `NONE_ID` are [`DefaultRule::label`].
    pub fn rule_name(&self, rule: u16) -> Option<&str> {
        self.names.get(rule as usize).map(String::as_str)
    }

    /// The applications an enabled rule names; `None` for "any", disabled or unknown rules.
    pub fn rule_apps(&self, rule: u16) -> Option<&[String]> {
        let pos = *self.position.get(rule as usize)?;
        self.rules.get(pos as usize)?.apps.as_deref()
    }

    /// Number of enabled (compiled) rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Bytes held by the classification tables.
    pub fn memory_bytes(&self) -> usize {
        (self.from_zone.len() + self.to_zone.len()) * 8
            + [
                &self.src4,
                &self.src6,
                &self.dst4,
                &self.dst6,
                &self.service,
            ]
            .iter()
            .map(|t| t.memory_bytes())
            .sum::<usize>()
    }

    fn zone_bits<'s>(&'s self, table: &'s [u64], zone: u8) -> Option<&'s [u64]> {
        let start = zone as usize * self.words;
        table.get(start..start + self.words)
    }

    /// The default rule's decision for a query.
    fn default_decision(q: &Query) -> Decision {
        let (rule, action) = if q.from_zone == q.to_zone {
            (DefaultRule::Intrazone, Action::Allow)
        } else {
            (DefaultRule::Interzone, Action::Deny)
        };
        Decision {
            rule: NONE_ID,
            action,
            log_start: false,
            log_end: false,
            connection_tracking: true,
            app_pending: false,
            default_rule: Some(rule),
        }
    }

    /// The decision for a packet. Hot-path safe: no allocation, no lock, no syscall; cost
    /// O(log intervals + rules / 64) plus one application check per app-dependent candidate.
    pub fn lookup(&self, q: &Query) -> Decision {
        let (src, dst) = match q.family {
            4 => (
                self.src4.get(address_key(&q.src, 4)),
                self.dst4.get(address_key(&q.dst, 4)),
            ),
            6 => (
                self.src6.get(address_key(&q.src, 6)),
                self.dst6.get(address_key(&q.dst, 6)),
            ),
            _ => return Self::default_decision(q),
        };
        let (Some(from), Some(to)) = (
            self.zone_bits(&self.from_zone, q.from_zone),
            self.zone_bits(&self.to_zone, q.to_zone),
        ) else {
            return Self::default_decision(q);
        };
        let service = self.service.get(service_key(q.proto, q.dport));
        let mut pending: Option<&CompiledRule> = None;
        let mut pending_allow = false;
        let words = from
            .iter()
            .zip(to)
            .zip(src)
            .zip(dst)
            .zip(service)
            .map(|((((a, b), c), d), e)| a & b & c & d & e);
        for (w, mut word) in words.enumerate() {
            while word != 0 {
                let pos = w * 64 + word.trailing_zeros() as usize;
                word &= word - 1;
                let Some(rule) = self.rules.get(pos) else {
                    break;
                };
                match rule.fit(q.app, q.proto, q.dport, self.app_default) {
                    Fit::No => {}
                    Fit::Yes => {
                        return match pending {
                            None => rule.decision(false),
                            Some(first) => {
                                Self::pending(first, pending_allow || rule.action == Action::Allow)
                            }
                        }
                    }
                    Fit::Pending => {
                        pending.get_or_insert(rule);
                        pending_allow |= rule.action == Action::Allow;
                    }
                }
            }
        }
        let default = Self::default_decision(q);
        match pending {
            None => default,
            Some(first) => Self::pending(first, pending_allow || default.action == Action::Allow),
        }
    }

    fn pending(first: &CompiledRule, some_allow: bool) -> Decision {
        let mut d = first.decision(true);
        if some_allow {
            d.action = Action::Allow;
        }
        d
    }
}
