//! kubeconfig files (`/etc/kubernetes/*.conf`): client-go's v1 `Config` model, serialized exactly
//! like `clientcmd.Write`, parsed for reuse checks, and kubeadm's builders
//! (`phases/kubeconfig/kubeconfig.go`, `util/kubeconfig`).
//!
//! `clientcmd.Write` encodes the v1 `Config` to JSON and converts it to YAML (keys sorted; named
//! lists sorted by name). In client-go v0.37 `preferences` is `omitzero`, so an empty
//! `preferences: {}` is **not** written; `current-context`, `clusters`, `contexts` and `users` always
//! are (`null` when empty). Byte fields are base64 (standard alphabet, padded).
//!
//! Client certificates are issued by the caller (kubeadm-pki) from [`KubeConfigSpec`]s; this module
//! assembles the files from PEM inputs.

use std::net::IpAddr;
use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use kubeadm_api::OutFile;
use kubeadm_api::v1beta4::{ApiEndpoint, ClusterConfiguration};

use crate::paths::join;

/// `admin.conf`.
pub const ADMIN_KUBECONFIG: &str = "admin.conf";
/// `super-admin.conf`.
pub const SUPER_ADMIN_KUBECONFIG: &str = "super-admin.conf";
/// `kubelet.conf`.
pub const KUBELET_KUBECONFIG: &str = "kubelet.conf";
/// `controller-manager.conf`.
pub const CONTROLLER_MANAGER_KUBECONFIG: &str = "controller-manager.conf";
/// `scheduler.conf`.
pub const SCHEDULER_KUBECONFIG: &str = "scheduler.conf";
/// Mode of kubeconfig files (`clientcmd.WriteToFile` uses 0600).
pub const KUBECONFIG_FILE_MODE: u32 = 0o600;
/// Group of `admin.conf`'s user.
pub const CLUSTER_ADMINS_GROUP: &str = "kubeadm:cluster-admins";
/// Group of `super-admin.conf`'s user.
pub const SYSTEM_PRIVILEGED_GROUP: &str = "system:masters";
/// Group of node users.
pub const NODES_GROUP: &str = "system:nodes";
/// Prefix of node user names.
pub const NODES_USER_PREFIX: &str = "system:node:";

/// Errors building, parsing or checking kubeconfig files.
#[derive(Debug, thiserror::Error)]
pub enum KubeconfigError {
    /// `api.advertiseAddress` is not an IP address.
    #[error("invalid value `{0}` given for api.advertiseAddress")]
    InvalidAdvertiseAddress(String),
    /// `api.bindPort` out of range.
    #[error(
        "invalid value \"{0}\" given for api.bindPort: port must be a valid number between 1 and 65535, inclusive"
    )]
    InvalidBindPort(i32),
    /// `controlPlaneEndpoint` is malformed.
    #[error("invalid value {value:?} given for controlPlaneEndpoint: {reason}")]
    InvalidControlPlaneEndpoint {
        /// The configured value.
        value: String,
        /// Why it was rejected.
        reason: String,
    },
    /// The kubeconfig bytes do not parse.
    #[error("failed to parse kubeconfig: {0}")]
    Parse(String),
    /// An existing file could not be loaded.
    #[error("failed to load kubeconfig file {path} that already exists on disk: {reason}")]
    LoadExisting {
        /// File path.
        path: String,
        /// Parse error.
        reason: String,
    },
    /// The expected config lacks its current context (internal error).
    #[error("failed to find expected context {0}")]
    ExpectedContextMissing(String),
    /// The existing file's current context is missing.
    #[error("failed to find CurrentContext in Contexts of the kubeconfig file {0}")]
    CurrentContextMissing(String),
    /// The existing file's current context names a missing cluster.
    #[error("failed to find the given CurrentContext Cluster in Clusters of the kubeconfig file {0}")]
    CurrentClusterMissing(String),
    /// The existing file's CA data is not PEM certificates.
    #[error("the kubeconfig file {0:?} contains an invalid CA cert")]
    InvalidCurrentCa(String),
    /// The expected CA is not PEM.
    #[error("the expected base64 encoded CA cert could not be parsed as a PEM:\n{0}\n")]
    InvalidExpectedCa(String),
    /// The existing file trusts another CA.
    #[error(
        "a kubeconfig file {path:?} exists but does not contain a trusted CA in its current context's cluster. Total CA certificates found: {count}"
    )]
    UntrustedCa {
        /// File path.
        path: String,
        /// Number of CA certificates in the file.
        count: usize,
    },
    /// The bootstrap kubeconfig lacks its current context or that context's cluster.
    #[error("invalid bootstrap kubeconfig: {0}")]
    InvalidBootstrap(String),
    /// The file lacks what `certs renew` / `check-expiration` need (upstream's wording).
    #[error("{0}")]
    NoEmbeddedClientCert(String),
    /// Serialization failure (should not happen).
    #[error("failure while serializing kubeconfig: {0}")]
    Serialize(#[from] serde_json::Error),
}

mod b64 {
    use super::*;

    pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(b) => s.serialize_str(&B64.encode(b)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let s: Option<String> = Option::deserialize(d)?;
        match s {
            None => Ok(None),
            Some(s) => B64.decode(s.trim()).map(Some).map_err(serde::de::Error::custom),
        }
    }
}

