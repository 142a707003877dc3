//! Checks across blocks: required items, references, duplicates, and the
//! adjustments keepalived makes (with a diagnostic for each).

use crate::diag::{Code, Diagnostic, Loc};
use crate::model::*;
use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::path::Path;

fn push(
    d: &mut Vec<Diagnostic>,
    code: Code,
    loc: Loc,
    msg: impl Into<String>,
    hint: impl Into<String>,
) {
    d.push(Diagnostic::new(code, Some(loc), msg).with_hint(hint));
}

/// A script's program must exist and be executable; otherwise it would fail
/// every time it runs.
pub fn check_script_file(s: &Script, d: &mut Vec<Diagnostic>) {
    let Some(prog) = s.argv.first() else {
        push(
            d,
            Code::MissingArgument,
            s.loc,
            "empty command",
            "give the program to run",
        );
        return;
    };
    let found = if prog.contains('/') {
        executable(Path::new(prog))
    } else {
        std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|dir| executable(&dir.join(prog))))
            .unwrap_or(false)
    };
    if !found {
        push(
            d,
            Code::ScriptNotExecutable,
            s.loc,
            format!("`{prog}` does not exist or is not executable on this machine"),
            if prog.starts_with(['<', '>', '(']) || prog.contains(['|', ';', '&']) {
                "this is shell syntax, not a program: write `script \"bash -c '...'\"` (Debian's /bin/sh is not bash)"
            } else {
                "the script would fail each time it runs; install it, or chmod +x it"
            },
        );
    }
    if s.argv.len() == 1 && s.user.is_some() && !s.command.contains(' ') {
        let user = s.user.as_deref().unwrap_or_default();
        if !user_exists(user) {
            push(
                d,
                Code::ScriptNotExecutable,
                s.loc,
                format!("`{user}` is read as the user to run `{prog}` as, and no such user exists"),
                format!(
                    "to pass `{user}` as an argument, quote the whole command: \"{prog} {user}\""
                ),
            );
        }
    }
}

fn executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

fn user_exists(name: &str) -> bool {
    std::fs::read_to_string("/etc/passwd")
        .map(|t| t.lines().any(|l| l.split(':').next() == Some(name)))
        .unwrap_or(true)
}

pub fn validate(cfg: &mut Config, d: &mut Vec<Diagnostic>) {
    drop_second_definitions(cfg, d);
    instances(cfg, d);
    sync_groups(cfg, d);
    unused_scripts(cfg, d);
    virtual_servers(cfg, d);
    crate::vip_source::check(cfg, d);
    let unknown_sync_instance = cfg.global.lvs_sync_daemon.as_ref().and_then(|sd| {
        let inst = sd.instance.as_ref()?;
        (!cfg.instances.iter().any(|i| &i.name == inst)).then(|| (inst.clone(), sd.loc))
    });
    if let Some((inst, loc)) = unknown_sync_instance {
        push(
            d,
            Code::UndefinedReference,
            loc,
            format!("lvs_sync_daemon follows instance `{inst}`, which is not defined: no sync daemon runs, as keepalived 2.2.7 clears lvs_sync_daemon"),
            "name a vrrp_instance of this configuration",
        );
        cfg.global.lvs_sync_daemon = None;
    }
}

fn family_of(i: &VrrpInstance) -> u8 {
    match i.virtual_ipaddress.first().map(|a| a.addr) {
        Some(IpAddr::V6(_)) => 6,
        _ => match i.unicast_src_ip {
            Some(IpAddr::V6(_)) => 6,
            _ => 4,
        },
    }
}

/// (interface, IP family, VRID, unicast peers): what must be unique.
type VridKey = (String, u8, u8, Vec<IpAddr>);

