//! Strategic merge patch (apimachinery `strategicpatch.StrategicMergePatch`) for the object kinds
//! kubeadm patches: Pod (static Pods), Deployment (CoreDNS), DaemonSet (kube-proxy) and plain
//! structs without merge keys (KubeletConfiguration).
//!
//! The schema (which lists merge by which key) is a hand-written table of the `patchStrategy` /
//! `patchMergeKey` struct tags of `k8s.io/api` v0.37 on the paths these objects use. Supported
//! directives: `$patch: replace|delete` (maps and list items), `$retainKeys`,
//! `$deleteFromPrimitiveList/<field>` and `$setElementOrder/<field>`. Ordering of merged lists
//! follows upstream's `normalizeElementOrder`.
//!
//! Known gaps: fields unknown to the Go type are merged as plain maps / replaced lists instead of
//! failing; lists of more than 20 elements may be ordered differently from Go's `sort.SliceStable`
//! in exotic cases.

use serde_json::{Map, Value};

/// Which object type a patch applies to (upstream's `StrategicMergePatchObject`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// core/v1 Pod.
    Pod,
    /// apps/v1 Deployment.
    Deployment,
    /// apps/v1 DaemonSet.
    DaemonSet,
    /// A struct without merge keys (e.g. KubeletConfiguration): maps merge, lists are replaced.
    Plain,
    // Internal nodes.
    #[doc(hidden)]
    ObjectMeta,
    #[doc(hidden)]
    PodSpec,
    #[doc(hidden)]
    Container,
    #[doc(hidden)]
    WorkloadSpec,
    #[doc(hidden)]
    PodTemplate,
}

/// Errors of a strategic merge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StrategicError {
    /// The original or patch is not a JSON object.
    #[error("invalid JSON document")]
    BadJsonDoc,
    /// Unknown or misplaced `$patch` value.
    #[error("Unknown patch type: {0}")]
    BadPatchType(String),
    /// A list item lacks its merge key.
    #[error("map: {item} does not contain declared merge key: {key}")]
    NoMergeKey {
        /// The item as JSON.
        item: String,
        /// The merge key.
        key: String,
    },
    /// A list of maps without merge key was asked to merge.
    #[error("cannot merge lists without merge key for {0}")]
    NoMergeKeyForList(String),
    /// `$patch: merge` in a list.
    #[error("merging lists cannot yet be specified in the patch")]
    MergeInList,
    /// Lists mixing element types or nesting lists.
    #[error("{0}")]
    BadList(String),
    /// `$retainKeys` malformed or inconsistent with the patch.
    #[error("invalid patch: doesn't have a valid retainKeys directive")]
    BadRetainKeys,
    /// `$setElementOrder` malformed.
    #[error("invalid patch: the $setElementOrder directive has a bad format")]
    BadSetElementOrder,
}

#[derive(Clone, Copy)]
struct FieldMeta {
    sub: Schema,
    merge: bool,
    key: Option<&'static str>,
}

fn lookup(schema: Schema, field: &str) -> FieldMeta {
    let plain = FieldMeta { sub: Schema::Plain, merge: false, key: None };
    let m = |sub: Schema, key: Option<&'static str>| FieldMeta { sub, merge: true, key };
    let s = |sub: Schema| FieldMeta { sub, merge: false, key: None };
    match (schema, field) {
        (Schema::Pod | Schema::Deployment | Schema::DaemonSet | Schema::PodTemplate, "metadata") => {
            s(Schema::ObjectMeta)
        }
        (Schema::Pod | Schema::PodTemplate, "spec") => s(Schema::PodSpec),
        (Schema::Deployment | Schema::DaemonSet, "spec") => s(Schema::WorkloadSpec),
        (Schema::WorkloadSpec, "template") => s(Schema::PodTemplate),
        (Schema::ObjectMeta, "ownerReferences") => m(Schema::Plain, Some("uid")),
        (Schema::ObjectMeta, "finalizers") => m(Schema::Plain, None),
        (Schema::PodSpec, "volumes") => m(Schema::Plain, Some("name")),
        (Schema::PodSpec, "initContainers" | "containers" | "ephemeralContainers") => {
            m(Schema::Container, Some("name"))
        }
        (
            Schema::PodSpec,
            "imagePullSecrets" | "schedulingGates" | "resourceClaims" | "evictionResponders",
        ) => m(Schema::Plain, Some("name")),
        (Schema::PodSpec, "hostAliases") => m(Schema::Plain, Some("ip")),
        (Schema::PodSpec, "topologySpreadConstraints") => m(Schema::Plain, Some("topologyKey")),
        (Schema::Container, "ports") => m(Schema::Plain, Some("containerPort")),
        (Schema::Container, "env") => m(Schema::Plain, Some("name")),
        (Schema::Container, "volumeMounts") => m(Schema::Plain, Some("mountPath")),
        (Schema::Container, "volumeDevices") => m(Schema::Plain, Some("devicePath")),
        _ => plain,
    }
}

