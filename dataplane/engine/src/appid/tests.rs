use super::*;
use crate::app;
use synwall_testkit::payload::{
    dns_query, ClientHello, EC_POINT_FORMATS, SUPPORTED_VERSIONS_TLS13,
};

const TCP: u8 = 6;
const UDP: u8 = 17;

/// Feed one payload on a fresh state.
fn one(proto: u8, from_client: bool, p: &[u8]) -> Option<u16> {
    let mut st = AppState::default();
    let mut sni = [0u8; 48];
    inspect(&mut st, proto, from_client, p, &mut sni)
}

/// A ClientHello with a session id, TLS_AES_128_GCM_SHA256 and ECDHE-RSA-AES128-GCM, an
/// extension before server_name (so the walker must skip one) and, for TLS 1.3,
/// supported_versions after it.
fn tls_client_hello(sni: &str, tls13: bool) -> Vec<u8> {
    let after: &[u8] = if tls13 {
        &SUPPORTED_VERSIONS_TLS13
    } else {
        &[]
    };
    ClientHello {
        session_id: &[0x22; 32],
        cipher_suites: &[0x1301, 0xc02f],
        extensions_before: &EC_POINT_FORMATS,
        extensions_after: after,
        ..ClientHello::new(sni.as_bytes())
    }
    .record()
}

fn dhcp_discover() -> Vec<u8> {
    let mut p = vec![0u8; 300];
    p[0] = 1; // BOOTREQUEST
    p[1] = 1;
    p[2] = 6;
    p[236..240].copy_from_slice(&[0x63, 0x82, 0x53, 0x63]);
    p[240] = 53;
    p[241] = 1;
    p[242] = 1;
    p[243] = 255;
    p
}

/// Deterministic xorshift bytes.
fn random_bytes(seed: u64, n: usize) -> Vec<u8> {
    let mut rng = synwall_testkit::Rng::xorshift(seed | 1);
    (0..n).map(|_| (rng.next_u64() >> 24) as u8).collect()
}

#[test]
fn appid_names_table() {
    assert_eq!((app::INCOMPLETE, app::NON_SYN_TCP), (0, 6));
    assert_eq!(app::name(app::WEB_BROWSING), "web-browsing");
    assert_eq!(app::name(app::ICMP), "icmp");
    assert_eq!(app::id("ms-rdp"), Some(app::MS_RDP));
    assert_eq!(app::APP_NAMES.len(), 26);
    for id in app::WEB_BROWSING..=app::SNMP {
        assert!(!default_ports(id).is_empty(), "{}", app::name(id));
    }
}