fn empty_bytes(v: &Option<Vec<u8>>) -> bool {
    v.as_ref().is_none_or(|b| b.is_empty())
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn null_vec<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

fn vec_or_null<S: Serializer, T: Serialize>(v: &[T], s: S) -> Result<S::Ok, S::Error> {
    if v.is_empty() { s.serialize_none() } else { v.serialize(s) }
}

fn null_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// A cluster entry (`clusters[].cluster`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Cluster {
    /// API server URL.
    #[serde(deserialize_with = "null_string")]
    pub server: String,
    /// TLS server name override.
    #[serde(
        rename = "tls-server-name",
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_string"
    )]
    pub tls_server_name: String,
    /// Skip TLS verification.
    #[serde(rename = "insecure-skip-tls-verify", skip_serializing_if = "is_false")]
    pub insecure_skip_tls_verify: bool,
    /// CA file path.
    #[serde(
        rename = "certificate-authority",
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_string"
    )]
    pub certificate_authority: String,
    /// Embedded CA PEM.
    #[serde(rename = "certificate-authority-data", skip_serializing_if = "empty_bytes", with = "b64")]
    pub certificate_authority_data: Option<Vec<u8>>,
    /// Proxy URL.
    #[serde(
        rename = "proxy-url",
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_string"
    )]
    pub proxy_url: String,
    /// Disable response compression.
    #[serde(rename = "disable-compression", skip_serializing_if = "is_false")]
    pub disable_compression: bool,
    /// Extensions (kept verbatim).
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "null_vec")]
    pub extensions: Vec<serde_json::Value>,
}

/// A context entry (`contexts[].context`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Context {
    /// Cluster name.
    #[serde(deserialize_with = "null_string")]
    pub cluster: String,
    /// User name.
    #[serde(rename = "user", deserialize_with = "null_string")]
    pub auth_info: String,
    /// Default namespace.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_string")]
    pub namespace: String,
    /// Extensions (kept verbatim).
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "null_vec")]
    pub extensions: Vec<serde_json::Value>,
}

/// A user entry (`users[].user`). Fields kubeadm never writes are kept as raw JSON in `other`.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthInfo {
    /// Client certificate file.
    #[serde(
        rename = "client-certificate",
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_string"
    )]
    pub client_certificate: String,
    /// Embedded client certificate PEM.
    #[serde(rename = "client-certificate-data", skip_serializing_if = "empty_bytes", with = "b64")]
    pub client_certificate_data: Option<Vec<u8>>,
    /// Client key file.
    #[serde(
        rename = "client-key",
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_string"
    )]
    pub client_key: String,
    /// Embedded client key PEM (secret).
    #[serde(rename = "client-key-data", skip_serializing_if = "empty_bytes", with = "b64")]
    pub client_key_data: Option<Vec<u8>>,
    /// Bearer token (secret).
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_string")]
    pub token: String,
    /// Token file.
    #[serde(
        rename = "tokenFile",
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_string"
    )]
    pub token_file: String,
    /// Other fields (`exec`, `auth-provider`, `username`, ...), verbatim.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl std::fmt::Debug for AuthInfo {
    // Credentials are left out on purpose.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthInfo")
            .field("client_certificate", &self.client_certificate)
            .field("has_client_certificate_data", &!empty_bytes(&self.client_certificate_data))
            .field("client_key", &self.client_key)
            .field("has_client_key_data", &!empty_bytes(&self.client_key_data))
            .field("has_token", &!self.token.is_empty())
            .field("token_file", &self.token_file)
            .finish()
    }
}

/// Named cluster.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NamedCluster {
    /// Entry name.
    #[serde(deserialize_with = "null_string")]
    pub name: String,
    /// The cluster.
    pub cluster: Cluster,
}

/// Named context.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NamedContext {
    /// Entry name.
    #[serde(deserialize_with = "null_string")]
    pub name: String,
    /// The context.
    pub context: Context,
}

/// Named user.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NamedAuthInfo {
    /// Entry name.
    #[serde(deserialize_with = "null_string")]
    pub name: String,
    /// The user.
    pub user: AuthInfo,
}

/// client-go v1 `Config` (`kind: Config`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// `v1`.
    #[serde(
        rename = "apiVersion",
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_string"
    )]
    pub api_version: String,
    /// `Config`.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_string")]
    pub kind: String,
    /// Preferences (written only when non-empty).
    #[serde(skip_serializing_if = "preferences_empty", deserialize_with = "null_default_value")]
    pub preferences: serde_json::Value,
    /// Clusters, sorted by name on write.
    #[serde(serialize_with = "vec_or_null", deserialize_with = "null_vec")]
    pub clusters: Vec<NamedCluster>,
    /// Users, sorted by name on write.
    #[serde(serialize_with = "vec_or_null", deserialize_with = "null_vec")]
    pub users: Vec<NamedAuthInfo>,
    /// Contexts, sorted by name on write.
    #[serde(serialize_with = "vec_or_null", deserialize_with = "null_vec")]
    pub contexts: Vec<NamedContext>,
    /// Current context name.
    #[serde(rename = "current-context", deserialize_with = "null_string")]
    pub current_context: String,
    /// Extensions.
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "null_vec")]
    pub extensions: Vec<serde_json::Value>,
}