fn instances(cfg: &mut Config, d: &mut Vec<Diagnostic>) {
    let scripts: BTreeSet<&str> = cfg.vrrp_scripts.iter().map(|s| s.name.as_str()).collect();
    let files: BTreeSet<&str> = cfg.track_files.iter().map(|s| s.name.as_str()).collect();
    let procs: BTreeSet<&str> = cfg
        .track_processes
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    let bfds: BTreeSet<&str> = cfg
        .other_blocks
        .iter()
        .filter(|b| b.keyword == "bfd_instance")
        .filter_map(|b| b.args.first().map(String::as_str))
        .collect();
    let g = &cfg.global;
    let mut names: HashMap<String, Loc> = HashMap::new();
    let mut vrids: HashMap<VridKey, (String, Loc)> = HashMap::new();
    for i in &mut cfg.instances {
        if let Some(prev) = names.insert(i.name.clone(), i.loc) {
            push(
                d,
                Code::DuplicateName,
                i.loc,
                format!("vrrp_instance `{}` is defined twice", i.name),
                format!("the first is on line {}; rename one", prev.line),
            );
        }
        if i.interface.is_none() && i.unicast_src_ip.is_none() {
            push(
                d,
                Code::MissingRequired,
                i.loc,
                format!("vrrp_instance `{}` has no `interface`", i.name),
                "add `interface eth0` (the interface that sends and receives adverts)",
            );
        }
        if i.virtual_router_id.is_none() {
            push(
                d,
                Code::MissingRequired,
                i.loc,
                format!("vrrp_instance `{}` has no `virtual_router_id`", i.name),
                "add `virtual_router_id N` (1-255, the same on every director of this instance)",
            );
        }
        if i.state == Some(InitialState::Master) && !i.priority_given {
            i.priority = 255;
            push(d, Code::DefaultApplied, i.loc, format!("vrrp_instance `{}`: `state MASTER` without `priority` makes it the address owner (priority 255), as keepalived does", i.name), "give a `priority` (1-254) unless this director really owns the addresses");
        }
        if i.nopreempt && i.state == Some(InitialState::Master) {
            i.nopreempt = false;
            push(d, Code::NopreemptWithMaster, i.loc, format!("vrrp_instance `{}`: `nopreempt` does not work with `state MASTER`; it is cleared, as keepalived does", i.name), "use `state BACKUP` on every director together with `nopreempt`");
        }
        let fam = family_of(i);
        if i.version == 0 {
            i.version = if fam == 6 { 3 } else { g.vrrp_version };
        }
        if i.version == 2 && i.advert_int.fract() != 0.0 {
            let r = i.advert_int.round().max(1.0);
            push(
                d,
                Code::ValueAdjusted,
                i.loc,
                format!(
                    "VRRPv2 advertises whole seconds: advert_int {} is used as {}",
                    i.advert_int, r
                ),
                "use `version 3` for sub-second adverts",
            );
            i.advert_int = r;
        }
        if i.version == 3 && i.advert_int > 40.95 {
            // a v3 advert carries at most 4095 centiseconds
            push(
                d,
                Code::ValueAdjusted,
                i.loc,
                format!("VRRPv3 advert_int {} is above 40.95 s: 40.95 is used, as keepalived 2.2.7 sets it", i.advert_int),
                "use at most 40.95",
            );
            i.advert_int = 40.95;
        }
        let strict = i.strict_mode.unwrap_or(g.vrrp_strict);
        if let Some(a) = &i.authentication {
            if i.version == 3 || strict {
                let why = if strict { "strict mode" } else { "VRRPv3" };
                push(
                    d,
                    Code::Ignored,
                    a.loc,
                    format!("authentication is ignored in {why}"),
                    "remove the authentication block",
                );
                i.authentication = None;
            } else if a.auth_type.is_some() && a.auth_pass.is_none() {
                push(
                    d,
                    Code::Ignored,
                    a.loc,
                    "auth_type without auth_pass: the instance runs without authentication",
                    "add `auth_pass` on a line of its own",
                );
                i.authentication = None;
            }
        }
        if i.state == Some(InitialState::Master)
            && i.authentication
                .as_ref()
                .is_some_and(|a| a.auth_type == Some(AuthType::Ah))
        {
            push(d, Code::Ignored, i.loc, format!("vrrp_instance `{}`: `state MASTER` is incompatible with AH authentication; it starts as BACKUP, as keepalived does", i.name), "use `state BACKUP`");
            i.state = Some(InitialState::Backup);
        }
        if strict && i.state == Some(InitialState::Master) && i.priority != 255 {
            push(d, Code::Ignored, i.loc, format!("vrrp_instance `{}`: in strict mode `state MASTER` needs priority 255; it starts as BACKUP", i.name), "remove vrrp_strict or use state BACKUP");
        }
        if let Some(own) = i.interface.clone() {
            let name = i.name.clone();
            i.track.interfaces.retain(|t| {
                if t.name != own {
                    return true;
                }
                push(d, Code::Ignored, t.loc, format!("vrrp_instance `{name}` tracks its own interface `{own}`: ignored, as keepalived 2.2.7 ignores it (the instance goes to FAULT when that interface goes down anyway, whatever the weight)"), "remove it from track_interface");
                false
            });
        }
        if i.virtual_ipaddress.is_empty() && !i.no_virtual_ipaddress {
            if i.version == 3 || strict {
                // keepalived 2.2.7's VRRP process stops (vrrp_complete_instance)
                push(d, Code::MissingRequired, i.loc, format!("vrrp_instance `{}` has no virtual_ipaddress, which VRRPv3 and strict mode require (keepalived 2.2.7: \"No VIP specified; at least one is required\", and it does not run)", i.name), "add the virtual_ipaddress block");
            } else {
                push(d, Code::LikelyMistake, i.loc, format!("vrrp_instance `{}` has no virtual_ipaddress: its MASTER holds no address (keepalived 2.2.7: \"No VIP specified; at least one is sensible\")", i.name), "add the virtual_ipaddress block, or write `no_virtual_ipaddress` if this is meant");
            }
        }
        if let (Some(IpAddr::V6(first)), true) = (
            i.virtual_ipaddress.first().map(|a| a.addr),
            strict && i.unicast_peers.is_empty(),
        ) {
            if first.segments()[0] & 0xffc0 != 0xfe80 {
                push(d, Code::LikelyMistake, i.loc, format!("vrrp_instance `{}`: in strict mode the first IPv6 virtual address must be link-local (RFC 5798 5.2.9); {first} is not; it runs anyway, as in keepalived 2.2.7, which says the same", i.name), "put a fe80:: address first in virtual_ipaddress");
            }
        }
        let fams: BTreeSet<bool> = i
            .virtual_ipaddress
            .iter()
            .map(|a| a.addr.is_ipv4())
            .collect();
        if fams.len() > 1 {
            push(d, Code::InvalidAddress, i.loc, format!("vrrp_instance `{}` mixes IPv4 and IPv6 virtual addresses", i.name), "advertised addresses must be of one family: move the others to virtual_ipaddress_excluded");
        }
        if let Some(vrid) = i.virtual_router_id {
            let ifkey = i.interface.clone().unwrap_or_default();
            let mut peers: Vec<IpAddr> = i.unicast_peers.iter().map(|p| p.addr).collect();
            peers.sort();
            if let Some((other, loc)) =
                vrids.insert((ifkey.clone(), fam, vrid, peers), (i.name.clone(), i.loc))
            {
                push(d, Code::DuplicateVrid, i.loc, format!("virtual_router_id {vrid} on {ifkey} (IPv{fam}) is already used by `{other}` (line {})", loc.line), "each instance on an interface needs its own virtual_router_id");
            }
        }
        let checks: [(&mut Vec<TrackRef>, &BTreeSet<&str>, &str, &str); 4] = [
            (
                &mut i.track.scripts,
                &scripts,
                "vrrp_script",
                "track_script",
            ),
            (&mut i.track.files, &files, "track_file", "track_file"),
            (
                &mut i.track.processes,
                &procs,
                "vrrp_track_process",
                "track_process",
            ),
            (&mut i.track.bfds, &bfds, "bfd_instance", "track_bfd"),
        ];
        for (refs, defined, what, kw) in checks {
            // keepalived 2.2.7: "track script X not found, ignoring..."
            refs.retain(|r| {
                if defined.contains(r.name.as_str()) {
                    return true;
                }
                let hint = match crate::suggest::closest(&r.name, defined.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("define `{what} {} {{ ... }}` at the top level", r.name),
                };
                push(
                    d,
                    Code::UndefinedReference,
                    r.loc,
                    format!(
                        "{kw} `{}` is not defined: not tracked, as keepalived 2.2.7 ignores it",
                        r.name
                    ),
                    hint,
                );
                false
            });
        }
    }
}

