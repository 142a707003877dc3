//! HTTP_GET and SSL_GET (and the engine of `lvsd genhash`).
//!
//! For each url in order, one connection: `GET <path>` with the Host header of the url and
//! `User-Agent: lvsd/<version>`, as HTTP/1.0, HTTP/1.0 + `Connection: close` (1.0C) or
//! HTTP/1.1 + `Connection: close`. The whole response is read (Content-Length, chunked
//! transfer coding, or up to the end of the connection) within the target's timeout, which
//! applies to each url's connection from connect to the last byte. Then:
//!
//! 1. the status must be in the url's ranges (none configured = 200–299);
//! 2. with `digest`, the MD5 of the body (lower-case hex) must equal it;
//! 3. with `regex`, it must match the body (must not, with `regex_no_match`).
//!
//! A response without a complete header section fails. The body's MD5 is computed as it
//! streams in, whatever its length; only a body that a regex needs is kept in memory, up to
//! [`BODY_CAP`] (a longer one fails the regex check with a message saying so).
//!
//! With several urls, the error names the failing one: "url /health: HTTP status 503 not in
//! 200-299"; with one url it is just "HTTP status 503 not in 200-299".

use super::connect::{self, io_text, Deadline};
use super::{tls, HttpProbe, HttpVersion, Outcome, Target, TlsParams, UrlCheck};
use md5::{Digest, Md5};
use regex::bytes::Regex;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The most of a body kept in memory (for a regex, or for genhash to show).
pub const BODY_CAP: usize = 8 << 20;
/// The longest header section accepted.
pub const HEADER_CAP: usize = 64 << 10;

/// One HTTP_GET / SSL_GET run: every url in order; the first failure decides.
pub async fn check(p: &HttpProbe, t: &Target) -> Outcome {
    let start = Instant::now();
    if p.urls.is_empty() {
        return Outcome::fail(start.elapsed(), "no url configured");
    }
    for url in &p.urls {
        if let Err(e) = check_url(url, p.version, p.tls.as_ref(), t).await {
            let e = if p.urls.len() > 1 {
                format!("url {}: {e}", path_of(url))
            } else {
                e
            };
            return Outcome::fail(start.elapsed(), e);
        }
    }
    Outcome::ok(start.elapsed())
}

async fn check_url(
    url: &UrlCheck,
    version: HttpVersion,
    tls: Option<&TlsParams>,
    t: &Target,
) -> Result<(), String> {
    let keep = url.regex.is_some();
    let (resp, _) = exchange(url, t, version, tls, keep).await?;
    verify(url, &resp)
}

/// Applies the url's status, digest and regex conditions to a response.
pub fn verify(url: &UrlCheck, resp: &Response) -> Result<(), String> {
    if !status_ok(&url.status, resp.status) {
        return Err(format!(
            "HTTP status {} not in {}",
            resp.status,
            status_text(&url.status)
        ));
    }
    if let Some(want) = &url.digest {
        let want = want.trim();
        if !resp.md5.eq_ignore_ascii_case(want) {
            return Err(format!(
                "digest mismatch: got {} want {}",
                resp.md5,
                want.to_ascii_lowercase()
            ));
        }
    }
    if let Some(pattern) = &url.regex {
        if resp.body_truncated {
            return Err(format!(
                "response body larger than {} MiB: regex `{pattern}` not applied",
                BODY_CAP >> 20
            ));
        }
        let re = regex(pattern)?;
        let matched = re.is_match(&resp.body);
        if matched && url.regex_no_match {
            return Err(format!("regex `{pattern}` matched (regex_no_match)"));
        }
        if !matched && !url.regex_no_match {
            return Err(format!("regex `{pattern}` did not match"));
        }
    }
    Ok(())
}

/// Whether `code` is in the inclusive `ranges` (none = 200–299).
pub fn status_ok(ranges: &[(u16, u16)], code: u16) -> bool {
    if ranges.is_empty() {
        return (200..=299).contains(&code);
    }
    ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&code))
}

/// The ranges as configured: "200-299", "200-299,404".
pub fn status_text(ranges: &[(u16, u16)]) -> String {
    if ranges.is_empty() {
        return "200-299".into();
    }
    let mut s = String::new();
    for (i, &(lo, hi)) in ranges.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        if lo == hi {
            let _ = write!(s, "{lo}");
        } else {
            let _ = write!(s, "{lo}-{hi}");
        }
    }
    s
}

