//! Security of broker connections: TLS (`tls.rs`), SASL authentication (`sasl.rs`: the
//! SaslHandshake/SaslAuthenticate exchange, PLAIN, OAUTHBEARER) and SCRAM (`scram.rs`).
//!
//! Secrets (passwords, tokens, private keys) live in [`Secret`], whose `Debug` prints
//! `***`, so no config dump, error or log line can show one by accident.

pub mod sasl;
pub mod scram;
pub mod tls;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::error::{Error, Result};
use scram::{SaltedCache, ScramHash};

/// A password, token or private key: shown as `***` by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<Arc<str>>) -> Self {
        Secret(value.into())
    }

    /// The value itself; only code that must send or parse it calls this.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// A token from the user's OAUTHBEARER provider.
#[derive(Clone, Debug)]
pub struct OAuthToken {
    /// The token (a JWT for most providers).
    pub value: Secret,
    /// When it expires, in milliseconds since the epoch (librdkafka's `lifetimeMs`), if
    /// the provider says. Only informational: the broker's `session_lifetime_ms` decides
    /// when a connection re-authenticates.
    pub lifetime_ms: Option<i64>,
    /// Principal name, for messages.
    pub principal: Option<String>,
    /// SASL extensions (RFC 7628 section 3.1), e.g. Confluent Cloud's
    /// `logicalCluster` and `identityPoolId`.
    pub extensions: Vec<(String, String)>,
}

impl OAuthToken {
    /// True when the provider's `lifetime_ms` is already past.
    pub fn is_expired(&self) -> bool {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        self.lifetime_ms.is_some_and(|t| t <= now)
    }
}

/// A future returned by [`TokenProvider::token`].
pub type TokenFuture = Pin<Box<dyn Future<Output = std::result::Result<OAuthToken, String>> + Send>>;

/// Supplies OAUTHBEARER tokens. Called for every authentication, on new connections and
/// on re-authentication (KIP-368), so a provider that fetches tokens over the network
/// should cache them itself until shortly before they expire (as
/// aws-msk-iam-sasl-signer-js's callers and Confluent's token endpoints expect).
pub trait TokenProvider: Send + Sync {
    /// A fresh or still-valid token; `Err` carries the provider's message.
    fn token(&self) -> TokenFuture;
}

/// The SASL mechanism and its credentials.
pub enum Sasl {
    /// PLAIN (RFC 4616): the password travels as is, so only over TLS in production.
    Plain {
        /// Username.
        username: String,
        /// Password.
        password: Secret,
    },
    /// SCRAM-SHA-256 or SCRAM-SHA-512.
    Scram {
        /// Which hash.
        hash: ScramHash,
        /// Username.
        username: String,
        /// Password.
        password: Secret,
        /// The last salted password, so reconnecting skips PBKDF2.
        cache: Mutex<Option<SaltedCache>>,
    },
    /// OAUTHBEARER (KIP-255) with tokens from a provider.
    OAuthBearer {
        /// Where tokens come from.
        provider: Arc<dyn TokenProvider>,
    },
}

impl std::fmt::Debug for Sasl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Sasl::Plain { username, .. } => f
                .debug_struct("Sasl")
                .field("mechanism", &"PLAIN")
                .field("username", username)
                .field("password", &"***")
                .finish(),
            Sasl::Scram { hash, username, .. } => f
                .debug_struct("Sasl")
                .field("mechanism", &hash.mechanism())
                .field("username", username)
                .field("password", &"***")
                .finish(),
            Sasl::OAuthBearer { .. } => f.debug_struct("Sasl").field("mechanism", &"OAUTHBEARER").finish(),
        }
    }
}

impl Sasl {
    /// PLAIN or SCRAM from the user's `mechanism` (case-insensitive: 'plain',
    /// 'scram-sha-256', 'scram-sha-512'); errors name the `sasl.*` key.
    pub fn with_password(mechanism: &str, username: &str, password: &str) -> Result<Sasl> {
        let mech = mechanism.to_ascii_uppercase();
        if mech == "OAUTHBEARER" {
            return Err(Error::config(
                "sasl.oauthBearerProvider",
                "is missing: mechanism 'oauthbearer' takes a token provider, not a username and password",
            ));
        }
        let hash = match mech.as_str() {
            "PLAIN" => None,
            "SCRAM-SHA-256" => Some(ScramHash::Sha256),
            "SCRAM-SHA-512" => Some(ScramHash::Sha512),
            _ => {
                return Err(Error::config(
                    "sasl.mechanism",
                    format!("`{mechanism}` is not supported; expected 'plain', 'scram-sha-256', 'scram-sha-512' or 'oauthbearer'"),
                ))
            }
        };
        if username.is_empty() {
            return Err(Error::config("sasl.username", "is empty"));
        }
        if password.is_empty() {
            return Err(Error::config("sasl.password", "is empty"));
        }
        if username.contains('\0') {
            return Err(Error::config("sasl.username", "contains a NUL character"));
        }
        if password.contains('\0') && hash.is_none() {
            return Err(Error::config(
                "sasl.password",
                "contains a NUL character, which PLAIN cannot carry",
            ));
        }
        let password = Secret::new(password);
        Ok(match hash {
            None => Sasl::Plain {
                username: username.to_string(),
                password,
            },
            Some(hash) => Sasl::Scram {
                hash,
                username: username.to_string(),
                password,
                cache: Mutex::new(None),
            },
        })
    }

    /// OAUTHBEARER with a token provider.
    pub fn oauth_bearer(provider: Arc<dyn TokenProvider>) -> Sasl {
        Sasl::OAuthBearer { provider }
    }

    /// The mechanism name sent in SaslHandshake.
    pub fn mechanism(&self) -> &'static str {
        match self {
            Sasl::Plain { .. } => "PLAIN",
            Sasl::Scram { hash, .. } => hash.mechanism(),
            Sasl::OAuthBearer { .. } => "OAUTHBEARER",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Sasl::with_password("scram-sha-512", "alice", "hunter2").unwrap();
        let shown = format!("{s:?} {:?}", Secret::new("hunter2"));
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("alice") && shown.contains("SCRAM-SHA-512"), "{shown}");
    }

    #[test]
    fn bad_sasl_settings_name_the_key() {
        let e = Sasl::with_password("gssapi", "a", "b").unwrap_err();
        assert_eq!(e.code(), "INVALID_CONFIG");
        assert!(
            e.message.contains("sasl.mechanism") && e.message.contains("gssapi"),
            "{}",
            e.message
        );
        assert!(Sasl::with_password("plain", "", "b")
            .unwrap_err()
            .message
            .contains("sasl.username"));
        assert!(Sasl::with_password("PLAIN", "a", "")
            .unwrap_err()
            .message
            .contains("sasl.password"));
        assert!(Sasl::with_password("oauthbearer", "a", "b")
            .unwrap_err()
            .message
            .contains("sasl.oauthBearerProvider"));
        assert_eq!(
            Sasl::with_password("Scram-Sha-256", "a", "b").unwrap().mechanism(),
            "SCRAM-SHA-256"
        );
    }
}
