//! The text of `ipvsadm -L[n] [--stats|--rate|--thresholds|--persistent-conn]`.
//!
//! The formats are those of ipvsadm 1.31 (`print_title`, `print_service_entry`,
//! `print_largenum`, `print_sched_flags` in ipvsadm.c), reproduced column for column,
//! trailing spaces included. So is the order: ipvsadm sorts services and destinations with
//! glibc's `qsort` (a merge sort) and comparison functions that subtract unsigned 32-bit
//! values into an `int`, so that for example 192.168.0.1 sorts *before* 10.0.0.1 (their
//! difference wraps); [`list`] performs the same merge sort with the same comparisons.
//!
//! Deliberate differences:
//! * without `numeric`, ipvsadm resolves addresses with reverse DNS (`gethostbyaddr`); lvsd
//!   prints addresses as numbers and only names ports, from `/etc/services` like ipvsadm's
//!   `getservbyport` (the first entry for that port and protocol);
//! * a firewall mark above 2^31 is printed unsigned (ipvsadm 1.31 printed it negative, a
//!   bug fixed upstream after 1.31).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

use crate::netlink::{DestCounters, Info};
use crate::types::{svc_flags, Dest, Family, Forward, Protocol, Service, ServiceKey, Stats};

/// `ipvsadm -L` options. When several are set, the first of stats, rate, thresholds,
/// persistent_conn wins, as in ipvsadm.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// `-n`: numeric ports (addresses are always numeric, see the module doc).
    pub numeric: bool,
    /// `--stats`.
    pub stats: bool,
    /// `--rate`.
    pub rate: bool,
    /// `--thresholds`.
    pub thresholds: bool,
    /// `--persistent-conn`.
    pub persistent_conn: bool,
}

/// One service as listed: the service, its counters, its destinations with counters.
pub type ListEntry = (Service, Stats, Vec<(Dest, DestCounters, Stats)>);

/// The text `ipvsadm -L` prints for `table`, port names from `/etc/services`.
pub fn list(table: &[ListEntry], info: &Info, opts: &ListOptions) -> String {
    list_with_port_names(table, info, opts, &system_port_name)
}

/// [`list`] with the port names given by `port_name` (used when `opts.numeric` is false).
pub fn list_with_port_names(
    table: &[ListEntry],
    info: &Info,
    opts: &ListOptions,
    port_name: &dyn Fn(u16, Protocol) -> Option<String>,
) -> String {
    let v = info.version;
    let mut out = format!(
        "IP Virtual Server version {}.{}.{} (size={})\n",
        (v >> 16) & 0xff,
        (v >> 8) & 0xff,
        v & 0xff,
        info.conn_tab_size
    );
    out.push_str(&title(opts));
    let mut order: Vec<usize> = (0..table.len()).collect();
    glibc_msort(&mut order, &|a, b| {
        cmp_services(&table[a].0.key, &table[b].0.key)
    });
    for i in order {
        let (svc, stats, dests) = &table[i];
        print_service(&mut out, svc, stats, dests, opts, port_name);
    }
    out
}

fn title(opts: &ListOptions) -> String {
    const PROT: &str = "Prot LocalAddress:Port";
    const REMOTE: &str = "  -> RemoteAddress:Port\n";
    if opts.stats {
        format!(
            "{PROT:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n{REMOTE}",
            "Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"
        )
    } else if opts.rate {
        format!(
            "{PROT:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n{REMOTE}",
            "CPS", "InPPS", "OutPPS", "InBPS", "OutBPS"
        )
    } else if opts.thresholds {
        format!(
            "{PROT:<33} {:<10} {:<10} {:<10} {:<10}\n{REMOTE}",
            "Uthreshold", "Lthreshold", "ActiveConn", "InActConn"
        )
    } else if opts.persistent_conn {
        format!(
            "{PROT:<33} {:<9} {:<11} {:<10} {:<10}\n{REMOTE}",
            "Weight", "PersistConn", "ActiveConn", "InActConn"
        )
    } else {
        "Prot LocalAddress:Port Scheduler Flags\n  \
         -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
            .to_owned()
    }
}

