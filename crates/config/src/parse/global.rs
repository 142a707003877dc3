use super::{walk, Item};
use crate::diag::{Code, Diagnostic};
use crate::model::{ColocatedMode, Fifo, GarpSettings, GlobalDefs, LvsSyncDaemon, SmtpServer};
use crate::schema::BlockKind;
use crate::tree::Node;

const MAX_TIMER: f64 = 4294.967295;

pub(crate) fn global_defs(node: &Node, g: &mut GlobalDefs, d: &mut Vec<Diagnostic>) {
    walk(node.children(), BlockKind::Global, d, |it| {
        let kw = it.kw();
        match kw {
            "router_id" => g.router_id = it.string(),
            "notification_email" => {
                if it.node.children().is_empty() {
                    let loc = it.loc();
                    it.emit(
                        Code::LikelyMistake,
                        loc,
                        "empty notification_email block: no mail is sent (keepalived 2.2.7 says the same)",
                        "add an address per line, or remove the block",
                    );
                }
                for c in it.node.children() {
                    g.notification_email.push(c.keyword.text.clone());
                    for a in &c.args {
                        g.notification_email.push(a.text.clone());
                    }
                }
            }
            "notification_email_from" => g.notification_email_from = it.string(),
            "smtp_server" => {
                let tok = it.peek().map(|t| t.loc);
                if let Some(host) = it.string() {
                    // an invalid port: the line is ignored, no mail (keepalived 2.2.7 drops
                    // the server too)
                    let port = match it.next() {
                        Some(t) => it.int_of(t, 1, 65535),
                        None => Some(25),
                    };
                    let Some(port) = port else {
                        return;
                    };
                    if valid_host(&host) {
                        g.smtp_server = Some(SmtpServer { host, port });
                    } else if let Some(loc) = tok {
                        it.emit(
                            Code::Ignored,
                            loc,
                            format!("`{host}` is neither an IP address nor a host name: ignored, no alert mail is sent (keepalived 2.2.7 also reports it and sends none)"),
                            "write the mail relay's address or name, e.g. `smtp_server 127.0.0.1`",
                        );
                    }
                }
            }
            "smtp_helo_name" => g.smtp_helo_name = it.string(),
            "smtp_connect_timeout" => {
                if let Some(v) = it.timer(0.000001, MAX_TIMER) {
                    g.smtp_connect_timeout = v
                }
            }
            "smtp_alert" => g.smtp_alert = Some(it.flag()),
            "smtp_alert_vrrp" => g.smtp_alert_vrrp = Some(it.flag()),
            "smtp_alert_checker" => g.smtp_alert_checker = Some(it.flag()),
            "no_email_faults" => g.no_email_faults = it.flag(),
            "checker_log_all_failures" => g.checker_log_all_failures = it.flag(),
            "vrrp_mcast_group4" => match it.ip("an IPv4 multicast address") {
                Some(std::net::IpAddr::V4(a)) if a.is_multicast() => g.vrrp_mcast_group4 = a,
                Some(_) => {
                    let loc = it.loc();
                    it.emit(
                        Code::InvalidAddress,
                        loc,
                        "vrrp_mcast_group4 must be an IPv4 multicast address",
                        "e.g. 224.0.0.18",
                    )
                }
                None => {}
            },
            "vrrp_mcast_group6" => match it.ip("an IPv6 multicast address") {
                Some(std::net::IpAddr::V6(a)) if a.is_multicast() => g.vrrp_mcast_group6 = a,
                Some(_) => {
                    let loc = it.loc();
                    it.emit(
                        Code::InvalidAddress,
                        loc,
                        "vrrp_mcast_group6 must be an IPv6 multicast address",
                        "e.g. ff02::12",
                    )
                }
                None => {}
            },
            "default_interface" => {
                if let Some(s) = it.string() {
                    g.default_interface = s
                }
            }
            "vrrp_version" => {
                if let Some(v) = it.int(2, 3) {
                    g.vrrp_version = v
                }
            }
            "vrrp_strict" => g.vrrp_strict = it.flag(),
            "vrrp_skip_check_adv_addr" => g.vrrp_skip_check_adv_addr = it.flag(),
            "vrrp_script_missing" => {
                if let Some(v) = it.choice(&["down", "up"]) {
                    g.vrrp_script_missing_up = v == "up";
                }
            }
            "vrrp_address_mismatch" => {
                if let Some(v) = it.choice(&["accept", "reject"]) {
                    g.vrrp_address_mismatch_reject = v == "reject";
                }
            }
            "vrrp_check_unicast_src" => g.vrrp_check_unicast_src = it.flag(),
            "colocated_directors" => {
                if let Some(v) = it.choice(&["guard", "master_only", "off"]) {
                    g.colocated_directors = match v {
                        "master_only" => ColocatedMode::MasterOnly,
                        "off" => ColocatedMode::Off,
                        _ => ColocatedMode::Guard,
                    };
                }
            }
            "lvsd_metrics_listen" => {
                if let Some(t) = it.need("an address and port (127.0.0.1:9650, [::]:9650)") {
                    match t.text.parse::<std::net::SocketAddr>() {
                        Ok(a) => g.metrics_listen = Some(a),
                        Err(_) => {
                            let (loc, text) = (t.loc, t.text.clone());
                            it.emit(
                                Code::InvalidValue,
                                loc,
                                format!("`{text}` is not an address and port"),
                                "write e.g. `lvsd_metrics_listen 127.0.0.1:9650` or `[::]:9650`",
                            )
                        }
                    }
                }
            }
            "lvsd_control_group" => {
                if let Some(t) = it.need("a group name") {
                    g.control_group = Some(t.text.clone());
                }
            }
            "lvsd_status_group" => {
                if let Some(t) = it.need("a group name") {
                    g.status_group = Some(t.text.clone());
                }
            }
            "colocated_on_stop" => {
                if let Some(v) = it.choice(&["real_server", "remove"]) {
                    g.colocated_on_stop_remove = v == "remove";
                }
            }
            "v3_checksum_as_v2" => g.v3_checksum_as_v2 = it.flag(),
            "vrrp_garp_interval" | "vrrp_gna_interval" => {
                let v = interval_allowing_zero(it);
                if kw == "vrrp_garp_interval" {
                    g.vrrp_garp_interval = v
                } else {
                    g.vrrp_gna_interval = v
                }
            }
            "vrrp_garp_master_delay"
            | "vrrp_garp_master_repeat"
            | "vrrp_garp_master_refresh"
            | "vrrp_garp_master_refresh_repeat"
            | "vrrp_garp_lower_prio_delay"
            | "vrrp_garp_lower_prio_repeat" => garp(it, &kw[5..], &mut g.garp),
            "vrrp_min_garp" => {
                if it.flag() {
                    g.garp.master_repeat = 1;
                    g.garp.master_delay = 0.0;
                }
            }
            "vrrp_down_timer_adverts" => {
                if let Some(v) = it.int(1, 100) {
                    g.vrrp_down_timer_adverts = v
                }
            }
            "vrrp_lower_prio_no_advert" => g.vrrp_lower_prio_no_advert = it.flag(),
            "vrrp_higher_prio_send_advert" => g.vrrp_higher_prio_send_advert = it.flag(),
            "vrrp_owner_ignore_adverts" => g.vrrp_owner_ignore_adverts = it.flag(),
            "vrrp_startup_delay" => {
                if let Some(v) = it.timer(0.0, 3600.0) {
                    g.vrrp_startup_delay = v
                }
                it.not_implemented();
            }
            "dynamic_interfaces" => {
                g.dynamic_interfaces = true;
                it.silence();
            }
            "lvs_timeouts" => {
                it.options_follow();
                while let Some(t) = it.next() {
                    let which = t.text.clone();
                    let Some(v) = it.next() else {
                        let loc = t.loc;
                        it.emit(
                            Code::MissingArgument,
                            loc,
                            format!("`{which}` needs a number of seconds"),
                            "lvs_timeouts tcp 900 tcpfin 120 udp 300",
                        );
                        break;
                    };
                    let n = it.int_of::<u32>(v, 0, 86400 * 31);
                    match which.as_str() {
                        "tcp" => g.lvs_timeouts.tcp = n,
                        "tcpfin" => g.lvs_timeouts.tcpfin = n,
                        "udp" => g.lvs_timeouts.udp = n,
                        _ => {
                            let loc = t.loc;
                            it.emit(
                                Code::InvalidValue,
                                loc,
                                format!("unknown lvs_timeouts item `{which}`"),
                                "items: tcp, tcpfin, udp",
                            )
                        }
                    }
                }
            }
            "lvs_flush" => g.lvs_flush = it.flag(),
            "lvs_flush_on_stop" | "lvs_flush_onstop" => {
                g.lvs_flush_on_stop = Some(
                    it.next()
                        .map(|t| t.text.clone())
                        .unwrap_or_else(|| "all".into()),
                )
            }
            "lvs_sync_daemon" => g.lvs_sync_daemon = sync_daemon(it),
            "script_user" => {
                g.script_user = it.string();
                g.script_group = it
                    .next()
                    .map(|t| t.text.trim_start_matches(':').to_string());
            }
            "enable_script_security" => g.enable_script_security = it.flag(),
            // read and checked; lvsd does not run them yet
            "startup_script" => {
                g.startup_script = it.script();
                it.not_implemented();
            }
            "shutdown_script" => {
                g.shutdown_script = it.script();
                it.not_implemented();
            }
            "startup_script_timeout" => {
                if let Some(v) = it.int::<u32>(1, 1000) {
                    g.startup_script_timeout = v.into()
                }
            }
            "shutdown_script_timeout" => {
                if let Some(v) = it.int::<u32>(1, 1000) {
                    g.shutdown_script_timeout = v.into()
                }
            }
            "notify_fifo" => fifo(it, &mut g.notify_fifo),
            "vrrp_notify_fifo" => fifo(it, &mut g.vrrp_notify_fifo),
            "lvs_notify_fifo" => fifo(it, &mut g.lvs_notify_fifo),
            "notify_fifo_script" => fifo_script(it, &mut g.notify_fifo),
            "vrrp_notify_fifo_script" => fifo_script(it, &mut g.vrrp_notify_fifo),
            "lvs_notify_fifo_script" => fifo_script(it, &mut g.lvs_notify_fifo),
            "vrrp_notify_priority_changes" => g.vrrp_notify_priority_changes = it.flag(),
            "random_seed" => g.random_seed = it.int(0, u32::MAX as i128),
            "include_check" => {
                // applied while reading (see reader.rs)
                it.rest();
            }
            _ => {
                it.not_implemented();
                g.other.insert(
                    kw.to_string(),
                    it.node.args.iter().map(|t| t.text.clone()).collect(),
                );
            }
        }
    });
}

