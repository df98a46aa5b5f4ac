//! Scenario tests: whole conversations through `TcpTracker::on_segment`.

use super::flags::*;
use super::*;
use crate::reasons::{DropReason, EndReason};

const C2S: Dir = Dir::ClientToServer;
const S2C: Dir = Dir::ServerToClient;
/// Client ISN and server ISN used throughout.
const CI: u32 = 1000;
const SI: u32 = 5000;

fn seg(f: u8, seq: u32, ack: u32, len: u32) -> Segment {
    Segment {
        flags: f,
        seq,
        ack,
        window: 8000,
        wscale: None,
        payload_len: len,
    }
}

fn cfg() -> TcpConfig {
    TcpConfig::default()
}

fn accept() -> TcpAction {
    TcpAction::Accept
}

fn invalid(why: TcpInvalid) -> TcpVerdict {
    TcpVerdict {
        action: TcpAction::Drop(DropReason::TcpInvalid),
        invalid: Some(why),
        out_of_order: false,
        broken_handshake: false,
        asymmetric: false,
    }
}

/// Feeds one segment and checks the action and the state afterwards.
#[track_caller]
fn step(
    t: &mut TcpTracker,
    dir: Dir,
    s: Segment,
    action: TcpAction,
    state: TcpState,
) -> TcpVerdict {
    let v = t.on_segment(dir, &s, &cfg());
    assert_eq!(v.action, action, "segment {s:?} from {dir:?}: {v:?}");
    assert_eq!(t.state(), state, "after {s:?} from {dir:?}");
    v
}

/// SYN, SYN-ACK, ACK: ESTABLISHED with client next seq CI+1, server next seq SI+1.
fn established() -> TcpTracker {
    let mut t = TcpTracker::new_from_syn(&seg(SYN, CI, 0, 0));
    assert_eq!(t.state(), TcpState::SynSent);
    step(
        &mut t,
        S2C,
        seg(SYN | ACK, SI, CI + 1, 0),
        accept(),
        TcpState::SynRecv,
    );
    step(
        &mut t,
        C2S,
        seg(ACK, CI + 1, SI + 1, 0),
        accept(),
        TcpState::Established,
    );
    t
}

#[test]
fn tracker_fits_in_48_bytes_and_round_trips_through_serde() {
    assert!(core::mem::size_of::<TcpTracker>() <= 48);
    let mut t = established();
    step(
        &mut t,
        C2S,
        seg(PSH | ACK, CI + 1, SI + 1, 100),
        accept(),
        TcpState::Established,
    );
    let json = serde_json::to_string(&t).unwrap();
    let back: TcpTracker = serde_json::from_str(&json).unwrap();
    assert_eq!(back, t);
}

#[test]
fn client_closes_first_and_the_last_ack_ends_the_session() {
    let mut t = established();
    step(
        &mut t,
        C2S,
        seg(PSH | ACK, CI + 1, SI + 1, 100),
        accept(),
        TcpState::Established,
    );
    step(
        &mut t,
        S2C,
        seg(PSH | ACK, SI + 1, CI + 101, 300),
        accept(),
        TcpState::Established,
    );
    // Client FIN at CI+101 (occupies CI+101), so the server acknowledges CI+102.
    step(
        &mut t,
        C2S,
        seg(FIN | ACK, CI + 101, SI + 301, 0),
        accept(),
        TcpState::FinWait,
    );
    assert_eq!(timeout_class(t.state()), TcpTimeoutClass::HalfClosed);
    step(
        &mut t,
        S2C,
        seg(ACK, SI + 301, CI + 102, 0),
        accept(),
        TcpState::CloseWait,
    );
    step(
        &mut t,
        S2C,
        seg(PSH | ACK, SI + 301, CI + 102, 50),
        accept(),
        TcpState::CloseWait,
    );
    step(
        &mut t,
        S2C,
        seg(FIN | ACK, SI + 351, CI + 102, 0),
        accept(),
        TcpState::LastAck,
    );
    let end = TcpAction::AcceptAndEnd(EndReason::TcpFin);
    step(
        &mut t,
        C2S,
        seg(ACK, CI + 102, SI + 352, 0),
        end,
        TcpState::TimeWait,
    );
    assert!(t.has_ended());
    assert_eq!(timeout_class(t.state()), TcpTimeoutClass::TimeWait);
    // The server repeats its FIN (our ACK lost downstream): accepted, not reported again.
    step(
        &mut t,
        S2C,
        seg(FIN | ACK, SI + 351, CI + 102, 0),
        accept(),
        TcpState::TimeWait,
    );
    step(
        &mut t,
        C2S,
        seg(ACK, CI + 102, SI + 352, 0),
        accept(),
        TcpState::TimeWait,
    );
    // A late RST changes the state but reports nothing new.
    step(
        &mut t,
        C2S,
        seg(RST, CI + 102, 0, 0),
        accept(),
        TcpState::Close,
    );
}

