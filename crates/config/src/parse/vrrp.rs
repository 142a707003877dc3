use super::{global::garp, route_lines, walk, Item};
use crate::diag::{Code, Diagnostic, Loc};
use crate::model::*;
use crate::schema::BlockKind;
use crate::tree::Node;
use std::collections::BTreeMap;

fn name_of(it: &mut Item<'_>) -> Option<String> {
    let kw = it.kw();
    let n = it.need(&format!("a name for the {kw}"))?;
    Some(n.text.clone())
}

fn weight(it: &mut Item<'_>) -> (i32, bool) {
    let w = it.int::<i32>(-253, 253).unwrap_or(0);
    let rev = match it.peek().map(|t| t.text.as_str()) {
        Some("reverse") => {
            it.next();
            true
        }
        Some("noreverse") => {
            it.next();
            false
        }
        _ => false,
    };
    (w, rev)
}

pub(crate) fn vrrp_script(it: &mut Item<'_>) -> Option<VrrpScript> {
    let name = name_of(it)?;
    let mut s = VrrpScript {
        name,
        loc: it.loc(),
        script: None,
        interval: 1.0,
        timeout: None,
        weight: 0,
        weight_reverse: false,
        rise: 1,
        fall: 1,
        user: None,
        group: None,
        init_fail: false,
    };
    walk(
        it.node.children(),
        BlockKind::VrrpScript,
        it.d,
        |it| match it.kw() {
            "script" => s.script = it.script(),
            "interval" => s.interval = it.timer(0.000001, 4294.0).unwrap_or(s.interval),
            "timeout" => s.timeout = it.timer(0.000001, 4294.0),
            "weight" => (s.weight, s.weight_reverse) = weight(it),
            "rise" => s.rise = it.on_invalid("rise 1").int(1, 1_000_000).unwrap_or(1),
            "fall" => s.fall = it.on_invalid("fall 1").int(1, 1_000_000).unwrap_or(1),
            "user" => {
                s.user = it.string();
                s.group = it
                    .next()
                    .map(|t| t.text.trim_start_matches(':').to_string());
            }
            "init_fail" => s.init_fail = true,
            _ => it.not_implemented(),
        },
    );
    if s.script.is_none() {
        let loc = s.loc;
        it.emit(
            Code::Ignored,
            loc,
            format!("vrrp_script `{}` has no `script`: it is removed, and instances that track it run without it, as keepalived does", s.name),
            "add `script \"/path/to/check args\"` (check @conditional lines: none may match this config id)",
        );
    }
    Some(s)
}

pub(crate) fn track_file(it: &mut Item<'_>) -> Option<TrackFile> {
    let name = name_of(it)?;
    let mut f = TrackFile {
        name,
        loc: it.loc(),
        file: None,
        weight: 1,
        weight_reverse: false,
        init_file: None,
    };
    walk(
        it.node.children(),
        BlockKind::TrackFile,
        it.d,
        |it| match it.kw() {
            "file" => f.file = it.string(),
            "weight" => (f.weight, f.weight_reverse) = weight(it),
            "init_file" => {
                let mut init = InitFile {
                    value: 0,
                    overwrite: false,
                };
                while let Some(t) = it.next() {
                    if t.text == "overwrite" {
                        init.overwrite = true;
                    } else {
                        init.value = it
                            .int_of(t, i32::MIN as i128, i32::MAX as i128)
                            .unwrap_or(0);
                    }
                }
                f.init_file = Some(init);
            }
            _ => it.not_implemented(),
        },
    );
    if f.file.is_none() {
        let loc = f.loc;
        it.emit(
            Code::MissingRequired,
            loc,
            format!("track_file `{}` has no `file`", f.name),
            "add `file /path/to/file`",
        );
    }
    Some(f)
}

