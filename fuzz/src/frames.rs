//! A small frame builder for the engine target: Ethernet (optionally one 802.1Q tag), IPv4 or
//! IPv6 (optionally a hop-by-hop extension header or a fragment), then TCP, UDP, ICMP/ICMPv6 or
//! raw transport bytes. Checksums are left zero: the engine does not verify them.

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
}

/// IP-level options of a frame.
#[derive(Clone, Copy, Debug, Default)]
pub struct IpOpts {
    pub vlan: Option<u16>,
    /// IPv6 only: a hop-by-hop options header before the transport header.
    pub hop_by_hop: bool,
    /// (offset in 8-byte units, more fragments) for a fragment; `None` for a whole packet.
    pub fragment: Option<(u16, bool)>,
    pub ttl: u8,
}

/// TCP header fields.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tcp {
    pub flags: u8,
    pub seq: u32,
    pub ack: u32,
    pub window: u16,
    pub wscale: Option<u8>,
    pub mss: Option<u16>,
    pub sack_ok: bool,
}

const CLIENT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 1];
const SERVER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 2];

/// Writes Ethernet and IP headers for `l4_len` bytes of protocol `proto`, then `l4`.
pub fn ip_frame(
    out: &mut Vec<u8>,
    src: [u8; 16],
    dst: [u8; 16],
    v6: bool,
    proto: u8,
    opts: &IpOpts,
    l4: &[u8],
) {
    out.clear();
    out.extend_from_slice(&SERVER_MAC);
    out.extend_from_slice(&CLIENT_MAC);
    if let Some(tci) = opts.vlan {
        out.extend_from_slice(&0x8100u16.to_be_bytes());
        out.extend_from_slice(&(tci & 0x0fff).to_be_bytes());
    }
    let ttl = opts.ttl.max(1);
    if v6 {
        out.extend_from_slice(&0x86ddu16.to_be_bytes());
        let mut ext = Vec::new();
        let mut next = proto;
        if let Some((offset, more)) = opts.fragment {
            let field = (offset << 3) | more as u16;
            ext.extend_from_slice(&[next, 0]);
            ext.extend_from_slice(&field.to_be_bytes());
            ext.extend_from_slice(&0x1234_5678u32.to_be_bytes());
            next = 44;
        }
        if opts.hop_by_hop {
            // Next header, length 0 (8 bytes), PadN filling the rest.
            let mut hbh = vec![next, 0, 1, 4, 0, 0, 0, 0];
            hbh.extend_from_slice(&ext);
            ext = hbh;
            next = 0;
        }
        let payload = (ext.len() + l4.len()).min(u16::MAX as usize) as u16;
        out.extend_from_slice(&[0x60, 0, 0, 0]);
        out.extend_from_slice(&payload.to_be_bytes());
        out.push(next);
        out.push(ttl);
        out.extend_from_slice(&src);
        out.extend_from_slice(&dst);
        out.extend_from_slice(&ext);
    } else {
        out.extend_from_slice(&0x0800u16.to_be_bytes());
        let total = (20 + l4.len()).min(u16::MAX as usize) as u16;
        let frag = opts.fragment.map_or(0x4000, |(offset, more)| {
            (offset & 0x1fff) | (more as u16) << 13
        });
        out.extend_from_slice(&[0x45, 0]);
        out.extend_from_slice(&total.to_be_bytes());
        out.extend_from_slice(&0x4321u16.to_be_bytes());
        out.extend_from_slice(&frag.to_be_bytes());
        out.extend_from_slice(&[ttl, proto, 0, 0]);
        out.extend_from_slice(&src[12..]);
        out.extend_from_slice(&dst[12..]);
    }
    out.extend_from_slice(l4);
}

/// A TCP header (with the options a SYN carries) followed by `payload`.
pub fn tcp_segment(out: &mut Vec<u8>, sport: u16, dport: u16, t: &Tcp, payload: &[u8]) {
    out.clear();
    let mut opts = Vec::new();
    if let Some(mss) = t.mss {
        opts.extend_from_slice(&[2, 4]);
        opts.extend_from_slice(&mss.to_be_bytes());
    }
    if t.sack_ok {
        opts.extend_from_slice(&[4, 2]);
    }
    if let Some(ws) = t.wscale {
        opts.extend_from_slice(&[1, 3, 3, ws]);
    }
    while opts.len() % 4 != 0 {
        opts.push(0);
    }
    let doff = (20 + opts.len()) / 4;
    out.extend_from_slice(&sport.to_be_bytes());
    out.extend_from_slice(&dport.to_be_bytes());
    out.extend_from_slice(&t.seq.to_be_bytes());
    out.extend_from_slice(&t.ack.to_be_bytes());
    out.push((doff as u8) << 4);
    out.push(t.flags);
    out.extend_from_slice(&t.window.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&opts);
    out.extend_from_slice(payload);
}

/// A UDP header followed by `payload`.
pub fn udp_datagram(out: &mut Vec<u8>, sport: u16, dport: u16, payload: &[u8]) {
    out.clear();
    let len = (8 + payload.len()).min(u16::MAX as usize) as u16;
    out.extend_from_slice(&sport.to_be_bytes());
    out.extend_from_slice(&dport.to_be_bytes());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(payload);
}

/// An ICMP/ICMPv6 message: type, code, then `rest` (identifier and sequence for echo, the
/// unused word and the quoted packet for errors).
pub fn icmp_message(out: &mut Vec<u8>, icmp_type: u8, code: u8, rest: &[u8]) {
    out.clear();
    out.extend_from_slice(&[icmp_type, code, 0, 0]);
    out.extend_from_slice(rest);
}

/// The IP packet inside a frame built by [`ip_frame`] (for ICMP errors to quote).
pub fn ip_packet(frame: &[u8]) -> &[u8] {
    let mut off = 14;
    if frame.get(12..14) == Some(&[0x81, 0x00]) {
        off += 4;
    }
    frame.get(off..).unwrap_or(&[])
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
