//! TLS for broker connections: rustls with the ring provider, built once per client from
//! the `ssl` settings and shared by every connection.
//!
//! Why these crates: ring builds with nothing but a C compiler for every napi target
//! (aws-lc-rs also needs cmake, and NASM on Windows), so `npm install` never needs more
//! than cargo; and there is no OpenSSL to find or build. Without `ssl.ca` the trust
//! anchors are Mozilla's (webpki-roots, compiled in), as Node's own `tls` module does by
//! default: the same answer on every machine, including minimal containers that have no
//! system store; a private CA is given with `ssl.ca`.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::Secret;
use crate::error::{Error, Kind, Result, TlsFailure};

/// The `ssl` settings as a user gives them. PEM text (several certificates may follow each
/// other in `ca` and `cert`).
#[derive(Clone, Default)]
pub struct TlsOptions {
    /// Trusted CA certificates; `None` for Mozilla's roots.
    pub ca: Option<Vec<u8>>,
    /// Client certificate chain for mTLS (leaf first).
    pub cert: Option<Vec<u8>>,
    /// Client private key: PKCS#8, PKCS#1 (RSA) or SEC1 (EC), or encrypted PKCS#8.
    pub key: Option<Secret>,
    /// Passphrase of an encrypted key.
    pub passphrase: Option<Secret>,
    /// Verify the broker's certificate chain and host name (default true).
    pub reject_unauthorized: bool,
    /// Name to send as SNI and to verify instead of each broker's host.
    pub servername: Option<String>,
    /// Lowest TLS version: "TLSv1.2" (default) or "TLSv1.3".
    pub min_version: Option<String>,
}

impl std::fmt::Debug for TlsOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsOptions")
            .field("ca", &self.ca.as_ref().map(|c| format!("<{} bytes>", c.len())))
            .field("cert", &self.cert.as_ref().map(|c| format!("<{} bytes>", c.len())))
            .field("key", &self.key)
            .field("passphrase", &self.passphrase)
            .field("reject_unauthorized", &self.reject_unauthorized)
            .field("servername", &self.servername)
            .field("min_version", &self.min_version)
            .finish()
    }
}

/// A ready TLS client configuration.
#[derive(Clone)]
pub struct Tls {
    config: Arc<rustls::ClientConfig>,
    servername: Option<ServerName<'static>>,
    verify: bool,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("servername", &self.servername)
            .field("verify", &self.verify)
            .field("client_auth", &self.config.client_auth_cert_resolver.has_certs())
            .finish()
    }
}

fn bad(key: &str, problem: impl std::fmt::Display) -> Error {
    Error::config(key, problem)
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Certificates of a PEM text, in order; `key` names the setting in errors.
fn certificates(key: &str, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| bad(key, format!("is not valid PEM: {e}")))?;
    if certs.is_empty() {
        return Err(bad(key, "holds no PEM certificate (-----BEGIN CERTIFICATE-----)"));
    }
    Ok(certs)
}

/// The client's private key, decrypting an encrypted PKCS#8 key with the passphrase.
fn private_key(pem: &[u8], passphrase: Option<&Secret>) -> Result<PrivateKeyDer<'static>> {
    let text = String::from_utf8_lossy(pem);
    if text.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(bad(
            "ssl.key",
            "is encrypted in OpenSSL's legacy PEM format (Proc-Type header), which nkafka does not read; \
             convert it to encrypted PKCS#8: openssl pkcs8 -topk8 -v2 aes-256-cbc -in old.pem -out key.pem",
        ));
    }
    if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        let Some(pass) = passphrase else {
            return Err(bad("ssl.key", "is encrypted; set ssl.passphrase"));
        };
        let (label, doc) =
            pkcs8::Document::from_pem(&text).map_err(|e| bad("ssl.key", format!("is not valid PEM: {e}")))?;
        if label != "ENCRYPTED PRIVATE KEY" {
            return Err(bad("ssl.key", format!("starts with a {label} block, not the key")));
        }
        let info = pkcs8::EncryptedPrivateKeyInfo::try_from(doc.as_bytes())
            .map_err(|e| bad("ssl.key", format!("is not an encrypted PKCS#8 key: {e}")))?;
        let plain = info.decrypt(pass.expose().as_bytes()).map_err(|_| {
            bad(
                "ssl.passphrase",
                "does not decrypt ssl.key (wrong passphrase, or an unsupported cipher: PBES2 with AES-CBC is supported)",
            )
        })?;
        return Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            plain.as_bytes().to_vec(),
        )));
    }
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| {
        bad(
            "ssl.key",
            format!("holds no PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC): {e}"),
        )
    })
}

