//! What the schema says about operations and types, as static data.
//!
//! The models crate describes every type with a [`TypeInfo`] (its fields and
//! their rules: the same [`StrRule`] values that `validate()` checks); the
//! endpoints crate describes every operation with an [`EndpointInfo`] and
//! implements [`Endpoint`] for one unit type per operation. Tools read these
//! at run time: the JSON check of the CLI and the sandbox, `describe`, the
//! sandbox's routing and idempotency.

use std::fmt::Debug;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::path::PathTemplate;
use crate::validation::{IntRule, StrRule, Validate};

/// The largest file an upload (`multipart/form-data`, upload-image) may carry: 2 MB, per the page.
pub const MAX_UPLOAD_FILE_BYTES: usize = 2 * 1024 * 1024;

/// How requests to an endpoint are signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthScheme {
    /// Merchant APIs: `WECHATPAY2-SHA256-RSA2048 mchid="…",…`.
    Merchant,
    /// Brand APIs: `WECHATPAY-BRAND-SHA256-RSA2048 brand_id="…",…`.
    Brand,
    /// Service-provider (服务商) APIs: the merchant scheme signed with the provider's
    /// `mchid`; the brand it acts for is a request field, never in `Authorization`.
    /// A family of its own so that a client refuses another family's operation.
    Partner,
}

impl AuthScheme {
    /// The scheme word that opens the `Authorization` header.
    pub fn scheme(self) -> &'static str {
        match self {
            AuthScheme::Merchant | AuthScheme::Partner => "WECHATPAY2-SHA256-RSA2048",
            AuthScheme::Brand => "WECHATPAY-BRAND-SHA256-RSA2048",
        }
    }

    /// The schemes as they differ on the wire (a partner signs as a merchant).
    pub const ON_THE_WIRE: [AuthScheme; 2] = [AuthScheme::Merchant, AuthScheme::Brand];

    /// Whether an `Authorization` of `self` signs a request of `expected`: the
    /// same scheme word (a partner request carries the merchant scheme).
    pub fn signs_for(self, expected: AuthScheme) -> bool {
        self.scheme() == expected.scheme()
    }

    /// The family's name: `merchant`, `brand` or `partner`.
    pub fn family(self) -> &'static str {
        match self {
            AuthScheme::Merchant => "merchant",
            AuthScheme::Brand => "brand",
            AuthScheme::Partner => "partner",
        }
    }

    /// The name of the identity parameter in the `Authorization` header.
    pub fn identity_param(self) -> &'static str {
        match self {
            AuthScheme::Merchant | AuthScheme::Partner => "mchid",
            AuthScheme::Brand => "brand_id",
        }
    }
}

/// HTTP method of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
    /// `PATCH`.
    Patch,
    /// `DELETE`.
    Delete,
}

impl Method {
    /// The method as it appears in the signed message.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// Where a request field travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Location {
    /// In the URL path, one `{placeholder}` segment each, percent-encoded.
    Path,
    /// In the query string.
    Query,
    /// In the JSON body (the default).
    Body,
}

impl Location {
    /// `path`, `query` or `body`.
    pub fn as_str(self) -> &'static str {
        match self {
            Location::Path => "path",
            Location::Query => "query",
            Location::Body => "body",
        }
    }
}

/// What a request's body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BodyKind {
    /// The request's body fields as JSON.
    Json,
    /// No body: every field is a path or query parameter.
    None,
    /// `multipart/form-data`: the request's JSON (`meta`) part is what is signed, plus a file part.
    Multipart,
}

/// What a refusal is about, as the schema declares it on each error row (`scope:`).
///
/// Read only for answers that are not retried ([`crate::retry::retryable`] comes first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorScope {
    /// About this request's own values (the user's limit, an invalid openid, a coupon
    /// code): another request may succeed where this one cannot.
    Request,
    /// About the caller or what every request shares (signature, permission, the stock
    /// exhausted or expired): every other request would get it too.
    Caller,
}

impl ErrorScope {
    /// The scope of a code the operation's table does not list: `Caller`. A tool that
    /// stops on it can resume the same request later; one that marked the request as
    /// finally refused could not undo that for every request an unknown answer touched.
    pub const UNDOCUMENTED: ErrorScope = ErrorScope::Caller;

    /// As the schema writes it: `request` or `caller`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorScope::Request => "request",
            ErrorScope::Caller => "caller",
        }
    }
}

