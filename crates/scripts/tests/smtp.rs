//! SMTP alerts against a minimal SMTP server on 127.0.0.1.

mod common;

use lvsd_config::model::GlobalDefs;
use lvsd_scripts::SmtpAlerter;
use lvsd_vrrp::State;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

fn global(text: &str) -> GlobalDefs {
    let l = lvsd_config::load_str(Path::new("t.conf"), text.as_bytes(), &Default::default());
    assert!(
        l.diagnostics
            .iter()
            .all(|d| d.severity != lvsd_config::Severity::Error),
        "{:?}",
        l.diagnostics
    );
    l.config.global
}

/// One mail as the server got it.
#[derive(Debug, Default)]
struct Mail {
    hello: String,
    from: String,
    to: Vec<String>,
    data: String,
}

impl Mail {
    /// The header lines, unfolded.
    fn headers(&self) -> Vec<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap();
        let mut out: Vec<String> = Vec::new();
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                out.last_mut().unwrap().push_str(line);
            } else {
                out.push(line.to_string());
            }
        }
        out
    }

    fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        self.headers()
            .into_iter()
            .find(|h| h.to_ascii_lowercase().starts_with(&prefix))
            .map(|h| h[prefix.len()..].trim().to_string())
    }

    fn body(&self) -> &str {
        self.data.split_once("\r\n\r\n").unwrap().1
    }
}

/// Serves SMTP on an ephemeral port; every mail accepted is sent on the channel.
async fn smtp_server() -> (u16, mpsc::UnboundedReceiver<Mail>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = l.accept().await else {
                return;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut r = BufReader::new(r);
                let mut mail = Mail::default();
                w.write_all(b"220 test.invalid ESMTP ready\r\n")
                    .await
                    .unwrap();
                let mut line = String::new();
                loop {
                    line.clear();
                    if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let cmd = line.trim_end_matches(['\r', '\n']).to_string();
                    let upper = cmd.to_ascii_uppercase();
                    let reply: &[u8] = if upper.starts_with("EHLO ") || upper.starts_with("HELO ") {
                        mail.hello = cmd[5..].to_string();
                        b"250 test.invalid\r\n"
                    } else if let Some(a) = upper.strip_prefix("MAIL FROM:") {
                        mail.from = cmd[cmd.len() - a.len()..].to_string();
                        b"250 OK\r\n"
                    } else if let Some(a) = upper.strip_prefix("RCPT TO:") {
                        mail.to.push(cmd[cmd.len() - a.len()..].to_string());
                        b"250 OK\r\n"
                    } else if upper == "DATA" {
                        w.write_all(b"354 go on\r\n").await.unwrap();
                        let mut data = String::new();
                        loop {
                            line.clear();
                            if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                                return;
                            }
                            if line == ".\r\n" {
                                break;
                            }
                            let l = line.strip_prefix('.').unwrap_or(&line);
                            data.push_str(l);
                        }
                        mail.data = data;
                        let _ = tx.send(std::mem::take(&mut mail));
                        b"250 OK queued\r\n"
                    } else if upper == "QUIT" {
                        let _ = w.write_all(b"221 bye\r\n").await;
                        return;
                    } else {
                        b"502 not implemented\r\n"
                    };
                    w.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, rx)
}

fn conf(port: u16, extra: &str) -> String {
    format!(
        "global_defs {{\n\
           router_id lb1\n\
           notification_email {{\n\
             admin@example.com\n\
             \"Ops Team <ops@example.org>\"\n\
           }}\n\
           notification_email_from lvsd@example.net\n\
           smtp_server 127.0.0.1 {port}\n\
           smtp_connect_timeout 5\n\
           {extra}\n\
         }}\n"
    )
}

async fn next_mail(rx: &mut mpsc::UnboundedReceiver<Mail>) -> Mail {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("a mail within 10 s")
        .expect("server running")
}