#[test]
fn appid_each_named_app() {
    let mysql = {
        let mut g = vec![0u8; 4];
        g.push(10);
        g.extend_from_slice(b"8.0.36\0");
        g.extend_from_slice(&[1, 0, 0, 0]);
        g.extend_from_slice(b"abcdefgh\0");
        g.extend_from_slice(&[0xff, 0xf7, 0x21, 0x02, 0x00]);
        let len = g.len() - 4;
        g[0] = len as u8;
        g
    };
    let pg_startup = {
        let mut m = vec![0, 0, 0, 0, 0x00, 0x03, 0x00, 0x00];
        m.extend_from_slice(b"user\0alice\0database\0db\0\0");
        let len = m.len() as u32;
        m[..4].copy_from_slice(&len.to_be_bytes());
        m
    };
    let mut dns_tcp = Vec::new();
    let q = dns_query("example.com");
    dns_tcp.extend_from_slice(&(q.len() as u16).to_be_bytes());
    dns_tcp.extend_from_slice(&q);
    let mut ntp = vec![0u8; 48];
    ntp[0] = 0x23; // v4, client
    let snmp: &[u8] = &[
        0x30, 0x26, 0x02, 0x01, 0x01, 0x04, 0x06, b'p', b'u', b'b', b'l', b'i', b'c', 0xa0, 0x19,
        0x02, 0x04, 0x12, 0x34, 0x56, 0x78, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x0b, 0x30,
        0x09, 0x06, 0x05, 0x2b, 0x06, 0x01, 0x02, 0x01, 0x05, 0x00,
    ];
    let mut quic = vec![0xc3, 0x00, 0x00, 0x00, 0x01, 0x08];
    quic.extend_from_slice(&random_bytes(7, 1200));
    let rdp: &[u8] = &[
        0x03, 0x00, 0x00, 0x13, 0x0e, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x08, 0x00,
        0x03, 0x00, 0x00, 0x00,
    ];

    let cases: Vec<(u8, bool, Vec<u8>, u16)> = vec![
        (
            TCP,
            true,
            b"GET /index.html HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8.0\r\n\r\n"
                .to_vec(),
            app::WEB_BROWSING,
        ),
        (
            TCP,
            false,
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_vec(),
            app::WEB_BROWSING,
        ),
        (
            TCP,
            true,
            b"POST /api HTTP/1.0\r\n\r\n".to_vec(),
            app::WEB_BROWSING,
        ),
        (TCP, true, tls_client_hello("example.com", false), app::SSL),
        (TCP, true, tls_client_hello("example.com", true), app::SSL),
        (UDP, true, dns_query("example.com"), app::DNS),
        (TCP, true, dns_tcp, app::DNS),
        (TCP, false, b"SSH-2.0-OpenSSH_9.6\r\n".to_vec(), app::SSH),
        (TCP, true, b"SSH-1.99-client\r\n".to_vec(), app::SSH),
        (
            TCP,
            false,
            b"220 mail.example.com ESMTP Postfix\r\n".to_vec(),
            app::SMTP,
        ),
        (
            TCP,
            true,
            b"EHLO client.example.com\r\n".to_vec(),
            app::SMTP,
        ),
        (TCP, false, b"220 (vsFTPd 3.0.5)\r\n".to_vec(), app::FTP),
        (TCP, true, b"USER anonymous\r\n".to_vec(), app::FTP),
        (TCP, false, b"+OK POP3 server ready\r\n".to_vec(), app::POP3),
        (
            TCP,
            false,
            b"* OK [CAPABILITY IMAP4rev1 STARTTLS] Dovecot ready.\r\n".to_vec(),
            app::IMAP,
        ),
        (
            TCP,
            true,
            b"a001 LOGIN alice secret\r\n".to_vec(),
            app::IMAP,
        ),
        (TCP, true, b"A1 CAPABILITY\r\n".to_vec(), app::IMAP),
        (UDP, true, ntp, app::NTP),
        (UDP, true, dhcp_discover(), app::DHCP),
        (
            UDP,
            true,
            b"INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP pc33\r\n\r\n".to_vec(),
            app::SIP,
        ),
        (TCP, false, b"SIP/2.0 200 OK\r\n\r\n".to_vec(), app::SIP),
        (
            TCP,
            true,
            {
                let mut b = b"\x13BitTorrent protocol".to_vec();
                b.extend_from_slice(&[0; 8]);
                b.extend_from_slice(&[0xab; 40]);
                b
            },
            app::BITTORRENT,
        ),
        (UDP, true, quic, app::QUIC),
        (TCP, true, rdp.to_vec(), app::MS_RDP),
        (TCP, false, mysql, app::MYSQL),
        (TCP, true, pg_startup, app::POSTGRES),
        (
            TCP,
            true,
            vec![0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f],
            app::POSTGRES,
        ),
        (UDP, true, snmp.to_vec(), app::SNMP),
    ];
    let mut named = std::collections::HashSet::new();
    for (proto, client, p, want) in &cases {
        assert_eq!(
            one(*proto, *client, p),
            Some(*want),
            "{} payload {:?}",
            app::name(*want),
            String::from_utf8_lossy(&p[..p.len().min(40)])
        );
        named.insert(*want);
    }
    assert!(named.len() >= 17);
}

