//! Start-up, the management loop on the main lcore, and clean shutdown.

use std::os::unix::fs::MetadataExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use dpdk::{Eal, Mempool, Port, PortConfig};

use crossbeam::queue::ArrayQueue;
use synwall_engine::config::DataplaneMode;
use synwall_engine::pipeline::{Engine, EngineConfig, Verdict};
use synwall_engine::policy::Policy;
use synwall_engine::records::{NameTable, RecordRing};
use synwall_engine::stats::{
    segment_words, CounterBlock, CounterMemory, SegmentInfo, SegmentReader, SegmentWriter,
    WorkerBlock, MAX_PORTS, STATE_STOPPED,
};

use crate::clock::Clock;
use crate::mgmt::{self, Mgmt, PortView};
use crate::plan::Plan;
use crate::worker::{Handoff, Worker};

/// DPDK port ids are below RTE_MAX_ETHPORTS (32 in Debian's build); the port-index map has room
/// for twice that.
const MAX_DPDK_PORT_ID: usize = 64;
/// Records a worker may have waiting for the log writer; more are counted as dropped.
const RECORD_RING: usize = 16_384;
/// Bursts a worker's hand-off inbox holds (of up to `BURST_MAX` packets each).
const HANDOFF_RING: usize = 128;
/// Drivers whose RSS is Toeplitz over the key we give, so that a symmetric key sends both
/// directions of a flow to one queue. Others (TAP's kernel queues, ...) get software hand-off.
const SYMMETRIC_RSS_DRIVERS: &[&str] = &[
    "net_ixgbe",
    "net_i40e",
    "net_ice",
    "net_iavf",
    "mlx5_pci",
    "net_mlx5",
];

const RX_DESCRIPTORS: u16 = 1024;
const TX_DESCRIPTORS: u16 = 1024;
const MEMPOOL_CACHE: u32 = 250;

/// Where Debian's DPDK keeps its drivers (loaded by the EAL when linked dynamically).
const PMD_DIR: &str = "/usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0";

/// Checks what users most often get wrong, before DPDK prints pages of logs about it.
fn preflight(plan: &Plan, eal_args: &[String]) -> Result<(), String> {
    let euid = std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(0);
    if euid != 0 {
        return Err(
            "must run as root (DPDK maps memory, TAP ports need /dev/net/tun): run with sudo"
                .into(),
        );
    }
    let uses_tap = eal_args.iter().any(|a| a.contains("net_tap"));
    if uses_tap && !std::path::Path::new("/dev/net/tun").exists() {
        return Err(
            "net_tap ports need /dev/net/tun: load the tun module (modprobe tun) or, in a \
                    container, pass the device in (--device /dev/net/tun)"
                .into(),
        );
    }
    let uses_vdev = eal_args.iter().any(|a| a.contains("--vdev"));
    if uses_vdev && !cfg!(feature = "static") && !std::path::Path::new(PMD_DIR).exists() {
        return Err(format!(
            "DPDK drivers not found in {PMD_DIR}: install DPDK (apt-get install dpdk libdpdk-dev)"
        ));
    }
    if plan.ports.len() > MAX_PORTS {
        return Err(format!("dataplane.ports: at most {MAX_PORTS} ports"));
    }
    let queues = plan.workers.len() as u64;
    let need = plan.ports.len() as u64 * queues * (RX_DESCRIPTORS as u64 + TX_DESCRIPTORS as u64)
        + (plan.workers.len() as u64 + 1) * (MEMPOOL_CACHE as u64 + 2 * dpdk::BURST_MAX as u64);
    if (plan.mbufs as u64) < need {
        return Err(format!(
            "dataplane.mbufs is {} but {} ports x {} queues x {} descriptors (plus per-lcore caches) \
             need at least {need}: raise dataplane.mbufs (and -m with --no-huge)",
            plan.mbufs,
            plan.ports.len(),
            queues,
            RX_DESCRIPTORS + TX_DESCRIPTORS
        ));
    }
    Ok(())
}

/// EAL arguments: the config's, the command line's, and a core list naming the main lcore and the
/// workers when neither gave one.
fn eal_arguments(plan: &Plan, extra: &[String]) -> Vec<String> {
    let mut args: Vec<String> = plan.eal.iter().chain(extra).cloned().collect();
    let has_cores = args.iter().any(|a| {
        a == "-l" || a == "-c" || a.starts_with("--lcores") || a.starts_with("-l") && a.len() > 2
    });
    if !has_cores {
        let main = (0..).find(|l| !plan.workers.contains(l)).unwrap_or(0);
        let mut cores = vec![main];
        cores.extend(&plan.workers);
        let list: Vec<String> = cores.iter().map(u32::to_string).collect();
        args.push("-l".into());
        args.push(list.join(","));
    }
    args
}

