use std::ffi::{c_int, c_void, CString};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{last_errno, DpdkError};

static EAL_INITIALISED: AtomicBool = AtomicBool::new(false);

/// The initialised DPDK Environment Abstraction Layer. Dropping it calls `rte_eal_cleanup`; every
/// [`LcoreHandle`] borrows it, so workers are waited for before cleanup can run.
pub struct Eal {
    /// EAL keeps pointers into argv (e.g. for --file-prefix): the strings live as long as the EAL.
    _args: Vec<CString>,
    _argv: Vec<*mut std::ffi::c_char>,
    /// Number of arguments EAL consumed.
    pub consumed: usize,
}

impl Eal {
    /// Initialises the EAL from an argument list (without the program name; it is added).
    pub fn init<S: AsRef<str>>(args: &[S]) -> Result<Eal, DpdkError> {
        if EAL_INITIALISED.swap(true, Ordering::SeqCst) {
            return Err(DpdkError::EalAlreadyInitialised);
        }
        let mut owned = vec![CString::new("synwall").expect("no NUL")];
        for a in args {
            let a = a.as_ref();
            owned.push(CString::new(a).map_err(|_| DpdkError::BadArgument(a.to_string()))?);
        }
        let mut argv: Vec<*mut std::ffi::c_char> =
            owned.iter().map(|s| s.as_ptr() as *mut _).collect();
        argv.push(std::ptr::null_mut());
        // SAFETY: argv holds argc valid NUL-terminated strings plus a terminating null pointer; the
        // strings and the array outlive the EAL (kept in the returned struct). EAL may permute argv.
        let ret = unsafe { dpdk_sys::rte_eal_init((argv.len() - 1) as c_int, argv.as_mut_ptr()) };
        if ret < 0 {
            let (errno, text) = last_errno();
            return Err(DpdkError::EalInit { errno, text });
        }
        Ok(Eal {
            _args: owned,
            _argv: argv,
            consumed: ret as usize,
        })
    }

    /// The main lcore (runs the management thread).
    pub fn main_lcore(&self) -> u32 {
        // SAFETY: the EAL is initialised (self exists).
        unsafe { dpdk_sys::rte_get_main_lcore() }
    }

    /// Whether `lcore` is in the EAL's core list.
    pub fn lcore_enabled(&self, lcore: u32) -> bool {
        if lcore >= dpdk_sys::RTE_MAX_LCORE {
            return false;
        }
        // SAFETY: the EAL is initialised and lcore < RTE_MAX_LCORE.
        unsafe { dpdk_sys::rte_lcore_is_enabled(lcore) != 0 }
    }

    /// Enabled lcores other than the main one, in order.
    pub fn worker_lcores(&self) -> Vec<u32> {
        (0..dpdk_sys::RTE_MAX_LCORE)
            .filter(|&l| l != self.main_lcore() && self.lcore_enabled(l))
            .collect()
    }

    /// NUMA socket of the calling thread's lcore.
    pub fn socket_id(&self) -> u32 {
        // SAFETY: the EAL is initialised.
        unsafe { dpdk_sys::rte_socket_id() }
    }

    /// Runs `f` on worker lcore `lcore`. The returned handle must be waited for before the EAL is
    /// dropped (the borrow enforces it).
    pub fn launch<F>(&self, lcore: u32, f: F) -> Result<LcoreHandle<'_>, DpdkError>
    where
        F: FnOnce() -> i32 + Send + 'static,
    {
        if lcore == self.main_lcore() || !self.lcore_enabled(lcore) {
            return Err(DpdkError::LcoreNotEnabled(lcore));
        }
        let boxed: Box<Box<dyn FnOnce() -> i32 + Send>> = Box::new(Box::new(f));
        let arg = Box::into_raw(boxed) as *mut c_void;
        // SAFETY: trampoline matches lcore_function_t; arg is a leaked Box the trampoline reclaims
        // exactly once. The lcore is an enabled worker (checked above).
        let ret = unsafe { dpdk_sys::rte_eal_remote_launch(Some(trampoline), arg, lcore) };
        if ret < 0 {
            // SAFETY: the launch failed, so the trampoline never ran: reclaim the closure here.
            drop(unsafe { Box::from_raw(arg as *mut Box<dyn FnOnce() -> i32 + Send>) });
            return Err(DpdkError::Launch {
                lcore,
                errno: -ret,
                text: crate::error::strerror(ret),
            });
        }
        Ok(LcoreHandle {
            lcore,
            _eal: PhantomData,
        })
    }
}

extern "C" fn trampoline(arg: *mut c_void) -> c_int {
    // SAFETY: arg is the Box leaked by `launch`, handed to exactly one lcore.
    let f = unsafe { Box::from_raw(arg as *mut Box<dyn FnOnce() -> i32 + Send>) };
    // A panic must not unwind into DPDK's C frames: report it as a failed worker instead.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(-1)
}

impl Drop for Eal {
    fn drop(&mut self) {
        // SAFETY: all LcoreHandles borrow self, so every worker has been waited for.
        unsafe { dpdk_sys::rte_eal_cleanup() };
    }
}

/// A function running on a worker lcore.
pub struct LcoreHandle<'eal> {
    lcore: u32,
    _eal: PhantomData<&'eal Eal>,
}

impl LcoreHandle<'_> {
    /// The lcore it runs on.
    pub fn lcore(&self) -> u32 {
        self.lcore
    }

    /// Waits for the function to return and gives its return value (-1 if it panicked).
    pub fn wait(self) -> i32 {
        // SAFETY: the lcore was launched by `Eal::launch` and is waited for once (self is consumed).
        unsafe { dpdk_sys::rte_eal_wait_lcore(self.lcore) }
    }
}

/// The calling thread's lcore id (`u32::MAX` for a non-EAL thread).
#[inline(always)]
pub fn lcore_id() -> u32 {
    // SAFETY: reads a thread-local; valid on any thread.
    unsafe { dpdk_sys::shim_rte_lcore_id() }
}

/// The time-stamp counter.
#[inline(always)]
pub fn tsc() -> u64 {
    // SAFETY: rdtsc has no preconditions.
    unsafe { dpdk_sys::shim_rte_rdtsc() }
}

/// TSC ticks per second as measured by the EAL (0 before `Eal::init`).
pub fn tsc_hz() -> u64 {
    // SAFETY: reads a value the EAL computed at init; returns 0 before it.
    unsafe { dpdk_sys::rte_get_tsc_hz() }
}
