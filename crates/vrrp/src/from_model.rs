//! Instances from the typed keepalived.conf model of the config crate.

use crate::config::{AddrMismatch, AuthConfig, GarpConfig, InstanceConfig, UnicastPeer};
use crate::packet::{Family, Version};
use crate::track::{TrackerId, TrackerKind, TrackerRef};
use lvsd_config::model::{self, Config, GarpSettings, TrackRef, VrrpInstance};
use std::net::IpAddr;
use std::time::Duration;

/// The instances and sync groups (name, member indexes) of a configuration.
///
/// Instances that the config crate reported as broken (no virtual_router_id) are skipped; the
/// diagnostics already say why.
pub fn from_config(cfg: &Config) -> (Vec<InstanceConfig>, Vec<(String, Vec<usize>)>) {
    let mut out = Vec::new();
    let mut names = Vec::new();
    for inst in &cfg.instances {
        if let Some(ic) = instance(cfg, inst) {
            names.push(inst.name.clone());
            out.push(ic);
        }
    }
    let mut groups = Vec::new();
    for g in &cfg.sync_groups {
        let members: Vec<usize> = g
            .members
            .iter()
            .filter_map(|m| names.iter().position(|n| *n == m.name))
            .collect();
        // Group trackers apply to every member. Weighted trackers are kept, unlike
        // keepalived, which removes a weighted track_script from a member unless
        // sync_group_tracking_weight is set (keepalived #2105).
        let extra = trackers(cfg, &g.track);
        for &m in &members {
            out[m].trackers.extend(extra.iter().cloned());
        }
        groups.push((g.name.clone(), members));
    }
    (out, groups)
}

fn seconds(s: f64) -> Duration {
    Duration::from_secs_f64(s.clamp(0.0, 1e9))
}

fn instance(cfg: &Config, i: &VrrpInstance) -> Option<InstanceConfig> {
    let g = &cfg.global;
    let vrid = i.virtual_router_id?;
    let family = match (i.virtual_ipaddress.first(), i.unicast_src_ip) {
        (Some(a), _) if a.addr.is_ipv6() => Family::V6,
        (None, Some(IpAddr::V6(_))) => Family::V6,
        _ => Family::V4,
    };
    let version = if family == Family::V6 || i.version == 3 {
        Version::V3
    } else {
        Version::V2
    };
    let want_master = i.state == Some(model::InitialState::Master);
    let strict = i.strict_mode.unwrap_or(g.vrrp_strict);
    let auth = match (&i.authentication, version, strict) {
        (Some(a), Version::V2, false) => {
            let pass = a.auth_pass.clone().unwrap_or_default();
            match a.auth_type {
                Some(model::AuthType::Pass) => AuthConfig::Pass(pad8(&pass)),
                Some(model::AuthType::Ah) => AuthConfig::Ah(pad8(&pass).to_vec()),
                None => AuthConfig::None,
            }
        }
        _ => AuthConfig::None,
    };
    let mcast_group = match (i.mcast_dst_ip, family) {
        (Some(a), _) => a,
        (None, Family::V4) => IpAddr::V4(g.vrrp_mcast_group4),
        (None, Family::V6) => IpAddr::V6(g.vrrp_mcast_group6),
    };
    let garp = garp(i.garp.as_ref().unwrap_or(&g.garp));
    let trackers = trackers(cfg, &i.track);
    Some(InstanceConfig {
        name: i.name.clone(),
        interface: i.interface.clone(),
        vrid,
        version,
        family,
        priority: i.priority,
        want_master,
        advert_interval: seconds(i.advert_int),
        // keepalived: `state MASTER` clears nopreempt and preempt_delay (with a warning,
        // which the config crate reports).
        nopreempt: i.nopreempt && !want_master,
        preempt_delay: if want_master {
            Duration::ZERO
        } else {
            seconds(i.preempt_delay)
        },
        auth,
        vips: i.virtual_ipaddress.iter().map(|a| a.addr).collect(),
        src_addr: i.unicast_src_ip,
        mcast_group,
        unicast_peers: i
            .unicast_peers
            .iter()
            .map(|p| UnicastPeer {
                addr: p.addr,
                min_ttl: p.min_ttl,
                max_ttl: p.max_ttl,
            })
            .collect(),
        unicast_ttl: i.unicast_ttl.unwrap_or(255),
        check_unicast_src: i.check_unicast_src.unwrap_or(true),
        addr_mismatch: if g.vrrp_address_mismatch_reject {
            AddrMismatch::Reject
        } else {
            AddrMismatch::Accept
        },
        skip_check_adv_addr: i.skip_check_adv_addr.unwrap_or(g.vrrp_skip_check_adv_addr),
        down_timer_adverts: i
            .down_timer_adverts
            .unwrap_or(g.vrrp_down_timer_adverts)
            .max(1),
        lower_prio_no_advert: strict
            || i.lower_prio_no_advert
                .unwrap_or(g.vrrp_lower_prio_no_advert),
        higher_prio_send_advert: i
            .higher_prio_send_advert
            .unwrap_or(g.vrrp_higher_prio_send_advert),
        owner_ignore_adverts: i
            .owner_ignore_adverts
            .unwrap_or(g.vrrp_owner_ignore_adverts),
        v3_checksum_as_v2: i.v3_checksum_as_v2.unwrap_or(g.v3_checksum_as_v2),
        garp,
        trackers,
        track_primary: !i.dont_track_primary,
    })
}

