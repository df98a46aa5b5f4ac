use std::ffi::{c_char, CString};
use std::marker::PhantomData;

use crate::error::{check, cstr_to_string, DpdkError};
use crate::{Burst, Eal, Mempool};

/// A symmetric Toeplitz key: with a key made of one repeated 16-bit pattern, the Toeplitz hash of
/// (src, dst, sport, dport) equals that of (dst, src, dport, sport), so the NIC delivers both
/// directions of a flow to the same queue, hence the same worker (Woo and Park, "Scalable TCP
/// Session Monitoring with Symmetric Receive-side Scaling").
const SYMMETRIC_RSS_PATTERN: [u8; 2] = [0x6d, 0x5a];
const RSS_KEY_MAX: usize = 64;

/// How to set up a port.
#[derive(Clone, Debug)]
pub struct PortConfig {
    pub rx_queues: u16,
    pub tx_queues: u16,
    pub rx_descriptors: u16,
    pub tx_descriptors: u16,
    /// Ask for RSS across the rx queues (used when the device supports it).
    pub rss: bool,
    pub promiscuous: bool,
}

impl Default for PortConfig {
    fn default() -> Self {
        PortConfig {
            rx_queues: 1,
            tx_queues: 1,
            rx_descriptors: 1024,
            tx_descriptors: 1024,
            rss: true,
            promiscuous: true,
        }
    }
}

/// Link state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkStatus {
    pub up: bool,
    pub speed_mbps: u32,
    pub full_duplex: bool,
}

/// Basic port counters (`rte_eth_stats`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PortStats {
    pub rx_packets: u64,
    pub tx_packets: u64,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    /// Packets the NIC dropped because no rx descriptor was free (the worker fell behind).
    pub rx_missed: u64,
    pub rx_errors: u64,
    pub tx_errors: u64,
    /// Receive failures for lack of mbufs in the pool.
    pub rx_nombuf: u64,
}

/// An ethdev port. Configured and started by [`Port::configure`]; stopped and closed on drop (a TAP
/// port's kernel interface disappears then).
pub struct Port {
    id: u16,
    name: String,
    started: bool,
    /// Whether RSS was enabled (device support and config).
    pub rss_enabled: bool,
    pub rx_queues: u16,
    pub tx_queues: u16,
}

/// Names of every port DPDK probed.
pub fn port_names(_eal: &Eal) -> Vec<String> {
    (0..dpdk_sys::RTE_MAX_ETHPORTS as u16)
        .filter_map(|id| {
            // SAFETY: any port id may be asked for; invalid ones return 0.
            if unsafe { dpdk_sys::rte_eth_dev_is_valid_port(id) } == 0 {
                return None;
            }
            let mut buf = [0 as c_char; 64];
            // SAFETY: buf is RTE_ETH_NAME_MAX_LEN (64) bytes, as the API requires.
            let ret = unsafe { dpdk_sys::rte_eth_dev_get_name_by_port(id, buf.as_mut_ptr()) };
            // SAFETY: on success buf holds a NUL-terminated name.
            (ret == 0).then(|| unsafe { cstr_to_string(buf.as_ptr()) })
        })
        .collect()
}

impl Port {
    /// Finds a port by device name (e.g. `net_tap0`, `0000:3b:00.0`).
    pub fn by_name(eal: &Eal, name: &str) -> Result<Port, DpdkError> {
        let cname = CString::new(name).map_err(|_| DpdkError::BadArgument(name.to_string()))?;
        let mut id = 0u16;
        // SAFETY: cname is a valid C string; id is a valid out pointer.
        let ret = unsafe { dpdk_sys::rte_eth_dev_get_port_by_name(cname.as_ptr(), &mut id) };
        if ret != 0 {
            return Err(DpdkError::NoSuchDevice {
                name: name.to_string(),
                available: port_names(eal),
            });
        }
        Ok(Port {
            id,
            name: name.to_string(),
            started: false,
            rss_enabled: false,
            rx_queues: 0,
            tx_queues: 0,
        })
    }