impl Tls {
    /// Checks the settings and builds the rustls configuration; errors name the key.
    pub fn new(o: &TlsOptions) -> Result<Tls> {
        let versions: &[&'static rustls::SupportedProtocolVersion] = match o.min_version.as_deref() {
            None | Some("TLSv1.2") => &[&rustls::version::TLS13, &rustls::version::TLS12],
            Some("TLSv1.3") => &[&rustls::version::TLS13],
            Some(v) => {
                return Err(bad(
                    "ssl.minVersion",
                    format!("`{v}`; expected 'TLSv1.2' or 'TLSv1.3' (older versions are insecure)"),
                ))
            }
        };
        let servername = match &o.servername {
            None => None,
            Some(n) => Some(
                ServerName::try_from(n.clone())
                    .map_err(|_| bad("ssl.servername", format!("`{n}` is not a DNS name or IP address")))?,
            ),
        };
        let provider = provider();
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(versions)
            .map_err(|e| Error::new(Kind::Internal, format!("TLS setup: {e}")))?;
        // Parsed even when unused (rejectUnauthorized: false), so a broken PEM is reported
        // at construction rather than when verification is switched back on.
        let ca = o.ca.as_deref().map(|pem| certificates("ssl.ca", pem)).transpose()?;
        let builder = if !o.reject_unauthorized {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
        } else {
            let mut roots = rustls::RootCertStore::empty();
            match ca {
                Some(certs) => {
                    for cert in certs {
                        roots
                            .add(cert)
                            .map_err(|e| bad("ssl.ca", format!("holds a certificate that is not a usable CA: {e}")))?;
                    }
                }
                None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            }
            builder.with_root_certificates(roots)
        };
        let config = match (&o.cert, &o.key) {
            (None, None) => builder.with_no_client_auth(),
            (Some(_), None) => return Err(bad("ssl.key", "is missing: ssl.cert needs its private key")),
            (None, Some(_)) => return Err(bad("ssl.cert", "is missing: ssl.key needs its certificate")),
            (Some(cert), Some(key)) => {
                let chain = certificates("ssl.cert", cert)?;
                let key = private_key(key.expose().as_bytes(), o.passphrase.as_ref())?;
                builder.with_client_auth_cert(chain, key).map_err(|e| match e {
                    rustls::Error::InconsistentKeys(_) => bad("ssl.key", "does not belong to ssl.cert"),
                    rustls::Error::InvalidCertificate(e) => {
                        bad("ssl.cert", format!("holds a certificate that cannot be parsed: {e:?}"))
                    }
                    e => bad("ssl.key", format!("cannot be used: {e}")),
                })?
            }
        };
        Ok(Tls {
            config: Arc::new(config),
            servername,
            verify: o.reject_unauthorized,
        })
    }