fn null_default_value<'de, D: Deserializer<'de>>(d: D) -> Result<serde_json::Value, D::Error> {
    Ok(Option::<serde_json::Value>::deserialize(d)?.unwrap_or(serde_json::Value::Null))
}

fn preferences_empty(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Null => true,
        serde_json::Value::Object(m) => m.iter().all(|(k, v)| match (k.as_str(), v) {
            ("colors", serde_json::Value::Bool(false)) => true,
            ("extensions", serde_json::Value::Array(a)) => a.is_empty(),
            (_, serde_json::Value::Null) => true,
            _ => false,
        }),
        _ => false,
    }
}

impl Config {
    /// The `clientcmd.Write` bytes: JSON -> YAML with sorted keys, lists sorted by name, `apiVersion: v1`
    /// and `kind: Config` set.
    pub fn to_yaml(&self) -> Result<String, KubeconfigError> {
        let mut c = self.clone();
        c.api_version = "v1".into();
        c.kind = "Config".into();
        // Conversion from the internal maps yields name-sorted lists with unique names (last wins).
        c.clusters = dedup_sorted(c.clusters, |x| x.name.clone());
        c.users = dedup_sorted(c.users, |x| x.name.clone());
        c.contexts = dedup_sorted(c.contexts, |x| x.name.clone());
        Ok(crate::goyaml::to_string(&serde_json::to_value(&c)?))
    }

    /// Parses a kubeconfig (YAML or JSON), like `clientcmd.Load`.
    pub fn parse(data: &[u8]) -> Result<Config, KubeconfigError> {
        let text = std::str::from_utf8(data).map_err(|e| KubeconfigError::Parse(e.to_string()))?;
        if text.trim().is_empty() {
            return Ok(Config::default());
        }
        serde_yaml::from_str(text).map_err(|e| KubeconfigError::Parse(e.to_string()))
    }

    /// The cluster entry by name.
    pub fn cluster(&self, name: &str) -> Option<&Cluster> {
        self.clusters.iter().rev().find(|c| c.name == name).map(|c| &c.cluster)
    }

    /// The context entry by name.
    pub fn context(&self, name: &str) -> Option<&Context> {
        self.contexts.iter().rev().find(|c| c.name == name).map(|c| &c.context)
    }

    /// The user entry by name.
    pub fn user(&self, name: &str) -> Option<&AuthInfo> {
        self.users.iter().rev().find(|c| c.name == name).map(|c| &c.user)
    }

    /// The user of the current context (upstream `getCurrentAuthInfo`).
    pub fn current_user(&self) -> Option<&AuthInfo> {
        let ctx = self.context(&self.current_context)?;
        if ctx.auth_info.is_empty() {
            return None;
        }
        self.user(&ctx.auth_info)
    }

    /// The default cluster: the unnamed one if present, else the current context's (upstream
    /// `GetClusterFromKubeConfig`).
    pub fn current_cluster(&self) -> Option<(&str, &Cluster)> {
        if let Some(c) = self.cluster("") {
            return Some(("", c));
        }
        let ctx = self.context(&self.current_context)?;
        self.cluster(&ctx.cluster).map(|c| (ctx.cluster.as_str(), c))
    }
}

fn dedup_sorted<T, F: Fn(&T) -> String>(items: Vec<T>, key: F) -> Vec<T> {
    let mut m: std::collections::BTreeMap<String, T> = std::collections::BTreeMap::new();
    for i in items {
        m.insert(key(&i), i);
    }
    m.into_values().collect()
}

/// A kubeconfig with a cluster, a context `<user>@<cluster>` (current) and no user yet (upstream
/// `CreateBasic`).
pub fn create_basic(server: &str, cluster_name: &str, user: &str, ca_pem: &[u8]) -> Config {
    let context = format!("{user}@{cluster_name}");
    Config {
        clusters: vec![NamedCluster {
            name: cluster_name.into(),
            cluster: Cluster {
                server: server.into(),
                certificate_authority_data: Some(ca_pem.to_vec()),
                ..Default::default()
            },
        }],
        contexts: vec![NamedContext {
            name: context.clone(),
            context: Context { cluster: cluster_name.into(), auth_info: user.into(), ..Default::default() },
        }],
        current_context: context,
        ..Default::default()
    }
}

/// A kubeconfig authenticating with an embedded client certificate and key (upstream
/// `CreateWithCerts`).
pub fn create_with_certs(
    server: &str,
    cluster_name: &str,
    user: &str,
    ca_pem: &[u8],
    key_pem: &[u8],
    cert_pem: &[u8],
) -> Config {
    let mut c = create_basic(server, cluster_name, user, ca_pem);
    c.users.push(NamedAuthInfo {
        name: user.into(),
        user: AuthInfo {
            client_certificate_data: Some(cert_pem.to_vec()),
            client_key_data: Some(key_pem.to_vec()),
            ..Default::default()
        },
    });
    c
}

/// A kubeconfig authenticating with a token (upstream `CreateWithToken`).
pub fn create_with_token(server: &str, cluster_name: &str, user: &str, ca_pem: &[u8], token: &str) -> Config {
    let mut c = create_basic(server, cluster_name, user, ca_pem);
    c.users.push(NamedAuthInfo {
        name: user.into(),
        user: AuthInfo { token: token.into(), ..Default::default() },
    });
    c
}

