//! `lvsd genhash`: the MD5 digest of a URL's body, for HTTP_GET / SSL_GET `digest` (what
//! keepalived's genhash prints).

use clap::Args;
use lvsd_check::probe::{HttpVersion, Target, TlsParams, UrlCheck};
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Args)]
pub struct GenhashArgs {
    /// The server's address.
    #[arg(short = 's', long)]
    server: IpAddr,
    /// The server's port (default 80, 443 with --ssl).
    #[arg(short = 'p', long)]
    port: Option<u16>,
    /// The path of the URL.
    #[arg(short = 'u', long, default_value = "/")]
    url: String,
    /// Use TLS (SSL_GET).
    #[arg(short = 'S', long)]
    ssl: bool,
    /// The Host header (virtualhost).
    #[arg(short = 'V', long)]
    virtualhost: Option<String>,
    /// HTTP protocol: 1.0, 1.0C or 1.1.
    #[arg(short = 'r', long, default_value = "1.0")]
    protocol: String,
    /// TLS server name (SNI).
    #[arg(short = 'I', long)]
    sni: Option<String>,
    /// Seconds for the whole request.
    #[arg(short = 't', long, default_value = "5")]
    timeout: f64,
    /// Also print the status and the body's length.
    #[arg(short = 'v', long)]
    verbose: bool,
}

pub fn run(a: &GenhashArgs) -> ExitCode {
    let version = match a.protocol.as_str() {
        "1.0" => HttpVersion::Http10,
        "1.0C" | "1.0c" => HttpVersion::Http10Close,
        "1.1" => HttpVersion::Http11,
        other => {
            eprintln!("lvsd genhash: unknown protocol `{other}` (1.0, 1.0C or 1.1)");
            return ExitCode::from(2);
        }
    };
    let port = a.port.unwrap_or(if a.ssl { 443 } else { 80 });
    let addr = SocketAddr::new(a.server, port);
    let host = a.virtualhost.clone().unwrap_or_else(|| {
        let h = match a.server {
            IpAddr::V6(v6) => format!("[{v6}]"),
            IpAddr::V4(v4) => v4.to_string(),
        };
        if port == if a.ssl { 443 } else { 80 } {
            h
        } else {
            format!("{h}:{port}")
        }
    });
    let url = UrlCheck {
        path: a.url.clone(),
        host,
        status: Vec::new(),
        digest: None,
        regex: None,
        regex_no_match: false,
    };
    let target = Target {
        addr,
        bind: None,
        bind_if: None,
        fwmark: None,
        timeout: Duration::from_secs_f64(a.timeout.max(0.001)),
    };
    let tls = a.ssl.then(|| TlsParams {
        sni: a.sni.clone(),
        verify: false,
        ca: None,
        certificate: None,
        key: None,
    });
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("lvsd genhash: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(lvsd_check::probe::http::genhash(
        &url,
        &target,
        version,
        tls.as_ref(),
    )) {
        Ok(r) => {
            if a.verbose {
                println!(
                    "GET {} from {addr}: HTTP status {}, body {} bytes",
                    a.url, r.status, r.body_len
                );
            }
            println!("MD5SUM = {}", r.md5);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("lvsd genhash: {addr}{}: {e}", a.url);
            ExitCode::FAILURE
        }
    }
}