/// An IP address, or a host name of letters, digits, `-` and `.` (RFC 1123).
fn valid_host(h: &str) -> bool {
    h.parse::<std::net::IpAddr>().is_ok()
        || (!h.is_empty()
            && h.len() <= 253
            && h.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            }))
}

/// vrrp_garp_interval / vrrp_gna_interval: 0 means "no gap", which is the
/// default; keepalived 2.2.7 rejects 0 with a message but runs, and its
/// shipped sample config uses it, so 0 is accepted here, and the difference said.
fn interval_allowing_zero(it: &mut Item<'_>) -> f64 {
    let Some(tok) = it.need("a time in seconds") else {
        return 0.0;
    };
    if tok.text.parse::<f64>() == Ok(0.0) {
        let kw = it.kw().to_string();
        it.emit(
            Code::KeepalivedDiffers,
            tok.loc,
            format!("`{kw} 0` read as no gap, the default; keepalived 2.2.7 rejects 0 (its range starts at 0.000001): it says `{kw} '0' is invalid` and `keepalived -t` fails, then it runs with the default, also no gap"),
            "remove the line (no gap is the default) so that `keepalived -t` passes too",
        );
        return 0.0;
    }
    it.timer_of(tok, 0.000001, MAX_TIMER).unwrap_or(0.0)
}

