//! keepalived's SMTP alerts: one email per VRRP state change of an instance or a sync group
//! with `smtp_alert` (or the global `smtp_alert_vrrp` / `smtp_alert` default).
//!
//! What is sent, as keepalived sends it (users filter on these lines):
//!
//! * Subject `[<router_id>] VRRP Instance <name> - Entering MASTER state` (also `BACKUP`,
//!   `FAULT`, and `Stopping` at shutdown; `VRRP Group <name>` for sync groups; `Deleted` for an
//!   instance removed by a reload).
//! * A one-line body: `=> VRRP Instance is now owning VRRP VIPs <=` (MASTER),
//!   `=> VRRP Instance is no longer owning VRRP VIPs <=` (BACKUP, FAULT),
//!   `=> VRRP Instance stopping <=`, `=> VRRP Deleted at reload <=`; for groups
//!   `=> All VRRP group instances are now in MASTER state <=` (BACKUP, FAULT alike) and
//!   `=> All VRRP group instances are now stopping <=`.
//! * Headers `From: <notification_email_from>`, `To: <every notification_email>`,
//!   `X-Mailer: Keepalived`; the envelope is the same sender and every recipient.
//!
//! Rules kept from keepalived: INIT is never mailed; `no_email_faults` drops FAULT mails; a
//! state equal to the last one mailed for the same instance/group is not mailed again (so a
//! BACKUP -> FAULT (not mailed) -> BACKUP sequence sends nothing). Defaults: port 25,
//! `smtp_connect_timeout` 30 s, `router_id` and `smtp_helo_name` the local host name (its
//! canonical name when it resolves), `notification_email_from` `<user>@<local host name>`.
//!
//! Mail goes out in plain SMTP (no TLS, no AUTH, as keepalived), one connection per alert, one
//! alert at a time, from a background task: the caller never waits. The connect and every
//! reply are bounded by `smtp_connect_timeout` (the whole exchange by that timeout times its
//! number of steps); a failure is logged and counted, never retried.

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::Mailbox;
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use lvsd_config::model::GlobalDefs;
use lvsd_vrrp::State;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, Notify};

/// Alerts queued beyond this are dropped (and counted as failures): a server that hangs must
/// not make the queue grow without bound.
pub const MAX_QUEUED: usize = 256;

/// keepalived's default `smtp_connect_timeout`.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Whose state changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Instance,
    Group,
}

impl Kind {
    fn parse(s: &str) -> Option<Kind> {
        if s.eq_ignore_ascii_case("instance") {
            Some(Kind::Instance)
        } else if s.eq_ignore_ascii_case("group") {
            Some(Kind::Group)
        } else {
            None
        }
    }

    fn word(self) -> &'static str {
        match self {
            Kind::Instance => "Instance",
            Kind::Group => "Group",
        }
    }
}

/// What a mailed event is called; `Deleted` is an instance removed by a reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    Master,
    Backup,
    Fault,
    Stop,
    Deleted,
}

/// The subject's tail and the body line of an event (keepalived's wording).
fn wording(kind: Kind, event: Event) -> (&'static str, &'static str) {
    match (kind, event) {
        (Kind::Instance, Event::Master) => (
            "Entering MASTER state",
            "=> VRRP Instance is now owning VRRP VIPs <=",
        ),
        (Kind::Instance, Event::Backup) => (
            "Entering BACKUP state",
            "=> VRRP Instance is no longer owning VRRP VIPs <=",
        ),
        (Kind::Instance, Event::Fault) => (
            "Entering FAULT state",
            "=> VRRP Instance is no longer owning VRRP VIPs <=",
        ),
        (Kind::Instance, Event::Stop) => ("Stopping", "=> VRRP Instance stopping <="),
        (_, Event::Deleted) => ("Deleted", "=> VRRP Deleted at reload <="),
        (Kind::Group, Event::Master) => (
            "Entering MASTER state",
            "=> All VRRP group instances are now in MASTER state <=",
        ),
        (Kind::Group, Event::Backup) => (
            "Entering BACKUP state",
            "=> All VRRP group instances are now in BACKUP state <=",
        ),
        (Kind::Group, Event::Fault) => (
            "Entering FAULT state",
            "=> All VRRP group instances are now in FAULT state <=",
        ),
        (Kind::Group, Event::Stop) => (
            "Stopping",
            "=> All VRRP group instances are now stopping <=",
        ),
    }
}

