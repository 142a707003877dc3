//! The TLS client of SSL_GET (and `lvsd genhash --ssl`), on rustls with the ring provider.
//!
//! * By default the server certificate is NOT verified, as keepalived does not verify it: any
//!   certificate is accepted, but the handshake signatures are still checked against it with
//!   the provider's algorithms (so the handshake itself is sound).
//! * `verify: true` (lvsd extension) verifies the chain and the name against the `ca` PEM file,
//!   else the Mozilla roots (webpki-roots).
//! * A client certificate and key (PEM) are presented when configured; without `key` the key
//!   is looked for in the certificate file.
//! * SNI is sent only when `sni` is set. Without it, the name checked under `verify` is the
//!   Host (without its port), else the target's address.
//!
//! Client configurations are built once per [`TlsParams`] and cached (rebuilt when one of the
//! PEM files changes), so thousands of checks share them.

use super::connect::io_text;
use super::TlsParams;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// The TLS handshake over an established connection. `host` is the HTTP Host (a port, if any,
/// is ignored) and `addr` the target address: see the module text for which name is used.
/// Errors read "TLS handshake: invalid peer certificate: UnknownIssuer" and the like.
pub async fn handshake(
    stream: TcpStream,
    p: &TlsParams,
    host: &str,
    addr: IpAddr,
) -> Result<TlsStream<TcpStream>, String> {
    let config = client_config(p)?;
    let name = server_name(p, host, addr)?;
    TlsConnector::from(config)
        .connect(name, stream)
        .await
        .map_err(|e| format!("TLS handshake: {}", io_text(&e)))
}

/// The negotiated protocol and cipher suite, e.g. "TLSv1_3 TLS13_AES_256_GCM_SHA384".
pub fn describe(s: &TlsStream<TcpStream>) -> String {
    let (_, conn) = s.get_ref();
    let version = conn
        .protocol_version()
        .map(|v| format!("{v:?}"))
        .unwrap_or_else(|| "?".into());
    let suite = conn
        .negotiated_cipher_suite()
        .map(|s| format!("{:?}", s.suite()))
        .unwrap_or_else(|| "?".into());
    format!("{version} {suite}")
}

/// The name given to rustls: the SNI when set, else the Host without its port (not sent: SNI
/// is disabled in that configuration), else the address.
fn server_name(p: &TlsParams, host: &str, addr: IpAddr) -> Result<ServerName<'static>, String> {
    if let Some(sni) = &p.sni {
        return ServerName::try_from(sni.clone()).map_err(|_| format!("invalid sni_name `{sni}`"));
    }
    let h = strip_port(host);
    if !h.is_empty() {
        if let Ok(name) = ServerName::try_from(h.to_string()) {
            return Ok(name);
        }
    }
    Ok(ServerName::IpAddress(addr.into()))
}

/// "example.com:8443" → "example.com", "[::1]:443" → "::1", "::1" → "::1".
fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((h, port)) if !h.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

type Stamp = [Option<SystemTime>; 3];
type Cache = Mutex<HashMap<TlsParams, (Stamp, Arc<ClientConfig>)>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

fn mtime(p: &Option<std::path::PathBuf>) -> Option<SystemTime> {
    p.as_ref()
        .and_then(|p| std::fs::metadata(p).ok())
        .and_then(|m| m.modified().ok())
}

/// The client configuration for `p`, from the cache when its files have not changed.
/// Failures (unreadable PEM files) are not cached.
pub fn client_config(p: &TlsParams) -> Result<Arc<ClientConfig>, String> {
    let stamp = [mtime(&p.ca), mtime(&p.certificate), mtime(&p.key)];
    if let Some((s, c)) = cache().lock().unwrap_or_else(|e| e.into_inner()).get(p) {
        if *s == stamp {
            return Ok(c.clone());
        }
    }
    let config = Arc::new(build(p)?);
    cache()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(p.clone(), (stamp, config.clone()));
    Ok(config)
}

fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

fn build(p: &TlsParams) -> Result<ClientConfig, String> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS configuration: {e}"))?;
    let builder = if p.verify {
        let mut roots = RootCertStore::empty();
        match &p.ca {
            Some(ca) => {
                let certs = read_certs(ca)?;
                let (added, _ignored) = roots.add_parsable_certificates(certs);
                if added == 0 {
                    return Err(format!("ca {}: no usable certificate", ca.display()));
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        builder.with_root_certificates(roots)
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate {
                algorithms: provider.signature_verification_algorithms,
            }))
    };
    let mut config = match &p.certificate {
        Some(cert) => {
            let chain = read_certs(cert)?;
            let key_file = p.key.as_deref().unwrap_or(cert);
            let key = PrivateKeyDer::from_pem_file(key_file)
                .map_err(|e| format!("key {}: {e}", key_file.display()))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("client certificate {}: {e}", cert.display()))?
        }
        None => builder.with_no_client_auth(),
    };
    config.enable_sni = p.sni.is_some();
    Ok(config)
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate in the file", path.display()));
    }
    Ok(certs)
}

/// Accepts any server certificate (keepalived's behaviour) but checks the handshake
/// signatures made with it.
#[derive(Debug)]
struct AnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_stripped() {
        assert_eq!(strip_port("example.com:8443"), "example.com");
        assert_eq!(strip_port("example.com"), "example.com");
        assert_eq!(strip_port("[::1]:443"), "::1");
        assert_eq!(strip_port("::1"), "::1");
        assert_eq!(strip_port("10.0.0.1:443"), "10.0.0.1");
    }

    #[test]
    fn names() {
        let mut p = TlsParams {
            sni: None,
            verify: false,
            ca: None,
            certificate: None,
            key: None,
        };
        let addr: IpAddr = "10.0.0.1".parse().unwrap();
        assert_eq!(
            server_name(&p, "www.example.com:8443", addr).unwrap(),
            ServerName::try_from("www.example.com").unwrap()
        );
        assert_eq!(
            server_name(&p, "", addr).unwrap(),
            ServerName::IpAddress(addr.into())
        );
        p.sni = Some("sni.example".into());
        assert_eq!(
            server_name(&p, "www.example.com", addr).unwrap(),
            ServerName::try_from("sni.example").unwrap()
        );
    }

    #[test]
    fn configs_are_cached() {
        let p = TlsParams {
            sni: Some("x.example".into()),
            verify: false,
            ca: None,
            certificate: None,
            key: None,
        };
        let a = client_config(&p).unwrap();
        let b = client_config(&p).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert!(a.enable_sni);
        let q = TlsParams { sni: None, ..p };
        let c = client_config(&q).unwrap();
        assert!(!c.enable_sni);
    }
}
