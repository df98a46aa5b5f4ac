//! The management thread (main lcore): the control socket `synwallctl` talks to, the traffic-log
//! writer draining the workers' record rings, and the NIC counters copied into the stats
//! segment. It never runs on a worker; it may allocate and block briefly.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam::channel::{bounded, Sender};
use serde_json::json;
use synwall_engine::api::{Request, Response, SessionFilter, SessionView, MAX_REQUEST_BYTES};
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

/// Appends JSON lines to the traffic log (reopened when logrotate moves it: SIGHUP) and sends
/// them as RFC 5424 syslog messages over UDP when `logging.syslog.target` is set.
struct LogWriter {
    path: Option<PathBuf>,
    out: Option<BufWriter<File>>,
    syslog: Option<std::net::UdpSocket>,
    hostname: String,
}

/// Facility local0 (16), severity informational (6).
const SYSLOG_PRI: u32 = 16 * 8 + 6;

impl LogWriter {
    /// One record as an RFC 5424 message: `<PRI>1 TIMESTAMP HOST APP PROCID MSGID - MSG`.
    fn send_syslog(&self, json_line: &str, time: &str) -> bool {
        let Some(sock) = &self.syslog else {
            return true;
        };
        let msg = format!(
            "<{SYSLOG_PRI}>1 {time} {} synwall {} TRAFFIC - {}",
            self.hostname,
            std::process::id(),
            json_line.trim_end()
        );
        sock.send(msg.as_bytes()).is_ok()
    }

    fn connect_syslog(target: Option<&str>) -> Option<std::net::UdpSocket> {
        let target = target?;
        let sock = std::net::UdpSocket::bind(("0.0.0.0", 0)).ok()?;
        sock.set_nonblocking(true).ok()?;
        match sock.connect(target) {
            Ok(()) => Some(sock),
            Err(e) => {
                eprintln!("synwall: logging.syslog.target {target}: {e}");
                None
            }
        }
    }
}

impl LogWriter {
    fn open(path: Option<PathBuf>, syslog: Option<&str>) -> Self {
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "-".into());
        let mut w = LogWriter {
            path,
            out: None,
            syslog: Self::connect_syslog(syslog),
            hostname,
        };
        w.reopen();
        w
    }

    fn reopen(&mut self) {
        self.out = self.path.as_ref().and_then(|p| {
            if let Some(dir) = p.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            match OpenOptions::new().create(true).append(true).open(p) {
                Ok(f) => Some(BufWriter::new(f)),
                Err(e) => {
                    eprintln!("synwall: cannot open traffic log {}: {e}", p.display());
                    None
                }
            }
        });
    }
}

/// Control connections whose request is still arriving, at most this many at once; more are
/// answered "busy" and closed.
const MAX_PENDING: usize = 32;
/// Time a client has to send its whole request, from its connection.
const REQUEST_DEADLINE: Duration = Duration::from_secs(2);
/// Time the daemon gives a client to take its reply.
const REPLY_TIMEOUT: Duration = Duration::from_secs(2);

/// A control connection whose request line is still arriving. Reads never block the management
/// loop: a client that connects and says nothing, or drips its request a byte at a time, costs
/// the loop nothing but one non-blocking read per turn until its deadline.
struct Pending {
    stream: UnixStream,
    buf: Vec<u8>,
    deadline: Instant,
}

/// What a pending connection has come to.
enum Arrival {
    /// Nothing more yet.
    Waiting,
    /// The request line (without its line end).
    Line(Vec<u8>),
    /// The client left without sending anything: close, no reply.
    Gone,
    /// Refused before parsing (too large, too slow, a read error).
    Refused(String),
}

