//! `--metrics-listen ADDR:PORT`: Prometheus metrics over HTTP (`GET /metrics`, the text format
//! 0.0.4, encoded by the prometheus-client crate).
//!
//! A scrape asks the tasks for what they know (the VRRP engine's and the health task's status,
//! the reconciler's counters, the reload counters), reads the kernel's IPVS table with its
//! counters over generic netlink, and encodes all of it on a blocking thread: serving a scrape
//! never runs on the VRRP engine's thread or the checkers' thread, and a slow scrape delays
//! nothing but the next one. docs/metrics.md lists every family.

mod encode;
mod families;
mod ipvs;
mod lvs;
mod vrrp;

use super::control::{self, Handles};
use super::reconcile_task;
use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::Frame;
use hyper::{Request, Response, StatusCode};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::oneshot;

/// The reloads so far, kept by the main loop.
#[derive(Debug, Default, Clone)]
pub struct Reloads {
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

pub fn now_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The hash of a configuration file as `lvsd_config_hash` reports it.
pub fn file_hash(path: &std::path::Path) -> u64 {
    std::fs::read(path)
        .map(|b| xxhash_rust::xxh3::xxh3_64(&b) & ((1 << 52) - 1))
        .unwrap_or(0)
}

impl Reloads {
    pub fn record(shared: &SharedReloads, ok: bool, file: &std::path::Path) {
        let hash = if ok { file_hash(file) } else { 0 };
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
    pub status: crate::proto::Status,
    pub reloads: Reloads,
    pub reconciler: Option<super::reconciler::Counters>,
    pub now: f64,
}

/// Serves `GET /metrics` on `listener` until the daemon stops.
pub async fn serve(
    listener: tokio::net::TcpListener,
    handles: Arc<Handles>,
    host: std::sync::mpsc::Sender<reconcile_task::Input>,
    reloads: SharedReloads,
) {
    let scraper = Arc::new(Scraper {
        handles,
        host,
        reloads,
    });
    loop {
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
            let io = hyper_util::rt::TokioIo::new(stream);
            let svc = hyper::service::service_fn(move |req| {
                let s = s.clone();
                async move { Ok::<_, Infallible>(s.respond(req).await) }
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, svc)
                .await
            {
                tracing::debug!("metrics: connection from {peer}: {e}");
            }
        });
    }
}

pub async fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await
}

struct Scraper {
    handles: Arc<Handles>,
    host: std::sync::mpsc::Sender<reconcile_task::Input>,
    reloads: SharedReloads,
}

type Body = BoxBody<Bytes, Infallible>;

fn text(code: StatusCode, body: &str) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())).boxed());
    *r.status_mut() = code;
    r
}

/// The size of the pieces a scrape is sent in.
const CHUNK: usize = 64 * 1024;

/// A scrape's body: the pieces of text as the encoding thread writes them (a large table is
/// never held whole: 36,000 real servers are ~13 MB of text without IPVS counters).
struct Chunks(tokio::sync::mpsc::Receiver<Bytes>);

impl hyper::body::Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0.poll_recv(cx).map(|c| c.map(|b| Ok(Frame::data(b))))
    }
}

/// Where the encoder writes: pieces of [`CHUNK`] bytes to the body, waiting while the client
/// has not read the previous ones.
pub struct ChunkWriter {
    buf: String,
    tx: tokio::sync::mpsc::Sender<Bytes>,
}

impl ChunkWriter {
    fn send(&mut self) -> std::fmt::Result {
        let full = std::mem::replace(&mut self.buf, String::with_capacity(CHUNK + 1024));
        self.tx
            .blocking_send(Bytes::from(full))
            .map_err(|_| std::fmt::Error) // the client went away
    }

    /// The rest.
    pub fn finish(mut self) -> std::fmt::Result {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.send()
    }
}

impl std::fmt::Write for ChunkWriter {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.buf.push_str(s);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(())
    }
}

impl Scraper {
    async fn respond(&self, req: Request<hyper::body::Incoming>) -> Response<Body> {
        if req.method() != hyper::Method::GET && req.method() != hyper::Method::HEAD {
            return text(StatusCode::METHOD_NOT_ALLOWED, "GET /metrics\n");
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
        let snap = match self.snapshot().await {
            Ok(s) => s,
            Err(e) => return text(StatusCode::SERVICE_UNAVAILABLE, &format!("{e}\n")),
        };
        // the encoding (and the kernel's table, read with its counters) on a blocking thread,
        // sent as it is written
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        tokio::task::spawn_blocking(move || {
            let w = ChunkWriter {
                buf: String::with_capacity(CHUNK + 1024),
                tx,
            };
            if encode::encode(snap, w).is_err() {
                tracing::debug!("metrics: a scrape was cut short (the client went away)");
            }
            // the snapshot of a large table is short-lived: its memory back to the system
            // SAFETY: malloc_trim only releases free heap memory; it has no preconditions.
            unsafe {
                libc::malloc_trim(0);
            }
        });
        let mut r = Response::new(Chunks(rx).boxed());
        r.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static(
                prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
            ),
        );
        r
    }

    async fn snapshot(&self) -> Result<Snapshot, String> {
        let status = control::status(&self.handles).await?;
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
        Ok(Snapshot {
            status,
            reloads,
            reconciler,
            now: now_s(),
        })
    }
}
