use super::Script;
use crate::diag::Loc;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// global_defs and the top-level process settings.
#[derive(Debug, Clone, Serialize)]
pub struct GlobalDefs {
    pub router_id: Option<String>,
    pub notification_email: Vec<String>,
    pub notification_email_from: Option<String>,
    pub smtp_server: Option<SmtpServer>,
    pub smtp_helo_name: Option<String>,
    pub smtp_connect_timeout: f64,
    /// Global default of smtp_alert (None = not set).
    pub smtp_alert: Option<bool>,
    pub smtp_alert_vrrp: Option<bool>,
    pub smtp_alert_checker: Option<bool>,
    pub no_email_faults: bool,
    pub checker_log_all_failures: bool,
    pub vrrp_mcast_group4: Ipv4Addr,
    pub vrrp_mcast_group6: Ipv6Addr,
    pub default_interface: String,
    pub vrrp_version: u8,
    pub vrrp_strict: bool,
    pub vrrp_skip_check_adv_addr: bool,
    /// lvsd extension `vrrp_address_mismatch accept|reject`: what a VRRP advert whose
    /// address list differs from ours does. Default accept (keepalived >= 2.3.3); reject is
    /// keepalived <= 2.3.2.
    pub vrrp_address_mismatch_reject: bool,
    /// lvsd extension `vrrp_script_missing down|up`: a vrrp_script that is missing or not
    /// executable fails its tracker (`down`, the default) or counts as healthy (`up`, what
    /// keepalived does by disabling it).
    pub vrrp_script_missing_up: bool,
    pub vrrp_check_unicast_src: bool,
    pub v3_checksum_as_v2: bool,
    pub vrrp_garp_interval: f64,
    pub vrrp_gna_interval: f64,
    pub garp: GarpSettings,
    pub vrrp_down_timer_adverts: u32,
    pub vrrp_lower_prio_no_advert: bool,
    pub vrrp_higher_prio_send_advert: bool,
    pub vrrp_owner_ignore_adverts: bool,
    pub vrrp_startup_delay: f64,
    pub dynamic_interfaces: bool,
    pub lvs_timeouts: LvsTimeouts,
    pub lvs_flush: bool,
    pub lvs_flush_on_stop: Option<String>,
    pub lvs_sync_daemon: Option<LvsSyncDaemon>,
    /// lvsd extension `colocated_directors guard|master_only|off` (issue 8): how a director
    /// that is also a real server of its own virtual service avoids balancing twice.
    pub colocated_directors: ColocatedMode,
    /// lvsd extension `colocated_on_stop real_server|remove`: on stop, a colocated node keeps
    /// the VIP on `lo` and goes on serving as a real server (default), or removes it.
    pub colocated_on_stop_remove: bool,
    /// lvsd extension `lvsd_metrics_listen ADDR:PORT` (issue 16): serve Prometheus metrics
    /// there (`lvsd run --metrics-listen` overrides it).
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// lvsd extension `lvsd_control_group NAME` (issue 17): members of this group may change
    /// a running lvsd through its control socket (drain, disable, demote), as root may.
    pub control_group: Option<String>,
    /// lvsd extension `lvsd_status_group NAME` (issue 17): members of this group may read a
    /// running lvsd's status and events (root and the control group always may).
    pub status_group: Option<String>,
    pub script_user: Option<String>,
    pub script_group: Option<String>,
    pub enable_script_security: bool,
    pub startup_script: Option<Script>,
    pub startup_script_timeout: f64,
    pub shutdown_script: Option<Script>,
    pub shutdown_script_timeout: f64,
    pub notify_fifo: Option<Fifo>,
    pub vrrp_notify_fifo: Option<Fifo>,
    pub lvs_notify_fifo: Option<Fifo>,
    pub vrrp_notify_priority_changes: bool,
    pub random_seed: Option<u64>,
    pub net_namespace: Option<String>,
    pub instance: Option<String>,
    /// Recognised keywords that lvsd accepts but does not act on (SNMP, DBus,
    /// process names, buffer sizes, ...), as written.
    pub other: BTreeMap<String, Vec<String>>,
}

