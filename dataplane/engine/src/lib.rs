//! synwall's packet engine.
//!
//! The engine knows nothing of DPDK and never reads the OS clock: packets come in as byte
//! slices with metadata, time comes in as an argument (nanoseconds on a monotonic scale).
//! The same code therefore runs in a worker lcore, in `synwall replay` over a capture, and in
//! unit tests over literal byte arrays.

pub mod api;
pub mod app;
pub mod appid;
pub mod capture;
pub mod config;
pub mod dir;
pub mod flow;
pub mod forge;
pub mod frag;
pub mod pipeline;
pub mod policy;
pub mod protect;
pub mod reasons;
pub mod records;
pub mod session;
pub mod stats;
pub mod stored_key;
pub mod table;
pub mod tcp;
#[cfg(test)]
pub(crate) mod test_rng;
pub mod timer;
pub mod verdict;
pub mod wire;
