//! The worker lcore: poll, process, transmit, run to completion. One per configured lcore.
//!
//! Per-packet work lives in `Worker::poll_once`; nothing here allocates (bursts and tx buffers are
//! made before the loop), locks, or makes a syscall.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use dpdk::{Burst, RxQueue, TxQueue};

/// Most ports a dataplane drives (counter arrays are sized by it).
pub const MAX_PORTS: usize = 32;

/// Counters of one worker (packets, not bytes: byte counts come from the ports' own ethdev
/// counters, which cost the workers nothing, where reading every mbuf's length costs ~15% of a
/// pass-through worker in cache misses), written by that worker only (plain relaxed stores, no read-modify-write
/// atomics), read by the management thread. Cache-line aligned so workers never share a line.
#[repr(align(64))]
#[derive(Default)]
pub struct WorkerStats {
    pub packets: AtomicU64,
    pub loops: AtomicU64,
    pub port_rx_packets: [AtomicU64; MAX_PORTS],
    pub port_tx_packets: [AtomicU64; MAX_PORTS],
    pub port_tx_drops: [AtomicU64; MAX_PORTS],
    pub no_egress_drops: AtomicU64,
}

/// Single-writer add: the owner is the only writer, so load + store is exact and avoids a locked
/// instruction.
#[inline(always)]
fn bump(c: &AtomicU64, n: u64) {
    c.store(c.load(Relaxed).wrapping_add(n), Relaxed);
}

/// What one worker owns.
pub struct Worker {
    pub index: usize,
    pub lcore: u32,
    /// Queues this worker polls, with the index of their port.
    pub rx: Vec<(RxQueue, usize)>,
    /// This worker's tx queue on every port, by port index.
    pub tx: Vec<TxQueue>,
    /// Virtual-wire peer of each port.
    pub peer: Vec<Option<usize>>,
    pub stats: Arc<WorkerStats>,
    pub stop: Arc<AtomicBool>,
    pub burst: usize,
}

impl Worker {
    /// The worker's main loop; returns 0 when asked to stop.
    pub fn run(mut self) -> i32 {
        let mut rx = Burst::new();
        let mut pending: Vec<Burst> = (0..self.tx.len()).map(|_| Burst::new()).collect();
        while !self.stop.load(Relaxed) {
            self.poll_once(&mut rx, &mut pending);
        }
        for (port, buf) in pending.iter_mut().enumerate() {
            self.flush(port, buf);
        }
        0
    }

    /// One pass over every rx queue, then flush what is waiting for transmit.
    #[inline(always)]
    fn poll_once(&mut self, rx: &mut Burst, pending: &mut [Burst]) {
        let mut handled = 0u64;
        for qi in 0..self.rx.len() {
            let (queue, port) = &mut self.rx[qi];
            let port = *port;
            let n = queue.rx_burst(rx, self.burst);
            if n == 0 {
                continue;
            }
            handled += n as u64;
            bump(&self.stats.port_rx_packets[port], n as u64);
            match self.peer[port] {
                Some(egress) => {
                    // Virtual wire: everything that came in on `port` leaves by its peer.
                    while !rx.is_empty() {
                        pending[egress].append_from(rx);
                        if pending[egress].len() >= self.burst {
                            let out = &mut pending[egress];
                            Self::transmit(&mut self.tx[egress], &self.stats, egress, out);
                        }
                    }
                }
                None => {
                    bump(&self.stats.no_egress_drops, n as u64);
                    rx.clear();
                }
            }
        }
        for (port, buf) in pending.iter_mut().enumerate() {
            if !buf.is_empty() {
                Self::transmit(&mut self.tx[port], &self.stats, port, buf);
            }
        }
        if handled > 0 {
            bump(&self.stats.packets, handled);
            bump(&self.stats.loops, 1);
        }
    }

    fn flush(&mut self, port: usize, buf: &mut Burst) {
        Self::transmit(&mut self.tx[port], &self.stats, port, buf);
    }

    #[inline(always)]
    fn transmit(tx: &mut TxQueue, stats: &WorkerStats, port: usize, buf: &mut Burst) {
        let (sent, dropped) = tx.tx_burst(buf);
        bump(&stats.port_tx_packets[port], sent as u64);
        if dropped > 0 {
            bump(&stats.port_tx_drops[port], dropped as u64);
        }
    }
}
