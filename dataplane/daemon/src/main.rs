//! `synwall`: the DPDK dataplane process.
//!
//! `synwall --config FILE [--check] [-- EAL ARGS...]` runs the dataplane (or only validates the
//! config); `synwall replay ...` runs the same engine over a capture.

mod clock;
mod mgmt;
mod plan;
mod replay;
mod run;
mod worker;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "synwall",
    version,
    about = "synwall stateful firewall dataplane (DPDK)"
)]
struct Cli {
    /// The YAML config (dataplane, session, policy, logging, control).
    #[arg(long, short = 'c', global = true)]
    config: Option<PathBuf>,
    /// Validate the config, print `config ok` or every error, and exit.
    #[arg(long)]
    check: bool,
    #[command(subcommand)]
    command: Option<Command>,
    /// Extra EAL arguments, after `--`; appended to dataplane.eal.
    #[arg(last = true)]
    eal: Vec<String>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the engine over a pcap capture, clocked by its timestamps.
    Replay {
        #[arg(long)]
        pcap: PathBuf,
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long)]
        log: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    // A panic anywhere in the dataplane is a bug that may have left a worker half-way through a
    // table update: print it and abort (a supervisor restarts us) rather than limp on.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default_hook(info);
        std::process::abort();
    }));
    let cli = Cli::parse();
    let Some(config_path) = cli.config.clone() else {
        eprintln!("synwall: --config FILE is required (see configs/quickstart.yaml)");
        return ExitCode::from(2);
    };
    let plan = match plan::Plan::load(&config_path) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
    };
    if cli.check {
        println!("config ok");
        return ExitCode::SUCCESS;
    }
    match cli.command {
        Some(Command::Replay {
            pcap,
            out,
            log,
            json,
        }) => {
            let args = replay::ReplayArgs {
                pcap: &pcap,
                out: out.as_deref(),
                log: log.as_deref(),
                json,
            };
            match replay::replay(&plan.config, &args) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("synwall replay: {e}");
                    ExitCode::from(1)
                }
            }
        }
        None => match run::run(plan, &cli.eal) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("synwall: {e}");
                ExitCode::from(1)
            }
        },
    }
}
