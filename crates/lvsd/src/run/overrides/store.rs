//! The operators' overrides on disk (`STATE_DIR/overrides.json`): operator intent, kept
//! across reloads and restarts. Written whole to a temporary file, synced, then renamed: a
//! crash leaves the old file or the new one, never half of one.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The file's format version; a newer one is refused (not guessed at).
pub const FORMAT: u32 = 1;

/// What an operator holds a real server in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RsHold {
    /// Weight 0 until its active connections end (or the deadline), then out.
    Draining,
    /// Drained: out of the table.
    Drained,
    /// Out of the table at once.
    Disabled,
}

impl RsHold {
    pub fn admin(self) -> lvsd_ipvs::desired::Admin {
        match self {
            RsHold::Draining => lvsd_ipvs::desired::Admin::Drain,
            RsHold::Drained | RsHold::Disabled => lvsd_ipvs::desired::Admin::Out,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            RsHold::Draining => "draining",
            RsHold::Drained => "drained",
            RsHold::Disabled => "disabled",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RsOverride {
    /// The virtual server's kept name (`target::vs_id`).
    pub virtual_server: String,
    /// The real server's kept name (`target::rs_id`).
    pub real_server: String,
    pub state: RsHold,
    /// Unix time of the request.
    pub since: f64,
    /// Who asked (the control socket's peer credentials).
    pub by: String,
    /// A drain's last moment (Unix time); None: until its connections end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VrrpOverride {
    pub instance: String,
    /// Unix time of the demote.
    pub since: f64,
    pub by: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Store {
    #[serde(default)]
    pub real_servers: Vec<RsOverride>,
    /// Demoted instances.
    #[serde(default)]
    pub demoted: Vec<VrrpOverride>,
}

#[derive(Serialize, Deserialize)]
struct File {
    version: u32,
    #[serde(flatten)]
    store: Store,
}

pub fn now_unix() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl Store {
    pub fn rs(&self, vs: &str, rs: &str) -> Option<&RsOverride> {
        self.real_servers
            .iter()
            .find(|o| o.virtual_server == vs && o.real_server == rs)
    }

    /// Sets (Some) or lifts (None) a real server's hold; returns the one it replaced.
    pub fn set_rs(&mut self, vs: &str, rs: &str, new: Option<RsOverride>) -> Option<RsOverride> {
        let old = self
            .real_servers
            .iter()
            .position(|o| o.virtual_server == vs && o.real_server == rs)
            .map(|i| self.real_servers.remove(i));
        if let Some(n) = new {
            self.real_servers.push(n);
        }
        old
    }

    pub fn demoted(&self, instance: &str) -> Option<&VrrpOverride> {
        self.demoted.iter().find(|d| d.instance == instance)
    }

    pub fn set_demoted(&mut self, instance: &str, new: Option<VrrpOverride>) -> bool {
        let had = self.demoted.iter().any(|d| d.instance == instance);
        self.demoted.retain(|d| d.instance != instance);
        if let Some(n) = new {
            self.demoted.push(n);
        }
        had
    }
}

/// Where the overrides live.
pub fn path(state_dir: &Path) -> PathBuf {
    state_dir.join("overrides.json")
}

/// Reads the file; a missing one is no override. A file that cannot be read is an error
/// naming the file and the place (the daemon says so and moves it aside: see `load_or_aside`).
pub fn load(path: &Path) -> Result<Store, String> {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Store::default()),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let f: File = serde_json::from_slice(&text)
        .map_err(|e| format!("{}:{}:{}: {e}", path.display(), e.line(), e.column()))?;
    if f.version != FORMAT {
        return Err(format!(
            "{}: format version {} (this lvsd reads {FORMAT})",
            path.display(),
            f.version
        ));
    }
    Ok(f.store)
}

/// Writes the file whole (temporary file, fsync, rename, fsync of the directory).
pub fn save(path: &Path, store: &Store) -> Result<(), String> {
    use std::io::Write as _;
    let err = |e: std::io::Error| format!("{}: {e}", path.display());
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let tmp = path.with_extension("json.tmp");
    let body = serde_json::to_vec_pretty(&File {
        version: FORMAT,
        store: store.clone(),
    })
    .map_err(|e| e.to_string())?;
    {
        let mut f = std::fs::File::create(&tmp).map_err(err)?;
        f.write_all(&body).map_err(err)?;
        f.write_all(b"\n").map_err(err)?;
        f.sync_all().map_err(err)?;
    }
    std::fs::rename(&tmp, path).map_err(err)?;
    if let Some(dir) = path.parent() {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// At start: the file's overrides; one that cannot be read is logged with its place, moved
/// aside (`overrides.json.bad`) and lvsd starts without overrides (refusing to start would
/// take every VIP down over a file only the operator's commands write).
pub fn load_or_aside(path: &Path) -> Store {
    match load(path) {
        Ok(s) => s,
        Err(e) => {
            let aside = path.with_extension("json.bad");
            let moved = std::fs::rename(path, &aside).is_ok();
            tracing::error!(
                "operator overrides not read: {e}; starting without them{}",
                if moved {
                    format!(" (the file is kept as {})", aside.display())
                } else {
                    String::new()
                }
            );
            Store::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Whatever the file holds, reading it is a store or an error naming the file.
        #[test]
        fn any_file_is_a_store_or_an_error(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            let p = std::env::temp_dir().join(format!("lvsd-store-prop-{}.json", std::process::id()));
            std::fs::write(&p, &bytes).unwrap();
            if let Err(e) = load(&p) {
                proptest::prop_assert!(e.contains("lvsd-store-prop"), "{}", e);
            }
            let _ = std::fs::remove_file(&p);
        }
    }

    #[test]
    fn a_store_round_trips_and_a_bad_file_is_an_error_with_its_place() {
        let dir = std::env::temp_dir().join(format!("lvsd-store-{}", std::process::id()));
        let p = path(&dir);
        assert_eq!(load(&p), Ok(Store::default()));
        let mut s = Store::default();
        s.set_rs(
            "10.0.0.100:80/tcp",
            "192.168.1.10:80",
            Some(RsOverride {
                virtual_server: "10.0.0.100:80/tcp".into(),
                real_server: "192.168.1.10:80".into(),
                state: RsHold::Draining,
                since: 5.0,
                by: "uid 0".into(),
                deadline: Some(65.0),
            }),
        );
        s.set_demoted(
            "VI_1",
            Some(VrrpOverride {
                instance: "VI_1".into(),
                since: 6.0,
                by: "uid 0".into(),
            }),
        );
        save(&p, &s).unwrap();
        assert_eq!(load(&p), Ok(s.clone()));
        assert!(s.set_demoted("VI_1", None));
        assert!(s
            .set_rs("10.0.0.100:80/tcp", "192.168.1.10:80", None)
            .is_some());
        assert_eq!(s, Store::default());
        std::fs::write(&p, b"{\"version\":1,\n\"real_servers\":[{]}").unwrap();
        let e = load(&p).unwrap_err();
        assert!(e.contains("overrides.json:2:"), "{e}");
        std::fs::write(&p, b"{\"version\":9}").unwrap();
        assert!(load(&p).unwrap_err().contains("format version 9"));
        assert_eq!(load_or_aside(&p), Store::default());
        assert!(!p.exists() && p.with_extension("json.bad").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
