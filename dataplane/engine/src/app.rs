//! Application names and ids. Ids index [`APP_NAMES`]; the first ids are PAN-OS's reasons for
//! not naming an application. The app-ID stage appends identified applications after them.

/// Every application name, by id.
pub const APP_NAMES: &[&str] = &[
    "incomplete",
    "insufficient-data",
    "unknown-tcp",
    "unknown-udp",
    "unknown-p2p",
    "not-applicable",
    "non-syn-tcp",
];

/// The handshake did not complete, or no data followed it.
pub const INCOMPLETE: u16 = 0;
pub const INSUFFICIENT_DATA: u16 = 1;
pub const UNKNOWN_TCP: u16 = 2;
pub const UNKNOWN_UDP: u16 = 3;
pub const UNKNOWN_P2P: u16 = 4;
pub const NOT_APPLICABLE: u16 = 5;
/// Picked up mid-stream (`tcp_reject_non_syn: false`).
pub const NON_SYN_TCP: u16 = 6;

/// The name of an application id.
pub fn name(id: u16) -> &'static str {
    APP_NAMES.get(id as usize).copied().unwrap_or("unknown")
}

/// All names, owned (for a `NameTable`).
pub fn names() -> Vec<String> {
    APP_NAMES.iter().map(|s| s.to_string()).collect()
}