/// Applies a strategic merge patch to `original` (both JSON objects).
pub fn strategic_merge_patch(
    original: &Value,
    patch: &Value,
    schema: Schema,
) -> Result<Value, StrategicError> {
    let (Value::Object(o), Value::Object(p)) = (original, patch) else {
        return Err(StrategicError::BadJsonDoc);
    };
    merge_map(o.clone(), p.clone(), schema).map(Value::Object)
}

const DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const DELETE_PRIMITIVE: &str = "$deleteFromPrimitiveList";
const SET_ORDER: &str = "$setElementOrder";

fn type_id(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(_) => 2,
        Value::String(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
    }
}

fn discard_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            m.values_mut().for_each(discard_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(discard_nulls),
        _ => {}
    }
}

/// Upstream `removeDirectives`: `None` means "drop this value".
fn remove_directives(v: Value) -> Option<Value> {
    match v {
        Value::Object(m) => {
            if m.contains_key(DIRECTIVE) {
                return None;
            }
            Some(Value::Object(
                m.into_iter().filter_map(|(k, x)| remove_directives(x).map(|x| (k, x))).collect(),
            ))
        }
        Value::Array(a) => Some(Value::Array(a.into_iter().filter_map(remove_directives).collect())),
        other => Some(other),
    }
}