/// One row of an endpoint's error table (a code may have several rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorDoc {
    /// The HTTP status WeChat Pay answers with.
    pub status: u16,
    /// The error code, as in the reply's `code` (`PARAM_ERROR`).
    pub code: &'static str,
    /// What the code means here, as the page words it.
    pub description: &'static str,
    /// What the page says to do about it.
    pub solution: &'static str,
    /// What the answer is about (the schema's `scope:`).
    pub scope: ErrorScope,
    /// What a shared row's code means here, when its code repeats in the shared tables
    /// (`provider_not_authorised` for the partner family's `NO_AUTH`); `None` for a page row.
    pub key: Option<&'static str>,
}

impl ErrorDoc {
    /// Whether sending the same request again (same request number) can succeed.
    pub fn retryable(&self) -> bool {
        crate::retry::retryable(self.status, self.code)
    }
}

/// A header the page lists (or its sample sends) beyond `Authorization`, `Accept` and
/// `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderInfo {
    /// The header name, e.g. `Wechatpay-Serial`.
    pub name: &'static str,
    /// Whether the page marks the header as required.
    pub required: bool,
    /// What the page says the header carries.
    pub description: &'static str,
}

/// A request or reply example from the doc page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Example {
    /// The example's name on the page (e.g. 发放普通券).
    pub name: &'static str,
    /// Path parameters as (placeholder, value) pairs, in the page's order.
    pub path_params: &'static [(&'static str, &'static str)],
    /// Query parameters as (name, value) pairs, in the page's order.
    pub query_params: &'static [(&'static str, &'static str)],
    /// The JSON body exactly as the page shows it (empty when the request has none).
    pub body: &'static str,
    /// Where the example's values come from, when not the operation's own page.
    pub source: Option<&'static str>,
}

impl Example {
    /// An example with only a body (the common case), for `..Example::EMPTY`-style literals.
    pub const EMPTY: Example = Example {
        name: "",
        path_params: &[],
        query_params: &[],
        body: "",
        source: None,
    };
}

/// Where a fact comes from and how sure it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Provenance {
    /// `official 4016427405`, `partner 4015781605`, `sample-code`, `mirror`, …; `None`: the
    /// operation's own (first) page.
    pub source: Option<&'static str>,
    /// Where a length or range limit comes from, when it differs from `source`.
    pub limit_source: Option<&'static str>,
    /// Why the fact is 【uncertain】, when it is.
    pub uncertain: Option<&'static str>,
    /// The contradiction between sources decided here, and the choice.
    pub decision: Option<&'static str>,
}

impl Provenance {
    /// No provenance beyond the operation's own page.
    pub const PAGE: Provenance = Provenance {
        source: None,
        limit_source: None,
        uncertain: None,
        decision: None,
    };

    /// One line for docs and `describe`, empty when there is nothing to say.
    pub fn summary(&self) -> String {
        provenance_text(
            self.source,
            self.limit_source,
            self.uncertain,
            self.decision,
        )
    }

    /// This provenance with `source` filled from `default` (the type's or the page's)
    /// when the fact names none of its own.
    pub fn or_source(self, default: Option<&'static str>) -> Provenance {
        Provenance {
            source: self.source.or(default),
            ..self
        }
    }
}

/// The one wording of a fact's provenance, for rustdoc (the generator) and `describe`:
/// `Source: partner 4015781605. Limit from: guide. 【uncertain】 …. Decision: …`.
pub fn provenance_text(
    source: Option<&str>,
    limit_source: Option<&str>,
    uncertain: Option<&str>,
    decision: Option<&str>,
) -> String {
    let mut parts = Vec::new();
    if let Some(s) = source {
        parts.push(format!("Source: {s}."));
    }
    if let Some(s) = limit_source {
        parts.push(format!("Limit from: {s}."));
    }
    if let Some(u) = uncertain {
        parts.push(format!("【uncertain】 {u}"));
    }
    if let Some(d) = decision {
        parts.push(format!("Decision: {d}"));
    }
    parts.join(" ")
}

