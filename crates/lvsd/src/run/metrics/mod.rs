//! `--metrics-listen ADDR:PORT`: Prometheus metrics over HTTP (`GET /metrics`, the text format
//! 0.0.4, encoded by the prometheus-client crate).
//!
//! A scrape asks the tasks for what they know (the VRRP engine's and the health task's status,
//! the reconciler's counters, the reload counters), reads the kernel's IPVS table with its
//! counters over generic netlink, and encodes all of it on a blocking thread: serving a scrape
//! never runs on the VRRP engine's thread or the checkers' thread, and a slow scrape delays
//! nothing but the next one. docs/metrics.md lists every family.

mod body;
mod durations;
mod encode;
mod families;
mod ipvs;
mod lvs;
mod trackers;
mod vrrp;

use super::control::{self, Handles};
use super::reconcile_task;
use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::{Request, Response, StatusCode};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::oneshot;

/// Connections served at once; more wait to be accepted.
const MAX_CONNECTIONS: usize = 8;
/// A connection's headers must arrive within this time, and a whole connection (a scrape of a
/// large table to a slow client included) ends after the other.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(60);

/// The reloads so far, kept by the main loop.
#[derive(Debug, Default, Clone)]
pub struct Reloads {
    /// When lvsd started, seconds since the epoch.
    pub started: f64,
    pub succeeded: u64,
    pub failed: u64,
    /// Seconds since the epoch of the last load that was applied (the start counts).
    pub last_success: f64,
    /// Whether the last reload was applied.
    pub last_ok: bool,
    /// The running configuration file's hash (XXH3, 52 bits: exact in a float).
    pub hash: u64,
}

pub type SharedReloads = Arc<Mutex<Reloads>>;

pub fn new_reloads() -> SharedReloads {
    Arc::new(Mutex::new(Reloads {
        started: now_s(),
        ..Reloads::default()
    }))
}

pub fn now_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl Reloads {
    /// A load applied (`ok`, with the hash of its text) or refused.
    pub fn record(shared: &SharedReloads, ok: bool, hash: u64) {
        let mut r = shared.lock().unwrap_or_else(|e| e.into_inner());
        r.last_ok = ok;
        if ok {
            r.succeeded += 1;
            r.last_success = now_s();
            r.hash = hash;
        } else {
            r.failed += 1;
        }
    }
}

/// Everything one scrape shows.
pub struct Snapshot {
    pub vrrp: crate::proto::VrrpStatus,
    /// When the VRRP engine's part was answered (its `ago` times are of then).
    pub vrrp_now: f64,
    pub lvs: crate::proto::LvsStatus,
    /// When the health task's part was answered.
    pub lvs_now: f64,
    pub reloads: Reloads,
    pub reconciler: Option<super::reconciler::Counters>,
    /// Every tracker's last status.
    pub trackers: Vec<(lvsd_vrrp::track::TrackerId, lvsd_vrrp::track::TrackerStatus)>,
    /// The vrrp_scripts' runs.
    pub script_runs: std::collections::BTreeMap<String, lvsd_scripts::run_stats::Runs>,
    pub durations: Arc<Mutex<durations::Totals>>,
    /// Control socket requests refused (malformed, or not allowed).
    pub control_refused: u64,
}

/// Serves `GET /metrics` on `listener` until the daemon stops.
pub async fn serve(listener: tokio::net::TcpListener, scraper: Arc<Sources>) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let (stream, peer) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("metrics: accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let s = scraper.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let io = hyper_util::rt::TokioIo::new(stream);
            let svc = hyper::service::service_fn(move |req| {
                let s = s.clone();
                async move { Ok::<_, Infallible>(s.respond(req).await) }
            });
            // one request per connection: the deadline below never falls between two scrapes
            // of a kept-alive connection, cutting the second one
            let conn = hyper::server::conn::http1::Builder::new()
                .keep_alive(false)
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(io, svc);
            match tokio::time::timeout(CONNECTION_TIMEOUT, conn).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::debug!("metrics: connection from {peer}: {e}"),
                Err(_) => tracing::debug!(
                    "metrics: connection from {peer} closed after {} s",
                    CONNECTION_TIMEOUT.as_secs()
                ),
            }
        });
    }
}

/// The listening socket, bound before anything else starts (a port in use stops lvsd at
/// once, not after VRRP and IPVS were set up).
pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, String> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("metrics: cannot listen on {addr}: {e}"))
}

/// Listens on `addr` and serves the metrics there until the task is aborted.
pub async fn start(
    addr: SocketAddr,
    sources: Arc<Sources>,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let l = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!("metrics: http://{addr}/metrics");
    Ok(tokio::spawn(serve(l, sources)))
}

/// The metrics server of a running daemon: where it listens, as the command line or the
/// configuration (`lvsd_metrics_listen`, followed at each reload) says.
pub struct Server {
    pub from_cli: Option<SocketAddr>,
    pub running: Option<(SocketAddr, tokio::task::JoinHandle<()>)>,
    pub sources: Arc<Sources>,
}

impl Server {
    /// Serves on a socket bound at start.
    pub fn adopt(&mut self, addr: SocketAddr, l: tokio::net::TcpListener) {
        tracing::info!("metrics: http://{addr}/metrics");
        let h = tokio::spawn(serve(l, self.sources.clone()));
        self.running = Some((addr, h));
    }