#[test]
fn appid_sni_extraction() {
    for tls13 in [false, true] {
        let mut st = AppState::for_ports(50000, 443);
        let mut sni = [0xffu8; 48];
        let hello = tls_client_hello("example.com", tls13);
        assert_eq!(
            inspect(&mut st, TCP, true, &hello, &mut sni),
            Some(app::SSL)
        );
        assert_eq!(sni_str(&sni), "example.com");
        assert!(st.decided());
    }
    // Long names are truncated to 48 bytes, no panic.
    let long = "a".repeat(60) + ".example.com";
    let mut sni = [0u8; 48];
    assert_eq!(
        signatures::tls_sni(&tls_client_hello(&long, false), &mut sni),
        Some(long.len())
    );
    assert_eq!(sni_str(&sni), &long[..48]);
    // Truncated hello: still ssl, no SNI.
    let hello = tls_client_hello("example.com", false);
    let mut sni = [0u8; 48];
    assert_eq!(one(TCP, true, &hello[..20]), Some(app::SSL));
    assert_eq!(signatures::tls_sni(&hello[..60], &mut sni), None);
    assert_eq!(sni_str(&sni), "");
}

#[test]
fn appid_content_not_ports() {
    // HTTP on 8081 is web-browsing (ports never reach the matcher).
    let mut st = AppState::for_ports(40000, 8081);
    let mut sni = [0u8; 48];
    let get = b"GET / HTTP/1.1\r\nHost: x:8081\r\n\r\n";
    assert_eq!(
        inspect(&mut st, TCP, true, get, &mut sni),
        Some(app::WEB_BROWSING)
    );
    // After the decision, nothing more.
    assert_eq!(inspect(&mut st, TCP, true, get, &mut sni), None);

    // Random bytes to port 80: unknown-tcp once 512 bytes are crossed (220+100+220).
    let mut st = AppState::for_ports(40000, 80);
    let junk = random_bytes(42, 220);
    assert_eq!(inspect(&mut st, TCP, true, &junk, &mut sni), None);
    assert_eq!(inspect(&mut st, TCP, false, &junk[..100], &mut sni), None);
    assert_eq!(
        inspect(&mut st, TCP, true, &junk, &mut sni),
        Some(app::UNKNOWN_TCP)
    );
    // Packet threshold: 4 small packets.
    let mut st = AppState::for_ports(40000, 80);
    for i in 0..3 {
        assert_eq!(inspect(&mut st, TCP, i % 2 == 0, b"zzzz", &mut sni), None);
    }
    assert_eq!(
        inspect(&mut st, TCP, true, b"zzzz", &mut sni),
        Some(app::UNKNOWN_TCP)
    );
}

#[test]
fn appid_final_reasons() {
    let mut sni = [0u8; 48];
    // No payload: incomplete (with or without handshake).
    let st = AppState::default();
    assert_eq!(final_reason(&st, TCP, true, false), app::INCOMPLETE);
    assert_eq!(final_reason(&st, TCP, false, false), app::INCOMPLETE);
    // A few bytes then end: insufficient-data.
    let mut st = AppState::for_ports(40000, 80);
    assert_eq!(inspect(&mut st, TCP, true, b"hi\r\n", &mut sni), None);
    assert_eq!(final_reason(&st, TCP, true, false), app::INSUFFICIENT_DATA);
    assert_eq!(final_reason(&st, TCP, false, false), app::INCOMPLETE);
    // UDP with payload, no answer: unknown-udp; no payload: incomplete.
    let mut st = AppState::default();
    assert_eq!(inspect(&mut st, UDP, true, b"hello there", &mut sni), None);
    assert_eq!(final_reason(&st, UDP, false, false), app::UNKNOWN_UDP);
    assert_eq!(
        final_reason(&AppState::default(), UDP, false, false),
        app::INCOMPLETE
    );
    // ICMP.
    let st = AppState::default();
    assert_eq!(final_reason(&st, 1, false, true), app::PING);
    assert_eq!(final_reason(&st, 58, false, true), app::PING);
    assert_eq!(final_reason(&st, 1, false, false), app::ICMP);
    assert_eq!(final_reason(&st, 47, false, false), app::NOT_APPLICABLE);
    // Non TCP/UDP never decides in inspect.
    let mut st = AppState::default();
    assert_eq!(inspect(&mut st, 1, true, b"abcdefgh", &mut sni), None);
}

