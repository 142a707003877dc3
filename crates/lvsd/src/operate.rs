//! `lvsd rs` and `lvsd vrrp` (issue 17): take real servers out and back, hand a director's
//! VIPs over, without editing the configuration. Clients of the control socket; the daemon
//! checks who asks (root, or the `lvsd_control_group`) and keeps what it is told across
//! reloads and restarts.

use crate::client::request;
use crate::proto::{ChangeReply, Request, RsStatus, Status, VrrpAction, VsStatus};
use crate::run::RsAction;
use clap::{Args, Subcommand};
use serde_json::Value;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Args)]
pub struct RsArgs {
    /// The daemon's control socket.
    #[arg(long, default_value = "/run/lvsd/lvsd.sock", global = true)]
    socket: PathBuf,
    #[command(subcommand)]
    command: RsCommand,
}

#[derive(Subcommand)]
enum RsCommand {
    /// Weight 0 (no new connections, the existing ones go on), then out of the table when
    /// its active connections end (or at --timeout).
    Drain {
        /// The virtual server as in the configuration, then the real server:
        /// `10.0.0.100:80 192.168.1.10:80`, `10.0.0.100 80 tcp 192.168.1.10`,
        /// `fwmark 3 192.168.1.10`.
        #[arg(required = true, num_args = 2.., value_name = "VS... RS")]
        words: Vec<String>,
        /// The longest wait for its connections (seconds; 30s, 10m, 2h also read).
        #[arg(long, value_parser = seconds)]
        timeout: Option<f64>,
    },
    /// Out of the table at once.
    Disable {
        #[arg(required = true, num_args = 2.., value_name = "VS... RS")]
        words: Vec<String>,
    },
    /// Back under its health checks: in the table once they pass.
    Enable {
        #[arg(required = true, num_args = 2.., value_name = "VS... RS")]
        words: Vec<String>,
    },
    /// Every real server: its state, why, since when, its active connections.
    List {
        /// Print the status's JSON of the real servers.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
pub struct VrrpArgs {
    /// The daemon's control socket.
    #[arg(long, default_value = "/run/lvsd/lvsd.sock", global = true)]
    socket: PathBuf,
    #[command(subcommand)]
    command: VrrpCommand,
}

#[derive(Subcommand)]
enum VrrpCommand {
    /// A master hands over now (a priority-0 advert, as at a stop) and the instance stays
    /// BACKUP until promote or release; checkers and tables keep running.
    Demote(Which),
    /// Lift a demote and take over if this director's priority is the best (preempting
    /// once, even under nopreempt or preempt_delay).
    Promote(Which),
    /// Lift a demote: the instance follows its configuration again.
    Release(Which),
    /// Every instance: state, priority, master, demoted or not.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
struct Which {
    /// The vrrp_instance's name.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    instance: Option<String>,
    /// Every instance.
    #[arg(long)]
    all: bool,
}

/// `90`, `90s`, `10m`, `2h`.
fn seconds(s: &str) -> Result<f64, String> {
    let (n, unit) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: f64 = n
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (90, 90s, 10m, 2h)"))?;
    let mul = match unit {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return Err(format!("`{s}`: the unit is s, m or h")),
    };
    Ok(n * mul)
}

/// Sends a change; prints what changed (exit 0) or the daemon's error (exit 2).
fn change(socket: &std::path::Path, what: &str, req: Request) -> ExitCode {
    match request(socket, &req, Duration::from_secs(30)) {
        Err(e) => {
            eprintln!("lvsd {what}: {e}");
            ExitCode::from(2)
        }
        Ok(v) => {
            if let Some(e) = v.get("error").and_then(Value::as_str) {
                eprintln!("lvsd {what}: {e}");
                return ExitCode::from(2);
            }
            match serde_json::from_value::<ChangeReply>(v) {
                Ok(r) => {
                    for l in r.changed {
                        println!("{l}");
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("lvsd {what}: the daemon's reply is not this lvsd's: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}

fn status(socket: &std::path::Path, what: &str) -> Result<Status, ExitCode> {
    let v = request(socket, &Request::Status, Duration::from_secs(10)).map_err(|e| {
        eprintln!("lvsd {what}: {e}");
        ExitCode::from(2)
    })?;
    if let Some(e) = v.get("error").and_then(Value::as_str) {
        eprintln!("lvsd {what}: {e}");
        return Err(ExitCode::from(2));
    }
    serde_json::from_value(v).map_err(|e| {
        eprintln!("lvsd {what}: the daemon's reply is not this lvsd's status: {e}");
        ExitCode::from(2)
    })
}

fn rs_request(action: RsAction, words: &[String], timeout: Option<f64>) -> Request {
    let (vs, rs) = words.split_at(words.len() - 1);
    Request::Rs {
        action,
        virtual_server: vs.to_vec(),
        real_server: rs[0].clone(),
        timeout_s: timeout,
    }
}

pub fn rs(args: &RsArgs) -> ExitCode {
    let s = &args.socket;
    match &args.command {
        RsCommand::Drain { words, timeout } => {
            change(s, "rs drain", rs_request(RsAction::Drain, words, *timeout))
        }
        RsCommand::Disable { words } => {
            change(s, "rs disable", rs_request(RsAction::Disable, words, None))
        }
        RsCommand::Enable { words } => {
            change(s, "rs enable", rs_request(RsAction::Enable, words, None))
        }
        RsCommand::List { json } => match status(s, "rs list") {
            Err(c) => c,
            Ok(st) => {
                if *json {
                    let v: Vec<&VsStatus> = st.lvs.virtual_servers.iter().collect();
                    println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
                } else {
                    print!("{}", render_rs(&st));
                }
                ExitCode::SUCCESS
            }
        },
    }
}

/// A real server's state word and why.
fn rs_state(rs: &RsStatus) -> (String, String) {
    match &rs.admin {
        Some(a) => {
            let mut why = format!("by {}", a.by);
            if let Some(d) = a.deadline.filter(|_| a.state == "draining") {
                why += &format!(", at most until {}", when(d));
            }
            (a.state.clone(), why)
        }
        None if rs.alive => ("up".into(), "checks pass".into()),
        None => (
            "down".into(),
            format!("{} checker(s) failing", rs.failed_checkers),
        ),
    }
}

/// A Unix time as UTC `2026-12-07 18:40:02`.
fn when(t: f64) -> String {
    crate::watch::utc(t)
}

pub fn render_rs(st: &Status) -> String {
    let now = crate::run::overrides::store::now_unix();
    let mut out = format!(
        "{:<26} {:<22} {:<9} {:>6} {:>7}  {:<24} {}\n",
        "VIRTUAL SERVER", "REAL SERVER", "STATE", "WEIGHT", "ACTIVE", "SINCE", "WHY"
    );
    for vs in &st.lvs.virtual_servers {
        for rs in &vs.real_servers {
            let (state, why) = rs_state(rs);
            let since = match &rs.admin {
                Some(a) => when(a.since),
                None => when(now - rs.in_state_s),
            };
            out.push_str(&format!(
                "{:<26} {:<22} {:<9} {:>6} {:>7}  {:<24} {}\n",
                vs.id,
                rs.id,
                state,
                rs.kernel_weight
                    .map(|w| w.to_string())
                    .unwrap_or_else(|| "-".into()),
                rs.active_conns
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "-".into()),
                since,
                why
            ));
        }
    }
    out
}

pub fn vrrp(args: &VrrpArgs) -> ExitCode {
    let s = &args.socket;
    let (action, which, what) = match &args.command {
        VrrpCommand::Demote(w) => (VrrpAction::Demote, w, "vrrp demote"),
        VrrpCommand::Promote(w) => (VrrpAction::Promote, w, "vrrp promote"),
        VrrpCommand::Release(w) => (VrrpAction::Release, w, "vrrp release"),
        VrrpCommand::List { json } => {
            return match status(s, "vrrp list") {
                Err(c) => c,
                Ok(st) => {
                    if *json {
                        println!(
                            "{}",
                            serde_json::to_string_pretty(&st.vrrp.instances).unwrap_or_default()
                        );
                    } else {
                        print!("{}", render_vrrp(&st));
                    }
                    ExitCode::SUCCESS
                }
            }
        }
    };
    let instance = if which.all {
        None
    } else {
        which.instance.clone()
    };
    change(s, what, Request::Vrrp { action, instance })
}

pub fn render_vrrp(st: &Status) -> String {
    let mut out = format!(
        "{:<16} {:<7} {:>4} {:>9}  {:<22} {}\n",
        "INSTANCE", "STATE", "VRID", "PRIORITY", "MASTER", "OPERATOR"
    );
    for i in &st.vrrp.instances {
        out.push_str(&format!(
            "{:<16} {:<7} {:>4} {:>9}  {:<22} {}\n",
            i.name,
            i.state,
            i.vrid,
            format!("{}/{}", i.effective_priority, i.priority),
            crate::client::master_text(i),
            match &i.demoted {
                Some(d) => format!("demoted since {} by {}", when(d.since), d.by),
                None => "-".into(),
            }
        ));
    }
    out
}
