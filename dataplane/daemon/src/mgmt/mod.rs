//! The management thread (main lcore): the control socket `synwallctl` talks to, the traffic-log
//! writer draining the workers' record rings, and the NIC counters copied into the stats
//! segment. It never runs on a worker; it may allocate and block briefly.

use std::io::Write;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam::channel::{bounded, Sender};
use serde_json::json;
use synwall_engine::api::{Request, Response, SessionFilter, SessionView};
use synwall_engine::config::Config;
use synwall_engine::pipeline::split_session_id;
use synwall_engine::policy::Policy;
use synwall_engine::protect::{summaries, FloodSummary, ProtectionConfig};
use synwall_engine::reasons::{DropReason, EndReason, Flood};
use synwall_engine::records::{flag_letters, NameTable, RecordRing};
use synwall_engine::stats::{
    FloodWord, NicCounter, SegmentReader, SegmentWriter, WorkerBlock, STATE_RUNNING,
};

use crate::worker::WorkerRequest;

mod log;
mod show;
mod socket;

use log::LogWriter;
pub use socket::bind;
use socket::{reply, Arrival, Pending, MAX_PENDING, REQUEST_DEADLINE};

/// Static facts about a port, for status output.
pub struct PortView {
    pub name: String,
    pub device: String,
    pub zone: String,
    pub driver: String,
    pub rss: bool,
}

/// Everything the management thread works with.
/// Records written per worker ring per pass of the management loop.
const DRAIN_BATCH: usize = 4096;
/// How long a worker may take to answer a request it answers at once.
const QUICK_ANSWER: Duration = Duration::from_secs(3);
/// How long workers may take to walk their tables (a slice a loop; a million sessions take
/// a second or two on a busy worker).
const WALK_ANSWER: Duration = Duration::from_secs(30);
/// Views reserved for a worker's listing before it starts (`show session all` asks for at
/// most 10,000); a larger answer grows, a slice at a time.
const LIST_RESERVE: usize = 10_000;

pub struct Mgmt<'a> {
    pub started: Instant,
    pub config_path: String,
    pub config_text: String,
    pub dpdk_version: String,
    pub ports: Vec<PortView>,
    pub dpdk_ports: &'a [dpdk::Port],
    pub worker_lcores: Vec<u32>,
    pub segment: SegmentWriter<'a>,
    pub reader: SegmentReader<'a>,
    pub rings: Vec<Arc<RecordRing>>,
    pub requests: Vec<Sender<WorkerRequest>>,
    pub names: Arc<NameTable>,
    pub traffic_log: Option<PathBuf>,
    pub session_capacity: u64,
    /// The config running now (reload compares the dataplane section against it).
    pub running: Config,
}

fn unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

