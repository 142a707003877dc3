//! `lvsd realserver up|down|status`: the real-server side of LVS direct routing (DR).
//!
//! In DR the director forwards a client's packet to a real server unchanged (only the MAC
//! differs), so every real server must accept packets for the VIP and never answer ARP for it:
//! otherwise a client's or router's ARP for the VIP may resolve to a real server instead of the
//! director. The classic init script (seed 001) does this by hand: the VIP as a /32 on `lo:0`,
//! `arp_ignore=1` and `arp_announce=2` on `all` and `lo`. This module does the same through
//! rtnetlink and /proc/sys, idempotently; it records what it changed in a state file so that
//! `down` puts back exactly what was there before, and `status` checks a host.
//!
//! - No `route add -host VIP dev lo:0`: the kernel adds a local route (table `local`) for every
//!   local address, which is what that command provided.
//! - The kernel uses the larger of `all`'s and the interface's value, for arp_ignore and for
//!   arp_announce alike; `status` judges these effective values and also looks for interfaces
//!   whose own value overrides a correct `all` with a wrong one.
//! - `up` sets the sysctls before it adds the VIPs and `down` removes the VIPs before it restores
//!   the sysctls, so the host never holds a VIP while answering ARP for it.
//! - IPv6 VIPs: /128 with `nodad`. Linux answers a neighbour solicitation only for addresses of
//!   the interface it arrived on, so a VIP on `lo` is never announced: no sysctls are needed.

use clap::{Args, ValueEnum};
use lvsd_netif::{Addr, AddrSpec, Link, Netlink};
use serde_json::{json, Value};
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Per-interface IPv4 settings.
const CONF_DIR: &str = "/proc/sys/net/ipv4/conf";
const ARP_IGNORE: &str = "arp_ignore";
const ARP_ANNOUNCE: &str = "arp_announce";
const ARP_NAMES: [&str; 2] = [ARP_IGNORE, ARP_ANNOUNCE];
/// `IFNAMSIZ - 1`: the longest interface name or address label.
const NAME_MAX: usize = 15;
const STATE_VERSION: u64 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Action {
    /// Add the VIPs and set the ARP sysctls; record what changed.
    Up,
    /// Undo exactly what `up` recorded.
    Down,
    /// Check the host: exit 0 when it is a correctly configured DR real server, 1 when not.
    Status,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Action::Up => "up",
            Action::Down => "down",
            Action::Status => "status",
        }
    }
}

#[derive(Args)]
pub struct RealserverArgs {
    /// up | down | status.
    #[arg(value_enum)]
    action: Action,
    /// A virtual IP, IPv4 or IPv6 (`/32` or `/128` may be written). Repeatable.
    #[arg(long = "vip", value_name = "VIP", value_parser = parse_vip)]
    vips: Vec<IpAddr>,
    /// The device the VIPs go on.
    #[arg(long, value_name = "DEV", default_value = "lo")]
    dev: String,
    /// Label of the first IPv4 VIP; a trailing `:N` counts up for the next ones (`lo:0`, `lo:1`,
    /// ...). Default: `DEV:0`.
    #[arg(long, value_name = "LABEL")]
    label: Option<String>,
    /// Also set arp_ignore/arp_announce on this interface (repeatable), e.g. the one that
    /// carries the service's traffic.
    #[arg(long = "iface", value_name = "IF")]
    ifaces: Vec<String>,
    /// Where `up` records what it changed, for `down`.
    #[arg(
        long = "state-file",
        value_name = "PATH",
        default_value = "/run/lvsd/realserver.json"
    )]
    state_file: PathBuf,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// An error that stops the command: exit status 2.
#[derive(Debug)]
struct Fail(String);

pub fn run(args: &RealserverArgs) -> ExitCode {
    match run_inner(args) {
        Ok(code) => ExitCode::from(code),
        Err(Fail(msg)) => {
            eprintln!("lvsd realserver {}: error: {msg}", args.action.name());
            ExitCode::from(2)
        }
    }
}

fn run_inner(args: &RealserverArgs) -> Result<u8, Fail> {
    let mut vips: Vec<IpAddr> = Vec::new();
    for v in &args.vips {
        if !vips.contains(v) {
            vips.push(*v);
        }
    }
    check_ifname("--dev", &args.dev)?;
    for i in &args.ifaces {
        check_ifname("--iface", i)?;
    }
    let labels = vip_labels(&args.dev, args.label.as_deref(), &vips)?;
    if vips.is_empty() && args.action != Action::Down {
        return Err(Fail(format!(
            "`{}` needs at least one --vip",
            args.action.name()
        )));
    }
    if args.action != Action::Status && !nix::unistd::geteuid().is_root() {
        return Err(Fail(format!(
            "permission denied: `{}` changes addresses and /proc/sys, lvsd realserver must run \
             as root",
            args.action.name()
        )));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Fail(format!("cannot start the tokio runtime: {e}")))?;
    let sys = Sysctl {
        root: PathBuf::from(CONF_DIR),
    };
    rt.block_on(async {
        let nl = Netlink::new().map_err(|e| Fail(format!("cannot open rtnetlink: {e}")))?;
        let cx = Cx {
            args,
            vips: &vips,
            labels: &labels,
            nl: &nl,
            sys: &sys,
            adopt: Adopt::default(),
        };
        // one writer of the state file at a time (`lvsd run`'s reconciler is another)
        let _lock = match args.action {
            Action::Up | Action::Down => Some(lock_state(&args.state_file)?),
            Action::Status => None,
        };
        match args.action {
            Action::Up => up(&cx).await,
            Action::Down => down(&cx).await,
            Action::Status => status(&cx).await,
        }
    })
}

/// Everything an action works with.
struct Cx<'a> {
    args: &'a RealserverArgs,
    vips: &'a [IpAddr],
    labels: &'a [Option<String>],
    nl: &'a Netlink,
    sys: &'a Sysctl,
    /// `lvsd run`'s role: VIPs already on the device that lvsd itself put there (the VRRP
    /// engine, as the VIP left the interface; or a crashed run, by their label) are recorded
    /// as added, so that leaving the role removes them.
    adopt: Adopt<'a>,
}

#[derive(Clone, Copy, Default)]
struct Adopt<'a> {
    vips: &'a [IpAddr],
    label: Option<&'a str>,
}

impl Adopt<'_> {
    fn ours(&self, a: &Addr) -> bool {
        self.vips.contains(&a.addr) || (self.label.is_some() && a.label.as_deref() == self.label)
    }
}

// ---------------------------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------------------------

