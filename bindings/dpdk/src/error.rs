use std::ffi::{c_char, c_int, CStr};
use std::fmt;

/// What went wrong at the DPDK edge. Each variant carries the DPDK error text (`rte_strerror`) so a
/// user reads the cause, and `Display` adds the likely fix where we know one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DpdkError {
    /// An EAL argument contained a NUL byte.
    BadArgument(String),
    /// `rte_eal_init` failed.
    EalInit { errno: i32, text: String },
    /// The EAL was already initialised in this process (DPDK allows it once).
    EalAlreadyInitialised,
    /// `rte_pktmbuf_pool_create` failed.
    MempoolCreate {
        name: String,
        size: u32,
        errno: i32,
        text: String,
    },
    /// No port has this device name.
    NoSuchDevice {
        name: String,
        available: Vec<String>,
    },
    /// A port operation failed (`op` names it, e.g. "rte_eth_dev_configure").
    Port {
        port: u16,
        op: &'static str,
        errno: i32,
        text: String,
    },
    /// Launching a function on a worker lcore failed.
    Launch {
        lcore: u32,
        errno: i32,
        text: String,
    },
    /// The lcore is not enabled in the EAL core list.
    LcoreNotEnabled(u32),
}

impl fmt::Display for DpdkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DpdkError::BadArgument(a) => write!(f, "EAL argument {a:?} contains a NUL byte"),
            DpdkError::EalInit { errno, text } => {
                write!(f, "DPDK EAL initialisation failed: {text} (errno {errno})")?;
                let hint = match *errno {
                    libc::EACCES | libc::EPERM => {
                        "; run as root (DPDK needs to map memory and open /dev/net/tun)"
                    }
                    libc::ENOMEM => {
                        "; no memory: reserve hugepages (dpdk-hugepages.py --setup 2G) or pass --no-huge -m 1024"
                    }
                    libc::EALREADY => "; the EAL can be initialised once per process",
                    libc::EINVAL => "; check the EAL arguments in dataplane.eal (see dpdk-testpmd --help for the syntax)",
                    libc::ENODEV => "; a --vdev or PCI device could not be probed: check the device name and that the driver is installed",
                    _ => "",
                };
                f.write_str(hint)
            }
            DpdkError::EalAlreadyInitialised => f.write_str("the DPDK EAL is already initialised"),
            DpdkError::MempoolCreate {
                name,
                size,
                errno,
                text,
            } => write!(
                f,
                "cannot create mbuf pool {name} of {size} mbufs: {text} (errno {errno}); lower \
                 dataplane.mbufs or give DPDK more memory (-m MB with --no-huge, or more hugepages)"
            ),
            DpdkError::NoSuchDevice { name, available } => write!(
                f,
                "no DPDK port named {name:?} (ports found: {}); add the device with --vdev in \
                 dataplane.eal, or bind the NIC to vfio-pci with dpdk-devbind.py",
                if available.is_empty() {
                    "none".to_string()
                } else {
                    available.join(", ")
                }
            ),
            DpdkError::Port {
                port,
                op,
                errno,
                text,
            } => {
                write!(f, "port {port}: {op} failed: {text} (errno {errno})")
            }
            DpdkError::Launch { lcore, errno, text } => {
                write!(
                    f,
                    "cannot launch worker on lcore {lcore}: {text} (errno {errno})"
                )
            }
            DpdkError::LcoreNotEnabled(l) => write!(
                f,
                "lcore {l} is not enabled: add it to the EAL core list (-l) in dataplane.eal"
            ),
        }
    }
}

impl std::error::Error for DpdkError {}

/// The current lcore's `rte_errno` and its text.
pub(crate) fn last_errno() -> (i32, String) {
    // SAFETY: shim_rte_errno reads this thread's rte_errno (a per-lcore variable); always valid.
    let errno = unsafe { dpdk_sys::shim_rte_errno() };
    (errno, strerror(errno))
}

/// DPDK's text for an error number (DPDK errnos and libc errnos alike). `errno` may be negative, as
/// DPDK functions return `-errno`.
pub(crate) fn strerror(errno: c_int) -> String {
    // SAFETY: rte_strerror returns a pointer to a NUL-terminated string (static or thread-local) for
    // any value.
    unsafe { cstr_to_string(dpdk_sys::rte_strerror(errno.abs())) }
}

/// Copies a C string into an owned `String`.
///
/// # Safety
/// `p` must be null or point to a NUL-terminated string valid for the duration of the call.
pub(crate) unsafe fn cstr_to_string(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: the caller guarantees a valid NUL-terminated string.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// Turns DPDK's "negative errno" return convention into a `Result`.
pub(crate) fn check(port: u16, op: &'static str, ret: c_int) -> Result<c_int, DpdkError> {
    if ret < 0 {
        Err(DpdkError::Port {
            port,
            op,
            errno: -ret,
            text: strerror(ret),
        })
    } else {
        Ok(ret)
    }
}
