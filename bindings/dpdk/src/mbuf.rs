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
            std::slice::from_raw_parts(
                dpdk_sys::shim_rte_pktmbuf_data(m),
                dpdk_sys::shim_rte_pktmbuf_data_len(m) as usize,
            )
        }
    }

    /// The packet bytes, writable (to forge replies in place).
    #[inline(always)]
    pub fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `data`, and &mut self gives exclusive access.
        unsafe {
            let m = self.raw.as_ptr();
            std::slice::from_raw_parts_mut(
                dpdk_sys::shim_rte_pktmbuf_data(m),
                dpdk_sys::shim_rte_pktmbuf_data_len(m) as usize,
            )
        }
    }

    /// Total packet length over all segments.
    #[inline(always)]
    pub fn pkt_len(&self) -> u32 {
        // SAFETY: valid owned mbuf.
        unsafe { dpdk_sys::shim_rte_pktmbuf_pkt_len(self.raw.as_ptr()) }
    }

    /// Input port.
    #[inline(always)]
    pub fn port(&self) -> u16 {
        // SAFETY: valid owned mbuf.
        unsafe { dpdk_sys::shim_rte_mbuf_port(self.raw.as_ptr()) }
    }

    /// The NIC's RSS hash, 0 when the NIC gave none.
    #[inline(always)]
    pub fn rss_hash(&self) -> u32 {
        // SAFETY: valid owned mbuf.
        unsafe { dpdk_sys::shim_rte_mbuf_rss_hash(self.raw.as_ptr()) }
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