pub(crate) fn garp(it: &mut Item<'_>, which: &str, s: &mut GarpSettings) {
    match which.strip_prefix("garp_").unwrap_or(which) {
        "master_delay" => {
            if let Some(v) = it.timer(0.0, MAX_TIMER) {
                s.master_delay = v
            }
        }
        "master_repeat" => {
            if let Some(v) = it.int(1, 255) {
                s.master_repeat = v
            }
        }
        "master_refresh" => {
            if let Some(v) = it.timer(0.0, MAX_TIMER) {
                s.master_refresh = v
            }
        }
        "master_refresh_repeat" => {
            if let Some(v) = it.int(1, 255) {
                s.master_refresh_repeat = v
            }
        }
        "lower_prio_delay" => s.lower_prio_delay = it.timer(0.0, MAX_TIMER),
        "lower_prio_repeat" => s.lower_prio_repeat = it.int(0, 255),
        _ => it.not_implemented(),
    }
}

fn sync_daemon(it: &mut Item<'_>) -> Option<LvsSyncDaemon> {
    let loc = it.loc();
    let interface = it.need("an interface")?.text.clone();
    let mut sd = LvsSyncDaemon {
        interface,
        instance: None,
        id: None,
        maxlen: None,
        port: None,
        ttl: None,
        group: None,
        loc,
    };
    it.options_follow();
    while let Some(t) = it.next() {
        match t.text.as_str() {
            "inst" => sd.instance = it.string(),
            "id" => sd.id = it.int(0, 255),
            "maxlen" => sd.maxlen = it.int(1, 65535 - 20 - 8),
            "port" => sd.port = it.int(1, 65535),
            "ttl" => sd.ttl = it.int(1, 255),
            "group" => sd.group = it.ip("a multicast group"),
            other if sd.instance.is_none() => sd.instance = Some(other.to_string()),
            _ => {
                let loc = t.loc;
                it.emit(
                    Code::InvalidValue,
                    loc,
                    format!("unknown lvs_sync_daemon option `{}`", t.text),
                    "options: inst, id, maxlen, port, ttl, group",
                );
            }
        }
    }
    Some(sd)
}

fn fifo(it: &mut Item<'_>, f: &mut Option<Fifo>) {
    if let Some(path) = it.string() {
        let script = if it.remaining() > 0 {
            it.script()
        } else {
            None
        };
        *f = Some(Fifo { path, script });
    }
}

fn fifo_script(it: &mut Item<'_>, f: &mut Option<Fifo>) {
    let s = it.script();
    match f {
        Some(f) => f.script = s,
        None => {
            let loc = it.loc();
            let kw = it.kw();
            it.emit(
                Code::Ignored,
                loc,
                format!("`{kw}` without its fifo is ignored"),
                "define the fifo first",
            )
        }
    }
}
