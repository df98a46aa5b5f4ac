//! Application captures: one conversation per application with the payloads its real clients and
//! servers send first (HTTP request, TLS ClientHello with a server name, SSH banners, a DNS query,
//! ...), each flow from its own client address. Used to check app-ID, and to compare it with
//! nDPI (`perf/appid_agreement.py`).

use std::net::Ipv4Addr;

use synwall_testkit::conv::{Side, TcpConversation};
use synwall_testkit::frame::{FrameSpec, IpPair};
use synwall_testkit::payload::{dns_query, ClientHello, EC_POINT_FORMATS};
use synwall_testkit::Rng;

use super::Frames;

/// One application flow: its expected PAN-OS name, transport and server port.
pub struct AppFlow {
    pub app: &'static str,
    pub tcp: bool,
    pub port: u16,
    /// Client payload first (None: the server speaks first), then the server's.
    pub client: Option<Vec<u8>>,
    pub server: Option<Vec<u8>>,
}

fn text(s: &str) -> Option<Vec<u8>> {
    Some(s.as_bytes().to_vec())
}

/// A TLS 1.2 ClientHello record carrying `sni` in its server_name extension (then
/// ec_point_formats), as the capture has always carried it.
pub fn tls_client_hello(sni: &str) -> Vec<u8> {
    let mut random = [0u8; 32];
    for (i, b) in random.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(37);
    }
    ClientHello {
        random,
        cipher_suites: &[0xc02f, 0x009c],
        extensions_after: &EC_POINT_FORMATS,
        ..ClientHello::new(sni.as_bytes())
    }
    .record()
}

fn dhcp_discover() -> Vec<u8> {
    let mut p = vec![0u8; 240];
    p[0] = 1; // BOOTREQUEST
    p[1] = 1; // Ethernet
    p[2] = 6;
    p[4..8].copy_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
    p[28..34].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
    p[236..240].copy_from_slice(&[0x63, 0x82, 0x53, 0x63]);
    p.extend_from_slice(&[53, 1, 1, 255]); // DHCP discover, end
    p
}

fn quic_initial() -> Vec<u8> {
    let mut p = vec![0xc3, 0x00, 0x00, 0x00, 0x01, 0x08];
    p.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
    p.push(0x00); // scid len
    p.push(0x00); // token len
    p.extend_from_slice(&[0x44, 0x9e]); // length
    p.resize(1200, 0x5a);
    p
}

fn mysql_greeting() -> Vec<u8> {
    let mut body = vec![10]; // protocol 10
    body.extend_from_slice(b"8.0.36\0");
    body.extend_from_slice(&[1, 0, 0, 0]); // thread id
    body.extend_from_slice(b"abcdefgh\0");
    body.extend_from_slice(&[0xff, 0xf7, 0x21, 0x02, 0x00, 0xff, 0xc1, 0x15]);
    body.extend_from_slice(&[0; 10]);
    body.extend_from_slice(b"ijklmnopqrst\0mysql_native_password\0");
    let mut p = (body.len() as u32).to_le_bytes()[..3].to_vec();
    p.push(0); // sequence
    p.extend_from_slice(&body);
    p
}

fn postgres_startup() -> Vec<u8> {
    let params = b"user\0bob\0database\0shop\0\0";
    let mut p = ((params.len() + 8) as u32).to_be_bytes().to_vec();
    p.extend_from_slice(&196_608u32.to_be_bytes());
    p.extend_from_slice(params);
    p
}

fn snmp_get() -> Vec<u8> {
    vec![
        0x30, 0x26, 0x02, 0x01, 0x01, 0x04, 0x06, b'p', b'u', b'b', b'l', b'i', b'c', 0xa0, 0x19,
        0x02, 0x01, 0x01, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x0e, 0x30, 0x0c, 0x06, 0x08,
        0x2b, 0x06, 0x01, 0x02, 0x01, 0x01, 0x01, 0x00, 0x05, 0x00,
    ]
}

fn bittorrent_handshake() -> Vec<u8> {
    let mut p = vec![19];
    p.extend_from_slice(b"BitTorrent protocol");
    p.extend_from_slice(&[0; 8]);
    p.extend((0..40u8).map(|i| i.wrapping_mul(13)));
    p
}

fn ntp_request() -> Vec<u8> {
    let mut p = vec![0u8; 48];
    p[0] = 0x23; // v4, client
    p
}

/// `n` bytes of the xorshift64 stream from `seed | 1`, as the capture has always carried.
fn random_bytes(n: usize, seed: u64) -> Vec<u8> {
    Rng::xorshift(seed | 1).bytes(n)
}

