//! Schema model → generated files (quote → syn → prettyplease).

mod docs;
mod endpoints;
mod follow_up;
mod format;
mod models;

use proc_macro2::Ident;

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
///
/// The two crates are emitted on two threads: formatting (syn + prettyplease) is most of
/// codegen's time, and tokens never cross threads (each thread renders its own to text).
pub fn generate(schema: &Schema) -> Result<Vec<GeneratedFile>, String> {
    let (models, endpoints) = std::thread::scope(|scope| {
        let models = scope.spawn(|| models::emit(schema));
        let endpoints = endpoints::emit(schema);
        let models = models
            .join()
            .unwrap_or_else(|_| Err("the models emitter panicked".to_owned()));
        (models, endpoints)
    });
    let mut files = models?;
    files.extend(endpoints?);
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// The marker every generated file starts with.
pub fn is_generated(contents: &str) -> bool {
    contents.starts_with("// @generated")
}

pub use format::{header, render};

/// The identifier for a name the IR decided (`r#type` for a raw identifier).
pub fn ident(name: &str) -> Ident {
    match name.strip_prefix("r#") {
        Some(raw) => Ident::new_raw(raw, proc_macro2::Span::call_site()),
        None => Ident::new(name, proc_macro2::Span::call_site()),
    }
}