/// `--vip`: one host address that can be a VIP.
fn parse_vip(s: &str) -> Result<IpAddr, String> {
    let (ip_s, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let ip: IpAddr = ip_s
        .parse()
        .map_err(|_| format!("`{ip_s}` is not an IPv4 or IPv6 address"))?;
    let host = host_len(&ip);
    if let Some(l) = len {
        if l.parse::<u8>().ok() != Some(host) {
            return Err(format!(
                "a VIP on a DR real server is a single address (/{host}), not /{l}"
            ));
        }
    }
    let bad = match ip {
        IpAddr::V4(a) if a.is_unspecified() => Some("the unspecified address"),
        IpAddr::V4(a) if a.is_loopback() => {
            Some("a loopback address (127.0.0.0/8 is local already)")
        }
        IpAddr::V4(a) if a.is_broadcast() => Some("the broadcast address"),
        IpAddr::V4(a) if a.is_multicast() => Some("a multicast address"),
        IpAddr::V6(a) if a.is_unspecified() => Some("the unspecified address"),
        IpAddr::V6(a) if a.is_loopback() => Some("the loopback address"),
        IpAddr::V6(a) if a.is_multicast() => Some("a multicast address"),
        IpAddr::V6(a) if a.segments()[0] & 0xffc0 == 0xfe80 => Some("a link-local address"),
        IpAddr::V6(a) if a.to_ipv4_mapped().is_some() => {
            Some("an IPv4-mapped IPv6 address (give the IPv4 address)")
        }
        _ => None,
    };
    match bad {
        Some(what) => Err(format!("{ip} is {what}, not a VIP")),
        None => Ok(ip),
    }
}

fn host_len(ip: &IpAddr) -> u8 {
    if ip.is_ipv4() {
        32
    } else {
        128
    }
}

/// The kernel's `dev_valid_name`.
fn check_ifname(opt: &str, name: &str) -> Result<(), Fail> {
    let ok = !name.is_empty()
        && name.len() <= NAME_MAX
        && name != "."
        && name != ".."
        && !name.contains(|c: char| c == '/' || c == ':' || c.is_whitespace());
    if ok {
        Ok(())
    } else {
        Err(Fail(format!(
            "{opt} {name:?} is not a valid interface name (1 to {NAME_MAX} characters, no `/`, `:` or spaces)"
        )))
    }
}

/// The label of each VIP (IPv6 ones have none). `base` (default `DEV:0`) must be `DEV` or
/// `DEV:...`; when it ends in `:N`, the n-th IPv4 VIP gets `:N+n`, otherwise all get `base`.
fn vip_labels(dev: &str, base: Option<&str>, vips: &[IpAddr]) -> Result<Vec<Option<String>>, Fail> {
    let base = base
        .map(str::to_string)
        .unwrap_or_else(|| format!("{dev}:0"));
    if base != dev && !base.starts_with(&format!("{dev}:")) {
        return Err(Fail(format!(
            "--label {base:?} must be {dev:?} or start with \"{dev}:\" (a label names an alias of the device)"
        )));
    }
    let numbered = base.rsplit_once(':').and_then(|(stem, n)| {
        let digits = !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit());
        match n.parse::<u32>() {
            Ok(n) if digits && base != dev => Some((stem.to_string(), n)),
            _ => None,
        }
    });
    let mut out = Vec::with_capacity(vips.len());
    let mut n = 0u32;
    for v in vips {
        if v.is_ipv6() {
            out.push(None);
            continue;
        }
        let label = match &numbered {
            Some((stem, start)) => format!("{stem}:{}", start + n),
            None => base.clone(),
        };
        n += 1;
        if label.len() > NAME_MAX {
            return Err(Fail(format!(
                "label {label:?} is longer than {NAME_MAX} characters (the kernel's limit)"
            )));
        }
        out.push(Some(label));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// sysctls
// ---------------------------------------------------------------------------------------------

/// `net.ipv4.conf.IF.NAME` under `root` (`/proc/sys/net/ipv4/conf`; a directory in unit tests).
struct Sysctl {
    root: PathBuf,
}

impl Sysctl {
    fn path(&self, iface: &str, name: &str) -> PathBuf {
        self.root.join(iface).join(name)
    }

    fn exists(&self, iface: &str, name: &str) -> bool {
        self.path(iface, name).exists()
    }

    fn read(&self, iface: &str, name: &str) -> Result<i64, Fail> {
        let p = self.path(iface, name);
        let s = std::fs::read_to_string(&p).map_err(|e| sys_fail(&p, "read", iface, &e))?;
        s.trim().parse().map_err(|_| {
            Fail(format!(
                "{}: unexpected content {:?}",
                p.display(),
                s.trim()
            ))
        })
    }

    fn write(&self, iface: &str, name: &str, value: i64) -> Result<(), Fail> {
        let p = self.path(iface, name);
        std::fs::write(&p, format!("{value}\n")).map_err(|e| sys_fail(&p, "write", iface, &e))
    }

    /// The interfaces with IPv4 settings (not `all` and `default`).
    fn interfaces(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.root)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter_map(|e| e.file_name().into_string().ok())
                    .filter(|n| n != "all" && n != "default")
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }
}

fn sys_fail(path: &Path, op: &str, iface: &str, e: &io::Error) -> Fail {
    let p = path.display();
    match e.kind() {
        io::ErrorKind::NotFound => Fail(format!(
            "no such device: {iface} has no IPv4 settings ({p} does not exist)"
        )),
        io::ErrorKind::PermissionDenied => Fail(format!(
            "cannot {op} {p}: permission denied (lvsd realserver must run as root)"
        )),
        _ if e.raw_os_error() == Some(nix::errno::Errno::EROFS as i32) => Fail(format!(
            "cannot {op} {p}: /proc/sys is read-only here (an unprivileged container?)"
        )),
        _ => Fail(format!("cannot {op} {p}: {e}")),
    }
}

/// `net.ipv4.conf.eth0/100.arp_ignore` for `eth0.100`, as sysctl(8) writes it.
fn key(iface: &str, name: &str) -> String {
    format!("net.ipv4.conf.{}.{name}", iface.replace('.', "/"))
}

/// Whether an (effective) value keeps the host from answering ARP for, and announcing, a VIP
/// on another device: arp_ignore 1 and 2 answer only for addresses of the incoming interface,
/// 8 never answers (3 still answers for global addresses, 4-7 and others answer like 0);
/// arp_announce 2 always uses the outgoing interface's address (other values act as 0 or 1).
fn dr_ok(name: &str, value: i64) -> bool {
    if name == ARP_IGNORE {
        matches!(value, 1 | 2 | 8)
    } else {
        value == 2
    }
}

/// What `up` sets: the seed's values.
fn dr_value(name: &str) -> i64 {
    if name == ARP_IGNORE {
        1
    } else {
        2
    }
}

/// `all`, the VIP device and the `--iface` interfaces, each once.
fn sysctl_targets(dev: &str, ifaces: &[String]) -> Vec<String> {
    let mut v = vec!["all".to_string()];
    for i in std::iter::once(dev).chain(ifaces.iter().map(String::as_str)) {
        if !v.iter().any(|x| x == i) {
            v.push(i.to_string());
        }
    }
    v
}

// ---------------------------------------------------------------------------------------------
// State file
// ---------------------------------------------------------------------------------------------

/// What `up` changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct State {
    sysctls: Vec<SysctlRec>,
    addresses: Vec<AddrRec>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct SysctlRec {
    iface: String,
    name: String,
    /// The value before the first `up` that changed it.
    previous: i64,
    /// What `up` wrote.
    set: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct AddrRec {
    dev: String,
    addr: IpAddr,
    prefix_len: u8,
    label: Option<String>,
}

impl State {
    /// Records a change; a sysctl changed before keeps its first `previous`.
    fn record_sysctl(&mut self, iface: &str, name: &str, previous: i64, set: i64) {
        match self
            .sysctls
            .iter_mut()
            .find(|r| r.iface == iface && r.name == name)
        {
            Some(r) => r.set = set,
            None => self.sysctls.push(SysctlRec {
                iface: iface.to_string(),
                name: name.to_string(),
                previous,
                set,
            }),
        }
    }

    fn has_addr(&self, addr: &IpAddr) -> bool {
        self.addresses.iter().any(|a| a.addr == *addr)
    }

    fn to_json(&self) -> Value {
        json!({
            "version": STATE_VERSION,
            "written_by": "lvsd realserver up",
            "sysctls": self.sysctls.iter().map(|r| json!({
                "key": key(&r.iface, &r.name),
                "interface": r.iface,
                "name": r.name,
                "previous": r.previous,
                "set": r.set,
            })).collect::<Vec<_>>(),
            "addresses": self.addresses.iter().map(|a| json!({
                "dev": a.dev,
                "address": a.addr.to_string(),
                "prefix_len": a.prefix_len,
                "label": a.label,
            })).collect::<Vec<_>>(),
        })
    }

    /// Parses and validates (the names end up in /proc/sys paths).
    fn from_json(v: &Value) -> Result<State, String> {
        if v["version"].as_u64() != Some(STATE_VERSION) {
            return Err(format!("unknown version {}", v["version"]));
        }
        let list = |k: &str| {
            v[k].as_array()
                .cloned()
                .ok_or_else(|| format!("`{k}` is not a list"))
        };
        let text = |e: &Value, k: &str| {
            e[k].as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("`{k}` missing in {e}"))
        };
        let int = |e: &Value, k: &str| e[k].as_i64().ok_or_else(|| format!("`{k}` missing in {e}"));
        let ifname = |e: &Value, k: &str| {
            let n = text(e, k)?;
            check_ifname(k, &n).map_err(|Fail(m)| m)?;
            Ok::<_, String>(n)
        };
        let mut st = State::default();
        for e in list("sysctls")? {
            let name = text(&e, "name")?;
            if !ARP_NAMES.contains(&name.as_str()) {
                return Err(format!("unexpected sysctl {name:?}"));
            }
            st.sysctls.push(SysctlRec {
                iface: if e["interface"] == "all" {
                    "all".to_string()
                } else {
                    ifname(&e, "interface")?
                },
                name,
                previous: int(&e, "previous")?,
                set: int(&e, "set")?,
            });
        }
        for e in list("addresses")? {
            let addr: IpAddr = text(&e, "address")?
                .parse()
                .map_err(|_| format!("bad address in {e}"))?;
            let prefix_len = e["prefix_len"]
                .as_u64()
                .and_then(|n| u8::try_from(n).ok())
                .filter(|n| *n <= host_len(&addr))
                .ok_or_else(|| format!("bad prefix_len in {e}"))?;
            st.addresses.push(AddrRec {
                dev: ifname(&e, "dev")?,
                addr,
                prefix_len,
                label: e["label"].as_str().map(str::to_string),
            });
        }
        Ok(st)
    }

    /// `None` when there is no state file.
    fn load(path: &Path) -> Result<Option<State>, Fail> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(Fail(format!(
                    "cannot read state file {}: {e}",
                    path.display()
                )))
            }
        };
        serde_json::from_str::<Value>(&text)
            .map_err(|e| e.to_string())
            .and_then(|v| State::from_json(&v))
            .map(Some)
            .map_err(|e| {
                Fail(format!(
                    "state file {} is not lvsd's: {e} (move it away to start afresh)",
                    path.display()
                ))
            })
    }

    /// Writes atomically (temporary file, rename), creating the directory.
    fn save(&self, path: &Path) -> Result<(), Fail> {
        ensure_dir(path)?;
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let body = serde_json::to_string_pretty(&self.to_json()).unwrap_or_default() + "\n";
        std::fs::write(&tmp, body)
            .and_then(|_| std::fs::rename(&tmp, path))
            .map_err(|e| Fail(format!("cannot write state file {}: {e}", path.display())))
    }
}

