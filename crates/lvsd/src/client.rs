//! `lvsd status` and `lvsd reload`: clients of a running daemon's control socket.

use crate::proto::{Envelope, ReloadReply, Request, Role, Status, VERSION};
use clap::Args;
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Args)]
pub struct StatusArgs {
    /// The daemon's control socket.
    #[arg(long, default_value = "/run/lvsd/lvsd.sock")]
    socket: PathBuf,
    /// Print the daemon's JSON as is.
    #[arg(long)]
    json: bool,
    /// After the status, follow the daemon's events as they happen (`lvsd events`).
    #[arg(long)]
    watch: bool,
}

#[derive(Args)]
pub struct ReloadArgs {
    /// The daemon's control socket.
    #[arg(long, default_value = "/run/lvsd/lvsd.sock")]
    socket: PathBuf,
    /// Validate and show the plan (VRRP, VIP and IPVS operations) without applying it.
    #[arg(long)]
    dry_run: bool,
    /// Print the daemon's JSON reply as is.
    #[arg(long)]
    json: bool,
}

/// One request (the versioned JSON envelope), one JSON line back.
pub fn request(socket: &Path, req: &Request, timeout: Duration) -> Result<Value, String> {
    let line = serde_json::to_string(&Envelope {
        v: VERSION,
        request: req.clone(),
    })
    .map_err(|e| e.to_string())?;
    request_line(socket, &line, timeout)
}

/// One request line as is, one JSON line back.
pub fn request_line(socket: &Path, line: &str, timeout: Duration) -> Result<Value, String> {
    let mut s = UnixStream::connect(socket).map_err(|e| {
        format!(
            "cannot reach the daemon at {}: {e} (is `lvsd run` running? --socket)",
            socket.display()
        )
    })?;
    s.set_read_timeout(Some(timeout)).ok();
    s.write_all(format!("{line}\n").as_bytes())
        .map_err(|e| format!("{}: {e}", socket.display()))?;
    let mut reply = String::new();
    BufReader::new(s)
        .read_line(&mut reply)
        .map_err(|e| format!("{}: no reply: {e}", socket.display()))?;
    serde_json::from_str(&reply).map_err(|e| format!("{}: bad reply: {e}", socket.display()))
}

pub fn status(args: &StatusArgs) -> ExitCode {
    if args.watch {
        // subscribed first, then the status: an event in between is in the stream, not lost
        return crate::watch::follow_after(&args.socket, args.json, || {
            let code = print_status(args);
            if !args.json && code == ExitCode::SUCCESS {
                println!("Events (following; ^C to stop)");
            }
            code
        });
    }
    print_status(args)
}

fn print_status(args: &StatusArgs) -> ExitCode {
    let v = match request(&args.socket, &Request::Status, Duration::from_secs(10)) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("lvsd status: {e}");
            return ExitCode::from(2);
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return ExitCode::SUCCESS;
    }
    if let Some(e) = v.get("error").and_then(Value::as_str) {
        eprintln!("lvsd status: the daemon says: {e}");
        return ExitCode::from(2);
    }
    match serde_json::from_value::<Status>(v) {
        Ok(s) => {
            print!("{}", render_status(&s));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("lvsd status: the daemon's reply is not this lvsd's status: {e} (a different version?)");
            ExitCode::from(2)
        }
    }
}

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref()
        .map(|x| x.to_string())
        .unwrap_or_else(|| "-".into())
}

fn ago(x: f64) -> String {
    if x >= 3600.0 {
        format!("{:.1}h", x / 3600.0)
    } else if x >= 60.0 {
        format!("{:.0}m", x / 60.0)
    } else {
        format!("{x:.0}s")
    }
}

/// The master an instance hears: `10.0.0.2 (prio 100)`, `this node`, `-`.
pub fn master_text(i: &crate::proto::InstanceStatus) -> String {
    match &i.master {
        None if i.state == "MASTER" => "this node".to_string(),
        None => "-".to_string(),
        Some(m) => format!("{} (prio {})", m.address, m.priority),
    }
}

