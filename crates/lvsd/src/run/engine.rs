//! The VRRP engine: one OS thread with its own single-threaded tokio runtime, so that nothing
//! else in the process (checkers, scripts, the control socket) can delay an advert.
//!
//! It owns the [`Router`] (the sans-IO core), the raw VRRP sockets and the netlink handle, and
//! turns the core's actions into packets, addresses and notifications.

use super::apply::{Io, SocketKey};
use super::plan::Plan;
use super::status;
use lvsd_netif::NetEvent;
use lvsd_vrrp::event::{AhRx, Event, InstanceId, Received};
use lvsd_vrrp::packet::{self, Family};
use lvsd_vrrp::track::{TrackerId, TrackerKind, TrackerStatus};
use lvsd_vrrp::{Action, Router, Time};
use std::net::IpAddr;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// What the rest of the daemon can ask of the engine.
pub enum Control {
    /// Priority-0 adverts, addresses removed, STOP notifies; the engine then exits.
    Shutdown,
    /// A new, validated configuration.
    Reload(Box<Plan>),
    /// A snapshot of every instance.
    Status(oneshot::Sender<crate::proto::VrrpStatus>),
    /// An operator's demote, promote or release of these instances (already recorded in
    /// the overrides); the reply says what each did.
    Operator {
        names: Vec<String>,
        op: lvsd_vrrp::Operator,
        by: String,
        reply: oneshot::Sender<Vec<String>>,
    },
}

/// Everything that wakes the engine.
pub enum Input {
    Control(Control),
    Tracker(TrackerId, TrackerStatus),
    Packet {
        key: SocketKey,
        bytes: Vec<u8>,
        /// IPv6 only (IPv4 metadata is in the packet's own header).
        v6: Option<lvsd_netif::Recv6>,
    },
    Net(NetEvent),
}

/// The engine's thread: joined at shutdown; `ended` resolves when it ends on its own.
pub struct EngineThread {
    pub handle: std::thread::JoinHandle<()>,
    pub ended: oneshot::Receiver<()>,
}

pub struct Engine {
    router: Router,
    io: Io,
    epoch: Instant,
    rx: mpsc::UnboundedReceiver<Input>,
    deadline: Option<Time>,
    out: Vec<Action>,
    overrides: super::overrides::Overrides,
}

