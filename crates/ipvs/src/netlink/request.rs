//! Every request lvsd sends to the IPVS family, and its bytes.

use std::net::IpAddr;

use crate::types::{Dest, Family, Service, ServiceKey, SyncDaemon, SyncState, Timeouts};

use super::attr::AttrWriter;
use super::consts::{cmd, NAME_MAXLEN, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};
use super::error::{describe_addr, describe_service, Error};
use super::message::encode_request;
use super::{config, daemon, dest, service};

/// One IPVS request. `encode` gives the whole netlink message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request<'a> {
    /// GET_INFO: version and connection table size.
    GetInfo,
    /// GET_SERVICE with NLM_F_DUMP: every service.
    GetServices,
    /// GET_SERVICE of one service.
    GetService(&'a ServiceKey),
    NewService(&'a Service),
    SetService(&'a Service),
    DelService(&'a ServiceKey),
    /// GET_DEST with NLM_F_DUMP: the destinations of one service.
    GetDests(&'a ServiceKey),
    NewDest(&'a ServiceKey, &'a Dest),
    SetDest(&'a ServiceKey, &'a Dest),
    DelDest(&'a ServiceKey, IpAddr, u16),
    /// GET_CONFIG: the tcp / tcpfin / udp timeouts.
    GetConfig,
    /// SET_CONFIG (a timeout of 0 is left unchanged by the kernel).
    SetConfig(&'a Timeouts),
    /// GET_DAEMON with NLM_F_DUMP: the running sync daemons.
    GetDaemons,
    NewDaemon(&'a SyncDaemon),
    DelDaemon(SyncState),
    /// ZERO: the counters of one service, or of all (`None`).
    Zero(Option<&'a ServiceKey>),
    /// FLUSH: delete every service and destination.
    Flush,
}

impl Request<'_> {
    /// The IPVS_CMD_* number.
    pub fn cmd(&self) -> u8 {
        match self {
            Request::GetInfo => cmd::GET_INFO,
            Request::GetServices | Request::GetService(_) => cmd::GET_SERVICE,
            Request::NewService(_) => cmd::NEW_SERVICE,
            Request::SetService(_) => cmd::SET_SERVICE,
            Request::DelService(_) => cmd::DEL_SERVICE,
            Request::GetDests(_) => cmd::GET_DEST,
            Request::NewDest(..) => cmd::NEW_DEST,
            Request::SetDest(..) => cmd::SET_DEST,
            Request::DelDest(..) => cmd::DEL_DEST,
            Request::GetConfig => cmd::GET_CONFIG,
            Request::SetConfig(_) => cmd::SET_CONFIG,
            Request::GetDaemons => cmd::GET_DAEMON,
            Request::NewDaemon(_) => cmd::NEW_DAEMON,
            Request::DelDaemon(_) => cmd::DEL_DAEMON,
            Request::Zero(_) => cmd::ZERO,
            Request::Flush => cmd::FLUSH,
        }
    }

    /// A dump (answered by NLM_F_MULTI messages and NLMSG_DONE).
    pub fn is_dump(&self) -> bool {
        matches!(
            self,
            Request::GetServices | Request::GetDests(_) | Request::GetDaemons
        )
    }

    /// nlmsg_flags: `NLM_F_REQUEST | NLM_F_DUMP` for dumps, `NLM_F_REQUEST | NLM_F_ACK`
    /// otherwise (every other request is answered by an NLMSG_ERROR, 0 meaning success,
    /// after its reply if it has one).
    pub fn flags(&self) -> u16 {
        if self.is_dump() {
            NLM_F_REQUEST | NLM_F_DUMP
        } else {
            NLM_F_REQUEST | NLM_F_ACK
        }
    }

    /// What the request does, for messages: "add service TCP 10.0.0.1:80".
    pub fn describe(&self) -> String {
        match self {
            Request::GetInfo => "get the IPVS version".to_owned(),
            Request::GetServices => "list the IPVS services".to_owned(),
            Request::GetService(k) => format!("get service {}", describe_service(k)),
            Request::NewService(s) => format!("add service {}", describe_service(&s.key)),
            Request::SetService(s) => format!("edit service {}", describe_service(&s.key)),
            Request::DelService(k) => format!("delete service {}", describe_service(k)),
            Request::GetDests(k) => {
                format!("list the destinations of service {}", describe_service(k))
            }
            Request::NewDest(k, d) => format!(
                "add destination {} to service {}",
                describe_addr(&d.addr, d.port),
                describe_service(k)
            ),
            Request::SetDest(k, d) => format!(
                "edit destination {} of service {}",
                describe_addr(&d.addr, d.port),
                describe_service(k)
            ),
            Request::DelDest(k, a, p) => format!(
                "delete destination {} from service {}",
                describe_addr(a, *p),
                describe_service(k)
            ),
            Request::GetConfig => "get the IPVS timeouts".to_owned(),
            Request::SetConfig(_) => "set the IPVS timeouts".to_owned(),
            Request::GetDaemons => "list the sync daemons".to_owned(),
            Request::NewDaemon(d) => format!(
                "start the {} sync daemon on {}",
                match d.state {
                    SyncState::Master => "master",
                    SyncState::Backup => "backup",
                },
                d.ifname
            ),
            Request::DelDaemon(SyncState::Master) => "stop the master sync daemon".to_owned(),
            Request::DelDaemon(SyncState::Backup) => "stop the backup sync daemon".to_owned(),
            Request::Zero(None) => "zero the IPVS counters".to_owned(),
            Request::Zero(Some(k)) => {
                format!("zero the counters of service {}", describe_service(k))
            }
            Request::Flush => "flush the IPVS table".to_owned(),
        }
    }

    /// Checks what the kernel would refuse without saying why.
    pub fn validate(&self) -> Result<(), Error> {
        let key = match self {
            Request::GetService(k)
            | Request::DelService(k)
            | Request::GetDests(k)
            | Request::NewDest(k, _)
            | Request::SetDest(k, _)
            | Request::DelDest(k, ..)
            | Request::Zero(Some(k)) => Some(*k),
            Request::NewService(s) | Request::SetService(s) => {
                check_name("scheduler name", &s.scheduler, false)?;
                if let Some(pe) = &s.pe_name {
                    check_name("persistence engine name", pe, true)?;
                }
                Some(&s.key)
            }
            Request::NewDaemon(d) => {
                check_name("sync daemon interface name", &d.ifname, false)?;
                if let Some(g) = d.mcast_group {
                    if !g.is_multicast() {
                        return Err(Error::Invalid(format!(
                            "sync daemon group {g} is not a multicast address"
                        )));
                    }
                }
                None
            }
            _ => None,
        };
        if let Some(ServiceKey::Fwmark { mark: 0, .. }) = key {
            return Err(Error::Invalid(
                "a firewall-mark service needs a mark other than 0".into(),
            ));
        }
        if let (Some(k), Request::NewDest(_, d) | Request::SetDest(_, d)) = (key, self) {
            if Family::of(&d.addr) != k.family() && d.forward != crate::types::Forward::Tunnel {
                return Err(Error::Invalid(format!(
                    "destination {} of service {}: another address family than the service's \
                     needs tunnel forwarding",
                    describe_addr(&d.addr, d.port),
                    describe_service(k)
                )));
            }
        }
        Ok(())
    }

    /// The attributes after the genetlink header.
    pub fn attrs(&self) -> Result<Vec<u8>, Error> {
        self.validate()?;
        let mut w = AttrWriter::new();
        match self {
            Request::GetInfo
            | Request::GetServices
            | Request::GetConfig
            | Request::GetDaemons
            | Request::Zero(None)
            | Request::Flush => {}
            Request::GetService(k) | Request::DelService(k) | Request::Zero(Some(k)) => {
                service::put_service_key(&mut w, k)
            }
            Request::GetDests(k) => service::put_service_key(&mut w, k),
            Request::NewService(s) | Request::SetService(s) => service::put_service(&mut w, s),
            Request::NewDest(k, d) | Request::SetDest(k, d) => {
                service::put_service_key(&mut w, k);
                dest::put_dest(&mut w, d);
            }
            Request::DelDest(k, addr, port) => {
                service::put_service_key(&mut w, k);
                dest::put_dest_key(&mut w, addr, *port);
            }
            Request::SetConfig(t) => config::put_timeouts(&mut w, t),
            Request::NewDaemon(d) => daemon::put_daemon(&mut w, d),
            Request::DelDaemon(s) => daemon::put_daemon_state(&mut w, *s),
        }
        Ok(w.into_bytes())
    }

    /// The whole netlink message: nlmsghdr (type = the IPVS family id, our `seq`, port 0),
    /// genlmsghdr (cmd, version 1), attributes.
    pub fn encode(&self, family: u16, seq: u32) -> Result<Vec<u8>, Error> {
        Ok(encode_request(
            family,
            self.cmd(),
            self.flags(),
            seq,
            &self.attrs()?,
        ))
    }
}

fn check_name(what: &str, name: &str, allow_empty: bool) -> Result<(), Error> {
    if name.is_empty() && !allow_empty {
        return Err(Error::Invalid(format!("the {what} is empty")));
    }
    if name.len() >= NAME_MAXLEN {
        return Err(Error::Invalid(format!(
            "the {what} `{name}` is longer than {} bytes",
            NAME_MAXLEN - 1
        )));
    }
    if name.contains('\0') {
        return Err(Error::Invalid(format!("the {what} contains a NUL byte")));
    }
    Ok(())
}
