//! Traffic-log records: what a worker hands to the management thread when a session ends or a
//! packet is refused before a session exists.
//!
//! A [`SessionRecord`] is a fixed-size `Copy` value: no strings, no heap. Names (ports, zones,
//! rules, applications) travel as small numbers and are resolved by the writer through a
//! [`NameTable`]. Records leave workers through a bounded lock-free [`RecordRing`]; a full ring
//! refuses the record and the worker counts the loss, it never blocks.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crossbeam::queue::ArrayQueue;

use crate::reasons::{Action, DropReason, EndReason};

/// "No rule / no app" marker for the u16 name ids.
pub use synwall_types::ids::NONE_ID;
/// IANA protocol name as the log writes it.
pub use synwall_types::proto::proto_name;

/// Record kinds (`subtype` in the log).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(u8)]
pub enum Subtype {
    Start,
    #[default]
    End,
    Deny,
    Drop,
}

impl Subtype {
    pub fn label(self) -> &'static str {
        match self {
            Subtype::Start => "start",
            Subtype::End => "end",
            Subtype::Deny => "deny",
            Subtype::Drop => "drop",
        }
    }
}

/// One traffic-log record, in binary form. `sent` is client to server.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SessionRecord {
    pub time_ns: u64,
    pub subtype: Subtype,
    pub session_id: u64,
    /// Addresses as 16 bytes (IPv4 v4-mapped) and the family (4 or 6).
    pub src: [u8; 16],
    pub dst: [u8; 16],
    pub family: u8,
    pub sport: u16,
    pub dport: u16,
    pub proto: u8,
    /// Port indices (zones are the ports' zones); `u8::MAX` for unknown.
    pub ingress: u8,
    pub egress: u8,
    pub rule: u16,
    pub app: u16,
    pub action: Action,
    pub end_reason: EndReason,
    /// Why the packet was refused (deny/drop records).
    pub drop_reason: Option<DropReason>,
    /// TCP flags of the refused packet (non-SYN drops).
    pub tcp_flags: u8,
    pub packets_sent: u64,
    pub packets_received: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub start_ns: u64,
    pub elapsed_ns: u64,
    /// TLS server name (app-ID), NUL-padded.
    pub sni: [u8; 48],
}

impl Default for SessionRecord {
    fn default() -> Self {
        SessionRecord {
            time_ns: 0,
            subtype: Subtype::End,
            session_id: 0,
            src: [0; 16],
            dst: [0; 16],
            family: 4,
            sport: 0,
            dport: 0,
            proto: 0,
            ingress: u8::MAX,
            egress: u8::MAX,
            rule: NONE_ID,
            app: NONE_ID,
            action: Action::Allow,
            end_reason: EndReason::NotApplicable,
            drop_reason: None,
            tcp_flags: 0,
            packets_sent: 0,
            packets_received: 0,
            bytes_sent: 0,
            bytes_received: 0,
            start_ns: 0,
            elapsed_ns: 0,
            sni: [0; 48],
        }
    }
}

const _: () = assert!(std::mem::size_of::<SessionRecord>() <= 192);

/// Names for the ids in records, owned by the writer (management thread).
#[derive(Clone, Debug, Default)]
pub struct NameTable {
    pub ports: Vec<String>,
    /// Zone of each port, by port index.
    pub zones: Vec<String>,
    pub rules: Vec<String>,
    pub apps: Vec<String>,
}

fn name(list: &[String], id: usize) -> &str {
    list.get(id).map(String::as_str).unwrap_or("")
}

/// Address from 16 bytes and a family.
pub fn ip_from(bytes: &[u8; 16], family: u8) -> IpAddr {
    if family == 4 {
        IpAddr::V4(Ipv4Addr::new(bytes[12], bytes[13], bytes[14], bytes[15]))
    } else {
        IpAddr::V6(Ipv6Addr::from(*bytes))
    }
}

