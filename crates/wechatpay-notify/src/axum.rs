//! The receiver in an axum router (feature `axum`).
//!
//! Either as a handler, with the [`Receiver`] as (part of) the router's state:
//!
//! ```no_run
//! # fn demo(receiver: wechatpay_notify::Receiver) -> axum::Router {
//! use axum::routing::post;
//!
//! axum::Router::new()
//!     .route("/wechatpay/notify", post(wechatpay_notify::axum::handle))
//!     .with_state(receiver)
//! # }
//! ```
//!
//! or as a service, whatever the router's state: `.route_service("/wechatpay/notify",
//! receiver.service())`. Either way the body limit is the receiver's, not axum's
//! `DefaultBodyLimit`.

use axum::extract::{Request, State};
use axum::response::Response;

use crate::receiver::Receiver;

/// Verifies, journals and answers one notification (see [`Receiver::respond`]).
/// Use it in any router whose state gives a [`Receiver`] (`Receiver: FromRef<S>`).
pub async fn handle(State(receiver): State<Receiver>, request: Request) -> Response {
    receiver.respond(request).await.map(axum::body::Body::new)
}
