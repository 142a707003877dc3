//! HTTP_GET / SSL_GET / genhash against small servers written here (plain and rustls with an
//! rcgen self-signed certificate), each test in a network namespace of its own.

mod common;

use common::{blackhole, in_netns, target};
use lvsd_check::probe::http::{self, md5_hex};
use lvsd_check::probe::{HttpProbe, HttpVersion, TlsParams, UrlCheck};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

// ---------------------------------------------------------------------------------------
// Test servers

/// What the server saw of one connection.
#[derive(Debug)]
struct Seen {
    peer: SocketAddr,
    request: String,
    sni: Option<String>,
}

type Reply = Arc<dyn Fn(&str) -> Vec<Vec<u8>> + Send + Sync>;

#[derive(Clone)]
struct Opts {
    /// Before answering.
    delay: Duration,
    /// Keep the connection open this long after the response.
    hold: Duration,
    tls: Option<Arc<ServerConfig>>,
    /// TLS: send close_notify at the end (else just close the TCP connection).
    close_notify: bool,
}

impl Default for Opts {
    fn default() -> Self {
        Opts {
            delay: Duration::ZERO,
            hold: Duration::ZERO,
            tls: None,
            close_notify: true,
        }
    }
}

/// Serves every connection on 127.0.0.1: reads the request, waits `delay`, writes the parts
/// of `reply(request)` (a few ms apart, so the client sees them in pieces), closes.
async fn serve_with(opts: Opts, reply: Reply) -> (SocketAddr, mpsc::UnboundedReceiver<Seen>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, peer)) = l.accept().await else {
                return;
            };
            let (opts, reply, tx) = (opts.clone(), reply.clone(), tx.clone());
            tokio::spawn(async move {
                match &opts.tls {
                    None => conn(tcp, peer, None, &opts, &reply, &tx).await,
                    Some(cfg) => {
                        let acceptor = tokio_rustls::TlsAcceptor::from(cfg.clone());
                        let Ok(s) = acceptor.accept(tcp).await else {
                            return;
                        };
                        let sni = s.get_ref().1.server_name().map(String::from);
                        conn(s, peer, sni, &opts, &reply, &tx).await
                    }
                }
            });
        }
    });
    (addr, rx)
}

async fn conn<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    peer: SocketAddr,
    sni: Option<String>,
    opts: &Opts,
    reply: &Reply,
    tx: &mpsc::UnboundedSender<Seen>,
) {
    let mut req = Vec::new();
    let mut buf = [0u8; 4096];
    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => req.extend_from_slice(&buf[..n]),
        }
    }
    let request = String::from_utf8_lossy(&req).into_owned();
    let _ = tx.send(Seen {
        peer,
        request: request.clone(),
        sni,
    });
    tokio::time::sleep(opts.delay).await;
    for part in reply(&request) {
        if s.write_all(&part).await.is_err() || s.flush().await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(opts.hold).await;
    if opts.close_notify {
        let _ = s.shutdown().await;
    }
}

/// A plain server answering every request with `parts`.
async fn serve(parts: &[&[u8]]) -> (SocketAddr, mpsc::UnboundedReceiver<Seen>) {
    serve_opts(Opts::default(), parts).await
}

async fn serve_opts(opts: Opts, parts: &[&[u8]]) -> (SocketAddr, mpsc::UnboundedReceiver<Seen>) {
    let parts: Vec<Vec<u8>> = parts.iter().map(|p| p.to_vec()).collect();
    serve_with(opts, Arc::new(move |_| parts.clone())).await
}

