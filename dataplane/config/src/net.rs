//! Address and port matchers compiled from the config's strings.
//!
//! IPv4 and IPv6 share one implementation: an address is widened to a `u128` and tagged
//! with its [`Family`], so a prefix test is one mask-and-compare whatever the family
//! (VPP keeps two copies of such loops; we keep one). An IPv4 packet never matches an IPv6
//! entry and the reverse, IPv4-mapped IPv6 addresses included.
//!
//! Every `contains` below is hot-path safe: it allocates nothing, locks nothing and makes
//! no syscall.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// The address family of an address, prefix or range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    /// Width of an address of this family, in bits.
    pub const fn bits(self) -> u8 {
        match self {
            Family::V4 => 32,
            Family::V6 => 128,
        }
    }

    fn address(self, bits: u128) -> IpAddr {
        match self {
            // Truncation is the point: a V4 value never has bits above 32.
            Family::V4 => IpAddr::V4(Ipv4Addr::from(bits as u32)),
            Family::V6 => IpAddr::V6(Ipv6Addr::from(bits)),
        }
    }
}

/// An address as (family, value widened to 128 bits).
fn widen(ip: IpAddr) -> (Family, u128) {
    match ip {
        IpAddr::V4(v4) => (Family::V4, u128::from(u32::from(v4))),
        IpAddr::V6(v6) => (Family::V6, u128::from(v6)),
    }
}

/// The mask of the `len` leading bits of an address of `family`, as a widened value.
fn network_mask(family: Family, len: u8) -> u128 {
    let width = u32::from(family.bits());
    let host_bits = width - u32::from(len);
    let all = if width == 128 {
        u128::MAX
    } else {
        (1u128 << width) - 1
    };
    // checked_shl: a /0 shifts by the full width, which `<<` would reject.
    all & all.checked_shl(host_bits).unwrap_or(0)
}

/// An IPv4 or IPv6 network: `10.0.0.0/8`, `2001:db8::/32`, or one host (`/32`, `/128`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Prefix {
    family: Family,
    network: u128,
    len: u8,
}

impl Prefix {
    /// A prefix from its network address and length. Refuses a length longer than the
    /// family's width and a network with host bits set (`10.0.0.1/24`): an operator who
    /// wrote that meant either the host or the network, and guessing hides the typo.
    pub fn new(network: IpAddr, len: u8) -> Result<Prefix, String> {
        let (family, bits) = widen(network);
        if len > family.bits() {
            return Err(format!(
                "prefix length /{len} is longer than {} bits",
                family.bits()
            ));
        }
        let masked = bits & network_mask(family, len);
        if masked != bits {
            return Err(format!(
                "{network}/{len} has host bits set; did you mean {}/{len}",
                family.address(masked)
            ));
        }
        Ok(Prefix {
            family,
            network: bits,
            len,
        })
    }

    /// The prefix holding exactly one address.
    pub fn host(address: IpAddr) -> Prefix {
        let (family, network) = widen(address);
        Prefix {
            family,
            network,
            len: family.bits(),
        }
    }

    pub fn family(&self) -> Family {
        self.family
    }

    pub fn network(&self) -> IpAddr {
        self.family.address(self.network)
    }

    #[allow(clippy::len_without_is_empty)] // a prefix length, not a collection size
    pub fn len(&self) -> u8 {
        self.len
    }

    /// Whether `ip` lies in this network. Hot-path safe.
    #[inline]
    pub fn contains(&self, ip: IpAddr) -> bool {
        let (family, bits) = widen(ip);
        family == self.family && bits & network_mask(family, self.len) == self.network
    }

    /// The same set of addresses as a range.
    pub fn range(&self) -> AddrRange {
        let all_ones = network_mask(self.family, self.family.bits());
        let host = all_ones & !network_mask(self.family, self.len);
        AddrRange {
            family: self.family,
            first: self.network,
            last: self.network | host,
        }
    }
}

impl FromStr for Prefix {
    type Err = String;

    /// `10.0.0.0/24`, `2001:db8::/64`, or a bare address meaning that one host.
    fn from_str(text: &str) -> Result<Prefix, String> {
        match text.split_once('/') {
            None => parse_ip(text).map(Prefix::host),
            Some((address, len)) => {
                let address = parse_ip(address)?;
                let len: u8 = len
                    .parse()
                    .map_err(|_| format!("{text:?}: prefix length {len:?} is not a number"))?;
                Prefix::new(address, len)
            }
        }
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network(), self.len)
    }
}

fn parse_ip(text: &str) -> Result<IpAddr, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not an IPv4 or IPv6 address"))
}

/// An inclusive range of addresses of one family: `10.0.0.1-10.0.0.9`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AddrRange {
    family: Family,
    first: u128,
    last: u128,
}