fn merge_map(
    mut original: Map<String, Value>,
    mut patch: Map<String, Value>,
    schema: Schema,
) -> Result<Map<String, Value>, StrategicError> {
    if let Some(d) = patch.get(DIRECTIVE) {
        return match d.as_str() {
            Some("replace") => {
                patch.remove(DIRECTIVE);
                Ok(patch)
            }
            Some("delete") => Ok(Map::new()),
            _ => Err(StrategicError::BadPatchType(d.to_string())),
        };
    }
    // $retainKeys
    if let Some(rk) = patch.remove(RETAIN_KEYS) {
        let Value::Array(list) = rk else { return Err(StrategicError::BadRetainKeys) };
        let keys: Vec<&str> = list.iter().filter_map(|v| v.as_str()).collect();
        for (k, v) in &patch {
            if v.is_null() || k.starts_with(DELETE_PRIMITIVE) || k.starts_with(SET_ORDER) {
                continue;
            }
            if !keys.contains(&k.as_str()) {
                return Err(StrategicError::BadRetainKeys);
            }
        }
        original.retain(|k, _| keys.contains(&k.as_str()));
    }
    // $setElementOrder
    let order_keys: Vec<String> = patch.keys().filter(|k| k.starts_with(SET_ORDER)).cloned().collect();
    for ok in order_keys {
        let order = patch.remove(&ok).unwrap_or(Value::Null);
        let Value::Array(order) = order else { return Err(StrategicError::BadSetElementOrder) };
        let field =
            ok.split_once('/').map(|(_, f)| f.to_string()).ok_or(StrategicError::BadSetElementOrder)?;
        let meta = lookup(schema, &field);
        let orig_list = original.get(&field).cloned();
        let patch_list = patch.remove(&field);
        let orig_vec = match &orig_list {
            Some(Value::Array(a)) => a.clone(),
            Some(_) => return Err(StrategicError::BadSetElementOrder),
            None => Vec::new(),
        };
        let merged = match (orig_list.is_some(), patch_list) {
            (true, None) => orig_vec.clone(),
            (false, Some(p)) => match remove_directives(p) {
                Some(Value::Array(a)) => a,
                _ => continue,
            },
            (true, Some(Value::Array(p))) => {
                if meta.merge {
                    merge_slice(orig_vec.clone(), p, meta.sub, meta.key, false, &field)?
                } else {
                    p
                }
            }
            (true, Some(_)) => return Err(StrategicError::BadSetElementOrder),
            (false, None) => continue,
        };
        let key = meta.key;
        let (patch_items, server_only): (Vec<Value>, Vec<Value>) =
            merged.into_iter().partition(|v| index_of(&order, v, key).is_some());
        let kind_map = orig_vec.first().or(order.first()).is_some_and(Value::is_object);
        let all = normalize_element_order(patch_items, server_only, &order, &orig_vec, key, kind_map)?;
        original.insert(field, Value::Array(all));
    }

    let keys: Vec<String> = patch.keys().cloned().collect();
    for k0 in keys {
        let Some(mut pv) = patch.remove(&k0) else { continue };
        let (k, is_delete_list) = match k0.strip_prefix(DELETE_PRIMITIVE) {
            Some(rest) => (
                rest.strip_prefix('/')
                    .ok_or(StrategicError::BadList(
                        "invalid patch: $deleteFromPrimitiveList has a bad format".into(),
                    ))?
                    .to_string(),
                true,
            ),
            None => (k0.clone(), false),
        };
        if pv.is_null() {
            original.remove(&k);
            continue;
        }
        let Some(ov) = original.get(&k) else {
            if !is_delete_list {
                discard_nulls(&mut pv);
                if let Some(v) = remove_directives(pv) {
                    original.insert(k, v);
                }
            }
            continue;
        };
        if type_id(ov) != type_id(&pv) {
            if !is_delete_list {
                discard_nulls(&mut pv);
                match remove_directives(pv) {
                    Some(v) => {
                        original.insert(k, v);
                    }
                    None => {
                        original.remove(&k);
                    }
                }
            }
            continue;
        }
        let meta = lookup(schema, &k);
        let ov = original.remove(&k).unwrap_or(Value::Null);
        let merged = match (ov, pv) {
            (Value::Object(o), Value::Object(p)) => Value::Object(merge_map(o, p, meta.sub)?),
            (Value::Array(o), Value::Array(p)) => {
                if meta.merge || is_delete_list {
                    Value::Array(merge_slice(o, p, meta.sub, meta.key, is_delete_list, &k)?)
                } else {
                    Value::Array(p)
                }
            }
            (_, p) => match remove_directives(p) {
                Some(v) => v,
                None => continue,
            },
        };
        original.insert(k, merged);
    }
    Ok(original)
}

/// Go's `fmt` `%v` rendering of a decoded JSON value (`map[k:v]`, `[a b]`), used in error texts.
fn go_fmt(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n
            .as_f64()
            .map(|f| if f.fract() == 0.0 && f.abs() < 1e21 { format!("{}", f as i64) } else { f.to_string() })
            .unwrap_or_default(),
        Value::String(s) => s.clone(),
        Value::Array(a) => format!("[{}]", a.iter().map(go_fmt).collect::<Vec<_>>().join(" ")),
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            format!(
                "map[{}]",
                keys.iter().map(|k| format!("{k}:{}", go_fmt(&m[k.as_str()]))).collect::<Vec<_>>().join(" ")
            )
        }
    }
}

fn key_of<'a>(v: &'a Value, key: Option<&str>) -> Option<&'a Value> {
    match key {
        Some(k) => v.as_object().and_then(|m| m.get(k)),
        None => Some(v),
    }
}

/// Upstream `index`: position of the item with an equal merge-key value (or equal scalar).
fn index_of(list: &[Value], item: &Value, key: Option<&str>) -> Option<usize> {
    let want = key_of(item, key);
    list.iter().position(|v| key_of(v, key) == want)
}

