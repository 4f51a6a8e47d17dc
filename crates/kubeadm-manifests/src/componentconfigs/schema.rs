//! A small model of Go's `encoding/json` for the component-config structs.
//!
//! Upstream decodes the user's KubeletConfiguration / KubeProxyConfiguration into the versioned Go
//! struct, applies kubeadm's defaults and marshals the struct again. The output therefore contains
//! every field without `omitempty` (as its zero value), drops `omitempty` fields that are empty,
//! normalizes durations (`1m` -> `1m0s`) and drops unknown fields. This module reproduces that from
//! a table of the struct fields ([`Ty`]/[`Field`]) in two steps:
//!
//! * [`decode`]: JSON -> "typed" JSON: every struct field present, Go `nil` as `null` (pointers,
//!   maps, slices), durations parsed and re-formatted; unknown fields reported.
//! * [`encode`]: "typed" JSON -> what `json.Marshal` prints (`omitempty` applied).

use serde_json::{Map, Value};

/// A Go type, as far as JSON encoding is concerned.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    /// `string` (and named string types).
    Str,
    /// `bool`.
    Bool,
    /// Any integer type.
    Int,
    /// `float32` / `float64`.
    Float,
    /// `metav1.Duration` (a struct: never omitted, zero prints as `0s`).
    Dur,
    /// `logsapi.TimeOrMetaDuration`: a duration string when given as string, else nanoseconds.
    TimeOrDur,
    /// `resource.Quantity` / `QuantityValue` (a struct: never omitted, zero prints as `"0"`).
    Quantity,
    /// A pointer.
    Ptr(&'static Ty),
    /// `map[string]T`.
    Map(&'static Ty),
    /// `[]T`.
    List(&'static Ty),
    /// A struct with these JSON fields.
    Struct(&'static [Field]),
    /// A type kubeadm-rs does not model (kept as given).
    Any,
}

/// One JSON field of a Go struct.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// JSON name.
    pub name: &'static str,
    /// Go type.
    pub ty: Ty,
    /// `omitempty` in the JSON tag.
    pub omitempty: bool,
}

/// A field without `omitempty`.
pub const fn f(name: &'static str, ty: Ty) -> Field {
    Field { name, ty, omitempty: false }
}

/// A field with `omitempty`.
pub const fn fo(name: &'static str, ty: Ty) -> Field {
    Field { name, ty, omitempty: true }
}

/// A decoding failure: Go's `json: cannot unmarshal ...` or a bad duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub String);

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn go_type(ty: &Ty) -> String {
    match ty {
        Ty::Str => "string".into(),
        Ty::Bool => "bool".into(),
        Ty::Int => "int32".into(),
        Ty::Float => "float64".into(),
        Ty::Dur | Ty::TimeOrDur => "v1.Duration".into(),
        Ty::Quantity => "resource.Quantity".into(),
        Ty::Ptr(t) => go_type(t),
        Ty::Map(t) => format!("map[string]{}", go_type(t)),
        Ty::List(t) => format!("[]{}", go_type(t)),
        Ty::Struct(_) | Ty::Any => "struct".into(),
    }
}

fn mismatch(v: &Value, ty: &Ty, path: &str) -> DecodeError {
    DecodeError(format!(
        "json: cannot unmarshal {} into Go struct field {path} of type {}",
        json_kind(v),
        go_type(ty)
    ))
}

/// The Go zero value in "typed" form.
pub fn zero(ty: &Ty) -> Value {
    match ty {
        Ty::Str => Value::String(String::new()),
        Ty::Bool => Value::Bool(false),
        Ty::Int | Ty::Float | Ty::TimeOrDur => Value::from(0),
        Ty::Dur => Value::String("0s".into()),
        Ty::Quantity => Value::String("0".into()),
        Ty::Ptr(_) | Ty::Map(_) | Ty::List(_) | Ty::Any => Value::Null,
        Ty::Struct(fields) => {
            Value::Object(fields.iter().map(|fl| (fl.name.to_string(), zero(&fl.ty))).collect())
        }
    }
}

fn go_duration(s: &str) -> Result<String, DecodeError> {
    kubeadm_api::Duration::parse(s)
        .map(|d| d.to_string())
        .map_err(|_| DecodeError(format!("time: invalid duration {s:?}")))
}

fn norm_float(n: &serde_json::Number) -> Value {
    match n.as_f64() {
        // Go prints integral floats without a fraction ("5", not "5.0").
        Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => Value::from(f as i64),
        _ => Value::Number(n.clone()),
    }
}

/// Decodes `v` (absent = `None`) into the typed form of `ty`. Unknown struct fields are appended
/// to `unknown` with their dotted path (upstream's strict-decoding warning); decoding goes on.
pub fn decode(
    v: Option<&Value>,
    ty: &Ty,
    path: &str,
    unknown: &mut Vec<String>,
) -> Result<Value, DecodeError> {
    let v = match v {
        None | Some(Value::Null) => {
            // `null` leaves Go values untouched: the zero value.
            return Ok(zero(ty));
        }
        Some(v) => v,
    };
    match ty {
        Ty::Str => match v {
            Value::String(_) => Ok(v.clone()),
            _ => Err(mismatch(v, ty, path)),
        },
        Ty::Bool => match v {
            Value::Bool(_) => Ok(v.clone()),
            _ => Err(mismatch(v, ty, path)),
        },
        Ty::Int => match v {
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(v.clone()),
            Value::Number(n) => match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Value::from(f as i64)),
                _ => Err(DecodeError(format!(
                    "json: cannot unmarshal number {n} into Go struct field {path} of type int32"
                ))),
            },
            _ => Err(mismatch(v, ty, path)),
        },
        Ty::Float => match v {
            Value::Number(n) => Ok(norm_float(n)),
            _ => Err(mismatch(v, ty, path)),
        },
        Ty::Dur => match v {
            Value::String(s) => Ok(Value::String(go_duration(s)?)),
            _ => Err(mismatch(v, ty, path)),
        },
        Ty::TimeOrDur => match v {
            Value::String(s) => Ok(Value::String(go_duration(s)?)),
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(v.clone()),
            _ => Err(mismatch(v, ty, path)),
        },
        Ty::Quantity => match v {
            Value::String(s) => Ok(Value::String(s.clone())),
            Value::Number(n) => Ok(Value::String(norm_float(n).to_string())),
            _ => Err(mismatch(v, ty, path)),
        },
        Ty::Ptr(inner) => decode(Some(v), inner, path, unknown),
        Ty::Map(inner) => match v {
            Value::Object(m) => {
                let mut out = Map::new();
                for (k, e) in m {
                    out.insert(k.clone(), decode(Some(e), inner, &format!("{path}.{k}"), unknown)?);
                }
                Ok(Value::Object(out))
            }
            _ => Err(mismatch(v, ty, path)),
        },
        Ty::List(inner) => match v {
            Value::Array(a) => Ok(Value::Array(
                a.iter().map(|e| decode(Some(e), inner, path, unknown)).collect::<Result<_, _>>()?,
            )),
            _ => Err(mismatch(v, ty, path)),
        },
        Ty::Struct(fields) => match v {
            Value::Object(m) => {
                let mut out = Map::new();
                for fl in fields.iter() {
                    let p = if path.is_empty() { fl.name.to_string() } else { format!("{path}.{}", fl.name) };
                    out.insert(fl.name.to_string(), decode(m.get(fl.name), &fl.ty, &p, unknown)?);
                }
                for k in m.keys() {
                    if !fields.iter().any(|fl| fl.name == k) {
                        unknown.push(if path.is_empty() { k.clone() } else { format!("{path}.{k}") });
                    }
                }
                Ok(Value::Object(out))
            }
            _ => Err(mismatch(v, ty, path)),
        },
        Ty::Any => Ok(v.clone()),
    }
}

