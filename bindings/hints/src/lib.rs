//! Hints to the CPU and the kernel about the engine's memory; none changes what the program
//! computes.
//!
//! - [`prefetch_at`]: the engine works on bursts in stages (parse and hash all packets, prefetch
//!   their index buckets, then their sessions, then process them) so that the cache misses of
//!   one packet overlap the work on the others.
//! - [`HugeArray`]: the session slab and index are large (120 MB for 1M sessions) and probed at
//!   random; on 4 KiB pages nearly every probe also misses the TLB. They are allocated on 2 MiB
//!   boundaries and advised for transparent huge pages, which removes most of those page walks
//!   where the kernel allows it (`/sys/kernel/mm/transparent_hugepage/enabled` = `always` or
//!   `madvise`).
//!
//! Both need `unsafe` code (an intrinsic taking a raw pointer; an aligned allocation and a libc
//! call); they live under `bindings/` with the project's other `unsafe` edges and are safe to
//! use.
#![no_std]

/// Hints that the cache line holding `slice[i]` will be read soon. No bounds check (the
/// engine's callers pass indices in range by construction: a multiply-shift of a hash by the
/// length, a slot the index holds), and none is needed: an index out of range would prefetch
/// some other address, which a hint allows.
#[inline(always)]
pub fn prefetch_at<T>(slice: &[T], i: usize) {
    prefetch_line(slice.as_ptr().wrapping_add(i) as usize);
}

/// Like [`prefetch_at`], for every cache line `slice[i]` spans, which its type limits to two
/// (checked at compile time): no larger than a line plus its alignment, so that wherever it
/// starts it ends in the next line at the latest (a 96-byte table entry aligned to 32). Two
/// prefetches, no loop.
#[inline(always)]
pub fn prefetch_both_at<T>(slice: &[T], i: usize) {
    const {
        assert!(core::mem::size_of::<T>() <= 64 + core::mem::align_of::<T>());
    }
    let start = slice.as_ptr().wrapping_add(i) as usize;
    prefetch_line(start);
    prefetch_line(start + core::mem::size_of::<T>().max(1) - 1);
}

/// Like [`prefetch_both_at`], for the lines that the first `bytes` bytes of `slice[i]` span
/// (at most two, as there): a caller that will touch only the head of an element does not
/// bring in its tail. Two prefetches, no loop (the second may name the first's line again).
#[inline(always)]
pub fn prefetch_head_at<T>(slice: &[T], i: usize, bytes: usize) {
    const {
        assert!(core::mem::size_of::<T>() <= 64 + core::mem::align_of::<T>());
    }
    debug_assert!(bytes >= 1 && bytes <= core::mem::size_of::<T>());
    let start = slice.as_ptr().wrapping_add(i) as usize;
    prefetch_line(start);
    // A `bytes` out of range would prefetch some other line, which a hint allows.
    prefetch_line(start.wrapping_add(bytes).wrapping_sub(1));
}

/// Prefetches the line holding `address`. A no-op where the target has no prefetch
/// instruction we use.
#[inline(always)]
fn prefetch_line(address: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `_mm_prefetch` (SSE, baseline on x86_64) only hints the cache: it cannot fault or
    // write, whatever the address.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(
            address as *const i8,
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}

const HUGE_PAGE: usize = 2 << 20;

extern crate alloc;

use alloc::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use core::ops::{Deref, DerefMut};
use core::ptr::NonNull;

/// A fixed-length array on memory that starts on a 2 MiB boundary, advised for transparent
/// huge pages before it is first touched: every byte of it can then be on huge pages. (A `Vec`
/// of the same size starts wherever the allocator puts it: the part before its first 2 MiB
/// boundary, up to 2 MiB of a table probed at random, stays on 4 KiB pages, and each probe
/// there may miss the TLB.) Allocated once, never grown; freed when dropped.
pub struct HugeArray<T: Copy> {
    ptr: NonNull<T>,
    /// Elements the array shows (`set_len`); all `capacity` are initialised.
    len: usize,
    capacity: usize,
    /// Mapped by `map_huge` (unmapped on drop), not taken from the allocator.
    mapped: bool,
}

