//! `kubeadm.k8s.io/v1beta4` configuration types; also the internal representation used by all of
//! kubeadm-rs.
//!
//! Structs and fields mirror upstream's Go types (`cmd/kubeadm/app/apis/kubeadm/v1beta4/types.go`)
//! one to one: same names (Rust casing), serde renames equal to the Go json tags, `Option`/`Vec` where
//! Go has pointers/`omitempty`. Unknown fields are rejected (`deny_unknown_fields`), like kubeadm's
//! strict decoding. `null` is accepted for every field and means the zero value, like Go.
//!
//! Serialization mirrors Go's `encoding/json`: `omitempty` scalars/slices/pointers are skipped when
//! empty, struct-valued fields are always written (`apiServer: {}`), and slices without `omitempty`
//! are written as `null` when empty (`taints: null`).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use crate::duration::Duration;
use crate::serde_util::{is_false, is_zero_i32, is_zero_i64, null_default, vec_or_null};

/// The API group of kubeadm's configuration types.
pub const GROUP: &str = "kubeadm.k8s.io";
/// `apiVersion` of this package.
pub const API_VERSION: &str = "kubeadm.k8s.io/v1beta4";

// ---------------------------------------------------------------------------------------------
// Secrets

/// A string holding a secret (certificate key, discovery token). Its `Debug` never shows the value.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        SecretString(s.into())
    }
    /// The secret value. Do not print it.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// True when no secret is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for SecretString {
    fn from(s: String) -> Self {
        SecretString(s)
    }
}
impl From<&str> for SecretString {
    fn from(s: &str) -> Self {
        SecretString(s.to_string())
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() { f.write_str("\"\"") } else { f.write_str("<redacted>") }
    }
}

fn secret_is_empty(s: &SecretString) -> bool {
    s.is_empty()
}

// ---------------------------------------------------------------------------------------------
// Bootstrap tokens (bootstraptoken/v1)

/// `BootstrapTokenPattern` of k8s.io/cluster-bootstrap, as printed in upstream's error messages.
pub const BOOTSTRAP_TOKEN_PATTERN: &str = r"\A([a-z0-9]{6})\.([a-z0-9]{16})\z";

/// Error for a token that is not `[a-z0-9]{6}.[a-z0-9]{16}`. The token itself is not included (it is
/// a secret); upstream prints it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the bootstrap token was not of the form {:?}", BOOTSTRAP_TOKEN_PATTERN)]
pub struct InvalidBootstrapToken;

fn is_token_part(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// True if `token` is of the form `[a-z0-9]{6}.[a-z0-9]{16}`.
pub fn is_valid_bootstrap_token(token: &str) -> bool {
    match token.split_once('.') {
        Some((id, secret)) => is_token_part(id, 6) && is_token_part(secret, 16),
        None => false,
    }
}

/// A bootstrap token `<id>.<secret>` (Go `BootstrapTokenString`). Serialized as the full string;
/// `Debug` redacts the secret.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct BootstrapTokenString {
    /// The public token ID (6 characters).
    pub id: String,
    /// The secret part (16 characters). Never print it.
    pub secret: String,
}

impl BootstrapTokenString {
    /// Parses and validates `<id>.<secret>`.
    pub fn parse(token: &str) -> Result<Self, InvalidBootstrapToken> {
        match token.split_once('.') {
            Some((id, secret)) if is_token_part(id, 6) && is_token_part(secret, 16) => {
                Ok(Self { id: id.to_string(), secret: secret.to_string() })
            }
            _ => Err(InvalidBootstrapToken),
        }
    }
    /// From an ID and a secret, validating the result.
    pub fn from_id_and_secret(id: &str, secret: &str) -> Result<Self, InvalidBootstrapToken> {
        Self::parse(&format!("{id}.{secret}"))
    }
    /// The full token `<id>.<secret>` (empty if either part is empty). This is a secret.
    pub fn expose(&self) -> String {
        if self.id.is_empty() || self.secret.is_empty() {
            String::new()
        } else {
            format!("{}.{}", self.id, self.secret)
        }
    }
}

impl fmt::Debug for BootstrapTokenString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BootstrapTokenString({}.<redacted>)", self.id)
    }
}