#[test]
fn server_fin_ack_acknowledging_the_client_fin_needs_only_the_last_ack() {
    let mut t = established();
    step(
        &mut t,
        C2S,
        seg(FIN | ACK, CI + 1, SI + 1, 0),
        accept(),
        TcpState::FinWait,
    );
    step(
        &mut t,
        S2C,
        seg(FIN | ACK, SI + 1, CI + 2, 0),
        accept(),
        TcpState::LastAck,
    );
    let end = TcpAction::AcceptAndEnd(EndReason::TcpFin);
    step(
        &mut t,
        C2S,
        seg(ACK, CI + 2, SI + 2, 0),
        end,
        TcpState::TimeWait,
    );
}

#[test]
fn simultaneous_close_needs_both_fins_acknowledged() {
    let mut t = established();
    step(
        &mut t,
        C2S,
        seg(FIN | ACK, CI + 1, SI + 1, 0),
        accept(),
        TcpState::FinWait,
    );
    // The server's FIN crossed the client's: it does not acknowledge the client FIN.
    step(
        &mut t,
        S2C,
        seg(FIN | ACK, SI + 1, CI + 1, 0),
        accept(),
        TcpState::LastAck,
    );
    // The client acknowledges the server FIN; the client FIN is still unacknowledged.
    step(
        &mut t,
        C2S,
        seg(ACK, CI + 2, SI + 2, 0),
        accept(),
        TcpState::LastAck,
    );
    let end = TcpAction::AcceptAndEnd(EndReason::TcpFin);
    step(
        &mut t,
        S2C,
        seg(ACK, SI + 2, CI + 2, 0),
        end,
        TcpState::TimeWait,
    );
}

#[test]
fn a_repeated_fin_is_not_the_other_sides_fin() {
    let mut t = established();
    step(
        &mut t,
        C2S,
        seg(FIN | ACK, CI + 1, SI + 1, 0),
        accept(),
        TcpState::FinWait,
    );
    step(
        &mut t,
        C2S,
        seg(FIN | ACK, CI + 1, SI + 1, 0),
        accept(),
        TcpState::FinWait,
    );
    // ACKs that do not cover the FIN leave FIN_WAIT alone, from either side.
    step(
        &mut t,
        S2C,
        seg(PSH | ACK, SI + 1, CI + 1, 10),
        accept(),
        TcpState::FinWait,
    );
    step(
        &mut t,
        C2S,
        seg(ACK, CI + 2, SI + 11, 0),
        accept(),
        TcpState::FinWait,
    );
    step(
        &mut t,
        S2C,
        seg(ACK, SI + 11, CI + 2, 0),
        accept(),
        TcpState::CloseWait,
    );
    // The client repeats its FIN in CLOSE_WAIT: still not LAST_ACK.
    step(
        &mut t,
        C2S,
        seg(FIN | ACK, CI + 1, SI + 11, 0),
        accept(),
        TcpState::CloseWait,
    );
}

#[test]
fn rst_in_window_ends_by_direction_and_out_of_window_is_dropped() {
    let mut t = established();
    let before = t;
    let v = t.on_segment(C2S, &seg(RST, CI + 1_000_000, 0, 0), &cfg());
    assert_eq!(v, invalid(TcpInvalid::RstOutOfWindow));
    assert_eq!(t, before, "a drop leaves the tracker unchanged");
    let end = TcpAction::AcceptAndEnd(EndReason::TcpRstFromClient);
    step(
        &mut t,
        C2S,
        seg(RST | ACK, CI + 1, SI + 1, 0),
        end,
        TcpState::Close,
    );
    assert_eq!(timeout_class(t.state()), TcpTimeoutClass::Closed);
    // Late data after the RST is forwarded untracked; a repeated RST reports nothing.
    step(
        &mut t,
        S2C,
        seg(PSH | ACK, SI + 1, CI + 1, 10),
        accept(),
        TcpState::Close,
    );
    step(
        &mut t,
        C2S,
        seg(RST, CI + 1, 0, 0),
        accept(),
        TcpState::Close,
    );

    let mut t = established();
    let end = TcpAction::AcceptAndEnd(EndReason::TcpRstFromServer);
    step(&mut t, S2C, seg(RST, SI + 1, 0, 0), end, TcpState::Close);
}

