//! Content-based application identification (PAN-OS App-ID style).
//!
//! Content decides, not ports: HTTP on 8081 is `web-browsing`, random bytes on port 80 are
//! `unknown-tcp`. Ports only matter for `application-default` ([`is_default_port`]).
//!
//! Per session the caller keeps an [`AppState`] (4 bytes, `Copy`) and calls [`inspect`] for
//! each packet with payload until it returns `Some(app id)`; after that the stage is never
//! called again for the session (zero cost after the decision). When a session ends
//! undecided, [`final_reason`] names it.
//!
//! # Bounds
//! - Signatures are matched on each of the first 4 payload packets per direction, on at most
//!   the first [`MAX_INSPECT`] (2 KB) bytes of each. Nothing allocates.
//!
//! # Thresholds (no signature matched)
//! - **TCP**: after >= [`TCP_MAX_PACKETS`] (4) payload packets or >= [`TCP_MAX_BYTES`]
//!   (512) payload bytes in total (both directions) -> `unknown-tcp`, or `unknown-p2p` when
//!   the p2p heuristic says so.
//! - **UDP**: after the first payload packet in each direction, or after
//!   [`UDP_MAX_PACKETS`] (2) payload packets in total -> `unknown-udp` (or `unknown-p2p`).
//! - Session ends undecided ([`final_reason`]): TCP without a completed handshake or without
//!   any payload -> `incomplete`; TCP with payload below the threshold ->
//!   `insufficient-data`; UDP with payload -> `unknown-udp` (`unknown-p2p` if the heuristic
//!   holds), UDP without payload -> `incomplete`; ICMP/ICMPv6 (1/58) -> `ping` for echo,
//!   else `icmp`; anything else -> `not-applicable`.
//!
//! # unknown-p2p heuristic
//! A payload is *high-entropy* when, over its first 64 bytes (at least 16 needed), printable
//! ASCII is not a majority and the number of distinct byte values is >= 60% of the bytes
//! looked at. The first payload of each direction is classified. A flow is `unknown-p2p` when
//! both first payloads are high-entropy and: it is UDP, or it is TCP with both ports >= 1024
//! (given by [`AppState::for_ports`]).

pub mod signatures;
#[cfg(test)]
mod tests;

pub use signatures::identify;

use crate::app;

/// At most this many bytes of one payload are looked at.
pub const MAX_INSPECT: usize = 2048;
/// TCP: payload packets (both directions) after which an unmatched flow is decided.
pub const TCP_MAX_PACKETS: u8 = 4;
/// TCP: payload bytes (both directions) after which an unmatched flow is decided.
pub const TCP_MAX_BYTES: u32 = 512;
/// UDP: payload packets (both directions) after which an unmatched flow is decided.
pub const UDP_MAX_PACKETS: u8 = 2;
/// Bytes looked at by the entropy heuristic.
pub const ENTROPY_WINDOW: usize = 64;

const DECIDED: u32 = 1;
const C2S_HIGH: u32 = 2;
const S2C_HIGH: u32 = 4;
const HIGH_PORTS: u32 = 8;
const FLAG_BITS: u32 = 4;
const FLAGS_MASK: u32 = (1 << FLAG_BITS) - 1;
const _: () = assert!((DECIDED | C2S_HIGH | S2C_HIGH | HIGH_PORTS) & !FLAGS_MASK == 0);

// Why the counters can be this narrow. Every decision reads them only through these
// comparisons (`inspect`, `final_reason`):
// - packets, per direction: `== 0` (first payload of the direction), `> 0` (UDP: both ways),
//   `< TCP_MAX_PACKETS` (the signature window);
// - packets, both directions summed: `> 0`, `>= UDP_MAX_PACKETS`, `>= / < TCP_MAX_PACKETS`;
// - bytes, both directions summed: `>= / < TCP_MAX_BYTES`. Per-direction bytes decide nothing.
// A counter kept as `min(true count, cap)` answers `x < t` / `x >= t` exactly for every
// threshold `t <= cap`, and so does a sum of two such counters: if neither is clamped the sum
// is exact; if one is, both the true and the clamped sum are >= cap >= t. So packets saturate
// at the largest packet threshold (4: 3 bits each way) and bytes at `TCP_MAX_BYTES` (512:
// 10 bits each way). The thresholds are constants; the widths below are derived from them
// and a larger threshold that no longer fits in 32 bits fails the build.