impl AddrRange {
    /// Refuses mixed families and a first address above the last.
    pub fn new(first: IpAddr, last: IpAddr) -> Result<AddrRange, String> {
        let (family, lo) = widen(first);
        let (last_family, hi) = widen(last);
        if family != last_family {
            return Err(format!("range {first}-{last} mixes IPv4 and IPv6"));
        }
        if lo > hi {
            return Err(format!(
                "range {first}-{last} is empty: {first} comes after {last}"
            ));
        }
        Ok(AddrRange {
            family,
            first: lo,
            last: hi,
        })
    }

    pub fn family(&self) -> Family {
        self.family
    }

    pub fn first(&self) -> IpAddr {
        self.family.address(self.first)
    }

    pub fn last(&self) -> IpAddr {
        self.family.address(self.last)
    }

    /// Whether `ip` lies in the range, ends included. Hot-path safe.
    #[inline]
    pub fn contains(&self, ip: IpAddr) -> bool {
        let (family, bits) = widen(ip);
        family == self.family && self.first <= bits && bits <= self.last
    }
}

impl FromStr for AddrRange {
    type Err = String;

    fn from_str(text: &str) -> Result<AddrRange, String> {
        let (first, last) = text
            .split_once('-')
            .ok_or_else(|| format!("{text:?} is not a range FIRST-LAST"))?;
        AddrRange::new(parse_ip(first.trim())?, parse_ip(last.trim())?)
    }
}

impl fmt::Display for AddrRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.first(), self.last())
    }
}

/// One literal address entry as written in the config.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddrLiteral {
    Prefix(Prefix),
    Range(AddrRange),
}

impl AddrLiteral {
    /// Parses a prefix, a single address or a range. `Ok(None)`: the text is not shaped
    /// like an address at all (so it may be an object name); `Err`: it is shaped like one
    /// but wrong (`10.0.0.1/24`, `10.0.0.300`, `10.0.0.9-10.0.0.1`).
    pub fn parse(text: &str) -> Result<Option<AddrLiteral>, String> {
        if text.contains('/') {
            return text.parse().map(|p| Some(AddrLiteral::Prefix(p)));
        }
        if let Ok(ip) = text.parse::<IpAddr>() {
            return Ok(Some(AddrLiteral::Prefix(Prefix::host(ip))));
        }
        if let Some((first, last)) = text.split_once('-') {
            let (first, last) = (first.trim(), last.trim());
            if first.parse::<IpAddr>().is_ok() || last.parse::<IpAddr>().is_ok() {
                return text.parse().map(|r| Some(AddrLiteral::Range(r)));
            }
        }
        if looks_numeric(text) {
            return Err(format!("{text:?} is not a valid IPv4 or IPv6 address"));
        }
        Ok(None)
    }

    /// The entry as a range (a prefix is a range). Hot-path matchers compile to these.
    pub fn range(&self) -> AddrRange {
        match self {
            AddrLiteral::Prefix(p) => p.range(),
            AddrLiteral::Range(r) => *r,
        }
    }
}

/// "10.0.0.300", "1.2.3": digits and dots only, so a mistyped address, never a name.
fn looks_numeric(text: &str) -> bool {
    text.contains('.') && text.chars().all(|c| c.is_ascii_digit() || c == '.')
}

/// A compiled set of addresses: a rule's source or destination. `any` matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddressSet {
    pub any: bool,
    pub ranges: Vec<AddrRange>,
}

impl AddressSet {
    /// Whether `ip` is in the set. A linear scan: fine for the handful of entries a rule
    /// holds; policy compilation may build a trie on top. Hot-path safe.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.any || self.ranges.iter().any(|r| r.contains(ip))
    }
}

/// An inclusive range of ports: `80` or `8080-8090`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortRange {
    pub lo: u16,
    pub hi: u16,
}

impl PortRange {
    pub const ALL: PortRange = PortRange {
        lo: 0,
        hi: u16::MAX,
    };

    /// Whether `port` lies in the range. Hot-path safe.
    #[inline]
    pub fn contains(&self, port: u16) -> bool {
        self.lo <= port && port <= self.hi
    }
}

impl FromStr for PortRange {
    type Err = String;

