//! Schema model → generated files (quote → syn → prettyplease).

mod docs;
mod endpoints;
mod format;
mod models;
mod names;

use std::collections::BTreeMap;

use crate::schema::Schema;

/// One generated file: its path relative to the workspace root and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    pub path: String,
    pub contents: String,
}

/// The directories the generator owns; a file in them it did not produce is stale.
pub const GENERATED_DIRS: &[&str] = &[
    "crates/wechatpay-models/src/generated",
    "crates/wechatpay-endpoints/src/generated",
];

/// Every generated file, sorted by path.
pub fn generate(schema: &Schema) -> Result<Vec<GeneratedFile>, String> {
    let sources: BTreeMap<String, _> = schema
        .endpoints
        .iter()
        .map(|e| (e.file.clone(), e.source.clone()))
        .collect();
    let mut files = models::emit(schema, &sources)?;
    files.extend(endpoints::emit(schema)?);
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// The marker every generated file starts with.
pub fn is_generated(contents: &str) -> bool {
    contents.starts_with("// @generated")
}

pub use format::{header, render};
pub use names::is_keyword;
