//! The control socket (a Unix stream socket, mode 0600): one request line, one JSON reply.
//! `status` returns the engine's snapshot with the virtual servers' health; `reload` and
//! `reload --dry-run` validate the configuration file and return the plan (applied or not).
//! `lvsd status` and `lvsd reload` are its clients.

use super::engine::{Control, Input};
use super::health_task::HealthInput;
use crate::proto::{ErrorReply, ReloadReply, Status};
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::UnixListener;
use tokio::sync::{mpsc, oneshot};

/// A socket whose writes fail once `until` has passed.
struct Until {
    s: std::os::unix::net::UnixStream,
    until: std::time::Instant,
}

impl std::io::Write for Until {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        let left = self
            .until
            .saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        self.s.set_write_timeout(Some(left))?;
        self.s.write(b)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.s.flush()
    }
}

/// One reply, serialized to the socket as it is written.
enum Reply {
    Status(Box<Status>),
    Reload(Box<ReloadReply>),
    Error(ErrorReply),
}

pub fn bind(path: &Path) -> std::io::Result<UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // A socket left by a previous run: remove it (only if it is a socket).
    if let Ok(md) = std::fs::symlink_metadata(path) {
        use std::os::unix::fs::FileTypeExt;
        if md.file_type().is_socket() {
            std::fs::remove_file(path)?;
        }
    }
    let l = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(l)
}

/// What the control socket talks to.
pub struct Handles {
    pub engine: mpsc::UnboundedSender<Input>,
    pub health: mpsc::UnboundedSender<HealthInput>,
    pub reload: mpsc::UnboundedSender<ReloadRequest>,
}

/// `lvsd reload [--dry-run]`, handled by the main loop like SIGHUP.
pub struct ReloadRequest {
    pub dry_run: bool,
    pub reply: oneshot::Sender<ReloadReply>,
}

async fn ask<T>(send: impl FnOnce(oneshot::Sender<T>) -> bool) -> Option<T> {
    let (tx, rx) = oneshot::channel();
    if !send(tx) {
        return None;
    }
    rx.await.ok()
}

/// The VRRP engine's part of `status`.
pub async fn vrrp_status(h: &Handles) -> Result<crate::proto::VrrpStatus, String> {
    let engine = h.engine.clone();
    ask(|tx| engine.send(Input::Control(Control::Status(tx))).is_ok())
        .await
        .ok_or_else(|| "the VRRP engine stopped".to_string())
}

/// The health task's part of `status`.
pub async fn lvs_status(h: &Handles) -> Result<crate::proto::LvsStatus, String> {
    let health = h.health.clone();
    ask(|tx| health.send(HealthInput::Status(tx)).is_ok())
        .await
        .ok_or_else(|| "the health task stopped".to_string())
}

/// The engine's part and the health task's part of `status`.
pub async fn status(h: &Handles) -> Result<Status, String> {
    Ok(Status {
        vrrp: vrrp_status(h).await?,
        lvs: lvs_status(h).await?,
    })
}

/// `events`: a first line (`subscribed`), then every event as it happens, until the client
/// goes away; one that reads too slowly is told how many it lost.
async fn events(mut stream: tokio::net::UnixStream) {
    use tokio::io::AsyncWriteExt;
    let mut rx = super::events::subscribe();
    let mut line = super::events::line("subscribed", serde_json::json!({}));
    loop {
        line.push('\n');
        if stream.write_all(line.as_bytes()).await.is_err() {
            return;
        }
        line = match rx.recv().await {
            Ok(l) => l.to_string(),
            Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => super::events::lost(n),
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        };
    }
}

pub async fn serve(listener: UnixListener, handles: std::sync::Arc<Handles>, path: PathBuf) {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("control socket {}: {e}", path.display());
                continue;
            }
        };
        let h = handles.clone();
        tokio::spawn(async move {
            let mut stream = stream;
            let mut line = String::new();
            {
                let (r, _) = stream.split();
                if BufReader::new(r).read_line(&mut line).await.is_err() {
                    return;
                }
            }
            if line.trim() == "events" {
                events(stream).await;
                return;
            }
            let reply: Reply = match line.trim() {
                "status" => match status(&h).await {
                    Ok(s) => Reply::Status(Box::new(s)),
                    Err(error) => Reply::Error(ErrorReply { error }),
                },
                req @ ("reload" | "reload --dry-run") => {
                    let dry_run = req.ends_with("--dry-run");
                    let reload = h.reload.clone();
                    let r = ask(|reply| reload.send(ReloadRequest { dry_run, reply }).is_ok())
                        .await
                        .unwrap_or_else(|| ReloadReply {
                            errors: Some("the daemon is stopping".into()),
                            ..Default::default()
                        });
                    Reply::Reload(Box::new(r))
                }
                other => Reply::Error(ErrorReply {
                    error: format!(
                        "unknown request `{other}` (status, reload, reload --dry-run, events)"
                    ),
                }),
            };
            // The reply is written as it is serialized, through a small buffer, on a blocking
            // thread: a status of 10,000 real servers is ~7 MB of JSON that is never held whole.
            let Ok(std) = stream.into_std() else { return };
            let _ = tokio::task::spawn_blocking(move || {
                let _ = std.set_nonblocking(false);
                // a client that stops reading holds this thread (and the daemon's exit) 30 s
                // at most in all
                let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
                let mut w = std::io::BufWriter::with_capacity(64 * 1024, Until { s: std, until });
                let r = match &reply {
                    Reply::Status(s) => serde_json::to_writer(&mut w, s),
                    Reply::Reload(r) => serde_json::to_writer(&mut w, r),
                    Reply::Error(e) => serde_json::to_writer(&mut w, e),
                };
                if let Err(e) = r {
                    tracing::warn!("control socket: the reply was cut short: {e}");
                    return;
                }
                let _ = w.write_all(b"\n").and_then(|_| w.flush());
                drop(reply);
                // The status structures of a large table are short-lived: give the freed
                // memory back to the system instead of keeping it in malloc's arenas.
                // SAFETY: malloc_trim only releases free heap memory; it has no preconditions.
                unsafe {
                    libc::malloc_trim(0);
                }
            })
            .await;
        });
    }
}
