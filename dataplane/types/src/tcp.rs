//! TCP flag bits and the PAN-OS-style letters logs and counters print for them.

/// TCP header flag bits (RFC 9293 section 3.1, plus ECE/CWR from RFC 3168).
pub mod flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ECE: u8 = 0x40;
    pub const CWR: u8 = 0x80;
}

/// TCP flags as PAN-OS-style letters, without allocating: S F R P A U E C, so SYN-ACK is "SA",
/// FIN-ACK "FA", PSH-ACK "PA", RST-ACK "RA".
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct FlagCode {
    buf: [u8; 8],
    len: u8,
}

impl std::ops::Deref for FlagCode {
    type Target = str;
    fn deref(&self) -> &str {
        // Only ASCII letters are ever written.
        std::str::from_utf8(&self.buf[..self.len as usize]).unwrap_or("")
    }
}

impl std::fmt::Display for FlagCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self)
    }
}

impl std::fmt::Debug for FlagCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FlagCode({:?})", &**self)
    }
}

/// The letters of the flag byte `flags`, in the order S F R P A U E C.
pub fn flag_code(flags: u8) -> FlagCode {
    const ORDER: [(u8, u8); 8] = [
        (flags::SYN, b'S'),
        (flags::FIN, b'F'),
        (flags::RST, b'R'),
        (flags::PSH, b'P'),
        (flags::ACK, b'A'),
        (flags::URG, b'U'),
        (flags::ECE, b'E'),
        (flags::CWR, b'C'),
    ];
    let mut code = FlagCode {
        buf: [0; 8],
        len: 0,
    };
    for (bit, letter) in ORDER {
        if flags & bit != 0 {
            code.buf[code.len as usize] = letter;
            code.len += 1;
        }
    }
    code
}

#[cfg(test)]
mod tests {
    use super::flags::*;
    use super::*;

    #[test]
    fn flag_codes() {
        assert_eq!(&*flag_code(SYN | ACK), "SA");
        assert_eq!(&*flag_code(FIN | ACK), "FA");
        assert_eq!(&*flag_code(PSH | ACK), "PA");
        assert_eq!(&*flag_code(RST | ACK), "RA");
        assert_eq!(&*flag_code(ACK), "A");
        assert_eq!(&*flag_code(RST), "R");
        assert_eq!(&*flag_code(0), "");
        assert_eq!(flag_code(0xff).len(), 8);
        assert_eq!(format!("{:?}", flag_code(SYN)), "FlagCode(\"S\")");
    }
}