#[test]
fn appid_udp_threshold_and_p2p() {
    let mut sni = [0u8; 48];
    // Printable, unmatched: unknown-udp after one packet each way.
    let mut st = AppState::default();
    assert_eq!(
        inspect(&mut st, UDP, true, b"hello hello hello", &mut sni),
        None
    );
    assert_eq!(
        inspect(&mut st, UDP, false, b"world world world", &mut sni),
        Some(app::UNKNOWN_UDP)
    );
    // Two packets one way: decided too.
    let mut st = AppState::default();
    assert_eq!(inspect(&mut st, UDP, true, b"abc", &mut sni), None);
    assert_eq!(
        inspect(&mut st, UDP, true, b"abc", &mut sni),
        Some(app::UNKNOWN_UDP)
    );
    // High entropy both ways: unknown-p2p.
    let mut st = AppState::default();
    assert_eq!(
        inspect(&mut st, UDP, true, &random_bytes(1, 120), &mut sni),
        None
    );
    assert_eq!(
        inspect(&mut st, UDP, false, &random_bytes(2, 120), &mut sni),
        Some(app::UNKNOWN_P2P)
    );
    // TCP: p2p only with both ports >= 1024.
    let mut st = AppState::for_ports(40000, 51413);
    assert_eq!(
        inspect(&mut st, TCP, true, &random_bytes(3, 100), &mut sni),
        None
    );
    assert_eq!(
        inspect(&mut st, TCP, false, &random_bytes(4, 600), &mut sni),
        Some(app::UNKNOWN_P2P)
    );
    let mut st = AppState::for_ports(40000, 80);
    assert_eq!(
        inspect(&mut st, TCP, true, &random_bytes(3, 100), &mut sni),
        None
    );
    assert_eq!(
        inspect(&mut st, TCP, false, &random_bytes(4, 600), &mut sni),
        Some(app::UNKNOWN_TCP)
    );
    assert!(high_entropy(&random_bytes(9, 64)));
    assert!(!high_entropy(
        b"GET / HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n"
    ));
    assert!(!high_entropy(&[0u8; 64]));
}

#[test]
fn appid_default_ports() {
    assert!(is_default_port("web-browsing", 6, 80));
    assert!(!is_default_port("web-browsing", 6, 8080));
    assert!(!is_default_port("web-browsing", 17, 80));
    assert!(is_default_port("dns", 17, 53) && is_default_port("dns", 6, 53));
    assert!(is_default_port("dhcp", 17, 67) && is_default_port("dhcp", 17, 68));
    assert!(is_default_port("bittorrent", 6, 6885) && !is_default_port("bittorrent", 6, 6890));
    assert!(is_default_port("snmp", 17, 162) && !is_default_port("snmp", 6, 161));
    assert!(is_default_port("smtp", 6, 587));
    assert!(is_default_port("ping", 1, 0));
    assert!(!is_default_port("unknown-tcp", 6, 80));
    assert!(!is_default_port("no-such-app", 6, 80));
    let hook: fn(&str, u8, u16) -> bool = is_default_port;
    assert!(hook("ssl", 6, 443));
}

#[test]
fn appid_fuzz_never_panics() {
    let mut sni = [0u8; 48];
    let seeds: Vec<Vec<u8>> = vec![
        tls_client_hello("example.com", true),
        dns_query("example.com"),
        dhcp_discover(),
        b"GET / HTTP/1.1\r\n\r\n".to_vec(),
        vec![0x30, 0x82, 0x00, 0x10, 0x02, 0x01, 0x03, 0x30],
        vec![0x03, 0x00, 0x00, 0x13, 0x0e, 0xe0],
        vec![0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f],
        random_bytes(5, 3000),
    ];
    for s in &seeds {
        for cut in 0..=s.len().min(400) {
            for proto in [TCP, UDP, 1, 132] {
                for client in [true, false] {
                    let _ = one(proto, client, &s[..cut]);
                    let _ = signatures::tls_sni(&s[..cut], &mut sni);
                }
            }
        }
    }
    for seed in 1..3000u64 {
        let n = (seed as usize * 7919) % 300;
        let mut p = random_bytes(seed, n);
        // Bias towards signature starts.
        if let Some(b) = p.first_mut() {
            *b = [0x16, 0x30, 0x03, b'G', 0xc3, 0x13][seed as usize % 6];
        }
        let mut st = AppState::for_ports(1024 + seed as u16, 2000);
        for i in 0..6 {
            let proto = if seed % 2 == 0 { TCP } else { UDP };
            if inspect(&mut st, proto, i % 2 == 0, &p, &mut sni).is_some() {
                break;
            }
        }
        let _ = final_reason(&st, TCP, true, false);
    }
    // Large payload: only 2 KB looked at.
    let big = vec![b'A'; 70_000];
    let mut st = AppState::default();
    assert_eq!(
        inspect(&mut st, TCP, true, &big, &mut sni),
        Some(app::UNKNOWN_TCP)
    );
    assert_eq!(st.c2s_bytes(), AppState::BYTES_CAP);
    assert_eq!(st.c2s_pkts(), 1);
}

