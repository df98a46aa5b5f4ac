//! `zone_protection:` and `zones:`: defaults, and every error with its path and line.

use super::*;

/// BASE with a profile for the untrust zone.
fn protected(profile: &str, zones: &str) -> String {
    let text = BASE.replacen("rules:\n", &format!("{profile}{zones}rules:\n"), 1);
    assert_ne!(text, BASE);
    text
}

const PROFILE: &str = "zone_protection:
  edge:
    description: internet edge
    flood:
      syn:
        action: random-early-drop
        alarm_rate: 500
        activate_rate: 1000
        maximal_rate: 4000
      udp: { maximal_rate: 50000 }
      icmp: { enable: false }
";
const ZONES: &str = "zones:\n  untrust: { zone_protection_profile: edge }\n";

#[test]
fn profiles_parse_with_pan_os_defaults() {
    let config =
        Config::from_yaml_str(&protected(PROFILE, ZONES)).unwrap_or_else(|e| panic!("{e}"));
    let edge = config
        .zone_protection_of("untrust")
        .expect("untrust uses edge");
    let syn = edge
        .flood
        .enabled(synwall_types::reasons::Flood::Syn)
        .unwrap();
    assert_eq!(
        (syn.alarm_rate, syn.activate_rate, syn.maximal_rate),
        (500, 1000, 4000)
    );
    let udp = edge
        .flood
        .enabled(synwall_types::reasons::Flood::Udp)
        .unwrap();
    assert_eq!(
        (
            udp.enable,
            udp.action,
            udp.alarm_rate,
            udp.activate_rate,
            udp.maximal_rate
        ),
        (true, FloodAction::RandomEarlyDrop, 10_000, 10_000, 50_000)
    );
    assert!(edge
        .flood
        .enabled(synwall_types::reasons::Flood::Icmp)
        .is_none());
    assert!(edge
        .flood
        .get(synwall_types::reasons::Flood::Icmp)
        .0
        .is_some());
    assert!(edge
        .flood
        .enabled(synwall_types::reasons::Flood::OtherIp)
        .is_none());
    assert!(config.zone_protection_of("trust").is_none());
    let again = Config::from_yaml_str(&config.to_yaml()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again, config);
    // Without the sections nothing is protected.
    let plain = Config::from_yaml_str(BASE).unwrap();
    assert!(plain.zone_protection.is_empty() && plain.zone_settings.is_empty());
}

#[test]
fn syn_cookies_are_refused_as_not_supported_yet() {
    let text = protected(
        &PROFILE.replace("action: random-early-drop", "action: syn-cookies"),
        ZONES,
    );
    only_error(
        &text,
        "zone_protection.edge.flood.syn.action",
        "syn-cookies",
        "syn-cookies is not supported yet",
    );
    let text = protected(
        &PROFILE.replace("{ maximal_rate: 50000 }", "{ action: syn-cookies }"),
        ZONES,
    );
    only_error(
        &text,
        "zone_protection.edge.flood.udp.action",
        "syn-cookies",
        "SYN floods only",
    );
    let text = protected(&PROFILE.replace("random-early-drop", "red"), ZONES);
    only_error(
        &text,
        "zone_protection.edge.flood.syn.action",
        "action: red",
        "unknown variant `red`",
    );
}

#[test]
fn rates_out_of_range_or_in_the_wrong_order() {
    let text = protected(
        &PROFILE.replace("maximal_rate: 4000", "maximal_rate: 2000001"),
        ZONES,
    );
    only_error(
        &text,
        "zone_protection.edge.flood.syn.maximal_rate",
        "2000001",
        "out of range 1..2000000",
    );
    let text = protected(
        &PROFILE.replace("activate_rate: 1000", "activate_rate: 0"),
        ZONES,
    );
    only_error(
        &text,
        "zone_protection.edge.flood.syn.activate_rate",
        "activate_rate: 0",
        "out of range 1..2000000",
    );
    let text = protected(
        &PROFILE.replace("activate_rate: 1000", "activate_rate: 5000"),
        ZONES,
    );
    only_error(
        &text,
        "zone_protection.edge.flood.syn.activate_rate",
        "activate_rate: 5000",
        "above maximal_rate 4000",
    );
    // Alarm 0 is PAN-OS's lower bound: allowed.
    let text = protected(&PROFILE.replace("alarm_rate: 500", "alarm_rate: 0"), ZONES);
    assert!(Config::from_yaml_str(&text).is_ok());
    let text = protected(&PROFILE.replace("alarm_rate: 500", "alarm_rate: -1"), ZONES);
    only_error(
        &text,
        "zone_protection.edge.flood.syn.alarm_rate",
        "alarm_rate: -1",
        "invalid type: integer `-1`",
    );
}

#[test]
fn unknown_keys_zones_and_profiles() {
    let text = protected(
        &PROFILE.replace("      udp:", "      tcp: {}\n      udp:"),
        ZONES,
    );
    only_error(
        &text,
        "zone_protection.edge.flood",
        "tcp: {}",
        "unknown field `tcp`",
    );
    let text = protected(&PROFILE.replace("alarm_rate: 500", "alarm: 500"), ZONES);
    only_error(
        &text,
        "zone_protection.edge.flood.syn",
        "alarm: 500",
        "unknown field `alarm`",
    );
    let text = protected(
        PROFILE,
        "zones:\n  dmz: { zone_protection_profile: edge }\n",
    );
    only_error(
        &text,
        "zones.dmz",
        "  dmz: {",
        "unknown zone \"dmz\" (zones come from dataplane.ports: trust, untrust)",
    );
    let text = protected(
        PROFILE,
        "zones:\n  untrust: { zone_protection_profile: edgy }\n",
    );
    only_error(
        &text,
        "zones.untrust.zone_protection_profile",
        "edgy",
        "unknown zone protection profile \"edgy\" (zone_protection defines: edge)",
    );
    let text = protected(PROFILE, "zones:\n  untrust: { protection: edge }\n");
    only_error(
        &text,
        "zones.untrust",
        "protection: edge",
        "unknown field `protection`",
    );
    let text = protected(&format!("{PROFILE}  edge: {{}}\n"), ZONES);
    only_error(
        &text,
        "zone_protection",
        "edge: {}",
        "\"edge\" is defined twice",
    );
    let text = protected(&PROFILE.replace("  edge:\n", "  any:\n"), "");
    only_error(&text, "zone_protection.any", "any:", "\"any\" is reserved");
}
