//! The state file: what `up` (or `lvsd run`'s real-server role) changed, so that `down`
//! restores exactly that.

use super::*;

// ---------------------------------------------------------------------------------------------
// State file
// ---------------------------------------------------------------------------------------------

/// The file as written (version 1): typed with serde, validated into a [`State`].
#[derive(serde::Serialize, serde::Deserialize)]
struct StateFile {
    version: u64,
    #[serde(default)]
    written_by: String,
    sysctls: Vec<SysctlWire>,
    addresses: Vec<AddrWire>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct SysctlWire {
    /// `conf/IF/NAME`, for people reading the file.
    #[serde(default)]
    key: String,
    interface: String,
    name: String,
    previous: i64,
    set: i64,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct AddrWire {
    dev: String,
    address: IpAddr,
    prefix_len: u8,
    label: Option<String>,
}

/// What `up` changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct State {
    pub(super) sysctls: Vec<SysctlRec>,
    pub(super) addresses: Vec<AddrRec>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SysctlRec {
    pub(super) iface: String,
    pub(super) name: String,
    /// The value before the first `up` that changed it.
    pub(super) previous: i64,
    /// What `up` wrote.
    pub(super) set: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct AddrRec {
    pub(super) dev: String,
    pub(super) addr: IpAddr,
    pub(super) prefix_len: u8,
    pub(super) label: Option<String>,
}

impl State {
    /// Records a change; a sysctl changed before keeps its first `previous`.
    pub(super) fn record_sysctl(&mut self, iface: &str, name: &str, previous: i64, set: i64) {
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

    pub(super) fn has_addr(&self, addr: &IpAddr) -> bool {
        self.addresses.iter().any(|a| a.addr == *addr)
    }

    pub(super) fn to_json(&self) -> Value {
        let file = StateFile {
            version: STATE_VERSION,
            written_by: "lvsd realserver up".into(),
            sysctls: self
                .sysctls
                .iter()
                .map(|r| SysctlWire {
                    key: key(&r.iface, &r.name),
                    interface: r.iface.clone(),
                    name: r.name.clone(),
                    previous: r.previous,
                    set: r.set,
                })
                .collect(),
            addresses: self
                .addresses
                .iter()
                .map(|a| AddrWire {
                    dev: a.dev.clone(),
                    address: a.addr,
                    prefix_len: a.prefix_len,
                    label: a.label.clone(),
                })
                .collect(),
        };
        serde_json::to_value(file).unwrap_or(Value::Null)
    }

    /// Parses (typed) and validates: the names end up in /proc/sys paths.
    pub(super) fn from_json(v: &Value) -> Result<State, String> {
        if v.get("version").and_then(Value::as_u64) != Some(STATE_VERSION) {
            return Err(format!("unknown version {}", v["version"]));
        }
        let file: StateFile = serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
        let ifname = |k: &str, n: String| {
            check_ifname(k, &n).map_err(|Fail(m)| m)?;
            Ok::<_, String>(n)
        };
        let mut st = State::default();
        for e in file.sysctls {
            if !ARP_NAMES.contains(&e.name.as_str()) {
                return Err(format!("unexpected sysctl {:?}", e.name));
            }
            st.sysctls.push(SysctlRec {
                iface: if e.interface == "all" {
                    e.interface
                } else {
                    ifname("interface", e.interface)?
                },
                name: e.name,
                previous: e.previous,
                set: e.set,
            });
        }
        for e in file.addresses {
            if e.prefix_len > host_len(&e.address) {
                return Err(format!("bad prefix_len {} for {}", e.prefix_len, e.address));
            }
            st.addresses.push(AddrRec {
                dev: ifname("dev", e.dev)?,
                addr: e.address,
                prefix_len: e.prefix_len,
                label: e.label,
            });
        }
        Ok(st)
    }

    /// `None` when there is no state file.
    pub(super) fn load(path: &Path) -> Result<Option<State>, Fail> {
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
    pub(super) fn save(&self, path: &Path) -> Result<(), Fail> {
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
pub(super) fn lock_state(path: &Path) -> Result<std::fs::File, Fail> {
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

pub(super) fn ensure_dir(path: &Path) -> Result<(), Fail> {
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

pub(super) fn remove_state(path: &Path) -> Result<(), Fail> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Fail(format!(
            "cannot remove state file {}: {e}",
            path.display()
        ))),
    }
}