    /// Runs the TLS handshake on a connected socket. SNI and verification use `host`
    /// (the broker's advertised host) unless `ssl.servername` overrides it.
    pub async fn connect(&self, host: &str, tcp: TcpStream, broker: &str) -> Result<TlsStream<TcpStream>> {
        let name = match &self.servername {
            Some(n) => n.clone(),
            None => ServerName::try_from(host.to_string()).map_err(|_| {
                Error::new(
                    Kind::Tls(TlsFailure::Handshake),
                    format!("TLS to {broker}: `{host}` is not a valid DNS name or IP address"),
                )
                .with_broker(broker)
            })?,
        };
        tokio_rustls::TlsConnector::from(self.config.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| {
                // Name the host that was verified: ssl.servername when set.
                let checked = match &self.servername {
                    Some(ServerName::DnsName(d)) => d.as_ref().to_string(),
                    Some(ServerName::IpAddress(ip)) => std::net::IpAddr::from(*ip).to_string(),
                    _ => host.to_string(),
                };
                handshake_error(broker, &checked, e)
            })
    }
}

/// An I/O error on an established TLS connection. In TLS 1.3 the broker checks the client
/// certificate after the client considers the handshake done, so a refused certificate
/// arrives as an alert on the first read: that is a TLS failure, not a network one.
pub(crate) fn session_error(broker: &str, e: std::io::Error) -> Error {
    match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        Some(rustls::Error::AlertReceived(_)) => handshake_error(broker, broker, e),
        _ => Error::network(broker, e),
    }
}

/// A typed error for a failed handshake that says what failed.
fn handshake_error(broker: &str, host: &str, e: std::io::Error) -> Error {
    let (failure, why) = match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        Some(rustls::Error::InvalidCertificate(c)) => match c {
            CertificateError::UnknownIssuer => (
                TlsFailure::Untrusted,
                "the broker's certificate is not signed by a trusted CA (set ssl.ca to the cluster's CA)".to_string(),
            ),
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                let presented = match c {
                    CertificateError::NotValidForNameContext { presented, .. } => {
                        format!(" (it is for {})", presented.join(", "))
                    }
                    _ => String::new(),
                };
                (
                    TlsFailure::HostnameMismatch,
                    format!("the broker's certificate is not valid for `{host}`{presented}"),
                )
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                (TlsFailure::Expired, "the broker's certificate has expired".to_string())
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => (
                TlsFailure::Expired,
                "the broker's certificate is not valid yet (is the clock right?)".to_string(),
            ),
            other => (
                TlsFailure::Untrusted,
                format!("the broker's certificate was rejected: {other:?}"),
            ),
        },
        Some(rustls::Error::AlertReceived(alert)) => (
            TlsFailure::Handshake,
            format!(
                "the broker ended the handshake with alert {alert:?}{}",
                if matches!(
                    alert,
                    rustls::AlertDescription::CertificateRequired
                        | rustls::AlertDescription::BadCertificate
                        | rustls::AlertDescription::CertificateUnknown
                        | rustls::AlertDescription::UnsupportedCertificate
                        | rustls::AlertDescription::UnknownCA
                        | rustls::AlertDescription::HandshakeFailure
                ) {
                    " (does the listener require a client certificate, ssl.cert + ssl.key, signed by a CA it trusts?)"
                } else {
                    ""
                }
            ),
        ),
        Some(rustls::Error::InvalidMessage(_)) => (
            TlsFailure::Handshake,
            "the broker did not answer in TLS: is this a plaintext listener? (drop `ssl`)".to_string(),
        ),
        Some(other) => (TlsFailure::Handshake, other.to_string()),
        None if matches!(
            e.kind(),
            std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset
        ) =>
        {
            (
                TlsFailure::Handshake,
                "the broker closed the connection during the handshake: is this a plaintext listener? (drop `ssl`, or use the TLS port)"
                    .to_string(),
            )
        }
        None => {
            return Error::network(broker, format!("TLS handshake: {e}"));
        }
    };
    Error::new(Kind::Tls(failure), format!("TLS handshake with {broker} failed: {why}")).with_broker(broker)
}

