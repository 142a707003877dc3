//! `lvsd run`: the daemon in the foreground.
//!
//! Threads: the VRRP engine (its own runtime, see [`engine`]), the reconciler (the one owner
//! of every host change outside VRRP, see [`reconciler`]), the checkers; everything else
//! (scripts, trackers, notifications, health, the control socket, signals) on the main
//! runtime. docs/architecture.md draws it.

mod addresses;
mod apply;
mod checks;
mod colocated;
mod control;
mod engine;
mod events;
mod guard;
mod health_task;
mod links;
mod metrics;
pub mod overrides;
mod plan;
mod ratelimit;
mod reconcile_task;
mod reconciler;
mod reload_plan;
#[cfg(test)]
mod reload_plan_tests;
mod scripts;
mod status;
mod steps;
mod world;
#[cfg(test)]
mod world_tests;

use clap::Args;
use engine::{Control, Engine, Input};
pub use health_task::admin::RsAction;
use lvsd_config::model::Notify;
use lvsd_vrrp::State;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use tokio::signal::unix::{signal, SignalKind};

#[derive(Args)]
pub struct RunArgs {
    /// The configuration file.
    #[arg(
        short = 'f',
        long = "file",
        default_value = "/etc/keepalived/keepalived.conf"
    )]
    file: PathBuf,
    /// The control socket that `lvsd status`, `lvsd reload`, `lvsd rs` and `lvsd vrrp` use.
    #[arg(long, default_value = "/run/lvsd/lvsd.sock")]
    socket: PathBuf,
    /// How often the IPVS table is compared with the configuration (drift repair): the
    /// shortest pause; with a large table the checks are spaced to take at most 1 % of a CPU.
    #[arg(long, default_value = "5", value_name = "SECONDS")]
    drift_interval: f64,
    /// Where a colocated node records the real-server role it takes (VIP on lo, ARP
    /// sysctls): the same file as `lvsd realserver up|down`, so `down` undoes it.
    #[arg(
        long = "realserver-state",
        value_name = "PATH",
        default_value = "/run/lvsd/realserver.json"
    )]
    realserver_state: PathBuf,
    /// Where lvsd keeps what must outlive it: the operators' overrides (`lvsd rs`, `lvsd
    /// vrrp`; overrides.json).
    #[arg(long, value_name = "DIR", default_value = "/var/lib/lvsd")]
    state_dir: PathBuf,
    /// How long STOP notify scripts may run at shutdown.
    #[arg(long, default_value = "5", value_name = "SECONDS")]
    stop_timeout: f64,
    /// Serve Prometheus metrics on this address (`GET /metrics`; docs/metrics.md), e.g.
    /// 127.0.0.1:9650 or [::]:9650. Off unless set.
    #[arg(long, value_name = "ADDR:PORT")]
    metrics_listen: Option<std::net::SocketAddr>,
    /// The log's format on stderr: text lines, or JSON lines (one object per event, for log
    /// shippers).
    #[arg(long, value_enum, default_value = "text")]
    log_format: LogFormat,
}

/// What the notify runner must do (from the engine's actions).
#[derive(Debug, Clone)]
pub enum NotifyRequest {
    Instance {
        name: String,
        from: State,
        to: State,
        priority: u8,
        reason: String,
        scripts: Notify,
        /// Removed by a reload (`notify_deleted`, else FAULT, as keepalived).
        deleted: bool,
    },
    Group {
        name: String,
        from: State,
        to: State,
        scripts: Notify,
    },
    MasterRxLowerPriority {
        name: String,
        scripts: Notify,
        priority: u8,
    },
    PriorityChanged {
        name: String,
        state: State,
        priority: u8,
        /// The instance's own `notify_priority_changes`.
        enabled: bool,
    },
}

/// `--log-format`: lines for people, or one JSON object per line for log shippers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// The log's format, for what is written to stderr outside the log (the configuration's
/// error report: a field of one JSON object in JSON, text otherwise).
static LOG_FORMAT: std::sync::OnceLock<LogFormat> = std::sync::OnceLock::new();

