//! One change to the kernel's table, as the reconciler plans them and `IpvsSocket::apply`
//! sends them.

use std::fmt;
use std::net::IpAddr;

use crate::types::{Dest, Service, ServiceKey};

use super::request::Request;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum Op {
    AddService(Service),
    EditService(Service),
    DelService(ServiceKey),
    AddDest(ServiceKey, Dest),
    EditDest(ServiceKey, Dest),
    DelDest(ServiceKey, IpAddr, u16),
}

impl Op {
    /// The netlink request that performs the change.
    pub fn request(&self) -> Request<'_> {
        match self {
            Op::AddService(s) => Request::NewService(s),
            Op::EditService(s) => Request::SetService(s),
            Op::DelService(k) => Request::DelService(k),
            Op::AddDest(k, d) => Request::NewDest(k, d),
            Op::EditDest(k, d) => Request::SetDest(k, d),
            Op::DelDest(k, a, p) => Request::DelDest(k, *a, *p),
        }
    }

    /// The service the change concerns.
    pub fn service(&self) -> &ServiceKey {
        match self {
            Op::AddService(s) | Op::EditService(s) => &s.key,
            Op::DelService(k) | Op::AddDest(k, _) | Op::EditDest(k, _) | Op::DelDest(k, ..) => k,
        }
    }
}

/// "add service TCP 10.0.0.1:80", "delete destination 10.0.0.2:80 from service FWM 1".
impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.request().describe())
    }
}
