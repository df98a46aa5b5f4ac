//! Bit-vector classification tables (Lakshman & Stiliadis, SIGCOMM '98).
//!
//! One dimension of the rule set is a list of inclusive ranges over `u128` keys (an IPv4
//! address widened, an IPv6 address, or `proto << 16 | port`), each tagged with the position
//! of the rule it belongs to. Every range boundary cuts the key space; between two cuts lies an
//! *elementary interval* inside which every key is matched by exactly the same rules. The table
//! stores the sorted interval starts and, per interval, the bitset of those rules (bit `i` =
//! rule position `i`, lowest bit first, so ascending bits are rule order).
//!
//! Lookup is one binary search returning a borrowed slice of words: no allocation.
//!
//! Memory: `intervals × ceil(rules / 64) × 8` bytes plus 16 bytes per interval start, with
//! `intervals ≤ 2 × ranges + 1` (adjacent intervals with equal bitsets are merged).

/// Number of 64-bit words holding `bits` bits.
pub(super) const fn words_for(bits: usize) -> usize {
    bits.div_ceil(64)
}

/// Sets bit `i` of `bits`.
#[inline]
pub(super) fn set(bits: &mut [u64], i: usize) {
    bits[i / 64] |= 1u64 << (i % 64);
}

/// Whether bit `i` of `bits` is set.
#[inline]
#[cfg(test)]
pub(super) fn get(bits: &[u64], i: usize) -> bool {
    bits.get(i / 64)
        .is_some_and(|w| w & (1u64 << (i % 64)) != 0)
}

/// An inclusive range of keys matched by the rule at position `rule`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct KeyRange {
    pub lo: u128,
    pub hi: u128,
    pub rule: u32,
}

/// The elementary intervals of one dimension and the rules matching each.
#[derive(Clone, Debug, Default)]
pub(super) struct IntervalTable {
    /// Sorted interval starts; `starts[0] == 0`, so every key falls in some interval.
    starts: Vec<u128>,
    /// `starts.len() × words` words: the bitset of interval `i` at `[i × words, (i+1) × words)`.
    bits: Vec<u64>,
    words: usize,
}

impl IntervalTable {
    /// Builds the table of `rules` rule positions from their ranges (a rule may have several,
    /// overlapping ones too). A sweep over the sorted boundaries with a count per rule, so the
    /// cost is O(ranges log ranges + intervals × words).
    pub fn build(rules: usize, ranges: &[KeyRange]) -> IntervalTable {
        let words = words_for(rules);
        let mut bounds: Vec<u128> = Vec::with_capacity(2 * ranges.len() + 1);
        bounds.push(0);
        for r in ranges {
            bounds.push(r.lo);
            if let Some(next) = r.hi.checked_add(1) {
                bounds.push(next);
            }
        }
        bounds.sort_unstable();
        bounds.dedup();
        let index = |key: u128| bounds.partition_point(|&b| b < key);
        // (boundary index, rule, +1 start / -1 end)
        let mut events: Vec<(usize, u32, i32)> = Vec::with_capacity(2 * ranges.len());
        for r in ranges {
            events.push((index(r.lo), r.rule, 1));
            if let Some(next) = r.hi.checked_add(1) {
                events.push((index(next), r.rule, -1));
            }
        }
        events.sort_unstable_by_key(|e| e.0);

        let mut count = vec![0i32; words * 64];
        let mut cur = vec![0u64; words];
        let mut table = IntervalTable {
            starts: Vec::new(),
            bits: Vec::new(),
            words,
        };
        let mut ev = 0;
        for (i, &start) in bounds.iter().enumerate() {
            while let Some(&(at, rule, delta)) = events.get(ev) {
                if at != i {
                    break;
                }
                let rule = rule as usize;
                count[rule] += delta;
                let bit = 1u64 << (rule % 64);
                if count[rule] > 0 {
                    cur[rule / 64] |= bit;
                } else {
                    cur[rule / 64] &= !bit;
                }
                ev += 1;
            }
            let same_as_last =
                !table.starts.is_empty() && table.bits[table.bits.len() - words..] == cur[..];
            if same_as_last {
                continue;
            }
            table.starts.push(start);
            table.bits.extend_from_slice(&cur);
        }
        table
    }

    /// The bitset of the rules matching `key`. Hot-path safe: a binary search, no allocation.
    #[inline]
    pub fn get(&self, key: u128) -> &[u64] {
        // starts[0] == 0 <= key, so the partition point is at least 1.
        let i = self.starts.partition_point(|&s| s <= key).saturating_sub(1);
        self.bits
            .get(i * self.words..(i + 1) * self.words)
            .unwrap_or(&[])
    }

    /// Number of elementary intervals.
    #[cfg(test)]
    pub fn intervals(&self) -> usize {
        self.starts.len()
    }

    /// Bytes held by the table.
    pub fn memory_bytes(&self) -> usize {
        self.starts.len() * std::mem::size_of::<u128>() + self.bits.len() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_and_merging() {
        let ranges = [
            KeyRange {
                lo: 10,
                hi: 19,
                rule: 0,
            },
            KeyRange {
                lo: 15,
                hi: 30,
                rule: 1,
            },
            KeyRange {
                lo: 0,
                hi: u128::MAX,
                rule: 2,
            },
            // Abutting ranges of one rule merge into one interval.
            KeyRange {
                lo: 100,
                hi: 199,
                rule: 3,
            },
            KeyRange {
                lo: 200,
                hi: 299,
                rule: 3,
            },
        ];
        let t = IntervalTable::build(4, &ranges);
        let rules = |k: u128| (0..4).filter(|&r| get(t.get(k), r)).collect::<Vec<_>>();
        assert_eq!(rules(0), vec![2]);
        assert_eq!(rules(10), vec![0, 2]);
        assert_eq!(rules(15), vec![0, 1, 2]);
        assert_eq!(rules(19), vec![0, 1, 2]);
        assert_eq!(rules(20), vec![1, 2]);
        assert_eq!(rules(31), vec![2]);
        assert_eq!(rules(150), vec![2, 3]);
        assert_eq!(rules(299), vec![2, 3]);
        assert_eq!(rules(300), vec![2]);
        assert_eq!(rules(u128::MAX), vec![2]);
        // 0, 10, 15, 20, 31, 100, 300
        assert_eq!(t.intervals(), 7);
    }

    #[test]
    fn empty_tables() {
        let t = IntervalTable::build(0, &[]);
        assert!(t.get(5).is_empty());
        let t = IntervalTable::build(3, &[]);
        assert_eq!(t.get(u128::MAX), &[0u64][..]);
    }
}