fn init_logging(format: LogFormat) {
    let _ = LOG_FORMAT.set(format);
    let filter = tracing_subscriber::EnvFilter::try_from_env("LVSD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match format {
        LogFormat::Text => b
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
        // {"timestamp":..,"level":"INFO","fields":{"message":..}}
        LogFormat::Json => b.json().with_ansi(false).try_init(),
    };
}

/// Colocated VIPs the engine put on `lo` as they left the interface, for the reconciler to
/// record as lvsd's when it takes the real-server role.
pub type LoAdded = std::sync::Arc<std::sync::Mutex<std::collections::BTreeSet<std::net::IpAddr>>>;

pub fn run(args: &RunArgs) -> ExitCode {
    init_logging(args.log_format);
    let plan = match plan::load(&args.file) {
        Ok(p) => p,
        Err(text) => {
            eprint_report(&text);
            tracing::error!(
                "{}: not starting: the configuration has errors",
                args.file.display()
            );
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(main_loop(args, plan))
}

async fn main_loop(args: &RunArgs, plan: plan::Plan) -> ExitCode {
    tracing::info!(
        "lvsd {} starting: {} VRRP instance(s) from {} ({} configuration warning(s); `lvsd check` shows them)",
        env!("CARGO_PKG_VERSION"),
        plan.instances.len(),
        args.file.display(),
        plan.warnings.len()
    );
    let listener = match control::bind(&args.socket) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!("control socket {}: {e}", args.socket.display());
            return ExitCode::FAILURE;
        }
    };
    let metrics_addr = args.metrics_listen.or(plan.config.global.metrics_listen);
    let metrics_listener = match metrics_addr {
        Some(a) => match metrics::bind(a).await {
            Ok(l) => Some((a, l)),
            Err(e) => {
                tracing::error!("{e}");
                let _ = std::fs::remove_file(&args.socket);
                return ExitCode::FAILURE;
            }
        },
        None => None,
    };
    let (notify_tx, notify_rx) = tokio::sync::mpsc::unbounded_channel();
    let (states_tx, states_rx) = tokio::sync::watch::channel(world::States::new());
    let lo_added = LoAdded::default();
    // the operators' overrides, in place before the first advert and the first table
    let overrides = overrides::Overrides::open(&args.state_dir);
    let held = overrides.admin(&plan.config);
    let health0 = lvsd_check::health::Health::with_admin(&plan.config, &|vs, rs| {
        held.get(&(vs, rs)).copied().unwrap_or_default()
    });
    let (engine, thread) = match Engine::spawn(
        plan.clone(),
        notify_tx,
        states_tx,
        lo_added.clone(),
        overrides.clone(),
    ) {
        Ok(e) => e,
        Err(e) => {
            tracing::error!("cannot start the VRRP engine: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (host_tx, host) = reconcile_task::spawn(
        &plan,
        health0.clone(),
        states_rx.clone(),
        Duration::from_secs_f64(args.drift_interval.max(0.1)),
        args.realserver_state.clone(),
        lo_added,
    );
    let (health_tx, health_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut scripts = scripts::Scripts::start(&plan, engine.clone(), notify_rx);
    let health = health_task::spawn(
        &plan,
        health0,
        overrides.clone(),
        health_rx,
        host_tx.clone(),
        states_rx,
        scripts.lvs_outputs(),
    );
    let (reload_tx, mut reload_rx) = tokio::sync::mpsc::unbounded_channel();
    // the running configuration: what a reload compares with and reuses
    let mut current = plan;
    let handles = std::sync::Arc::new(control::Handles {
        engine: engine.clone(),
        health: health_tx.clone(),
        reload: reload_tx,
        access: std::sync::Mutex::new(control::Access::from_config(&current.config.global)),
        overrides,
        refused: Default::default(),
        refusal_log: std::sync::Mutex::new(ratelimit::RateLimit::new(Duration::from_secs(10))),
        vrrp_serial: Default::default(),
    });
    tokio::spawn(control::serve(
        listener,
        handles.clone(),
        args.socket.clone(),
    ));
    let reloads = metrics::new_reloads();
    metrics::Reloads::record(&reloads, true, current.source_hash);
    let mut metrics = metrics::Server {
        from_cli: args.metrics_listen,
        running: None,
        sources: std::sync::Arc::new(metrics::Sources {
            handles: handles.clone(),
            host: host_tx.clone(),
            reloads: reloads.clone(),
            trackers: scripts.tracker_states(),
            durations: Default::default(),
        }),
    };
    if let Some((a, l)) = metrics_listener {
        metrics.adopt(a, l);
    }
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]);
    trim_later();

    let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        tracing::error!("cannot install signal handlers");
        return ExitCode::FAILURE;
    };
    let engine::EngineThread {
        handle: thread,
        ended: mut engine_ended,
    } = thread;
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = hup.recv() => {
                let r = reload(&args.file, false, &mut current, &mut scripts, &engine, &health_tx).await;
                reloaded(&reloads, &r, current.source_hash);
                set_access(&handles, &current);
                if let Err(e) = metrics.follow(current.config.global.metrics_listen).await {
                    tracing::error!("{e}; still served where it was");
                }
            }
            req = reload_rx.recv() => {
                if let Some(control::ReloadRequest { dry_run, reply }) = req {
                    let mut r = reload(&args.file, dry_run, &mut current, &mut scripts, &engine, &health_tx).await;
                    if !dry_run {
                        reloaded(&reloads, &r, current.source_hash);
                        set_access(&handles, &current);
                        if let Err(e) = metrics.follow(current.config.global.metrics_listen).await {
                            tracing::error!("{e}; still served where it was");
                            // `lvsd reload` says so too, not only the log
                            r.warnings.push(format!("{e}; still served where it was"));
                        }
                    }
                    let _ = reply.send(r);
                }
            }
            _ = &mut engine_ended => {
                tracing::error!("the VRRP engine stopped");
                return ExitCode::FAILURE;
            }
        }
    }
    tracing::info!("stopping");
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Stopping]);
    let _ = engine.send(Input::Control(Control::Shutdown));
    let _ = tokio::task::spawn_blocking(move || thread.join()).await;
    // omega notifications, then the checkers stop
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    if health_tx
        .send(health_task::HealthInput::Stop(done_tx))
        .is_ok()
    {
        let _ = done_rx.await;
    }
    let _ = health.await;
    scripts
        .shutdown(Duration::from_secs_f64(args.stop_timeout.max(0.0)))
        .await;
    let _ = host_tx.send(reconcile_task::Input::Stop);
    let _ = host.await;
    let _ = std::fs::remove_file(&args.socket);
    tracing::info!("stopped");
    ExitCode::SUCCESS
}

