//! One VRRP instance: the state machine of RFC 3768 §6.4 / RFC 5798 §6.4 with keepalived's
//! FAULT state, tracking and timers (keepalived-behaviour §2).
//!
//! The instance never blocks and never reads a clock: each call gets `now` and appends
//! [`Action`]s. Deadlines are kept inside; [`Instance::next_deadline`] says when to call
//! [`Instance::on_timer`] next.

mod receive;
pub(crate) use receive::addr_greater;
mod reload;
mod transition;

use crate::config::InstanceConfig;
use crate::event::{Action, InstanceId, Reason, State};
use crate::packet::{Advert, Auth};
use crate::time::Time;
use crate::timers;
use crate::track::{effective_priority, TrackerId, TrackerStatus, Tracking};
use crate::validate::Stats;
use std::net::IpAddr;
use std::time::Duration;

/// What a sync group must hear about a member (see [`crate::Router`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// The down timer expired: the member wants MASTER and waits for its group.
    WantMaster,
    /// The member became MASTER.
    BecameMaster,
    /// The member left MASTER for BACKUP (it heard a better master).
    SteppedDown,
    /// The member's own fault state changed.
    FaultChanged,
}

#[derive(Debug, Clone)]
pub struct Instance {
    pub(crate) id: InstanceId,
    pub(crate) cfg: InstanceConfig,
    pub(crate) state: State,
    pub(crate) started: bool,
    /// Removed by a reload; kept so that instance ids stay stable.
    pub(crate) deleted: bool,
    pub(crate) tracking: Tracking,
    pub(crate) link_up: bool,
    pub(crate) src_addr: Option<IpAddr>,
    /// Fault imposed by the sync group (another member is faulty).
    group_fault: bool,
    pub(crate) in_group: bool,
    pub(crate) wants_master: bool,
    effective: u8,
    /// RFC 5798 Master_Adver_Interval (v3 backups learn it from the master).
    master_adver_interval: Duration,
    down_at: Option<Time>,
    /// Why the down timer will fire (MasterDown, or PriorityZero after a priority-0 advert).
    pub(crate) down_reason: Reason,
    advert_at: Option<Time>,
    garp_at: Option<(Time, u32)>,
    garp_refresh_at: Option<Time>,
    preempt_until: Option<Time>,
    /// The master whose adverts we accept, and its priority.
    pub(crate) master: Option<(IpAddr, u8)>,
    ah_seq_tx: u32,
    ah_seq_rx: Option<u32>,
    pub(crate) stats: Stats,
    pub(crate) last_reason: Reason,
    /// An operator demoted it: it stays BACKUP (issue 17).
    demoted: bool,
    /// Promoted: preempt once, `nopreempt` and `preempt_delay` aside.
    force_preempt: bool,
}

impl Instance {
    pub fn new(id: InstanceId, cfg: InstanceConfig) -> Self {
        let tracking = Tracking::new(&cfg.trackers);
        let effective = effective_priority(cfg.priority, tracking.summary().adjustment);
        Instance {
            id,
            master_adver_interval: cfg.advert_interval,
            src_addr: cfg.src_addr,
            cfg,
            state: State::Init,
            started: false,
            deleted: false,
            tracking,
            link_up: true,
            group_fault: false,
            in_group: false,
            wants_master: false,
            effective,
            down_at: None,
            down_reason: Reason::MasterDown,
            advert_at: None,
            garp_at: None,
            garp_refresh_at: None,
            preempt_until: None,
            master: None,
            ah_seq_tx: 0,
            ah_seq_rx: None,
            stats: Stats::default(),
            last_reason: Reason::Startup,
            demoted: false,
            force_preempt: false,
        }
    }

    pub fn id(&self) -> InstanceId {
        self.id
    }

    pub fn name(&self) -> &str {
        &self.cfg.name
    }

