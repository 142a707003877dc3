//! From the block tree to the typed model.

mod check;
mod global;
mod item;
mod lvs;
mod vrrp;

pub use item::Item;

use crate::diag::{Code, Diagnostic};
use crate::model::{Config, OtherBlock, RawLine};
use crate::schema::{self, BlockKind};
use crate::tree::Node;
use std::collections::BTreeMap;

/// Call `f` for each child of a block, after checking it against the schema:
/// unknown keywords, missing or unexpected blocks are reported here, once.
pub(crate) fn walk(
    children: &[Node],
    kind: BlockKind,
    d: &mut Vec<Diagnostic>,
    mut f: impl FnMut(&mut Item<'_>),
) {
    for node in children {
        if kind != BlockKind::List {
            match schema::lookup(kind, node.name()) {
                None => {
                    unknown_keyword(node, kind, d);
                    continue;
                }
                Some(Some(_)) if node.block.is_none() => {
                    d.push(
                        Diagnostic::new(
                            Code::BlockExpected,
                            Some(node.keyword.loc),
                            if kind == BlockKind::Root {
                                format!(
                                    "`{}` needs a block: `{} {{ ... }}`; without one it is skipped and the lines after it are read on their own, as keepalived 2.2.7 reads them",
                                    node.name(),
                                    node.name()
                                )
                            } else {
                                format!(
                                    "`{}` needs a block: `{} {{ ... }}`; lvsd skips it and reads the lines after it as part of the enclosing block; keepalived 2.2.7 reads them as the contents of `{}` up to the next `}}`, which then no longer closes the enclosing block (what follows shifts into it)",
                                    node.name(),
                                    node.name(),
                                    node.name()
                                )
                            },
                        )
                        .with_hint("add the `{` ... `}` block"),
                    );
                    continue;
                }
                Some(None) if node.block.is_some() => {
                    d.push(
                        Diagnostic::new(
                            Code::UnexpectedBlock,
                            Some(node.keyword.loc),
                            format!("`{}` takes no block; its block is ignored", node.name()),
                        )
                        .with_hint("remove the `{ ... }`"),
                    );
                }
                _ => {}
            }
        }
        let mut item = Item::new(node, d);
        f(&mut item);
        item.finish();
    }
}

fn unknown_keyword(node: &Node, kind: BlockKind, d: &mut Vec<Diagnostic>) {
    let kw = node.name();
    let mut msg = format!("unknown keyword `{kw}`");
    if let Some(b) = &node.block {
        msg.push_str(&format!(
            "; its block ({} lines) is ignored",
            b.children.len()
        ));
    } else if !node.args.is_empty() {
        msg.push_str("; the line is ignored");
    }
    let hint = match schema::suggest(kind, kw) {
        Some(s) => {
            let mut h = format!("did you mean `{s}`?");
            if let Some(values) = item::value_domain(s) {
                let fixes =
                    item::fix_alternatives(node.args.first().map(|t| t.text.as_str()), values);
                if !fixes.is_empty() {
                    h.push_str(&format!(" (and for its value: {fixes})"));
                }
            }
            Some(h)
        }
        None if kind == BlockKind::SyncGroup => {
            Some("instance names go inside `group { ... }`".to_string())
        }
        None => match kw {
            "nat_mask" => Some(
                "a keepalived 1.x keyword that no version since accepts: remove it".to_string(),
            ),
            "lvs_id" => Some(
                "a keepalived 1.x keyword (the director's name in alert mails); keepalived 2.2.7 \
                 reports it as an unknown keyword and ignores it, as lvsd does: remove it"
                    .to_string(),
            ),
            _ => elsewhere(kw, kind).map(|w| format!("`{kw}` belongs in a `{w}` block, not here")),
        },
    };
    let mut diag = Diagnostic::new(Code::UnknownKeyword, Some(node.keyword.loc), msg);
    diag.hint = hint.or(Some(
        "keepalived skips unknown keywords silently; check the spelling and the block it is in"
            .into(),
    ));
    d.push(diag);
}

/// A block where `kw` is known, for a better hint.
fn elsewhere(kw: &str, here: BlockKind) -> Option<&'static str> {
    let places: &[(BlockKind, &str)] = &[
        (BlockKind::Global, "global_defs"),
        (BlockKind::Instance, "vrrp_instance"),
        (BlockKind::VirtualServer, "virtual_server"),
        (BlockKind::RealServer, "real_server"),
        (BlockKind::Checker(schema::CheckerKind::Http), "HTTP_GET"),
        (BlockKind::Root, "top level"),
    ];
    places
        .iter()
        .find(|(k, _)| *k != here && schema::lookup(*k, kw).is_some())
        .map(|(_, n)| *n)
}

