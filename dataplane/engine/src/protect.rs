//! Zone protection: flood protection per ingress zone, PAN-OS style (Network > Network Profiles
//! > Zone Protection > Flood Protection, action random early drop).
//!
//! **What is metered.** Packets that would open a session: a TCP SYN, the first UDP datagram
//! of a flow, an ICMP/ICMPv6 echo, the first packet of another IP protocol's flow; per ingress
//! zone and [`Flood`]. The engine asks [`Protection::admit`] from `Engine::open` only, before
//! the policy lookup and the table insert: packets of existing sessions never come here, so
//! established traffic pays nothing, and a refused flood packet costs no lookup and no slot.
//!
//! **The rate** is a sliding one-second window, estimated as `current + previous × (part of
//! this second still to come)` from the counts of the current and the previous whole second
//! (two counters a meter, no history, no division on the admit path but one). Every attempt
//! counts, refused ones included: it is the offered rate that drives the drop probability.
//! The clock is the engine's `now_ns` (one timestamp per burst).
//!
//! **The decision** (PAN-OS's): rate above `alarm_rate`: an alarm (counted once per episode,
//! flagged in the state gauge), nothing dropped; above `activate_rate`: each packet is dropped
//! with probability `(rate - activate) / (maximal - activate)`, rising linearly from 0 to 1;
//! above `maximal_rate`: every one is dropped. An episode (alarm, activation) ends when a whole
//! second passes at or below its threshold. The coin is a xorshift64* generator seeded per
//! worker: deterministic, no syscall.
//!
//! **Workers.** Each worker meters the flows it owns, against its share of the configured
//! rates (`rate / workers`, rounded up), as `session.max_sessions` is split: flows are spread
//! over workers by hash, so the zone as a whole sees the configured rates.
//!
//! Nothing here allocates, locks or makes a syscall after construction; counters are the
//! worker's own words of the stats segment ([`FloodWord`]).

use crate::config::Config;
use crate::reasons::{DropReason, Flood};
use crate::stats::{CounterBlock, FloodWord, SegmentReader, WorkerBlock};

/// Length of the rate window.
pub const WINDOW_NS: u64 = 1_000_000_000;

/// One flood's rates for one worker (session-opening packets per second).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FloodLimits {
    pub alarm: u32,
    pub activate: u32,
    pub maximal: u32,
}

impl FloodLimits {
    /// A worker's share of a zone's configured rates.
    pub fn share(alarm: u32, activate: u32, maximal: u32, workers: usize) -> FloodLimits {
        let w = workers.max(1) as u32;
        FloodLimits {
            alarm: alarm.div_ceil(w),
            activate: activate.div_ceil(w),
            maximal: maximal.div_ceil(w),
        }
    }
}

/// Zone protection compiled for one worker: by zone id, each flood's limits (`None`: the zone
/// does not meter that flood).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProtectionConfig {
    pub zones: Vec<[Option<FloodLimits>; Flood::COUNT]>,
}

impl ProtectionConfig {
    /// The limits of a worker out of `workers`; `zones` are the zone names by zone id (the
    /// policy's).
    pub fn from_config(config: &Config, zones: &[String], workers: usize) -> ProtectionConfig {
        let zones = zones
            .iter()
            .map(|zone| {
                let mut limits = [None; Flood::COUNT];
                if let Some(profile) = config.zone_protection_of(zone) {
                    for &flood in Flood::ALL {
                        limits[flood as usize] = profile.flood.enabled(flood).map(|t| {
                            FloodLimits::share(
                                t.alarm_rate,
                                t.activate_rate,
                                t.maximal_rate,
                                workers,
                            )
                        });
                    }
                }
                limits
            })
            .collect();
        ProtectionConfig { zones }
    }

    /// Whether no zone meters anything.
    pub fn is_empty(&self) -> bool {
        self.zones.iter().flatten().all(Option::is_none)
    }

    pub fn limits(&self, zone: u8, flood: Flood) -> Option<FloodLimits> {
        self.zones.get(zone as usize)?[flood as usize]
    }
}

/// One (zone, flood) meter.
#[derive(Clone, Copy, Debug)]
struct Meter {
    limits: FloodLimits,
    /// The second (`now_ns / WINDOW_NS`) `current` counts.
    second: u64,
    current: u32,
    /// Attempts in the whole second before `second` (0 if nothing came then).
    previous: u32,
    /// Counter block offset of this meter (`None`: zone id past the segment's zones).
    counters: Option<usize>,
    alarm: bool,
    active: bool,
}

