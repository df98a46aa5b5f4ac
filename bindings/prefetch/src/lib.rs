//! `prefetch(&x)`: ask the CPU to start loading the cache line holding `x`.
//!
//! The engine works on bursts in stages (parse and hash all packets, prefetch their index
//! buckets, then their sessions, then process them) so that the cache misses of one packet
//! overlap the work on the others. Rust's prefetch intrinsic is `unsafe` only because it takes
//! a raw pointer; prefetching never faults and never changes memory, and a reference is always
//! a valid address, so this wrapper is safe. It lives under `bindings/` with the project's other
//! `unsafe` edges.
#![no_std]

/// Hints that the cache line holding `value` will be read soon. A no-op where the target has
/// no prefetch instruction we use.
#[inline(always)]
pub fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `_mm_prefetch` (SSE, baseline on x86_64) only hints the cache; it cannot fault
    // or write, and `value` is a live reference, so the address is valid anyway.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(
            value as *const T as *const i8,
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}