impl Serialize for BootstrapTokenString {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.expose())
    }
}

impl<'de> Deserialize<'de> for BootstrapTokenString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        // Go strips all quotes before matching.
        BootstrapTokenString::parse(&s.replace('"', "")).map_err(serde::de::Error::custom)
    }
}

/// A bootstrap token to create on init (bootstraptoken/v1 `BootstrapToken`).
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct BootstrapToken {
    /// The token; serialized without `omitempty` (`token: null` when unset).
    pub token: Option<BootstrapTokenString>,
    /// Human-friendly description.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub description: String,
    /// Time to live; defaults to 24h.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<Duration>,
    /// Absolute expiry (RFC 3339); takes precedence over `ttl`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// Usages, e.g. `signing`, `authentication`.
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub usages: Vec<String>,
    /// Extra groups the token authenticates as.
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub groups: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Core types (k8s.io/api/core/v1 subsets)

/// A node taint (core/v1 `Taint`).
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Taint {
    /// Taint key.
    #[serde(deserialize_with = "null_default")]
    pub key: String,
    /// Taint value.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub value: String,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
    #[serde(deserialize_with = "null_default")]
    pub effect: String,
    /// RFC 3339 time (only for `NoExecute`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_added: Option<String>,
}

/// core/v1 `Taint.ToString()`: `key[=value]:effect`, or `key[=value:]` without an effect (`key`
/// alone when both are empty). Used for `--register-with-taints` and kubeadm's messages.
impl fmt::Display for Taint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.value.is_empty(), self.effect.is_empty()) {
            (true, true) => f.write_str(&self.key),
            (false, true) => write!(f, "{}={}:", self.key, self.value),
            (true, false) => write!(f, "{}:{}", self.key, self.effect),
            (false, false) => write!(f, "{}={}:{}", self.key, self.value, self.effect),
        }
    }
}

/// An environment variable for a control-plane component (v1beta4 `EnvVar` inlining core/v1
/// `EnvVar`). `valueFrom` is kept as raw JSON.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct EnvVar {
    /// Variable name.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// Literal value.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub value: String,
    /// `valueFrom` source (core/v1 `EnvVarSource`), unparsed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_from: Option<serde_json::Value>,
}

// ---------------------------------------------------------------------------------------------
// InitConfiguration

/// `kind: InitConfiguration`: runtime settings of `kubeadm init`.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct InitConfiguration {
    /// TypeMeta `apiVersion`.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub api_version: String,
    /// TypeMeta `kind`.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub kind: String,
    /// Bootstrap tokens to create.
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub bootstrap_tokens: Vec<BootstrapToken>,
    /// Dry-run mode.
    #[serde(skip_serializing_if = "is_false", deserialize_with = "null_default")]
    pub dry_run: bool,
    /// Node registration settings.
    #[serde(deserialize_with = "null_default")]
    pub node_registration: NodeRegistrationOptions,
    /// API server endpoint of this control-plane node.
    #[serde(rename = "localAPIEndpoint", deserialize_with = "null_default")]
    pub local_api_endpoint: ApiEndpoint,
    /// Key to encrypt certificates in the kubeadm-certs Secret (hex, 32 bytes). Secret.
    #[serde(skip_serializing_if = "secret_is_empty", deserialize_with = "null_default")]
    pub certificate_key: SecretString,
    /// Phases to skip.
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub skip_phases: Vec<String>,
    /// Patches for components.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patches: Option<Patches>,
    /// Timeouts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeouts: Option<Timeouts>,
}

// ---------------------------------------------------------------------------------------------
// ClusterConfiguration