    /// Serves on the address the command line or `configured` gives (none: stops serving).
    /// A new address is bound before the old one is let go: if it cannot be, the old one
    /// stays and the error is returned.
    pub async fn follow(&mut self, configured: Option<SocketAddr>) -> Result<(), String> {
        let want = self.from_cli.or(configured);
        if want == self.running.as_ref().map(|(a, _)| *a) {
            return Ok(());
        }
        let Some(addr) = want else {
            if let Some((a, h)) = self.running.take() {
                h.abort();
                tracing::info!("metrics: no longer served on {a}");
            }
            return Ok(());
        };
        // bound while the old one still serves; the same port on an overlapping address
        // (127.0.0.1:9650 -> 0.0.0.0:9650) is busy until the old listener is closed: then it
        // is closed first, and opened again if the new one cannot be
        let h = match start(addr, self.sources.clone()).await {
            Ok(h) => h,
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                let Some((old_addr, old)) = self.running.take() else {
                    return Err(format!("metrics: cannot listen on {addr}: {e}"));
                };
                old.abort();
                let _ = old.await; // the listener is dropped with the task
                match start(addr, self.sources.clone()).await {
                    Ok(h) => h,
                    Err(e) => {
                        let back = start(old_addr, self.sources.clone()).await;
                        if let Ok(b) = back {
                            self.running = Some((old_addr, b));
                        }
                        return Err(format!("metrics: cannot listen on {addr}: {e}"));
                    }
                }
            }
            Err(e) => return Err(format!("metrics: cannot listen on {addr}: {e}")),
        };
        if let Some((a, old)) = self.running.replace((addr, h)) {
            old.abort();
            tracing::info!("metrics: moved from {a} to {addr}");
        }
        Ok(())
    }
}

/// Where a scrape's data comes from.
pub struct Sources {
    pub handles: Arc<Handles>,
    pub host: std::sync::mpsc::Sender<reconcile_task::Input>,
    pub reloads: SharedReloads,
    pub trackers: super::scripts::TrackerStates,
    /// The checks' durations per virtual server, as the scrapes have added them up.
    pub durations: Arc<Mutex<durations::Totals>>,
}

type Body = BoxBody<Bytes, std::io::Error>;

fn text(code: StatusCode, body: &str) -> Response<Body> {
    let mut r = Response::new(
        Full::new(Bytes::from(body.to_string()))
            .map_err(|never| match never {})
            .boxed(),
    );
    *r.status_mut() = code;
    r
}

fn with_content_type(mut r: Response<Body>) -> Response<Body> {
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(
            prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
        ),
    );
    r
}

impl Sources {
    async fn respond(&self, req: Request<hyper::body::Incoming>) -> Response<Body> {
        if req.method() != hyper::Method::GET && req.method() != hyper::Method::HEAD {
            let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "GET /metrics\n");
            r.headers_mut().insert(
                hyper::header::ALLOW,
                hyper::header::HeaderValue::from_static("GET, HEAD"),
            );
            return r;
        }
        match req.uri().path() {
            "/metrics" => {}
            "/" => {
                return text(
                    StatusCode::OK,
                    "lvsd: the metrics are at /metrics (Prometheus text format)\n",
                )
            }
            _ => {
                return text(
                    StatusCode::NOT_FOUND,
                    "not found: the metrics are at /metrics\n",
                )
            }
        }
        if req.method() == hyper::Method::HEAD {
            // the headers a GET would get, without the work of a scrape
            return with_content_type(text(StatusCode::OK, ""));
        }
        let snap = match self.snapshot().await {
            Ok(s) => s,
            Err(e) => return text(StatusCode::SERVICE_UNAVAILABLE, &format!("{e}\n")),
        };
        // the encoding (and the kernel's table, read with its counters) on a blocking thread,
        // sent as it is written
        let (tx, rx) = tokio::sync::mpsc::channel::<body::Piece>(2);
        tokio::task::spawn_blocking(move || {
            let w = body::ChunkWriter::new(tx.clone());
            let done =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| encode::encode(snap, w)));
            let failed = match done {
                Ok(Ok(())) => None,
                // the client went away: nothing more to send to
                Ok(Err(_)) if tx.is_closed() => None,
                Ok(Err(_)) => Some("the encoding failed"),
                Err(_) => Some("the encoder panicked"),
            };
            if let Some(why) = failed {
                tracing::error!("metrics: a scrape was cut short: {why}");
                // an error frame: hyper aborts the response instead of ending it cleanly
                let _ = tx.blocking_send(Err(std::io::Error::other(why)));
            }
            // the snapshot of a large table is short-lived: its memory back to the system
            // SAFETY: malloc_trim only releases free heap memory; it has no preconditions.
            unsafe {
                libc::malloc_trim(0);
            }
        });
        with_content_type(Response::new(body::Chunks(rx).boxed()))
    }

    async fn snapshot(&self) -> Result<Snapshot, String> {
        let vrrp = control::vrrp_status(&self.handles).await?;
        let vrrp_now = now_s();
        let lvs = control::lvs_status(&self.handles).await?;
        let lvs_now = now_s();
        let (tx, rx) = oneshot::channel();
        let reconciler = if self.host.send(reconcile_task::Input::Counters(tx)).is_ok() {
            rx.await.ok()
        } else {
            None
        };
        let reloads = self
            .reloads
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut trackers: Vec<_> = self
            .trackers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(id, st)| (id.clone(), *st))
            .collect();
        trackers.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(Snapshot {
            vrrp,
            vrrp_now,
            lvs,
            lvs_now,
            reloads,
            reconciler,
            trackers,
            script_runs: lvsd_scripts::run_stats::snapshot(),
            durations: self.durations.clone(),
            control_refused: self
                .handles
                .refused
                .load(std::sync::atomic::Ordering::Relaxed),
        })
    }
}
