//! `lvsd realserver up|down|status`: the real-server side of LVS direct routing (DR).
//!
//! In DR the director forwards a client's packet to a real server unchanged (only the MAC
//! differs), so every real server must accept packets for the VIP and never answer ARP for it:
//! otherwise a client's or router's ARP for the VIP may resolve to a real server instead of the
//! director. The classic init script (seed 001) does this by hand: the VIP as a /32 on `lo:0`,
//! `arp_ignore=1` and `arp_announce=2` on `all` and `lo`. This module does the same through
//! rtnetlink and /proc/sys, idempotently; it records what it changed in a state file so that
//! `down` puts back exactly what was there before, and `status` checks a host.
//!
//! - No `route add -host VIP dev lo:0`: the kernel adds a local route (table `local`) for every
//!   local address, which is what that command provided.
//! - The kernel uses the larger of `all`'s and the interface's value, for arp_ignore and for
//!   arp_announce alike; `status` judges these effective values and also looks for interfaces
//!   whose own value overrides a correct `all` with a wrong one.
//! - `up` sets the sysctls before it adds the VIPs and `down` removes the VIPs before it restores
//!   the sysctls, so the host never holds a VIP while answering ARP for it.
//! - IPv6 VIPs: /128 with `nodad`. Linux answers a neighbour solicitation only for addresses of
//!   the interface it arrived on, so a VIP on `lo` is never announced: no sysctls are needed.

use clap::{Args, ValueEnum};
use lvsd_netif::{Addr, AddrSpec, Link, Netlink};
use serde_json::{json, Value};
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Per-interface IPv4 settings.
const CONF_DIR: &str = "/proc/sys/net/ipv4/conf";
const ARP_IGNORE: &str = "arp_ignore";
const ARP_ANNOUNCE: &str = "arp_announce";
const ARP_NAMES: [&str; 2] = [ARP_IGNORE, ARP_ANNOUNCE];
/// `IFNAMSIZ - 1`: the longest interface name or address label.
const NAME_MAX: usize = 15;
const STATE_VERSION: u64 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Action {
    /// Add the VIPs and set the ARP sysctls; record what changed.
    Up,
    /// Undo exactly what `up` recorded.
    Down,
    /// Check the host: exit 0 when it is a correctly configured DR real server, 1 when not.
    Status,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Action::Up => "up",
            Action::Down => "down",
            Action::Status => "status",
        }
    }
}

#[derive(Args)]
pub struct RealserverArgs {
    /// up | down | status.
    #[arg(value_enum)]
    action: Action,
    /// A virtual IP, IPv4 or IPv6 (`/32` or `/128` may be written). Repeatable.
    #[arg(long = "vip", value_name = "VIP", value_parser = parse_vip)]
    vips: Vec<IpAddr>,
    /// The device the VIPs go on.
    #[arg(long, value_name = "DEV", default_value = "lo")]
    dev: String,
    /// Label of the first IPv4 VIP; a trailing `:N` counts up for the next ones (`lo:0`, `lo:1`,
    /// ...). Default: `DEV:0`.
    #[arg(long, value_name = "LABEL")]
    label: Option<String>,
    /// Also set arp_ignore/arp_announce on this interface (repeatable), e.g. the one that
    /// carries the service's traffic.
    #[arg(long = "iface", value_name = "IF")]
    ifaces: Vec<String>,
    /// Where `up` records what it changed, for `down`.
    #[arg(
        long = "state-file",
        value_name = "PATH",
        default_value = "/run/lvsd/realserver.json"
    )]
    state_file: PathBuf,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// An error that stops the command: exit status 2.
#[derive(Debug)]
struct Fail(String);

pub fn run(args: &RealserverArgs) -> ExitCode {
    match run_inner(args) {
        Ok(code) => ExitCode::from(code),
        Err(Fail(msg)) => {
            eprintln!("lvsd realserver {}: error: {msg}", args.action.name());
            ExitCode::from(2)
        }
    }
}

fn run_inner(args: &RealserverArgs) -> Result<u8, Fail> {
    let mut vips: Vec<IpAddr> = Vec::new();
    for v in &args.vips {
        if !vips.contains(v) {
            vips.push(*v);
        }
    }
    check_ifname("--dev", &args.dev)?;
    for i in &args.ifaces {
        check_ifname("--iface", i)?;
    }
    let labels = vip_labels(&args.dev, args.label.as_deref(), &vips)?;
    if vips.is_empty() && args.action != Action::Down {
        return Err(Fail(format!(
            "`{}` needs at least one --vip",
            args.action.name()
        )));
    }
    if args.action != Action::Status && !nix::unistd::geteuid().is_root() {
        return Err(Fail(format!(
            "permission denied: `{}` changes addresses and /proc/sys, lvsd realserver must run \
             as root",
            args.action.name()
        )));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Fail(format!("cannot start the tokio runtime: {e}")))?;
    let sys = Sysctl {
        root: PathBuf::from(CONF_DIR),
    };
    rt.block_on(async {
        let nl = Netlink::new().map_err(|e| Fail(format!("cannot open rtnetlink: {e}")))?;
        let cx = Cx {
            args,
            vips: &vips,
            labels: &labels,
            nl: &nl,
            sys: &sys,
            adopt: Adopt::default(),
        };
        // one writer of the state file at a time (`lvsd run`'s reconciler is another)
        let _lock = match args.action {
            Action::Up | Action::Down => Some(lock_state(&args.state_file)?),
            Action::Status => None,
        };
        match args.action {
            Action::Up => up(&cx).await,
            Action::Down => down(&cx).await,
            Action::Status => status(&cx).await,
        }
    })
}

/// Everything an action works with.
struct Cx<'a> {
    args: &'a RealserverArgs,
    vips: &'a [IpAddr],
    labels: &'a [Option<String>],
    nl: &'a Netlink,
    sys: &'a Sysctl,
    /// `lvsd run`'s role: VIPs already on the device that lvsd itself put there (the VRRP
    /// engine, as the VIP left the interface; or a crashed run, by their label) are recorded
    /// as added, so that leaving the role removes them.
    adopt: Adopt<'a>,
}

#[derive(Clone, Copy, Default)]
struct Adopt<'a> {
    vips: &'a [IpAddr],
    label: Option<&'a str>,
}

impl Adopt<'_> {
    fn ours(&self, a: &Addr) -> bool {
        self.vips.contains(&a.addr) || (self.label.is_some() && a.label.as_deref() == self.label)
    }
}

mod args;
mod down;
mod host;
mod role;
mod state;
mod status;
mod sysctl;
#[cfg(test)]
mod tests;
mod updown;

use args::*;
use down::*;
use host::*;
pub use role::{role_down, role_up};
use state::*;
use status::*;
use sysctl::*;
use updown::*;
