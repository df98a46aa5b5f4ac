//! Compiling a [`Config`]'s rules into a [`Policy`].

use super::bitset::{self, IntervalTable, KeyRange};
use super::{any_port, service_key, CompiledRule, Policy};
use crate::config::{AddrRange, AddressSet, Config, Family, ANY};
use crate::records::NONE_ID;
use std::net::IpAddr;

/// A range's ends as table keys.
fn range_keys(r: &AddrRange) -> (u128, u128) {
    let key = |ip: IpAddr| match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    };
    (key(r.first()), key(r.last()))
}

/// Adds a rule's address set to the IPv4 and IPv6 ranges of one direction.
fn push_addresses(set: &AddressSet, rule: u32, v4: &mut Vec<KeyRange>, v6: &mut Vec<KeyRange>) {
    if set.any {
        v4.push(KeyRange {
            lo: 0,
            hi: u128::from(u32::MAX),
            rule,
        });
        v6.push(KeyRange {
            lo: 0,
            hi: u128::MAX,
            rule,
        });
        return;
    }
    for r in &set.ranges {
        let (lo, hi) = range_keys(r);
        let list = match r.family() {
            Family::V4 => &mut *v4,
            Family::V6 => &mut *v6,
        };
        list.push(KeyRange { lo, hi, rule });
    }
}

/// Sets the rule's bit in the zone bitsets its list names (`any`: all).
fn mark_zones(
    list: &[String],
    zones: &[String],
    words: usize,
    table: &mut [u64],
    pos: usize,
) -> Result<(), String> {
    for name in list {
        if name == ANY {
            for z in 0..zones.len() {
                bitset::set(&mut table[z * words..(z + 1) * words], pos);
            }
        } else {
            let z = zones
                .iter()
                .position(|known| known == name)
                .ok_or_else(|| format!("unknown zone {name:?}"))?;
            bitset::set(&mut table[z * words..(z + 1) * words], pos);
        }
    }
    Ok(())
}

impl Policy {
    /// Compiles the enabled rules of `config`. Errors name the rule (unknown zone, address
    /// object or service; too many zones or rules).
    pub fn compile(config: &Config) -> Result<Policy, String> {
        let zones: Vec<String> = config.zones().into_iter().map(str::to_owned).collect();
        if zones.len() > usize::from(u8::MAX) + 1 {
            return Err(format!("{} zones: at most 256 are supported", zones.len()));
        }
        if config.rules.len() >= usize::from(NONE_ID) {
            return Err(format!(
                "{} rules: at most {} are supported",
                config.rules.len(),
                NONE_ID - 1
            ));
        }
        let enabled: Vec<usize> = (0..config.rules.len())
            .filter(|&i| !config.rules[i].disabled)
            .collect();
        let words = bitset::words_for(enabled.len());
        let mut from_zone = vec![0u64; zones.len() * words];
        let mut to_zone = vec![0u64; zones.len() * words];
        let (mut src4, mut src6, mut dst4, mut dst6, mut service) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut position = vec![NONE_ID; config.rules.len()];
        let mut rules = Vec::with_capacity(enabled.len());

        for (pos, &index) in enabled.iter().enumerate() {
            let rule = &config.rules[index];
            let context = |e: String| format!("rules[{index}] ({}): {e}", rule.name);
            let tag = pos as u32;
            mark_zones(&rule.from, &zones, words, &mut from_zone, pos).map_err(context)?;
            mark_zones(&rule.to, &zones, words, &mut to_zone, pos).map_err(context)?;
            let source = config.address_set(&rule.source).map_err(context)?;
            push_addresses(&source, tag, &mut src4, &mut src6);
            let destination = config.address_set(&rule.destination).map_err(context)?;
            push_addresses(&destination, tag, &mut dst4, &mut dst6);

            let services = config.service_set(&rule.service).map_err(context)?;
            let ports: Vec<(u8, _)> = services
                .ports
                .iter()
                .map(|&(p, r)| (p.ip_proto(), r))
                .collect();
            if services.any || services.application_default {
                service.push(KeyRange {
                    lo: 0,
                    hi: service_key(u8::MAX, u16::MAX),
                    rule: tag,
                });
            } else {
                for &(proto, r) in &ports {
                    service.push(KeyRange {
                        lo: service_key(proto, r.lo),
                        hi: service_key(proto, r.hi),
                        rule: tag,
                    });
                }
            }
            let app_default = services.application_default && !services.any;

            // An empty list cannot come from YAML (the default is [any]); read it as any.
            let any_app = rule.application.is_empty() || rule.application.iter().any(|a| a == ANY);
            position[index] = pos as u16;
            rules.push(CompiledRule {
                index: index as u16,
                action: rule.action,
                log_start: rule.log_start,
                log_end: rule.log_end,
                connection_tracking: rule.connection_tracking,
                apps: (!any_app).then(|| rule.application.clone()),
                app_default,
                ports: if app_default { ports } else { Vec::new() },
            });
        }

        let n = rules.len();
        let stateless = rules.iter().any(|r| !r.connection_tracking);
        Ok(Policy {
            stateless,
            names: config.rules.iter().map(|r| r.name.clone()).collect(),
            position,
            rules,
            words,
            from_zone,
            to_zone,
            src4: IntervalTable::build(n, &src4),
            src6: IntervalTable::build(n, &src6),
            dst4: IntervalTable::build(n, &dst4),
            dst6: IntervalTable::build(n, &dst6),
            service: IntervalTable::build(n, &service),
            zones,
            app_default: any_port,
        })
    }
}
