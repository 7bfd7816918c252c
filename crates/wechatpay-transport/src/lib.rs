//! Sign, send, verify and decode WeChat Pay APIv3 requests.
//!
//! This crate knows nothing about coupons: it knows an [`Endpoint`] (method,
//! path template, auth scheme, request, response, error codes) and how to
//! sign, send, verify and decode.
//!
//! - [`Client`] ([`Client::execute`], [`Client::execute_with`], [`Client::upload`],
//!   [`Client::pages`], [`Client::execute_raw`]) for callers;
//! - [`sign`], [`verify`], [`headers`], [`crypto`], [`keys`], [`keystore`],
//!   [`notification`] (with [`dedup`] of redelivered events) and [`oaep`] as
//!   building blocks for a CLI `sign` / `verify` command or a sandbox server
//!   that verifies requests and signs replies. They do no I/O and live in
//!   [`wechatpay_protocol`] (re-exported here under the same paths), which a
//!   crate that only signs, verifies or receives notifications can depend on
//!   without compiling reqwest, hyper or tokio.
//!
//! Every failure is an [`Error`]. One needs care: a 2xx reply that verifies
//! but does not decode into the operation's response type (a field the type
//! requires is missing, a value changed type) is [`ErrorKind::Decode`]. The request
//! took effect; [`DecodeError::verified_body`] holds the reply body exactly as
//! WeChat Pay signed it, for reading what was answered instead of sending the
//! request again.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use wechatpay_transport::{Client, Identity};
//! let client = Client::builder(Identity::merchant("1900000001"))
//!     .serial_no("5157F09EFDC096DE15EBE81A47057A7232F1B8E1")
//!     .private_key_file("apiclient_key.pem")
//!     .wechatpay_public_key_file("PUB_KEY_ID_0119000000012025010100000000000000", "pub_key.pem")
//!     .build()?;
//! // The operation comes from the request type: no turbofish.
//! // let coupon = client.execute(&request).await?;
//! # let _ = client; Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod certificates;
pub mod client;
pub mod config;
pub mod error;
mod hosts;
pub mod multipart;
pub mod retry;
// The modules without I/O live in wechatpay-protocol; they keep their paths here.
pub use wechatpay_protocol::{
    clock, crypto, dedup, headers, keys, keystore, notification, oaep, verify,
};
pub mod sign {
    //! Building, signing and parsing what a request carries (from
    //! [`wechatpay_protocol::sign`], re-exported).
    pub use wechatpay_protocol::sign::*;
    pub(crate) use wechatpay_protocol::text::truncate;
}

pub use certificates::{CertificateDownload, CertificateError, PlatformCertificate};
pub use client::{CallOptions, Client, Response, VerifiedReply};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{
    ClientBuilder, ClientConfig, Identity, DEFAULT_BACKUP_URL, DEFAULT_BASE_URL,
    DEFAULT_POOL_IDLE_TIMEOUT,
};
pub use crypto::{Backend, SignError, Signer, Verifier};
pub use error::{
    ApiError, ConfigError, DecodeError, Error, ErrorBody, ErrorChain, ErrorKind, NetworkError,
    NetworkErrorKind, RawCode,
};
pub use headers::{HeaderError, SignatureHeaders};
pub use keys::{Certificate, KeyError, PrivateKeyDer, PublicKeyDer};
pub use keystore::{KeyKind, PublicKeyStore};
pub use multipart::FilePart;
pub use notification::{
    ApiV3Key, DecryptedNotification, Delivery, InMemorySeenEvents, NotificationError,
    NotificationHandler, SeenEvents,
};
pub use oaep::{OaepError, SensitiveEncryptor};
pub use retry::RetryPolicy;
pub use sign::{Authorization, AuthorizationError};
pub use verify::VerifyError;
pub use wechatpay_runtime::{
    AuthScheme, BodyKind, Endpoint, EndpointInfo, ErrorCode, ErrorDoc, ErrorScope, Example,
    FieldInfo, HeaderInfo, Location, Method, OperationRequest, Paginated, PathTemplate,
    RequestNumber, TypeInfo,
};
pub use wechatpay_runtime::{LengthUnit, Validate, Violation, Violations};