/// The human view of `status`.
pub fn render_status(v: &Status) -> String {
    let mut out = String::new();
    if !v.vrrp.instances.is_empty() {
        out.push_str("VRRP instances\n");
        for i in &v.vrrp.instances {
            let master = master_text(i);
            out.push_str(&format!(
                "  {:<16} {:<7} vrid {:<3} {} prio {}/{}  master {}  reason {}{}\n",
                i.name,
                i.state,
                i.vrid,
                opt(&i.interface),
                i.effective_priority,
                i.priority,
                master,
                i.reason,
                match &i.demoted {
                    Some(d) => format!("  DEMOTED by {}", d.by),
                    None => String::new(),
                }
            ));
            if let Some(t) = &i.last_transition {
                out.push_str(&format!(
                    "    last transition {} -> {} {} ago ({})\n",
                    t.from,
                    t.to,
                    ago(t.ago_s),
                    t.reason
                ));
            }
            let nonzero: Vec<String> = i
                .stats
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(k, n)| format!("{k}={n}"))
                .collect();
            if !nonzero.is_empty() {
                out.push_str(&format!("    {}\n", nonzero.join(" ")));
            }
        }
    }
    if !v.lvs.virtual_servers.is_empty() {
        out.push_str("Virtual servers\n");
        for vs in &v.lvs.virtual_servers {
            out.push_str(&format!(
                "  {} {}  {}  quorum {} ({}, alive weight {}){}{}{}\n",
                vs.name,
                vs.scheduler,
                vs.role.text(),
                if vs.quorum_up { "up" } else { "DOWN" },
                vs.quorum,
                vs.alive_weight,
                match &vs.sorry_server {
                    Some(x) => format!("  sorry {x}"),
                    None => String::new(),
                },
                match vs.in_kernel {
                    // a colocated node has no service while it is not MASTER (issue 8)
                    Some(false) if vs.role == Role::RealServer => "  (no service: not MASTER)",
                    Some(false) => "  NOT IN THE KERNEL",
                    _ => "",
                },
                match (&vs.guard_fwmark, vs.in_kernel) {
                    (Some(m), Some(true)) => format!("  as fwmark {m} (colocated guard)"),
                    _ => String::new(),
                }
            ));
            for rs in &vs.real_servers {
                out.push_str(&format!(
                    "    {:<24} {:<5} weight {} kernel {}  for {}{}\n",
                    rs.address,
                    if rs.alive { "UP" } else { "DOWN" },
                    rs.weight,
                    opt(&rs.kernel_weight),
                    ago(rs.in_state_s),
                    match &rs.admin {
                        Some(a) => format!("  {} by {}", a.state.to_uppercase(), a.by),
                        None => String::new(),
                    }
                ));
                for c in &rs.checkers {
                    let last = match c.last_ok {
                        Some(true) => format!("ok {:.1} ms", c.last_latency_ms.unwrap_or(0.0)),
                        Some(false) => format!("FAILED: {}", opt(&c.last_error)),
                        None => "not checked yet".into(),
                    };
                    out.push_str(&format!(
                        "      {} {} {}: {}  (failures in a row {}, {} checks, {} failed){}\n",
                        c.kind,
                        opt(&c.target),
                        c.state,
                        last,
                        opt(&c.consecutive_failures),
                        opt(&c.checks),
                        opt(&c.failures),
                        if c.suspended == Some(true) {
                            " suspended"
                        } else {
                            ""
                        },
                    ));
                }
            }
        }
    }
    if out.is_empty() {
        out.push_str("nothing configured\n");
    }
    out
}

pub fn reload(args: &ReloadArgs) -> ExitCode {
    let req = Request::Reload {
        dry_run: args.dry_run,
    };
    let v = match request(&args.socket, &req, Duration::from_secs(60)) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("lvsd reload: {e}");
            return ExitCode::from(2);
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    }
    if let Some(e) = v.get("error").and_then(Value::as_str) {
        if !args.json {
            eprintln!("lvsd reload: the daemon says: {e}");
        }
        return ExitCode::from(2);
    }
    let r: ReloadReply = match serde_json::from_value(v) {
        Ok(r) => r,
        Err(e) => {
            eprintln!(
                "lvsd reload: the daemon's reply is not this lvsd's: {e} (a different version?)"
            );
            return ExitCode::from(2);
        }
    };
    if !r.ok {
        if !args.json {
            eprint!("{}", r.errors.as_deref().unwrap_or(""));
            eprintln!("lvsd reload: refused: the configuration has errors; the daemon keeps running the old one");
        }
        return ExitCode::from(2);
    }
    if !args.json {
        for w in &r.warnings {
            eprintln!("{w}");
        }
        for l in &r.plan {
            println!("{l}");
        }
        if r.applied {
            println!("reloaded");
        } else {
            println!("dry run: nothing applied");
        }
    }
    ExitCode::SUCCESS
}