    pub fn config(&self) -> &InstanceConfig {
        &self.cfg
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn effective_priority(&self) -> u8 {
        self.effective
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    pub fn source_address(&self) -> Option<IpAddr> {
        self.src_addr
    }

    /// Whether an operator demoted it.
    pub fn demoted(&self) -> bool {
        self.demoted
    }

    /// An operator's demote, promote or release; returns a signal for the sync group.
    pub fn operator(
        &mut self,
        op: crate::event::Operator,
        now: Time,
        out: &mut Vec<Action>,
    ) -> Option<Signal> {
        use crate::event::Operator;
        match op {
            Operator::Demote => {
                if self.demoted {
                    return None;
                }
                self.demoted = true;
                self.force_preempt = false;
                self.wants_master = false;
                if self.state == State::Master {
                    // as at a stop: the backup takes over after Skew_Time
                    self.send_advert(0, out);
                    self.enter_backup(now, Reason::Demoted, out);
                    return Some(Signal::SteppedDown);
                }
                None
            }
            Operator::Promote | Operator::Release => {
                self.demoted = false;
                // (only a backup can preempt: set in any other state, it would act at some
                // later takeover nobody asked for)
                self.force_preempt = op == Operator::Promote && self.state == State::Backup;
                if self.state == State::Backup && self.down_at.is_none() {
                    self.down_at = Some(now + self.master_down_interval());
                    self.down_reason = Reason::MasterDown;
                }
                None
            }
        }
    }

    /// The master currently accepted (BACKUP), or None.
    pub fn current_master(&self) -> Option<(IpAddr, u8)> {
        self.master
    }

    /// Why the instance is in its current state.
    pub fn reason(&self) -> &Reason {
        &self.last_reason
    }

    pub fn master_adver_interval(&self) -> Duration {
        self.master_adver_interval
    }

    /// The earliest time [`Instance::on_timer`] must run.
    pub fn next_deadline(&self) -> Option<Time> {
        [
            self.down_at,
            self.advert_at,
            self.garp_at.map(|g| g.0),
            self.garp_refresh_at,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn skew(&self) -> Duration {
        timers::skew(self.cfg.version, self.effective, self.master_adver_interval)
    }

    fn master_down_interval(&self) -> Duration {
        timers::master_down(
            self.cfg.version,
            self.effective,
            self.master_adver_interval,
            self.cfg.down_timer_adverts,
        )
    }

    /// Fault conditions of this instance itself (not counting the sync group).
    pub fn own_fault(&self) -> bool {
        let s = self.tracking.summary();
        s.faults > 0 || (self.cfg.track_primary && !self.link_up) || self.src_addr.is_none()
    }

    fn fault(&self) -> bool {
        self.own_fault() || self.group_fault
    }

    fn pending(&self) -> bool {
        self.tracking.summary().pending > 0
    }

    fn is_owner(&self) -> bool {
        self.effective == 255
    }

    /// Builds an advert with `priority`.
    fn advert(&self, priority: u8) -> Advert {
        use crate::config::AuthConfig;
        Advert {
            version: self.cfg.version,
            vrid: self.cfg.vrid,
            priority,
            interval_cs: self.cfg.interval_cs(),
            auth: match (&self.cfg.version, &self.cfg.auth) {
                (crate::packet::Version::V3, _) | (_, AuthConfig::None) => Auth::None,
                (_, AuthConfig::Pass(p)) => Auth::Pass(*p),
                (_, AuthConfig::Ah(_)) => Auth::Ah,
            },
            addrs: self.cfg.vips.clone(),
        }
    }

    pub(crate) fn send_advert(&mut self, priority: u8, out: &mut Vec<Action>) {
        let ah_seq = match self.cfg.auth {
            crate::config::AuthConfig::Ah(_) if self.cfg.version == crate::packet::Version::V2 => {
                self.ah_seq_tx = self.ah_seq_tx.wrapping_add(1);
                Some(self.ah_seq_tx)
            }
            _ => None,
        };
        self.stats.adverts_tx += 1;
        if priority == 0 {
            self.stats.priority_zero_tx += 1;
        }
        out.push(Action::SendAdvert {
            instance: self.id,
            advert: self.advert(priority),
            priority,
            ah_seq,
        });
    }

    /// Starts the instance (RFC 5798 §6.4.1, keepalived-behaviour §2.1).
    pub fn start(&mut self, now: Time, out: &mut Vec<Action>) {
        if self.started || self.deleted {
            return;
        }
        self.started = true;
        self.settle(now, out);
    }

    /// Moves out of INIT or FAULT when nothing holds the instance there, or into FAULT when
    /// something does. Called after every change of tracking, link or source address.
    pub(crate) fn settle(&mut self, now: Time, out: &mut Vec<Action>) {
        if !self.started || self.state == State::Stop {
            return;
        }
        match self.state {
            State::Init => {
                if self.pending() {
                    return;
                }
                if self.fault() {
                    self.enter_fault(now, Reason::Startup, out);
                } else {
                    self.enter_backup(now, Reason::Startup, out);
                    if self.is_owner() && self.cfg.want_master {
                        // keepalived: the owner's down timer is 1 µs; it is master at once.
                        self.down_at = Some(now);
                        self.down_reason = Reason::Owner;
                    }
                }
            }
            State::Backup | State::Master => {
                if self.fault() {
                    self.enter_fault(now, Reason::Fault, out);
                }
            }
            State::Fault => {
                if !self.fault() && !self.pending() {
                    self.enter_backup(now, Reason::FaultCleared, out);
                    if self.is_owner() {
                        self.down_at = Some(now);
                        self.down_reason = Reason::Owner;
                    }
                }
            }
            State::Stop => {}
        }
    }

    /// Recomputes the effective priority after a tracker change.
    pub(crate) fn reprioritise(&mut self, out: &mut Vec<Action>) {
        let p = effective_priority(self.cfg.priority, self.tracking.summary().adjustment);
        if p != self.effective {
            out.push(Action::PriorityChanged {
                instance: self.id,
                from: self.effective,
                to: p,
            });
            self.effective = p;
        }
    }

    /// A tracker changed. Returns whether this instance tracks it.
    pub fn on_tracker(
        &mut self,
        id: &TrackerId,
        status: TrackerStatus,
        now: Time,
        out: &mut Vec<Action>,
    ) -> bool {
        if !self.tracking.set(id, status) {
            return false;
        }
        self.reprioritise(out);
        self.settle(now, out);
        true
    }

    /// Link state of the instance's own interface.
    pub fn on_link(&mut self, up: bool, now: Time, out: &mut Vec<Action>) {
        self.link_up = up;
        self.settle(now, out);
    }

    /// The source address appeared or disappeared.
    pub fn on_source_address(&mut self, addr: Option<IpAddr>, now: Time, out: &mut Vec<Action>) {
        self.src_addr = self.cfg.src_addr.or(addr);
        self.settle(now, out);
    }

    /// The sync group imposes (or lifts) a fault.
    pub(crate) fn set_group_fault(
        &mut self,
        on: bool,
        member: &str,
        now: Time,
        out: &mut Vec<Action>,
    ) {
        if self.group_fault == on {
            return;
        }
        self.group_fault = on;
        let reason = Reason::SyncGroup {
            member: member.to_string(),
        };
        match self.state {
            State::Backup | State::Master if on => self.enter_fault(now, reason, out),
            State::Fault if !on && !self.fault() && !self.pending() => {
                self.enter_backup(now, reason, out);
                if self.is_owner() {
                    self.down_at = Some(now);
                    self.down_reason = Reason::Owner;
                }
            }
            _ => {}
        }
    }

    /// Graceful shutdown (keepalived-behaviour §2.8: priority 0, then addresses removed).
    pub fn shutdown(&mut self, _now: Time, out: &mut Vec<Action>) {
        self.stop(Reason::Shutdown, out);
    }

    /// Into STOP: a master first says priority 0 and takes its addresses down.
    pub(crate) fn stop(&mut self, reason: Reason, out: &mut Vec<Action>) {
        let from = self.state;
        if from == State::Stop {
            return;
        }
        if from == State::Master {
            self.send_advert(0, out);
            out.push(Action::RemoveAddresses { instance: self.id });
            self.stats.released_master += 1;
        }
        self.clear_timers();
        self.force_preempt = false;
        self.state = State::Stop;
        self.last_reason = reason.clone();
        out.push(Action::Notify {
            instance: self.id,
            from,
            to: State::Stop,
            reason,
            priority: self.effective,
        });
    }

    pub(crate) fn clear_timers(&mut self) {
        self.down_at = None;
        self.advert_at = None;
        self.garp_at = None;
        self.garp_refresh_at = None;
        self.preempt_until = None;
    }

    /// Asks for `count` rounds of gratuitous ARPs / unsolicited NAs, counted.
    pub(crate) fn gratuitous(&mut self, out: &mut Vec<Action>, count: u32) {
        self.stats.gratuitous_rounds += u64::from(count);
        out.push(Action::SendGratuitous {
            instance: self.id,
            count,
        });
    }

    /// Handles every deadline at or before `now`; returns a signal for the sync group.
    pub fn on_timer(&mut self, now: Time, out: &mut Vec<Action>) -> Option<Signal> {
        let mut signal = None;
        if let Some((at, count)) = self.garp_at {
            if at <= now {
                self.garp_at = None;
                self.gratuitous(out, count);
            }
        }
        if let Some(at) = self.garp_refresh_at {
            if at <= now {
                self.garp_refresh_at = Some(now + self.cfg.garp.master_refresh);
                self.gratuitous(out, self.cfg.garp.master_refresh_repeat);
            }
        }
        if let Some(at) = self.advert_at {
            if at <= now && self.state == State::Master {
                self.send_advert(self.effective, out);
                self.advert_at = Some(now + self.cfg.advert_interval);
            }
        }
        if let Some(at) = self.down_at {
            if at <= now && self.state == State::Backup && self.demoted {
                self.down_at = None;
                self.down_reason = Reason::MasterDown;
                out.push(Action::HeldByDemote { instance: self.id });
            } else if at <= now && self.state == State::Backup {
                self.down_at = None;
                let reason = std::mem::replace(&mut self.down_reason, Reason::MasterDown);
                if self.in_group {
                    self.wants_master = true;
                    // Re-arm: if the group is not ready, we wait for another interval.
                    self.down_reason = reason;
                    signal = Some(Signal::WantMaster);
                } else {
                    self.become_master(now, reason, out);
                    signal = Some(Signal::BecameMaster);
                }
            }
        }
        signal
    }

    /// Pushes a running down timer back by one advert interval (sync-group tie-break).
    pub(crate) fn delay_down_timer(&mut self) {
        if let Some(at) = self.down_at {
            self.down_at = Some(at + self.cfg.advert_interval);
        }
    }

    /// A sync group that is not ready keeps this member in BACKUP for another
    /// Master_Down_Interval (keepalived: vrrp_sync_can_goto_master).
    pub(crate) fn hold_in_backup(&mut self, now: Time) {
        if self.state == State::Backup {
            self.down_at = Some(now + self.master_down_interval());
        }
    }
}