/// `kind: ClusterConfiguration`: cluster-wide settings.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterConfiguration {
    /// TypeMeta `apiVersion`.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub api_version: String,
    /// TypeMeta `kind`.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub kind: String,
    /// etcd settings (local or external).
    #[serde(deserialize_with = "null_default")]
    pub etcd: Etcd,
    /// Networking settings.
    #[serde(deserialize_with = "null_default")]
    pub networking: Networking,
    /// Target Kubernetes version (e.g. `v1.37.2`, or a label like `stable-1`).
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub kubernetes_version: String,
    /// Stable IP or DNS name (optionally with port) of the control plane.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub control_plane_endpoint: String,
    /// kube-apiserver settings.
    #[serde(rename = "apiServer", deserialize_with = "null_default")]
    pub api_server: ApiServer,
    /// kube-controller-manager settings.
    #[serde(deserialize_with = "null_default")]
    pub controller_manager: ControlPlaneComponent,
    /// kube-scheduler settings.
    #[serde(deserialize_with = "null_default")]
    pub scheduler: ControlPlaneComponent,
    /// CoreDNS addon settings.
    #[serde(deserialize_with = "null_default")]
    pub dns: Dns,
    /// kube-proxy addon settings.
    #[serde(deserialize_with = "null_default")]
    pub proxy: Proxy,
    /// Where certificates are stored.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub certificates_dir: String,
    /// Container registry for control-plane images.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub image_repository: String,
    /// kubeadm feature gates.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "null_default")]
    pub feature_gates: BTreeMap<String, bool>,
    /// Cluster name (used in kubeconfigs).
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub cluster_name: String,
    /// Key algorithm for keys and certificates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_algorithm: Option<EncryptionAlgorithmType>,
    /// Validity of non-CA certificates (default 1 year).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_validity_period: Option<Duration>,
    /// Validity of CA certificates (default 10 years).
    #[serde(rename = "caCertificateValidityPeriod", skip_serializing_if = "Option::is_none")]
    pub ca_certificate_validity_period: Option<Duration>,
}

impl ClusterConfiguration {
    /// The encryption algorithm, or the default (`RSA-2048`) when unset.
    pub fn encryption_algorithm_or_default(&self) -> EncryptionAlgorithmType {
        self.encryption_algorithm.clone().unwrap_or_default()
    }
}

/// Settings common to control-plane components.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct ControlPlaneComponent {
    /// Extra command-line flags (`--name=value`).
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub extra_args: Vec<Arg>,
    /// Extra host-path volumes.
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub extra_volumes: Vec<HostPathMount>,
    /// Extra environment variables.
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub extra_envs: Vec<EnvVar>,
}

/// kube-apiserver settings. Go inlines `ControlPlaneComponent`; serde's `flatten` cannot be combined
/// with `deny_unknown_fields`, so (de)serialization goes through a flat private struct.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(from = "ApiServerWire", into = "ApiServerWire")]
pub struct ApiServer {
    /// The inlined common component settings.
    pub control_plane_component: ControlPlaneComponent,
    /// Extra Subject Alternative Names for the API server serving certificate.
    pub cert_sans: Vec<String>,
}

#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct ApiServerWire {
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    extra_args: Vec<Arg>,
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    extra_volumes: Vec<HostPathMount>,
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    extra_envs: Vec<EnvVar>,
    #[serde(rename = "certSANs", skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    cert_sans: Vec<String>,
}

impl From<ApiServerWire> for ApiServer {
    fn from(w: ApiServerWire) -> Self {
        ApiServer {
            control_plane_component: ControlPlaneComponent {
                extra_args: w.extra_args,
                extra_volumes: w.extra_volumes,
                extra_envs: w.extra_envs,
            },
            cert_sans: w.cert_sans,
        }
    }
}
impl From<ApiServer> for ApiServerWire {
    fn from(a: ApiServer) -> Self {
        ApiServerWire {
            extra_args: a.control_plane_component.extra_args,
            extra_volumes: a.control_plane_component.extra_volumes,
            extra_envs: a.control_plane_component.extra_envs,
            cert_sans: a.cert_sans,
        }
    }
}

/// CoreDNS addon settings (Go inlines `ImageMeta`).
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(from = "DnsWire", into = "DnsWire")]
pub struct Dns {
    /// Image repository/tag override.
    pub image_meta: ImageMeta,
    /// Disable the CoreDNS addon.
    pub disabled: bool,
}

#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct DnsWire {
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    image_repository: String,
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    image_tag: String,
    #[serde(skip_serializing_if = "is_false", deserialize_with = "null_default")]
    disabled: bool,
}