fn protocol_name(p: Protocol) -> &'static str {
    p.name()
}

/// `fwd_name()`: ipvsadm has no name for bypass and printf prints NULL as "(null)".
fn forward_name(f: Forward) -> &'static str {
    match f {
        Forward::Masq => "Masq",
        Forward::Local => "Local",
        Forward::Tunnel => "Tunnel",
        Forward::Route => "Route",
        Forward::Bypass => "(null)",
    }
}

/// `inet_ntop(AF_INET6)` as glibc writes it: like RFC 5952, but with a dotted quad for
/// IPv4-compatible (`::a.b.c.d`) as well as IPv4-mapped addresses.
fn ntop6(a: &Ipv6Addr) -> String {
    let w = a.segments();
    // The longest run (first if tied) of at least two zero words.
    // (start, length) of zero runs.
    let mut best: Option<(usize, usize)> = None;
    let mut cur: Option<(usize, usize)> = None;
    for (i, &word) in w.iter().enumerate() {
        if word == 0 {
            cur = Some(cur.map_or((i, 1), |(b, l)| (b, l + 1)));
        } else {
            cur = None;
        }
        if let Some((b, l)) = cur {
            if l >= 2 && best.is_none_or(|(_, bl)| l > bl) {
                best = Some((b, l));
            }
        }
    }
    let mut s = String::new();
    let mut i = 0;
    while i < 8 {
        if let Some((b, l)) = best {
            if i >= b && i < b + l {
                if i == b {
                    s.push(':');
                }
                i += 1;
                continue;
            }
        }
        if i != 0 {
            s.push(':');
        }
        if i == 6 && matches!(best, Some((0, l)) if l == 6 || (l == 5 && w[5] == 0xffff)) {
            let o = a.octets();
            s.push_str(&Ipv4Addr::new(o[12], o[13], o[14], o[15]).to_string());
            return s;
        }
        s.push_str(&format!("{:x}", w[i]));
        i += 1;
    }
    if matches!(best, Some((b, l)) if b + l == 8) {
        s.push(':');
    }
    s
}

/// `addrport_to_anyname()`: "10.0.0.1:80", "[2001:db8::1]:443", or with the port's name.
fn addr_port(
    addr: &IpAddr,
    port: u16,
    proto: Option<Protocol>,
    opts: &ListOptions,
    port_name: &dyn Fn(u16, Protocol) -> Option<String>,
) -> String {
    let a = match addr {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => format!("[{}]", ntop6(a)),
    };
    let p = match proto {
        Some(proto) if !opts.numeric => port_name(port, proto).unwrap_or_else(|| port.to_string()),
        _ => port.to_string(),
    };
    let mut s = format!("{a}:{p}");
    truncate(&mut s, 59); // ipvsadm's 60-byte buffer
    s
}