/// auth_pass as the 8-byte field: truncated, NUL-padded.
fn pad8(s: &str) -> [u8; 8] {
    let mut out = [0u8; 8];
    for (d, b) in out.iter_mut().zip(s.bytes()) {
        *d = b;
    }
    out
}

fn garp(s: &GarpSettings) -> GarpConfig {
    GarpConfig {
        master_delay: seconds(s.master_delay),
        master_repeat: s.master_repeat,
        master_refresh: seconds(s.master_refresh),
        master_refresh_repeat: s.master_refresh_repeat,
        lower_prio_delay: seconds(s.lower_prio_delay.unwrap_or(s.master_delay)),
        lower_prio_repeat: s.lower_prio_repeat.unwrap_or(s.master_repeat),
    }
}

fn trackers(cfg: &Config, t: &model::Trackers) -> Vec<TrackerRef> {
    let mut out = Vec::new();
    for r in &t.interfaces {
        out.push(reference(TrackerKind::Interface, r, (0, false)));
    }
    for r in &t.scripts {
        // A script-less or undefined vrrp_script is disabled (the config crate reports it);
        // the instance runs as if it were healthy, as keepalived does.
        let Some(s) = cfg.vrrp_scripts.iter().find(|s| s.name == r.name) else {
            continue;
        };
        if s.script.is_none() {
            continue;
        }
        out.push(reference(
            TrackerKind::Script,
            r,
            (s.weight, s.weight_reverse),
        ));
    }
    for r in &t.files {
        if let Some(f) = cfg.track_files.iter().find(|f| f.name == r.name) {
            out.push(reference(
                TrackerKind::File,
                r,
                (f.weight, f.weight_reverse),
            ));
        }
    }
    for r in &t.processes {
        if let Some(p) = cfg.track_processes.iter().find(|p| p.name == r.name) {
            out.push(reference(
                TrackerKind::Process,
                r,
                (p.weight, p.weight_reverse),
            ));
        }
    }
    for r in &t.bfds {
        out.push(reference(TrackerKind::Bfd, r, (0, false)));
    }
    out
}

fn reference(kind: TrackerKind, r: &TrackRef, own: (i32, bool)) -> TrackerRef {
    let (weight, reverse) = match r.weight {
        Some(w) => (w, r.reverse),
        None => own,
    };
    TrackerRef {
        id: TrackerId::new(kind, &r.name),
        weight,
        reverse,
    }
}
