//! Loading kubeadm configuration files: splitting multi-document YAML, reading apiVersion/kind,
//! decoding kubeadm documents and keeping component configs (KubeletConfiguration,
//! KubeProxyConfiguration) as JSON values. Follows `util/config/common.go`,
//! `initconfiguration.go`, `joinconfiguration.go`, `strict/strict.go` and `util/marshal.go`.
//!
//! Like upstream, unknown fields, unknown kinds and unexpected documents are *warnings* for
//! `init`/`join`/`reset`/`upgrade` (upstream calls with `strictErrors=false`); with
//! [`LoadOptions::strict`] (used by `kubeadm config validate`) they are errors. Warnings are
//! returned in the bundles for the caller to print.
//!
//! `kubeadm.k8s.io/v1beta4` is the current version. Unlike upstream v1.37 (which rejects it),
//! kubeadm-rs also reads `kubeadm.k8s.io/v1beta3` InitConfiguration, ClusterConfiguration and
//! JoinConfiguration documents: they are decoded into [`crate::v1beta3`] types, converted to v1beta4
//! and then defaulted like v1beta4 documents, with a deprecation warning
//! ([`crate::v1beta3::deprecation_warning`]). v1beta2 and older are rejected with upstream's
//! "old API spec" error, and `kubeadm.k8s.io/v1` is experimental (needs
//! [`LoadOptions::allow_experimental`]; its `mergeMethod` is not supported yet).
//!
//! Loaders apply static defaults only; the caller applies dynamic defaults
//! ([`crate::defaults`]) with host facts and then validates ([`crate::validation`]).

use serde::de::DeserializeOwned;

use crate::constants;
use crate::defaults;
use crate::v1beta3;
use crate::v1beta4::{
    API_VERSION, ClusterConfiguration, InitConfiguration, JoinConfiguration, ResetConfiguration,
    UpgradeConfiguration,
};

/// Errors while loading a configuration file. Messages follow upstream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A document is not valid YAML.
    #[error("error converting YAML to JSON: document {document}: {message}")]
    Yaml {
        /// 1-based document index.
        document: usize,
        /// Parser message (with line/column).
        message: String,
    },
    /// Text after a `---` separator.
    #[error("invalid Yaml document separator: {0}")]
    Separator(String),
    /// apiVersion or kind missing.
    #[error(
        "invalid configuration for GroupVersionKind {{Group:{group} Version:{version} Kind:{kind}}}: kind and apiVersion is mandatory information that must be specified"
    )]
    MissingTypeMeta {
        /// Group part of apiVersion.
        group: String,
        /// Version part of apiVersion.
        version: String,
        /// Kind.
        kind: String,
    },
    /// The same kind appears in several documents (all duplicates listed).
    #[error("{}", aggregate(.0))]
    DuplicateKinds(Vec<String>),
    /// An old, unsupported kubeadm API version (v1beta2 and older).
    #[error(
        "your configuration file uses an old API spec: {api_version:?} (kind: {kind:?}). Please use kubeadm {use_version} instead and run 'kubeadm config migrate --old-config old-config-file --new-config new-config-file', which will write the new, similar spec using a newer API version."
    )]
    OldApiVersion {
        /// apiVersion.
        api_version: String,
        /// kind.
        kind: String,
        /// kubeadm version to use for migration.
        use_version: String,
    },
    /// An experimental API version without `--allow-experimental-api`.
    #[error(
        "experimental API spec: {api_version:?} (kind: {kind:?}) is not allowed. You can use the --allow-experimental-api flag if the command supports it."
    )]
    Experimental {
        /// apiVersion.
        api_version: String,
        /// kind.
        kind: String,
    },
    /// Strict decoding failed (unknown or duplicate field) in strict mode.
    #[error("error unmarshaling configuration {gvk}: strict decoding error: {message}")]
    Strict {
        /// GroupVersionKind in Go's `%#v` form.
        gvk: String,
        /// e.g. `unknown field "nodeRegistration.foo"` (line N).
        message: String,
    },
    /// A document with an unknown GroupVersionKind in strict mode.
    #[error("unknown configuration {0}")]
    UnknownConfiguration(String),
    /// A kubeadm document could not be decoded (wrong types etc.).
    #[error("error decoding {kind}: {message}")]
    Decode {
        /// Document kind.
        kind: String,
        /// serde message with field path and line.
        message: String,
    },
    /// Neither InitConfiguration nor ClusterConfiguration in an init config.
    #[error("no InitConfiguration or ClusterConfiguration kind was found in the configuration file")]
    NoInitOrCluster,
    /// The required kind is missing (join/reset/upgrade).
    #[error("no {0} found in the supplied config")]
    NotFound(&'static str),
}

fn aggregate(msgs: &[String]) -> String {
    if msgs.len() == 1 { msgs[0].clone() } else { format!("[{}]", msgs.join(", ")) }
}

/// Loader options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoadOptions {
    /// Unknown fields/kinds are errors (upstream `strictErrors`, e.g. `kubeadm config validate`).
    pub strict: bool,
    /// Accept the experimental `kubeadm.k8s.io/v1` (`--allow-experimental-api`).
    pub allow_experimental: bool,
}

/// One YAML document of a config file.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// `apiVersion` as written.
    pub api_version: String,
    /// API group (empty for core).
    pub group: String,
    /// API version.
    pub version: String,
    /// `kind`.
    pub kind: String,
    /// The document's YAML text.
    pub text: String,
    /// The document as JSON.
    pub value: serde_json::Value,
}

impl Document {
    /// Go's `%v` of the GroupVersionKind: `kubeadm.k8s.io/v1beta4, Kind=InitConfiguration`.
    pub fn gvk_string(&self) -> String {
        format!("{}, Kind={}", self.api_version, self.kind)
    }
    /// Go's `%#v` of the GroupVersionKind.
    pub fn gvk_go_syntax(&self) -> String {
        format!(
            "schema.GroupVersionKind{{Group:{:?}, Version:{:?}, Kind:{:?}}}",
            self.group, self.version, self.kind
        )
    }
}