/// MD5 of `body` as lower-case hex (the `digest` of a url).
pub fn md5_hex(body: &[u8]) -> String {
    hex(&Md5::digest(body))
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Compiled regexes, shared by every check that uses the same pattern.
fn regex(pattern: &str) -> Result<Regex, String> {
    static CACHE: OnceLock<Mutex<HashMap<String, Result<Regex, String>>>> = OnceLock::new();
    let mut cache = CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    cache
        .entry(pattern.to_string())
        .or_insert_with(|| {
            Regex::new(pattern).map_err(|e| format!("invalid regex `{pattern}`: {e}"))
        })
        .clone()
}

fn path_of(url: &UrlCheck) -> &str {
    if url.path.is_empty() {
        "/"
    } else {
        &url.path
    }
}

/// The Host header: the url's, else the target address (with the port unless it is the
/// scheme's default).
fn host_of(url: &UrlCheck, t: &Target, tls: bool) -> String {
    if !url.host.is_empty() {
        return url.host.clone();
    }
    let default = if tls { 443 } else { 80 };
    let ip = match t.addr.ip() {
        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
        v4 => v4.to_string(),
    };
    if t.addr.port() == default {
        ip
    } else {
        format!("{ip}:{}", t.addr.port())
    }
}

/// The request sent for `url`.
pub fn request(url: &UrlCheck, host: &str, version: HttpVersion) -> String {
    let (proto, close) = match version {
        HttpVersion::Http10 => ("HTTP/1.0", false),
        HttpVersion::Http10Close => ("HTTP/1.0", true),
        HttpVersion::Http11 => ("HTTP/1.1", true),
    };
    let mut r = format!(
        "GET {} {proto}\r\nUser-Agent: lvsd/{}\r\nHost: {host}\r\n",
        path_of(url),
        env!("CARGO_PKG_VERSION")
    );
    if close {
        r.push_str("Connection: close\r\n");
    }
    r.push_str("\r\n");
    r
}

/// A response as read by a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// "HTTP/1.1 200 OK".
    pub status_line: String,
    /// The header section as received (status line included, final blank line excluded;
    /// lossy UTF-8).
    pub headers: String,
    /// Bytes of the header section, blank line included.
    pub header_len: usize,
    /// Length of the (decoded) body.
    pub body_len: u64,
    /// MD5 of the whole body, lower-case hex.
    pub md5: String,
    /// The body, when it was kept, up to [`BODY_CAP`] bytes.
    pub body: Vec<u8>,
    /// The body was kept but is longer than [`BODY_CAP`].
    pub body_truncated: bool,
}

/// What `lvsd genhash` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenhashReport {
    /// The request as sent.
    pub request: String,
    /// The negotiated TLS protocol and cipher suite (SSL only).
    pub tls: Option<String>,
    pub status: u16,
    pub status_line: String,
    pub headers: String,
    pub header_len: usize,
    pub body_len: u64,
    /// MD5 of the body, lower-case hex: the value for `digest`.
    pub md5: String,
}

impl GenhashReport {
    /// A keepalived-genhash-like text: the request, the response header section, the body
    /// length and "MD5SUM = <hex>".
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "{:-^72}", "[ HTTP request ]");
        s.push_str(&self.request.replace("\r\n", "\n"));
        if let Some(t) = &self.tls {
            let _ = writeln!(s, "{:-^72}", "[ TLS ]");
            let _ = writeln!(s, "{t}");
        }
        let _ = writeln!(s, "{:-^72}", "[ HTTP header ]");
        let _ = writeln!(s, "{}", self.headers.replace("\r\n", "\n").trim_end());
        let _ = writeln!(s, "{:-^72}", "[ HTTP body ]");
        let _ = writeln!(
            s,
            "{} bytes (header section {} bytes)",
            self.body_len, self.header_len
        );
        let _ = writeln!(s, "{:-^72}", "[ HTML MD5 resulting digest ]");
        let _ = writeln!(s, "MD5SUM = {}", self.md5);
        s
    }
}

/// Fetches one url as a check would and reports what genhash shows.
pub async fn genhash(
    url: &UrlCheck,
    target: &Target,
    version: HttpVersion,
    tls: Option<&TlsParams>,
) -> Result<GenhashReport, String> {
    let (resp, tls_desc) = exchange(url, target, version, tls, false).await?;
    let host = host_of(url, target, tls.is_some());
    Ok(GenhashReport {
        request: request(url, &host, version),
        tls: tls_desc,
        status: resp.status,
        status_line: resp.status_line,
        headers: resp.headers,
        header_len: resp.header_len,
        body_len: resp.body_len,
        md5: resp.md5,
    })
}