/// [`AppState`]'s packet counters saturate here (the largest packet threshold).
const PKTS_CAP: u32 = if TCP_MAX_PACKETS > UDP_MAX_PACKETS {
    TCP_MAX_PACKETS as u32
} else {
    UDP_MAX_PACKETS as u32
};
/// [`AppState`]'s byte counters saturate here (the byte threshold).
const BYTES_CAP: u32 = TCP_MAX_BYTES;

/// Bits needed to hold `0..=max`.
const fn bits_for(max: u32) -> u32 {
    u32::BITS - max.leading_zeros()
}
const PKTS_BITS: u32 = bits_for(PKTS_CAP);
const BYTES_BITS: u32 = bits_for(BYTES_CAP);
// Layout of `AppState::bits`, low to high: flags (4), c2s packets (3), s2c packets (3),
// c2s bytes (10), s2c bytes (10); 30 of 32 bits.
const C2S_PKTS_SHIFT: u32 = FLAG_BITS;
const S2C_PKTS_SHIFT: u32 = C2S_PKTS_SHIFT + PKTS_BITS;
const C2S_BYTES_SHIFT: u32 = S2C_PKTS_SHIFT + PKTS_BITS;
const S2C_BYTES_SHIFT: u32 = C2S_BYTES_SHIFT + BYTES_BITS;
const _: () = assert!(S2C_BYTES_SHIFT + BYTES_BITS <= u32::BITS);
// The accessors' return types hold the caps.
const _: () = assert!(PKTS_CAP <= u8::MAX as u32 && BYTES_CAP <= u16::MAX as u32);

/// Per-session App-ID progress: payload packets and bytes per direction (saturating, see
/// [`AppState::PKTS_CAP`] / [`AppState::BYTES_CAP`]), the decided flag and the p2p hints,
/// packed in one `u32`. `Copy`; the engine keeps one per session slot beside the table.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct AppState {
    bits: u32,
}

const _: () = assert!(core::mem::size_of::<AppState>() <= 4);

impl core::fmt::Debug for AppState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AppState")
            .field("c2s_bytes", &self.c2s_bytes())
            .field("s2c_bytes", &self.s2c_bytes())
            .field("c2s_pkts", &self.c2s_pkts())
            .field("s2c_pkts", &self.s2c_pkts())
            .field("flags", &(self.bits & FLAGS_MASK))
            .finish()
    }
}

impl AppState {
    /// The packet counters stop here: the largest packet threshold ([`TCP_MAX_PACKETS`],
    /// [`UDP_MAX_PACKETS`]), so a saturated count still compares exactly with each of them.
    pub const PKTS_CAP: u8 = PKTS_CAP as u8;
    /// The byte counters stop here: [`TCP_MAX_BYTES`], the only byte threshold.
    pub const BYTES_CAP: u16 = BYTES_CAP as u16;

    /// The packed state, for a session snapshot (`crate::pipeline::SessionSnapshot`).
    pub const fn bits(self) -> u32 {
        self.bits
    }

    /// A state from [`AppState::bits`] (a snapshot installed in another engine).
    pub const fn from_bits(bits: u32) -> Self {
        AppState { bits }
    }

    /// A fresh state; the ports feed the TCP p2p heuristic (both >= 1024).
    pub fn for_ports(client_port: u16, server_port: u16) -> Self {
        let bits = if client_port >= 1024 && server_port >= 1024 {
            HIGH_PORTS
        } else {
            0
        };
        AppState { bits }
    }

    /// `inspect` has returned an app id.
    pub fn decided(&self) -> bool {
        self.bits & DECIDED != 0
    }

    /// Payload bytes seen client->server, saturating at [`Self::BYTES_CAP`].
    pub fn c2s_bytes(&self) -> u16 {
        self.field(C2S_BYTES_SHIFT, BYTES_BITS) as u16
    }

    /// Payload bytes seen server->client, saturating at [`Self::BYTES_CAP`].
    pub fn s2c_bytes(&self) -> u16 {
        self.field(S2C_BYTES_SHIFT, BYTES_BITS) as u16
    }

    /// Payload packets seen client->server, saturating at [`Self::PKTS_CAP`].
    pub fn c2s_pkts(&self) -> u8 {
        self.field(C2S_PKTS_SHIFT, PKTS_BITS) as u8
    }