impl Meter {
    /// Moves the window to `second`; a whole second at or below a threshold ends its episode.
    #[inline]
    fn roll(&mut self, second: u64) {
        if second <= self.second {
            return;
        }
        self.previous = if second == self.second + 1 {
            self.current
        } else {
            0
        };
        self.current = 0;
        self.second = second;
        if self.previous <= self.limits.alarm {
            self.alarm = false;
        }
        if self.previous <= self.limits.activate {
            self.active = false;
        }
    }

    /// The sliding one-second rate at `now_ns` (after `roll`).
    #[inline]
    fn rate(&self, now_ns: u64) -> u64 {
        let to_come = WINDOW_NS - now_ns % WINDOW_NS;
        self.current as u64 + self.previous as u64 * to_come / WINDOW_NS
    }

    fn state(&self, rate: u64) -> u64 {
        let mut state = 0;
        if self.alarm {
            state |= FloodWord::STATE_ALARM;
        }
        if self.active {
            state |= FloodWord::STATE_ACTIVE;
        }
        if rate > self.limits.maximal as u64 {
            state |= FloodWord::STATE_MAXIMAL;
        }
        state
    }
}

/// A worker's zone protection state: a meter per protected (zone, flood), a random generator.
pub struct Protection {
    /// By `zone * Flood::COUNT + flood`; `None` where not protected.
    meters: Vec<Option<Meter>>,
    /// Some meter exists (else `admit` returns at once).
    any: bool,
    rng: u64,
}

impl Protection {
    /// Meters for `config`; `seed` makes each worker's coin its own (its index).
    pub fn new(config: &ProtectionConfig, seed: u64) -> Protection {
        let mut p = Protection {
            meters: Vec::new(),
            any: false,
            // xorshift needs a non-zero state.
            rng: (seed.wrapping_add(1)).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1,
        };
        p.configure(config);
        p
    }

    /// Takes new limits (a reload): meters of (zone, flood) pairs still protected keep their
    /// window and episode. Management path (allocates).
    pub fn configure(&mut self, config: &ProtectionConfig) {
        let old = std::mem::take(&mut self.meters);
        self.meters = config
            .zones
            .iter()
            .enumerate()
            .flat_map(|(zone, floods)| {
                let old = &old;
                Flood::ALL.iter().map(move |&flood| {
                    let limits = floods[flood as usize]?;
                    let kept = old
                        .get(zone * Flood::COUNT + flood as usize)
                        .copied()
                        .flatten();
                    Some(Meter {
                        limits,
                        counters: WorkerBlock::flood(zone, flood),
                        ..kept.unwrap_or(Meter {
                            limits,
                            second: 0,
                            current: 0,
                            previous: 0,
                            counters: None,
                            alarm: false,
                            active: false,
                        })
                    })
                })
            })
            .collect();
        self.any = self.meters.iter().any(Option::is_some);
    }

    /// Writes which meters are enabled into the worker's counter block (at start, on reload).
    pub fn publish(&self, counters: &CounterBlock, zones: usize) {
        let c = counters.view();
        for zone in 0..zones {
            for &flood in Flood::ALL {
                if let Some(base) = WorkerBlock::flood(zone, flood) {
                    let on = self.meter(zone, flood).is_some();
                    c.set(base + FloodWord::ENABLED, on as u64);
                }
            }
        }
    }

    fn meter(&self, zone: usize, flood: Flood) -> Option<&Meter> {
        self.meters
            .get(zone * Flood::COUNT + flood as usize)?
            .as_ref()
    }