/// Fetches one url as a check would, keeping the body (up to [`BODY_CAP`]).
pub async fn fetch(
    url: &UrlCheck,
    target: &Target,
    version: HttpVersion,
    tls: Option<&TlsParams>,
) -> Result<Response, String> {
    exchange(url, target, version, tls, true)
        .await
        .map(|(r, _)| r)
}

/// Connect, TLS, request, response — all before one deadline.
async fn exchange(
    url: &UrlCheck,
    t: &Target,
    version: HttpVersion,
    tls: Option<&TlsParams>,
    keep_body: bool,
) -> Result<(Response, Option<String>), String> {
    let deadline = Deadline::after(t.timeout);
    let stream = connect::tcp_within(t, &deadline).await?;
    let host = host_of(url, t, tls.is_some());
    let req = request(url, &host, version);
    match tls {
        None => {
            let mut s = stream;
            let r = talk(&mut s, &req, &deadline, keep_body).await?;
            Ok((r, None))
        }
        Some(params) => {
            let mut s = deadline
                .within(
                    "TLS handshake",
                    tls::handshake(stream, params, &host, t.addr.ip()),
                )
                .await??;
            let desc = tls::describe(&s);
            let r = talk(&mut s, &req, &deadline, keep_body).await?;
            Ok((r, Some(desc)))
        }
    }
}

async fn talk<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    req: &str,
    deadline: &Deadline,
    keep_body: bool,
) -> Result<Response, String> {
    deadline
        .within("sending the request", async {
            s.write_all(req.as_bytes()).await?;
            s.flush().await
        })
        .await?
        .map_err(|e| format!("sending the request: {}", io_text(&e)))?;
    let resp = deadline
        .within("reading the response", read_response(s, keep_body))
        .await??;
    // Polite close (TLS close_notify); its failure does not matter.
    let _ = deadline.within("closing", s.shutdown()).await;
    Ok(resp)
}

/// Buffered reading of a response.
struct Reader<'a, S> {
    s: &'a mut S,
    buf: Vec<u8>,
    pos: usize,
}

impl<S: AsyncRead + Unpin> Reader<'_, S> {
    fn avail(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    fn consume(&mut self, n: usize) {
        self.pos += n;
    }

    /// Reads more; false at the end of the stream. A TLS peer that closes without
    /// close_notify is an end of stream too (common with HTTP servers).
    async fn fill(&mut self) -> Result<bool, String> {
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        } else if self.pos >= 64 << 10 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        let len = self.buf.len();
        self.buf.resize(len + (16 << 10), 0);
        let r = self.s.read(&mut self.buf[len..]).await;
        let n = match r {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => 0,
            Err(e) => {
                self.buf.truncate(len);
                return Err(format!("reading the response: {}", io_text(&e)));
            }
        };
        self.buf.truncate(len + n);
        Ok(n > 0)
    }

    /// One line (without its line end), None at the end of the stream.
    async fn line(&mut self, what: &str) -> Result<Option<String>, String> {
        loop {
            if let Some(i) = self.avail().iter().position(|&b| b == b'\n') {
                let line = String::from_utf8_lossy(&self.avail()[..i])
                    .trim_end_matches('\r')
                    .to_string();
                self.consume(i + 1);
                return Ok(Some(line));
            }
            if self.avail().len() > 4096 {
                return Err(format!("{what} longer than 4096 bytes"));
            }
            if !self.fill().await? {
                return Ok(None);
            }
        }
    }

    /// Exactly `n` body bytes into `sink`; false if the stream ends first.
    async fn exact(&mut self, mut n: u64, sink: &mut Sink) -> Result<bool, String> {
        while n > 0 {
            if self.avail().is_empty() && !self.fill().await? {
                return Ok(false);
            }
            let take = self
                .avail()
                .len()
                .min(usize::try_from(n).unwrap_or(usize::MAX));
            sink.push(&self.buf[self.pos..self.pos + take]);
            self.consume(take);
            n -= take as u64;
        }
        Ok(true)
    }
}

/// The body as it streams in: MD5 of all of it, the first [`BODY_CAP`] bytes if kept.
struct Sink {
    md5: Md5,
    len: u64,
    keep: bool,
    kept: Vec<u8>,
    over: bool,
}

impl Sink {
    fn push(&mut self, b: &[u8]) {
        self.md5.update(b);
        self.len += b.len() as u64;
        if self.keep {
            let room = BODY_CAP - self.kept.len();
            if b.len() > room {
                self.over = true;
            }
            self.kept.extend_from_slice(&b[..b.len().min(room)]);
        }
    }
}

