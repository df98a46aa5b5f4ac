use std::ptr::NonNull;

/// An owned packet buffer. Dropping it returns it to its pool. Single-segment mbufs are what
/// synwall's ports produce (no scatter, no LRO); `data()` covers the first segment.
pub struct Mbuf {
    raw: NonNull<dpdk_sys::rte_mbuf>,
}

// SAFETY: an mbuf is owned by one holder at a time; moving it to another lcore (handoff rings) is
// how DPDK applications pass packets between cores.
unsafe impl Send for Mbuf {}

impl Mbuf {
    /// Takes ownership of a raw mbuf.
    ///
    /// # Safety
    /// `raw` must be a valid mbuf that nothing else owns or frees.
    #[inline(always)]
    pub unsafe fn from_raw(raw: NonNull<dpdk_sys::rte_mbuf>) -> Self {
        Mbuf { raw }
    }

    /// Gives up ownership without freeing.
    #[inline(always)]
    pub fn into_raw(self) -> NonNull<dpdk_sys::rte_mbuf> {
        let raw = self.raw;
        std::mem::forget(self);
        raw
    }

    /// The packet bytes of the first segment.
    #[inline(always)]
    pub fn data(&self) -> &[u8] {
        // SAFETY: for an owned valid mbuf, mtod points to data_len initialised bytes that live as
        // long as the mbuf; &self prevents concurrent mutation.
        unsafe {
            let m = self.raw.as_ptr();
            std::slice::from_raw_parts(raw::data_ptr(m), raw::data_len(m))
        }
    }

    /// The packet bytes, writable (to forge replies in place).
    #[inline(always)]
    pub fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `data`, and &mut self gives exclusive access.
        unsafe {
            let m = self.raw.as_ptr();
            std::slice::from_raw_parts_mut(raw::data_ptr(m), raw::data_len(m))
        }
    }

    /// Total packet length over all segments.
    #[inline(always)]
    pub fn pkt_len(&self) -> u32 {
        // SAFETY: valid owned mbuf.
        unsafe { raw::pkt_len(self.raw.as_ptr()) }
    }

    /// Input port.
    #[inline(always)]
    pub fn port(&self) -> u16 {
        // SAFETY: valid owned mbuf.
        unsafe { raw::port(self.raw.as_ptr()) }
    }

    /// The NIC's RSS hash, 0 when the NIC gave none.
    #[inline(always)]
    pub fn rss_hash(&self) -> u32 {
        // SAFETY: valid owned mbuf.
        unsafe { raw::rss_hash(self.raw.as_ptr()) }
    }

    /// Grows the data by `len` bytes at the end and returns them (None if no tailroom). Used to build
    /// packets (RSTs, ICMP errors) in a freshly allocated mbuf.
    pub fn append(&mut self, len: u16) -> Option<&mut [u8]> {
        // SAFETY: valid owned mbuf; append returns null or a pointer to `len` bytes inside the buffer.
        let p = unsafe { dpdk_sys::shim_rte_pktmbuf_append(self.raw.as_ptr(), len) };
        if p.is_null() {
            None
        } else {
            // SAFETY: p points to len writable bytes owned by this mbuf.
            Some(unsafe { std::slice::from_raw_parts_mut(p as *mut u8, len as usize) })
        }
    }
}

impl Drop for Mbuf {
    #[inline(always)]
    fn drop(&mut self) {
        // SAFETY: we own the mbuf; it is freed exactly once.
        unsafe { dpdk_sys::shim_rte_pktmbuf_free(self.raw.as_ptr()) };
    }
}

/// Inline field reads of `struct rte_mbuf` (bindgen's layout of this very DPDK build), so that the
/// per-packet accessors cost a load, not a call into the shim.
pub(crate) mod raw {
    use dpdk_sys::rte_mbuf;

    /// `RTE_MBUF_F_RX_RSS_HASH`: the NIC filled `hash.rss`.
    const RX_RSS_HASH: u64 = 1 << 1;

    /// # Safety
    /// `m` must point to a valid mbuf.
    #[inline(always)]
    pub unsafe fn data_ptr(m: *mut rte_mbuf) -> *mut u8 {
        // SAFETY: the caller guarantees a valid mbuf; mtod is buf_addr + data_off.
        unsafe { ((*m).buf_addr as *mut u8).add((*m).data_off as usize) }
    }

    /// # Safety
    /// `m` must point to a valid mbuf.
    #[inline(always)]
    pub unsafe fn data_len(m: *const rte_mbuf) -> usize {
        // SAFETY: valid mbuf per the caller.
        unsafe { (*m).data_len as usize }
    }

    /// # Safety
    /// `m` must point to a valid mbuf.
    #[inline(always)]
    pub unsafe fn pkt_len(m: *const rte_mbuf) -> u32 {
        // SAFETY: valid mbuf per the caller.
        unsafe { (*m).pkt_len }
    }

    /// # Safety
    /// `m` must point to a valid mbuf.
    #[inline(always)]
    pub unsafe fn port(m: *const rte_mbuf) -> u16 {
        // SAFETY: valid mbuf per the caller.
        unsafe { (*m).port }
    }

    /// # Safety
    /// `m` must point to a valid mbuf.
    #[inline(always)]
    pub unsafe fn rss_hash(m: *const rte_mbuf) -> u32 {
        // SAFETY: valid mbuf per the caller; the hash union is read only when the flag says the
        // NIC wrote its rss member.
        unsafe {
            if (*m).ol_flags & RX_RSS_HASH != 0 {
                (*m).__bindgen_anon_2.hash.rss
            } else {
                0
            }
        }
    }
}