pub(crate) fn track_process(it: &mut Item<'_>) -> Option<TrackProcess> {
    let name = name_of(it)?;
    let mut p = TrackProcess {
        name,
        loc: it.loc(),
        process: None,
        param_match: None,
        weight: 0,
        weight_reverse: false,
        quorum: 1,
        quorum_max: None,
        delay: None,
        terminate_delay: None,
        fork_delay: None,
        full_command: false,
    };
    walk(
        it.node.children(),
        BlockKind::TrackProcess,
        it.d,
        |it| match it.kw() {
            "process" => {
                p.process = it.string();
                let rest = it.rest();
                if !rest.is_empty() {
                    p.process = Some(format!(
                        "{} {}",
                        p.process.take().unwrap_or_default(),
                        rest.join(" ")
                    ));
                }
            }
            "param_match" => p.param_match = it.string(),
            "weight" => (p.weight, p.weight_reverse) = weight(it),
            "quorum" => {
                if let Some(v) = it.int(1, 65535) {
                    p.quorum = v
                }
            }
            "quorum_max" => p.quorum_max = it.int(1, 65535),
            "delay" => p.delay = it.timer(0.0, 4294.0),
            "terminate_delay" => p.terminate_delay = it.timer(0.0, 4294.0),
            "fork_delay" => p.fork_delay = it.timer(0.0, 4294.0),
            "full_command" => p.full_command = it.flag(),
            _ => it.not_implemented(),
        },
    );
    if p.process.is_none() {
        let loc = p.loc;
        it.emit(
            Code::MissingRequired,
            loc,
            format!("vrrp_track_process `{}` has no `process`", p.name),
            "add `process NAME`",
        );
    }
    Some(p)
}

/// The entries of a track_* block: `NAME [weight W [reverse]]`.
fn track_list(node: &Node, d: &mut Vec<Diagnostic>) -> Vec<TrackRef> {
    let mut v = Vec::new();
    walk(node.children(), BlockKind::List, d, |it| {
        let mut r = TrackRef {
            name: it.kw().to_string(),
            loc: it.loc(),
            weight: None,
            reverse: false,
        };
        while let Some(t) = it.next() {
            match t.text.as_str() {
                "weight" => r.weight = it.int(-254, 254),
                "reverse" => r.reverse = true,
                "noreverse" => r.reverse = false,
                _ => {
                    let loc = t.loc;
                    it.emit(
                        Code::Ignored,
                        loc,
                        format!("unexpected `{}` after tracked name `{}`: ignored, as keepalived 2.2.7 ignores it (`unknown track script option`); the tracker keeps its own weight", t.text, r.name),
                        "write `NAME [weight W [reverse]]` (a space, not `=`), one per line",
                    );
                }
            }
        }
        v.push(r);
    });
    v
}

fn tracker(it: &mut Item<'_>, t: &mut Trackers) -> bool {
    let node = it.node;
    let list = match it.kw() {
        "track_interface" => &mut t.interfaces,
        "track_script" => &mut t.scripts,
        "track_file" => &mut t.files,
        "track_process" => &mut t.processes,
        "track_bfd" => &mut t.bfds,
        _ => return false,
    };
    list.extend(track_list(node, it.d));
    true
}

fn notify(it: &mut Item<'_>, n: &mut Notify) -> bool {
    let slot = match it.kw() {
        "notify_master" => &mut n.master,
        "notify_backup" => &mut n.backup,
        "notify_fault" => &mut n.fault,
        "notify_stop" => &mut n.stop,
        "notify_deleted" => &mut n.deleted,
        "notify" => &mut n.generic,
        "notify_master_rx_lower_pri" => &mut n.master_rx_lower_pri,
        _ => return false,
    };
    *slot = it.script();
    true
}

pub(crate) fn sync_group(it: &mut Item<'_>) -> Option<SyncGroup> {
    let name = name_of(it)?;
    let mut g = SyncGroup {
        name,
        loc: it.loc(),
        members: Vec::new(),
        track: Trackers::default(),
        notify: Notify::default(),
        smtp_alert: None,
        sync_group_tracking_weight: false,
        notify_priority_changes: false,
    };
    walk(it.node.children(), BlockKind::SyncGroup, it.d, |it| {
        if tracker(it, &mut g.track) || notify(it, &mut g.notify) {
            return;
        }
        match it.kw() {
            "group" => {
                for c in it.node.children() {
                    for t in std::iter::once(&c.keyword).chain(c.args.iter()) {
                        g.members.push(NameRef {
                            name: t.text.clone(),
                            loc: t.loc,
                        });
                    }
                }
            }
            "smtp_alert" => g.smtp_alert = Some(it.flag()),
            "sync_group_tracking_weight" | "global_tracking" => {
                g.sync_group_tracking_weight = it.flag()
            }
            "notify_priority_changes" => g.notify_priority_changes = it.flag(),
            _ => it.not_implemented(),
        }
    });
    Some(g)
}