impl From<DnsWire> for Dns {
    fn from(w: DnsWire) -> Self {
        Dns {
            image_meta: ImageMeta { image_repository: w.image_repository, image_tag: w.image_tag },
            disabled: w.disabled,
        }
    }
}
impl From<Dns> for DnsWire {
    fn from(d: Dns) -> Self {
        DnsWire {
            image_repository: d.image_meta.image_repository,
            image_tag: d.image_meta.image_tag,
            disabled: d.disabled,
        }
    }
}

/// kube-proxy addon settings.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Proxy {
    /// Disable the kube-proxy addon.
    #[serde(skip_serializing_if = "is_false", deserialize_with = "null_default")]
    pub disabled: bool,
}

/// Image repository and tag override.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct ImageMeta {
    /// Registry/repository prefix.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub image_repository: String,
    /// Image tag.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub image_tag: String,
}

/// Address and port the API server advertises / binds on this node.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct ApiEndpoint {
    /// IP address to advertise.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub advertise_address: String,
    /// Secure port (default 6443).
    #[serde(skip_serializing_if = "is_zero_i32", deserialize_with = "null_default")]
    pub bind_port: i32,
}

/// Settings for registering the node with the cluster.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct NodeRegistrationOptions {
    /// Node name (defaults to the hostname, lowercased).
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub name: String,
    /// CRI socket URL.
    #[serde(
        rename = "criSocket",
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub cri_socket: String,
    /// Taints; `None` means "default" (control-plane taint on control-plane nodes), `Some([])` means
    /// none. Always serialized (`taints: null`).
    pub taints: Option<Vec<Taint>>,
    /// Extra kubelet flags (written to kubeadm-flags.env).
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub kubelet_extra_args: Vec<Arg>,
    /// Preflight errors to ignore (`all` ignores all).
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub ignore_preflight_errors: Vec<String>,
    /// `Always`, `IfNotPresent` or `Never`.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub image_pull_policy: String,
    /// Pull images one at a time (default true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_pull_serial: Option<bool>,
}

/// Cluster networking.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Networking {
    /// Service CIDR(s), comma separated for dual-stack.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub service_subnet: String,
    /// Pod CIDR(s), comma separated for dual-stack.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub pod_subnet: String,
    /// Cluster DNS domain.
    #[serde(
        rename = "dnsDomain",
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub dns_domain: String,
}

/// etcd settings: exactly one of `local` and `external`.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Etcd {
    /// Local (stacked) etcd.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local: Option<LocalEtcd>,
    /// External etcd cluster.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalEtcd>,
}

/// Local (static Pod) etcd settings (Go inlines `ImageMeta`).
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(from = "LocalEtcdWire", into = "LocalEtcdWire")]
pub struct LocalEtcd {
    /// Image repository/tag override.
    pub image_meta: ImageMeta,
    /// Data directory (default `/var/lib/etcd`).
    pub data_dir: String,
    /// Extra etcd flags.
    pub extra_args: Vec<Arg>,
    /// Extra environment variables.
    pub extra_envs: Vec<EnvVar>,
    /// Extra SANs for the etcd server certificate.
    pub server_cert_sans: Vec<String>,
    /// Extra SANs for the etcd peer certificate.
    pub peer_cert_sans: Vec<String>,
}

#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct LocalEtcdWire {
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    image_repository: String,
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    image_tag: String,
    #[serde(deserialize_with = "null_default")]
    data_dir: String,
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    extra_args: Vec<Arg>,
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    extra_envs: Vec<EnvVar>,
    #[serde(
        rename = "serverCertSANs",
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_default"
    )]
    server_cert_sans: Vec<String>,
    #[serde(
        rename = "peerCertSANs",
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_default"
    )]
    peer_cert_sans: Vec<String>,
}

impl From<LocalEtcdWire> for LocalEtcd {
    fn from(w: LocalEtcdWire) -> Self {
        LocalEtcd {
            image_meta: ImageMeta { image_repository: w.image_repository, image_tag: w.image_tag },
            data_dir: w.data_dir,
            extra_args: w.extra_args,
            extra_envs: w.extra_envs,
            server_cert_sans: w.server_cert_sans,
            peer_cert_sans: w.peer_cert_sans,
        }
    }
}
impl From<LocalEtcd> for LocalEtcdWire {
    fn from(l: LocalEtcd) -> Self {
        LocalEtcdWire {
            image_repository: l.image_meta.image_repository,
            image_tag: l.image_meta.image_tag,
            data_dir: l.data_dir,
            extra_args: l.extra_args,
            extra_envs: l.extra_envs,
            server_cert_sans: l.server_cert_sans,
            peer_cert_sans: l.peer_cert_sans,
        }
    }
}

