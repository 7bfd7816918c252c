//! Support for forward-compatible string enums.
//!
//! WeChat Pay adds enum values without notice, so every generated enum has an
//! `Unknown(String)` variant: decoding never fails on a new value, and the raw
//! string is kept so it serializes back unchanged.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, Visitor};
use serde::Serializer;

/// A string enum as it appears on the wire.
pub trait WireEnum: Sized {
    /// Every value the schema documents, in schema order.
    const KNOWN_VALUES: &'static [&'static str];

    /// Maps a wire string to a variant; unknown strings become `Unknown`.
    fn from_wire(value: &str) -> Self;

    /// The wire string of this value (the raw string for `Unknown`).
    fn as_wire(&self) -> &str;

    /// Whether this value is one the schema documents.
    fn is_known(&self) -> bool {
        Self::KNOWN_VALUES.contains(&self.as_wire())
    }
}

/// The value of a required path or query enum that a JSON body does not carry (serde's
/// default for it): the empty wire string, which `validate()` refuses as undocumented.
pub fn absent<T: WireEnum>() -> T {
    T::from_wire("")
}

/// Serializes a [`WireEnum`] as its wire string.
pub fn serialize<T: WireEnum, S: Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(value.as_wire())
}

/// Deserializes a [`WireEnum`] from a string without allocating for known values.
pub fn deserialize<'de, T: WireEnum, D: Deserializer<'de>>(deserializer: D) -> Result<T, D::Error> {
    deserializer.deserialize_str(WireEnumVisitor(PhantomData))
}

struct WireEnumVisitor<T>(PhantomData<T>);

impl<T: WireEnum> Visitor<'_> for WireEnumVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string enum value")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<T, E> {
        Ok(T::from_wire(value))
    }
}
