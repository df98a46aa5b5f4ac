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
