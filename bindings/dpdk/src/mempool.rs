use std::ffi::CString;
use std::ptr::NonNull;

use crate::error::{last_errno, DpdkError};
use crate::{Eal, Mbuf};

/// A packet-buffer pool (`rte_pktmbuf_pool_create`). It must outlive its mbufs; in synwall it lives
/// for the whole process, next to the EAL.
pub struct Mempool {
    raw: NonNull<dpdk_sys::rte_mempool>,
    size: u32,
}

// SAFETY: DPDK mempools are thread-safe (lock-free ring with per-lcore caches); the pointer stays
// valid until rte_mempool_free in Drop.
unsafe impl Send for Mempool {}
// SAFETY: as above: concurrent alloc/free from several lcores is what mempools are for.
unsafe impl Sync for Mempool {}

impl Mempool {
    /// Creates a pool of `size` mbufs (DPDK advises 2^n - 1) with per-lcore caches of `cache`
    /// entries and the default data room (2 KiB + headroom).
    pub fn new(
        _eal: &Eal,
        name: &str,
        size: u32,
        cache: u32,
        socket: i32,
    ) -> Result<Self, DpdkError> {
        let cname = CString::new(name).map_err(|_| DpdkError::BadArgument(name.to_string()))?;
        // SAFETY: the EAL is initialised (a reference to it is held); cname is a valid C string.
        let raw = unsafe {
            dpdk_sys::rte_pktmbuf_pool_create(
                cname.as_ptr(),
                size,
                cache,
                0,
                dpdk_sys::RTE_MBUF_DEFAULT_BUF_SIZE as u16,
                socket,
            )
        };
        match NonNull::new(raw) {
            Some(raw) => Ok(Mempool { raw, size }),
            None => {
                let (errno, text) = last_errno();
                Err(DpdkError::MempoolCreate {
                    name: name.to_string(),
                    size,
                    errno,
                    text,
                })
            }
        }
    }

    /// Allocates one mbuf (None when the pool is empty).
    #[inline]
    pub fn alloc(&self) -> Option<Mbuf> {
        // SAFETY: the pool pointer is valid for self's lifetime.
        let m = unsafe { dpdk_sys::shim_rte_pktmbuf_alloc(self.raw.as_ptr()) };
        // SAFETY: a non-null mbuf just allocated is exclusively ours.
        NonNull::new(m).map(|m| unsafe { Mbuf::from_raw(m) })
    }

    /// Mbufs currently free in the pool.
    pub fn available(&self) -> u32 {
        // SAFETY: the pool pointer is valid.
        unsafe { dpdk_sys::shim_rte_mempool_avail_count(self.raw.as_ptr()) }
    }

    /// Configured size.
    pub fn size(&self) -> u32 {
        self.size
    }

    pub(crate) fn as_ptr(&self) -> *mut dpdk_sys::rte_mempool {
        self.raw.as_ptr()
    }
}

impl Drop for Mempool {
    fn drop(&mut self) {
        // SAFETY: ports using the pool are closed before the pool drops (the daemon owns both and
        // drops ports first); freeing an in-use pool is DPDK's documented caller error.
        unsafe { dpdk_sys::rte_mempool_free(self.raw.as_ptr()) };
    }
}
