//! One broker connection: a writer task and a reader task own the two halves of the
//! socket; callers hand requests over a bounded channel and get their response through a
//! oneshot, in order. Up to `max_in_flight` requests are pipelined.
//!
//! Any I/O error, framing error, out-of-step correlation id or request timeout poisons the
//! connection: every waiter gets a retriable error, both tasks stop, and the next user
//! builds a new connection (see `cluster.rs`). Responses are strictly ordered on a Kafka
//! connection, so a single timed-out request leaves no way to resynchronise.
//! Setup, within `requestTimeoutMs`: TCP connect, the TLS handshake (`ssl`), ApiVersions,
//! then SASL (`sasl`) before any other request. When the broker limits the SASL session
//! (`session_lifetime_ms`, KIP-368), a task re-authenticates the live connection before it
//! expires: it closes the connection's gate (an async RwLock every sender holds for
//! reading while it queues a request), so nothing else is queued between SaslHandshake and
//! the final SaslAuthenticate, as the broker requires. Requests already queued or in flight
//! are not touched: their responses arrive in order before the re-authentication's, so
//! no batch is dropped or reordered.
//!
//! Model: franz-go `pkg/kgo/broker.go`, rskafka `src/messenger.rs`.

use std::collections::VecDeque;
use std::future::Future;
use std::io::IoSlice;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse};
use kafka_protocol::protocol::{Message, StrBytes};
use nkafka_protocol::error::ErrorCode;
use nkafka_protocol::frame::{self, Frame};
use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::config::{ClientConfig, HostPort};
use crate::error::{Error, Kind, Result, TlsFailure};
use crate::security::sasl;
use crate::security::tls::Tls;
use crate::security::Sasl;
use crate::task;

/// Largest response frame we accept. Fetch responses are bounded by `fetchMaxBytes`
/// (default 50 MiB); anything far beyond that means the peer is not a Kafka broker
/// (an HTTP server's "HTTP" reads as a 1.2 GB length).
const MAX_RESPONSE: usize = 256 * 1024 * 1024;

/// Broker API version ranges learned from ApiVersions.
#[derive(Clone, Debug, Default)]
pub struct ApiVersions {
    ranges: Vec<Option<(i16, i16)>>,
}

impl ApiVersions {
    fn from_response(resp: &ApiVersionsResponse) -> Self {
        let mut ranges = Vec::new();
        for k in &resp.api_keys {
            let i = k.api_key as usize;
            if k.api_key < 0 || i > 1024 {
                continue;
            }
            if ranges.len() <= i {
                ranges.resize(i + 1, None);
            }
            ranges[i] = Some((k.min_version, k.max_version));
        }
        ApiVersions { ranges }
    }

    /// The highest version both sides support, if any.
    pub fn pick(&self, api_key: i16, ours_min: i16, ours_max: i16) -> Option<i16> {
        let (min, max) = (*self.ranges.get(api_key as usize)?)?;
        let v = max.min(ours_max);
        (v >= min.max(ours_min)).then_some(v)
    }

    /// Like [`ApiVersions::pick`] for a generated message type.
    pub fn pick_for<R: Message>(&self, api_key: ApiKey) -> Result<i16> {
        self.pick(api_key as i16, R::VERSIONS.min, R::VERSIONS.max)
            .ok_or_else(|| {
                Error::new(
                    Kind::UnsupportedVersion,
                    format!("the broker supports no version of {api_key:?} this client speaks"),
                )
            })
    }
}

/// Counters for the stats call and tests.
#[derive(Debug, Default)]
pub struct ConnStats {
    /// Requests in flight right now.
    pub in_flight: AtomicUsize,
    /// Highest number of requests in flight at once.
    pub max_in_flight_seen: AtomicUsize,
    /// Requests written.
    pub requests: AtomicUsize,
    /// KIP-368 re-authentications run on live connections.
    pub reauthentications: AtomicUsize,
}

struct Outgoing {
    frame: Frame,
    api_key: i16,
    version: i16,
    /// `None` for acks=0 produce requests, which get no response.
    reply: Option<oneshot::Sender<Result<Bytes>>>,
    written: Option<oneshot::Sender<Result<()>>>,
    /// Pipeline slot; moves to the pending entry so it frees when the response arrives.
    permit: Option<OwnedSemaphorePermit>,
    timeout: Duration,
}