impl Engine {
    /// Starts the engine thread; returns the sender for its inputs and the thread handle.
    pub fn spawn(
        plan: Plan,
        notify: mpsc::UnboundedSender<super::NotifyRequest>,
        states: tokio::sync::watch::Sender<super::world::States>,
        lo_added: super::LoAdded,
        overrides: super::overrides::Overrides,
    ) -> std::io::Result<(mpsc::UnboundedSender<Input>, EngineThread)> {
        let (tx, rx) = mpsc::unbounded_channel();
        let tx2 = tx.clone();
        let (ended_tx, ended) = oneshot::channel::<()>();
        let handle = std::thread::Builder::new()
            .name("vrrp".into())
            .spawn(move || {
                // dropped when the thread ends, however it ends: the main loop wakes
                let _ended = ended_tx;
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        tracing::error!("vrrp engine: cannot build its runtime: {e}");
                        return;
                    }
                };
                rt.block_on(async move {
                    match Io::new(&plan, tx2, notify, states, lo_added).await {
                        Ok(io) => {
                            let router = Router::new(plan.instances.clone(), plan.groups.clone());
                            let mut e = Engine {
                                router,
                                io,
                                epoch: Instant::now(),
                                rx,
                                deadline: None,
                                out: Vec::with_capacity(32),
                                overrides,
                            };
                            e.run().await;
                        }
                        Err(e) => tracing::error!("vrrp engine: {e}"),
                    }
                });
            })?;
        Ok((tx, EngineThread { handle, ended }))
    }

    fn now(&self) -> Time {
        Time::from_micros(self.epoch.elapsed().as_micros() as u64)
    }

    async fn handle(&mut self, event: Event<'_>) {
        let now = self.now();
        self.out.clear();
        self.router.handle(event, now, &mut self.out);
        self.apply_out().await;
    }

    async fn apply_out(&mut self) {
        let actions = std::mem::take(&mut self.out);
        for a in &actions {
            if let Action::ArmTimer { at } = a {
                self.deadline = Some(*at);
            }
            self.io.apply(&self.router, a).await;
        }
        self.out = actions;
        // The router only reports changes; keep our deadline in step with it.
        self.deadline = self.router.next_deadline();
    }

    /// Reports an instance's link state and source address (before it starts).
    async fn report_instance(&mut self, id: InstanceId) {
        let cfg = self.router.instance(id).config().clone();
        if let Some(ifname) = cfg.interface.clone() {
            let up = self.io.link_up(&ifname).await;
            self.handle(Event::Interface { name: &ifname, up }).await;
        }
        let addr = match cfg.src_addr {
            Some(a) => Some(a),
            None => self.io.primary_address(&cfg).await,
        };
        self.handle(Event::SourceAddress { instance: id, addr })
            .await;
    }

    async fn startup(&mut self) {
        for i in 0..self.router.instances().len() {
            self.report_instance(InstanceId(i as u16)).await;
        }
        // Tracked interfaces report their current state.
        let tracked: Vec<String> = self
            .router
            .instances()
            .iter()
            .flat_map(|i| i.config().trackers.iter())
            .filter(|t| t.id.kind == TrackerKind::Interface)
            .map(|t| t.id.name.clone())
            .collect();
        for name in tracked {
            let up = self.io.link_up(&name).await;
            let status = if up {
                TrackerStatus::Up
            } else {
                TrackerStatus::Down
            };
            self.handle(Event::Tracker {
                id: TrackerId::new(TrackerKind::Interface, &name),
                status,
            })
            .await;
        }
        self.io.remove_leftovers(&self.router).await;
        self.demote_held(0).await;
        self.handle(Event::Startup).await;
    }

    /// Instances from `first` on that an operator demoted (in an earlier run, or before a
    /// reload re-created them) are demoted before they start: they never send an advert
    /// as master.
    async fn demote_held(&mut self, first: usize) {
        let held = self.overrides.demoted_names();
        let ids: Vec<InstanceId> = self.router.instances()[first..]
            .iter()
            .filter(|i| !i.is_deleted() && !i.demoted() && held.iter().any(|n| n == i.name()))
            .map(|i| i.id())
            .collect();
        for id in ids {
            tracing::info!(
                "({}) demoted by an operator (kept in the state directory): stays BACKUP until `lvsd vrrp promote|release`",
                self.router.instance(id).name()
            );
            self.handle(Event::Operator {
                instance: id,
                op: lvsd_vrrp::Operator::Demote,
            })
            .await;
        }
    }

    /// An operator's demote, promote or release.
    async fn operator(
        &mut self,
        names: &[String],
        op: lvsd_vrrp::Operator,
        by: &str,
    ) -> Vec<String> {
        let mut lines = Vec::new();
        for name in names {
            let Some(id) = self
                .router
                .instances()
                .iter()
                .find(|i| !i.is_deleted() && i.name() == name)
                .map(|i| i.id())
            else {
                lines.push(format!("{name}: no such instance now"));
                continue;
            };
            let before = self.router.instance(id).state();
            let was = self.router.instance(id).demoted();
            self.handle(Event::Operator { instance: id, op }).await;
            let after = self.router.instance(id).state();
            let what = match op {
                lvsd_vrrp::Operator::Demote if was => "already demoted".to_string(),
                lvsd_vrrp::Operator::Demote if before == lvsd_vrrp::State::Master => format!(
                    "demoted: handed over (priority-0 advert), now {}; stays BACKUP until `lvsd vrrp promote|release {name}`",
                    after.name()
                ),
                lvsd_vrrp::Operator::Demote => format!(
                    "demoted: {} and stays BACKUP until `lvsd vrrp promote|release {name}`",
                    after.name()
                ),
                lvsd_vrrp::Operator::Promote => format!(
                    "promoted: {}; takes over if its priority is the best (preempting once, nopreempt and preempt_delay aside)",
                    after.name()
                ),
                lvsd_vrrp::Operator::Release => format!(
                    "released: {}; follows its configuration",
                    after.name()
                ),
            };
            tracing::info!(instance = %name, by = %by, "({name}) {what}, by {by}");
            super::events::emit("vrrp_override", || {
                serde_json::json!({
                    "instance": name,
                    "action": format!("{op:?}").to_lowercase(),
                    "state": after.name(),
                    "by": by,
                })
            });
            lines.push(format!("{name}: {what}"));
        }
        lines
    }

    async fn run(&mut self) {
        self.startup().await;
        loop {
            let sleep_until = self
                .deadline
                .map(|t| self.epoch + Duration::from_micros(t.as_micros()));
            let input = tokio::select! {
                i = self.rx.recv() => i,
                _ = sleep(sleep_until) => {
                    self.handle(Event::Timer).await;
                    continue;
                }
            };
            let Some(input) = input else { break };
            match input {
                Input::Packet { key, bytes, v6 } => self.packet(&key, &bytes, v6).await,
                Input::Tracker(id, status) => self.handle(Event::Tracker { id, status }).await,
                Input::Net(ev) => self.net_event(ev).await,
                Input::Control(Control::Status(reply)) => {
                    let _ = reply.send(status::snapshot(
                        &self.router,
                        self.now(),
                        &self.io.transitions,
                    ));
                }
                Input::Control(Control::Reload(plan)) => self.reload(*plan).await,
                Input::Control(Control::Operator {
                    names,
                    op,
                    by,
                    reply,
                }) => {
                    let lines = self.operator(&names, op, &by).await;
                    let _ = reply.send(lines);
                }
                Input::Control(Control::Shutdown) => {
                    self.io.stopping = true;
                    self.handle(Event::Shutdown).await;
                    self.io.finish().await;
                    break;
                }
            }
        }
    }

    async fn packet(&mut self, key: &SocketKey, bytes: &[u8], v6: Option<lvsd_netif::Recv6>) {
        match (key.family, v6) {
            (Family::V4, _) => {
                let p = match packet::ipv4::parse_ipv4(bytes) {
                    Ok(p) => p,
                    Err(e) => {
                        self.io.ip_error(e.reason());
                        return;
                    }
                };
                let ah = p.ah.map(|h| AhRx {
                    packet: bytes,
                    seq: h.seq,
                });
                let rx = Received {
                    src: IpAddr::V4(p.src),
                    dst: IpAddr::V4(p.dst),
                    ttl: p.ttl,
                    interface: key.interface.as_deref(),
                    ah,
                    payload: p.vrrp,
                };
                let now = self.now();
                self.out.clear();
                self.router.handle(Event::Advert(rx), now, &mut self.out);
                self.apply_out().await;
            }
            (Family::V6, Some(m)) => {
                let len = m.len.min(bytes.len());
                let rx = Received {
                    src: IpAddr::V6(m.src),
                    dst: IpAddr::V6(m.dst),
                    ttl: m.hop_limit,
                    interface: key.interface.as_deref(),
                    ah: None,
                    payload: &bytes[..len],
                };
                let now = self.now();
                self.out.clear();
                self.router.handle(Event::Advert(rx), now, &mut self.out);
                self.apply_out().await;
            }
            (Family::V6, None) => {}
        }
    }

    async fn net_event(&mut self, ev: NetEvent) {
        match ev {
            NetEvent::Link { name, up, .. } => {
                if !self.io.link_changed(&name, up) {
                    return;
                }
                tracing::info!("link {name} is {}", if up { "up" } else { "down" });
                self.handle(Event::Interface { name: &name, up }).await;
                let id = TrackerId::new(TrackerKind::Interface, &name);
                let status = if up {
                    TrackerStatus::Up
                } else {
                    TrackerStatus::Down
                };
                self.handle(Event::Tracker { id, status }).await;
            }
            NetEvent::AddrRemoved(a) => {
                // A source address that disappears drives FAULT (keepalived: no source IP).
                let ids: Vec<InstanceId> = self
                    .router
                    .instances()
                    .iter()
                    .filter(|i| i.source_address() == Some(a.addr))
                    .map(|i| i.id())
                    .collect();
                for id in ids {
                    let cfg = self.router.instance(id).config().clone();
                    if cfg.src_addr.is_some() {
                        continue;
                    }
                    let addr = self.io.primary_address(&cfg).await;
                    self.handle(Event::SourceAddress { instance: id, addr })
                        .await;
                }
                for id in self.io.address_removed(&a) {
                    let inst = self.router.instance(id);
                    if inst.state() == lvsd_vrrp::State::Master {
                        tracing::warn!(
                            "({}) putting {} back: this node is master",
                            inst.name(),
                            a.addr
                        );
                        self.reinstall(id, true).await;
                    }
                }
            }
            NetEvent::AddrAdded(a) => {
                let ids: Vec<InstanceId> = self
                    .router
                    .instances()
                    .iter()
                    .filter(|i| i.source_address().is_none() && i.config().src_addr.is_none())
                    .map(|i| i.id())
                    .collect();
                for id in ids {
                    let cfg = self.router.instance(id).config().clone();
                    let addr = self.io.primary_address(&cfg).await;
                    if addr.is_some() {
                        self.handle(Event::SourceAddress { instance: id, addr })
                            .await;
                    }
                }
                let _ = a;
            }
        }
    }

    async fn reload(&mut self, plan: Plan) {
        tracing::info!("reload: {} instance(s)", plan.instances.len());
        let now = self.now();
        self.out.clear();
        let before = self.router.instances().len();
        // the VRRP changes, the same list `lvsd reload --dry-run` printed (issue 22)
        let states: super::world::States = self
            .router
            .instances()
            .iter()
            .filter(|i| !i.is_deleted())
            .map(|i| (i.name().to_string(), i.state()))
            .collect();
        let changes = super::reload_plan::vrrp_changes(self.io.plan(), &plan, &states);
        self.router.reconfigure(
            plan.instances.clone(),
            plan.groups.clone(),
            now,
            &mut self.out,
        );
        if let Err(e) = self.io.reconfigure(&plan, &self.router).await {
            tracing::error!("reload: {e}");
        }
        self.apply_out().await;
        self.reinstall_changed(&changes).await;
        for c in &changes {
            tracing::info!("reload applied: {c}");
        }
        // Surviving instances without a configured source address take the interface's
        // (one that had unicast_src_ip keeps it until then); new instances report their link
        // and source address, then start.
        let survivors: Vec<InstanceId> = self.router.instances()[..before]
            .iter()
            .filter(|i| !i.is_deleted() && i.config().src_addr.is_none())
            .map(|i| i.id())
            .collect();
        for id in survivors {
            let cfg = self.router.instance(id).config().clone();
            let addr = self.io.primary_address(&cfg).await;
            if addr.is_some() && addr != self.router.instance(id).source_address() {
                self.handle(Event::SourceAddress { instance: id, addr })
                    .await;
            }
        }
        for i in before..self.router.instances().len() {
            self.report_instance(InstanceId(i as u16)).await;
        }
        self.demote_held(before).await;
        self.handle(Event::Startup).await;
    }
}

