//! The control socket (a Unix stream socket): one request line (versioned JSON, `proto.rs`),
//! one JSON reply. Who may read and who may change is decided from the peer's credentials
//! ([`Access`]). `status` returns the engine's snapshot with the virtual servers' health;
//! `reload` and `reload --dry-run` validate the configuration file and return the plan
//! (applied or not); `rs` and `vrrp` carry out the operators' overrides (docs/operate.md).
//! `lvsd status`, `lvsd reload`, `lvsd rs`, `lvsd vrrp`, `lvsd events` are its clients.

use super::engine::{Control, Input};
use super::health_task::HealthInput;
use crate::proto::{
    ChangeReply, ErrorReply, ReloadReply, Request, Status, VrrpAction, MAX_REQUEST,
};
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
    Change(ChangeReply),
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
    // anyone may connect: the daemon decides from the peer's credentials (a refusal says
    // why, where a file mode only says EACCES)
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))?;
    Ok(l)
}

/// What the control socket talks to.
pub struct Handles {
    pub engine: mpsc::UnboundedSender<Input>,
    pub health: mpsc::UnboundedSender<HealthInput>,
    pub reload: mpsc::UnboundedSender<ReloadRequest>,
    pub access: std::sync::Mutex<Access>,
    pub overrides: super::overrides::Overrides,
    /// Requests refused (bad, or not allowed), for the metrics.
    pub refused: std::sync::atomic::AtomicU64,
    /// Their log lines: one per 10 s, with the number left out (any local user can connect).
    pub refusal_log: std::sync::Mutex<super::ratelimit::RateLimit>,
    /// `vrrp` requests one at a time: the overrides file and the engine see them in one order.
    pub vrrp_serial: tokio::sync::Mutex<()>,
}

impl Handles {
    /// Counts a refusal and logs it (rate-limited).
    fn refused(&self, kind: &'static str, line: impl FnOnce() -> String) {
        self.refused
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let allow = self
            .refusal_log
            .lock()
            .map(|mut r| r.allow(None, kind))
            .unwrap_or(true);
        if allow {
            tracing::warn!("control socket: {}", line());
        }
    }
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
    let mut st = ask(|tx| engine.send(Input::Control(Control::Status(tx))).is_ok())
        .await
        .ok_or_else(|| "the VRRP engine stopped".to_string())?;
    for i in &mut st.instances {
        if let (Some(shown), Some(d)) = (i.demoted.as_mut(), h.overrides.demoted(&i.name)) {
            shown.since = d.since;
            shown.by = d.by;
        }
    }
    Ok(st)
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

/// Who may do what on the control socket: root always; the control group may change
/// anything; the status group may read. Resolved from `global_defs` at start and at each
/// reload.
#[derive(Debug, Clone, Default)]
pub struct Access {
    pub control: Option<(String, u32)>,
    pub status: Option<(String, u32)>,
}

impl Access {
    pub fn from_config(g: &lvsd_config::model::GlobalDefs) -> Access {
        let resolve = |kw: &str, name: &Option<String>| {
            let name = name.as_ref()?;
            match nix::unistd::Group::from_name(name) {
                Ok(Some(gr)) => Some((name.clone(), gr.gid.as_raw())),
                _ => {
                    tracing::warn!(
                        "global_defs {kw} {name}: no such group; only root may use what it allows"
                    );
                    None
                }
            }
        };
        Access {
            control: resolve("lvsd_control_group", &g.control_group),
            status: resolve("lvsd_status_group", &g.status_group),
        }
    }
}

/// The control socket's peer: its credentials, and its name for the log.
struct Peer {
    uid: u32,
    gid: u32,
    pid: Option<i32>,
    /// Its supplementary groups as they were when it connected (SO_PEERGROUPS).
    groups: Vec<u32>,
}

/// The supplementary groups of a Unix socket's peer, as of its connect() (SO_PEERGROUPS,
/// Linux 4.13): read from the socket, not from /proc, whose process may have exited and its
/// PID been reused by then.
fn peer_groups(fd: std::os::fd::BorrowedFd<'_>) -> Vec<u32> {
    use std::os::fd::AsRawFd;
    let mut buf: Vec<libc::gid_t> = vec![0; 64];
    for _ in 0..2 {
        let mut len = (buf.len() * std::mem::size_of::<libc::gid_t>()) as libc::socklen_t;
        // SAFETY: buf is valid for len bytes; len is written back with the size used.
        let r = unsafe {
            libc::getsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_PEERGROUPS,
                buf.as_mut_ptr().cast(),
                &mut len,
            )
        };
        let n = len as usize / std::mem::size_of::<libc::gid_t>();
        if r == 0 {
            buf.truncate(n);
            return buf;
        }
        if std::io::Error::last_os_error().raw_os_error() != Some(libc::ERANGE) || n <= buf.len() {
            break;
        }
        buf.resize(n, 0);
    }
    Vec::new()
}