struct Pending {
    correlation_id: i32,
    api_key: i16,
    version: i16,
    reply: oneshot::Sender<Result<Bytes>>,
    deadline: Instant,
    _permit: Option<OwnedSemaphorePermit>,
}

struct Shared {
    name: Arc<str>,
    pending: Mutex<VecDeque<Pending>>,
    pending_added: Notify,
    poisoned: AtomicBool,
    poison_reason: Mutex<Option<Error>>,
    closed: Notify,
    next_correlation_id: AtomicI32,
    stats: Arc<ConnStats>,
    max_idle: Duration,
    /// Whether the socket is TLS (for error hints).
    tls: bool,
    /// The owning client's `log_id`.
    log_id: u64,
    /// Set when the client closes the connection itself: logged at debug, not warn.
    closing: AtomicBool,
}

impl Shared {
    /// Marks the connection dead and fails everyone waiting on it.
    fn poison(&self, err: Error) {
        if self.poisoned.swap(true, Ordering::AcqRel) {
            return;
        }
        *self.poison_reason.lock() = Some(err.clone());
        if self.closing.load(Ordering::Acquire) {
            tracing::debug!(client = self.log_id, broker = %self.name, "connection closed");
        } else {
            tracing::warn!(client = self.log_id, broker = %self.name, cause = %err, "connection lost");
        }
        let pending: Vec<Pending> = self.pending.lock().drain(..).collect();
        for p in pending {
            self.stats.in_flight.fetch_sub(1, Ordering::Relaxed);
            let _ = p.reply.send(Err(err.clone()));
        }
        self.closed.notify_waiters();
        self.pending_added.notify_one();
    }

    /// The error for a request whose reply was dropped unanswered. That happens when the
    /// writer or reader task panicked: the panic drops the request while unwinding, just
    /// before the task's failure path poisons the connection, so wait (briefly) for the
    /// poison and report its error (INTERNAL, naming the task), not a plain disconnect.
    async fn dropped_reply_error(&self) -> Error {
        let closed = self.closed.notified();
        tokio::pin!(closed);
        closed.as_mut().enable();
        if !self.poisoned.load(Ordering::Acquire) {
            let _ = tokio::time::timeout(Duration::from_secs(1), closed).await;
        }
        self.error()
    }

    fn error(&self) -> Error {
        self.poison_reason
            .lock()
            .clone()
            .unwrap_or_else(|| Error::network(&self.name, "connection closed"))
    }
}

/// Held for reading while a request is queued; the re-authentication task holds it for
/// writing. `None` on connections without a SASL session limit (no cost on those).
type Gate = Option<Arc<tokio::sync::RwLock<()>>>;

/// A handle to a broker connection; clones share it.
#[derive(Clone)]
pub struct Connection {
    shared: Arc<Shared>,
    tx: mpsc::Sender<Outgoing>,
    slots: Arc<Semaphore>,
    versions: Arc<ApiVersions>,
    client_id: Arc<str>,
    gate: Gate,
}

/// Options for opening a connection.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    /// Requests pipelined at once.
    pub max_in_flight: usize,
    /// Deadline for TCP connect plus the ApiVersions handshake.
    pub setup_timeout: Duration,
    /// TCP keep-alive.
    pub keep_alive: bool,
    /// Client id for request headers.
    pub client_id: Arc<str>,
    /// Default request timeout.
    pub request_timeout: Duration,
    /// Close the connection after this long without requests.
    pub max_idle: Duration,
    /// TLS, when the listener uses it.
    pub tls: Option<Tls>,
    /// SASL, when the listener uses it.
    pub sasl: Option<Arc<Sasl>>,
    /// The owning client's `log_id` (the `client` field of log events).
    pub log_id: u64,
}

impl ConnectOptions {
    /// Options from a client config.
    pub fn from_config(cfg: &ClientConfig, max_in_flight: usize) -> Self {
        ConnectOptions {
            max_in_flight,
            setup_timeout: cfg.request_timeout,
            keep_alive: cfg.socket_keep_alive,
            client_id: cfg.client_id.as_str().into(),
            request_timeout: cfg.request_timeout,
            max_idle: cfg.connections_max_idle,
            tls: cfg.tls.clone(),
            sasl: cfg.sasl.clone(),
            log_id: cfg.log_id,
        }
    }
}

