//! SCRAM-SHA-256 / SCRAM-SHA-512 client (RFC 5802, RFC 7677), as Kafka brokers speak it:
//! no channel binding (`n,,`), no SASLprep of the password (Kafka's ScramFormatter uses
//! the UTF-8 bytes as they are), usernames escaped (`=` -> `=3D`, `,` -> `=2C`).
//!
//! Pure: the caller moves the messages. The server's signature in its final message is
//! verified, so a man in the middle that does not know the password cannot pretend the
//! login worked.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};

/// Kafka refuses fewer (ScramMechanism's minimum); a server asking for fewer is either
/// broken or trying to make the password cheap to brute-force.
pub(crate) const MIN_ITERATIONS: u32 = 4096;
/// Upper bound we are willing to spend: Kafka's own maximum.
pub(crate) const MAX_ITERATIONS: u32 = 16384;

/// The hash of a SCRAM mechanism.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScramHash {
    /// SCRAM-SHA-256.
    Sha256,
    /// SCRAM-SHA-512.
    Sha512,
}

impl ScramHash {
    /// The SASL mechanism name.
    pub fn mechanism(self) -> &'static str {
        match self {
            ScramHash::Sha256 => "SCRAM-SHA-256",
            ScramHash::Sha512 => "SCRAM-SHA-512",
        }
    }

    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha256 => {
                let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
                m.update(data);
                m.finalize().into_bytes().to_vec()
            }
            ScramHash::Sha512 => {
                let mut m = Hmac::<Sha512>::new_from_slice(key).expect("HMAC takes any key length");
                m.update(data);
                m.finalize().into_bytes().to_vec()
            }
        }
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha256 => Sha256::digest(data).to_vec(),
            ScramHash::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    /// Hi() of RFC 5802: PBKDF2 with this hash's HMAC.
    pub fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        match self {
            ScramHash::Sha256 => {
                let mut out = vec![0u8; 32];
                pbkdf2::pbkdf2::<Hmac<Sha256>>(password, salt, iterations, &mut out).expect("any output length");
                out
            }
            ScramHash::Sha512 => {
                let mut out = vec![0u8; 64];
                pbkdf2::pbkdf2::<Hmac<Sha512>>(password, salt, iterations, &mut out).expect("any output length");
                out
            }
        }
    }
}

/// Why a SCRAM exchange failed on the client side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScramError(pub String);

impl std::fmt::Display for ScramError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn err(msg: impl Into<String>) -> ScramError {
    ScramError(msg.into())
}

/// Escapes a username for `n=` (RFC 5802 section 5.1).
fn escape_username(name: &str) -> String {
    name.replace('=', "=3D").replace(',', "=2C")
}

/// A salted password computed for one (salt, iteration count), so that reconnecting with
/// the same credentials does not pay PBKDF2 again.
#[derive(Clone, Debug)]
pub struct SaltedCache {
    /// Salt the server sent.
    pub salt: Vec<u8>,
    /// Iterations the server asked for.
    pub iterations: u32,
    /// Hi(password, salt, iterations).
    pub salted: Vec<u8>,
}

/// One SCRAM exchange: `client_first`, then `client_final` with the server's first
/// message, then `verify_server_final`.
pub struct ScramClient {
    hash: ScramHash,
    nonce: String,
    client_first_bare: String,
    expected_server_signature: Option<Vec<u8>>,
}

impl ScramClient {
    /// Starts an exchange with a fresh nonce (at least 18 bytes of entropy, RFC 5802).
    pub fn new(hash: ScramHash, username: &str, nonce: String) -> Self {
        let client_first_bare = format!("n={},r={}", escape_username(username), nonce);
        ScramClient {
            hash,
            nonce,
            client_first_bare,
            expected_server_signature: None,
        }
    }

