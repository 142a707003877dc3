//! Carrying out the core's actions on the real network: adverts on raw sockets, addresses,
//! routes and rules over rtnetlink, gratuitous ARP / NA, notifications.

use super::addresses::{Job, OwnedMap};
use super::engine::Input;
use super::links::{LinkInfo, Links};
use super::plan::{Plan, Vip};
use super::ratelimit::RateLimit;
use super::NotifyRequest;
use lvsd_netif::{Netlink, VrrpSocket};
use lvsd_vrrp::config::AuthConfig;
use lvsd_vrrp::event::InstanceId;
use lvsd_vrrp::packet::{self, ipv4, Family};
use lvsd_vrrp::{Action, InstanceConfig, Router};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

mod advert;

/// One raw socket per (family, interface, AH or not).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SocketKey {
    pub family: Family,
    pub interface: Option<String>,
    pub ah: bool,
}

impl SocketKey {
    fn of(c: &InstanceConfig) -> SocketKey {
        SocketKey {
            family: c.family,
            interface: c.interface.clone(),
            ah: matches!(c.auth, AuthConfig::Ah(_)) && c.version == packet::Version::V2,
        }
    }
}

pub struct Io {
    nl: Netlink,
    sockets: HashMap<SocketKey, Arc<VrrpSocket>>,
    input: mpsc::UnboundedSender<Input>,
    notify: mpsc::UnboundedSender<NotifyRequest>,
    plan: Plan,
    /// Per instance name (survives reloads: a deleted instance keeps its entry).
    extra: HashMap<String, super::plan::InstancePlan>,
    links: Links,
    /// What this run installed (the address worker's record).
    owned: OwnedMap,
    /// The address worker (addresses.rs): every host change of VRRP, in order.
    jobs: mpsc::UnboundedSender<Job>,
    ip_id: HashMap<InstanceId, u16>,
    group_state: HashMap<lvsd_vrrp::GroupId, lvsd_vrrp::State>,
    log: RateLimit,
    /// Per instance, bumped when it leaves MASTER: a gratuitous burst of an older
    /// generation stops at once.
    garp_gen: HashMap<InstanceId, Arc<AtomicU64>>,
    /// Every instance's state, for the reconciler and the health task (issue 14).
    states: watch::Sender<super::world::States>,
    /// Shutdown has begun.
    pub stopping: bool,
    payload: Vec<u8>,
    packet: Vec<u8>,
    /// The last transition of each instance (name → when, from, to, why), for `status`.
    pub transitions: HashMap<
        String,
        (
            std::time::Instant,
            lvsd_vrrp::State,
            lvsd_vrrp::State,
            String,
        ),
    >,
}

impl Io {
    pub async fn new(
        plan: &Plan,
        input: mpsc::UnboundedSender<Input>,
        notify: mpsc::UnboundedSender<NotifyRequest>,
        states: watch::Sender<super::world::States>,
        lo_added: super::LoAdded,
    ) -> Result<Io, String> {
        let nl = Netlink::new().map_err(|e| format!("netlink: {e}"))?;
        let owned = OwnedMap::default();
        let mut io = Io {
            sockets: HashMap::new(),
            input,
            notify,
            plan: plan.clone(),
            extra: extras(plan),
            links: Links::new(nl.clone()),
            owned: owned.clone(),
            jobs: super::addresses::spawn(nl.clone(), owned, lo_added),
            nl,
            ip_id: HashMap::new(),
            group_state: HashMap::new(),
            log: RateLimit::new(std::time::Duration::from_secs(10)),
            garp_gen: HashMap::new(),
            states,
            stopping: false,
            payload: Vec::with_capacity(1500),
            packet: Vec::with_capacity(1500),
            transitions: HashMap::new(),
        };
        io.links.refresh().await;
        io.open_sockets()?;
        io.watch_netlink().await?;
        Ok(io)
    }

    async fn watch_netlink(&mut self) -> Result<(), String> {
        let mut events = self
            .nl
            .events()
            .await
            .map_err(|e| format!("netlink events: {e}"))?;
        let tx = self.input.clone();
        tokio::spawn(async move {
            while let Some(ev) = events.recv().await {
                if tx.send(Input::Net(ev)).is_err() {
                    break;
                }
            }
        });
        Ok(())
    }

    pub async fn reconfigure(&mut self, plan: &Plan, _router: &Router) -> Result<(), String> {
        self.plan = plan.clone();
        self.extra.extend(extras(plan));
        self.links.refresh().await;
        self.open_sockets()
    }

    async fn link(&mut self, name: &str) -> Option<LinkInfo> {
        self.links.get(name).await
    }

    pub async fn link_up(&mut self, name: &str) -> bool {
        self.link(name).await.is_some_and(|l| l.up)
    }

    /// Records a link event; returns whether the state changed.
    pub fn link_changed(&mut self, name: &str, up: bool) -> bool {
        self.links.set_up(name, up)
    }

    /// The interface's primary address of the instance's family (the election tie-break).
    pub async fn primary_address(&mut self, cfg: &InstanceConfig) -> Option<IpAddr> {
        let name = cfg.interface.as_deref()?;
        let l = self.link(name).await?;
        self.nl
            .primary_address(l.index, cfg.family == Family::V6)
            .await
            .ok()
            .flatten()
    }