impl Connection {
    /// Connects (TLS when configured), negotiates API versions, authenticates (SASL when
    /// configured) and starts the I/O tasks.
    pub async fn connect(addr: &HostPort, opts: &ConnectOptions, stats: Arc<ConnStats>) -> Result<Connection> {
        let name: Arc<str> = addr.to_string().into();
        let deadline = Instant::now() + opts.setup_timeout;
        let timed_out = |what: &str| {
            Error::new(
                Kind::RequestTimeout,
                format!("{what} {name} timed out after {} ms", opts.setup_timeout.as_millis()),
            )
            .with_broker(&name)
        };
        let stream = tokio::time::timeout_at(deadline, TcpStream::connect((addr.host.as_str(), addr.port)))
            .await
            .map_err(|_| {
                Error::new(
                    Kind::RequestTimeout,
                    format!(
                        "connecting to {name} timed out after {} ms",
                        opts.setup_timeout.as_millis()
                    ),
                )
                .with_broker(&name)
            })?
            .map_err(|e| Error::network(&name, e))?;
        stream.set_nodelay(true).map_err(|e| Error::network(&name, e))?;
        if opts.keep_alive {
            let sock = socket2::SockRef::from(&stream);
            if let Err(e) = sock.set_keepalive(true) {
                tracing::warn!(client = opts.log_id, broker = %name, cause = %e, "cannot enable TCP keep-alive");
            }
        }
        let slots = Arc::new(Semaphore::new(opts.max_in_flight.max(1)));
        let shared = Arc::new(Shared {
            name: name.clone(),
            pending: Mutex::new(VecDeque::new()),
            pending_added: Notify::new(),
            poisoned: AtomicBool::new(false),
            poison_reason: Mutex::new(None),
            closed: Notify::new(),
            next_correlation_id: AtomicI32::new(0),
            stats,
            max_idle: opts.max_idle,
            tls: opts.tls.is_some(),
            log_id: opts.log_id,
            closing: AtomicBool::new(false),
        });
        let (tx, rx) = mpsc::channel(opts.max_in_flight.max(1) * 2);
        match &opts.tls {
            None => {
                // Owned halves: no lock between reader and writer on the plaintext path.
                let (read, write) = stream.into_split();
                spawn_io(
                    &shared,
                    write_loop(shared.clone(), write, rx),
                    read_loop(shared.clone(), read, false),
                );
            }
            Some(tls) => {
                let stream = tokio::time::timeout_at(deadline, tls.connect(&addr.host, stream, &name))
                    .await
                    .map_err(|_| timed_out("the TLS handshake with"))??;
                let (read, write) = tokio::io::split(stream);
                spawn_io(
                    &shared,
                    write_loop(shared.clone(), write, rx),
                    read_loop(shared.clone(), read, true),
                );
            }
        }
        let mut conn = Connection {
            shared,
            tx,
            slots,
            versions: Arc::new(ApiVersions::default()),
            client_id: opts.client_id.clone(),
            gate: None,
        };
        let versions = tokio::time::timeout_at(deadline, conn.negotiate_versions(opts.setup_timeout))
            .await
            .map_err(|_| {
                Error::new(
                    Kind::RequestTimeout,
                    format!(
                        "{name} accepted the connection but did not answer ApiVersions within {} ms: is it a Kafka broker?",
                        opts.setup_timeout.as_millis()
                    ),
                )
                .with_broker(&name)
            });
        match versions {
            Ok(Ok(v)) => conn.versions = Arc::new(v),
            Ok(Err(e)) | Err(e) => {
                conn.close();
                return Err(e);
            }
        }
        if let Some(sasl) = &opts.sasl {
            let left = deadline
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1));
            let session = match tokio::time::timeout_at(deadline, sasl::authenticate(&conn, sasl, left)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    conn.close();
                    return Err(e);
                }
                Err(_) => {
                    conn.close();
                    return Err(timed_out("SASL authentication with"));
                }
            };
            if let Some(lifetime) = session.lifetime {
                conn.gate = Some(Arc::new(tokio::sync::RwLock::new(())));
                let owner = conn.shared.clone();
                task::spawn(
                    "reauthenticate",
                    reauthenticate(conn.downgrade(), sasl.clone(), lifetime, opts.request_timeout),
                    move |e| owner.poison(e),
                );
            }
        }
        tracing::debug!(
            client = opts.log_id,
            broker = %name,
            tls = opts.tls.is_some(),
            sasl = opts.sasl.as_ref().map(|s| s.mechanism()).unwrap_or("none"),
            "connection open"
        );
        Ok(conn)
    }

    fn downgrade(&self) -> WeakConnection {
        WeakConnection {
            shared: self.shared.clone(),
            tx: self.tx.downgrade(),
            slots: self.slots.clone(),
            versions: self.versions.clone(),
            client_id: self.client_id.clone(),
            gate: self.gate.clone(),
        }
    }

    /// ApiVersions v3 (KIP-511); a broker that does not know v3 answers with error 35 in
    /// v0 format, listing its versions, and we ask again at its highest.
    async fn negotiate_versions(&self, timeout: Duration) -> Result<ApiVersions> {
        let ours = ApiVersionsRequest::VERSIONS.max;
        let mut version = ours;
        for _ in 0..2 {
            let req = ApiVersionsRequest::default()
                .with_client_software_name(StrBytes::from_static_str("nkafka"))
                .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
            let body = self
                .roundtrip(
                    frame::encode_request(&req, version, Some(&self.client_id))?,
                    ApiKey::ApiVersions as i16,
                    version,
                    timeout,
                )
                .await
                .map_err(|e| self.not_kafka(e))?;
            let resp: ApiVersionsResponse =
                match frame::decode_response(ApiKey::ApiVersions as i16, version, body.clone()) {
                    Ok(r) => r,
                    // An error response is always v0-encoded.
                    Err(_) => frame::decode_response(ApiKey::ApiVersions as i16, 0, body)
                        .map_err(|e| self.not_kafka(e.into()))?,
                };
            let code = ErrorCode(resp.error_code);
            if code == ErrorCode::UNSUPPORTED_VERSION {
                let theirs = resp
                    .api_keys
                    .iter()
                    .find(|k| k.api_key == ApiKey::ApiVersions as i16)
                    .map(|k| k.max_version)
                    .unwrap_or(0);
                version = theirs.min(ours);
                continue;
            }
            if !code.is_ok() {
                return Err(Error::broker(code, None).with_broker(&self.shared.name));
            }
            return Ok(ApiVersions::from_response(&resp));
        }
        Err(Error::new(Kind::UnsupportedVersion, "ApiVersions negotiation failed").with_broker(&self.shared.name))
    }

    fn not_kafka(&self, e: Error) -> Error {
        match e.kind {
            // A TLS listener drops a client that speaks plaintext; say what to check.
            Kind::Network if !self.shared.tls => Error::new(
                Kind::Network,
                format!(
                    "{} (before answering ApiVersions: if this port is a TLS listener, set `ssl`)",
                    e.message
                ),
            )
            .with_broker(&self.shared.name),
            Kind::Protocol => Error::new(
                Kind::Protocol,
                format!("{} did not answer like a Kafka broker: {}", self.shared.name, e.message),
            )
            .with_broker(&self.shared.name),
            _ => e,
        }
    }

    /// Broker address, for messages.
    pub fn name(&self) -> &Arc<str> {
        &self.shared.name
    }

    /// API versions the broker supports.
    pub fn versions(&self) -> &ApiVersions {
        &self.versions
    }

    /// False once poisoned or closed.
    pub fn is_alive(&self) -> bool {
        !self.shared.poisoned.load(Ordering::Acquire)
    }

    /// Closes the connection; waiters get a retriable error.
    pub fn close(&self) {
        self.shared.closing.store(true, Ordering::Release);
        self.shared
            .poison(Error::network(&self.shared.name, "connection closed by the client"));
    }

    /// Counters of this connection.
    pub fn stats(&self) -> &Arc<ConnStats> {
        &self.shared.stats
    }

    /// True when a request could be sent without waiting for a pipeline slot.
    pub fn has_free_slot(&self) -> bool {
        self.slots.available_permits() > 0
    }

    async fn enqueue(&self, mut out: Outgoing) -> Result<()> {
        if !self.is_alive() {
            return Err(self.shared.error());
        }
        out.timeout = out.timeout.max(Duration::from_millis(1));
        self.tx.send(out).await.map_err(|_| self.shared.error())
    }

    async fn acquire(&self) -> Result<OwnedSemaphorePermit> {
        tokio::select! {
            p = self.slots.clone().acquire_owned() => p.map_err(|_| self.shared.error()),
            _ = self.shared.closed.notified() => Err(self.shared.error()),
        }
    }

    /// Sends a request and waits for its response body (header removed).
    pub async fn roundtrip(&self, frame: Frame, api_key: i16, version: i16, timeout: Duration) -> Result<Bytes> {
        self.send(frame, api_key, version, timeout).await?.await
    }

    /// Queues a request for writing and returns a future of its response. Requests are
    /// written in the order `send` returns, so a caller that must keep order (the
    /// producer's per-broker sink) awaits `send` in sequence and the responses
    /// concurrently. Waits for a pipeline slot first.
    pub async fn send(
        &self,
        frame: Frame,
        api_key: i16,
        version: i16,
        timeout: Duration,
    ) -> Result<impl std::future::Future<Output = Result<Bytes>> + Send + 'static> {
        let _gate = match &self.gate {
            Some(g) => Some(g.read().await),
            None => None,
        };
        self.send_unguarded(frame, api_key, version, timeout).await
    }

    /// `send` past the re-authentication gate: only for the SASL exchange itself.
    async fn send_unguarded(
        &self,
        frame: Frame,
        api_key: i16,
        version: i16,
        timeout: Duration,
    ) -> Result<impl std::future::Future<Output = Result<Bytes>> + Send + 'static> {
        let permit = self.acquire().await?;
        let (reply, rx) = oneshot::channel();
        self.enqueue(Outgoing {
            frame,
            api_key,
            version,
            reply: Some(reply),
            written: None,
            permit: Some(permit),
            timeout,
        })
        .await?;
        let shared = self.shared.clone();
        Ok(async move {
            match rx.await {
                Ok(r) => r,
                Err(_) => Err(shared.dropped_reply_error().await),
            }
        })
    }

    /// Sends a request that gets no response (Produce with acks=0); the future resolves
    /// once it is written.
    pub async fn send_only(
        &self,
        frame: Frame,
        api_key: i16,
        version: i16,
    ) -> Result<impl std::future::Future<Output = Result<()>> + Send + 'static> {
        let _gate = match &self.gate {
            Some(g) => Some(g.read().await),
            None => None,
        };
        let permit = self.acquire().await?;
        let (written, rx) = oneshot::channel();
        self.enqueue(Outgoing {
            frame,
            api_key,
            version,
            reply: None,
            written: Some(written),
            permit: Some(permit),
            timeout: Duration::ZERO,
        })
        .await?;
        let shared = self.shared.clone();
        Ok(async move {
            match rx.await {
                Ok(r) => r,
                Err(_) => Err(shared.dropped_reply_error().await),
            }
        })
    }

    /// Sends a generated request and decodes the response.
    pub async fn call<R>(&self, api_key: ApiKey, req: &R, version: i16, timeout: Duration) -> Result<R::Response>
    where
        R: kafka_protocol::protocol::Request,
    {
        let frame = frame::encode_request(req, version, Some(&self.client_id))?;
        let body = self.roundtrip(frame, api_key as i16, version, timeout).await?;
        Ok(frame::decode_response(api_key as i16, version, body)?)
    }

    /// `call` past the re-authentication gate: only for SaslHandshake/SaslAuthenticate,
    /// which must go out while the gate is closed.
    pub(crate) async fn call_unguarded<R>(
        &self,
        api_key: ApiKey,
        req: &R,
        version: i16,
        timeout: Duration,
    ) -> Result<R::Response>
    where
        R: kafka_protocol::protocol::Request,
    {
        let frame = frame::encode_request(req, version, Some(&self.client_id))?;
        let body = self
            .send_unguarded(frame, api_key as i16, version, timeout)
            .await?
            .await?;
        Ok(frame::decode_response(api_key as i16, version, body)?)
    }

    /// Client id sent in headers.
    pub fn client_id(&self) -> &Arc<str> {
        &self.client_id
    }
}