#[tokio::test]
async fn master_transition_is_mailed() {
    let (port, mut rx) = smtp_server().await;
    let g = global(&conf(port, "smtp_helo_name lb1.example.net"));
    let a = SmtpAlerter::from_global(&g).expect("alerter");
    a.vrrp_transition("Instance", "VI_1", State::Master);
    let m = next_mail(&mut rx).await;
    assert_eq!(m.hello, "lb1.example.net");
    assert_eq!(m.from, "<lvsd@example.net>");
    assert_eq!(m.to, vec!["<admin@example.com>", "<ops@example.org>"]);
    assert_eq!(
        m.header("Subject").as_deref(),
        Some("[lb1] VRRP Instance VI_1 - Entering MASTER state")
    );
    assert_eq!(m.header("From").as_deref(), Some("lvsd@example.net"));
    let to = m.header("To").unwrap();
    assert!(to.contains("admin@example.com"), "{to}");
    assert!(to.contains("\"Ops Team\" <ops@example.org>"), "{to}");
    assert_eq!(m.header("X-Mailer").as_deref(), Some("Keepalived"));
    assert!(m.header("Date").is_some());
    // The body line and an empty line before the final ".": keepalived's bytes on the wire.
    assert_eq!(
        m.body(),
        "=> VRRP Instance is now owning VRRP VIPs <=\r\n\r\n"
    );
    assert!(a.flush(Duration::from_secs(5)).await);
    assert_eq!((a.sent(), a.failures()), (1, 0));

    // A sync group, in order after it.
    a.vrrp_transition("GROUP", "G1", State::Backup);
    let m = next_mail(&mut rx).await;
    assert_eq!(
        m.header("Subject").as_deref(),
        Some("[lb1] VRRP Group G1 - Entering BACKUP state")
    );
    assert_eq!(
        m.body(),
        "=> All VRRP group instances are now in BACKUP state <=\r\n\r\n"
    );
    assert!(a.flush(Duration::from_secs(5)).await);
    assert_eq!((a.sent(), a.failures()), (2, 0));
}

#[tokio::test]
async fn same_state_init_and_no_email_faults_are_not_mailed() {
    let (port, mut rx) = smtp_server().await;
    // No smtp_helo_name: the local host name is used.
    let g = global(&conf(port, "no_email_faults"));
    let a = SmtpAlerter::from_global(&g).expect("alerter");
    a.vrrp_transition("Instance", "VI_2", State::Init);
    a.vrrp_transition("Instance", "VI_2", State::Backup);
    a.vrrp_transition("Instance", "VI_2", State::Fault); // no_email_faults
    a.vrrp_transition("Instance", "VI_2", State::Backup); // same as the last mailed
    a.vrrp_transition("Instance", "VI_2", State::Master);
    a.vrrp_transition("Instance", "VI_2", State::Stop);
    assert!(a.flush(Duration::from_secs(10)).await);
    let mut subjects = Vec::new();
    while let Ok(m) = rx.try_recv() {
        assert!(!m.hello.is_empty());
        subjects.push(m.header("Subject").unwrap());
    }
    assert_eq!(
        subjects,
        vec![
            "[lb1] VRRP Instance VI_2 - Entering BACKUP state",
            "[lb1] VRRP Instance VI_2 - Entering MASTER state",
            "[lb1] VRRP Instance VI_2 - Stopping",
        ]
    );
    assert_eq!((a.sent(), a.failures()), (3, 0));
}

#[tokio::test]
async fn refused_connection_is_counted_and_logged() {
    common::logs();
    // A port nobody listens on: bind, then close.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let g = global(&conf(port, "smtp_helo_name lb1.example.net"));
    let a = SmtpAlerter::from_global(&g).expect("alerter");
    let t = Instant::now();
    a.vrrp_transition("Instance", "VI_REFUSED", State::Master);
    assert!(
        t.elapsed() < Duration::from_millis(100),
        "{:?}",
        t.elapsed()
    );
    assert!(a.flush(Duration::from_secs(10)).await);
    assert_eq!((a.sent(), a.failures()), (0, 1));
    let lines = common::log_lines("VI_REFUSED");
    assert_eq!(lines.len(), 1, "{lines:?}");
    let l = &lines[0];
    assert!(l.contains("WARN"), "{l}");
    assert!(l.contains(&format!("127.0.0.1:{port}")), "{l}");
    assert!(l.to_ascii_lowercase().contains("refused"), "{l}");
}