    /// Payload packets seen server->client, saturating at [`Self::PKTS_CAP`].
    pub fn s2c_pkts(&self) -> u8 {
        self.field(S2C_PKTS_SHIFT, PKTS_BITS) as u8
    }

    fn field(&self, shift: u32, width: u32) -> u32 {
        (self.bits >> shift) & ((1 << width) - 1)
    }

    fn set_field(&mut self, shift: u32, width: u32, value: u32) {
        let mask = ((1 << width) - 1) << shift;
        self.bits = (self.bits & !mask) | ((value << shift) & mask);
    }

    /// Payload packets seen in one direction (saturating).
    fn pkts(&self, client: bool) -> u8 {
        if client {
            self.c2s_pkts()
        } else {
            self.s2c_pkts()
        }
    }

    /// Counts one payload of `len` bytes in one direction; both counters saturate.
    fn count(&mut self, client: bool, len: usize) {
        let (pkts_shift, bytes_shift) = if client {
            (C2S_PKTS_SHIFT, C2S_BYTES_SHIFT)
        } else {
            (S2C_PKTS_SHIFT, S2C_BYTES_SHIFT)
        };
        let pkts = (self.field(pkts_shift, PKTS_BITS) + 1).min(PKTS_CAP);
        self.set_field(pkts_shift, PKTS_BITS, pkts);
        let add = len.min(BYTES_CAP as usize) as u32;
        let bytes = (self.field(bytes_shift, BYTES_BITS) + add).min(BYTES_CAP);
        self.set_field(bytes_shift, BYTES_BITS, bytes);
    }

    fn total_pkts(&self) -> u32 {
        self.c2s_pkts() as u32 + self.s2c_pkts() as u32
    }

    fn total_bytes(&self) -> u32 {
        self.c2s_bytes() as u32 + self.s2c_bytes() as u32
    }

    fn p2p(&self, proto: u8) -> bool {
        let both = self.bits & (C2S_HIGH | S2C_HIGH) == C2S_HIGH | S2C_HIGH;
        both && (proto == signatures::UDP || self.bits & HIGH_PORTS != 0)
    }

    fn decide(&mut self, id: u16) -> Option<u16> {
        self.bits |= DECIDED;
        Some(id)
    }
}

/// Inspect one packet's payload. Returns `Some(app id)` once decided (then the caller stops
/// calling); `None` means "not yet". Empty payloads are ignored. On `ssl`, the SNI (if any)
/// is written to `sni_out` (NUL-padded, truncated to 48 bytes; see [`sni_str`]).
pub fn inspect(
    state: &mut AppState,
    proto: u8,
    dir_is_client: bool,
    payload: &[u8],
    sni_out: &mut [u8; 48],
) -> Option<u16> {
    if state.decided() || payload.is_empty() {
        return None;
    }
    if proto != signatures::TCP && proto != signatures::UDP {
        return None;
    }
    let p = &payload[..payload.len().min(MAX_INSPECT)];
    let high = if dir_is_client { C2S_HIGH } else { S2C_HIGH };
    let first = state.pkts(dir_is_client) == 0;
    let within = state.pkts(dir_is_client) < TCP_MAX_PACKETS;
    state.count(dir_is_client, payload.len());
    if within {
        if let Some(id) = identify(proto, dir_is_client, p, sni_out) {
            return state.decide(id);
        }
    }
    if first && high_entropy(p) {
        state.bits |= high;
    }
    if proto == signatures::TCP {
        if state.total_pkts() >= TCP_MAX_PACKETS as u32 || state.total_bytes() >= TCP_MAX_BYTES {
            let id = if state.p2p(proto) {
                app::UNKNOWN_P2P
            } else {
                app::UNKNOWN_TCP
            };
            return state.decide(id);
        }
    } else {
        let both_ways = state.c2s_pkts() > 0 && state.s2c_pkts() > 0;
        if both_ways || state.total_pkts() >= UDP_MAX_PACKETS as u32 {
            let id = if state.p2p(proto) {
                app::UNKNOWN_P2P
            } else {
                app::UNKNOWN_UDP
            };
            return state.decide(id);
        }
    }
    None
}

