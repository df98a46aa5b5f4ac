//! Timer wheel tests: exactness against random deadlines, cancel, lazy re-arm, budget
//! resumption, mass expiry, time jumps.

use super::*;

const MS: u64 = 1_000_000;
const SEC: u64 = 1_000 * MS;
const TICK: u64 = 10 * MS;

/// Deterministic xorshift64 so that failures reproduce.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

/// Drives the wheel by its own hint (replay style) until empty, with unlimited budget, and
/// checks every firing: at or after the deadline, less than one tick after it, exactly once.
fn run_by_hint(wheel: &mut TimerWheel, deadlines: &[u64]) -> usize {
    let tick = wheel.tick_ns();
    let mut fired = vec![false; deadlines.len()];
    let mut now = 0;
    while let Some(hint) = wheel.next_deadline_hint() {
        assert!(
            hint >= now || wheel.draining.is_some(),
            "hint went backwards"
        );
        now = now.max(hint);
        wheel.expire(now, usize::MAX, |idx| {
            let deadline = deadlines[idx as usize];
            assert!(
                now >= deadline,
                "timer {idx} fired early: {now} < {deadline}"
            );
            assert!(
                now - deadline < tick,
                "timer {idx} fired late: {now} vs {deadline}"
            );
            assert!(!fired[idx as usize], "timer {idx} fired twice");
            fired[idx as usize] = true;
            Rearm::Expired
        });
    }
    fired.iter().filter(|f| **f).count()
}

#[test]
fn random_deadlines_fire_on_their_tick_by_hint() {
    let mut rng = XorShift(0x5eed_1234_abcd_0001);
    let n = 20_000u32;
    let start = 7 * SEC + 3;
    let mut wheel = TimerWheel::new(n, TICK, start);
    // Up to 2000 s: levels 0, 1 and 2 (level 2 starts at 655 s).
    let deadlines: Vec<u64> = (0..n).map(|_| start + rng.below(2_000 * SEC)).collect();
    for (idx, d) in deadlines.iter().enumerate() {
        wheel.arm(idx as u32, *d);
    }
    assert_eq!(wheel.len(), n);
    assert_eq!(run_by_hint(&mut wheel, &deadlines), n as usize);
    assert!(wheel.is_empty());
}

#[test]
fn random_deadlines_fire_within_a_tick_when_stepping_every_tick() {
    let mut rng = XorShift(42);
    let n = 5_000u32;
    let mut wheel = TimerWheel::new(n, TICK, 0);
    // Up to 20 s: levels 0 and 1, stepping 2000 ticks one by one, at odd offsets in the tick.
    let deadlines: Vec<u64> = (0..n).map(|_| rng.below(20 * SEC)).collect();
    for (idx, d) in deadlines.iter().enumerate() {
        wheel.arm(idx as u32, *d);
    }
    let mut fired = vec![false; n as usize];
    let mut now = 0;
    while now <= 21 * SEC {
        wheel.expire(now, usize::MAX, |idx| {
            let d = deadlines[idx as usize];
            assert!(
                now >= d && now - d < TICK,
                "timer {idx}: deadline {d}, fired {now}"
            );
            assert!(
                !std::mem::replace(&mut fired[idx as usize], true),
                "fired twice"
            );
            Rearm::Expired
        });
        now += TICK;
    }
    assert!(fired.iter().all(|f| *f));
    assert_eq!(wheel.next_deadline_hint(), None);
}

#[test]
fn top_level_and_clamped_deadlines_are_exact() {
    // A 1 us tick: the top level reaches 2^32 us = 4295 s, so deadlines up to 10^4 s use
    // level 3 and are clamped past it.
    let mut rng = XorShift(7);
    let n = 3_000u32;
    let mut wheel = TimerWheel::new(n, 1_000, 0);
    let deadlines: Vec<u64> = (0..n).map(|_| rng.below(10_000 * SEC)).collect();
    for (idx, d) in deadlines.iter().enumerate() {
        wheel.arm(idx as u32, *d);
    }
    assert!(
        deadlines.iter().any(|d| *d / 1_000 > MAX_AHEAD),
        "some deadlines are clamped"
    );
    assert_eq!(run_by_hint(&mut wheel, &deadlines), n as usize);
}

#[test]
fn longest_tcp_timeout_fits_without_clamping() {
    let mut wheel = TimerWheel::new(1, TICK, 0);
    let deadline = 1_599_999 * SEC;
    wheel.arm(0, deadline);
    assert_eq!(run_by_hint(&mut wheel, &[deadline]), 1);
}

