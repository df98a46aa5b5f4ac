//! synwall's test kit: what the engine's tests, the fuzz targets, the capture generator
//! (`perf`) and the daemon's tests all need to talk to a firewall, written once.
//!
//! - [`frame`]: Ethernet (802.1Q/802.1ad tags) / IPv4 or IPv6 (fragments, hop-by-hop) / TCP,
//!   UDP, ICMP(v6) or raw transport frames, with every length and checksum right.
//! - [`parse`]: a frame read back into the spec that builds it and its transport fields (to
//!   look at what a firewall sent, and to answer it), and checked for lengths and checksums.
//! - [`conv`]: two-sided TCP and UDP conversations that keep both sequence spaces right,
//!   recorded as a capture or delivered to whatever processes packets.
//! - [`payload`]: application payloads app-ID reads (DNS query, TLS ClientHello).
//! - [`rng`]: the seeded generator of generated data and random tests.
//! - [`yaml`]: the usual two-port virtual-wire config, with a test's rules.
//! - [`checksum`]: the workspace's Internet checksum (from `synwall-types`).
//!
//! The kit depends on `synwall-types` only, never on the engine: the engine's own unit tests
//! use it as a dev-dependency, and a kit built on the engine would give them a second copy of
//! the engine's types. An engine built from a YAML snippet stays in the engine
//! (`pipeline::test_engine`); the kit gives the YAML.

pub mod conv;
pub mod frame;
pub mod parse;
pub mod payload;
pub mod rng;
pub mod yaml;

pub use rng::Rng;
pub use synwall_types::checksum;

/// A generated capture: `(timestamp in ns since the Unix epoch, Ethernet frame)` in order.
pub type Frames = Vec<(u64, Vec<u8>)>;