#[test]
fn refused_connection_needs_a_rst_acknowledging_the_syn() {
    let mut t = TcpTracker::new_from_syn(&seg(SYN, CI, 0, 0));
    let v = t.on_segment(S2C, &seg(RST, 0, 0, 0), &cfg());
    assert_eq!(v, invalid(TcpInvalid::RstOutOfWindow), "no ACK");
    let v = t.on_segment(S2C, &seg(RST | ACK, 0, CI + 7, 0), &cfg());
    assert_eq!(v, invalid(TcpInvalid::RstOutOfWindow), "wrong ACK");
    let end = TcpAction::AcceptAndEnd(EndReason::TcpRstFromServer);
    step(
        &mut t,
        S2C,
        seg(RST | ACK, 0, CI + 1, 0),
        end,
        TcpState::Close,
    );
}

#[test]
fn broken_handshake_syn_bare_ack_rst() {
    let mut t = TcpTracker::new_from_syn(&seg(SYN, CI, 0, 0));
    // The server still holds an old connection and answers with a bare ACK of its own numbers.
    step(
        &mut t,
        S2C,
        seg(ACK, 777_000, 333_000, 0),
        accept(),
        TcpState::SynSent,
    );
    // A client RST that matches nothing is refused.
    let v = t.on_segment(C2S, &seg(RST, 333_001, 0, 0), &cfg());
    assert_eq!(v, invalid(TcpInvalid::RstOutOfWindow));
    // The client's RST carries the stray ACK's acknowledgement number as its sequence number.
    let end = TcpAction::AcceptAndEnd(EndReason::TcpRstFromClient);
    let v = step(&mut t, C2S, seg(RST, 333_000, 0, 0), end, TcpState::Close);
    assert!(v.broken_handshake);
    // The client's next SYN replaces the session.
    step(
        &mut t,
        C2S,
        seg(SYN, CI, 0, 0),
        TcpAction::Reuse,
        TcpState::Close,
    );
}

#[test]
fn client_abort_in_syn_sent_is_not_a_broken_handshake() {
    let mut t = TcpTracker::new_from_syn(&seg(SYN, CI, 0, 0));
    let end = TcpAction::AcceptAndEnd(EndReason::TcpRstFromClient);
    let v = step(&mut t, C2S, seg(RST, CI + 1, 0, 0), end, TcpState::Close);
    assert!(!v.broken_handshake);
}

#[test]
fn asymmetric_handshake_drop_or_bypass() {
    let ack = seg(ACK, CI + 1, SI + 1, 0);
    let mut t = TcpTracker::new_from_syn(&seg(SYN, CI, 0, 0));
    let v = step(
        &mut t,
        C2S,
        ack,
        TcpAction::Drop(DropReason::Asymmetric),
        TcpState::SynSent,
    );
    assert!(v.asymmetric);

    let bypass = TcpConfig {
        asymmetric_bypass: true,
        ..cfg()
    };
    // An ACK that does not follow the SYN is not a handshake at all.
    let v = t.on_segment(C2S, &seg(ACK, CI + 50, SI + 1, 0), &bypass);
    assert_eq!(v, invalid(TcpInvalid::AckNotAfterSyn));
    let v = t.on_segment(C2S, &ack, &bypass);
    assert_eq!((v.action, v.asymmetric), (accept(), true));
    assert_eq!(t.state(), TcpState::Established);
    assert!(t.is_midstream());
    // The server's data (its first tracked segment) and the client's answer go through.
    step(
        &mut t,
        S2C,
        seg(PSH | ACK, SI + 1, CI + 1, 500),
        accept(),
        TcpState::Established,
    );
    step(
        &mut t,
        C2S,
        seg(ACK, CI + 1, SI + 501, 0),
        accept(),
        TcpState::Established,
    );
}

#[test]
fn lone_synack_opens_an_asymmetric_session_in_syn_recv() {
    let synack = seg(SYN | ACK, SI, CI + 1, 0);
    assert!(is_asymmetric(synack.flags));
    let mut t = TcpTracker::new_midstream(S2C, &synack);
    assert_eq!(t.state(), TcpState::SynRecv);
    let v = t.on_segment(C2S, &seg(ACK, CI + 1, SI + 9, 0), &cfg());
    assert_eq!(v, invalid(TcpInvalid::HandshakeBadAck));
    step(
        &mut t,
        C2S,
        seg(ACK, CI + 1, SI + 1, 0),
        accept(),
        TcpState::Established,
    );
}

