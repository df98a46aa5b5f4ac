//! synwall's vocabulary: the closed lists and numbers that the engine, the config, the daemon
//! and the control process all speak.
//!
//! Everything here is pure data and naming (enums with their labels, constants, name tables):
//! no packet logic, no state. It depends on nothing of synwall, so every other crate can
//! depend on it without a cycle. The one exception to "no packet logic" is a pure function of
//! the wire, the Internet checksum: the engine (the packets it forges) and the test kit (the
//! frames it builds and checks) both need it, and the workspace keeps one implementation.
//!
//! - [`checksum`]: the Internet checksum and the transport pseudo-header.
//! - [`reasons`]: drop reasons, session-end reasons, actions, floods; one list each for
//!   counters, logs and metrics.
//! - [`dir`]: which way a packet travels within its session.
//! - [`proto`]: IP protocol numbers and their names.
//! - [`tcp`]: TCP flag bits and their PAN-OS letters.
//! - [`app`]: application ids and names.
//! - [`ids`]: markers and limits of the ids the engine hands out.

pub mod app;
pub mod checksum;
pub mod dir;
pub mod ids;
pub mod proto;
pub mod reasons;
pub mod tcp;