/// Lines of static/virtual routes and rules: kept as words (iproute2 syntax),
/// with every address in them checked.
pub(crate) fn route_lines(children: &[Node], rules: bool, d: &mut Vec<Diagnostic>) -> Vec<RawLine> {
    // iproute2 words that take one argument, and words that stand alone
    const WITH_ARG: &[&str] = &[
        "src",
        "via",
        "gw",
        "or",
        "dev",
        "table",
        "metric",
        "proto",
        "scope",
        "realms",
        "mtu",
        "advmss",
        "tos",
        "weight",
        "preference",
        "pref",
        "priority",
        "from",
        "to",
        "iif",
        "oif",
        "fwmark",
        "lookup",
        "goto",
        "nat",
        "uidrange",
        "sport",
        "dport",
        "ipproto",
        "encap",
        "suppress_prefixlength",
        "suppress_ifgroup",
        "protocol",
        "type",
        "initcwnd",
        "initrwnd",
        "features",
        "quickack",
        "congctl",
        "rto_min",
        "hoplimit",
        "ttl-propagate",
        "expires",
        "rtt",
        "rttvar",
        "window",
        "cwnd",
        "ssthresh",
        "reordering",
        "pref",
        "tun_id",
    ];
    const ADDR_ARG: &[&str] = &["src", "via", "gw", "or", "from", "to"];
    let mut out = Vec::new();
    for n in children {
        let words: Vec<&crate::lexer::Token> =
            std::iter::once(&n.keyword).chain(n.args.iter()).collect();
        let mut bad = false;
        let mut dest_seen = rules;
        let mut k = 0;
        while k < words.len() {
            let w = words[k].text.as_str();
            let check = if WITH_ARG.contains(&w) {
                k += 1;
                if ADDR_ARG.contains(&w) {
                    words.get(k).copied()
                } else {
                    None
                }
            } else if !dest_seen && !w.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) {
                dest_seen = true;
                Some(words[k])
            } else {
                if w.parse::<std::net::IpAddr>().is_ok() || w.contains('/') {
                    dest_seen = true;
                }
                None
            };
            if let Some(t) = check {
                if !matches!(t.text.as_str(), "all" | "default" | "inet" | "inet6")
                    && !valid_prefix(&t.text)
                {
                    // keepalived 2.2.7 logs it, drops the route or rule and runs: so does lvsd
                    d.push(Diagnostic::new(Code::Ignored, Some(t.loc), format!("`{}` is not a valid address or prefix: this {} is ignored, as keepalived 2.2.7 ignores it", t.text, if rules { "rule" } else { "route" }))
                        .with_hint("fix the address: as written, the rule or route is never installed"));
                    bad = true;
                }
            }
            k += 1;
        }
        if !bad {
            out.push(RawLine {
                words: words.iter().map(|t| t.text.clone()).collect(),
                loc: n.keyword.loc,
            });
        }
    }
    out
}

fn valid_prefix(s: &str) -> bool {
    let (a, l) = s.split_once('/').unwrap_or((s, ""));
    match a.parse::<std::net::IpAddr>() {
        Ok(ip) => {
            l.is_empty()
                || l.parse::<u8>()
                    .is_ok_and(|n| n <= if ip.is_ipv4() { 32 } else { 128 })
        }
        Err(_) => false,
    }
}

fn other_block(node: &Node) -> OtherBlock {
    let mut items = BTreeMap::new();
    for c in node.children() {
        items.insert(
            c.name().to_string(),
            c.args.iter().map(|t| t.text.clone()).collect(),
        );
    }
    OtherBlock {
        keyword: node.name().to_string(),
        args: node.args.iter().map(|t| t.text.clone()).collect(),
        loc: node.keyword.loc,
        items,
    }
}

/// Add top-level statements to `cfg` (used one by one while the tree is built).
pub fn top_level(nodes: &[Node], cfg: &mut Config, d: &mut Vec<Diagnostic>) {
    walk(nodes, BlockKind::Root, d, |it| {
        let node = it.node;
        match it.kw() {
            "global_defs" => global::global_defs(node, &mut cfg.global, it.d),
            "vrrp_script" => {
                if let Some(s) = vrrp::vrrp_script(it) {
                    cfg.vrrp_scripts.push(s)
                }
            }
            "track_file" | "vrrp_track_file" => {
                if let Some(s) = vrrp::track_file(it) {
                    cfg.track_files.push(s)
                }
            }
            "vrrp_track_process" => {
                if let Some(s) = vrrp::track_process(it) {
                    cfg.track_processes.push(s)
                }
            }
            "vrrp_sync_group" => {
                if let Some(s) = vrrp::sync_group(it) {
                    cfg.sync_groups.push(s)
                }
            }
            "vrrp_instance" => {
                if let Some(s) = vrrp::instance(it) {
                    cfg.instances.push(s)
                }
            }
            // read and checked, not installed: lvsd does not manage static addresses yet
            "static_ipaddress" => {
                cfg.static_ipaddress
                    .extend(vrrp::address_list(node.children(), it.d));
                it.not_implemented();
            }
            "static_routes" => {
                cfg.static_routes
                    .extend(route_lines(node.children(), false, it.d));
                it.not_implemented();
            }
            "static_rules" => {
                cfg.static_rules
                    .extend(route_lines(node.children(), true, it.d));
                it.not_implemented();
            }
            "virtual_server_group" => {
                if let Some(g) = lvs::vs_group(it) {
                    cfg.virtual_server_groups.push(g)
                }
            }
            "virtual_server" => {
                if let Some(mut vs) = lvs::virtual_server(it) {
                    // the checks of one block alone run with its parse (a reload that reuses
                    // an unchanged block reuses them too: crate::blocks); a block validate
                    // drops later (a second definition, an undefined group) is checked too,
                    // so its mistakes are reported as well
                    crate::validate::virtual_server_alone(&mut vs, it.d);
                    cfg.virtual_servers.push(std::sync::Arc::new(vs))
                }
            }
            "SSL" => cfg.ssl = Some(lvs::ssl(node, it.d)),
            "net_namespace" => cfg.global.net_namespace = it.string(),
            "instance" => cfg.global.instance = it.string(),
            "garp_group"
            | "track_group"
            | "bfd_instance"
            | "linkbeat_interfaces"
            | "interface_up_down_delays" => {
                it.not_implemented();
                cfg.other_blocks.push(other_block(node));
            }
            _ => it.not_implemented(),
        }
    });
}
