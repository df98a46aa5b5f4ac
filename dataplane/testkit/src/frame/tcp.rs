//! TCP header fields, flags and options, as a builder writes them and a reader reads them back.

use std::fmt;

/// TCP header flags, as on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    pub const FIN: TcpFlags = TcpFlags(0x01);
    pub const SYN: TcpFlags = TcpFlags(0x02);
    pub const RST: TcpFlags = TcpFlags(0x04);
    pub const PSH: TcpFlags = TcpFlags(0x08);
    pub const ACK: TcpFlags = TcpFlags(0x10);
    pub const URG: TcpFlags = TcpFlags(0x20);

    pub fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for TcpFlags {
    type Output = TcpFlags;
    fn bitor(self, rhs: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | rhs.0)
    }
}

/// The flag byte of `synwall_types::tcp::flags` constants.
impl From<u8> for TcpFlags {
    fn from(bits: u8) -> TcpFlags {
        TcpFlags(bits)
    }
}

/// Longest TCP option area (data offset 15).
pub const MAX_OPTIONS: usize = 40;

/// TCP options in wire order, written as given and zero-padded (end of options) to a whole
/// number of 32-bit words. Copy, no allocation: bulk generation builds millions of headers.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TcpOptions {
    bytes: [u8; MAX_OPTIONS],
    len: u8,
}

impl TcpOptions {
    pub const NONE: TcpOptions = TcpOptions {
        bytes: [0; MAX_OPTIONS],
        len: 0,
    };

    /// What the generator's SYNs and SYN-ACKs carry, each option word-aligned: MSS; NOP, NOP,
    /// SACK-permitted; NOP, window scale.
    pub fn handshake(mss: u16, window_scale: u8) -> TcpOptions {
        TcpOptions::NONE
            .mss(mss)
            .nop()
            .nop()
            .sack_permitted()
            .nop()
            .window_scale(window_scale)
    }

    /// Appends bytes as they are (any option, or a malformed one).
    pub fn raw(mut self, bytes: &[u8]) -> TcpOptions {
        let at = usize::from(self.len);
        assert!(at + bytes.len() <= MAX_OPTIONS, "TCP options past 40 bytes");
        self.bytes[at..at + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len() as u8;
        self
    }

    pub fn nop(self) -> TcpOptions {
        self.raw(&[1])
    }

    /// Kind 2: maximum segment size.
    pub fn mss(self, mss: u16) -> TcpOptions {
        let [hi, lo] = mss.to_be_bytes();
        self.raw(&[2, 4, hi, lo])
    }

    /// Kind 3: window scale shift.
    pub fn window_scale(self, shift: u8) -> TcpOptions {
        self.raw(&[3, 3, shift])
    }

    /// Kind 4: SACK permitted.
    pub fn sack_permitted(self) -> TcpOptions {
        self.raw(&[4, 2])
    }

    /// Kind 8: timestamps.
    pub fn timestamps(self, value: u32, echo_reply: u32) -> TcpOptions {
        let mut option = [8, 10, 0, 0, 0, 0, 0, 0, 0, 0];
        option[2..6].copy_from_slice(&value.to_be_bytes());
        option[6..].copy_from_slice(&echo_reply.to_be_bytes());
        self.raw(&option)
    }

    /// The options as appended, without padding.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// Bytes on the wire: rounded up to whole 32-bit words.
    pub fn padded_len(&self) -> usize {
        usize::from(self.len).div_ceil(4) * 4
    }

    /// The MSS option's value, if present (read back from a parsed header).
    pub fn mss_value(&self) -> Option<u16> {
        self.find(2, 4).map(|o| u16::from_be_bytes([o[2], o[3]]))
    }

    /// The window scale option's shift, if present.
    pub fn window_scale_value(&self) -> Option<u8> {
        self.find(3, 3).map(|o| o[2])
    }

    pub fn has_sack_permitted(&self) -> bool {
        self.find(4, 2).is_some()
    }

    /// The first option of `kind` with length `len`: walks kinds and lengths, stops at end of
    /// options or at a malformed length.
    fn find(&self, kind: u8, len: usize) -> Option<&[u8]> {
        let mut rest = self.as_bytes();
        while let Some(&k) = rest.first() {
            match k {
                0 => return None,
                1 => rest = &rest[1..],
                _ => {
                    let l = usize::from(*rest.get(1)?);
                    if l < 2 || l > rest.len() {
                        return None;
                    }
                    if k == kind && l == len {
                        return Some(&rest[..l]);
                    }
                    rest = &rest[l..];
                }
            }
        }
        None
    }
}

impl Default for TcpOptions {
    fn default() -> TcpOptions {
        TcpOptions::NONE
    }
}

impl fmt::Debug for TcpOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TcpOptions({:02x?})", self.as_bytes())
    }
}

/// A TCP header's fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpFields {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    /// Written as is; meaningful to receivers only with [`TcpFlags::ACK`].
    pub ack: u32,
    pub flags: TcpFlags,
    pub window: u16,
    pub urgent: u16,
    pub options: TcpOptions,
}

impl TcpFields {
    /// No options, window 64240 (Linux's initial window), seq, ack and urgent pointer 0.
    pub fn new(src_port: u16, dst_port: u16, flags: TcpFlags) -> Self {
        TcpFields {
            src_port,
            dst_port,
            seq: 0,
            ack: 0,
            flags,
            window: 64_240,
            urgent: 0,
            options: TcpOptions::NONE,
        }
    }

    /// Header length with options, a multiple of 4.
    pub fn header_len(&self) -> usize {
        20 + self.options.padded_len()
    }

    /// Appends the header (checksum 0) and `payload` to `out`.
    pub fn write_segment(&self, payload: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(&self.src_port.to_be_bytes());
        out.extend_from_slice(&self.dst_port.to_be_bytes());
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.ack.to_be_bytes());
        out.push(((self.header_len() / 4) as u8) << 4);
        out.push(self.flags.0);
        out.extend_from_slice(&self.window.to_be_bytes());
        out.extend_from_slice(&[0, 0]); // checksum
        out.extend_from_slice(&self.urgent.to_be_bytes());
        let options = self.options.as_bytes();
        out.extend_from_slice(options);
        out.resize(out.len() + self.options.padded_len() - options.len(), 0);
        out.extend_from_slice(payload);
    }

    /// The segment alone (checksum 0): for IP payloads put together by hand.
    pub fn segment(&self, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.header_len() + payload.len());
        self.write_segment(payload, &mut out);
        out
    }

    /// Reads a header back; `None` when `segment` is shorter than its header or its data
    /// offset is below 5.
    pub fn read(segment: &[u8]) -> Option<TcpFields> {
        let header_len = usize::from(*segment.get(12)? >> 4) * 4;
        if header_len < 20 || segment.len() < header_len {
            return None;
        }
        let be16 = |at: usize| u16::from_be_bytes([segment[at], segment[at + 1]]);
        let be32 = |at: usize| {
            u32::from_be_bytes([
                segment[at],
                segment[at + 1],
                segment[at + 2],
                segment[at + 3],
            ])
        };
        Some(TcpFields {
            src_port: be16(0),
            dst_port: be16(2),
            seq: be32(4),
            ack: be32(8),
            flags: TcpFlags(segment[13]),
            window: be16(14),
            urgent: be16(18),
            options: TcpOptions::NONE.raw(&segment[20..header_len]),
        })
    }
}