    /// Whether a session-opening packet of `flood` entering zone `zone` may go on to open a
    /// session; else the drop reason. Counted in the meter's words of `counters`.
    #[inline]
    pub fn admit(
        &mut self,
        zone: u8,
        flood: Flood,
        now_ns: u64,
        counters: &CounterBlock,
    ) -> Result<(), DropReason> {
        if !self.any {
            return Ok(());
        }
        let index = zone as usize * Flood::COUNT + flood as usize;
        let Some(Some(m)) = self.meters.get_mut(index) else {
            return Ok(());
        };
        m.roll(now_ns / WINDOW_NS);
        m.current = m.current.saturating_add(1);
        let rate = m.rate(now_ns);
        let limits = m.limits;
        let (mut alarms, mut activations) = (0, 0);
        if rate > limits.alarm as u64 && !m.alarm {
            m.alarm = true;
            alarms = 1;
        }
        let outcome = if rate > limits.activate as u64 {
            if !m.active {
                m.active = true;
                activations = 1;
            }
            if rate > limits.maximal as u64 {
                FloodWord::MAXIMAL_DROPS
            } else {
                // Drop with probability (rate - activate) / (maximal - activate), against a
                // 32-bit coin; both are below 2^21 (rates are at most 2,000,000), so neither
                // product overflows.
                let over = rate - limits.activate as u64;
                let span = (limits.maximal - limits.activate) as u64;
                let coin = next(&mut self.rng) >> 32;
                if coin * span < over << 32 {
                    FloodWord::RED_DROPS
                } else {
                    FloodWord::ALLOWED
                }
            }
        } else {
            FloodWord::ALLOWED
        };
        if let Some(base) = m.counters {
            let c = counters.view();
            c.add(base + outcome, 1);
            if alarms + activations > 0 {
                c.add(base + FloodWord::ALARMS, alarms);
                c.add(base + FloodWord::ACTIVATIONS, activations);
            }
            c.set(base + FloodWord::RATE, rate);
            c.set(base + FloodWord::STATE, m.state(rate));
        }
        if outcome == FloodWord::ALLOWED {
            Ok(())
        } else {
            Err(flood.drop_reason())
        }
    }

    /// Brings the rate and state gauges up to `now_ns` when no packet comes (a flood that
    /// stopped). Cheap: a few words per protected (zone, flood); called between bursts.
    pub fn tick(&mut self, now_ns: u64, counters: &CounterBlock) {
        if !self.any {
            return;
        }
        let c = counters.view();
        for m in self.meters.iter_mut().flatten() {
            m.roll(now_ns / WINDOW_NS);
            let rate = m.rate(now_ns);
            if let Some(base) = m.counters {
                c.set(base + FloodWord::RATE, rate);
                c.set(base + FloodWord::STATE, m.state(rate));
            }
        }
    }
}

/// One protected (zone, flood) summed over workers: what `show counter global`, `show
/// zone-protection` and the exporter report.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FloodSummary {
    pub zone: String,
    pub flood: Flood,
    /// Some worker meters it now (false: metered before a reload turned it off).
    pub enabled: bool,
    pub allowed: u64,
    pub red_drops: u64,
    pub maximal_drops: u64,
    pub alarms: u64,
    pub activations: u64,
    /// Offered rate, all workers (packets per second, sliding one-second window).
    pub rate: u64,
    /// State bits of any worker ([`FloodWord::STATE_ALARM`], ...).
    pub state: u64,
}

/// Every (zone, flood) some worker meters or has counted, from a stats segment.
pub fn summaries(r: &SegmentReader<'_>) -> Vec<FloodSummary> {
    let mut out = Vec::new();
    for zone in 0..r.zones() {
        for &flood in Flood::ALL {
            let Some(base) = WorkerBlock::flood(zone, flood) else {
                continue;
            };
            let summary = FloodSummary {
                zone: r.zone_name(zone),
                flood,
                enabled: r.sum(base + FloodWord::ENABLED) > 0,
                allowed: r.sum(base + FloodWord::ALLOWED),
                red_drops: r.sum(base + FloodWord::RED_DROPS),
                maximal_drops: r.sum(base + FloodWord::MAXIMAL_DROPS),
                alarms: r.sum(base + FloodWord::ALARMS),
                activations: r.sum(base + FloodWord::ACTIVATIONS),
                rate: r.sum(base + FloodWord::RATE),
                state: (0..r.workers()).fold(0, |s, w| s | r.worker(w, base + FloodWord::STATE)),
            };
            if summary.enabled || summary.allowed + summary.red_drops + summary.maximal_drops > 0 {
                out.push(summary);
            }
        }
    }
    out
}

/// xorshift64*: a fast, decent generator for coin flips (not for anything secret).
#[inline(always)]
fn next(state: &mut u64) -> u64 {
    let mut x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    x.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

#[cfg(test)]
pub(crate) mod tests;
