//! The traffic log's writer: JSON lines to a file (reopened on SIGHUP for logrotate) and,
//! when configured, RFC 5424 syslog over UDP.

use std::fs::{File, OpenOptions};
use std::io::BufWriter;
use std::path::PathBuf;

/// Appends JSON lines to the traffic log (reopened when logrotate moves it: SIGHUP) and sends
/// them as RFC 5424 syslog messages over UDP when `logging.syslog.target` is set.
pub(super) struct LogWriter {
    pub(super) path: Option<PathBuf>,
    pub(super) out: Option<BufWriter<File>>,
    pub(super) syslog: Option<std::net::UdpSocket>,
    pub(super) hostname: String,
}

/// Facility local0 (16), severity informational (6).
const SYSLOG_PRI: u32 = 16 * 8 + 6;

impl LogWriter {
    /// One record as an RFC 5424 message: `<PRI>1 TIMESTAMP HOST APP PROCID MSGID - MSG`.
    pub(super) fn send_syslog(&self, json_line: &str, time: &str) -> bool {
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

    pub(super) fn connect_syslog(target: Option<&str>) -> Option<std::net::UdpSocket> {
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
    pub(super) fn open(path: Option<PathBuf>, syslog: Option<&str>) -> Self {
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

    pub(super) fn reopen(&mut self) {
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
