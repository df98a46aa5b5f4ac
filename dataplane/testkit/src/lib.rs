//! synwall's test kit: what the engine's tests, the fuzz targets, the capture generator
//! (`perf`) and the daemon's tests all need to talk to a firewall, written once.
//!
//! - [`frame`]: Ethernet (802.1Q tags) / IPv4 or IPv6 / TCP, UDP, ICMP(v6) frames with every
//!   length and checksum right.
//! - [`conv`]: a two-sided TCP conversation that keeps both sequence spaces right.
//! - [`rng`]: the seeded generator of generated data.
//! - [`checksum`]: the workspace's Internet checksum (from `synwall-types`).
//!
//! The kit depends on `synwall-types` only, never on the engine: the engine's own unit tests
//! use it as a dev-dependency, and a kit built on the engine would give them a second copy of
//! the engine's types.

pub mod conv;
pub mod frame;
pub mod rng;

pub use synwall_types::checksum;

/// A generated capture: `(timestamp in ns since the Unix epoch, Ethernet frame)` in order.
pub type Frames = Vec<(u64, Vec<u8>)>;
