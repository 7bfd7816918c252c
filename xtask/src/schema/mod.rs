//! Schema: YAML files → validated model.

mod charset;
mod error;
mod load;
pub mod model;
mod raw;
pub mod resolve;
mod twins;

use std::path::Path;

pub use error::{SchemaError, SchemaErrors};
pub use model::Schema;

/// Loads and validates the schema directory; every problem is reported at once.
pub fn load(dir: &Path) -> Result<Schema, SchemaErrors> {
    let loaded = load::load(dir).map_err(SchemaErrors)?;
    resolve::resolve(loaded).map_err(SchemaErrors)
}