#[test]
fn cancelled_timers_never_fire() {
    let n = 3_000u32;
    let mut wheel = TimerWheel::new(n, TICK, 0);
    let mut rng = XorShift(99);
    for idx in 0..n {
        wheel.arm(idx, rng.below(1_000 * SEC));
    }
    for idx in (0..n).step_by(3) {
        assert!(wheel.cancel(idx));
        assert!(!wheel.is_armed(idx));
        assert!(!wheel.cancel(idx), "second cancel is a no-op");
    }
    assert_eq!(wheel.len(), n - n.div_ceil(3));
    let mut count = 0;
    wheel.expire(2_000 * SEC, usize::MAX, |idx| {
        assert_ne!(idx % 3, 0, "cancelled timer {idx} fired");
        count += 1;
        Rearm::Expired
    });
    assert_eq!(count, (n - n.div_ceil(3)) as usize);
    assert!(wheel.is_empty());
    assert_eq!(wheel.next_deadline_hint(), None, "bitmaps cleared");
}

#[test]
fn arming_again_replaces_the_deadline() {
    let mut wheel = TimerWheel::new(2, TICK, 0);
    wheel.arm(0, 100 * SEC);
    wheel.arm(0, 2 * SEC);
    assert_eq!(wheel.len(), 1);
    assert_eq!(wheel.deadline(0), Some(2 * SEC));
    assert_eq!(wheel.next_deadline_hint(), Some(2 * SEC));
    let mut fired = vec![];
    wheel.expire(2 * SEC, 10, |idx| {
        fired.push(idx);
        Rearm::Expired
    });
    assert_eq!(fired, [0]);
    assert_eq!(
        wheel.expire(200 * SEC, 10, |_| Rearm::Expired),
        0,
        "old deadline is gone"
    );
}

#[test]
fn lazy_aging_rearms_from_the_callback() {
    // Sessions with a 30 s timeout, refreshed by packets without touching the wheel.
    let timeout = 30 * SEC;
    let n = 100u32;
    let mut wheel = TimerWheel::new(n, TICK, 0);
    let mut last_seen = vec![0u64; n as usize];
    for idx in 0..n {
        wheel.arm(idx, timeout);
    }
    // Even sessions see a packet at 20 s, and those divisible by 4 again at 45 s.
    let mut now = 0;
    let mut expired_at = vec![None; n as usize];
    while now <= 120 * SEC {
        if now == 20 * SEC {
            (0..n as usize).step_by(2).for_each(|i| last_seen[i] = now);
        }
        if now == 45 * SEC {
            (0..n as usize).step_by(4).for_each(|i| last_seen[i] = now);
        }
        wheel.expire(now, usize::MAX, |idx| {
            let deadline = last_seen[idx as usize] + timeout;
            if deadline > now {
                Rearm::At(deadline)
            } else {
                expired_at[idx as usize] = Some(now);
                Rearm::Expired
            }
        });
        now += TICK;
    }
    for i in 0..n as usize {
        let want = last_seen[i] + timeout;
        assert_eq!(expired_at[i], Some(want), "session {i}");
    }
}

#[test]
fn rearm_into_the_past_fires_on_the_next_tick() {
    let mut wheel = TimerWheel::new(1, TICK, 0);
    wheel.arm(0, SEC);
    let mut calls = 0;
    // A finite budget: a wheel that re-fired within the tick would use all of it.
    wheel.expire(SEC, 100, |_| {
        calls += 1;
        Rearm::At(0)
    });
    assert_eq!(calls, 1, "not again within the same tick");
    assert_eq!(wheel.next_deadline_hint(), Some(SEC + TICK));
    wheel.expire(SEC + TICK, usize::MAX, |_| Rearm::Expired);
    assert!(wheel.is_empty());
}

#[test]
fn budget_resumes_mid_slot_without_loss_or_repeat() {
    let n = 1_000u32;
    let mut wheel = TimerWheel::new(n + 2, TICK, 0);
    // Level 0 (below 2.56 s), so that the slot is fired tick by tick, not while cascading.
    for idx in 0..n {
        wheel.arm(idx, 2 * SEC);
    }
    // A timer at the next tick must wait for the slot before it.
    wheel.arm(n, 2 * SEC + TICK);
    let mut fired = vec![0u32; (n + 2) as usize];
    let mut order = vec![];
    let mut calls = 0;
    let now = 10 * SEC;
    let mut total = 0;
    while total < (n + 2) as usize {
        calls += 1;
        assert!(calls < 1_000, "no progress");
        total += wheel.expire(now, 7, |idx| {
            fired[idx as usize] += 1;
            order.push(idx);
            Rearm::Expired
        });
        if calls == 3 {
            // Mid-slot: a timer already due joins the slot being fired, a cancelled one
            // waiting in it never fires.
            wheel.arm(n + 1, 0);
            assert!(wheel.cancel(500));
            total += 1; // 500 will not fire; count it as handled
        }
    }
    assert!(fired
        .iter()
        .enumerate()
        .all(|(i, f)| *f == u32::from(i != 500)));
    assert_eq!(*order.last().unwrap(), n, "the later tick comes last");
    assert_eq!(calls, (n as usize + 1).div_ceil(7));
}

