//! Errors of the IPVS client, and kernel errnos explained in terms of the object concerned.
//!
//! The errno meanings come from the kernel's `net/netfilter/ipvs/ip_vs_ctl.c`:
//! * a command on a service that does not exist (SET/DEL_SERVICE, any *_DEST, ZERO of one
//!   service, GET_SERVICE) fails with `ESRCH`;
//! * NEW_SERVICE of an existing service and NEW_DEST of an existing destination: `EEXIST`;
//! * SET_DEST / DEL_DEST of a missing destination: `ENOENT`;
//! * an unknown scheduler or persistence engine (module not loaded/available): `ENOENT`;
//! * a negative weight or a lower threshold above the upper one: `ERANGE`;
//! * missing attributes, an IPv6 netmask outside 1..=128, a GUE tunnel without a port, a
//!   destination that is not a unicast/local address, mixed families without tunnelling:
//!   `EINVAL`;
//! * every IPVS command needs CAP_NET_ADMIN (`GENL_ADMIN_PERM`): `EPERM`;
//! * the sync daemon: `EEXIST` when already running, `ESRCH` when stopping one that is not.

use std::fmt;
use std::net::IpAddr;

use crate::types::{Dest, Family, Forward, ServiceKey, SyncState, TunType};

use super::request::Request;

/// A reply that does not follow the IPVS / netlink format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(String);

impl DecodeError {
    pub fn new(msg: impl Into<String>) -> DecodeError {
        DecodeError(msg.into())
    }

    pub(crate) fn length(what: &str, expected: usize, got: usize) -> DecodeError {
        DecodeError(format!("{what}: expected {expected} bytes, got {got}"))
    }

    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeError {}

/// Hint given when the kernel has no "IPVS" generic netlink family.
pub const MODPROBE_HINT: &str = "load the kernel module: modprobe ip_vs";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The kernel has no "IPVS" generic netlink family (module not loaded, or not built).
    #[error("IPVS is not available in this kernel (no generic netlink family \"IPVS\"): {hint}")]
    NotAvailable { hint: String },
    /// A socket operation failed.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// The kernel refused a request; `message` names the object and the likely cause.
    #[error("{message}")]
    Kernel { errno: i32, message: String },
    /// The kernel's reply could not be parsed.
    #[error("malformed netlink reply: {0}")]
    Decode(#[from] DecodeError),
    /// The request cannot be encoded (a name too long, a firewall mark of 0, ...).
    #[error("invalid request: {0}")]
    Invalid(String),
}

impl Error {
    /// The kernel errno (positive), for `Kernel` and `Io` errors.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Kernel { errno, .. } => Some(*errno),
            Error::Io { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// The error for a negative errno in an NLMSG_ERROR answering `req`.
    pub fn from_kernel(errno: i32, req: &Request<'_>, ext_msg: Option<&str>) -> Error {
        let errno = errno.abs();
        Error::Kernel {
            errno,
            message: explain(errno, req, ext_msg),
        }
    }
}

/// The symbolic name of an errno ("EEXIST").
pub fn errno_name(errno: i32) -> String {
    let name = match errno {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::ESRCH => "ESRCH",
        libc::EINTR => "EINTR",
        libc::EIO => "EIO",
        libc::ENXIO => "ENXIO",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::ENODEV => "ENODEV",
        libc::EINVAL => "EINVAL",
        libc::ERANGE => "ERANGE",
        libc::EMSGSIZE => "EMSGSIZE",
        libc::ENOPROTOOPT => "ENOPROTOOPT",
        libc::EPROTONOSUPPORT => "EPROTONOSUPPORT",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::EAFNOSUPPORT => "EAFNOSUPPORT",
        libc::EADDRNOTAVAIL => "EADDRNOTAVAIL",
        libc::ENOBUFS => "ENOBUFS",
        _ => return format!("errno {errno}"),
    };
    name.to_owned()
}

/// `TCP 10.0.0.1:80`, `UDP [2001:db8::1]:53`, `FWM 1`, `FWM 1 IPv6`.
pub fn describe_service(key: &ServiceKey) -> String {
    match key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            let p = protocol.name();
            format!("{p} {}", describe_addr(addr, *port))
        }
        ServiceKey::Fwmark {
            family: Family::V4,
            mark,
        } => format!("FWM {mark}"),
        ServiceKey::Fwmark {
            family: Family::V6,
            mark,
        } => format!("FWM {mark} IPv6"),
    }
}

