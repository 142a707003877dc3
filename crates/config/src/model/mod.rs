//! The typed configuration: what lvsd will run, after includes, parameters
//! and keepalived's defaults. Every block keeps the location it came from.

mod check;
mod global;
mod lvs;
mod vrrp;

pub use check::*;
pub use global::*;
pub use lvs::*;
pub use vrrp::*;

use crate::diag::Loc;
use serde::Serialize;
use std::collections::BTreeMap;

/// A whole configuration.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Config {
    pub global: GlobalDefs,
    pub vrrp_scripts: Vec<VrrpScript>,
    pub track_files: Vec<TrackFile>,
    pub track_processes: Vec<TrackProcess>,
    pub sync_groups: Vec<SyncGroup>,
    pub instances: Vec<VrrpInstance>,
    pub static_ipaddress: Vec<IpAddressSpec>,
    pub static_routes: Vec<RawLine>,
    pub static_rules: Vec<RawLine>,
    pub virtual_server_groups: Vec<VirtualServerGroup>,
    pub virtual_servers: Vec<std::sync::Arc<VirtualServer>>,
    pub ssl: Option<SslContext>,
    /// Blocks lvsd recognises but does not act on yet (garp_group, track_group,
    /// bfd_instance, linkbeat_interfaces, interface_up_down_delays), verbatim.
    pub other_blocks: Vec<OtherBlock>,
}

/// A line kept as its words (routes and rules use iproute2's full syntax).
#[derive(Debug, Clone, Serialize)]
pub struct RawLine {
    pub words: Vec<String>,
    pub loc: Loc,
}

/// A block kept verbatim.
#[derive(Debug, Clone, Serialize)]
pub struct OtherBlock {
    pub keyword: String,
    pub args: Vec<String>,
    pub loc: Loc,
    pub items: BTreeMap<String, Vec<String>>,
}

/// A script with its arguments and the user to run it as.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Script {
    /// The command line as written (after unquoting).
    pub command: String,
    /// argv, split at unquoted spaces; single quotes group.
    pub argv: Vec<String>,
    pub user: Option<String>,
    pub group: Option<String>,
    pub loc: Loc,
}

/// A reference to another named object (track_script NAME, group members...).
#[derive(Debug, Clone, Serialize)]
pub struct NameRef {
    pub name: String,
    pub loc: Loc,
}
