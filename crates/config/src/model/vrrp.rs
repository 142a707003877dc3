use super::{NameRef, RawLine, Script};
use crate::diag::Loc;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::IpAddr;

#[derive(Debug, Clone, Serialize)]
pub struct VrrpScript {
    pub name: String,
    pub loc: Loc,
    pub script: Option<Script>,
    pub interval: f64,
    /// None = same as interval.
    pub timeout: Option<f64>,
    pub weight: i32,
    pub weight_reverse: bool,
    pub rise: u32,
    pub fall: u32,
    pub user: Option<String>,
    pub group: Option<String>,
    pub init_fail: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrackFile {
    pub name: String,
    pub loc: Loc,
    pub file: Option<String>,
    pub weight: i32,
    pub weight_reverse: bool,
    pub init_file: Option<InitFile>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InitFile {
    pub value: i64,
    pub overwrite: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrackProcess {
    pub name: String,
    pub loc: Loc,
    pub process: Option<String>,
    pub param_match: Option<String>,
    pub weight: i32,
    pub weight_reverse: bool,
    pub quorum: u32,
    pub quorum_max: Option<u32>,
    pub delay: Option<f64>,
    pub terminate_delay: Option<f64>,
    pub fork_delay: Option<f64>,
    pub full_command: bool,
}

/// A tracker attached to an instance or a sync group, with its weight.
#[derive(Debug, Clone, Serialize)]
pub struct TrackRef {
    pub name: String,
    pub loc: Loc,
    /// None = use the tracker's own weight.
    pub weight: Option<i32>,
    pub reverse: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Trackers {
    pub interfaces: Vec<TrackRef>,
    pub scripts: Vec<TrackRef>,
    pub files: Vec<TrackRef>,
    pub processes: Vec<TrackRef>,
    pub bfds: Vec<TrackRef>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Notify {
    pub master: Option<Script>,
    pub backup: Option<Script>,
    pub fault: Option<Script>,
    pub stop: Option<Script>,
    pub deleted: Option<Script>,
    pub generic: Option<Script>,
    pub master_rx_lower_pri: Option<Script>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SyncGroup {
    pub name: String,
    pub loc: Loc,
    pub members: Vec<NameRef>,
    pub track: Trackers,
    pub notify: Notify,
    pub smtp_alert: Option<bool>,
    pub sync_group_tracking_weight: bool,
    pub notify_priority_changes: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum InitialState {
    Master,
    Backup,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum AuthType {
    Pass,
    Ah,
}

#[derive(Debug, Clone, Serialize)]
pub struct Authentication {
    pub auth_type: Option<AuthType>,
    /// At most 8 bytes (longer passwords are truncated, as keepalived does).
    pub auth_pass: Option<String>,
    pub loc: Loc,
}

/// One address of virtual_ipaddress / static_ipaddress.
#[derive(Debug, Clone, Serialize)]
pub struct IpAddressSpec {
    pub addr: IpAddr,
    pub prefix_len: u8,
    pub brd: Option<String>,
    pub dev: Option<String>,
    pub scope: Option<String>,
    pub label: Option<String>,
    pub peer: Option<IpAddr>,
    pub flags: Vec<String>,
    pub preferred_lft: Option<String>,
    pub loc: Loc,
}

#[derive(Debug, Clone, Serialize)]
pub struct UnicastPeer {
    pub addr: IpAddr,
    pub min_ttl: Option<u8>,
    pub max_ttl: Option<u8>,
    pub loc: Loc,
}

#[derive(Debug, Clone, Serialize)]
pub struct VrrpInstance {
    pub name: String,
    pub loc: Loc,
    /// As written; None = not given.
    pub state: Option<InitialState>,
    pub interface: Option<String>,
    pub virtual_router_id: Option<u8>,
    /// Effective base priority (default 100; 255 for `state MASTER` without one).
    pub priority: u8,
    pub priority_given: bool,
    /// Seconds. v2 rounds to whole seconds.
    pub advert_int: f64,
    /// 2 or 3 (IPv6 instances always 3).
    pub version: u8,
    pub authentication: Option<Authentication>,
    pub virtual_ipaddress: Vec<IpAddressSpec>,
    pub virtual_ipaddress_excluded: Vec<IpAddressSpec>,
    pub no_virtual_ipaddress: bool,
    pub virtual_routes: Vec<RawLine>,
    pub virtual_rules: Vec<RawLine>,
    pub nopreempt: bool,
    pub preempt_delay: f64,
    pub unicast_src_ip: Option<IpAddr>,
    pub unicast_peers: Vec<UnicastPeer>,
    pub unicast_ttl: Option<u8>,
    pub mcast_dst_ip: Option<IpAddr>,
    pub check_unicast_src: Option<bool>,
    pub track: Trackers,
    pub dont_track_primary: bool,
    pub track_src_ip: bool,
    pub notify: Notify,
    pub smtp_alert: Option<bool>,
    pub garp: Option<super::GarpSettings>,
    pub accept: Option<bool>,
    pub strict_mode: Option<bool>,
    pub skip_check_adv_addr: Option<bool>,
    pub use_vmac: Option<Vec<String>>,
    pub promote_secondaries: bool,
    pub down_timer_adverts: Option<u32>,
    pub lower_prio_no_advert: Option<bool>,
    pub higher_prio_send_advert: Option<bool>,
    pub owner_ignore_adverts: Option<bool>,
    pub v3_checksum_as_v2: Option<bool>,
    pub notify_priority_changes: bool,
    /// Recognised keywords lvsd accepts but does not act on, as written.
    pub other: BTreeMap<String, Vec<String>>,
}
