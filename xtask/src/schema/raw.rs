//! The YAML files as written, one struct per block, nothing resolved yet.
//!
//! `deny_unknown_fields` everywhere: a misspelt key is an error, never a
//! silently dropped rule.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiFile {
    pub hosts: Hosts,
    pub common_errors: Vec<ErrorRow>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hosts {
    pub main: String,
    pub backup: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorRow {
    pub status: u16,
    pub code: String,
    pub description: String,
    pub solution: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointFile {
    pub source: Source,
    pub endpoint: Endpoint,
    #[serde(default)]
    pub types: BTreeMap<String, TypeDef>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub doc: String,
    pub title: String,
    pub updated: String,
    #[serde(default)]
    pub supported_merchants: Vec<String>,
    pub summary: String,
    #[serde(default)]
    pub preconditions: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    pub name: String,
    pub method: String,
    pub path: String,
    pub auth: String,
    #[serde(default)]
    pub rate_limit: Option<String>,
    #[serde(default)]
    pub headers: Vec<Header>,
    pub request: String,
    pub response: String,
    pub errors: Vec<ErrorRow>,
    pub examples: Examples,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub name: String,
    pub required: bool,
    pub description: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Examples {
    #[serde(default)]
    pub requests: Vec<Example>,
    #[serde(default)]
    pub responses: Vec<Example>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    pub name: String,
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub path: BTreeMap<String, String>,
    pub body: String,
}

/// An object or enum type. A plain struct rather than a tagged enum so that
/// errors inside it keep their exact path; `kind` is checked when resolving.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypeDef {
    pub kind: String,
    pub description: String,
    #[serde(default)]
    pub fields: Option<Vec<Field>>,
    #[serde(default)]
    pub rules: Option<Vec<RuleDef>>,
    #[serde(default)]
    pub values: Option<Vec<EnumValue>>,
}

#[derive(Debug, Deserialize)]
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
    pub description: String,
    #[serde(default)]
    pub example: Option<String>,
}

/// A conditional rule: `required_if` (with `when` and `equals`) or `server_side`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDef {
    pub kind: String,
    pub field: String,
    #[serde(default)]
    pub when: Option<String>,
    #[serde(default)]
    pub equals: Option<String>,
    pub description: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnumValue {
    pub value: String,
    pub meaning: String,
}