/// Lines of virtual_ipaddress / static_ipaddress.
pub(crate) fn address_list(children: &[Node], d: &mut Vec<Diagnostic>) -> Vec<IpAddressSpec> {
    let mut v = Vec::new();
    walk(children, BlockKind::List, d, |it| {
        if let Some(a) = address(it) {
            v.push(a)
        }
    });
    v
}

fn address(it: &mut Item<'_>) -> Option<IpAddressSpec> {
    let tok = &it.node.keyword;
    let (addr_s, len_s) = match tok.text.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (tok.text.as_str(), None),
    };
    let Some(addr) = super::item::parse_ip(addr_s) else {
        let mut hint =
            "write ADDRESS[/PREFIX] [dev IF] [label L] ..., one address per line".to_string();
        if crate::schema::lookup(BlockKind::Instance, &tok.text).is_some() {
            hint = format!(
                "`{}` is a vrrp_instance keyword: is the `}}` of this address block missing?",
                tok.text
            );
        }
        let loc = tok.loc;
        it.emit(
            Code::InvalidAddress,
            loc,
            format!("`{}` is not a valid IP address", tok.text),
            hint,
        );
        it.silence();
        return None;
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix_len = match len_s {
        None => max,
        Some(l) => match l.parse::<u8>() {
            Ok(n) if n <= max => n,
            _ => {
                let loc = tok.loc;
                it.emit(
                    Code::OutOfRange,
                    loc,
                    format!("prefix length `/{l}` is not valid for {addr}"),
                    format!("0 to {max}"),
                );
                return None;
            }
        },
    };
    let mut a = IpAddressSpec {
        addr,
        prefix_len,
        brd: None,
        dev: None,
        scope: None,
        label: None,
        peer: None,
        flags: Vec::new(),
        preferred_lft: None,
        loc: tok.loc,
    };
    it.options_follow();
    while let Some(t) = it.next() {
        match t.text.as_str() {
            "brd" | "broadcast" => a.brd = it.string(),
            "dev" => a.dev = it.string(),
            "scope" => a.scope = it.string(),
            "label" => a.label = it.string(),
            "peer" => a.peer = it.ip("a peer address"),
            "preferred_lft" => {
                a.preferred_lft = it.string();
                if let Some(v) = &a.preferred_lft {
                    if !v.eq_ignore_ascii_case("forever") && v.parse::<u32>().is_err() {
                        let loc = t.loc;
                        it.emit(
                            Code::InvalidValue,
                            loc,
                            format!("preferred_lft {v:?} is not a number of seconds"),
                            "preferred_lft takes seconds (0: never used as a source address) or `forever`",
                        );
                        a.preferred_lft = None;
                    }
                }
            }
            "home" | "-nodad" | "nodad" | "mngtmpaddr" | "noprefixroute" | "autojoin"
            | "no_track" | "use_vmac" => a.flags.push(t.text.clone()),
            other => {
                let loc = t.loc;
                it.emit(Code::InvalidValue, loc, format!("unknown address option `{other}`"), "options: brd, dev, scope, label, peer, home, -nodad, mngtmpaddr, noprefixroute, autojoin, no_track, preferred_lft, use_vmac");
            }
        }
    }
    Some(a)
}

fn unicast_peers(node: &Node, d: &mut Vec<Diagnostic>) -> Vec<UnicastPeer> {
    let mut v = Vec::new();
    walk(node.children(), BlockKind::List, d, |it| {
        let tok = &it.node.keyword;
        let Some(addr) = it.ip_of(tok) else {
            it.silence();
            return;
        };
        let mut p = UnicastPeer {
            addr,
            min_ttl: None,
            max_ttl: None,
            loc: tok.loc,
        };
        it.options_follow();
        while let Some(t) = it.next() {
            match t.text.as_str() {
                "min_ttl" => p.min_ttl = it.int(0, 255),
                "max_ttl" => p.max_ttl = it.int(0, 255),
                other => {
                    let loc = t.loc;
                    it.emit(
                        Code::InvalidValue,
                        loc,
                        format!("unknown unicast_peer option `{other}`"),
                        "options: min_ttl, max_ttl",
                    );
                }
            }
        }
        v.push(p);
    });
    v
}

