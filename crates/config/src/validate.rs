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
    if let Some(sd) = &cfg.global.lvs_sync_daemon {
        if let Some(inst) = &sd.instance {
            if !cfg.instances.iter().any(|i| &i.name == inst) {
                push(
                    d,
                    Code::UndefinedReference,
                    sd.loc,
                    format!("lvs_sync_daemon follows instance `{inst}`, which is not defined"),
                    "name a vrrp_instance of this configuration",
                );
            }
        }
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
            push(
                d,
                Code::OutOfRange,
                i.loc,
                format!("VRRPv3 advert_int {} is above 40.95 s", i.advert_int),
                "use at most 40.95",
            );
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
        let checks: [(&Vec<TrackRef>, &BTreeSet<&str>, &str, &str); 4] = [
            (&i.track.scripts, &scripts, "vrrp_script", "track_script"),
            (&i.track.files, &files, "track_file", "track_file"),
            (
                &i.track.processes,
                &procs,
                "vrrp_track_process",
                "track_process",
            ),
            (&i.track.bfds, &bfds, "bfd_instance", "track_bfd"),
        ];
        for (refs, defined, what, kw) in checks {
            for r in refs {
                if !defined.contains(r.name.as_str()) {
                    let hint = match crate::suggest::closest(&r.name, defined.iter().copied()) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!("define `{what} {} {{ ... }}` at the top level", r.name),
                    };
                    push(
                        d,
                        Code::UndefinedReference,
                        r.loc,
                        format!("{kw} `{}` is not defined", r.name),
                        hint,
                    );
                }
            }
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
    let mut keys: Vec<(VsKey, Option<Protocol>, Loc)> = Vec::new();
    cfg.virtual_servers.retain(|vs| {
        match keys
            .iter()
            .find(|(k, p, _)| *k == vs.key && *p == vs.protocol)
        {
            Some((_, _, first)) => {
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
            None => {
                keys.push((vs.key.clone(), vs.protocol, vs.loc));
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

fn sync_groups(cfg: &Config, d: &mut Vec<Diagnostic>) {
    let mut member_of: HashMap<&str, &str> = HashMap::new();
    for g in &cfg.sync_groups {
        for m in &g.members {
            match cfg.instances.iter().find(|i| i.name == m.name) {
                None => push(
                    d,
                    Code::UndefinedReference,
                    m.loc,
                    format!(
                        "vrrp_sync_group `{}` names `{}`, which is not a vrrp_instance",
                        g.name, m.name
                    ),
                    "define the instance, or fix the name",
                ),
                Some(i) => {
                    if let Some(other) = member_of.insert(&m.name, &g.name) {
                        push(
                            d,
                            Code::DuplicateName,
                            m.loc,
                            format!("`{}` is already in vrrp_sync_group `{other}`", m.name),
                            "an instance can be in one sync group only",
                        );
                    }
                    let weighted = i
                        .track
                        .scripts
                        .iter()
                        .chain(&i.track.files)
                        .any(|t| t.weight.unwrap_or(1) != 0);
                    if weighted && !g.sync_group_tracking_weight {
                        d.push(Diagnostic::new(Code::NotImplemented, Some(i.loc), format!("`{}` is in sync group `{}` and has weighted trackers: lvsd keeps them (keepalived drops them unless sync_group_tracking_weight is set)", i.name, g.name)).with_hint("set sync_group_tracking_weight to make both behave the same"));
                    }
                }
            }
        }
    }
}

fn virtual_servers(cfg: &Config, d: &mut Vec<Diagnostic>) {
    let mut keys: Vec<(&VsKey, Option<Protocol>, Loc)> = Vec::new();
    for vs in &cfg.virtual_servers {
        if let VsKey::Group { name } = &vs.key {
            if !cfg.virtual_server_groups.iter().any(|g| &g.name == name) {
                push(
                    d,
                    Code::UndefinedReference,
                    vs.loc,
                    format!("virtual_server group `{name}` is not defined"),
                    "define `virtual_server_group NAME { ... }`",
                );
            }
        }
        if let VsKey::Addr { port: 0, .. } = vs.key {
            if vs.persistence_timeout.is_none() {
                push(
                    d,
                    Code::OutOfRange,
                    vs.loc,
                    "port 0 is allowed only for a persistent service",
                    "give a port, or add persistence_timeout",
                );
            }
        }
        if let Some((_, _, prev)) = keys
            .iter()
            .find(|(k, p, _)| *k == &vs.key && *p == vs.protocol)
        {
            push(
                d,
                Code::DuplicateName,
                vs.loc,
                format!(
                    "this virtual_server is already defined on line {}",
                    prev.line
                ),
                "merge the two blocks",
            );
        }
        keys.push((&vs.key, vs.protocol, vs.loc));
        let mut seen: HashMap<(IpAddr, Option<u16>), Loc> = HashMap::new();
        for rs in &vs.real_servers {
            if let Some(prev) = seen.insert((rs.ip, rs.port), rs.loc) {
                push(
                    d,
                    Code::DuplicateName,
                    rs.loc,
                    format!(
                        "real_server {} is already in this virtual_server (line {})",
                        rs.ip, prev.line
                    ),
                    "remove one of them",
                );
            }
        }
    }
}