/// A connection as the re-authentication task holds it: without keeping the writer alive
/// (the connection still closes when its last user drops it).
struct WeakConnection {
    shared: Arc<Shared>,
    tx: mpsc::WeakSender<Outgoing>,
    slots: Arc<Semaphore>,
    versions: Arc<ApiVersions>,
    client_id: Arc<str>,
    gate: Gate,
}

impl WeakConnection {
    fn upgrade(&self) -> Option<Connection> {
        Some(Connection {
            shared: self.shared.clone(),
            tx: self.tx.upgrade()?,
            slots: self.slots.clone(),
            versions: self.versions.clone(),
            client_id: self.client_id.clone(),
            gate: self.gate.clone(),
        })
    }
}

/// When to re-authenticate: at a random point between 85 % and 95 % of the session, as
/// the Java client does, so connections opened together do not all re-authenticate at
/// once.
fn reauth_delay(lifetime: Duration) -> Duration {
    let mut r = [0u8; 2];
    let frac = match getrandom::fill(&mut r) {
        Ok(()) => 0.85 + 0.10 * (u16::from_le_bytes(r) as f64 / u16::MAX as f64),
        Err(_) => 0.90,
    };
    lifetime.mul_f64(frac)
}

/// Starts a connection's writer and reader. A panic in either poisons the connection with
/// the INTERNAL error: its waiters fail with it, and the next user reconnects.
fn spawn_io(
    shared: &Arc<Shared>,
    write: impl Future<Output = ()> + Send + 'static,
    read: impl Future<Output = ()> + Send + 'static,
) {
    let (w, r) = (shared.clone(), shared.clone());
    task::spawn("connection-writer", write, move |e| w.poison(e));
    task::spawn("connection-reader", read, move |e| r.poison(e));
}

