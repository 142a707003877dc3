//! The ARP sysctls under /proc/sys/net/ipv4/conf.

use super::*;

// ---------------------------------------------------------------------------------------------
// sysctls
// ---------------------------------------------------------------------------------------------

/// `net.ipv4.conf.IF.NAME` under `root` (`/proc/sys/net/ipv4/conf`; a directory in unit tests).
pub(super) struct Sysctl {
    pub(super) root: PathBuf,
}

impl Sysctl {
    pub(super) fn path(&self, iface: &str, name: &str) -> PathBuf {
        self.root.join(iface).join(name)
    }

    pub(super) fn exists(&self, iface: &str, name: &str) -> bool {
        self.path(iface, name).exists()
    }

    pub(super) fn read(&self, iface: &str, name: &str) -> Result<i64, Fail> {
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

    pub(super) fn write(&self, iface: &str, name: &str, value: i64) -> Result<(), Fail> {
        let p = self.path(iface, name);
        std::fs::write(&p, format!("{value}\n")).map_err(|e| sys_fail(&p, "write", iface, &e))
    }

    /// The interfaces with IPv4 settings (not `all` and `default`).
    pub(super) fn interfaces(&self) -> Vec<String> {
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

pub(super) fn sys_fail(path: &Path, op: &str, iface: &str, e: &io::Error) -> Fail {
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
pub(super) fn key(iface: &str, name: &str) -> String {
    format!("net.ipv4.conf.{}.{name}", iface.replace('.', "/"))
}

/// Whether an (effective) value keeps the host from answering ARP for, and announcing, a VIP
/// on another device: arp_ignore 1 and 2 answer only for addresses of the incoming interface,
/// 8 never answers (3 still answers for global addresses, 4-7 and others answer like 0);
/// arp_announce 2 always uses the outgoing interface's address (other values act as 0 or 1).
pub(super) fn dr_ok(name: &str, value: i64) -> bool {
    if name == ARP_IGNORE {
        matches!(value, 1 | 2 | 8)
    } else {
        value == 2
    }
}

/// What `up` sets: the seed's values.
pub(super) fn dr_value(name: &str) -> i64 {
    if name == ARP_IGNORE {
        1
    } else {
        2
    }
}

/// `all`, the VIP device and the `--iface` interfaces, each once.
pub(super) fn sysctl_targets(dev: &str, ifaces: &[String]) -> Vec<String> {
    let mut v = vec!["all".to_string()];
    for i in std::iter::once(dev).chain(ifaces.iter().map(String::as_str)) {
        if !v.iter().any(|x| x == i) {
            v.push(i.to_string());
        }
    }
    v
}
