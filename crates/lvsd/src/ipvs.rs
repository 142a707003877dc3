//! `lvsd ipvs`: the kernel's IPVS table — list it as ipvsadm does, apply a configuration's
//! virtual servers once, flush, and the connection-sync daemon.

use clap::{Args, Subcommand};
use lvsd_config::LoadOptions;
use lvsd_ipvs::netlink::{IpvsSocket, Op};
use lvsd_ipvs::{desired, list, reconcile, SyncDaemon, SyncState};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Args)]
pub struct IpvsArgs {
    #[command(subcommand)]
    command: IpvsCommand,
}

#[derive(Subcommand)]
enum IpvsCommand {
    /// Print the table exactly as `ipvsadm -L` does.
    List(ListArgs),
    /// Program every virtual_server of a configuration once, all real servers healthy.
    Apply(ApplyArgs),
    /// Remove every service (ipvsadm -C).
    Flush,
    /// The connection-synchronisation daemon (ipvsadm --start-daemon / --stop-daemon).
    Sync(SyncArgs),
}

#[derive(Args)]
struct ListArgs {
    /// Numeric addresses and ports.
    #[arg(short = 'n', long)]
    numeric: bool,
    #[arg(long)]
    stats: bool,
    #[arg(long)]
    rate: bool,
    #[arg(long)]
    thresholds: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct ApplyArgs {
    #[arg(
        short = 'f',
        long = "file",
        default_value = "/etc/keepalived/keepalived.conf"
    )]
    file: PathBuf,
    /// Print the operations instead of applying them.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Args)]
struct SyncArgs {
    /// start or stop.
    action: String,
    #[arg(long, default_value = "master")]
    state: String,
    #[arg(long)]
    ifname: Option<String>,
    #[arg(long, default_value_t = 0)]
    syncid: u8,
}

pub fn run(args: &IpvsArgs) -> ExitCode {
    match &args.command {
        IpvsCommand::List(a) => list_cmd(a),
        IpvsCommand::Apply(a) => apply_cmd(a),
        IpvsCommand::Flush => with_socket(|s| s.flush().map(|_| ())),
        IpvsCommand::Sync(a) => sync_cmd(a),
    }
}

fn open() -> Result<IpvsSocket, ExitCode> {
    IpvsSocket::open().map_err(|e| {
        eprintln!("lvsd ipvs: {e}");
        ExitCode::from(2)
    })
}

fn with_socket(
    f: impl FnOnce(&mut IpvsSocket) -> Result<(), lvsd_ipvs::netlink::Error>,
) -> ExitCode {
    let mut s = match open() {
        Ok(s) => s,
        Err(c) => return c,
    };
    match f(&mut s) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lvsd ipvs: {e}");
            ExitCode::from(2)
        }
    }
}

fn list_cmd(a: &ListArgs) -> ExitCode {
    let mut s = match open() {
        Ok(s) => s,
        Err(c) => return c,
    };
    let (snapshot, info) = match s.snapshot().and_then(|t| Ok((t, s.info()?))) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("lvsd ipvs: {e}");
            return ExitCode::from(2);
        }
    };
    if a.json {
        let services: Vec<_> = snapshot
            .iter()
            .map(|(svc, stats, dests)| {
                serde_json::json!({
                    "service": svc,
                    "stats": stats,
                    "destinations": dests.iter().map(|(d, c, st)| serde_json::json!({
                        "destination": d,
                        "active": c.active, "inactive": c.inactive, "persistent": c.persist,
                        "stats": st,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        println!("{}", serde_json::json!({ "services": services }));
        return ExitCode::SUCCESS;
    }
    let opts = list::ListOptions {
        numeric: a.numeric,
        stats: a.stats,
        rate: a.rate,
        thresholds: a.thresholds,
        persistent_conn: false,
    };
    print!("{}", list::list(&snapshot, &info, &opts));
    ExitCode::SUCCESS
}

fn apply_cmd(a: &ApplyArgs) -> ExitCode {
    let loaded = lvsd_config::load_file(&a.file, &LoadOptions::default());
    if let Some(text) = loaded.error_report() {
        eprint!("{text}");
        eprintln!(
            "{}: not applied: the configuration has errors",
            a.file.display()
        );
        return ExitCode::from(2);
    }
    let want = match desired::from_config(&loaded.config, &desired::AllUp) {
        Ok(t) => t,
        Err(errs) => {
            for e in errs {
                eprintln!("{}:{}: {}", a.file.display(), e.line, e.message);
            }
            return ExitCode::from(2);
        }
    };
    let managed: BTreeSet<_> = want.keys().copied().collect();
    let mut s = match IpvsSocket::open() {
        Ok(s) => s,
        Err(e) if a.dry_run => {
            // Without IPVS, show what would be done on an empty table.
            eprintln!("lvsd ipvs: {e}; showing the operations for an empty table");
            for op in reconcile::diff(&want, &Default::default(), &managed) {
                println!("{op}");
            }
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("lvsd ipvs: {e}");
            return ExitCode::from(2);
        }
    };
    let t0 = Instant::now();
    let have = match s.table() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("lvsd ipvs: {e}");
            return ExitCode::from(2);
        }
    };
    let ops = reconcile::diff(&want, &have, &managed);
    if a.dry_run {
        for op in &ops {
            println!("{op}");
        }
        return ExitCode::SUCCESS;
    }
    if let Some(timeouts) = lvsd_ipvs::desired::timeouts(&loaded.config) {
        if let Err(e) = s.set_timeouts(&timeouts) {
            eprintln!("lvsd ipvs: lvs_timeouts: {e}");
        }
    }
    match s.apply(&ops) {
        Ok(n) => {
            let (svc, dst) = count(&ops);
            eprintln!(
                "{}: {} service(s), {} destination(s): {n} operation(s) ({svc} on services, {dst} on destinations) in {:.1} ms",
                a.file.display(),
                want.len(),
                want.values().map(|(_, d)| d.len()).sum::<usize>(),
                t0.elapsed().as_secs_f64() * 1e3
            );
            ExitCode::SUCCESS
        }
        Err((i, e)) => {
            eprintln!(
                "lvsd ipvs: operation {} of {} failed: {e}",
                i + 1,
                ops.len()
            );
            ExitCode::from(2)
        }
    }
}

fn count(ops: &[Op]) -> (usize, usize) {
    let svc = ops
        .iter()
        .filter(|o| {
            matches!(
                o,
                Op::AddService(_) | Op::EditService(_) | Op::DelService(_)
            )
        })
        .count();
    (svc, ops.len() - svc)
}

fn sync_cmd(a: &SyncArgs) -> ExitCode {
    let state = match a.state.as_str() {
        "master" => SyncState::Master,
        "backup" => SyncState::Backup,
        other => {
            eprintln!("lvsd ipvs sync: --state is master or backup, not `{other}`");
            return ExitCode::from(2);
        }
    };
    match a.action.as_str() {
        "start" => {
            let Some(ifname) = a.ifname.clone() else {
                eprintln!("lvsd ipvs sync start: --ifname is required");
                return ExitCode::from(2);
            };
            let d = SyncDaemon {
                state,
                ifname,
                syncid: a.syncid,
                sync_maxlen: None,
                mcast_group: None,
                mcast_port: None,
                mcast_ttl: None,
            };
            with_socket(|s| s.add_daemon(&d))
        }
        "stop" => with_socket(|s| s.del_daemon(state)),
        other => {
            eprintln!("lvsd ipvs sync: `{other}`: use start or stop");
            ExitCode::from(2)
        }
    }
}