/// KIP-368: re-authenticates `conn` before each SASL session ends, until it closes. A
/// failure closes the connection with a retriable error: the next user reconnects and
/// authenticates from scratch, which reports a credential problem as what it is.
async fn reauthenticate(conn: WeakConnection, sasl: Arc<Sasl>, mut lifetime: Duration, timeout: Duration) {
    let shared = conn.shared.clone();
    let Some(gate) = conn.gate.clone() else { return };
    loop {
        let closed = shared.closed.notified();
        tokio::pin!(closed);
        closed.as_mut().enable();
        if shared.poisoned.load(Ordering::Acquire) {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(reauth_delay(lifetime)) => {}
            _ = &mut closed => return,
        }
        task::fail_point("reauthenticate");
        let Some(live) = conn.upgrade() else { return };
        let result = {
            let _closed = gate.write().await;
            sasl::authenticate(&live, &sasl, timeout).await
        };
        shared.stats.reauthentications.fetch_add(1, Ordering::Relaxed);
        match result {
            Ok(session) => match session.lifetime {
                Some(l) => lifetime = l,
                None => return,
            },
            Err(e) => {
                shared.poison(Error::network(
                    &shared.name,
                    format!("re-authentication (KIP-368) failed, reconnecting: {}", e.message),
                ));
                return;
            }
        }
    }
}

