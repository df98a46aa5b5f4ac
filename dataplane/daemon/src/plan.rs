//! What the dataplane needs from the config, resolved once at start: ports, virtual wires, workers.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// One port as configured.
#[derive(Clone, Debug)]
pub struct PortPlan {
    pub name: String,
    pub device: String,
    pub zone: String,
    /// Index (into `Plan::ports`) of the port its virtual wire sends to.
    pub peer: Option<usize>,
}

/// The dataplane's start-up plan.
#[derive(Clone, Debug)]
pub struct Plan {
    pub config_path: PathBuf,
    pub config_text: String,
    pub eal: Vec<String>,
    pub workers: Vec<u32>,
    pub mbufs: u32,
    pub burst: usize,
    pub ports: Vec<PortPlan>,
    pub socket: PathBuf,
    pub stats: PathBuf,
}

#[derive(Deserialize)]
struct RawPort {
    name: String,
    device: String,
    zone: String,
}

impl Plan {
    pub fn load(path: &Path) -> Result<Plan, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("synwall: cannot read config {}: {e}", path.display()))?;
        let doc: serde_yaml::Value =
            serde_yaml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let dp = &doc["dataplane"];
        let eal: Vec<String> = serde_yaml::from_value(dp["eal"].clone()).unwrap_or_default();
        let workers: Vec<u32> = serde_yaml::from_value(dp["workers"].clone())
            .map_err(|e| format!("{}: dataplane.workers: {e}", path.display()))?;
        let mbufs: u32 = serde_yaml::from_value(dp["mbufs"].clone()).unwrap_or(16383);
        let raw_ports: Vec<RawPort> = serde_yaml::from_value(dp["ports"].clone())
            .map_err(|e| format!("{}: dataplane.ports: {e}", path.display()))?;
        let vwires: Vec<[String; 2]> =
            serde_yaml::from_value(dp["vwires"].clone()).unwrap_or_default();
        let mut ports: Vec<PortPlan> = raw_ports
            .into_iter()
            .map(|p| PortPlan {
                name: p.name,
                device: p.device,
                zone: p.zone,
                peer: None,
            })
            .collect();
        for [a, b] in &vwires {
            let ia = ports.iter().position(|p| &p.name == a);
            let ib = ports.iter().position(|p| &p.name == b);
            match (ia, ib) {
                (Some(ia), Some(ib)) => {
                    ports[ia].peer = Some(ib);
                    ports[ib].peer = Some(ia);
                }
                _ => {
                    return Err(format!(
                        "{}: dataplane.vwires: unknown port in [{a}, {b}]",
                        path.display()
                    ))
                }
            }
        }
        let control = &doc["control"];
        let socket = control["socket"]
            .as_str()
            .unwrap_or("/run/synwall/synwall.sock")
            .into();
        let stats = control["stats"]
            .as_str()
            .unwrap_or("/dev/shm/synwall.stats")
            .into();
        Ok(Plan {
            config_path: path.to_path_buf(),
            config_text: text,
            eal,
            workers,
            mbufs,
            burst: 32,
            ports,
            socket,
            stats,
        })
    }
}