impl Default for GlobalDefs {
    fn default() -> Self {
        GlobalDefs {
            router_id: None,
            notification_email: Vec::new(),
            notification_email_from: None,
            smtp_server: None,
            smtp_helo_name: None,
            smtp_connect_timeout: 30.0,
            smtp_alert: None,
            smtp_alert_vrrp: None,
            smtp_alert_checker: None,
            no_email_faults: false,
            checker_log_all_failures: false,
            vrrp_mcast_group4: Ipv4Addr::new(224, 0, 0, 18),
            vrrp_mcast_group6: Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12),
            default_interface: "eth0".into(),
            vrrp_version: 2,
            vrrp_strict: false,
            vrrp_skip_check_adv_addr: false,
            vrrp_address_mismatch_reject: false,
            vrrp_script_missing_up: false,
            vrrp_check_unicast_src: false,
            v3_checksum_as_v2: false,
            vrrp_garp_interval: 0.0,
            vrrp_gna_interval: 0.0,
            garp: GarpSettings::default(),
            vrrp_down_timer_adverts: 3,
            vrrp_lower_prio_no_advert: false,
            vrrp_higher_prio_send_advert: false,
            vrrp_owner_ignore_adverts: false,
            vrrp_startup_delay: 0.0,
            dynamic_interfaces: false,
            lvs_timeouts: LvsTimeouts::default(),
            lvs_flush: false,
            lvs_flush_on_stop: None,
            lvs_sync_daemon: None,
            colocated_directors: ColocatedMode::Guard,
            colocated_on_stop_remove: false,
            metrics_listen: None,
            control_group: None,
            status_group: None,
            script_user: None,
            script_group: None,
            enable_script_security: false,
            startup_script: None,
            startup_script_timeout: 10.0,
            shutdown_script: None,
            shutdown_script_timeout: 10.0,
            notify_fifo: None,
            vrrp_notify_fifo: None,
            lvs_notify_fifo: None,
            vrrp_notify_priority_changes: false,
            random_seed: None,
            net_namespace: None,
            instance: None,
            other: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SmtpServer {
    pub host: String,
    pub port: u16,
}

/// Gratuitous ARP / NA timing (global defaults, per-instance overrides).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GarpSettings {
    pub master_delay: f64,
    pub master_repeat: u32,
    pub master_refresh: f64,
    pub master_refresh_repeat: u32,
    /// None = same as master_delay / master_repeat.
    pub lower_prio_delay: Option<f64>,
    pub lower_prio_repeat: Option<u32>,
}

impl Default for GarpSettings {
    fn default() -> Self {
        GarpSettings {
            master_delay: 5.0,
            master_repeat: 5,
            master_refresh: 0.0,
            master_refresh_repeat: 1,
            lower_prio_delay: None,
            lower_prio_repeat: None,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct LvsTimeouts {
    pub tcp: Option<u32>,
    pub tcpfin: Option<u32>,
    pub udp: Option<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LvsSyncDaemon {
    pub interface: String,
    pub instance: Option<String>,
    pub id: Option<u8>,
    pub maxlen: Option<u16>,
    pub port: Option<u16>,
    pub ttl: Option<u8>,
    pub group: Option<IpAddr>,
    pub loc: Loc,
}

#[derive(Debug, Clone, Serialize)]
pub struct Fifo {
    pub path: String,
    pub script: Option<Script>,
}

/// How colocated directors (directors that are also real servers of their own virtual
/// service) are kept from balancing a connection twice. See docs/colocated.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ColocatedMode {
    /// The service is in IPVS only while the VRRP instance holding the VIP is MASTER, and
    /// lvsd's nftables table keeps packets forwarded by another director from being balanced
    /// again (also after a crash and in split brain). The default.
    Guard,
    /// The service is in IPVS only while MASTER; no nftables rules.
    MasterOnly,
    /// keepalived's behaviour: the service is loaded on every director, the VIP is not put on
    /// `lo` (the user's own rules, if any, avoid the loop).
    Off,
}