/// The flows of the application capture.
pub fn app_flows() -> Vec<AppFlow> {
    let tcp = |app, port, client: Option<Vec<u8>>, server: Option<Vec<u8>>| AppFlow {
        app,
        tcp: true,
        port,
        client,
        server,
    };
    let udp = |app, port, client: Option<Vec<u8>>, server: Option<Vec<u8>>| AppFlow {
        app,
        tcp: false,
        port,
        client,
        server,
    };
    vec![
        tcp("web-browsing", 80, text("GET /index.html HTTP/1.1\r\nHost: www.example.test\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n"),
            text("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhello")),
        tcp("web-browsing", 8081, text("GET / HTTP/1.1\r\nHost: alt.example.test\r\n\r\n"), text("HTTP/1.1 204 No Content\r\n\r\n")),
        tcp("ssl", 443, Some(tls_client_hello("secure.example.test")), None),
        udp("dns", 53, Some(dns_query("www.example.test")), None),
        tcp("ssh", 22, text("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"), text("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n")),
        tcp("smtp", 25, None, text("220 mail.example.test ESMTP Postfix (Debian/GNU)\r\n")),
        tcp("ftp", 21, None, text("220 (vsFTPd 3.0.3) FTP server ready\r\n")),
        tcp("pop3", 110, None, text("+OK Dovecot (Debian) ready.\r\n")),
        tcp("imap", 143, None, text("* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN] Dovecot (Debian) ready.\r\n")),
        udp("ntp", 123, Some(ntp_request()), None),
        udp("dhcp", 67, Some(dhcp_discover()), None),
        udp("sip", 5060, text("OPTIONS sip:bob@example.test SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK776asdhds\r\nMax-Forwards: 70\r\nTo: <sip:bob@example.test>\r\nFrom: <sip:alice@example.test>;tag=1928301774\r\nCall-ID: a84b4c76e66710\r\nCSeq: 63104 OPTIONS\r\nContent-Length: 0\r\n\r\n"), None),
        tcp("bittorrent", 6881, Some(bittorrent_handshake()), Some(bittorrent_handshake())),
        udp("quic", 443, Some(quic_initial()), None),
        tcp("ms-rdp", 3389, Some(vec![0x03, 0x00, 0x00, 0x13, 0x0e, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x08, 0x00, 0x03, 0x00, 0x00, 0x00]), None),
        tcp("mysql", 3306, None, Some(mysql_greeting())),
        tcp("postgres", 5432, Some(postgres_startup()), None),
        udp("snmp", 161, Some(snmp_get()), None),
        tcp("unknown-tcp", 5001, Some(random_bytes(4096, 7)), None),
        udp("unknown-udp", 7777, text("status report 42: all quiet on this side\n"), text("ok, noted\n")),
        udp("unknown-p2p", 51413, Some(random_bytes(200, 9)), Some(random_bytes(200, 11))),
    ]
}

/// Every flow of [`app_flows`], client 10.9.0.N (N = flow number + 1) to server 10.9.1.1,
/// one after another, in time order.
pub fn app_capture() -> Frames {
    let mut frames = Frames::new();
    let mut t = super::scenarios::SCENARIO_EPOCH_NS;
    for (i, f) in app_flows().into_iter().enumerate() {
        let ips = IpPair::V4 {
            src: Ipv4Addr::new(10, 9, 0, i as u8 + 1),
            dst: Ipv4Addr::new(10, 9, 1, 1),
        };
        let client_port = 40_000 + i as u16;
        if f.tcp {
            let mut c = TcpConversation::new(ips, client_port, f.port, t);
            c.handshake();
            if let Some(p) = &f.client {
                c.send(Side::Client, p);
            }
            if let Some(p) = &f.server {
                c.send(Side::Server, p);
            }
            if f.server.is_none() || f.client.is_none() {
                // The side that spoke alone gets its data acknowledged.
                c.ack(if f.client.is_some() {
                    Side::Server
                } else {
                    Side::Client
                });
            }
            c.close(Side::Client);
            t = c.now_ns() + 1_000_000;
            frames.extend(c.into_frames());
        } else {
            let (client_spec, server_spec) = (
                FrameSpec::from_client(ips),
                FrameSpec::from_server(ips.reversed()),
            );
            if let Some(p) = &f.client {
                frames.push((
                    t,
                    client_spec.udp(if f.app == "dhcp" { 68 } else { client_port }, f.port, p),
                ));
                t += 1_000_000;
            }
            if let Some(p) = &f.server {
                frames.push((t, server_spec.udp(f.port, client_port, p)));
                t += 1_000_000;
            }
        }
    }
    frames
}
