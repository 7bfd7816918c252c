//! Bulk sending for the WeChat Pay product-coupon APIs: one operation to every
//! row of a CSV, at the documented rate, crash-safe, each row sent exactly once —
//! and, where the schema declares a follow-up (a sent coupon must be confirmed),
//! each result followed up exactly once.
//!
//! ```no_run
//! # async fn demo(client: wechatpay_transport::Client) -> Result<(), wechatpay_campaign::CampaignError> {
//! use wechatpay_campaign::{Campaign, CampaignSpec, Control, RunOptions};
//!
//! let spec = CampaignSpec {
//!     operation: wechatpay_endpoints::find("send-user-product-coupon").unwrap(),
//!     input: "users.csv".into(),           // header: openid (and any other body fields)
//!     template_source: "template.json".into(),
//!     template: std::fs::read("template.json").unwrap(), // appid, stock_id, product_coupon_id
//!     journal: "campaign.db".into(),
//! };
//! // The client should not retry by itself (RetryPolicy::none()): the campaign
//! // resends with the same number and must see every 429 to pace itself.
//! let campaign = Campaign::open(&spec)?;   // new: every row checked and numbered; else: resumed
//! let control = Control::new();            // control.stop() from a signal handler
//! let summary = campaign.run(&client, &RunOptions::default(), &control).await?;
//! // succeeded: sent, and the coupon it issued confirmed.
//! println!("{} of {} succeeded", summary.counts.succeeded, summary.counts.total);
//! # Ok(()) }
//! ```
//!
//! - **Input** ([`input`]): the CSV's header names request fields (path
//!   parameters included); the JSON template gives the rest. Every row is
//!   checked with the operation's generated rules before anything is sent.
//! - **Request numbers** ([`number`]): the schema's declared request-number
//!   field (`EndpointInfo::request_number`), from a CSV column or derived from
//!   the campaign and the row, valid for the field's length and charset, and
//!   written to the journal before the first attempt.
//! - **Journal** ([`journal`]): bound to the input's and template's SHA-256;
//!   the same `open` + `run` resumes. An SQLite file (WAL) for one sender, or a
//!   PostgreSQL database (`CampaignSpec::journal` = `postgres://…`) that any
//!   number of workers share: rows under leases that expire when a worker dies,
//!   each brand's rate divided among the workers sending, their 429s shared.
//! - **Pacing** ([`rate`]): a token bucket at the documented rate, slower
//!   after 429s and back up after, with just enough requests in flight.
//! - **Outcomes** ([`outcome`]): an unknown outcome is retried with the same
//!   number; only documented permanent errors fail a row; a verified reply that
//!   does not decode took effect and is never resent.
//! - **Follow-ups** ([`follow_up`]): the second step the schema declares
//!   (`EndpointInfo::follow_up`): a confirm per coupon, recorded with the send's
//!   outcome, sent on its own lane at its own rate, its number derived from the
//!   brand and the coupon (the same in `wechatpay-notify`), a refusal read from the
//!   status operation (still waiting: later, same number; gone: the row fails).
//! - **Brands** ([`pacing`], [`runner::gate`], [`journal::brands`]): for an
//!   operation whose schema names a brand field (a service provider sending for
//!   many brands), each row's brand is journaled, each brand paced in its own
//!   bucket ([`QuotaScope`]), and a refusal about the caller acting for a brand
//!   (NO_AUTH) re-checked, then stops that brand's rows only.

#![warn(missing_docs)]

pub mod campaign;
pub mod control;
pub mod endpoint;
pub mod error;
pub mod follow_up;
pub mod input;
pub mod journal;
pub mod number;
pub mod outcome;
pub mod pacing;
pub mod rate;
pub mod report;
pub mod result;
pub mod runner;

pub use campaign::{run_to_end, Campaign, CampaignSpec, RunSummary};
pub use control::{Control, Progress};
pub use error::CampaignError;
pub use input::{InputError, RowProblem, MAX_CELL_BYTES, MAX_ROW_BYTES};
pub use journal::{Binding, BrandCounts, Counts, NumberSource, RunRecord, State};
pub use pacing::QuotaScope;
pub use report::{report, status, ReportFormat, Status};
pub use runner::gate::GatePolicy;
pub use runner::{RunEnd, RunOptions};
