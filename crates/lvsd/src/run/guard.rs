//! The colocated guard (issue 8, `colocated_directors guard`, the default).
//!
//! A colocated director keeps its services in IPVS only while MASTER; that alone leaves a loop
//! when a MASTER dies with its kernel state intact (kill -9, a crash of lvsd alone) and in split
//! brain: the survivor forwards a connection to the dead node, whose kernel still has the
//! service and balances it again, back to the survivor (docs/colocated.md, rows SB and the
//! kill -9 step of tests/vm/colocated-lvsd.sh). The guard closes that hole in the kernel
//! itself, so it holds when lvsd is gone:
//!
//! - the guarded service goes into IPVS as a fwmark service (mark `MARK_BASE + n`) instead
//!   of `VIP:port`;
//! - lvsd's own nftables table `inet lvsd` marks packets to `VIP:port` unless their source MAC
//!   is one of the real servers' (learnt from the neighbour table: health checks keep it
//!   filled). A DR real server holds the VIP on `lo` and never sends to it over the wire, so
//!   a packet to the VIP from a real server's MAC was forwarded by a director (the peer, also
//!   a real server): left unmarked, no service matches it and it is delivered to the local
//!   application. TUN: the decapsulated packet arrives on a tunnel device without an Ethernet
//!   header, so the `ether saddr` match (which implies `meta iiftype ether`) never marks it;
//! - locally originated connections to the VIP are marked in `output`, so the director's own
//!   clients are balanced as with an address service.
//!
//! The seeds do the same by hand (iptables mangle marks by the peer's MAC + fwmark services);
//! measured in the VM: no loop, also in split brain (docs/colocated.md, rows D and SD).
//! lvsd never touches any other table; the user's own marks on other packets are untouched.

use lvsd_ipvs::{Family, ServiceKey, Table};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::net::IpAddr;
use std::process::{Command, Stdio};

/// The nftables table lvsd owns (family inet).
pub const TABLE: &str = "lvsd";
/// Marks lvsd gives guarded services. A configuration's own fwmark services must not use
/// this range (`lvsd check`: reserved-fwmark).
pub use lvsd_config::colocated::{GUARD_MARK_BASE as MARK_BASE, GUARD_MARK_SPAN as MARK_SPAN};

/// A guarded service: its address key and the fwmark it is installed as.
pub type Marks = BTreeMap<ServiceKey, u32>;