/// An exclusive lock on the state file (`PATH.lock`, flock), held while a caller reads,
/// changes and writes it: `lvsd run` and `lvsd realserver` may both change it.
fn lock_state(path: &Path) -> Result<std::fs::File, Fail> {
    use std::os::fd::AsRawFd;
    ensure_dir(path)?;
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&name)
        .map_err(|e| {
            Fail(format!(
                "cannot open the lock {}: {e}",
                Path::new(&name).display()
            ))
        })?;
    loop {
        // SAFETY: flock on a descriptor this function owns; no memory is involved.
        let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) };
        if r == 0 {
            return Ok(f);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(Fail(format!(
                "cannot lock {}: {e}",
                Path::new(&name).display()
            )));
        }
    }
}

fn ensure_dir(path: &Path) -> Result<(), Fail> {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => std::fs::create_dir_all(d).map_err(|e| {
            Fail(format!(
                "cannot create the state directory {}: {e}",
                d.display()
            ))
        }),
        _ => Ok(()),
    }
}

fn remove_state(path: &Path) -> Result<(), Fail> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Fail(format!(
            "cannot remove state file {}: {e}",
            path.display()
        ))),
    }
}

// ---------------------------------------------------------------------------------------------
// The host
// ---------------------------------------------------------------------------------------------

/// Links and addresses, as dumped.
struct Host {
    links: Vec<Link>,
    addrs: Vec<Addr>,
}

