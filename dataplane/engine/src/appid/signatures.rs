//! Content signatures: one stateless matcher per named application. Each looks only at the
//! start of one payload (the caller truncates it to [`super::MAX_INSPECT`] bytes), never
//! allocates, and never panics on short or malformed input.

use crate::app;

/// IP protocol numbers.
pub const TCP: u8 = 6;
pub const UDP: u8 = 17;

/// Match one payload against every signature valid for `proto`. `from_client` is the
/// direction (client = session initiator). On an `ssl` match the SNI, if any, is copied into
/// `sni_out` (truncated to 48 bytes, rest zero-filled).
pub fn identify(proto: u8, from_client: bool, p: &[u8], sni_out: &mut [u8; 48]) -> Option<u16> {
    if p.is_empty() {
        return None;
    }
    match proto {
        TCP => identify_tcp(from_client, p, sni_out),
        UDP => identify_udp(p),
        _ => None,
    }
}

fn identify_tcp(from_client: bool, p: &[u8], sni_out: &mut [u8; 48]) -> Option<u16> {
    if is_tls_client_hello(p) {
        tls_sni(p, sni_out);
        return Some(app::SSL);
    }
    if is_http(p) {
        return Some(app::WEB_BROWSING);
    }
    if p.starts_with(b"SSH-2.0-") || p.starts_with(b"SSH-1.") {
        return Some(app::SSH);
    }
    if is_bittorrent(p) {
        return Some(app::BITTORRENT);
    }
    if is_sip(p) {
        return Some(app::SIP);
    }
    if is_rdp(p) {
        return Some(app::MS_RDP);
    }
    if is_postgres(p) {
        return Some(app::POSTGRES);
    }
    if is_mysql_greeting(p) {
        return Some(app::MYSQL);
    }
    // Banner protocols (server speaks first) and their client commands.
    if p.starts_with(b"220 ") || p.starts_with(b"220-") {
        let line = first_line(p);
        if contains(line, b"SMTP") {
            return Some(app::SMTP);
        }
        if contains_ci(line, b"FTP") {
            return Some(app::FTP);
        }
    }
    if p.starts_with(b"+OK") {
        return Some(app::POP3);
    }
    if p.starts_with(b"* OK") && contains(first_line(p), b"IMAP") {
        return Some(app::IMAP);
    }
    if from_client {
        if starts_with_ci(p, b"EHLO ") || starts_with_ci(p, b"HELO ") {
            return Some(app::SMTP);
        }
        if starts_with_ci(p, b"USER ") || starts_with_ci(p, b"PASS ") {
            return Some(app::FTP);
        }
        if is_imap_client(p) {
            return Some(app::IMAP);
        }
    }
    // DNS over TCP: 2-byte length prefix.
    if p.len() >= 14 {
        let len = u16::from_be_bytes([p[0], p[1]]) as usize;
        if len >= 12 && is_dns(&p[2..]) {
            return Some(app::DNS);
        }
    }
    None
}

fn identify_udp(p: &[u8]) -> Option<u16> {
    if is_quic(p) {
        return Some(app::QUIC);
    }
    if is_dhcp(p) {
        return Some(app::DHCP);
    }
    if is_snmp(p) {
        return Some(app::SNMP);
    }
    if is_sip(p) {
        return Some(app::SIP);
    }
    if is_bittorrent(p) {
        return Some(app::BITTORRENT);
    }
    if is_dns(p) {
        return Some(app::DNS);
    }
    if is_ntp(p) {
        return Some(app::NTP);
    }
    None
}

// ---- helpers ------------------------------------------------------------------------------

/// Up to the first CR or LF (at most 512 bytes).
fn first_line(p: &[u8]) -> &[u8] {
    let p = &p[..p.len().min(512)];
    let end = p
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(p.len());
    &p[..end]
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

fn starts_with_ci(p: &[u8], prefix: &[u8]) -> bool {
    p.len() >= prefix.len() && p[..prefix.len()].eq_ignore_ascii_case(prefix)
}

fn be16(p: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*p.get(at)?, *p.get(at + 1)?]))
}

