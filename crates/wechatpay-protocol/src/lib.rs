//! WeChat Pay APIv3 without I/O: sign requests, verify replies and requests,
//! load keys and certificates, verify and decrypt notifications, encrypt
//! sensitive fields.
//!
//! Nothing here opens a socket or needs an async runtime: this crate depends
//! on no HTTP client (reqwest), server (hyper) or runtime (tokio). A brand that
//! receives notifications in axum, or signs requests with another HTTP
//! client, uses it alone; `wechatpay-transport` builds its client on it and
//! re-exports every module under its former path.
//!
//! - [`sign`]: the signed message and the `Authorization` header of a request;
//!   reply signing for servers;
//! - [`verify`]: replies and notifications (client side), requests (server side);
//! - [`headers`]: the five `Wechatpay-*` signature headers;
//! - [`keys`], [`keystore`], [`crypto`]: PEM keys and certificates, the keys a
//!   verifier trusts, and the two signing backends (aws-lc-rs; the `rsa`
//!   crate with the `rsa-backend` feature);
//! - [`notification`] (with [`dedup`] of redelivered events): verified,
//!   decrypted callbacks;
//! - [`certificates`]: reading a `GET /v3/certificates` reply;
//! - [`oaep`]: sensitive-field encryption;
//! - [`multipart`]: the file part of an image upload and its `meta` checks;
//! - [`clock`], [`text`]: the time source, and text helpers for error messages.
//!
//! Signing a request, with the `Authorization` header as the result (the
//! workspace's `tests/protocol` binary runs the same against OpenSSL):
//!
//! ```no_run
//! use wechatpay_protocol::crypto::signer_from_pem;
//! use wechatpay_protocol::sign::{generate_nonce, sign_request, RequestToSign};
//! use wechatpay_protocol::AuthScheme;
//! let pem = std::fs::read_to_string("apiclient_key.pem")?;
//! let signer = signer_from_pem(&pem)?;
//! let body = br#"{"out_request_no":"REQ-1"}"#;
//! let nonce = generate_nonce();
//! let request = RequestToSign {
//!     method: "POST",
//!     url: "/v3/marketing/partner/product-coupon/product-coupons",
//!     body,
//!     timestamp: 1_735_689_600,
//!     nonce: &nonce,
//! };
//! let authorization = sign_request(
//!     signer.as_ref(),
//!     AuthScheme::Merchant,
//!     "1900000001",
//!     "1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C",
//!     &request,
//! )?;
//! let header = authorization.header_value();
//! assert!(header.starts_with("WECHATPAY2-SHA256-RSA2048 mchid=\"1900000001\""));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

pub mod certificates;
pub mod clock;
pub mod crypto;
pub mod dedup;
mod der;
pub mod headers;
pub mod keys;
pub mod keystore;
pub mod multipart;
pub mod notification;
pub mod oaep;
pub mod sign;
pub mod text;
pub mod verify;

pub use certificates::{CertificateDownload, CertificateError, PlatformCertificate};
pub use clock::{Clock, ManualClock, SystemClock};
pub use crypto::{Backend, SignError, Signer, Verifier};
pub use headers::{HeaderError, SignatureHeaders};
pub use keys::{Certificate, KeyError, PrivateKeyDer, PublicKeyDer};
pub use keystore::{KeyKind, PublicKeyStore};
pub use multipart::FilePart;
pub use notification::{
    ApiV3Key, DecryptedNotification, Delivery, InMemorySeenEvents, NotificationError,
    NotificationHandler, SeenEvents,
};
pub use oaep::{OaepError, SensitiveEncryptor};
pub use sign::{Authorization, AuthorizationError};
pub use verify::VerifyError;
/// The signing scheme of an operation (merchant or brand), from the serde-only runtime.
pub use wechatpay_runtime::AuthScheme;