/// A vrrp_script that nothing tracks never runs (keepalived: "script X is not used").
fn unused_scripts(cfg: &Config, d: &mut Vec<Diagnostic>) {
    for s in &cfg.vrrp_scripts {
        let tracked = cfg
            .instances
            .iter()
            .map(|i| &i.track)
            .chain(cfg.sync_groups.iter().map(|g| &g.track))
            .any(|t| t.scripts.iter().any(|r| r.name == s.name));
        if !tracked {
            push(
                d,
                Code::UnusedScript,
                s.loc,
                format!(
                    "vrrp_script `{}` is defined but nothing tracks it: it never runs and changes no priority",
                    s.name
                ),
                format!("add `track_script {{ {} }}` to the vrrp_instance it should watch", s.name),
            );
        }
    }
}

/// What keepalived 2.2.7 runs with a warning, lvsd runs the same way, said (issue 21): a
/// `vrrp_instance` defined again (keepalived: `vrrp instance X already defined`, the second is
/// ignored), a `virtual_server` defined again (two configurations pasted into one file: the
/// first stands), an advertised address of the other family than the instance's first one
/// (keepalived: `address family must match VRRP instance ... - ignoring`).
fn drop_second_definitions(cfg: &mut Config, d: &mut Vec<Diagnostic>) {
    let mut seen: HashMap<String, Loc> = HashMap::new();
    cfg.instances.retain(|i| match seen.get(&i.name) {
        Some(first) => {
            push(
                d,
                Code::Ignored,
                i.loc,
                format!(
                    "vrrp_instance `{}` is defined again (first on line {}): this definition is ignored, as keepalived 2.2.7 ignores it (`vrrp instance {} already defined`)",
                    i.name, first.line, i.name
                ),
                "remove one of the two, or rename it",
            );
            false
        }
        None => {
            seen.insert(i.name.clone(), i.loc);
            true
        }
    });
    // (a map: 2,000 virtual servers compared pairwise cost a reload milliseconds)
    let mut keys: HashMap<(VsKey, Option<Protocol>), Loc> = HashMap::new();
    cfg.virtual_servers.retain(|vs| {
        match keys.entry((vs.key.clone(), vs.protocol)) {
            std::collections::hash_map::Entry::Occupied(first) => {
                let first = first.get();
                push(
                    d,
                    Code::Ignored,
                    vs.loc,
                    format!(
                        "this virtual_server is already defined on line {}: this second definition is ignored (lvsd keeps the first; keepalived 2.2.7 does not report it)",
                        first.line
                    ),
                    "merge the two blocks, or remove one",
                );
                false
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(vs.loc);
                true
            }
        }
    });
    for i in &mut cfg.instances {
        let Some(v4) = i.virtual_ipaddress.first().map(|a| a.addr.is_ipv4()) else {
            continue;
        };
        let name = i.name.clone();
        i.virtual_ipaddress.retain(|a| {
            if a.addr.is_ipv4() == v4 {
                return true;
            }
            push(
                d,
                Code::Ignored,
                a.loc,
                format!(
                    "({name}) {}/{} is not of the instance's family (IPv{}, its first address): ignored, as keepalived 2.2.7 ignores it (`address family must match VRRP instance`)",
                    a.addr,
                    a.prefix_len,
                    if v4 { 4 } else { 6 }
                ),
                "advertised addresses are of one family: move it to virtual_ipaddress_excluded to have it installed",
            );
            false
        });
    }
}

