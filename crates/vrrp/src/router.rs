//! All instances of one director, their sync groups, and the dispatch of events.

use crate::config::InstanceConfig;
use crate::event::{Action, Event, GroupId, InstanceId, Reason, Received, State};
use crate::instance::{Instance, Signal};
use crate::packet::Family;
use crate::time::Time;
use crate::validate::{self, DropReason};
use std::net::IpAddr;

/// A sync group: members that move together (keepalived-behaviour §1.4).
#[derive(Debug, Clone)]
pub struct SyncGroup {
    pub name: String,
    pub members: Vec<InstanceId>,
    state: Option<State>,
}

impl SyncGroup {
    pub fn state(&self) -> Option<State> {
        self.state
    }
}

/// Drops that happen before an advert reaches an instance.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RouterStats {
    pub ttl: u64,
    pub version: u64,
    pub kind: u64,
    pub length: u64,
    pub unknown_vrid: u64,
}

#[derive(Debug, Clone, Default)]
pub struct Router {
    instances: Vec<Instance>,
    groups: Vec<SyncGroup>,
    stats: RouterStats,
    armed: Option<Time>,
    /// Instances by (family, VRID): index `family * 256 + vrid`.
    by_vrid: Vec<Vec<InstanceId>>,
    /// Each instance's next deadline in µs (u64::MAX: none), kept in step with the instances
    /// so that finding the earliest one is a scan of a flat array.
    deadlines: Vec<u64>,
}

fn slot(family: Family, vrid: u8) -> usize {
    let f = match family {
        Family::V4 => 0,
        Family::V6 => 1,
    };
    f * 256 + usize::from(vrid)
}

impl Router {
    /// Builds a router. `groups` lists (name, member indexes into `instances`).
    pub fn new(instances: Vec<InstanceConfig>, groups: Vec<(String, Vec<usize>)>) -> Self {
        let mut inst: Vec<Instance> = instances
            .into_iter()
            .enumerate()
            .map(|(i, c)| Instance::new(InstanceId(i as u16), c))
            .collect();
        let groups = groups
            .into_iter()
            .map(|(name, members)| {
                let members: Vec<InstanceId> = members
                    .into_iter()
                    .filter(|&m| m < inst.len())
                    .map(|m| InstanceId(m as u16))
                    .collect();
                for m in &members {
                    inst[m.0 as usize].in_group = true;
                }
                SyncGroup {
                    name,
                    members,
                    state: None,
                }
            })
            .collect();
        let mut by_vrid = vec![Vec::new(); 512];
        for i in &inst {
            by_vrid[slot(i.cfg.family, i.cfg.vrid)].push(i.id);
        }
        let deadlines = vec![u64::MAX; inst.len()];
        Router {
            instances: inst,
            groups,
            stats: RouterStats::default(),
            armed: None,
            by_vrid,
            deadlines,
        }
    }

    pub fn instances(&self) -> &[Instance] {
        &self.instances
    }

    pub fn instance(&self, id: InstanceId) -> &Instance {
        &self.instances[id.0 as usize]
    }

    pub fn find(&self, name: &str) -> Option<&Instance> {
        self.instances.iter().find(|i| i.name() == name)
    }

    pub fn groups(&self) -> &[SyncGroup] {
        &self.groups
    }

    pub fn stats(&self) -> &RouterStats {
        &self.stats
    }

