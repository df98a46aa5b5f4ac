//! The management socket: connections read without blocking the management loop, one
//! request line each, one reply each.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::time::{Duration, Instant};

use synwall_engine::api::{Response, MAX_REQUEST_BYTES};

/// Control connections whose request is still arriving, at most this many at once; more are
/// answered "busy" and closed.
pub(super) const MAX_PENDING: usize = 32;
/// Time a client has to send its whole request, from its connection.
pub(super) const REQUEST_DEADLINE: Duration = Duration::from_secs(2);
/// Time the daemon gives a client to take its reply.
pub(super) const REPLY_TIMEOUT: Duration = Duration::from_secs(2);

/// A control connection whose request line is still arriving. Reads never block the management
/// loop: a client that connects and says nothing, or drips its request a byte at a time, costs
/// the loop nothing but one non-blocking read per turn until its deadline.
pub(super) struct Pending {
    pub(super) stream: UnixStream,
    pub(super) buf: Vec<u8>,
    pub(super) deadline: Instant,
}

/// What a pending connection has come to.
pub(super) enum Arrival {
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
    pub(super) fn poll(&mut self, now: Instant) -> Arrival {
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
pub(super) fn reply(stream: &UnixStream, response: &Response) {
    let mut out = serde_json::to_vec(response).unwrap_or_default();
    out.push(b'\n');
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_write_timeout(Some(REPLY_TIMEOUT));
    let _ = (&*stream).write_all(&out);
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
