//! The config's shape: one serde struct per YAML section (INTERFACE.md, "Config (YAML)").
//!
//! Every struct denies unknown keys: a misspelt `tcp_rejct_non_syn` must be an error, not a
//! silently ignored line that leaves the default in force. Defaults sit where an operator
//! expects them (PAN-OS defaults for the session settings); everything else is required.
//!
//! Values the deserializer cannot check alone (names that refer to other sections, ranges,
//! prefixes) stay as written here and are checked by `validate`, which collects every
//! problem rather than stopping at the first.

use super::protection::{ZoneProtection, ZoneSettings};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::path::PathBuf;
use synwall_types::reasons::Action;

/// The whole file. One file serves both the dataplane and the control process.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub dataplane: Dataplane,
    #[serde(default)]
    pub session: SessionConfig,
    /// Address objects: name -> prefixes, single addresses, ranges, or other object names.
    #[serde(default, deserialize_with = "unique_keys")]
    pub addresses: BTreeMap<String, Vec<String>>,
    /// Service objects: name -> protocol and ports, or a group of other services.
    #[serde(default, deserialize_with = "unique_keys")]
    pub services: BTreeMap<String, Service>,
    /// Security rules; first match wins. After the list: intrazone allow, interzone deny.
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// Zone protection profiles (PAN-OS flood protection), by name.
    #[serde(default, deserialize_with = "unique_keys")]
    pub zone_protection: BTreeMap<String, ZoneProtection>,
    /// Settings per zone (a zone exists because a port names it): its protection profile.
    #[serde(default, rename = "zones", deserialize_with = "unique_keys")]
    pub zone_settings: BTreeMap<String, ZoneSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging: Option<Logging>,
    #[serde(default)]
    pub control: Control,
}

/// `dataplane:`: what the DPDK process needs to start.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dataplane {
    /// EAL arguments, passed to `rte_eal_init` as written (after the program name).
    #[serde(default)]
    pub eal: Vec<String>,
    /// Lcores that run workers. The main lcore runs management and must not be among them.
    pub workers: Vec<u32>,
    /// Mbuf pool size. DPDK sizes pools best at 2^n - 1.
    #[serde(default = "default_mbufs")]
    pub mbufs: u64,
    pub ports: Vec<Port>,
    /// Virtual wires: each is two port names; packets in one leave by the other.
    #[serde(default)]
    pub vwires: Vec<Vec<String>>,
    /// Packets per rx/tx burst.
    #[serde(default = "default_burst")]
    pub burst: u16,
    /// `firewall` (default): every packet goes through the session engine and the policy.
    /// `passthrough`: workers forward along the virtual wires without looking at packets: no
    /// sessions, no policy. For measuring the I/O path and for troubleshooting only.
    #[serde(default)]
    pub mode: DataplaneMode,
}

/// What the workers do with packets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataplaneMode {
    #[default]
    Firewall,
    Passthrough,
}

pub const DEFAULT_MBUFS: u64 = 16_383;
pub const DEFAULT_BURST: u16 = 32;
/// Largest accepted burst: workers size their per-burst arrays by it.
pub const MAX_BURST: u16 = 256;

fn default_mbufs() -> u64 {
    DEFAULT_MBUFS
}
fn default_burst() -> u16 {
    DEFAULT_BURST
}

/// `dataplane.ports[*]`: one DPDK port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Port {
    /// Operator's name (PAN-OS style `ethernet1/1`); logs and metrics use it.
    pub name: String,
    /// DPDK device: a PCI address (`0000:3b:00.0`) or a vdev name (`net_tap0`).
    pub device: String,
    /// Security zone of the port. The set of zones is the set of zones named by ports.
    pub zone: String,
    /// Rx/tx queue pairs; absent: one per worker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queues: Option<u16>,
}

impl Port {
    /// Queue pairs to configure: as written, or one per worker.
    pub fn queues(&self, workers: usize) -> u16 {
        self.queues
            .unwrap_or_else(|| u16::try_from(workers).unwrap_or(u16::MAX))
    }
}

/// What to do when only one direction of a TCP handshake is seen.
/// PAN-OS: `set deviceconfig setting tcp asymmetric-path drop|bypass`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AsymmetricPath {
    #[default]
    Drop,
    Bypass,
}

/// `session:`: table size, TCP modes and timeouts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionConfig {
    /// Session table capacity, summed over workers.
    pub max_sessions: u64,
    /// PAN-OS `set deviceconfig setting session tcp-reject-non-syn`.
    pub tcp_reject_non_syn: bool,
    pub asymmetric_path: AsymmetricPath,
    /// Out-of-order segments held per flow; past it the session ends `resources-unavailable`.
    pub out_of_order_limit: u32,
    pub timeouts: Timeouts,
}