    /// A reload: instances with the same name and virtual router keep their state (a master
    /// stays master, no flap); removed ones step down and report `Deleted`; new ones get new
    /// ids and start at the next [`Event::Startup`] (report their source addresses first).
    /// Ids of surviving instances do not change.
    pub fn reconfigure(
        &mut self,
        instances: Vec<InstanceConfig>,
        groups: Vec<(String, Vec<usize>)>,
        now: Time,
        out: &mut Vec<Action>,
    ) {
        let mut ids = Vec::with_capacity(instances.len());
        let mut kept = vec![false; self.instances.len()];
        for cfg in instances {
            let old = self
                .instances
                .iter()
                .position(|i| !i.deleted && i.name() == cfg.name && i.same_router(&cfg));
            match old {
                Some(pos) => {
                    kept[pos] = true;
                    self.instances[pos].reconfigure(cfg, now, out);
                    ids.push(InstanceId(pos as u16));
                }
                None => {
                    let id = InstanceId(self.instances.len() as u16);
                    self.instances.push(Instance::new(id, cfg));
                    self.deadlines.push(u64::MAX);
                    ids.push(id);
                }
            }
        }
        for (pos, k) in kept.iter().enumerate() {
            if !k && !self.instances[pos].deleted {
                self.instances[pos].delete(now, out);
            }
        }
        for i in &mut self.instances {
            i.in_group = false;
        }
        self.groups = groups
            .into_iter()
            .map(|(name, members)| {
                let members: Vec<InstanceId> = members
                    .into_iter()
                    .filter_map(|m| ids.get(m).copied())
                    .collect();
                for m in &members {
                    self.instances[m.0 as usize].in_group = true;
                }
                let state = self
                    .groups
                    .iter()
                    .find(|g| g.name == name)
                    .and_then(|g| g.state);
                SyncGroup {
                    name,
                    members,
                    state,
                }
            })
            .collect();
        self.by_vrid = vec![Vec::new(); 512];
        for i in self.instances.iter().filter(|i| !i.deleted) {
            self.by_vrid[slot(i.cfg.family, i.cfg.vrid)].push(i.id);
        }
        self.sync_faults(now, out);
        self.touch_all();
        self.run_timers(now, out);
        let next = self.next_deadline();
        if next != self.armed {
            self.armed = next;
            if let Some(at) = next {
                out.push(Action::ArmTimer { at });
            }
        }
    }

    /// The earliest deadline of any instance.
    pub fn next_deadline(&self) -> Option<Time> {
        let m = self.deadlines.iter().copied().min().unwrap_or(u64::MAX);
        (m != u64::MAX).then(|| Time::from_micros(m))
    }

    /// Re-reads one instance's deadline after it was handled.
    fn touch(&mut self, id: InstanceId) {
        let i = id.0 as usize;
        self.deadlines[i] = self.instances[i]
            .next_deadline()
            .map_or(u64::MAX, Time::as_micros);
    }

    fn touch_all(&mut self) {
        for i in 0..self.instances.len() {
            self.touch(InstanceId(i as u16));
        }
    }

    /// Handles one event at `now`, then every deadline up to `now`. Appends actions to `out`,
    /// ending with [`Action::ArmTimer`] when the earliest deadline changed.
    pub fn handle(&mut self, event: Event<'_>, now: Time, out: &mut Vec<Action>) {
        let broad = !matches!(event, Event::Advert(_) | Event::Timer);
        match event {
            Event::Startup => {
                for i in 0..self.instances.len() {
                    self.instances[i].start(now, out);
                }
                self.sync_faults(now, out);
            }
            Event::Advert(rx) => self.advert(&rx, now, out),
            Event::Timer => {}
            Event::Tracker { id, status } => {
                for i in 0..self.instances.len() {
                    self.instances[i].on_tracker(&id, status, now, out);
                }
                self.sync_faults(now, out);
            }
            Event::Interface { name, up } => {
                for i in 0..self.instances.len() {
                    if self.instances[i].cfg.interface.as_deref() == Some(name) {
                        self.instances[i].on_link(up, now, out);
                    }
                }
                self.sync_faults(now, out);
            }
            Event::SourceAddress { instance, addr } => {
                if let Some(inst) = self.instances.get_mut(instance.0 as usize) {
                    inst.on_source_address(addr, now, out);
                }
                self.sync_faults(now, out);
            }
            Event::Shutdown => {
                for inst in &mut self.instances {
                    inst.shutdown(now, out);
                }
            }
            Event::Operator { instance, op } => {
                let i = instance.0 as usize;
                if i < self.instances.len() {
                    if op == crate::event::Operator::Demote
                        && self.instances[i].state == State::Master
                    {
                        // the other members its group takes out of MASTER say priority 0 too:
                        // the peer's group then takes over in its Skew_Time, not after
                        // Master_Down_Interval
                        let members = self
                            .group_of(instance)
                            .map(|g| self.groups[g].members.clone())
                            .unwrap_or_default();
                        for m in members {
                            let other = &mut self.instances[m.0 as usize];
                            if m != instance && other.state == State::Master {
                                other.send_advert(0, out);
                            }
                        }
                    }
                    let signal = self.instances[i].operator(op, now, out);
                    self.group_signal(instance, signal, now, out);
                }
            }
        }
        if broad {
            self.touch_all();
        }
        self.run_timers(now, out);
        if !self.groups.is_empty() {
            self.group_notifies(out);
        }
        let next = self.next_deadline();
        if next != self.armed {
            self.armed = next;
            if let Some(at) = next {
                out.push(Action::ArmTimer { at });
            }
        }
    }