/// Cluster entry name of the kubeconfig the kubelet writes after its TLS bootstrap.
pub const KUBELET_BOOTSTRAPPED_CLUSTER: &str = "default-cluster";
/// User entry name of the kubeconfig the kubelet writes after its TLS bootstrap.
pub const KUBELET_BOOTSTRAPPED_USER: &str = "default-auth";
/// Context name of the kubeconfig the kubelet writes after its TLS bootstrap.
pub const KUBELET_BOOTSTRAPPED_CONTEXT: &str = "default-context";

/// The kubeconfig the kubelet writes after its TLS bootstrap (`writeKubeconfigFromBootstrapping`
/// in `pkg/kubelet/certificate/bootstrap`): cluster `default-cluster` with the bootstrap
/// kubeconfig's server, `insecure-skip-tls-verify` and CA (its file if it names one, else its
/// embedded data), user `default-auth` whose client certificate and key are both `pem_path` (the
/// certificate store's `kubelet-client-current.pem`), and the current context `default-context`
/// with namespace `default`. Nothing else of the bootstrap kubeconfig (token, TLS server name,
/// proxy) is carried over, as with the kubelet.
pub fn kubelet_conf_from_bootstrap(bootstrap: &Config, pem_path: &str) -> Result<Config, KubeconfigError> {
    let invalid = |what: String| KubeconfigError::InvalidBootstrap(what);
    let context = bootstrap
        .context(&bootstrap.current_context)
        .ok_or_else(|| invalid(format!("context {:?} not found", bootstrap.current_context)))?;
    let cluster = bootstrap
        .cluster(&context.cluster)
        .ok_or_else(|| invalid(format!("cluster {:?} not found", context.cluster)))?;
    let (ca_file, ca_data) = if cluster.certificate_authority.is_empty() {
        (String::new(), cluster.certificate_authority_data.clone())
    } else {
        (cluster.certificate_authority.clone(), None)
    };
    let mut config = kubelet_conf(&cluster.server, ca_data.as_deref().unwrap_or_default(), pem_path);
    if let Some(c) = config.clusters.first_mut() {
        c.cluster.certificate_authority = ca_file;
        c.cluster.insecure_skip_tls_verify = cluster.insecure_skip_tls_verify;
    }
    Ok(config)
}

/// [`kubelet_conf_from_bootstrap`] from its parts: the API server URL, the CA PEM to embed and
/// the path of the kubelet's current client certificate+key file.
pub fn kubelet_conf(server: &str, ca_pem: &[u8], pem_path: &str) -> Config {
    Config {
        clusters: vec![NamedCluster {
            name: KUBELET_BOOTSTRAPPED_CLUSTER.into(),
            cluster: Cluster {
                server: server.into(),
                certificate_authority_data: (!ca_pem.is_empty()).then(|| ca_pem.to_vec()),
                ..Default::default()
            },
        }],
        users: vec![NamedAuthInfo {
            name: KUBELET_BOOTSTRAPPED_USER.into(),
            user: AuthInfo {
                client_certificate: pem_path.into(),
                client_key: pem_path.into(),
                ..Default::default()
            },
        }],
        contexts: vec![NamedContext {
            name: KUBELET_BOOTSTRAPPED_CONTEXT.into(),
            context: Context {
                cluster: KUBELET_BOOTSTRAPPED_CLUSTER.into(),
                auth_info: KUBELET_BOOTSTRAPPED_USER.into(),
                namespace: "default".into(),
                ..Default::default()
            },
        }],
        current_context: KUBELET_BOOTSTRAPPED_CONTEXT.into(),
        ..Default::default()
    }
}

fn format_url(host: &str, port: &str) -> String {
    format!("https://{}", crate::staticpod::join_host_port(host, port))
}

fn valid_port(p: &str) -> bool {
    // netutils.ParsePort(port, true): decimal digits only (no sign), 0..=65535; kubeadm requires >= 1.
    !p.is_empty()
        && p.bytes().all(|b| b.is_ascii_digit())
        && p.parse::<u32>().is_ok_and(|n| (1..=65535).contains(&n))
}

/// Go `net.IP.String()` of an address given as text (IPv4-mapped IPv6 printed as IPv4).
fn canonical_ip(s: &str) -> Option<String> {
    match s.parse::<IpAddr>().ok()? {
        IpAddr::V4(v4) => Some(v4.to_string()),
        IpAddr::V6(v6) => Some(match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => v6.to_string(),
        }),
    }
}

/// Go `net.SplitHostPort`.
fn split_host_port(hp: &str) -> Option<(String, String)> {
    if let Some(rest) = hp.strip_prefix('[') {
        let (h, p) = rest.split_once(']')?;
        let p = p.strip_prefix(':')?;
        if p.contains(':') || h.contains('[') {
            return None;
        }
        return Some((h.to_string(), p.to_string()));
    }
    let (h, p) = hp.rsplit_once(':')?;
    if h.contains(':') || h.contains('[') || h.contains(']') || p.contains(']') {
        return None;
    }
    Some((h.to_string(), p.to_string()))
}