#[test]
fn appid_state_is_4_bytes_and_fields_saturate() {
    assert!(core::mem::size_of::<AppState>() <= 4);
    assert_eq!(AppState::PKTS_CAP, TCP_MAX_PACKETS.max(UDP_MAX_PACKETS));
    assert_eq!(AppState::BYTES_CAP as u32, TCP_MAX_BYTES);

    // Packets: count up to the cap, then stay there (never wrap), per direction.
    let mut st = AppState::for_ports(40000, 50000);
    for i in 1..=AppState::PKTS_CAP {
        st.count(true, 0);
        assert_eq!(st.c2s_pkts(), i);
    }
    for _ in 0..1000 {
        st.count(true, 0);
    }
    assert_eq!(st.c2s_pkts(), AppState::PKTS_CAP);
    assert_eq!((st.s2c_pkts(), st.c2s_bytes(), st.s2c_bytes()), (0, 0, 0));
    assert!(st.bits & HIGH_PORTS != 0 && !st.decided());

    // Bytes: exact below the cap, the cap at and past it, never wrapping.
    let mut st = AppState::default();
    st.count(false, AppState::BYTES_CAP as usize - 1);
    assert_eq!(st.s2c_bytes(), AppState::BYTES_CAP - 1);
    st.count(false, 1);
    assert_eq!(st.s2c_bytes(), AppState::BYTES_CAP);
    st.count(false, 1);
    assert_eq!(st.s2c_bytes(), AppState::BYTES_CAP);
    st.count(false, usize::MAX);
    assert_eq!(st.s2c_bytes(), AppState::BYTES_CAP);
    let mut big = AppState::default();
    big.count(true, AppState::BYTES_CAP as usize + 1);
    assert_eq!(big.c2s_bytes(), AppState::BYTES_CAP);
    assert_eq!((st.s2c_pkts(), st.c2s_pkts(), st.c2s_bytes()), (4, 0, 0));

    // All fields at their maximum at once: none bleeds into another or into the flags.
    let mut st = AppState::default();
    for _ in 0..10 {
        st.count(true, usize::MAX);
        st.count(false, usize::MAX);
    }
    assert_eq!(
        (st.c2s_pkts(), st.s2c_pkts(), st.c2s_bytes(), st.s2c_bytes()),
        (4, 4, 512, 512)
    );
    assert_eq!(st.bits & FLAGS_MASK, 0);
    assert!(!st.decided() && !st.p2p(UDP));
}

