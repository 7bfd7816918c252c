//! The YAML files as written, one struct per block, nothing resolved yet.
//!
//! `deny_unknown_fields` everywhere: a misspelt key is an error, never a
//! silently dropped rule.

use std::collections::BTreeMap;

use serde::Deserialize;

/// `api.yaml`: what every operation shares. (The hosts are protocol facts kept in
/// `wechatpay-runtime`'s `hosts` module, the one place the transport reads them from.)
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiFile {
    pub common_errors: Vec<ErrorRow>,
    /// Rows shared by the brand operations (`auth: brand`) beyond the common ones.
    #[serde(default)]
    pub brand_common_errors: Vec<ErrorRow>,
    /// What every path parameter must satisfy to become one URL segment.
    #[serde(default)]
    pub path_parameters: Option<PathParameters>,
}

/// `path_parameters:` in `api.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathParameters {
    /// The length cap of a path parameter whose page publishes none.
    pub max_length: u32,
    /// Why that cap (recorded as the field's decision).
    pub decision: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorRow {
    pub status: u16,
    pub code: String,
    /// `request` | `caller`: what the answer is about (`wechatpay_runtime::ErrorScope`).
    pub scope: String,
    pub description: String,
    pub solution: String,
    /// Provenance of a row the page does not print (a code taken from another page).
    #[serde(default)]
    pub source: Option<String>,
    /// What this row's code means here, in snake_case (`app_jump_path_missing`): names
    /// the generated constant of a shared row whose code the shared tables repeat.
    #[serde(default)]
    pub key: Option<String>,
}

/// `endpoints/<operation-id>.yaml`: one doc page, its endpoint and the types it defines.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointFile {
    pub source: Source,
    pub endpoint: Endpoint,
    #[serde(default)]
    pub types: BTreeMap<String, TypeDef>,
}

/// `types/<group>.yaml`: types shared by several pages.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypesFile {
    pub source: Source,
    pub types: BTreeMap<String, TypeDef>,
}

/// `notifications.yaml`: the event types WeChat Pay POSTs to the notify URL.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationsFile {
    pub source: Source,
    pub events: Vec<Event>,
    #[serde(default)]
    pub types: BTreeMap<String, TypeDef>,
}

/// `partner.yaml`: the service-provider (服务商) family, stated once as its differences
/// from the brand operations (see schema/README.md, "partner.yaml").
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerFile {
    pub source: Source,
    pub family: PartnerFamily,
    /// Rows every partner operation shares beyond `api.yaml`'s common rows.
    pub common_errors: Vec<ErrorRow>,
    pub twins: Vec<Twin>,
}

/// What every twin differs by.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerFamily {
    /// `partner`: the auth of every twin.
    pub auth: String,
    /// Prefixes the brand operation's name (`Partner`) and so its id (`partner-`).
    pub name_prefix: String,
    /// The brand path prefix a twin's path replaces …
    pub brand_path_prefix: String,
    /// … with this one.
    pub path_prefix: String,
    /// The field added to every twin's request (`in:` comes from each twin).
    pub brand_field: Field,
    /// The field partner replies add to the shared entity types, and those types.
    pub reply_field: ReplyField,
    /// The headers of every twin (replacing the brand pages' list).
    #[serde(default)]
    pub headers: Vec<Header>,
    pub supported_merchants: Vec<String>,
    /// Transcription notes every twin carries (contradictions and their decisions).
    #[serde(default)]
    pub notes: Vec<String>,
}

/// `family.reply_field`: a field the partner replies carry on shared types.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplyField {
    /// Appended to each type's fields (optional: brand replies do not carry it).
    pub field: Field,
    pub types: Vec<String>,
}

/// One partner operation: the brand operation `of` plus what differs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Twin {
    /// The brand operation's id.
    pub of: String,
    /// Where the brand field goes: `body`, `query` or `none`.
    pub brand_field: String,
    /// The partner pages (ids under https://pay.weixin.qq.com/doc/v3/partner/).
    pub pages: Vec<u64>,
    #[serde(default)]
    pub rate_limit: Option<String>,
    #[serde(default)]
    pub rate_limit_source: Option<String>,
    #[serde(default)]
    pub preconditions: Option<String>,
    /// Rows of this twin beyond its brand twin's page rows.
    #[serde(default)]
    pub errors: Vec<ErrorRow>,
    #[serde(default)]
    pub notes: Vec<String>,
}

/// `sources.yaml`: the official pages of every operation (ids and URLs).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourcesFile {
    pub operations: Vec<SourceEntry>,
}

