//! How the engine holds up as its table grows: resident memory per session, the established
//! rate at 100k / 1M / 10M live sessions, and the longest `expire` call while a million
//! sessions time out at once. Engine only (no DPDK, one thread), clocked virtually.
//!
//! ```text
//! cargo run --release -p synwall-perf --bin synwall-scale -- --sessions 100000,1000000,10000000
//! ```
//!
//! With `--scaling N`: N sessions on one worker, then split over two workers running at once
//! (threads pinned to cores 0 and 1), established rate in all.
//!
//! `--family 6` makes the flows IPv6 (the table keeps their address pairs beside it).
//!
//! For each size N: a fresh process-wide RSS reading, an engine sized for N, N UDP flows of two
//! datagrams (client then server) run once to create the sessions, RSS again (the difference
//! over N is the memory per session, table + timers + side arrays), then the same frames again
//! `--passes` times (every packet hits a live session), timed. Then, for the expiry figure, time
//! jumps past the UDP timeout and `Engine::expire` is called until every session is gone, each
//! call timed (the worker calls it between bursts; its budget bounds each call).
use std::sync::Arc;
use std::time::Instant;

use clap::Parser;
use synwall_engine::api::SessionFilter;
use synwall_engine::config::Config;
use synwall_engine::pipeline::{Engine, EngineConfig, Task, Verdict, Walk, EXPIRE_BUDGET, NO_PORT};
use synwall_engine::policy::Policy;
use synwall_engine::reasons::EndReason;
use synwall_engine::records::NameTable;
use synwall_engine::records::RecordRing;
use synwall_engine::stats::CounterBlock;
use synwall_perf::gen::bulk::{BulkGenerator, BulkProfile, BulkProto, FrameSize};
use synwall_perf::gen::scenarios::SCENARIO_EPOCH_NS;
use synwall_perf::gen::IpFamily;
use synwall_testkit::frame::CLIENT_MAC;
use synwall_testkit::yaml::VwireConfig;
use synwall_testkit::Rng;

const BURST: usize = 32;
/// Least stride of the frame store for IPv4: a 64-byte frame is 60 bytes without its FCS, a
/// TCP segment's headers 66.
const STRIDE: usize = 72;
/// Largest `--size` (with FCS): frames up to 96 bytes in the store.
const MAX_SIZE: u16 = 100;

#[derive(Parser)]
#[command(about = "Engine scaling: memory per session, rate vs table size, mass expiry")]
struct Args {
    /// Table sizes (live sessions), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "100000,1000000")]
    sessions: Vec<u64>,
    /// Timed passes over every session's frames.
    #[arg(long, default_value_t = 3)]
    passes: u32,
    /// Also time the mass expiry of this many sessions (0: skip).
    #[arg(long, default_value_t = 1_000_000)]
    expire: u64,
    /// Also compare 1 and 2 workers (threads pinned to cores 0 and 1, each with its own engine
    /// and half of this many flows, as RSS or the hand-off would give them); 0: skip.
    #[arg(long, default_value_t = 0)]
    scaling: u64,
    /// Address family of the flows (the table keeps IPv4 keys whole and IPv6 address pairs
    /// beside it, so their memory per session differs).
    #[arg(long, default_value = "4", value_parser = ["4", "6"])]
    family: String,
    /// Sessions the table holds (`session.max_sessions`); default: each run's live sessions,
    /// a full table.
    #[arg(long)]
    capacity: Option<u64>,
    /// Send each timed pass's packets in a random order (one permutation for all passes)
    /// instead of the order their flows were opened in: traffic of many flows interleaves at
    /// random, and a replay in the opening order may walk the table's slots in order.
    #[arg(long)]
    shuffle: bool,
    /// Transport of the flows: `tcp` gives flows picked up mid-stream (a PSH|ACK data segment
    /// each way, `session.tcp_reject_non_syn: false`), so the timed passes run the TCP tracker.
    #[arg(long, default_value = "udp", value_parser = ["udp", "tcp"])]
    proto: String,
    /// Frame size with FCS (64 to 100): 64-byte IPv6 frames carry no payload (their headers
    /// fill them), so their flows' app-ID never decides; 84 gives IPv6 UDP the 18 payload
    /// bytes a 64-byte IPv4 frame carries.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u16).range(64..=MAX_SIZE as i64))]
    size: u16,
    /// Also time the operator's table walks (`show session all`, `show session id`, `clear
    /// session all <filter>`, a reload's re-check, `clear session all`) on a worker holding
    /// this many sessions, each slice timed as the worker runs it between bursts; 0: skip.
    #[arg(long, default_value_t = 0)]
    manage: u64,
}