/// The end of the header section: after "\r\n\r\n" or "\n\n".
fn header_end(b: &[u8]) -> Option<usize> {
    for i in 0..b.len() {
        if b[i] != b'\n' {
            continue;
        }
        match (b.get(i + 1), b.get(i + 2)) {
            (Some(b'\n'), _) => return Some(i + 2),
            (Some(b'\r'), Some(b'\n')) => return Some(i + 3),
            _ => {}
        }
    }
    None
}

enum Framing {
    None,
    Length(u64),
    Chunked,
    ToEof,
}

struct Head {
    status: u16,
    status_line: String,
    text: String,
    len: usize,
    framing: Framing,
}

/// The status code of a response head as the checkers read it (their parser, whole: framing
/// headers included): for the fuzzer (fuzz/fuzz_targets/http_head.rs) and tests.
pub fn head_status(raw: &[u8]) -> Result<u16, String> {
    parse_head(raw).map(|h| h.status)
}

fn parse_head(raw: &[u8]) -> Result<Head, String> {
    let text = String::from_utf8_lossy(raw).into_owned();
    let mut lines = text.split('\n').map(|l| l.trim_end_matches('\r'));
    let status_line = lines.next().unwrap_or("").to_string();
    let status = parse_status(&status_line).ok_or_else(|| {
        let shown: String = status_line.chars().take(80).collect();
        format!("malformed status line `{shown}`")
    })?;
    let mut length = None;
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("content-length") {
            let n = value
                .parse::<u64>()
                .map_err(|_| format!("bad Content-Length `{value}`"))?;
            if length.is_some_and(|l| l != n) {
                return Err("conflicting Content-Length headers".into());
            }
            length = Some(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value
                .rsplit(',')
                .next()
                .is_some_and(|c| c.trim().eq_ignore_ascii_case("chunked"));
        }
    }
    let framing = if (100..200).contains(&status) || status == 204 || status == 304 {
        Framing::None
    } else if chunked {
        Framing::Chunked
    } else if let Some(n) = length {
        Framing::Length(n)
    } else {
        Framing::ToEof
    };
    let body_start = header_end(raw).unwrap_or(raw.len());
    let shown = String::from_utf8_lossy(&raw[..body_start]);
    let shown = shown.trim_end_matches(['\r', '\n']).to_string();
    Ok(Head {
        status,
        status_line,
        text: shown,
        len: raw.len(),
        framing,
    })
}

/// "HTTP/1.1 200 OK" → 200.
fn parse_status(line: &str) -> Option<u16> {
    let rest = line.strip_prefix("HTTP/")?;
    let mut parts = rest.splitn(3, ' ');
    let _version = parts.next()?;
    let code = parts.next()?;
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    code.parse().ok()
}

