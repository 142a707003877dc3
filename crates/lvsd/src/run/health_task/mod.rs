//! The health task (main runtime): checker state changes from the checker thread become real
//! server and quorum changes ([`Health`]), which become notify_up/notify_down and
//! quorum_up/quorum_down scripts (ordered per virtual server), LVS FIFO lines, SMTP alerts, and
//! a new desired IPVS table for the IPVS task. It also follows the VRRP instances' states for
//! ha_suspend and the sync daemon, and answers `status` and reload plans.
//!
//! The health task is the only sender of configuration and health to the IPVS task, so the
//! table is always computed from a configuration and the health of that same configuration.

use super::checks::Checks;
use super::plan::Plan;
use super::reconcile_task::Input as HostInput;
use super::world::States;
use lvsd_check::health::{CheckerId, Health, HealthEvent};
use lvsd_check::machine::CheckState;
use lvsd_check::pool::{Kept, PoolEvent, ProbeStatus};
use lvsd_check::spec;
use lvsd_config::model::{Config, VirtualServer, VsKey};
use lvsd_ipvs::Table;
use lvsd_scripts::{FifoSink, Notifier, ScriptUsers, SmtpAlerter};
use lvsd_vrrp::State;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

pub enum HealthInput {
    /// A validated new configuration (SIGHUP or `lvsd reload`); the reply is the host
    /// changes the reconciler carried out.
    Reload(Box<Plan>, oneshot::Sender<Vec<String>>),
    /// `lvsd reload --dry-run`: what the reload would do, as text lines.
    Preview(Box<Plan>, oneshot::Sender<Vec<String>>),
    Status(oneshot::Sender<crate::proto::LvsStatus>),
    /// Shutdown: omega notifications, stop the checkers, then the IPVS task.
    Stop(oneshot::Sender<()>),
    /// `lvsd rs drain|disable|enable`: what changed, or why nothing could.
    Rs(
        admin::RsCommand,
        oneshot::Sender<Result<Vec<String>, String>>,
    ),
}

pub mod admin;
pub(super) mod status;

pub struct Outputs {
    pub notifier: Notifier,
    pub fifo: FifoSink,
}

struct Task {
    plan: Plan,
    health: Health,
    /// When each real server last changed state.
    since: HashMap<(usize, usize), Instant>,
    checks: Option<Checks>,
    host: std::sync::mpsc::Sender<HostInput>,
    out: Outputs,
    smtp: Option<SmtpAlerter>,
    instances: States,
    suspended: HashSet<usize>,
    started: Instant,
    /// The probes of each checker that are down.
    down_probes: HashMap<CheckerId, HashSet<String>>,
    /// The health the reconciler has not taken yet.
    health_slot: super::reconcile_task::HealthSlot,
    /// Counts the configurations this task has run (a status gathered for an earlier one is
    /// gathered again).
    generation: u64,
    /// The checkers' pool's configuration count: a result sent before the pool took the last
    /// reload names the old configuration's checkers (its state is in the reload's `Kept`).
    pool_generation: u64,
    /// The operators' drains and disables.
    overrides: super::overrides::Overrides,
}

fn users_of(plan: &Plan) -> ScriptUsers {
    ScriptUsers::from_global(&plan.config.global).unwrap_or_else(|_| ScriptUsers::current())
}

fn probes_of(plan: &Plan) -> Vec<spec::Probe> {
    let (probes, errors) = spec::probes(&plan.config, &users_of(plan));
    for e in errors {
        tracing::error!("checker at line {}: {}; not run", e.line, e.message);
    }
    probes
}

fn proto(vs: &VirtualServer) -> String {
    vs.protocol
        .map(|p| format!("{p:?}").to_lowercase())
        .unwrap_or_else(|| "tcp".into())
}

/// keepalived's name of a virtual server in logs, FIFO lines and alerts.
pub fn vs_name(vs: &VirtualServer) -> String {
    let proto = proto(vs);
    match &vs.key {
        VsKey::Addr { ip, port } => format!("[{ip}]:{proto}:{port}"),
        VsKey::Fwmark { mark, .. } => format!("FWM {mark}"),
        VsKey::Group { name } => format!("[{name}]"),
    }
}

pub fn rs_name(vs: &VirtualServer, rs: usize) -> String {
    let r = &vs.real_servers[rs];
    let proto = proto(vs);
    let port = r.port.unwrap_or(match vs.key {
        VsKey::Addr { port, .. } => port,
        _ => 0,
    });
    format!("[{}]:{proto}:{port}", r.ip)
}