async fn write_loop<W: AsyncWrite + Unpin>(shared: Arc<Shared>, mut sock: W, mut rx: mpsc::Receiver<Outgoing>) {
    let mut batch: Vec<Outgoing> = Vec::new();
    loop {
        let first = tokio::select! {
            m = rx.recv() => m,
            _ = shared.closed.notified() => None,
        };
        let Some(first) = first else { break };
        if shared.poisoned.load(Ordering::Acquire) {
            break;
        }
        batch.push(first);
        task::fail_point("connection-writer");
        // Coalesce whatever else is queued into one vectored write.
        while batch.len() < 64 {
            match rx.try_recv() {
                Ok(m) => batch.push(m),
                Err(_) => break,
            }
        }
        let mut written = Vec::new();
        {
            let mut pending = shared.pending.lock();
            // `poison` sets the flag, then drains `pending` under this lock: a request
            // added after that drain would wait forever (its reply and pipeline slot held
            // by a dead connection, seen as a producer partition stuck with one batch
            // "in flight" after a broker was killed). Checked under the lock, it cannot be.
            if shared.poisoned.load(Ordering::Acquire) {
                drop(pending);
                break;
            }
            for out in batch.iter_mut() {
                let id = shared.next_correlation_id.fetch_add(1, Ordering::Relaxed) & i32::MAX;
                out.frame.set_correlation_id(id);
                if let Some(reply) = out.reply.take() {
                    let n = shared.stats.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
                    shared.stats.max_in_flight_seen.fetch_max(n, Ordering::Relaxed);
                    pending.push_back(Pending {
                        correlation_id: id,
                        api_key: out.api_key,
                        version: out.version,
                        reply,
                        deadline: Instant::now() + out.timeout,
                        _permit: out.permit.take(),
                    });
                }
            }
        }
        shared.pending_added.notify_one();
        shared.stats.requests.fetch_add(batch.len(), Ordering::Relaxed);
        let result = write_all_frames(&mut sock, &batch).await;
        for out in batch.drain(..) {
            if let Some(w) = out.written {
                written.push(w);
            }
        }
        match result {
            Ok(()) => {
                for w in written {
                    let _ = w.send(Ok(()));
                }
            }
            Err(e) => {
                let err = Error::network(&shared.name, e);
                for w in written {
                    let _ = w.send(Err(err.clone()));
                }
                shared.poison(err);
                break;
            }
        }
    }
    let _ = sock.shutdown().await;
    // Anyone still queued learns the connection is gone.
    rx.close();
    for out in batch.into_iter().chain(std::iter::from_fn(|| rx.try_recv().ok())) {
        let err = shared.error();
        if let Some(r) = out.reply {
            let _ = r.send(Err(err.clone()));
        }
        if let Some(w) = out.written {
            let _ = w.send(Err(err));
        }
    }
}