/// The app of a session that ends undecided (see the module docs). `is_echo`: for ICMP /
/// ICMPv6 (proto 1 / 58), the session is an echo request/reply exchange.
pub fn final_reason(state: &AppState, proto: u8, handshake_complete: bool, is_echo: bool) -> u16 {
    let has_payload = state.total_pkts() > 0;
    match proto {
        signatures::TCP => {
            if !handshake_complete || !has_payload {
                app::INCOMPLETE
            } else if state.total_pkts() < TCP_MAX_PACKETS as u32
                && state.total_bytes() < TCP_MAX_BYTES
            {
                app::INSUFFICIENT_DATA
            } else if state.p2p(proto) {
                app::UNKNOWN_P2P
            } else {
                app::UNKNOWN_TCP
            }
        }
        signatures::UDP => {
            if !has_payload {
                app::INCOMPLETE
            } else if state.p2p(proto) {
                app::UNKNOWN_P2P
            } else {
                app::UNKNOWN_UDP
            }
        }
        1 | 58 => {
            if is_echo {
                app::PING
            } else {
                app::ICMP
            }
        }
        _ => app::NOT_APPLICABLE,
    }
}

/// The SNI written by [`inspect`] as text (up to the first NUL; empty if none or not UTF-8).
pub fn sni_str(sni: &[u8; 48]) -> &str {
    let n = sni.iter().position(|&b| b == 0).unwrap_or(sni.len());
    core::str::from_utf8(&sni[..n]).unwrap_or("")
}

/// The p2p heuristic's per-payload test (see the module docs).
pub fn high_entropy(payload: &[u8]) -> bool {
    let w = &payload[..payload.len().min(ENTROPY_WINDOW)];
    if w.len() < 16 {
        return false;
    }
    let mut seen = [0u64; 4];
    let mut printable = 0usize;
    let mut distinct = 0usize;
    for &b in w {
        if (0x20..0x7f).contains(&b) || b == b'\r' || b == b'\n' || b == b'\t' {
            printable += 1;
        }
        let (i, bit) = ((b >> 6) as usize, 1u64 << (b & 63));
        if seen[i] & bit == 0 {
            seen[i] |= bit;
            distinct += 1;
        }
    }
    printable * 2 <= w.len() && distinct * 10 >= w.len() * 6
}

const TCP: u8 = 6;
const UDP: u8 = 17;
const ANY: u16 = u16::MAX;

/// An application's default ports: `(ip proto, first port, last port)`. ICMP apps list their
/// protocols with the whole range (ports are meaningless there). Reasons (ids 0..=6) have none.
pub fn default_ports(app: u16) -> &'static [(u8, u16, u16)] {
    match app {
        app::WEB_BROWSING => &[(TCP, 80, 80)],
        app::SSL => &[(TCP, 443, 443)],
        app::DNS => &[(TCP, 53, 53), (UDP, 53, 53)],
        app::SSH => &[(TCP, 22, 22)],
        app::SMTP => &[(TCP, 25, 25), (TCP, 587, 587)],
        app::FTP => &[(TCP, 21, 21)],
        app::POP3 => &[(TCP, 110, 110)],
        app::IMAP => &[(TCP, 143, 143)],
        app::NTP => &[(UDP, 123, 123)],
        app::DHCP => &[(UDP, 67, 68)],
        app::SIP => &[(TCP, 5060, 5060), (UDP, 5060, 5060)],
        app::BITTORRENT => &[(TCP, 6881, 6889), (UDP, 6881, 6889)],
        app::QUIC => &[(UDP, 443, 443)],
        app::MS_RDP => &[(TCP, 3389, 3389)],
        app::MYSQL => &[(TCP, 3306, 3306)],
        app::POSTGRES => &[(TCP, 5432, 5432)],
        app::SNMP => &[(UDP, 161, 162)],
        app::PING | app::ICMP => &[(1, 0, ANY), (58, 0, ANY)],
        _ => &[],
    }
}

/// `application-default` hook for the policy: is (`proto`, `port`) a default port of the
/// named app? Unknown names and the reasons (`unknown-tcp`, ...) have no default ports.
pub fn is_default_port(app_name: &str, proto: u8, port: u16) -> bool {
    match app::id(app_name) {
        Some(id) => default_ports(id)
            .iter()
            .any(|&(pr, lo, hi)| pr == proto && (lo..=hi).contains(&port)),
        None => false,
    }
}
