//! TCP, UDP, ICMP/ICMPv6, and the inner headers quoted by ICMP errors.

use super::bytes::{array16, array4, be16, be32, u8_at};
use super::{IcmpInfo, IcmpKind, Parsed, TcpInfo};
use crate::flow::{v4_mapped, FlowKey, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP};
use crate::reasons::DropReason;

mod tcp_field {
    pub const SEQ: usize = 4;
    pub const ACK: usize = 8;
    pub const DATA_OFFSET: usize = 12;
    pub const FLAGS: usize = 13;
    pub const WINDOW: usize = 14;
    pub const MIN_LEN: usize = 20;
}

/// Parses the transport header at `off`; `end` is the end of the IP packet.
pub fn transport(frame: &[u8], off: usize, end: usize, p: &mut Parsed) -> Result<(), DropReason> {
    let (hdr_len, payload_end) = match p.key.proto {
        PROTO_TCP => (tcp(frame, off, end, p)?, end),
        PROTO_UDP => udp(frame, off, end, p)?,
        PROTO_ICMP | PROTO_ICMPV6 => (icmp(frame, off, end, p)?, end),
        _ => (0, end),
    };
    p.payload_offset = (off + hdr_len) as u16;
    p.payload_len = payload_end.saturating_sub(off + hdr_len) as u16;
    Ok(())
}

fn tcp(frame: &[u8], off: usize, end: usize, p: &mut Parsed) -> Result<usize, DropReason> {
    let bad = DropReason::MalformedTcp;
    if off + tcp_field::MIN_LEN > end {
        return Err(bad);
    }
    let doff = (u8_at(frame, off + tcp_field::DATA_OFFSET).ok_or(bad)? >> 4) as usize * 4;
    if doff < tcp_field::MIN_LEN || off + doff > end {
        return Err(bad);
    }
    p.key.sport = be16(frame, off).ok_or(bad)?;
    p.key.dport = be16(frame, off + 2).ok_or(bad)?;
    p.tcp = TcpInfo {
        flags: u8_at(frame, off + tcp_field::FLAGS).ok_or(bad)?,
        seq: be32(frame, off + tcp_field::SEQ).ok_or(bad)?,
        ack: be32(frame, off + tcp_field::ACK).ok_or(bad)?,
        window: be16(frame, off + tcp_field::WINDOW).ok_or(bad)?,
        ..TcpInfo::default()
    };
    tcp_options(
        frame
            .get(off + tcp_field::MIN_LEN..off + doff)
            .unwrap_or(&[]),
        &mut p.tcp,
    );
    Ok(doff)
}

/// MSS, window scale and SACK-permitted. A malformed option ends option parsing (the segment
/// itself is still valid: hosts ignore what they cannot read).
pub(super) fn tcp_options(mut opts: &[u8], t: &mut TcpInfo) {
    while let Some(&kind) = opts.first() {
        match kind {
            0 => return,
            1 => {
                opts = &opts[1..];
                continue;
            }
            _ => {}
        }
        let Some(&len) = opts.get(1) else { return };
        let len = len as usize;
        if len < 2 || len > opts.len() {
            return;
        }
        match (kind, len) {
            (2, 4) => t.mss = Some(u16::from_be_bytes([opts[2], opts[3]])),
            (3, 3) => t.wscale = Some(opts[2].min(14)),
            (4, 2) => t.sack_ok = true,
            _ => {}
        }
        opts = &opts[len..];
    }
}

/// Returns (header length, end of the UDP datagram).
fn udp(frame: &[u8], off: usize, end: usize, p: &mut Parsed) -> Result<(usize, usize), DropReason> {
    let bad = DropReason::MalformedUdp;
    if off + 8 > end {
        return Err(bad);
    }
    let len = be16(frame, off + 4).ok_or(bad)? as usize;
    // A first fragment holds the start of the datagram: its UDP length counts the bytes the
    // later fragments carry too.
    if len < 8 || (off + len > end && !p.frag.is_fragment) {
        return Err(bad);
    }
    p.key.sport = be16(frame, off).ok_or(bad)?;
    p.key.dport = be16(frame, off + 2).ok_or(bad)?;
    Ok((8, (off + len).min(end)))
}

fn is_error(proto: u8, icmp_type: u8) -> bool {
    if proto == PROTO_ICMP {
        matches!(icmp_type, 3 | 11 | 12)
    } else {
        matches!(icmp_type, 1..=4)
    }
}

fn echo_kind(proto: u8, icmp_type: u8) -> IcmpKind {
    match (proto, icmp_type) {
        (PROTO_ICMP, 8) | (PROTO_ICMPV6, 128) => IcmpKind::EchoRequest,
        (PROTO_ICMP, 0) | (PROTO_ICMPV6, 129) => IcmpKind::EchoReply,
        _ => IcmpKind::Other,
    }
}

fn icmp(frame: &[u8], off: usize, end: usize, p: &mut Parsed) -> Result<usize, DropReason> {
    let bad = DropReason::MalformedIcmp;
    if off + 8 > end {
        return Err(bad);
    }
    let icmp_type = u8_at(frame, off).ok_or(bad)?;
    let code = u8_at(frame, off + 1).ok_or(bad)?;
    let mut info = IcmpInfo {
        icmp_type,
        code,
        kind: echo_kind(p.key.proto, icmp_type),
        id: 0,
    };
    if is_error(p.key.proto, icmp_type) {
        info.kind = IcmpKind::Error;
        let quoted = frame.get(off + 8..end).unwrap_or(&[]);
        p.inner = Some(inner_key(quoted).ok_or(DropReason::MalformedIcmpInner)?);
    } else if matches!(info.kind, IcmpKind::EchoRequest | IcmpKind::EchoReply) {
        info.id = be16(frame, off + 4).ok_or(bad)?;
        // Both ports hold the id: the reply's key is the request's reversed.
        p.key.sport = info.id;
        p.key.dport = info.id;
    }
    p.icmp = info;
    Ok(8)
}

/// The flow key of the packet an ICMP error quotes: its IP header and first 8 transport bytes.
fn inner_key(q: &[u8]) -> Option<FlowKey> {
    let b0 = *q.first()?;
    let (mut key, l4) = match b0 >> 4 {
        4 => {
            let ihl = (b0 & 0x0f) as usize * 4;
            if ihl < 20 {
                return None;
            }
            let key = FlowKey {
                src: v4_mapped(array4(q, 12)?),
                dst: v4_mapped(array4(q, 16)?),
                proto: u8_at(q, 9)?,
                family: 4,
                ..FlowKey::default()
            };
            (key, ihl)
        }
        6 => {
            let key = FlowKey {
                src: array16(q, 8)?,
                dst: array16(q, 24)?,
                proto: u8_at(q, 6)?,
                family: 6,
                ..FlowKey::default()
            };
            (key, 40)
        }
        _ => return None,
    };
    match key.proto {
        PROTO_TCP | PROTO_UDP => {
            key.sport = be16(q, l4)?;
            key.dport = be16(q, l4 + 2)?;
        }
        PROTO_ICMP | PROTO_ICMPV6 => {
            if matches!(
                echo_kind(key.proto, u8_at(q, l4)?),
                IcmpKind::EchoRequest | IcmpKind::EchoReply
            ) {
                let id = be16(q, l4 + 4)?;
                key.sport = id;
                key.dport = id;
            }
        }
        _ => {}
    }
    Some(key)
}
