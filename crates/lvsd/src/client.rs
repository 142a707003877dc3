//! `lvsd status` and `lvsd reload`: clients of a running daemon's control socket.

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

/// One request, one JSON line back.
pub fn request(socket: &Path, line: &str, timeout: Duration) -> Result<Value, String> {
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
    let v = match request(&args.socket, "status", Duration::from_secs(10)) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("lvsd status: {e}");
            return ExitCode::from(2);
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        print!("{}", render_status(&v));
    }
    ExitCode::SUCCESS
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

fn ago(v: &Value) -> String {
    match v.as_f64() {
        Some(x) if x >= 3600.0 => format!("{:.1}h", x / 3600.0),
        Some(x) if x >= 60.0 => format!("{:.0}m", x / 60.0),
        Some(x) => format!("{x:.0}s"),
        None => "-".into(),
    }
}

/// The human view of `status`.
pub fn render_status(v: &Value) -> String {
    let mut out = String::new();
    let empty = Vec::new();
    let instances = v["instances"].as_array().unwrap_or(&empty);
    if !instances.is_empty() {
        out.push_str("VRRP instances\n");
        for i in instances {
            let master = &i["master"];
            let stats = &i["stats"];
            out.push_str(&format!(
                "  {:<16} {:<7} vrid {:<3} {} prio {}/{}  master {}  reason {}\n",
                s(&i["name"]),
                s(&i["state"]),
                s(&i["vrid"]),
                s(&i["interface"]),
                s(&i["effective_priority"]),
                s(&i["priority"]),
                if master.is_null() && i["state"] == "MASTER" {
                    "this node".to_string()
                } else if master.is_null() {
                    "-".to_string()
                } else {
                    format!(
                        "{} (prio {})",
                        s(&master["address"]),
                        s(&master["priority"])
                    )
                },
                s(&i["reason"]),
            ));
            let t = &i["last_transition"];
            if !t.is_null() {
                out.push_str(&format!(
                    "    last transition {} -> {} {} ago ({})\n",
                    s(&t["from"]),
                    s(&t["to"]),
                    ago(&t["ago_s"]),
                    s(&t["reason"])
                ));
            }
            if let Some(st) = stats.as_object() {
                let nonzero: Vec<String> = st
                    .iter()
                    .filter(|(_, x)| x.as_u64().is_some_and(|n| n > 0))
                    .map(|(k, x)| format!("{k}={x}"))
                    .collect();
                if !nonzero.is_empty() {
                    out.push_str(&format!("    {}\n", nonzero.join(" ")));
                }
            }
        }
    }
    let vss = v["virtual_servers"].as_array().unwrap_or(&empty);
    if !vss.is_empty() {
        out.push_str("Virtual servers\n");
        for vs in vss {
            out.push_str(&format!(
                "  {} {}  {}  quorum {} ({}, alive weight {}){}{}{}\n",
                s(&vs["name"]),
                s(&vs["scheduler"]),
                s(&vs["role"]),
                if vs["quorum_up"].as_bool() == Some(true) {
                    "up"
                } else {
                    "DOWN"
                },
                s(&vs["quorum"]),
                s(&vs["alive_weight"]),
                match vs["sorry_server"].as_str() {
                    Some(x) => format!("  sorry {x}"),
                    None => String::new(),
                },
                match vs["in_kernel"].as_bool() {
                    // a colocated node has no service while it is not MASTER (issue 8)
                    Some(false) if vs["role"] == "real server" => "  (no service: not MASTER)",
                    Some(false) => "  NOT IN THE KERNEL",
                    _ => "",
                },
                match (vs["guard_fwmark"].as_str(), vs["in_kernel"].as_bool()) {
                    (Some(m), Some(true)) => format!("  as fwmark {m} (colocated guard)"),
                    _ => String::new(),
                }
            ));
            for rs in vs["real_servers"].as_array().unwrap_or(&empty) {
                out.push_str(&format!(
                    "    {:<24} {:<5} weight {} kernel {}  for {}\n",
                    s(&rs["address"]),
                    if rs["alive"].as_bool() == Some(true) {
                        "UP"
                    } else {
                        "DOWN"
                    },
                    s(&rs["weight"]),
                    s(&rs["kernel_weight"]),
                    ago(&rs["in_state_s"]),
                ));
                for c in rs["checkers"].as_array().unwrap_or(&empty) {
                    let last = match c["last_ok"].as_bool() {
                        Some(true) => {
                            format!("ok {:.1} ms", c["last_latency_ms"].as_f64().unwrap_or(0.0))
                        }
                        Some(false) => format!("FAILED: {}", s(&c["last_error"])),
                        None => "not checked yet".into(),
                    };
                    out.push_str(&format!(
                        "      {} {} {}: {}  (failures in a row {}, {} checks, {} failed){}\n",
                        s(&c["type"]),
                        s(&c["target"]),
                        s(&c["state"]),
                        last,
                        s(&c["consecutive_failures"]),
                        s(&c["checks"]),
                        s(&c["failures"]),
                        if c["suspended"].as_bool() == Some(true) {
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
    let req = if args.dry_run {
        "reload --dry-run"
    } else {
        "reload"
    };
    let v = match request(&args.socket, req, Duration::from_secs(60)) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("lvsd reload: {e}");
            return ExitCode::from(2);
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    }
    if v["ok"].as_bool() != Some(true) {
        if !args.json {
            eprint!("{}", s(&v["errors"]));
            eprintln!("lvsd reload: refused: the configuration has errors; the daemon keeps running the old one");
        }
        return ExitCode::from(2);
    }
    if !args.json {
        let empty = Vec::new();
        let plan = v["plan"].as_array().unwrap_or(&empty);
        for l in plan {
            println!("{}", s(l));
        }
        if v["applied"].as_bool() == Some(true) {
            println!("reloaded");
        } else {
            println!("dry run: nothing applied");
        }
    }
    ExitCode::SUCCESS
}
