//! The workers' clock: unix nanoseconds from the TSC, with no syscall on the packet path.

use std::time::{SystemTime, UNIX_EPOCH};

/// Converts TSC readings to unix ns: `unix0 + (tsc - tsc0) * ns_per_tick`, the factor kept as a
/// 32.32 fixed-point number so the conversion is one multiply and a shift.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    tsc0: u64,
    unix0: u64,
    mult: u64,
}

impl Clock {
    /// Anchors the clock now (management path: reads the system time once).
    pub fn new(tsc_hz: u64) -> Clock {
        let unix0 = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let mult = ((1_000_000_000u128 << 32) / tsc_hz.max(1) as u128) as u64;
        Clock {
            tsc0: dpdk::tsc(),
            unix0,
            mult,
        }
    }

    #[inline(always)]
    pub fn now(&self) -> u64 {
        self.at(dpdk::tsc())
    }

    /// The unix ns of a TSC reading taken earlier (one `rdtsc` serves a whole loop).
    #[inline(always)]
    pub fn at(&self, tsc: u64) -> u64 {
        let ticks = tsc.wrapping_sub(self.tsc0);
        self.unix0 + ((ticks as u128 * self.mult as u128) >> 32) as u64
    }

    /// Nanoseconds in `ticks` TSC ticks.
    #[inline(always)]
    pub fn ticks_to_ns(&self, ticks: u64) -> u64 {
        ((ticks as u128 * self.mult as u128) >> 32) as u64
    }
}