/// Splits a YAML stream into documents (k8s `YAMLReader` + `SplitConfigDocuments`): separators are
/// lines starting with `---` followed only by spaces or a comment. Whitespace-only documents are
/// skipped. Every document needs apiVersion (with a group) and kind; a kind may appear only once.
pub fn split_documents(yaml: &str) -> Result<Vec<Document>, ConfigError> {
    let mut chunks: Vec<String> = Vec::new();
    let mut cur = String::new();
    for line in yaml.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix("---") {
            let trimmed = rest.trim();
            if !trimmed.is_empty() && !trimmed.starts_with('#') {
                return Err(ConfigError::Separator(line.trim_end().to_string()));
            }
            chunks.push(std::mem::take(&mut cur));
            continue;
        }
        cur.push_str(line);
    }
    chunks.push(cur);

    let mut docs = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut dups = Vec::new();
    for (i, text) in chunks.into_iter().enumerate() {
        if text.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value = serde_yaml::from_str(&text)
            .map_err(|e| ConfigError::Yaml { document: i + 1, message: e.to_string() })?;
        let get = |k: &str| value.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
        let api_version = get("apiVersion");
        let kind = get("kind");
        let (group, version) = match api_version.rsplit_once('/') {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (String::new(), api_version.clone()),
        };
        if group.is_empty() || version.is_empty() || kind.is_empty() {
            return Err(ConfigError::MissingTypeMeta { group, version, kind });
        }
        if !seen.insert(kind.clone()) {
            dups.push(format!("invalid configuration: kind {kind:?} is specified twice in YAML file"));
            continue;
        }
        docs.push(Document { api_version, group, version, kind, text, value });
    }
    if !dups.is_empty() {
        return Err(ConfigError::DuplicateKinds(dups));
    }
    Ok(docs)
}

/// `validateSupportedVersion`.
fn validate_supported_version(doc: &Document, opts: &LoadOptions) -> Result<(), ConfigError> {
    let old = [
        ("kubeadm.k8s.io/v1alpha1", "v1.11"),
        ("kubeadm.k8s.io/v1alpha2", "v1.12"),
        ("kubeadm.k8s.io/v1alpha3", "v1.14"),
        ("kubeadm.k8s.io/v1beta1", "v1.15"),
        ("kubeadm.k8s.io/v1beta2", "v1.22"),
    ];
    if let Some((_, v)) = old.iter().find(|(gv, _)| *gv == doc.api_version) {
        return Err(ConfigError::OldApiVersion {
            api_version: doc.api_version.clone(),
            kind: doc.kind.clone(),
            use_version: v.to_string(),
        });
    }
    if doc.api_version == "kubeadm.k8s.io/v1" && !opts.allow_experimental {
        return Err(ConfigError::Experimental {
            api_version: doc.api_version.clone(),
            kind: doc.kind.clone(),
        });
    }
    Ok(())
}

fn is_kubeadm_version(doc: &Document) -> bool {
    doc.api_version == API_VERSION || doc.api_version == "kubeadm.k8s.io/v1"
}

const KUBEADM_KINDS: [&str; 5] = [
    constants::INIT_CONFIGURATION_KIND,
    constants::CLUSTER_CONFIGURATION_KIND,
    constants::JOIN_CONFIGURATION_KIND,
    constants::RESET_CONFIGURATION_KIND,
    constants::UPGRADE_CONFIGURATION_KIND,
];

fn is_component_config(doc: &Document) -> bool {
    (doc.api_version == constants::KUBELET_CONFIG_API_VERSION
        && doc.kind == constants::KUBELET_CONFIGURATION_KIND)
        || (doc.api_version == constants::KUBE_PROXY_CONFIG_API_VERSION
            && doc.kind == constants::KUBE_PROXY_CONFIGURATION_KIND)
}

/// A v1beta3 kind that kubeadm-rs reads and converts (InitConfiguration, ClusterConfiguration,
/// JoinConfiguration).
fn is_v1beta3(doc: &Document) -> bool {
    doc.api_version == v1beta3::API_VERSION && v1beta3::KINDS.contains(&doc.kind.as_str())
}

fn is_known(doc: &Document) -> bool {
    (is_kubeadm_version(doc) && KUBEADM_KINDS.contains(&doc.kind.as_str()))
        || is_v1beta3(doc)
        || is_component_config(doc)
}

/// Parses serde_norway's unknown-field message into (`path.field`, line).
fn unknown_field(e: &serde_yaml::Error) -> Option<(String, usize, usize)> {
    let msg = e.to_string();
    let idx = msg.find("unknown field `")?;
    let prefix = msg[..idx].trim_end().trim_end_matches(':');
    let rest = &msg[idx + "unknown field `".len()..];
    let name = &rest[..rest.find('`')?];
    let loc = e.location()?;
    let path = if prefix.is_empty() { name.to_string() } else { format!("{prefix}.{name}") };
    Some((path, loc.line(), loc.column()))
}

/// Removes the block-style mapping entry that starts at `line`/`column` (1-based) together with
/// its nested lines. Returns `None` if the text does not look like that.
fn remove_entry(text: &str, line: usize, column: usize) -> Option<String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let start = line.checked_sub(1)?;
    let first = lines.get(start)?;
    let indent = column.checked_sub(1)?;
    // The key may follow "- " on the same line; then only the key's own value is removed, and the
    // indentation of nested lines is measured from the key column.
    let key_part = first.get(indent..)?;
    let before = &first[..indent];
    let mut end = start + 1;
    while end < lines.len() {
        let l = lines[end];
        let t = l.trim_start();
        let ind = l.len() - t.len();
        if t.trim().is_empty()
            || t.starts_with('#')
            || ind > indent
            || (ind == indent && t.starts_with("- ") && !key_part.starts_with("- "))
        {
            // a sequence at the key's own indentation belongs to the key only if the key has no
            // inline value
            if ind == indent && t.starts_with("- ") && !key_part.trim_end().ends_with(':') {
                break;
            }
            end += 1;
        } else {
            break;
        }
    }
    // Do not swallow trailing blank/comment lines that belong to the next entry: harmless.
    let mut out = String::new();
    for l in &lines[..start] {
        out.push_str(l);
    }
    if before.trim().starts_with('-') {
        // "- key: v" -> keep the item marker with an empty mapping.
        out.push_str(before);
        out.push_str("{}\n");
    }
    for l in &lines[end..] {
        out.push_str(l);
    }
    Some(out)
}

