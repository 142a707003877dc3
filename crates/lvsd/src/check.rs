//! `lvsd check`: validate a configuration and print its diagnostics.

use clap::Args;
use lvsd_config::{render, LoadOptions, Severity};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct CheckArgs {
    /// The configuration file.
    #[arg(
        short = 'f',
        long = "file",
        default_value = "/etc/keepalived/keepalived.conf"
    )]
    file: PathBuf,
    /// Print diagnostics as JSON.
    #[arg(long)]
    json: bool,
    /// Treat warnings as errors.
    #[arg(long)]
    strict: bool,
    /// Print the effective configuration (after includes, parameters and defaults) as JSON.
    #[arg(long)]
    dump: bool,
    /// Do not look at this host's addresses (no colocated-director findings): for checking a
    /// configuration meant for another machine.
    #[arg(long)]
    no_host: bool,
    /// The config id that `@ID` lines are compared with (default: short host name).
    #[arg(long = "config-id", short = 'i')]
    config_id: Option<String>,
}

pub fn run(args: &CheckArgs) -> ExitCode {
    let opts = LoadOptions {
        config_id: args.config_id.clone(),
    };
    let mut loaded = lvsd_config::load_file(&args.file, &opts);
    if !args.no_host {
        let local = local_addresses();
        let found = lvsd_config::colocated::find(&loaded.config, &|ip| local.contains(&ip));
        let diags = lvsd_config::colocated::diagnostics(&loaded.config, &found);
        loaded.add(diags);
    }
    if args.strict {
        for d in &mut loaded.diagnostics {
            if d.severity == Severity::Warning {
                d.severity = Severity::Error;
            }
        }
    }
    let code = match loaded.worst() {
        Some(Severity::Error) => 2,
        Some(Severity::Warning) => 1,
        _ => 0,
    };
    if args.json {
        let out = serde_json::json!({
            "file": args.file.display().to_string(),
            "status": match code { 0 => "ok", 1 => "warnings", _ => "errors" },
            "exit_code": code,
            "diagnostics": loaded.diagnostics,
            "config": if args.dump { serde_json::to_value(&loaded.config).ok() } else { None },
        });
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    } else {
        let color = std::io::stderr().is_terminal();
        for d in &loaded.diagnostics {
            eprintln!("{}", render::human(d, color));
        }
        if args.dump {
            println!(
                "{}",
                serde_json::to_string_pretty(&loaded.config).unwrap_or_default()
            );
        }
        let verdict = match code {
            0 => "runs as written",
            1 => "runs, but not exactly as written",
            _ => "would not run",
        };
        eprintln!(
            "{}: {} ({})",
            args.file.display(),
            verdict,
            render::summary(&loaded.diagnostics)
        );
    }
    ExitCode::from(code)
}

/// Every address configured on this host's interfaces (its network namespace).
pub fn local_addresses() -> std::collections::HashSet<std::net::IpAddr> {
    let mut out = std::collections::HashSet::new();
    if let Ok(addrs) = nix::ifaddrs::getifaddrs() {
        for a in addrs {
            let Some(sa) = a.address else { continue };
            if let Some(v4) = sa.as_sockaddr_in() {
                out.insert(std::net::IpAddr::V4(v4.ip()));
            } else if let Some(v6) = sa.as_sockaddr_in6() {
                out.insert(std::net::IpAddr::V6(v6.ip()));
            }
        }
    }
    out
}
