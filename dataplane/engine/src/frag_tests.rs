//! The fragment table alone: pieces, overlaps, completion, expiry, capacity. The engine's
//! use of it (first fragment through the session path, IPv4 and IPv6 frames) is tested in
//! `pipeline/fragment_tests.rs`.

use super::*;

const S: u64 = 1_000_000_000;
const TIMEOUT: u64 = 10 * S;
/// The first fragment's verdict in these tests: forwarded out of port 1.
const FORWARD: Verdict = Verdict::Forward(1);
const OVERLAP: Verdict = Verdict::Drop(DropReason::FragmentOverlap);
const ORPHAN: Verdict = Verdict::Drop(DropReason::FragmentOrphan);

fn key(id: u32) -> FragKey {
    FragKey {
        src: crate::flow::v4_mapped([10, 0, 0, 1]),
        dst: crate::flow::v4_mapped([10, 0, 0, 2]),
        id,
        proto: 17,
        family: 4,
    }
}

fn piece(start: u32, end: u32, last: bool) -> Piece {
    Piece { start, end, last }
}

/// A table holding datagram `id` after its first fragment `0..first_len`, allowed.
fn with_first(capacity: u32, id: u32, first_len: u32) -> FragTable {
    let mut t = FragTable::new(capacity);
    let slot = t
        .open(&key(id), piece(0, first_len, false), 0, TIMEOUT)
        .unwrap();
    t.decide(slot, FORWARD);
    t
}

#[test]
fn in_order_fragments_follow_and_the_last_frees_the_entry() {
    let mut t = with_first(4, 1, 24);
    assert_eq!(t.follow(&key(1), piece(24, 48, false), 1), FORWARD);
    assert_eq!(t.len(), 1);
    assert_eq!(t.follow(&key(1), piece(48, 50, true), 2), FORWARD);
    assert!(t.is_empty(), "complete: the entry left");
    // A copy arriving afterwards has no entry any more.
    assert_eq!(t.follow(&key(1), piece(48, 50, true), 3), ORPHAN);
}

#[test]
fn the_first_verdict_is_what_followers_get() {
    let mut t = FragTable::new(4);
    let slot = t.open(&key(7), piece(0, 16, false), 0, TIMEOUT).unwrap();
    let policy = Verdict::Drop(DropReason::Policy);
    t.decide(slot, policy);
    assert_eq!(t.follow(&key(7), piece(16, 32, false), 1), policy);
    assert_eq!(t.follow(&key(7), piece(32, 40, true), 2), policy);
    assert!(t.is_empty());
}

#[test]
fn out_of_order_middle_pieces_merge_into_one() {
    let mut t = with_first(4, 1, 8);
    assert_eq!(t.follow(&key(1), piece(32, 40, true), 1), FORWARD);
    assert_eq!(t.follow(&key(1), piece(16, 24, false), 1), FORWARD);
    assert_eq!(t.follow(&key(1), piece(24, 32, false), 1), FORWARD);
    assert_eq!(t.len(), 1, "the 8..16 gap is open");
    assert_eq!(t.follow(&key(1), piece(8, 16, false), 1), FORWARD);
    assert!(t.is_empty());
}

#[test]
fn overlaps_are_dropped_and_poison_the_datagram() {
    for (name, bad) in [
        ("inside the first", piece(8, 16, false)),
        ("straddling its end", piece(16, 40, false)),
        ("an exact copy", piece(0, 24, false)),
        ("a zero-length piece inside", piece(8, 8, false)),
    ] {
        let mut t = with_first(4, 1, 24);
        assert_eq!(t.follow(&key(1), bad, 1), OVERLAP, "{name}");
        // The rest of the datagram is dropped too, with the same reason.
        assert_eq!(t.follow(&key(1), piece(24, 32, true), 2), OVERLAP, "{name}");
    }
}

#[test]
fn inconsistent_ends_count_as_overlaps() {
    // Data past the end a last fragment declared.
    let mut t = with_first(4, 1, 8);
    assert_eq!(t.follow(&key(1), piece(16, 24, true), 1), FORWARD);
    assert_eq!(t.follow(&key(1), piece(24, 32, false), 1), OVERLAP);
    // A second last fragment.
    let mut t = with_first(4, 2, 8);
    assert_eq!(t.follow(&key(2), piece(16, 24, true), 1), FORWARD);
    assert_eq!(t.follow(&key(2), piece(24, 24, true), 1), OVERLAP);
    // A last fragment ending before data already seen.
    let mut t = with_first(4, 3, 8);
    assert_eq!(t.follow(&key(3), piece(24, 32, false), 1), FORWARD);
    assert_eq!(t.follow(&key(3), piece(8, 16, true), 1), OVERLAP);
}

#[test]
fn a_second_first_fragment_is_an_overlap() {
    let mut t = with_first(4, 1, 24);
    assert_eq!(
        t.open(&key(1), piece(0, 24, false), 1, TIMEOUT),
        Err(DropReason::FragmentOverlap)
    );
    assert_eq!(t.follow(&key(1), piece(24, 30, true), 2), OVERLAP);
}

