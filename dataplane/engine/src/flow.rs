//! Flow keys: one type for IPv4 and IPv6.
//!
//! Addresses are 16 bytes, IPv4 stored v4-mapped (`::ffff:a.b.c.d`), with a family tag, so that
//! the table, the hash and every comparison are written once for both families. For ICMP echo,
//! both ports hold the echo identifier, so that a reply's key is exactly its request's reversed.
//! A session may later hold two keys (NAT): nothing here assumes one.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

pub use synwall_types::proto::{proto_name, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP};

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

/// The v4-mapped form of an IPv4 address (`::ffff:a.b.c.d`). Built as one 128-bit value: two
/// word stores where it is written, rather than the address's four bytes one by one.
pub const fn v4_mapped(a: [u8; 4]) -> [u8; 16] {
    let high = 0xffff_0000u64 | (u32::from_le_bytes(a) as u64) << 32;
    ((high as u128) << 64).to_le_bytes()
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

/// One endpoint folded to 64 bits (IPv6).
#[inline(always)]
fn endpoint(addr: &[u8; 16], port: u16) -> u64 {
    let word = |at: usize| u64::from_le_bytes(addr[at..at + 8].try_into().expect("8 bytes"));
    mix(word(0) ^ word(8).rotate_left(17) ^ ((port as u64) << 48))
}

/// A flow key's symmetric hash, and its orientation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct FlowHash {
    /// Equal for a key and its reverse: it chooses the owning worker and the table bucket,
    /// which must be the same for both directions.
    pub hash: u64,
    /// The key is the reverse of its canonical orientation (the canonical one has the lower
    /// endpoint, address then port, first): both directions map to one table key.
    pub reversed: bool,
}

/// An IPv4 flow in its canonical orientation, as the common parse path holds it in registers:
/// the two endpoints as 48-bit values (address, big-endian, above the port), the lower one
/// (the canonical source) first, and the protocol. The engine builds its table key from it
/// without reading back the parse result it has just stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct V4Flow {
    pub lo: u64,
    pub hi: u64,
    pub proto: u8,
}

/// [`FlowKey::hashed`] of an IPv4 flow, and the flow in canonical orientation ([`V4Flow`]),
/// from its fields as read off the wire (addresses as big-endian words). The parser's common
/// path calls it with the values it holds in registers: reading back the key it has just
/// stored, in other widths than it stored them, would wait on the store buffer.
///
/// Each endpoint is 48 bits (address, port), so the ordered pair fits one folded multiply: the
/// 128-bit product of the two endpoints (the higher one with the protocol and family above
/// it), each first xored with a constant whose top bits no endpoint has (so neither factor is
/// ever zero), and its two halves xored together. Every bit of the result depends on every
/// input bit (the low half of a product only on the inputs' low bits, the high half on all),
/// as the table needs of its home bucket (low 32 bits) and tag (top 8).
#[inline(always)]
pub fn ipv4_flow(src: u32, dst: u32, sport: u16, dport: u16, proto: u8) -> (FlowHash, V4Flow) {
    let a = v4_endpoint(src, sport);
    let b = v4_endpoint(dst, dport);
    let reversed = a > b;
    let (lo, hi) = if reversed { (b, a) } else { (a, b) };
    let flow = V4Flow { lo, hi, proto };
    let hashed = FlowHash {
        hash: flow.hash(),
        reversed,
    };
    (hashed, flow)
}

/// [`FlowKey::hashed`] of an IPv6 flow, from its fields as read off the wire (the parser's
/// common path calls it with the frame's addresses in hand): the endpoints hashed separately
/// and combined with a commutative sum before a final mix. The orientation compares the
/// addresses as 128-bit big-endian numbers, which orders them as their bytes do.
#[inline(always)]
pub fn ipv6_flow(src: &[u8; 16], dst: &[u8; 16], sport: u16, dport: u16, proto: u8) -> FlowHash {
    let a = endpoint(src, sport);
    let b = endpoint(dst, dport);
    FlowHash {
        hash: mix(a.wrapping_add(b) ^ ((proto as u64) << 8 | 6)),
        reversed: (u128::from_be_bytes(*src), sport) > (u128::from_be_bytes(*dst), dport),
    }
}

