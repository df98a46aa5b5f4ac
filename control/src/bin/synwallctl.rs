//! `synwallctl`: the operator CLI. Talks to the dataplane's management socket.
//!
//! `synwallctl [--socket PATH | --config FILE] [--json] show system status`

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use serde_json::Value;
use synwall_engine::api::{Request, Response};

const DEFAULT_SOCKET: &str = "/run/synwall/synwall.sock";

#[derive(Parser, Debug)]
#[command(name = "synwallctl", version, about = "synwall operator CLI")]
struct Cli {
    /// The dataplane's management socket.
    #[arg(long, short = 's')]
    socket: Option<PathBuf>,
    /// Read control.socket from this config instead.
    #[arg(long, short = 'c')]
    config: Option<PathBuf>,
    /// Print the response as JSON.
    #[arg(long)]
    json: bool,
    /// The command, e.g. `show system status`.
    #[arg(required = true, num_args = 1..)]
    command: Vec<String>,
}

fn socket_path(cli: &Cli) -> Result<PathBuf, String> {
    if let Some(s) = &cli.socket {
        return Ok(s.clone());
    }
    if let Some(c) = &cli.config {
        let text =
            std::fs::read_to_string(c).map_err(|e| format!("cannot read {}: {e}", c.display()))?;
        let doc: serde_yaml::Value =
            serde_yaml::from_str(&text).map_err(|e| format!("{}: {e}", c.display()))?;
        if let Some(s) = doc["control"]["socket"].as_str() {
            return Ok(PathBuf::from(s));
        }
    }
    Ok(PathBuf::from(DEFAULT_SOCKET))
}

fn request(path: &PathBuf, req: &Request) -> Result<Response, String> {
    let stream = UnixStream::connect(path).map_err(|e| {
        format!(
            "cannot reach synwall at {}: {e} (is synwall running? is this the right --socket?)",
            path.display()
        )
    })?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let mut line = serde_json::to_vec(req).map_err(|e| e.to_string())?;
    line.push(b'\n');
    (&stream)
        .write_all(&line)
        .map_err(|e| format!("send: {e}"))?;
    let mut resp = String::new();
    BufReader::new(&stream)
        .read_line(&mut resp)
        .map_err(|e| format!("receive: {e}"))?;
    serde_json::from_str(&resp).map_err(|e| format!("bad response from synwall: {e}"))
}

