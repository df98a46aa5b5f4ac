//! The fuzz targets' flows, and the one shape of their frames on the test kit
//! (`synwall_testkit::frame`): MACs client to server whatever the direction, TTL 64, no
//! checksums (the engine does not read them, and the committed seeds were made without),
//! no padding, IPv4 identification 0x4321, IPv6 fragment identification 0x12345678.

use synwall_testkit::frame::{FrameSpec, IpPair, TcpOptions};

/// One endpoint pair of a flow, client first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endpoints {
    pub v6: bool,
    pub client: [u8; 16],
    pub server: [u8; 16],
    pub client_port: u16,
    pub server_port: u16,
}

impl Endpoints {
    /// (source, destination, source port, destination port) for a packet sent by the client
    /// (`from_client`) or by the server.
    pub fn oriented(&self, from_client: bool) -> ([u8; 16], [u8; 16], u16, u16) {
        if from_client {
            (self.client, self.server, self.client_port, self.server_port)
        } else {
            (self.server, self.client, self.server_port, self.client_port)
        }
    }

    /// The spec of a packet sent by the client (`from_client`) or by the server.
    pub fn spec(&self, from_client: bool) -> FrameSpec {
        let (src, dst, _, _) = self.oriented(from_client);
        spec(self.v6, src, dst)
    }
}

/// The targets' frame spec from `src` to `dst` (16-byte addresses, IPv4 in the last four).
pub fn spec(v6: bool, src: [u8; 16], dst: [u8; 16]) -> FrameSpec {
    FrameSpec::from_client(IpPair::from_key_bytes(v6, src, dst))
        .with_ip_id(if v6 { 0x1234_5678 } else { 0x4321 })
        .without_checksums()
        .unpadded()
}

/// SYN options in the targets' order: MSS, SACK-permitted, NOP and window scale (then
/// end-of-options padding).
pub fn syn_options(mss: Option<u16>, sack_permitted: bool, window_scale: Option<u8>) -> TcpOptions {
    let mut options = TcpOptions::NONE;
    if let Some(mss) = mss {
        options = options.mss(mss);
    }
    if sack_permitted {
        options = options.sack_permitted();
    }
    if let Some(shift) = window_scale {
        options = options.nop().window_scale(shift);
    }
    options
}

/// A TLS ClientHello naming `sni` (what app-ID reads on port 443).
pub fn tls_client_hello(sni: &[u8]) -> Vec<u8> {
    let mut sn = Vec::new();
    sn.extend_from_slice(&((sni.len() + 3) as u16).to_be_bytes());
    sn.push(0);
    sn.extend_from_slice(&(sni.len() as u16).to_be_bytes());
    sn.extend_from_slice(sni);
    let mut ext = vec![0x00, 0x00];
    ext.extend_from_slice(&(sn.len() as u16).to_be_bytes());
    ext.extend_from_slice(&sn);
    let mut body = vec![0x03, 0x03];
    body.extend_from_slice(&[0x11; 32]);
    body.push(0);
    body.extend_from_slice(&[0x00, 0x02, 0x13, 0x01, 0x01, 0x00]);
    body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    body.extend_from_slice(&ext);
    let mut hs = vec![0x01];
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(&body);
    let mut rec = vec![0x16, 0x03, 0x01];
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend_from_slice(&hs);
    rec
}

/// A DNS query for `name` (what app-ID reads on UDP 53).
pub fn dns_query(name: &str) -> Vec<u8> {
    let mut p = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in name.split('.') {
        p.push(label.len() as u8);
        p.extend_from_slice(label.as_bytes());
    }
    p.extend_from_slice(&[0, 0, 1, 0, 1]);
    p
}
