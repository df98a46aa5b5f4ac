//! The hostile capture of `synwall-gen hostile`: every kind of malformed or malicious frame the
//! parser and the engine must survive, interleaved with valid TCP and UDP sessions whose
//! outcome is known.
//!
//! Groups (see `docs/robustness.md` for the list with counts): frames truncated at every header
//! boundary, lying length fields, bad IHL and TCP data offsets, IP options, IPv6 extension
//! chains too long or cut, cut 802.1Q/QinQ tags, ICMP errors quoting cut headers, the 256 TCP
//! flag bytes on flows with no session, land and broadcast/multicast/unspecified sources,
//! fragments (tiny, overlapping, orphaned, oversized, valid), seeded random bytes and seeded
//! bit-flipped copies of valid frames.
//!
//! Every frame carries its [`Fate`] under the default session settings and an allow-all policy
//! (`tcp_reject_non_syn: true`, `asymmetric_path: drop`): forwarded, or dropped for a named
//! reason. The fates are written from the protocols' rules, not by running the engine, so a
//! test comparing them with the engine checks the engine. Random and bit-flipped frames are
//! [`Fate::Unknown`]: they bound the other counts from above.
//!
//! Addresses keep the groups apart: valid sessions use 10.0.0.0/8 and 2001:db8:100::/48 ->
//! 2001:db8::10, known hostile frames 192.0.2.0/24 -> 198.51.100.0/24 and 2001:db8:bad:: ->
//! 2001:db8:beef::, bit-flip templates 172.16.0.0/16 and fd00:ac10::/32. Each is at least
//! four bits from the others, and copies get at most two flipped bits, so no mangled copy can
//! land in a valid session or a known hostile flow. Deterministic: one seed, a SplitMix64.

mod attacks;
mod malformed;
mod valid;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use synwall_engine::reasons::{DropReason, EndReason};
use synwall_testkit::checksum::internet_checksum;
use synwall_testkit::frame::{FrameSpec, IpPair};
use synwall_testkit::Rng;

use super::scenarios::SCENARIO_EPOCH_NS;
use super::Frames;

/// The seed of `synwall-gen hostile` unless `--seed` says otherwise.
pub const HOSTILE_SEED: u64 = 0x0bad_5eed;
/// Capture time between hostile frames (a whole number of microseconds: exact in pcap).
const GAP_NS: u64 = 50_000;

/// What the engine must do with a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    Forward,
    Drop(DropReason),
    /// Random or bit-flipped: anything but a panic.
    Unknown,
}

/// A named group of hostile frames.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub name: &'static str,
    pub about: &'static str,
    pub frames: usize,
}

/// A valid session among the garbage, as its end record must show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidSession {
    pub name: &'static str,
    pub client: IpAddr,
    pub server: IpAddr,
    pub client_port: u16,
    pub server_port: u16,
    /// `tcp`, `udp`, `icmp`, `ipv6-icmp`: the log's spelling.
    pub proto: &'static str,
    pub end_reason: EndReason,
    /// Packets each way that the session counts (a datagram's later fragments and ICMP errors
    /// about the session are forwarded but not counted in it).
    pub packets_sent: u64,
    pub packets_received: u64,
}

/// The capture and what must come of it.
pub struct HostileCapture {
    /// In timestamp order.
    pub frames: Frames,
    /// `fates[i]` is the fate of `frames[i]`.
    pub fates: Vec<Fate>,
    pub groups: Vec<Group>,
    pub sessions: Vec<ValidSession>,
    /// Sessions the hostile frames of known fate open (lone SYNs, flows of valid fragments,
    /// ...): each ends `aged-out`.
    pub other_sessions: u64,
}

impl HostileCapture {
    pub fn new(seed: u64) -> HostileCapture {
        let mut b = Builder::new(seed);
        malformed::truncated(&mut b);
        malformed::lying_lengths(&mut b);
        malformed::bad_offsets(&mut b);
        malformed::ip_options(&mut b);
        malformed::ipv6_extensions(&mut b);
        malformed::vlan_tags(&mut b);
        malformed::icmp_errors(&mut b);
        attacks::tcp_flags(&mut b);
        attacks::addresses(&mut b);
        attacks::fragments(&mut b);
        attacks::random_bytes(&mut b);
        attacks::bit_flips(&mut b);
        // The valid sessions start spread over the time the hostile frames take.
        let span_ns = b.hostile.len() as u64 * GAP_NS;
        let (valid_frames, sessions) = valid::sessions(SCENARIO_EPOCH_NS, span_ns);
        let mut all: Vec<(u64, Vec<u8>, Fate)> = b
            .hostile
            .into_iter()
            .enumerate()
            .map(|(i, (frame, fate))| (SCENARIO_EPOCH_NS + i as u64 * GAP_NS, frame, fate))
            .chain(
                valid_frames
                    .into_iter()
                    .map(|(ts, frame)| (ts, frame, Fate::Forward)),
            )
            .collect();
        // Stable: frames of one flow keep their order on equal timestamps.
        all.sort_by_key(|(ts, _, _)| *ts);
        let fates = all.iter().map(|(_, _, fate)| *fate).collect();
        HostileCapture {
            frames: all.into_iter().map(|(ts, frame, _)| (ts, frame)).collect(),
            fates,
            groups: b.groups,
            sessions,
            other_sessions: b.other_sessions,
        }
    }

