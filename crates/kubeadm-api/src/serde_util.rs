//! Small serde helpers that reproduce Go's `encoding/json` behaviour on top of serde.
//!
//! Go decodes `null` into the zero value of any field, so `name:` (an empty YAML value) or
//! `extraArgs: null` are accepted; serde would reject them. Go also encodes a nil slice without
//! `omitempty` as `null`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Deserializes `null` (or an absent value) as `T::default()`, like Go does for non-pointer fields.
pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Serializes an empty `Vec` as `null`, like Go does for a nil slice without `omitempty`.
pub(crate) fn vec_or_null<S, T>(v: &[T], s: S) -> Result<S::Ok, S::Error>
where
    S: Serializer,
    T: Serialize,
{
    if v.is_empty() { s.serialize_none() } else { v.serialize(s) }
}

/// `skip_serializing_if` helper for Go's `omitempty` on booleans.
pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

/// `skip_serializing_if` helper for Go's `omitempty` on integers.
pub(crate) fn is_zero_i32(v: &i32) -> bool {
    *v == 0
}

/// `skip_serializing_if` helper for Go's `omitempty` on integers.
pub(crate) fn is_zero_i64(v: &i64) -> bool {
    *v == 0
}