/// The reconciler's steps as plan lines.
fn host_lines(steps: Option<Vec<String>>) -> Vec<String> {
    match steps {
        Some(s) if s.is_empty() => vec!["host: no change".into()],
        Some(s) => s,
        None => vec!["host: the reconciler is not running".into()],
    }
}

/// Starts the health task: the checker thread, and the IPVS task's first table.
pub fn spawn(
    plan: &Plan,
    health: Health,
    overrides: super::overrides::Overrides,
    mut rx: mpsc::UnboundedReceiver<HealthInput>,
    host: std::sync::mpsc::Sender<HostInput>,
    mut states: tokio::sync::watch::Receiver<States>,
    out: Outputs,
) -> tokio::task::JoinHandle<()> {
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel::<PoolEvent>();
    let plan = plan.clone();
    let h = tokio::spawn(async move {
        let checks = match Checks::start(probes_of(&plan), ev_tx) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::error!(
                    "cannot start the checker thread: {e}; every real server counts as up"
                );
                None
            }
        };
        let mut t = Task {
            smtp: SmtpAlerter::from_global(&plan.config.global),
            plan,
            health,
            since: HashMap::new(),
            checks,
            host,
            out,
            instances: States::new(),
            suspended: HashSet::new(),
            started: Instant::now(),
            down_probes: HashMap::new(),
            health_slot: Default::default(),
            generation: 0,
            pool_generation: 0,
            overrides,
        };
        for c in t.plan.colocations.iter() {
            tracing::info!(
                "virtual server {}: this host is also one of its real servers{}",
                vs_name(&t.plan.config.virtual_servers[c.vs]),
                c.instance
                    .as_ref()
                    .map(|i| format!(" (VRRP instance {i} holds the VIP)"))
                    .unwrap_or_default()
            );
        }
        let initial = t.health.initial_events();
        t.handle_events(initial);
        t.update_suspend();
        // statuses whose inputs are being gathered, and the channel they come back on
        let (status_tx, mut status_rx) = tokio::sync::mpsc::unbounded_channel::<(
            status::StatusInputs,
            oneshot::Sender<crate::proto::LvsStatus>,
        )>();
        let gather = |t: &Task, reply: oneshot::Sender<crate::proto::LvsStatus>| {
            let inputs = t.status_inputs();
            let back = status_tx.clone();
            tokio::spawn(async move {
                let _ = back.send((inputs.await, reply));
            });
        };
        // while a drain runs: its connections, once a second
        let mut drain_tick = tokio::time::interval(Duration::from_secs(1));
        drain_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut draining = t.draining();
        loop {
            tokio::select! {
                _ = drain_tick.tick(), if draining => {
                    t.check_drains().await;
                    draining = t.draining();
                }
                Some((inputs, reply)) = status_rx.recv() => {
                    if inputs.generation == t.generation {
                        let _ = reply.send(t.build_status(inputs));
                    } else {
                        gather(&t, reply); // a reload came in between: its indices differ
                    }
                }
                ev = ev_rx.recv() => {
                    let Some(ev) = ev else { break };
                    let mut out = Vec::new();
                    t.pool_event(ev, &mut out);
                    // coalesce a burst of changes into one table update
                    while let Ok(ev) = ev_rx.try_recv() {
                        t.pool_event(ev, &mut out);
                    }
                    if !out.is_empty() {
                        t.handle_events(out);
                    }
                }
                r = states.changed() => {
                    if r.is_ok() {
                        t.instances = states.borrow_and_update().clone();
                        t.update_suspend();
                    }
                }
                input = rx.recv() => {
                    match input {
                        None => break,
                        Some(HealthInput::Reload(p, reply)) => {
                            let _ = reply.send(t.reload(*p).await);
                            draining = t.draining();
                        }
                        Some(HealthInput::Preview(p, reply)) => {
                            let _ = reply.send(t.preview(&p).await);
                        }
                        Some(HealthInput::Status(reply)) => gather(&t, reply),
                        Some(HealthInput::Rs(c, reply)) => {
                            let _ = reply.send(t.rs_command(c));
                            draining = t.draining();
                        }
                        Some(HealthInput::Stop(reply)) => {
                            t.stop().await;
                            let _ = reply.send(());
                            break;
                        }
                    }
                }
            }
        }
    });
    h
}

impl Task {
    fn send_host(&self, input: HostInput) {
        let _ = self.host.send(input);
    }

