//! `lvsd rs drain|disable|enable` in the health task: the operator's hold becomes the real
//! server's admin state in [`Health`] (so the quorum, the sorry server, notify_up/notify_down,
//! the FIFO and the mails follow as for a check), is written to the state directory first,
//! and a drain ends when its connections do (or at its deadline).

use super::*;
use crate::run::overrides::store::{now_unix, RsHold, RsOverride};
use crate::run::overrides::target::{self, RsSel, VsSel};
use lvsd_ipvs::desired::Admin;

/// What an operator asks of a real server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RsAction {
    Drain,
    Disable,
    Enable,
}

pub struct RsCommand {
    pub action: RsAction,
    /// The virtual server's words as written (`10.0.0.100:80`, `fwmark 3`, `tcp`).
    pub vs: Vec<String>,
    pub rs: String,
    /// A drain's longest wait.
    pub timeout: Option<Duration>,
    /// Who asked.
    pub by: String,
}

impl Task {
    /// Carries out one command; the reply says what changed (or why nothing did).
    pub(super) fn rs_command(&mut self, c: RsCommand) -> Result<Vec<String>, String> {
        let cfg = &self.plan.config;
        let written = c.vs.join(" ");
        let vi = target::find_vs(cfg, &VsSel::parse(&c.vs)?, &written)?;
        let ri = target::find_rs(cfg, vi, &RsSel::parse(&c.rs)?, &c.rs)?;
        let v = &cfg.virtual_servers[vi];
        let (vid, rid) = (target::vs_id(v), target::rs_id(v, ri));
        let now = now_unix();
        let current = self.overrides.snapshot().rs(&vid, &rid).cloned();
        let hold = |state, deadline| RsOverride {
            virtual_server: vid.clone(),
            real_server: rid.clone(),
            state,
            since: now,
            by: c.by.clone(),
            deadline,
        };
        let name = format!("real server {rid} of {vid}");
        let new = match (c.action, current.as_ref().map(|o| o.state)) {
            (RsAction::Drain, Some(RsHold::Draining)) => {
                return Ok(vec![format!("{name} is already draining")])
            }
            (RsAction::Drain, Some(s @ (RsHold::Drained | RsHold::Disabled))) => {
                return Ok(vec![format!(
                    "{name} is already out of the table ({})",
                    s.name()
                )])
            }
            (RsAction::Drain, None) => Some(hold(
                RsHold::Draining,
                c.timeout.map(|t| now + t.as_secs_f64()),
            )),
            (RsAction::Disable, Some(RsHold::Disabled)) => {
                return Ok(vec![format!("{name} is already disabled")])
            }
            (RsAction::Disable, _) => Some(hold(RsHold::Disabled, None)),
            (RsAction::Enable, None) => {
                return Ok(vec![format!(
                    "{name} is not drained or disabled: nothing to do"
                )])
            }
            (RsAction::Enable, Some(_)) => None,
        };
        self.overrides
            .update(|s| s.set_rs(&vid, &rid, new.clone()))?;
        let admin = new.as_ref().map_or(Admin::None, |o| o.state.admin());
        let word = match c.action {
            RsAction::Drain => "draining (weight 0; out when its active connections end)",
            RsAction::Disable => "disabled (out of the table)",
            RsAction::Enable => "enabled (back under its health checks)",
        };
        tracing::info!(by = %c.by, "{name}: {word}, by {}", c.by);
        super::super::events::emit("real_server_override", || {
            serde_json::json!({
                "virtual_server": vid, "real_server": rid,
                "state": new.as_ref().map_or("enabled", |o| o.state.name()),
                "by": c.by,
            })
        });
        let mut lines = vec![format!("{name}: {word}")];
        if c.action == RsAction::Enable && !self.health.checks_pass(vi, ri) {
            lines.push(format!(
                "its checks fail now ({} failed checker(s)): it returns when they pass",
                self.health.failed_checkers(vi, ri)
            ));
        }
        self.set_admin(vi, ri, admin);
        Ok(lines)
    }

    /// Sets a real server's admin state and sends the new health to the reconciler (also
    /// when no real server changed state: drained → out changes only the table).
    fn set_admin(&mut self, vi: usize, ri: usize, admin: Admin) {
        let mut out = Vec::new();
        self.health.set_admin(vi, ri, admin, &mut out);
        for ev in &out {
            self.announce(ev);
        }
        self.push_health();
    }

    /// Whether a drain is running (the task then watches the connections each second).
    pub(super) fn draining(&self) -> bool {
        self.overrides
            .snapshot()
            .real_servers
            .iter()
            .any(|o| o.state == RsHold::Draining)
    }

    /// Ends the drains whose connections are gone or whose deadline passed.
    pub(super) async fn check_drains(&mut self) {
        let cfg = &self.plan.config;
        let drains: Vec<((usize, usize), RsOverride)> = self
            .overrides
            .held(cfg)
            .into_iter()
            .filter(|(_, o)| o.state == RsHold::Draining)
            .collect();
        if drains.is_empty() {
            return;
        }
        let mut keys: Vec<lvsd_ipvs::ServiceKey> = Vec::new();
        for ((vi, _), _) in &drains {
            keys.extend(lvsd_ipvs::desired::service_keys(cfg, *vi).unwrap_or_default());
        }
        keys.sort();
        keys.dedup();
        let (tx, rx) = oneshot::channel();
        self.send_host(HostInput::Conns(keys, tx));
        let conns = tokio::time::timeout(Duration::from_secs(2), rx)
            .await
            .ok()
            .and_then(|r| r.ok())
            .flatten();
        let now = now_unix();
        for ((vi, ri), o) in drains {
            let v = &self.plan.config.virtual_servers[vi];
            let keys = lvsd_ipvs::desired::service_keys(&self.plan.config, vi).unwrap_or_default();
            let left = conns.as_ref().map(|c| status::active_of(c, &keys, v, ri));
            let late = o.deadline.is_some_and(|d| now >= d);
            let why = match left {
                Some(0) => "its active connections ended".to_string(),
                Some(n) if late => format!("its deadline passed with {n} active connection(s)"),
                None if late => "its deadline passed".to_string(),
                _ => continue,
            };
            let done = RsOverride {
                state: RsHold::Drained,
                since: now,
                ..o.clone()
            };
            let (vid, rid) = (o.virtual_server.clone(), o.real_server.clone());
            if let Err(e) = self.overrides.update(|s| s.set_rs(&vid, &rid, Some(done))) {
                tracing::error!("real server {rid} of {vid}: drained, but {e}");
                continue;
            }
            tracing::info!("real server {rid} of {vid}: drained ({why}): out of the table");
            super::super::events::emit("real_server_override", || {
                serde_json::json!({
                    "virtual_server": vid, "real_server": rid, "state": "drained",
                    "by": o.by, "why": why,
                })
            });
            self.set_admin(vi, ri, Admin::Out);
        }
    }
}