/// External etcd cluster settings.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct ExternalEtcd {
    /// etcd client URLs.
    #[serde(serialize_with = "vec_or_null", deserialize_with = "null_default")]
    pub endpoints: Vec<String>,
    /// etcd HTTP endpoints (defaults to `endpoints`).
    #[serde(
        rename = "httpEndpoints",
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_default"
    )]
    pub http_endpoints: Vec<String>,
    /// CA file for etcd client TLS.
    #[serde(rename = "caFile", deserialize_with = "null_default")]
    pub ca_file: String,
    /// Client certificate file.
    #[serde(deserialize_with = "null_default")]
    pub cert_file: String,
    /// Client key file.
    #[serde(deserialize_with = "null_default")]
    pub key_file: String,
}

// ---------------------------------------------------------------------------------------------
// JoinConfiguration

/// `kind: JoinConfiguration`: runtime settings of `kubeadm join`.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct JoinConfiguration {
    /// TypeMeta `apiVersion`.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub api_version: String,
    /// TypeMeta `kind`.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub kind: String,
    /// Dry-run mode.
    #[serde(skip_serializing_if = "is_false", deserialize_with = "null_default")]
    pub dry_run: bool,
    /// Node registration settings.
    #[serde(deserialize_with = "null_default")]
    pub node_registration: NodeRegistrationOptions,
    /// Path of the cluster CA on this node (default `/etc/kubernetes/pki/ca.crt`).
    #[serde(
        rename = "caCertPath",
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub ca_cert_path: String,
    /// How to discover and trust the cluster.
    #[serde(deserialize_with = "null_default")]
    pub discovery: Discovery,
    /// Set to join as a control-plane node.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub control_plane: Option<JoinControlPlane>,
    /// Phases to skip.
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub skip_phases: Vec<String>,
    /// Patches for components.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patches: Option<Patches>,
    /// Timeouts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeouts: Option<Timeouts>,
}

/// Extra settings for joining a control-plane node.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct JoinControlPlane {
    /// API server endpoint of the new control-plane node.
    #[serde(rename = "localAPIEndpoint", deserialize_with = "null_default")]
    pub local_api_endpoint: ApiEndpoint,
    /// Key to decrypt the kubeadm-certs Secret. Secret.
    #[serde(skip_serializing_if = "secret_is_empty", deserialize_with = "null_default")]
    pub certificate_key: SecretString,
}

/// Discovery settings: exactly one of `bootstrapToken` and `file`.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Discovery {
    /// Token-based discovery.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bootstrap_token: Option<BootstrapTokenDiscovery>,
    /// File/URL-based discovery.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<FileDiscovery>,
    /// Token for the TLS bootstrap. Secret.
    #[serde(
        rename = "tlsBootstrapToken",
        skip_serializing_if = "secret_is_empty",
        deserialize_with = "null_default"
    )]
    pub tls_bootstrap_token: SecretString,
}

/// Token-based discovery.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct BootstrapTokenDiscovery {
    /// The token used to validate cluster information. Secret.
    #[serde(deserialize_with = "null_default")]
    pub token: SecretString,
    /// API server `host:port` to discover from.
    #[serde(
        rename = "apiServerEndpoint",
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub api_server_endpoint: String,
    /// Expected CA public-key pins (`sha256:<hex>`).
    #[serde(
        rename = "caCertHashes",
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_default"
    )]
    pub ca_cert_hashes: Vec<String>,
    /// Skip CA pinning.
    #[serde(
        rename = "unsafeSkipCAVerification",
        skip_serializing_if = "is_false",
        deserialize_with = "null_default"
    )]
    pub unsafe_skip_ca_verification: bool,
}

/// File/URL-based discovery.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct FileDiscovery {
    /// Path or URL of a kubeconfig file.
    #[serde(deserialize_with = "null_default")]
    pub kube_config_path: String,
}