    fn pool_event(&mut self, ev: PoolEvent, out: &mut Vec<HealthEvent>) {
        let (PoolEvent::State { generation, .. } | PoolEvent::Weight { generation, .. }) = &ev;
        if *generation < self.pool_generation {
            // of the configuration before the last reload: its indices are the old ones
            return;
        }
        match ev {
            PoolEvent::State {
                probe,
                users,
                state,
                ..
            } => {
                for u in users {
                    if !self.valid(u) {
                        continue;
                    }
                    // a checker with several probes is down while any of them is
                    let down = self.down_probes.entry(u).or_default();
                    match state {
                        CheckState::Down => down.insert(probe.clone()),
                        CheckState::Up => down.remove(&probe),
                    };
                    let state = if down.is_empty() {
                        CheckState::Up
                    } else {
                        CheckState::Down
                    };
                    self.health.checker(u, state, out);
                }
            }
            PoolEvent::Weight {
                users,
                weight,
                relative,
                ..
            } => {
                for u in users {
                    if self.valid(u) {
                        let weight = if relative {
                            let base =
                                self.plan.config.virtual_servers[u.vs].real_servers[u.rs].weight;
                            base.saturating_add(weight).max(0)
                        } else {
                            weight
                        };
                        self.health.dynamic_weight(u.vs, u.rs, weight, out);
                    }
                }
            }
        }
    }

    /// An event from before a reload may name a checker the new configuration lacks.
    fn valid(&self, c: CheckerId) -> bool {
        self.plan
            .config
            .virtual_servers
            .get(c.vs)
            .and_then(|v| v.real_servers.get(c.rs))
            .is_some_and(|r| c.checker < r.checkers.len())
    }

    fn handle_events(&mut self, events: Vec<HealthEvent>) {
        if events.is_empty() {
            return;
        }
        for ev in &events {
            self.announce(ev);
        }
        self.push_health();
    }

    /// Hands the health to the reconciler (through the slot: a burst is one state waiting).
    fn push_health(&mut self) {
        let latest = self.health.clone();
        let was_empty = {
            let mut slot = self.health_slot.lock().unwrap_or_else(|e| e.into_inner());
            slot.replace(latest).is_none()
        };
        if was_empty {
            self.send_host(HostInput::Health(self.health_slot.clone()));
        }
    }

    fn smtp_enabled(&self, vs: &VirtualServer, rs: Option<usize>) -> bool {
        let g = &self.plan.config.global;
        rs.and_then(|r| vs.real_servers[r].smtp_alert)
            .or(vs.smtp_alert)
            .or(g.smtp_alert_checker)
            .or(g.smtp_alert)
            .unwrap_or(false)
    }

