//! Which keywords each block accepts, and which of them open a sub-block.
//! The single source of truth for "unknown keyword", "did you mean" and for
//! recovering from a missing `}`. Keyword names follow keepalived 2.2–2.4.

/// The kinds of block in keepalived.conf.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockKind {
    Root,
    Global,
    VrrpScript,
    TrackFile,
    TrackProcess,
    SyncGroup,
    Instance,
    Auth,
    AuthHmac,
    VirtualServer,
    RealServer,
    Checker(CheckerKind),
    Url,
    SmtpHost,
    Ssl,
    GarpGroup,
    TrackGroup,
    Bfd,
    /// A block of free-form lines (addresses, names, routes, ...).
    List,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum CheckerKind {
    #[serde(rename = "TCP_CHECK")]
    Tcp,
    #[serde(rename = "HTTP_GET")]
    Http,
    #[serde(rename = "SSL_GET")]
    Ssl,
    #[serde(rename = "SMTP_CHECK")]
    Smtp,
    #[serde(rename = "DNS_CHECK")]
    Dns,
    #[serde(rename = "MISC_CHECK")]
    Misc,
    #[serde(rename = "UDP_CHECK")]
    Udp,
    #[serde(rename = "PING_CHECK")]
    Ping,
    #[serde(rename = "FILE_CHECK")]
    File,
    #[serde(rename = "BFD_CHECK")]
    Bfd,
}

impl CheckerKind {
    pub fn from_keyword(kw: &str) -> Option<CheckerKind> {
        Some(match kw {
            "TCP_CHECK" => CheckerKind::Tcp,
            "HTTP_GET" => CheckerKind::Http,
            "SSL_GET" => CheckerKind::Ssl,
            "SMTP_CHECK" => CheckerKind::Smtp,
            "DNS_CHECK" => CheckerKind::Dns,
            "MISC_CHECK" => CheckerKind::Misc,
            "UDP_CHECK" => CheckerKind::Udp,
            "PING_CHECK" => CheckerKind::Ping,
            "FILE_CHECK" => CheckerKind::File,
            "BFD_CHECK" => CheckerKind::Bfd,
            _ => return None,
        })
    }
}