/// An extra host-path volume for a control-plane component.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct HostPathMount {
    /// Volume name.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// Path on the host.
    #[serde(deserialize_with = "null_default")]
    pub host_path: String,
    /// Path in the container.
    #[serde(deserialize_with = "null_default")]
    pub mount_path: String,
    /// Mount read-only.
    #[serde(skip_serializing_if = "is_false", deserialize_with = "null_default")]
    pub read_only: bool,
    /// core/v1 `HostPathType` (e.g. `DirectoryOrCreate`, `File`).
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub path_type: String,
}

/// Patches directory.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Patches {
    /// Directory with `target[suffix][+patchtype].extension` files.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub directory: String,
}

// ---------------------------------------------------------------------------------------------
// ResetConfiguration

/// `kind: ResetConfiguration`: settings of `kubeadm reset`.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct ResetConfiguration {
    /// TypeMeta `apiVersion`.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub api_version: String,
    /// TypeMeta `kind`.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub kind: String,
    /// Remove kubeadm's temporary directory.
    #[serde(skip_serializing_if = "is_false", deserialize_with = "null_default")]
    pub cleanup_tmp_dir: bool,
    /// Certificates directory to clean.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub certificates_dir: String,
    /// CRI socket URL.
    #[serde(
        rename = "criSocket",
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub cri_socket: String,
    /// Dry-run mode.
    #[serde(skip_serializing_if = "is_false", deserialize_with = "null_default")]
    pub dry_run: bool,
    /// Do not ask for confirmation.
    #[serde(skip_serializing_if = "is_false", deserialize_with = "null_default")]
    pub force: bool,
    /// Preflight errors to ignore.
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub ignore_preflight_errors: Vec<String>,
    /// Phases to skip.
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub skip_phases: Vec<String>,
    /// Flags for unmounting (`MNT_FORCE`, `MNT_DETACH`, `MNT_EXPIRE`, `UMOUNT_NOFOLLOW`).
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub unmount_flags: Vec<String>,
    /// Timeouts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeouts: Option<Timeouts>,
}

/// A command-line argument `--name=value`. Duplicated names are allowed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Arg {
    /// Flag name without dashes.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// Flag value.
    #[serde(deserialize_with = "null_default")]
    pub value: String,
}

impl Arg {
    /// Convenience constructor.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Arg { name: name.into(), value: value.into() }
    }
}

/// Key/certificate algorithm (`EncryptionAlgorithmType`). Values other than the five known ones are
/// kept in `Other` so that validation can report them like upstream.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub enum EncryptionAlgorithmType {
    /// `ECDSA-P256`.
    EcdsaP256,
    /// `ECDSA-P384`.
    EcdsaP384,
    /// `RSA-2048` (default).
    #[default]
    Rsa2048,
    /// `RSA-3072`.
    Rsa3072,
    /// `RSA-4096`.
    Rsa4096,
    /// Any other (invalid) string.
    Other(String),
}

impl EncryptionAlgorithmType {
    /// The five supported algorithms, in upstream's order.
    pub const KNOWN: [EncryptionAlgorithmType; 5] = [
        EncryptionAlgorithmType::EcdsaP256,
        EncryptionAlgorithmType::EcdsaP384,
        EncryptionAlgorithmType::Rsa2048,
        EncryptionAlgorithmType::Rsa3072,
        EncryptionAlgorithmType::Rsa4096,
    ];

    /// The string form (`"RSA-2048"` etc.).
    pub fn as_str(&self) -> &str {
        match self {
            Self::EcdsaP256 => "ECDSA-P256",
            Self::EcdsaP384 => "ECDSA-P384",
            Self::Rsa2048 => "RSA-2048",
            Self::Rsa3072 => "RSA-3072",
            Self::Rsa4096 => "RSA-4096",
            Self::Other(s) => s,
        }
    }

    /// Parses a string; unknown values become `Other`.
    pub fn from_str_lossy(s: &str) -> Self {
        match s {
            "ECDSA-P256" => Self::EcdsaP256,
            "ECDSA-P384" => Self::EcdsaP384,
            "RSA-2048" => Self::Rsa2048,
            "RSA-3072" => Self::Rsa3072,
            "RSA-4096" => Self::Rsa4096,
            other => Self::Other(other.to_string()),
        }
    }

