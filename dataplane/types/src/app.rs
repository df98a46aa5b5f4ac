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
    "web-browsing",
    "ssl",
    "dns",
    "ssh",
    "smtp",
    "ftp",
    "pop3",
    "imap",
    "ntp",
    "dhcp",
    "sip",
    "bittorrent",
    "quic",
    "ms-rdp",
    "mysql",
    "postgres",
    "snmp",
    "ping",
    "icmp",
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

// Named applications (identified by content in the engine's `appid`).
pub const WEB_BROWSING: u16 = 7;
pub const SSL: u16 = 8;
pub const DNS: u16 = 9;
pub const SSH: u16 = 10;
pub const SMTP: u16 = 11;
pub const FTP: u16 = 12;
pub const POP3: u16 = 13;
pub const IMAP: u16 = 14;
pub const NTP: u16 = 15;
pub const DHCP: u16 = 16;
pub const SIP: u16 = 17;
pub const BITTORRENT: u16 = 18;
pub const QUIC: u16 = 19;
pub const MS_RDP: u16 = 20;
pub const MYSQL: u16 = 21;
pub const POSTGRES: u16 = 22;
pub const SNMP: u16 = 23;
/// ICMP / ICMPv6 echo.
pub const PING: u16 = 24;
/// Any other ICMP / ICMPv6.
pub const ICMP: u16 = 25;

/// The name of an application id.
pub fn name(id: u16) -> &'static str {
    APP_NAMES.get(id as usize).copied().unwrap_or("unknown")
}

/// The id of an application name.
pub fn id(name: &str) -> Option<u16> {
    APP_NAMES.iter().position(|n| *n == name).map(|i| i as u16)
}

/// All names, owned (for a `NameTable`).
pub fn names() -> Vec<String> {
    APP_NAMES.iter().map(|s| s.to_string()).collect()
}
