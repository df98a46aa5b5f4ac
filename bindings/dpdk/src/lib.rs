//! The safe edge over DPDK.
//!
//! Every `unsafe` block that touches DPDK in synwall lives in this crate, each with a `// SAFETY:`
//! line. Above it the daemon sees owned types: [`Eal`] (initialisation and lcores), [`Mempool`],
//! [`Mbuf`] (returns itself to its pool on drop), [`Port`] with [`RxQueue`]/[`TxQueue`] handles, and
//! [`Burst`], a caller-owned array of packets that receive and transmit fill and drain without
//! allocating.

mod burst;
mod eal;
mod error;
mod mbuf;
mod mempool;
mod port;

pub use burst::{Burst, BURST_MAX};
pub use eal::{lcore_id, tsc, tsc_hz, Eal, LcoreHandle};
pub use error::DpdkError;
pub use mbuf::Mbuf;
pub use mempool::Mempool;
pub use port::{LinkStatus, Port, PortConfig, PortStats, RxQueue, TxQueue};

/// DPDK's version string, e.g. "DPDK 22.11.11".
pub fn version() -> String {
    // SAFETY: rte_version returns a pointer to a static NUL-terminated string; no EAL needed.
    unsafe { error::cstr_to_string(dpdk_sys::rte_version()) }
}