/// A file being written (an editor, a deployment tool writing in several steps, a reload signal
/// sent twice while the file is rewritten) is read once it has not changed for 100 ms (at
/// most 2 s; a file last written more than 100 ms ago is read at once): a reload never runs a half-written file (issue 22's storm test read an empty
/// one between a truncate and a write, and removed every instance).
async fn settled(file: &std::path::Path) {
    // not written for 100 ms: read at once (the usual case costs no wait)
    let age = std::fs::metadata(file)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok());
    if age.is_some_and(|a| a >= Duration::from_millis(100)) {
        return;
    }
    let mut last = std::fs::read(file).ok();
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = std::fs::read(file).ok();
        if now == last {
            return;
        }
        last = now;
    }
    tracing::warn!(
        "{} kept changing for 2 s: reloading what it holds now",
        file.display()
    );
}

/// The control socket's groups, as the running configuration names them.
fn set_access(h: &control::Handles, p: &plan::Plan) {
    if let Ok(mut a) = h.access.lock() {
        *a = control::Access::from_config(&p.config.global);
    }
}

/// What a reload did, for the metrics and the event stream.
fn reloaded(reloads: &metrics::SharedReloads, r: &crate::proto::ReloadReply, hash: u64) {
    metrics::Reloads::record(reloads, r.ok, hash);
    events::emit("reload", || {
        serde_json::json!({
            "ok": r.ok,
            "changes": r.plan,
            "errors": r.errors.as_deref().map(|e| e.lines().count()).unwrap_or(0),
        })
    });
}

