//! Notifications (notifications.md): the notify URLs, the envelope with its
//! AEAD_AES_256_GCM resource, and the outbox the deliverer drains.
//!
//! An event is encrypted when it happens (inside the request's transaction,
//! under the APIv3 key of `sandbox.json`) and stored in the outbox with the
//! URL configured at that moment; [`deliver`] signs and POSTs it, retrying
//! with backoff. Nothing is queued while no URL is configured, as WeChat Pay
//! delivers nothing to a brand without one.
//!
//! Where an event goes is decided by who created the product coupon
//! (`tenancy`): the brand's own coupons notify the brand's URL
//! (`PRODUCT_COUPON.*`, the brand capture's envelope); a coupon issued for a
//! provider-created product coupon — by any channel, and whoever sent it —
//! notifies the provider's one URL as `PRODUCT_COUPON_SP.SEND` with the brand
//! in the payload and the partner page examples' envelope values. No partner
//! page lists a use or return event, so none is sent to a provider.
//!
//! A coupon's SEND carries the coupon's `seq` in the outbox, so
//! that its outcome is written on the coupon (`user_coupons.send_notice`:
//! `delivered` or `dropped`), where `--confirm-after-notify` reads it.

pub mod deliver;
pub mod url;

use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use wechatpay_transport::notification::{encrypt_resource, ApiV3Key};
use wechatpay_transport::sign::generate_nonce;

use crate::clock::datetime;
use crate::ctx::Ctx;
use crate::keys::random_hex;
use crate::model::coupon::{self, Coupon};
use crate::model::product_coupon;
use crate::replies::Rejection;
use crate::sql;

/// A user coupon was issued (any channel): the one event confirmed for brands.
pub const SEND: Event = Event {
    event_type: "PRODUCT_COUPON.SEND",
    summary: "商品券领券通知",
};
/// A user coupon was used (named by the sample-code guides only, 【uncertain】).
pub const USE: Event = Event {
    event_type: "PRODUCT_COUPON.USE",
    summary: "商品券核销通知",
};
/// A used coupon was returned (named by the sample-code guides only, 【uncertain】).
pub const RETURN: Event = Event {
    event_type: "PRODUCT_COUPON.RETURN",
    summary: "商品券退券通知",
};
/// A user coupon of a provider-created product coupon was issued (partner page 4016435717).
pub const SP_SEND: Event = Event {
    event_type: "PRODUCT_COUPON_SP.SEND",
    summary: "商品券领券通知",
};
/// An image-generation task finished (partner page 4017327759).
pub const SP_IMAGE_GENERATION: Event = Event {
    event_type: "PRODUCT_COUPON_SP.IMAGE_GENERATION",
    summary: "图片生成结果通知",
};

/// `original_type` and `associated_data` of a resource.
struct ResourceKind {
    original_type: &'static str,
    associated_data: &'static str,
}

/// The brand capture's values.
const BRAND_RESOURCE: ResourceKind = ResourceKind {
    original_type: "product_coupon",
    associated_data: "product_coupon",
};

/// The partner pages' example values (README P13).
const PROVIDER_RESOURCE: ResourceKind = ResourceKind {
    original_type: "coupon",
    associated_data: "product_coupon_sp",
};

/// An event type and its summary text.
#[derive(Debug, Clone, Copy)]
pub struct Event {
    /// The notification's `event_type` (`PRODUCT_COUPON.SEND`).
    pub event_type: &'static str,
    /// The notification's `summary` text.
    pub summary: &'static str,
}

/// The envelope, fields in the order of the captured notification.
#[derive(Serialize)]
struct Envelope<'a> {
    id: String,
    create_time: String,
    resource_type: &'a str,
    event_type: &'a str,
    summary: &'a str,
    resource: Resource,
}

#[derive(Serialize)]
struct Resource {
    original_type: String,
    algorithm: String,
    ciphertext: String,
    associated_data: String,
    nonce: String,
}

