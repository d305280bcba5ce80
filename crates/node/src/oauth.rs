//! The OAUTHBEARER token provider: the user's JS function, called from the client's tokio
//! threads through a threadsafe function. The TS layer wraps the user's provider so it
//! always returns a Promise that resolves to data (`{ value, ... }` or `{ error }`); a
//! throw, a rejection or a bad shape never crosses the boundary as a JS exception.
//!
//! The threadsafe function is weak (unreferenced): it never keeps the Node event loop
//! alive on its own, so a process can exit once its clients are closed. When the JS
//! environment is gone, calls fail with an error instead of reaching JS.

use std::collections::HashMap;
use std::sync::Arc;

use napi::bindgen_prelude::Promise;
use napi::threadsafe_function::ThreadsafeFunction;
use napi::Status;
use napi_derive::napi;
use nkafka_client::security::{OAuthToken, Secret, TokenFuture, TokenProvider};

/// What the TS wrapper of the provider resolves with: a token, or `error` with the
/// provider's message (never the token).
#[napi(object, object_to_js = false)]
pub struct BindingOAuthResult {
    /// The token; set unless `error` is.
    pub value: Option<String>,
    /// When the token expires, in ms since the epoch.
    pub lifetime_ms: Option<f64>,
    /// Principal name, for messages.
    pub principal: Option<String>,
    /// SASL extensions (RFC 7628); sent in key order.
    pub extensions: Option<HashMap<String, String>>,
    /// Why the provider gave no token.
    pub error: Option<String>,
}

/// The provider as a threadsafe function: no arguments, returns a Promise of the result,
/// not callee-handled (no error-first argument), weak (does not keep the loop alive).
pub type OAuthTsfn = ThreadsafeFunction<(), Promise<BindingOAuthResult>, (), Status, false, true>;

/// [`TokenProvider`] over the JS provider.
pub struct JsTokenProvider {
    tsfn: Arc<OAuthTsfn>,
}

impl JsTokenProvider {
    /// Wraps the threadsafe function made from `sasl.oauthBearerProvider`.
    pub fn new(tsfn: OAuthTsfn) -> Self {
        JsTokenProvider { tsfn: Arc::new(tsfn) }
    }
}

impl TokenProvider for JsTokenProvider {
    fn token(&self) -> TokenFuture {
        let tsfn = self.tsfn.clone();
        Box::pin(async move {
            // `call_async_catch`, not `call_async`: a JS throw comes back as `Err` instead of
            // reaching `napi_fatal_exception` (the TS wrapper does not throw, but a bug there
            // must not kill the process). After the environment is torn down the call
            // returns `Closing`.
            let promise = tsfn.call_async_catch(()).await.map_err(|e| match e.status {
                Status::Closing => "the JavaScript environment is shutting down".to_string(),
                _ => format!("it threw: {}", e.reason),
            })?;
            // A rejection (the wrapper never rejects, see above) arrives as `Err`, and so does
            // an environment that went away before the promise settled.
            let r = promise.await.map_err(|e| format!("it rejected: {}", e.reason))?;
            to_token(r)
        })
    }
}

fn to_token(r: BindingOAuthResult) -> Result<OAuthToken, String> {
    if let Some(error) = r.error {
        return Err(error);
    }
    let Some(value) = r.value else {
        return Err("it returned no `value`".to_string());
    };
    let lifetime_ms = match r.lifetime_ms {
        None => None,
        Some(v) if v.is_finite() => Some(v as i64),
        Some(_) => return Err("it returned a `lifetimeMs` that is not a finite number".to_string()),
    };
    let mut extensions: Vec<(String, String)> = r.extensions.unwrap_or_default().into_iter().collect();
    extensions.sort();
    Ok(OAuthToken {
        value: Secret::new(value),
        lifetime_ms,
        principal: r.principal,
        extensions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(value: Option<&str>, error: Option<&str>) -> BindingOAuthResult {
        BindingOAuthResult {
            value: value.map(str::to_string),
            lifetime_ms: Some(1.5e12),
            principal: Some("p".into()),
            extensions: Some(HashMap::from([("b".into(), "2".into()), ("a".into(), "1".into())])),
            error: error.map(str::to_string),
        }
    }

    #[test]
    fn results_become_tokens_or_messages() {
        let t = to_token(result(Some("tok"), None)).unwrap();
        assert_eq!(t.value.expose(), "tok");
        assert_eq!(t.lifetime_ms, Some(1_500_000_000_000));
        assert_eq!(t.extensions, vec![("a".into(), "1".into()), ("b".into(), "2".into())]);
        assert_eq!(to_token(result(Some("tok"), Some("idp down"))).unwrap_err(), "idp down");
        assert!(to_token(result(None, None)).unwrap_err().contains("value"));
        let mut r = result(Some("tok"), None);
        r.lifetime_ms = Some(f64::NAN);
        assert!(to_token(r).unwrap_err().contains("lifetimeMs"));
    }
}