impl Host {
    async fn load(nl: &Netlink) -> Result<Host, Fail> {
        let links = nl.links().await.map_err(nl_fail)?;
        let addrs = nl.addresses().await.map_err(nl_fail)?;
        Ok(Host { links, addrs })
    }

    fn link(&self, name: &str) -> Option<&Link> {
        self.links.iter().find(|l| l.name == name)
    }

    fn need(&self, name: &str) -> Result<&Link, Fail> {
        self.link(name)
            .ok_or_else(|| Fail(format!("no such device: {name}")))
    }

    fn name_of(&self, index: u32) -> String {
        self.links
            .iter()
            .find(|l| l.index == index)
            .map(|l| l.name.clone())
            .unwrap_or_else(|| format!("#{index}"))
    }

    fn on(&self, index: u32, ip: &IpAddr) -> Option<&Addr> {
        self.addrs
            .iter()
            .find(|a| a.ifindex == index && a.addr == *ip)
    }

    /// Other interfaces that have `ip`.
    fn elsewhere(&self, index: u32, ip: &IpAddr) -> Vec<String> {
        self.addrs
            .iter()
            .filter(|a| a.ifindex != index && a.addr == *ip)
            .map(|a| self.name_of(a.ifindex))
            .collect()
    }
}

fn nl_fail(e: lvsd_netif::Error) -> Fail {
    let errno = e.errno();
    if errno == Some(nix::errno::Errno::EPERM as i32)
        || errno == Some(nix::errno::Errno::EACCES as i32)
    {
        Fail(format!(
            "{e}: lvsd realserver must run as root (CAP_NET_ADMIN)"
        ))
    } else if errno == Some(nix::errno::Errno::ENODEV as i32) {
        Fail(format!("no such device: {e}"))
    } else {
        Fail(e.to_string())
    }
}

// ---------------------------------------------------------------------------------------------
// Observation and judgement (status, and warnings after up)
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
struct ArpRow {
    iface: String,
    arp_ignore: i64,
    arp_announce: i64,
    /// max(all, iface): what the kernel uses.
    eff_ignore: i64,
    eff_announce: i64,
}

impl ArpRow {
    fn eff(&self, name: &str) -> i64 {
        if name == ARP_IGNORE {
            self.eff_ignore
        } else {
            self.eff_announce
        }
    }