/// A user's name, looked up once per uid (a refused client may connect again and again).
fn user_name(uid: u32) -> Option<String> {
    static NAMES: std::sync::OnceLock<
        std::sync::Mutex<std::collections::HashMap<u32, Option<String>>>,
    > = std::sync::OnceLock::new();
    let names = NAMES.get_or_init(Default::default);
    let mut m = names.lock().unwrap_or_else(|e| e.into_inner());
    if m.len() > 1024 {
        m.clear();
    }
    m.entry(uid)
        .or_insert_with(|| {
            nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
                .ok()
                .flatten()
                .map(|u| u.name)
        })
        .clone()
}

impl Peer {
    /// Whether the peer (its primary group or a supplementary group of its process) is in
    /// `gid`.
    fn in_group(&self, gid: u32) -> bool {
        self.gid == gid || self.groups.contains(&gid)
    }

    /// `uid 0 (root), pid 4242 (lvsd)`
    fn describe(&self) -> String {
        let user = user_name(self.uid)
            .map(|n| format!(" ({n})"))
            .unwrap_or_default();
        let pid = self
            .pid
            .map(|p| {
                let comm = std::fs::read_to_string(format!("/proc/{p}/comm")).unwrap_or_default();
                format!(", pid {p} ({})", comm.trim())
            })
            .unwrap_or_default();
        format!("uid {}{user}{pid}", self.uid)
    }

    /// None: allowed; Some: the refusal.
    fn refuse(&self, access: &Access, change: bool) -> Option<String> {
        if self.uid == 0 {
            return None;
        }
        if let Some((_, g)) = &access.control {
            if self.in_group(*g) {
                return None;
            }
        }
        if !change {
            if let Some((_, g)) = &access.status {
                if self.in_group(*g) {
                    return None;
                }
            }
        }
        let who = self.describe();
        Some(if change {
            format!(
                "permission denied: {who} may not change lvsd (root may, and the group global_defs lvsd_control_group names{})",
                access.control.as_ref().map(|(n, _)| format!(": {n}")).unwrap_or_default()
            )
        } else {
            format!(
                "permission denied: {who} may not read lvsd's status (root may, and the groups global_defs lvsd_status_group and lvsd_control_group name{})",
                access.status.as_ref().map(|(n, _)| format!(": {n}")).unwrap_or_default()
            )
        })
    }
}

/// Reads the request line: at most [`MAX_REQUEST`] bytes, within 10 s.
async fn read_request(stream: &mut tokio::net::UnixStream) -> Result<String, String> {
    use tokio::io::AsyncReadExt;
    let (r, _) = stream.split();
    let mut limited = BufReader::new(r.take(MAX_REQUEST as u64 + 1));
    let mut buf = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        limited.read_until(b'\n', &mut buf),
    )
    .await;
    match read {
        Err(_) => Err("no request within 10 s".into()),
        Ok(Err(e)) => Err(format!("reading the request: {e}")),
        Ok(Ok(_)) if buf.len() > MAX_REQUEST => {
            Err(format!("the request is longer than {MAX_REQUEST} bytes"))
        }
        Ok(Ok(_)) => String::from_utf8(buf).map_err(|_| "the request is not UTF-8".to_string()),
    }
}

