//! TLS and SASL against the real `secure` broker of scripts/kafka.mjs (started here when
//! not running; `KAFKA_SECURE_JSON` may name a file with its `start secure --json` output).
//! The JS suite (`__test__/security.test.ts`) covers the same through the binding, with
//! produce/consume/group/transaction runs; these check the core's exchanges directly.

#[allow(dead_code)]
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nkafka_client::admin::Admin;
use nkafka_client::config::{parse_bootstrap, ClientConfig};
use nkafka_client::security::tls::{Tls, TlsOptions};
use nkafka_client::security::{OAuthToken, Sasl, Secret, TokenFuture, TokenProvider};

use common::secure;

fn listener(name: &str) -> String {
    secure()["listeners"][name]
        .as_str()
        .unwrap_or_else(|| panic!("the secure broker has no {name} listener"))
        .to_string()
}

fn config(listener_name: &str) -> ClientConfig {
    let mut c = ClientConfig::new(parse_bootstrap(&[listener(listener_name)]).unwrap());
    c.client_id = "nkafka-rust-security".into();
    c.request_timeout = Duration::from_secs(10);
    if listener_name.contains("SSL") {
        let ca = secure()["caPem"].as_str().unwrap().as_bytes().to_vec();
        c.tls = Some(
            Tls::new(&TlsOptions {
                ca: Some(ca),
                reject_unauthorized: true,
                ..Default::default()
            })
            .unwrap(),
        );
    }
    c
}

fn with_password(listener_name: &str, mechanism: &str, password: &str) -> ClientConfig {
    let mut c = config(listener_name);
    let user = secure()["credentials"]["username"].as_str().unwrap();
    c.sasl = Some(Arc::new(Sasl::with_password(mechanism, user, password).unwrap()));
    c
}

fn password() -> &'static str {
    secure()["credentials"]["password"].as_str().unwrap()
}

/// Unsecured JWS tokens (alg "none"), which the test broker's default validator checks
/// (subject, expiry); counts its calls.
struct UnsecuredJws {
    calls: AtomicUsize,
    lifetime_s: i64,
    /// Calls that get an already expired token first.
    expired_first: usize,
    /// Report a valid `lifetime_ms` whatever the token's own expiry says.
    hide_expiry: bool,
}

fn jws(lifetime_s: i64) -> UnsecuredJws {
    UnsecuredJws {
        calls: AtomicUsize::new(0),
        lifetime_s,
        expired_first: 0,
        hide_expiry: false,
    }
}