async fn write_all_frames<W: AsyncWrite + Unpin>(sock: &mut W, batch: &[Outgoing]) -> std::io::Result<()> {
    let mut chunks: Vec<&[u8]> = Vec::with_capacity(batch.len() * 4);
    for out in batch {
        chunks.push(&out.frame.head);
        chunks.extend(out.frame.tail.iter().map(|b| &b[..]));
    }
    let mut idx = 0; // first chunk not fully written
    let mut off = 0; // bytes of chunks[idx] already written
    while idx < chunks.len() {
        let slices: Vec<IoSlice<'_>> = std::iter::once(IoSlice::new(&chunks[idx][off..]))
            .chain(chunks[idx + 1..].iter().take(1023).map(|c| IoSlice::new(c)))
            .collect();
        let mut n = sock.write_vectored(&slices).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        while n > 0 && idx < chunks.len() {
            let left = chunks[idx].len() - off;
            if n >= left {
                n -= left;
                idx += 1;
                off = 0;
            } else {
                off += n;
                n = 0;
            }
        }
        while idx < chunks.len() && chunks[idx].len() == off {
            idx += 1;
            off = 0;
        }
    }
    Ok(())
}

async fn read_loop<R: AsyncRead + Unpin>(shared: Arc<Shared>, mut sock: R, tls: bool) {
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let err = loop {
        // Hand out every complete frame already buffered.
        match next_frame(&mut buf, tls) {
            Ok(Some(frame)) => {
                task::fail_point("connection-reader");
                if let Err(e) = dispatch(&shared, frame) {
                    break e;
                }
                continue;
            }
            Ok(None) => {}
            Err(e) => break e.into_error(&shared.name),
        }
        if shared.poisoned.load(Ordering::Acquire) {
            return;
        }
        // With nothing in flight, the deadline is the idle limit (connectionsMaxIdleMs): an
        // unused connection is closed and rebuilt on next use, as the Java client does.
        let (deadline, idle) = match shared.pending.lock().front() {
            Some(p) => (Some(p.deadline), false),
            None => (Some(Instant::now() + shared.max_idle), true),
        };
        let read = async {
            if buf.capacity() - buf.len() < 16 * 1024 {
                buf.reserve(64 * 1024);
            }
            sock.read_buf(&mut buf).await
        };
        tokio::select! {
            r = read => match r {
                Ok(0) => break Error::network(&shared.name, "the broker closed the connection"),
                Ok(_) => {}
                Err(e) if tls => break crate::security::tls::session_error(&shared.name, e),
                Err(e) => break Error::network(&shared.name, e),
            },
            _ = sleep_until_opt(deadline) => {
                let pending = shared.pending.lock();
                if idle && pending.is_empty() {
                    // An idle close is routine: logged at debug, not as a lost connection.
                    shared.closing.store(true, Ordering::Release);
                    break Error::network(&shared.name, "closed after connectionsMaxIdleMs without use");
                }
                if let Some(p) = pending.front() {
                    if p.deadline <= Instant::now() {
                        break Error::new(
                            Kind::RequestTimeout,
                            format!("{} v{} to {} got no response in time", frame::api_name(p.api_key), p.version, shared.name),
                        )
                        .with_broker(&shared.name);
                    }
                }
            },
            _ = shared.pending_added.notified() => {},
            _ = shared.closed.notified() => return,
        }
    };
    shared.poison(err);
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Why a response frame could not be split off.
#[derive(Debug, PartialEq, Eq)]
enum FrameError {
    /// The size prefix is impossible.
    Size(String),
    /// The bytes are a TLS record: a plaintext client on a TLS listener.
    TlsPeer,
}

impl FrameError {
    fn into_error(self, broker: &str) -> Error {
        match self {
            FrameError::Size(m) => Error::new(Kind::Protocol, format!("{broker}: {m}")).with_broker(broker),
            FrameError::TlsPeer => Error::new(
                Kind::Tls(TlsFailure::Handshake),
                format!("{broker} answered with TLS: this is a TLS listener, so set `ssl` (or use the plaintext port)"),
            )
            .with_broker(broker),
        }
    }
}

/// Splits one size-prefixed frame off the buffer, if complete.
fn next_frame(buf: &mut BytesMut, tls: bool) -> std::result::Result<Option<Bytes>, FrameError> {
    if buf.len() < 4 {
        return Ok(None);
    }
    // A TLS record starts with its content type (0x15 alert, 0x16 handshake) and version
    // 0x03 0x0N; read as a size that is over 350 MB, so it is never a Kafka frame.
    if !tls && matches!(buf[0], 0x15 | 0x16) && buf[1] == 0x03 && buf[2] <= 0x04 {
        return Err(FrameError::TlsPeer);
    }
    let size = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
    if size < 4 || size as usize > MAX_RESPONSE {
        return Err(FrameError::Size(format!(
            "response size {size} is out of range (first bytes {:02x?}): the peer is not speaking the Kafka protocol",
            &buf[..buf.len().min(8)]
        )));
    }
    let size = size as usize;
    if buf.len() < 4 + size {
        // Grow towards the announced size at most by what already arrived: a peer that
        // announces 256 MB and sends 10 bytes must not make us allocate 256 MB.
        let missing = 4 + size - buf.len();
        if buf.capacity() - buf.len() < missing {
            buf.reserve(missing.min(buf.len().max(64 * 1024)));
        }
        return Ok(None);
    }
    buf.advance(4);
    Ok(Some(buf.split_to(size).freeze()))
}

fn dispatch(shared: &Shared, frame: Bytes) -> Result<()> {
    let Some(p) = shared.pending.lock().pop_front() else {
        return Err(Error::new(
            Kind::Protocol,
            format!("{} sent a response nobody asked for", shared.name),
        ));
    };
    shared.stats.in_flight.fetch_sub(1, Ordering::Relaxed);
    let result = frame::split_response(&frame, p.api_key, p.version).map_err(Error::from);
    match result {
        Ok((id, body)) if id == p.correlation_id => {
            let _ = p.reply.send(Ok(body));
            Ok(())
        }
        Ok((id, _)) => {
            let e = Error::from(nkafka_protocol::DecodeError::CorrelationMismatch {
                expected: p.correlation_id,
                actual: id,
            });
            let _ = p.reply.send(Err(e.clone()));
            Err(e)
        }
        Err(e) => {
            let _ = p.reply.send(Err(e.clone()));
            Err(e)
        }
    }
}
