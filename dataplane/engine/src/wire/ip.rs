//! IPv4 and IPv6 headers, IPv6 extension headers, and source-address sanity.

use super::bytes::{array16, array4, be16, be32, u8_at};
use super::{l4, FragInfo, Parsed, MAX_IPV6_EXT_HEADERS};
use crate::flow::{v4_mapped, PROTO_ICMPV6, PROTO_UDP};
use crate::reasons::DropReason;

mod field4 {
    pub const TOTAL_LEN: usize = 2;
    pub const ID: usize = 4;
    pub const FRAG: usize = 6;
    pub const TTL: usize = 8;
    pub const PROTO: usize = 9;
    pub const SRC: usize = 12;
    pub const DST: usize = 16;
}

mod field6 {
    pub const PAYLOAD_LEN: usize = 4;
    pub const NEXT: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC: usize = 8;
    pub const DST: usize = 24;
    pub const HEADER_LEN: usize = 40;
}

const IPV4_MF: u16 = 0x2000;
/// Largest IP datagram (IPv4 total length, IPv6 payload length without jumbograms).
const MAX_DATAGRAM: usize = 65_535;
const IPV4_OFFSET_MASK: u16 = 0x1fff;

pub fn ipv4(frame: &[u8], off: usize, p: &mut Parsed) -> Result<(), DropReason> {
    use DropReason::{MalformedIpv4Header as Header, MalformedIpv4Length as Length};
    let b0 = u8_at(frame, off).ok_or(Header)?;
    let ihl = (b0 & 0x0f) as usize * 4;
    if b0 >> 4 != 4 || ihl < 20 || frame.len() < off + ihl {
        return Err(Header);
    }
    let total = be16(frame, off + field4::TOTAL_LEN).ok_or(Header)? as usize;
    // The end of the packet must also fit `Parsed`'s 16-bit offsets (a >64 KiB frame could put
    // it past them; none comes off a wire). See `ipv6`.
    if total < ihl || off + total > frame.len() || off + total > u16::MAX as usize {
        return Err(Length);
    }
    let frag = be16(frame, off + field4::FRAG).ok_or(Header)?;
    let offset_bytes = (frag & IPV4_OFFSET_MASK) * 8;
    let more = frag & IPV4_MF != 0;
    let len = total - ihl;
    // A fragment reaching past 65535 bytes makes a datagram no host can hold (ping of death).
    if offset_bytes as usize + len > MAX_DATAGRAM {
        return Err(Length);
    }
    p.frag = FragInfo {
        is_fragment: more || offset_bytes != 0,
        first: offset_bytes == 0,
        more,
        offset_bytes,
        len: len as u16,
        id: be16(frame, off + field4::ID).ok_or(Header)? as u32,
    };
    p.ttl = u8_at(frame, off + field4::TTL).ok_or(Header)?;
    p.key.proto = u8_at(frame, off + field4::PROTO).ok_or(Header)?;
    p.key.src = v4_mapped(array4(frame, off + field4::SRC).ok_or(Header)?);
    p.key.dst = v4_mapped(array4(frame, off + field4::DST).ok_or(Header)?);
    p.key.family = 4;
    p.ip_len = total as u16;
    transport(frame, off + ihl, off + total, p)
}

