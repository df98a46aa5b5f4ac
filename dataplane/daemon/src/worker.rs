//! The worker lcore: poll, process, transmit, run to completion. One per configured lcore.
//!
//! The per-packet work is `Worker::process` (the engine's `process_burst` does parse, session,
//! TCP and verdict; this file does the DPDK side: receive, hand off, transmit). Nothing here
//! allocates on the packet path (bursts, tx buffers and scratch arrays are made before the loop),
//! locks, or makes a syscall. Management requests (CLI) are served between bursts.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;

use crossbeam::channel::{Receiver, Sender};
use crossbeam::queue::ArrayQueue;
use dpdk::{Burst, Mempool, RxQueue, TxQueue, BURST_MAX};
use synwall_engine::api::{SessionFilter, SessionView};
use synwall_engine::pipeline::{Engine, Task, Verdict, Walk};
use synwall_engine::policy::Policy;
use synwall_engine::protect::ProtectionConfig;
use synwall_engine::reasons::{DropReason, EndReason};
use synwall_engine::records::NameTable;
use synwall_engine::stats::{CounterBlock, WorkerBlock};

use crate::clock::Clock;

/// Loops between heartbeat stores.
const HEARTBEAT_EVERY: u32 = 1024;

/// A request from the management thread, answered between bursts.
pub enum WorkerRequest {
    List {
        filter: SessionFilter,
        limit: usize,
        /// Room for the answer, reserved by the management thread: the worker never grows
        /// (copies) a large vector in one slice.
        found: Vec<SessionView>,
        reply: Sender<Vec<SessionView>>,
    },
    Clear {
        filter: SessionFilter,
        reply: Sender<usize>,
    },
    ClearId {
        id: u64,
        reply: Sender<bool>,
    },
    /// `show session id`: asked of the owning worker only (the id names it).
    Show {
        id: u64,
        reply: Sender<Option<SessionView>>,
    },
    /// A new policy (reload): swap it in and re-check the sessions; answers how many ended.
    Reload {
        policy: Arc<Policy>,
        port_zone: Vec<u8>,
        /// This worker's share of the zone protection limits.
        protection: ProtectionConfig,
        names: Arc<NameTable>,
        reply: Sender<usize>,
    },
}

/// Where a table walk's answer goes when it is done.
pub enum WalkReply {
    Views(Sender<Vec<SessionView>>),
    Count(Sender<usize>),
}

/// Packets travelling between workers: each worker owns the inbox at its index.
pub struct Handoff {
    /// Each worker's inbox: whole bursts, so that a hand-off costs one ring operation a burst
    /// for each owner it sends to, not one a packet.
    pub inboxes: Arc<Vec<ArrayQueue<Burst>>>,
}

/// Hand-off bursts a worker takes from its inbox a loop at most (its own queues come between).
const INBOX_BURSTS_PER_LOOP: usize = 4;

/// What one worker owns.
pub struct Worker {
    pub index: usize,
    /// Queues this worker polls, with the index of their port.
    pub rx: Vec<(RxQueue, u8)>,
    /// This worker's tx queue on every port, by port index.
    pub tx: Vec<TxQueue>,
    /// Virtual-wire peer of each port.
    pub peer: Vec<Option<usize>>,
    /// Port index of each DPDK port id (for packets handed over by other workers).
    pub port_index: Vec<u8>,
    pub engine: Engine,
    pub counters: CounterBlock,
    pub stop: Arc<AtomicBool>,
    pub burst: usize,
    pub clock: Clock,
    /// Present with several workers when the NIC does not deliver both directions of a flow to
    /// the same queue: flows are then owned by `synwall_engine::pipeline::owner_worker`, and
    /// the engine marks the packets of other workers' flows (`Verdict::HandOff`) in the same
    /// pass that parses the rest.
    pub handoff: Option<Handoff>,
    pub requests: Receiver<WorkerRequest>,
    pub names: Arc<NameTable>,
    /// `dataplane.mode: passthrough`: forward without the engine.
    pub passthrough: bool,
    /// For the packets the engine sends (resets, unreachables).
    pub pool: Arc<Mempool>,
    /// The verdicts of the burst in hand, kept here rather than made afresh (an array of 64
    /// set every burst cost two instructions a packet): the engine writes one for each packet
    /// it is given, and only those are read.
    pub verdicts: [Verdict; BURST_MAX],
    /// The operator's table walk in progress (`show|clear session all`, a reload's re-check):
    /// one bounded slice a loop (`Engine::step`) until it is done, then its answer.
    /// Boxed: the worker's struct keeps its hot fields' layout, whatever a walk holds.
    pub walk: Option<Box<(Walk, WalkReply)>>,
}

