//! A reload: the instance keeps its state, timers and tracker results; only what changed in
//! the configuration takes effect (keepalived-behaviour §2.1 "reload_master", without the
//! re-init keepalived does to every other instance).

use super::Instance;
use crate::config::InstanceConfig;
use crate::event::{Action, Reason, State};
use crate::time::Time;
use crate::track::Tracking;

impl Instance {
    /// Whether `cfg` is the same virtual router (otherwise a reload deletes and re-creates).
    pub fn same_router(&self, cfg: &InstanceConfig) -> bool {
        let c = &self.cfg;
        c.name == cfg.name
            && c.vrid == cfg.vrid
            && c.family == cfg.family
            && c.version == cfg.version
            && c.interface == cfg.interface
    }

    /// Applies a new configuration of the same virtual router.
    pub fn reconfigure(&mut self, cfg: InstanceConfig, now: Time, out: &mut Vec<Action>) {
        let mut tracking = Tracking::new(&cfg.trackers);
        tracking.carry_over(&self.tracking);
        self.tracking = tracking;
        let addresses_changed = self.cfg.vips != cfg.vips;
        // A configured source address replaces the current one; when the configuration drops
        // it, the current one stays until the daemon reports the interface's primary address
        // (Event::SourceAddress, right after the reload): an instance never faults for lack
        // of a source address in between (issue 22: reverting unicast_src_ip took a MASTER to
        // FAULT).
        self.src_addr = cfg.src_addr.or(self.src_addr);
        self.cfg = cfg;
        if self.state == State::Backup {
            // Keep the running down timer; a v2 interval change applies from the next advert.
            if self.cfg.version == crate::packet::Version::V2 {
                self.master_adver_interval = self.cfg.advert_interval;
            }
        }
        self.reprioritise(out);
        if self.state == State::Master && addresses_changed {
            out.push(Action::AddAddresses { instance: self.id });
        }
        self.settle(now, out);
    }

    /// Removed from the configuration: step down like a shutdown, report it as deleted.
    pub fn delete(&mut self, _now: Time, out: &mut Vec<Action>) {
        self.stop(Reason::Deleted, out);
        self.deleted = true;
    }

    pub fn is_deleted(&self) -> bool {
        self.deleted
    }
}