#[test]
fn handshake_acks_are_checked() {
    let mut t = TcpTracker::new_from_syn(&seg(SYN, CI, 0, 0));
    let v = t.on_segment(S2C, &seg(SYN | ACK, SI, CI + 2, 0), &cfg());
    assert_eq!(v, invalid(TcpInvalid::SynAckBadAck));
    step(
        &mut t,
        S2C,
        seg(SYN | ACK, SI, CI + 1, 0),
        accept(),
        TcpState::SynRecv,
    );
    // The SYN-ACK repeated: tracked, state holds.
    step(
        &mut t,
        S2C,
        seg(SYN | ACK, SI, CI + 1, 0),
        accept(),
        TcpState::SynRecv,
    );
    let v = t.on_segment(C2S, &seg(ACK, CI + 1, SI, 0), &cfg());
    assert_eq!(v, invalid(TcpInvalid::HandshakeBadAck));
    // FIN-ACK as the third segment completes and closes at once.
    step(
        &mut t,
        C2S,
        seg(FIN | ACK, CI + 1, SI + 1, 0),
        accept(),
        TcpState::FinWait,
    );
}

#[test]
fn repeated_syn_with_a_new_isn_restarts_tracking() {
    let mut t = TcpTracker::new_from_syn(&seg(SYN, CI, 0, 0));
    step(
        &mut t,
        C2S,
        seg(SYN, 90_000, 0, 0),
        accept(),
        TcpState::SynSent,
    );
    assert_eq!({ t.peer(C2S).end }, SeqNumber(90_001));
    let v = t.on_segment(S2C, &seg(SYN | ACK, SI, CI + 1, 0), &cfg());
    assert_eq!(v, invalid(TcpInvalid::SynAckBadAck), "acks the old ISN");
    step(
        &mut t,
        S2C,
        seg(SYN | ACK, SI, 90_001, 0),
        accept(),
        TcpState::SynRecv,
    );
}

#[test]
fn syn_on_live_and_closing_sessions() {
    let mut t = established();
    // SYN on ESTABLISHED: forwarded untracked.
    step(
        &mut t,
        C2S,
        seg(SYN, 42, 0, 0),
        accept(),
        TcpState::Established,
    );
    let v = t.on_segment(S2C, &seg(SYN, 42, 0, 0), &cfg());
    assert_eq!(v, invalid(TcpInvalid::SynFromServer));
    // A SYN while half-closed reuses the tuple.
    step(
        &mut t,
        C2S,
        seg(FIN | ACK, CI + 1, SI + 1, 0),
        accept(),
        TcpState::FinWait,
    );
    step(
        &mut t,
        C2S,
        seg(SYN, 42, 0, 0),
        TcpAction::Reuse,
        TcpState::FinWait,
    );
    assert!(!t.has_ended(), "the caller ends it tcp-reuse");
}

#[test]
fn invalid_flags_and_simultaneous_open_are_refused() {
    let mut t = established();
    for f in [FIN, SYN | FIN, SYN | RST, 0, FIN | RST | ACK] {
        let v = t.on_segment(C2S, &seg(f, CI + 1, SI + 1, 0), &cfg());
        assert_eq!(v, invalid(TcpInvalid::BadFlags), "flags {f:#04x}");
    }
    let mut t = TcpTracker::new_from_syn(&seg(SYN, CI, 0, 0));
    let v = t.on_segment(S2C, &seg(SYN, SI, 0, 0), &cfg());
    assert_eq!(v, invalid(TcpInvalid::SimultaneousOpen));
}

#[test]
fn out_of_window_data_is_dropped() {
    let mut t = established();
    let before = t;
    // The server's window is 8000 bytes from CI+1.
    let v = t.on_segment(C2S, &seg(PSH | ACK, CI + 1 + 8001, SI + 1, 10), &cfg());
    assert_eq!(v, invalid(TcpInvalid::SeqOutOfWindow));
    let v = t.on_segment(C2S, &seg(PSH | ACK, CI + 1, SI + 2, 10), &cfg());
    assert_eq!(
        v,
        invalid(TcpInvalid::AckOutOfWindow),
        "acknowledges unsent data"
    );
    assert_eq!(t, before);
}