use BlockKind as B;
type Entry = (&'static str, Option<BlockKind>);

const ROOT: &[Entry] = &[
    ("global_defs", Some(B::Global)),
    ("vrrp_script", Some(B::VrrpScript)),
    ("track_file", Some(B::TrackFile)),
    ("vrrp_track_file", Some(B::TrackFile)),
    ("vrrp_track_process", Some(B::TrackProcess)),
    ("vrrp_sync_group", Some(B::SyncGroup)),
    ("vrrp_instance", Some(B::Instance)),
    ("static_ipaddress", Some(B::List)),
    ("static_routes", Some(B::List)),
    ("static_rules", Some(B::List)),
    ("virtual_server_group", Some(B::List)),
    ("virtual_server", Some(B::VirtualServer)),
    ("SSL", Some(B::Ssl)),
    ("linkbeat_interfaces", Some(B::List)),
    ("interface_up_down_delays", Some(B::List)),
    ("track_group", Some(B::TrackGroup)),
    ("garp_group", Some(B::GarpGroup)),
    ("bfd_instance", Some(B::Bfd)),
    ("net_namespace", None),
    ("net_namespace_ipvs", None),
    ("namespace_with_ipsets", None),
    ("instance", None),
    ("use_pid_dir", None),
    ("linkbeat_use_polling", None),
    ("child_wait_time", None),
];

const GLOBAL: &[Entry] = &[
    ("notification_email", Some(B::List)),
    ("notification_email_from", None),
    ("smtp_server", None),
    ("smtp_helo_name", None),
    ("smtp_connect_timeout", None),
    ("smtp_alert", None),
    ("smtp_alert_vrrp", None),
    ("smtp_alert_checker", None),
    ("no_email_faults", None),
    ("no_checker_emails", None),
    ("checker_log_all_failures", None),
    ("router_id", None),
    ("vrrp_mcast_group4", None),
    ("vrrp_mcast_group6", None),
    ("default_interface", None),
    ("vrrp_version", None),
    ("vrrp_strict", None),
    ("vrrp_skip_check_adv_addr", None),
    ("vrrp_address_mismatch", None),
    ("vrrp_script_missing", None),
    ("vrrp_garp_interval", None),
    ("vrrp_gna_interval", None),
    ("vrrp_garp_master_delay", None),
    ("vrrp_garp_master_repeat", None),
    ("vrrp_garp_master_refresh", None),
    ("vrrp_garp_master_refresh_repeat", None),
    ("vrrp_garp_lower_prio_delay", None),
    ("vrrp_garp_lower_prio_repeat", None),
    ("vrrp_down_timer_adverts", None),
    ("vrrp_min_garp", None),
    ("vrrp_garp_extra_if", None),
    ("vrrp_vmac_garp_intvl", None),
    ("vrrp_lower_prio_no_advert", None),
    ("vrrp_higher_prio_send_advert", None),
    ("vrrp_owner_ignore_adverts", None),
    ("v3_checksum_as_v2", None),
    ("vrrp_check_unicast_src", None),
    ("vrrp_iptables", None),
    ("vrrp_ipsets", None),
    ("nftables", None),
    ("nftables_priority", None),
    ("nftables_ifindex", None),
    ("nftables_counters", None),
    ("nftables_ipvs", None),
    ("nftables_ipvs_priority", None),
    ("nftables_ipvs_start_fwmark", None),
    ("disable_local_igmp", None),
    ("lvs_timeouts", None),
    ("lvs_flush", None),
    ("lvs_flush_on_stop", None),
    ("colocated_directors", None),
    ("colocated_on_stop", None),
    ("lvsd_metrics_listen", None),
    ("lvsd_control_group", None),
    ("lvsd_status_group", None),
    ("lvs_flush_onstop", None),
    ("lvs_sync_daemon", None),
    ("script_user", None),
    ("enable_script_security", None),
    ("set_supplementary_groups", None),
    ("use_symlink_paths", None),
    ("startup_script", None),
    ("startup_script_timeout", None),
    ("shutdown_script", None),
    ("shutdown_script_timeout", None),
    ("notify_fifo", None),
    ("notify_fifo_script", None),
    ("vrrp_notify_fifo", None),
    ("vrrp_notify_fifo_script", None),
    ("lvs_notify_fifo", None),
    ("lvs_notify_fifo_script", None),
    ("fifo_write_vrrp_states_on_reload", None),
    ("vrrp_notify_priority_changes", None),
    ("vrrp_priority", None),
    ("vrrp_no_swap", None),
    ("vrrp_rt_priority", None),
    ("vrrp_cpu_affinity", None),
    ("vrrp_rlimit_rttime", None),
    ("vrrp_rlimit_rtime", None),
    ("checker_priority", None),
    ("checker_no_swap", None),
    ("checker_rt_priority", None),
    ("checker_cpu_affinity", None),
    ("checker_rlimit_rttime", None),
    ("checker_rlimit_rtime", None),
    ("bfd_priority", None),
    ("bfd_no_swap", None),
    ("bfd_rt_priority", None),
    ("bfd_cpu_affinity", None),
    ("bfd_rlimit_rttime", None),
    ("bfd_rlimit_rtime", None),
    ("max_auto_priority", None),
    ("min_auto_priority_delay", None),
    ("snmp_socket", None),
    ("enable_traps", None),
    ("enable_snmp_vrrp", None),
    ("enable_snmp_keepalived", None),
    ("enable_snmp_rfc", None),
    ("enable_snmp_rfcv2", None),
    ("enable_snmp_rfcv3", None),
    ("enable_snmp_checker", None),
    ("snmp_vs_stats_update_interval", None),
    ("snmp_rs_stats_update_interval", None),
    ("enable_dbus", None),
    ("dbus_service_name", None),
    ("dbus_no_interface_name", None),
    ("dynamic_interfaces", None),
    ("vrrp_netlink_cmd_rcv_bufs", None),
    ("vrrp_netlink_cmd_rcv_bufs_force", None),
    ("vrrp_netlink_monitor_rcv_bufs", None),
    ("vrrp_netlink_monitor_rcv_bufs_force", None),
    ("process_monitor_rcv_bufs", None),
    ("process_monitor_rcv_bufs_force", None),
    ("lvs_netlink_cmd_rcv_bufs", None),
    ("lvs_netlink_cmd_rcv_bufs_force", None),
    ("lvs_netlink_monitor_rcv_bufs", None),
    ("lvs_netlink_monitor_rcv_bufs_force", None),
    ("rs_init_notifies", None),
    ("vrrp_rx_bufs_policy", None),
    ("vrrp_rx_bufs_multiplier", None),
    ("vrrp_startup_delay", None),
    ("vrrp_delay_after_boot", None),
    ("log_unknown_vrids", None),
    ("vmac_prefix", None),
    ("vmac_addr_prefix", None),
    ("umask", None),
    ("random_seed", None),
    ("reload_check_config", None),
    ("reload_time_file", None),
    ("reload_repeat", None),
    ("reload_file", None),
    ("include_check", None),
    ("config_save_dir", None),
    ("tmp_config_directory", None),
    ("data_use_instance", None),
    ("json_version", None),
    ("iproute_usr_dir", None),
    ("iproute_etc_dir", None),
    ("state_dump_file", None),
    ("stats_dump_file", None),
    ("json_dump_file", None),
    ("process_names", None),
    ("process_name", None),
    ("vrrp_process_name", None),
    ("checker_process_name", None),
    ("lvs_process_name", None),
    ("bfd_process_name", None),
    ("linkbeat_use_polling", None),
    ("net_namespace", None),
    ("net_namespace_ipvs", None),
    ("namespace_with_ipsets", None),
    ("instance", None),
    ("use_pid_dir", None),
    ("child_wait_time", None),
];

const VRRP_SCRIPT: &[Entry] = &[
    ("script", None),
    ("interval", None),
    ("timeout", None),
    ("weight", None),
    ("rise", None),
    ("fall", None),
    ("user", None),
    ("init_fail", None),
];

const TRACK_FILE: &[Entry] = &[("file", None), ("weight", None), ("init_file", None)];

const TRACK_PROCESS: &[Entry] = &[
    ("process", None),
    ("param_match", None),
    ("weight", None),
    ("quorum", None),
    ("quorum_max", None),
    ("delay", None),
    ("terminate_delay", None),
    ("fork_delay", None),
    ("full_command", None),
];

const SYNC_GROUP: &[Entry] = &[
    ("group", Some(B::List)),
    ("track_interface", Some(B::List)),
    ("track_script", Some(B::List)),
    ("track_file", Some(B::List)),
    ("track_process", Some(B::List)),
    ("track_bfd", Some(B::List)),
    ("notify_master", None),
    ("notify_backup", None),
    ("notify_fault", None),
    ("notify_stop", None),
    ("notify", None),
    ("notify_deleted", None),
    ("smtp_alert", None),
    ("global_tracking", None),
    ("sync_group_tracking_weight", None),
    ("notify_priority_changes", None),
];

const INSTANCE: &[Entry] = &[
    ("state", None),
    ("interface", None),
    ("vrf", None),
    ("virtual_router_id", None),
    ("priority", None),
    ("advert_int", None),
    ("authentication", Some(B::Auth)),
    ("auth_hmac", Some(B::AuthHmac)),
    ("virtual_ipaddress", Some(B::List)),
    ("virtual_ipaddress_excluded", Some(B::List)),
    ("no_virtual_ipaddress", None),
    ("virtual_routes", Some(B::List)),
    ("virtual_rules", Some(B::List)),
    ("promote_secondaries", None),
    ("nopreempt", None),
    ("preempt", None),
    ("preempt_delay", None),
    ("mcast_src_ip", None),
    ("unicast_src_ip", None),
    ("unicast_peer", Some(B::List)),
    ("unicast_ttl", None),
    ("unicast_fault_no_peer", None),
    ("check_unicast_src", None),
    ("old_unicast_checksum", None),
    ("mcast_dst_ip", None),
    ("track_src_ip", None),
    ("version", None),
    ("v3_checksum_as_v2", None),
    ("native_ipv6", None),
    ("track_interface", Some(B::List)),
    ("track_script", Some(B::List)),
    ("track_file", Some(B::List)),
    ("track_process", Some(B::List)),
    ("track_bfd", Some(B::List)),
    ("dont_track_primary", None),
    ("use_vmac", None),
    ("use_vmac_addr", None),
    ("vmac_xmit_base", None),
    ("use_ipvlan", None),
    ("accept", None),
    ("no_accept", None),
    ("strict_mode", None),
    ("skip_check_adv_addr", None),
    ("notify_master", None),
    ("notify_backup", None),
    ("notify_fault", None),
    ("notify_stop", None),
    ("notify", None),
    ("notify_deleted", None),
    ("notify_master_rx_lower_pri", None),
    ("notify_priority_changes", None),
    ("smtp_alert", None),
    ("garp_master_delay", None),
    ("garp_master_repeat", None),
    ("garp_master_refresh", None),
    ("garp_master_refresh_repeat", None),
    ("garp_lower_prio_delay", None),
    ("garp_lower_prio_repeat", None),
    ("garp_extra_if", None),
    ("vmac_garp_intvl", None),
    ("down_timer_adverts", None),
    ("timer_expired_backup", None),
    ("thread_timer_expired", None),
    ("lower_prio_no_advert", None),
    ("higher_prio_send_advert", None),
    ("owner_ignore_adverts", None),
    ("kernel_rx_buf_size", None),
    ("linkbeat_use_polling", None),
    ("debug", None),
    ("lvs_sync_daemon_interface", None),
];

const AUTH: &[Entry] = &[("auth_type", None), ("auth_pass", None)];
const AUTH_HMAC: &[Entry] = &[
    ("key", None),
    ("active_key", None),
    ("time_window", None),
    ("anti_replay", None),
    ("mode", None),
];

const VIRTUAL_SERVER: &[Entry] = &[
    ("ip_family", None),
    ("retry", None),
    ("delay_before_retry", None),
    ("warmup", None),
    ("connect_timeout", None),
    ("delay_loop", None),
    ("inhibit_on_failure", None),
    ("lb_algo", None),
    ("lvs_sched", None),
    ("hashed", None),
    ("ops", None),
    ("flag-1", None),
    ("flag-2", None),
    ("flag-3", None),
    ("sh-port", None),
    ("sh-fallback", None),
    ("mh-port", None),
    ("mh-fallback", None),
    ("lb_kind", None),
    ("lvs_method", None),
    ("persistence_engine", None),
    ("persistence_timeout", None),
    ("persistence_granularity", None),
    ("protocol", None),
    ("ha_suspend", None),
    ("smtp_alert", None),
    ("virtualhost", None),
    ("snmp_name", None),
    ("alpha", None),
    ("omega", None),
    ("quorum_up", None),
    ("quorum_down", None),
    ("quorum", None),
    ("hysteresis", None),
    ("weight", None),
    ("sorry_server", None),
    ("sorry_server_inhibit", None),
    ("sorry_server_lvs_method", None),
    ("real_server", Some(B::RealServer)),
];

const REAL_SERVER: &[Entry] = &[
    ("weight", None),
    ("lvs_method", None),
    ("uthreshold", None),
    ("lthreshold", None),
    ("inhibit_on_failure", None),
    ("notify_up", None),
    ("notify_down", None),
    ("alpha", None),
    ("retry", None),
    ("delay_before_retry", None),
    ("warmup", None),
    ("connect_timeout", None),
    ("delay_loop", None),
    ("smtp_alert", None),
    ("virtualhost", None),
    ("snmp_name", None),
    ("TCP_CHECK", Some(B::Checker(CheckerKind::Tcp))),
    ("HTTP_GET", Some(B::Checker(CheckerKind::Http))),
    ("SSL_GET", Some(B::Checker(CheckerKind::Ssl))),
    ("SMTP_CHECK", Some(B::Checker(CheckerKind::Smtp))),
    ("DNS_CHECK", Some(B::Checker(CheckerKind::Dns))),
    ("MISC_CHECK", Some(B::Checker(CheckerKind::Misc))),
    ("UDP_CHECK", Some(B::Checker(CheckerKind::Udp))),
    ("PING_CHECK", Some(B::Checker(CheckerKind::Ping))),
    ("FILE_CHECK", Some(B::Checker(CheckerKind::File))),
    ("BFD_CHECK", Some(B::Checker(CheckerKind::Bfd))),
];

/// Options every network checker has.
pub const CHECK_COMMON: &[Entry] = &[
    ("connect_ip", None),
    ("connect_port", None),
    ("bindto", None),
    ("bind_port", None),
    ("bind_if", None),
    ("connect_timeout", None),
    ("fwmark", None),
    ("retry", None),
    ("delay_before_retry", None),
    ("warmup", None),
    ("delay_loop", None),
    ("alpha", None),
    ("log_all_failures", None),
];
/// Options of the checkers that do not connect anywhere (MISC, FILE).
const CHECK_LOCAL: &[Entry] = &[
    ("retry", None),
    ("delay_before_retry", None),
    ("warmup", None),
    ("delay_loop", None),
    ("alpha", None),
    ("log_all_failures", None),
];
/// lvsd extensions of every checker but BFD_CHECK: `rise N` (consecutive successes to come
/// up) and `fall N` (consecutive failures to go down; keepalived: retry + 1).
const CHECK_RISE_FALL: &[Entry] = &[("rise", None), ("fall", None)];
const CHECK_TCP: &[Entry] = &[("nb_get_retry", None)];
const CHECK_HTTP: &[Entry] = &[
    ("nb_get_retry", None),
    ("virtualhost", None),
    ("http_protocol", None),
    ("enable_sni", None),
    ("sni_name", None),
    ("fast_recovery", None),
    ("tls_compliant", None),
    // lvsd extension (SSL_GET): verify the server's certificate (the SSL block's `ca`, else
    // the Mozilla roots); keepalived never verifies.
    ("verify_certificate", None),
    ("url", Some(B::Url)),
];
const URL: &[Entry] = &[
    ("path", None),
    ("digest", None),
    ("status_code", None),
    ("virtualhost", None),
    ("regex", None),
    ("regex_no_match", None),
    ("regex_options", None),
    ("regex_min_offset", None),
    ("regex_max_offset", None),
    ("regex_stack", None),
];
const CHECK_SMTP: &[Entry] = &[("helo_name", None), ("host", Some(B::SmtpHost))];
const CHECK_DNS: &[Entry] = &[("type", None), ("name", None)];
const CHECK_MISC: &[Entry] = &[
    ("misc_path", None),
    ("misc_timeout", None),
    ("misc_dynamic", None),
    ("user", None),
];
const CHECK_UDP: &[Entry] = &[
    ("payload", None),
    ("require_reply", None),
    ("min_reply_length", None),
    ("max_reply_length", None),
];
const CHECK_FILE: &[Entry] = &[("track_file", None), ("weight", None)];
const CHECK_BFD: &[Entry] = &[("name", None), ("alpha", None)];

const SSL: &[Entry] = &[
    ("password", None),
    ("ca", None),
    ("certificate", None),
    ("key", None),
];
const GARP_GROUP: &[Entry] = &[
    ("garp_interval", None),
    ("gna_interval", None),
    ("interface", None),
    ("interfaces", Some(B::List)),
];
const TRACK_GROUP: &[Entry] = &[("group", Some(B::List))];
const BFD: &[Entry] = &[
    ("source_ip", None),
    ("neighbor_ip", None),
    ("neighbour_ip", None),
    ("min_rx", None),
    ("min_tx", None),
    ("idle_tx", None),
    ("multiplier", None),
    ("passive", None),
    ("ttl", None),
    ("hoplimit", None),
    ("max_hops", None),
    ("multihop", None),
    ("weight", None),
    ("vrrp", None),
    ("checker", None),
];

/// The keyword tables of a block kind (several slices for checkers).
pub fn tables(kind: BlockKind) -> &'static [&'static [Entry]] {
    use CheckerKind as C;
    match kind {
        B::Root => &[ROOT],
        B::Global => &[GLOBAL],
        B::VrrpScript => &[VRRP_SCRIPT],
        B::TrackFile => &[TRACK_FILE],
        B::TrackProcess => &[TRACK_PROCESS],
        B::SyncGroup => &[SYNC_GROUP],
        B::Instance => &[INSTANCE],
        B::Auth => &[AUTH],
        B::AuthHmac => &[AUTH_HMAC],
        B::VirtualServer => &[VIRTUAL_SERVER],
        B::RealServer => &[REAL_SERVER],
        B::Checker(C::Tcp) => &[CHECK_COMMON, CHECK_RISE_FALL, CHECK_TCP],
        B::Checker(C::Http) | B::Checker(C::Ssl) => &[CHECK_COMMON, CHECK_RISE_FALL, CHECK_HTTP],
        B::Checker(C::Smtp) => &[CHECK_COMMON, CHECK_RISE_FALL, CHECK_SMTP],
        B::SmtpHost => &[CHECK_COMMON],
        B::Checker(C::Dns) => &[CHECK_COMMON, CHECK_RISE_FALL, CHECK_DNS],
        B::Checker(C::Misc) => &[CHECK_LOCAL, CHECK_RISE_FALL, CHECK_MISC],
        B::Checker(C::Udp) => &[CHECK_COMMON, CHECK_RISE_FALL, CHECK_UDP],
        B::Checker(C::Ping) => &[CHECK_COMMON, CHECK_RISE_FALL],
        B::Checker(C::File) => &[CHECK_LOCAL, CHECK_RISE_FALL, CHECK_FILE],
        B::Checker(C::Bfd) => &[CHECK_BFD],
        B::Url => &[URL],
        B::Ssl => &[SSL],
        B::GarpGroup => &[GARP_GROUP],
        B::TrackGroup => &[TRACK_GROUP],
        B::Bfd => &[BFD],
        B::List => &[],
    }
}

/// Look a keyword up in a block: `Some(sub-block kind or None)` if known.
pub fn lookup(kind: BlockKind, kw: &str) -> Option<Option<BlockKind>> {
    tables(kind)
        .iter()
        .flat_map(|t| t.iter())
        .find(|(k, _)| *k == kw)
        .map(|(_, b)| *b)
}

/// All keywords of a block.
pub fn keywords(kind: BlockKind) -> impl Iterator<Item = &'static str> {
    tables(kind).iter().flat_map(|t| t.iter()).map(|(k, _)| *k)
}

/// The closest known keyword, for "did you mean".
pub fn suggest(kind: BlockKind, word: &str) -> Option<&'static str> {
    crate::suggest::closest(word, keywords(kind))
}
