//! The one way the client spawns background tasks: [`spawn`] names the task and catches a
//! panic inside it, turning it into an INTERNAL error naming the task, which it hands to
//! the owner's failure path. Without this a panicking task would just vanish, and whoever
//! waits on it (a flush, a send, a poll, a request on a connection) would wait forever.
//! What each owner does with the error (restart or close) is in docs/DESIGN.md "Panics".

use std::any::Any;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::task::JoinHandle;

use crate::error::{Error, Kind};

/// Spawns `fut` as the task `name`; if it panics, `on_panic` gets an INTERNAL error naming
/// the task and the panic message. `on_panic` must leave the owner either restarted from a
/// consistent state or closed with that error.
pub(crate) fn spawn<F, P>(name: &'static str, fut: F, on_panic: P) -> JoinHandle<()>
where
    F: Future<Output = ()> + Send + 'static,
    P: FnOnce(Error) + Send + 'static,
{
    tokio::spawn(async move {
        let mut task = CatchUnwind { inner: Box::pin(fut) };
        if let Err(payload) = (&mut task).await {
            let err = panicked(name, payload.as_ref());
            // A failure path that panics in turn (state too broken to even fail) must not
            // take anything else down; the panic hook has printed both panics.
            let _ = catch_unwind(AssertUnwindSafe(|| on_panic(err)));
        }
        // The panicked future's state (queued requests, batches, channel ends) is dropped
        // only here, after the failure path ran: whoever its drop wakes sees the error.
        drop(task);
    })
}

/// The error for a panic in task `name`.
pub fn panicked(name: &str, payload: &(dyn Any + Send)) -> Error {
    let msg = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_string());
    Error::new(
        Kind::Internal,
        format!("INTERNAL: nkafka internal error (a bug): the `{name}` task panicked: {msg}"),
    )
}

/// Polls a boxed future (boxed so it is `Unpin`: no unsafe pinning), catching a panic in
/// any poll. The future is not polled again after a panic; it is dropped by `spawn` once
/// the owner's failure path ran.
struct CatchUnwind<F> {
    inner: Pin<Box<F>>,
}

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.inner.as_mut();
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}

/// Marks a place where the test-only `fail-points` feature can force a panic in task
/// `name`. Compiles to nothing without the feature.
#[inline(always)]
pub(crate) fn fail_point(name: &'static str) {
    #[cfg(feature = "fail-points")]
    crate::fail_points::hit(name);
    #[cfg(not(feature = "fail-points"))]
    let _ = name;
}