    /// Drops of known frames, by reason.
    pub fn known_drops(&self) -> BTreeMap<DropReason, u64> {
        let mut drops = BTreeMap::new();
        for fate in &self.fates {
            if let Fate::Drop(reason) = fate {
                *drops.entry(*reason).or_insert(0) += 1;
            }
        }
        drops
    }

    /// Known frames that must be forwarded.
    pub fn known_forwarded(&self) -> u64 {
        self.count(Fate::Forward)
    }

    /// Frames of unknown fate.
    pub fn unknown(&self) -> u64 {
        self.count(Fate::Unknown)
    }

    /// Sessions that must end, by reason (more may end: random frames open some).
    pub fn known_session_ends(&self) -> BTreeMap<EndReason, u64> {
        let mut ends = BTreeMap::new();
        for s in &self.sessions {
            *ends.entry(s.end_reason).or_insert(0) += 1;
        }
        *ends.entry(EndReason::AgedOut).or_insert(0) += self.other_sessions;
        ends
    }

    fn count(&self, wanted: Fate) -> u64 {
        self.fates.iter().filter(|&&f| f == wanted).count() as u64
    }
}

/// The capture with [`HOSTILE_SEED`].
pub fn hostile_capture() -> HostileCapture {
    HostileCapture::new(HOSTILE_SEED)
}

/// Collects the hostile frames, group by group, in capture order.
struct Builder {
    rng: Rng,
    hostile: Vec<(Vec<u8>, Fate)>,
    groups: Vec<Group>,
    other_sessions: u64,
}

impl Builder {
    fn new(seed: u64) -> Self {
        Builder {
            rng: Rng::new(seed),
            hostile: Vec::new(),
            groups: Vec::new(),
            other_sessions: 0,
        }
    }

    fn push(&mut self, frame: Vec<u8>, fate: Fate) {
        self.hostile.push((frame, fate));
    }

    fn drop(&mut self, frame: Vec<u8>, reason: DropReason) {
        self.push(frame, Fate::Drop(reason));
    }

    /// Runs `fill`, which pushes the frames of one group.
    fn group(&mut self, name: &'static str, about: &'static str, fill: impl FnOnce(&mut Self)) {
        let start = self.hostile.len();
        fill(self);
        self.groups.push(Group {
            name,
            about,
            frames: self.hostile.len() - start,
        });
    }
}

/// Known hostile IPv4 addresses: 192.0.2.`src` -> 198.51.100.`dst`.
fn v4(src: u8, dst: u8) -> IpPair {
    IpPair::V4 {
        src: Ipv4Addr::new(192, 0, 2, src),
        dst: Ipv4Addr::new(198, 51, 100, dst),
    }
}

/// Known hostile IPv6 addresses: 2001:db8:bad::`src` -> 2001:db8:beef::`dst`.
fn v6(src: u16, dst: u16) -> IpPair {
    IpPair::V6 {
        src: Ipv6Addr::new(0x2001, 0xdb8, 0xbad, 0, 0, 0, 0, src),
        dst: Ipv6Addr::new(0x2001, 0xdb8, 0xbeef, 0, 0, 0, 0, dst),
    }
}

/// A client's frame spec without padding, so that cuts and lengths are exactly as written.
fn spec(ips: IpPair) -> FrameSpec {
    FrameSpec {
        pad_to_minimum: false,
        ..FrameSpec::from_client(ips)
    }
}

fn put16(frame: &mut [u8], at: usize, value: u16) {
    frame[at..at + 2].copy_from_slice(&value.to_be_bytes());
}

/// Sets an IPv4 total length and recomputes the header checksum (a firewall that checked
/// checksums would drop these frames for the wrong reason).
fn set_ipv4_total(frame: &mut [u8], l3: usize, total: u16) {
    put16(frame, l3 + 2, total);
    fix_ipv4_checksum(frame, l3);
}

fn fix_ipv4_checksum(frame: &mut [u8], l3: usize) {
    let ihl = usize::from(frame[l3] & 0x0f) * 4;
    if ihl < 20 || frame.len() < l3 + ihl {
        return;
    }
    put16(frame, l3 + 10, 0);
    let sum = internet_checksum(&frame[l3..l3 + ihl]);
    put16(frame, l3 + 10, sum);
}

/// Inserts IPv4 options (a multiple of 4 bytes, at most 40) after the header of an untagged
/// IPv4 frame, fixing IHL, total length and checksum.
fn with_ip_options(frame: &[u8], options: &[u8]) -> Vec<u8> {
    const L3: usize = 14;
    assert!(
        options.len().is_multiple_of(4) && options.len() <= 40,
        "bad options"
    );
    let ihl = usize::from(frame[L3] & 0x0f) * 4;
    let mut out = frame[..L3 + ihl].to_vec();
    out.extend_from_slice(options);
    out.extend_from_slice(&frame[L3 + ihl..]);
    out[L3] = 0x40 | ((ihl + options.len()) / 4) as u8;
    let total = u16::from_be_bytes([frame[L3 + 2], frame[L3 + 3]]) + options.len() as u16;
    set_ipv4_total(&mut out, L3, total);
    out
}

#[cfg(test)]
#[path = "hostile_tests.rs"]
mod tests;
