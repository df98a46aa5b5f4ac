//! What the engine sends itself (resets, ICMP errors), collected during a burst, and the
//! per-second limits on what it sends and logs.

/// A simple token bucket for log rate limits (per second, refilled by the packet clock).
pub(super) struct RateLimit {
    pub(super) per_sec: u32,
    pub(super) tokens: u32,
    pub(super) second: u64,
}

impl RateLimit {
    /// A bucket of `per_sec` tokens a second, empty until the first second starts.
    pub(super) const fn new(per_sec: u32) -> Self {
        RateLimit {
            per_sec,
            tokens: 0,
            second: 0,
        }
    }

    pub(super) fn allow(&mut self, now_ns: u64) -> bool {
        let second = now_ns / 1_000_000_000;
        if second != self.second {
            self.second = second;
            self.tokens = self.per_sec;
        }
        if self.tokens > 0 {
            self.tokens -= 1;
            true
        } else {
            false
        }
    }
}

/// Most packets the engine may send per burst; more are not sent (the flow retransmits).
pub const MAX_EMITS: usize = 32;
/// Largest packet the engine sends (an ICMPv6 error quotes up to 1280 bytes).
pub const EMIT_BYTES: usize = 1536;
/// ICMP unreachables sent per second per worker (`drop-icmp` and UDP resets).
pub const ICMP_ERRORS_PER_SEC: u32 = 100;

/// Packets to send: each goes out of port `ports[i]`.
pub struct Emits {
    buf: Vec<[u8; EMIT_BYTES]>,
    lens: [u16; MAX_EMITS],
    ports: [u8; MAX_EMITS],
    n: usize,
}

impl Emits {
    pub(super) fn new() -> Self {
        Emits {
            buf: vec![[0u8; EMIT_BYTES]; MAX_EMITS],
            lens: [0; MAX_EMITS],
            ports: [0; MAX_EMITS],
            n: 0,
        }
    }

    /// Builds one packet with `build` into the next free slot, to leave by `port`.
    pub(super) fn push(
        &mut self,
        port: u8,
        build: impl FnOnce(&mut [u8]) -> Option<usize>,
    ) -> bool {
        if self.n == MAX_EMITS || port == u8::MAX {
            return false;
        }
        match build(&mut self.buf[self.n]) {
            Some(len) => {
                self.lens[self.n] = len as u16;
                self.ports[self.n] = port;
                self.n += 1;
                true
            }
            None => false,
        }
    }

    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Packet `i` and its egress port.
    pub fn get(&self, i: usize) -> (&[u8], u8) {
        (&self.buf[i][..self.lens[i] as usize], self.ports[i])
    }

    pub fn clear(&mut self) {
        self.n = 0;
    }
}
