//! IP protocol numbers (IANA) and the names logs and flows print for them.

pub const PROTO_ICMP: u8 = 1;
pub const PROTO_TCP: u8 = 6;
pub const PROTO_UDP: u8 = 17;
pub const PROTO_ICMPV6: u8 = 58;

/// IANA protocol name as the log writes it.
pub fn proto_name(proto: u8) -> &'static str {
    match proto {
        PROTO_ICMP => "icmp",
        PROTO_TCP => "tcp",
        PROTO_UDP => "udp",
        PROTO_ICMPV6 => "ipv6-icmp",
        47 => "gre",
        50 => "esp",
        132 => "sctp",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(proto_name(PROTO_TCP), "tcp");
        assert_eq!(proto_name(PROTO_ICMPV6), "ipv6-icmp");
        assert_eq!(proto_name(132), "sctp");
        assert_eq!(proto_name(0), "other");
    }
}