/// The type of a field, with the rules that apply to its values.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    /// A string, with its length and charset rule.
    String(StrRule),
    /// An integer, with its range.
    Integer(IntRule),
    /// A JSON boolean.
    Boolean,
    /// An RFC 3339 date-time string.
    DateTime,
    /// A string enum with its documented values.
    Enum {
        /// The enum's type name.
        name: &'static str,
        /// Its documented wire values.
        values: &'static [&'static str],
    },
    /// A nested object of the schema.
    Object(&'static TypeInfo),
    /// A JSON array.
    Array {
        /// The type of each item.
        item: &'static Ty,
        /// The fewest items allowed, if the schema says.
        min_items: Option<usize>,
        /// The most items allowed, if the schema says.
        max_items: Option<usize>,
    },
}

impl Ty {
    /// The schema spelling: `string`, `integer`, `CouponTagInfo`, `array<string>`.
    pub fn schema_name(&self) -> String {
        match self {
            Ty::String(_) => "string".into(),
            Ty::Integer(_) => "integer".into(),
            Ty::Boolean => "boolean".into(),
            Ty::DateTime => "datetime".into(),
            Ty::Enum { name, .. } => (*name).into(),
            Ty::Object(info) => info.name.into(),
            Ty::Array { item, .. } => format!("array<{}>", item.schema_name()),
        }
    }
}

/// One field of an object type.
#[derive(Debug, Clone, Copy)]
pub struct FieldInfo {
    /// The wire name.
    pub name: &'static str,
    /// The 【…】 title, when the page gives one.
    pub title: Option<&'static str>,
    /// The field's type and value rule.
    pub ty: Ty,
    /// Whether the field must be present.
    pub required: bool,
    /// Where a request field travels (path, query or body).
    pub location: Location,
    /// The page's description of the field.
    pub description: &'static str,
    /// Where the field's facts come from and how sure they are.
    pub provenance: Provenance,
}

impl FieldInfo {
    /// An optional body field of type `string` with no rule and no text; generated
    /// rows spell out only what differs from it.
    pub const DEFAULT: FieldInfo = FieldInfo {
        name: "",
        title: None,
        ty: Ty::String(StrRule::NONE),
        required: false,
        location: Location::Body,
        description: "",
        provenance: Provenance::PAGE,
    };

    /// The string rule of a string field (or of the items of a list of strings).
    pub fn str_rule(&self) -> Option<&StrRule> {
        let mut ty = &self.ty;
        while let Ty::Array { item, .. } = ty {
            ty = item;
        }
        match ty {
            Ty::String(rule) => Some(rule),
            _ => None,
        }
    }
}

/// A conditional rule between fields of one type, as data (also checked by `validate()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleInfo {
    /// `field` is required when `when` is (or, for a list, contains) `equals`.
    RequiredIf {
        /// The field that becomes required.
        field: &'static str,
        /// The field whose value decides it.
        when: &'static str,
        /// The value of `when` that makes `field` required.
        equals: &'static str,
    },
    /// `field` is required when `when` is present.
    RequiredWith {
        /// The field that becomes required.
        field: &'static str,
        /// The field whose presence makes `field` required.
        when: &'static str,
    },
    /// At least one of `fields` is present.
    AtLeastOneOf {
        /// The wire names of the fields, at least one of which must be present.
        fields: &'static [&'static str],
    },
    /// Exactly one of `fields` is present.
    ExactlyOneOf {
        /// The wire names of the fields, exactly one of which must be present.
        fields: &'static [&'static str],
    },
    /// A rule only WeChat Pay can check; documented, not enforced.
    ServerSide {
        /// The field the rule concerns.
        field: &'static str,
        /// The rule as the schema words it.
        description: &'static str,
    },
}

impl RuleInfo {
    /// The rule as `describe` lists it beside `field`, if it concerns that field.
    pub fn text_for(&self, field: &str) -> Option<String> {
        match *self {
            RuleInfo::RequiredIf {
                field: f,
                when,
                equals,
            } if f == field => Some(required_if_text(when, equals)),
            RuleInfo::RequiredWith { field: f, when } if f == field => {
                Some(required_with_text(when))
            }
            RuleInfo::AtLeastOneOf { fields } if fields.contains(&field) => {
                Some(at_least_one_of_text(fields))
            }
            RuleInfo::ExactlyOneOf { fields } if fields.contains(&field) => {
                Some(exactly_one_of_text(fields))
            }
            RuleInfo::ServerSide {
                field: f,
                description,
            } if f == field => Some(server_side_text(description)),
            _ => None,
        }
    }
}