/// Decodes one document into `T`. Unknown fields are errors in strict mode, otherwise they are
/// dropped with a warning in upstream's words.
pub fn decode_document<T: DeserializeOwned>(
    doc: &Document,
    strict: bool,
) -> Result<(T, Vec<String>), ConfigError> {
    let mut text = doc.text.clone();
    let mut warnings = Vec::new();
    for _ in 0..200 {
        match serde_yaml::from_str::<T>(&text) {
            Ok(v) => return Ok((v, warnings)),
            Err(e) => {
                let Some((path, line, col)) = unknown_field(&e) else {
                    return Err(ConfigError::Decode { kind: doc.kind.clone(), message: e.to_string() });
                };
                let message = format!("unknown field {path:?}");
                if strict {
                    return Err(ConfigError::Strict {
                        gvk: doc.gvk_go_syntax(),
                        message: format!("{message} (line {line})"),
                    });
                }
                warnings.push(format!(
                    "error unmarshaling configuration {}: strict decoding error: {message}",
                    doc.gvk_go_syntax()
                ));
                match remove_entry(&text, line, col) {
                    Some(t) if t != text => text = t,
                    _ => {
                        return Err(ConfigError::Strict {
                            gvk: doc.gvk_go_syntax(),
                            message: format!("{message} (line {line})"),
                        });
                    }
                }
            }
        }
    }
    Err(ConfigError::Decode { kind: doc.kind.clone(), message: "too many unknown fields".into() })
}

/// An init configuration: InitConfiguration + ClusterConfiguration (static defaults applied) and the
/// component configs as raw JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct InitBundle {
    /// InitConfiguration.
    pub init: InitConfiguration,
    /// ClusterConfiguration.
    pub cluster: ClusterConfiguration,
    /// KubeletConfiguration document, if given.
    pub kubelet: Option<serde_json::Value>,
    /// KubeProxyConfiguration document, if given.
    pub kube_proxy: Option<serde_json::Value>,
    /// Warnings to print (unknown fields, ignored documents).
    pub warnings: Vec<String>,
}

fn set_type_meta(api_version: &mut String, kind: &mut String, k: &str) {
    *api_version = API_VERSION.to_string();
    *kind = k.to_string();
}

/// Static-defaulted InitConfiguration (no token value, no node name, no advertise address).
pub fn default_init_configuration() -> InitConfiguration {
    let mut i = InitConfiguration::default();
    set_type_meta(&mut i.api_version, &mut i.kind, constants::INIT_CONFIGURATION_KIND);
    defaults::set_defaults_init_configuration(&mut i);
    i
}

/// Static-defaulted ClusterConfiguration (kubernetesVersion still `stable-1`).
pub fn default_cluster_configuration() -> ClusterConfiguration {
    let mut c = ClusterConfiguration::default();
    set_type_meta(&mut c.api_version, &mut c.kind, constants::CLUSTER_CONFIGURATION_KIND);
    defaults::set_defaults_cluster_configuration(&mut c);
    c
}

/// The bundle used without `--config`.
pub fn default_init_bundle() -> InitBundle {
    InitBundle {
        init: default_init_configuration(),
        cluster: default_cluster_configuration(),
        kubelet: None,
        kube_proxy: None,
        warnings: Vec::new(),
    }
}

fn ignored(doc: &Document) -> String {
    format!("[config] WARNING: Ignored configuration document with GroupVersionKind {}", doc.gvk_string())
}

fn unknown_doc(doc: &Document, opts: &LoadOptions, warnings: &mut Vec<String>) -> Result<(), ConfigError> {
    let msg = format!("unknown configuration {}", doc.gvk_go_syntax());
    if opts.strict {
        return Err(ConfigError::UnknownConfiguration(doc.gvk_go_syntax()));
    }
    warnings.push(msg);
    Ok(())
}

/// [`load_init_config_with`] with default (non-strict) options.
pub fn load_init_config(yaml: &str) -> Result<InitBundle, ConfigError> {
    load_init_config_with(yaml, &LoadOptions::default())
}

