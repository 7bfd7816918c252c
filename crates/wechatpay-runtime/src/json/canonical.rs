//! One text for one JSON value: what request fingerprints (the sandbox's
//! idempotency) and journal bindings (a campaign's template) hash.

use serde_json::Value;

/// `value` as compact JSON with every object's keys sorted: the same text for
/// the same JSON, whatever the whitespace and key order it was written with.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write(value, &mut out);
    out
}

fn write(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(v, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_order_and_whitespace_do_not_matter() {
        let a: Value =
            serde_json::from_str(r#"{"b": [1, {"d": "券", "c": null}], "a": true}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a":true,"b":[1,{"c":null,"d":"券"}]}"#).unwrap();
        assert_eq!(
            canonical_json(&a),
            r#"{"a":true,"b":[1,{"c":null,"d":"券"}]}"#
        );
        assert_eq!(canonical_json(&a), canonical_json(&b));
    }
}