impl Pending {
    /// Reads what has arrived, without blocking.
    fn poll(&mut self, now: Instant) -> Arrival {
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(end) = self.buf.iter().position(|&b| b == b'\n') {
                if end > MAX_REQUEST_BYTES {
                    return Arrival::Refused("request too large".into());
                }
                self.buf.truncate(end);
                return Arrival::Line(std::mem::take(&mut self.buf));
            }
            if self.buf.len() > MAX_REQUEST_BYTES {
                return Arrival::Refused("request too large".into());
            }
            match (&self.stream).read(&mut chunk) {
                // The client closed its side: what came is the request (no line end needed).
                Ok(0) if self.buf.is_empty() => return Arrival::Gone,
                Ok(0) => return Arrival::Line(std::mem::take(&mut self.buf)),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    return if now >= self.deadline {
                        Arrival::Refused(format!(
                            "request timed out: a whole request line must arrive within {} s",
                            REQUEST_DEADLINE.as_secs()
                        ))
                    } else {
                        Arrival::Waiting
                    };
                }
                Err(e) => return Arrival::Refused(format!("bad request: {e}")),
            }
        }
    }
}

/// Sends one response line and closes; a client that has gone or does not read is dropped.
fn reply(stream: &UnixStream, response: &Response) {
    let mut out = serde_json::to_vec(response).unwrap_or_default();
    out.push(b'\n');
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_write_timeout(Some(REPLY_TIMEOUT));
    let _ = (&*stream).write_all(&out);
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

    fn global_counters(&self) -> serde_json::Value {
        let r = &self.reader;
        let drops: serde_json::Map<String, serde_json::Value> = DropReason::ALL
            .iter()
            .map(|d| {
                (
                    d.label().to_string(),
                    json!(r.sum(WorkerBlock::DROPS + d.index())),
                )
            })
            .collect();
        let ends: serde_json::Map<String, serde_json::Value> = EndReason::ALL
            .iter()
            .map(|e| {
                (
                    e.label().to_string(),
                    json!(r.sum(WorkerBlock::ENDS + e.index())),
                )
            })
            .collect();
        let mut non_syn = serde_json::Map::new();
        for flags in 0..=255u8 {
            let n = r.sum(WorkerBlock::NON_SYN + flags as usize);
            if n > 0 {
                let code = flag_letters(flags);
                let key = if code.is_empty() {
                    "none".to_string()
                } else {
                    code
                };
                let prev = non_syn.get(&key).and_then(|v| v.as_u64()).unwrap_or(0);
                non_syn.insert(key, json!(prev + n));
            }
        }
        json!({
            "packets": r.sum(WorkerBlock::PACKETS),
            "sessions_created": r.sum(WorkerBlock::SESSIONS_CREATED),
            "sessions_active": r.sum(WorkerBlock::SESSIONS_ACTIVE),
            "session_capacity": self.session_capacity,
            "drops": drops,
            "session_end": ends,
            "tcp_non_syn_drop": non_syn,
            "tcp_broken_handshakes": r.sum(WorkerBlock::BROKEN_HANDSHAKES),
            "tcp_out_of_order": r.sum(WorkerBlock::OUT_OF_ORDER),
            "handoff_sent": r.sum(WorkerBlock::HANDOFF_SENT),
            "handoff_received": r.sum(WorkerBlock::HANDOFF_RECEIVED),
            "log_records_written": r.records_written(),
            "log_records_dropped": r.sum(WorkerBlock::RECORDS_DROPPED) + r.records_write_dropped(),
            "zone_protection": zone_protection_counters(&summaries(r)),
        })
    }

    /// `show zone-protection [zone Z]`: each zone's profile, and per flood its configured rates
    /// (all workers) and live counters. PAN-OS: `show zone-protection zone Z`.
    fn zone_protection(&self, only: Option<&str>) -> serde_json::Value {
        let live = summaries(&self.reader);
        let zones: Vec<serde_json::Value> = self
            .running
            .zones()
            .into_iter()
            .filter(|z| only.is_none() || only == Some(*z))
            .map(|zone| {
                let profile_name = self
                    .running
                    .zone_settings
                    .get(zone)
                    .and_then(|s| s.zone_protection_profile.clone());
                let profile = self.running.zone_protection_of(zone);
                let floods: Vec<serde_json::Value> = Flood::ALL
                    .iter()
                    .filter_map(|&flood| {
                        let configured = profile.and_then(|p| p.flood.get(flood).0);
                        let counted = live.iter().find(|m| m.zone == zone && m.flood == flood);
                        if configured.is_none() && counted.is_none() {
                            return None;
                        }
                        let mut v = json!({ "flood": flood.label() });
                        if let Some(t) = configured {
                            v["enable"] = json!(t.enable);
                            v["action"] = json!(t.action);
                            v["alarm_rate"] = json!(t.alarm_rate);
                            v["activate_rate"] = json!(t.activate_rate);
                            v["maximal_rate"] = json!(t.maximal_rate);
                        }
                        if let Some(m) = counted {
                            v["counters"] = flood_counters(m);
                        }
                        Some(v)
                    })
                    .collect();
                json!({ "zone": zone, "zone_protection_profile": profile_name, "floods": floods })
            })
            .collect();
        json!(zones)
    }

    fn system_status(&self) -> serde_json::Value {
        let r = &self.reader;
        let port_list: Vec<_> = self
            .ports
            .iter()
            .zip(self.dpdk_ports)
            .enumerate()
            .map(|(i, (v, p))| {
                let link = p.link();
                let nic = p.stats();
                json!({
                    "name": v.name, "device": v.device, "zone": v.zone, "driver": v.driver,
                    "rss": v.rss, "link_up": link.up, "speed_mbps": link.speed_mbps,
                    "rx_packets": r.sum(WorkerBlock::PORT_RX + i),
                    "rx_bytes": nic.rx_bytes,
                    "tx_packets": r.sum(WorkerBlock::PORT_TX + i),
                    "tx_bytes": nic.tx_bytes,
                    "tx_drops": r.sum(WorkerBlock::PORT_TX_DROPS + i),
                    "nic_rx_missed": nic.rx_missed, "nic_rx_nombuf": nic.rx_nombuf,
                    "nic_rx_errors": nic.rx_errors, "nic_tx_errors": nic.tx_errors,
                })
            })
            .collect();
        let now = unix_ns();
        let workers: Vec<_> = self
            .worker_lcores
            .iter()
            .enumerate()
            .map(|(i, lcore)| {
                json!({
                    "worker": i, "lcore": lcore,
                    "packets": r.worker(i, WorkerBlock::PACKETS),
                    "sessions_active": r.worker(i, WorkerBlock::SESSIONS_ACTIVE),
                    "longest_loop_ns": r.worker(i, WorkerBlock::LONGEST_LOOP_NS),
                    "heartbeat_age_ms": now.saturating_sub(r.worker(i, WorkerBlock::HEARTBEAT)) / 1_000_000,
                })
            })
            .collect();
        json!({
            "state": "running",
            "version": env!("CARGO_PKG_VERSION"),
            "dpdk": self.dpdk_version,
            "pid": std::process::id(),
            "uptime_seconds": self.started.elapsed().as_secs(),
            "config": self.config_path,
            "sessions": {
                "active": r.sum(WorkerBlock::SESSIONS_ACTIVE),
                "created": r.sum(WorkerBlock::SESSIONS_CREATED),
                "capacity": self.session_capacity,
            },
            "workers": workers,
            "ports": port_list,
        })
    }
}

