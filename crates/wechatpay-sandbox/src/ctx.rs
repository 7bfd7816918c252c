//! What an operation's handler works with: the request's transaction, its
//! business time, the operation and its caller. A leaf: the handlers (`ops`), the
//! models they read through (`model`), the notifications they queue (`notify`)
//! and the admin endpoints all take it.

use rusqlite::Connection;
use wechatpay_runtime::EndpointInfo;

use crate::keys::SandboxKeys;
use crate::tenancy::Caller;

/// What a handler works with.
pub struct Ctx<'a> {
    /// The request's transaction.
    pub db: &'a Connection,
    /// Business time of the request.
    pub now: i64,
    /// The operation being served.
    pub info: &'static EndpointInfo,
    /// Who sent the request and whom it acts for (which resources it reaches).
    pub caller: &'a Caller,
    pub keys: &'a SandboxKeys,
    /// Whether a notification was queued (the deliverer is woken after commit).
    pub notified: bool,
    /// A confirm waits for the coupon's PRODUCT_COUPON.SEND to be delivered
    /// (`Options::confirm_after_notify`).
    pub confirm_after_notify: bool,
}
