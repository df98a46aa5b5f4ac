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
use dpdk::{Burst, Mbuf, Mempool, RxQueue, TxQueue, BURST_MAX};
use synwall_engine::api::{SessionFilter, SessionView};
use synwall_engine::pipeline::{Engine, Verdict};
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

/// Packets travelling between workers: each worker owns the inbox at its index.
pub struct Handoff {
    pub inboxes: Arc<Vec<ArrayQueue<Mbuf>>>,
}

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
}

impl Worker {
    /// The worker's main loop; returns 0 when asked to stop.
    pub fn run(mut self) -> i32 {
        let mut rx = Burst::new();
        let mut foreign = Burst::new();
        let mut pending: Vec<Burst> = (0..self.tx.len()).map(|_| Burst::new()).collect();
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
                    self.pass_through(&mut rx, port, &mut pending);
                } else {
                    self.process(&mut rx, |_| port, &mut pending, &mut foreign, now);
                }
            }
            if let Some(h) = &self.handoff {
                let inbox = &h.inboxes[self.index];
                while rx.room() > 0 {
                    match inbox.pop() {
                        Some(m) => {
                            let _ = rx.push(m);
                        }
                        None => break,
                    }
                }
                if !rx.is_empty() {
                    worked = true;
                    self.counters
                        .view()
                        .add(WorkerBlock::HANDOFF_RECEIVED, rx.len() as u64);
                    let index = &self.port_index;
                    let mut ingress = [0u8; BURST_MAX];
                    for (i, slot) in ingress.iter_mut().enumerate().take(rx.len()) {
                        *slot = index.get(rx.port(i) as usize).copied().unwrap_or(0);
                    }
                    self.process(&mut rx, |i| ingress[i], &mut pending, &mut foreign, now);
                }
            }
            for (port, buf) in pending.iter_mut().enumerate() {
                if !buf.is_empty() {
                    Self::transmit(&mut self.tx[port], &self.counters, port, buf);
                }
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
            if loops.is_multiple_of(HEARTBEAT_EVERY) {
                self.counters.view().set(WorkerBlock::HEARTBEAT, now);
                self.serve_requests(now);
            }
        }
        for (port, buf) in pending.iter_mut().enumerate() {
            Self::transmit(&mut self.tx[port], &self.counters, port, buf);
        }
        0
    }

    /// `dataplane.mode: passthrough`: the whole burst goes to the ingress port's peer, by pointer,
    /// without touching a packet (the I/O path alone, as dpdk-testpmd's io forwarding).
    #[inline(always)]
    fn pass_through(&mut self, rx: &mut Burst, port: u8, pending: &mut [Burst]) {
        let Some(e) = self.peer.get(port as usize).copied().flatten() else {
            self.counters
                .view()
                .add_drop(DropReason::NoEgress, rx.len() as u64);
            rx.clear();
            return;
        };
        // Straight from the receive burst to transmit, as testpmd's io forwarding does; what
        // waits for this port from earlier goes first, to keep order.
        if !pending[e].is_empty() {
            Self::transmit(&mut self.tx[e], &self.counters, e, &mut pending[e]);
        }
        Self::transmit(&mut self.tx[e], &self.counters, e, rx);
    }

    /// Runs the engine over a burst, hands the packets of other workers' flows to them (through
    /// `foreign`, empty before and after) and queues what it forwards on the egress ports.
    #[inline(always)]
    fn process(
        &mut self,
        rx: &mut Burst,
        ingress_of: impl Fn(usize) -> u8,
        pending: &mut [Burst],
        foreign: &mut Burst,
        now: u64,
    ) {
        let n = rx.len();
        let mut ingress = [0u8; BURST_MAX];
        for (i, slot) in ingress.iter_mut().enumerate().take(n) {
            *slot = ingress_of(i);
        }
        let mut verdicts = [Verdict::Forward; BURST_MAX];
        if !self.passthrough {
            // Each element written once (an empty array filled afterwards costs a second pass
            // over all BURST_MAX of them, every burst).
            let frames: [&[u8]; BURST_MAX] =
                std::array::from_fn(|i| if i < n { rx.data(i) } else { &[] });
            self.engine
                .process_burst(now, &frames[..n], &ingress[..n], &mut verdicts[..n]);
        }
        // Forwarded packets go, in order, to the virtual-wire peer of their ingress port; the
        // others (dropped, already counted by the engine) are freed, but for those handed off.
        let mut dest = [u8::MAX; BURST_MAX];
        let (mut no_egress, mut handed_off) = (0, 0);
        for i in 0..n {
            match verdicts[i] {
                Verdict::Forward => match self.peer.get(ingress[i] as usize).copied().flatten() {
                    Some(e) => dest[i] = e as u8,
                    None => no_egress += 1,
                },
                Verdict::Drop(_) => {}
                Verdict::HandOff(_) => handed_off += 1,
            }
        }
        if handed_off > 0 {
            self.hand_off(rx, &verdicts[..n], &mut dest, foreign);
        }
        if no_egress > 0 {
            self.counters
                .view()
                .add_drop(DropReason::NoEgress, no_egress);
        }
        let (tx, counters) = (&mut self.tx, &self.counters);
        rx.scatter(&dest[..rx.len()], pending, |e, out| {
            Self::transmit(&mut tx[e], counters, e, out)
        });
        if !self.engine.emits().is_empty() {
            self.send_emits(pending);
        }
        // Transmit now rather than at the end of the loop: mbufs that go back to the pool while
        // still warm are the next ones the NIC fills (holding a burst per port cost ~5-10 %).
        for (e, out) in pending.iter_mut().enumerate() {
            if !out.is_empty() {
                Self::transmit(&mut self.tx[e], &self.counters, e, out);
            }
        }
    }

    /// Sends the packets the engine built (resets, unreachables): copied into fresh mbufs and
    /// queued on their port. A pool out of mbufs is a counted drop of the reply, never a wait.
    fn send_emits(&mut self, pending: &mut [Burst]) {
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
            if port < pending.len() {
                if let Err(m) = pending[port].push(m) {
                    Self::transmit(&mut self.tx[port], &self.counters, port, &mut pending[port]);
                    let _ = pending[port].push(m);
                }
            }
        }
        self.engine.clear_emits();
    }

    /// Moves the packets the engine handed off (`Verdict::HandOff`) out of `rx` to their
    /// owners' inboxes, in order, and closes the gaps in `dest` (a full inbox is a counted drop).
    fn hand_off(&self, rx: &mut Burst, verdicts: &[Verdict], dest: &mut [u8], foreign: &mut Burst) {
        let mut owners = [0u8; BURST_MAX];
        let (mut kept, mut moved) = (0, 0);
        rx.partition_into(foreign, |i| match verdicts[i] {
            Verdict::HandOff(owner) => {
                owners[moved] = owner;
                moved += 1;
                false
            }
            _ => {
                dest[kept] = dest[i];
                kept += 1;
                true
            }
        });
        let (mut j, mut sent, mut lost) = (0, 0, 0);
        // The engine hands off only when it was told the workers, with the inboxes here; the
        // owner is one of them (`owner_worker`).
        let inboxes = self.handoff.as_ref().map_or(&[][..], |h| &h.inboxes[..]);
        foreign.drain(|m| {
            match inboxes.get(owners[j] as usize).map(|inbox| inbox.push(m)) {
                Some(Ok(())) => sent += 1,
                // A full inbox: the packet is freed here (`m`, given back, or never taken).
                Some(Err(_)) | None => lost += 1,
            }
            j += 1;
        });
        let c = self.counters.view();
        c.add(WorkerBlock::HANDOFF_SENT, sent);
        if lost > 0 {
            c.add_drop(DropReason::HandoffFull, lost);
        }
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

    /// Answers the management thread (between bursts, bounded to a few requests).
    fn serve_requests(&mut self, now: u64) {
        for _ in 0..4 {
            let Ok(req) = self.requests.try_recv() else {
                return;
            };
            match req {
                WorkerRequest::List {
                    filter,
                    limit,
                    reply,
                } => {
                    let _ = reply.send(self.engine.list(&filter, now, &self.names, limit));
                }
                WorkerRequest::Clear { filter, reply } => {
                    let _ = reply.send(self.engine.clear_matching(
                        &filter,
                        EndReason::Unknown,
                        now,
                        &self.names,
                    ));
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
                    let _ = reply.send(self.engine.reload(policy, port_zone, now));
                }
                WorkerRequest::ClearId { id, reply } => {
                    let _ = reply.send(self.engine.clear_session(id, EndReason::Unknown, now));
                }
            }
        }
    }
}