fn b64url(data: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (*b as u32) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

impl TokenProvider for UnsecuredJws {
    fn token(&self) -> TokenFuture {
        let call = self.calls.fetch_add(1, Ordering::Relaxed);
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
        let exp = if call < self.expired_first {
            now - 60
        } else {
            now + self.lifetime_s
        };
        let lifetime_ms = if self.hide_expiry {
            (now + 3600) * 1000
        } else {
            exp * 1000
        };
        let header = b64url(br#"{"alg":"none"}"#);
        let claims = b64url(format!(r#"{{"sub":"nkafka","iat":{now},"exp":{exp}}}"#).as_bytes());
        Box::pin(async move {
            Ok(OAuthToken {
                value: Secret::new(format!("{header}.{claims}.")),
                lifetime_ms: Some(lifetime_ms),
                principal: Some("nkafka".into()),
                extensions: vec![("traceId".into(), "rust-test".into())],
            })
        })
    }
}

struct Failing;

impl TokenProvider for Failing {
    fn token(&self) -> TokenFuture {
        Box::pin(async { Err("the identity provider said no".to_string()) })
    }
}

async fn cluster_id(cfg: ClientConfig) -> nkafka_client::Result<String> {
    let admin = Admin::new(cfg)?;
    let meta = admin.describe_cluster().await?;
    Ok(meta.cluster_id.clone().unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mechanism_on_every_listener_reaches_the_broker() {
    let plain_id = cluster_id(config("PLAINTEXT")).await.unwrap();
    assert!(!plain_id.is_empty());
    assert_eq!(cluster_id(config("SSL")).await.unwrap(), plain_id);
    for listener_name in ["SASL_PLAINTEXT", "SASL_SSL"] {
        for mechanism in ["plain", "scram-sha-256", "scram-sha-512"] {
            let got = cluster_id(with_password(listener_name, mechanism, password())).await;
            assert_eq!(got.as_deref(), Ok(plain_id.as_str()), "{listener_name} {mechanism}");
        }
        let provider = Arc::new(jws(3600));
        let mut c = config(listener_name);
        c.sasl = Some(Arc::new(Sasl::oauth_bearer(provider.clone())));
        assert_eq!(cluster_id(c).await.unwrap(), plain_id, "{listener_name} OAUTHBEARER");
        assert!(provider.calls.load(Ordering::Relaxed) >= 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_typed_and_prompt() {
    // Wrong password: the broker's answer, reported at once (not retried until the
    // request timeout).
    for mechanism in ["plain", "scram-sha-512"] {
        let started = Instant::now();
        let e = cluster_id(with_password("SASL_SSL", mechanism, "wrong-password"))
            .await
            .unwrap_err();
        assert_eq!(e.code(), "SASL_AUTHENTICATION_FAILED", "{mechanism}: {}", e.message);
        assert!(!e.message.contains("wrong-password"), "{}", e.message);
        // The broker answers at once; the bound is far below the request timeout (10 s)
        // yet loose enough for a busy 2-core machine.
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{mechanism}: {:?}",
            started.elapsed()
        );
    }
    // A token the provider knows is expired: the provider is asked again.
    let provider = Arc::new(UnsecuredJws {
        expired_first: 1,
        ..jws(3600)
    });
    let mut c = config("SASL_PLAINTEXT");
    c.sasl = Some(Arc::new(Sasl::oauth_bearer(provider.clone())));
    cluster_id(c).await.unwrap();
    assert_eq!(provider.calls.load(Ordering::Relaxed), 2);
    // An expired token the provider does not know about: the broker's validator refuses
    // it, and says why.
    let mut c = config("SASL_PLAINTEXT");
    c.sasl = Some(Arc::new(Sasl::oauth_bearer(Arc::new(UnsecuredJws {
        hide_expiry: true,
        ..jws(-60)
    }))));
    let e = cluster_id(c).await.unwrap_err();
    assert_eq!(e.code(), "SASL_AUTHENTICATION_FAILED", "{}", e.message);
    assert!(e.message.contains("invalid_token"), "{}", e.message);
    // A failing provider: its message, typed.
    let mut c = config("SASL_PLAINTEXT");
    c.sasl = Some(Arc::new(Sasl::oauth_bearer(Arc::new(Failing))));
    let e = cluster_id(c).await.unwrap_err();
    assert_eq!(e.code(), "OAUTH_TOKEN_PROVIDER_FAILED", "{}", e.message);
    assert!(e.message.contains("the identity provider said no"), "{}", e.message);
    // SASL against a listener without SASL.
    let e = cluster_id(with_password("PLAINTEXT", "plain", password()))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "ILLEGAL_SASL_STATE", "{}", e.message);
    // TLS client on the plaintext port, and the reverse: clear errors before the timeout.
    let mut c = config("PLAINTEXT");
    c.tls = config("SSL").tls;
    let started = Instant::now();
    let e = cluster_id(c).await.unwrap_err();
    assert_eq!(e.code(), "SSL_HANDSHAKE_FAILED", "{}", e.message);
    assert!(e.message.contains("plaintext"), "{}", e.message);
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    let mut c = config("SSL");
    c.tls = None;
    let started = Instant::now();
    let e = cluster_id(c).await.unwrap_err();
    assert!(e.message.contains("TLS listener"), "{}: {}", e.code(), e.message);
    assert!(started.elapsed() < Duration::from_secs(11), "{:?}", started.elapsed());
    // Untrusted CA (Mozilla's roots do not include the test CA) and a wrong name.
    let mut c = config("SSL");
    c.tls = Some(
        Tls::new(&TlsOptions {
            reject_unauthorized: true,
            ..Default::default()
        })
        .unwrap(),
    );
    let e = cluster_id(c).await.unwrap_err();
    assert_eq!(e.code(), "SSL_CERTIFICATE_UNTRUSTED", "{}", e.message);
    let mut c = config("SSL");
    c.tls = Some(
        Tls::new(&TlsOptions {
            ca: Some(secure()["caPem"].as_str().unwrap().as_bytes().to_vec()),
            reject_unauthorized: true,
            servername: Some("not-the-broker.example".into()),
            ..Default::default()
        })
        .unwrap(),
    );
    let e = cluster_id(c).await.unwrap_err();
    assert_eq!(e.code(), "SSL_HOSTNAME_MISMATCH", "{}", e.message);
}

fn mtls(cert: &str, key: &str, passphrase: Option<&str>) -> ClientConfig {
    let mut c = config("PLAINTEXT");
    c.bootstrap_servers = parse_bootstrap(&[listener("MTLS")]).unwrap();
    let client = &secure()["tls"]["client"];
    let pem = |k: &str| {
        client[k]
            .as_str()
            .unwrap_or_else(|| panic!("no tls.client.{k}"))
            .to_string()
    };
    c.tls = Some(
        Tls::new(&TlsOptions {
            ca: Some(secure()["caPem"].as_str().unwrap().as_bytes().to_vec()),
            cert: Some(pem(cert).into_bytes()),
            key: Some(Secret::new(pem(key))),
            passphrase: passphrase.map(|p| Secret::new(p.to_string())),
            reject_unauthorized: true,
            ..Default::default()
        })
        .unwrap(),
    );
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_with_every_key_format() {
    let client = &secure()["tls"]["client"];
    let passphrase = client["passphrase"].as_str().unwrap().to_string();
    for (cert, key, pass) in [
        ("certPem", "keyPkcs8Pem", None),
        ("certPem", "keyPkcs1Pem", None),
        ("ecCertPem", "keySec1Pem", None),
        ("certPem", "keyEncryptedPem", Some(passphrase.as_str())),
    ] {
        cluster_id(mtls(cert, key, pass))
            .await
            .unwrap_or_else(|e| panic!("{key}: {e}"));
    }
    let e = cluster_id(mtls("untrustedCertPem", "untrustedKeyPem", None))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "SSL_HANDSHAKE_FAILED", "{}", e.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mechanism_the_listener_does_not_enable_names_what_it_offers() {
    let mut c = with_password("SASL_SSL", "scram-sha-256", password());
    c.bootstrap_servers = parse_bootstrap(&[listener("REAUTH")]).unwrap();
    let e = cluster_id(c).await.unwrap_err();
    assert_eq!(e.code(), "UNSUPPORTED_SASL_MECHANISM", "{}", e.message);
    for m in ["SCRAM-SHA-256", "PLAIN", "SCRAM-SHA-512", "OAUTHBEARER"] {
        assert!(e.message.contains(m), "{m}: {}", e.message);
    }
}

/// The REAUTH listener ends SASL sessions after 3 s: a pipelined producer keeps writing
/// through several re-authentications with SCRAM and with OAUTHBEARER, and every record
/// lands once, in order (contiguous offsets per partition in produce order).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn re_authenticates_live_connections_without_losing_or_reordering() {
    use nkafka_client::config::{Acks, ProducerConfig};
    use nkafka_client::producer::{Producer, Record};

    let provider = Arc::new(jws(3600));
    for oauth in [false, true] {
        let mut client = with_password("SASL_SSL", "scram-sha-512", password());
        client.bootstrap_servers = parse_bootstrap(&[listener("REAUTH")]).unwrap();
        if oauth {
            client.sasl = Some(Arc::new(Sasl::oauth_bearer(provider.clone())));
        }
        let topic = common::unique_topic("rust-reauth");
        common::create_topic_on(client.clone(), &topic, 1).await;
        let mut cfg = ProducerConfig::new(client);
        cfg.acks = Acks::All;
        cfg.linger = Duration::from_millis(1);
        cfg.batch_size = 2048;
        let reports = Arc::new(std::sync::Mutex::new(Vec::new()));
        let slot: Arc<std::sync::Mutex<Option<std::sync::Weak<Producer>>>> = Arc::default();
        let (s2, r2) = (slot.clone(), reports.clone());
        let p = Arc::new(
            Producer::new(
                cfg,
                Box::new(move || {
                    if let Some(p) = s2.lock().unwrap().as_ref().and_then(|w| w.upgrade()) {
                        r2.lock().unwrap().extend(p.take_reports());
                    }
                }),
            )
            .unwrap(),
        );
        *slot.lock().unwrap() = Some(Arc::downgrade(&p));
        let id = p.topic_id(&topic).unwrap();
        let until = Instant::now() + Duration::from_secs(8);
        let mut n = 0usize;
        while Instant::now() < until {
            for _ in 0..50 {
                let value = n.to_string();
                p.produce(
                    id,
                    &Record {
                        key: None,
                        value: Some(value.as_bytes()),
                        headers: &[],
                        timestamp: 0,
                        partition: None,
                        token: 0.0,
                    },
                )
                .unwrap();
                n += 1;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        p.flush(Duration::from_secs(30)).await.unwrap();
        let stats = p.stats();
        p.close(Duration::from_secs(10)).await.unwrap();
        let mut batches: Vec<(i64, i32)> = Vec::new();
        for r in reports.lock().unwrap().iter() {
            assert!(r.error.is_none(), "oauth={oauth}: {:?}", r.error);
            batches.push((r.base_offset, r.count));
        }
        batches.sort();
        let mut next = 0;
        for (base, count) in &batches {
            assert_eq!(*base, next, "oauth={oauth}: offsets are contiguous");
            next += *count as i64;
        }
        assert_eq!(next as usize, n, "oauth={oauth}");
        // Two connections at least (control, produce), 8 s of 3 s sessions each.
        assert!(stats.reauthentications >= 2, "oauth={oauth}: {stats:?}");
        assert!(stats.max_in_flight > 1, "oauth={oauth}: pipelined: {stats:?}");
    }
    assert!(
        provider.calls.load(Ordering::Relaxed) >= 3,
        "the provider is asked again at each re-authentication"
    );
}
