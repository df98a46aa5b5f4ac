//! `synwall-gen`: writes pcap captures for replay tests, end-to-end tests and benchmarks.
//!
//! ```text
//! synwall-gen list
//! synwall-gen scenario tcp-fin [--ipv6] --out tcp-fin.pcap
//! synwall-gen bulk --flows 1000000 --packets-per-flow 10 --proto tcp --handshake \
//!     --size imix --both-directions --seed 7 --out bulk.pcap
//! synwall-gen hostile --out hostile.pcap
//! synwall-gen split --workers 2 --input bulk.pcap --out-prefix bulk
//! ```
//! Captures are little-endian classic pcap with microsecond timestamps (`--nanos` for
//! nanoseconds), Ethernet linktype. Bulk captures are streamed to disk.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use synwall_engine::capture::{PcapReader, PcapWriter, TimestampResolution, MAX_SNAPLEN};
use synwall_engine::pipeline::owner_worker;
use synwall_engine::wire;
use synwall_perf::gen::bulk::{write_bulk, BulkProfile, BulkProto, FrameSize};
use synwall_perf::gen::hostile::{HostileCapture, HOSTILE_SEED};
use synwall_perf::gen::scenarios::Scenario;
use synwall_perf::gen::IpFamily;

#[derive(Parser)]
#[command(
    name = "synwall-gen",
    about = "Generate pcap captures for synwall tests and benchmarks"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the scenario names, one a line, with what each contains.
    List,
    /// Write one named scenario.
    Scenario {
        /// Scenario name (see `list`).
        name: String,
        #[arg(long)]
        ipv6: bool,
        #[command(flatten)]
        output: Output,
    },
    /// Write the application capture: one flow per application app-ID names (and nDPI too).
    Apps {
        #[command(flatten)]
        output: Output,
    },
    /// Write the hostile capture: malformed and malicious frames around valid sessions
    /// (docs/robustness.md). Prints its groups and the outcome the engine must give.
    Hostile {
        /// Seed of the random and bit-flipped frames.
        #[arg(long, default_value_t = HOSTILE_SEED)]
        seed: u64,
        #[command(flatten)]
        output: Output,
    },
    /// Write a bulk benchmark profile (streamed: any number of flows fits).
    Bulk {
        #[arg(long)]
        flows: u64,
        /// Data packets per flow (TCP handshake segments come on top).
        #[arg(long, default_value_t = 1)]
        packets_per_flow: u32,
        #[arg(long, value_enum)]
        proto: Proto,
        /// TCP only: SYN, SYN-ACK, ACK before the data.
        #[arg(long)]
        handshake: bool,
        /// Frame size including FCS (64..=9018), or `imix` (7:4:1 of 64/570/1518).
        #[arg(long, default_value = "64", value_parser = parse_size)]
        size: FrameSize,
        /// Data packets alternate client and server.
        #[arg(long)]
        both_directions: bool,
        #[arg(long)]
        ipv6: bool,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Every packet opens a new flow (TCP SYN / one UDP datagram); overrides the
        /// per-flow options.
        #[arg(long)]
        cps: bool,
        /// With --cps --proto tcp: each SYN is followed by the client's RST (a replayed
        /// capture then sets every session up again on each pass).
        #[arg(long)]
        cps_close: bool,
        /// Flows interleaved at a time.
        #[arg(long, default_value_t = 1024)]
        window: u32,
        /// Rounds after a window's first visit its flows in a new random order each (packets
        /// of many flows interleaved as on a link, not in the order their sessions opened).
        #[arg(long)]
        shuffle_rounds: bool,
        /// Capture time between frames, in nanoseconds.
        #[arg(long, default_value_t = 1000)]
        gap_ns: u64,
        #[command(flatten)]
        output: Output,
    },
    /// Split a capture by the worker that owns each flow (as the software hand-off picks it,
    /// `synwall_engine::pipeline::owner_worker`): `<prefix>.<worker>.pcap`. Replayed
    /// one file a receive queue, it is what a NIC's symmetric RSS would deliver: every packet
    /// arrives at its owner. Frames that are not IP go to worker 0.
    Split {
        #[arg(long)]
        workers: u8,
        #[arg(long)]
        input: PathBuf,
        #[arg(long)]
        out_prefix: PathBuf,
    },
}