/// Wall-clock milliseconds (delivery times are wall-clock).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A notification id in UUID form, as in the capture.
fn notification_id() -> String {
    let h = random_hex(16).to_ascii_lowercase();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// The notify URL of `identity` (a brand_id, or a provider's mchid) and when it
/// was set, if one is configured.
pub fn configured_url(db: &Connection, identity: &str) -> Result<Option<(String, i64)>, Rejection> {
    Ok(db
        .prepare_cached("SELECT url, update_time FROM notify_configs WHERE identity = ?1")?
        .query_row([identity], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// `send_notice` of a coupon whose PRODUCT_COUPON.SEND the notify URL answered 2xx.
pub const DELIVERED: &str = "delivered";
/// `send_notice` of a coupon whose PRODUCT_COUPON.SEND was given up after its last attempt.
pub const DROPPED: &str = "dropped";

/// Where a coupon's PRODUCT_COUPON.SEND is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendNotice {
    /// Answered 2xx by the notify URL.
    Delivered,
    /// In the outbox, after this many failed attempts.
    Pending {
        /// Delivery attempts that failed so far.
        attempts: u32,
    },
    /// Given up after the last attempt.
    Dropped,
    /// Never queued: no notify URL was configured when the coupon was issued.
    NotQueued,
}

impl SendNotice {
    /// The word the sandbox's answers use for it.
    pub fn as_str(self) -> &'static str {
        match self {
            SendNotice::Delivered => DELIVERED,
            SendNotice::Pending { .. } => "pending",
            SendNotice::Dropped => DROPPED,
            SendNotice::NotQueued => "not_queued",
        }
    }
}

/// Where the PRODUCT_COUPON.SEND of the coupon `seq` is.
pub fn send_notice(ctx: &Ctx<'_>, seq: i64) -> Result<SendNotice, Rejection> {
    let recorded: Option<String> = sql::row(
        ctx.db,
        "SELECT send_notice FROM user_coupons WHERE seq = ?1",
        [seq],
        |r| r.get(0),
    )?;
    Ok(match recorded.as_deref() {
        Some(DELIVERED) => SendNotice::Delivered,
        Some(DROPPED) => SendNotice::Dropped,
        _ => match sql::row(
            ctx.db,
            "SELECT attempts FROM outbox WHERE coupon_seq = ?1",
            [seq],
            |r| r.get(0),
        )
        .optional()?
        {
            Some(attempts) => SendNotice::Pending { attempts },
            None => SendNotice::NotQueued,
        },
    })
}

/// Queues `event` about coupon `c` for the notify URL of whoever created its
/// product coupon (module docs).
pub fn enqueue(ctx: &mut Ctx<'_>, event: Event, c: &Coupon) -> Result<(), Rejection> {
    let owner = product_coupon::owner(ctx.db, &c.product_coupon_id)?
        .ok_or_else(|| Rejection::internal("coupon of a missing product coupon"))?;
    match &owner.provider {
        None => {
            let send_of = (event.event_type == SEND.event_type).then_some(c.seq);
            let plaintext = serde_json::to_vec(&coupon::notification(c))?;
            let to = Destination {
                identity: &owner.brand_id,
                kind: &BRAND_RESOURCE,
            };
            queue(ctx, &to, event, &plaintext, send_of, 0)
        }
        Some(provider) if event.event_type == SEND.event_type => {
            let bundle: Option<String> = sql::row(
                ctx.db,
                "SELECT bundle_id FROM stocks WHERE id = ?1",
                [&c.stock_id],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
            let payload = coupon::partner_notification(c, &owner.brand_id, bundle.as_deref());
            let to = Destination {
                identity: provider,
                kind: &PROVIDER_RESOURCE,
            };
            queue(
                ctx,
                &to,
                SP_SEND,
                &serde_json::to_vec(&payload)?,
                Some(c.seq),
                0,
            )
        }
        Some(_) => Ok(()),
    }
}

/// Queues `PRODUCT_COUPON_SP.IMAGE_GENERATION` with `task` for `provider`'s notify
/// URL (if any), due `delay_ms` from now.
pub fn enqueue_image(
    ctx: &mut Ctx<'_>,
    provider: &str,
    task: &impl Serialize,
    delay_ms: i64,
) -> Result<(), Rejection> {
    let to = Destination {
        identity: provider,
        kind: &PROVIDER_RESOURCE,
    };
    let plaintext = serde_json::to_vec(task)?;
    queue(ctx, &to, SP_IMAGE_GENERATION, &plaintext, None, delay_ms)
}

/// Whose notify URL an event goes to, and the envelope values it gets there.
struct Destination<'a> {
    identity: &'a str,
    kind: &'a ResourceKind,
}

/// Encrypts `plaintext` into the envelope of `event` and puts it in the outbox
/// for `to`'s URL; nothing when `to` has none. `send_of`: the coupon whose
/// SEND this is.
fn queue(
    ctx: &mut Ctx<'_>,
    to: &Destination<'_>,
    event: Event,
    plaintext: &[u8],
    send_of: Option<i64>,
    delay_ms: i64,
) -> Result<(), Rejection> {
    let Some((url, _)) = configured_url(ctx.db, to.identity)? else {
        return Ok(());
    };
    let key = ApiV3Key::new(&ctx.keys.identity.apiv3_key).map_err(Rejection::internal)?;
    let nonce: String = generate_nonce().chars().take(12).collect();
    let resource = encrypt_resource(
        &key,
        plaintext,
        &nonce,
        to.kind.associated_data,
        to.kind.original_type,
    )
    .map_err(Rejection::internal)?;
    let envelope = Envelope {
        id: notification_id(),
        create_time: datetime(ctx.now).to_string(),
        resource_type: "encrypt-resource",
        event_type: event.event_type,
        summary: event.summary,
        resource: Resource {
            original_type: resource.original_type,
            algorithm: resource.algorithm,
            ciphertext: resource.ciphertext,
            associated_data: resource.associated_data,
            nonce: resource.nonce,
        },
    };
    sql::exec(
        ctx.db,
        "INSERT INTO outbox (url, body, due_ms, coupon_seq) VALUES (?1, ?2, ?3, ?4)",
        params![
            url,
            serde_json::to_vec(&envelope)?,
            now_ms() + delay_ms,
            send_of
        ],
    )?;
    ctx.notified = true;
    Ok(())
}