impl<'a> Mgmt<'a> {
    /// Serves until `terminate` is set; `rotate` (SIGHUP) reopens the traffic log.
    pub fn serve(&mut self, listener: &UnixListener, terminate: &AtomicBool, rotate: &AtomicBool) {
        let mut log = LogWriter::open(self.traffic_log.clone(), self.syslog_target());
        let mut last_nic = Instant::now() - Duration::from_secs(1);
        let mut pending: Vec<Pending> = Vec::with_capacity(MAX_PENDING);
        self.segment.set_state(STATE_RUNNING);
        while !terminate.load(Relaxed) {
            if rotate.swap(false, Relaxed) {
                // SIGHUP: reopen the traffic log (logrotate) and reload the config.
                log.reopen();
                let r = self.reload();
                match (r.ok, r.error) {
                    (true, _) => eprintln!("synwall: SIGHUP: config reloaded: {}", r.data),
                    (false, e) => eprintln!("synwall: SIGHUP: {}", e.unwrap_or_default()),
                }
            }
            let drained = self.drain_records(&mut log, DRAIN_BATCH);
            if last_nic.elapsed() >= Duration::from_millis(100) {
                self.copy_nic_counters();
                self.segment.set_heartbeat(unix_ns());
                last_nic = Instant::now();
            }
            let served = self.accept_all(listener, &mut pending) + self.serve_pending(&mut pending);
            if drained == 0 && served == 0 {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        // Workers still run here; `finish` drains the rest once they have stopped.
        self.drain_records(&mut log, DRAIN_BATCH);
        self.copy_nic_counters();
    }

    /// Final drain after the workers stopped.
    pub fn finish(&mut self) {
        let mut log = LogWriter::open(self.traffic_log.clone(), self.syslog_target());
        self.drain_records(&mut log, usize::MAX);
        self.copy_nic_counters();
    }

    fn syslog_target(&self) -> Option<&str> {
        self.running
            .logging
            .as_ref()
            .and_then(|l| l.syslog.as_ref())
            .map(|s| s.target.as_str())
    }

    /// Writes out at most `limit` records from each worker's ring. Bounded so that a worker
    /// ending sessions faster than they can be written (millions a second) cannot hold the
    /// management loop: the socket and signals are still served, and the ring, once full,
    /// counts the records it has to drop.
    fn drain_records(&mut self, log: &mut LogWriter, limit: usize) -> usize {
        let mut line = String::new();
        let mut n = 0;
        let logging = log.out.is_some() || log.syslog.is_some();
        for ring in &self.rings {
            let mut taken = 0;
            while taken < limit {
                let Some(r) = ring.pop() else { break };
                taken += 1;
                if !logging {
                    // Nowhere to write: the record only counts.
                    n += 1;
                    continue;
                }
                line.clear();
                r.write_json_line(&self.names, &mut line);
                if let Some(out) = log.out.as_mut() {
                    if out.write_all(line.as_bytes()).is_err() {
                        self.segment.add_records_dropped(1);
                        continue;
                    }
                }
                if !log.send_syslog(&line, &synwall_engine::records::rfc3339(r.time_ns)) {
                    self.segment.add_records_dropped(1);
                }
                n += 1;
            }
        }
        if n > 0 {
            if let Some(out) = log.out.as_mut() {
                let _ = out.flush();
            }
            self.segment.add_records_written(n as u64);
        }
        n
    }

    fn copy_nic_counters(&self) {
        for (i, p) in self.dpdk_ports.iter().enumerate() {
            let s = p.stats();
            self.segment.set_nic(i, NicCounter::RxPackets, s.rx_packets);
            self.segment.set_nic(i, NicCounter::RxBytes, s.rx_bytes);
            self.segment.set_nic(i, NicCounter::TxPackets, s.tx_packets);
            self.segment.set_nic(i, NicCounter::TxBytes, s.tx_bytes);
            self.segment.set_nic(i, NicCounter::RxMissed, s.rx_missed);
            self.segment.set_nic(i, NicCounter::RxErrors, s.rx_errors);
            self.segment.set_nic(i, NicCounter::TxErrors, s.tx_errors);
            self.segment.set_nic(i, NicCounter::RxNoMbuf, s.rx_nombuf);
        }
    }

    /// Takes the waiting connections, a bounded number per turn (a flood of connections must
    /// not keep the loop from its other work); returns how many.
    fn accept_all(&mut self, listener: &UnixListener, pending: &mut Vec<Pending>) -> usize {
        let mut n = 0;
        while n < 2 * MAX_PENDING {
            match listener.accept() {
                Ok((stream, _)) => {
                    n += 1;
                    if pending.len() >= MAX_PENDING {
                        reply(
                            &stream,
                            &Response::error(
                                "busy: too many control connections at once, try again",
                            ),
                        );
                    } else if stream.set_nonblocking(true).is_ok() {
                        pending.push(Pending {
                            stream,
                            buf: Vec::new(),
                            deadline: Instant::now() + REQUEST_DEADLINE,
                        });
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => {
                    // Out of file descriptors, say: let the loop go on and try again later.
                    std::thread::sleep(Duration::from_millis(100));
                    return n;
                }
            }
        }
        n
    }

    /// Answers every pending connection whose request has arrived (or failed); returns how many
    /// were finished.
    fn serve_pending(&mut self, pending: &mut Vec<Pending>) -> usize {
        let now = Instant::now();
        let mut done = 0;
        let mut i = 0;
        while i < pending.len() {
            let response = match pending[i].poll(now) {
                Arrival::Waiting => {
                    i += 1;
                    continue;
                }
                Arrival::Gone => None,
                Arrival::Refused(e) => Some(Response::error(e)),
                Arrival::Line(line) => Some(match serde_json::from_slice::<Request>(&line) {
                    Ok(req) => self.dispatch(&req),
                    Err(e) => Response::error(format!("bad request: {e}")),
                }),
            };
            let p = pending.swap_remove(i);
            if let Some(response) = response {
                reply(&p.stream, &response);
            }
            done += 1;
        }
        done
    }

    fn dispatch(&mut self, req: &Request) -> Response {
        let words: Vec<String> = req
            .command
            .split_whitespace()
            .map(str::to_string)
            .chain(req.args.iter().cloned())
            .collect();
        let w: Vec<&str> = words.iter().map(String::as_str).collect();
        match w.as_slice() {
            ["show", "system", "status"] => Response::ok(self.system_status()),
            ["show", "running", "config"] => {
                Response::ok(json!({"path": self.config_path, "text": self.config_text}))
            }
            ["show", "counter", "global", ..] => Response::ok(self.global_counters()),
            ["show", "zone-protection"] => Response::ok(self.zone_protection(None)),
            ["show", "zone-protection", "zone", zone] => Response::ok(self.zone_protection(Some(zone))),
            ["show", "session", "all", rest @ ..] => match filter_of(rest) {
                Ok(f) => self.sessions(f, 10_000).map(|v| Response::ok(json!(v))).unwrap_or_else(Response::error),
                Err(e) => Response::error(e),
            },
            ["show", "session", "id", id] => match id.parse::<u64>() {
                Ok(id) => self.show_id(id),
                Err(_) => Response::error(format!("bad session id {id:?}")),
            },
            ["clear", "session", "id", id] => match id.parse::<u64>() {
                Ok(id) => self.clear_id(id),
                Err(_) => Response::error(format!("bad session id {id:?}")),
            },
            ["clear", "session", "all", rest @ ..] => match filter_of(rest) {
                Ok(f) => self.clear(f),
                Err(e) => Response::error(e),
            },
            ["reload"] => self.reload(),
            ["show", "interface", "all"] => Response::ok(
                self.dpdk_ports.iter().map(|p| json!({"name": p.name(), "xstats": p.xstats()})).collect(),
            ),
            _ => Response::error(format!(
                "unknown command {:?}; commands: show system status, show session all [filter ...], \
                 show session id N, clear session all [filter ...], clear session id N, \
                 show counter global, show zone-protection [zone Z], show running config, \
                 show interface all, reload",
                req.command
            )),
        }
    }

    /// Reloads the config file: validated and compiled here, off the data path; on success each
    /// worker swaps the policy in between bursts and re-checks its sessions. A bad config is
    /// refused with its errors and the running one stays.
    fn reload(&mut self) -> Response {
        let text = match std::fs::read_to_string(&self.config_path) {
            Ok(t) => t,
            Err(e) => {
                return Response::error(format!(
                    "reload refused, running config kept: cannot read {}: {e}",
                    self.config_path
                ))
            }
        };
        let config = match Config::from_yaml_str(&text) {
            Ok(c) => c,
            Err(e) => {
                return Response::error(format!(
                    "reload refused, running config kept; {} error(s):\n{e}",
                    e.0.len()
                ))
            }
        };
        if config.dataplane != self.running.dataplane || config.control != self.running.control {
            return Response::error(
                "reload refused, running config kept: dataplane or control settings changed; restart \
                 synwall for those (rules, objects, logging reload live)",
            );
        }
        let policy = match Policy::compile(&config)
            .map(|p| p.with_app_default(synwall_engine::appid::is_default_port))
        {
            Ok(p) => Arc::new(p),
            Err(e) => return Response::error(format!("reload refused, running config kept: {e}")),
        };
        let port_zone: Vec<u8> = config
            .dataplane
            .ports
            .iter()
            .map(|p| policy.zone_id(&p.zone).unwrap_or(u8::MAX))
            .collect();
        let names = Arc::new(NameTable {
            rules: config.rules.iter().map(|r| r.name.clone()).collect(),
            ..(*self.names).clone()
        });
        let protection =
            ProtectionConfig::from_config(&config, policy.zones(), self.requests.len());
        let ended = self.ask(
            |reply| WorkerRequest::Reload {
                policy: Arc::clone(&policy),
                port_zone: port_zone.clone(),
                protection: protection.clone(),
                names: Arc::clone(&names),
                reply,
            },
            None,
            WALK_ANSWER,
        );
        match ended {
            Ok(n) => {
                self.names = names;
                self.config_text = text;
                self.traffic_log = config
                    .logging
                    .as_ref()
                    .and_then(|l| l.traffic.as_ref())
                    .map(|t| t.path.clone());
                self.running = config;
                Response::ok(
                    json!({"reloaded": true, "rules": policy.len(), "sessions_ended": n.iter().sum::<usize>()}),
                )
            }
            Err(e) => Response::error(format!("reload incomplete: {e}")),
        }
    }

    /// Sends a request to every worker (or only to `only`), then gathers their answers. Each
    /// worker answers between bursts; one that walks its table (`WorkerRequest::List`, `Clear`,
    /// `Reload`) does a bounded slice a loop, so its answer may take a while on a large table
    /// while its forwarding goes on: `wait` is how long to give them all.
    fn ask<T>(
        &self,
        make: impl Fn(Sender<T>) -> WorkerRequest,
        only: Option<usize>,
        wait: Duration,
    ) -> Result<Vec<T>, String> {
        let mut waiting = Vec::new();
        for (i, tx) in self.requests.iter().enumerate() {
            if only.is_some_and(|o| o != i) {
                continue;
            }
            let (reply_tx, reply_rx) = bounded(1);
            tx.try_send(make(reply_tx))
                .map_err(|_| format!("worker {i} is busy"))?;
            waiting.push((i, reply_rx));
        }
        let deadline = Instant::now() + wait;
        waiting
            .into_iter()
            .map(|(i, rx)| {
                rx.recv_deadline(deadline)
                    .map_err(|_| format!("worker {i} did not answer (stalled?)"))
            })
            .collect()
    }

    /// Asks one worker (or all) for something it answers at once (`show|clear session id`).
    fn ask_now<T>(
        &self,
        make: impl Fn(Sender<T>) -> WorkerRequest,
        only: Option<usize>,
    ) -> Result<Vec<T>, String> {
        self.ask(make, only, QUICK_ANSWER)
    }

    fn sessions(&self, filter: SessionFilter, limit: usize) -> Result<Vec<SessionView>, String> {
        let per_worker = self.ask(
            |reply| WorkerRequest::List {
                filter: filter.clone(),
                limit,
                found: Vec::with_capacity(limit.min(LIST_RESERVE)),
                reply,
            },
            None,
            WALK_ANSWER,
        )?;
        let mut all: Vec<SessionView> = per_worker.into_iter().flatten().collect();
        all.sort_by_key(|s| s.id);
        Ok(all)
    }

    fn clear(&self, filter: SessionFilter) -> Response {
        match self.ask(
            |reply| WorkerRequest::Clear {
                filter: filter.clone(),
                reply,
            },
            None,
            WALK_ANSWER,
        ) {
            Ok(n) => Response::ok(json!({"cleared": n.iter().sum::<usize>()})),
            Err(e) => Response::error(e),
        }
    }

    /// `show session id N`: only the worker the id names is asked, and it finds the session by
    /// its slot.
    fn show_id(&self, id: u64) -> Response {
        let (worker, _, _) = split_session_id(id);
        if worker as usize >= self.requests.len() {
            return Response::error(format!("session {id} not found"));
        }
        match self.ask_now(
            |reply| WorkerRequest::Show { id, reply },
            Some(worker as usize),
        ) {
            Ok(mut v) => match v.pop().flatten() {
                Some(s) => Response::ok(json!(s)),
                None => Response::error(format!("session {id} not found")),
            },
            Err(e) => Response::error(e),
        }
    }

    fn clear_id(&self, id: u64) -> Response {
        let (worker, _, _) = split_session_id(id);
        if worker as usize >= self.requests.len() {
            return Response::error(format!("session {id} not found"));
        }
        match self.ask_now(
            |reply| WorkerRequest::ClearId { id, reply },
            Some(worker as usize),
        ) {
            Ok(v) if v.first() == Some(&true) => Response::ok(json!({"cleared": 1})),
            Ok(_) => Response::error(format!("session {id} not found")),
            Err(e) => Response::error(e),
        }
    }
}

fn filter_of(words: &[&str]) -> Result<SessionFilter, String> {
    SessionFilter::parse(&words.iter().map(|w| w.to_string()).collect::<Vec<_>>())
}
