//! Hints to the CPU and the kernel about the engine's memory; none changes what the program
//! computes.
//!
//! - [`prefetch`]: the engine works on bursts in stages (parse and hash all packets, prefetch
//!   their index buckets, then their sessions, then process them) so that the cache misses of
//!   one packet overlap the work on the others.
//! - [`advise_huge_pages`]: the session slab and index are large (120 MB for 1M sessions) and
//!   probed at random; on 4 KiB pages nearly every probe also misses the TLB. Asking for
//!   transparent huge pages (2 MiB) removes most of those page walks where the kernel allows it
//!   (`/sys/kernel/mm/transparent_hugepage/enabled` = `always` or `madvise`).
//!
//! Both need `unsafe` calls (an intrinsic taking a raw pointer, a libc call); they live under
//! `bindings/` with the project's other `unsafe` edges and are safe to call.
#![no_std]

/// Hints that the cache line holding `value` will be read soon.
#[inline(always)]
pub fn prefetch<T>(value: &T) {
    prefetch_line(value as *const T as usize);
}

/// Like [`prefetch`], for every cache line `value` spans, which its type limits to two (checked
/// at compile time): no larger than a line plus its alignment, so that wherever it starts it
/// ends in the next line at the latest (a 96-byte table entry aligned to 32). Two prefetches,
/// no loop.
#[inline(always)]
pub fn prefetch_both<T>(value: &T) {
    const {
        assert!(core::mem::size_of::<T>() <= 64 + core::mem::align_of::<T>());
    }
    let start = value as *const T as usize;
    prefetch_line(start);
    prefetch_line(start + core::mem::size_of::<T>().max(1) - 1);
}

/// Prefetches the line holding `address` (which the callers take from live references). A
/// no-op where the target has no prefetch instruction we use.
#[inline(always)]
fn prefetch_line(address: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `_mm_prefetch` (SSE, baseline on x86_64) only hints the cache: it cannot fault or
    // write, whatever the address, and ours lie inside live references anyway.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(
            address as *const i8,
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}

const HUGE_PAGE: usize = 2 << 20;

/// Asks the kernel to back the whole 2 MiB pages inside `memory` with transparent huge pages.
/// Call it on a fresh allocation before touching it. Best effort: a kernel that refuses (THP
/// `never`, no support) leaves the memory as it was; returns whether the kernel accepted.
pub fn advise_huge_pages<T>(memory: &[T]) -> bool {
    let start = memory.as_ptr() as usize;
    let end = start + core::mem::size_of_val(memory);
    let first = start.next_multiple_of(HUGE_PAGE);
    let last = end - end % HUGE_PAGE;
    if last <= first {
        return false;
    }
    // SAFETY: madvise(MADV_HUGEPAGE) changes only how the kernel backs the pages of a range we
    // own (inside `memory`); it never changes their contents or invalidates the mapping.
    unsafe {
        libc::madvise(
            first as *mut libc::c_void,
            last - first,
            libc::MADV_HUGEPAGE,
        ) == 0
    }
}
