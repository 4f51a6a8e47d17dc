//! `--patches <dir>` / `patches.directory` (upstream `util/patches`).
//!
//! File names: `target[suffix][+patchtype].(json|yaml)` with targets `etcd`, `kube-apiserver`,
//! `kube-controller-manager`, `kube-scheduler`, `kubeletconfiguration`, `corednsdeployment`,
//! `kubeproxydaemonset`, and patch types `strategic` (default), `merge` (RFC 7386) and `json`
//! (RFC 6902). Files are taken in `filepath.Walk` order (lexical, sub-directories included); a file
//! may hold several patches separated by `---`. Patches apply in that order.
//!
//! The caller reads the directory (this crate does no I/O) and passes every regular file with its
//! path relative to the patches directory; messages are returned for the caller to print.

use serde_json::Value;

use crate::strategic::{Schema, StrategicError, strategic_merge_patch};

/// Upstream's known patch targets.
pub const KNOWN_TARGETS: &[&str] = &[
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubeletconfiguration",
    "corednsdeployment",
    "kubeproxydaemonset",
];

/// Errors reading or applying patches.
#[derive(Debug, thiserror::Error)]
pub enum PatchError {
    /// `+` not followed by a known patch type.
    #[error(
        "could not list patch files for path {dir:?}: unknown or missing patch type after '+', must be one of [json merge strategic]"
    )]
    UnknownPatchType {
        /// The patches directory as given.
        dir: String,
    },
    /// A patch document is not valid YAML/JSON.
    #[error(
        "could not list patch files for path {dir:?}: could not convert patch to JSON:\n{patch}\n: {reason}"
    )]
    BadPatchDocument {
        /// The patches directory as given.
        dir: String,
        /// The offending document.
        patch: String,
        /// Parser message.
        reason: String,
    },
    /// The target name is not known.
    #[error(
        "unknown patch target name {0:?}, must be one of [etcd kube-apiserver kube-controller-manager kube-scheduler kubeletconfiguration corednsdeployment kubeproxydaemonset]"
    )]
    UnknownTarget(String),
    /// Applying a patch failed.
    #[error(
        "could not apply the following patch of type {patch_type:?} to target {target:?}:\n{patch}\n: {reason}"
    )]
    Apply {
        /// Go patch type string.
        patch_type: String,
        /// Target name.
        target: String,
        /// The patch (JSON).
        patch: String,
        /// Why.
        reason: String,
    },
}

/// Patch types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    /// Strategic merge patch (default).
    Strategic,
    /// JSON merge patch.
    Merge,
    /// JSON patch.
    Json,
}

impl PatchType {
    /// The `types.PatchType` string upstream prints.
    pub fn as_go(self) -> &'static str {
        match self {
            PatchType::Strategic => "application/strategic-merge-patch+json",
            PatchType::Merge => "application/merge-patch+json",
            PatchType::Json => "application/json-patch+json",
        }
    }
}

/// One file of the patches directory.
#[derive(Debug, Clone)]
pub struct PatchFile {
    /// Path relative to the patches directory (`kube-apiserver+json.yaml`, `sub/etcd.yaml`).
    pub path: String,
    /// Contents.
    pub data: Vec<u8>,
}

#[derive(Debug, Clone)]
struct PatchSet {
    target: String,
    patch_type: PatchType,
    patches: Vec<Value>,
}

/// Result of parsing a file name.
enum Parsed {
    Ignore(String),
    Use(String, PatchType),
}