impl V4Flow {
    /// The flow's hash (see [`ipv4_flow`]).
    #[inline(always)]
    pub fn hash(&self) -> u64 {
        let tag = (self.proto as u64) << 48 | 4 << 56;
        let product = ((self.lo ^ 0x9e37_79b9_7f4a_7c15) as u128)
            * ((self.hi ^ tag ^ 0xbf58_476d_1ce4_e5b9) as u128);
        product as u64 ^ (product >> 64) as u64
    }
}

/// An IPv4 endpoint as [`V4Flow`] holds it: the address (a big-endian word) above the port.
#[inline(always)]
pub fn v4_endpoint(addr: u32, port: u16) -> u64 {
    (addr as u64) << 16 | port as u64
}

/// The IPv4 address of a v4-mapped key field, as a big-endian word (one load).
#[inline(always)]
pub fn v4_word(a: &[u8; 16]) -> u32 {
    u32::from_be_bytes([a[12], a[13], a[14], a[15]])
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

    /// The symmetric hash ([`FlowHash::hash`]).
    #[inline(always)]
    pub fn hash64(&self) -> u64 {
        self.hashed().hash
    }

    /// This key in its canonical orientation, given its [`FlowHash::reversed`] (known from the
    /// hash the caller already has).
    #[inline(always)]
    pub fn oriented(&self, reversed: bool) -> FlowKey {
        if reversed {
            self.reversed()
        } else {
            *self
        }
    }

    /// Hash and orientation: [`ipv4_flow`] or [`ipv6_flow`]. No allocation.
    #[inline(always)]
    pub fn hashed(&self) -> FlowHash {
        if self.family == 4 {
            return ipv4_flow(
                v4_word(&self.src),
                v4_word(&self.dst),
                self.sport,
                self.dport,
                self.proto,
            )
            .0;
        }
        ipv6_flow(&self.src, &self.dst, self.sport, self.dport, self.proto)
    }

    pub fn src_ip(&self) -> IpAddr {
        to_ip(&self.src, self.family)
    }

    pub fn dst_ip(&self) -> IpAddr {
        to_ip(&self.dst, self.family)
    }

    /// IANA keyword of the protocol.
    pub fn proto_name(&self) -> &'static str {
        proto_name(self.proto)
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
        assert!(!k.hashed().reversed && k.reversed().hashed().reversed);
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
        assert!(!v6.hashed().reversed && v6.reversed().hashed().reversed);
        // Buckets of many sequential flows spread evenly over 16 workers.
        let mut per = [0u32; 16];
        for port in 0..16_000u16 {
            per[(FlowKey { sport: port, ..k }.hash64() % 16) as usize] += 1;
        }
        assert!(per.iter().all(|&n| (800..1200).contains(&n)), "{per:?}");
    }

    /// The IPv4 hash's orientation is the generic one (the key's arrays compared whole), and
    /// the hash is symmetric, over keys that differ in every field and share endpoints often.
    #[test]
    fn ipv4_orientation_and_symmetry() {
        let mut rng = synwall_testkit::Rng::xorshift(0x1234_5678_9abc_def1);
        for _ in 0..100_000 {
            let r = rng.next_u64();
            let addr = |v: u64| v4_mapped((0x0a00_0000 | (v as u32 & 0x3)).to_be_bytes());
            let k = FlowKey {
                src: addr(r),
                dst: addr(r >> 2),
                sport: (r >> 4) as u16 & 3,
                dport: (r >> 6) as u16 & 3,
                proto: (r >> 8) as u8,
                family: 4,
            };
            let generic = (k.src, k.sport) > (k.dst, k.dport);
            let hashed = k.hashed();
            assert_eq!(hashed.reversed, generic, "{k:?}");
            assert_eq!(k.hash64(), k.reversed().hash64(), "{k:?}");
            let canonical = k.oriented(hashed.reversed);
            assert_eq!(canonical, if generic { k.reversed() } else { k });
            assert!(!canonical.hashed().reversed, "{k:?}");
        }
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