/// Loads an init config (`documentMapToInitConfiguration` without dynamic defaults and
/// validation): at least one of InitConfiguration and ClusterConfiguration; the missing one is
/// defaulted; other kubeadm kinds are ignored with a warning.
pub fn load_init_config_with(yaml: &str, opts: &LoadOptions) -> Result<InitBundle, ConfigError> {
    let mut docs = split_documents(yaml)?;
    docs.sort_by_key(|d| d.gvk_string());
    let mut b = default_init_bundle();
    let (mut have_init, mut have_cluster) = (false, false);
    // v1beta3 `apiServer.timeoutForControlPlane`, moved into the InitConfiguration at the end.
    let mut timeout_for_control_plane = None;
    for doc in &docs {
        validate_supported_version(doc, opts)?;
        if !is_known(doc) {
            unknown_doc(doc, opts, &mut b.warnings)?;
        }
        if is_v1beta3(doc) && doc.kind == constants::INIT_CONFIGURATION_KIND {
            let (old, w): (v1beta3::InitConfiguration, _) = decode_document(doc, opts.strict)?;
            b.warnings.push(v1beta3::deprecation_warning(&doc.kind));
            b.warnings.extend(w);
            let mut i = old.into_v1beta4();
            set_type_meta(&mut i.api_version, &mut i.kind, constants::INIT_CONFIGURATION_KIND);
            defaults::set_defaults_init_configuration(&mut i);
            b.init = i;
            have_init = true;
        } else if is_v1beta3(doc) && doc.kind == constants::CLUSTER_CONFIGURATION_KIND {
            let (old, w): (v1beta3::ClusterConfiguration, _) = decode_document(doc, opts.strict)?;
            b.warnings.push(v1beta3::deprecation_warning(&doc.kind));
            b.warnings.extend(w);
            timeout_for_control_plane = Some(old.timeout_for_control_plane());
            let mut c = old.into_v1beta4();
            set_type_meta(&mut c.api_version, &mut c.kind, constants::CLUSTER_CONFIGURATION_KIND);
            defaults::set_defaults_cluster_configuration(&mut c);
            b.cluster = c;
            have_cluster = true;
        } else if is_kubeadm_version(doc) && doc.kind == constants::INIT_CONFIGURATION_KIND {
            let (mut i, w): (InitConfiguration, _) = decode_document(doc, opts.strict)?;
            b.warnings.extend(w);
            set_type_meta(&mut i.api_version, &mut i.kind, constants::INIT_CONFIGURATION_KIND);
            defaults::set_defaults_init_configuration(&mut i);
            b.init = i;
            have_init = true;
        } else if is_kubeadm_version(doc) && doc.kind == constants::CLUSTER_CONFIGURATION_KIND {
            let (mut c, w): (ClusterConfiguration, _) = decode_document(doc, opts.strict)?;
            b.warnings.extend(w);
            set_type_meta(&mut c.api_version, &mut c.kind, constants::CLUSTER_CONFIGURATION_KIND);
            defaults::set_defaults_cluster_configuration(&mut c);
            b.cluster = c;
            have_cluster = true;
        } else if is_component_config(doc) {
            if doc.kind == constants::KUBELET_CONFIGURATION_KIND {
                b.kubelet = Some(doc.value.clone());
            } else {
                b.kube_proxy = Some(doc.value.clone());
            }
        } else if doc.group != "kubelet.config.k8s.io" && doc.group != "kubeproxy.config.k8s.io" {
            // upstream warns for every other document whose group is not a component-config group
            b.warnings.push(ignored(doc));
        }
    }
    if !have_init && !have_cluster {
        return Err(ConfigError::NoInitOrCluster);
    }
    if let Some(t) = timeout_for_control_plane {
        v1beta3::apply_timeout_for_control_plane(&mut b.init, t);
    }
    Ok(b)
}

/// Decodes a single ClusterConfiguration YAML (e.g. the `kubeadm-config` ConfigMap) and applies
/// static defaults. Unknown fields are dropped; a v1beta3 document is converted (its
/// `apiServer.timeoutForControlPlane` has no place in a ClusterConfiguration and is dropped).
pub fn parse_cluster_configuration(yaml: &str) -> Result<ClusterConfiguration, ConfigError> {
    let docs = split_documents(yaml)?;
    let doc = docs
        .iter()
        .find(|d| d.kind == constants::CLUSTER_CONFIGURATION_KIND)
        .ok_or(ConfigError::NotFound(constants::CLUSTER_CONFIGURATION_KIND))?;
    validate_supported_version(doc, &LoadOptions::default())?;
    let (mut c, _): (ClusterConfiguration, _) = if is_v1beta3(doc) {
        let (old, w): (v1beta3::ClusterConfiguration, _) = decode_document(doc, false)?;
        (old.into_v1beta4(), w)
    } else {
        decode_document(doc, false)?
    };
    set_type_meta(&mut c.api_version, &mut c.kind, constants::CLUSTER_CONFIGURATION_KIND);
    defaults::set_defaults_cluster_configuration(&mut c);
    Ok(c)
}

/// A join configuration with warnings.
#[derive(Debug, Clone, PartialEq)]
pub struct JoinBundle {
    /// JoinConfiguration (static defaults applied).
    pub join: JoinConfiguration,
    /// Warnings to print.
    pub warnings: Vec<String>,
}

fn load_single<T: DeserializeOwned>(
    yaml: &str,
    opts: &LoadOptions,
    kind: &'static str,
) -> Result<(T, Vec<String>), ConfigError> {
    load_single_with(yaml, opts, kind, decode_document)
}

/// Finds the one document of `kind` and decodes it with `decode` (v1beta4/v1 documents, and v1beta3
/// documents of the kinds v1beta3 defines; other versions are unknown configurations).
fn load_single_with<T>(
    yaml: &str,
    opts: &LoadOptions,
    kind: &'static str,
    decode: impl Fn(&Document, bool) -> Result<(T, Vec<String>), ConfigError>,
) -> Result<(T, Vec<String>), ConfigError> {
    let docs = split_documents(yaml)?;
    let mut warnings = Vec::new();
    let mut found: Option<T> = None;
    for doc in &docs {
        if doc.kind != kind {
            warnings.push(ignored(doc));
            continue;
        }
        validate_supported_version(doc, opts)?;
        if !is_kubeadm_version(doc) && !is_v1beta3(doc) {
            unknown_doc(doc, opts, &mut warnings)?;
            continue;
        }
        let (v, w) = decode(doc, opts.strict)?;
        warnings.extend(w);
        found = Some(v);
    }
    found.map(|v| (v, warnings)).ok_or(ConfigError::NotFound(kind))
}

/// [`load_join_config_with`] with default options.
pub fn load_join_config(yaml: &str) -> Result<JoinBundle, ConfigError> {
    load_join_config_with(yaml, &LoadOptions::default())
}

/// Loads a JoinConfiguration (other documents are ignored with a warning), static defaults applied.
pub fn load_join_config_with(yaml: &str, opts: &LoadOptions) -> Result<JoinBundle, ConfigError> {
    let decode = |doc: &Document, strict: bool| -> Result<(JoinConfiguration, Vec<String>), ConfigError> {
        if is_v1beta3(doc) {
            let (old, w): (v1beta3::JoinConfiguration, _) = decode_document(doc, strict)?;
            let mut warnings = vec![v1beta3::deprecation_warning(&doc.kind)];
            warnings.extend(w);
            Ok((old.into_v1beta4(), warnings))
        } else {
            decode_document(doc, strict)
        }
    };
    let (mut join, warnings) = load_single_with(yaml, opts, constants::JOIN_CONFIGURATION_KIND, decode)?;
    set_type_meta(&mut join.api_version, &mut join.kind, constants::JOIN_CONFIGURATION_KIND);
    defaults::set_defaults_join_configuration(&mut join);
    Ok(JoinBundle { join, warnings })
}

