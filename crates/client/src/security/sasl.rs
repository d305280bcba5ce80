//! SASL authentication of one connection: SaslHandshake v1 names the mechanism, then
//! SaslAuthenticate (v0-v2) carries the mechanism's messages as ordinary Kafka requests.
//! Runs right after ApiVersions on every new connection, and again on a live connection
//! when the broker's `session_lifetime_ms` runs out (KIP-368, see `conn.rs`).
//!
//! Mechanisms: PLAIN (RFC 4616), SCRAM-SHA-256/512 (`scram.rs`), OAUTHBEARER (RFC 7628
//! client response, KIP-255) with tokens from the user's provider.

use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::{
    ApiKey, SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::protocol::StrBytes;
use nkafka_protocol::error::ErrorCode;

use super::scram::ScramClient;
use super::{OAuthToken, Sasl};
use crate::conn::Connection;
use crate::error::{Error, Kind, Result};

/// What a successful authentication tells the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Session {
    /// The broker's `session_lifetime_ms` (SaslAuthenticate v1+): re-authenticate before
    /// it ends. `None` when the broker sets no limit (`connections.max.reauth.ms` = 0).
    pub lifetime: Option<Duration>,
}

/// Authenticates `conn` with `sasl`; every request is bounded by `timeout`, and so is the
/// token provider.
pub async fn authenticate(conn: &Connection, sasl: &Sasl, timeout: Duration) -> Result<Session> {
    let broker = conn.name().clone();
    handshake(conn, sasl, timeout).await?;
    let version = conn
        .versions()
        .pick_for::<SaslAuthenticateRequest>(ApiKey::SaslAuthenticate)
        .map_err(|_| {
            Error::new(
                Kind::UnsupportedVersion,
                format!("{broker} does not support SaslAuthenticate (Kafka 1.0 or newer is needed for SASL)"),
            )
            .with_broker(&broker)
        })?;
    let exchange = Exchange { conn, version, timeout };
    match sasl {
        Sasl::Plain { username, password } => {
            let mut msg = Vec::with_capacity(username.len() + password.expose().len() + 2);
            msg.push(0);
            msg.extend_from_slice(username.as_bytes());
            msg.push(0);
            msg.extend_from_slice(password.expose().as_bytes());
            let (_, session) = exchange.step(msg).await?;
            Ok(session)
        }
        Sasl::Scram {
            hash,
            username,
            password,
            cache,
        } => {
            let nonce = ScramClient::random_nonce().map_err(|e| scram_error(&broker, hash.mechanism(), e))?;
            let mut scram = ScramClient::new(*hash, username, nonce);
            let (server_first, _) = exchange.step(scram.client_first()).await?;
            // PBKDF2 takes milliseconds: a clone of the cache keeps the lock short and off
            // the await points.
            let mut salted = cache.lock().clone();
            let client_final = scram
                .client_final(&server_first, password.expose(), &mut salted)
                .map_err(|e| scram_error(&broker, hash.mechanism(), e))?;
            *cache.lock() = salted;
            let (server_final, session) = exchange.step(client_final).await?;
            scram
                .verify_server_final(&server_final)
                .map_err(|e| scram_error(&broker, hash.mechanism(), e))?;
            Ok(session)
        }
        Sasl::OAuthBearer { provider } => {
            let mut token = fetch_token(provider.as_ref(), timeout).await?;
            if token.is_expired() {
                // A provider that cached a token past its lifetime: ask once more rather
                // than send what the broker will refuse.
                token = fetch_token(provider.as_ref(), timeout).await?;
                if token.is_expired() {
                    return Err(Error::new(
                        Kind::TokenProvider,
                        "sasl.oauthBearerProvider returned an expired token twice (its lifetimeMs is in the past)",
                    ));
                }
            }
            let msg = oauth_client_response(&token)?;
            let (challenge, session) = exchange.step(msg).await?;
            if challenge.is_empty() {
                return Ok(session);
            }
            // RFC 7628 3.2.2: a refused token comes back as a JSON error challenge with
            // no error code yet; the client answers with a lone %x01, and the broker then
            // fails the exchange. Keep the JSON (e.g. {"status":"invalid_token"}) for the
            // message: it says why.
            let why = String::from_utf8_lossy(&challenge).into_owned();
            let e = match exchange.step(vec![0x01]).await {
                Err(e) => e,
                Ok(_) => Error::new(
                    Kind::Broker(ErrorCode::SASL_AUTHENTICATION_FAILED),
                    format!("SASL_AUTHENTICATION_FAILED: {broker}"),
                )
                .with_broker(&broker),
            };
            Err(Error {
                message: format!("{} (broker: {why})", e.message),
                ..e
            })
        }
    }
}

