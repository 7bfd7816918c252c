//! Decoding a verified reply into the operation's response type, and printing
//! what was decoded.
//!
//! [`Endpoint::Response`](wechatpay_transport::Endpoint::Response) is only
//! `DeserializeOwned`, so a value of it cannot be serialized back from a
//! generic context. Instead the JSON is deserialized into the response type
//! through a [`Recorder`], a `Deserializer` wrapper that writes down every
//! value the type's `Deserialize` takes, as it takes it: the printed JSON is
//! exactly what the type decoded, field by field, in the reply's order. Fields
//! the type ignores (unknown to the schema) are left out, as re-serializing
//! the decoded value would.

use std::fmt;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};
use serde_json::{Map, Value};

/// Why a verified body did not decode into the response type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeProblem {
    /// Where in the body (`coupon_code`, `items[0].id`, `.` for the whole body).
    pub path: String,
    /// The decoder's message.
    pub message: String,
}

impl fmt::Display for DecodeProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path == "." {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Decodes `body` into `T` and returns what `T` decoded, as JSON.
///
/// A body of only whitespace decodes as `null` (as the transport's
/// `VerifiedReply::json` does), which a struct refuses. Trailing bytes,
/// invalid UTF-8 and every JSON syntax error are refused.
pub fn decode_as<T: DeserializeOwned>(body: &[u8]) -> Result<Value, DecodeProblem> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"null"
    } else {
        body
    };
    let mut de = serde_json::Deserializer::from_slice(body);
    let mut out = None;
    let problem = |path: String, e: serde_json::Error| DecodeProblem {
        path,
        message: crate::exit::bounded(&e.to_string(), 300),
    };
    serde_path_to_error::deserialize::<_, T>(Recorder {
        de: &mut de,
        out: &mut out,
    })
    .map_err(|e| problem(e.path().to_string(), e.into_inner()))?;
    de.end().map_err(|e| problem(".".into(), e))?;
    Ok(out.unwrap_or(Value::Null))
}

/// A deserializer that records into `out` what is taken from `de`.
struct Recorder<'o, D> {
    de: D,
    out: &'o mut Option<Value>,
}

macro_rules! forward {
    ($($method:ident),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
            self.de.$method(Rec { inner: visitor, out: self.out })
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Recorder<'_, D> {
    type Error = D::Error;

    forward!(
        deserialize_any,
        deserialize_bool,
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_i128,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64,
        deserialize_u128,
        deserialize_f32,
        deserialize_f64,
        deserialize_char,
        deserialize_str,
        deserialize_string,
        deserialize_bytes,
        deserialize_byte_buf,
        deserialize_option,
        deserialize_unit,
        deserialize_seq,
        deserialize_map,
        deserialize_identifier,
    );

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.de
            .deserialize_unit_struct(name, Rec::new(visitor, self.out))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.de
            .deserialize_newtype_struct(name, Rec::new(visitor, self.out))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.de.deserialize_tuple(len, Rec::new(visitor, self.out))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.de
            .deserialize_tuple_struct(name, len, Rec::new(visitor, self.out))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.de
            .deserialize_struct(name, fields, Rec::new(visitor, self.out))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.de
            .deserialize_enum(name, variants, Rec::new(visitor, self.out))
    }

    /// What the type ignores is not recorded: `out` stays empty and the
    /// enclosing map drops the key.
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.de.deserialize_ignored_any(visitor)
    }

    fn is_human_readable(&self) -> bool {
        self.de.is_human_readable()
    }
}

/// A visitor that records what it is shown, then passes it on.
struct Rec<'o, V> {
    inner: V,
    out: &'o mut Option<Value>,
}

impl<'o, V> Rec<'o, V> {
    fn new(inner: V, out: &'o mut Option<Value>) -> Self {
        Rec { inner, out }
    }
}

macro_rules! record {
    ($($method:ident($ty:ty) => $value:expr),* $(,)?) => {$(
        fn $method<E: de::Error>(self, v: $ty) -> Result<V::Value, E> {
            *self.out = Some($value(&v));
            self.inner.$method(v)
        }
    )*};
}

fn number_f64(v: &f64) -> Value {
    serde_json::Number::from_f64(*v).map_or(Value::Null, Value::Number)
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Rec<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(f)
    }

    record!(
        visit_bool(bool) => |v: &bool| Value::Bool(*v),
        visit_i64(i64) => |v: &i64| Value::from(*v),
        visit_u64(u64) => |v: &u64| Value::from(*v),
        visit_f64(f64) => number_f64,
        visit_str(&str) => |v: &&str| Value::String((*v).to_owned()),
        visit_borrowed_str(&'de str) => |v: &&str| Value::String((*v).to_owned()),
        visit_string(String) => |v: &String| Value::String(v.clone()),
    );

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        *self.out = Some(Value::Null);
        self.inner.visit_unit()
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        *self.out = Some(Value::Null);
        self.inner.visit_none()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.inner.visit_some(Recorder {
            de: d,
            out: self.out,
        })
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.inner.visit_newtype_struct(Recorder {
            de: d,
            out: self.out,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        let mut items = Vec::new();
        let result = self.inner.visit_seq(RecSeq {
            inner: seq,
            items: &mut items,
        });
        *self.out = Some(Value::Array(items));
        result
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        let mut fields = Map::new();
        let result = self.inner.visit_map(RecMap {
            inner: map,
            fields: &mut fields,
            key: None,
        });
        *self.out = Some(Value::Object(fields));
        result
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.inner.visit_enum(RecEnum {
            inner: data,
            out: self.out,
        })
    }
}

struct Seed<'o, S> {
    inner: S,
    out: &'o mut Option<Value>,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<'_, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.inner.deserialize(Recorder {
            de: d,
            out: self.out,
        })
    }
}