/// A JSON value as text without quotes, so that width and alignment apply.
fn t(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

fn print_table(command: &str, data: &Value) {
    match command {
        "show system status" => {
            println!("state:    {}", data["state"].as_str().unwrap_or("?"));
            println!(
                "version:  synwall {} on {}",
                data["version"].as_str().unwrap_or("?"),
                data["dpdk"].as_str().unwrap_or("?")
            );
            println!("pid:      {}", data["pid"]);
            println!("uptime:   {} s", data["uptime_seconds"]);
            println!("config:   {}", data["config"].as_str().unwrap_or("?"));
            println!();
            println!("{:<8} {:<6} {:>14}", "worker", "lcore", "packets");
            for w in data["workers"].as_array().into_iter().flatten() {
                println!(
                    "{:<8} {:<6} {:>14}",
                    t(&w["worker"]),
                    t(&w["lcore"]),
                    t(&w["packets"])
                );
            }
            println!();
            println!(
                "{:<14} {:<12} {:<10} {:<5} {:>12} {:>14} {:>12} {:>14} {:>9}",
                "port",
                "device",
                "zone",
                "link",
                "rx-pkts",
                "rx-bytes",
                "tx-pkts",
                "tx-bytes",
                "tx-drops"
            );
            for p in data["ports"].as_array().into_iter().flatten() {
                println!(
                    "{:<14} {:<12} {:<10} {:<5} {:>12} {:>14} {:>12} {:>14} {:>9}",
                    p["name"].as_str().unwrap_or("?"),
                    p["device"].as_str().unwrap_or("?"),
                    p["zone"].as_str().unwrap_or("?"),
                    if p["link_up"].as_bool().unwrap_or(false) {
                        "up"
                    } else {
                        "down"
                    },
                    p["rx_packets"],
                    p["rx_bytes"],
                    p["tx_packets"],
                    p["tx_bytes"],
                    p["tx_drops"]
                );
            }
        }
        "show running config" => print!("{}", data["text"].as_str().unwrap_or("")),
        c if c.starts_with("show session all") => {
            println!(
                "{:<20} {:<10} {:<8} {:<12} {:<9} {:<40} {:>8} {:>8}",
                "id", "app", "state", "from->to", "proto", "source -> destination", "pkts", "bytes"
            );
            for v in data.as_array().into_iter().flatten() {
                let flow = format!(
                    "{}:{} -> {}:{}",
                    t(&v["src"]),
                    t(&v["sport"]),
                    t(&v["dst"]),
                    t(&v["dport"])
                );
                let pkts =
                    v["packets_c2s"].as_u64().unwrap_or(0) + v["packets_s2c"].as_u64().unwrap_or(0);
                let bytes =
                    v["bytes_c2s"].as_u64().unwrap_or(0) + v["bytes_s2c"].as_u64().unwrap_or(0);
                println!(
                    "{:<20} {:<10} {:<8} {:<12} {:<9} {:<40} {:>8} {:>8}",
                    t(&v["id"]),
                    t(&v["app"]),
                    t(&v["state"]),
                    format!("{}->{}", t(&v["from_zone"]), t(&v["to_zone"])),
                    t(&v["proto"]),
                    flow,
                    pkts,
                    bytes
                );
            }
            println!(
                "total sessions shown: {}",
                data.as_array().map_or(0, |a| a.len())
            );
        }
        c if c.starts_with("show session id") => {
            for key in [
                "id",
                "worker",
                "state",
                "app",
                "rule",
                "proto",
                "src",
                "sport",
                "dst",
                "dport",
                "reverse_key",
                "from_zone",
                "to_zone",
                "ingress",
                "egress",
                "packets_c2s",
                "packets_s2c",
                "bytes_c2s",
                "bytes_s2c",
                "start",
                "timeout_seconds",
                "remaining_seconds",
            ] {
                println!("{key:<18} {}", t(&data[key]));
            }
            for side in data["tcp_sides"].as_array().into_iter().flatten() {
                println!(
                    "tcp {:<14} flags seen {:<8} window scale {} max window {}",
                    t(&side["side"]),
                    t(&side["flags_seen"]),
                    t(&side["window_scale"]),
                    t(&side["max_window"])
                );
            }
        }
        "show counter global" => {
            for (k, v) in data.as_object().into_iter().flatten() {
                match v.as_object() {
                    Some(_) => print_nonzero(k, v),
                    None => println!("{k:<40} {}", t(v)),
                }
            }
        }
        c if c.starts_with("show zone-protection") => {
            println!(
                "{:<12} {:<16} {:<9} {:<7} {:>9} {:>9} {:>9} {:>9} {:>11} {:>10} {:>10} {:<6}",
                "zone",
                "profile",
                "flood",
                "enabled",
                "alarm",
                "activate",
                "maximal",
                "rate/s",
                "allowed",
                "red-drop",
                "max-drop",
                "state"
            );
            for z in data.as_array().into_iter().flatten() {
                let floods = z["floods"].as_array().cloned().unwrap_or_default();
                if floods.is_empty() {
                    println!(
                        "{:<12} {:<16}",
                        t(&z["zone"]),
                        t(&z["zone_protection_profile"])
                    );
                }
                for f in &floods {
                    let c = &f["counters"];
                    let state = [
                        ("alarm", "alarm"),
                        ("active", "red"),
                        ("above-maximal", "max"),
                    ]
                    .iter()
                    .filter(|(k, _)| c[*k].as_u64().unwrap_or(0) > 0)
                    .map(|(_, word)| *word)
                    .collect::<Vec<_>>()
                    .join(",");
                    println!(
                        "{:<12} {:<16} {:<9} {:<7} {:>9} {:>9} {:>9} {:>9} {:>11} {:>10} {:>10} {:<6}",
                        t(&z["zone"]),
                        t(&z["zone_protection_profile"]),
                        t(&f["flood"]),
                        t(&f["enable"]),
                        t(&f["alarm_rate"]),
                        t(&f["activate_rate"]),
                        t(&f["maximal_rate"]),
                        t(&c["rate"]),
                        t(&c["allowed"]),
                        t(&c["red-drop"]),
                        t(&c["maximal-drop"]),
                        if state.is_empty() { "-".into() } else { state }
                    );
                }
            }
        }
        _ => println!("{}", serde_json::to_string_pretty(data).unwrap_or_default()),
    }
}

/// The non-zero counters under `v`, one a line, named by their dotted path.
fn print_nonzero(path: &str, v: &Value) {
    match v {
        Value::Object(map) => {
            for (name, n) in map {
                print_nonzero(&format!("{path}.{name}"), n);
            }
        }
        n if n.as_u64().unwrap_or(0) > 0 => println!("{path:<40} {}", t(n)),
        _ => {}
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let path = match socket_path(&cli) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("synwallctl: {e}");
            return ExitCode::from(2);
        }
    };
    let command = cli.command.join(" ");
    let req = Request {
        command: command.clone(),
        args: Vec::new(),
    };
    match request(&path, &req) {
        Ok(resp) if resp.ok => {
            if cli.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&resp.data).unwrap_or_default()
                );
            } else {
                print_table(&command, &resp.data);
            }
            ExitCode::SUCCESS
        }
        Ok(resp) => {
            eprintln!(
                "synwallctl: {}",
                resp.error.unwrap_or_else(|| "error".into())
            );
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("synwallctl: {e}");
            ExitCode::from(1)
        }
    }
}