fn merge_slice(
    original: Vec<Value>,
    patch: Vec<Value>,
    sub: Schema,
    key: Option<&'static str>,
    is_delete_list: bool,
    field: &str,
) -> Result<Vec<Value>, StrategicError> {
    if original.is_empty() && patch.is_empty() {
        return Ok(original);
    }
    let all_types: Vec<u8> = original.iter().chain(patch.iter()).map(type_id).collect();
    if all_types.windows(2).any(|w| w[0] != w[1]) {
        return Err(StrategicError::BadList(format!("the list of elements for {field} has mixed types")));
    }
    if all_types.first() == Some(&4) {
        return Err(StrategicError::BadList(format!("the list of elements for {field} contains lists")));
    }
    let is_map = all_types.first() == Some(&5);
    let (original, merged, patch) = if !is_map {
        if is_delete_list {
            return Ok(original.into_iter().filter(|v| !patch.contains(v)).collect());
        }
        let mut merged: Vec<Value> = Vec::new();
        for v in original.iter().chain(patch.iter()) {
            if !merged.contains(v) {
                merged.push(v.clone());
            }
        }
        (original, merged, patch)
    } else {
        let Some(mk) = key else { return Err(StrategicError::NoMergeKeyForList(field.into())) };
        // Special elements.
        let mut original = original;
        let mut rest = Vec::new();
        let mut replace = false;
        for v in patch {
            let m = v.as_object().cloned().unwrap_or_default();
            match m.get(DIRECTIVE) {
                None => rest.push(v),
                Some(d) => match d.as_str() {
                    Some("delete") => {
                        let Some(val) = m.get(mk) else {
                            return Err(StrategicError::NoMergeKey { item: go_fmt(&v), key: mk.into() });
                        };
                        original.retain(|o| o.get(mk) != Some(val));
                    }
                    Some("replace") => replace = true,
                    Some("merge") => return Err(StrategicError::MergeInList),
                    _ => return Err(StrategicError::BadPatchType(d.to_string())),
                },
            }
        }
        let patch = if replace {
            original = rest;
            Vec::new()
        } else {
            rest
        };
        let mut merged = original.clone();
        for p in &patch {
            let Some(val) = p.get(mk) else {
                return Err(StrategicError::NoMergeKey { item: go_fmt(p), key: mk.into() });
            };
            match merged.iter().position(|o| o.get(mk) == Some(val)) {
                Some(i) => {
                    let o = merged[i].as_object().cloned().unwrap_or_default();
                    let pm = p.as_object().cloned().unwrap_or_default();
                    merged[i] = Value::Object(merge_map(o, pm, sub)?);
                }
                None => merged.push(p.clone()),
            }
        }
        (original, merged, patch)
    };
    let (patch_items, server_only): (Vec<Value>, Vec<Value>) =
        merged.into_iter().partition(|v| index_of(&patch, v, if is_map { key } else { None }).is_some());
    normalize_element_order(
        patch_items,
        server_only,
        &patch,
        &original,
        if is_map { key } else { None },
        is_map,
    )
}

/// Go's `sort.SliceStable` for small inputs (insertion sort) with upstream's non-strict comparator.
fn normalize_slice_order(
    mut to_sort: Vec<Value>,
    order: &[Value],
    key: Option<&str>,
    is_map: bool,
) -> Result<Vec<Value>, StrategicError> {
    let mut to_delete = Vec::new();
    if is_map {
        if let Some(k) = key {
            for v in to_sort.iter().chain(order.iter()) {
                if v.get(k).is_none() {
                    return Err(StrategicError::NoMergeKey { item: go_fmt(v), key: k.into() });
                }
            }
        }
        let (keep, del): (Vec<Value>, Vec<Value>) =
            to_sort.into_iter().partition(|v| v.get(DIRECTIVE).and_then(Value::as_str) != Some("delete"));
        to_sort = keep;
        to_delete = del;
    }
    let less = |a: &Value, b: &Value| match (index_of(order, a, key), index_of(order, b, key)) {
        (Some(i), Some(j)) => i < j,
        _ => true,
    };
    for i in 1..to_sort.len() {
        let mut j = i;
        while j > 0 && less(&to_sort[j], &to_sort[j - 1]) {
            to_sort.swap(j, j - 1);
            j -= 1;
        }
    }
    to_sort.extend(to_delete);
    Ok(to_sort)
}