#[derive(clap::Args)]
struct Output {
    /// The pcap file to write.
    #[arg(long)]
    out: PathBuf,
    /// Nanosecond timestamps (default: microseconds, which every tool reads).
    #[arg(long)]
    nanos: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum Proto {
    Udp,
    Tcp,
}

fn parse_size(text: &str) -> Result<FrameSize, String> {
    if text.eq_ignore_ascii_case("imix") {
        return Ok(FrameSize::Imix);
    }
    text.parse()
        .map(FrameSize::Fixed)
        .map_err(|_| format!("`{text}` is neither a frame size nor `imix`"))
}

fn family(ipv6: bool) -> IpFamily {
    if ipv6 {
        IpFamily::V6
    } else {
        IpFamily::V4
    }
}

fn open_capture(output: &Output) -> Result<PcapWriter<BufWriter<File>>, String> {
    let resolution = if output.nanos {
        TimestampResolution::Nanos
    } else {
        TimestampResolution::Micros
    };
    create_capture(&output.out, resolution)
}

fn create_capture(
    path: &Path,
    resolution: TimestampResolution,
) -> Result<PcapWriter<BufWriter<File>>, String> {
    let file =
        File::create(path).map_err(|err| format!("cannot create {}: {err}", path.display()))?;
    PcapWriter::with_resolution(
        BufWriter::with_capacity(1 << 20, file),
        resolution,
        MAX_SNAPLEN,
    )
    .map_err(|err| err.to_string())
}

fn finish(writer: PcapWriter<BufWriter<File>>, path: &Path) -> Result<u64, String> {
    let count = writer.records_written();
    writer
        .into_inner()
        .and_then(|buffered| Ok(buffered.into_inner().map_err(|err| err.into_error())?))
        .and_then(|file| Ok(file.sync_all()?))
        .map_err(|err| format!("cannot finish {}: {err}", path.display()))?;
    Ok(count)
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::List => {
            let mut stdout = std::io::stdout().lock();
            for scenario in Scenario::ALL {
                writeln!(stdout, "{:<18} {}", scenario.name(), scenario.about())
                    .map_err(|err| err.to_string())?;
            }
        }
        Command::Apps { output } => {
            let mut writer = open_capture(&output)?;
            for (timestamp, frame) in synwall_perf::gen::apps::app_capture() {
                writer
                    .write_record(timestamp, &frame)
                    .map_err(|err| err.to_string())?;
            }
            let count = finish(writer, &output.out)?;
            eprintln!("{}: {count} frames", output.out.display());
        }
        Command::Hostile { seed, output } => {
            let capture = HostileCapture::new(seed);
            let mut writer = open_capture(&output)?;
            for (timestamp, frame) in &capture.frames {
                writer
                    .write_record(*timestamp, frame)
                    .map_err(|err| err.to_string())?;
            }
            let count = finish(writer, &output.out)?;
            eprintln!("{}: {count} frames", output.out.display());
            for group in &capture.groups {
                eprintln!("  {:<16} {:>4}  {}", group.name, group.frames, group.about);
            }
            eprintln!(
                "  {:<16} {:>4}  frames of {} valid sessions",
                "valid",
                count as usize - capture.groups.iter().map(|g| g.frames).sum::<usize>(),
                capture.sessions.len()
            );
            eprintln!(
                "must be forwarded: {}; of unknown fate (random, bit flips): {}; must be dropped:",
                capture.known_forwarded(),
                capture.unknown()
            );
            for (reason, n) in capture.known_drops() {
                eprintln!("  {:<26} {n}", reason.label());
            }
        }
        Command::Scenario { name, ipv6, output } => {
            let scenario = Scenario::from_name(&name)
                .ok_or_else(|| format!("unknown scenario `{name}` (see `synwall-gen list`)"))?;
            let mut writer = open_capture(&output)?;
            for (timestamp, frame) in scenario.frames(family(ipv6)) {
                writer
                    .write_record(timestamp, &frame)
                    .map_err(|err| err.to_string())?;
            }
            let count = finish(writer, &output.out)?;
            eprintln!("{}: {count} frames", output.out.display());
        }
        Command::Bulk {
            flows,
            packets_per_flow,
            proto,
            handshake,
            size,
            both_directions,
            ipv6,
            seed,
            cps,
            cps_close,
            window,
            shuffle_rounds,
            gap_ns,
            output,
        } => {
            let proto = match proto {
                Proto::Udp => BulkProto::Udp,
                Proto::Tcp => BulkProto::Tcp,
            };
            let profile = BulkProfile {
                handshake,
                size,
                both_directions,
                family: family(ipv6),
                seed,
                cps,
                cps_close,
                window,
                shuffle_rounds,
                gap_ns,
                ..BulkProfile::new(flows, packets_per_flow, proto)
            };
            profile.validate().map_err(|err| err.to_string())?;
            let mut writer = open_capture(&output)?;
            write_bulk(profile, &mut writer).map_err(|err| err.to_string())?;
            let count = finish(writer, &output.out)?;
            eprintln!("{}: {count} frames, {flows} flows", output.out.display());
        }
        Command::Split {
            workers,
            input,
            out_prefix,
        } => split(workers, &input, &out_prefix)?,
    }
    Ok(())
}

fn split(workers: u8, input: &Path, out_prefix: &Path) -> Result<(), String> {
    if workers == 0 {
        return Err("--workers must be at least 1".into());
    }
    let file =
        File::open(input).map_err(|err| format!("cannot open {}: {err}", input.display()))?;
    let mut reader = PcapReader::new(BufReader::with_capacity(1 << 20, file))
        .map_err(|err| format!("{}: {err}", input.display()))?;
    let resolution = reader.header().resolution;
    let paths: Vec<PathBuf> = (0..workers)
        .map(|w| PathBuf::from(format!("{}.{w}.pcap", out_prefix.display())))
        .collect();
    let mut writers = paths
        .iter()
        .map(|path| create_capture(path, resolution))
        .collect::<Result<Vec<_>, _>>()?;
    while let Some(record) = reader
        .next_record()
        .map_err(|err| format!("{}: {err}", input.display()))?
    {
        let owner = wire::flow_hash(record.data).map_or(0, |hash| owner_worker(hash, workers));
        writers[owner as usize]
            .write_record(record.timestamp_ns, record.data)
            .map_err(|err| err.to_string())?;
    }
    for (writer, path) in writers.into_iter().zip(&paths) {
        let count = finish(writer, path)?;
        eprintln!("{}: {count} frames", path.display());
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("synwall-gen: {message}");
            ExitCode::FAILURE
        }
    }
}
