//! What the engine decides for a packet.

use crate::reasons::DropReason;

/// The port index that names no port: a packet forwarded there has no egress (the worker
/// counts it `no-egress`).
pub const NO_PORT: u8 = u8::MAX;

/// What happens to a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Send it out of this port (by port index): the forwarding step's choice, a virtual
    /// wire's other port today, a route's egress in layer 3. [`NO_PORT`] if it has none.
    Forward(u8),
    Drop(DropReason),
    /// Another worker owns the packet's flow: hand the packet to it, unprocessed (software
    /// hand-off, `EngineConfig::hand_off_workers`; never given otherwise).
    HandOff(u8),
}

impl Verdict {
    /// Whether the packet leaves (by some port).
    #[inline(always)]
    pub const fn forwards(self) -> bool {
        matches!(self, Verdict::Forward(_))
    }
}