/// One worker's engine config: a virtual wire, allow both ways; TCP flows may be picked up
/// mid-stream (`--proto tcp`; UDP is unaffected).
fn engine_config(max_sessions: u64) -> EngineConfig {
    let yaml = VwireConfig::new()
        .section(&format!(
            "session:\n  max_sessions: {max_sessions}\n  tcp_reject_non_syn: false"
        ))
        .rule("{ name: out, from: [trust], to: [untrust], action: allow }")
        .rule("{ name: in, from: [untrust], to: [trust], action: allow }")
        .yaml();
    let config = Config::from_yaml_str(&yaml).expect("valid config");
    let policy = Policy::compile(&config).expect("compiles");
    EngineConfig::from_config(&config, Arc::new(policy), 0, 1)
}

/// One worker's engine for `max_sessions`, started at the scenarios' epoch, with counters and
/// a record ring of its own.
fn scale_engine(max_sessions: u64) -> Engine {
    Engine::new(
        engine_config(max_sessions),
        CounterBlock::standalone(),
        Arc::new(RecordRing::new(1024)),
        SCENARIO_EPOCH_NS,
    )
}

/// Resident set size of this process, bytes (Linux `/proc/self/statm`).
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Frames of `flows` flows (two packets each, one per direction), in one buffer.
struct Frames {
    /// Bytes each frame takes in `bytes`.
    stride: usize,
    bytes: Vec<u8>,
    lens: Vec<u8>,
    ports: Vec<u8>,
}

impl Frames {
    fn udp(flows: u64, family: IpFamily) -> Frames {
        Frames::new(flows, family, BulkProto::Udp, 64)
    }

    /// UDP datagrams, or TCP data segments of flows picked up mid-stream, `size` bytes with
    /// FCS (or their headers, if more).
    fn new(flows: u64, family: IpFamily, proto: BulkProto, size: u16) -> Frames {
        let mut profile = BulkProfile::new(flows, 2, proto);
        profile.both_directions = true;
        profile.family = family;
        profile.size = FrameSize::Fixed(size);
        let mut gen = BulkGenerator::new(profile).expect("valid profile");
        let n = flows as usize * 2;
        // An IPv6 TCP segment's headers alone take 74 bytes.
        let least = if family == IpFamily::V6 { 80 } else { STRIDE };
        let stride = usize::from(size - 4).next_multiple_of(8).max(least);
        let mut f = Frames {
            stride,
            bytes: Vec::with_capacity(n * stride),
            lens: Vec::with_capacity(n),
            ports: Vec::with_capacity(n),
        };
        while let Some((_, frame)) = gen.next_frame() {
            assert!(frame.len() <= stride);
            f.ports.push(if frame[6..12] == CLIENT_MAC { 0 } else { 1 });
            f.lens.push(frame.len() as u8);
            let at = f.bytes.len();
            f.bytes.resize(at + stride, 0);
            f.bytes[at..at + frame.len()].copy_from_slice(frame);
        }
        f
    }

    fn len(&self) -> usize {
        self.lens.len()
    }

    /// The same frames stored in a pseudo-random order (Fisher-Yates over the generator's
    /// seeded `SplitMix64`), so that a run reads them front to back, as a NIC's fresh buffers
    /// are read, while the sessions they hit come in no order.
    fn shuffled(&self) -> Frames {
        let mut order: Vec<usize> = (0..self.len()).collect();
        Rng::new(1).shuffle(&mut order);
        let stride = self.stride;
        let mut f = Frames {
            stride,
            bytes: Vec::with_capacity(self.bytes.len()),
            lens: Vec::with_capacity(self.len()),
            ports: Vec::with_capacity(self.len()),
        };
        for i in order {
            f.bytes
                .extend_from_slice(&self.bytes[i * stride..(i + 1) * stride]);
            f.lens.push(self.lens[i]);
            f.ports.push(self.ports[i]);
        }
        f
    }

    /// `count` frames from frame `start`, as a store of their own.
    fn slice(&self, start: usize, count: usize) -> Frames {
        let stride = self.stride;
        Frames {
            stride,
            bytes: self.bytes[start * stride..(start + count) * stride].to_vec(),
            lens: self.lens[start..start + count].to_vec(),
            ports: self.ports[start..start + count].to_vec(),
        }
    }

    /// The destination port of the first frame (an untagged IPv4 UDP datagram).
    fn first_dport(&self) -> u16 {
        let f = self.frame(0);
        u16::from_be_bytes([f[36], f[37]])
    }

    fn frame(&self, i: usize) -> &[u8] {
        let at = i * self.stride;
        &self.bytes[at..at + self.lens[i] as usize]
    }
}

