//! Timer wheel tests: exactness against random deadlines, cancel, lazy re-arm, budget
//! resumption, mass expiry, time jumps.

use super::*;

const MS: u64 = 1_000_000;
const SEC: u64 = 1_000 * MS;
const TICK: u64 = 10 * MS;

use synwall_testkit::Rng;

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
    let mut rng = Rng::xorshift(0x5eed_1234_abcd_0001);
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
    let mut rng = Rng::xorshift(42);
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
    let mut rng = Rng::xorshift(7);
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
    let mut rng = Rng::xorshift(99);
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
    let mut rng = Rng::xorshift(2024);
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

#[test]
fn per_timer_state_is_12_bytes() {
    let n = 1_000u32;
    let wheel = TimerWheel::new(n, TICK, 0);
    let timers = n as usize;
    // Everything indexed by timer: the links below the heads, and the due ticks.
    assert_eq!(wheel.due.len(), timers);
    let bytes = std::mem::size_of_val(&wheel.next[..timers])
        + std::mem::size_of_val(&wheel.prev[..timers])
        + std::mem::size_of_val(&wheel.due[..]);
    assert_eq!(bytes, timers * BYTES_PER_TIMER);
    assert_eq!(BYTES_PER_TIMER, 12);
    assert!(wheel.far.is_empty(), "nothing allocated for far deadlines");
}

/// `d` rounded up to a whole tick.
fn rounded(d: u64, tick: u64) -> u64 {
    d.div_ceil(tick) * tick
}

#[test]
fn due_ticks_across_the_32_bit_wrap_fire_on_time() {
    // Wheels starting just before tick 2^32, 2 × 2^32 and 5.5 × 2^32: the low 32 bits of the due
    // ticks wrap around between the wheel's tick and the timers' (levels 0 to 2).
    for start_tick in [
        (1u64 << 32) - 300,
        (2u64 << 32) - 70_000,
        (5u64 << 32) + (1 << 31) - 1,
    ] {
        let mut rng = Rng::xorshift(start_tick);
        let n = 5_000u32;
        let start = start_tick * TICK + 3;
        let mut wheel = TimerWheel::new(n, TICK, start);
        let deadlines: Vec<u64> = (0..n).map(|_| start + rng.below(2_000 * SEC)).collect();
        for (idx, d) in deadlines.iter().enumerate() {
            wheel.arm(idx as u32, *d);
            assert_eq!(wheel.deadline(idx as u32), Some(rounded(*d, TICK)));
        }
        assert_eq!(run_by_hint(&mut wheel, &deadlines), n as usize);
    }
    // A 1 us tick and deadlines up to the top level's reach (2^32 - 1 ticks): every level-3
    // timer's due tick wraps.
    let tick = 1_000;
    let start = ((2u64 << 32) - 1_000) * tick;
    let mut rng = Rng::xorshift(3);
    let n = 3_000u32;
    let mut wheel = TimerWheel::new(n, tick, start);
    let deadlines: Vec<u64> = (0..n)
        .map(|_| start + rng.below(MAX_AHEAD * tick))
        .collect();
    for (idx, d) in deadlines.iter().enumerate() {
        wheel.arm(idx as u32, *d);
        assert_eq!(wheel.deadline(idx as u32), Some(rounded(*d, tick)));
    }
    assert!(wheel.far.is_empty(), "all within reach");
    assert_eq!(run_by_hint(&mut wheel, &deadlines), n as usize);
}

#[test]
fn stepping_every_tick_across_the_32_bit_wrap_with_rearms() {
    let mut rng = Rng::xorshift(77);
    let n = 2_000u32;
    let start = ((1u64 << 32) - 1_000) * TICK;
    let mut wheel = TimerWheel::new(n, TICK, start);
    // Up to 20 s (2000 ticks, the wrap at tick 1000), expired 7 ms into every tick, so a timer
    // fires in the call just after the start of the tick its deadline rounds up to; each timer
    // is re-armed once from its callback for up to 5 s later.
    let mut deadlines: Vec<u64> = (0..n).map(|_| start + rng.below(20 * SEC)).collect();
    for (idx, d) in deadlines.iter().enumerate() {
        wheel.arm(idx as u32, *d);
    }
    let mut fired = vec![0u8; n as usize];
    let mut now = start + 7 * MS;
    while now <= start + 30 * SEC {
        wheel.expire(now, usize::MAX, |idx| {
            let d = deadlines[idx as usize];
            assert!(
                now >= d && now < rounded(d, TICK) + TICK,
                "timer {idx}: deadline {d}, fired {now}"
            );
            fired[idx as usize] += 1;
            if fired[idx as usize] == 1 {
                let again = now + rng.below(5 * SEC);
                deadlines[idx as usize] = again;
                Rearm::At(again)
            } else {
                Rearm::Expired
            }
        });
        now += TICK;
    }
    assert!(fired.iter().all(|f| *f == 2));
    assert!(wheel.is_empty());
}

