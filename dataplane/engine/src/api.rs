//! The management socket protocol between `synwall` and `synwallctl` / `synwall-control`.
//!
//! One request per connection: a single JSON line `{"command": "show system status", ...}`; one
//! JSON response `{"ok": true, "data": ...}` or `{"ok": false, "error": "..."}`. Requests larger than
//! [`MAX_REQUEST_BYTES`] are refused.

use serde::{Deserialize, Serialize};

/// Largest request the dataplane reads.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Request {
    /// The command words, e.g. "show system status", "show session all".
    pub command: String,
    /// Command arguments (filters, ids), as words after the command.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Response {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default)]
    pub data: serde_json::Value,
}

impl Response {
    pub fn ok(data: serde_json::Value) -> Self {
        Response {
            ok: true,
            error: None,
            data,
        }
    }
    pub fn error(msg: impl Into<String>) -> Self {
        Response {
            ok: false,
            error: Some(msg.into()),
            data: serde_json::Value::Null,
        }
    }
}

/// One session as the CLI shows it (`show session all`, `show session id N`).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct SessionView {
    pub id: u64,
    pub worker: u8,
    /// Client side (the opener) and server side.
    pub src: String,
    pub dst: String,
    pub sport: u16,
    pub dport: u16,
    pub proto: String,
    /// The flow key as the server sends (reverse key); a NAT session will show its second key here.
    pub reverse_key: String,
    pub state: String,
    /// TCP: what each side has sent (flags seen, window scale), client then server.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tcp_sides: Vec<TcpSideView>,
    pub ingress: String,
    pub egress: String,
    pub from_zone: String,
    pub to_zone: String,
    pub rule: String,
    pub app: String,
    pub packets_c2s: u64,
    pub packets_s2c: u64,
    pub bytes_c2s: u64,
    pub bytes_s2c: u64,
    pub start: String,
    pub timeout_seconds: u64,
    pub remaining_seconds: u64,
}

/// One side of a TCP session.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct TcpSideView {
    pub side: String,
    pub flags_seen: String,
    pub window_scale: u8,
    pub max_window: u32,
}

/// Filters of `show session all` / `clear session all` (PAN-OS words: `source`, `destination`,
/// `source-port`, `destination-port`, `protocol`, `application`, `state`, `from`, `to`).
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
pub struct SessionFilter {
    pub source: Option<String>,
    pub destination: Option<String>,
    pub source_port: Option<u16>,
    pub destination_port: Option<u16>,
    /// Either port.
    pub port: Option<u16>,
    pub protocol: Option<String>,
    pub application: Option<String>,
    pub state: Option<String>,
    pub from_zone: Option<String>,
    pub to_zone: Option<String>,
}

impl SessionFilter {
    /// Parses `filter` words: `source 10.0.0.1 destination-port 80 ...`.
    pub fn parse(words: &[String]) -> Result<SessionFilter, String> {
        let mut f = SessionFilter::default();
        let mut it = words.iter().filter(|w| w.as_str() != "filter");
        while let Some(word) = it.next() {
            let value = it
                .next()
                .ok_or_else(|| format!("filter {word} needs a value"))?;
            let port = || {
                value
                    .parse::<u16>()
                    .map_err(|_| format!("{word}: {value:?} is not a port"))
            };
            match word.as_str() {
                "source" | "src" => f.source = Some(value.clone()),
                "destination" | "dst" => f.destination = Some(value.clone()),
                "source-port" | "sport" => f.source_port = Some(port()?),
                "destination-port" | "dport" => f.destination_port = Some(port()?),
                "port" => f.port = Some(port()?),
                "protocol" | "proto" => f.protocol = Some(value.to_lowercase()),
                "application" | "app" => f.application = Some(value.clone()),
                "state" => f.state = Some(value.to_uppercase()),
                "from" | "from-zone" => f.from_zone = Some(value.clone()),
                "to" | "to-zone" => f.to_zone = Some(value.clone()),
                other => return Err(format!("unknown filter {other:?} (source, destination, source-port, destination-port, port, protocol, application, state, from, to)")),
            }
        }
        Ok(f)
    }

    pub fn matches(&self, s: &SessionView) -> bool {
        let eq = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        let port_eq = |want: Option<u16>, have: u16| want.is_none_or(|w| w == have);
        eq(&self.source, &s.src)
            && eq(&self.destination, &s.dst)
            && port_eq(self.source_port, s.sport)
            && port_eq(self.destination_port, s.dport)
            && self.port.is_none_or(|p| p == s.sport || p == s.dport)
            && eq(&self.protocol, &s.proto)
            && eq(&self.application, &s.app)
            && eq(&self.state, &s.state)
            && eq(&self.from_zone, &s.from_zone)
            && eq(&self.to_zone, &s.to_zone)
    }
}