pub const DEFAULT_MAX_SESSIONS: u64 = 1_000_000;
pub const DEFAULT_OUT_OF_ORDER_LIMIT: u32 = 64;

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            max_sessions: DEFAULT_MAX_SESSIONS,
            tcp_reject_non_syn: true,
            asymmetric_path: AsymmetricPath::Drop,
            out_of_order_limit: DEFAULT_OUT_OF_ORDER_LIMIT,
            timeouts: Timeouts::default(),
        }
    }
}

/// `session.timeouts:` in seconds. Defaults are PAN-OS's (Device > Setup > Session >
/// Session Timeouts); the accepted ranges are checked by `validate`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Timeouts {
    /// Established TCP session idle.
    pub tcp: u64,
    /// SYN seen, no SYN-ACK yet.
    pub tcp_init: u64,
    /// SYN-ACK seen, handshake not complete.
    pub tcp_handshake: u64,
    /// One side sent FIN.
    pub tcp_half_closed: u64,
    /// Both sides sent FIN (TIME_WAIT).
    pub tcp_time_wait: u64,
    pub udp: u64,
    pub icmp: u64,
    /// Any other IP protocol.
    pub default: u64,
    /// How long a denied flow's discard entry lives, by protocol.
    pub discard_tcp: u64,
    pub discard_udp: u64,
    pub discard_default: u64,
    /// How long the first fragment's verdict waits for the datagram's later fragments (not a
    /// PAN-OS timeout: synwall does not reassemble, see the engine's `frag`).
    pub fragment: u64,
}

/// Default `session.timeouts.fragment`: a datagram's fragments leave the sender back to back,
/// so seconds are plenty, and a short life bounds what a flood of lone first fragments holds.
pub const DEFAULT_FRAGMENT_TIMEOUT_S: u64 = 10;

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            tcp: 3600,
            tcp_init: 5,
            tcp_handshake: 10,
            tcp_half_closed: 120,
            tcp_time_wait: 15,
            udp: 30,
            icmp: 6,
            default: 30,
            discard_tcp: 90,
            discard_udp: 60,
            discard_default: 60,
            fragment: DEFAULT_FRAGMENT_TIMEOUT_S,
        }
    }
}

/// The same timeouts in nanoseconds, the engine's unit of time. Copy it into worker state
/// once; reading a field is hot-path safe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeoutsNs {
    pub tcp: u64,
    pub tcp_init: u64,
    pub tcp_handshake: u64,
    pub tcp_half_closed: u64,
    pub tcp_time_wait: u64,
    pub udp: u64,
    pub icmp: u64,
    pub default: u64,
    pub discard_tcp: u64,
    pub discard_udp: u64,
    pub discard_default: u64,
    pub fragment: u64,
    /// The timeouts of sessions without state to track (UDP, ICMP, other IP; not discard
    /// entries), in whole ms, by `SessionKind` (TCP's place unused): every packet of such a
    /// session checks its idle time against one (`Session::idle_past_timeout`).
    pub stateless_ms: [u64; 4],
}

/// Seconds to nanoseconds, saturating (validated timeouts are far below the limit).
pub const fn secs_to_ns(seconds: u64) -> u64 {
    seconds.saturating_mul(1_000_000_000)
}

impl Timeouts {
    pub fn to_nanos(&self) -> TimeoutsNs {
        TimeoutsNs {
            tcp: secs_to_ns(self.tcp),
            tcp_init: secs_to_ns(self.tcp_init),
            tcp_handshake: secs_to_ns(self.tcp_handshake),
            tcp_half_closed: secs_to_ns(self.tcp_half_closed),
            tcp_time_wait: secs_to_ns(self.tcp_time_wait),
            udp: secs_to_ns(self.udp),
            icmp: secs_to_ns(self.icmp),
            default: secs_to_ns(self.default),
            discard_tcp: secs_to_ns(self.discard_tcp),
            discard_udp: secs_to_ns(self.discard_udp),
            discard_default: secs_to_ns(self.discard_default),
            fragment: secs_to_ns(self.fragment),
            // Indexed by `SessionKind`: Tcp, Udp, Icmp, Other (the session module checks the
            // order).
            stateless_ms: [
                0,
                secs_to_ns(self.udp) / 1_000_000,
                secs_to_ns(self.icmp) / 1_000_000,
                secs_to_ns(self.default) / 1_000_000,
            ],
        }
    }
}

/// Transport protocol of a service object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceProtocol {
    Tcp,
    Udp,
}

impl ServiceProtocol {
    /// IP protocol number.
    pub const fn ip_proto(self) -> u8 {
        match self {
            ServiceProtocol::Tcp => 6,
            ServiceProtocol::Udp => 17,
        }
    }
}

/// `services.NAME`: either `protocol` + `ports`, or `members` (a service group).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<ServiceProtocol>,
    /// Destination ports: `"80"` or `"8080-8090"` (serde_yaml reads a bare `80` as text too).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<String>,
    /// Names of other services: this service is their union.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
}