// SAFETY: a `HugeArray` owns its elements as a `Vec` would; sending or sharing it is as safe
// as sending or sharing `T`s.
unsafe impl<T: Copy + Send> Send for HugeArray<T> {}
// SAFETY: as above; `&HugeArray` gives only `&[T]`.
unsafe impl<T: Copy + Sync> Sync for HugeArray<T> {}

impl<T: Copy> HugeArray<T> {
    /// `len` elements, element `i` set to `fill(i)`. Aborts when out of memory, as `Vec` does.
    pub fn new(len: usize, mut fill: impl FnMut(usize) -> T) -> Self {
        let layout = Self::layout(len);
        if layout.size() == 0 {
            return HugeArray {
                ptr: NonNull::dangling(),
                len,
                capacity: len,
                mapped: false,
            };
        }
        let mapped = layout.align() >= HUGE_PAGE;
        let raw = if mapped {
            map_huge(layout)
        } else {
            // SAFETY: the layout has a non-zero size (checked above).
            unsafe { alloc(layout) }
        } as *mut T;
        let Some(ptr) = NonNull::new(raw) else {
            handle_alloc_error(layout)
        };
        for i in 0..len {
            // SAFETY: `i < len`, inside the allocation; `write` does not read or drop the
            // uninitialised element it replaces.
            unsafe { raw.add(i).write(fill(i)) };
        }
        HugeArray {
            ptr,
            len,
            capacity: len,
            mapped,
        }
    }

    /// Keeps the first `len` elements and gives the pages of the rest back to the system, so
    /// that a large array is released in steps, each one short, rather than in one long unmap.
    /// Only an array of a huge page or more has its own pages: a smaller one (from the
    /// allocator) only hides the rest, keeping its capacity and memory until dropped.
    pub fn release_tail(&mut self, len: usize) {
        assert!(len <= self.capacity, "{len} elements of {}", self.capacity);
        self.len = self.len.min(len);
        if self.mapped {
            let size = core::mem::size_of::<T>();
            let (keep, had) = (page_round(len * size), page_round(self.capacity * size));
            if keep < had {
                // SAFETY: the pages from `keep` to `had` are the tail of this array's own
                // mapping (`map_huge`); no element at or past `len` is shown or read again.
                unsafe {
                    libc::munmap(
                        (self.ptr.as_ptr() as *mut u8).add(keep) as *mut libc::c_void,
                        had - keep,
                    )
                };
            }
            self.capacity = len;
        }
    }

    /// Shows only the first `len` elements (at most the number it was made with; the others
    /// keep their values, hidden): a table whose index uses a prefix of its array slices it
    /// once here instead of on every probe.
    pub fn set_len(&mut self, len: usize) {
        assert!(len <= self.capacity, "{len} elements of {}", self.capacity);
        self.len = len;
    }