fn truncate(s: &mut String, n: usize) {
    if s.len() > n {
        let mut end = n;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
}

/// `print_largenum()` without `--exact`.
fn largenum(i: u64) -> String {
    if i < 100_000_000 {
        format!("{i:>9}")
    } else if i < 1_000_000_000 {
        format!("{:>8}K", i / 1_000)
    } else if i < 100_000_000_000 {
        format!("{:>8}M", i / 1_000_000)
    } else if i < 100_000_000_000_000 {
        format!("{:>8}G", i / 1_000_000_000)
    } else {
        format!("{:>8}T", i / 1_000_000_000_000)
    }
}

/// `print_sched_flags()`.
fn sched_flags(scheduler: &str, flags: u32) -> String {
    let mut f: Vec<&str> = Vec::new();
    let (one, two) = match scheduler {
        "sh" => ("sh-fallback", "sh-port"),
        "mh" => ("mh-fallback", "mh-port"),
        _ => ("flag-1", "flag-2"),
    };
    if flags & svc_flags::SCHED1 != 0 {
        f.push(one);
    }
    if flags & svc_flags::SCHED2 != 0 {
        f.push(two);
    }
    if flags & svc_flags::SCHED3 != 0 && scheduler != "sh" && scheduler != "mh" {
        f.push("flag-3");
    }
    f.join(",")
}

fn print_service(
    out: &mut String,
    svc: &Service,
    stats: &Stats,
    dests: &[(Dest, DestCounters, Stats)],
    opts: &ListOptions,
    port_name: &dyn Fn(u16, Protocol) -> Option<String>,
) {
    let family = svc.key.family();
    let proto = match svc.key {
        ServiceKey::Addr { protocol, .. } => Some(protocol),
        ServiceKey::Fwmark { .. } => None,
    };
    let svc_name = match &svc.key {
        ServiceKey::Fwmark {
            family: Family::V4,
            mark,
        } => format!("FWM  {mark}"),
        ServiceKey::Fwmark {
            family: Family::V6,
            mark,
        } => format!("FWM  {mark} IPv6"),
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            let vname = addr_port(addr, *port, Some(*protocol), opts, port_name);
            let mut s = format!("{:<4} {vname}", protocol_name(*protocol));
            if family != Family::V6 {
                truncate(&mut s, 33);
            }
            s
        }
    };

    if opts.stats {
        out.push_str(&format!("{svc_name:<33}"));
        for n in [
            stats.conns,
            stats.inpkts,
            stats.outpkts,
            stats.inbytes,
            stats.outbytes,
        ] {
            out.push_str(&largenum(n));
        }
    } else if opts.rate {
        out.push_str(&format!("{svc_name:<33}"));
        for n in [
            stats.cps,
            stats.inpps,
            stats.outpps,
            stats.inbps,
            stats.outbps,
        ] {
            out.push_str(&largenum(n));
        }
    } else {
        out.push_str(&format!("{svc_name} {}", svc.scheduler));
        let sched_bits = svc_flags::SCHED1 | svc_flags::SCHED2 | svc_flags::SCHED3;
        if svc.flags & sched_bits != 0 {
            out.push_str(&format!(" ({})", sched_flags(&svc.scheduler, svc.flags)));
        }
        if svc.flags & svc_flags::PERSISTENT != 0 {
            out.push_str(&format!(" persistent {}", svc.timeout));
            match family {
                Family::V4 if svc.netmask != 0xffff_ffff => {
                    out.push_str(&format!(" mask {}", Ipv4Addr::from(svc.netmask)));
                }
                Family::V6 if svc.netmask != 128 => {
                    out.push_str(&format!(" mask {}", svc.netmask as i32));
                }
                _ => {}
            }
            if let Some(pe) = svc.pe_name.as_deref().filter(|p| !p.is_empty()) {
                out.push_str(&format!(" pe {pe}"));
            }
        }
        if svc.flags & svc_flags::ONEPACKET != 0 {
            out.push_str(" ops");
        }
    }
    out.push('\n');

    let mut order: Vec<usize> = (0..dests.len()).collect();
    glibc_msort(&mut order, &|a, b| cmp_dests(&dests[a].0, &dests[b].0));
    for i in order {
        let (d, c, s) = &dests[i];
        let mut dname = addr_port(&d.addr, d.port, proto, opts, port_name);
        if Family::of(&d.addr) != Family::V6 {
            truncate(&mut dname, 28);
        }
        let line = if opts.stats {
            let mut l = format!("  -> {dname:<28}");
            for n in [s.conns, s.inpkts, s.outpkts, s.inbytes, s.outbytes] {
                l.push_str(&largenum(n));
            }
            l
        } else if opts.rate {
            format!(
                "  -> {dname:<28} {:>8} {:>8} {:>8}{}{}",
                s.cps,
                s.inpps,
                s.outpps,
                largenum(s.inbps),
                largenum(s.outbps)
            )
        } else if opts.thresholds {
            format!(
                "  -> {dname:<28} {:<10} {:<10} {:<10} {:<10}",
                d.u_threshold, d.l_threshold, c.active, c.inactive
            )
        } else if opts.persistent_conn {
            format!(
                "  -> {dname:<28} {:<9} {:<11} {:<10} {:<10}",
                d.weight as u32, c.persist, c.active, c.inactive
            )
        } else {
            format!(
                "  -> {dname:<28} {:<7} {:<6} {:<10} {:<10}",
                forward_name(d.forward),
                d.weight,
                c.active,
                c.inactive
            )
        };
        out.push_str(&line);
        out.push('\n');
    }
}