/// `https://<advertiseAddress>:<bindPort>` (upstream `GetLocalAPIEndpoint`).
pub fn local_api_endpoint_url(endpoint: &ApiEndpoint) -> Result<String, KubeconfigError> {
    if !(1..=65535).contains(&endpoint.bind_port) {
        return Err(KubeconfigError::InvalidBindPort(endpoint.bind_port));
    }
    let ip = canonical_ip(&endpoint.advertise_address)
        .ok_or_else(|| KubeconfigError::InvalidAdvertiseAddress(endpoint.advertise_address.clone()))?;
    Ok(format_url(&ip, &endpoint.bind_port.to_string()))
}

/// The cluster URL: `controlPlaneEndpoint` (its port, else `bindPort`) or the local endpoint
/// (upstream `GetControlPlaneEndpoint`). The second value is upstream's warning when the endpoint's
/// port differs from `bindPort`.
pub fn control_plane_endpoint_url(
    control_plane_endpoint: &str,
    endpoint: &ApiEndpoint,
) -> Result<(String, Option<String>), KubeconfigError> {
    let local = local_api_endpoint_url(endpoint)?;
    if control_plane_endpoint.is_empty() {
        return Ok((local, None));
    }
    let bad = |reason: String| KubeconfigError::InvalidControlPlaneEndpoint {
        value: control_plane_endpoint.into(),
        reason,
    };
    let (host, port) = split_host_port(control_plane_endpoint)
        .unwrap_or((control_plane_endpoint.to_string(), String::new()));
    if !port.is_empty() && !valid_port(&port) {
        return Err(bad(format!(
            "hostport {control_plane_endpoint}: port {port} must be a valid number between 1 and 65535, inclusive"
        )));
    }
    if host.parse::<IpAddr>().is_err() && !kubeadm_api::net::is_dns1123_subdomain(&host) {
        return Err(bad(format!(
            "hostport {control_plane_endpoint}: host '{host}' must be a valid IP address or a valid RFC-1123 DNS subdomain"
        )));
    }
    let bind = endpoint.bind_port.to_string();
    let mut warning = None;
    let port = if port.is_empty() {
        bind
    } else {
        if port != bind {
            warning = Some("[endpoint] WARNING: port specified in controlPlaneEndpoint overrides bindPort in the controlplane address".to_string());
        }
        port
    };
    Ok((format_url(&host, &port), warning))
}

/// What kubeadm needs to build one kubeconfig file (upstream `kubeConfigSpec` without the CA).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeConfigSpec {
    /// File name (`admin.conf`, ...).
    pub file_name: String,
    /// API server URL.
    pub api_server: String,
    /// Client certificate common name = kubeconfig user name.
    pub client_name: String,
    /// Client certificate organizations.
    pub organizations: Vec<String>,
}

/// The specs of `kubeadm init`'s kubeconfig files in upstream's phase order: admin, super-admin,
/// kubelet, controller-manager, scheduler. admin and super-admin use the control-plane endpoint;
/// kubelet.conf, controller-manager.conf and scheduler.conf the local API endpoint (the kubelet
/// phase clears `controlPlaneEndpoint` since ControlPlaneKubeletLocalMode went GA).
pub fn init_kubeconfig_specs(
    cfg: &ClusterConfiguration,
    endpoint: &ApiEndpoint,
    node_name: &str,
) -> Result<Vec<KubeConfigSpec>, KubeconfigError> {
    let (cpe, _) = control_plane_endpoint_url(&cfg.control_plane_endpoint, endpoint)?;
    let local = local_api_endpoint_url(endpoint)?;
    let spec = |f: &str, s: &str, n: String, o: &[&str]| KubeConfigSpec {
        file_name: f.into(),
        api_server: s.into(),
        client_name: n,
        organizations: o.iter().map(|x| x.to_string()).collect(),
    };
    Ok(vec![
        spec(ADMIN_KUBECONFIG, &cpe, "kubernetes-admin".into(), &[CLUSTER_ADMINS_GROUP]),
        spec(SUPER_ADMIN_KUBECONFIG, &cpe, "kubernetes-super-admin".into(), &[SYSTEM_PRIVILEGED_GROUP]),
        spec(KUBELET_KUBECONFIG, &local, format!("{NODES_USER_PREFIX}{node_name}"), &[NODES_GROUP]),
        spec(CONTROLLER_MANAGER_KUBECONFIG, &local, "system:kube-controller-manager".into(), &[]),
        spec(SCHEDULER_KUBECONFIG, &local, "system:kube-scheduler".into(), &[]),
    ])
}

/// The kubeconfig files of `kubeadm join --control-plane`: admin, controller-manager, scheduler.
pub fn join_control_plane_kubeconfig_specs(
    cfg: &ClusterConfiguration,
    endpoint: &ApiEndpoint,
    node_name: &str,
) -> Result<Vec<KubeConfigSpec>, KubeconfigError> {
    Ok(init_kubeconfig_specs(cfg, endpoint, node_name)?
        .into_iter()
        .filter(|s| {
            [ADMIN_KUBECONFIG, CONTROLLER_MANAGER_KUBECONFIG, SCHEDULER_KUBECONFIG]
                .contains(&s.file_name.as_str())
        })
        .collect())
}

