//! UDP: datagrams between the client's port and the server's, either way.

use super::{Conversation, Side};
use crate::frame::IpPair;

/// A UDP conversation's ports.
#[derive(Clone, Copy)]
pub struct Udp {
    client_port: u16,
    server_port: u16,
}

pub type UdpConversation = Conversation<Udp>;

impl Conversation<Udp> {
    /// `ips` in the client-to-server direction. Nothing is sent yet.
    pub fn new(ips: IpPair, client_port: u16, server_port: u16, start_ns: u64) -> Self {
        let udp = Udp {
            client_port,
            server_port,
        };
        Conversation::with_transport(ips, start_ns, udp)
    }

    /// A datagram from `from` to its peer.
    pub fn send(&mut self, from: Side, payload: &[u8]) -> &mut Self {
        let Udp {
            client_port,
            server_port,
        } = self.transport;
        let (src, dst) = match from {
            Side::Client => (client_port, server_port),
            Side::Server => (server_port, client_port),
        };
        let frame = self.spec(from).udp(src, dst, payload);
        self.sent(from, frame)
    }
}