fn parse_filename(name: &str, known: &[&str]) -> Result<Parsed, ()> {
    let has_ext = ["json", "yaml"]
        .iter()
        .any(|e| name.strip_suffix(e).is_some_and(|s| s.len() >= 2 && s.ends_with('.')));
    if !has_ext {
        return Ok(Parsed::Ignore("the file extension must be one of [json yaml]".into()));
    }
    // ^(target)([^.+\n]*)?(\+)?(json|merge|strategic)?  — Go's regexp alternation is leftmost-first.
    let Some(target) = known.iter().find(|t| name.starts_with(**t)) else {
        return Ok(Parsed::Ignore(format!("unknown target, must be one of [{}]", known.join(" "))));
    };
    let rest = &name[target.len()..];
    let suffix_len = rest.find(['.', '+', '\n']).unwrap_or(rest.len());
    let rest = &rest[suffix_len..];
    let Some(after_plus) = rest.strip_prefix('+') else {
        return Ok(Parsed::Use(target.to_string(), PatchType::Strategic));
    };
    let pt = if after_plus.starts_with("json") {
        PatchType::Json
    } else if after_plus.starts_with("merge") {
        PatchType::Merge
    } else if after_plus.starts_with("strategic") {
        PatchType::Strategic
    } else {
        return Err(());
    };
    Ok(Parsed::Use(target.to_string(), pt))
}

/// Splits a YAML stream on `---` separator lines like apimachinery's `YAMLReader`.
fn split_documents(data: &str) -> Vec<String> {
    let mut docs = Vec::new();
    let mut cur = String::new();
    for line in data.split_inclusive('\n') {
        let l = line.trim_end_matches(['\n', '\r']);
        if l == "---" || l.starts_with("--- ") {
            docs.push(std::mem::take(&mut cur));
            continue;
        }
        cur.push_str(line);
    }
    docs.push(cur);
    docs
}

/// Converts YAML (or JSON) text to JSON (upstream `yaml.YAMLToJSON`).
pub fn yaml_to_json(text: &str) -> Result<Value, String> {
    let v: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
    serde_json::to_value(v).map_err(|e| e.to_string())
}

/// Patches loaded from a directory, grouped per file (upstream `PatchManager`).
#[derive(Debug, Clone, Default)]
pub struct PatchManager {
    sets: Vec<PatchSet>,
    /// Lines upstream prints while reading the directory (`[patches] Reading patches from path ...`,
    /// `Found the following patch files: [...]`, `Ignored the following files: [...]`, ...). Upstream
    /// caches the manager per path, so these appear once per process.
    pub messages: Vec<String>,
}

impl PatchManager {
    /// Reads the files of a patches directory (`dir` as given by the user, used in messages).
    pub fn from_files(dir: &str, mut files: Vec<PatchFile>) -> Result<Self, PatchError> {
        files.sort_by(|a, b| a.path.split('/').cmp(b.path.split('/')));
        let mut messages = vec![format!("[patches] Reading patches from path {dir:?}")];
        let mut found = Vec::new();
        let mut ignored = Vec::new();
        let mut sets = Vec::new();
        for f in files {
            let base = f.path.rsplit('/').next().unwrap_or(&f.path).to_string();
            match parse_filename(&base, KNOWN_TARGETS) {
                Err(()) => return Err(PatchError::UnknownPatchType { dir: dir.into() }),
                Ok(Parsed::Ignore(why)) => {
                    messages.push(format!("[patches] Ignoring file {base:?}: {why}"));
                    ignored.push(base);
                }
                Ok(Parsed::Use(target, patch_type)) => {
                    if f.data.is_empty() {
                        messages.push(format!("[patches] Ignoring empty file: {base:?}"));
                        ignored.push(base);
                        continue;
                    }
                    let text = String::from_utf8_lossy(&f.data).into_owned();
                    let mut patches = Vec::new();
                    for doc in split_documents(&text) {
                        let doc = doc.trim();
                        if doc.is_empty() {
                            continue;
                        }
                        let v = yaml_to_json(doc).map_err(|reason| PatchError::BadPatchDocument {
                            dir: dir.into(),
                            patch: doc.to_string(),
                            reason,
                        })?;
                        patches.push(v);
                    }
                    found.push(base);
                    sets.push(PatchSet { target, patch_type, patches });
                }
            }
        }
        if !found.is_empty() {
            messages.push(format!("[patches] Found the following patch files: [{}]", found.join(" ")));
        }
        if !ignored.is_empty() {
            messages.push(format!("[patches] Ignored the following files: [{}]", ignored.join(" ")));
        }
        Ok(PatchManager { sets, messages })
    }