fn ok_response(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: text/plain\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

// ---------------------------------------------------------------------------------------
// Probe parameters

fn url(path: &str) -> UrlCheck {
    UrlCheck {
        path: path.into(),
        host: "www.example.com".into(),
        status: vec![],
        digest: None,
        regex: None,
        regex_no_match: false,
    }
}

fn probe(urls: Vec<UrlCheck>) -> HttpProbe {
    HttpProbe {
        urls,
        version: HttpVersion::Http10,
        tls: None,
    }
}

const T: Duration = Duration::from_secs(3);

async fn run(p: &HttpProbe, addr: SocketAddr) -> lvsd_check::probe::Outcome {
    http::check(p, &target(addr, T)).await
}

// ---------------------------------------------------------------------------------------
// HTTP

#[test]
fn http_ok_and_the_request_sent() {
    in_netns(|| async {
        let (addr, mut seen) = serve(&[&ok_response("hello")]).await;
        let o = run(&probe(vec![url("/health")]), addr).await;
        assert!(o.ok, "{o:?}");
        let s = seen.recv().await.unwrap();
        let v = env!("CARGO_PKG_VERSION");
        assert_eq!(
            s.request,
            format!(
                "GET /health HTTP/1.0\r\nUser-Agent: lvsd/{v}\r\nHost: www.example.com\r\n\r\n"
            )
        );
    });
}

#[test]
fn http_versions_and_connection_close() {
    in_netns(|| async {
        let (addr, mut seen) = serve(&[&ok_response("x")]).await;
        let mut p = probe(vec![url("/")]);
        p.version = HttpVersion::Http10Close;
        assert!(run(&p, addr).await.ok);
        let r = seen.recv().await.unwrap().request;
        assert!(r.starts_with("GET / HTTP/1.0\r\n"), "{r}");
        assert!(r.contains("\r\nConnection: close\r\n"), "{r}");
        p.version = HttpVersion::Http11;
        assert!(run(&p, addr).await.ok);
        let r = seen.recv().await.unwrap().request;
        assert!(r.starts_with("GET / HTTP/1.1\r\n"), "{r}");
        assert!(r.contains("\r\nHost: www.example.com\r\n"), "{r}");
        assert!(r.contains("\r\nConnection: close\r\n"), "{r}");
    });
}

#[test]
fn http_wrong_status_fails() {
    in_netns(|| async {
        let (addr, _seen) =
            serve(&[b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"]).await;
        let o = run(&probe(vec![url("/")]), addr).await;
        assert!(!o.ok);
        assert_eq!(o.error.as_deref(), Some("HTTP status 503 not in 200-299"));
    });
}

#[test]
fn http_status_ranges() {
    in_netns(|| async {
        let (a404, _s1) = serve(&[b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"]).await;
        let (a403, _s2) = serve(&[b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"]).await;
        let mut u = url("/");
        u.status = vec![(200, 299), (404, 404)];
        let p = probe(vec![u]);
        let o = run(&p, a404).await;
        assert!(o.ok, "{o:?}");
        let o = run(&p, a403).await;
        assert_eq!(
            o.error.as_deref(),
            Some("HTTP status 403 not in 200-299,404")
        );
        // 404 alone fails the default range.
        let o = run(&probe(vec![url("/")]), a404).await;
        assert_eq!(o.error.as_deref(), Some("HTTP status 404 not in 200-299"));
    });
}

#[test]
fn http_digest_match_and_mismatch() {
    in_netns(|| async {
        let body = "The quick brown fox jumps over the lazy dog";
        let (addr, _seen) = serve(&[&ok_response(body)]).await;
        let mut u = url("/");
        u.digest = Some("9e107d9d372bb6826bd81d3542a419d6".into());
        let o = run(&probe(vec![u.clone()]), addr).await;
        assert!(o.ok, "{o:?}");
        // Upper-case hex in the configuration is the same digest.
        u.digest = Some("9E107D9D372BB6826BD81D3542A419D6".into());
        assert!(run(&probe(vec![u.clone()]), addr).await.ok);
        u.digest = Some("d41d8cd98f00b204e9800998ecf8427e".into());
        let o = run(&probe(vec![u]), addr).await;
        assert_eq!(
            o.error.as_deref(),
            Some(
                "digest mismatch: got 9e107d9d372bb6826bd81d3542a419d6 \
                 want d41d8cd98f00b204e9800998ecf8427e"
            )
        );
    });
}

#[test]
fn http_regex_match_and_no_match() {
    in_netns(|| async {
        let (addr, _seen) = serve(&[&ok_response("status: green\nversion 42\n")]).await;
        let with = |re: &str, no_match: bool| {
            let mut u = url("/");
            u.regex = Some(re.into());
            u.regex_no_match = no_match;
            probe(vec![u])
        };
        assert!(run(&with(r"status: (green|yellow)", false), addr).await.ok);
        let o = run(&with(r"status: red", false), addr).await;
        assert_eq!(
            o.error.as_deref(),
            Some("regex `status: red` did not match")
        );
        assert!(run(&with(r"status: red", true), addr).await.ok);
        let o = run(&with(r"version \d+", true), addr).await;
        assert_eq!(
            o.error.as_deref(),
            Some(r"regex `version \d+` matched (regex_no_match)")
        );
    });
}

#[test]
fn http_chunked_body() {
    in_netns(|| async {
        let (addr, mut seen) = serve(&[
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWi",
            b"ki\r\n5;ext=1\r\npedia\r\n",
            b"E\r\n in\r\n\r\nchunks.\r\n0\r\nX-Trailer: 1\r\n\r\n",
        ])
        .await;
        let mut u = url("/");
        u.digest = Some(md5_hex(b"Wikipedia in\r\n\r\nchunks."));
        u.regex = Some("^Wikipedia in\r\n\r\nchunks\\.$".into());
        let mut p = probe(vec![u]);
        p.version = HttpVersion::Http11;
        let o = run(&p, addr).await;
        assert!(o.ok, "{o:?}");
        assert!(seen.recv().await.unwrap().request.contains("HTTP/1.1"));

        // A chunked body cut short fails.
        let (addr, _seen) =
            serve(&[b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nshort"]).await;
        let o = run(&p, addr).await;
        assert_eq!(o.error.as_deref(), Some("response ended inside a chunk"));
    });
}

#[test]
fn http_content_length_body_does_not_wait_for_the_close() {
    in_netns(|| async {
        // The server keeps the connection open well past the timeout after a complete
        // Content-Length body (and sends bytes past it, which are not part of the body).
        let opts = Opts {
            hold: Duration::from_secs(30),
            ..Opts::default()
        };
        let (addr, _seen) = serve_opts(
            opts,
            &[
                b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello",
                b" world",
                b"GARBAGE",
            ],
        )
        .await;
        let mut u = url("/");
        u.digest = Some(md5_hex(b"hello world"));
        let o = run(&probe(vec![u]), addr).await;
        assert!(o.ok, "{o:?}");
        assert!(o.latency < Duration::from_secs(2), "{o:?}");

        let (addr, _seen) =
            serve(&[b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789"]).await;
        let o = run(&probe(vec![url("/")]), addr).await;
        assert_eq!(
            o.error.as_deref(),
            Some("response body ended after 10 of 100 bytes (Content-Length)")
        );
    });
}

#[test]
fn http10_body_read_to_the_end() {
    in_netns(|| async {
        let (addr, _seen) = serve(&[
            b"HTTP/1.0 200 OK\r\nServer: old\r\n\r\nfirst part, ",
            b"second part, ",
            b"the end",
        ])
        .await;
        let mut u = url("/");
        u.digest = Some(md5_hex(b"first part, second part, the end"));
        let o = run(&probe(vec![u.clone()]), addr).await;
        assert!(o.ok, "{o:?}");
        let r = http::fetch(&u, &target(addr, T), HttpVersion::Http10, None)
            .await
            .unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.body, b"first part, second part, the end");
        assert_eq!(r.body_len, 32);
        assert_eq!(r.headers, "HTTP/1.0 200 OK\r\nServer: old");
    });
}

#[test]
fn http_truncated_or_missing_headers_fail() {
    in_netns(|| async {
        let (addr, _seen) = serve(&[b"HTTP/1.0 200 OK\r\nContent-Le"]).await;
        let o = run(&probe(vec![url("/")]), addr).await;
        assert_eq!(
            o.error.as_deref(),
            Some("response ended before the header section")
        );
        let (addr, _seen) = serve(&[]).await;
        let o = run(&probe(vec![url("/")]), addr).await;
        assert_eq!(
            o.error.as_deref(),
            Some("response ended before the header section")
        );
        let (addr, _seen) = serve(&[b"SSH-2.0-OpenSSH_9.6\r\n\r\n"]).await;
        let o = run(&probe(vec![url("/")]), addr).await;
        assert_eq!(
            o.error.as_deref(),
            Some("malformed status line `SSH-2.0-OpenSSH_9.6`")
        );
    });
}

#[test]
fn http_urls_are_checked_in_order() {
    in_netns(|| async {
        let (addr, mut seen) = serve_with(
            Opts::default(),
            Arc::new(|req: &str| {
                if req.starts_with("GET /a ") {
                    vec![ok_response("a")]
                } else {
                    vec![b"HTTP/1.0 500 Oops\r\n\r\n".to_vec()]
                }
            }),
        )
        .await;
        let o = run(&probe(vec![url("/a"), url("/b"), url("/c")]), addr).await;
        assert_eq!(
            o.error.as_deref(),
            Some("url /b: HTTP status 500 not in 200-299")
        );
        assert!(seen.recv().await.unwrap().request.starts_with("GET /a "));
        assert!(seen.recv().await.unwrap().request.starts_with("GET /b "));
        // /c is not asked for once /b failed.
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(seen.try_recv().is_err());
        assert!(run(&probe(vec![url("/a"), url("/a")]), addr).await.ok);
    });
}

#[test]
fn http_refused_fails_fast() {
    in_netns(|| async {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        drop(l);
        let timeout = Duration::from_secs(5);
        let o = http::check(&probe(vec![url("/")]), &target(addr, timeout)).await;
        assert_eq!(o.error.as_deref(), Some("connect: connection refused"));
        assert!(o.latency < timeout / 2, "{o:?}");
    });
}

#[test]
fn http_connect_timeout() {
    in_netns(|| async {
        let addr = SocketAddr::new(blackhole(), 80);
        let timeout = Duration::from_millis(500);
        let o = http::check(&probe(vec![url("/")]), &target(addr, timeout)).await;
        assert_eq!(o.error.as_deref(), Some("timeout after 500ms (connecting)"));
        assert!(o.latency < Duration::from_secs(3), "{o:?}");
    });
}

#[test]
fn http_slow_response() {
    in_netns(|| async {
        let slow = Opts {
            delay: Duration::from_millis(1500),
            ..Opts::default()
        };
        let (addr, _seen) = serve_opts(slow, &[&ok_response("late")]).await;
        let timeout = Duration::from_millis(500);
        let o = http::check(&probe(vec![url("/")]), &target(addr, timeout)).await;
        assert_eq!(
            o.error.as_deref(),
            Some("timeout after 500ms (reading the response)")
        );
        assert!(o.latency < Duration::from_millis(1400), "{o:?}");

        // Slow, but within the timeout.
        let slowish = Opts {
            delay: Duration::from_millis(300),
            ..Opts::default()
        };
        let (addr, _seen) = serve_opts(slowish, &[&ok_response("in time")]).await;
        let o = http::check(
            &probe(vec![url("/")]),
            &target(addr, Duration::from_secs(3)),
        )
        .await;
        assert!(o.ok, "{o:?}");
        assert!(o.latency >= Duration::from_millis(300), "{o:?}");
    });
}

#[test]
fn http_timeout_covers_a_body_that_never_ends() {
    in_netns(|| async {
        // Headers at once, then a trickle of body for longer than the timeout.
        let parts: Vec<Vec<u8>> = std::iter::once(b"HTTP/1.0 200 OK\r\n\r\n".to_vec())
            .chain((0..400).map(|_| b"x".to_vec()))
            .collect();
        let (addr, _seen) = serve_with(Opts::default(), Arc::new(move |_| parts.clone())).await;
        let o = http::check(
            &probe(vec![url("/")]),
            &target(addr, Duration::from_millis(500)),
        )
        .await;
        assert_eq!(
            o.error.as_deref(),
            Some("timeout after 500ms (reading the response)")
        );
    });
}

#[test]
fn http_large_body() {
    in_netns(|| async {
        let body = vec![b'a'; 9 << 20];
        let mut resp =
            format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
        resp.extend_from_slice(&body);
        let (addr, _seen) = serve(&[&resp]).await;
        let t = target(addr, Duration::from_secs(10));
        // The digest covers all of it.
        let mut u = url("/");
        u.digest = Some(md5_hex(&body));
        let o = http::check(&probe(vec![u.clone()]), &t).await;
        assert!(o.ok, "{o:?}");
        // A regex cannot be applied to a body past the cap, and says so.
        u.regex = Some("a+".into());
        let o = http::check(&probe(vec![u]), &t).await;
        assert_eq!(
            o.error.as_deref(),
            Some("response body larger than 8 MiB: regex `a+` not applied")
        );
    });
}

#[test]
fn http_bindto_source_address() {
    in_netns(|| async {
        let (addr, mut seen) = serve(&[&ok_response("x")]).await;
        let mut t = target(addr, T);
        t.bind = Some("127.0.0.9:0".parse().unwrap());
        let o = http::check(&probe(vec![url("/")]), &t).await;
        assert!(o.ok, "{o:?}");
        assert_eq!(
            seen.recv().await.unwrap().peer.ip().to_string(),
            "127.0.0.9"
        );
    });
}

#[test]
fn genhash_report() {
    in_netns(|| async {
        let (addr, _seen) = serve(&[&ok_response("hello")]).await;
        let r = http::genhash(&url("/x"), &target(addr, T), HttpVersion::Http10, None)
            .await
            .unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.status_line, "HTTP/1.1 200 OK");
        assert_eq!(r.body_len, 5);
        assert_eq!(r.md5, "5d41402abc4b2a76b9719d911017c592");
        assert_eq!(r.tls, None);
        assert!(r.request.starts_with("GET /x HTTP/1.0\r\n"));
        let text = r.render();
        assert!(
            text.contains("MD5SUM = 5d41402abc4b2a76b9719d911017c592\n"),
            "{text}"
        );
        assert!(text.contains("Content-Type: text/plain"), "{text}");
        // A failure is an error text, as for a check.
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let closed = l.local_addr().unwrap();
        drop(l);
        let e = http::genhash(&url("/"), &target(closed, T), HttpVersion::Http10, None)
            .await
            .unwrap_err();
        assert_eq!(e, "connect: connection refused");
    });
}

// ---------------------------------------------------------------------------------------
// HTTPS

struct Pki {
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
    dir: tempfile::TempDir,
}

impl Pki {
    /// A self-signed certificate for `name`, its PEM files in a temporary directory.
    fn new(name: &str) -> Pki {
        let ck = rcgen::generate_simple_self_signed(vec![name.to_string()]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::File::create(dir.path().join("cert.pem"))
            .unwrap()
            .write_all(ck.cert.pem().as_bytes())
            .unwrap();
        std::fs::File::create(dir.path().join("key.pem"))
            .unwrap()
            .write_all(ck.key_pair.serialize_pem().as_bytes())
            .unwrap();
        Pki {
            cert: ck.cert.der().clone(),
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.key_pair.serialize_der())),
            dir,
        }
    }

    fn cert_file(&self) -> std::path::PathBuf {
        self.dir.path().join("cert.pem")
    }

    fn key_file(&self) -> std::path::PathBuf {
        self.dir.path().join("key.pem")
    }
}

fn ring() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn server_config(server: &Pki, client_ca: Option<&Pki>) -> Arc<ServerConfig> {
    let b = ServerConfig::builder_with_provider(ring())
        .with_safe_default_protocol_versions()
        .unwrap();
    let b = match client_ca {
        None => b.with_no_client_auth(),
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            roots.add(ca.cert.clone()).unwrap();
            let v = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), ring())
                .build()
                .unwrap();
            b.with_client_cert_verifier(v)
        }
    };
    Arc::new(
        b.with_single_cert(vec![server.cert.clone()], server.key.clone_key())
            .unwrap(),
    )
}

fn tls_params() -> TlsParams {
    TlsParams {
        sni: None,
        verify: false,
        ca: None,
        certificate: None,
        key: None,
    }
}

async fn https(
    server: &Pki,
    client_ca: Option<&Pki>,
    close_notify: bool,
    parts: &[&[u8]],
) -> (SocketAddr, mpsc::UnboundedReceiver<Seen>) {
    let opts = Opts {
        tls: Some(server_config(server, client_ca)),
        close_notify,
        ..Opts::default()
    };
    serve_opts(opts, parts).await
}

fn ssl_probe(u: UrlCheck, tls: TlsParams) -> HttpProbe {
    HttpProbe {
        urls: vec![u],
        version: HttpVersion::Http10,
        tls: Some(tls),
    }
}

#[test]
fn https_self_signed_passes_without_verification_and_no_sni() {
    in_netns(|| async {
        let pki = Pki::new("test.example");
        let (addr, mut seen) = https(&pki, None, true, &[&ok_response("secure")]).await;
        let mut u = url("/");
        u.digest = Some(md5_hex(b"secure"));
        let o = run(&ssl_probe(u, tls_params()), addr).await;
        assert!(o.ok, "{o:?}");
        let s = seen.recv().await.unwrap();
        assert_eq!(s.sni, None);
        assert!(s.request.starts_with("GET / HTTP/1.0\r\n"));
    });
}

#[test]
fn https_fails_with_verification_against_the_public_roots() {
    in_netns(|| async {
        let pki = Pki::new("www.example.com");
        let (addr, _seen) = https(&pki, None, true, &[&ok_response("secure")]).await;
        let tls = TlsParams {
            verify: true,
            ..tls_params()
        };
        let o = run(&ssl_probe(url("/"), tls), addr).await;
        let e = o.error.unwrap();
        assert!(
            e.starts_with("TLS handshake: invalid peer certificate"),
            "{e}"
        );
    });
}

#[test]
fn https_verification_with_a_ca_file_and_sni() {
    in_netns(|| async {
        let pki = Pki::new("test.example");
        let (addr, mut seen) = https(&pki, None, true, &[&ok_response("secure")]).await;
        let tls = TlsParams {
            sni: Some("test.example".into()),
            verify: true,
            ca: Some(pki.cert_file()),
            ..tls_params()
        };
        let o = run(&ssl_probe(url("/"), tls.clone()), addr).await;
        assert!(o.ok, "{o:?}");
        assert_eq!(
            seen.recv().await.unwrap().sni.as_deref(),
            Some("test.example")
        );

        // The name is checked: another SNI does not match the certificate.
        let other = TlsParams {
            sni: Some("other.example".into()),
            ..tls
        };
        let o = run(&ssl_probe(url("/"), other), addr).await;
        let e = o.error.unwrap();
        assert!(
            e.starts_with("TLS handshake: invalid peer certificate"),
            "{e}"
        );

        // Without SNI, the Host is the name verified (and nothing is sent).
        let mut u = url("/");
        u.host = "test.example:443".into();
        let no_sni = TlsParams {
            verify: true,
            ca: Some(pki.cert_file()),
            ..tls_params()
        };
        let o = run(&ssl_probe(u, no_sni), addr).await;
        assert!(o.ok, "{o:?}");
        let s = loop {
            let s = seen.recv().await.unwrap();
            if !s.request.is_empty() {
                break s;
            }
        };
        assert_eq!(s.sni, None);
        assert!(s.request.contains("\r\nHost: test.example:443\r\n"));
    });
}

#[test]
fn https_sni_without_verification() {
    in_netns(|| async {
        let pki = Pki::new("test.example");
        let (addr, mut seen) = https(&pki, None, true, &[&ok_response("x")]).await;
        let tls = TlsParams {
            sni: Some("vhost.example".into()),
            ..tls_params()
        };
        assert!(run(&ssl_probe(url("/"), tls), addr).await.ok);
        assert_eq!(
            seen.recv().await.unwrap().sni.as_deref(),
            Some("vhost.example")
        );
    });
}

#[test]
fn https_body_to_the_end_without_close_notify() {
    in_netns(|| async {
        let pki = Pki::new("test.example");
        let (addr, _seen) = https(
            &pki,
            None,
            false,
            &[b"HTTP/1.0 200 OK\r\n\r\nuntil ", b"the close"],
        )
        .await;
        let mut u = url("/");
        u.digest = Some(md5_hex(b"until the close"));
        let o = run(&ssl_probe(u, tls_params()), addr).await;
        assert!(o.ok, "{o:?}");
    });
}

#[test]
fn https_client_certificate() {
    in_netns(|| async {
        let server = Pki::new("test.example");
        let client = Pki::new("client.example");
        let (addr, _seen) = https(&server, Some(&client), true, &[&ok_response("x")]).await;
        let with_cert = TlsParams {
            certificate: Some(client.cert_file()),
            key: Some(client.key_file()),
            ..tls_params()
        };
        let o = run(&ssl_probe(url("/"), with_cert), addr).await;
        assert!(o.ok, "{o:?}");
        // Without one the server refuses (during or right after the handshake).
        let o = run(&ssl_probe(url("/"), tls_params()), addr).await;
        assert!(!o.ok, "{o:?}");
        // An unreadable certificate file is an explicit error.
        let missing = TlsParams {
            certificate: Some("/nonexistent/cert.pem".into()),
            ..tls_params()
        };
        let o = run(&ssl_probe(url("/"), missing), addr).await;
        assert!(
            o.error
                .as_deref()
                .unwrap()
                .starts_with("/nonexistent/cert.pem: "),
            "{o:?}"
        );
    });
}

#[test]
fn https_handshake_timeout_and_genhash() {
    in_netns(|| async {
        // A plain TCP server that never speaks TLS: the handshake times out.
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((s, _)) = l.accept().await {
                held.push(s);
            }
        });
        let o = http::check(
            &ssl_probe(url("/"), tls_params()),
            &target(addr, Duration::from_millis(400)),
        )
        .await;
        assert_eq!(
            o.error.as_deref(),
            Some("timeout after 400ms (TLS handshake)")
        );

        let pki = Pki::new("test.example");
        let (addr, _seen) = https(&pki, None, true, &[&ok_response("hello")]).await;
        let r = http::genhash(
            &url("/"),
            &target(addr, T),
            HttpVersion::Http11,
            Some(&tls_params()),
        )
        .await
        .unwrap();
        assert_eq!(r.md5, "5d41402abc4b2a76b9719d911017c592");
        assert!(r.tls.as_deref().unwrap().starts_with("TLSv1_3 "), "{r:?}");
    });
}