    /// Log, script, FIFO line and mail of one event.
    fn announce(&mut self, ev: &HealthEvent) {
        let cfg = &self.plan.config;
        match *ev {
            HealthEvent::RsUp { vs, rs } | HealthEvent::RsDown { vs, rs } => {
                let up = matches!(ev, HealthEvent::RsUp { .. });
                self.since.insert((vs, rs), Instant::now());
                let v = &cfg.virtual_servers[vs];
                let r = &v.real_servers[rs];
                let (vname, rname) = (vs_name(v), rs_name(v, rs));
                let word = if up { "UP" } else { "DOWN" };
                super::events::emit(
                    "real_server",
                    || serde_json::json!({"virtual_server": vname, "real_server": rname, "up": up}),
                );
                if up {
                    tracing::info!("real server {rname} of virtual server {vname}: UP");
                } else {
                    tracing::warn!("real server {rname} of virtual server {vname}: DOWN");
                }
                self.out
                    .fifo
                    .write_line(&format!("RS {rname} {vname} {word}"));
                let script = if up { &r.notify_up } else { &r.notify_down };
                if let Some(s) = script {
                    let keyword = if up { "notify_up" } else { "notify_down" };
                    self.out.notifier.lvs_script(
                        &vname,
                        keyword,
                        s,
                        format!("real server {rname} of {vname} {word}"),
                        vec![
                            ("LVSD_VIRTUAL_SERVER".into(), vname.clone()),
                            ("LVSD_REAL_SERVER".into(), rname.clone()),
                            ("LVSD_STATE".into(), word.into()),
                        ],
                    );
                }
                if let (Some(a), true) = (&self.smtp, self.smtp_enabled(v, Some(rs))) {
                    let body = if up {
                        "=> CHECK succeed on service <=".to_string()
                    } else {
                        "=> CHECK failed on service <=".to_string()
                    };
                    a.checker(
                        format!("Realserver {rname} of virtual server {vname} - {word}"),
                        body,
                    );
                }
            }
            HealthEvent::QuorumGained { vs } | HealthEvent::QuorumLost { vs } => {
                let up = matches!(ev, HealthEvent::QuorumGained { .. });
                let v = &cfg.virtual_servers[vs];
                let vname = vs_name(v);
                let word = if up { "UP" } else { "DOWN" };
                super::events::emit("quorum", || {
                    serde_json::json!({
                        "virtual_server": vname,
                        "up": up,
                        "alive_weight": self.health.weight_sum(vs),
                        "quorum": v.quorum,
                    })
                });
                if up {
                    tracing::info!("virtual server {vname}: gained quorum");
                } else {
                    tracing::warn!(
                        "virtual server {vname}: lost quorum (alive weight {} < quorum {}){}",
                        self.health.weight_sum(vs),
                        v.quorum,
                        if v.sorry_server.is_some() {
                            "; the sorry server stands in"
                        } else {
                            ""
                        }
                    );
                }
                self.out.fifo.write_line(&format!("VS {vname} {word}"));
                let script = if up { &v.quorum_up } else { &v.quorum_down };
                if let Some(s) = script {
                    let keyword = if up { "quorum_up" } else { "quorum_down" };
                    self.out.notifier.lvs_script(
                        &vname,
                        keyword,
                        s,
                        format!("virtual server {vname} quorum {word}"),
                        vec![
                            ("LVSD_VIRTUAL_SERVER".into(), vname.clone()),
                            ("LVSD_STATE".into(), word.into()),
                        ],
                    );
                }
                if let (Some(a), true) = (&self.smtp, self.smtp_enabled(v, None)) {
                    a.checker(
                        format!("Virtual Server {vname} - {word}"),
                        format!("=> {} <=", if up { "Gained quorum" } else { "Lost quorum" }),
                    );
                }
            }
            HealthEvent::WeightChanged { vs, rs, weight } => {
                let v = &cfg.virtual_servers[vs];
                super::events::emit("weight", || {
                    serde_json::json!({
                        "virtual_server": vs_name(v),
                        "real_server": rs_name(v, rs),
                        "weight": weight,
                    })
                });
                tracing::info!(
                    "real server {} of virtual server {}: weight {weight} (dynamic)",
                    rs_name(v, rs),
                    vs_name(v)
                );
            }
        }
    }

    /// ha_suspend: a virtual server's checkers run only while its address is ours, i.e. while
    /// a VRRP instance that carries it is MASTER (or when no instance carries it).
    fn update_suspend(&mut self) {
        let Some(checks) = &self.checks else { return };
        let want: HashSet<usize> = super::world::suspended(&self.plan, &self.instances)
            .into_iter()
            .collect();
        let on: Vec<usize> = want.difference(&self.suspended).copied().collect();
        let off: Vec<usize> = self.suspended.difference(&want).copied().collect();
        if !on.is_empty() {
            tracing::info!("ha_suspend: checkers of {} virtual server(s) suspended (their address is not here)", on.len());
            checks.send(super::checks::CheckInput::Suspend { vs: on, on: true });
        }
        if !off.is_empty() {
            tracing::info!(
                "ha_suspend: checkers of {} virtual server(s) resumed",
                off.len()
            );
            checks.send(super::checks::CheckInput::Suspend { vs: off, on: false });
        }
        self.suspended = want;
    }

    /// The health of the new configuration with the surviving checkers' states, and the
    /// probes that are down per checker.
    async fn new_health(
        &self,
        new: &Config,
        probes: Vec<spec::Probe>,
        apply: bool,
    ) -> (Health, Kept) {
        let kept = match &self.checks {
            Some(c) if apply => c.reload(probes).await,
            Some(c) => c.peek(probes).await,
            None => Kept::default(),
        };
        let held = self.overrides.admin(new);
        let h = self.health.reload(
            &self.plan.config,
            new,
            &|c| kept.states.get(&c).copied(),
            &|vs, rs| held.get(&(vs, rs)).copied().unwrap_or_default(),
        );
        (h, kept)
    }