    /// Applies all patches for `target` to `data` in order. Returns the patched object and one
    /// `[patches] Applied patch of type "..." to target "..."` line per patch.
    pub fn apply(
        &self,
        target: &str,
        data: &Value,
        schema: Schema,
    ) -> Result<(Value, Vec<String>), PatchError> {
        if !KNOWN_TARGETS.contains(&target) {
            return Err(PatchError::UnknownTarget(target.into()));
        }
        let mut cur = data.clone();
        let mut msgs = Vec::new();
        for set in self.sets.iter().filter(|s| s.target == target) {
            for p in &set.patches {
                let err = |reason: String| PatchError::Apply {
                    patch_type: set.patch_type.as_go().into(),
                    target: target.into(),
                    patch: p.to_string(),
                    reason,
                };
                cur = match set.patch_type {
                    PatchType::Json => {
                        let patch: json_patch::Patch =
                            serde_json::from_value(p.clone()).map_err(|e| err(e.to_string()))?;
                        let mut doc = cur.clone();
                        json_patch::patch(&mut doc, &patch).map_err(|e| err(e.to_string()))?;
                        doc
                    }
                    PatchType::Merge => {
                        let mut doc = cur.clone();
                        json_patch::merge(&mut doc, p);
                        doc
                    }
                    PatchType::Strategic => strategic_merge_patch(&cur, p, schema)
                        .map_err(|e: StrategicError| err(e.to_string()))?,
                };
                msgs.push(format!(
                    "[patches] Applied patch of type {:?} to target {target:?}",
                    set.patch_type.as_go()
                ));
            }
        }
        Ok((cur, msgs))
    }

    /// True when no patch file was found.
    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }
}

/// Drops `null` object members recursively — the part of upstream's decode into a typed object
/// and re-encode that matters for patched static Pods.
pub fn normalize_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            m.values_mut().for_each(normalize_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(normalize_nulls),
        _ => {}
    }
}

/// Bool fields of the Pod types that are pointers in Go (`false` survives a typed round trip).
const POINTER_BOOLS: &[&str] = &[
    "privileged",
    "allowPrivilegeEscalation",
    "readOnlyRootFilesystem",
    "runAsNonRoot",
    "automountServiceAccountToken",
    "shareProcessNamespace",
    "enableServiceLinks",
    "hostUsers",
    "setHostnameAsFQDN",
    "optional",
];
/// Integer fields that are pointers or not `omitempty` in Go (`0` survives a typed round trip).
const KEPT_ZERO_INTS: &[&str] = &[
    "runAsUser",
    "runAsGroup",
    "fsGroup",
    "priority",
    "terminationGracePeriodSeconds",
    "activeDeadlineSeconds",
    "defaultMode",
    "mode",
    "expirationSeconds",
    "containerPort",
    "port",
    "weight",
    "tolerationSeconds",
];
/// String fields that are pointers or not `omitempty` in Go (`""` survives a typed round trip).
const KEPT_EMPTY_STRINGS: &[&str] = &[
    "name",
    "mountPath",
    "path",
    "type",
    "key",
    "fieldPath",
    "resource",
    "devicePath",
    "ip",
    "topologyKey",
    "whenUnsatisfiable",
    "uid",
    "apiVersion",
    "kind",
    "port",
];
/// Map-typed fields (`omitempty` drops them when empty); other empty objects are structs and stay.
const MAP_FIELDS: &[&str] = &["labels", "annotations", "nodeSelector", "requests", "limits", "overhead"];