/// The one wording of each conditional rule (rustdoc and `describe`).
pub fn required_if_text(when: &str, equals: &str) -> String {
    format!("required when {when} is {equals}")
}

/// See [`required_if_text`].
pub fn required_with_text(when: &str) -> String {
    format!("required when {when} is given")
}

/// See [`required_if_text`].
pub fn at_least_one_of_text<S: AsRef<str>>(fields: &[S]) -> String {
    let names: Vec<&str> = fields.iter().map(AsRef::as_ref).collect();
    format!("at least one of {} is required", names.join(", "))
}

/// See [`required_if_text`].
pub fn exactly_one_of_text<S: AsRef<str>>(fields: &[S]) -> String {
    let names: Vec<&str> = fields.iter().map(AsRef::as_ref).collect();
    format!("exactly one of {} is required", names.join(", "))
}

/// See [`required_if_text`].
pub fn server_side_text(description: &str) -> String {
    format!("checked by WeChat Pay, not locally: {description}")
}

/// An object type of the schema.
#[derive(Debug, Clone, Copy)]
pub struct TypeInfo {
    /// The type name (`StockSendRule`).
    pub name: &'static str,
    /// The type's description.
    pub description: &'static str,
    /// Its fields, in page order.
    pub fields: &'static [FieldInfo],
    /// Its conditional rules between fields.
    pub rules: &'static [RuleInfo],
    /// Where the type's facts come from and how sure they are.
    pub provenance: Provenance,
}

impl TypeInfo {
    /// The field named `name`.
    pub fn field(&self, name: &str) -> Option<&'static FieldInfo> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// A generated type that knows its schema description.
pub trait Described {
    /// The type's fields and rules.
    const TYPE_INFO: &'static TypeInfo;
}

/// The operation's request number: its idempotency key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestNumber {
    /// The top-level body field that carries it (`out_request_no`, `send_request_no`).
    pub field: &'static str,
    /// Fields whose values scope the number (`out_request_no` is unique per stock per user).
    pub unique_within: &'static [&'static str],
}

/// A second operation a result needs before it is usable, as the schema declares it
/// (`follow_up:`): a coupon that send issues stays `CONFIRMING` until the brand confirms it.
///
/// Whoever performs it (a campaign, a notify URL) builds its request from [`FollowUp::fields`]
/// and derives its request number from the caller and [`FollowUp::number_from`], so every
/// party that performs the same follow-up sends the same number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowUp {
    /// The operation to call (`confirm-send-user-product-coupon`).
    pub operation_id: &'static str,
    /// The response array whose items are the results (a bundle's coupons); `None`: the
    /// response itself is the one result.
    pub items: Option<&'static str>,
    /// A result needs the follow-up while this field of it (and of the status answer) …
    pub while_field: &'static str,
    /// … has this value (`coupon_state` = `CONFIRMING`).
    pub while_equals: &'static str,
    /// The operation that tells where a result stands, asked when the follow-up is refused.
    pub status_operation_id: &'static str,
    /// A field of the status answer that is set once the follow-up took effect
    /// (`confirm_request_no`), with the follow-up's request number as its value.
    pub done_field: &'static str,
    /// Every field of the follow-up's request and where its value comes from; the status
    /// operation's request takes the fields it has from the same values.
    pub fields: &'static [FollowUpField],
    /// Fields of the follow-up's request whose values, with the caller's identity, derive
    /// its request number.
    pub number_from: &'static [&'static str],
}

/// One field of a follow-up's request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowUpField {
    /// The follow-up request's field (path parameters included).
    pub name: &'static str,
    /// Where the value comes from.
    pub from: ValueFrom,
}

