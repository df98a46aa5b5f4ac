//! Traffic generation: valid frames, TCP conversations with consistent sequence numbers,
//! named scenarios and bulk benchmark profiles.
//!
//! Frames, TCP conversations and the seeded generator come from the test kit
//! (`synwall_testkit::{frame, conv, rng}`); on top of them, here:
//! - [`scenarios`]: the named captures of `synwall-gen scenario`.
//! - [`bulk`]: streaming benchmark profiles of `synwall-gen bulk`.
//! - [`hostile`]: malformed and malicious frames around valid sessions (`synwall-gen hostile`).

pub mod apps;
pub mod bulk;
pub mod hostile;
pub mod scenarios;
#[cfg(test)]
mod wire_check;

pub use synwall_testkit::frame::IpFamily;
pub use synwall_testkit::Frames;