/// `10.0.0.2:80`, `[2001:db8::2]:80`.
pub fn describe_addr(addr: &IpAddr, port: u16) -> String {
    match addr {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

fn state_name(s: SyncState) -> &'static str {
    match s {
        SyncState::Master => "master",
        SyncState::Backup => "backup",
    }
}

fn scheduler_missing(sched: &str, pe: Option<&str>) -> String {
    match pe {
        Some(pe) if !pe.is_empty() => format!(
            "scheduler `{sched}` or persistence engine `{pe}` is not available in this kernel \
             (modprobe ip_vs_{sched}; modprobe ip_vs_pe_{pe})"
        ),
        _ => {
            format!("scheduler `{sched}` is not available in this kernel (modprobe ip_vs_{sched})")
        }
    }
}

fn no_service(key: &ServiceKey) -> String {
    format!("no such service {}", describe_service(key))
}

fn dest_range(d: &Dest, key: &ServiceKey) -> String {
    let why = if d.weight < 0 {
        format!("weight {} is negative", d.weight)
    } else if d.l_threshold > d.u_threshold {
        format!(
            "lower threshold {} is above upper threshold {}",
            d.l_threshold, d.u_threshold
        )
    } else {
        "a value is out of range".to_owned()
    };
    format!(
        "invalid destination {} in service {}: {why}",
        describe_addr(&d.addr, d.port),
        describe_service(key)
    )
}

fn dest_invalid(d: &Dest, key: &ServiceKey) -> String {
    let why = if d.forward == Forward::Tunnel && d.tun_type == TunType::Gue && d.tun_port == 0 {
        "a GUE tunnel needs a tunnel port".to_owned()
    } else if Family::of(&d.addr) != key.family() && d.forward != Forward::Tunnel {
        "a destination of another address family than its service needs tunnel forwarding"
            .to_owned()
    } else if Family::of(&d.addr) != key.family() {
        "mixed address families are refused while a sync daemon runs".to_owned()
    } else {
        "the kernel rejected it (the address must be a unicast or local address)".to_owned()
    };
    format!(
        "invalid destination {} in service {}: {why}",
        describe_addr(&d.addr, d.port),
        describe_service(key)
    )
}

/// One sentence about `errno` (positive) answering `req`, ending with the errno name.
pub fn explain(errno: i32, req: &Request<'_>, ext_msg: Option<&str>) -> String {
    use Request as R;
    let msg = match (errno, *req) {
        (libc::EPERM | libc::EACCES, _) => format!(
            "permission denied to {}: programming IPVS needs CAP_NET_ADMIN (run as root)",
            req.describe()
        ),
        (libc::EEXIST, R::NewService(s)) => {
            format!("service {} already exists", describe_service(&s.key))
        }
        (libc::ENOENT, R::NewService(s) | R::SetService(s)) => {
            scheduler_missing(&s.scheduler, s.pe_name.as_deref())
        }
        (libc::EINVAL, R::NewService(s) | R::SetService(s)) => {
            let why = match s.key.family() {
                Family::V6 if !(1..=128).contains(&s.netmask) => format!(
                    "an IPv6 service needs a netmask (prefix length) between 1 and 128, not {}",
                    s.netmask
                ),
                _ => "the kernel rejected its attributes".to_owned(),
            };
            format!("invalid service {}: {why}", describe_service(&s.key))
        }
        (libc::EAFNOSUPPORT, _) => format!(
            "cannot {}: this kernel's IPVS has no support for that address family \
             (CONFIG_IP_VS_IPV6)",
            req.describe()
        ),
        (libc::ENOPROTOOPT, R::NewService(s)) => format!(
            "cannot add service {}: the IPVS module is being unloaded",
            describe_service(&s.key)
        ),
        (
            libc::ESRCH,
            R::SetService(crate::types::Service { key, .. })
            | R::DelService(key)
            | R::GetService(key)
            | R::Zero(Some(key)),
        ) => no_service(key),
        (libc::ESRCH, R::NewDest(key, d) | R::SetDest(key, d)) => format!(
            "{} (for destination {})",
            no_service(key),
            describe_addr(&d.addr, d.port)
        ),
        (libc::ESRCH, R::DelDest(key, addr, port)) => format!(
            "{} (for destination {})",
            no_service(key),
            describe_addr(&addr, port)
        ),
        (libc::EEXIST, R::NewDest(key, d)) => format!(
            "destination {} already exists in service {}",
            describe_addr(&d.addr, d.port),
            describe_service(key)
        ),
        (libc::ENOENT, R::SetDest(key, d)) => format!(
            "no such destination {} in service {}",
            describe_addr(&d.addr, d.port),
            describe_service(key)
        ),
        (libc::ENOENT, R::DelDest(key, addr, port)) => format!(
            "no such destination {} in service {}",
            describe_addr(&addr, port),
            describe_service(key)
        ),
        (libc::ERANGE, R::NewDest(key, d) | R::SetDest(key, d)) => dest_range(d, key),
        (libc::EINVAL, R::NewDest(key, d) | R::SetDest(key, d)) => dest_invalid(d, key),
        (libc::EEXIST, R::NewDaemon(d)) => {
            format!("a {} sync daemon is already running", state_name(d.state))
        }
        (libc::ENODEV, R::NewDaemon(d)) => {
            format!("no such interface `{}` for the sync daemon", d.ifname)
        }
        (libc::EINVAL, R::NewDaemon(d)) => format!(
            "invalid {} sync daemon settings: the group must be a multicast address, and the \
             sync protocol refuses destinations of mixed address families",
            state_name(d.state)
        ),
        (libc::ESRCH, R::DelDaemon(state)) => {
            format!("no {} sync daemon is running", state_name(state))
        }
        _ => format!(
            "cannot {}: {}",
            req.describe(),
            std::io::Error::from_raw_os_error(errno)
        ),
    };
    let name = errno_name(errno);
    match ext_msg {
        Some(ext) if !ext.is_empty() => format!("{msg} ({name}: {ext})"),
        _ => format!("{msg} ({name})"),
    }
}