/// Where a follow-up request's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueFrom {
    /// A field of the request that produced the result.
    Request(&'static str),
    /// A field of the result (the response, or one item of [`FollowUp::items`]).
    Result(&'static str),
    /// A field of a notification's decrypted payload.
    Payload(&'static str),
    /// A value the caller configures, because neither the request nor the payload carries
    /// it (a notification does not name the AppID).
    Setting(&'static str),
}

/// How a list operation pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pagination {
    /// Query field: how many items a page holds.
    pub page_size: &'static str,
    /// Query field: where the page starts (the previous page's next token; absent at first).
    pub page_token: &'static str,
    /// Response field: the token of the next page (absent or empty on the last page).
    pub next_page_token: &'static str,
    /// Response field: the page's items.
    pub items: &'static str,
}

/// Everything the schema says about one operation.
#[derive(Debug, Clone, Copy)]
pub struct EndpointInfo {
    /// Kebab-case id, e.g. `send-user-product-coupon`.
    pub operation_id: &'static str,
    /// The doc page title.
    pub title: &'static str,
    /// The doc page's update date, `YYYY-MM-DD`, when the page gives one.
    pub doc_updated: Option<&'static str>,
    /// The pages the operation was transcribed from, strongest first.
    pub pages: &'static [&'static str],
    /// Whether every request fact is known (`Some(true)`, "full") or some are missing
    /// (`Some(false)`, "partial"); `None` where the schema does not say.
    pub complete: Option<bool>,
    /// The schema's transcription notes on the operation (contradictions between pages and
    /// how each was decided), for `wechatpay describe`; rustdoc leaves them out.
    pub notes: &'static [&'static str],
    /// The HTTP method.
    pub method: Method,
    /// The path template with its `{placeholder}` parameters.
    pub path: PathTemplate,
    /// Which signature scheme (and credentials) the operation takes: brand, merchant or partner.
    pub auth: AuthScheme,
    /// The request field naming the brand a service provider acts for (`brand_id` on
    /// partner operations that carry one), as the schema's partner family declares it.
    pub brand_field: Option<&'static str>,
    /// The brand operation a partner operation doubles (`send-user-product-coupon` for
    /// `partner-send-user-product-coupon`): the same semantics for another caller.
    pub twin_of: Option<&'static str>,
    /// What the request body is: JSON, multipart, or none.
    pub body: BodyKind,
    /// The headers the page lists beyond `Authorization`, `Accept` and `Content-Type`.
    pub headers: &'static [HeaderInfo],
    /// The documented rate limit, as the page words it, if any.
    pub rate_limit: Option<&'static str>,
    /// Where the rate limit comes from, when not the operation's own page.
    pub rate_limit_source: Option<&'static str>,
    /// Requests per second for the limit, when it is per second.
    pub rate_per_second: Option<u32>,
    /// The request type's fields and rules.
    pub request: &'static TypeInfo,
    /// The response type's fields and rules.
    pub response: &'static TypeInfo,
    /// The request field that makes a resend idempotent, if the operation has one.
    pub request_number: Option<RequestNumber>,
    /// How the operation pages, if it is a list.
    pub pagination: Option<Pagination>,
    /// The second operation each result needs before it is usable, if any.
    pub follow_up: Option<FollowUp>,
    /// The full error table, common codes included, every row kept.
    pub errors: &'static [ErrorDoc],
    /// The page's request examples.
    pub request_examples: &'static [Example],
    /// The page's response examples.
    pub response_examples: &'static [Example],
}

impl EndpointInfo {
    /// The error table rows for `code`.
    pub fn error_rows<'a>(&self, code: &'a str) -> impl Iterator<Item = &'static ErrorDoc> + 'a {
        self.errors.iter().filter(move |row| row.code == code)
    }

    /// What an answer with `code` is about: the scope of its table rows;
    /// [`ErrorScope::Caller`] when any row of the code says so (a code whose rows
    /// disagree may be about the caller); [`ErrorScope::UNDOCUMENTED`] when the table
    /// lacks the code.
    pub fn error_scope(&self, code: &str) -> ErrorScope {
        let mut rows = self.error_rows(code).peekable();
        if rows.peek().is_none() {
            return ErrorScope::UNDOCUMENTED;
        }
        if rows.any(|row| row.scope == ErrorScope::Caller) {
            ErrorScope::Caller
        } else {
            ErrorScope::Request
        }
    }
}

/// A typed error code from an endpoint's error table, with a fallback for others.
pub trait ErrorCode: Debug + Clone + PartialEq + Send + Sync + 'static {
    /// The operation's error table (empty for codes of no known operation).
    const TABLE: &'static [ErrorDoc] = &[];

    /// Maps a reply's `code` to a variant (unknown codes are kept verbatim).
    fn from_code(code: &str) -> Self;

    /// The code as WeChat Pay writes it.
    fn code(&self) -> &str;

    /// The error table rows for this code (empty for a code the table lacks).
    fn docs(&self) -> Vec<&'static ErrorDoc> {
        let code = self.code();
        Self::TABLE.iter().filter(|row| row.code == code).collect()
    }

    /// Whether the same request may succeed when sent again.
    fn retryable(&self) -> bool {
        crate::retry::retryable_code(self.code()) || self.docs().iter().any(|row| row.retryable())
    }
}

