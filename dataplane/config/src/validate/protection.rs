//! Checks of `zone_protection:` and `zones:` (see `protection.rs` for their shape): profile
//! names, PAN-OS's rate ranges, and zones and profiles that exist.

use super::check_name;
use crate::error::Problems;
use crate::path::KeyPath;
use crate::protection::{FloodAction, FloodThresholds, MAX_FLOOD_RATE};
use crate::schema::Config;
use synwall_types::reasons::Flood;

impl Config {
    pub(super) fn check_zone_protection(&self, problems: &mut Problems) {
        let at = KeyPath::keys("zone_protection");
        for (name, profile) in &self.zone_protection {
            let path = at.key(name);
            check_name(&path, "zone protection profile", name, problems);
            for &flood in Flood::ALL {
                if let (Some(t), key) = profile.flood.get(flood) {
                    check_thresholds(&path.key("flood").key(key), flood, t, problems);
                }
            }
        }
        let zones = self.zones();
        let at = KeyPath::keys("zones");
        for (zone, settings) in &self.zone_settings {
            let path = at.key(zone);
            if !zones.contains(&zone.as_str()) {
                problems.push(
                    path.clone(),
                    format!(
                        "unknown zone {zone:?} (zones come from dataplane.ports: {})",
                        zones.join(", ")
                    ),
                );
            }
            if let Some(profile) = &settings.zone_protection_profile {
                if !self.zone_protection.contains_key(profile) {
                    let known: Vec<&str> =
                        self.zone_protection.keys().map(String::as_str).collect();
                    problems.push(
                        path.key("zone_protection_profile"),
                        format!(
                            "unknown zone protection profile {profile:?} (zone_protection \
                             defines: {})",
                            if known.is_empty() {
                                "none".to_string()
                            } else {
                                known.join(", ")
                            }
                        ),
                    );
                }
            }
        }
    }
}

fn check_thresholds(at: &KeyPath, flood: Flood, t: &FloodThresholds, problems: &mut Problems) {
    if t.action == FloodAction::SynCookies {
        let message = if flood == Flood::Syn {
            "syn-cookies is not supported yet; use random-early-drop"
        } else {
            "syn-cookies applies to SYN floods only; use random-early-drop"
        };
        problems.push(at.key("action"), message);
    }
    for (key, value, min) in [
        ("alarm_rate", t.alarm_rate, 0),
        ("activate_rate", t.activate_rate, 1),
        ("maximal_rate", t.maximal_rate, 1),
    ] {
        if !(min..=MAX_FLOOD_RATE).contains(&value) {
            problems.push(
                at.key(key),
                format!("{value} connections/s is out of range {min}..{MAX_FLOOD_RATE}"),
            );
        }
    }
    if t.activate_rate > t.maximal_rate {
        problems.push(
            at.key("activate_rate"),
            format!(
                "activate_rate {} is above maximal_rate {}",
                t.activate_rate, t.maximal_rate
            ),
        );
    }
}