/// Static-defaulted JoinConfiguration (no discovery set).
pub fn default_join_configuration() -> JoinConfiguration {
    let mut j = JoinConfiguration::default();
    set_type_meta(&mut j.api_version, &mut j.kind, constants::JOIN_CONFIGURATION_KIND);
    defaults::set_defaults_join_configuration(&mut j);
    j
}

/// Loads a ResetConfiguration, static defaults applied; returns warnings too.
pub fn load_reset_config(
    yaml: &str,
    opts: &LoadOptions,
) -> Result<(ResetConfiguration, Vec<String>), ConfigError> {
    let (mut r, w): (ResetConfiguration, _) = load_single(yaml, opts, constants::RESET_CONFIGURATION_KIND)?;
    set_type_meta(&mut r.api_version, &mut r.kind, constants::RESET_CONFIGURATION_KIND);
    defaults::set_defaults_reset_configuration(&mut r);
    Ok((r, w))
}

/// Static-defaulted ResetConfiguration.
pub fn default_reset_configuration() -> ResetConfiguration {
    let mut r = ResetConfiguration::default();
    set_type_meta(&mut r.api_version, &mut r.kind, constants::RESET_CONFIGURATION_KIND);
    defaults::set_defaults_reset_configuration(&mut r);
    r
}

/// Loads an UpgradeConfiguration, static defaults applied; returns warnings too.
pub fn load_upgrade_config(
    yaml: &str,
    opts: &LoadOptions,
) -> Result<(UpgradeConfiguration, Vec<String>), ConfigError> {
    let (mut u, w): (UpgradeConfiguration, _) =
        load_single(yaml, opts, constants::UPGRADE_CONFIGURATION_KIND)?;
    set_type_meta(&mut u.api_version, &mut u.kind, constants::UPGRADE_CONFIGURATION_KIND);
    defaults::set_defaults_upgrade_configuration(&mut u);
    Ok((u, w))
}

/// Static-defaulted UpgradeConfiguration.
pub fn default_upgrade_configuration() -> UpgradeConfiguration {
    let mut u = UpgradeConfiguration::default();
    set_type_meta(&mut u.api_version, &mut u.kind, constants::UPGRADE_CONFIGURATION_KIND);
    defaults::set_defaults_upgrade_configuration(&mut u);
    u
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::print;
    use crate::v1beta4::Arg;

    const INIT: &str = "apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: 10.0.0.1
nodeRegistration:
  name: node1
  taints: []
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
networking:
  podSubnet: 10.244.0.0/16
apiServer:
  extraArgs:
  - name: v
    value: \"2\"
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
---
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: ipvs
";

    #[test]
    fn multi_document() {
        let b = load_init_config(INIT).unwrap();
        assert!(b.warnings.is_empty(), "{:?}", b.warnings);
        assert_eq!(b.init.local_api_endpoint.advertise_address, "10.0.0.1");
        assert_eq!(b.init.local_api_endpoint.bind_port, 6443);
        assert_eq!(b.init.node_registration.taints, Some(vec![]));
        assert_eq!(b.cluster.networking.pod_subnet, "10.244.0.0/16");
        assert_eq!(b.cluster.networking.service_subnet, "10.96.0.0/12");
        assert_eq!(b.cluster.api_server.control_plane_component.extra_args[0].value, "2");
        assert_eq!(b.kubelet.unwrap()["cgroupDriver"], "systemd");
        assert_eq!(b.kube_proxy.unwrap()["mode"], "ipvs");
    }

    #[test]
    fn only_cluster_or_init() {
        let b = load_init_config("apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n").unwrap();
        assert_eq!(b.init.bootstrap_tokens.len(), 1);
        assert_eq!(b.init.kind, "InitConfiguration");
        let e = load_init_config("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n")
            .unwrap_err();
        assert_eq!(e, ConfigError::NoInitOrCluster);
    }

    #[test]
    fn unknown_fields() {
        let y = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nnodeRegistration:\n  name: a\n  foo:\n    bar: 1\n    baz: [1]\n  criSocket: unix:///x\nbogus: 1\n";
        let b = load_init_config(y).unwrap();
        assert_eq!(b.init.node_registration.cri_socket, "unix:///x");
        assert_eq!(b.warnings.len(), 2, "{:?}", b.warnings);
        assert!(
            b.warnings
                .iter()
                .any(|w| w.contains("strict decoding error: unknown field \"nodeRegistration.foo\"")),
            "{:?}",
            b.warnings
        );
        assert!(b.warnings.iter().any(|w| w.contains("unknown field \"bogus\"")));
        let e = load_init_config_with(y, &LoadOptions { strict: true, ..Default::default() })
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("error unmarshaling configuration schema.GroupVersionKind{Group:\"kubeadm.k8s.io\", Version:\"v1beta4\", Kind:\"InitConfiguration\"}: strict decoding error: unknown field \"nodeRegistration.foo\" (line 5)"), "{e}");
    }

    #[test]
    fn unknown_field_in_sequence_item() {
        let y = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\napiServer:\n  extraArgs:\n  - name: a\n    value: b\n    junk: c\n  certSANs: [x]\n";
        let b = load_init_config(y).unwrap();
        assert_eq!(b.cluster.api_server.cert_sans, vec!["x"]);
        assert_eq!(b.cluster.api_server.control_plane_component.extra_args[0].value, "b");
        assert_eq!(b.warnings.len(), 1, "{:?}", b.warnings);
    }

    #[test]
    fn errors() {
        let e = load_init_config("kind: InitConfiguration\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid configuration for GroupVersionKind {Group: Version: Kind:InitConfiguration}: kind and apiVersion is mandatory information that must be specified"
        );
        let y = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\n---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\n";
        assert_eq!(
            load_init_config(y).unwrap_err().to_string(),
            "invalid configuration: kind \"InitConfiguration\" is specified twice in YAML file"
        );
        let e = load_init_config("apiVersion: kubeadm.k8s.io/v1beta2\nkind: InitConfiguration\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("your configuration file uses an old API spec: \"kubeadm.k8s.io/v1beta2\" (kind: \"InitConfiguration\"). Please use kubeadm v1.22 instead"), "{e}");
        let e = load_init_config("apiVersion: kubeadm.k8s.io/v1\nkind: InitConfiguration\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("experimental API spec: \"kubeadm.k8s.io/v1\""), "{e}");
        let e = load_init_config("apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nlocalAPIEndpoint:\n  bindPort: abc\n").unwrap_err().to_string();
        assert!(e.contains("localAPIEndpoint.bindPort: invalid type"), "{e}");
        assert!(matches!(load_init_config("a: [\n"), Err(ConfigError::Yaml { .. })));
        assert!(matches!(load_init_config("--- x\n"), Err(ConfigError::Separator(_))));
    }

    #[test]
    fn ignored_documents() {
        let y = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\n---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\n---\napiVersion: foo.io/v1\nkind: Bar\n";
        let b = load_init_config(y).unwrap();
        assert!(b.warnings.iter().any(|w| w.contains("Ignored configuration document with GroupVersionKind kubeadm.k8s.io/v1beta4, Kind=JoinConfiguration")), "{:?}", b.warnings);
        assert!(
            b.warnings
                .iter()
                .any(|w| w.contains("unknown configuration schema.GroupVersionKind{Group:\"foo.io\"")),
            "{:?}",
            b.warnings
        );
        assert!(load_init_config_with(y, &LoadOptions { strict: true, ..Default::default() }).is_err());
    }

    #[test]
    fn join_reset_upgrade() {
        let y = "---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\ndiscovery:\n  bootstrapToken:\n    token: abcdef.0123456789abcdef\n    apiServerEndpoint: 10.0.0.1:6443\n    unsafeSkipCAVerification: true\n---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\n";
        let j = load_join_config(y).unwrap();
        assert_eq!(j.join.discovery.tls_bootstrap_token.expose(), "abcdef.0123456789abcdef");
        assert_eq!(j.warnings.len(), 1);
        assert!(!format!("{:?}", j.join).contains("0123456789abcdef"));
        assert_eq!(
            load_join_config("apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\n")
                .unwrap_err()
                .to_string(),
            "no JoinConfiguration found in the supplied config"
        );
        let (r, _) = load_reset_config(
            "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ResetConfiguration\nforce: true\n",
            &LoadOptions::default(),
        )
        .unwrap();
        assert!(r.force);
        assert_eq!(r.certificates_dir, "/etc/kubernetes/pki");
        let (u, _) = load_upgrade_config(
            "apiVersion: kubeadm.k8s.io/v1beta4\nkind: UpgradeConfiguration\napply:\n  forceUpgrade: true\n",
            &LoadOptions::default(),
        )
        .unwrap();
        assert_eq!(u.apply.force_upgrade, Some(true));
        assert_eq!(u.apply.etcd_upgrade, Some(true));
        let c = parse_cluster_configuration(
            "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: v1.37.2\n",
        )
        .unwrap();
        assert_eq!(c.kubernetes_version, "v1.37.2");
    }
    const V1BETA3_INIT: &str = "apiVersion: kubeadm.k8s.io/v1beta3