/// `rules[*]`: one security rule, PAN-OS fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Source zones, or `[any]`.
    pub from: Vec<String>,
    /// Destination zones, or `[any]`.
    pub to: Vec<String>,
    /// `any`, address object names, or literal prefixes/addresses/ranges. Default `[any]`.
    #[serde(default = "any")]
    pub source: Vec<String>,
    #[serde(default = "any")]
    pub destination: Vec<String>,
    /// Application names, or `[any]`. Default `[any]`.
    #[serde(default = "any")]
    pub application: Vec<String>,
    /// `application-default`, `any`, or service names. Default `[any]`.
    #[serde(default = "any")]
    pub service: Vec<String>,
    #[serde(with = "action_label")]
    pub action: Action,
    #[serde(default)]
    pub log_start: bool,
    #[serde(default = "yes")]
    pub log_end: bool,
    /// `false`: stateless, packet by packet (no session is created).
    #[serde(default = "yes")]
    pub connection_tracking: bool,
    /// A disabled rule stays in the config but matches nothing.
    #[serde(default)]
    pub disabled: bool,
}

/// The reserved word matching everything (zones, addresses, applications, services).
pub const ANY: &str = "any";
/// The service meaning "the application's standard ports".
pub const APPLICATION_DEFAULT: &str = "application-default";

fn any() -> Vec<String> {
    vec![ANY.to_owned()]
}
fn yes() -> bool {
    true
}

/// `logging:`: where traffic logs go. Both are optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Logging {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic: Option<TrafficLog>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub syslog: Option<SyslogLog>,
}

/// `logging.traffic`: a JSON-lines file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrafficLog {
    pub path: PathBuf,
}

/// `logging.syslog`: a syslog receiver.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyslogLog {
    /// `host:port`, host a name, an IPv4 address or a bracketed IPv6 address.
    pub target: String,
}

/// `control:`: where the two processes meet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Control {
    /// Unix socket of the dataplane's management API (`synwallctl`).
    pub socket: PathBuf,
    /// Shared-memory stats segment the dataplane writes and `synwall-control` maps.
    pub stats: PathBuf,
    /// Where `synwall-control` serves `/metrics`.
    pub metrics_listen: SocketAddr,
}

impl Default for Control {
    fn default() -> Self {
        Control {
            socket: PathBuf::from("/run/synwall/synwall.sock"),
            stats: PathBuf::from("/dev/shm/synwall.stats"),
            metrics_listen: SocketAddr::from(([127, 0, 0, 1], 9650)),
        }
    }
}

/// `Action` as its PAN-OS label. The check runs inside the visitor so that serde_yaml stamps
/// the error with the value's own line.
mod action_label {
    use super::*;

    pub fn serialize<S: serde::Serializer>(action: &Action, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(action.label())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Action, D::Error> {
        struct Label;
        impl Visitor<'_> for Label {
            type Value = Action;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an action")
            }
            fn visit_str<E: de::Error>(self, label: &str) -> Result<Action, E> {
                Action::from_label(label).ok_or_else(|| {
                    let known: Vec<&str> = Action::ALL.iter().map(|a| a.label()).collect();
                    E::custom(format!(
                        "unknown action {label:?}, expected one of {}",
                        known.join(", ")
                    ))
                })
            }
        }
        d.deserialize_str(Label)
    }
}

/// A name -> value mapping that refuses a key written twice (serde's own map impls keep the
/// last one silently, which would hide a pasted-twice address object).
fn unique_keys<'de, D, V>(d: D) -> Result<BTreeMap<String, V>, D::Error>
where
    D: Deserializer<'de>,
    V: Deserialize<'de>,
{
    struct Entries<V>(PhantomData<V>);
    impl<'de, V: Deserialize<'de>> Visitor<'de> for Entries<V> {
        type Value = BTreeMap<String, V>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a mapping of names")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(BTreeMap::new()) // `addresses:` with nothing after it
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut entries = BTreeMap::new();
            while let Some(name) = map.next_key_seed(NewName(&entries))? {
                let value = map.next_value()?;
                entries.insert(name, value);
            }
            Ok(entries)
        }
    }
    d.deserialize_map(Entries(PhantomData))
}

/// A key not yet in the map; the duplicate check runs in the visitor so the error carries
/// the duplicate's line.
struct NewName<'m, V>(&'m BTreeMap<String, V>);

impl<'de, V> de::DeserializeSeed<'de> for NewName<'_, V> {
    type Value = String;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_str(self)
    }
}

impl<V> Visitor<'_> for NewName<'_, V> {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a name")
    }
    fn visit_str<E: de::Error>(self, name: &str) -> Result<String, E> {
        if self.0.contains_key(name) {
            return Err(E::custom(format!("{name:?} is defined twice")));
        }
        Ok(name.to_owned())
    }
}