async fn fetch_token(provider: &dyn super::TokenProvider, timeout: Duration) -> Result<OAuthToken> {
    // A little inside the setup timeout (requestTimeoutMs): a call whose whole budget is
    // requestTimeoutMs (an admin call, a metadata refresh) then fails with the provider as
    // its cause, not with a generic "no broker reachable" that races it to the same instant.
    let timeout = timeout.saturating_sub((timeout / 10).min(Duration::from_secs(1)));
    tokio::time::timeout(timeout, provider.token())
        .await
        .map_err(|_| {
            Error::new(
                Kind::TokenProvider,
                format!(
                    "sasl.oauthBearerProvider gave no token within {} ms",
                    timeout.as_millis()
                ),
            )
        })?
        .map_err(|why| Error::new(Kind::TokenProvider, format!("sasl.oauthBearerProvider failed: {why}")))
}

async fn handshake(conn: &Connection, sasl: &Sasl, timeout: Duration) -> Result<()> {
    let broker = conn.name().clone();
    // v0 means raw SASL tokens outside Kafka framing (Kafka 0.10); v1 (Kafka 1.0+) is
    // what every broker since speaks, so only v1 is offered.
    if conn.versions().pick(ApiKey::SaslHandshake as i16, 1, 1).is_none() {
        return Err(Error::new(
            Kind::UnsupportedVersion,
            format!("{broker} does not support SaslHandshake v1 (Kafka 1.0 or newer is needed for SASL)"),
        )
        .with_broker(&broker));
    }
    let req = SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str(sasl.mechanism()));
    let resp: SaslHandshakeResponse = conn.call_unguarded(ApiKey::SaslHandshake, &req, 1, timeout).await?;
    let offered: Vec<&str> = resp.mechanisms.iter().map(|m| m.as_str()).collect();
    match ErrorCode(resp.error_code) {
        ErrorCode::NONE => Ok(()),
        ErrorCode::UNSUPPORTED_SASL_MECHANISM => Err(Error::new(
            Kind::Broker(ErrorCode::UNSUPPORTED_SASL_MECHANISM),
            format!(
                "UNSUPPORTED_SASL_MECHANISM: {broker} does not enable {} on this listener; it offers {}",
                sasl.mechanism(),
                if offered.is_empty() { "none".to_string() } else { offered.join(", ") }
            ),
        )
        .with_broker(&broker)),
        ErrorCode::ILLEGAL_SASL_STATE => Err(Error::new(
            Kind::Broker(ErrorCode::ILLEGAL_SASL_STATE),
            format!(
                "ILLEGAL_SASL_STATE: {broker} refused SASL: this listener does not use SASL (drop `sasl`, or use the broker's SASL port)"
            ),
        )
        .with_broker(&broker)),
        code => Err(Error::broker(code, None).with_broker(&broker)),
    }
}

struct Exchange<'a> {
    conn: &'a Connection,
    version: i16,
    timeout: Duration,
}

