//! The probes: one async function per checker type, each doing one check against one target
//! and returning an [`Outcome`]. A probe never panics and never hangs past its timeout; every
//! failure carries a short, precise error text (shown by `lvsd status` and in the log).
//!
//! The parameter types here are filled by [`crate::spec`] from the configuration; the probe
//! files implement them:
//! tcp.rs (TCP_CHECK), http.rs + tls.rs (HTTP_GET, SSL_GET, genhash), smtp.rs (SMTP_CHECK),
//! dns.rs (DNS_CHECK), udp.rs (UDP_CHECK), ping.rs (PING_CHECK), misc.rs (MISC_CHECK),
//! file.rs (FILE_CHECK).

use serde::Serialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub mod connect;
pub mod dns;
pub mod file;
pub mod http;
pub mod misc;
pub mod ping;
pub mod smtp;
pub mod tcp;
pub mod tls;
pub mod udp;

/// Where and how a network probe connects.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Target {
    /// connect_ip / connect_port, else the real server's address and port.
    pub addr: SocketAddr,
    /// bindto / bind_port (port 0 = any).
    pub bind: Option<SocketAddr>,
    /// bind_if (SO_BINDTODEVICE).
    pub bind_if: Option<String>,
    /// fwmark (SO_MARK) on the probe's packets.
    pub fwmark: Option<u32>,
    /// connect_timeout: the whole check (connect + exchange) must finish within it.
    pub timeout: Duration,
}

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub ok: bool,
    /// From the start of the check to its verdict.
    pub latency: Duration,
    /// Why it failed (None when ok), e.g. "connect: connection refused",
    /// "timeout after 3s (connecting)", "HTTP status 503 not in 200-299".
    pub error: Option<String>,
    /// A weight the check sets (misc_dynamic exit code − 2; FILE_CHECK dynamic).
    pub weight: Option<i32>,
}

impl Outcome {
    pub fn ok(latency: Duration) -> Outcome {
        Outcome {
            ok: true,
            latency,
            error: None,
            weight: None,
        }
    }

    pub fn fail(latency: Duration, error: impl Into<String>) -> Outcome {
        Outcome {
            ok: false,
            latency,
            error: Some(error.into()),
            weight: None,
        }
    }
}

/// What a probe checks, with its parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeKind {
    Tcp,
    // (the parameters are boxed: a TCP_CHECK, the common probe at scale, is not as large as
    // the largest kind — 16 bytes instead of 136 per probe)
    Http(Box<HttpProbe>),
    Smtp(Box<SmtpProbe>),
    Dns(Box<DnsProbe>),
    Misc(Box<MiscProbe>),
    Udp(Box<UdpProbe>),
    Ping,
    File(Box<FileProbe>),
}

impl ProbeKind {
    /// The configuration keyword (TCP_CHECK, HTTP_GET, SSL_GET, ...).
    pub fn keyword(&self) -> &'static str {
        match self {
            ProbeKind::Tcp => "TCP_CHECK",
            ProbeKind::Http(h) if h.tls.is_some() => "SSL_GET",
            ProbeKind::Http(_) => "HTTP_GET",
            ProbeKind::Smtp(_) => "SMTP_CHECK",
            ProbeKind::Dns(_) => "DNS_CHECK",
            ProbeKind::Misc(_) => "MISC_CHECK",
            ProbeKind::Udp(_) => "UDP_CHECK",
            ProbeKind::Ping => "PING_CHECK",
            ProbeKind::File(_) => "FILE_CHECK",
        }
    }
}

/// Runs one check. MISC and FILE ignore `target`.
pub async fn run(kind: &ProbeKind, target: &Target) -> Outcome {
    // TCP_CHECK, by far the most common, runs inline (its future is ~0.5 KiB); the others are
    // boxed so that every probe task does not carry the largest one (TLS: ~10 KiB) at rest.
    match kind {
        ProbeKind::Tcp => tcp::check(target).await,
        ProbeKind::Http(h) => Box::pin(http::check(h, target)).await,
        ProbeKind::Smtp(s) => Box::pin(smtp::check(s, target)).await,
        ProbeKind::Dns(d) => Box::pin(dns::check(d, target)).await,
        ProbeKind::Misc(m) => Box::pin(misc::check(m)).await,
        ProbeKind::Udp(u) => Box::pin(udp::check(u, target)).await,
        ProbeKind::Ping => Box::pin(ping::check(target)).await,
        ProbeKind::File(f) => Box::pin(file::check(f)).await,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum HttpVersion {
    /// `http_protocol 1.0` (the default): HTTP/1.0 request.
    Http10,
    /// `http_protocol 1.0C`: HTTP/1.0 with `Connection: close`.
    Http10Close,
    /// `http_protocol 1.1`: HTTP/1.1 with `Connection: close`.
    Http11,
}

/// HTTP_GET / SSL_GET. Every url is checked in order at each run; the check fails at the first
/// url that fails.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct HttpProbe {
    pub urls: Vec<UrlCheck>,
    pub version: HttpVersion,
    /// SSL_GET: Some.
    pub tls: Option<TlsParams>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct UrlCheck {
    pub path: String,
    /// The Host header: the url's virtualhost, else the checker's / real server's / virtual
    /// server's, else the target's address (with the port unless it is the scheme's default).
    pub host: String,
    /// Inclusive ranges; empty = 200–299.
    pub status: Vec<(u16, u16)>,
    /// MD5 of the body, lower-case hex.
    pub digest: Option<String>,
    pub regex: Option<String>,
    /// The check passes when the regex does NOT match.
    pub regex_no_match: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct TlsParams {
    /// SNI (enable_sni: sni_name, else the Host); None = no SNI.
    pub sni: Option<String>,
    /// Verify the server certificate (lvsd extension; keepalived does not verify).
    pub verify: bool,
    /// CA file (PEM) for verification; None = the Mozilla roots (webpki-roots).
    pub ca: Option<PathBuf>,
    /// Client certificate and key (PEM), from the SSL block.
    pub certificate: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

/// SMTP_CHECK: banner 2xx (220), HELO → 250, QUIT.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct SmtpProbe {
    pub helo_name: String,
}

/// DNS_CHECK: a query over UDP with RD set; ok = a reply with QR set, rcode NOERROR, our id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct DnsProbe {
    /// A, NS, CNAME, SOA, MX, TXT, AAAA (default SOA).
    pub qtype: String,
    /// Default ".".
    pub name: String,
}

/// MISC_CHECK: the program exits 0 (or 2–255 with misc_dynamic: weight = code − 2).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct MiscProbe {
    /// argv as configured (misc_path).
    pub argv: Vec<String>,
    /// Run as (uid, gid); None = lvsd's own user.
    pub user: Option<(u32, u32)>,
    /// misc_timeout (default delay_loop): SIGTERM, SIGKILL 2 s later; a kill is a failure.
    pub timeout: Duration,
    pub dynamic: bool,
}

/// UDP_CHECK: send `payload`; fail on ICMP unreachable; with `require_reply`, a reply matching
/// the pattern (None bytes are wildcards) within the timeout is needed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct UdpProbe {
    pub payload: Vec<u8>,
    pub require_reply: Option<Vec<Option<u8>>>,
    pub min_reply_length: Option<u32>,
    pub max_reply_length: Option<u32>,
}

/// FILE_CHECK: the integer in `path` (as track_file) × weight decides.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct FileProbe {
    pub path: PathBuf,
    pub weight: i32,
    pub reverse: bool,
    pub dynamic: bool,
}
