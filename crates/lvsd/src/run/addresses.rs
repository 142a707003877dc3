//! The VRRP engine's host changes — VIPs, virtual routes and rules, a colocated VIP's move to
//! `lo`, gratuitous ARP / NA bursts — carried out in order by a task of their own on the
//! engine's runtime (issue 14). The engine only queues them: it never waits for a netlink
//! reply, so a received advert reaches the state machine at once whatever is being changed.
//!
//! Order is the queue's: a burst follows the addresses it announces; a colocated VIP goes on
//! `lo` before it leaves the interface. A burst stops the moment its instance leaves MASTER
//! (the engine bumps the instance's generation synchronously, before queueing anything).

use super::links::{LinkInfo, Links};
use super::plan::Vip;
use lvsd_netif::{AddrSpec, Netlink};
use lvsd_vrrp::event::InstanceId;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// An address, route or rule this run installed (and so may remove).
#[derive(Debug, Clone, PartialEq)]
pub enum Owned {
    Addr {
        ifindex: u32,
        addr: IpAddr,
        prefix_len: u8,
    },
    Route(lvsd_netif::RouteSpec),
    Rule(lvsd_netif::RuleSpec),
}

/// What this run installed, per instance (shared with the engine, which watches for
/// addresses someone else removes).
pub type OwnedMap = Arc<Mutex<HashMap<InstanceId, Vec<Owned>>>>;

pub enum Job {
    /// Make the instance's addresses, routes and rules the configured ones.
    Install {
        id: InstanceId,
        name: String,
        vips: Vec<Vip>,
        routes: Vec<Vec<String>>,
        rules: Vec<Vec<String>>,
    },
    /// The instance leaves MASTER: `lo` VIPs first, then rules, routes, addresses.
    Uninstall {
        id: InstanceId,
        name: String,
        lo: Vec<IpAddr>,
    },
    /// An address an earlier run left: to `lo` first when colocated, then removed.
    Leftover {
        name: String,
        lo: Option<IpAddr>,
        vip: Vip,
    },
    Gratuitous {
        vips: Vec<Vip>,
        count: u32,
        gap: Duration,
        generation: Arc<AtomicU64>,
        mine: u64,
    },
    /// Replies once every job queued before it is done.
    Barrier(oneshot::Sender<()>),
}

struct Worker {
    nl: Netlink,
    links: Links,
    owned: OwnedMap,
    lo_added: super::LoAdded,
}

/// Starts the worker on the current (the engine's) runtime.
pub fn spawn(nl: Netlink, owned: OwnedMap, lo_added: super::LoAdded) -> mpsc::UnboundedSender<Job> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
    let mut w = Worker {
        links: Links::new(nl.clone()),
        nl,
        owned,
        lo_added,
    };
    tokio::spawn(async move {
        while let Some(job) = rx.recv().await {
            w.run(job).await;
        }
    });
    tx
}

impl Worker {
    async fn link(&mut self, name: &str) -> Option<LinkInfo> {
        self.links.get(name).await
    }

    async fn run(&mut self, job: Job) {
        match job {
            Job::Install {
                id,
                name,
                vips,
                routes,
                rules,
            } => self.install(id, &name, vips, &routes, &rules).await,
            Job::Uninstall { id, name, lo } => {
                self.onto_lo(&name, &lo).await;
                let mut owned = self
                    .owned
                    .lock()
                    .ok()
                    .and_then(|mut o| o.remove(&id))
                    .unwrap_or_default();
                // rules, then routes, then addresses (keepalived's order)
                owned.sort_by_key(|o| match o {
                    Owned::Rule(_) => 0,
                    Owned::Route(_) => 1,
                    Owned::Addr { .. } => 2,
                });
                for o in owned {
                    self.remove(o).await;
                }
            }
            Job::Leftover { name, lo, vip } => {
                if let Some(ip) = lo {
                    self.onto_lo(&name, &[ip]).await;
                }
                if let Some(l) = self.link(&vip.dev).await {
                    if let Err(e) = self.nl.del_address(l.index, vip.addr, vip.prefix_len).await {
                        tracing::error!("cannot remove {}/{}: {e}", vip.addr, vip.prefix_len);
                    }
                }
            }
            Job::Gratuitous {
                vips,
                count,
                gap,
                generation,
                mine,
            } => {
                if generation.load(Ordering::Acquire) != mine {
                    return;
                }
                let mut jobs = Vec::new();
                for v in vips {
                    if let Some(LinkInfo {
                        index,
                        mac: Some(mac),
                        ..
                    }) = self.link(&v.dev).await
                    {
                        jobs.push((index, mac, v.addr));
                    }
                }
                tokio::spawn(burst(jobs, count, gap, generation, mine));
            }
            Job::Barrier(done) => {
                let _ = done.send(());
            }
        }
    }

