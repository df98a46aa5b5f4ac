//! The management thread's socket: `synwallctl` talks to the dataplane here. Runs on the main lcore,
//! never on a worker; it may allocate and block briefly.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use synwall_engine::api::{Request, Response, MAX_REQUEST_BYTES};

use crate::worker::WorkerStats;

/// Static facts about a port, for status output.
pub struct PortView {
    pub name: String,
    pub device: String,
    pub zone: String,
    pub driver: String,
    pub rss: bool,
}

/// What the management thread reports on.
pub struct Status {
    pub started: Instant,
    pub config_path: String,
    pub config_text: String,
    pub dpdk_version: String,
    pub workers: Vec<(u32, Arc<WorkerStats>)>,
    pub ports: Vec<PortView>,
}

fn sum(workers: &[(u32, Arc<WorkerStats>)], f: impl Fn(&WorkerStats) -> u64) -> u64 {
    workers.iter().map(|(_, w)| f(w)).sum()
}

impl Status {
    /// (received, transmitted, tx drops) over all ports.
    pub fn totals(&self, _ports: &[dpdk::Port]) -> (u64, u64, u64) {
        let mut t = (0, 0, 0);
        for i in 0..self.ports.len() {
            t.0 += sum(&self.workers, |w| w.port_rx_packets[i].load(Relaxed));
            t.1 += sum(&self.workers, |w| w.port_tx_packets[i].load(Relaxed));
            t.2 += sum(&self.workers, |w| w.port_tx_drops[i].load(Relaxed));
        }
        t
    }

    fn system_status(&self, ports: &[dpdk::Port]) -> serde_json::Value {
        let port_list: Vec<_> = self
            .ports
            .iter()
            .zip(ports)
            .enumerate()
            .map(|(i, (v, p))| {
                let link = p.link();
                let nic = p.stats();
                json!({
                    "name": v.name, "device": v.device, "zone": v.zone, "driver": v.driver,
                    "rss": v.rss, "link_up": link.up, "speed_mbps": link.speed_mbps,
                    "rx_packets": sum(&self.workers, |w| w.port_rx_packets[i].load(Relaxed)),
                    "rx_bytes": nic.rx_bytes,
                    "tx_packets": sum(&self.workers, |w| w.port_tx_packets[i].load(Relaxed)),
                    "tx_bytes": nic.tx_bytes,
                    "tx_drops": sum(&self.workers, |w| w.port_tx_drops[i].load(Relaxed)),
                    "nic_rx_missed": nic.rx_missed, "nic_rx_nombuf": nic.rx_nombuf,
                    "nic_rx_errors": nic.rx_errors, "nic_tx_errors": nic.tx_errors,
                })
            })
            .collect();
        let workers: Vec<_> = self
            .workers
            .iter()
            .enumerate()
            .map(|(i, (lcore, w))| json!({"worker": i, "lcore": lcore, "packets": w.packets.load(Relaxed)}))
            .collect();
        json!({
            "state": "running",
            "version": env!("CARGO_PKG_VERSION"),
            "dpdk": self.dpdk_version,
            "pid": std::process::id(),
            "uptime_seconds": self.started.elapsed().as_secs(),
            "config": self.config_path,
            "workers": workers,
            "ports": port_list,
        })
    }
}

/// The bound management socket.
pub struct Management {
    listener: UnixListener,
    path: PathBuf,
}

impl Management {
    /// Binds the socket (owner-only permissions), replacing a stale one left by a crash.
    pub fn bind(path: &Path) -> Result<Self, String> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("control.socket: cannot create {}: {e}", dir.display()))?;
        }
        if UnixStream::connect(path).is_ok() {
            return Err(format!(
                "control.socket {} is in use: another synwall runs with this config",
                path.display()
            ));
        }
        let _ = std::fs::remove_file(path);
        let listener = UnixListener::bind(path)
            .map_err(|e| format!("control.socket: cannot bind {}: {e}", path.display()))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("control.socket: cannot set permissions: {e}"))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("control.socket: {e}"))?;
        Ok(Management {
            listener,
            path: path.to_path_buf(),
        })
    }

    /// Answers requests until `terminate` is set.
    pub fn serve(
        &mut self,
        status: &Status,
        ports: &[dpdk::Port],
        terminate: &AtomicBool,
        reload: &AtomicBool,
    ) {
        while !terminate.load(Relaxed) {
            if reload.swap(false, Relaxed) {
                eprintln!("synwall: SIGHUP: reload is not implemented yet; running config kept");
            }
            match self.listener.accept() {
                Ok((stream, _)) => {
                    let _ = handle(stream, status, ports);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => {
                    eprintln!("synwall: control socket {}: {e}", self.path.display());
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }
}

fn handle(stream: UnixStream, status: &Status, ports: &[dpdk::Port]) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.set_write_timeout(Some(Duration::from_secs(2)))?;
    let mut line = String::new();
    let mut reader = BufReader::new((&stream).take(MAX_REQUEST_BYTES as u64 + 1));
    let response = match reader.read_line(&mut line) {
        Ok(_) if line.len() > MAX_REQUEST_BYTES => Response::error("request too large"),
        Ok(_) => match serde_json::from_str::<Request>(line.trim()) {
            Ok(req) => dispatch(&req, status, ports),
            Err(e) => Response::error(format!("bad request: {e}")),
        },
        Err(e) => Response::error(format!("bad request: {e}")),
    };
    let mut out = serde_json::to_vec(&response).unwrap_or_default();
    out.push(b'\n');
    (&stream).write_all(&out)
}

fn dispatch(req: &Request, status: &Status, ports: &[dpdk::Port]) -> Response {
    let words: Vec<&str> = req.command.split_whitespace().collect();
    match words.as_slice() {
        ["show", "system", "status"] => Response::ok(status.system_status(ports)),
        ["show", "running", "config"] => {
            Response::ok(json!({"path": status.config_path, "text": status.config_text}))
        }
        ["show", "interface", "all"] | ["show", "port", "all"] => Response::ok(
            ports
                .iter()
                .map(|p| json!({"name": p.name(), "xstats": p.xstats()}))
                .collect(),
        ),
        _ => Response::error(format!("unknown command: {:?}", req.command)),
    }
}
