//! lvsd: a keepalived-compatible LVS director. The binary is thin: each
//! subcommand lives in its own module and calls into the library crates.

mod check;
mod client;
mod genhash;
mod ipvs;
mod operate;
mod proto;
mod realserver;
mod run;
mod watch;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "lvsd",
    version,
    about = "keepalived-compatible LVS director daemon"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate a keepalived.conf: exit 0 = runs as written, 1 = runs with
    /// warnings, 2 = would not run (errors).
    Check(check::CheckArgs),
    /// Run the daemon in the foreground (VRRP: failover of the virtual addresses).
    Run(run::RunArgs),
    /// The kernel's IPVS table: list (as ipvsadm -L), apply a config once, flush, sync daemon.
    Ipvs(ipvs::IpvsArgs),
    /// A running daemon's VRRP instances, virtual servers, real servers and checks.
    Status(client::StatusArgs),
    /// Reload a running daemon's configuration: validated first, the plan shown.
    Reload(client::ReloadArgs),
    /// Real servers by hand: drain, disable, enable, list (kept across reloads and restarts).
    Rs(operate::RsArgs),
    /// VRRP instances by hand: demote (hand the VIPs over), promote, release, list.
    Vrrp(operate::VrrpArgs),
    /// Follow a running daemon's events: VRRP transitions, real servers up and down, quorum,
    /// reloads, drift repairs (one line each, or JSON lines).
    Events(watch::EventsArgs),
    /// The MD5 digest of a URL's body, for HTTP_GET/SSL_GET `digest` (as keepalived's genhash).
    Genhash(genhash::GenhashArgs),
    /// LVS-DR real-server side: VIPs on lo, arp_ignore/arp_announce (up, down, status).
    Realserver(realserver::RealserverArgs),
}

/// The daemon's threads share two malloc arenas instead of one each (glibc's default: up to
/// eight per CPU). A large configuration is read on one thread, its probes live on another and
/// its tables on a third; with an arena each, the memory freed after the start stays spread
/// over all of them: 36,000 checked real servers took 82 MB instead of 64 MB. The daemon's
/// threads allocate little once running, so two arenas cost no contention that matters.
fn few_malloc_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
        return; // the user's choice
    }
    // SAFETY: mallopt only sets a malloc parameter; called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// The open files limit up to its hard limit, as keepalived raises its own: every check in
/// flight holds a socket (36,000 TCP_CHECKs stalled for their connect_timeout would need
/// thousands; the default soft limit is 1,024). The checkers also cap their checks in flight
/// below the limit, so a shortage delays checks instead of failing real servers.
fn raise_open_files_limit() {
    let mut l = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: valid pointers to an rlimit of ours.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) == 0 && l.rlim_cur < l.rlim_max {
            l.rlim_cur = l.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &l);
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Run(args) => {
            few_malloc_arenas();
            raise_open_files_limit();
            run::run(&args)
        }
        Command::Realserver(args) => realserver::run(&args),
        Command::Ipvs(args) => ipvs::run(&args),
        Command::Status(args) => client::status(&args),
        Command::Reload(args) => client::reload(&args),
        Command::Events(args) => watch::run(&args),
        Command::Rs(args) => operate::rs(&args),
        Command::Vrrp(args) => operate::vrrp(&args),
        Command::Genhash(args) => genhash::run(&args),
    }
}