kind: InitConfiguration
bootstrapTokens:
- token: abcdef.0123456789abcdef
  ttl: 1h
localAPIEndpoint:
  advertiseAddress: 10.0.0.1
certificateKey: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
nodeRegistration:
  name: node1
  criSocket: unix:///run/containerd/containerd.sock
  taints: []
  kubeletExtraArgs:
    node-labels: a=b
    cgroup-driver: systemd
    v: \"4\"
---
apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
kubernetesVersion: v1.37.2
networking:
  podSubnet: 10.244.0.0/16
apiServer:
  timeoutForControlPlane: 10m0s
  certSANs: [api.example.com]
  extraArgs:
    v: \"2\"
    audit-log-path: /var/log/audit.log
    authorization-mode: Node,RBAC
  extraVolumes:
  - name: audit
    hostPath: /var/log
    mountPath: /var/log
controllerManager:
  extraArgs:
    bind-address: 0.0.0.0
scheduler:
  extraArgs: {}
etcd:
  local:
    dataDir: /data/etcd
    extraArgs:
      listen-metrics-urls: http://0.0.0.0:2381
      election-timeout: \"5000\"
dns:
  imageRepository: my.registry/coredns
featureGates:
  EtcdLearnerMode: true
";

    #[test]
    fn v1beta3_init_and_cluster_convert() {
        let b = load_init_config(V1BETA3_INIT).unwrap();
        let dep: Vec<_> =
            b.warnings.iter().filter(|w| w.contains("v1beta3") && w.contains("deprecated")).collect();
        assert_eq!(dep.len(), 2, "{:?}", b.warnings);
        assert!(
            dep[0].contains("removed from upstream kubeadm v1.37")
                && dep[0].contains("kubeadm-rs config migrate"),
            "{}",
            dep[0]
        );
        assert_eq!(b.warnings.len(), 2, "{:?}", b.warnings);
        // typemeta is v1beta4
        assert_eq!(b.init.api_version, "kubeadm.k8s.io/v1beta4");
        assert_eq!(b.cluster.api_version, "kubeadm.k8s.io/v1beta4");
        // init
        let nr = &b.init.node_registration;
        assert_eq!(
            nr.kubelet_extra_args,
            vec![Arg::new("cgroup-driver", "systemd"), Arg::new("node-labels", "a=b"), Arg::new("v", "4")]
        );
        assert_eq!(nr.taints, Some(vec![]));
        assert_eq!(nr.image_pull_serial, Some(true));
        assert_eq!(nr.image_pull_policy, "IfNotPresent");
        assert_eq!(b.init.local_api_endpoint.bind_port, 6443);
        assert_eq!(b.init.bootstrap_tokens[0].ttl, Some(crate::Duration::from_hours(1)));
        assert_eq!(
            b.init.bootstrap_tokens[0].groups,
            vec!["system:bootstrappers:kubeadm:default-node-token"]
        );
        let t = b.init.timeouts.as_ref().unwrap();
        assert_eq!(t.control_plane_component_health_check, Some(crate::Duration::from_mins(10)));
        assert_eq!(t.kubelet_health_check, Some(crate::Duration::from_mins(4)));
        assert_eq!(t.discovery, Some(crate::Duration::from_mins(5)));
        // cluster
        let c = &b.cluster;
        assert_eq!(
            c.api_server.control_plane_component.extra_args,
            vec![
                Arg::new("audit-log-path", "/var/log/audit.log"),
                Arg::new("authorization-mode", "Node,RBAC"),
                Arg::new("v", "2")
            ]
        );
        assert_eq!(c.api_server.control_plane_component.extra_volumes[0].host_path, "/var/log");
        assert_eq!(c.api_server.cert_sans, vec!["api.example.com"]);
        assert_eq!(c.controller_manager.extra_args, vec![Arg::new("bind-address", "0.0.0.0")]);
        assert!(c.scheduler.extra_args.is_empty());
        let l = c.etcd.local.as_ref().unwrap();
        assert_eq!(l.data_dir, "/data/etcd");
        assert_eq!(
            l.extra_args,
            vec![
                Arg::new("election-timeout", "5000"),
                Arg::new("listen-metrics-urls", "http://0.0.0.0:2381")
            ]
        );
        assert_eq!(c.dns.image_meta.image_repository, "my.registry/coredns");
        assert!(!c.dns.disabled && !c.proxy.disabled);
        assert_eq!(c.networking.service_subnet, "10.96.0.0/12");
        assert_eq!(c.feature_gates.get("EtcdLearnerMode"), Some(&true));
        assert_eq!(c.encryption_algorithm, Some(crate::v1beta4::EncryptionAlgorithmType::Rsa2048));
        assert_eq!(c.certificate_validity_period, Some(constants::CERTIFICATE_VALIDITY_PERIOD));
        // secrets stay out of Debug
        let dbg = format!("{b:?}");
        assert!(!dbg.contains("0123456789abcdef"), "{dbg}");
    }

    #[test]
    fn v1beta3_equals_v1beta4_equivalent() {
        let v3 = load_init_config(V1BETA3_INIT).unwrap();
        let v4 =
            load_init_config(&print::marshal_init_configuration(&v3.init, &v3.cluster).unwrap()).unwrap();
        assert!(v4.warnings.is_empty(), "{:?}", v4.warnings);
        assert_eq!(v3.init, v4.init);
        assert_eq!(v3.cluster, v4.cluster);
    }

    #[test]
    fn v1beta3_printed_as_v1beta4() {
        let b = load_init_config(V1BETA3_INIT).unwrap();
        let out = print::marshal_init_configuration(&b.init, &b.cluster).unwrap();
        assert!(!out.contains("v1beta3"), "{out}");
        assert!(!out.contains("timeoutForControlPlane"), "{out}");
        assert_eq!(out.matches("apiVersion: kubeadm.k8s.io/v1beta4\n").count(), 2, "{out}");
        assert!(out.contains("  kubeletExtraArgs:\n  - name: cgroup-driver\n    value: systemd\n  - name: node-labels\n    value: a=b\n  - name: v\n    value: \"4\"\n"), "{out}");
        assert!(out.contains("  controlPlaneComponentHealthCheck: 10m0s\n"), "{out}");
        assert!(out.contains("  extraArgs:\n  - name: audit-log-path\n    value: /var/log/audit.log\n  - name: authorization-mode\n    value: Node,RBAC\n  - name: v\n    value: \"2\"\n"), "{out}");
        assert!(out.contains("encryptionAlgorithm: RSA-2048\n"), "{out}");
    }

    #[test]
    fn v1beta3_timeout_for_control_plane() {
        // default (absent) and 4m leave the Init timeout alone, even when a v1beta4 Init sets one
        let y = "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\n---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\ntimeouts:\n  controlPlaneComponentHealthCheck: 7m\n";
        let b = load_init_config(y).unwrap();
        assert_eq!(
            b.init.timeouts.unwrap().control_plane_component_health_check,
            Some(crate::Duration::from_mins(7))
        );
        assert_eq!(b.warnings.len(), 1, "{:?}", b.warnings);
        // only a ClusterConfiguration: the defaulted InitConfiguration gets the timeout
        let y = "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\napiServer:\n  timeoutForControlPlane: 90s\n";
        let b = load_init_config(y).unwrap();
        assert_eq!(
            b.init.timeouts.unwrap().control_plane_component_health_check,
            Some(crate::Duration::from_secs(90))
        );
        assert_eq!(b.init.bootstrap_tokens.len(), 1);
    }

    #[test]
    fn v1beta3_unknown_fields() {
        let y = "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\napiServer:\n  extraArgs:\n    v: \"2\"\n  extraEnvs:\n  - name: A\n    value: b\ndns:\n  type: CoreDNS\nencryptionAlgorithm: ECDSA-P256\nclusterName: c1\n";
        let strict = LoadOptions { strict: true, ..Default::default() };
        let e = load_init_config_with(y, &strict).unwrap_err().to_string();
        assert!(
            e.starts_with("error unmarshaling configuration schema.GroupVersionKind{Group:\"kubeadm.k8s.io\", Version:\"v1beta3\", Kind:\"ClusterConfiguration\"}: strict decoding error: unknown field \"apiServer.extraEnvs\" (line 6)"),
            "{e}"
        );
        let b = load_init_config(y).unwrap();
        for f in ["apiServer.extraEnvs", "dns.type", "encryptionAlgorithm"] {
            assert!(
                b.warnings.iter().any(|w| w.contains(&format!("unknown field {f:?}"))),
                "{f}: {:?}",
                b.warnings
            );
        }
        assert_eq!(b.cluster.cluster_name, "c1");
        assert_eq!(b.cluster.api_server.control_plane_component.extra_args, vec![Arg::new("v", "2")]);
        assert!(b.cluster.api_server.control_plane_component.extra_envs.is_empty());
        assert_eq!(b.cluster.encryption_algorithm, Some(crate::v1beta4::EncryptionAlgorithmType::Rsa2048));
        // a plain scalar is read as a string, as for v1beta4 `extraArgs[].value` (Go would reject `2`)
        let y = "apiVersion: kubeadm.k8s.io/v1beta3\nkind: InitConfiguration\nnodeRegistration:\n  kubeletExtraArgs:\n    v: 2\n";
        assert_eq!(
            load_init_config(y).unwrap().init.node_registration.kubelet_extra_args,
            vec![Arg::new("v", "2")]
        );
        // a nested value is a decode error with the field path
        let y = "apiVersion: kubeadm.k8s.io/v1beta3\nkind: InitConfiguration\nnodeRegistration:\n  kubeletExtraArgs:\n    v: [1]\n";
        let e = load_init_config(y).unwrap_err();
        assert!(
            matches!(&e, ConfigError::Decode { kind, message } if kind == "InitConfiguration" && message.contains("nodeRegistration.kubeletExtraArgs")),
            "{e}"
        );
        // join: unknown field with path, strict
        let y = "apiVersion: kubeadm.k8s.io/v1beta3\nkind: JoinConfiguration\ndiscovery:\n  file:\n    kubeConfigPath: /a\n  timeouts: 1m\n";
        let e = load_join_config_with(y, &strict).unwrap_err().to_string();
        assert!(e.contains("Version:\"v1beta3\", Kind:\"JoinConfiguration\"}: strict decoding error: unknown field \"discovery.timeouts\""), "{e}");
    }

    #[test]
    fn v1beta3_join() {
        let y = "apiVersion: kubeadm.k8s.io/v1beta3
kind: JoinConfiguration
nodeRegistration:
  kubeletExtraArgs:
    node-ip: 10.0.0.2
    cgroup-driver: systemd
discovery:
  bootstrapToken:
    token: abcdef.0123456789abcdef
    apiServerEndpoint: 10.0.0.1:6443
    caCertHashes: [\"sha256:aa\"]
  timeout: 2m30s
controlPlane:
  localAPIEndpoint:
    advertiseAddress: 10.0.0.2
  certificateKey: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
";
        let j = load_join_config(y).unwrap();
        assert_eq!(j.warnings.len(), 1, "{:?}", j.warnings);
        assert!(j.warnings[0].contains("deprecated"), "{:?}", j.warnings);
        let jc = &j.join;
        assert_eq!(jc.api_version, "kubeadm.k8s.io/v1beta4");
        let t = jc.timeouts.as_ref().unwrap();
        assert_eq!(t.discovery, Some(crate::Duration::from_secs(150)));
        assert_eq!(t.tls_bootstrap, Some(crate::Duration::from_mins(5)));
        assert_eq!(jc.discovery.tls_bootstrap_token.expose(), "abcdef.0123456789abcdef");
        assert_eq!(jc.ca_cert_path, "/etc/kubernetes/pki/ca.crt");
        let cp = jc.control_plane.as_ref().unwrap();
        assert_eq!(cp.local_api_endpoint.bind_port, 6443);
        assert_eq!(
            jc.node_registration.kubelet_extra_args,
            vec![Arg::new("cgroup-driver", "systemd"), Arg::new("node-ip", "10.0.0.2")]
        );
        assert!(!format!("{jc:?}").contains("0123456789abcdef"));
        let out = print::to_yaml(jc).unwrap();
        assert!(out.starts_with("apiVersion: kubeadm.k8s.io/v1beta4\n"), "{out}");
        assert!(out.contains("  discovery: 2m30s\n") && !out.contains("  timeout:"), "{out}");
        // default discovery timeout
        let y = "apiVersion: kubeadm.k8s.io/v1beta3\nkind: JoinConfiguration\ndiscovery:\n  file:\n    kubeConfigPath: file:///x\n";
        let j = load_join_config(y).unwrap();
        assert_eq!(j.join.timeouts.unwrap().discovery, Some(crate::Duration::from_mins(5)));
        assert_eq!(j.join.discovery.file.unwrap().kube_config_path, "/x");
    }

    #[test]
    fn v1beta3_other_places() {
        // the kubeadm-config ConfigMap of a cluster created with kubeadm <= v1.30
        let c = parse_cluster_configuration("apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nkubernetesVersion: v1.30.1\napiServer:\n  timeoutForControlPlane: 4m0s\n  extraArgs:\n    b: \"1\"\n    a: \"2\"\netcd:\n  external:\n    endpoints: [https://e:2379]\n    caFile: \"\"\n    certFile: \"\"\n    keyFile: \"\"\n").unwrap();
        assert_eq!(c.api_version, "kubeadm.k8s.io/v1beta4");
        assert_eq!(
            c.api_server.control_plane_component.extra_args,
            vec![Arg::new("a", "2"), Arg::new("b", "1")]
        );
        assert_eq!(c.etcd.external.unwrap().http_endpoints, vec!["https://e:2379"]);
        assert!(c.etcd.local.is_none());
        // v1beta3 has no ResetConfiguration: an unknown configuration
        let e = load_reset_config(
            "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ResetConfiguration\n",
            &LoadOptions::default(),
        )
        .unwrap_err();
        assert_eq!(e, ConfigError::NotFound("ResetConfiguration"));
        // a v1beta3 JoinConfiguration in an init config is ignored like a v1beta4 one
        let y = "apiVersion: kubeadm.k8s.io/v1beta3\nkind: InitConfiguration\n---\napiVersion: kubeadm.k8s.io/v1beta3\nkind: JoinConfiguration\n";
        let b = load_init_config_with(y, &LoadOptions { strict: true, ..Default::default() }).unwrap();
        assert!(b.warnings.iter().any(|w| w.contains("Ignored configuration document with GroupVersionKind kubeadm.k8s.io/v1beta3, Kind=JoinConfiguration")), "{:?}", b.warnings);
    }
}
