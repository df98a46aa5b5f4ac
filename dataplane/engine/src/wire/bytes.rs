//! Checked big-endian reads: every parser access goes through these, so a short or lying
//! buffer yields `None`, never a panic.

#[inline(always)]
pub fn u8_at(b: &[u8], off: usize) -> Option<u8> {
    b.get(off).copied()
}

#[inline(always)]
pub fn be16(b: &[u8], off: usize) -> Option<u16> {
    let s = b.get(off..off.checked_add(2)?)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}

#[inline(always)]
pub fn be32(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

#[inline(always)]
pub fn array4(b: &[u8], off: usize) -> Option<[u8; 4]> {
    b.get(off..off.checked_add(4)?)?.try_into().ok()
}

#[inline(always)]
pub fn array16(b: &[u8], off: usize) -> Option<[u8; 16]> {
    b.get(off..off.checked_add(16)?)?.try_into().ok()
}