fn is_empty(v: &Value, ty: &Ty) -> bool {
    match ty {
        // Structs are never "empty" for encoding/json's omitempty.
        Ty::Dur | Ty::TimeOrDur | Ty::Quantity | Ty::Struct(_) => false,
        // A non-nil pointer is never empty, whatever it points to.
        Ty::Ptr(_) | Ty::Any => v.is_null(),
        _ => match v {
            Value::Null => true,
            Value::Bool(b) => !b,
            Value::Number(n) => n.as_f64() == Some(0.0),
            Value::String(s) => s.is_empty(),
            Value::Array(a) => a.is_empty(),
            Value::Object(m) => m.is_empty(),
        },
    }
}

/// Encodes a typed value as `json.Marshal` would; `None` when an `omitempty` field is left out.
pub fn encode(v: &Value, ty: &Ty, omitempty: bool) -> Option<Value> {
    if omitempty && is_empty(v, ty) {
        return None;
    }
    Some(match (ty, v) {
        (Ty::Ptr(inner), Value::Null) => {
            let _ = inner;
            Value::Null
        }
        (Ty::Ptr(inner), _) => encode(v, inner, false).unwrap_or(Value::Null),
        (Ty::Map(inner), Value::Object(m)) => Value::Object(
            m.iter().map(|(k, e)| (k.clone(), encode(e, inner, false).unwrap_or(Value::Null))).collect(),
        ),
        (Ty::List(inner), Value::Array(a)) => {
            Value::Array(a.iter().map(|e| encode(e, inner, false).unwrap_or(Value::Null)).collect())
        }
        (Ty::Struct(fields), Value::Object(m)) => {
            let mut out = Map::new();
            for fl in fields.iter() {
                let fv = m.get(fl.name).cloned().unwrap_or_else(|| zero(&fl.ty));
                if let Some(e) = encode(&fv, &fl.ty, fl.omitempty) {
                    out.insert(fl.name.to_string(), e);
                }
            }
            Value::Object(out)
        }
        (Ty::Struct(_), _) => encode(&zero(ty), ty, false).unwrap_or(Value::Null),
        _ => v.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const INNER: &[Field] = &[fo("a", Ty::Str), f("b", Ty::Ptr(&Ty::Int)), f("d", Ty::Dur)];
    const T: Ty = Ty::Struct(&[
        fo("s", Ty::Str),
        f("n", Ty::Str),
        fo("m", Ty::Map(&Ty::Bool)),
        f("l", Ty::List(&Ty::Str)),
        fo("inner", Ty::Struct(INNER)),
        fo("p", Ty::Ptr(&Ty::Bool)),
    ]);

    #[test]
    fn zero_struct_encodes_like_go() {
        let mut unknown = Vec::new();
        let d = decode(None, &T, "", &mut unknown).unwrap();
        let e = encode(&d, &T, false).unwrap();
        assert_eq!(e, json!({"n": "", "l": null, "inner": {"b": null, "d": "0s"}}));
    }

    #[test]
    fn user_values_are_normalized() {
        let mut unknown = Vec::new();
        let v = json!({"s": "x", "m": {}, "l": [], "p": false, "inner": {"d": "90s", "zz": 1}, "q": 1});
        let d = decode(Some(&v), &T, "", &mut unknown).unwrap();
        let e = encode(&d, &T, false).unwrap();
        assert_eq!(e, json!({"s": "x", "n": "", "l": [], "p": false, "inner": {"b": null, "d": "1m30s"}}));
        assert_eq!(unknown, vec!["inner.zz".to_string(), "q".to_string()]);
    }

    #[test]
    fn type_mismatch_is_an_error() {
        let mut unknown = Vec::new();
        let e = decode(Some(&json!({"n": 3})), &T, "", &mut unknown).unwrap_err();
        assert_eq!(e.0, "json: cannot unmarshal number into Go struct field n of type string");
        let e = decode(Some(&json!({"inner": {"d": "x"}})), &T, "", &mut unknown).unwrap_err();
        assert_eq!(e.0, "time: invalid duration \"x\"");
    }
}