    /// Elements it was made with (`len` shows a prefix of them).
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Arrays of a huge page or more start on a huge page; smaller ones (a test's table) are
    /// laid out as a `Vec` would be. The size is not rounded up: a huge page is resident
    /// whole, so the tail after the last whole one stays on small pages.
    fn layout(len: usize) -> Layout {
        let size = core::mem::size_of::<T>()
            .checked_mul(len)
            .expect("array size fits usize");
        let align = if size >= HUGE_PAGE {
            HUGE_PAGE.max(core::mem::align_of::<T>())
        } else {
            core::mem::align_of::<T>()
        };
        Layout::from_size_align(size, align).expect("valid layout")
    }
}

impl<T: Copy> Deref for HugeArray<T> {
    type Target = [T];
    #[inline(always)]
    fn deref(&self) -> &[T] {
        // SAFETY: `ptr` holds `capacity >= len` initialised elements (or is dangling with a
        // zero size), owned by `self`.
        unsafe { core::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl<T: Copy> DerefMut for HugeArray<T> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut [T] {
        // SAFETY: as in `deref`; `&mut self` gives exclusive access.
        unsafe { core::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl<T: Copy> Drop for HugeArray<T> {
    fn drop(&mut self) {
        let layout = Self::layout(self.capacity);
        if self.mapped {
            let size = page_round(layout.size());
            if size > 0 {
                // SAFETY: `map_huge` mapped these pages for this array (less any tail that
                // `release_tail` unmapped); nothing borrows them past `drop`.
                unsafe { libc::munmap(self.ptr.as_ptr() as *mut libc::c_void, size) };
            }
        } else if layout.size() != 0 {
            // SAFETY: allocated in `new` with this very layout; `T: Copy` has no drop glue.
            unsafe { dealloc(self.ptr.as_ptr() as *mut u8, layout) };
        }
    }
}

/// `size` rounded up to whole small pages.
fn page_round(size: usize) -> usize {
    size.div_ceil(SMALL_PAGE) * SMALL_PAGE
}

const SMALL_PAGE: usize = 4096;

/// Maps fresh anonymous memory for an array of a huge page or more: starting on a 2 MiB
/// boundary, advised for transparent huge pages before its first touch. Mapped directly rather
/// than taken from the allocator, so that dropping the array gives its pages back to the system
/// at once (the allocator may keep a freed block of a few MiB on its heap, resident). Null when
/// the system has no memory to map.
fn map_huge(layout: Layout) -> *mut u8 {
    let size = page_round(layout.size());
    let span = size + HUGE_PAGE;
    // SAFETY: a new private anonymous mapping; it aliases nothing.
    let raw = unsafe {
        libc::mmap(
            core::ptr::null_mut(),
            span,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if raw == libc::MAP_FAILED {
        return core::ptr::null_mut();
    }
    let base = raw as usize;
    let start = base.next_multiple_of(HUGE_PAGE);
    let head = start - base;
    let tail = span - head - size;
    // SAFETY: the head and the tail are the parts of the mapping just made that the array does
    // not use (each a whole number of small pages, possibly none); unmapping them touches
    // nothing else.
    unsafe {
        if head > 0 {
            libc::munmap(raw, head);
        }
        if tail > 0 {
            libc::munmap((start + size) as *mut libc::c_void, tail);
        }
    }
    // SAFETY: madvise(MADV_HUGEPAGE) on this mapping's whole 2 MiB pages; it changes only how
    // the kernel backs them. Best effort: a kernel that refuses leaves 4 KiB pages.
    unsafe {
        libc::madvise(
            start as *mut libc::c_void,
            size - size % HUGE_PAGE,
            libc::MADV_HUGEPAGE,
        );
    }
    start as *mut u8
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;

    #[test]
    fn huge_arrays_start_on_a_huge_page_and_hold_their_elements() {
        for len in [0usize, 1, 1000, (3 << 20) / 8] {
            let mut a = HugeArray::new(len, |i| i as u64 * 3);
            assert_eq!(a.len(), len);
            let huge = len * 8 >= HUGE_PAGE;
            assert!(!huge || (a.as_ptr() as usize).is_multiple_of(HUGE_PAGE));
            assert!(a.iter().enumerate().all(|(i, &v)| v == i as u64 * 3));
            if let Some(last) = a.last_mut() {
                *last = 7;
            }
            assert!(len == 0 || a[len - 1] == 7);
            a.set_len(len / 2);
            assert_eq!((a.len(), a.capacity()), (len / 2, len));
            assert!(a.iter().enumerate().all(|(i, &v)| v == i as u64 * 3));
            a.set_len(len);
            assert!(
                len == 0 || a[len - 1] == 7,
                "the hidden elements keep their values"
            );
            // Released in steps down to nothing, the rest readable each time.
            while huge && a.capacity() > 0 {
                let keep = a.capacity().saturating_sub(100_000);
                a.release_tail(keep);
                assert_eq!((a.len(), a.capacity()), (keep, keep));
                assert!(a
                    .iter()
                    .enumerate()
                    .all(|(i, &v)| v == i as u64 * 3 || i == len - 1));
            }
        }
    }
}