    pub fn id(&self) -> u16 {
        self.id
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn dev_info(&self) -> Result<dpdk_sys::rte_eth_dev_info, DpdkError> {
        let mut info = dpdk_sys::rte_eth_dev_info::default();
        // SAFETY: valid port id; info is a valid out struct.
        check(self.id, "rte_eth_dev_info_get", unsafe {
            dpdk_sys::rte_eth_dev_info_get(self.id, &mut info)
        })?;
        Ok(info)
    }

    /// Driver name (e.g. "net_tap").
    pub fn driver(&self) -> String {
        match self.dev_info() {
            // SAFETY: driver_name is a static string of the driver.
            Ok(info) => unsafe { cstr_to_string(info.driver_name) },
            Err(_) => String::new(),
        }
    }

    /// Most rx queues the device offers.
    pub fn max_rx_queues(&self) -> Result<u16, DpdkError> {
        Ok(self.dev_info()?.max_rx_queues)
    }

    /// Configures queues (RSS with a symmetric key where supported), sets them up on `pool`, enables
    /// promiscuous mode and starts the port. Returns one rx and one tx handle per queue.
    pub fn configure(
        &mut self,
        conf: &PortConfig,
        pool: &Mempool,
    ) -> Result<(Vec<RxQueue>, Vec<TxQueue>), DpdkError> {
        let info = self.dev_info()?;
        if conf.rx_queues > info.max_rx_queues || conf.tx_queues > info.max_tx_queues {
            return Err(DpdkError::Port {
                port: self.id,
                op: "queue count",
                errno: libc::EINVAL,
                text: format!(
                    "{} rx / {} tx queues asked, device {} offers {} / {} (one queue per worker)",
                    conf.rx_queues,
                    conf.tx_queues,
                    self.name,
                    info.max_rx_queues,
                    info.max_tx_queues
                ),
            });
        }
        let mut eth_conf = dpdk_sys::rte_eth_conf::default();
        // SAFETY: pure functions returning constants.
        let (wanted_hf, rss_hash_offload, fast_free) = unsafe {
            (
                dpdk_sys::shim_rss_hf_ip_tcp_udp(),
                dpdk_sys::shim_rx_offload_rss_hash(),
                dpdk_sys::shim_tx_offload_mbuf_fast_free(),
            )
        };
        let rss_hf = wanted_hf & info.flow_type_rss_offloads;
        let mut key = [0u8; RSS_KEY_MAX];
        let key_len = match info.hash_key_size as usize {
            0 => 40,
            n => n.min(RSS_KEY_MAX),
        };
        for (i, b) in key[..key_len].iter_mut().enumerate() {
            *b = SYMMETRIC_RSS_PATTERN[i % 2];
        }
        self.rss_enabled = conf.rss && rss_hf != 0;
        if self.rss_enabled {
            eth_conf.rxmode.mq_mode = dpdk_sys::RTE_ETH_MQ_RX_RSS;
            eth_conf.rx_adv_conf.rss_conf.rss_key = key.as_mut_ptr();
            eth_conf.rx_adv_conf.rss_conf.rss_key_len = key_len as u8;
            eth_conf.rx_adv_conf.rss_conf.rss_hf = rss_hf;
            if info.rx_offload_capa & rss_hash_offload != 0 {
                eth_conf.rxmode.offloads |= rss_hash_offload;
            }
        }
        // One pool, never multi-segment, freed in bulk by the same pool: the driver may recycle fast.
        if info.tx_offload_capa & fast_free != 0 {
            eth_conf.txmode.offloads |= fast_free;
        }
        // SAFETY: valid port id; eth_conf and the key it points to live across the call (DPDK copies
        // the key during configure).
        check(self.id, "rte_eth_dev_configure", unsafe {
            dpdk_sys::rte_eth_dev_configure(self.id, conf.rx_queues, conf.tx_queues, &eth_conf)
        })?;
        let (mut rxd, mut txd) = (conf.rx_descriptors, conf.tx_descriptors);
        // SAFETY: valid port id and out pointers.
        check(self.id, "rte_eth_dev_adjust_nb_rx_tx_desc", unsafe {
            dpdk_sys::rte_eth_dev_adjust_nb_rx_tx_desc(self.id, &mut rxd, &mut txd)
        })?;
        // SAFETY: valid port id.
        let socket = unsafe { dpdk_sys::rte_eth_dev_socket_id(self.id) };
        let socket = if socket < 0 { 0 } else { socket as u32 };
        for q in 0..conf.rx_queues {
            // SAFETY: configured port, queue in range, pool valid for the port's life (the daemon
            // drops ports before the pool); null rx_conf means driver defaults.
            check(self.id, "rte_eth_rx_queue_setup", unsafe {
                dpdk_sys::rte_eth_rx_queue_setup(
                    self.id,
                    q,
                    rxd,
                    socket,
                    std::ptr::null(),
                    pool.as_ptr(),
                )
            })?;
        }
        let mut txconf = info.default_txconf;
        txconf.offloads = eth_conf.txmode.offloads;
        for q in 0..conf.tx_queues {
            // SAFETY: configured port, queue in range, txconf valid for the call.
            check(self.id, "rte_eth_tx_queue_setup", unsafe {
                dpdk_sys::rte_eth_tx_queue_setup(self.id, q, txd, socket, &txconf)
            })?;
        }
        // SAFETY: configured port with its queues set up.
        check(self.id, "rte_eth_dev_start", unsafe {
            dpdk_sys::rte_eth_dev_start(self.id)
        })?;
        self.started = true;
        if conf.promiscuous {
            // A virtual wire forwards frames addressed to anyone. Some PMDs do not support it
            // (-ENOTSUP); they pass everything anyway.
            // SAFETY: started port.
            unsafe { dpdk_sys::rte_eth_promiscuous_enable(self.id) };
        }
        self.rx_queues = conf.rx_queues;
        self.tx_queues = conf.tx_queues;
        let rx = (0..conf.rx_queues)
            .map(|q| RxQueue {
                port: self.id,
                queue: q,
                _not_sync: PhantomData,
            })
            .collect();
        let tx = (0..conf.tx_queues)
            .map(|q| TxQueue {
                port: self.id,
                queue: q,
                _not_sync: PhantomData,
            })
            .collect();
        Ok((rx, tx))
    }

    /// Link state without waiting.
    pub fn link(&self) -> LinkStatus {
        let mut link = dpdk_sys::rte_eth_link::default();
        // SAFETY: valid port id; link is a valid out struct.
        unsafe { dpdk_sys::rte_eth_link_get_nowait(self.id, &mut link) };
        LinkStatus {
            up: link.link_status() != 0,
            speed_mbps: link.link_speed,
            full_duplex: link.link_duplex() != 0,
        }
    }

    /// Basic counters.
    pub fn stats(&self) -> PortStats {
        let mut s = dpdk_sys::rte_eth_stats::default();
        // SAFETY: valid port id; s is a valid out struct.
        unsafe { dpdk_sys::rte_eth_stats_get(self.id, &mut s) };
        PortStats {
            rx_packets: s.ipackets,
            tx_packets: s.opackets,
            rx_bytes: s.ibytes,
            tx_bytes: s.obytes,
            rx_missed: s.imissed,
            rx_errors: s.ierrors,
            tx_errors: s.oerrors,
            rx_nombuf: s.rx_nombuf,
        }
    }

    /// Extended counters, by name (management path: allocates).
    pub fn xstats(&self) -> Vec<(String, u64)> {
        // SAFETY: null buffers ask for the count.
        let n = unsafe { dpdk_sys::rte_eth_xstats_get_names(self.id, std::ptr::null_mut(), 0) };
        if n <= 0 {
            return Vec::new();
        }
        let mut names = vec![dpdk_sys::rte_eth_xstat_name::default(); n as usize];
        let mut values = vec![dpdk_sys::rte_eth_xstat::default(); n as usize];
        // SAFETY: buffers hold n entries each.
        let got_names =
            unsafe { dpdk_sys::rte_eth_xstats_get_names(self.id, names.as_mut_ptr(), n as u32) };
        // SAFETY: as above.
        let got = unsafe { dpdk_sys::rte_eth_xstats_get(self.id, values.as_mut_ptr(), n as u32) };
        if got_names != n || got != n {
            return Vec::new();
        }
        values
            .iter()
            .map(|v| {
                let name = names
                    .get(v.id as usize)
                    // SAFETY: xstat names are NUL-terminated within their fixed buffer.
                    .map(|nm| unsafe { cstr_to_string(nm.name.as_ptr()) })
                    .unwrap_or_default();
                (name, v.value)
            })
            .collect()
    }

    /// MAC address.
    pub fn mac(&self) -> [u8; 6] {
        let mut addr = dpdk_sys::rte_ether_addr::default();
        // SAFETY: valid port id and out pointer.
        unsafe { dpdk_sys::rte_eth_macaddr_get(self.id, &mut addr) };
        addr.addr_bytes
    }

    /// Stops the port (workers must have stopped polling it).
    pub fn stop(&mut self) {
        if self.started {
            // SAFETY: valid started port; no lcore polls it any more (the daemon's contract).
            unsafe { dpdk_sys::rte_eth_dev_stop(self.id) };
            self.started = false;
        }
    }
}

impl Drop for Port {
    fn drop(&mut self) {
        self.stop();
        // SAFETY: stopped port; closing releases its queues (and a TAP port's kernel interface).
        unsafe { dpdk_sys::rte_eth_dev_close(self.id) };
    }
}

/// Receive side of one (port, queue). Exactly one lcore may poll a queue: the handle is `Send` but
/// not `Clone` or `Sync`, so ownership moves to the worker that polls it.
pub struct RxQueue {
    port: u16,
    queue: u16,
    _not_sync: PhantomData<std::cell::Cell<()>>,
}

/// Transmit side of one (port, queue); single owner like [`RxQueue`].
pub struct TxQueue {
    port: u16,
    queue: u16,
    _not_sync: PhantomData<std::cell::Cell<()>>,
}

impl RxQueue {
    pub fn port(&self) -> u16 {
        self.port
    }
    pub fn queue(&self) -> u16 {
        self.queue
    }