/// Runs every frame once in bursts, in place (the engine may rewrite forwarded frames, as it
/// may a NIC's buffers); returns (forwarded, now after).
fn run(e: &mut Engine, f: &mut Frames, mut now: u64) -> (u64, u64) {
    let mut v = [Verdict::Forward(NO_PORT); BURST];
    let stride = f.stride;
    let mut fwd = 0;
    let bursts = f.bytes.chunks_mut(stride * BURST);
    for ((store, lens), ports) in bursts.zip(f.lens.chunks(BURST)).zip(f.ports.chunks(BURST)) {
        let n = lens.len();
        let mut refs: [&mut [u8]; BURST] = Default::default();
        for ((r, buf), &len) in refs.iter_mut().zip(store.chunks_mut(stride)).zip(lens) {
            *r = &mut buf[..len as usize];
        }
        e.process_burst(now, &mut refs[..n], ports, &mut v[..n]);
        e.clear_emits();
        fwd += v[..n].iter().filter(|v| v.forwards()).count() as u64;
        now += 1_000;
    }
    (fwd, now)
}

fn main() {
    let args = Args::parse();
    println!("| live sessions | resident bytes / session | established Mpps (engine, 1 core) |");
    println!("| ---: | ---: | ---: |");
    for &n in &args.sessions {
        let family = if args.family == "6" {
            IpFamily::V6
        } else {
            IpFamily::V4
        };
        let proto = if args.proto == "tcp" {
            BulkProto::Tcp
        } else {
            BulkProto::Udp
        };
        let mut frames = Frames::new(n, family, proto, args.size);
        let mut shuffled = args.shuffle.then(|| frames.shuffled());
        let before = rss_bytes();
        let mut e = scale_engine(args.capacity.unwrap_or(n).max(n));
        let (fwd, mut now) = run(&mut e, &mut frames, SCENARIO_EPOCH_NS);
        // The worker's next timer ticks (every 10 ms): among their chores, an index that has
        // grown to its full size gives back the bucket array it grew through, 4 MiB a tick
        // (32 ticks release any table's).
        for _ in 0..32 {
            e.expire(now);
        }
        let per_session = (rss_bytes() - before) as f64 / n as f64;
        assert_eq!(fwd, frames.len() as u64, "every frame forwarded");
        assert_eq!(e.active_sessions() as u64, n);
        let start = Instant::now();
        for _ in 0..args.passes {
            let timed = shuffled.as_mut().unwrap_or(&mut frames);
            let (fwd, t) = run(&mut e, timed, now);
            assert_eq!(fwd, frames.len() as u64);
            now = t;
        }
        let secs = start.elapsed().as_secs_f64();
        let mpps = frames.len() as f64 * args.passes as f64 / secs / 1e6;
        println!("| {n} | {per_session:.1} | {mpps:.2} |");
        drop(e);
    }
    if args.expire > 0 {
        mass_expiry(args.expire);
    }
    if args.manage > 0 {
        operator_walks(args.manage);
    }
    if args.scaling > 0 {
        let one = workers_rate(1, args.scaling, args.passes);
        let two = workers_rate(2, args.scaling, args.passes);
        println!();
        println!(
            "{} established sessions: 1 worker {one:.2} Mpps, 2 workers {two:.2} Mpps ({:.2}x)",
            args.scaling,
            two / one
        );
    }
}

/// Established rate of `workers` engines running at once on cores 0.., each with `flows /
/// workers` sessions of its own (the flows a symmetric RSS or the hand-off gives it). Mpps in
/// all, from the slowest worker's time.
fn workers_rate(workers: usize, flows: u64, passes: u32) -> f64 {
    let barrier = Arc::new(std::sync::Barrier::new(workers));
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    let handles: Vec<_> = (0..workers)
        .map(|w| {
            let barrier = barrier.clone();
            let core = cores.get(w % cores.len().max(1)).copied();
            std::thread::spawn(move || {
                if let Some(core) = core {
                    core_affinity::set_for_current(core);
                }
                let share = flows / workers as u64;
                let mut frames = Frames::udp(share, IpFamily::V4);
                let mut e = scale_engine(share);
                let (_, mut now) = run(&mut e, &mut frames, SCENARIO_EPOCH_NS);
                barrier.wait();
                let start = Instant::now();
                for _ in 0..passes {
                    now = run(&mut e, &mut frames, now).1;
                }
                (
                    frames.len() as u64 * passes as u64,
                    start.elapsed().as_secs_f64(),
                )
            })
        })
        .collect();
    let results: Vec<(u64, f64)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let packets: u64 = results.iter().map(|r| r.0).sum();
    let slowest = results.iter().map(|r| r.1).fold(0.0, f64::max);
    packets as f64 / slowest / 1e6
}