/// `(int)(a - b)` of two unsigned 32-bit values, as C computes it.
fn c_diff(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

fn addr_words(a: &IpAddr) -> [u32; 4] {
    match a {
        IpAddr::V4(a) => [u32::from(*a), 0, 0, 0],
        IpAddr::V6(a) => {
            let o = a.octets();
            std::array::from_fn(|i| {
                u32::from_be_bytes([o[4 * i], o[4 * i + 1], o[4 * i + 2], o[4 * i + 3]])
            })
        }
    }
}

fn cmp_addr(a: &IpAddr, b: &IpAddr, v6: bool) -> i32 {
    let (wa, wb) = (addr_words(a), addr_words(b));
    let words = if v6 { 4 } else { 1 };
    (0..words)
        .map(|i| c_diff(wa[i], wb[i]))
        .find(|&r| r != 0)
        .unwrap_or(0)
}

/// `ipvs_cmp_services()`: fwmark, family, protocol, address, port.
fn cmp_services(a: &ServiceKey, b: &ServiceKey) -> i32 {
    // (fwmark, af, protocol, addr, port) as in ipvsadm's service entry: a fwmark service
    // has protocol 0, address 0, port 0; an address service has fwmark 0.
    let fields = |k: &ServiceKey| match *k {
        ServiceKey::Fwmark { family, mark } => {
            let zero = match family {
                Family::V4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                Family::V6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            };
            (mark, family.af(), 0u16, zero, 0u16)
        }
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => (0, Family::of(&addr).af(), protocol.number(), addr, port),
    };
    let (m1, af1, p1, a1, port1) = fields(a);
    let (m2, af2, p2, a2, port2) = fields(b);
    let r = c_diff(m1, m2);
    if r != 0 {
        return r;
    }
    let r = i32::from(af1) - i32::from(af2);
    if r != 0 {
        return r;
    }
    let r = i32::from(p1) - i32::from(p2);
    if r != 0 {
        return r;
    }
    let r = cmp_addr(&a1, &a2, af1 == Family::V6.af());
    if r != 0 {
        return r;
    }
    i32::from(port1) - i32::from(port2)
}

/// `ipvs_cmp_dests()`: address (in the first destination's family), port.
fn cmp_dests(a: &Dest, b: &Dest) -> i32 {
    let r = cmp_addr(&a.addr, &b.addr, a.addr.is_ipv6());
    if r != 0 {
        return r;
    }
    i32::from(a.port) - i32::from(b.port)
}

/// glibc's `msort_with_tmp`: top-down merge sort, left half `n / 2`, taking from the left
/// run while `cmp(left, right) <= 0`. Deterministic even for comparisons that are not a
/// total order (and never panics on them).
fn glibc_msort(v: &mut [usize], cmp: &dyn Fn(usize, usize) -> i32) {
    let n = v.len();
    if n <= 1 {
        return;
    }
    let n1 = n / 2;
    glibc_msort(&mut v[..n1], cmp);
    glibc_msort(&mut v[n1..], cmp);
    let mut tmp = Vec::with_capacity(n);
    let (mut i, mut j) = (0, n1);
    while i < n1 && j < n {
        if cmp(v[i], v[j]) <= 0 {
            tmp.push(v[i]);
            i += 1;
        } else {
            tmp.push(v[j]);
            j += 1;
        }
    }
    tmp.extend_from_slice(&v[i..n1]);
    // What is left of the right run is already in place.
    v[..tmp.len()].copy_from_slice(&tmp);
}

/// `getservbyport()` from `/etc/services`: the first name for that port and protocol.
pub fn system_port_name(port: u16, proto: Protocol) -> Option<String> {
    static SERVICES: OnceLock<HashMap<(u16, Protocol), String>> = OnceLock::new();
    let map = SERVICES.get_or_init(|| {
        std::fs::read_to_string("/etc/services")
            .map(|text| parse_services(&text))
            .unwrap_or_default()
    });
    map.get(&(port, proto)).cloned()
}

/// Parses `/etc/services`: `name port/proto [aliases] [# comment]`; the first entry wins.
pub fn parse_services(text: &str) -> HashMap<(u16, Protocol), String> {
    let mut map = HashMap::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        let (Some(name), Some(pp)) = (words.next(), words.next()) else {
            continue;
        };
        let Some((port, proto)) = pp.split_once('/') else {
            continue;
        };
        let proto = match proto {
            "tcp" => Protocol::Tcp,
            "udp" => Protocol::Udp,
            "sctp" => Protocol::Sctp,
            _ => continue,
        };
        if let Ok(port) = port.parse::<u16>() {
            map.entry((port, proto)).or_insert_with(|| name.to_owned());
        }
    }
    map
}

