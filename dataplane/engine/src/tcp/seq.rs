//! TCP sequence numbers compared in wrapping (RFC 1982 serial number) arithmetic.
//!
//! Sequence space is a circle of 2^32 numbers; `a` is "before" `b` when the forward
//! distance from `a` to `b` is less than 2^31. Doing this inside a type means no call site
//! can compare two sequence numbers with a plain `<` on `u32` by mistake (smoltcp's habit).

use core::cmp::Ordering;
use core::ops::{Add, Sub};

use serde::{Deserialize, Serialize};

/// A TCP sequence or acknowledgement number.
///
/// `PartialOrd` is the wrapping order: `SeqNumber(u32::MAX) < SeqNumber(0)`. It is only a
/// partial order (two numbers exactly 2^31 apart are unordered both ways), which is why
/// there is no `Ord`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SeqNumber(pub u32);

impl SeqNumber {
    /// Signed forward distance from `other` to `self` (positive when `self` is after).
    pub const fn diff(self, other: SeqNumber) -> i32 {
        self.0.wrapping_sub(other.0) as i32
    }

    /// The later of two numbers in wrapping order.
    pub fn max(self, other: SeqNumber) -> SeqNumber {
        if other > self {
            other
        } else {
            self
        }
    }
}

impl PartialOrd for SeqNumber {
    fn partial_cmp(&self, other: &SeqNumber) -> Option<Ordering> {
        let d = self.diff(*other);
        if d == i32::MIN {
            // Exactly half the space apart: neither is before the other.
            None
        } else {
            Some(d.cmp(&0))
        }
    }
}

impl Add<u32> for SeqNumber {
    type Output = SeqNumber;
    fn add(self, rhs: u32) -> SeqNumber {
        SeqNumber(self.0.wrapping_add(rhs))
    }
}

impl Sub<u32> for SeqNumber {
    type Output = SeqNumber;
    fn sub(self, rhs: u32) -> SeqNumber {
        SeqNumber(self.0.wrapping_sub(rhs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_wraps_around_zero() {
        let high = SeqNumber(u32::MAX - 10);
        let low = SeqNumber(5);
        assert!(high < low);
        assert!(low > high);
        assert_eq!(low.diff(high), 16);
        assert_eq!(high + 16, low);
        assert_eq!(low - 16, high);
        assert_eq!(high.max(low), low);
        assert_eq!(low.max(high), low);
    }

    #[test]
    fn half_space_apart_is_unordered() {
        let a = SeqNumber(0);
        let b = SeqNumber(1 << 31);
        assert_eq!(a.partial_cmp(&b), None);
        assert_eq!((a < b, a > b, a <= b, a >= b), (false, false, false, false));
        assert!(SeqNumber(7) <= SeqNumber(7));
    }
}