fn sync_groups(cfg: &mut Config, d: &mut Vec<Diagnostic>) {
    let mut member_of: HashMap<String, String> = HashMap::new();
    let instances = &cfg.instances;
    for g in &mut cfg.sync_groups {
        let gname = g.name.clone();
        let tracking_weight = g.sync_group_tracking_weight;
        g.members.retain(|m| {
            let Some(i) = instances.iter().find(|i| i.name == m.name) else {
                push(
                    d,
                    Code::UndefinedReference,
                    m.loc,
                    format!(
                        "vrrp_sync_group `{gname}` names `{}`, which is not a vrrp_instance: left out of the group, as keepalived 2.2.7 leaves it out",
                        m.name
                    ),
                    "define the instance, or fix the name",
                );
                return false;
            };
            if let Some(other) = member_of.get(&m.name) {
                push(
                    d,
                    Code::DuplicateName,
                    m.loc,
                    format!(
                        "`{}` is already in vrrp_sync_group `{other}`: left out of `{gname}`, as keepalived 2.2.7 leaves it out",
                        m.name
                    ),
                    "an instance can be in one sync group only",
                );
                return false;
            }
            member_of.insert(m.name.clone(), gname.clone());
            let weighted = i
                .track
                .scripts
                .iter()
                .chain(&i.track.files)
                .any(|t| t.weight.unwrap_or(1) != 0);
            if weighted && !tracking_weight {
                d.push(Diagnostic::new(Code::NotImplemented, Some(i.loc), format!("`{}` is in sync group `{gname}` and has weighted trackers: lvsd keeps them (keepalived drops them unless sync_group_tracking_weight is set)", i.name)).with_hint("set sync_group_tracking_weight to make both behave the same"));
            }
            true
        });
    }
    cfg.sync_groups.retain(|g| {
        if g.members.len() == 1 {
            push(
                d,
                Code::LikelyMistake,
                g.loc,
                format!("vrrp_sync_group `{}` has one instance: there is nothing to keep in sync (keepalived 2.2.7 says the same)", g.name),
                "name all the instances that must change state together, or remove the group",
            );
        }
        if !g.members.is_empty() {
            return true;
        }
        push(
            d,
            Code::Ignored,
            g.loc,
            format!("vrrp_sync_group `{}` has no instance left: removed, as keepalived 2.2.7 removes it", g.name),
            "name the vrrp_instances of this configuration in its `group { }`",
        );
        false
    });
}