impl Exchange<'_> {
    /// Sends one client message and returns the server's answer and the session lifetime.
    async fn step(&self, msg: Vec<u8>) -> Result<(Bytes, Session)> {
        let broker = self.conn.name();
        let req = SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(msg));
        let resp: SaslAuthenticateResponse = self
            .conn
            .call_unguarded(ApiKey::SaslAuthenticate, &req, self.version, self.timeout)
            .await?;
        let code = ErrorCode(resp.error_code);
        if !code.is_ok() {
            let detail = resp
                .error_message
                .as_deref()
                .filter(|m| !m.is_empty())
                .unwrap_or(code.description());
            return Err(
                Error::new(Kind::Broker(code), format!("{}: {broker}: {detail}", code.name())).with_broker(broker),
            );
        }
        let lifetime = (resp.session_lifetime_ms > 0).then(|| Duration::from_millis(resp.session_lifetime_ms as u64));
        Ok((resp.auth_bytes, Session { lifetime }))
    }
}

fn scram_error(broker: &str, mechanism: &str, e: super::scram::ScramError) -> Error {
    Error::new(
        Kind::Broker(ErrorCode::SASL_AUTHENTICATION_FAILED),
        format!("SASL_AUTHENTICATION_FAILED: {mechanism} with {broker}: {e}"),
    )
    .with_broker(broker)
}

/// The OAUTHBEARER initial client response (RFC 7628 section 3.1):
/// `n,,\x01auth=Bearer <token>\x01[key=value\x01]...\x01`.
pub fn oauth_client_response(token: &OAuthToken) -> Result<Vec<u8>> {
    let value = token.value.expose();
    let bad = |why: String| Error::new(Kind::TokenProvider, format!("sasl.oauthBearerProvider returned {why}"));
    if value.is_empty() {
        return Err(bad("an empty token".into()));
    }
    // RFC 6750 b64token characters; anything else would corrupt the framing.
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b))
    {
        return Err(bad(
            "a token with characters a bearer token cannot hold (RFC 6750 b64token)".into(),
        ));
    }
    let mut out = format!("n,,\x01auth=Bearer {value}");
    for (k, v) in &token.extensions {
        // RFC 7628: key = 1*(ALPHA), value = *(VCHAR / SP / HTAB / CR / LF); "auth" is reserved.
        if k.is_empty() || !k.bytes().all(|b| b.is_ascii_alphabetic()) || k == "auth" {
            return Err(bad(format!(
                "extension name `{k}`; names are letters only and not `auth`"
            )));
        }
        if !v.bytes().all(|b| (0x21..=0x7e).contains(&b) || b" \t\r\n".contains(&b)) {
            return Err(bad(format!(
                "a value of extension `{k}` with characters RFC 7628 does not allow"
            )));
        }
        out.push('\x01');
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out.push_str("\x01\x01");
    Ok(out.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::Secret;

    fn token(value: &str, ext: &[(&str, &str)]) -> OAuthToken {
        OAuthToken {
            value: Secret::new(value),
            lifetime_ms: None,
            principal: None,
            extensions: ext.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }

    #[test]
    fn oauth_response_is_rfc_7628_framed() {
        let got = oauth_client_response(&token(
            "abc.def.",
            &[("logicalCluster", "lkc-1"), ("identityPoolId", "pool-2")],
        ))
        .unwrap();
        assert_eq!(
            got,
            b"n,,\x01auth=Bearer abc.def.\x01logicalCluster=lkc-1\x01identityPoolId=pool-2\x01\x01"
        );
        assert_eq!(
            oauth_client_response(&token("t", &[])).unwrap(),
            b"n,,\x01auth=Bearer t\x01\x01"
        );
    }

    #[test]
    fn oauth_response_rejects_what_would_break_framing() {
        for (value, ext) in [
            ("", vec![]),
            ("a b", vec![]),
            ("a\x01b", vec![]),
            ("ok", vec![("auth", "x")]),
            ("ok", vec![("bad-key", "x")]),
            ("ok", vec![("k", "a\x01b")]),
        ] {
            let e = oauth_client_response(&token(value, &ext)).unwrap_err();
            assert_eq!(e.code(), "OAUTH_TOKEN_PROVIDER_FAILED", "{value:?} {ext:?}");
            assert!(!e.message.contains("a\x01b"), "{}", e.message);
        }
    }
}