/// `n` UDP sessions created within a few ms, then time jumps past their timeout: every
/// `expire` call is timed until the table is empty.
fn mass_expiry(n: u64) {
    let mut frames = Frames::udp(n, IpFamily::V4);
    let mut e = scale_engine(n);
    let (_, now) = run(&mut e, &mut frames, SCENARIO_EPOCH_NS);
    let mut now = now + 31_000_000_000; // past the 30 s UDP timeout
    let mut calls = Vec::new();
    let all = Instant::now();
    while e.active_sessions() > 0 {
        let t = Instant::now();
        e.expire(now);
        calls.push(t.elapsed().as_nanos() as u64);
        now += 10_000; // the worker's next loop, 10 µs later
        assert!(calls.len() < 100_000_000, "expiry does not progress");
    }
    let total = all.elapsed().as_secs_f64();
    calls.sort_unstable();
    let pct = |p: f64| calls[((calls.len() - 1) as f64 * p) as usize] as f64 / 1000.0;
    println!();
    println!(
        "mass expiry of {n} sessions: {} expire calls (budget {EXPIRE_BUDGET} timers each), \
         {total:.2} s in all; per call: median {:.1} us, p99 {:.1} us, max {:.1} us",
        calls.len(),
        pct(0.5),
        pct(0.99),
        *calls.last().unwrap() as f64 / 1000.0
    );
}

/// `n` UDP sessions, then each operator walk a worker runs between bursts, stepped to its end:
/// every step timed (the longest is what one worker loop may take on top of its burst), and
/// forwarding checked between steps (a packet of a live session still goes through).
fn operator_walks(n: u64) {
    let mut frames = Frames::udp(n, IpFamily::V4);
    let mut e = scale_engine(n);
    let (_, mut now) = run(&mut e, &mut frames, SCENARIO_EPOCH_NS);
    let names = NameTable {
        ports: vec!["ethernet1/1".into(), "ethernet1/2".into()],
        zones: vec!["trust".into(), "untrust".into()],
        rules: vec!["out".into(), "in".into()],
        apps: Vec::new(),
    };
    let nobody = SessionFilter {
        source: Some("192.0.2.255".into()),
        ..SessionFilter::default()
    };
    let port = |p: u16| SessionFilter {
        destination_port: Some(p),
        ..SessionFilter::default()
    };
    let tasks: Vec<(&str, Task)> = vec![
        (
            "show session all (first 10,000)",
            Task::List {
                filter: SessionFilter::default(),
                limit: 10_000,
                // Reserved by the management thread, as the daemon does.
                found: Vec::with_capacity(10_000),
            },
        ),
        (
            "show session all <filter matching none>",
            Task::List {
                filter: nobody.clone(),
                limit: usize::MAX,
                found: Vec::new(),
            },
        ),
        ("reload (re-check)", Task::Recheck { ended: 0 }),
        (
            "clear session all <filter matching none>",
            Task::Clear {
                filter: nobody,
                reason: EndReason::Unknown,
                cleared: 0,
            },
        ),
        (
            "clear session all <destination port every flow has>",
            Task::Clear {
                filter: port(frames.first_dport()),
                reason: EndReason::Unknown,
                cleared: 0,
            },
        ),
        (
            "clear session all",
            Task::Clear {
                filter: SessionFilter::default(),
                reason: EndReason::Unknown,
                cleared: 0,
            },
        ),
    ];
    println!();
    println!("operator walks on {n} sessions (one slice a worker loop):");
    println!("| walk | slices | sessions left | total ms | longest slice us | p99 us |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    let mut probe = frames.slice(0, 1);
    for (name, task) in tasks {
        let mut walk = Walk::new(task);
        let mut slices = Vec::new();
        let all = Instant::now();
        loop {
            let t = Instant::now();
            let done = e.step(&mut walk, now, &names);
            slices.push(t.elapsed().as_nanos() as u64);
            // The worker's next burst: forwarding goes on while the walk runs.
            now += 10_000;
            if e.active_sessions() > 0 {
                let _ = run(&mut e, &mut probe, now);
            }
            if done {
                break;
            }
        }
        let total = all.elapsed().as_secs_f64() * 1e3;
        slices.sort_unstable();
        let p99 = slices[(slices.len() - 1) * 99 / 100] as f64 / 1e3;
        println!(
            "| {name} | {} | {} | {total:.1} | {:.1} | {p99:.1} |",
            slices.len(),
            e.active_sessions(),
            *slices.last().unwrap() as f64 / 1e3,
        );
    }
    // `show session id`: one worker, one slot.
    let mut e2 = scale_engine(n);
    let (_, now) = run(&mut e2, &mut frames, SCENARIO_EPOCH_NS);
    let ids: Vec<u64> = (0..1000u32).filter_map(|slot| e2.id_of(slot)).collect();
    let t = Instant::now();
    let found = ids
        .iter()
        .filter(|&&id| e2.view_id(id, now, &names).is_some())
        .count();
    println!(
        "show session id: {found} of {} found, {:.2} us each",
        ids.len(),
        t.elapsed().as_secs_f64() * 1e6 / ids.len().max(1) as f64
    );
}