#[test]
fn appid_thresholds_at_the_edges() {
    let mut sni = [0u8; 48];
    let text = [b'z'; 600];
    // TCP bytes: 511 in total is insufficient-data, the 512th decides.
    for split in [0usize, 1, 255, 510, 511] {
        let mut st = AppState::for_ports(40000, 80);
        if split > 0 {
            assert_eq!(inspect(&mut st, TCP, true, &text[..split], &mut sni), None);
        }
        if split < 511 {
            assert_eq!(
                inspect(&mut st, TCP, false, &text[..511 - split], &mut sni),
                None
            );
        }
        assert_eq!(final_reason(&st, TCP, true, false), app::INSUFFICIENT_DATA);
        assert_eq!(
            inspect(&mut st, TCP, split % 2 == 0, b"z", &mut sni),
            Some(app::UNKNOWN_TCP)
        );
    }
    // TCP bytes: one direction saturated, the other empty: still at the threshold.
    let mut st = AppState::for_ports(40000, 80);
    assert_eq!(
        inspect(&mut st, TCP, false, &text[..512], &mut sni),
        Some(app::UNKNOWN_TCP)
    );
    assert_eq!(st.total_bytes(), TCP_MAX_BYTES);
    // TCP packets: 3 is insufficient-data, the 4th decides, in any direction mix.
    for mask in 0..16u32 {
        let mut st = AppState::for_ports(40000, 80);
        for i in 0..3 {
            let client = mask & (1 << i) != 0;
            assert_eq!(inspect(&mut st, TCP, client, b"zz", &mut sni), None);
        }
        assert_eq!(final_reason(&st, TCP, true, false), app::INSUFFICIENT_DATA);
        assert_eq!(
            inspect(&mut st, TCP, mask & 8 != 0, b"zz", &mut sni),
            Some(app::UNKNOWN_TCP)
        );
        assert_eq!(st.total_pkts(), TCP_MAX_PACKETS as u32);
    }
    // The signature window: a signature in a direction's 4th payload still matches, not
    // in its 5th (counted packets saturate at 4, and 4 is outside the window).
    let get = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut st = AppState::default();
    for _ in 0..3 {
        st.count(true, 1);
    }
    assert_eq!(
        inspect(&mut st, TCP, true, get, &mut sni),
        Some(app::WEB_BROWSING)
    );
    let mut st = AppState::default();
    for _ in 0..4 {
        st.count(true, 1);
    }
    assert_eq!(
        inspect(&mut st, TCP, true, get, &mut sni),
        Some(app::UNKNOWN_TCP)
    );
    // UDP: 1 packet is not enough, the 2nd one way decides (packet threshold 2).
    let mut st = AppState::default();
    assert_eq!(inspect(&mut st, UDP, false, b"abc", &mut sni), None);
    assert_eq!(final_reason(&st, UDP, false, false), app::UNKNOWN_UDP);
    assert_eq!(
        inspect(&mut st, UDP, false, b"abc", &mut sni),
        Some(app::UNKNOWN_UDP)
    );
}

/// The layout before it was packed (u16 bytes, u8 packets, saturating at the types' maxima)
/// and `inspect` / `final_reason` as they were: the packed state must decide identically.
#[derive(Default)]
struct WideState {
    c2s_bytes: u16,
    s2c_bytes: u16,
    c2s_pkts: u8,
    s2c_pkts: u8,
    flags: u32,
}

impl WideState {
    fn total_pkts(&self) -> u32 {
        self.c2s_pkts as u32 + self.s2c_pkts as u32
    }
    fn total_bytes(&self) -> u32 {
        self.c2s_bytes as u32 + self.s2c_bytes as u32
    }
    fn p2p(&self, proto: u8) -> bool {
        let both = self.flags & (C2S_HIGH | S2C_HIGH) == C2S_HIGH | S2C_HIGH;
        both && (proto == UDP || self.flags & HIGH_PORTS != 0)
    }
    fn decide(&mut self, id: u16) -> Option<u16> {
        self.flags |= DECIDED;
        Some(id)
    }
}