    /// Receives at most `max` packets into the free places of `burst`; returns how many arrived.
    #[inline(always)]
    pub fn rx_burst(&mut self, burst: &mut Burst, max: usize) -> usize {
        let (ptr, room) = burst.spare_ptr();
        let room = room.min(max as u16);
        // SAFETY: ptr has room for `room` mbuf pointers; this handle is the queue's only poller.
        let n =
            unsafe { dpdk_sys::shim_rte_eth_rx_burst(self.port, self.queue, ptr, room) } as usize;
        burst.commit(n);
        n
    }
}

impl TxQueue {
    pub fn port(&self) -> u16 {
        self.port
    }
    pub fn queue(&self) -> u16 {
        self.queue
    }

    /// Transmits the whole burst. Packets the NIC did not take are freed (as dpdk-testpmd does
    /// without retry). Returns (sent, dropped); the burst is empty afterwards.
    #[inline(always)]
    pub fn tx_burst(&mut self, burst: &mut Burst) -> (usize, usize) {
        let len = burst.len();
        if len == 0 {
            return (0, 0);
        }
        // SAFETY: the first len pointers are valid mbufs; the driver takes ownership of those it
        // sends; this handle is the queue's only user.
        let sent = unsafe {
            dpdk_sys::shim_rte_eth_tx_burst(self.port, self.queue, burst.as_mut_ptr(), len as u16)
        } as usize;
        burst.consume_front(sent);
        let dropped = burst.len();
        burst.clear();
        (sent, dropped)
    }
}