#[test]
fn out_of_order_segments_are_counted_and_the_limit_ends_the_session() {
    let limit2 = TcpConfig {
        out_of_order_limit: 2,
        ..cfg()
    };
    let mut t = established();
    let data = |seq| seg(PSH | ACK, seq, SI + 1, 100);
    assert!(!t.on_segment(C2S, &data(CI + 1), &limit2).out_of_order);
    // CI+101..CI+201 lost: the next two are ahead of a hole.
    let v = t.on_segment(C2S, &data(CI + 201), &limit2);
    assert_eq!((v.action, v.out_of_order), (accept(), true));
    assert!(t.on_segment(C2S, &data(CI + 301), &limit2).out_of_order);
    assert_eq!(t.out_of_order_count(), 2);
    // The retransmission fills the hole and the server acknowledges everything: count resets.
    assert!(!t.on_segment(C2S, &data(CI + 101), &limit2).out_of_order);
    t.on_segment(S2C, &seg(ACK, SI + 1, CI + 401, 0), &limit2);
    assert_eq!(t.out_of_order_count(), 0);
    // A new hole: the third segment past it is one too many.
    assert!(t.on_segment(C2S, &data(CI + 501), &limit2).out_of_order);
    assert!(t.on_segment(C2S, &data(CI + 601), &limit2).out_of_order);
    let v = t.on_segment(C2S, &data(CI + 701), &limit2);
    let ended = TcpAction::DropAndEnd(DropReason::OutOfOrderLimit, EndReason::ResourcesUnavailable);
    assert_eq!((v.action, v.out_of_order), (ended, true));
    assert!(!v.forwards());
    assert!(t.has_ended());
}

#[test]
fn midstream_pickup_is_lenient() {
    let first = seg(PSH | ACK, 3_000_000, 9_000_000, 100);
    assert!(can_open_midstream(first.flags));
    let mut t = TcpTracker::new_midstream(C2S, &first);
    assert_eq!(t.state(), TcpState::Established);
    assert!(t.is_midstream());
    // The window scale is unknown: a segment far past the unscaled window still passes.
    step(
        &mut t,
        C2S,
        seg(PSH | ACK, 3_500_000, 9_000_000, 100),
        accept(),
        TcpState::Established,
    );
    step(
        &mut t,
        S2C,
        seg(ACK, 9_000_000, 3_500_100, 0),
        accept(),
        TcpState::Established,
    );
    // Mid-stream FIN then close as usual.
    let mut t = TcpTracker::new_midstream(C2S, &seg(FIN | ACK, 10, 20, 0));
    assert_eq!(t.state(), TcpState::FinWait);
    step(
        &mut t,
        S2C,
        seg(FIN | ACK, 20, 11, 0),
        accept(),
        TcpState::LastAck,
    );
    let end = TcpAction::AcceptAndEnd(EndReason::TcpFin);
    step(&mut t, C2S, seg(ACK, 11, 21, 0), end, TcpState::TimeWait);
}

#[test]
fn window_scaling_needs_both_sides() {
    let mut syn = seg(SYN, CI, 0, 0);
    syn.wscale = Some(7);
    let mut synack = seg(SYN | ACK, SI, CI + 1, 0);
    synack.wscale = Some(2);
    let mut t = TcpTracker::new_from_syn(&syn);
    t.on_segment(S2C, &synack, &cfg());
    assert_eq!((t.peer(C2S).scale, t.peer(S2C).scale), (7, 2));
    step(
        &mut t,
        C2S,
        seg(ACK, CI + 1, SI + 1, 0),
        accept(),
        TcpState::Established,
    );
    // The SYN-ACK's window is never scaled: 8000 bytes, so data 20000 bytes ahead is refused...
    let far = seg(PSH | ACK, CI + 20_001, SI + 1, 100);
    assert_eq!(
        t.on_segment(C2S, &far, &cfg()),
        invalid(TcpInvalid::SeqOutOfWindow)
    );
    // ...until the server's next segment advertises 8000 << 2 = 32000 bytes.
    step(
        &mut t,
        S2C,
        seg(ACK, SI + 1, CI + 1, 0),
        accept(),
        TcpState::Established,
    );
    step(&mut t, C2S, far, accept(), TcpState::Established);

    let mut t = TcpTracker::new_from_syn(&syn);
    synack.wscale = None;
    t.on_segment(S2C, &synack, &cfg());
    assert_eq!((t.peer(C2S).scale, t.peer(S2C).scale), (0, 0));
}