#[test]
fn far_deadlines_beyond_the_32_bit_reach_never_fire_early() {
    // A 1 us tick: the reach is 2^32 - 1 ticks (4295 s). The wheel starts near a wrap of the
    // due field.
    let tick = 1_000;
    let start = ((1u64 << 32) - 5) * tick;
    let reach = MAX_AHEAD * tick;
    let deadlines = [
        start + reach + 1,
        start + 3 * reach + 12_345,
        start + reach,
        start + 10 * reach + 7,
    ];
    let mut wheel = TimerWheel::new(4, tick, start);
    for (idx, d) in deadlines.iter().enumerate() {
        wheel.arm(idx as u32, *d);
        assert_eq!(wheel.deadline(idx as u32), Some(rounded(*d, tick)));
    }
    assert_eq!(
        wheel.far.len(),
        3,
        "the one at the edge itself is within reach"
    );
    assert_eq!(run_by_hint(&mut wheel, &deadlines), deadlines.len());
    assert!(wheel.far.is_empty());

    // One big jump to just before a far deadline, then one timer of work per call: it is
    // re-placed edge after edge and never fires before its deadline, then fires on its tick.
    let d = start + 7 * reach + 999;
    let mut wheel = TimerWheel::new(1, tick, start);
    wheel.arm(0, d);
    let mut calls = 0;
    while wheel.next_deadline_hint().unwrap() < d {
        calls += 1;
        assert_eq!(wheel.expire(d - 1, 1, |_| Rearm::Expired), 0, "fired early");
        assert_eq!(wheel.deadline(0), Some(rounded(d, tick)));
    }
    assert!(calls >= 7, "re-placed at each edge: {calls} calls");
    assert!(wheel.far.is_empty(), "within reach now");
    assert_eq!(
        wheel.expire(rounded(d, tick), 1, |_| Rearm::Expired),
        1,
        "fires at the start of its tick"
    );

    // Re-armed from the callback beyond the reach, then cancelled, or re-armed within it.
    let mut wheel = TimerWheel::new(2, tick, start);
    wheel.arm(0, start + 5 * tick);
    wheel.arm(1, start + 6 * tick);
    let far = start + 2 * reach;
    let fired = wheel.expire(start + 6 * tick, usize::MAX, |_| Rearm::At(far));
    assert_eq!(fired, 2);
    assert_eq!(wheel.far.len(), 2);
    assert_eq!(wheel.deadline(1), Some(far));
    assert!(wheel.cancel(0));
    wheel.arm(1, start + 100 * tick);
    assert!(
        wheel.far.is_empty(),
        "cancel and a near re-arm forget the far tick"
    );
    assert_eq!(run_by_hint(&mut wheel, &[u64::MAX, start + 100 * tick]), 1);
}

#[test]
fn overdue_timers_after_a_jump_past_the_32_bit_reach_all_fire() {
    let mut rng = Rng::xorshift(31);
    let n = 20_000u32;
    let start_tick = (3u64 << 32) + 17;
    let start = start_tick * TICK;
    let mut wheel = TimerWheel::new(n + 2, TICK, start);
    // Timers on every level (up to 2^32 - 1 ticks ahead), and one in 16 already past when
    // armed, some by more than 2^32 ticks (their low 32 bits look like the near future).
    let deadlines: Vec<u64> = (0..n)
        .map(|i| match i % 16 {
            0 => rng.below(start),
            1 => start - ((1 << 32) + rng.below(3)) * TICK,
            _ => start + rng.below(MAX_AHEAD * TICK),
        })
        .collect();
    for (idx, d) in deadlines.iter().enumerate() {
        wheel.arm(idx as u32, *d);
    }
    // The caller comes back 3 × 2^32 ticks later and works with a budget of 1000 per call.
    let now = start + (3 << 32) * TICK;
    let mut fired = vec![false; n as usize + 2];
    let (mut total, mut want, mut calls) = (0, n as usize, 0);
    while total < want {
        calls += 1;
        assert!(calls < 1_000, "no progress");
        total += wheel.expire(now, 1_000, |idx| {
            assert_ne!(idx, n, "fired early");
            assert!(idx == n + 1 || now >= deadlines[idx as usize]);
            assert!(
                !std::mem::replace(&mut fired[idx as usize], true),
                "fired twice"
            );
            Rearm::Expired
        });
        if calls == 2 {
            // Mid-drain, with the wheel far behind `now`: a timer for 5 s after `now` (beyond
            // the reach from the tick being worked on) and one already past.
            wheel.arm(n, now + 5 * SEC);
            assert_eq!(wheel.far.len(), 1);
            wheel.arm(n + 1, start);
            want += 1;
        }
        for idx in (0..n).step_by(97).filter(|i| wheel.is_armed(*i)) {
            let d = deadlines[idx as usize];
            let want = if d < start { start } else { rounded(d, TICK) };
            assert_eq!(wheel.deadline(idx), Some(want), "timer {idx}");
        }
    }
    assert!(
        fired[..n as usize].iter().all(|f| *f),
        "every overdue timer fired"
    );
    assert!(!fired[n as usize] && fired[n as usize + 1]);
    assert_eq!(wheel.len(), 1);
    assert_eq!(wheel.deadline(n), Some(now + 5 * SEC));
    assert_eq!(wheel.expire(now, usize::MAX, |_| Rearm::Expired), 0);
    assert_eq!(
        wheel.expire(now + 5 * SEC - 1, usize::MAX, |_| Rearm::Expired),
        0
    );
    assert_eq!(
        wheel.expire(now + 5 * SEC, usize::MAX, |_| Rearm::Expired),
        1
    );
    assert!(wheel.is_empty() && wheel.far.is_empty());
}