/// `rejectUnauthorized: false`: any certificate is accepted, but the handshake signatures
/// are still checked (so the peer holds the key of the certificate it sent).
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    //! Handshakes against a local rustls server with certificates made by rcgen: the
    //! failures a real broker cannot easily be made to show (an expired certificate), and
    //! the settings checks. The real-broker tests are in `__test__/security.test.ts`.
    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, KeyUsagePurpose};
    use tokio::net::TcpListener;

    struct Ca {
        cert: rcgen::Certificate,
        key: KeyPair,
    }

    fn ca(name: &str) -> Ca {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name.push(rcgen::DnType::CommonName, name);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().unwrap();
        let cert = p.self_signed(&key).unwrap();
        Ca { cert, key }
    }

    /// A leaf for `names` signed by `ca`; `expired` puts its validity in the past.
    fn leaf(ca: &Ca, names: &[&str], expired: bool) -> (String, String) {
        let mut p = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
        if expired {
            p.not_before = rcgen::date_time_ymd(2020, 1, 1);
            p.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let cert = p.signed_by(&key, &ca.cert, &ca.key).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    /// Serves one TLS handshake on a loopback port; `client_ca` requires a client
    /// certificate signed by it.
    async fn server(cert_pem: &str, key_pem: &str, client_ca: Option<&str>) -> u16 {
        let chain = certificates("test", cert_pem.as_bytes()).unwrap();
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).unwrap();
        let builder = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = match client_ca {
            None => builder.with_no_client_auth(),
            Some(ca) => {
                let mut roots = rustls::RootCertStore::empty();
                for c in certificates("test", ca.as_bytes()).unwrap() {
                    roots.add(c).unwrap();
                }
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
                    .build()
                    .unwrap();
                builder.with_client_cert_verifier(verifier)
            }
        };
        let config = builder.with_single_cert(chain, key).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            if let Ok((sock, _)) = listener.accept().await {
                let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
                if let Ok(mut s) = acceptor.accept(sock).await {
                    // Echo one byte, then hold the session until the client leaves.
                    use tokio::io::{AsyncReadExt, AsyncWriteExt};
                    let mut b = [0u8; 1];
                    if s.read(&mut b).await.is_ok() {
                        let _ = s.write_all(&b).await;
                        let _ = s.read(&mut b).await;
                    }
                }
            }
        });
        port
    }

    async fn handshake(o: &TlsOptions, host: &str, port: u16) -> Result<()> {
        let tls = Tls::new(o)?;
        let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let mut s = tls.connect(host, tcp, &format!("{host}:{port}")).await?;
        // TLS 1.3 reports a refused client certificate only after the handshake: write
        // and read once so that the alert, if any, arrives.
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        s.write_all(b"x").await.map_err(|e| handshake_error("b", host, e))?;
        let mut b = [0u8; 1];
        match s.read(&mut b).await {
            Ok(1) => Ok(()),
            Ok(_) => Err(Error::network("b", "closed")),
            Err(e) => Err(handshake_error("b", host, e)),
        }
    }

    fn trusting(ca: &Ca) -> TlsOptions {
        TlsOptions {
            ca: Some(ca.cert.pem().into_bytes()),
            reject_unauthorized: true,
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn verifies_chain_name_and_dates() {
        let good = ca("good CA");
        let (cert, key) = leaf(&good, &["localhost", "127.0.0.1"], false);
        let port = server(&cert, &key, None).await;
        handshake(&trusting(&good), "127.0.0.1", port).await.unwrap();

        let port = server(&cert, &key, None).await;
        let e = handshake(&trusting(&ca("other CA")), "localhost", port)
            .await
            .unwrap_err();
        assert_eq!(e.code(), "SSL_CERTIFICATE_UNTRUSTED", "{}", e.message);
        assert!(e.message.contains("ssl.ca"), "{}", e.message);

        let (cert, key) = leaf(&good, &["broker.example"], false);
        let port = server(&cert, &key, None).await;
        let e = handshake(&trusting(&good), "localhost", port).await.unwrap_err();
        assert_eq!(e.code(), "SSL_HOSTNAME_MISMATCH", "{}", e.message);
        assert!(e.message.contains("localhost"), "{}", e.message);
        // ssl.servername names the certificate's host instead of the address's.
        let port = server(&cert, &key, None).await;
        let o = TlsOptions {
            servername: Some("broker.example".into()),
            ..trusting(&good)
        };
        handshake(&o, "127.0.0.1", port).await.unwrap();

        let (cert, key) = leaf(&good, &["localhost"], true);
        let port = server(&cert, &key, None).await;
        let e = handshake(&trusting(&good), "localhost", port).await.unwrap_err();
        assert_eq!(e.code(), "SSL_CERTIFICATE_EXPIRED", "{}", e.message);
        // rejectUnauthorized: false accepts all of the above.
        let port = server(&cert, &key, None).await;
        let o = TlsOptions {
            reject_unauthorized: false,
            ..Default::default()
        };
        handshake(&o, "localhost", port).await.unwrap();
    }

    #[tokio::test]
    async fn client_certificates() {
        let ca_ = ca("CA");
        let (cert, key) = leaf(&ca_, &["localhost"], false);
        let ca_pem = ca_.cert.pem();
        let port = server(&cert, &key, Some(&ca_pem)).await;
        let e = handshake(&trusting(&ca_), "localhost", port).await.unwrap_err();
        assert_eq!(e.code(), "SSL_HANDSHAKE_FAILED", "{}", e.message);
        assert!(e.message.contains("client certificate"), "{}", e.message);

        let (client_cert, client_key) = leaf(&ca_, &["client"], false);
        let port = server(&cert, &key, Some(&ca_pem)).await;
        let o = TlsOptions {
            cert: Some(client_cert.clone().into_bytes()),
            key: Some(Secret::new(client_key)),
            ..trusting(&ca_)
        };
        handshake(&o, "localhost", port).await.unwrap();
    }

    #[test]
    fn settings_errors_name_the_key() {
        let ca_ = ca("CA");
        let (cert, key) = leaf(&ca_, &["client"], false);
        let (_, other_key) = leaf(&ca_, &["client"], false);
        let check = |o: TlsOptions, key: &str| {
            let e = Tls::new(&o).unwrap_err();
            assert_eq!(e.code(), "INVALID_CONFIG");
            assert!(e.message.contains(&format!("`{key}`")), "{key}: {}", e.message);
            e
        };
        let base = || TlsOptions {
            reject_unauthorized: true,
            ..Default::default()
        };
        check(
            TlsOptions {
                ca: Some(b"not a certificate".to_vec()),
                ..base()
            },
            "ssl.ca",
        );
        check(
            TlsOptions {
                ca: Some(b"-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----\n".to_vec()),
                ..base()
            },
            "ssl.ca",
        );
        check(
            TlsOptions {
                min_version: Some("TLSv1.1".into()),
                ..base()
            },
            "ssl.minVersion",
        );
        check(
            TlsOptions {
                cert: Some(cert.clone().into_bytes()),
                ..base()
            },
            "ssl.key",
        );
        let e = check(
            TlsOptions {
                cert: Some(cert.clone().into_bytes()),
                key: Some(Secret::new(other_key.clone())),
                ..base()
            },
            "ssl.key",
        );
        assert!(e.message.contains("does not belong"), "{}", e.message);
        assert!(!e.message.contains("PRIVATE KEY"), "{}", e.message);
        check(
            TlsOptions {
                cert: Some(cert.clone().into_bytes()),
                key: Some(Secret::new(
                    "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
                )),
                ..base()
            },
            "ssl.key",
        );
        check(
            TlsOptions {
                cert: Some(cert.into_bytes()),
                key: Some(Secret::new(format!(
                    "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n{key}"
                ))),
                ..base()
            },
            "ssl.key",
        );
        let shown = format!(
            "{:?}",
            TlsOptions {
                key: Some(Secret::new(other_key.clone())),
                passphrase: Some(Secret::new("pass-phrase")),
                ..base()
            }
        );
        assert!(!shown.contains("PRIVATE") && !shown.contains("pass-phrase"), "{shown}");
    }
}
