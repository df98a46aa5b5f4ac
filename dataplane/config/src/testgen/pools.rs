//! The words the generator draws from: right ones per field, wrong ones, and YAML's oddities.

/// Scalars that mean something special to YAML or to the loader.
pub(super) const WEIRD: &[&str] = &[
    "~",
    "null",
    "yes",
    "no",
    "on",
    "off",
    "true",
    "FALSE",
    ".inf",
    "-.inf",
    ".nan",
    "0x7fffffff",
    "0o777",
    "0b1010",
    "1e309",
    "-0",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775809",
    "340282366920938463463374607431768211456",
    "1_000",
    "12:30:00",
    "2001-01-01",
    "!!binary aGVsbG8=",
    "!!str 80",
    "!custom tag",
    "''",
    "\"\"",
    "[]",
    "{}",
];

/// Strings for names and free text (wrong almost everywhere).
pub(super) const TEXT: &[&str] = &[
    "",
    " ",
    "ünïcødé",
    "日本語のゾーン",
    "\u{202e}evil\u{202c}",
    "emoji-🔥",
    "tab\there",
    "new\nline",
    "quote\"d",
    "back\\slash",
    "nul\u{0}byte",
    "a.b[0]",
    "#not-a-comment",
    "-dash",
    ":colon",
    "x-very-long-name-that-goes-past-sixty-three-characters-for-the-name-limit-check",
];

pub(super) const ZONES: &[&str] = &["trust", "untrust", "any"];
pub(super) const BAD_ZONES: &[&str] = &["nowhere", "Trust", "dmz"];
pub(super) const ADDRESSES: &[&str] = &[
    "any",
    "10.0.0.0/8",
    "192.0.2.1",
    "192.0.2.1-192.0.2.9",
    "2001:db8::/32",
    "::/0",
    "fd00::1",
];
pub(super) const BAD_ADDRESSES: &[&str] = &[
    "192.0.2.9-192.0.2.1",
    "10.0.0.1/24",
    "300.1.1.1",
    "10.0.0.0/33",
    "fd00::/129",
    "10.0.0.1-fd00::1",
    "nowhere",
];
pub(super) const PORTS: &[&str] = &["80", "8080-8090", "1", "65535"];
pub(super) const BAD_PORTS: &[&str] = &["0", "65536", "90-80", "1-2-3", "-1", "http", ""];
pub(super) const APPS: &[&str] = &["web-browsing", "ssl", "dns", "ssh"];
pub(super) const BAD_APPS: &[&str] = &["no-such-app", "Web Browsing"];
pub(super) const ACTIONS: &[&str] = &[
    "allow",
    "deny",
    "drop",
    "drop-icmp",
    "reset-client",
    "reset-server",
    "reset-both",
];
pub(super) const BAD_ACTIONS: &[&str] = &["permit", "ALLOW", "reject"];
