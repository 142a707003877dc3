//! Carrying out the core's actions on the real network: adverts on raw sockets, addresses,
//! routes and rules over rtnetlink, gratuitous ARP / NA, notifications.

use super::engine::Input;
use super::plan::{Plan, Vip};
use super::ratelimit::RateLimit;
use super::NotifyRequest;
use lvsd_netif::{AddrSpec, Netlink, VrrpSocket};
use lvsd_vrrp::config::AuthConfig;
use lvsd_vrrp::event::InstanceId;
use lvsd_vrrp::packet::{self, ipv4, Family};
use lvsd_vrrp::{Action, InstanceConfig, Router};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

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

#[derive(Debug, Clone, Copy)]
struct LinkInfo {
    index: u32,
    up: bool,
    mac: Option<[u8; 6]>,
}

/// An address, route or rule this run installed (and so may remove).
#[derive(Debug, Clone, PartialEq)]
enum Owned {
    Addr {
        ifindex: u32,
        addr: IpAddr,
        prefix_len: u8,
    },
    Route(lvsd_netif::RouteSpec),
    Rule(lvsd_netif::RuleSpec),
}

pub struct Io {
    nl: Netlink,
    sockets: HashMap<SocketKey, Arc<VrrpSocket>>,
    input: mpsc::UnboundedSender<Input>,
    notify: mpsc::UnboundedSender<NotifyRequest>,
    plan: Plan,
    /// Per instance name (survives reloads: a deleted instance keeps its entry).
    extra: HashMap<String, super::plan::InstancePlan>,
    links: HashMap<String, LinkInfo>,
    owned: HashMap<InstanceId, Vec<Owned>>,
    ip_id: HashMap<InstanceId, u16>,
    group_state: HashMap<lvsd_vrrp::GroupId, lvsd_vrrp::State>,
    log: RateLimit,
    /// Per instance, bumped when it leaves MASTER: a gratuitous burst of an older
    /// generation stops at once.
    garp_gen: HashMap<InstanceId, Arc<AtomicU64>>,
    /// Every instance's state, for the reconciler and the health task (issue 14).
    states: watch::Sender<super::world::States>,
    /// Colocated VIPs this engine put on `lo`, for the reconciler to record as lvsd's.
    lo_added: super::LoAdded,
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
        let mut io = Io {
            nl,
            sockets: HashMap::new(),
            input,
            notify,
            plan: plan.clone(),
            extra: extras(plan),
            links: HashMap::new(),
            owned: HashMap::new(),
            ip_id: HashMap::new(),
            group_state: HashMap::new(),
            log: RateLimit::new(std::time::Duration::from_secs(10)),
            garp_gen: HashMap::new(),
            states,
            lo_added,
            stopping: false,
            payload: Vec::with_capacity(1500),
            packet: Vec::with_capacity(1500),
            transitions: HashMap::new(),
        };
        io.refresh_links().await;
        io.open_sockets()?;
        io.watch_netlink().await?;
        Ok(io)
    }

    async fn refresh_links(&mut self) {
        match self.nl.links().await {
            Ok(links) => {
                self.links = links
                    .into_iter()
                    .map(|l| {
                        (
                            l.name.clone(),
                            LinkInfo {
                                index: l.index,
                                up: l.up,
                                mac: l.mac,
                            },
                        )
                    })
                    .collect()
            }
            Err(e) => tracing::error!("netlink: cannot list links: {e}"),
        }
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

    /// Opens (once) the sockets every instance needs and starts a receive task for each.
    fn open_sockets(&mut self) -> Result<(), String> {
        let mut groups: HashMap<SocketKey, Vec<IpAddr>> = HashMap::new();
        for c in &self.plan.instances {
            let g = groups.entry(SocketKey::of(c)).or_default();
            if !c.is_unicast() && !g.contains(&c.mcast_group) {
                g.push(c.mcast_group);
            }
        }
        for (key, groups) in groups {
            if self.sockets.contains_key(&key) {
                continue;
            }
            let ifname = key.interface.as_deref();
            let sock = match key.family {
                Family::V4 => {
                    let g: Vec<Ipv4Addr> = groups
                        .iter()
                        .filter_map(|a| match a {
                            IpAddr::V4(a) => Some(*a),
                            _ => None,
                        })
                        .collect();
                    if key.ah {
                        VrrpSocket::open_v4_ah(ifname, &g)
                    } else {
                        VrrpSocket::open_v4(ifname, &g)
                    }
                }
                Family::V6 => {
                    let g: Vec<Ipv6Addr> = groups
                        .iter()
                        .filter_map(|a| match a {
                            IpAddr::V6(a) => Some(*a),
                            _ => None,
                        })
                        .collect();
                    VrrpSocket::open_v6(ifname, &g)
                }
            }
            .map_err(|e| format!("VRRP socket on {}: {e}", ifname.unwrap_or("(any)")))?;
            let sock = Arc::new(sock);
            self.sockets.insert(key.clone(), sock.clone());
            let tx = self.input.clone();
            tokio::spawn(receive(sock, key, tx));
        }
        Ok(())
    }

    pub async fn reconfigure(&mut self, plan: &Plan, _router: &Router) -> Result<(), String> {
        self.plan = plan.clone();
        self.extra.extend(extras(plan));
        self.refresh_links().await;
        self.open_sockets()
    }

    async fn link(&mut self, name: &str) -> Option<LinkInfo> {
        if let Some(l) = self.links.get(name) {
            return Some(*l);
        }
        match self.nl.link_by_name(name).await {
            Ok(Some(l)) => {
                let info = LinkInfo {
                    index: l.index,
                    up: l.up,
                    mac: l.mac,
                };
                self.links.insert(name.to_string(), info);
                Some(info)
            }
            _ => None,
        }
    }

    pub async fn link_up(&mut self, name: &str) -> bool {
        self.link(name).await.is_some_and(|l| l.up)
    }

    /// Records a link event; returns whether the state changed.
    pub fn link_changed(&mut self, name: &str, up: bool) -> bool {
        match self.links.get_mut(name) {
            Some(l) if l.up == up => false,
            Some(l) => {
                l.up = up;
                true
            }
            None => true,
        }
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
            Action::AddAddresses { instance } => self.add_addresses(router, *instance).await,
            Action::RemoveAddresses { instance } => {
                // a colocated VIP goes on lo before it leaves the interface: no moment
                // without it, so a connection forwarded here meanwhile is still served
                self.cancel_gratuitous(*instance);
                self.colocated_to_lo(router, *instance, None).await;
                self.remove_addresses(*instance).await
            }
            Action::SendGratuitous { instance, count } => {
                self.gratuitous(router, *instance, *count).await
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
                    (std::time::Instant::now(), *from, *to, format!("{reason:?}")),
                );
                tracing::info!(
                    instance = %name,
                    "({name}) {} -> {} ({reason:?}), priority {priority}",
                    from.name(),
                    to.name()
                );
                let _ = self.notify.send(NotifyRequest::Instance {
                    name,
                    from: *from,
                    to: *to,
                    priority: *priority,
                    reason: format!("{reason:?}"),
                    scripts: self.scripts_of(router, *instance),
                    deleted: *reason == lvsd_vrrp::Reason::Deleted,
                });
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

    async fn send_advert(
        &mut self,
        router: &Router,
        id: InstanceId,
        advert: &packet::Advert,
        ah_seq: Option<u32>,
    ) {
        let inst = router.instance(id);
        let cfg = inst.config();
        let Some(src) = inst.source_address() else {
            return;
        };
        let Some(sock) = self.sockets.get(&SocketKey::of(cfg)).cloned() else {
            return;
        };
        let dsts: Vec<IpAddr> = if cfg.is_unicast() {
            cfg.unicast_peers.iter().map(|p| p.addr).collect()
        } else {
            vec![cfg.mcast_group]
        };
        let ifindex = match cfg.interface.as_deref() {
            Some(n) => self.link(n).await.map(|l| l.index).unwrap_or(0),
            None => 0,
        };
        for dst in dsts {
            self.payload.clear();
            advert.encode(cfg.pseudo_header(src, dst), &mut self.payload);
            let r = match (src, dst) {
                (IpAddr::V4(s), IpAddr::V4(d)) => {
                    let ip_id = self.next_ip_id(id);
                    let mut hdr = ipv4::Ipv4Out::keepalived(s, d, ip_id);
                    if cfg.is_unicast() {
                        hdr.ttl = cfg.unicast_ttl;
                    }
                    self.packet.clear();
                    let ah = match (&cfg.auth, ah_seq) {
                        (AuthConfig::Ah(key), Some(seq)) => Some(packet::ah::AhOut {
                            key,
                            spi: u32::from(s),
                            seq,
                        }),
                        _ => None,
                    };
                    ipv4::build_ipv4(&hdr, &self.payload, ah, &mut self.packet);
                    sock.send_v4(&self.packet, d).await
                }
                (IpAddr::V6(s), IpAddr::V6(d)) => sock.send_v6(&self.payload, s, d, ifindex).await,
                _ => Ok(()),
            };
            if let Err(e) = r {
                if self.log.allow(Some(id), "send") {
                    tracing::warn!("({}) cannot send advert to {dst}: {e}", cfg.name);
                }
            }
        }
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

    /// Makes the instance's installed addresses, routes and rules match the configuration.
    async fn add_addresses(&mut self, router: &Router, id: InstanceId) {
        let mut want = Vec::new();
        for v in self.vips(router, id) {
            let Some(l) = self.link(&v.dev).await else {
                tracing::error!(
                    "cannot add {}/{}: no interface {}",
                    v.addr,
                    v.prefix_len,
                    v.dev
                );
                continue;
            };
            let spec = AddrSpec {
                ifindex: l.index,
                addr: v.addr,
                prefix_len: v.prefix_len,
                broadcast: v.broadcast,
                label: v.label.clone(),
                scope: v.scope,
                peer: v.peer,
                nodad: v.addr.is_ipv6(),
                noprefixroute: v.noprefixroute,
                preferred_lft: v.preferred_lft,
            };
            let owned = Owned::Addr {
                ifindex: l.index,
                addr: v.addr,
                prefix_len: v.prefix_len,
            };
            match self.nl.add_address(&spec).await {
                Ok(added) => {
                    let mine = self.owned.get(&id).is_some_and(|o| o.contains(&owned));
                    if added || mine {
                        want.push(owned);
                    }
                    if added {
                        tracing::info!("added {}/{} to {}", v.addr, v.prefix_len, v.dev);
                    }
                }
                Err(e) => {
                    tracing::error!("cannot add {}/{} to {}: {e}", v.addr, v.prefix_len, v.dev)
                }
            }
        }
        let extra = self.extra_of(router, id);
        for words in &extra.routes {
            match lvsd_netif::parse_route(words) {
                Ok(r) => match self.nl.add_route(&r).await {
                    Ok(_) => want.push(Owned::Route(r)),
                    Err(e) => tracing::error!("cannot add route {}: {e}", words.join(" ")),
                },
                Err(e) => tracing::error!("route {}: {e}", words.join(" ")),
            }
        }
        for words in &extra.rules {
            match lvsd_netif::parse_rule(words) {
                Ok(r) => match self.nl.add_rule(&r).await {
                    Ok(_) => want.push(Owned::Rule(r)),
                    Err(e) => tracing::error!("cannot add rule {}: {e}", words.join(" ")),
                },
                Err(e) => tracing::error!("rule {}: {e}", words.join(" ")),
            }
        }
        // Anything installed before but no longer configured (a reload) goes.
        let old = self.owned.insert(id, want.clone()).unwrap_or_default();
        for o in old.into_iter().filter(|o| !want.contains(o)) {
            self.remove(o).await;
        }
    }

    async fn remove(&mut self, o: Owned) {
        match o {
            Owned::Addr {
                ifindex,
                addr,
                prefix_len,
            } => match self.nl.del_address(ifindex, addr, prefix_len).await {
                Ok(_) => tracing::info!("removed {addr}/{prefix_len}"),
                Err(e) => tracing::error!("cannot remove {addr}/{prefix_len}: {e}"),
            },
            Owned::Route(r) => {
                if let Err(e) = self.nl.del_route(&r).await {
                    tracing::error!("cannot remove route: {e}");
                }
            }
            Owned::Rule(r) => {
                if let Err(e) = self.nl.del_rule(&r).await {
                    tracing::error!("cannot remove rule: {e}");
                }
            }
        }
    }

    /// The colocated VIPs of an instance (issue 8) go on `lo` (/32 or /128, label `lo:lvsd`)
    /// before they leave the interface: no moment without them, so a connection another
    /// director forwards here meanwhile is served locally. One rtnetlink request each, no
    /// dump; the ARP sysctls and the state file record are the reconciler's (it follows the
    /// state change a moment later). `only`: just that VIP.
    async fn colocated_to_lo(&mut self, router: &Router, id: InstanceId, only: Option<IpAddr>) {
        if self.plan.config.global.colocated_on_stop_remove && self.stopping {
            return;
        }
        let vips = self.extra_of(router, id).lo_vips;
        if vips.is_empty() {
            return;
        }
        let Some(lo) = self.link("lo").await else {
            return;
        };
        for ip in vips.into_iter().filter(|ip| only.is_none_or(|o| o == *ip)) {
            let mut spec = AddrSpec::new(lo.index, ip, if ip.is_ipv4() { 32 } else { 128 });
            if ip.is_ipv4() {
                spec.label = Some(super::colocated::LABEL.to_string());
            }
            spec.nodad = ip.is_ipv6();
            match self.nl.add_address(&spec).await {
                Ok(true) => {
                    if let Ok(mut s) = self.lo_added.lock() {
                        s.insert(ip);
                    }
                    tracing::info!(
                        "({}) {ip} on lo: serving as a real server while not MASTER",
                        router.instance(id).name()
                    )
                }
                Ok(false) => {}
                Err(e) => tracing::error!("({}) {ip} on lo: {e}", router.instance(id).name()),
            }
        }
    }

    /// Rules, then routes, then addresses (keepalived's order); only what this run added.
    async fn remove_addresses(&mut self, id: InstanceId) {
        let mut owned = self.owned.remove(&id).unwrap_or_default();
        owned.sort_by_key(|o| match o {
            Owned::Rule(_) => 0,
            Owned::Route(_) => 1,
            Owned::Addr { .. } => 2,
        });
        for o in owned {
            self.remove(o).await;
        }
    }

    /// Sends `count` gratuitous ARPs / unsolicited NAs per VIP, spaced by garp_interval,
    /// from a task of its own so that the engine is not held up.
    async fn gratuitous(&mut self, router: &Router, id: InstanceId, count: u32) {
        let mut jobs = Vec::new();
        for v in self.vips(router, id) {
            if let Some(l) = self.link(&v.dev).await {
                if let Some(mac) = l.mac {
                    jobs.push((l.index, mac, v.addr));
                }
            }
        }
        let gap = self.plan.garp_interval;
        let generation = self.garp_gen.entry(id).or_default().clone();
        let mine = generation.load(Ordering::Acquire);
        tokio::spawn(async move {
            for n in 0..count {
                if n > 0 && !gap.is_zero() {
                    tokio::time::sleep(gap).await;
                }
                // the instance left MASTER since: not one more announcement
                if generation.load(Ordering::Acquire) != mine {
                    return;
                }
                for (ifindex, mac, addr) in &jobs {
                    let r = match addr {
                        IpAddr::V4(a) => lvsd_netif::send_garp(*ifindex, *mac, *a),
                        IpAddr::V6(a) => lvsd_netif::send_unsolicited_na(*ifindex, *mac, *a),
                    };
                    if let Err(e) = r {
                        tracing::warn!("gratuitous ARP/NA for {addr}: {e}");
                    }
                }
            }
        });
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
                    self.colocated_to_lo(router, inst.id(), Some(v.addr)).await;
                    if let Err(e) = self.nl.del_address(l.index, v.addr, v.prefix_len).await {
                        tracing::error!("cannot remove {}/{}: {e}", v.addr, v.prefix_len);
                    }
                }
            }
        }
    }

    /// Someone removed an address: returns the instances it belonged to (the engine puts it
    /// back while they are MASTER — drift repair, where keepalived would re-elect).
    pub fn address_removed(&mut self, a: &lvsd_netif::Addr) -> Vec<InstanceId> {
        let mut hit = Vec::new();
        for (id, owned) in self.owned.iter_mut() {
            let before = owned.len();
            owned.retain(|o| {
                !matches!(o, Owned::Addr { ifindex, addr, prefix_len }
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

    /// Lets spawned GARP tasks and the last sends go out before the thread ends.
    pub async fn finish(&mut self) {
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

async fn receive(sock: Arc<VrrpSocket>, key: SocketKey, tx: mpsc::UnboundedSender<Input>) {
    let mut buf = vec![0u8; 65536];
    loop {
        let r = match key.family {
            Family::V4 => sock.recv_v4(&mut buf).await.map(|n| (n, None)),
            Family::V6 => sock.recv_v6(&mut buf).await.map(|m| (m.len, Some(m))),
        };
        match r {
            Ok((n, v6)) => {
                let input = Input::Packet {
                    key: key.clone(),
                    bytes: buf[..n.min(buf.len())].to_vec(),
                    v6,
                };
                if tx.send(input).is_err() {
                    return;
                }
            }
            Err(e) => {
                tracing::warn!("VRRP socket {:?}: {e}", key.interface);
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}
