//! Schema: YAML files → validated model.

mod charset;
mod error;
mod load;
pub mod model;
mod raw;
mod resolve;

use std::path::Path;

pub use error::{SchemaError, SchemaErrors};
pub use model::Schema;

/// Loads and validates the schema directory; every problem is reported at once.
pub fn load(dir: &Path) -> Result<Schema, SchemaErrors> {
    let loaded = load::load(dir).map_err(SchemaErrors)?;
    let schema = resolve::resolve(loaded).map_err(SchemaErrors)?;
    let value_errors = resolve::check_required_if_values(&schema.types);
    if value_errors.is_empty() {
        Ok(schema)
    } else {
        Err(SchemaErrors(value_errors))
    }
}
