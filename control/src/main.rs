//! `synwall-control --config FILE [--listen ADDR]`: the control process. Serves the dataplane's
//! counters (the stats segment at `control.stats`) as Prometheus metrics at `/metrics`, and the
//! dataplane's liveness at `/healthz`. Traffic logs stay the dataplane's job.

mod collector;
mod http;
mod source;

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::Parser;
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{Encoder, Registry, TextEncoder};
use synwall_config::Config;

use collector::SegmentCollector;
use http::Reply;
use source::{Health, Source};

#[derive(Parser, Debug)]
#[command(name = "synwall-control", version, about = "synwall control process")]
struct Cli {
    /// The synwall config (the same file the dataplane reads).
    #[arg(long, short = 'c')]
    config: PathBuf,
    /// Serve metrics here instead of control.metrics_listen.
    #[arg(long)]
    listen: Option<SocketAddr>,
}

const INDEX: &str = "synwall-control\n\n/metrics  Prometheus metrics\n/healthz  200 when the dataplane is up, 503 otherwise\n";

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::from_file(&cli.config) {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("{}: {errors}", cli.config.display());
            return ExitCode::FAILURE;
        }
    };
    let listen = cli.listen.unwrap_or(config.control.metrics_listen);
    let terminate = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        if let Err(e) = signal_hook::flag::register(sig, Arc::clone(&terminate)) {
            eprintln!("cannot install signal handler: {e}");
            return ExitCode::FAILURE;
        }
    }
    let listener = match TcpListener::bind(listen) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on {listen}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let collector = Arc::new(SegmentCollector::new(Source::file(&config.control.stats)));
    let registry = Registry::new();
    if let Err(e) = registry.register(Box::new(Shared(Arc::clone(&collector)))) {
        eprintln!("cannot register the collector: {e}");
        return ExitCode::FAILURE;
    }
    eprintln!(
        "synwall-control: serving http://{listen}/metrics from {}",
        config.control.stats.display()
    );
    http::serve(
        listener,
        || terminate.load(Ordering::Relaxed),
        |path| route(path, &registry, &collector),
    );
    eprintln!("synwall-control: stopped");
    ExitCode::SUCCESS
}

fn route(path: &str, registry: &Registry, collector: &SegmentCollector) -> Reply {
    match path {
        "/metrics" => {
            let encoder = TextEncoder::new();
            let mut body = Vec::new();
            match encoder.encode(&registry.gather(), &mut body) {
                Ok(()) => Reply {
                    status: 200,
                    content_type: "text/plain; version=0.0.4; charset=utf-8",
                    body,
                },
                Err(e) => Reply::text(500, format!("cannot encode metrics: {e}\n")),
            }
        }
        "/healthz" => match collector.health() {
            Health::Up => Reply::text(200, "ok\n"),
            Health::Down(why) => Reply::text(503, format!("dataplane not up: {why}\n")),
        },
        "/" => Reply::text(200, INDEX),
        _ => Reply::text(404, "not found\n"),
    }
}

/// The registry owns its collectors; this lets `/healthz` share the same one.
struct Shared(Arc<SegmentCollector>);

impl Collector for Shared {
    fn desc(&self) -> Vec<&Desc> {
        self.0.desc()
    }
    fn collect(&self) -> Vec<MetricFamily> {
        self.0.collect()
    }
}
