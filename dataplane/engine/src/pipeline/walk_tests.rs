//! Operator walks stepped a slice at a time while packets keep arriving: each slice stays in
//! its bounds, and the walk's answer is the one a single call gives.

use crate::api::SessionFilter;
use crate::pipeline::stored_key_tests::{engine, flow, udp, T0};
use crate::pipeline::{Task, Verdict, Walk, SLICE_SESSIONS};
use crate::reasons::EndReason;
use crate::records::NameTable;

const TRUST: u8 = 0;
const UNTRUST: u8 = 1;

fn names() -> NameTable {
    NameTable {
        ports: vec!["ethernet1/1".into(), "ethernet1/2".into()],
        zones: vec!["trust".into(), "untrust".into()],
        rules: vec!["allow-out".into()],
        apps: Vec::new(),
    }
}

/// An engine with `n` sessions of round 0 (half IPv4, half IPv6).
fn loaded(n: u16) -> crate::pipeline::Engine {
    let mut e = engine(8192);
    for i in 0..n {
        assert_eq!(
            e.process(T0, &udp(&flow(0, i)), TRUST),
            Verdict::Forward(UNTRUST)
        );
    }
    e
}

#[test]
fn a_listing_in_slices_matches_the_one_call_listing_and_each_slice_is_bounded() {
    let mut e = loaded(3000);
    let whole = e.list(&SessionFilter::default(), T0, &names(), usize::MAX);
    assert_eq!(whole.len(), 3000);
    let mut walk = Walk::new(Task::List {
        filter: SessionFilter::default(),
        limit: usize::MAX,
        found: Vec::new(),
    });
    let mut steps = 0;
    let mut seen = 0;
    while !e.step(&mut walk, T0, &names()) {
        steps += 1;
        let Task::List { found, .. } = &walk.task else {
            unreachable!()
        };
        assert!(
            found.len() - seen <= SLICE_SESSIONS,
            "one slice, at most its sessions"
        );
        seen = found.len();
    }
    assert!(steps >= 3000 / SLICE_SESSIONS, "{steps} steps");
    let Task::List { found, .. } = walk.task else {
        unreachable!()
    };
    assert_eq!(found, whole);
}

#[test]
fn a_clear_in_slices_ends_what_matched_while_new_sessions_open_and_old_ones_forward() {
    let mut e = loaded(3000);
    // Clear the IPv4 half (even flows) by destination.
    let filter = SessionFilter {
        destination: Some("10.9.0.1".into()),
        ..SessionFilter::default()
    };
    let mut walk = Walk::new(Task::Clear {
        filter,
        reason: EndReason::Unknown,
        cleared: 0,
    });
    let mut opened = 0;
    while !e.step(&mut walk, T0, &names()) {
        // Between slices: an IPv6 session still forwards, and new ones open.
        assert_eq!(
            e.process(T0, &udp(&flow(0, 1)), TRUST),
            Verdict::Forward(UNTRUST)
        );
        if opened < 100 {
            assert_eq!(
                e.process(T0, &udp(&flow(1, opened + 1)), TRUST),
                Verdict::Forward(UNTRUST)
            );
            opened += 2;
        }
    }
    let Task::Clear { cleared, .. } = walk.task else {
        unreachable!()
    };
    assert_eq!(cleared, 1500, "every IPv4 session of before the walk");
    assert!(opened > 10, "sessions opened during the walk");
    assert_eq!(e.active_sessions(), 1500 + opened as usize / 2);
    let left = e.list(&SessionFilter::default(), T0, &names(), usize::MAX);
    assert!(left.iter().all(|v| v.dst != "10.9.0.1"));
}

#[test]
fn show_session_id_finds_a_session_by_its_id_alone() {
    let e = loaded(10);
    let views = {
        let mut e = loaded(10);
        e.list(&SessionFilter::default(), T0, &names(), usize::MAX)
    };
    for v in &views {
        assert_eq!(e.view_id(v.id, T0, &names()).as_ref(), Some(v));
    }
    assert_eq!(
        e.view_id(views[0].id ^ (1 << 32), T0, &names()),
        None,
        "another generation"
    );
    assert_eq!(
        e.view_id(views[0].id | (1 << 56), T0, &names()),
        None,
        "another worker"
    );
}