fn wide_inspect(
    state: &mut WideState,
    proto: u8,
    dir_is_client: bool,
    payload: &[u8],
    sni_out: &mut [u8; 48],
) -> Option<u16> {
    if state.flags & DECIDED != 0 || payload.is_empty() {
        return None;
    }
    if proto != TCP && proto != UDP {
        return None;
    }
    let p = &payload[..payload.len().min(MAX_INSPECT)];
    let add = payload.len().min(u16::MAX as usize) as u16;
    let (pkts, bytes, high) = if dir_is_client {
        (&mut state.c2s_pkts, &mut state.c2s_bytes, C2S_HIGH)
    } else {
        (&mut state.s2c_pkts, &mut state.s2c_bytes, S2C_HIGH)
    };
    let first = *pkts == 0;
    let within = *pkts < TCP_MAX_PACKETS;
    *pkts = pkts.saturating_add(1);
    *bytes = bytes.saturating_add(add);
    if within {
        if let Some(id) = identify(proto, dir_is_client, p, sni_out) {
            return state.decide(id);
        }
    }
    if first && high_entropy(p) {
        state.flags |= high;
    }
    if proto == TCP {
        if state.total_pkts() >= TCP_MAX_PACKETS as u32 || state.total_bytes() >= TCP_MAX_BYTES {
            let id = if state.p2p(proto) {
                app::UNKNOWN_P2P
            } else {
                app::UNKNOWN_TCP
            };
            return state.decide(id);
        }
    } else {
        let both_ways = state.c2s_pkts > 0 && state.s2c_pkts > 0;
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

fn wide_final_reason(state: &WideState, proto: u8, handshake: bool, is_echo: bool) -> u16 {
    let has_payload = state.total_pkts() > 0;
    match proto {
        TCP => {
            if !handshake || !has_payload {
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
        UDP => {
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

fn assert_same(st: &AppState, wide: &WideState, what: &str) {
    assert_eq!(st.decided(), wide.flags & DECIDED != 0, "{what}");
    assert_eq!(st.bits & FLAGS_MASK, wide.flags, "{what}");
    let cap_p = |n: u8| n.min(AppState::PKTS_CAP);
    let cap_b = |n: u16| n.min(AppState::BYTES_CAP);
    assert_eq!(st.c2s_pkts(), cap_p(wide.c2s_pkts), "{what}");
    assert_eq!(st.s2c_pkts(), cap_p(wide.s2c_pkts), "{what}");
    assert_eq!(st.c2s_bytes(), cap_b(wide.c2s_bytes), "{what}");
    assert_eq!(st.s2c_bytes(), cap_b(wide.s2c_bytes), "{what}");
    for proto in [TCP, UDP, 1, 58, 47] {
        for handshake in [false, true] {
            for echo in [false, true] {
                assert_eq!(
                    final_reason(st, proto, handshake, echo),
                    wide_final_reason(wide, proto, handshake, echo),
                    "{what}: final_reason({proto}, {handshake}, {echo})"
                );
            }
        }
    }
}

#[test]
fn appid_packed_state_decides_as_the_wide_one() {
    let get = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec();
    let hello = tls_client_hello("example.com", true);
    let dns = dns_query("example.com");
    let mut rng = synwall_testkit::Rng::xorshift(0x9e37_79b9_7f4a_7c15);
    for case in 0..10_000u64 {
        let client_port = if rng.next_u64().is_multiple_of(2) {
            40000
        } else {
            80
        };
        let mut st = AppState::for_ports(client_port, 50000);
        let mut wide = WideState {
            flags: AppState::for_ports(client_port, 50000).bits,
            ..WideState::default()
        };
        let fixed = [TCP, UDP, TCP, UDP, 1][(rng.next_u64() % 5) as usize];
        let calls = 1 + rng.next_u64() % 12;
        for call in 0..calls {
            // Mostly one protocol per flow, sometimes a mix (the state must not care).
            let proto = if rng.next_u64().is_multiple_of(16) {
                [TCP, UDP, 132][(rng.next_u64() % 3) as usize]
            } else {
                fixed
            };
            let client = !rng.next_u64().is_multiple_of(3);
            let r = rng.next_u64();
            let len = match r % 8 {
                0 => 0,
                1 => 1 + (r >> 8) as usize % 8,
                2 => 500 + (r >> 8) as usize % 24,
                3 => (r >> 8) as usize % 3000,
                4 => 70_000,
                _ => (r >> 8) as usize % 600,
            };
            let payload: Vec<u8> = match (r >> 40) % 8 {
                0 => get.clone(),
                1 => hello.clone(),
                2 => dns.clone(),
                3 | 4 => vec![b'q'; len],
                // (Random bytes past 3 KB add nothing: only 2 KB are looked at.)
                _ => random_bytes(r, len.min(3000)),
            };
            let mut sni_a = [0u8; 48];
            let mut sni_b = [0u8; 48];
            let a = inspect(&mut st, proto, client, &payload, &mut sni_a);
            let b = wide_inspect(&mut wide, proto, client, &payload, &mut sni_b);
            let what = format!("case {case} call {call}");
            assert_eq!(a, b, "{what}");
            assert_eq!(sni_a, sni_b, "{what}");
            assert_same(&st, &wide, &what);
        }
    }
}