impl Worker {
    /// The worker's main loop; returns 0 when asked to stop.
    pub fn run(mut self) -> i32 {
        let mut rx = Burst::new();
        // Where processed packets wait to leave: each port's transmit burst (by port index),
        // then, with software hand-off, a burst for each worker's inbox.
        let workers = self.handoff.as_ref().map_or(0, |h| h.inboxes.len());
        let mut outs: Vec<Burst> = (0..self.tx.len() + workers).map(|_| Burst::new()).collect();
        let mut loops: u32 = 0;
        let mut next_tick = 0u64;
        let (mut prev_start, mut prev_worked) = (dpdk::tsc(), false);
        while !self.stop.load(Relaxed) {
            // One TSC read a loop: it times the previous loop and clocks this one.
            let start = dpdk::tsc();
            if prev_worked {
                let c = self.counters.view();
                c.record_loop(self.clock.ticks_to_ns(start.wrapping_sub(prev_start)));
                c.add(WorkerBlock::LOOPS, 1);
            }
            let now = self.clock.at(start);
            let mut worked = false;
            for qi in 0..self.rx.len() {
                let port = self.rx[qi].1;
                if self.rx[qi].0.rx_burst(&mut rx, self.burst) == 0 {
                    continue;
                }
                worked = true;
                self.counters
                    .view()
                    .add_port_rx(port as usize, rx.len() as u64);
                if self.passthrough {
                    self.pass_through(&mut rx, port, &mut outs);
                } else {
                    self.process(&mut rx, &[port; BURST_MAX], Some(port), &mut outs, now);
                }
            }
            for _ in 0..INBOX_BURSTS_PER_LOOP {
                let Some(mut handed) = self
                    .handoff
                    .as_ref()
                    .and_then(|h| h.inboxes[self.index].pop())
                else {
                    break;
                };
                worked = true;
                self.counters
                    .view()
                    .add(WorkerBlock::HANDOFF_RECEIVED, handed.len() as u64);
                let index = &self.port_index;
                let mut ingress = [0u8; BURST_MAX];
                for (i, slot) in ingress.iter_mut().enumerate().take(handed.len()) {
                    *slot = index.get(handed.port(i) as usize).copied().unwrap_or(0);
                }
                self.process(&mut handed, &ingress, None, &mut outs, now);
            }
            if now >= next_tick {
                // The wheel turns every 10 ms; each call ages out a bounded number of sessions
                // (EXPIRE_BUDGET). When timers due by now are left over (a mass expiry), the
                // next loop continues the work instead of waiting a tick: a million sessions
                // then drain in about a second while every loop stays short.
                if self.engine.expire(now) > 0 {
                    worked = true;
                }
                let backlog = self.engine.next_timer().is_some_and(|due| due <= now);
                next_tick = if backlog {
                    now
                } else {
                    now + synwall_engine::pipeline::TICK_NS
                };
            }
            prev_start = start;
            prev_worked = worked;
            loops = loops.wrapping_add(1);
            if self.walk.is_some() {
                self.step_walk(now);
            }
            if loops.is_multiple_of(HEARTBEAT_EVERY) {
                self.counters.view().set(WorkerBlock::HEARTBEAT, now);
                self.serve_requests(now);
            }
        }
        self.send_all(&mut outs);
        0
    }

    /// `dataplane.mode: passthrough`: the whole burst goes to the ingress port's peer, by pointer,
    /// without touching a packet (the I/O path alone, as dpdk-testpmd's io forwarding).
    #[inline(always)]
    fn pass_through(&mut self, rx: &mut Burst, port: u8, outs: &mut [Burst]) {
        let Some(e) = self.peer.get(port as usize).copied().flatten() else {
            self.counters
                .view()
                .add_drop(DropReason::NoEgress, rx.len() as u64);
            rx.clear();
            return;
        };
        // Straight from the receive burst to transmit, as testpmd's io forwarding does.
        self.transmit_whole(e, rx, outs);
    }