#[test]
fn mass_expiry_takes_ceil_n_over_budget_calls() {
    let n = 100_000u32;
    for deadline in [2 * SEC, 2_000 * SEC] {
        // Level 0, and level 2 reached by one late call (timers fire while cascading).
        let mut wheel = TimerWheel::new(n, TICK, 0);
        for idx in 0..n {
            wheel.arm(idx, deadline);
        }
        let now = deadline + 5 * SEC;
        let mut calls = 0;
        let mut total = 0;
        while total < n as usize {
            let fired = wheel.expire(now, 1_000, |_| Rearm::Expired);
            assert_eq!(fired, 1_000, "call {calls} at deadline {deadline}");
            total += fired;
            calls += 1;
        }
        assert_eq!(calls, n.div_ceil(1_000) as usize);
        assert!(wheel.is_empty());
    }
}

#[test]
fn large_time_jumps_fire_everything_once_and_the_wheel_goes_on() {
    let mut rng = XorShift(2024);
    let n = 10_000u32;
    let mut wheel = TimerWheel::new(n, TICK, 0);
    for idx in 0..n {
        wheel.arm(idx, rng.below(1_000_000 * SEC));
    }
    let mut fired = vec![false; n as usize];
    let count = wheel.expire(2_000_000 * SEC, usize::MAX, |idx| {
        assert!(!std::mem::replace(&mut fired[idx as usize], true));
        Rearm::Expired
    });
    assert_eq!(count, n as usize);
    // After the jump, time is where the caller said: new timers are relative to it.
    let now = 2_000_000 * SEC;
    wheel.arm(1, now + 5 * SEC);
    assert_eq!(
        wheel.expire(now + 5 * SEC - 1, usize::MAX, |_| Rearm::Expired),
        0
    );
    assert_eq!(
        wheel.expire(now + 5 * SEC, usize::MAX, |_| Rearm::Expired),
        1
    );
    // A smaller `now` afterwards does nothing and moves nothing back.
    wheel.arm(2, now + 10 * SEC);
    assert_eq!(wheel.expire(SEC, usize::MAX, |_| Rearm::Expired), 0);
    assert!(wheel.is_armed(2));
    assert_eq!(run_by_hint(&mut wheel, &[0, 0, now + 10 * SEC]), 1);
}

#[test]
fn hint_is_the_earliest_occupied_tick() {
    let mut wheel = TimerWheel::new(4, TICK, 0);
    assert_eq!(wheel.next_deadline_hint(), None);
    wheel.arm(0, 15 * MS);
    assert_eq!(
        wheel.next_deadline_hint(),
        Some(20 * MS),
        "rounded up to a tick"
    );
    wheel.arm(1, 700 * SEC);
    assert_eq!(wheel.next_deadline_hint(), Some(20 * MS));
    wheel.cancel(0);
    // 70 000 ticks ahead sits at level 2 slot 1, cascaded at tick 65 536 (655.36 s), then at
    // level 1 slot 17, cascaded at tick 69 888 (698.88 s), then fires at 700 s. The hints are
    // those ticks: lower bounds where only cascading happens.
    let mut hints = vec![];
    while let Some(hint) = wheel.next_deadline_hint() {
        hints.push(hint);
        wheel.expire(hint, usize::MAX, |_| Rearm::Expired);
    }
    assert_eq!(hints, [65_536 * TICK, 69_888 * TICK, 700 * SEC]);
}

#[test]
fn budget_zero_does_nothing() {
    let mut wheel = TimerWheel::new(1, TICK, 0);
    wheel.arm(0, 0);
    assert_eq!(wheel.expire(SEC, 0, |_| Rearm::Expired), 0);
    assert!(wheel.is_armed(0));
}

#[test]
fn helpers() {
    assert_eq!(service_tick(0, 0, 0), 0);
    assert_eq!(service_tick(5, 0, 3), 259);
    assert_eq!(
        service_tick(256, 1, 1),
        256,
        "an unprocessed aligned tick is its own"
    );
    assert_eq!(service_tick(257, 1, 1), 256 + 65_536);
    assert_eq!(service_tick(257, 1, 2), 512);
    let mut bits = [0u64; WORDS];
    bits[1] = 1 << 5;
    bits[3] = 1 << 63;
    assert_eq!(first_set_from(&bits, 0), Some(69));
    assert_eq!(first_set_from(&bits, 70), Some(255));
    assert_eq!(first_set_from(&bits, 256), None);
}