    /// True for the RSA variants.
    pub fn is_rsa(&self) -> bool {
        matches!(self, Self::Rsa2048 | Self::Rsa3072 | Self::Rsa4096)
    }

    /// RSA key size in bits, if RSA.
    pub fn rsa_bits(&self) -> Option<u32> {
        match self {
            Self::Rsa2048 => Some(2048),
            Self::Rsa3072 => Some(3072),
            Self::Rsa4096 => Some(4096),
            _ => None,
        }
    }
}

impl fmt::Display for EncryptionAlgorithmType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for EncryptionAlgorithmType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EncryptionAlgorithmType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(Self::from_str_lossy(&s))
    }
}

/// Timeouts for the various kubeadm operations.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Timeouts {
    /// Wait for control-plane components to become healthy (default 4m).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub control_plane_component_health_check: Option<Duration>,
    /// Wait for the kubelet to become healthy (default 4m).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kubelet_health_check: Option<Duration>,
    /// Kubernetes API calls (default 1m).
    #[serde(rename = "kubernetesAPICall", skip_serializing_if = "Option::is_none")]
    pub kubernetes_api_call: Option<Duration>,
    /// etcd API calls (default 2m).
    #[serde(rename = "etcdAPICall", skip_serializing_if = "Option::is_none")]
    pub etcd_api_call: Option<Duration>,
    /// TLS bootstrap (default 5m).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_bootstrap: Option<Duration>,
    /// Discovery (default 5m).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discovery: Option<Duration>,
    /// Static Pod manifest upgrades (default 5m).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upgrade_manifests: Option<Duration>,
}

// ---------------------------------------------------------------------------------------------
// UpgradeConfiguration

/// `upgrade apply` settings.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct UpgradeApplyConfiguration {
    /// Target version.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub kubernetes_version: String,
    /// Allow alpha/beta/rc upgrades.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_experimental_upgrades: Option<bool>,
    /// Allow release-candidate upgrades.
    #[serde(rename = "allowRCUpgrades", skip_serializing_if = "Option::is_none")]
    pub allow_rc_upgrades: Option<bool>,
    /// Renew certificates (default true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_renewal: Option<bool>,
    /// Dry-run mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    /// Upgrade etcd (default true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etcd_upgrade: Option<bool>,
    /// Force the upgrade.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub force_upgrade: Option<bool>,
    /// Preflight errors to ignore.
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub ignore_preflight_errors: Vec<String>,
    /// Patches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patches: Option<Patches>,
    /// Print the configuration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub print_config: Option<bool>,
    /// Phases to skip.
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub skip_phases: Vec<String>,
    /// Image pull policy.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub image_pull_policy: String,
    /// Pull images one at a time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_pull_serial: Option<bool>,
}

/// `upgrade diff` settings.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct UpgradeDiffConfiguration {
    /// Target version.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub kubernetes_version: String,
    /// Lines of diff context (Go field `DiffContextLines`, json `contextLines`).
    #[serde(rename = "contextLines", skip_serializing_if = "is_zero_i64", deserialize_with = "null_default")]
    pub diff_context_lines: i64,
}

/// `upgrade node` settings.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct UpgradeNodeConfiguration {
    /// Renew certificates (default true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_renewal: Option<bool>,
    /// Dry-run mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    /// Upgrade etcd (default true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etcd_upgrade: Option<bool>,
    /// Preflight errors to ignore.
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub ignore_preflight_errors: Vec<String>,
    /// Phases to skip.
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub skip_phases: Vec<String>,
    /// Patches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patches: Option<Patches>,
    /// Image pull policy.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub image_pull_policy: String,
    /// Pull images one at a time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_pull_serial: Option<bool>,
}

/// `upgrade plan` settings.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct UpgradePlanConfiguration {
    /// Target version.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub kubernetes_version: String,
    /// Allow alpha/beta/rc upgrades.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_experimental_upgrades: Option<bool>,
    /// Allow release-candidate upgrades.
    #[serde(rename = "allowRCUpgrades", skip_serializing_if = "Option::is_none")]
    pub allow_rc_upgrades: Option<bool>,
    /// Dry-run mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    /// Upgrade etcd (default true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etcd_upgrade: Option<bool>,
    /// Preflight errors to ignore.
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub ignore_preflight_errors: Vec<String>,
    /// Print the configuration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub print_config: Option<bool>,
}