/// Approximates upstream's decode of the patched JSON into a typed `v1.Pod` and re-encode: drops
/// `null`s, zero values of `omitempty` scalar fields, and empty maps/lists. Not reproduced: unknown
/// fields are kept (Go drops them) and quantities are not canonicalized.
pub fn normalize_typed_pod(v: &mut Value) {
    normalize_nulls(v);
    fn walk(v: &mut Value) {
        match v {
            Value::Object(m) => {
                m.retain(|k, x| match x {
                    Value::Bool(false) => POINTER_BOOLS.contains(&k.as_str()),
                    Value::Number(n) => n.as_f64() != Some(0.0) || KEPT_ZERO_INTS.contains(&k.as_str()),
                    Value::String(s) => !s.is_empty() || KEPT_EMPTY_STRINGS.contains(&k.as_str()),
                    Value::Array(a) => !a.is_empty() || k == "containers",
                    Value::Object(o) => !o.is_empty() || !MAP_FIELDS.contains(&k.as_str()),
                    _ => true,
                });
                m.values_mut().for_each(walk);
            }
            Value::Array(a) => a.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(v);
}

/// Patches a static Pod (upstream `PatchStaticPod`); the target is the Pod's component name.
/// Returns the patched Pod and the `[patches] Applied patch ...` lines.
pub fn patch_static_pod(
    pod: &crate::staticpod::StaticPod,
    pm: &PatchManager,
) -> Result<(crate::staticpod::StaticPod, Vec<String>), PatchError> {
    let (mut v, msgs) = pm.apply(&pod.name, &pod.pod, Schema::Pod)?;
    normalize_typed_pod(&mut v);
    Ok((crate::staticpod::StaticPod { name: pod.name.clone(), pod: v }, msgs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn f(path: &str, data: &str) -> PatchFile {
        PatchFile { path: path.into(), data: data.as_bytes().to_vec() }
    }

    #[test]
    fn filenames_and_messages() {
        let pm = PatchManager::from_files(
            "/p",
            vec![
                f("kube-apiserver1+merge.yaml", "metadata:\n  labels:\n    b: \"2\"\n"),
                f(
                    "kube-apiserver0.yaml",
                    "metadata:\n  labels:\n    a: \"1\"\n---\nmetadata:\n  labels:\n    c: x\n",
                ),
                f("readme.txt", "x"),
                f("foo.yaml", "x: 1"),
                f(
                    "etcd+json.json",
                    "[{\"op\": \"add\", \"path\": \"/metadata/labels/j\", \"value\": \"v\"}]",
                ),
                f("kube-scheduler.yaml", ""),
            ],
        )
        .unwrap();
        assert_eq!(pm.messages[0], "[patches] Reading patches from path \"/p\"");
        assert!(pm.messages.contains(&"[patches] Ignoring file \"foo.yaml\": unknown target, must be one of [etcd kube-apiserver kube-controller-manager kube-scheduler kubeletconfiguration corednsdeployment kubeproxydaemonset]".to_string()));
        assert!(pm.messages.contains(&"[patches] Found the following patch files: [etcd+json.json kube-apiserver0.yaml kube-apiserver1+merge.yaml]".to_string()));
        let (v, msgs) =
            pm.apply("kube-apiserver", &json!({"metadata": {"labels": {}}}), Schema::Pod).unwrap();
        assert_eq!(v, json!({"metadata": {"labels": {"a": "1", "b": "2", "c": "x"}}}));
        assert_eq!(msgs.len(), 3);
        assert_eq!(
            msgs[2],
            "[patches] Applied patch of type \"application/merge-patch+json\" to target \"kube-apiserver\""
        );
        let (v, _) = pm.apply("etcd", &json!({"metadata": {"labels": {}}}), Schema::Pod).unwrap();
        assert_eq!(v, json!({"metadata": {"labels": {"j": "v"}}}));
        assert!(PatchManager::from_files("/p", vec![f("etcd+bad.yaml", "a: 1")]).is_err());
    }
}