pub fn ipv6(frame: &[u8], off: usize, p: &mut Parsed) -> Result<(), DropReason> {
    use DropReason::{MalformedIpv6ExtHeader as Ext, MalformedIpv6Header as Header};
    let b0 = u8_at(frame, off).ok_or(Header)?;
    if b0 >> 4 != 6 || frame.len() < off + field6::HEADER_LEN {
        return Err(Header);
    }
    let payload = be16(frame, off + field6::PAYLOAD_LEN).ok_or(Header)? as usize;
    let end = off + field6::HEADER_LEN + payload;
    // `Parsed` keeps offsets and the IP length in 16 bits: a packet ending past 64 KiB of
    // frame (a maximal payload length in a >64 KiB buffer) wrapped `ip_len` and could wrap
    // `l4_offset`, so the payload seemed to end before the IP packet did. Found with the
    // `parse` fuzz target's jumbo mode; no Ethernet frame is that long.
    if end > frame.len() || end > u16::MAX as usize {
        return Err(Header);
    }
    p.ttl = u8_at(frame, off + field6::HOP_LIMIT).ok_or(Header)?;
    p.key.src = array16(frame, off + field6::SRC).ok_or(Header)?;
    p.key.dst = array16(frame, off + field6::DST).ok_or(Header)?;
    p.key.family = 6;
    p.ip_len = (field6::HEADER_LEN + payload) as u16;
    let mut next = u8_at(frame, off + field6::NEXT).ok_or(Header)?;
    let mut cur = off + field6::HEADER_LEN;
    let mut walked = 0;
    loop {
        let len = match next {
            // Hop-by-hop, routing, destination options: length in 8-byte units, not counting
            // the first 8.
            0 | 43 | 60 => (u8_at(frame, cur + 1).ok_or(Ext)? as usize + 1) * 8,
            // Authentication header: length in 4-byte units, not counting the first 2.
            51 => (u8_at(frame, cur + 1).ok_or(Ext)? as usize + 2) * 4,
            44 => {
                let field = be16(frame, cur + 2).ok_or(Ext)?;
                let offset_bytes = field & 0xfff8;
                let more = field & 1 != 0;
                let len = end.saturating_sub(cur + 8);
                // RFC 8200 4.5: a fragment whose data would end past 65535 bytes is discarded.
                if offset_bytes as usize + len > MAX_DATAGRAM {
                    return Err(Ext);
                }
                p.frag = FragInfo {
                    is_fragment: more || offset_bytes != 0,
                    first: offset_bytes == 0,
                    more,
                    offset_bytes,
                    len: len as u16,
                    id: be32(frame, cur + 4).ok_or(Ext)?,
                };
                8
            }
            _ => break,
        };
        if walked == MAX_IPV6_EXT_HEADERS || cur + len > end {
            return Err(Ext);
        }
        next = u8_at(frame, cur).ok_or(Ext)?;
        cur += len;
        walked += 1;
        if p.frag.is_fragment && !p.frag.first {
            // Behind a later fragment's fragment header is data, not headers: `next` names the
            // first header of the fragmentable part, which only the first fragment carries.
            break;
        }
    }
    p.key.proto = next;
    transport(frame, cur, end, p)
}

/// The transport header, or for a non-initial fragment, nothing (it has no header).
fn transport(frame: &[u8], l4_off: usize, end: usize, p: &mut Parsed) -> Result<(), DropReason> {
    p.l4_offset = l4_off as u16;
    if p.frag.is_fragment && !p.frag.first {
        p.payload_offset = l4_off as u16;
        p.payload_len = (end - l4_off) as u16;
        return Ok(());
    }
    l4::transport(frame, l4_off, end, p).map_err(|e| {
        // A first fragment too short for its transport header is the tiny-fragment attack.
        if p.frag.is_fragment {
            DropReason::FragmentTiny
        } else {
            e
        }
    })
}

/// Sources that no host may send from, and land attacks.
pub fn check_addresses(p: &Parsed) -> Result<(), DropReason> {
    let (src, dst) = (&p.key.src, &p.key.dst);
    let unspecified = if p.key.family == 4 {
        src[12..] == [0, 0, 0, 0]
    } else {
        src.iter().all(|&b| b == 0)
    };
    let bad = if p.key.family == 4 {
        src[12] >= 224 // multicast 224/4, reserved 240/4 and broadcast 255.255.255.255
    } else {
        src[0] == 0xff // multicast ff00::/8
    };
    if bad {
        return Err(DropReason::BadSourceAddress);
    }
    if unspecified {
        // Allowed: DHCP discover (0.0.0.0 -> port 67) and IPv6 duplicate address detection.
        let dhcp = p.key.proto == PROTO_UDP && p.key.dport == 67;
        let dad = p.key.proto == PROTO_ICMPV6;
        return if dhcp || dad {
            Ok(())
        } else {
            Err(DropReason::BadSourceAddress)
        };
    }
    // IPv4: compare the 4-byte addresses alone (the v4-mapped prefixes are equal), as the
    // parser has just stored them: a 16-byte load spanning those smaller stores would stall
    // until they reach the cache.
    let land = if p.key.family == 4 {
        src[12..] == dst[12..]
    } else {
        src == dst
    };
    if land {
        return Err(DropReason::LandAttack);
    }
    Ok(())
}