#[test]
fn pieces_beyond_the_bound_are_refused_not_recorded() {
    // The first fragment and three separate pieces fill the four ranges.
    let mut t = with_first(4, 1, 8);
    for start in [16, 32, 48] {
        assert_eq!(
            t.follow(&key(1), piece(start, start + 8, false), 1),
            FORWARD
        );
    }
    assert_eq!(
        t.follow(&key(1), piece(64, 72, true), 1),
        Verdict::Drop(DropReason::FragmentTableFull)
    );
    // A piece joining existing ones still fits; the refused last fragment was not recorded.
    assert_eq!(t.follow(&key(1), piece(8, 16, false), 1), FORWARD);
    assert_eq!(t.follow(&key(1), piece(64, 72, true), 1), FORWARD);
    assert_eq!(t.len(), 1, "gaps 24..32, 40..48 and 56..64 remain");
}

#[test]
fn orphans_have_no_entry() {
    let mut t = FragTable::new(4);
    assert_eq!(t.follow(&key(1), piece(8, 16, true), 0), ORPHAN);
    // Another datagram's entry does not adopt it, nor does another protocol's.
    let mut t = with_first(4, 1, 8);
    assert_eq!(t.follow(&key(2), piece(8, 16, true), 0), ORPHAN);
    let tcp = FragKey { proto: 6, ..key(1) };
    assert_eq!(t.follow(&tcp, piece(8, 16, true), 0), ORPHAN);
}

#[test]
fn entries_expire_by_lookup_and_by_the_list() {
    let mut t = with_first(4, 1, 8);
    assert_eq!(t.follow(&key(1), piece(8, 16, false), TIMEOUT - 1), FORWARD);
    // At its deadline the entry no longer applies: found, removed, orphan.
    assert_eq!(t.follow(&key(1), piece(16, 24, true), TIMEOUT), ORPHAN);
    assert!(t.is_empty());
    // The list removes the oldest first, within the budget.
    let mut t = FragTable::new(8);
    for id in 0..5 {
        let slot = t
            .open(&key(id), piece(0, 8, false), id as u64 * S, TIMEOUT)
            .unwrap();
        t.decide(slot, FORWARD);
    }
    assert_eq!(t.expire(TIMEOUT + S, 8), 2, "ids 0 and 1 are due");
    assert_eq!(t.expire(TIMEOUT + 3 * S, 1), 1, "the budget bounds a call");
    assert_eq!(t.len(), 2);
    assert_eq!(
        t.follow(&key(4), piece(8, 9, true), TIMEOUT + 3 * S),
        FORWARD
    );
    assert_eq!(t.expire(TIMEOUT + 3 * S, 8), 1, "id 3 was due too");
    assert!(t.is_empty());
    assert_eq!(t.expire(u64::MAX, 8), 0);
}

#[test]
fn a_full_table_refuses_newcomers_and_keeps_its_entries() {
    let mut t = FragTable::new(2);
    for id in [1, 2] {
        let slot = t.open(&key(id), piece(0, 8, false), 0, TIMEOUT).unwrap();
        t.decide(slot, FORWARD);
    }
    assert_eq!(
        t.open(&key(3), piece(0, 8, false), 1, TIMEOUT),
        Err(DropReason::FragmentTableFull)
    );
    assert_eq!(t.follow(&key(1), piece(8, 16, true), 2), FORWARD);
    // Completion freed a slot.
    assert!(t.open(&key(3), piece(0, 8, false), 3, TIMEOUT).is_ok());
    // Expiry frees the others: at the deadline a newcomer finds room.
    assert_eq!(
        t.open(&key(4), piece(0, 8, false), 4, TIMEOUT),
        Err(DropReason::FragmentTableFull)
    );
    assert!(t
        .open(&key(4), piece(0, 8, false), TIMEOUT, TIMEOUT)
        .is_ok());
    assert_eq!(t.len(), 2);
}

#[test]
fn churn_keeps_the_list_and_the_table_in_step() {
    // Datagrams opened and finished in a scrambled order, some left to expire: the list never
    // loses or repeats a slot (every entry leaves exactly once) and the index never grows.
    let mut t = FragTable::new(64);
    let mut open = Vec::new();
    let mut rng = synwall_testkit::Rng::xorshift(0x2545_f491_4f6c_dd1d);
    for step in 0..20_000u64 {
        let x = rng.next_u64();
        let now = step * 1_000_000;
        t.expire(now, EXPIRE_BUDGET);
        // Two steps in three open a datagram, the third finishes one.
        if !x.is_multiple_of(3) || open.is_empty() {
            let id = step as u32;
            if t.open(&key(id), piece(0, 8, false), now, TIMEOUT / 100)
                .is_ok()
            {
                open.push(id);
            }
        } else {
            let id = open.swap_remove((x as usize / 3) % open.len());
            t.follow(&key(id), piece(8, 16, true), now);
        }
        assert!(t.len() <= 64);
    }
    t.expire(u64::MAX, usize::MAX);
    assert!(t.is_empty());
    assert_eq!((t.head, t.tail), (NIL, NIL));
    t.table.check_index().unwrap();
}

#[test]
fn capacity_scales_with_sessions_within_bounds() {
    assert_eq!(capacity_for(1), MIN_CAPACITY);
    assert_eq!(capacity_for(1_000_000 / 16 * 16), 62_500);
    assert_eq!(capacity_for(u32::MAX), MAX_CAPACITY);
}