    fn raw(&self, name: &str) -> i64 {
        if name == ARP_IGNORE {
            self.arp_ignore
        } else {
            self.arp_announce
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "interface": self.iface,
            "arp_ignore": self.arp_ignore,
            "arp_announce": self.arp_announce,
            "effective_arp_ignore": self.eff_ignore,
            "effective_arp_announce": self.eff_announce,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct VipObs {
    vip: IpAddr,
    /// Prefix length and label when the VIP is on the device.
    on_dev: Option<(u8, Option<String>)>,
    /// Other interfaces that have it.
    elsewhere: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Observed {
    dev: String,
    dev_up: bool,
    vips: Vec<VipObs>,
    /// Whether any VIP is IPv4 (only then ARP matters).
    arp_needed: bool,
    /// `all`, the device, the `--iface` interfaces.
    arp: Vec<ArpRow>,
    /// Other interfaces whose own value makes the effective one wrong.
    overrides: Vec<ArpRow>,
}

fn arp_row(sys: &Sysctl, iface: &str, all: Option<&ArpRow>) -> Result<ArpRow, Fail> {
    let ig = sys.read(iface, ARP_IGNORE)?;
    let an = sys.read(iface, ARP_ANNOUNCE)?;
    let (ai, aa) = all.map_or((ig, an), |a| (a.arp_ignore, a.arp_announce));
    Ok(ArpRow {
        iface: iface.to_string(),
        arp_ignore: ig,
        arp_announce: an,
        eff_ignore: ig.max(ai),
        eff_announce: an.max(aa),
    })
}

fn observe(host: &Host, cx: &Cx<'_>) -> Result<Observed, Fail> {
    let dev = host.need(&cx.args.dev)?;
    let vips = cx
        .vips
        .iter()
        .map(|v| VipObs {
            vip: *v,
            on_dev: host
                .on(dev.index, v)
                .map(|a| (a.prefix_len, a.label.clone())),
            elsewhere: host.elsewhere(dev.index, v),
        })
        .collect();
    let arp_needed = cx.vips.iter().any(IpAddr::is_ipv4);
    let targets = sysctl_targets(&cx.args.dev, &cx.args.ifaces);
    let all = arp_row(cx.sys, "all", None)?;
    let mut arp = vec![all.clone()];
    for t in targets.iter().skip(1) {
        arp.push(arp_row(cx.sys, t, Some(&all))?);
    }
    let mut overrides = Vec::new();
    if arp_needed {
        for i in cx.sys.interfaces() {
            if targets.contains(&i) {
                continue;
            }
            // An interface may vanish while we look.
            if let Ok(r) = arp_row(cx.sys, &i, Some(&all)) {
                let broken = ARP_NAMES
                    .iter()
                    .any(|n| dr_ok(n, all.raw(n)) && !dr_ok(n, r.eff(n)));
                if broken {
                    overrides.push(r);
                }
            }
        }
    }
    Ok(Observed {
        dev: cx.args.dev.clone(),
        dev_up: dev.up,
        vips,
        arp_needed,
        arp,
        overrides,
    })
}

/// What keeps the host from being a correctly configured DR real server (empty: it is one).
fn problems(o: &Observed) -> Vec<String> {
    let mut p = Vec::new();
    if !o.dev_up {
        p.push(format!("device {} is not up", o.dev));
    }
    for v in &o.vips {
        if v.on_dev.is_none() {
            p.push(format!("VIP {} is not on {}", v.vip, o.dev));
        }
        for e in &v.elsewhere {
            let what = if v.vip.is_ipv4() {
                "ARP"
            } else {
                "neighbour solicitations"
            };
            p.push(format!(
                "VIP {} is also on {e}: this host answers {what} for it there",
                v.vip
            ));
        }
    }
    if !o.arp_needed {
        return p;
    }
    for r in &o.arp {
        for n in ARP_NAMES {
            if dr_ok(n, r.eff(n)) {
                continue;
            }
            let want = if n == ARP_IGNORE { "1 (or 2, 8)" } else { "2" };
            if r.iface == "all" {
                p.push(format!(
                    "{} is {}, should be {want}",
                    key("all", n),
                    r.raw(n)
                ));
            } else {
                p.push(format!(
                    "{} is {} (effective {}, the larger of all's and {}'s), should be {want}",
                    key(&r.iface, n),
                    r.raw(n),
                    r.eff(n),
                    r.iface
                ));
            }
        }
    }
    for r in &o.overrides {
        for n in ARP_NAMES {
            if !dr_ok(n, r.eff(n)) {
                p.push(format!(
                    "{} is {}: it overrides all's value (the kernel uses the larger), so {} {}",
                    key(&r.iface, n),
                    r.raw(n),
                    r.iface,
                    if n == ARP_IGNORE {
                        "answers ARP for the VIPs"
                    } else {
                        "may announce a VIP as ARP source"
                    }
                ));
            }
        }
    }
    p
}

fn v6_note(vip: &IpAddr) -> String {
    format!(
        "{vip} is IPv6: no ARP sysctls needed (Linux answers neighbour solicitations only for \
         addresses of the interface they arrive on)"
    )
}

// ---------------------------------------------------------------------------------------------
// Output of up and down
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct Out {
    lines: Vec<String>,
    notes: Vec<String>,
    warnings: Vec<String>,
    sysctls: Vec<Value>,
    addresses: Vec<Value>,
    changed: bool,
}

impl Out {
    fn print(&self, action: Action, state_file: &Path, json: bool, extra: Value) {
        if json {
            let mut v = json!({
                "action": action.name(),
                "changed": self.changed,
                "sysctls": self.sysctls,
                "addresses": self.addresses,
                "notes": self.notes,
                "warnings": self.warnings,
                "state_file": state_file.display().to_string(),
            });
            if let (Some(m), Value::Object(e)) = (v.as_object_mut(), extra) {
                m.extend(e);
            }
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            return;
        }
        for l in &self.lines {
            println!("{l}");
        }
        for n in &self.notes {
            println!("note: {n}");
        }
        for w in &self.warnings {
            eprintln!("warning: {w}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// up
// ---------------------------------------------------------------------------------------------

async fn up(cx: &Cx<'_>) -> Result<u8, Fail> {
    let args = cx.args;
    let host = Host::load(cx.nl).await?;
    let dev = host.need(&args.dev)?.clone();
    for i in &args.ifaces {
        host.need(i)?;
    }
    let existing = State::load(&args.state_file)?;
    let had_state = existing.is_some();
    let mut state = existing.unwrap_or_default();
    let before = state.clone();
    // Fail before changing anything when the state cannot be recorded.
    ensure_dir(&args.state_file)?;

    let mut out = Out::default();
    let result = apply_up(cx, &host, &dev, &mut state, &mut out).await;
    if state != before || (!had_state && result.is_ok()) {
        if let Err(Fail(m)) = state.save(&args.state_file) {
            return Err(Fail(format!(
                "{m}; the changes made are not recorded, `down` cannot undo them"
            )));
        }
    }
    if let Err(Fail(m)) = result {
        let undo = if state != before {
            format!(
                " (the changes made so far are recorded in {}: `down` undoes them)",
                args.state_file.display()
            )
        } else {
            String::new()
        };
        return Err(Fail(format!("{m}{undo}")));
    }

    // What `up` cannot fix.
    let after = Host::load(cx.nl).await?;
    let obs = observe(&after, cx)?;
    out.warnings.extend(problems(&obs));
    let s = args.state_file.display();
    out.lines.push(if out.changed {
        format!("up: done; changes recorded in {s}")
    } else {
        format!("up: nothing to change, the host was already configured ({s} unchanged)")
    });
    out.print(Action::Up, &args.state_file, args.json, json!({}));
    Ok(0)
}

async fn apply_up(
    cx: &Cx<'_>,
    host: &Host,
    dev: &Link,
    state: &mut State,
    out: &mut Out,
) -> Result<(), Fail> {
    let args = cx.args;
    // Sysctls first: the VIPs must never be on while the host answers ARP for them.
    if cx.vips.iter().any(IpAddr::is_ipv4) {
        let targets = sysctl_targets(&args.dev, &args.ifaces);
        let mut current = Vec::new();
        for t in &targets {
            for n in ARP_NAMES {
                current.push((t, n, cx.sys.read(t, n)?));
            }
        }
        for (t, n, cur) in current {
            let k = key(t, n);
            if dr_ok(n, cur) {
                out.lines.push(format!("unchanged {k} = {cur}"));
                out.sysctls
                    .push(json!({"key": k, "value": cur, "changed": false}));
            } else {
                let v = dr_value(n);
                cx.sys.write(t, n, v)?;
                state.record_sysctl(t, n, cur, v);
                out.changed = true;
                out.lines.push(format!("set {k} = {v} (was {cur})"));
                out.sysctls
                    .push(json!({"key": k, "value": v, "previous": cur, "changed": true}));
            }
        }
    } else {
        out.notes
            .push("only IPv6 VIPs: no ARP sysctls needed, none changed".to_string());
    }

    for (vip, label) in cx.vips.iter().zip(cx.labels) {
        let len = host_len(vip);
        if vip.is_ipv6() {
            out.notes.push(v6_note(vip));
        }
        if let Some(a) = host.on(dev.index, vip) {
            if !state.has_addr(vip) && cx.adopt.ours(a) {
                state.addresses.push(AddrRec {
                    dev: args.dev.clone(),
                    addr: *vip,
                    prefix_len: a.prefix_len,
                    label: a.label.clone().filter(|_| vip.is_ipv4()),
                });
                out.changed = true;
                out.lines.push(format!(
                    "recorded {vip}/{} on {} (put there by lvsd)",
                    a.prefix_len, args.dev
                ));
                continue;
            }
            let why = if state.has_addr(vip) {
                "added by an earlier `up`"
            } else {
                "it was there before `up`; `down` keeps it"
            };
            out.lines.push(format!(
                "unchanged {vip}/{} on {} ({why})",
                a.prefix_len, args.dev
            ));
            out.addresses.push(json!({
                "address": vip.to_string(), "prefix_len": a.prefix_len,
                "label": a.label, "added": false,
            }));
            continue;
        }
        let mut spec = AddrSpec::new(dev.index, *vip, len);
        spec.label = label.clone();
        spec.nodad = vip.is_ipv6();
        let added = cx.nl.add_address(&spec).await.map_err(nl_fail)?;
        if added {
            if !state.has_addr(vip) {
                state.addresses.push(AddrRec {
                    dev: args.dev.clone(),
                    addr: *vip,
                    prefix_len: len,
                    label: label.clone(),
                });
            }
            out.changed = true;
            let l = label
                .as_ref()
                .map(|l| format!(" label {l}"))
                .unwrap_or_else(|| " nodad".to_string());
            out.lines
                .push(format!("added {vip}/{len} on {}{l}", args.dev));
        } else {
            out.lines.push(format!(
                "unchanged {vip}/{len} on {} (appeared meanwhile; not recorded)",
                args.dev
            ));
        }
        out.addresses.push(json!({
            "address": vip.to_string(), "prefix_len": len, "label": label, "added": added,
        }));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The real-server role of `lvsd run` (issue 8)
// ---------------------------------------------------------------------------------------------

/// The arguments `lvsd realserver ACTION --vip VIP --dev lo ...` would have.
fn role_args(
    action: Action,
    vip: IpAddr,
    label: Option<&str>,
    iface: Option<&str>,
    state_file: &Path,
) -> RealserverArgs {
    RealserverArgs {
        action,
        vips: vec![vip],
        dev: "lo".to_string(),
        label: label.map(str::to_string),
        ifaces: iface.into_iter().map(str::to_string).collect(),
        state_file: state_file.to_path_buf(),
        json: false,
    }
}

/// A colocated node's real-server role for one VIP, done exactly as `up` does it (sysctls
/// first, then the VIP on `lo` with `label`) and recorded in the same state file, so that
/// `lvsd realserver down` (or a later `role_down`) restores the host. A VIP already on `lo`
/// that lvsd did not add (a user's own, as in seed 002) is left alone and not recorded.
/// Returns what changed.
pub async fn role_up(
    nl: &Netlink,
    vip: IpAddr,
    label: &str,
    iface: Option<&str>,
    adopt: bool,
    state_file: &Path,
) -> Result<Vec<String>, String> {
    let args = role_args(Action::Up, vip, Some(label), iface, state_file);
    let vips = [vip];
    let labels = vip_labels("lo", Some(label), &vips).map_err(|Fail(m)| m)?;
    let sys = Sysctl {
        root: PathBuf::from(CONF_DIR),
    };
    let adopted = if adopt { &vips[..] } else { &[][..] };
    let cx = Cx {
        args: &args,
        vips: &vips,
        labels: &labels,
        nl,
        sys: &sys,
        adopt: Adopt {
            vips: adopted,
            label: Some(label),
        },
    };
    let inner = async {
        ensure_dir(state_file)?;
        let _lock = lock_state(state_file)?;
        let host = Host::load(nl).await?;
        let dev = host.need("lo")?.clone();
        let mut state = State::load(state_file)?.unwrap_or_default();
        let before = state.clone();
        ensure_dir(state_file)?;
        let mut out = Out::default();
        let result = apply_up(&cx, &host, &dev, &mut state, &mut out).await;
        if state != before {
            state.save(state_file)?;
        }
        result?;
        Ok::<_, Fail>(if out.changed { out.lines } else { Vec::new() })
    };
    inner.await.map_err(|Fail(m)| m)
}

/// Leaves the real-server role for one VIP: removes it from `lo` if lvsd recorded adding it,
/// and restores the recorded sysctls once no recorded VIP is left (as `down`). Returns what
/// changed.
pub async fn role_down(
    nl: &Netlink,
    vip: IpAddr,
    state_file: &Path,
) -> Result<Vec<String>, String> {
    let inner = async {
        let _lock = lock_state(state_file)?;
        let Some(state) = State::load(state_file)? else {
            return Ok(Vec::new());
        };
        if !state.has_addr(&vip) {
            return Ok(Vec::new());
        }
        let args = role_args(Action::Down, vip, None, None, state_file);
        let vips = [vip];
        let labels = [None];
        let sys = Sysctl {
            root: PathBuf::from(CONF_DIR),
        };
        let cx = Cx {
            args: &args,
            vips: &vips,
            labels: &labels,
            nl,
            sys: &sys,
            adopt: Adopt::default(),
        };
        let host = Host::load(nl).await?;
        let mut out = Out::default();
        down_recorded(&cx, &host, state, &mut out).await?;
        Ok::<_, Fail>(if out.changed { out.lines } else { Vec::new() })
    };
    inner.await.map_err(|Fail(m)| m)
}

// ---------------------------------------------------------------------------------------------
// down
// ---------------------------------------------------------------------------------------------

async fn down(cx: &Cx<'_>) -> Result<u8, Fail> {
    let args = cx.args;
    let host = Host::load(cx.nl).await?;
    let mut out = Out::default();
    let restored = match State::load(&args.state_file)? {
        None => {
            down_unrecorded(cx, &host, &mut out).await?;
            false
        }
        Some(state) => down_recorded(cx, &host, state, &mut out).await?,
    };
    out.lines.push(if out.changed {
        "down: done".to_string()
    } else {
        "down: nothing to change".to_string()
    });
    out.print(
        Action::Down,
        &args.state_file,
        args.json,
        json!({ "sysctls_restored": restored }),
    );
    Ok(0)
}

/// No state file: remove the given VIPs, leave the sysctls.
async fn down_unrecorded(cx: &Cx<'_>, host: &Host, out: &mut Out) -> Result<(), Fail> {
    let args = cx.args;
    if cx.vips.is_empty() {
        return Err(Fail(format!(
            "no state file {} (was `up` run with this --state-file?) and no --vip: nothing to do",
            args.state_file.display()
        )));
    }
    let dev = host.need(&args.dev)?;
    for vip in cx.vips {
        match host.on(dev.index, vip) {
            Some(a) => {
                let gone = cx
                    .nl
                    .del_address(dev.index, *vip, a.prefix_len)
                    .await
                    .map_err(nl_fail)?;
                out.changed |= gone;
                out.lines
                    .push(format!("removed {vip}/{} from {}", a.prefix_len, args.dev));
                out.addresses.push(json!({
                    "address": vip.to_string(), "prefix_len": a.prefix_len, "removed": gone,
                }));
            }
            None => {
                out.lines
                    .push(format!("unchanged {vip}: not on {}", args.dev));
                out.addresses
                    .push(json!({"address": vip.to_string(), "removed": false}));
            }
        }
    }
    out.notes.push(format!(
        "no state file {}: cannot restore the ARP sysctls (arp_ignore, arp_announce), their \
         previous values were not recorded; they are left as they are",
        args.state_file.display()
    ));
    Ok(())
}

/// Undo what the state file records. Returns whether the sysctls were restored.
async fn down_recorded(
    cx: &Cx<'_>,
    host: &Host,
    mut state: State,
    out: &mut Out,
) -> Result<bool, Fail> {
    let args = cx.args;
    let path = &args.state_file;
    let before = state.clone();
    let wanted = |a: &AddrRec| cx.vips.is_empty() || cx.vips.contains(&a.addr);
    let chosen: Vec<AddrRec> = state
        .addresses
        .iter()
        .filter(|a| wanted(a))
        .cloned()
        .collect();
    for a in chosen {
        let gone = match host.link(&a.dev) {
            None => {
                out.notes
                    .push(format!("{} is gone, and {} with it", a.dev, a.addr));
                false
            }
            Some(l) => match cx.nl.del_address(l.index, a.addr, a.prefix_len).await {
                Ok(g) => g,
                Err(e) => {
                    if state != before {
                        state.save(path)?;
                    }
                    return Err(nl_fail(e));
                }
            },
        };
        state.addresses.retain(|x| x != &a);
        out.changed |= gone;
        out.lines.push(if gone {
            format!("removed {}/{} from {}", a.addr, a.prefix_len, a.dev)
        } else {
            format!(
                "unchanged {}/{}: already gone from {}",
                a.addr, a.prefix_len, a.dev
            )
        });
        out.addresses.push(json!({
            "address": a.addr.to_string(), "prefix_len": a.prefix_len, "removed": gone,
        }));
    }
    // Given VIPs that `up` did not add: kept.
    let dev = host.link(&args.dev);
    for vip in cx.vips {
        if before.has_addr(vip) {
            continue;
        }
        let on = dev.and_then(|d| host.on(d.index, vip));
        out.lines.push(match on {
            Some(a) => format!(
                "kept {vip}/{} on {}: it was there before `up`",
                a.prefix_len, args.dev
            ),
            None => format!("unchanged {vip}: not on {}", args.dev),
        });
        out.addresses
            .push(json!({"address": vip.to_string(), "removed": false, "kept": on.is_some()}));
    }

    if !state.addresses.is_empty() {
        let rest: Vec<String> = state.addresses.iter().map(|a| a.addr.to_string()).collect();
        out.notes.push(format!(
            "ARP sysctls left set: VIPs added by `up` are still on ({}); `down` without --vip \
             removes them all",
            rest.join(", ")
        ));
        state.save(path)?;
        return Ok(false);
    }
    if state != before {
        state.save(path)?;
    }
    // The VIPs are off: put back the previous values.
    for r in &state.sysctls {
        let k = key(&r.iface, &r.name);
        if r.iface != "all" && !cx.sys.exists(&r.iface, &r.name) {
            out.notes
                .push(format!("{k}: {} is gone, nothing to restore", r.iface));
            continue;
        }
        let cur = cx.sys.read(&r.iface, &r.name)?;
        if cur == r.set && cur != r.previous {
            cx.sys.write(&r.iface, &r.name, r.previous)?;
            out.changed = true;
            out.lines
                .push(format!("restored {k} = {} (was {cur})", r.previous));
            out.sysctls
                .push(json!({"key": k, "value": r.previous, "previous": cur, "changed": true}));
        } else if cur == r.previous {
            out.lines.push(format!("unchanged {k} = {cur}"));
            out.sysctls
                .push(json!({"key": k, "value": cur, "changed": false}));
        } else {
            out.warnings.push(format!(
                "{k} is {cur}, not the {} that `up` set: changed by someone else since, left as \
                 is (it was {} before `up`)",
                r.set, r.previous
            ));
            out.sysctls
                .push(json!({"key": k, "value": cur, "changed": false}));
        }
    }
    remove_state(path)?;
    Ok(true)
}

// ---------------------------------------------------------------------------------------------
// status
// ---------------------------------------------------------------------------------------------

async fn status(cx: &Cx<'_>) -> Result<u8, Fail> {
    let args = cx.args;
    let host = Host::load(cx.nl).await?;
    for i in &args.ifaces {
        host.need(i)?;
    }
    let obs = observe(&host, cx)?;
    let probs = problems(&obs);
    let ok = probs.is_empty();
    let state = State::load(&args.state_file);
    let state_summary = match &state {
        Ok(Some(s)) => format!(
            "{}: `up` added {} address(es), changed {} sysctl(s)",
            args.state_file.display(),
            s.addresses.len(),
            s.sysctls.len()
        ),
        Ok(None) => format!("{}: none (no `up` recorded)", args.state_file.display()),
        Err(Fail(m)) => m.clone(),
    };
    let notes: Vec<String> = cx
        .vips
        .iter()
        .filter(|v| v.is_ipv6())
        .map(v6_note)
        .collect();

    if args.json {
        let v = json!({
            "dev": obs.dev,
            "dev_up": obs.dev_up,
            "vips": obs.vips.iter().map(|v| json!({
                "vip": v.vip.to_string(),
                "family": if v.vip.is_ipv4() { "ipv4" } else { "ipv6" },
                "on_dev": v.on_dev.is_some(),
                "prefix_len": v.on_dev.as_ref().map(|o| o.0),
                "label": v.on_dev.as_ref().and_then(|o| o.1.clone()),
                "also_on": v.elsewhere,
            })).collect::<Vec<_>>(),
            "arp_needed": obs.arp_needed,
            "arp": obs.arp.iter().map(ArpRow::to_json).collect::<Vec<_>>(),
            "arp_overrides": obs.overrides.iter().map(ArpRow::to_json).collect::<Vec<_>>(),
            "state": match &state {
                Ok(Some(s)) => s.to_json(),
                _ => Value::Null,
            },
            "state_file": args.state_file.display().to_string(),
            "configured": ok,
            "problems": probs,
            "notes": notes,
        });
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return Ok(if ok { 0 } else { 1 });
    }

    println!(
        "device {}: {}",
        obs.dev,
        if obs.dev_up { "up" } else { "DOWN" }
    );
    for v in &obs.vips {
        let where_ = match &v.on_dev {
            Some((len, label)) => format!(
                "on {} ({}/{len}{})",
                obs.dev,
                v.vip,
                label
                    .as_ref()
                    .filter(|l| **l != obs.dev)
                    .map(|l| format!(", label {l}"))
                    .unwrap_or_default()
            ),
            None => format!("NOT on {}", obs.dev),
        };
        let also = if v.elsewhere.is_empty() {
            String::new()
        } else {
            format!("; also on {}", v.elsewhere.join(", "))
        };
        println!("  VIP {}: {where_}{also}", v.vip);
    }
    if obs.arp_needed {
        println!("ARP sysctls (the kernel uses the larger of all's and the interface's value):");
        for r in &obs.arp {
            let eff = if r.iface != "all"
                && (r.eff_ignore != r.arp_ignore || r.eff_announce != r.arp_announce)
            {
                format!(" (effective {}/{})", r.eff_ignore, r.eff_announce)
            } else {
                String::new()
            };
            println!(
                "  {:<16} arp_ignore={} arp_announce={}{eff}",
                r.iface, r.arp_ignore, r.arp_announce
            );
        }
    } else {
        println!("ARP sysctls: not needed (IPv6 VIPs only)");
    }
    for n in &notes {
        println!("note: {n}");
    }
    println!("state file {state_summary}");
    if ok {
        println!("DR real server: correctly configured");
    } else {
        println!("DR real server: NOT correctly configured");
        for p in &probs {
            println!("  - {p}");
        }
    }
    Ok(if ok { 0 } else { 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn vip_parsing() {
        assert_eq!(parse_vip("10.0.0.1"), Ok(ip("10.0.0.1")));
        assert_eq!(parse_vip("10.0.0.1/32"), Ok(ip("10.0.0.1")));
        assert_eq!(parse_vip("2001:db8::1/128"), Ok(ip("2001:db8::1")));
        assert!(parse_vip("10.0.0.300").unwrap_err().contains("not an IPv4"));
        assert!(parse_vip("10.0.0.1/24").unwrap_err().contains("/32"));
        assert!(parse_vip("127.0.0.2").unwrap_err().contains("loopback"));
        assert!(parse_vip("0.0.0.0").is_err());
        assert!(parse_vip("224.0.0.18").is_err());
        assert!(parse_vip("fe80::1").unwrap_err().contains("link-local"));
        assert!(parse_vip("::ffff:10.0.0.1").is_err());
    }

    #[test]
    fn labels_count_up_for_ipv4_only() {
        let vips = [ip("10.0.0.1"), ip("2001:db8::1"), ip("10.0.0.2")];
        let l = vip_labels("lo", None, &vips).unwrap();
        assert_eq!(l, [Some("lo:0".into()), None, Some("lo:1".into())]);
        let l = vip_labels("lo", Some("lo:7"), &vips).unwrap();
        assert_eq!(l, [Some("lo:7".into()), None, Some("lo:8".into())]);
        let l = vip_labels("lo", Some("lo:vip"), &vips).unwrap();
        assert_eq!(l, [Some("lo:vip".into()), None, Some("lo:vip".into())]);
        let l = vip_labels("lo", Some("lo"), &vips).unwrap();
        assert_eq!(l, [Some("lo".into()), None, Some("lo".into())]);
        assert!(vip_labels("lo", Some("eth0:0"), &vips).is_err());
        assert!(vip_labels("lo", Some("lo:0123456789abcd"), &vips).is_err());
        assert!(check_ifname("--iface", "../x").is_err());
        assert!(check_ifname("--iface", "eth0.100").is_ok());
    }

    #[test]
    fn sysctl_values() {
        for v in [1, 2, 8] {
            assert!(dr_ok(ARP_IGNORE, v));
        }
        for v in [0, 3, 4, 7, 9] {
            assert!(!dr_ok(ARP_IGNORE, v));
        }
        assert!(dr_ok(ARP_ANNOUNCE, 2));
        assert!(!dr_ok(ARP_ANNOUNCE, 1) && !dr_ok(ARP_ANNOUNCE, 3));
        assert_eq!(
            key("eth0.100", ARP_IGNORE),
            "net.ipv4.conf.eth0/100.arp_ignore"
        );
        assert_eq!(
            sysctl_targets("lo", &["eth0".into(), "lo".into()]),
            ["all", "lo", "eth0"]
        );
    }

    #[test]
    fn state_keeps_first_previous_and_round_trips() {
        let mut s = State::default();
        s.record_sysctl("all", ARP_ANNOUNCE, 1, 2);
        s.record_sysctl("all", ARP_ANNOUNCE, 0, 2);
        assert_eq!(s.sysctls.len(), 1);
        assert_eq!(s.sysctls[0].previous, 1);
        s.addresses.push(AddrRec {
            dev: "lo".into(),
            addr: ip("10.0.0.1"),
            prefix_len: 32,
            label: Some("lo:0".into()),
        });
        s.addresses.push(AddrRec {
            dev: "lo".into(),
            addr: ip("2001:db8::1"),
            prefix_len: 128,
            label: None,
        });
        assert_eq!(State::from_json(&s.to_json()), Ok(s.clone()));
        let mut bad = s.to_json();
        bad["sysctls"][0]["interface"] = json!("../../../kernel");
        assert!(State::from_json(&bad).is_err());
        let mut bad = s.to_json();
        bad["sysctls"][0]["name"] = json!("forwarding");
        assert!(State::from_json(&bad).is_err());
    }

    fn row(iface: &str, ig: i64, an: i64, all: (i64, i64)) -> ArpRow {
        ArpRow {
            iface: iface.into(),
            arp_ignore: ig,
            arp_announce: an,
            eff_ignore: ig.max(all.0),
            eff_announce: an.max(all.1),
        }
    }

    #[test]
    fn judgement() {
        let mut o = Observed {
            dev: "lo".into(),
            dev_up: true,
            vips: vec![VipObs {
                vip: ip("10.0.0.1"),
                on_dev: Some((32, Some("lo:0".into()))),
                elsewhere: vec![],
            }],
            arp_needed: true,
            arp: vec![row("all", 1, 2, (1, 2)), row("lo", 0, 0, (1, 2))],
            overrides: vec![],
        };
        // lo's own values do not matter when all's are right: the kernel uses the larger.
        assert_eq!(problems(&o), Vec::<String>::new());
        o.arp[0] = row("all", 0, 2, (0, 2));
        o.arp[1] = row("lo", 1, 2, (0, 2));
        let p = problems(&o);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("net.ipv4.conf.all.arp_ignore is 0"));
        o.arp[0] = row("all", 1, 2, (1, 2));
        o.overrides = vec![row("eth1", 4, 0, (1, 2))];
        o.vips[0].elsewhere = vec!["eth0".into()];
        o.vips.push(VipObs {
            vip: ip("10.0.0.2"),
            on_dev: None,
            elsewhere: vec![],
        });
        let p = problems(&o);
        assert_eq!(p.len(), 3, "{p:?}");
        // IPv6 only: no ARP judgement.
        o.arp_needed = false;
        o.overrides.clear();
        o.vips = vec![VipObs {
            vip: ip("2001:db8::1"),
            on_dev: Some((128, None)),
            elsewhere: vec![],
        }];
        o.arp[0] = row("all", 0, 0, (0, 0));
        assert!(problems(&o).is_empty());
    }

    #[test]
    fn sysctl_files() {
        let dir = std::env::temp_dir().join(format!("lvsd-rs-unit-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("all")).unwrap();
        std::fs::write(dir.join("all/arp_ignore"), "0\n").unwrap();
        let sys = Sysctl { root: dir.clone() };
        assert_eq!(sys.read("all", ARP_IGNORE).unwrap(), 0);
        sys.write("all", ARP_IGNORE, 1).unwrap();
        assert_eq!(sys.read("all", ARP_IGNORE).unwrap(), 1);
        let Fail(m) = sys.read("eth9", ARP_IGNORE).unwrap_err();
        assert!(m.starts_with("no such device: eth9"), "{m}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