    fn next_ip_id(&mut self, id: InstanceId) -> u16 {
        // keepalived: a per-instance counter from 1, skipping 0 (the kernel would fill it in).
        let v = self.ip_id.entry(id).or_insert(0);
        *v = v.wrapping_add(1);
        if *v == 0 {
            *v = 1;
        }
        *v
    }

    pub async fn apply(&mut self, router: &Router, a: &Action) {
        match a {
            Action::SendAdvert {
                instance,
                advert,
                ah_seq,
                ..
            } => self.send_advert(router, *instance, advert, *ah_seq).await,
            Action::AddAddresses { instance } => {
                let x = self.extra_of(router, *instance);
                self.job(Job::Install {
                    id: *instance,
                    name: router.instance(*instance).name().to_string(),
                    vips: x.vips,
                    routes: x.routes,
                    rules: x.rules,
                });
            }
            Action::RemoveAddresses { instance } => {
                // queued: the burst stops now; a colocated VIP goes on lo before it leaves
                // the interface (addresses.rs)
                self.cancel_gratuitous(*instance);
                let keep_off_lo = self.stopping && self.plan.config.global.colocated_on_stop_remove;
                let lo = if keep_off_lo {
                    Vec::new()
                } else {
                    self.extra_of(router, *instance).lo_vips
                };
                self.job(Job::Uninstall {
                    id: *instance,
                    name: router.instance(*instance).name().to_string(),
                    lo,
                });
            }
            Action::SendGratuitous { instance, count } => {
                let generation = self.garp_gen.entry(*instance).or_default().clone();
                let mine = generation.load(Ordering::Acquire);
                self.job(Job::Gratuitous {
                    vips: self.vips(router, *instance),
                    count: *count,
                    gap: self.plan.garp_interval,
                    generation,
                    mine,
                });
            }
            Action::Notify {
                instance,
                from,
                to,
                reason,
                priority,
            } => {
                let name = router.instance(*instance).name().to_string();
                if *to != lvsd_vrrp::State::Master {
                    self.cancel_gratuitous(*instance);
                }
                let deleted = *reason == lvsd_vrrp::Reason::Deleted;
                self.states.send_modify(|m| {
                    if deleted {
                        m.remove(&name);
                    } else {
                        m.insert(name.clone(), *to);
                    }
                });
                self.transitions.insert(
                    name.clone(),
                    (std::time::Instant::now(), *from, *to, reason.to_string()),
                );
                tracing::info!(
                    instance = %name,
                    "({name}) {} -> {} ({reason}), priority {priority}",
                    from.name(),
                    to.name()
                );
                let _ = self.notify.send(NotifyRequest::Instance {
                    name,
                    from: *from,
                    to: *to,
                    priority: *priority,
                    reason: reason.to_string(),
                    scripts: self.scripts_of(router, *instance),
                    deleted: *reason == lvsd_vrrp::Reason::Deleted,
                });
            }
            Action::HeldByDemote { instance } => {
                let name = router.instance(*instance).name();
                tracing::warn!(
                    instance = %name,
                    "({name}) no master heard for Master_Down_Interval: staying BACKUP because an operator demoted it; nobody holds its addresses (`lvsd vrrp release {name}` lets it take over)"
                );
                super::events::emit(
                    "vrrp_held_by_demote",
                    || serde_json::json!({ "instance": name }),
                );
            }
            Action::GroupNotify { group, to } => {
                let g = &router.groups()[group.0 as usize];
                tracing::info!("sync group {} -> {}", g.name, to.name());
                let scripts = self
                    .plan
                    .config
                    .sync_groups
                    .iter()
                    .find(|s| s.name == g.name)
                    .map(|s| s.notify.clone())
                    .unwrap_or_default();
                let from = self
                    .group_state
                    .insert(*group, *to)
                    .unwrap_or(lvsd_vrrp::State::Init);
                let _ = self.notify.send(NotifyRequest::Group {
                    name: g.name.clone(),
                    from,
                    to: *to,
                    scripts,
                });
            }
            Action::PriorityChanged { instance, from, to } => {
                let inst = router.instance(*instance);
                tracing::info!(
                    "({}) changing effective priority from {from} to {to}",
                    inst.name()
                );
                let _ = self.notify.send(NotifyRequest::PriorityChanged {
                    name: inst.name().to_string(),
                    state: inst.state(),
                    priority: *to,
                    enabled: self
                        .plan
                        .config
                        .instances
                        .iter()
                        .any(|i| i.name == inst.name() && i.notify_priority_changes),
                });
            }
            Action::MasterRxLowerPriority {
                instance,
                from,
                priority,
            } => {
                let name = router.instance(*instance).name();
                if self.log.allow(Some(*instance), "rx-lower") {
                    tracing::info!("({name}) master received lower priority {priority} advert from {from}: asserting");
                }
                let _ = self.notify.send(NotifyRequest::MasterRxLowerPriority {
                    name: name.to_string(),
                    scripts: self.scripts_of(router, *instance),
                    priority: router.instance(*instance).effective_priority(),
                });
            }
            Action::LowerPriorityIgnored {
                instance,
                from,
                priority,
            } => {
                let name = router.instance(*instance).name();
                tracing::info!(
                    "({name}) received lower priority ({priority}) advert from {from} - discarding"
                );
            }
            Action::AddressListMismatch { instance, from } => {
                if self.log.allow(Some(*instance), "address-list") {
                    tracing::warn!(
                        "({}) advert from {from} lists other addresses than ours (accepted; counted)",
                        router.instance(*instance).name()
                    );
                }
            }
            Action::Dropped {
                instance,
                reason,
                from,
            } => {
                if self.log.allow(*instance, reason.name()) {
                    let who = instance
                        .map(|i| router.instance(i).name().to_string())
                        .unwrap_or_else(|| "-".into());
                    tracing::warn!("({who}) dropped advert from {from}: {}", reason.name());
                }
            }
            Action::ArmTimer { .. } => {}
        }
    }

