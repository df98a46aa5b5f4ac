//! synwall's packet engine.
//!
//! The engine knows nothing of DPDK and never reads the OS clock: packets come in as byte
//! slices with metadata, time comes in as an argument (nanoseconds on a monotonic scale).
//! The same code therefore runs in a worker lcore, in `synwall replay` over a capture, and in
//! unit tests over literal byte arrays.
//!
//! # Module map
//! - The data path, top to bottom: [`pipeline`] (`pipeline/mod.rs` runs a burst; its files
//!   say where each step lives). It uses [`wire`] (parsing, the straight-line common frame),
//!   [`flow`] (flow keys and their symmetric hash), [`table`] and [`stored_key`] (the session
//!   table and its compact keys), [`session`] (what a session holds), [`tcp`] (the TCP
//!   tracker as a transition table), [`appid`] and [`app`] (application identification),
//!   [`policy`] (zones and rules, compiled), [`protect`] (zone flood protection), [`frag`]
//!   (later fragments follow the first), [`timer`] (the aging wheel), [`forge`] (resets and
//!   ICMP errors the engine sends).
//! - Its vocabulary: [`verdict`] (what happens to a packet), and from the `synwall-types`
//!   crate [`reasons`] (drop, end and action names, one list for counters, logs and metrics),
//!   [`dir`] (which way a packet goes), [`app`] (application ids), protocol numbers and TCP
//!   flags (re-exported by [`flow`] and [`tcp`]).
//! - What leaves the engine: [`stats`] (the shared counters segment), [`records`] (traffic
//!   log records through a bounded ring), [`api`] (the management socket's types).
//! - [`config`]: the YAML config, validated (the `synwall-config` crate); [`capture`]: pcap
//!   files.
//!
//! # Using an [`pipeline::Engine`], in order
//! One engine per worker; nothing in it is shared, so nothing locks.
//! 1. Build: `EngineConfig::from_config(&config, policy, worker, workers)`, then
//!    `Engine::new(cfg, counters, records, now)`. All memory is taken here.
//! 2. Each burst: `process_burst(now, frames, ingress, verdicts)`; send each frame as its
//!    verdict says (`Forward(port)`, `Drop` (already counted), `HandOff(worker)`); then send
//!    `emits()` (resets, ICMP errors) and call `clear_emits()` before the next burst.
//! 3. Each timer tick (`pipeline::TICK_NS`), and again at once while `next_timer()` is due:
//!    `expire(now)`, which ages out a bounded batch.
//! 4. Between bursts, on request: `step(&mut walk, now, names)` one slice of a table walk
//!    (`show|clear session all`, a reload's re-check after `swap_policy` and `set_protection`)
//!    until it returns true; `view_id`, `clear_session` (by id, O(1)); `snapshot(slot)` and
//!    `install(&snapshot, now)` to move a session to another engine.
//! 5. At shutdown: `clear_all(reason, now)` logs every session's end.
//!
//! `process(now, frame, port)` is a burst of one over a copy of the frame, for tests and tools.

pub mod api;
pub mod appid;
pub mod capture;
pub mod flow;
pub mod forge;
pub mod frag;
pub mod pipeline;
pub mod policy;
pub mod protect;
pub mod records;
pub mod session;
pub mod stats;
pub mod stored_key;
pub mod table;
pub mod tcp;
pub mod timer;
pub mod verdict;
pub mod wire;

// The vocabulary lives in `synwall-types`; these keep its old paths (`crate::reasons`, ...).
pub use synwall_types::{app, dir, reasons};
// The YAML config lives in `synwall-config`; `crate::config` stays its path here.
pub use synwall_config as config;