/// `kind: UpgradeConfiguration`.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct UpgradeConfiguration {
    /// TypeMeta `apiVersion`.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub api_version: String,
    /// TypeMeta `kind`.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub kind: String,
    /// `upgrade apply`.
    #[serde(deserialize_with = "null_default")]
    pub apply: UpgradeApplyConfiguration,
    /// `upgrade diff`.
    #[serde(deserialize_with = "null_default")]
    pub diff: UpgradeDiffConfiguration,
    /// `upgrade node`.
    #[serde(deserialize_with = "null_default")]
    pub node: UpgradeNodeConfiguration,
    /// `upgrade plan`.
    #[serde(deserialize_with = "null_default")]
    pub plan: UpgradePlanConfiguration,
    /// Timeouts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeouts: Option<Timeouts>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn token_parse_and_redact() {
        let t = BootstrapTokenString::parse("abcdef.0123456789abcdef").unwrap();
        assert_eq!(t.id, "abcdef");
        assert_eq!(t.expose(), "abcdef.0123456789abcdef");
        let dbg = format!("{t:?}");
        assert!(!dbg.contains("0123456789abcdef"), "{dbg}");
        for bad in [
            "abcdef0123456789abcdef",
            "ABCDEF.0123456789abcdef",
            "abcde.0123456789abcdef",
            "abcdef.0123456789abcdeff",
            "",
        ] {
            assert!(BootstrapTokenString::parse(bad).is_err(), "{bad}");
        }
        let err = BootstrapTokenString::parse("abcdef.zzzzzzzzzzzzzzzzz").unwrap_err().to_string();
        assert!(!err.contains("zzzz"));
        assert!(err.contains(r#""\\A([a-z0-9]{6})\\.([a-z0-9]{16})\\z""#), "{err}");
    }

    #[test]
    fn secret_string_debug() {
        let s = SecretString::new("topsecret");
        assert_eq!(format!("{s:?}"), "<redacted>");
    }

    #[test]
    fn api_server_inline_fields_and_unknown() {
        let a: ApiServer =
            serde_yaml::from_str("extraArgs:\n- name: a\n  value: b\ncertSANs: [x]\n").unwrap();
        assert_eq!(a.control_plane_component.extra_args, vec![Arg::new("a", "b")]);
        assert_eq!(a.cert_sans, vec!["x".to_string()]);
        let e = serde_yaml::from_str::<ApiServer>("foo: 1\n").unwrap_err().to_string();
        assert!(e.contains("unknown field `foo`"), "{e}");
    }

    #[test]
    fn nulls_are_zero_values() {
        let c: ClusterConfiguration =
            serde_yaml::from_str("networking:\napiServer: null\nclusterName:\nfeatureGates: null\n").unwrap();
        assert_eq!(c.networking, Networking::default());
        assert!(c.cluster_name.is_empty());
    }

    #[test]
    fn encryption_algorithm_strings() {
        let c: ClusterConfiguration = serde_yaml::from_str("encryptionAlgorithm: ECDSA-P256\n").unwrap();
        assert_eq!(c.encryption_algorithm, Some(EncryptionAlgorithmType::EcdsaP256));
        let c: ClusterConfiguration = serde_yaml::from_str("encryptionAlgorithm: foo\n").unwrap();
        assert_eq!(c.encryption_algorithm, Some(EncryptionAlgorithmType::Other("foo".into())));
        assert_eq!(EncryptionAlgorithmType::Rsa3072.to_string(), "RSA-3072");
    }

    #[test]
    fn go_like_serialization() {
        let n = NodeRegistrationOptions::default();
        let v = serde_json::to_value(&n).unwrap();
        assert_eq!(v, serde_json::json!({"taints": null}));
        let c = ClusterConfiguration::default();
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["apiServer"], serde_json::json!({}));
        let e = ExternalEtcd::default();
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v, serde_json::json!({"endpoints": null, "caFile": "", "certFile": "", "keyFile": ""}));
    }
}