/// Builds the kubeconfig of a spec from the CA certificate and the issued client certificate/key PEMs.
pub fn build_from_spec(
    spec: &KubeConfigSpec,
    cluster_name: &str,
    ca_cert_pem: &[u8],
    client_key_pem: &[u8],
    client_cert_pem: &[u8],
) -> Config {
    create_with_certs(
        &spec.api_server,
        cluster_name,
        &spec.client_name,
        ca_cert_pem,
        client_key_pem,
        client_cert_pem,
    )
}

/// The file `<dir>/<name>` with the serialized config, secret, mode 0600.
pub fn to_out_file(dir: &str, file_name: &str, config: &Config) -> Result<OutFile, KubeconfigError> {
    Ok(OutFile::secret(PathBuf::from(join(dir, file_name)), config.to_yaml()?, KUBECONFIG_FILE_MODE))
}

/// `kubeadm kubeconfig user` stdout: the YAML followed by one extra newline (`fmt.Fprintln`).
pub fn user_output(config: &Config) -> Result<String, KubeconfigError> {
    Ok(format!("{}\n", config.to_yaml()?))
}

/// `[kubeconfig] Using kubeconfig folder "/etc/kubernetes"`.
pub fn msg_using_folder(dir: &str) -> String {
    format!("[kubeconfig] Using kubeconfig folder {dir:?}")
}

/// `[kubeconfig] Writing "admin.conf" kubeconfig file`.
pub fn msg_writing(file_name: &str) -> String {
    format!("[kubeconfig] Writing {file_name:?} kubeconfig file")
}

/// `[kubeconfig] Using existing kubeconfig file: "/etc/kubernetes/admin.conf"`.
pub fn msg_using_existing(path: &str) -> String {
    format!("[kubeconfig] Using existing kubeconfig file: {path:?}")
}

/// `[kubeconfig] External CA mode: Using user provided admin.conf`.
pub fn msg_external_ca(file_name: &str) -> String {
    format!("[kubeconfig] External CA mode: Using user provided {file_name}")
}

fn pem_cert_ders(data: &[u8]) -> Option<Vec<Vec<u8>>> {
    let blocks = pem::parse_many(data).ok()?;
    let ders: Vec<Vec<u8>> =
        blocks.into_iter().filter(|b| b.tag() == "CERTIFICATE").map(|b| b.into_contents()).collect();
    if ders.is_empty() { None } else { Some(ders) }
}

fn trim_ascii_ws(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(b.len());
    let end = b.iter().rposition(|c| !c.is_ascii_whitespace()).map_or(start, |e| e + 1);
    &b[start..end]
}

/// Result of checking an existing kubeconfig file against the expected one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingOk {
    /// Upstream's klog warning when the server URL differs (the file is still reused).
    pub warning: Option<String>,
}

/// Upstream `validateKubeConfig` for a file that exists: its current context's cluster must trust
/// the expected CA (its first CA certificate must be among the expected ones); a different server
/// URL only yields a warning. `read_file` resolves a `certificate-authority` path when the file has
/// no embedded CA data (`None` if unreadable).
pub fn validate_existing(
    path: &str,
    existing: &[u8],
    expected: &Config,
    read_file: &dyn Fn(&str) -> Option<Vec<u8>>,
) -> Result<ExistingOk, KubeconfigError> {
    let current = Config::parse(existing)
        .map_err(|e| KubeconfigError::LoadExisting { path: path.into(), reason: e.to_string() })?;
    let expected_ctx = expected
        .context(&expected.current_context)
        .ok_or_else(|| KubeconfigError::ExpectedContextMissing(expected.current_context.clone()))?;
    let current_ctx = current
        .context(&current.current_context)
        .ok_or_else(|| KubeconfigError::CurrentContextMissing(path.into()))?;
    let current_cluster = current
        .cluster(&current_ctx.cluster)
        .ok_or_else(|| KubeconfigError::CurrentClusterMissing(path.into()))?;
    let mut ca_current =
        trim_ascii_ws(current_cluster.certificate_authority_data.as_deref().unwrap_or(&[])).to_vec();
    if ca_current.is_empty()
        && !current_cluster.certificate_authority.is_empty()
        && let Some(b) = read_file(&current_cluster.certificate_authority)
    {
        ca_current = trim_ascii_ws(&b).to_vec();
    }
    let expected_cluster = expected.cluster(&expected_ctx.cluster).cloned().unwrap_or_default();
    let ca_expected =
        trim_ascii_ws(expected_cluster.certificate_authority_data.as_deref().unwrap_or(&[])).to_vec();
    let current_certs =
        pem_cert_ders(&ca_current).ok_or_else(|| KubeconfigError::InvalidCurrentCa(path.into()))?;
    let expected_certs = pem_cert_ders(&ca_expected).ok_or_else(|| {
        KubeconfigError::InvalidExpectedCa(String::from_utf8_lossy(&ca_expected).into_owned())
    })?;
    if !expected_certs.contains(&current_certs[0]) {
        return Err(KubeconfigError::UntrustedCa { path: path.into(), count: current_certs.len() });
    }
    let warning = (current_cluster.server != expected_cluster.server).then(|| {
        format!(
            "a kubeconfig file {path:?} exists already but has an unexpected API Server URL: expected: {}, got: {}",
            expected_cluster.server, current_cluster.server
        )
    });
    Ok(ExistingOk { warning })
}