fn auth(node: &Node, d: &mut Vec<Diagnostic>) -> Authentication {
    let mut a = Authentication {
        auth_type: None,
        auth_pass: None,
        loc: node.keyword.loc,
    };
    walk(node.children(), BlockKind::Auth, d, |it| match it.kw() {
        "auth_type" => {
            a.auth_type = it.choice(&["PASS", "AH"]).map(|v| {
                if v == "PASS" {
                    AuthType::Pass
                } else {
                    AuthType::Ah
                }
            })
        }
        "auth_pass" => {
            if let Some(t) = it.need("a password") {
                let mut p = t.text.clone();
                if p.len() > 8 {
                    let mut cut = 8;
                    while !p.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    p.truncate(cut);
                    let loc = t.loc;
                    it.emit(
                        Code::ValueAdjusted,
                        loc,
                        format!("auth_pass is longer than 8 characters; only `{p}` is used"),
                        "VRRPv2 carries 8 bytes of password: shorten it so both ends agree on what is sent",
                    );
                }
                a.auth_pass = Some(p);
            }
        }
        _ => it.not_implemented(),
    });
    a
}

pub(crate) fn instance(it: &mut Item<'_>) -> Option<VrrpInstance> {
    let name = name_of(it)?;
    let mut i = VrrpInstance {
        name,
        loc: it.loc(),
        state: None,
        interface: None,
        virtual_router_id: None,
        priority: 100,
        priority_given: false,
        advert_int: 1.0,
        version: 0,
        authentication: None,
        virtual_ipaddress: Vec::new(),
        virtual_ipaddress_excluded: Vec::new(),
        no_virtual_ipaddress: false,
        virtual_routes: Vec::new(),
        virtual_rules: Vec::new(),
        nopreempt: false,
        preempt_delay: 0.0,
        unicast_src_ip: None,
        unicast_peers: Vec::new(),
        unicast_ttl: None,
        mcast_dst_ip: None,
        check_unicast_src: None,
        track: Trackers::default(),
        dont_track_primary: false,
        track_src_ip: false,
        notify: Notify::default(),
        smtp_alert: None,
        garp: None,
        accept: None,
        strict_mode: None,
        skip_check_adv_addr: None,
        use_vmac: None,
        promote_secondaries: false,
        down_timer_adverts: None,
        lower_prio_no_advert: None,
        higher_prio_send_advert: None,
        owner_ignore_adverts: None,
        v3_checksum_as_v2: None,
        notify_priority_changes: false,
        other: BTreeMap::new(),
    };
    let mut state_loc: Option<Loc> = None;
    walk(it.node.children(), BlockKind::Instance, it.d, |it| {
        if tracker(it, &mut i.track) || notify(it, &mut i.notify) {
            return;
        }
        let kw = it.kw();
        match kw {
            "state" => {
                let v = it.choice(&["MASTER", "BACKUP"]);
                if let Some(v) = v {
                    let st = if v == "MASTER" {
                        InitialState::Master
                    } else {
                        InitialState::Backup
                    };
                    if let (Some(prev), Some(InitialState::Master)) = (state_loc, i.state) {
                        if st == InitialState::Backup {
                            let loc = it.loc();
                            it.emit(Code::Ignored, loc, format!("`state BACKUP` after `state MASTER` (line {}) is ignored, as keepalived does", prev.line), "keep one `state` line");
                            return;
                        }
                    }
                    i.state = Some(st);
                    state_loc = Some(it.loc());
                }
            }
            "interface" => {
                let loc = it.peek().map(|t| t.loc);
                i.interface = it.string();
                if let (Some(name), Some(loc)) = (&i.interface, loc) {
                    if name.len() > 15 {
                        it.emit(
                            Code::KeepalivedDiffers,
                            loc,
                            format!("interface `{name}` is longer than 15 characters, which no Linux interface name can be: lvsd finds no such interface and the instance stays in FAULT; keepalived 2.2.7 ignores the name (`Interface name ... too long - ignoring`) and the instance has no interface"),
                            "write the interface's real name (`ip link` lists them)",
                        );
                    }
                }
            }
            "virtual_router_id" => i.virtual_router_id = it.int(1, 255),
            "priority" => {
                // keepalived 2.2.7: "Priority not valid! ... Using default 100"
                i.priority = it.on_invalid("priority 100").int(1, 255).unwrap_or(100);
                i.priority_given = true;
            }
            "advert_int" => {
                if let Some(v) = it.timer(0.01, 255.0) {
                    i.advert_int = v
                }
            }
            "version" => {
                if let Some(v) = it.int(2, 3) {
                    i.version = v
                }
            }
            "authentication" => i.authentication = Some(auth(it.node, it.d)),
            "virtual_ipaddress" => i
                .virtual_ipaddress
                .extend(address_list(it.node.children(), it.d)),
            "virtual_ipaddress_excluded" => i
                .virtual_ipaddress_excluded
                .extend(address_list(it.node.children(), it.d)),
            "no_virtual_ipaddress" => i.no_virtual_ipaddress = true,
            "virtual_routes" => {
                i.virtual_routes
                    .extend(route_lines(it.node.children(), false, it.d))
            }
            "virtual_rules" => i
                .virtual_rules
                .extend(route_lines(it.node.children(), true, it.d)),
            "nopreempt" => i.nopreempt = true,
            "preempt" => {
                let loc = it.loc();
                it.emit(
                    Code::DeprecatedAlias,
                    loc,
                    "`preempt` does nothing: preemption is the default",
                    "remove it",
                );
            }
            "preempt_delay" => {
                i.preempt_delay = it
                    .on_invalid("preempt_delay 0")
                    .timer(0.0, 1000.0)
                    .unwrap_or(0.0)
            }
            "mcast_src_ip" | "unicast_src_ip" => {
                if kw == "mcast_src_ip" {
                    let loc = it.loc();
                    it.emit(
                        Code::DeprecatedAlias,
                        loc,
                        "`mcast_src_ip` is the old name of `unicast_src_ip`",
                        "rename it to `unicast_src_ip`",
                    );
                }
                i.unicast_src_ip = it.ip("a source address")
            }
            "unicast_peer" => i.unicast_peers.extend(unicast_peers(it.node, it.d)),
            "unicast_ttl" => i.unicast_ttl = it.int(1, 255),
            "mcast_dst_ip" => i.mcast_dst_ip = it.ip("a multicast address"),
            "check_unicast_src" => i.check_unicast_src = Some(it.flag()),
            "dont_track_primary" => i.dont_track_primary = true,
            "track_src_ip" => i.track_src_ip = true,
            "smtp_alert" => i.smtp_alert = Some(it.flag()),
            "accept" => i.accept = Some(true),
            "no_accept" => i.accept = Some(false),
            "strict_mode" => i.strict_mode = Some(it.flag()),
            "skip_check_adv_addr" => i.skip_check_adv_addr = Some(it.flag()),
            // read, not acted on yet: said, not silent
            "use_vmac" => {
                i.use_vmac = Some(it.rest());
                it.not_implemented();
            }
            "promote_secondaries" => {
                i.promote_secondaries = true;
                it.not_implemented();
            }
            "down_timer_adverts" => i.down_timer_adverts = it.int(1, 100),
            "lower_prio_no_advert" => i.lower_prio_no_advert = Some(it.flag()),
            "higher_prio_send_advert" => i.higher_prio_send_advert = Some(it.flag()),
            "owner_ignore_adverts" => i.owner_ignore_adverts = Some(it.flag()),
            "v3_checksum_as_v2" => i.v3_checksum_as_v2 = Some(it.flag()),
            "notify_priority_changes" => i.notify_priority_changes = it.flag(),
            "native_ipv6" => {
                let loc = it.loc();
                it.emit(
                    Code::DeprecatedAlias,
                    loc,
                    "`native_ipv6` is deprecated: IPv6 instances use VRRPv3 by themselves",
                    "remove it",
                );
            }
            "lvs_sync_daemon_interface" => {
                let loc = it.loc();
                it.emit(
                    Code::DeprecatedAlias,
                    loc,
                    "`lvs_sync_daemon_interface` inside an instance is deprecated",
                    "use `lvs_sync_daemon IF inst NAME` in global_defs",
                );
                it.rest();
            }
            "debug" => {
                it.rest();
            }
            k if k.starts_with("garp_") => {
                let mut g = i.garp.clone().unwrap_or_default();
                garp(it, k, &mut g);
                i.garp = Some(g);
            }
            _ => {
                it.not_implemented();
                i.other.insert(
                    kw.to_string(),
                    it.node.args.iter().map(|t| t.text.clone()).collect(),
                );
            }
        }
    });
    Some(i)
}