    /// Transmits a whole burst on port `e`, after what waits for that port from earlier (to keep
    /// order).
    #[inline(always)]
    fn transmit_whole(&mut self, e: usize, rx: &mut Burst, outs: &mut [Burst]) {
        if !outs[e].is_empty() {
            Self::transmit(&mut self.tx[e], &self.counters, e, &mut outs[e]);
        }
        Self::transmit(&mut self.tx[e], &self.counters, e, rx);
    }

    /// Runs the engine over a burst and queues what it forwards on the egress ports and what
    /// it hands off for the owners' inboxes (`outs`, as in `run`). `ingress[i]` is packet `i`'s
    /// port index; `one_port` is that port when the whole burst came from it (a receive burst).
    #[inline(always)]
    fn process(
        &mut self,
        rx: &mut Burst,
        ingress: &[u8; BURST_MAX],
        one_port: Option<u8>,
        outs: &mut [Burst],
        now: u64,
    ) {
        let n = rx.len();
        // (Never called in pass-through mode: `run.rs` sets up no hand-off then, so only
        // receive bursts arrive, and `run` gives those to `pass_through`.)
        let (engine, verdicts) = (&mut self.engine, &mut self.verdicts);
        let forwarded = rx.with_frames_mut(|frames| {
            engine.process_burst(now, frames, &ingress[..n], &mut verdicts[..n])
        });
        // The common case, a receive burst forwarded whole, goes on whole to the port's peer
        // (as `pass_through` sends it): no destination per packet to work out. (Every packet of
        // a virtual-wire port that the engine forwards leaves by that peer: the forwarding step
        // of a virtual wire.)
        let whole = one_port
            .filter(|_| forwarded == n)
            .and_then(|port| self.peer.get(port as usize).copied().flatten());
        if let Some(e) = whole {
            self.transmit_whole(e, rx, outs);
        } else {
            // A copy (a few wide moves), so that `scatter` may borrow the worker whole.
            let verdicts = self.verdicts;
            self.scatter(rx, &verdicts[..n], outs);
        }
        if !self.engine.emits().is_empty() {
            self.send_emits(outs);
        }
        // Transmit now rather than at the end of the loop: mbufs that go back to the pool while
        // still warm are the next ones the NIC fills (holding a burst per port cost ~5-10 %).
        // A hand-off burst goes now too: one inbox push for each owner this burst had packets for.
        // So `outs` is empty again whenever `process` returns.
        self.send_all(outs);
    }

    /// Sends whatever waits in `outs` (see `send`).
    #[inline(always)]
    fn send_all(&mut self, outs: &mut [Burst]) {
        for (d, out) in outs.iter_mut().enumerate() {
            if !out.is_empty() {
                self.send(d, out);
            }
        }
    }

    /// Moves each packet of a processed burst to where its verdict sends it: forwarded ones, in
    /// order, to the egress port the verdict names, those handed off to their owner's
    /// inbox burst; the others (dropped, already counted by the engine) are freed.
    #[inline(always)]
    fn scatter(&mut self, rx: &mut Burst, verdicts: &[Verdict], outs: &mut [Burst]) {
        let mut dest = [u8::MAX; BURST_MAX];
        let mut no_egress = 0;
        let ports = self.tx.len();
        for (slot, verdict) in dest.iter_mut().zip(verdicts) {
            match *verdict {
                Verdict::Forward(e) if (e as usize) < ports => *slot = e,
                Verdict::Forward(_) => no_egress += 1,
                Verdict::Drop(_) => {}
                Verdict::HandOff(owner) => *slot = (ports + owner as usize) as u8,
            }
        }
        if no_egress > 0 {
            self.counters
                .view()
                .add_drop(DropReason::NoEgress, no_egress);
        }
        rx.scatter(&dest[..verdicts.len()], outs, |d, out| self.send(d, out));
    }