/// Runs the dataplane until SIGINT/SIGTERM.
pub fn run(plan: Plan, extra_eal: &[String]) -> Result<(), String> {
    let eal_args = eal_arguments(&plan, extra_eal);
    preflight(&plan, &eal_args)?;

    let terminate = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, Arc::clone(&terminate))
            .map_err(|e| format!("cannot install signal handler: {e}"))?;
    }
    let reload = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::clone(&reload))
        .map_err(|e| format!("cannot install signal handler: {e}"))?;

    if let Ok(listener_probe) = std::os::unix::net::UnixStream::connect(&plan.socket) {
        drop(listener_probe);
        return Err(format!(
            "control.socket {} is in use: another synwall runs with this config",
            plan.socket.display()
        ));
    }
    let eal = Eal::init(&eal_args).map_err(|e| e.to_string())?;
    for &w in &plan.workers {
        if !eal.lcore_enabled(w) || w == eal.main_lcore() {
            return Err(format!(
                "dataplane.workers: lcore {w} is not a worker lcore of the EAL (main lcore {}, core \
                 list from -l/-c in dataplane.eal)",
                eal.main_lcore()
            ));
        }
    }
    let pool = Arc::new(
        Mempool::new(
            &eal,
            "synwall_mbufs",
            plan.mbufs,
            MEMPOOL_CACHE,
            eal.socket_id() as i32,
        )
        .map_err(|e| e.to_string())?,
    );

    let nworkers = plan.workers.len() as u16;
    let mut ports = Vec::new();
    let mut rx_queues = Vec::new();
    let mut tx_queues = Vec::new();
    for p in &plan.ports {
        let mut port = Port::by_name(&eal, &p.device)
            .map_err(|e| format!("dataplane.ports {}: {e}", p.name))?;
        let conf = PortConfig {
            rx_queues: nworkers,
            tx_queues: nworkers,
            rx_descriptors: RX_DESCRIPTORS,
            tx_descriptors: TX_DESCRIPTORS,
            rss: true,
            promiscuous: true,
        };
        let (rx, tx) = port
            .configure(&conf, &pool)
            .map_err(|e| format!("dataplane.ports {} ({}): {e}", p.name, p.device))?;
        rx_queues.push(rx.into_iter().map(Some).collect::<Vec<_>>());
        tx_queues.push(tx.into_iter().map(Some).collect::<Vec<_>>());
        ports.push(port);
    }

    // The stats segment: one block per worker, formatted before any worker runs.
    let nworkers_usize = plan.workers.len();
    let segment = Arc::new(ShmCounters(
        synwall_shm::Segment::create(&plan.config.control.stats, segment_words(nworkers_usize))
            .map_err(|e| format!("control.stats {}: {e}", plan.config.control.stats.display()))?,
    ));
    let epoch_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let policy = Arc::new(
        Policy::compile(&plan.config)
            .map(|p| p.with_app_default(synwall_engine::appid::is_default_port))
            .map_err(|e| format!("policy: {e}"))?,
    );
    let per_worker =
        EngineConfig::from_config(&plan.config, Arc::clone(&policy), 0, nworkers_usize).capacity;
    let info = SegmentInfo {
        epoch_ns,
        pid: std::process::id() as u64,
        session_capacity: per_worker as u64 * nworkers_usize as u64,
        port_names: plan.ports.iter().map(|p| p.name.clone()).collect(),
        worker_lcores: plan.workers.clone(),
        zone_names: policy.zones().to_vec(),
    };
    let writer =
        SegmentWriter::format(CounterMemory::words(&*segment), &info).map_err(|e| e.to_string())?;
    let reader = SegmentReader::open(CounterMemory::words(&*segment)).map_err(|e| e.to_string())?;

    let names = Arc::new(NameTable {
        ports: plan.ports.iter().map(|p| p.name.clone()).collect(),
        zones: plan.ports.iter().map(|p| p.zone.clone()).collect(),
        rules: plan.config.rules.iter().map(|r| r.name.clone()).collect(),
        apps: synwall_engine::app::names(),
    });
    // Hand-off between workers, unless every port spreads flows with our symmetric RSS key.
    let trusted_rss = ports
        .iter()
        .all(|p| p.rss_enabled && SYMMETRIC_RSS_DRIVERS.contains(&p.driver().as_str()));
    let passthrough = plan.config.dataplane.mode == DataplaneMode::Passthrough;
    let handoff = (nworkers_usize > 1 && !trusted_rss && !passthrough).then(|| {
        Arc::new(
            (0..nworkers_usize)
                .map(|_| ArrayQueue::new(HANDOFF_RING))
                .collect::<Vec<_>>(),
        )
    });
    let mut port_index = vec![0u8; MAX_DPDK_PORT_ID];
    for (i, p) in ports.iter().enumerate() {
        if let Some(slot) = port_index.get_mut(p.id() as usize) {
            *slot = i as u8;
        }
    }

    let stop = Arc::new(AtomicBool::new(false));
    let peers: Vec<Option<usize>> = plan.ports.iter().map(|p| p.peer).collect();
    let clock = Clock::new(dpdk::tsc_hz());
    let mut handles = Vec::new();
    let mut rings = Vec::new();
    let mut requests = Vec::new();
    for (wi, &lcore) in plan.workers.iter().enumerate() {
        let counters = CounterBlock::new(segment.clone(), wi);
        let ring = Arc::new(RecordRing::new(RECORD_RING));
        rings.push(Arc::clone(&ring));
        let (req_tx, req_rx) = crossbeam::channel::bounded(4);
        requests.push(req_tx);
        let mut engine_cfg =
            EngineConfig::from_config(&plan.config, Arc::clone(&policy), wi as u8, nworkers_usize);
        if handoff.is_some() {
            engine_cfg.hand_off_workers = nworkers_usize as u8;
        }
        let engine = Engine::new(engine_cfg, counters.clone(), ring, clock.now());
        let worker = Worker {
            index: wi,
            rx: rx_queues
                .iter_mut()
                .enumerate()
                .map(|(pi, qs)| (qs[wi].take().expect("queue per worker"), pi as u8))
                .collect(),
            tx: tx_queues
                .iter_mut()
                .map(|qs| qs[wi].take().expect("queue per worker"))
                .collect(),
            peer: peers.clone(),
            port_index: port_index.clone(),
            engine,
            counters,
            stop: Arc::clone(&stop),
            burst: plan.burst,
            clock,
            handoff: handoff.as_ref().map(|h| Handoff {
                inboxes: Arc::clone(h),
            }),
            requests: req_rx,
            names: Arc::clone(&names),
            passthrough: plan.config.dataplane.mode == DataplaneMode::Passthrough,
            pool: Arc::clone(&pool),
            verdicts: [Verdict::Forward(synwall_engine::verdict::NO_PORT); dpdk::BURST_MAX],
            walk: None,
        };
        match eal.launch(lcore, move || worker.run()) {
            Ok(h) => handles.push(h),
            Err(e) => {
                stop.store(true, Ordering::SeqCst);
                for h in handles {
                    h.wait();
                }
                return Err(e.to_string());
            }
        }
    }

    let mut mgmt = Mgmt {
        started: Instant::now(),
        config_path: plan.config_path.display().to_string(),
        config_text: plan.config_text.clone(),
        dpdk_version: dpdk::version(),
        ports: plan
            .ports
            .iter()
            .zip(&ports)
            .map(|(p, port)| PortView {
                name: p.name.clone(),
                device: p.device.clone(),
                zone: p.zone.clone(),
                driver: port.driver(),
                rss: port.rss_enabled,
            })
            .collect(),
        dpdk_ports: &ports,
        worker_lcores: plan.workers.clone(),
        segment: writer,
        reader,
        rings,
        requests,
        names,
        traffic_log: plan
            .config
            .logging
            .as_ref()
            .and_then(|l| l.traffic.as_ref())
            .map(|t| t.path.clone()),
        session_capacity: per_worker as u64 * nworkers_usize as u64,
        running: plan.config.clone(),
    };
    if plan.config.dataplane.mode == DataplaneMode::Passthrough {
        eprintln!("synwall: WARNING: dataplane.mode is passthrough: no sessions, no policy; everything is forwarded");
    }
    let result = mgmt::bind(&plan.socket).map(|listener| {
        println!(
            "synwall: ready: {} ports, {} workers (lcores {:?}){}, {} sessions, socket {}",
            ports.len(),
            plan.workers.len(),
            plan.workers,
            if handoff.is_some() {
                ", software flow hand-off"
            } else {
                ""
            },
            per_worker as u64 * nworkers_usize as u64,
            plan.socket.display()
        );
        mgmt.serve(&listener, &terminate, &reload);
    });

    // Shutdown order: workers stop polling, the last records are written, ports stop and close
    // (TAP interfaces vanish), then the pool and the EAL go.
    stop.store(true, Ordering::SeqCst);
    let mut failed = 0;
    for h in handles {
        if h.wait() != 0 {
            failed += 1;
        }
    }
    mgmt.finish();
    mgmt.segment.set_state(STATE_STOPPED);
    let r = &mgmt.reader;
    let (rx, tx, drops) = (0..plan.ports.len()).fold((0, 0, 0), |acc, i| {
        (
            acc.0 + r.sum(WorkerBlock::PORT_RX + i),
            acc.1 + r.sum(WorkerBlock::PORT_TX + i),
            acc.2 + r.sum(WorkerBlock::PORT_TX_DROPS + i),
        )
    });
    let created = r.sum(WorkerBlock::SESSIONS_CREATED);
    drop(mgmt);
    // Packets still in the inboxes go back to the pool while it exists.
    drop(handoff);
    drop(ports);
    drop(pool);
    drop(eal);
    let _ = std::fs::remove_file(&plan.socket);
    println!(
        "synwall: stopped: {rx} packets received, {tx} transmitted, {drops} tx drops, {created} sessions created"
    );
    result?;
    if failed > 0 {
        return Err(format!("{failed} worker(s) failed"));
    }
    Ok(())
}

/// The stats segment's shared mapping as the engine's counter memory.
struct ShmCounters(synwall_shm::Segment);

impl CounterMemory for ShmCounters {
    fn words(&self) -> &[std::sync::atomic::AtomicU64] {
        self.0.words()
    }
}