/// Connections one user other than root may hold at once (`events` followers included): a
/// local user cannot take the daemon's descriptors, which its checkers need.
pub const PER_USER: usize = 32;

/// The connections each user holds now.
#[derive(Default)]
struct PerUser(std::sync::Mutex<std::collections::HashMap<u32, usize>>);

/// One connection of a user, given back when dropped.
struct Slot {
    users: std::sync::Arc<PerUser>,
    uid: u32,
}

fn take_slot(users: &std::sync::Arc<PerUser>, uid: u32) -> Option<Slot> {
    let mut m = users.0.lock().unwrap_or_else(|e| e.into_inner());
    let n = m.entry(uid).or_default();
    if uid != 0 && *n >= PER_USER {
        return None;
    }
    *n += 1;
    Some(Slot {
        users: users.clone(),
        uid,
    })
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut m = self.users.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = m.get_mut(&self.uid) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.uid);
            }
        }
    }
}

pub async fn serve(listener: UnixListener, handles: std::sync::Arc<Handles>, path: PathBuf) {
    let users = std::sync::Arc::new(PerUser::default());
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("control socket {}: {e}", path.display());
                continue;
            }
        };
        let h = handles.clone();
        let users = users.clone();
        tokio::spawn(async move {
            let mut stream = stream;
            let peer = match stream.peer_cred() {
                Ok(c) => Peer {
                    uid: c.uid(),
                    gid: c.gid(),
                    pid: c.pid(),
                    groups: peer_groups(std::os::fd::AsFd::as_fd(&stream)),
                },
                Err(e) => {
                    tracing::warn!("control socket: no peer credentials: {e}");
                    return;
                }
            };
            let Some(_slot) = take_slot(&users, peer.uid) else {
                let error = format!(
                    "{} holds {PER_USER} connections already: refused",
                    peer.describe()
                );
                h.refused("control socket: connections refused", || error.clone());
                let line = serde_json::json!({ "error": error }).to_string() + "\n";
                let _ = stream.try_write(line.as_bytes());
                return;
            };
            let reply = match read_request(&mut stream)
                .await
                .and_then(|l| Request::parse(&l))
            {
                Err(error) => {
                    h.refused("control socket: bad requests", || {
                        format!("{error} (from {})", peer.describe())
                    });
                    Reply::Error(ErrorReply { error })
                }
                Ok(req) => {
                    let access = h.access.lock().map(|a| a.clone()).unwrap_or_default();
                    match peer.refuse(&access, req.changes()) {
                        Some(error) => {
                            h.refused("control socket: requests not allowed", || error.clone());
                            Reply::Error(ErrorReply { error })
                        }
                        None if req == Request::Events => {
                            events(stream).await;
                            return;
                        }
                        None => handle(&h, req, &peer).await,
                    }
                }
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
                    Reply::Change(c) => serde_json::to_writer(&mut w, c),
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

/// One allowed request.
async fn handle(h: &Handles, req: Request, peer: &Peer) -> Reply {
    let by = peer.describe();
    let result = match req {
        Request::Status => status(h).await.map(|s| Reply::Status(Box::new(s))),
        Request::Events => Err("events are streamed".to_string()),
        Request::Reload { dry_run } => {
            if !dry_run {
                tracing::info!("reload asked by {by}");
            }
            let reload = h.reload.clone();
            let r = ask(|reply| reload.send(ReloadRequest { dry_run, reply }).is_ok())
                .await
                .unwrap_or_else(|| ReloadReply {
                    errors: Some("the daemon is stopping".into()),
                    ..Default::default()
                });
            Ok(Reply::Reload(Box::new(r)))
        }
        Request::Rs {
            action,
            virtual_server,
            real_server,
            timeout_s,
        } => {
            let timeout = match timeout_s {
                None => Ok(None),
                Some(t) if t.is_finite() && t > 0.0 && t <= 30.0 * 86400.0 => {
                    Ok(Some(std::time::Duration::from_secs_f64(t)))
                }
                Some(t) => Err(format!(
                    "--timeout {t}: give seconds, more than 0, at most 30 days"
                )),
            };
            match timeout {
                Err(e) => Err(e),
                Ok(timeout) => {
                    let cmd = super::health_task::admin::RsCommand {
                        action,
                        vs: virtual_server,
                        rs: real_server,
                        timeout,
                        by,
                    };
                    let health = h.health.clone();
                    ask(|tx| health.send(HealthInput::Rs(cmd, tx)).is_ok())
                        .await
                        .unwrap_or_else(|| Err("the health task stopped".into()))
                        .map(|changed| Reply::Change(ChangeReply { changed }))
                }
            }
        }
        Request::Vrrp { action, instance } => vrrp(h, action, instance, by)
            .await
            .map(|changed| Reply::Change(ChangeReply { changed })),
    };
    result.unwrap_or_else(|error| Reply::Error(ErrorReply { error }))
}

/// `lvsd vrrp demote|promote|release INSTANCE|--all`: the names checked against the running
/// instances, the overrides written first, then the engine acts.
async fn vrrp(
    h: &Handles,
    action: VrrpAction,
    instance: Option<String>,
    by: String,
) -> Result<Vec<String>, String> {
    let _one_at_a_time = h.vrrp_serial.lock().await;
    let st = vrrp_status(h).await?;
    let named: Vec<String> = match &instance {
        None => st.instances.iter().map(|i| i.name.clone()).collect(),
        Some(n) if st.instances.iter().any(|i| &i.name == n) => vec![n.clone()],
        Some(n) => {
            let all: Vec<&str> = st.instances.iter().map(|i| i.name.as_str()).collect();
            return Err(format!(
                "no VRRP instance `{n}`; the instances are: {}",
                if all.is_empty() {
                    "none".to_string()
                } else {
                    all.join(", ")
                }
            ));
        }
    };
    if named.is_empty() {
        return Err("the configuration has no vrrp_instance".into());
    }
    // a sync group moves together: its members are demoted, promoted, released together (a
    // promote of one member alone would wait for the others forever under nopreempt)
    let mut names = named.clone();
    for g in &st.sync_groups {
        if g.members.iter().any(|m| named.contains(m)) {
            names.extend(g.members.iter().cloned());
        }
    }
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| seen.insert(n.clone()));
    let now = super::overrides::store::now_unix();
    h.overrides.update(|s| {
        for n in &names {
            let keep = s.demoted(n).cloned();
            let new = match action {
                VrrpAction::Demote => keep.or_else(|| {
                    Some(super::overrides::store::VrrpOverride {
                        instance: n.clone(),
                        since: now,
                        by: by.clone(),
                    })
                }),
                VrrpAction::Promote | VrrpAction::Release => None,
            };
            s.set_demoted(n, new);
        }
    })?;
    let op = match action {
        VrrpAction::Demote => lvsd_vrrp::Operator::Demote,
        VrrpAction::Promote => lvsd_vrrp::Operator::Promote,
        VrrpAction::Release => lvsd_vrrp::Operator::Release,
    };
    let engine = h.engine.clone();
    let lines = ask(|tx| {
        engine
            .send(Input::Control(Control::Operator {
                names: names.clone(),
                op,
                by: by.clone(),
                reply: tx,
            }))
            .is_ok()
    })
    .await
    .ok_or_else(|| "the VRRP engine stopped".to_string())?;
    Ok(lines)
}