/// A configuration's error report on stderr, ending its last line (the log line after it
/// was written on the same line: `0 notes2026-12-07T...`, and a JSON log line not at the
/// start of a line).
fn eprint_report(text: &str) {
    if LOG_FORMAT.get() == Some(&LogFormat::Json) {
        tracing::error!(report = %text.trim_end(), "the configuration has errors");
        return;
    }
    if text.ends_with('\n') {
        eprint!("{text}");
    } else {
        eprintln!("{text}");
    }
}

/// A new configuration with no vrrp_instance and no virtual_server would stop everything:
/// most likely an empty or truncated file. A reload refuses it; stopping lvsd does that.
fn refuse_nothing(p: plan::Plan) -> Result<plan::Plan, String> {
    if p.instances.is_empty() && p.config.virtual_servers.is_empty() {
        return Err(
            "error: the new configuration has no vrrp_instance and no virtual_server: \
                    a reload would remove every address and service (an empty or truncated \
                    file?); to stop everything, stop lvsd\n"
                .to_string(),
        );
    }
    Ok(p)
}

/// A reload (SIGHUP or `lvsd reload`): validated first; with errors the running configuration
/// stays. `dry_run`: only the plan. The reply is what `lvsd reload` prints.
async fn reload(
    file: &std::path::Path,
    dry_run: bool,
    current: &mut plan::Plan,
    scripts: &mut scripts::Scripts,
    engine: &tokio::sync::mpsc::UnboundedSender<Input>,
    health: &tokio::sync::mpsc::UnboundedSender<health_task::HealthInput>,
) -> crate::proto::ReloadReply {
    use crate::proto::ReloadReply;
    settled(file).await;
    let t0 = std::time::Instant::now();
    let p = match plan::load_reusing(file, Some(current)).and_then(refuse_nothing) {
        Ok(p) => p,
        Err(text) => {
            if !dry_run {
                eprint_report(&text);
                tracing::error!(
                    "reload refused: the new configuration has errors; keeping the running one"
                );
            }
            return ReloadReply {
                errors: Some(text),
                ..Default::default()
            };
        }
    };
    let warnings = p.warnings.clone();
    if dry_run {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let _ = health.send(health_task::HealthInput::Preview(Box::new(p), tx));
        return ReloadReply {
            ok: true,
            plan: rx.await.unwrap_or_default(),
            warnings,
            ..Default::default()
        };
    }
    // one pass: the changes are computed once, by the tasks that carry them out, and what they
    // report is what was applied (a preview first cost a reload of 36,000 real servers its
    // whole computation twice)
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Reloading]);
    tracing::info!(
        "reloading {} (read in {:.1} ms{})",
        file.display(),
        t0.elapsed().as_secs_f64() * 1e3,
        if p.reuse.incremental {
            format!(
                "; {} of {} virtual_server blocks unchanged",
                p.reuse.reused, p.reuse.blocks
            )
        } else {
            String::new()
        }
    );
    // the engine first: the trackers started next report their first results on the same
    // channel, after it knows them (a new track_file's value was lost the other way round and
    // its weight never applied: found by the reload matrix)
    let _ = engine.send(Input::Control(Control::Reload(Box::new(p.clone()))));
    scripts.reload(&p);
    *current = p.clone();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let _ = health.send(health_task::HealthInput::Reload(Box::new(p), tx));
    // what was carried out: VRRP changes, checkers, the reconciler's host steps
    let plan_lines = rx.await.unwrap_or_default();
    // the VRRP engine logs the VRRP changes it carried out itself (engine.rs)
    for l in plan_lines.iter().filter(|l| !l.starts_with("VRRP ")) {
        tracing::info!("reload applied: {l}");
    }
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]);
    tracing::info!("reload done in {:.1} ms", t0.elapsed().as_secs_f64() * 1e3);
    trim_later();
    ReloadReply {
        ok: true,
        applied: true,
        plan: plan_lines,
        warnings,
        errors: None,
    }
}

/// Loading a configuration (its text, the diagnostics, the intermediate trees, the probes) is
/// short-lived memory; once the tasks have taken what they keep, give the rest back to the
/// system rather than leave it in malloc's arenas (10,000 real servers: ~40 MB).
fn trim_later() {
    tokio::spawn(async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        // SAFETY: malloc_trim only releases free heap memory; it has no preconditions.
        unsafe {
            libc::malloc_trim(0);
        }
    });
}