#[cfg(test)]
mod tests {
    //! Expected texts: ipvsadm 1.31's printf formats applied by hand (and cross-checked with
    //! Python's C-compatible `%` formatting), trailing spaces included.

    use super::*;
    use crate::types::{Dest, Service, TunType};

    const HEAD: &str = "IP Virtual Server version 1.2.1 (size=4096)\n";
    const TITLE: &str = "Prot LocalAddress:Port Scheduler Flags\n  \
                         -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n";

    fn info() -> Info {
        Info {
            version: 0x010201,
            conn_tab_size: 4096,
        }
    }

    fn tcp(addr: &str, port: u16) -> ServiceKey {
        ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: addr.parse().unwrap(),
            port,
        }
    }

    fn udp(addr: &str, port: u16) -> ServiceKey {
        ServiceKey::Addr {
            protocol: Protocol::Udp,
            addr: addr.parse().unwrap(),
            port,
        }
    }

    fn svc(key: ServiceKey, sched: &str) -> Service {
        Service {
            key,
            scheduler: sched.into(),
            flags: 0,
            timeout: 0,
            netmask: if key.family() == Family::V6 {
                128
            } else {
                0xffff_ffff
            },
            pe_name: None,
        }
    }

    fn persistent(mut s: Service, timeout: u32) -> Service {
        s.flags |= svc_flags::PERSISTENT;
        s.timeout = timeout;
        s
    }

    fn dest(
        addr: &str,
        port: u16,
        fwd: Forward,
        w: i32,
        active: u32,
        inact: u32,
    ) -> (Dest, DestCounters, Stats) {
        (
            Dest::new(addr.parse().unwrap(), port, fwd, w),
            DestCounters {
                active,
                inactive: inact,
                persist: 0,
            },
            Stats::default(),
        )
    }

    fn numeric() -> ListOptions {
        ListOptions {
            numeric: true,
            ..Default::default()
        }
    }

    #[test]
    fn tcp_rr_two_masq() {
        let table = vec![(
            svc(tcp("10.0.0.1", 80), "rr"),
            Stats::default(),
            // Given out of order: ipvsadm sorts destinations by address.
            vec![
                dest("192.168.1.11", 80, Forward::Masq, 1, 3, 5),
                dest("192.168.1.10", 80, Forward::Masq, 2, 0, 1),
            ],
        )];
        let want = format!(
            "{HEAD}{TITLE}TCP  10.0.0.1:80 rr\n\
             \x20 -> 192.168.1.10:80              Masq    2      0          1         \n\
             \x20 -> 192.168.1.11:80              Masq    1      3          5         \n"
        );
        assert_eq!(list(&table, &info(), &numeric()), want);
    }

    #[test]
    fn fwmark_wlc_persistent_route() {
        let fwm = |mark| ServiceKey::Fwmark {
            family: Family::V4,
            mark,
        };
        let mut masked = persistent(svc(fwm(2), "wlc"), 360);
        masked.netmask = 0xffff_ff00;
        let table = vec![
            (
                masked,
                Stats::default(),
                vec![dest("10.0.0.4", 0, Forward::Route, 100, 0, 0)],
            ),
            (
                persistent(svc(fwm(1), "wlc"), 50),
                Stats::default(),
                vec![
                    dest("10.0.0.3", 0, Forward::Route, 0, 0, 7),
                    dest("10.0.0.2", 0, Forward::Route, 1, 12, 40),
                ],
            ),
        ];
        let want = format!(
            "{HEAD}{TITLE}FWM  1 wlc persistent 50\n\
             \x20 -> 10.0.0.2:0                   Route   1      12         40        \n\
             \x20 -> 10.0.0.3:0                   Route   0      0          7         \n\
             FWM  2 wlc persistent 360 mask 255.255.255.0\n\
             \x20 -> 10.0.0.4:0                   Route   100    0          0         \n"
        );
        assert_eq!(list(&table, &info(), &numeric()), want);
    }

    #[test]
    fn udp_sh_flags_and_ops() {
        let mut sh = svc(udp("10.0.0.1", 53), "sh");
        sh.flags = svc_flags::SCHED1 | svc_flags::SCHED2;
        let mut ops = svc(udp("10.0.0.1", 5060), "rr");
        ops.flags = svc_flags::ONEPACKET;
        let mut wrr = svc(tcp("10.0.0.1", 8080), "wrr");
        wrr.flags = svc_flags::SCHED1 | svc_flags::SCHED3;
        let table = vec![
            (
                sh,
                Stats::default(),
                vec![dest("10.0.1.1", 53, Forward::Masq, 1, 0, 0)],
            ),
            (ops, Stats::default(), vec![]),
            (wrr, Stats::default(), vec![]),
        ];
        let want = format!(
            "{HEAD}{TITLE}TCP  10.0.0.1:8080 wrr (flag-1,flag-3)\n\
             UDP  10.0.0.1:53 sh (sh-fallback,sh-port)\n\
             \x20 -> 10.0.1.1:53                  Masq    1      0          0         \n\
             UDP  10.0.0.1:5060 rr ops\n"
        );
        assert_eq!(list(&table, &info(), &numeric()), want);
    }

    #[test]
    fn ipv6_services() {
        let mut v6 = persistent(svc(tcp("2001:db8::1", 443), "wlc"), 300);
        v6.netmask = 64;
        v6.pe_name = Some("sip".into());
        let mut tun = dest("2001:db8:0:1:2:3:4:5", 8443, Forward::Tunnel, 5, 0, 0);
        tun.0.tun_type = TunType::Gue;
        let table = vec![
            (
                svc(
                    ServiceKey::Fwmark {
                        family: Family::V6,
                        mark: 7,
                    },
                    "rr",
                ),
                Stats::default(),
                vec![],
            ),
            (
                v6,
                Stats::default(),
                vec![tun, dest("2001:db8::a", 443, Forward::Masq, 1, 2, 3)],
            ),
        ];
        let want = format!(
            "{HEAD}{TITLE}TCP  [2001:db8::1]:443 wlc persistent 300 mask 64 pe sip\n\
             \x20 -> [2001:db8::a]:443            Masq    1      2          3         \n\
             \x20 -> [2001:db8:0:1:2:3:4:5]:8443  Tunnel  5      0          0         \n\
             FWM  7 IPv6 rr\n"
        );
        assert_eq!(list(&table, &info(), &numeric()), want);
    }

    fn stats(v: [u64; 10]) -> Stats {
        Stats {
            conns: v[0],
            inpkts: v[1],
            outpkts: v[2],
            inbytes: v[3],
            outbytes: v[4],
            cps: v[5],
            inpps: v[6],
            outpps: v[7],
            inbps: v[8],
            outbps: v[9],
        }
    }

    #[test]
    fn stats_columns() {
        let mut d = dest("192.168.1.10", 80, Forward::Masq, 1, 0, 0);
        d.2 = stats([1, 2, 3, 99_999_999, 100_000_000, 0, 0, 0, 0, 0]);
        let table = vec![(
            svc(tcp("10.0.0.1", 80), "rr"),
            stats([
                12345,
                987_654_321,
                55,
                123_456_789_012,
                100_000_000_000_000,
                0,
                0,
                0,
                0,
                0,
            ]),
            vec![d],
        )];
        let opts = ListOptions {
            numeric: true,
            stats: true,
            ..Default::default()
        };
        let want = format!(
            "{HEAD}Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n\
             \x20 -> RemoteAddress:Port\n\
             TCP  10.0.0.1:80                     12345  987654K       55     123G     100T\n\
             \x20 -> 192.168.1.10:80                     1        2        3 99999999  100000K\n"
        );
        assert_eq!(list(&table, &info(), &opts), want);
    }

    #[test]
    fn rate_columns() {
        let mut d = dest("192.168.1.10", 80, Forward::Masq, 1, 0, 0);
        d.2 = stats([0, 0, 0, 0, 0, 10, 200, 150, 2_500_000, 1_000_000_000]);
        let table = vec![(
            svc(tcp("10.0.0.1", 80), "rr"),
            stats([0, 0, 0, 0, 0, 10, 200, 150, 2_500_000, 999_999_999]),
            vec![d],
        )];
        let opts = ListOptions {
            numeric: true,
            rate: true,
            ..Default::default()
        };
        let want = format!(
            "{HEAD}Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n\
             \x20 -> RemoteAddress:Port\n\
             TCP  10.0.0.1:80                        10      200      150  2500000  999999K\n\
             \x20 -> 192.168.1.10:80                    10      200      150  2500000    1000M\n"
        );
        assert_eq!(list(&table, &info(), &opts), want);
    }

    #[test]
    fn thresholds_columns() {
        let mut d = dest("192.168.1.10", 80, Forward::Masq, 1, 7, 9);
        d.0.u_threshold = 100;
        d.0.l_threshold = 50;
        let table = vec![(svc(tcp("10.0.0.1", 80), "lc"), Stats::default(), vec![d])];
        let opts = ListOptions {
            numeric: true,
            thresholds: true,
            ..Default::default()
        };
        let want = format!(
            "{HEAD}Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn \n\
             \x20 -> RemoteAddress:Port\n\
             TCP  10.0.0.1:80 lc\n\
             \x20 -> 192.168.1.10:80              100        50         7          9         \n"
        );
        assert_eq!(list(&table, &info(), &opts), want);
    }

    #[test]
    fn persistent_conn_columns() {
        let mut d = dest("192.168.1.10", 80, Forward::Masq, 3, 7, 9);
        d.1.persist = 4;
        let table = vec![(
            persistent(svc(tcp("10.0.0.1", 80), "lc"), 60),
            Stats::default(),
            vec![d],
        )];
        let opts = ListOptions {
            numeric: true,
            persistent_conn: true,
            ..Default::default()
        };
        let want = format!(
            "{HEAD}Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn \n\
             \x20 -> RemoteAddress:Port\n\
             TCP  10.0.0.1:80 lc persistent 60\n\
             \x20 -> 192.168.1.10:80              3         4           7          9         \n"
        );
        assert_eq!(list(&table, &info(), &opts), want);
    }

    /// ipvsadm compares addresses by `(int)(ntohl(a) - ntohl(b))`: 10.0.0.1 - 192.168.0.1
    /// wraps to a positive int, so 192.168.0.1 is listed first, whatever the dump order.
    #[test]
    fn sort_order_follows_ipvsadm_wrapping_compare() {
        let want = format!("{HEAD}{TITLE}TCP  192.168.0.1:80 rr\nTCP  10.0.0.1:80 rr\n");
        for keys in [["10.0.0.1", "192.168.0.1"], ["192.168.0.1", "10.0.0.1"]] {
            let table: Vec<ListEntry> = keys
                .iter()
                .map(|a| (svc(tcp(a, 80), "rr"), Stats::default(), vec![]))
                .collect();
            assert_eq!(list(&table, &info(), &numeric()), want);
        }
    }

    #[test]
    fn port_names_without_numeric() {
        let names = |port: u16, proto: Protocol| {
            (port == 80 && proto == Protocol::Tcp).then(|| "http".to_owned())
        };
        let table = vec![
            (
                svc(
                    ServiceKey::Fwmark {
                        family: Family::V4,
                        mark: 3,
                    },
                    "rr",
                ),
                Stats::default(),
                vec![dest("192.168.1.10", 80, Forward::Route, 1, 0, 0)],
            ),
            (
                svc(tcp("10.0.0.1", 80), "rr"),
                Stats::default(),
                vec![dest("192.168.1.10", 80, Forward::Route, 1, 0, 0)],
            ),
        ];
        // A firewall-mark service has no protocol: its destinations' ports stay numeric.
        let want = format!(
            "{HEAD}{TITLE}TCP  10.0.0.1:http rr\n\
             \x20 -> 192.168.1.10:http            Route   1      0          0         \n\
             FWM  3 rr\n\
             \x20 -> 192.168.1.10:80              Route   1      0          0         \n"
        );
        let opts = ListOptions::default();
        assert_eq!(list_with_port_names(&table, &info(), &opts, &names), want);
    }

    #[test]
    fn empty_table() {
        assert_eq!(list(&[], &info(), &numeric()), format!("{HEAD}{TITLE}"));
    }

    #[test]
    fn glibc_inet_ntop6() {
        let f = |s: &str| ntop6(&s.parse().unwrap());
        assert_eq!(f("::"), "::");
        assert_eq!(f("::1"), "::1");
        assert_eq!(f("2001:db8::1"), "2001:db8::1");
        assert_eq!(f("::ffff:10.0.0.1"), "::ffff:10.0.0.1");
        assert_eq!(f("::10.0.0.1"), "::10.0.0.1");
        assert_eq!(f("2001:db8:0:0:1:0:0:1"), "2001:db8::1:0:0:1");
        assert_eq!(f("fe80::"), "fe80::");
        assert_eq!(f("1:0:2:3:4:5:6:7"), "1:0:2:3:4:5:6:7");
    }

    #[test]
    fn etc_services_first_entry_wins() {
        let m = parse_services(
            "# comment\nhttp\t\t80/tcp\t\twww\t# WWW\nhttp-alt 80/tcp\ndomain 53/udp\nbad line\n",
        );
        assert_eq!(
            m.get(&(80, Protocol::Tcp)).map(String::as_str),
            Some("http")
        );
        assert_eq!(
            m.get(&(53, Protocol::Udp)).map(String::as_str),
            Some("domain")
        );
        assert_eq!(m.get(&(53, Protocol::Tcp)), None);
    }
}