fn fnv(text: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in text.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// A mark for every address key, stable for a key (derived from its text, so a reload that
/// adds or reorders services does not renumber the others), distinct within the set.
pub fn assign(keys: &BTreeSet<ServiceKey>) -> Marks {
    let mut used = BTreeSet::new();
    let mut out = Marks::new();
    for k in keys {
        let ServiceKey::Addr {
            protocol,
            addr,
            port,
        } = k
        else {
            continue;
        };
        let mut m = fnv(&format!("{}/{addr}/{port}", protocol.name())) % MARK_SPAN;
        // 0 would read as "no mark" to a reader of the ruleset; skip it
        while m == 0 || used.contains(&m) {
            m = (m + 1) % MARK_SPAN;
        }
        used.insert(m);
        out.insert(*k, MARK_BASE + m);
    }
    out
}

/// Re-keys the guarded services of `want` as fwmark services (same scheduler, persistence
/// and real servers).
pub fn rekey(want: &mut Table, marks: &Marks) {
    for (key, mark) in marks {
        if let Some((mut svc, dests)) = want.remove(key) {
            let fk = ServiceKey::Fwmark {
                family: key.family(),
                mark: *mark,
            };
            svc.key = fk;
            want.insert(fk, (svc, dests));
        }
    }
}

/// The reverse of [`rekey`] for a table read from the kernel (so that `status` finds the
/// services under the keys of the configuration).
pub fn unkey(have: &mut Table, marks: &Marks) {
    for (key, mark) in marks {
        let fk = ServiceKey::Fwmark {
            family: key.family(),
            mark: *mark,
        };
        if let Some((mut svc, dests)) = have.remove(&fk) {
            svc.key = *key;
            have.insert(*key, (svc, dests));
        }
    }
}

fn mac_text(m: &[u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn match_text(key: &ServiceKey) -> Option<String> {
    let ServiceKey::Addr {
        protocol,
        addr,
        port,
    } = key
    else {
        return None;
    };
    let fam = match Family::of(addr) {
        Family::V4 => "ip",
        Family::V6 => "ip6",
    };
    let proto = protocol.name().to_ascii_lowercase();
    Some(format!("{fam} daddr {addr} {proto} dport {port}"))
}

/// The whole table as one nft transaction: created if absent, emptied, defined again (the
/// kernel applies it atomically: there is no moment without the rules).
pub fn ruleset(marks: &Marks, forwarders: &BTreeSet<[u8; 6]>) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "add table inet {TABLE}");
    let _ = writeln!(s, "delete table inet {TABLE}");
    let _ = writeln!(s, "table inet {TABLE} {{");
    let _ = writeln!(s, "\tset forwarders {{");
    let _ = writeln!(s, "\t\ttype ether_addr");
    if !forwarders.is_empty() {
        let list: Vec<String> = forwarders.iter().map(mac_text).collect();
        let _ = writeln!(s, "\t\telements = {{ {} }}", list.join(", "));
    }
    let _ = writeln!(s, "\t}}");
    let _ = writeln!(s, "\tchain prerouting {{");
    let _ = writeln!(
        s,
        "\t\ttype filter hook prerouting priority mangle + 1; policy accept;"
    );
    for (key, mark) in marks {
        if let Some(m) = match_text(key) {
            let _ = writeln!(
                s,
                "\t\t{m} ether saddr != @forwarders meta mark set {mark:#010x}"
            );
        }
    }
    let _ = writeln!(s, "\t}}");
    let _ = writeln!(s, "\tchain output {{");
    let _ = writeln!(
        s,
        "\t\ttype route hook output priority mangle + 1; policy accept;"
    );
    for (key, mark) in marks {
        if let Some(m) = match_text(key) {
            let _ = writeln!(s, "\t\t{m} meta mark set {mark:#010x}");
        }
    }
    let _ = writeln!(s, "\t}}");
    let _ = writeln!(s, "}}");
    s
}

fn nft(script: &str) -> Result<(), String> {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run nft (package nftables): {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(script.as_bytes())
            .map_err(|e| format!("nft: {e}"))?;
    }
    let out = child.wait_with_output().map_err(|e| format!("nft: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "nft failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Rules of other tables (in `nft list ruleset`'s text) that set a mark on packets to one of
/// `vips`: (table, rule). lvsd's chains run at `mangle + 1`, after the usual mangle chains
/// (iptables-nft's too), so for the packets the guard marks its mark wins; the user is told.
pub fn foreign_marks(listing: &str, vips: &BTreeSet<IpAddr>) -> Vec<(String, String)> {
    let mut table = String::new();
    let mut out = Vec::new();
    for line in listing.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("table ") {
            table = rest.trim_end_matches('{').trim().to_string();
            continue;
        }
        if table == format!("inet {TABLE}") || !t.contains("mark set") {
            continue;
        }
        let names_vip = t
            .split(|c: char| c.is_whitespace() || c == ',' || c == '{' || c == '}')
            .filter_map(|w| w.split('/').next())
            .filter_map(|w| w.parse::<IpAddr>().ok())
            .any(|ip| vips.contains(&ip));
        if names_vip {
            out.push((table.clone(), t.to_string()));
        }
    }
    out
}

/// The foreign mark rules of the running ruleset (best effort: none when nft cannot list).
pub fn foreign_marks_now(vips: &BTreeSet<IpAddr>) -> Vec<(String, String)> {
    match Command::new("nft").args(["list", "ruleset"]).output() {
        Ok(o) if o.status.success() => foreign_marks(&String::from_utf8_lossy(&o.stdout), vips),
        _ => Vec::new(),
    }
}

/// Installs (or replaces) lvsd's table.
pub fn install(marks: &Marks, forwarders: &BTreeSet<[u8; 6]>) -> Result<(), String> {
    nft(&ruleset(marks, forwarders))
}

/// Whether lvsd's table is there (false without nft: then it cannot be).
pub fn present() -> bool {
    Command::new("nft")
        .args(["list", "table", "inet", TABLE])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Removes lvsd's table (nothing to do when it is not there).
pub fn remove() -> Result<(), String> {
    nft(&format!(
        "add table inet {TABLE}\ndelete table inet {TABLE}\n"
    ))
}

/// The MACs of `ips` in the neighbour table, added to `known` (never forgotten while lvsd
/// runs: a peer that stopped answering ARP may still forward). Returns whether it grew.
pub fn learn(
    known: &mut BTreeSet<[u8; 6]>,
    ips: &BTreeSet<IpAddr>,
    neighbours: &[lvsd_netif::Neighbour],
) -> bool {
    let before = known.len();
    for n in neighbours {
        if ips.contains(&n.ip) {
            known.insert(n.mac);
        }
    }
    known.len() != before
}

#[cfg(test)]
mod tests {
    use super::*;
    use lvsd_ipvs::Protocol;
    use std::net::Ipv4Addr;

    fn addr(ip: &str, port: u16) -> ServiceKey {
        ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: ip.parse().unwrap(),
            port,
        }
    }

    fn is_lvsd_mark(mark: u32) -> bool {
        (MARK_BASE..MARK_BASE + MARK_SPAN).contains(&mark)
    }

    #[test]
    fn marks_are_in_range_distinct_and_stable_for_a_key() {
        let mut keys: BTreeSet<ServiceKey> = (1..200).map(|p| addr("10.0.0.100", p)).collect();
        keys.insert(addr("fd00::100", 80));
        let marks = assign(&keys);
        assert_eq!(marks.len(), keys.len());
        let distinct: BTreeSet<u32> = marks.values().copied().collect();
        assert_eq!(distinct.len(), keys.len());
        assert!(marks.values().all(|m| is_lvsd_mark(*m) && *m != MARK_BASE));
        // another set containing one of the keys gives it the same mark
        let one: BTreeSet<ServiceKey> = [addr("10.0.0.100", 80)].into();
        assert_eq!(
            assign(&one)[&addr("10.0.0.100", 80)],
            marks[&addr("10.0.0.100", 80)]
        );
        assert!(!is_lvsd_mark(1) && !is_lvsd_mark(MARK_BASE + MARK_SPAN));
    }

    #[test]
    fn rekey_and_unkey_are_inverse() {
        let k = addr("10.0.0.100", 80);
        let svc = lvsd_ipvs::Service {
            key: k,
            scheduler: "rr".into(),
            flags: 0,
            timeout: 0,
            netmask: 0xffff_ffff,
            pe_name: None,
        };
        let mut t = Table::new();
        t.insert(k, (svc, BTreeMap::new()));
        let marks = assign(&[k].into());
        let mut t2 = t.clone();
        rekey(&mut t2, &marks);
        let (fk, (s, _)) = t2.iter().next().unwrap();
        assert_eq!(
            *fk,
            ServiceKey::Fwmark {
                family: Family::V4,
                mark: marks[&k]
            }
        );
        assert_eq!(s.key, *fk);
        unkey(&mut t2, &marks);
        assert_eq!(t2, t);
    }

    #[test]
    fn the_ruleset_marks_unless_forwarded_and_marks_local_clients() {
        let k4 = addr("10.0.0.100", 80);
        let k6 = ServiceKey::Addr {
            protocol: Protocol::Udp,
            addr: "fd00::100".parse().unwrap(),
            port: 53,
        };
        let marks = assign(&[k4, k6].into());
        let macs: BTreeSet<[u8; 6]> = [[0x52, 0x54, 0, 0, 0, 2], [0x52, 0x54, 0, 0, 0, 3]].into();
        let s = ruleset(&marks, &macs);
        assert!(s.starts_with("add table inet lvsd\ndelete table inet lvsd\ntable inet lvsd {"));
        assert!(s.contains("elements = { 52:54:00:00:00:02, 52:54:00:00:00:03 }"));
        assert!(s.contains("type filter hook prerouting priority mangle + 1;"));
        assert!(s.contains("type route hook output priority mangle + 1;"));
        assert!(s.contains(&format!(
            "ip daddr 10.0.0.100 tcp dport 80 ether saddr != @forwarders meta mark set {:#010x}",
            marks[&k4]
        )));
        assert!(s.contains(&format!(
            "ip6 daddr fd00::100 udp dport 53 ether saddr != @forwarders meta mark set {:#010x}",
            marks[&k6]
        )));
        assert!(s.contains(&format!(
            "ip daddr 10.0.0.100 tcp dport 80 meta mark set {:#010x}",
            marks[&k4]
        )));
        // an empty set has no elements line (nft rejects `elements = { }`)
        assert!(!ruleset(&marks, &BTreeSet::new()).contains("elements"));
    }

    #[test]
    fn learning_keeps_only_the_given_addresses_and_never_forgets() {
        let n = |ip: [u8; 4], last: u8| lvsd_netif::Neighbour {
            ifindex: 2,
            ip: IpAddr::V4(Ipv4Addr::from(ip)),
            mac: [2, 0, 0, 0, 0, last],
            confirmed: true,
        };
        let ips: BTreeSet<IpAddr> = ["10.0.0.2".parse().unwrap()].into();
        let mut known = BTreeSet::new();
        assert!(learn(
            &mut known,
            &ips,
            &[n([10, 0, 0, 2], 2), n([10, 0, 0, 9], 9)]
        ));
        assert_eq!(known, [[2, 0, 0, 0, 0, 2]].into());
        assert!(!learn(&mut known, &ips, &[]));
        assert_eq!(known.len(), 1);
    }

    #[test]
    fn a_users_mark_rule_on_a_guarded_vip_is_found_and_lvsds_own_are_not() {
        let listing = "table inet lvsd {\n\tchain prerouting {\n\t\tip daddr 10.0.0.100 tcp dport 80 ether saddr != @forwarders meta mark set 0x4c561234\n\t}\n}\n\
            table ip mangle {\n\tchain PREROUTING {\n\t\tip daddr 10.0.0.100 tcp dport 80 counter packets 0 bytes 0 meta mark set 0x3\n\t\tip daddr { 10.0.0.7, 10.0.0.200/32 } meta mark set 0x9\n\t\tip daddr 10.0.0.1000 meta mark set 0x5\n\t}\n}\n\
            table ip6 other {\n\tchain pre {\n\t\tip6 daddr fd00::100 meta mark set 0x4\n\t\tip6 daddr fd00::100 counter accept\n\t}\n}\n";
        let vips: BTreeSet<IpAddr> = [
            "10.0.0.100".parse().unwrap(),
            "fd00::100".parse().unwrap(),
            "10.0.0.200".parse().unwrap(),
        ]
        .into();
        let found = foreign_marks(listing, &vips);
        let tables: Vec<&str> = found.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(tables, ["ip mangle", "ip mangle", "ip6 other"], "{found:?}");
        assert!(found[0].1.contains("mark set 0x3"));
        assert!(found[1].1.contains("0x9"));
        assert!(foreign_marks(listing, &BTreeSet::new()).is_empty());
    }
}
