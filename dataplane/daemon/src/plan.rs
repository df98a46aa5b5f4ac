//! What the dataplane needs from the config, resolved once at start: ports, virtual wires, workers.

use std::path::{Path, PathBuf};

use synwall_engine::config::Config;

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
    pub config: Config,
    pub eal: Vec<String>,
    pub workers: Vec<u32>,
    pub mbufs: u32,
    pub burst: usize,
    pub ports: Vec<PortPlan>,
    pub socket: PathBuf,
}

impl Plan {
    /// Loads and validates the config; the error lists every problem, one a line.
    pub fn load(path: &Path) -> Result<Plan, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("synwall: cannot read config {}: {e}", path.display()))?;
        let config = Config::from_yaml_str(&text).map_err(|errs| {
            format!(
                "synwall: {} has {} error(s):\n{errs}",
                path.display(),
                errs.0.len()
            )
        })?;
        let dp = &config.dataplane;
        let mut ports: Vec<PortPlan> = dp
            .ports
            .iter()
            .map(|p| PortPlan {
                name: p.name.clone(),
                device: p.device.clone(),
                zone: p.zone.clone(),
                peer: None,
            })
            .collect();
        for wire in &dp.vwires {
            // Validation guarantees two distinct, existing ports per wire.
            let ia = ports.iter().position(|p| p.name == wire[0]);
            let ib = ports.iter().position(|p| p.name == wire[1]);
            if let (Some(ia), Some(ib)) = (ia, ib) {
                ports[ia].peer = Some(ib);
                ports[ib].peer = Some(ia);
            }
        }
        Ok(Plan {
            config_path: path.to_path_buf(),
            config_text: text,
            eal: dp.eal.clone(),
            workers: dp.workers.clone(),
            mbufs: u32::try_from(dp.mbufs).unwrap_or(u32::MAX),
            burst: usize::from(dp.burst).min(dpdk::BURST_MAX),
            ports,
            socket: config.control.socket.clone(),
            config,
        })
    }
}