fn normalize_element_order(
    patch: Vec<Value>,
    server_only: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    key: Option<&str>,
    is_map: bool,
) -> Result<Vec<Value>, StrategicError> {
    let right = normalize_slice_order(patch, patch_order, key, is_map)?;
    let left = normalize_slice_order(server_only, server_order, key, is_map)?;
    // mergeSortedSlice(left=serverOnly, right=patch, serverOrder)
    let mut out = Vec::with_capacity(left.len() + right.len());
    let (mut i, mut j) = (0, 0);
    while i < left.len() || j < right.len() {
        if i >= left.len() {
            out.push(right[j].clone());
            j += 1;
        } else if j >= right.len() {
            out.push(left[i].clone());
            i += 1;
        } else {
            let li = index_of(server_order, &left[i], key);
            let ri = index_of(server_order, &right[j], key);
            if matches!((li, ri), (Some(a), Some(b)) if a < b) {
                out.push(left[i].clone());
                i += 1;
            } else {
                out.push(right[j].clone());
                j += 1;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod() -> Value {
        json!({"spec": {"containers": [{"name": "c", "command": ["a", "b"],
            "env": [{"name": "A", "value": "1"}],
            "volumeMounts": [{"mountPath": "/x", "name": "x"}, {"mountPath": "/z", "name": "z"}],
            "resources": {"requests": {"cpu": "250m"}}}],
            "volumes": [{"name": "x", "hostPath": {"path": "/x"}}]}})
    }

    #[test]
    fn merges_by_keys() {
        let p = json!({"spec": {"containers": [{"name": "c",
            "env": [{"name": "B", "value": "2"}],
            "volumeMounts": [{"mountPath": "/y", "name": "y"}, {"mountPath": "/x", "name": "x", "readOnly": true}],
            "resources": {"requests": {"memory": "1Gi"}}}],
            "volumes": [{"name": "y", "hostPath": {"path": "/y"}}]}});
        let r = strategic_merge_patch(&pod(), &p, Schema::Pod).unwrap();
        let c = &r["spec"]["containers"][0];
        // Verified against apimachinery v0.37.2: new patch items precede server-only ones.
        assert_eq!(c["env"], json!([{"name": "B", "value": "2"}, {"name": "A", "value": "1"}]));
        assert_eq!(c["resources"]["requests"], json!({"cpu": "250m", "memory": "1Gi"}));
        assert_eq!(c["command"], json!(["a", "b"]));
        // patch order y, x; server-only z stays after x (upstream mergeSortedSlice)
        let mounts: Vec<&str> =
            c["volumeMounts"].as_array().unwrap().iter().map(|m| m["mountPath"].as_str().unwrap()).collect();
        assert_eq!(mounts, vec!["/y", "/x", "/z"]);
        assert_eq!(r["spec"]["volumes"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn directives() {
        let p = json!({"spec": {"containers": [{"name": "c", "command": ["x"],
            "volumeMounts": [{"mountPath": "/x", "$patch": "delete"}], "resources": {"$patch": "replace", "limits": {"cpu": "1"}}}]}});
        let r = strategic_merge_patch(&pod(), &p, Schema::Pod).unwrap();
        let c = &r["spec"]["containers"][0];
        assert_eq!(c["command"], json!(["x"]));
        assert_eq!(c["volumeMounts"], json!([{"mountPath": "/z", "name": "z"}]));
        assert_eq!(c["resources"], json!({"limits": {"cpu": "1"}}));
        let p = json!({"spec": {"volumes": null}});
        let r = strategic_merge_patch(&pod(), &p, Schema::Pod).unwrap();
        assert!(r["spec"].get("volumes").is_none());
    }
}