/// Points every cluster of the config at the local API endpoint (upstream
/// `PointKubeConfigToLocalAPIEndpoint`).
pub fn point_to_local_endpoint(config: &mut Config, endpoint: &ApiEndpoint) {
    let url = format!(
        "https://{}",
        crate::staticpod::join_host_port(&endpoint.advertise_address, endpoint.bind_port)
    );
    for c in &mut config.clusters {
        c.cluster.server = url.clone();
    }
}

/// True when the current user has usable credentials (upstream `HasAuthenticationCredentials`).
pub fn has_authentication_credentials(config: &Config) -> bool {
    let Some(a) = config.current_user() else { return false };
    let s = |k: &str| a.other.get(k).and_then(|v| v.as_str()).is_some_and(|v| !v.is_empty());
    if !a.token.is_empty() || !a.token_file.is_empty() {
        return true;
    }
    if s("username") && s("password") {
        return true;
    }
    if (!a.client_certificate.is_empty() || !empty_bytes(&a.client_certificate_data))
        && (!a.client_key.is_empty() || !empty_bytes(&a.client_key_data))
    {
        return true;
    }
    if a.other
        .get("exec")
        .and_then(|e| e.get("command"))
        .and_then(|c| c.as_str())
        .is_some_and(|c| !c.is_empty())
    {
        return true;
    }
    a.other
        .get("auth-provider")
        .and_then(|e| e.get("name"))
        .and_then(|c| c.as_str())
        .is_some_and(|c| !c.is_empty())
}

/// The PEM client certificate embedded for the current context's user, checked as upstream's
/// renewal `kubeConfigReadWriter.Read` does: the current context, its cluster with embedded CA
/// data and its user with embedded client certificate data must exist. `path` names the file in
/// errors.
pub fn embedded_client_certificate<'a>(config: &'a Config, path: &str) -> Result<&'a [u8], KubeconfigError> {
    let err = KubeconfigError::NoEmbeddedClientCert;
    let ctx = config.context(&config.current_context).ok_or_else(|| {
        err(format!("invalid kubeConfig file {path}: missing context {}", config.current_context))
    })?;
    let cluster = config
        .cluster(&ctx.cluster)
        .ok_or_else(|| err(format!("invalid kubeConfig file {path}: missing cluster {}", ctx.cluster)))?;
    if empty_bytes(&cluster.certificate_authority_data) {
        return Err(err(format!("kubeConfig file {path} does not have an embedded server certificate")));
    }
    let user = config
        .user(&ctx.auth_info)
        .ok_or_else(|| err(format!("invalid kubeConfig file {path}: missing authInfo {}", ctx.auth_info)))?;
    match user.client_certificate_data.as_deref() {
        Some(pem) if !pem.is_empty() => Ok(pem),
        _ => Err(err(format!("kubeConfig file {path} does not have an embedded client certificate"))),
    }
}

