use super::Script;
use crate::diag::Loc;
use crate::schema::CheckerKind;
use serde::Serialize;
use std::net::IpAddr;

/// One health check of a real server.
#[derive(Debug, Clone, Serialize)]
pub struct Checker {
    pub kind: CheckerKind,
    pub loc: Loc,
    /// As written in the checker block. Shared: every checker that sets none of them (most
    /// of a large configuration's) holds the same empty set.
    pub options: std::sync::Arc<CheckOptions>,
    /// After inheritance (checker ← real server ← virtual server ← defaults).
    pub effective: EffectiveCheck,
    pub spec: CheckSpec,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CheckOptions {
    pub connect_ip: Option<IpAddr>,
    pub connect_port: Option<u16>,
    pub bindto: Option<IpAddr>,
    pub bind_port: Option<u16>,
    pub bind_if: Option<String>,
    pub connect_timeout: Option<f64>,
    pub fwmark: Option<u32>,
    pub retry: Option<u32>,
    pub delay_before_retry: Option<f64>,
    pub warmup: Option<f64>,
    pub delay_loop: Option<f64>,
    pub alpha: Option<bool>,
    pub log_all_failures: Option<bool>,
    /// lvsd extension `rise N`: consecutive successes to bring a down checker up.
    pub rise: Option<u32>,
    /// lvsd extension `fall N`: consecutive failures to take an up checker down.
    pub fall: Option<u32>,
}

/// The values a checker actually runs with.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EffectiveCheck {
    pub connect_ip: Option<IpAddr>,
    pub connect_port: Option<u16>,
    pub connect_timeout: f64,
    pub retry: u32,
    pub delay_before_retry: f64,
    pub delay_loop: f64,
    pub warmup: f64,
    pub alpha: bool,
    /// Consecutive successes to come up (lvsd extension; keepalived: 1).
    pub rise: u32,
    /// Consecutive failures to go down (lvsd extension); None = keepalived's retry + 1.
    pub fall: Option<u32>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckSpec {
    Tcp,
    // (boxed: a TCP_CHECK, the common checker at scale, is 16 bytes here instead of 160)
    Http(Box<HttpCheck>),
    Smtp(Box<SmtpCheck>),
    Dns(Box<DnsCheck>),
    Misc(Box<MiscCheck>),
    Udp(Box<UdpCheck>),
    Ping,
    File(Box<FileCheck>),
    Bfd(Box<BfdCheck>),
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct HttpCheck {
    pub urls: Vec<Url>,
    pub http_protocol: Option<String>,
    pub virtualhost: Option<String>,
    pub enable_sni: bool,
    pub sni_name: Option<String>,
    pub fast_recovery: bool,
    pub tls_compliant: bool,
    /// lvsd extension: verify the server certificate (SSL_GET).
    pub verify_certificate: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Url {
    pub path: Option<String>,
    pub digest: Option<String>,
    /// Inclusive ranges; empty = 200–299.
    pub status_codes: Vec<(u16, u16)>,
    pub virtualhost: Option<String>,
    pub regex: Option<String>,
    pub regex_no_match: bool,
    pub regex_options: Vec<String>,
    pub regex_min_offset: Option<u32>,
    pub regex_max_offset: Option<u32>,
    pub loc: Loc,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SmtpCheck {
    pub helo_name: Option<String>,
    /// Legacy `host { connect_ip ... }` sub-blocks.
    pub hosts: Vec<super::CheckOptions>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DnsCheck {
    pub r#type: String,
    pub name: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct MiscCheck {
    pub misc_path: Option<Script>,
    pub misc_timeout: Option<f64>,
    pub misc_dynamic: bool,
    pub user: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct UdpCheck {
    pub payload: Option<String>,
    pub require_reply: Option<String>,
    pub min_reply_length: Option<u32>,
    pub max_reply_length: Option<u32>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct FileCheck {
    pub track_file: Option<String>,
    pub weight: Option<i32>,
    pub reverse: bool,
    pub dynamic: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct BfdCheck {
    pub name: Option<String>,
}