fn be32(p: &[u8], at: usize) -> Option<u32> {
    let b = p.get(at..at + 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

// ---- web-browsing -------------------------------------------------------------------------

const HTTP_METHODS: &[&[u8]] = &[
    b"GET ",
    b"POST ",
    b"HEAD ",
    b"PUT ",
    b"DELETE ",
    b"OPTIONS ",
    b"PATCH ",
    b"CONNECT ",
];

fn is_http(p: &[u8]) -> bool {
    if p.starts_with(b"HTTP/1.") {
        return true;
    }
    HTTP_METHODS.iter().any(|m| p.starts_with(m)) && contains(first_line(p), b" HTTP/1.")
}

// ---- ssl ----------------------------------------------------------------------------------

/// TLS record: handshake (0x16), version 0x03 0x00..=0x04, handshake type ClientHello (1).
fn is_tls_client_hello(p: &[u8]) -> bool {
    p.len() >= 6 && p[0] == 0x16 && p[1] == 0x03 && p[2] <= 0x04 && p[5] == 0x01
}

/// Copy the server_name (extension 0, host_name type 0) of a ClientHello into `out`.
/// Returns the name's full length (it may exceed 48; the copy is truncated).
pub fn tls_sni(p: &[u8], out: &mut [u8; 48]) -> Option<usize> {
    // record header (5) + handshake type (1) + length (3) + version (2) + random (32)
    let mut at = 5 + 4 + 2 + 32;
    let sid_len = *p.get(at)? as usize;
    at += 1 + sid_len;
    let cs_len = be16(p, at)? as usize;
    at += 2 + cs_len;
    let comp_len = *p.get(at)? as usize;
    at += 1 + comp_len;
    let ext_total = be16(p, at)? as usize;
    at += 2;
    let ext_end = at.checked_add(ext_total)?.min(p.len());
    while at + 4 <= ext_end {
        let ty = be16(p, at)?;
        let len = be16(p, at + 2)? as usize;
        at += 4;
        if ty == 0 {
            // server_name_list length (2), name_type (1), name length (2), name
            if *p.get(at + 2)? != 0 {
                return None;
            }
            let name_len = be16(p, at + 3)? as usize;
            let start = at + 5;
            let name = p.get(start..start.checked_add(name_len)?.min(p.len()))?;
            if name.is_empty() {
                return None;
            }
            let n = name.len().min(out.len());
            out[..n].copy_from_slice(&name[..n]);
            out[n..].fill(0);
            return Some(name_len);
        }
        at += len;
    }
    None
}

// ---- dns ----------------------------------------------------------------------------------

/// Header sanity (QDCOUNT 1..=4, opcode 0..=5, answer counts bounded) and a parseable first
/// question name followed by QTYPE/QCLASS.
fn is_dns(p: &[u8]) -> bool {
    if p.len() < 12 + 1 + 4 {
        return false;
    }
    let opcode = (p[2] >> 3) & 0x0f;
    let qd = u16::from_be_bytes([p[4], p[5]]);
    let an = u16::from_be_bytes([p[6], p[7]]);
    let ns = u16::from_be_bytes([p[8], p[9]]);
    let ar = u16::from_be_bytes([p[10], p[11]]);
    if opcode > 5 || !(1..=4).contains(&qd) || an > 256 || ns > 256 || ar > 256 {
        return false;
    }
    // Z bit (0x40 of the flags' low byte) must be zero.
    if p[3] & 0x40 != 0 {
        return false;
    }
    let mut at = 12;
    let mut total = 0usize;
    loop {
        let Some(&len) = p.get(at) else {
            return false;
        };
        if len == 0 {
            at += 1;
            break;
        }
        if len > 63 {
            return false;
        }
        let label = match p.get(at + 1..at + 1 + len as usize) {
            Some(l) => l,
            None => return false,
        };
        if !label
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'*')
        {
            return false;
        }
        total += len as usize + 1;
        if total > 255 {
            return false;
        }
        at += 1 + len as usize;
    }
    let (Some(qtype), Some(qclass)) = (be16(p, at), be16(p, at + 2)) else {
        return false;
    };
    qtype != 0 && (qclass == 1 || qclass == 3 || qclass == 4 || qclass == 255)
}

// ---- ntp, dhcp, quic, snmp (UDP) ----------------------------------------------------------

/// 48-byte header (optionally followed by a 20/24-byte MAC), version 3/4, mode 1..=5.
fn is_ntp(p: &[u8]) -> bool {
    if !matches!(p.len(), 48 | 68 | 72) {
        return false;
    }
    let version = (p[0] >> 3) & 0x07;
    let mode = p[0] & 0x07;
    (3..=4).contains(&version) && (1..=5).contains(&mode)
}

/// BOOTP op 1/2, hlen <= 16, magic cookie 0x63825363 at offset 236.
fn is_dhcp(p: &[u8]) -> bool {
    p.len() >= 240 && (p[0] == 1 || p[0] == 2) && p[2] <= 16 && be32(p, 236) == Some(0x6382_5363)
}

/// Long header (first byte & 0xc0 == 0xc0), version 1 or 2 (0x6b3343cf).
fn is_quic(p: &[u8]) -> bool {
    p.len() >= 7
        && p[0] & 0xc0 == 0xc0
        && matches!(be32(p, 1), Some(0x0000_0001) | Some(0x6b33_43cf))
}

/// ASN.1 SEQUENCE, INTEGER version 0..=3, then community OCTET STRING (v1/v2c) or the v3
/// header SEQUENCE.
fn is_snmp(p: &[u8]) -> bool {
    if p.len() < 8 || p[0] != 0x30 {
        return false;
    }
    // Length: short form, or long form with 1 or 2 length bytes.
    let at = match p[1] {
        l if l < 0x80 => 2,
        0x81 => 3,
        0x82 => 4,
        _ => return false,
    };
    let (Some(&t), Some(&l), Some(&v), Some(&next)) =
        (p.get(at), p.get(at + 1), p.get(at + 2), p.get(at + 3))
    else {
        return false;
    };
    if t != 0x02 || l != 0x01 || v > 3 {
        return false;
    }
    match v {
        3 => next == 0x30,
        _ => next == 0x04,
    }
}

// ---- sip, bittorrent ----------------------------------------------------------------------

const SIP_METHODS: &[&[u8]] = &[
    b"INVITE ",
    b"REGISTER ",
    b"OPTIONS ",
    b"ACK ",
    b"BYE ",
    b"CANCEL ",
    b"SUBSCRIBE ",
    b"NOTIFY ",
    b"MESSAGE ",
];

fn is_sip(p: &[u8]) -> bool {
    if p.starts_with(b"SIP/2.0 ") {
        return true;
    }
    SIP_METHODS.iter().any(|m| p.starts_with(m)) && first_line(p).ends_with(b" SIP/2.0")
}

fn is_bittorrent(p: &[u8]) -> bool {
    p.starts_with(b"\x13BitTorrent protocol")
}

// ---- ms-rdp, mysql, postgres --------------------------------------------------------------

/// TPKT (0x03 0x00, length) + X.224 Connection Request (0xe0).
fn is_rdp(p: &[u8]) -> bool {
    if p.len() < 11 || p[0] != 0x03 || p[1] != 0x00 {
        return false;
    }
    let len = u16::from_be_bytes([p[2], p[3]]) as usize;
    len >= 11 && len <= p.len() + 2048 && p[5] & 0xf0 == 0xe0 && (p[4] as usize) + 5 <= len
}

/// Server greeting: 3-byte length, sequence 0, protocol 10, NUL-terminated printable version.
fn is_mysql_greeting(p: &[u8]) -> bool {
    if p.len() < 10 || p[3] != 0 || p[4] != 10 {
        return false;
    }
    let len = p[0] as usize | (p[1] as usize) << 8 | (p[2] as usize) << 16;
    if !(20..=1024).contains(&len) {
        return false;
    }
    let rest = &p[5..];
    match rest.iter().position(|&b| b == 0) {
        Some(n) if n >= 1 => rest[..n].iter().all(|b| b.is_ascii_graphic()),
        _ => false,
    }
}

/// Client StartupMessage (length, protocol 3.0 = 196608) or SSLRequest (length 8, 80877103).
fn is_postgres(p: &[u8]) -> bool {
    let (Some(len), Some(code)) = (be32(p, 0), be32(p, 4)) else {
        return false;
    };
    match code {
        196_608 => (9..=10_000).contains(&len),
        80_877_103 | 80_877_104 => len == 8,
        _ => false,
    }
}

// ---- imap client --------------------------------------------------------------------------

/// A tag (1..=16 alphanumerics / '.') then " LOGIN " / " CAPABILITY".
fn is_imap_client(p: &[u8]) -> bool {
    let tag_len = p
        .iter()
        .take(17)
        .position(|&b| b == b' ')
        .unwrap_or(usize::MAX);
    if tag_len == 0 || tag_len > 16 {
        return false;
    }
    if !p[..tag_len]
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || *b == b'.')
    {
        return false;
    }
    let cmd = &p[tag_len + 1..];
    starts_with_ci(cmd, b"LOGIN ")
        || (starts_with_ci(cmd, b"CAPABILITY")
            && matches!(cmd.get(10), None | Some(b'\r') | Some(b'\n')))
}