#[test]
fn sequence_numbers_wrap() {
    let ci = u32::MAX - 50;
    let mut t = TcpTracker::new_from_syn(&seg(SYN, ci, 0, 0));
    step(
        &mut t,
        S2C,
        seg(SYN | ACK, SI, ci.wrapping_add(1), 0),
        accept(),
        TcpState::SynRecv,
    );
    let mut seq = ci.wrapping_add(1);
    step(
        &mut t,
        C2S,
        seg(ACK, seq, SI + 1, 0),
        accept(),
        TcpState::Established,
    );
    for _ in 0..4 {
        let v = t.on_segment(C2S, &seg(PSH | ACK, seq, SI + 1, 40), &cfg());
        assert_eq!((v.action, v.out_of_order), (accept(), false));
        seq = seq.wrapping_add(40);
    }
    assert_eq!({ t.peer(C2S).end }, SeqNumber(seq));
    step(
        &mut t,
        S2C,
        seg(ACK, SI + 1, seq, 0),
        accept(),
        TcpState::Established,
    );
}

/// `established_step` is `on_segment` where it answers: over random conversations (a full
/// handshake with and without window scaling, and pickups mid-stream), every segment it takes
/// leaves the tracker exactly as `on_segment` does, with a plain `Accept`, and every segment it
/// declines leaves the tracker untouched. Segments land around and far from both windows,
/// with every flag combination the tracker distinguishes, so both answers are common.
#[test]
fn established_step_agrees_with_on_segment() {
    use synwall_testkit::Rng;
    const FLAGS: [u8; 10] = [
        ACK,
        PSH | ACK,
        URG | ACK | ECE,
        FIN | ACK,
        RST,
        RST | ACK,
        SYN,
        SYN | ACK,
        0,
        FIN,
    ];
    let mut rng = Rng::xorshift(0x05ee_d7c9);
    let (mut taken, mut declined) = (0u32, 0u32);
    for conversation in 0..600 {
        let mut t = match conversation % 3 {
            0 => established(),
            1 => {
                let mut syn = seg(SYN, CI, 0, 0);
                syn.wscale = Some(7);
                let mut t = TcpTracker::new_from_syn(&syn);
                let mut synack = seg(SYN | ACK, SI, CI + 1, 0);
                synack.wscale = Some(3);
                t.on_segment(S2C, &synack, &cfg());
                t.on_segment(C2S, &seg(ACK, CI + 1, SI + 1, 0), &cfg());
                t
            }
            _ => TcpTracker::new_midstream(C2S, &seg(PSH | ACK, 3_000_000, 9_000_000, 100)),
        };
        for _ in 0..200 {
            let dir = if rng.chance(50) { C2S } else { S2C };
            let (s, r) = (*t.peer(dir), *t.peer(dir.reverse()));
            let near = |rng: &mut Rng, at: SeqNumber| match rng.below(6) {
                0 => rng.next_u64() as u32,
                1 | 2 => at.0,
                3 => (at + rng.below(40_000) as u32).0.wrapping_sub(20_000),
                _ => (at + rng.below(3_000) as u32).0.wrapping_sub(1_000),
            };
            // Mostly data and ACKs (what the step is for), sometimes a flag that closes.
            let flags = if rng.chance(85) {
                FLAGS[rng.below(3) as usize]
            } else {
                FLAGS[rng.below(FLAGS.len() as u64) as usize]
            };
            let mut sg = seg(
                flags,
                near(&mut rng, s.end),
                near(&mut rng, r.end),
                [0, 1, 100, 1460][rng.below(4) as usize],
            );
            sg.window = [0, 1, 512, 8000, 65535][rng.below(5) as usize];
            let before = t;
            let mut fast = t;
            let stepped = fast.established_step(dir, &sg);
            let verdict = t.on_segment(dir, &sg, &cfg());
            if stepped {
                taken += 1;
                assert_eq!(fast, t, "{sg:?} from {dir:?}, tracker was {before:?}");
                let accept = TcpVerdict {
                    action: accept(),
                    invalid: None,
                    out_of_order: false,
                    broken_handshake: false,
                    asymmetric: false,
                };
                assert_eq!(verdict, accept, "{sg:?}");
            } else {
                declined += 1;
                assert_eq!(fast, before, "declined {sg:?} changed the tracker");
            }
            if t.has_ended() {
                break;
            }
        }
    }
    assert!(
        taken > 3_000 && declined > 3_000,
        "both answers exercised: {taken} taken, {declined} declined"
    );
}
