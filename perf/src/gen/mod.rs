//! Traffic generation: valid frames, TCP conversations with consistent sequence numbers,
//! named scenarios and bulk benchmark profiles.
//!
//! Layers, bottom up:
//! - [`checksum`]: the Internet checksum and the pseudo-header, one routine for IPv4 and IPv6.
//! - [`packet`]: Ethernet (+802.1Q) / IPv4 or IPv6 / TCP, UDP, ICMP(v6) frames.
//! - [`tcp_conv`]: a two-sided TCP conversation that keeps both sequence spaces right.
//! - [`scenarios`]: the named captures of `synwall-gen scenario`.
//! - [`bulk`]: streaming benchmark profiles of `synwall-gen bulk`.
//! - [`hostile`]: malformed and malicious frames around valid sessions (`synwall-gen hostile`).

pub mod apps;
pub mod bulk;
pub mod checksum;
pub mod hostile;
pub mod packet;
pub mod rng;
pub mod scenarios;
pub mod tcp_conv;
#[cfg(test)]
mod wire_check;

/// A generated capture: `(timestamp in ns since the Unix epoch, Ethernet frame)` in order.
pub type Frames = Vec<(u64, Vec<u8>)>;

/// Address family of generated traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpFamily {
    V4,
    V6,
}