fn virtual_servers(cfg: &mut Config, d: &mut Vec<Diagnostic>) {
    let groups = &cfg.virtual_server_groups;
    cfg.virtual_servers.retain(|vs| {
        if let VsKey::Group { name } = &vs.key {
            if !groups.iter().any(|g| &g.name == name) {
                push(
                    d,
                    Code::UndefinedReference,
                    vs.loc,
                    format!("virtual_server group `{name}` is not defined: this virtual_server is skipped, as keepalived 2.2.7 skips it (\"specified but not configured - ignoring virtual server\")"),
                    "define `virtual_server_group NAME { ... }`",
                );
                return false;
            }
        }
        true
    });
}

/// The checks of one virtual_server block that need nothing else of the configuration; run
/// when the block is parsed.
pub fn virtual_server_alone(vs: &mut VirtualServer, d: &mut Vec<Diagnostic>) {
    if let VsKey::Addr { port: 0, .. } = vs.key {
        if vs.persistence_timeout.is_none() {
            vs.persistence_timeout = Some(360);
            push(
                d,
                Code::ValueAdjusted,
                vs.loc,
                "port 0 (all ports) is allowed only for a persistent service: persistence_timeout 360 is set, as keepalived 2.2.7 sets it",
                "give a port, or add persistence_timeout",
            );
        }
    }
    port_mismatch(vs, d);
    let mut seen: HashMap<(IpAddr, Option<u16>), Loc> = HashMap::new();
    vs.real_servers.retain(|rs| match seen.get(&(rs.ip, rs.port)) {
        Some(prev) => {
            push(
                d,
                Code::DuplicateName,
                rs.loc,
                format!(
                    "real_server {} is already in this virtual_server (line {}): this second one is removed, as keepalived 2.2.7 removes it",
                    rs.ip, prev.line
                ),
                "remove one of them",
            );
            false
        }
        None => {
            seen.insert((rs.ip, rs.port), rs.loc);
            true
        }
    });
}

/// DR and TUN cannot change the destination port: a real server's port other than the
/// service's is not used (keepalived 2.2.7: "ports don't match - resetting"; for a fwmark
/// service "has port specified - clearing"). The IPVS table uses the service's port either
/// way (crates/ipvs/src/desired.rs); the checkers keep the port they were given.
fn port_mismatch(vs: &VirtualServer, d: &mut Vec<Diagnostic>) {
    let vport = match vs.key {
        VsKey::Addr { port, .. } => Some(port),
        VsKey::Fwmark { .. } => Some(0),
        VsKey::Group { .. } => None,
    };
    let Some(vport) = vport else { return };
    for rs in &vs.real_servers {
        let method = rs.lvs_method.as_deref().unwrap_or(&vs.lb_kind).method;
        let Some(port) = rs.port else { continue };
        if method == ForwardMethod::Nat || port == vport || port == 0 {
            continue;
        }
        let what = if vport == 0 {
            "a fwmark service forwards to port 0 (the packet's own port)".to_string()
        } else {
            format!("the service's port {vport} is used")
        };
        push(
            d,
            Code::ValueAdjusted,
            rs.loc,
            format!(
                "real_server {} port {port}: {} cannot change the port, {what}, as keepalived 2.2.7 does; checkers without connect_port still connect to port {port}",
                rs.ip,
                if method == ForwardMethod::Dr { "DR" } else { "TUN" }
            ),
            "give the real server the service's port (a checker can use connect_port)",
        );
    }
}