    fn from_str(text: &str) -> Result<PortRange, String> {
        let port = |s: &str| {
            s.trim()
                .parse::<u16>()
                .map_err(|_| format!("port {:?} is not a number in 0..65535", s.trim()))
        };
        let (lo, hi) = match text.split_once('-') {
            Some((lo, hi)) => (port(lo)?, port(hi)?),
            None => {
                let p = port(text)?;
                (p, p)
            }
        };
        if lo > hi {
            return Err(format!("port range {lo}-{hi} is empty: {lo} > {hi}"));
        }
        Ok(PortRange { lo, hi })
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.lo == self.hi {
            write!(f, "{}", self.lo)
        } else {
            write!(f, "{}-{}", self.lo, self.hi)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn prefix_membership_v4_and_v6() {
        let p: Prefix = "10.1.0.0/16".parse().unwrap();
        assert!(p.contains(ip("10.1.255.255")));
        assert!(p.contains(ip("10.1.0.0")));
        assert!(!p.contains(ip("10.2.0.0")));
        assert!(!p.contains(ip("::ffff:10.1.0.1")), "families never mix");

        let p6: Prefix = "2001:db8::/64".parse().unwrap();
        assert!(p6.contains(ip("2001:db8::1")));
        assert!(!p6.contains(ip("2001:db8:0:1::1")));
        assert!(!p6.contains(ip("10.1.0.1")));
    }

    #[test]
    fn zero_and_full_length_prefixes() {
        let all4: Prefix = "0.0.0.0/0".parse().unwrap();
        assert!(all4.contains(ip("255.255.255.255")));
        assert!(!all4.contains(ip("::1")));
        let all6: Prefix = "::/0".parse().unwrap();
        assert!(all6.contains(ip("ffff::1")));
        let host: Prefix = "192.0.2.7".parse().unwrap();
        assert_eq!(host.len(), 32);
        assert!(host.contains(ip("192.0.2.7")) && !host.contains(ip("192.0.2.8")));
        assert_eq!(host.to_string(), "192.0.2.7/32");
    }

    #[test]
    fn prefix_errors_explain_themselves() {
        let err = "10.0.0.1/24".parse::<Prefix>().unwrap_err();
        assert_eq!(
            err,
            "10.0.0.1/24 has host bits set; did you mean 10.0.0.0/24"
        );
        let err = "2001:db8::1/64".parse::<Prefix>().unwrap_err();
        assert!(err.contains("did you mean 2001:db8::/64"), "{err}");
        assert!("10.0.0.0/33"
            .parse::<Prefix>()
            .unwrap_err()
            .contains("longer"));
        assert!("10.0.0.0/x".parse::<Prefix>().is_err());
        assert!("10.0.0/8".parse::<Prefix>().is_err());
    }

    #[test]
    fn prefix_as_range_covers_the_same_addresses() {
        let r = "10.0.0.0/30".parse::<Prefix>().unwrap().range();
        assert_eq!(r.to_string(), "10.0.0.0-10.0.0.3");
        let r = "::/0".parse::<Prefix>().unwrap().range();
        assert_eq!(r.last(), ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
        let r = "0.0.0.0/0".parse::<Prefix>().unwrap().range();
        assert_eq!(r.last(), ip("255.255.255.255"));
    }

    #[test]
    fn ranges() {
        let r: AddrRange = "10.0.0.1-10.0.0.9".parse().unwrap();
        assert!(r.contains(ip("10.0.0.1")) && r.contains(ip("10.0.0.9")));
        assert!(!r.contains(ip("10.0.0.10")) && !r.contains(ip("10.0.0.0")));
        let r6: AddrRange = "2001:db8::1-2001:db8::ff".parse().unwrap();
        assert!(r6.contains(ip("2001:db8::80")));
        assert!("10.0.0.9-10.0.0.1"
            .parse::<AddrRange>()
            .unwrap_err()
            .contains("empty"));
        assert!("10.0.0.1-::9"
            .parse::<AddrRange>()
            .unwrap_err()
            .contains("mixes"));
    }

    #[test]
    fn literal_classification() {
        assert!(matches!(
            AddrLiteral::parse("10.0.0.0/8"),
            Ok(Some(AddrLiteral::Prefix(_)))
        ));
        assert!(matches!(
            AddrLiteral::parse("10.0.0.1-10.0.0.2"),
            Ok(Some(AddrLiteral::Range(_)))
        ));
        assert_eq!(AddrLiteral::parse("web-servers"), Ok(None));
        assert!(AddrLiteral::parse("10.0.0.300").is_err());
        assert!(AddrLiteral::parse("10.0.0.1-web").is_err());
    }

    #[test]
    fn address_set() {
        let set = AddressSet {
            any: false,
            ranges: vec!["10.0.0.0/8".parse::<Prefix>().unwrap().range()],
        };
        assert!(set.contains(ip("10.9.9.9")) && !set.contains(ip("11.0.0.0")));
        let any = AddressSet {
            any: true,
            ranges: vec![],
        };
        assert!(any.contains(ip("::1")));
    }

    #[test]
    fn port_ranges() {
        let r: PortRange = "8080-8090".parse().unwrap();
        assert!(r.contains(8080) && r.contains(8090) && !r.contains(8091));
        assert_eq!("80".parse::<PortRange>(), Ok(PortRange { lo: 80, hi: 80 }));
        assert_eq!("0".parse::<PortRange>().unwrap().lo, 0);
        assert!("65536".parse::<PortRange>().is_err());
        assert!("90-80".parse::<PortRange>().unwrap_err().contains("empty"));
        assert!("http".parse::<PortRange>().is_err());
        assert_eq!(PortRange { lo: 1, hi: 2 }.to_string(), "1-2");
    }
}