impl Engine {
    /// A MASTER that survives a reload installs its new addresses, routes and rules at once
    /// and announces the addresses it added: the changes that say so (reload_plan.rs). No
    /// transition.
    async fn reinstall_changed(&mut self, changes: &[super::reload_plan::Change]) {
        let mut names: Vec<&str> = changes
            .iter()
            .filter(|c| c.installs_now())
            .map(|c| c.scope.as_str())
            .collect();
        names.dedup();
        for name in names {
            let Some(id) = self
                .router
                .instances()
                .iter()
                .find(|i| i.name() == name && !i.is_deleted())
                .map(|i| i.id())
            else {
                continue;
            };
            if self.router.instance(id).state() != lvsd_vrrp::State::Master {
                continue;
            }
            let announce = changes.iter().any(|c| c.scope == name && c.announces());
            self.reinstall(id, announce).await;
        }
    }

    /// A MASTER's addresses, routes and rules installed again as configured (the address
    /// worker adds what is missing, removes what left), then announced when `announce`.
    async fn reinstall(&mut self, id: InstanceId, announce: bool) {
        self.io
            .apply(&self.router, &Action::AddAddresses { instance: id })
            .await;
        if announce {
            let count = self.router.instance(id).config().garp.master_repeat;
            self.io
                .apply(
                    &self.router,
                    &Action::SendGratuitous {
                        instance: id,
                        count,
                    },
                )
                .await;
        }
    }
}

async fn sleep(until: Option<Instant>) {
    match until {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}