    async fn install(
        &mut self,
        id: InstanceId,
        name: &str,
        vips: Vec<Vip>,
        routes: &[Vec<String>],
        rules: &[Vec<String>],
    ) {
        let before = self
            .owned
            .lock()
            .ok()
            .and_then(|o| o.get(&id).cloned())
            .unwrap_or_default();
        let mut want = Vec::new();
        for v in vips {
            let Some(l) = self.link(&v.dev).await else {
                tracing::error!(
                    "({name}) cannot add {}/{}: no interface {}",
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
                    if added || before.contains(&owned) {
                        want.push(owned);
                    }
                    if added {
                        tracing::info!("({name}) added {}/{} to {}", v.addr, v.prefix_len, v.dev);
                    }
                }
                Err(e) => tracing::error!(
                    "({name}) cannot add {}/{} to {}: {e}",
                    v.addr,
                    v.prefix_len,
                    v.dev
                ),
            }
        }
        for words in routes {
            match lvsd_netif::parse_route(words) {
                Ok(r) => match self.nl.add_route(&r).await {
                    Ok(_) => want.push(Owned::Route(r)),
                    Err(e) => tracing::error!("({name}) cannot add route {}: {e}", words.join(" ")),
                },
                Err(e) => tracing::error!("({name}) route {}: {e}", words.join(" ")),
            }
        }
        for words in rules {
            match lvsd_netif::parse_rule(words) {
                Ok(r) => match self.nl.add_rule(&r).await {
                    Ok(_) => want.push(Owned::Rule(r)),
                    Err(e) => tracing::error!("({name}) cannot add rule {}: {e}", words.join(" ")),
                },
                Err(e) => tracing::error!("({name}) rule {}: {e}", words.join(" ")),
            }
        }
        // anything installed before but no longer configured (a reload) goes
        let old = self
            .owned
            .lock()
            .ok()
            .and_then(|mut o| o.insert(id, want.clone()))
            .unwrap_or_default();
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

    /// Colocated VIPs (issue 8) go on `lo` (/32 or /128, label `lo:lvsd`) before they leave
    /// the interface: no moment without them, so a connection another director forwards here
    /// meanwhile is served locally. The ARP sysctls and the state file record are the
    /// reconciler's (it follows the state change a moment later).
    async fn onto_lo(&mut self, name: &str, vips: &[IpAddr]) {
        if vips.is_empty() {
            return;
        }
        let Some(lo) = self.link("lo").await else {
            return;
        };
        for ip in vips {
            let mut spec = AddrSpec::new(lo.index, *ip, if ip.is_ipv4() { 32 } else { 128 });
            if ip.is_ipv4() {
                spec.label = Some(super::colocated::LABEL.to_string());
            }
            spec.nodad = ip.is_ipv6();
            match self.nl.add_address(&spec).await {
                Ok(true) => {
                    if let Ok(mut s) = self.lo_added.lock() {
                        s.insert(*ip);
                    }
                    tracing::info!(
                        "({name}) {ip} on lo: serving as a real server while not MASTER"
                    );
                }
                Ok(false) => {}
                Err(e) => tracing::error!("({name}) {ip} on lo: {e}"),
            }
        }
    }
}

/// `count` rounds of gratuitous ARPs / unsolicited NAs, `gap` apart, while the generation
/// is unchanged.
async fn burst(
    jobs: Vec<(u32, [u8; 6], IpAddr)>,
    count: u32,
    gap: Duration,
    generation: Arc<AtomicU64>,
    mine: u64,
) {
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
}