    /// A nonce from the operating system's CSPRNG.
    pub fn random_nonce() -> Result<String, ScramError> {
        let mut raw = [0u8; 24];
        getrandom::fill(&mut raw).map_err(|e| err(format!("no random bytes for the SCRAM nonce: {e}")))?;
        // URL-safe base64 without padding: printable and never a ','.
        Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw))
    }

    /// `n,,n=<user>,r=<nonce>`.
    pub fn client_first(&self) -> Vec<u8> {
        format!("n,,{}", self.client_first_bare).into_bytes()
    }

    /// Answers the server's first message with the client proof. `cache` holds a salted
    /// password from an earlier exchange; it is replaced when the salt or count differ.
    pub fn client_final(
        &mut self,
        server_first: &[u8],
        password: &str,
        cache: &mut Option<SaltedCache>,
    ) -> Result<Vec<u8>, ScramError> {
        let server_first =
            std::str::from_utf8(server_first).map_err(|_| err("the server's first message is not UTF-8"))?;
        let mut nonce = None;
        let mut salt = None;
        let mut iterations = None;
        for attr in server_first.split(',') {
            match attr.split_once('=') {
                Some(("r", v)) => nonce = Some(v),
                Some(("s", v)) => salt = Some(v),
                Some(("i", v)) => iterations = Some(v),
                Some(("e", v)) => return Err(err(format!("the server refused: {v}"))),
                Some(("m", _)) => return Err(err("the server asks for a SCRAM extension this client does not know")),
                _ => {}
            }
        }
        let nonce = nonce.ok_or_else(|| err("the server's first message has no nonce"))?;
        if !nonce.starts_with(&self.nonce) || nonce.len() == self.nonce.len() {
            return Err(err("the server's nonce does not extend the client's"));
        }
        let salt = B64
            .decode(salt.ok_or_else(|| err("the server's first message has no salt"))?)
            .map_err(|_| err("the server's salt is not base64"))?;
        let iterations: u32 = iterations
            .ok_or_else(|| err("the server's first message has no iteration count"))?
            .parse()
            .map_err(|_| err("the server's iteration count is not a number"))?;
        if !(MIN_ITERATIONS..=MAX_ITERATIONS).contains(&iterations) {
            return Err(err(format!(
                "the server asks for {iterations} iterations; Kafka uses {MIN_ITERATIONS} to {MAX_ITERATIONS}"
            )));
        }

        let salted = match cache {
            Some(c) if c.salt == salt && c.iterations == iterations => c.salted.clone(),
            _ => {
                let s = self.hash.salted_password(password.as_bytes(), &salt, iterations);
                *cache = Some(SaltedCache {
                    salt,
                    iterations,
                    salted: s.clone(),
                });
                s
            }
        };
        let client_key = self.hash.hmac(&salted, b"Client Key");
        let stored_key = self.hash.hash(&client_key);
        // "biws" is base64("n,,"): no channel binding.
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{},{}", self.client_first_bare, server_first, without_proof);
        let signature = self.hash.hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key.iter().zip(&signature).map(|(a, b)| a ^ b).collect();
        let server_key = self.hash.hmac(&salted, b"Server Key");
        self.expected_server_signature = Some(self.hash.hmac(&server_key, auth_message.as_bytes()));
        Ok(format!("{without_proof},p={}", B64.encode(proof)).into_bytes())
    }

    /// Checks `v=<server signature>`: proof that the server knows the password too.
    pub fn verify_server_final(&self, server_final: &[u8]) -> Result<(), ScramError> {
        let msg = std::str::from_utf8(server_final).map_err(|_| err("the server's final message is not UTF-8"))?;
        let expected = self
            .expected_server_signature
            .as_ref()
            .ok_or_else(|| err("server-final before client-final"))?;
        for attr in msg.split(',') {
            match attr.split_once('=') {
                Some(("e", v)) => return Err(err(format!("the server refused: {v}"))),
                Some(("v", v)) => {
                    let got = B64.decode(v).map_err(|_| err("the server signature is not base64"))?;
                    return if constant_time_eq(&got, expected) {
                        Ok(())
                    } else {
                        Err(err(
                            "the server's signature is wrong: it does not know this user's password (a man in the middle?)",
                        ))
                    };
                }
                _ => {}
            }
        }
        Err(err("the server's final message has no signature"))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    // The SCRAM-SHA-256 example exchange of RFC 7677, section 3.
    #[test]
    fn rfc7677_example() {
        let mut c = ScramClient::new(ScramHash::Sha256, "user", "rOprNGfwEbeRWgbNEkqO".into());
        assert_eq!(c.client_first(), b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let server_first = b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        let mut cache = None;
        let fin = c.client_final(server_first, "pencil", &mut cache).unwrap();
        assert_eq!(
            std::str::from_utf8(&fin).unwrap(),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        c.verify_server_final(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap();
        let e = c
            .verify_server_final(b"v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap_err();
        assert!(e.0.contains("signature is wrong"), "{e}");
        // A second exchange with the same salt reuses the salted password.
        assert_eq!(cache.as_ref().unwrap().iterations, 4096);
        let mut c2 = ScramClient::new(ScramHash::Sha256, "user", "rOprNGfwEbeRWgbNEkqO".into());
        let fin2 = c2.client_final(server_first, "pencil", &mut cache).unwrap();
        assert_eq!(fin, fin2);
    }

    #[test]
    fn usernames_are_escaped() {
        let c = ScramClient::new(ScramHash::Sha512, "a=b,c", "n".into());
        assert_eq!(c.client_first(), b"n,,n=a=3Db=2Cc,r=n");
    }

    #[test]
    fn hostile_server_first_messages_are_refused() {
        let mut cache = None;
        let mut c = ScramClient::new(ScramHash::Sha512, "u", "abc".into());
        for (msg, want) in [
            (&b"r=xyz,s=AAAA,i=4096"[..], "does not extend"),
            (b"r=abc,s=AAAA,i=4096", "does not extend"),
            (b"r=abcd,s=AAAA,i=1", "iterations"),
            (b"r=abcd,s=AAAA,i=99999999", "iterations"),
            (b"r=abcd,s=!!,i=4096", "salt"),
            (b"r=abcd,i=4096", "no salt"),
            (b"e=invalid-proof", "refused"),
            (b"\xff", "UTF-8"),
        ] {
            let e = c.client_final(msg, "p", &mut cache).unwrap_err();
            assert!(e.0.contains(want), "{:?}: {e}", String::from_utf8_lossy(msg));
        }
        assert!(c.verify_server_final(b"v=AAAA").is_err(), "no client-final yet");
    }

    #[test]
    fn nonces_are_random_and_printable() {
        let a = ScramClient::random_nonce().unwrap();
        let b = ScramClient::random_nonce().unwrap();
        assert_ne!(a, b);
        assert!(a.len() >= 24 && !a.contains(',') && a.is_ascii());
    }
}
