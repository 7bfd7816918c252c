//! A brand's or service provider's notify URL for the WeChat Pay product-coupon APIs,
//! as a library.
//!
//! A coupon WeChat Pay issues is usable only once it is confirmed: every issuing channel
//! ends in a `PRODUCT_COUPON.SEND` notification, and the brand must then call
//! `confirm-send-user-product-coupon`; a service provider's coupons end in
//! `PRODUCT_COUPON_SP.SEND`, confirmed by the provider with
//! `partner-confirm-send-user-product-coupon` for the brand the event names. This crate
//! receives the notifications and performs what the schema says each event asks for
//! (`<ProductCouponEvent as Event>::follow_up`), exactly once, as the identity of the
//! follow-up's family ([`ReceiverBuilder::brand`], [`ReceiverBuilder::provider`]).
//!
//! - [`Receiver`]: verifies a delivery (signature, serial, ±300 s), decrypts it, writes
//!   it to the [`Journal`] (SQLite), and only then answers 2xx. A delivery that does not
//!   verify is answered 4xx and never recorded; a repeated event id is answered 2xx and
//!   not recorded twice; a failed journal write is answered 5xx, so WeChat Pay delivers
//!   it again.
//! - [`Confirmer`]: performs the journal's `pending` confirms at the documented rate, with
//!   a client per family, each with the number derived from the caller and the coupon —
//!   the number a campaign derives for the same coupon, so whichever confirms second gets
//!   a replay. It resumes the pending ones after a restart.
//! - [`NotifyService`]: the receiver as a tower `Service` to mount in your web service;
//!   [`axum::handle`] (feature `axum`) for an axum router; [`server::Server`] (feature
//!   `server`, default) serves it alone, as `wechatpay notify serve` does.
//! - [`report()`]: one line per event, as CSV or JSON.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use wechatpay_notify::server::Server;
//! use wechatpay_notify::{ConfirmOptions, Confirmer, Journal, Receiver};
//! use wechatpay_transport::{ApiV3Key, Client, Identity, NotificationHandler, RetryPolicy};
//!
//! let brand_id = "120000000001";
//! let client = Client::builder(Identity::brand(brand_id))
//!     .serial_no("273B97B16FA1476528C374E4FB7AF5D8FBBF88A8")
//!     .private_key_file("apiclient_key.pem")
//!     .wechatpay_public_key_file("PUB_KEY_ID_0114232134912410000000000000", "wxp_pub.pem")
//!     .retry(RetryPolicy::none()) // the confirmer resends, with the same number
//!     .resend_unverified_success(true)
//!     .build()?;
//! let handler = client.notification_handler(ApiV3Key::new("an APIv3 key of 32 characters..")?);
//! let journal = Journal::open("notify.db".as_ref())?; // before listening: nothing is acknowledged unjournaled
//! let receiver = Receiver::builder(handler, journal)
//!     .brand(brand_id) // PRODUCT_COUPON.SEND is confirmed as this brand
//!     .appid("wx233544546545989") // the notification does not carry it; a confirm needs it
//!     .build();
//! let confirmer = Confirmer::new(&receiver, [client], ConfirmOptions::default())?;
//! let server = Server::bind("127.0.0.1:8080", "/notify", receiver.service()).await?;
//! let confirming = tokio::spawn(confirmer.run(std::future::pending()));
//! server.serve(async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! # drop(confirming);
//! # Ok(()) }
//! ```
//!
//! Events with no follow-up (`PRODUCT_COUPON.USE`, `.RETURN`,
//! `PRODUCT_COUPON_SP.IMAGE_GENERATION`, types the schema does not know, kept raw) are
//! journaled as `not_needed`. Without a running [`Confirmer`] (the CLI's `--no-confirm`),
//! SEND events stay `pending`, and a later run with a confirmer confirms them; so do
//! events whose confirming identity is not configured ([`NOT_CONFIGURED`]).

#![warn(missing_docs)]

#[cfg(feature = "axum")]
pub mod axum;
pub mod confirmer;
pub mod event;
pub mod journal;
pub mod key_refresh;
pub mod plan;
pub mod receiver;
pub mod record;
pub mod report;
#[cfg(feature = "server")]
pub mod server;
pub mod service;

pub use confirmer::{ConfirmOptions, Confirmer, ConfirmerError, ConfirmerState};
pub use journal::{Counts, Journal, JournalError, APPLICATION_ID};
pub use plan::{NOT_CONFIGURED, UNCONFIRMABLE};
pub use receiver::{Answer, Outcome, Receiver, ReceiverBuilder, DEFAULT_BODY_LIMIT};
pub use record::{ConfirmStatus, EventRecord};
pub use report::{report, ReportError, ReportFormat};
pub use service::NotifyService;
