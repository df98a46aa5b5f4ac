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
