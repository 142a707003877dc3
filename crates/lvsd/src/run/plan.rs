//! What the daemon runs: the validated configuration turned into VRRP instances and, per
//! instance, the addresses, routes and rules that follow its MASTER state.

use lvsd_config::model::{Config, IpAddressSpec};
use lvsd_config::{LoadOptions, Severity};
use lvsd_vrrp::from_model::from_config;
use lvsd_vrrp::InstanceConfig;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

/// One address an instance installs on MASTER (virtual_ipaddress or _excluded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vip {
    pub addr: IpAddr,
    pub prefix_len: u8,
    pub dev: String,
    pub label: Option<String>,
    pub broadcast: Option<Ipv4Addr>,
    pub scope: Option<u8>,
    pub peer: Option<IpAddr>,
    pub noprefixroute: bool,
    /// IFA_CACHEINFO's preferred lifetime: `preferred_lft N` as written, none for `forever`;
    /// unwritten, 0 for an IPv6 /128 as keepalived (a deprecated address is never chosen as a
    /// source address).
    pub preferred_lft: Option<u32>,
}

/// The per-instance data the engine needs beyond the protocol configuration.
#[derive(Debug, Clone, Default)]
pub struct InstancePlan {
    pub vips: Vec<Vip>,
    pub routes: Vec<Vec<String>>,
    pub rules: Vec<Vec<String>>,
    pub notify: lvsd_config::model::Notify,
    /// The VIPs of colocated services this instance holds (issue 8): the engine puts them on
    /// `lo` before they leave the interface, so a forwarded connection is never dropped.
    pub lo_vips: Vec<IpAddr>,
}

#[derive(Debug, Clone)]
pub struct Plan {
    /// Shared: every task holds the same configuration (10,000 real servers are ~10 MB).
    pub config: std::sync::Arc<Config>,
    pub instances: Vec<InstanceConfig>,
    pub groups: Vec<(String, Vec<usize>)>,
    /// Parallel to `instances`.
    pub extra: Vec<InstancePlan>,
    /// Gap between gratuitous ARPs / NAs on one interface.
    pub garp_interval: std::time::Duration,
    /// The configuration's warnings, one line each (`file:line: warning[code]: message`).
    pub warnings: Vec<String>,
    /// The virtual services of which this host is also a real server, computed once per
    /// load from the host's addresses at that moment (every task reads these, none recomputes).
    pub colocations: std::sync::Arc<Vec<lvsd_config::colocated::Colocation>>,
    /// What the next reload can reuse of this load (unchanged virtual_server blocks).
    pub blocks: std::sync::Arc<lvsd_config::blocks::BlockCache>,
    /// How much of this load was reused from the previous one.
    pub reuse: lvsd_config::blocks::Reuse,
    /// A hash of the text this plan was read from (every file, includes too): the metrics'
    /// `lvsd_config_hash`, of what was applied, not of the file as it is later.
    pub source_hash: u64,
}

/// Loads and validates; on errors returns the rendered diagnostics.
pub fn load(path: &Path) -> Result<Plan, String> {
    load_reusing(path, None)
}

/// [`load`], reusing what has not changed since `prev` was loaded (a reload).
pub fn load_reusing(path: &Path, prev: Option<&Plan>) -> Result<Plan, String> {
    let loaded = lvsd_config::blocks::load_file_reusing(
        path,
        &LoadOptions::default(),
        prev.map(|p| lvsd_config::blocks::Previous {
            config: &p.config,
            cache: &p.blocks,
        }),
    );
    if let Some(text) = loaded.error_report() {
        return Err(text);
    }
    // every warning, one line each: logged here, and a reload's reply carries them
    let warnings: Vec<String> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .map(|d| {
            format!(
                "{}:{}: warning[{}]: {}",
                d.file.as_deref().unwrap_or("?"),
                d.loc.map(|l| l.line).unwrap_or(0),
                d.code.name(),
                d.message
            )
        })
        .collect();
    for w in &warnings {
        tracing::warn!(target: "config", "{w}");
    }
    let colocations = super::colocated::find(&loaded.config);
    let mut p = plan(loaded.config, warnings, colocations);
    p.source_hash = {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        for f in &loaded.sources.files {
            h.update(f.path.as_os_str().as_encoded_bytes());
            h.update(&[0]);
            h.update(f.text.as_bytes());
        }
        // 52 bits: exact in the float a gauge is
        h.digest() & ((1 << 52) - 1)
    };
    p.blocks = std::sync::Arc::new(loaded.blocks);
    p.reuse = loaded.reuse;
    Ok(p)
}

pub fn plan(
    config: Config,
    warnings: Vec<String>,
    colocations: Vec<lvsd_config::colocated::Colocation>,
) -> Plan {
    let (instances, groups) = from_config(&config);
    let extra = instances
        .iter()
        .map(|ic| {
            let Some(mi) = config.instances.iter().find(|m| m.name == ic.name) else {
                return InstancePlan::default();
            };
            let default_dev = mi.interface.clone().unwrap_or_default();
            let vips = mi
                .virtual_ipaddress
                .iter()
                .chain(&mi.virtual_ipaddress_excluded)
                .map(|s| vip(s, &default_dev))
                .collect();
            InstancePlan {
                vips,
                routes: mi.virtual_routes.iter().map(|r| r.words.clone()).collect(),
                rules: mi.virtual_rules.iter().map(|r| r.words.clone()).collect(),
                notify: mi.notify.clone(),
                lo_vips: super::colocated::vips_of(&config, &colocations, &mi.name)
                    .into_iter()
                    .map(|(ip, _)| ip)
                    .collect(),
            }
        })
        .collect();
    let garp_interval =
        std::time::Duration::from_secs_f64(config.global.vrrp_garp_interval.max(0.0));
    Plan {
        config: std::sync::Arc::new(config),
        instances,
        groups,
        extra,
        garp_interval,
        warnings,
        colocations: std::sync::Arc::new(colocations),
        blocks: Default::default(),
        reuse: Default::default(),
        source_hash: 0,
    }
}

fn vip(s: &IpAddressSpec, default_dev: &str) -> Vip {
    let broadcast = match (s.brd.as_deref(), s.addr) {
        (Some("+"), IpAddr::V4(a)) => {
            let host_bits = 32 - u32::from(s.prefix_len.min(32));
            let mask = if host_bits == 32 {
                0
            } else {
                u32::MAX << host_bits
            };
            Some(Ipv4Addr::from(u32::from(a) | !mask))
        }
        (Some(b), IpAddr::V4(_)) => b.parse().ok(),
        _ => None,
    };
    let scope = s.scope.as_deref().and_then(|sc| match sc {
        "global" | "universe" => Some(0),
        "site" => Some(200),
        "link" => Some(253),
        "host" => Some(254),
        "nowhere" => Some(255),
        n => n.parse().ok(),
    });
    Vip {
        addr: s.addr,
        prefix_len: s.prefix_len,
        dev: s.dev.clone().unwrap_or_else(|| default_dev.to_string()),
        label: s.label.clone(),
        broadcast,
        scope,
        peer: s.peer,
        noprefixroute: s.flags.iter().any(|f| f == "noprefixroute"),
        preferred_lft: match s.preferred_lft.as_deref() {
            Some(t) if t.eq_ignore_ascii_case("forever") => None,
            Some(t) => t.parse().ok(),
            None => (s.addr.is_ipv6() && s.prefix_len == 128).then_some(0),
        },
    }
}