/// Upstream renewal `kubeConfigReadWriter.Write`'s change: the current context's cluster trusts
/// `ca_pem` and its user gets the new client key and certificate; everything else is kept. The
/// caller has checked the file with [`embedded_client_certificate`].
pub fn replace_embedded_client_credentials(
    config: &mut Config,
    ca_pem: &[u8],
    key_pem: &[u8],
    cert_pem: &[u8],
) {
    let Some(ctx) = config.context(&config.current_context).cloned() else { return };
    if let Some(c) = config.clusters.iter_mut().rev().find(|c| c.name == ctx.cluster) {
        c.cluster.certificate_authority_data = Some(ca_pem.to_vec());
    }
    if let Some(u) = config.users.iter_mut().rev().find(|u| u.name == ctx.auth_info) {
        u.user.client_key_data = Some(key_pem.to_vec());
        u.user.client_certificate_data = Some(cert_pem.to_vec());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(a: &str, p: i32) -> ApiEndpoint {
        ApiEndpoint { advertise_address: a.into(), bind_port: p }
    }

    #[test]
    fn endpoints() {
        assert_eq!(local_api_endpoint_url(&ep("10.0.0.1", 6443)).unwrap(), "https://10.0.0.1:6443");
        assert_eq!(local_api_endpoint_url(&ep("fd00::0001", 6443)).unwrap(), "https://[fd00::1]:6443");
        assert_eq!(local_api_endpoint_url(&ep("::ffff:10.0.0.1", 1)).unwrap(), "https://10.0.0.1:1");
        assert!(local_api_endpoint_url(&ep("host", 6443)).is_err());
        assert!(local_api_endpoint_url(&ep("10.0.0.1", 0)).is_err());
        let e = ep("10.0.0.1", 6443);
        assert_eq!(control_plane_endpoint_url("", &e).unwrap(), ("https://10.0.0.1:6443".into(), None));
        assert_eq!(
            control_plane_endpoint_url("cp.example.com", &e).unwrap().0,
            "https://cp.example.com:6443"
        );
        // Go: SplitHostPort fails, "[fd00::5]" is neither an IP nor a DNS name.
        assert!(control_plane_endpoint_url("[fd00::5]", &e).is_err());
        let (u, w) = control_plane_endpoint_url("[fd00::5]:443", &e).unwrap();
        assert_eq!(u, "https://[fd00::5]:443");
        assert!(w.is_some());
        assert!(control_plane_endpoint_url("cp.example.com:0", &e).is_err());
        assert!(control_plane_endpoint_url("Bad_Host", &e).is_err());
    }

    #[test]
    fn kubelet_conf_as_the_kubelet_writes_it() {
        let bootstrap = create_with_token(
            "https://10.0.0.1:6443",
            "kubernetes",
            "tls-bootstrap-token-user",
            b"CA",
            "abcdef.0123456789abcdef",
        );
        let pem = "/var/lib/kubelet/pki/kubelet-client-current.pem";
        let c = kubelet_conf_from_bootstrap(&bootstrap, pem).unwrap();
        assert_eq!(c, kubelet_conf("https://10.0.0.1:6443", b"CA", pem));
        assert_eq!(
            c.to_yaml().unwrap(),
            "apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: Q0E=
    server: https://10.0.0.1:6443
  name: default-cluster
contexts:
- context:
    cluster: default-cluster
    namespace: default
    user: default-auth
  name: default-context
current-context: default-context
kind: Config
users:
- name: default-auth
  user:
    client-certificate: /var/lib/kubelet/pki/kubelet-client-current.pem
    client-key: /var/lib/kubelet/pki/kubelet-client-current.pem
"
        );
        assert!(has_authentication_credentials(&c));
        // A CA file wins over embedded data; insecure-skip-tls-verify is carried over.
        let mut b2 = bootstrap.clone();
        b2.clusters[0].cluster.certificate_authority = "/etc/kubernetes/pki/ca.crt".into();
        b2.clusters[0].cluster.insecure_skip_tls_verify = true;
        let c2 = kubelet_conf_from_bootstrap(&b2, pem).unwrap();
        let cl = c2.cluster(KUBELET_BOOTSTRAPPED_CLUSTER).unwrap();
        assert_eq!(cl.certificate_authority, "/etc/kubernetes/pki/ca.crt");
        assert!(cl.certificate_authority_data.is_none() && cl.insecure_skip_tls_verify);
        let mut b3 = bootstrap;
        b3.current_context = "nope".into();
        assert!(kubelet_conf_from_bootstrap(&b3, pem).is_err());
    }

    #[test]
    fn token_config_and_messages() {
        let c = create_with_token(
            "https://10.0.0.1:6443",
            "kubernetes",
            "tls-bootstrap-token-user",
            b"CA",
            "abcdef.0123456789abcdef",
        );
        let y = c.to_yaml().unwrap();
        assert!(y.contains("  user:\n    token: abcdef.0123456789abcdef\n"));
        assert!(y.contains("current-context: tls-bootstrap-token-user@kubernetes\n"));
        assert!(has_authentication_credentials(&c));
        assert_eq!(msg_writing("admin.conf"), "[kubeconfig] Writing \"admin.conf\" kubeconfig file");
        assert_eq!(
            msg_using_folder("/etc/kubernetes"),
            "[kubeconfig] Using kubeconfig folder \"/etc/kubernetes\""
        );
        let empty = Config {
            clusters: vec![NamedCluster {
                name: String::new(),
                cluster: Cluster { server: "https://x:1".into(), ..Default::default() },
            }],
            ..Default::default()
        };
        assert_eq!(
            empty.to_yaml().unwrap(),
            "apiVersion: v1\nclusters:\n- cluster:\n    server: https://x:1\n  name: \"\"\ncontexts: null\ncurrent-context: \"\"\nkind: Config\nusers: null\n"
        );
    }

    #[test]
    fn embedded_client_certificate_checks_and_replacement() {
        let mut c = create_with_certs("https://x:6443", "kubernetes", "admin", b"CA", b"KEY", b"CERT");
        assert_eq!(embedded_client_certificate(&c, "/a.conf").unwrap(), b"CERT");
        replace_embedded_client_credentials(&mut c, b"CA2", b"KEY2", b"CERT2");
        assert_eq!(c.current_user().unwrap().client_key_data.as_deref(), Some(&b"KEY2"[..]));
        assert_eq!(c.current_cluster().unwrap().1.certificate_authority_data.as_deref(), Some(&b"CA2"[..]));
        assert_eq!(embedded_client_certificate(&c, "/a.conf").unwrap(), b"CERT2");

        let no_cert = create_with_certs("https://x:6443", "kubernetes", "admin", b"CA", b"KEY", b"");
        assert_eq!(
            embedded_client_certificate(&no_cert, "/a.conf").unwrap_err().to_string(),
            "kubeConfig file /a.conf does not have an embedded client certificate"
        );
        let no_ca = create_with_certs("https://x:6443", "kubernetes", "admin", b"", b"KEY", b"CERT");
        assert_eq!(
            embedded_client_certificate(&no_ca, "/a.conf").unwrap_err().to_string(),
            "kubeConfig file /a.conf does not have an embedded server certificate"
        );
        let mut no_ctx = c.clone();
        no_ctx.current_context = "other".into();
        assert_eq!(
            embedded_client_certificate(&no_ctx, "/a.conf").unwrap_err().to_string(),
            "invalid kubeConfig file /a.conf: missing context other"
        );
        let mut no_user = c.clone();
        no_user.users.clear();
        assert_eq!(
            embedded_client_certificate(&no_user, "/a.conf").unwrap_err().to_string(),
            "invalid kubeConfig file /a.conf: missing authInfo admin"
        );
    }
}