/// One API operation; implemented by a unit type per operation.
pub trait Endpoint: Send + Sync + 'static {
    /// The typed request (path, query and body fields in one struct).
    type Request: Serialize + Validate + Send + Sync;
    /// The typed success reply.
    type Response: DeserializeOwned + Send;
    /// The operation's typed error codes.
    type ErrorCode: ErrorCode;

    /// The schema facts of this operation.
    const INFO: &'static EndpointInfo;

    /// The request path with every path parameter percent-encoded.
    fn path(request: &Self::Request) -> String;

    /// The query string (without `?`), if the operation has query parameters set.
    fn query(_request: &Self::Request) -> Option<String> {
        None
    }
}

/// Names the one operation a request type is the request of, so that a client
/// can take the operation from the request alone: `client.execute(&request)`
/// rather than `client.execute::<SendUserProductCoupon>(&request)`.
///
/// The endpoints crate implements it once per operation,
/// `impl OperationRequest<SendUserProductCoupon> for SendUserProductCouponRequest {}`.
/// The endpoint type is a trait parameter rather than an associated type so
/// that the impl may live beside the (local) endpoint type while the request
/// type lives in the models crate: the orphan rules accept a foreign trait
/// for a foreign type when a local type is one of the trait's parameters (the
/// "marker" idiom of bevy's `IntoSystem<Marker>`). Since every request type
/// has exactly one such impl, a caller's `E` is inferred:
///
/// ```
/// use wechatpay_runtime::{Endpoint, OperationRequest};
/// fn operation_of<R: OperationRequest<E>, E: Endpoint<Request = R>>(_: &R) -> &'static str {
///     E::INFO.operation_id
/// }
/// ```
///
/// The impls live in `wechatpay-endpoints`: a crate that names nothing of it
/// (only models and the client) does not see them, and needs a
/// `use wechatpay_endpoints as _;`; the compiler's error says so.
///
/// A type that is the request of several operations (hand-written test
/// endpoints may share one) can still name the operation explicitly, e.g.
/// `client.execute::<_, MyEndpoint>(&request)`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not the request type of an operation",
    label = "not an operation's request",
    note = "an operation's request type (in `wechatpay-models`) names its operation through an impl in `wechatpay-endpoints`; a crate that mentions nothing of `wechatpay-endpoints` does not see those impls: add `use wechatpay_endpoints as _;`"
)]
pub trait OperationRequest<E: Endpoint<Request = Self>>: Sized {}

/// A list operation that pages with a token: the transport's `Client::pages` walks every
/// page with it (generated for each operation the schema gives `pagination`).
pub trait Paginated: Endpoint
where
    Self::Request: Clone,
{
    /// One item of a page.
    type Item;

    /// Sets where the next request starts (`None`: the first page).
    fn set_page_token(request: &mut Self::Request, token: Option<String>);

    /// The token of the page after `response`; `None` (or empty) on the last page.
    fn next_page_token(response: &Self::Response) -> Option<&str>;

    /// The page's items.
    fn items(response: Self::Response) -> Vec<Self::Item>;
}

/// The events WeChat Pay POSTs to the notify URL, each with its typed decrypted payload
/// (generated from `notifications.yaml`); the transport's notification handler decodes
/// into it after verifying and decrypting a delivery.
pub trait Event: Sized {
    /// Every documented `event_type`, in schema order.
    const EVENT_TYPES: &'static [&'static str];

    /// Decodes the decrypted payload of a documented event type; `None` for a type this
    /// SDK does not know (see [`Event::unknown`]).
    fn decode<'de, D: serde::Deserializer<'de>>(
        event_type: &str,
        payload: D,
    ) -> Option<Result<Self, D::Error>>;

    /// An event type this SDK does not know, kept raw: its type and the decrypted JSON text.
    fn unknown(event_type: String, plaintext: String) -> Self;

    /// The event's `event_type`.
    fn event_type(&self) -> &str;

    /// The operation an event of `event_type` asks the receiver to perform (a coupon issued
    /// through any channel must be confirmed), as `notifications.yaml` declares it.
    fn follow_up(event_type: &str) -> Option<&'static FollowUp>;
}
