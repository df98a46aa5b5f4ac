use std::mem::MaybeUninit;

use dpdk_sys::rte_mbuf;

use crate::mbuf::raw;
use crate::Mbuf;

/// Largest burst a [`Burst`] holds.
pub const BURST_MAX: usize = 64;

/// A caller-owned array of up to [`BURST_MAX`] packets: receive fills it, transmit drains it, and
/// packets move between bursts by pointer. Allocated once per worker, never on the packet path.
/// Packets still inside when it drops are freed.
pub struct Burst {
    pkts: [*mut rte_mbuf; BURST_MAX],
    len: usize,
}

// SAFETY: a burst owns its mbufs exclusively (as `Mbuf` does, which is `Send`); moving the
// burst moves their ownership to another lcore whole (the hand-off rings pass full bursts).
unsafe impl Send for Burst {}

impl Default for Burst {
    fn default() -> Self {
        Self::new()
    }
}

impl Burst {
    pub const fn new() -> Self {
        Burst {
            pkts: [std::ptr::null_mut(); BURST_MAX],
            len: 0,
        }
    }

    #[inline(always)]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline(always)]
    fn raw(&self, i: usize) -> *mut rte_mbuf {
        assert!(i < self.len, "burst index {i} out of {}", self.len);
        self.pkts[i]
    }

    /// Calls `f` with the bytes of every packet, in order, writable (the engine rewrites
    /// forwarded frames in place). The slices are built on the stack for the call, only as
    /// many as the burst holds (filling all `BURST_MAX` places every burst, as an initialised
    /// array must be, cost ~15 instructions a packet).
    #[inline(always)]
    pub fn with_frames_mut<R>(&mut self, f: impl FnOnce(&mut [&mut [u8]]) -> R) -> R {
        // SAFETY: an array of `MaybeUninit` needs no initialisation.
        let mut frames: [MaybeUninit<&mut [u8]>; BURST_MAX] =
            unsafe { MaybeUninit::uninit().assume_init() };
        for (slot, &m) in frames.iter_mut().zip(&self.pkts[..self.len]) {
            // SAFETY: slots below len hold valid mbufs owned by this burst, each its own data
            // (no two slices overlap); the slices live only for the call, during which &mut
            // self forbids any other access to the burst.
            slot.write(unsafe {
                std::slice::from_raw_parts_mut(raw::data_ptr(m), raw::data_len(m))
            });
        }
        // SAFETY: the first len places were written just above, and `MaybeUninit<T>` has the
        // layout of `T`.
        let frames = unsafe {
            &mut *(&mut frames[..self.len] as *mut [MaybeUninit<&mut [u8]>] as *mut [&mut [u8]])
        };
        f(frames)
    }

    /// Input port (DPDK port id) of packet `i`.
    #[inline(always)]
    pub fn port(&self, i: usize) -> u16 {
        // SAFETY: valid mbuf owned by the burst.
        unsafe { raw::port(self.raw(i)) }
    }

    /// Adds a packet at the end; gives it back if the burst is full.
    #[inline(always)]
    pub fn push(&mut self, m: Mbuf) -> Result<(), Mbuf> {
        if self.len == BURST_MAX {
            return Err(m);
        }
        self.pkts[self.len] = m.into_raw().as_ptr();
        self.len += 1;
        Ok(())
    }

    /// Moves every packet `i`, in order, to the end of `outs[dest[i]]`, and frees those whose
    /// destination is out of range (`u8::MAX` by convention: dropped). When a destination is
    /// full, `flush(d, &mut outs[d])` is called first to empty it. The burst ends up empty.
    #[inline]
    pub fn scatter(
        &mut self,
        dest: &[u8],
        outs: &mut [Burst],
        mut flush: impl FnMut(usize, &mut Burst),
    ) {
        let n = self.len;
        self.len = 0;
        let mut r = 0;
        // Runs of packets with one destination move as one slice copy (a virtual wire's burst is
        // a single run), so the per-packet work is a compare, not a load-store chain on `len`.
        while r < n {
            let d = dest.get(r).copied().unwrap_or(u8::MAX);
            let mut end = r + 1;
            while end < n && dest.get(end).copied().unwrap_or(u8::MAX) == d {
                end += 1;
            }
            match outs.get_mut(d as usize) {
                Some(out) => {
                    let mut from = r;
                    while from < end {
                        if out.len == BURST_MAX {
                            flush(d as usize, out);
                            if out.len == BURST_MAX {
                                // The flush made no room: drop the rest of the run.
                                for &m in &self.pkts[from..end] {
                                    // SAFETY: valid mbufs this burst owned; they leave here.
                                    unsafe { dpdk_sys::shim_rte_pktmbuf_free(m) };
                                }
                                break;
                            }
                        }
                        let take = (end - from).min(BURST_MAX - out.len);
                        out.pkts[out.len..out.len + take]
                            .copy_from_slice(&self.pkts[from..from + take]);
                        out.len += take;
                        from += take;
                    }
                }
                None => {
                    for &m in &self.pkts[r..end] {
                        // SAFETY: valid mbufs this burst owned; dropped, they leave here.
                        unsafe { dpdk_sys::shim_rte_pktmbuf_free(m) };
                    }
                }
            }
            r = end;
        }
    }

    /// Frees every packet.
    #[inline]
    pub fn clear(&mut self) {
        if self.len > 0 {
            // SAFETY: the first len slots are valid mbufs owned by the burst, freed once here.
            unsafe {
                dpdk_sys::shim_rte_pktmbuf_free_bulk(self.pkts.as_mut_ptr(), self.len as u32)
            };
            self.len = 0;
        }
    }

    /// The unfilled tail, for receive.
    #[inline(always)]
    pub(crate) fn spare_ptr(&mut self) -> (*mut *mut rte_mbuf, u16) {
        // SAFETY: len <= BURST_MAX so the pointer stays within (or one past) the array.
        (
            unsafe { self.pkts.as_mut_ptr().add(self.len) },
            (BURST_MAX - self.len) as u16,
        )
    }

    /// Marks `n` more slots as filled (after receive wrote them).
    #[inline(always)]
    pub(crate) fn commit(&mut self, n: usize) {
        debug_assert!(self.len + n <= BURST_MAX);
        self.len += n;
    }

    /// Pointer to the packets, for transmit.
    #[inline(always)]
    pub(crate) fn as_mut_ptr(&mut self) -> *mut *mut rte_mbuf {
        self.pkts.as_mut_ptr()
    }

    /// Forgets the first `n` packets (transmit took them) and moves the rest to the front.
    #[inline(always)]
    pub(crate) fn consume_front(&mut self, n: usize) {
        self.pkts.copy_within(n..self.len, 0);
        self.len -= n;
    }
}

impl Drop for Burst {
    fn drop(&mut self) {
        self.clear();
    }
}