/// The subject and body of an alert, given the router id; `None` for INIT (never mailed).
/// `kind` is `Instance` or `Group` (any case).
pub fn alert_text(
    router_id: &str,
    kind: &str,
    name: &str,
    state: State,
) -> Option<(String, String)> {
    let kind = Kind::parse(kind)?;
    let event = match state {
        State::Master => Event::Master,
        State::Backup => Event::Backup,
        State::Fault => Event::Fault,
        State::Stop => Event::Stop,
        State::Init => return None,
    };
    Some(text(router_id, kind, name, event))
}

fn text(router_id: &str, kind: Kind, name: &str, event: Event) -> (String, String) {
    let (tail, body) = wording(kind, event);
    (
        format!("[{router_id}] VRRP {} {name} - {tail}", kind.word()),
        body.to_string(),
    )
}

/// The configuration an alerter sends with (what global_defs says; unset defaults are resolved
/// by the sending task, since finding the host name may block).
#[derive(Debug)]
struct Settings {
    host: String,
    port: u16,
    timeout: Duration,
    helo: Option<String>,
    from: Option<Mailbox>,
    to: Vec<Mailbox>,
    router_id: Option<String>,
    no_email_faults: bool,
}

impl Settings {
    fn server(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// The queued alert: its texts are made by the sending task (the router id may need the host
/// name). Counted in `pending` until dropped (sent, failed, or lost with its task).
#[derive(Debug)]
struct Alert {
    what: AlertText,
    counters: Arc<Counters>,
}

/// What an alert says.
#[derive(Debug)]
enum AlertText {
    Vrrp {
        kind: Kind,
        name: String,
        event: Event,
    },
    /// A checker event: the subject after `[router_id] `, and the body.
    Checker { subject: String, body: String },
}

impl Drop for Alert {
    fn drop(&mut self) {
        self.counters.done();
    }
}

#[derive(Debug, Default)]
struct Counters {
    sent: AtomicU64,
    failures: AtomicU64,
    pending: AtomicUsize,
    idle: Notify,
}

impl Counters {
    fn done(&self) {
        self.pending.fetch_sub(1, Ordering::SeqCst);
        self.idle.notify_waiters();
    }
}

#[derive(Debug)]
struct Inner {
    settings: Arc<Settings>,
    counters: Arc<Counters>,
    handle: Option<tokio::runtime::Handle>,
    /// The sending task's queue, started at the first alert.
    queue: Mutex<Option<mpsc::UnboundedSender<Alert>>>,
    /// The last state mailed per instance / group.
    last: Mutex<HashMap<(Kind, String), Event>>,
}

/// Sends keepalived's SMTP alerts. Cheap to clone; clones share the queue and the counters.
#[derive(Debug, Clone)]
pub struct SmtpAlerter {
    inner: Arc<Inner>,
}

impl SmtpAlerter {
    /// An alerter for global_defs, or `None` when no `smtp_server` or no `notification_email`
    /// is configured (or no recipient is a valid address: each invalid one is logged).
    ///
    /// Sends from the tokio runtime current here if there is one, else from the runtime of the
    /// first [`Self::vrrp_transition`]. Does not block (the host name, when needed for a
    /// default, is looked up by the sending task).
    pub fn from_global(g: &GlobalDefs) -> Option<SmtpAlerter> {
        let server = g.smtp_server.as_ref()?;
        if g.notification_email.is_empty() {
            return None;
        }
        let to: Vec<Mailbox> = g
            .notification_email
            .iter()
            .filter_map(|a| match parse_mailbox(a) {
                Ok(m) => Some(m),
                Err(e) => {
                    tracing::warn!(
                        "notification_email `{a}` is not a valid address ({e}); not mailing it"
                    );
                    None
                }
            })
            .collect();
        if to.is_empty() {
            tracing::warn!("no valid notification_email address: SMTP alerts are off");
            return None;
        }
        let from = g
            .notification_email_from
            .as_deref()
            .and_then(|a| match parse_mailbox(a) {
                Ok(m) => Some(m),
                Err(e) => {
                    tracing::warn!(
                        "notification_email_from `{a}` is not a valid address ({e}); using the default"
                    );
                    None
                }
            });
        let timeout = if g.smtp_connect_timeout.is_finite() && g.smtp_connect_timeout > 0.0 {
            Duration::try_from_secs_f64(g.smtp_connect_timeout).unwrap_or(DEFAULT_CONNECT_TIMEOUT)
        } else {
            DEFAULT_CONNECT_TIMEOUT
        };
        let settings = Settings {
            host: server.host.clone(),
            port: server.port,
            timeout,
            helo: g.smtp_helo_name.clone().filter(|s| !s.is_empty()),
            from,
            to,
            router_id: g.router_id.clone().filter(|s| !s.is_empty()),
            no_email_faults: g.no_email_faults,
        };
        Some(SmtpAlerter {
            inner: Arc::new(Inner {
                settings: Arc::new(settings),
                counters: Arc::new(Counters::default()),
                handle: tokio::runtime::Handle::try_current().ok(),
                queue: Mutex::new(None),
                last: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// Whether an instance or sync group alerts: its own `smtp_alert`, else the global
    /// `smtp_alert_vrrp`, else the global `smtp_alert`, else no.
    pub fn instance_enabled(g: &GlobalDefs, instance_smtp_alert: Option<bool>) -> bool {
        instance_smtp_alert
            .or(g.smtp_alert_vrrp)
            .or(g.smtp_alert)
            .unwrap_or(false)
    }

    /// A state change of an instance (`kind` "Instance") or a sync group ("Group"; any case,
    /// so `Target::kind()` works too) whose alerts are enabled ([`Self::instance_enabled`]):
    /// queues its email and returns at once. INIT, FAULT with `no_email_faults`, and the state
    /// last mailed for this name are not mailed.
    pub fn vrrp_transition(&self, kind: &str, name: &str, state: lvsd_vrrp::State) {
        let Some(kind) = Kind::parse(kind) else {
            tracing::warn!("SMTP alert for `{kind} {name}`: unknown kind (Instance or Group)");
            return;
        };
        let event = match state {
            State::Master => Event::Master,
            State::Backup => Event::Backup,
            State::Fault => Event::Fault,
            State::Stop => Event::Stop,
            State::Init => return,
        };
        self.queue(kind, name, event);
    }

    /// An instance removed by a reload: the `Deleted` alert.
    pub fn vrrp_deleted(&self, name: &str) {
        self.queue(Kind::Instance, name, Event::Deleted);
    }

    fn queue(&self, kind: Kind, name: &str, event: Event) {
        if event == Event::Fault && self.inner.settings.no_email_faults {
            return;
        }
        {
            let mut last = self.inner.last.lock().expect("not poisoned");
            let key = (kind, name.to_string());
            if last.get(&key) == Some(&event) {
                return;
            }
            last.insert(key, event);
        }
        let what = format!("VRRP {} {name}", kind.word());
        self.enqueue(
            what,
            AlertText::Vrrp {
                kind,
                name: name.to_string(),
                event,
            },
        );
    }

    /// A checker event (a real server up or down, a virtual server's quorum): keepalived's
    /// wording, e.g. subject `Realserver [10.0.0.2]:tcp:80 of virtual server
    /// [10.0.0.100]:tcp:80 - DOWN`, body `=> CHECK failed on service : connection refused <=`.
    pub fn checker(&self, subject: String, body: String) {
        let what = subject.clone();
        self.enqueue(what, AlertText::Checker { subject, body });
    }

    fn enqueue(&self, what: String, text: AlertText) {
        let counters = &self.inner.counters;
        if counters.pending.load(Ordering::SeqCst) >= MAX_QUEUED {
            counters.failures.fetch_add(1, Ordering::SeqCst);
            tracing::warn!(
                "SMTP alert for {what} dropped: {MAX_QUEUED} alerts already queued for {}",
                self.inner.settings.server()
            );
            return;
        }
        counters.pending.fetch_add(1, Ordering::SeqCst);
        let alert = Alert {
            what: text,
            counters: self.inner.counters.clone(),
        };
        let mut queue = self.inner.queue.lock().expect("not poisoned");
        let alert = match queue.as_ref() {
            Some(tx) => match tx.send(alert) {
                Ok(()) => return,
                Err(mpsc::error::SendError(a)) => a,
            },
            None => alert,
        };
        let handle = match self.inner.handle.clone() {
            Some(h) => h,
            None => match tokio::runtime::Handle::try_current() {
                Ok(h) => h,
                Err(_) => {
                    counters.failures.fetch_add(1, Ordering::SeqCst);
                    tracing::warn!("SMTP alert for {what} not sent: no tokio runtime");
                    drop(alert);
                    return;
                }
            },
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let _ = tx.send(alert);
        handle.spawn(worker(
            self.inner.settings.clone(),
            self.inner.counters.clone(),
            rx,
        ));
        *queue = Some(tx);
    }

    /// Alerts accepted by the server.
    pub fn sent(&self) -> u64 {
        self.inner.counters.sent.load(Ordering::SeqCst)
    }

    /// Alerts that failed (connection, timeout, SMTP error, or dropped).
    pub fn failures(&self) -> u64 {
        self.inner.counters.failures.load(Ordering::SeqCst)
    }

    /// Alerts queued or being sent.
    pub fn pending(&self) -> usize {
        self.inner.counters.pending.load(Ordering::SeqCst)
    }

    /// Waits up to `timeout` for the queued alerts (at shutdown, after the STOP alerts).
    /// Returns whether none is left; those left are logged.
    pub async fn flush(&self, timeout: Duration) -> bool {
        let counters = &self.inner.counters;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let idle = counters.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            let left = counters.pending.load(Ordering::SeqCst);
            if left == 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, idle).await.is_err() {
                let left = counters.pending.load(Ordering::SeqCst);
                if left == 0 {
                    return true;
                }
                tracing::warn!(
                    "{left} SMTP alert(s) to {} not sent after {} ms",
                    self.inner.settings.server(),
                    timeout.as_millis()
                );
                return false;
            }
        }
    }
}

/// keepalived accepts `addr`, `Name <addr>` and `"Name" <addr>`.
fn parse_mailbox(s: &str) -> Result<Mailbox, String> {
    s.trim().parse::<Mailbox>().map_err(|e| e.to_string())
}

/// What the defaults resolve to, once per sending task.
struct Identity {
    router_id: String,
    from: Result<Mailbox, String>,
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl Identity {
    async fn resolve(s: &Settings) -> Identity {
        let needs_host = s.router_id.is_none() || s.helo.is_none() || s.from.is_none();
        let (local, user) = if needs_host {
            let need_user = s.from.is_none();
            tokio::task::spawn_blocking(move || {
                let user = if need_user { user_name() } else { None };
                (local_name(), user)
            })
            .await
            .unwrap_or((None, None))
        } else {
            (None, None)
        };
        let router_id = s
            .router_id
            .clone()
            .or_else(|| local.clone())
            .unwrap_or_else(|| "[unknown]".to_string());
        let from = match &s.from {
            Some(m) => Ok(m.clone()),
            None => {
                let user = user.unwrap_or_else(|| "keepalived".to_string());
                let host = local.clone().unwrap_or_else(|| "localhost".to_string());
                let a = format!("{user}@{host}");
                parse_mailbox(&a).map_err(|e| format!("default sender `{a}` is not valid: {e}"))
            }
        };
        let hello = match s.helo.clone().or(local) {
            Some(h) => ClientId::Domain(h),
            None => ClientId::Domain("localhost".to_string()),
        };
        let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(s.host.clone())
            .port(s.port)
            .timeout(Some(s.timeout))
            .hello_name(hello)
            .build();
        Identity {
            router_id,
            from,
            transport,
        }
    }
}

async fn worker(
    settings: Arc<Settings>,
    counters: Arc<Counters>,
    mut rx: mpsc::UnboundedReceiver<Alert>,
) {
    let mut identity: Option<Identity> = None;
    while let Some(alert) = rx.recv().await {
        let id = match &identity {
            Some(id) => id,
            None => identity.insert(Identity::resolve(&settings).await),
        };
        let (subject, body) = match &alert.what {
            AlertText::Vrrp { kind, name, event } => text(&id.router_id, *kind, name, *event),
            AlertText::Checker { subject, body } => {
                (format!("[{}] {subject}", id.router_id), body.clone())
            }
        };
        match send(&settings, id, &subject, &body).await {
            Ok(()) => {
                counters.sent.fetch_add(1, Ordering::SeqCst);
                tracing::info!("SMTP alert sent to {}: {subject}", settings.server());
            }
            Err(e) => {
                counters.failures.fetch_add(1, Ordering::SeqCst);
                tracing::warn!(
                    "SMTP alert to {} failed: {e} (subject: {subject})",
                    settings.server()
                );
            }
        }
        // Dropping `alert` takes it off `pending`.
    }
}

async fn send(s: &Settings, id: &Identity, subject: &str, body: &str) -> Result<(), String> {
    let from = id.from.clone()?;
    let mut b = Message::builder()
        .from(from)
        .subject(subject)
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("X-Mailer"),
            "Keepalived".to_string(),
        ))
        .message_id(None);
    for to in &s.to {
        b = b.to(to.clone());
    }
    let msg = b
        .body(format!("{body}\r\n"))
        .map_err(|e| format!("cannot build the message: {e}"))?;
    // Greeting, EHLO, MAIL, each RCPT, DATA, the message and QUIT: each may take the timeout.
    let steps = 6 + u32::try_from(s.to.len()).unwrap_or(u32::MAX);
    let limit = s.timeout.saturating_mul(steps);
    match tokio::time::timeout(limit, id.transport.send(msg)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(smtp_error(&e)),
        Err(_) => Err(format!("timed out after {} ms", limit.as_millis())),
    }
}

/// lettre's error with its sources (the OS error of a failed connection).
fn smtp_error(e: &lettre::transport::smtp::Error) -> String {
    let mut out = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        let t = s.to_string();
        if !out.contains(&t) {
            out.push_str(": ");
            out.push_str(&t);
        }
        src = s.source();
    }
    out
}

/// The running user's name (keepalived's default sender is `<user>@<host>`).
fn user_name() -> Option<String> {
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|u| u.name)
}

/// The local host name: the canonical name of the node name when it resolves, else the node
/// name.
fn local_name() -> Option<String> {
    let node = nix::unistd::gethostname().ok()?.into_string().ok()?;
    if node.is_empty() {
        return None;
    }
    Some(canonical_name(&node).unwrap_or(node))
}

fn canonical_name(node: &str) -> Option<String> {
    let c = std::ffi::CString::new(node).ok()?;
    // SAFETY: an all-zero addrinfo is a valid hints value (no flags, any family/type).
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_flags = libc::AI_CANONNAME;
    let mut res: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: valid C string, hints and out pointer; the result is freed below.
    let rc = unsafe { libc::getaddrinfo(c.as_ptr(), std::ptr::null(), &hints, &mut res) };
    if rc != 0 || res.is_null() {
        return None;
    }
    // SAFETY: `res` is a list from getaddrinfo; ai_canonname is null or a C string in it.
    let name = unsafe {
        let p = (*res).ai_canonname;
        if p.is_null() {
            None
        } else {
            std::ffi::CStr::from_ptr(p)
                .to_str()
                .ok()
                .map(str::to_string)
        }
    };
    // SAFETY: freed once, not used after.
    unsafe { libc::freeaddrinfo(res) };
    name.filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wording_is_keepalived_s() {
        let (s, b) = alert_text("lb1", "Instance", "VI_1", State::Master).unwrap();
        assert_eq!(s, "[lb1] VRRP Instance VI_1 - Entering MASTER state");
        assert_eq!(b, "=> VRRP Instance is now owning VRRP VIPs <=");
        let (s, b) = alert_text("lb1", "INSTANCE", "VI_1", State::Fault).unwrap();
        assert_eq!(s, "[lb1] VRRP Instance VI_1 - Entering FAULT state");
        assert_eq!(b, "=> VRRP Instance is no longer owning VRRP VIPs <=");
        let (s, b) = alert_text("lb1", "Instance", "VI_1", State::Stop).unwrap();
        assert_eq!(s, "[lb1] VRRP Instance VI_1 - Stopping");
        assert_eq!(b, "=> VRRP Instance stopping <=");
        let (s, b) = alert_text("lb1", "Group", "G", State::Backup).unwrap();
        assert_eq!(s, "[lb1] VRRP Group G - Entering BACKUP state");
        assert_eq!(b, "=> All VRRP group instances are now in BACKUP state <=");
        let (s, b) = alert_text("lb1", "GROUP", "G", State::Stop).unwrap();
        assert_eq!(s, "[lb1] VRRP Group G - Stopping");
        assert_eq!(b, "=> All VRRP group instances are now stopping <=");
        let (s, b) = text("lb1", Kind::Instance, "VI_1", Event::Deleted);
        assert_eq!(s, "[lb1] VRRP Instance VI_1 - Deleted");
        assert_eq!(b, "=> VRRP Deleted at reload <=");
        assert!(alert_text("lb1", "Instance", "VI_1", State::Init).is_none());
        assert!(alert_text("lb1", "Server", "VI_1", State::Master).is_none());
    }

    #[test]
    fn mailboxes_with_display_names() {
        let m = parse_mailbox("My admin <admin@example2.com>").unwrap();
        assert_eq!(m.email.to_string(), "admin@example2.com");
        assert_eq!(m.name.as_deref(), Some("My admin"));
        let m = parse_mailbox("admin@example.com").unwrap();
        assert_eq!(m.email.to_string(), "admin@example.com");
        assert!(parse_mailbox("not an address").is_err());
    }

    #[test]
    fn local_name_is_some_here() {
        // The sandbox's /etc/hosts names the host.
        assert!(local_name().is_some_and(|n| !n.is_empty()));
    }
}