    /// Sends what waits in `outs[d]` (see `run`): transmits it on port `d`, or pushes it whole to
    /// the inbox of worker `d - ports` (a full inbox is a counted drop of its packets).
    #[inline(always)]
    fn send(&mut self, d: usize, out: &mut Burst) {
        let ports = self.tx.len();
        if d < ports {
            Self::transmit(&mut self.tx[d], &self.counters, d, out);
            return;
        }
        let burst = std::mem::take(out);
        let len = burst.len() as u64;
        let c = self.counters.view();
        match self.handoff.as_ref().and_then(|h| h.inboxes.get(d - ports)) {
            Some(inbox) if inbox.push(burst).is_ok() => c.add(WorkerBlock::HANDOFF_SENT, len),
            // A burst the inbox gives back (full) drops here, freeing its packets.
            _ => c.add_drop(DropReason::HandoffFull, len),
        }
    }

    /// Sends the packets the engine built (resets, unreachables): copied into fresh mbufs and
    /// queued on their port. A pool out of mbufs is a counted drop of the reply, never a wait.
    fn send_emits(&mut self, outs: &mut [Burst]) {
        let emits = self.engine.emits();
        for i in 0..emits.len() {
            let (bytes, port) = emits.get(i);
            let port = port as usize;
            let Some(mut m) = self.pool.alloc() else {
                self.counters.view().add_drop(DropReason::TxFull, 1);
                continue;
            };
            match m.append(bytes.len() as u16) {
                Some(buf) => buf.copy_from_slice(bytes),
                None => continue,
            }
            if port < self.tx.len() {
                if let Err(m) = outs[port].push(m) {
                    Self::transmit(&mut self.tx[port], &self.counters, port, &mut outs[port]);
                    let _ = outs[port].push(m);
                }
            }
        }
        self.engine.clear_emits();
    }

    #[inline(always)]
    fn transmit(tx: &mut TxQueue, counters: &CounterBlock, port: usize, buf: &mut Burst) {
        let (sent, dropped) = tx.tx_burst(buf);
        counters
            .view()
            .add_port_tx(port, sent as u64, dropped as u64);
        if dropped > 0 {
            counters.view().add_drop(DropReason::TxFull, dropped as u64);
        }
    }

    /// Answers the management thread (between bursts, bounded to a few requests). A request
    /// that walks the table starts a walk, stepped a slice a loop (`step_walk`); no other
    /// request is taken until it is done.
    fn serve_requests(&mut self, now: u64) {
        for _ in 0..4 {
            if self.walk.is_some() {
                return;
            }
            let Ok(req) = self.requests.try_recv() else {
                return;
            };
            match req {
                WorkerRequest::List {
                    filter,
                    limit,
                    found,
                    reply,
                } => {
                    let task = Task::List {
                        filter,
                        limit,
                        found,
                    };
                    self.walk = Some(Box::new((Walk::new(task), WalkReply::Views(reply))));
                }
                WorkerRequest::Clear { filter, reply } => {
                    let task = Task::Clear {
                        filter,
                        reason: EndReason::Unknown,
                        cleared: 0,
                    };
                    self.walk = Some(Box::new((Walk::new(task), WalkReply::Count(reply))));
                }
                WorkerRequest::Reload {
                    policy,
                    port_zone,
                    protection,
                    names,
                    reply,
                } => {
                    self.names = names;
                    self.engine.set_protection(protection);
                    self.engine.swap_policy(policy, port_zone);
                    let task = Task::Recheck { ended: 0 };
                    self.walk = Some(Box::new((Walk::new(task), WalkReply::Count(reply))));
                }
                WorkerRequest::ClearId { id, reply } => {
                    let _ = reply.send(self.engine.clear_session(id, EndReason::Unknown, now));
                }
                WorkerRequest::Show { id, reply } => {
                    let _ = reply.send(self.engine.view_id(id, now, &self.names));
                }
            }
        }
    }

    /// One slice of the walk in progress; once it has covered the table, its answer.
    fn step_walk(&mut self, now: u64) {
        let Some(job) = self.walk.as_mut() else {
            return;
        };
        if !self.engine.step(&mut job.0, now, &self.names) {
            return;
        }
        let Some(job) = self.walk.take() else {
            return;
        };
        let (walk, reply) = *job;
        match (walk.task, reply) {
            (Task::List { found, .. }, WalkReply::Views(tx)) => {
                let _ = tx.send(found);
            }
            (Task::Clear { cleared: n, .. } | Task::Recheck { ended: n }, WalkReply::Count(tx)) => {
                let _ = tx.send(n);
            }
            _ => unreachable!("each task is started with its kind of reply"),
        }
    }
}