/// TCP flags as PAN-OS-style letters (S F R P A U E C order: "SA", "FA", "PA", "RA", "A").
pub fn flag_letters(flags: u8) -> String {
    synwall_types::tcp::flag_code(flags).to_string()
}

/// RFC 3339 UTC time with microseconds from unix nanoseconds (civil-from-days, Howard Hinnant).
pub fn rfc3339(unix_ns: u64) -> String {
    let secs = unix_ns / 1_000_000_000;
    let micros = (unix_ns % 1_000_000_000) / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

impl SessionRecord {
    pub fn src_ip(&self) -> IpAddr {
        ip_from(&self.src, self.family)
    }

    pub fn dst_ip(&self) -> IpAddr {
        ip_from(&self.dst, self.family)
    }

    pub fn sni_str(&self) -> &str {
        let end = self
            .sni
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(self.sni.len());
        std::str::from_utf8(&self.sni[..end]).unwrap_or("")
    }

    /// The record as one JSON object (INTERFACE.md's traffic-log fields), appended to `out`
    /// without a newline. Management path: allocates.
    pub fn to_json(&self, names: &NameTable) -> serde_json::Value {
        let port = |p: u8| name(&names.ports, p as usize).to_string();
        let zone = |p: u8| name(&names.zones, p as usize).to_string();
        let rule = if self.rule == NONE_ID {
            ""
        } else {
            name(&names.rules, self.rule as usize)
        };
        let app = if self.app == NONE_ID {
            "incomplete"
        } else {
            name(&names.apps, self.app as usize)
        };
        let mut v = serde_json::json!({
            "time": rfc3339(self.time_ns),
            "type": "TRAFFIC",
            "subtype": self.subtype.label(),
            "session_id": self.session_id,
            "src": self.src_ip().to_string(),
            "dst": self.dst_ip().to_string(),
            "sport": self.sport,
            "dport": self.dport,
            "proto": proto_name(self.proto),
            "from_zone": zone(self.ingress),
            "to_zone": zone(self.egress),
            "ingress": port(self.ingress),
            "egress": port(self.egress),
            "rule": rule,
            "app": app,
            "action": self.action.label(),
            "session_end_reason": self.end_reason.label(),
            "packets_sent": self.packets_sent,
            "packets_received": self.packets_received,
            "bytes_sent": self.bytes_sent,
            "bytes_received": self.bytes_received,
            "packets": self.packets_sent + self.packets_received,
            "bytes": self.bytes_sent + self.bytes_received,
            "start": rfc3339(self.start_ns),
            "elapsed": self.elapsed_ns / 1_000_000_000,
        });
        if let Some(reason) = self.drop_reason {
            v["drop_reason"] = reason.label().into();
            if reason == DropReason::NonSyn {
                let flags = flag_letters(self.tcp_flags);
                v["flags"] = flags.clone().into();
                v["message"] = format!("Not a valid SYN packet [{flags}]").into();
            }
        }
        if !self.sni_str().is_empty() {
            v["sni"] = self.sni_str().into();
        }
        v
    }

    /// `to_json` as one line with a trailing newline, appended to `out`.
    pub fn write_json_line(&self, names: &NameTable, out: &mut String) {
        let _ = writeln!(out, "{}", self.to_json(names));
    }
}

/// The bounded lock-free ring from a worker to the management thread.
pub struct RecordRing {
    queue: ArrayQueue<SessionRecord>,
}

impl RecordRing {
    pub fn new(capacity: usize) -> Self {
        RecordRing {
            queue: ArrayQueue::new(capacity.max(1)),
        }
    }

    /// Offers a record; false when the ring is full (the caller counts the loss). Hot path: no
    /// allocation, no lock, no syscall.
    #[inline]
    pub fn try_push(&self, record: SessionRecord) -> bool {
        self.queue.push(record).is_ok()
    }

    pub fn pop(&self) -> Option<SessionRecord> {
        self.queue.pop()
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.queue.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> NameTable {
        NameTable {
            ports: vec!["ethernet1/1".into(), "ethernet1/2".into()],
            zones: vec!["trust".into(), "untrust".into()],
            rules: vec!["allow-web".into()],
            apps: vec!["web-browsing".into()],
        }
    }

    fn v4(a: [u8; 4]) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[10] = 0xff;
        b[11] = 0xff;
        b[12..].copy_from_slice(&a);
        b
    }

    #[test]
    fn rfc3339_known_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            rfc3339(951_782_400_000_000_000),
            "2000-02-29T00:00:00.000000Z"
        );
        assert_eq!(
            rfc3339(1_795_392_000_123_456_789),
            "2026-11-23T00:00:00.123456Z"
        );
    }

    #[test]
    fn end_record_has_every_interface_field() {
        let r = SessionRecord {
            time_ns: 1_795_392_001_000_000_000,
            session_id: 42,
            src: v4([10, 0, 0, 1]),
            dst: v4([10, 0, 0, 2]),
            sport: 40000,
            dport: 80,
            proto: 6,
            ingress: 0,
            egress: 1,
            rule: 0,
            app: 0,
            end_reason: EndReason::TcpFin,
            packets_sent: 6,
            packets_received: 5,
            bytes_sent: 500,
            bytes_received: 1500,
            start_ns: 1_795_392_000_000_000_000,
            elapsed_ns: 1_000_000_000,
            ..Default::default()
        };
        let mut line = String::new();
        r.write_json_line(&names(), &mut line);
        assert!(line.ends_with('\n'));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        for field in [
            "time",
            "type",
            "subtype",
            "session_id",
            "src",
            "dst",
            "sport",
            "dport",
            "proto",
            "from_zone",
            "to_zone",
            "ingress",
            "egress",
            "rule",
            "app",
            "action",
            "session_end_reason",
            "packets_sent",
            "packets_received",
            "bytes_sent",
            "bytes_received",
            "start",
            "elapsed",
        ] {
            assert!(v.get(field).is_some(), "missing {field}");
        }
        assert_eq!(v["type"], "TRAFFIC");
        assert_eq!(v["subtype"], "end");
        assert_eq!(v["src"], "10.0.0.1");
        assert_eq!(v["proto"], "tcp");
        assert_eq!(v["from_zone"], "trust");
        assert_eq!(v["to_zone"], "untrust");
        assert_eq!(v["egress"], "ethernet1/2");
        assert_eq!(v["rule"], "allow-web");
        assert_eq!(v["app"], "web-browsing");
        assert_eq!(v["session_end_reason"], "tcp-fin");
        assert_eq!(v["bytes_received"], 1500);
        assert_eq!(v["elapsed"], 1);
    }

    #[test]
    fn non_syn_drop_record_says_not_a_valid_syn() {
        let r = SessionRecord {
            subtype: Subtype::Drop,
            action: Action::Drop,
            drop_reason: Some(DropReason::NonSyn),
            tcp_flags: 0x18,
            family: 6,
            src: [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            ..Default::default()
        };
        let v = r.to_json(&names());
        assert_eq!(v["message"], "Not a valid SYN packet [PA]");
        assert_eq!(v["flags"], "PA");
        assert_eq!(v["src"], "2001:db8::1");
        assert_eq!(v["session_end_reason"], "n/a");
        assert_eq!(flag_letters(0x12), "SA");
        assert_eq!(flag_letters(0x11), "FA");
        assert_eq!(flag_letters(0x14), "RA");
    }

    #[test]
    fn ring_refuses_when_full() {
        let ring = RecordRing::new(2);
        assert!(ring.try_push(SessionRecord::default()));
        assert!(ring.try_push(SessionRecord::default()));
        assert!(!ring.try_push(SessionRecord::default()));
        assert_eq!(ring.len(), 2);
        assert!(ring.pop().is_some());
        assert!(ring.try_push(SessionRecord::default()));
    }
}