    async fn reload(&mut self, plan: Plan) -> Vec<String> {
        self.generation += 1;
        let mut lines = self.vrrp_plan(&plan);
        let probes = probes_of(&plan);
        lines.push(format!("checkers: {} probe(s)", probes.len()));
        let (health, kept) = self.new_health(&plan.config, probes, true).await;
        if self.checks.is_some() {
            self.pool_generation = kept.generation;
        }
        // real servers that survived keep their "since"; indexed by key (a linear search per
        // real server cost a reload of 2,000 x 18 a third of its time)
        let old_cfg = &self.plan.config;
        // (TCP and UDP services on one address and port share a key: the protocol too)
        let old_index: HashMap<(&VsKey, Option<lvsd_config::model::Protocol>), usize> = old_cfg
            .virtual_servers
            .iter()
            .enumerate()
            .map(|(i, v)| ((&v.key, v.protocol), i))
            .collect();
        let mut since = HashMap::new();
        if !self.since.is_empty() {
            for (vi, v) in plan.config.virtual_servers.iter().enumerate() {
                let Some(&ov) = old_index.get(&(&v.key, v.protocol)) else {
                    continue;
                };
                let old_rs: HashMap<_, usize> = old_cfg.virtual_servers[ov]
                    .real_servers
                    .iter()
                    .enumerate()
                    .map(|(i, o)| ((o.ip, o.port), i))
                    .collect();
                for (ri, r) in v.real_servers.iter().enumerate() {
                    let t = old_rs
                        .get(&(r.ip, r.port))
                        .and_then(|&or| self.since.get(&(ov, or)));
                    if let Some(t) = t {
                        since.insert((vi, ri), *t);
                    }
                }
            }
        }
        // quorum changes a reload causes (a removed or re-weighted real server) are announced;
        // a new virtual server that starts without quorum too, as at startup
        let mut quorum_events = Vec::new();
        for (vi, v) in plan.config.virtual_servers.iter().enumerate() {
            let was = old_index
                .get(&(&v.key, v.protocol))
                .map(|&ov| self.health.quorum_up(ov))
                .unwrap_or(true);
            match (was, health.quorum_up(vi)) {
                (true, false) => quorum_events.push(HealthEvent::QuorumLost { vs: vi }),
                (false, true) => quorum_events.push(HealthEvent::QuorumGained { vs: vi }),
                _ => {}
            }
        }
        drop(old_index);
        self.since = since;
        self.smtp = SmtpAlerter::from_global(&plan.config.global);
        self.plan = plan;
        self.health = health;
        for ev in &quorum_events {
            self.announce(ev);
        }
        self.down_probes = kept.down_probes;
        self.suspended.clear();
        if let Some(c) = &self.checks {
            // resume everything, then suspend per the new configuration
            let all: Vec<usize> = (0..self.plan.config.virtual_servers.len()).collect();
            c.send(super::checks::CheckInput::Suspend { vs: all, on: false });
        }
        self.update_suspend();
        // a health state still waiting is of the old configuration (its indices): the reload
        // carries the new one; a message already sent for the old one finds the slot empty
        self.health_slot
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let (tx, rx) = oneshot::channel();
        self.send_host(HostInput::Reload(
            Box::new(self.plan.clone()),
            Box::new(self.health.clone()),
            tx,
        ));
        lines.extend(host_lines(rx.await.ok()));
        lines
    }

    /// The reload's plan: VRRP instances and VIPs that change now, the checkers, and the
    /// host changes (the reconciler's steps: the same function the apply runs).
    async fn preview(&self, plan: &Plan) -> Vec<String> {
        let mut lines = self.vrrp_plan(plan);
        let probes = probes_of(plan);
        let nprobes = probes.len();
        let (health, _) = self.new_health(&plan.config, probes, false).await;
        lines.push(format!("checkers: {nprobes} probe(s)"));
        let (rtx, rrx) = oneshot::channel();
        self.send_host(HostInput::Preview(
            Box::new(plan.clone()),
            Box::new(health),
            rtx,
        ));
        lines.extend(host_lines(rrx.await.ok()));
        lines
    }

    /// The VRRP part of a reload's plan: the same list of changes the engine applies
    /// (reload_plan.rs), for the instances' states now.
    fn vrrp_plan(&self, plan: &Plan) -> Vec<String> {
        super::reload_plan::vrrp_changes(&self.plan, plan, &self.instances)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    async fn stop(&mut self) {
        // omega: quorum_down and real-server-down notifications at shutdown
        let mut events = Vec::new();
        for (vi, v) in self.plan.config.virtual_servers.iter().enumerate() {
            if !v.omega {
                continue;
            }
            for ri in 0..v.real_servers.len() {
                if self.health.rs_alive(vi, ri) {
                    events.push(HealthEvent::RsDown { vs: vi, rs: ri });
                }
            }
            if self.health.quorum_up(vi) {
                events.push(HealthEvent::QuorumLost { vs: vi });
            }
        }
        for ev in &events {
            self.announce(ev);
        }
        if let Some(c) = self.checks.take() {
            c.stop().await;
        }
    }
}
