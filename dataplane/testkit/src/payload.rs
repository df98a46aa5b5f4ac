//! Application payloads that app-ID reads: a DNS query, a TLS ClientHello naming a server.

/// A DNS query (id 0x1234, recursion desired) for `name`, type A, class IN.
pub fn dns_query(name: &str) -> Vec<u8> {
    let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    q
}

/// A TLS 1.2 ClientHello record (no compression) carrying `sni` in its server_name extension,
/// between other extensions given as wire bytes.
#[derive(Clone, Copy, Debug)]
pub struct ClientHello<'a> {
    pub sni: &'a [u8],
    pub random: [u8; 32],
    pub session_id: &'a [u8],
    pub cipher_suites: &'a [u16],
    /// Extensions before server_name, each type, length, body.
    pub extensions_before: &'a [u8],
    /// Extensions after server_name.
    pub extensions_after: &'a [u8],
}

/// ec_point_formats (type 11): uncompressed.
pub const EC_POINT_FORMATS: [u8; 6] = [0x00, 0x0b, 0x00, 0x02, 0x01, 0x00];
/// supported_versions (type 43): TLS 1.3.
pub const SUPPORTED_VERSIONS_TLS13: [u8; 7] = [0x00, 0x2b, 0x00, 0x03, 0x02, 0x03, 0x04];

impl<'a> ClientHello<'a> {
    /// Random 0x11 bytes, no session id, TLS_AES_128_GCM_SHA256 only, server_name alone.
    pub fn new(sni: &'a [u8]) -> Self {
        ClientHello {
            sni,
            random: [0x11; 32],
            session_id: &[],
            cipher_suites: &[0x1301],
            extensions_before: &[],
            extensions_after: &[],
        }
    }

    /// The record: content type handshake, version 3.1, then the ClientHello.
    pub fn record(&self) -> Vec<u8> {
        let name = self.sni;
        let mut server_name = Vec::new();
        server_name.extend_from_slice(&((name.len() + 3) as u16).to_be_bytes()); // name list
        server_name.push(0); // host_name
        server_name.extend_from_slice(&(name.len() as u16).to_be_bytes());
        server_name.extend_from_slice(name);
        let mut extensions = self.extensions_before.to_vec();
        extensions.extend_from_slice(&[0x00, 0x00]); // server_name
        extensions.extend_from_slice(&(server_name.len() as u16).to_be_bytes());
        extensions.extend_from_slice(&server_name);
        extensions.extend_from_slice(self.extensions_after);
        let mut body = vec![0x03, 0x03]; // client_version TLS 1.2
        body.extend_from_slice(&self.random);
        body.push(self.session_id.len() as u8);
        body.extend_from_slice(self.session_id);
        body.extend_from_slice(&((2 * self.cipher_suites.len()) as u16).to_be_bytes());
        for suite in self.cipher_suites {
            body.extend_from_slice(&suite.to_be_bytes());
        }
        body.extend_from_slice(&[0x01, 0x00]); // compression: null
        body.extend_from_slice(&(extensions.len() as u16).to_be_bytes());
        body.extend_from_slice(&extensions);
        let mut handshake = vec![0x01]; // ClientHello
        handshake.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        handshake.extend_from_slice(&body);
        let mut record = vec![0x16, 0x03, 0x01];
        record.extend_from_slice(&(handshake.len() as u16).to_be_bytes());
        record.extend_from_slice(&handshake);
        record
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_query_by_hand() {
        let q = dns_query("a.bc");
        assert_eq!(&q[12..], &[1, b'a', 2, b'b', b'c', 0, 0, 1, 0, 1]);
    }

    #[test]
    fn client_hello_lengths_nest() {
        let hello = ClientHello {
            session_id: &[0x22; 32],
            extensions_before: &EC_POINT_FORMATS,
            extensions_after: &SUPPORTED_VERSIONS_TLS13,
            ..ClientHello::new(b"example.com")
        }
        .record();
        let be16 = |at: usize| usize::from(u16::from_be_bytes([hello[at], hello[at + 1]]));
        assert_eq!(be16(3), hello.len() - 5, "record length");
        assert_eq!(
            (hello[5], be16(7)),
            (0x01, hello.len() - 9),
            "handshake length"
        );
        let extensions = 9 + 2 + 32 + 1 + 32 + 2 + 2 + 2;
        assert_eq!(be16(extensions), hello.len() - extensions - 2);
        let sni = extensions + 2 + EC_POINT_FORMATS.len();
        assert_eq!(
            &hello[sni..sni + 2],
            &[0, 0],
            "server_name after ec_point_formats"
        );
        assert!(hello.ends_with(&SUPPORTED_VERSIONS_TLS13));
        assert!(hello.windows(11).any(|w| w == b"example.com"));
    }
}