    fn advert(&mut self, rx: &Received<'_>, now: Time, out: &mut Vec<Action>) {
        let header = match validate::precheck(rx) {
            Ok(h) => h,
            Err(reason) => {
                match reason {
                    DropReason::Ttl => self.stats.ttl += 1,
                    DropReason::Version => self.stats.version += 1,
                    DropReason::Type => self.stats.kind += 1,
                    _ => self.stats.length += 1,
                }
                out.push(Action::Dropped {
                    instance: None,
                    reason,
                    from: rx.src,
                });
                return;
            }
        };
        let family = match rx.src {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        };
        let unicast = !rx.dst.is_multicast();
        // VRIDs may repeat on an interface for different unicast peer sets: prefer the
        // instance that lists the sender as a peer.
        let mut chosen = None;
        for &id in &self.by_vrid[slot(family, header.vrid)] {
            let i = &self.instances[id.0 as usize];
            let iface_ok = rx.interface.is_none()
                || i.cfg.interface.is_none()
                || i.cfg.interface.as_deref() == rx.interface;
            if !iface_ok {
                continue;
            }
            let is_peer = i.cfg.unicast_peers.iter().any(|p| p.addr == rx.src);
            if chosen.is_none() || (unicast && is_peer) {
                chosen = Some(id);
            }
        }
        let Some(id) = chosen else {
            self.stats.unknown_vrid += 1;
            out.push(Action::Dropped {
                instance: None,
                reason: DropReason::UnknownVrid,
                from: rx.src,
            });
            return;
        };
        let signal = self.instances[id.0 as usize].on_advert(rx, now, out);
        self.touch(id);
        self.group_signal(id, signal, now, out);
    }

    fn run_timers(&mut self, now: Time, out: &mut Vec<Action>) {
        // A transition may arm an immediate deadline (an owner's 1 µs timer): loop until quiet.
        let now_us = now.as_micros();
        for _ in 0..4 * self.instances.len().max(1) {
            let mut fired = false;
            for i in 0..self.instances.len() {
                if self.deadlines[i] <= now_us {
                    fired = true;
                    let id = InstanceId(i as u16);
                    let signal = self.instances[i].on_timer(now, out);
                    self.touch(id);
                    self.group_signal(id, signal, now, out);
                }
            }
            if !fired {
                break;
            }
        }
    }

    fn group_of(&self, id: InstanceId) -> Option<usize> {
        self.groups.iter().position(|g| g.members.contains(&id))
    }

