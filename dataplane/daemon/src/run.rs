//! Start-up, the management loop on the main lcore, and clean shutdown.

use std::os::unix::fs::MetadataExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use dpdk::{Eal, Mempool, Port, PortConfig};

use crate::mgmt::{Management, PortView, Status};
use crate::plan::Plan;
use crate::worker::{Worker, WorkerStats, MAX_PORTS};

const RX_DESCRIPTORS: u16 = 1024;
const TX_DESCRIPTORS: u16 = 1024;
const MEMPOOL_CACHE: u32 = 256;

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
    if plan.workers.is_empty() {
        return Err("dataplane.workers: name at least one lcore".into());
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
    let pool = Mempool::new(
        &eal,
        "synwall_mbufs",
        plan.mbufs,
        MEMPOOL_CACHE,
        eal.socket_id() as i32,
    )
    .map_err(|e| e.to_string())?;

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

    let stop = Arc::new(AtomicBool::new(false));
    let peers: Vec<Option<usize>> = plan.ports.iter().map(|p| p.peer).collect();
    let mut worker_stats = Vec::new();
    let mut handles = Vec::new();
    for (wi, &lcore) in plan.workers.iter().enumerate() {
        let stats = Arc::new(WorkerStats::default());
        worker_stats.push((lcore, Arc::clone(&stats)));
        let worker = Worker {
            index: wi,
            lcore,
            rx: rx_queues
                .iter_mut()
                .enumerate()
                .map(|(pi, qs)| (qs[wi].take().expect("queue per worker"), pi))
                .collect(),
            tx: tx_queues
                .iter_mut()
                .map(|qs| qs[wi].take().expect("queue per worker"))
                .collect(),
            peer: peers.clone(),
            stats,
            stop: Arc::clone(&stop),
            burst: plan.burst,
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

    let status = Status {
        started: Instant::now(),
        config_path: plan.config_path.display().to_string(),
        config_text: plan.config_text.clone(),
        dpdk_version: dpdk::version(),
        workers: worker_stats,
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
    };
    let result = Management::bind(&plan.socket).and_then(|mut mgmt| {
        println!(
            "synwall: ready: {} ports, {} workers (lcores {:?}), socket {}",
            ports.len(),
            plan.workers.len(),
            plan.workers,
            plan.socket.display()
        );
        mgmt.serve(&status, &ports, &terminate, &reload);
        Ok(())
    });

    // Shutdown order: workers stop polling, ports stop and close (TAP interfaces vanish), then the
    // pool and the EAL go.
    stop.store(true, Ordering::SeqCst);
    let mut failed = 0;
    for h in handles {
        if h.wait() != 0 {
            failed += 1;
        }
    }
    let totals = status.totals(&ports);
    drop(ports);
    drop(pool);
    drop(eal);
    let _ = std::fs::remove_file(&plan.socket);
    println!(
        "synwall: stopped: {} packets received, {} transmitted, {} tx drops",
        totals.0, totals.1, totals.2
    );
    result?;
    if failed > 0 {
        return Err(format!("{failed} worker(s) failed"));
    }
    Ok(())
}