struct RecSeq<'o, A> {
    inner: A,
    items: &'o mut Vec<Value>,
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for RecSeq<'_, A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        let mut out = None;
        let value = self.inner.next_element_seed(Seed {
            inner: seed,
            out: &mut out,
        })?;
        if let Some(v) = out {
            self.items.push(v);
        }
        Ok(value)
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

struct RecMap<'o, A> {
    inner: A,
    fields: &'o mut Map<String, Value>,
    key: Option<String>,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for RecMap<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let mut out = None;
        let key = self.inner.next_key_seed(Seed {
            inner: seed,
            out: &mut out,
        })?;
        self.key = match out {
            Some(Value::String(s)) => Some(s),
            Some(other) => Some(other.to_string()),
            None => None,
        };
        Ok(key)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        let mut out = None;
        let value = self.inner.next_value_seed(Seed {
            inner: seed,
            out: &mut out,
        })?;
        if let (Some(key), Some(v)) = (self.key.take(), out) {
            self.fields.insert(key, v);
        }
        Ok(value)
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

/// An externally tagged enum: `"Variant"` or `{"Variant": …}`.
struct RecEnum<'o, A> {
    inner: A,
    out: &'o mut Option<Value>,
}

impl<'de, 'o, A: EnumAccess<'de>> EnumAccess<'de> for RecEnum<'o, A> {
    type Error = A::Error;
    type Variant = RecVariant<'o, A::Variant>;

    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Self::Variant), A::Error> {
        let mut name = None;
        let (value, variant) = self.inner.variant_seed(Seed {
            inner: seed,
            out: &mut name,
        })?;
        let name = match name {
            Some(Value::String(s)) => s,
            Some(other) => other.to_string(),
            None => String::new(),
        };
        Ok((
            value,
            RecVariant {
                inner: variant,
                name,
                out: self.out,
            },
        ))
    }
}

struct RecVariant<'o, A> {
    inner: A,
    name: String,
    out: &'o mut Option<Value>,
}

impl<A> RecVariant<'_, A> {
    fn wrap(self, value: Option<Value>) {
        let mut map = Map::new();
        map.insert(self.name, value.unwrap_or(Value::Null));
        *self.out = Some(Value::Object(map));
    }
}

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for RecVariant<'_, A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        *self.out = Some(Value::String(self.name));
        self.inner.unit_variant()
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, A::Error> {
        let mut out = None;
        let value = self.inner.newtype_variant_seed(Seed {
            inner: seed,
            out: &mut out,
        })?;
        RecVariant {
            inner: (),
            name: self.name,
            out: self.out,
        }
        .wrap(out);
        Ok(value)
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        let mut out = None;
        let value = self.inner.tuple_variant(len, Rec::new(visitor, &mut out))?;
        RecVariant {
            inner: (),
            name: self.name,
            out: self.out,
        }
        .wrap(out);
        Ok(value)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        let mut out = None;
        let value = self
            .inner
            .struct_variant(fields, Rec::new(visitor, &mut out))?;
        RecVariant {
            inner: (),
            name: self.name,
            out: self.out,
        }
        .wrap(out);
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Reply {
        code: String,
        #[serde(default)]
        amount: Option<i64>,
        items: Vec<Item>,
        kind: Kind,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Item {
        id: String,
        #[serde(default)]
        ok: bool,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    enum Kind {
        Plain,
        Tagged(String),
        Pair(i64, i64),
        Named { x: f64 },
    }

    #[test]
    fn records_what_the_type_took_and_drops_what_it_ignored() {
        let body = br#"{"zeta":{"deep":[1,2]},"code":"C\u001b1","amount":null,"items":[{"id":"a","extra":1},{"id":"b","ok":true}],"kind":"Plain"}"#;
        let value = decode_as::<Reply>(body).unwrap();
        assert_eq!(
            value,
            json!({"code":"C\u{1b}1","amount":null,"items":[{"id":"a"},{"id":"b","ok":true}],"kind":"Plain"})
        );
        // Re-serialized, a control character is escaped.
        assert!(serde_json::to_string(&value).unwrap().contains("\\u001b"));
        for (kind, expected) in [
            (r#"{"Tagged":"t"}"#, json!({"Tagged":"t"})),
            (r#"{"Pair":[1,2]}"#, json!({"Pair":[1,2]})),
            (r#"{"Named":{"x":1.5}}"#, json!({"Named":{"x":1.5}})),
        ] {
            let body = format!(r#"{{"code":"c","items":[],"kind":{kind}}}"#);
            assert_eq!(
                decode_as::<Reply>(body.as_bytes()).unwrap()["kind"],
                expected
            );
        }
    }

    #[test]
    fn what_does_not_decode_is_refused_with_its_path() {
        let cases: [(&[u8], &str); 9] = [
            (
                br#"{"code":"c","items":[{"id":1}],"kind":"Plain"}"#,
                "items[0].id",
            ),
            (br#"{"code":"c","items":[],"kind":"Plain"#, "kind"),
            (b"[1,2,3]", "[0]"),
            (b"null", "."),
            (b"", "."),
            (b"\x1f\x8b\x08\x00\x00\x00", "."),
            (
                b"{\"code\":\"\xff\",\"items\":[],\"kind\":\"Plain\"}",
                "code",
            ),
            (
                b"{\"code\":\"a\x1bb\",\"items\":[],\"kind\":\"Plain\"}",
                "code",
            ),
            (br#"{"code":"c","items":[],"kind":"Plain"} trailing"#, "."),
        ];
        for (body, path) in cases {
            let problem = decode_as::<Reply>(body).unwrap_err();
            assert_eq!(
                problem.path,
                path,
                "{:?}: {problem}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