/// `zone -> flood -> counters`, for `show counter global`.
fn zone_protection_counters(live: &[FloodSummary]) -> serde_json::Value {
    let mut zones = serde_json::Map::new();
    for m in live {
        let zone = zones
            .entry(m.zone.clone())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("an object");
        zone.insert(m.flood.label().to_string(), flood_counters(m));
    }
    serde_json::Value::Object(zones)
}

/// One meter's counters and state (0/1 flags, so that tables print them as counters).
fn flood_counters(m: &FloodSummary) -> serde_json::Value {
    let bit = |b: u64| u64::from(m.state & b != 0);
    json!({
        "allowed": m.allowed,
        "red-drop": m.red_drops,
        "maximal-drop": m.maximal_drops,
        "alarms": m.alarms,
        "activations": m.activations,
        "rate": m.rate,
        "alarm": bit(FloodWord::STATE_ALARM),
        "active": bit(FloodWord::STATE_ACTIVE),
        "above-maximal": bit(FloodWord::STATE_MAXIMAL),
    })
}

fn filter_of(words: &[&str]) -> Result<SessionFilter, String> {
    SessionFilter::parse(&words.iter().map(|w| w.to_string()).collect::<Vec<_>>())
}

/// Binds the control socket (owner-only permissions), replacing a stale one left by a crash.
pub fn bind(path: &Path) -> Result<UnixListener, String> {
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
    Ok(listener)
}
