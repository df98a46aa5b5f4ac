//! Flow keys: one type for IPv4 and IPv6.
//!
//! Addresses are 16 bytes, IPv4 stored v4-mapped (`::ffff:a.b.c.d`), with a family tag, so that
//! the table, the hash and every comparison are written once for both families. For ICMP echo,
//! both ports hold the echo identifier, so that a reply's key is exactly its request's reversed.
//! A session may later hold two keys (NAT): nothing here assumes one.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

pub const PROTO_ICMP: u8 = 1;
pub const PROTO_TCP: u8 = 6;
pub const PROTO_UDP: u8 = 17;
pub const PROTO_ICMPV6: u8 = 58;

/// A flow as seen on the wire: source to destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[repr(C)]
pub struct FlowKey {
    pub src: [u8; 16],
    pub dst: [u8; 16],
    pub sport: u16,
    pub dport: u16,
    pub proto: u8,
    /// 4 or 6.
    pub family: u8,
}

const _: () = assert!(std::mem::size_of::<FlowKey>() == 38);

/// The v4-mapped form of an IPv4 address.
pub const fn v4_mapped(a: [u8; 4]) -> [u8; 16] {
    [
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a[0], a[1], a[2], a[3],
    ]
}

fn to_bytes(ip: IpAddr) -> ([u8; 16], u8) {
    match ip {
        IpAddr::V4(a) => (v4_mapped(a.octets()), 4),
        IpAddr::V6(a) => (a.octets(), 6),
    }
}

fn to_ip(bytes: &[u8; 16], family: u8) -> IpAddr {
    if family == 4 {
        IpAddr::V4(Ipv4Addr::new(bytes[12], bytes[13], bytes[14], bytes[15]))
    } else {
        IpAddr::V6(Ipv6Addr::from(*bytes))
    }
}

/// A 64-bit finaliser (from splitmix64): spreads every input bit over the output.
#[inline(always)]
fn mix(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// One endpoint folded to 64 bits.
///
/// The low half is read as two 4-byte words (the same value as one little-endian 8-byte
/// read): the parser has just written an IPv4 key's address as a 4-byte word beside a 4-byte
/// prefix, and an 8-byte load spanning two smaller stores cannot be forwarded from the store
/// buffer; it waits for both to reach the cache (a stall on every packet's hash).
#[inline(always)]
fn endpoint(addr: &[u8; 16], port: u16) -> u64 {
    let word = |at: usize| u32::from_le_bytes([addr[at], addr[at + 1], addr[at + 2], addr[at + 3]]);
    let hi = u64::from_le_bytes(addr[..8].try_into().expect("8 bytes"));
    let lo = word(8) as u64 | (word(12) as u64) << 32;
    mix(hi ^ lo.rotate_left(17) ^ ((port as u64) << 48))
}

impl FlowKey {
    /// A key from addresses (both of one family).
    pub fn from_ips(src: IpAddr, dst: IpAddr, sport: u16, dport: u16, proto: u8) -> FlowKey {
        let (s, family) = to_bytes(src);
        let (d, _) = to_bytes(dst);
        FlowKey {
            src: s,
            dst: d,
            sport,
            dport,
            proto,
            family,
        }
    }

    /// The other direction.
    #[inline(always)]
    pub fn reversed(&self) -> FlowKey {
        FlowKey {
            src: self.dst,
            dst: self.src,
            sport: self.dport,
            dport: self.sport,
            proto: self.proto,
            family: self.family,
        }
    }

    /// A hash equal for a key and its reverse: it chooses the owning worker and the table
    /// bucket, which must be the same for both directions. The endpoints are hashed separately
    /// and combined with a commutative sum before a final mix. No allocation.
    #[inline(always)]
    pub fn hash64(&self) -> u64 {
        let a = endpoint(&self.src, self.sport);
        let b = endpoint(&self.dst, self.dport);
        mix(a.wrapping_add(b) ^ ((self.proto as u64) << 8 | self.family as u64))
    }

    pub fn src_ip(&self) -> IpAddr {
        to_ip(&self.src, self.family)
    }

    pub fn dst_ip(&self) -> IpAddr {
        to_ip(&self.dst, self.family)
    }

    /// IANA keyword of the protocol.
    pub fn proto_name(&self) -> &'static str {
        crate::records::proto_name(self.proto)
    }
}

impl fmt::Display for FlowKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (s, d) = (self.src_ip(), self.dst_ip());
        if self.family == 6 {
            write!(
                f,
                "[{s}]:{} -> [{d}]:{} {}",
                self.sport,
                self.dport,
                self.proto_name()
            )
        } else {
            write!(
                f,
                "{s}:{} -> {d}:{} {}",
                self.sport,
                self.dport,
                self.proto_name()
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_symmetric_and_spreads() {
        let k = FlowKey::from_ips(
            "10.0.0.1".parse().unwrap(),
            "10.0.0.2".parse().unwrap(),
            1234,
            80,
            6,
        );
        assert_eq!(k.hash64(), k.reversed().hash64());
        assert_eq!(k.reversed().reversed(), k);
        let other = FlowKey { sport: 1235, ..k };
        assert_ne!(k.hash64(), other.hash64());
        let v6 = FlowKey::from_ips(
            "2001:db8::1".parse().unwrap(),
            "2001:db8::2".parse().unwrap(),
            1,
            2,
            17,
        );
        assert_eq!(v6.hash64(), v6.reversed().hash64());
        // Buckets of many sequential flows spread evenly over 16 workers.
        let mut per = [0u32; 16];
        for port in 0..16_000u16 {
            per[(FlowKey { sport: port, ..k }.hash64() % 16) as usize] += 1;
        }
        assert!(per.iter().all(|&n| (800..1200).contains(&n)), "{per:?}");
    }

    #[test]
    fn display_and_addresses() {
        let k = FlowKey::from_ips(
            "10.0.0.1".parse().unwrap(),
            "10.0.0.2".parse().unwrap(),
            1234,
            80,
            6,
        );
        assert_eq!(k.to_string(), "10.0.0.1:1234 -> 10.0.0.2:80 tcp");
        assert_eq!(k.src_ip().to_string(), "10.0.0.1");
        let v6 = FlowKey::from_ips(
            "2001:db8::1".parse().unwrap(),
            "::2".parse().unwrap(),
            5,
            6,
            17,
        );
        assert_eq!(v6.to_string(), "[2001:db8::1]:5 -> [::2]:6 udp");
    }
}
