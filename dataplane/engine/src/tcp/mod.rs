//! TCP connection tracking, conntrack style: a state machine written as a table
//! ([`TRANSITIONS`]), per-direction sequence tracking with window checks ([`TcpPeer`]), and
//! a compact per-session [`TcpTracker`] that answers each segment with a [`TcpVerdict`].
//!
//! The state graph and the decisions behind it are drawn in `tcp/README.md`.
//!
//! | file | holds |
//! | --- | --- |
//! | `segment.rs` | [`Segment`], flag bits, [`segment_class`], opening helpers |
//! | `state.rs` | [`TcpState`], labels, [`timeout_class`] |
//! | `table.rs` | [`TRANSITIONS`], [`Cell`], [`TcpInvalid`] |
//! | `window.rs` | [`TcpPeer`], the window maths |
//! | `seq.rs` | [`SeqNumber`], wrapping comparisons |
//! | `tracker.rs` | [`TcpTracker`], [`TcpVerdict`], [`TcpConfig`], the named exceptions |

mod segment;
mod seq;
mod state;
mod table;
mod tracker;
mod window;

#[cfg(test)]
mod tests;

pub use crate::dir::Dir;
pub use segment::{can_open_midstream, flags, is_asymmetric, segment_class, SegClass, Segment};
pub use seq::SeqNumber;
pub use state::{timeout_class, TcpState, TcpTimeoutClass};
pub use table::{transition, Cell, TcpInvalid, TRANSITIONS};
pub use tracker::{TcpAction, TcpConfig, TcpTracker, TcpVerdict};
pub use window::{peer_bits, TcpPeer};