#[tokio::test]
async fn silent_server_times_out() {
    common::logs();
    // Accepts connections but never greets.
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut socks = Vec::new();
        while let Ok((s, _)) = l.accept().await {
            socks.push(s);
        }
    });
    let mut text = conf(port, "smtp_helo_name lb1.example.net");
    text = text.replace("smtp_connect_timeout 5", "smtp_connect_timeout 0.1");
    let a = SmtpAlerter::from_global(&global(&text)).expect("alerter");
    let t = Instant::now();
    a.vrrp_transition("Instance", "VI_SILENT", State::Master);
    // 0.1 s for each of the 8 steps (2 recipients).
    assert!(a.flush(Duration::from_secs(5)).await);
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    assert_eq!((a.sent(), a.failures()), (0, 1));
    let lines = common::log_lines("VI_SILENT");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("timed out"), "{}", lines[0]);
    held.abort();
}

#[test]
fn instance_enabled_rules() {
    let off = GlobalDefs::default();
    assert!(!SmtpAlerter::instance_enabled(&off, None));
    assert!(SmtpAlerter::instance_enabled(&off, Some(true)));

    let g = global("global_defs {\n smtp_alert\n}\n");
    assert!(SmtpAlerter::instance_enabled(&g, None));
    assert!(!SmtpAlerter::instance_enabled(&g, Some(false)));

    // smtp_alert_vrrp wins over smtp_alert; the instance's own setting over both.
    let g = global("global_defs {\n smtp_alert\n smtp_alert_vrrp false\n}\n");
    assert!(!SmtpAlerter::instance_enabled(&g, None));
    assert!(SmtpAlerter::instance_enabled(&g, Some(true)));
    let g = global("global_defs {\n smtp_alert false\n smtp_alert_vrrp\n}\n");
    assert!(SmtpAlerter::instance_enabled(&g, None));

    // The instance and sync group keywords, as parsed.
    let c = lvsd_config::load_str(
        Path::new("t.conf"),
        b"vrrp_sync_group G {\n group {\n  VI_1\n }\n smtp_alert\n}\n\
          vrrp_instance VI_1 {\n interface lo\n virtual_router_id 1\n priority 100\n smtp_alert false\n}\n",
        &Default::default(),
    )
    .config;
    let g = global("global_defs {\n smtp_alert\n}\n");
    assert!(!SmtpAlerter::instance_enabled(
        &g,
        c.instances[0].smtp_alert
    ));
    assert!(SmtpAlerter::instance_enabled(
        &g,
        c.sync_groups[0].smtp_alert
    ));
}

#[test]
fn no_alerter_without_server_or_recipients() {
    assert!(SmtpAlerter::from_global(&GlobalDefs::default()).is_none());
    let g = global("global_defs {\n smtp_server 127.0.0.1\n}\n");
    assert!(SmtpAlerter::from_global(&g).is_none());
    let g = global("global_defs {\n notification_email {\n a@example.com\n }\n}\n");
    assert!(SmtpAlerter::from_global(&g).is_none());
    // No runtime needed to build one.
    let g = global(
        "global_defs {\n notification_email {\n a@example.com\n }\n smtp_server 127.0.0.1\n}\n",
    );
    assert!(SmtpAlerter::from_global(&g).is_some());
}

#[tokio::test]
async fn checker_alerts_are_mailed_in_order() {
    let (port, mut rx) = smtp_server().await;
    let g = global(&conf(port, ""));
    let a = SmtpAlerter::from_global(&g).expect("alerter");
    a.checker(
        "Realserver [10.0.0.2]:tcp:80 of virtual server [10.0.0.100]:tcp:80 - DOWN".into(),
        "=> CHECK failed on service <=".into(),
    );
    a.checker(
        "Virtual Server [10.0.0.100]:tcp:80 - DOWN".into(),
        "=> Lost quorum <=".into(),
    );
    let m = next_mail(&mut rx).await;
    assert_eq!(
        m.header("Subject").as_deref(),
        Some("[lb1] Realserver [10.0.0.2]:tcp:80 of virtual server [10.0.0.100]:tcp:80 - DOWN")
    );
    assert_eq!(m.body(), "=> CHECK failed on service <=\r\n\r\n");
    let m = next_mail(&mut rx).await;
    assert_eq!(
        m.header("Subject").as_deref(),
        Some("[lb1] Virtual Server [10.0.0.100]:tcp:80 - DOWN")
    );
    assert!(a.flush(Duration::from_secs(5)).await);
    assert_eq!((a.sent(), a.failures()), (2, 0));
}