/// One operation's pages: `official` brand pages and `partner` analogs (either may be empty).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceEntry {
    pub id: String,
    pub title: String,
    pub official: Vec<PageRef>,
    pub partner: Vec<PageRef>,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageRef {
    pub id: u64,
    pub url: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    pub event_type: String,
    pub summary: String,
    pub payload: String,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub uncertain: Option<String>,
    #[serde(default)]
    pub follow_up: Option<FollowUp>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub doc: String,
    pub title: String,
    #[serde(default)]
    pub updated: Option<String>,
    #[serde(default)]
    pub supported_merchants: Vec<String>,
    pub summary: String,
    #[serde(default)]
    pub preconditions: Option<String>,
    /// Provenance strings of the pages transcribed, strongest first.
    #[serde(default)]
    pub pages: Vec<String>,
    /// `full` or `partial`.
    #[serde(default)]
    pub completeness: Option<String>,
    #[serde(default)]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    pub name: String,
    pub method: String,
    pub path: String,
    pub auth: String,
    #[serde(default)]
    pub rate_limit: Option<String>,
    #[serde(default)]
    pub rate_limit_source: Option<String>,
    /// `json` (default for non-GET), `none` (default for GET) or `multipart`.
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub request_number: Option<RequestNumber>,
    #[serde(default)]
    pub pagination: Option<Pagination>,
    #[serde(default)]
    pub follow_up: Option<FollowUp>,
    /// The request field naming the brand a service provider acts for (partner operations).
    #[serde(default)]
    pub brand_field: Option<String>,
    /// The brand operation a partner twin doubles: set by the expansion of `partner.yaml`,
    /// never written in a file.
    #[serde(skip)]
    pub twin_of: Option<String>,
    #[serde(default)]
    pub headers: Vec<Header>,
    pub request: String,
    pub response: String,
    pub errors: Vec<ErrorRow>,
    pub examples: Examples,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestNumber {
    pub field: String,
    #[serde(default)]
    pub unique_within: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pagination {
    pub page_size: String,
    pub page_token: String,
    pub next_page_token: String,
    pub items: String,
}

/// `follow_up:` of an endpoint or an event (see schema/README.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowUp {
    pub operation: String,
    #[serde(default)]
    pub items: Option<String>,
    #[serde(rename = "while")]
    pub while_: WhileValue,
    pub status: String,
    pub done_field: String,
    /// Follow-up request field → `request.x`, `result.x`, `payload.x` or `setting.x`, in order.
    #[serde(deserialize_with = "ordered_pairs")]
    pub fields: Vec<(String, String)>,
    pub number_from: Vec<String>,
    #[serde(default)]
    pub source: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhileValue {
    pub field: String,
    pub equals: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub name: String,
    pub required: bool,
    pub description: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Examples {
    #[serde(default)]
    pub requests: Vec<Example>,
    #[serde(default)]
    pub responses: Vec<Example>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    pub name: String,
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default, deserialize_with = "ordered_pairs")]
    pub path: Vec<(String, String)>,
    #[serde(default, deserialize_with = "ordered_pairs")]
    pub query: Vec<(String, String)>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
}

/// A map of strings in the order the file writes it (example parameters keep the page's order).
fn ordered_pairs<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<(String, String)>, D::Error> {
    struct Pairs;
    impl<'de> serde::de::Visitor<'de> for Pairs {
        type Value = Vec<(String, String)>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a map of parameter names to string values")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out: Vec<(String, String)> = Vec::new();
            while let Some((key, value)) = map.next_entry::<String, String>()? {
                if out.iter().any(|(k, _)| *k == key) {
                    return Err(serde::de::Error::custom(format!("{key} is given twice")));
                }
                out.push((key, value));
            }
            Ok(out)
        }
    }
    deserializer.deserialize_map(Pairs)
}

/// An object or enum type. A plain struct rather than a tagged enum so that
/// errors inside it keep their exact path; `kind` is checked when resolving.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypeDef {
    pub kind: String,
    pub description: String,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub uncertain: Option<String>,
    #[serde(default)]
    pub decision: Option<String>,
    #[serde(default)]
    pub fields: Option<Vec<Field>>,
    #[serde(default)]
    pub rules: Option<Vec<RuleDef>>,
    #[serde(default)]
    pub values: Option<Vec<EnumValue>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    pub name: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(rename = "type")]
    pub ty: String,
    pub required: bool,
    #[serde(default, rename = "in")]
    pub location: Option<String>,
    #[serde(default)]
    pub min_length: Option<u32>,
    #[serde(default)]
    pub max_length: Option<u32>,
    #[serde(default)]
    pub length_unit: Option<String>,
    #[serde(default)]
    pub charset: Option<String>,
    #[serde(default)]
    pub minimum: Option<i64>,
    #[serde(default)]
    pub maximum: Option<i64>,
    #[serde(default)]
    pub min_items: Option<u32>,
    #[serde(default)]
    pub max_items: Option<u32>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub length_source: Option<String>,
    #[serde(default)]
    pub uncertain: Option<String>,
    #[serde(default)]
    pub decision: Option<String>,
    pub description: String,
    #[serde(default)]
    pub example: Option<String>,
}

/// A conditional rule: `required_if` (`field`, `when`, `equals`), `required_with`
/// (`field`, `when`), `at_least_one_of` / `exactly_one_of` (`fields`) or `server_side` (`field`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDef {
    pub kind: String,
    #[serde(default)]
    pub field: Option<String>,
    #[serde(default)]
    pub fields: Option<Vec<String>>,
    #[serde(default)]
    pub when: Option<String>,
    #[serde(default)]
    pub equals: Option<String>,
    pub description: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnumValue {
    pub value: String,
    pub meaning: String,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub uncertain: Option<String>,
    #[serde(default)]
    pub decision: Option<String>,
}
