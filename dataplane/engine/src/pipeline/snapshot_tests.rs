//! A session taken out of one engine and installed into another carries on: the TCP
//! tracker's state and windows, counters, rule and application come along, so the rest of the
//! connection passes the second engine with no packet refused, while a segment far outside
//! the window is still refused there.

use crate::pipeline::stored_key_tests::{config, engine, T0};
use crate::pipeline::test_engine::test_engine;
use crate::pipeline::{Engine, SessionSnapshot, Verdict};
use crate::protect::tests::tcp;
use crate::reasons::{DropReason, EndReason};
use crate::stats::WorkerBlock;
use crate::tcp::flags::{ACK, FIN, PSH, SYN};

const CLIENT: [u8; 4] = [10, 8, 0, 1];
const SERVER: [u8; 4] = [10, 9, 0, 1];
const TRUST: u8 = 0;
const UNTRUST: u8 = 1;
const MS: u64 = 1_000_000;

/// A segment from the client (`c2s`) or the server, with its port.
fn seg(c2s: bool, flags: u8, seq: u32, ack: u32, data: &[u8]) -> (Vec<u8>, u8) {
    if c2s {
        (
            tcp(CLIENT, 40_000, SERVER, 80, flags, seq, ack, data),
            TRUST,
        )
    } else {
        (
            tcp(SERVER, 80, CLIENT, 40_000, flags, seq, ack, data),
            UNTRUST,
        )
    }
}

/// The engine's verdict for a segment, and the verdict that forwards it across the wire.
fn pass(e: &mut Engine, now: u64, (frame, port): (Vec<u8>, u8)) -> Verdict {
    e.process(now, &frame, port)
}

/// Forwarded to the other side: the client's segments leave by the server's port.
fn across(c2s: bool) -> Verdict {
    Verdict::Forward(if c2s { UNTRUST } else { TRUST })
}

#[test]
fn a_tcp_session_installed_elsewhere_carries_on_with_its_windows() {
    let mut a = engine(64);
    let t = T0;
    let opening = [
        seg(true, SYN, 1000, 0, b""),
        seg(false, SYN | ACK, 5000, 1001, b""),
        seg(true, ACK, 1001, 5001, b""),
        seg(true, PSH | ACK, 1001, 5001, b"GET / HTTP/1.1\r\n\r\n"),
        seg(false, PSH | ACK, 5001, 1019, b"HTTP/1.1 200 OK\r\n\r\n"),
    ];
    for (i, s) in opening.into_iter().enumerate() {
        let c2s = s.1 == TRUST;
        assert_eq!(
            pass(&mut a, t + i as u64 * MS, s),
            across(c2s),
            "segment {i}"
        );
    }
    let slot = a.sessions().live_slots().next().expect("one session");
    let snap = a.snapshot(slot, t + 10 * MS).expect("live");
    // Through serialization, as a peer receives it.
    let wire = serde_json::to_string(&snap).expect("serializes");
    let snap: SessionSnapshot = serde_json::from_str(&wire).expect("deserializes");

    // Another engine, with another clock epoch: without the session, the next segment is
    // "Not a valid SYN packet"; with it installed, the connection goes on.
    let later = T0 + 3_600_000 * MS;
    let mut fresh = engine(64);
    let (mut b, counters) = test_engine(&config(), T0, |cfg| cfg.capacity = 64);
    let next = || seg(true, PSH | ACK, 1019, 5020, b"more");
    assert_eq!(
        pass(&mut fresh, later, next()),
        Verdict::Drop(DropReason::NonSyn)
    );
    b.install(&snap, later).expect("installs");
    let rest = [
        next(),
        seg(false, ACK, 5020, 1023, b""),
        seg(true, FIN | ACK, 1023, 5020, b""),
        seg(false, FIN | ACK, 5020, 1024, b""),
        seg(true, ACK, 1024, 5021, b""),
    ];
    // A segment far outside the server's window is refused on the new engine too.
    let outside = seg(true, PSH | ACK, 1019 + 50_000_000, 5020, b"x");
    assert!(matches!(pass(&mut b, later, outside), Verdict::Drop(_)));
    for (i, s) in rest.into_iter().enumerate() {
        let c2s = s.1 == TRUST;
        assert_eq!(
            pass(&mut b, later + i as u64 * MS, s),
            across(c2s),
            "segment {i}"
        );
    }
    let views = b.list(&Default::default(), later, &Default::default(), 10);
    assert_eq!(views.len(), 1);
    assert_eq!(
        views[0].packets_c2s,
        3 + 3,
        "counters carried over and counted on"
    );
    assert_eq!(views[0].packets_s2c, 2 + 2);
    assert_eq!(b.clear_all(EndReason::AgedOut, later + 100 * MS), 1);
    let ends = counters
        .view()
        .get(WorkerBlock::ENDS + EndReason::TcpFin.index());
    assert_eq!(
        ends, 1,
        "closed by its FINs on the engine that carried it on"
    );
}

#[test]
fn installing_a_snapshot_twice_refreshes_the_one_session() {
    let mut a = engine(16);
    assert_eq!(pass(&mut a, T0, seg(true, SYN, 7, 0, b"")), across(true));
    let slot = a.sessions().live_slots().next().unwrap();
    let snap = a.snapshot(slot, T0).unwrap();
    let mut b = engine(16);
    let first = b.install(&snap, T0).unwrap();
    assert_eq!(b.install(&snap, T0 + MS).unwrap(), first);
    assert_eq!(b.active_sessions(), 1);
    let again = b.snapshot(first, T0 + MS).unwrap();
    assert_eq!(again.session.tcp, snap.session.tcp);
    assert_eq!((again.idle_ms, again.age_ms, again.key), (0, 0, snap.key));
}

/// A session with a second key (as NAT will give one) carries it into an engine whose table
/// keeps second keys, where a packet of that flow finds it; an engine without refuses it.
#[test]
fn a_second_key_travels_with_its_session() {
    let two_keys = |cfg: &mut crate::pipeline::EngineConfig| {
        cfg.capacity = 16;
        cfg.second_keys = true;
    };
    let (mut a, _) = test_engine(&config(), T0, two_keys);
    assert_eq!(pass(&mut a, T0, seg(true, SYN, 7, 0, b"")), across(true));
    let slot = a.sessions().live_slots().next().unwrap();
    // The reply flow as a NAT would see it: from the server's inside address.
    let inside = crate::flow::FlowKey::from_ips(
        "10.9.9.9".parse().unwrap(),
        "10.8.0.1".parse().unwrap(),
        80,
        40_000,
        crate::flow::PROTO_TCP,
    );
    let canonical = inside.oriented(inside.hashed().reversed);
    let hash = canonical.hashed().hash;
    let stored = a.keys.store(&canonical, hash).unwrap();
    assert!(a.table.set_second(slot, hash, stored));
    let snap = a.snapshot(slot, T0).unwrap();
    assert_eq!(snap.second_key, Some(canonical));

    let (mut b, _) = test_engine(&config(), T0, two_keys);
    let at = b.install(&snap, T0).unwrap();
    let probe = crate::stored_key::StoredKey::probe(&canonical, false, hash);
    let found = b.table.lookup_keyed(None, hash, |k| *k == probe);
    assert_eq!(found, Some((at, crate::table::KeyKind::Second)));
    assert_eq!(b.clear_all(EndReason::Unknown, T0), 1);
    assert_eq!(b.table.lookup_keyed(None, hash, |k| *k == probe), None);

    let mut plain = engine(16);
    assert_eq!(
        plain.install(&snap, T0),
        Err(crate::pipeline::InstallError::NoSecondKeys)
    );
}