    /// Applies sync-group rules after `id` signalled (keepalived vrrp_sync.c semantics).
    fn group_signal(
        &mut self,
        id: InstanceId,
        signal: Option<Signal>,
        now: Time,
        out: &mut Vec<Action>,
    ) {
        let Some(signal) = signal else { return };
        let Some(g) = self.group_of(id) else { return };
        let members = self.groups[g].members.clone();
        let name = self.instances[id.0 as usize].name().to_string();
        match signal {
            Signal::WantMaster => {
                // Only go master if every member wants to (prefer BACKUP to avoid thrashing).
                let group_master = self.groups[g].state == Some(State::Master);
                let all_want = members.iter().all(|&m| {
                    let i = &self.instances[m.0 as usize];
                    m == id || i.wants_master || i.state == State::Master
                });
                if group_master || all_want {
                    let reason = self.instances[id.0 as usize].down_reason.clone();
                    self.instances[id.0 as usize].become_master(now, reason, out);
                    self.follow(&members, id, State::Master, &name, now, out);
                } else {
                    self.instances[id.0 as usize].hold_in_backup(now);
                }
            }
            Signal::BecameMaster => self.follow(&members, id, State::Master, &name, now, out),
            Signal::SteppedDown => {
                self.follow(&members, id, State::Backup, &name, now, out);
                self.break_symmetry(&members, id);
            }
            Signal::FaultChanged => self.sync_faults(now, out),
        }
        for m in members {
            self.touch(m);
        }
    }

    /// Two directors whose groups disagree (each has the best priority for a different VRID)
    /// preempt each other, step down together and would time out together again, forever.
    /// keepalived has this dance. lvsd breaks the tie as the RFC breaks equal priorities: the
    /// group on the director with the lower address waits one more advert interval before its
    /// next attempt. The extra wait lasts only until the first advert is accepted, so a healthy
    /// master's failover timing is unchanged.
    fn break_symmetry(&mut self, members: &[InstanceId], leader: InstanceId) {
        let l = &self.instances[leader.0 as usize];
        let (Some((winner, _)), Some(ours)) = (l.master, l.source_address()) else {
            return;
        };
        if !crate::instance::addr_greater(winner, ours) {
            return;
        }
        for &m in members {
            self.instances[m.0 as usize].delay_down_timer();
        }
    }

    /// Moves the other members of a group to `to`.
    fn follow(
        &mut self,
        members: &[InstanceId],
        leader: InstanceId,
        to: State,
        name: &str,
        now: Time,
        out: &mut Vec<Action>,
    ) {
        let reason = Reason::SyncGroup {
            member: name.to_string(),
        };
        for &m in members {
            if m == leader {
                continue;
            }
            let inst = &mut self.instances[m.0 as usize];
            match (inst.state, to) {
                (State::Backup, State::Master) => inst.become_master(now, reason.clone(), out),
                (State::Master, State::Backup) => inst.enter_backup(now, reason.clone(), out),
                _ => {}
            }
        }
    }

    /// A member with its own fault puts every other member of its group in FAULT; the group
    /// leaves FAULT when no member has a fault of its own.
    fn sync_faults(&mut self, now: Time, out: &mut Vec<Action>) {
        for g in 0..self.groups.len() {
            let members = self.groups[g].members.clone();
            let faulty: Vec<InstanceId> = members
                .iter()
                .copied()
                .filter(|&m| self.instances[m.0 as usize].own_fault())
                .collect();
            for &m in &members {
                let others: Vec<&InstanceId> = faulty.iter().filter(|&&f| f != m).collect();
                let by = others
                    .first()
                    .map(|f| self.instances[f.0 as usize].name().to_string())
                    .unwrap_or_default();
                self.instances[m.0 as usize].set_group_fault(!others.is_empty(), &by, now, out);
            }
        }
    }

    fn group_notifies(&mut self, out: &mut Vec<Action>) {
        for (g, group) in self.groups.iter_mut().enumerate() {
            let states: Vec<State> = group
                .members
                .iter()
                .map(|m| self.instances[m.0 as usize].state)
                .collect();
            let state = if states.contains(&State::Fault) {
                Some(State::Fault)
            } else if states.iter().all(|&s| s == State::Master) {
                Some(State::Master)
            } else if states.iter().all(|&s| s == State::Stop) {
                Some(State::Stop)
            } else if states.contains(&State::Backup) {
                Some(State::Backup)
            } else {
                None
            };
            if state.is_some() && state != group.state {
                group.state = state;
                out.push(Action::GroupNotify {
                    group: GroupId(g as u16),
                    to: state.unwrap_or(State::Init),
                });
            }
        }
    }
}
