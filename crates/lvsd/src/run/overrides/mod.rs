//! Operator overrides (issue 17): real servers drained or disabled (`lvsd rs`), VRRP
//! instances demoted (`lvsd vrrp`). They are operator intent: kept in the state directory,
//! read before the first table is programmed and the first advert sent, re-applied by every
//! reload (matched by the names `lvsd rs list` shows), changed only through the control
//! socket, each change logged with who asked.

pub mod store;
pub mod target;

use lvsd_config::model::Config;
use lvsd_ipvs::desired::Admin;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use store::{RsOverride, Store};

/// The overrides, shared by the control socket, the health task and the metrics.
#[derive(Clone)]
pub struct Overrides {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    store: Mutex<Store>,
}

impl Overrides {
    /// The state directory's overrides (none if it has no file).
    pub fn open(state_dir: &std::path::Path) -> Overrides {
        let path = store::path(state_dir);
        let store = store::load_or_aside(&path);
        if !store.real_servers.is_empty() || !store.demoted.is_empty() {
            tracing::info!(
                "operator overrides from {}: {} real server(s) held, {} VRRP instance(s) demoted",
                path.display(),
                store.real_servers.len(),
                store.demoted.len()
            );
        }
        Overrides {
            inner: Arc::new(Inner {
                path,
                store: Mutex::new(store),
            }),
        }
    }

    pub fn snapshot(&self) -> Store {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Store> {
        self.inner.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the overrides and writes them; when the file cannot be written nothing
    /// changes (an override that would not survive a restart is refused, not half-made).
    pub fn update<T>(&self, f: impl FnOnce(&mut Store) -> T) -> Result<T, String> {
        let mut guard = self.lock();
        let mut next = guard.clone();
        let out = f(&mut next);
        if next != *guard {
            store::save(&self.inner.path, &next)
                .map_err(|e| format!("cannot record the override ({e}); nothing changed"))?;
            *guard = next;
        }
        Ok(out)
    }

    /// The real servers held in `cfg`, by (virtual server, real server) index.
    pub fn held(&self, cfg: &Config) -> HashMap<(usize, usize), RsOverride> {
        let store = self.lock();
        store
            .real_servers
            .iter()
            .filter_map(|o| {
                target::find_ids(cfg, &o.virtual_server, &o.real_server).map(|i| (i, o.clone()))
            })
            .collect()
    }

    /// The holds of `cfg` as the health's admin states.
    pub fn admin(&self, cfg: &Config) -> HashMap<(usize, usize), Admin> {
        self.held(cfg)
            .into_iter()
            .map(|(k, o)| (k, o.state.admin()))
            .collect()
    }

    /// Whether an instance is demoted, and by whom.
    pub fn demoted(&self, instance: &str) -> Option<store::VrrpOverride> {
        self.lock().demoted(instance).cloned()
    }

    /// The demoted instances' names.
    pub fn demoted_names(&self) -> Vec<String> {
        self.lock()
            .demoted
            .iter()
            .map(|d| d.instance.clone())
            .collect()
    }
}

/// A hold as `status` shows it.
pub fn rs_admin(o: &RsOverride) -> crate::proto::RsAdmin {
    crate::proto::RsAdmin {
        state: o.state.name().to_string(),
        since: o.since,
        by: o.by.clone(),
        deadline: o.deadline,
    }
}