async fn read_response<S: AsyncRead + Unpin>(
    s: &mut S,
    keep_body: bool,
) -> Result<Response, String> {
    let mut r = Reader {
        s,
        buf: Vec::with_capacity(16 << 10),
        pos: 0,
    };
    let head = loop {
        let head = loop {
            if let Some(end) = header_end(r.avail()) {
                let head = parse_head(&r.avail()[..end])?;
                r.consume(end);
                break head;
            }
            if r.avail().len() > HEADER_CAP {
                return Err(format!(
                    "header section longer than {} KiB",
                    HEADER_CAP >> 10
                ));
            }
            if !r.fill().await? {
                return Err("response ended before the header section".into());
            }
        };
        // Interim 1xx responses (not 101) precede the real one.
        if (100..200).contains(&head.status) && head.status != 101 {
            continue;
        }
        break head;
    };
    let mut sink = Sink {
        md5: Md5::new(),
        len: 0,
        keep: keep_body,
        kept: Vec::new(),
        over: false,
    };
    match head.framing {
        Framing::None => {}
        Framing::Length(n) => {
            if !r.exact(n, &mut sink).await? {
                return Err(format!(
                    "response body ended after {} of {n} bytes (Content-Length)",
                    sink.len
                ));
            }
        }
        Framing::Chunked => loop {
            let line = r
                .line("chunk size line")
                .await?
                .ok_or("response ended inside the chunked body")?;
            let size_text = line.split(';').next().unwrap_or("").trim();
            let size = u64::from_str_radix(size_text, 16)
                .map_err(|_| format!("bad chunk size line `{line}`"))?;
            if size == 0 {
                // Trailer fields up to the blank line; a missing blank line is tolerated.
                while let Some(l) = r.line("trailer line").await? {
                    if l.is_empty() {
                        break;
                    }
                }
                break;
            }
            if !r.exact(size, &mut sink).await? {
                return Err("response ended inside a chunk".into());
            }
            match r.line("chunk end").await? {
                Some(l) if l.is_empty() => {}
                Some(_) => return Err("chunk longer than its size line says".into()),
                None => return Err("response ended inside the chunked body".into()),
            }
        },
        Framing::ToEof => loop {
            if !r.avail().is_empty() {
                let n = r.avail().len();
                sink.push(&r.buf[r.pos..r.pos + n]);
                r.consume(n);
            }
            if !r.fill().await? {
                break;
            }
        },
    }
    Ok(Response {
        status: head.status,
        status_line: head.status_line,
        headers: head.text,
        header_len: head.len,
        body_len: sink.len,
        md5: hex(&sink.md5.finalize()),
        body: sink.kept,
        body_truncated: sink.over,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_known_values() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(
            md5_hex(b"The quick brown fox jumps over the lazy dog"),
            "9e107d9d372bb6826bd81d3542a419d6"
        );
    }

    #[test]
    fn statuses() {
        assert!(status_ok(&[], 200));
        assert!(status_ok(&[], 299));
        assert!(!status_ok(&[], 301));
        let r = [(200, 299), (404, 404)];
        assert!(status_ok(&r, 404));
        assert!(!status_ok(&r, 403));
        assert_eq!(status_text(&[]), "200-299");
        assert_eq!(status_text(&r), "200-299,404");
        assert_eq!(parse_status("HTTP/1.1 503 Service Unavailable"), Some(503));
        assert_eq!(parse_status("HTTP/1.0 200"), Some(200));
        assert_eq!(parse_status("HTTP/1.1 20 OK"), None);
        assert_eq!(parse_status("SSH-2.0-OpenSSH"), None);
    }

    #[test]
    fn header_ends() {
        assert_eq!(header_end(b"HTTP/1.0 200 OK\r\n\r\nbody"), Some(19));
        assert_eq!(header_end(b"HTTP/1.0 200 OK\n\nbody"), Some(17));
        assert_eq!(header_end(b"HTTP/1.0 200 OK\r\nA: b\r\n"), None);
    }

    #[test]
    fn requests() {
        let url = UrlCheck {
            path: "/health".into(),
            host: "www.example.com".into(),
            status: vec![],
            digest: None,
            regex: None,
            regex_no_match: false,
        };
        let v = env!("CARGO_PKG_VERSION");
        assert_eq!(
            request(&url, "h", HttpVersion::Http10),
            format!("GET /health HTTP/1.0\r\nUser-Agent: lvsd/{v}\r\nHost: h\r\n\r\n")
        );
        assert_eq!(
            request(&url, "h", HttpVersion::Http10Close),
            format!(
                "GET /health HTTP/1.0\r\nUser-Agent: lvsd/{v}\r\nHost: h\r\nConnection: close\r\n\r\n"
            )
        );
        assert!(request(&url, "h", HttpVersion::Http11).starts_with("GET /health HTTP/1.1\r\n"));
        let t = Target {
            addr: "10.0.0.1:8080".parse().unwrap(),
            bind: None,
            bind_if: None,
            fwmark: None,
            timeout: std::time::Duration::from_secs(1),
        };
        let mut u = url.clone();
        u.host.clear();
        assert_eq!(host_of(&u, &t, false), "10.0.0.1:8080");
        let t80 = Target {
            addr: "10.0.0.1:80".parse().unwrap(),
            ..t
        };
        assert_eq!(host_of(&u, &t80, false), "10.0.0.1");
        assert_eq!(host_of(&url, &t80, false), "www.example.com");
    }

    #[test]
    fn digest_and_regex() {
        let resp = Response {
            status: 200,
            status_line: "HTTP/1.1 200 OK".into(),
            headers: String::new(),
            header_len: 0,
            body_len: 5,
            md5: md5_hex(b"hello"),
            body: b"hello".to_vec(),
            body_truncated: false,
        };
        let mut url = UrlCheck {
            path: "/".into(),
            host: "h".into(),
            status: vec![],
            digest: Some("5D41402ABC4B2A76B9719D911017C592".into()),
            regex: Some("h.l+o".into()),
            regex_no_match: false,
        };
        assert_eq!(verify(&url, &resp), Ok(()));
        url.regex_no_match = true;
        assert_eq!(
            verify(&url, &resp),
            Err("regex `h.l+o` matched (regex_no_match)".into())
        );
        url.regex = Some("(".into());
        assert!(verify(&url, &resp)
            .unwrap_err()
            .starts_with("invalid regex `(`"));
        url.digest = Some("00".into());
        assert_eq!(
            verify(&url, &resp),
            Err("digest mismatch: got 5d41402abc4b2a76b9719d911017c592 want 00".into())
        );
    }
}