    /// What the named instance installs on MASTER (its addresses, routes, rules, scripts).
    /// The plan running now (before a reload's `reconfigure`, the old one).
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    fn extra_of(&self, router: &Router, id: InstanceId) -> super::plan::InstancePlan {
        self.extra
            .get(router.instance(id).name())
            .cloned()
            .unwrap_or_default()
    }

    fn scripts_of(&self, router: &Router, id: InstanceId) -> lvsd_config::model::Notify {
        self.extra_of(router, id).notify
    }

    fn vips(&self, router: &Router, id: InstanceId) -> Vec<Vip> {
        self.extra_of(router, id).vips
    }

    /// Stops the instance's gratuitous ARP / NA bursts still running (it is leaving MASTER:
    /// announcing the VIP now would pull traffic from the new master).
    pub fn cancel_gratuitous(&mut self, id: InstanceId) {
        if let Some(g) = self.garp_gen.get(&id) {
            g.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// Addresses of ours that a previous run left behind (a crash leaves VIPs up, so two
    /// hosts would answer). Removed unless the instance is an owner that starts as master.
    pub async fn remove_leftovers(&mut self, router: &Router) {
        let present = match self.nl.addresses().await {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!("cannot list addresses: {e}");
                return;
            }
        };
        for inst in router.instances() {
            let c = inst.config();
            if c.priority == 255 && c.want_master {
                continue;
            }
            for v in self.vips(router, inst.id()) {
                let Some(l) = self.link(&v.dev).await else {
                    continue;
                };
                let left = present.iter().any(|a| {
                    a.ifindex == l.index && a.addr == v.addr && a.prefix_len == v.prefix_len
                });
                if left {
                    tracing::warn!(
                        "({}) {}/{} on {} was left behind by an earlier run: removing it until this node is master",
                        c.name, v.addr, v.prefix_len, v.dev
                    );
                    let lo = self
                        .extra_of(router, inst.id())
                        .lo_vips
                        .contains(&v.addr)
                        .then_some(v.addr);
                    self.job(Job::Leftover {
                        name: c.name.clone(),
                        lo,
                        vip: v.clone(),
                    });
                }
            }
        }
    }

    /// Someone removed an address: returns the instances it belonged to (the engine puts it
    /// back while they are MASTER — drift repair, where keepalived would re-elect).
    pub fn address_removed(&mut self, a: &lvsd_netif::Addr) -> Vec<InstanceId> {
        let mut hit = Vec::new();
        let Ok(mut map) = self.owned.lock() else {
            return hit;
        };
        for (id, owned) in map.iter_mut() {
            let before = owned.len();
            owned.retain(|o| {
                !matches!(o, super::addresses::Owned::Addr { ifindex, addr, prefix_len }
                    if *ifindex == a.ifindex && *addr == a.addr && *prefix_len == a.prefix_len)
            });
            if owned.len() != before {
                tracing::warn!("{}/{} was removed by someone else", a.addr, a.prefix_len);
                hit.push(*id);
            }
        }
        hit
    }

    pub fn ip_error(&mut self, reason: &'static str) {
        if self.log.allow(None, reason) {
            tracing::warn!("dropped a malformed IPv4 packet: {reason}");
        }
    }

    /// Queues a host change for the address worker (never waits).
    fn job(&self, job: Job) {
        if self.jobs.send(job).is_err() {
            tracing::error!("the address worker stopped: a VIP change is lost");
        }
    }

    /// Waits (bounded) until every queued host change is done.
    pub async fn barrier(&self, limit: std::time::Duration) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.job(Job::Barrier(tx));
        if tokio::time::timeout(limit, rx).await.is_err() {
            tracing::warn!("address changes still pending after {limit:?}");
        }
    }

    /// Lets the queued host changes and the last sends go out before the thread ends.
    pub async fn finish(&mut self) {
        self.barrier(std::time::Duration::from_secs(3)).await;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

fn extras(plan: &Plan) -> HashMap<String, super::plan::InstancePlan> {
    plan.instances
        .iter()
        .zip(&plan.extra)
        .map(|(i, e)| (i.name.clone(), e.clone()))
        .collect()
}
