//! The receiver as a tower [`Service`]: `http::Request<B>` in, `http::Response` out,
//! for any body type (hyper's `Incoming`, axum's `Body`, …). Mount it at the path of
//! your notify URL; it answers every request it is given (it does not route).
//!
//! The response's extensions hold the [`Outcome`](crate::Outcome), for logging.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use http_body_util::Full;
use tower::Service;

use crate::receiver::Receiver;

/// A [`Receiver`] as a tower `Service`; cheap to clone.
///
/// ```no_run
/// # async fn demo(receiver: wechatpay_notify::Receiver) {
/// use tower::Service as _;
///
/// let mut service = receiver.service();
/// let request = http::Request::post("/notify")
///     .body(http_body_util::Full::new(bytes::Bytes::from_static(b"{}")))
///     .unwrap();
/// let response = service.call(request).await.unwrap();
/// assert_eq!(response.status(), 401); // no Wechatpay-* signature headers
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct NotifyService {
    receiver: Receiver,
}

impl NotifyService {
    pub(crate) fn new(receiver: Receiver) -> Self {
        NotifyService { receiver }
    }

    /// The receiver behind the service.
    pub fn receiver(&self) -> &Receiver {
        &self.receiver
    }
}

impl<B> Service<Request<B>> for NotifyService
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let receiver = self.receiver.clone();
        Box::pin(async move { Ok(receiver.respond(request).await) })
    }
}
