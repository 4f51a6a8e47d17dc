//! `kubeadm join` discovery (upstream `cmd/kubeadm/app/discovery`): find the cluster, make sure the
//! API server can be trusted, and return the kubeconfig used for the TLS bootstrap.
//!
//! * **Token discovery** (`discovery.bootstrapToken`, upstream `discovery/token`): an anonymous
//!   client that does not verify the server certificate reads `kube-public/cluster-info` every
//!   [`DiscoveryTimeouts::retry_interval`] (5s, clipped to the timeout) until it carries the
//!   `jws-kubeconfig-<token-id>` signature; the signature is checked with the token, the CA in the
//!   signed kubeconfig is checked against the `caCertHashes` pins, and (with pins) cluster-info is
//!   read a second time over TLS trusting only that CA and must be byte-identical.
//! * **File discovery** (`discovery.file.kubeConfigPath`, upstream `discovery/file` and
//!   `discovery/https`): a local kubeconfig file or one downloaded over HTTPS (system trust store);
//!   the API server is contacted with it to read `cluster-info` (refreshing the CA when the file
//!   has none); a Forbidden answer is accepted, other errors are retried until the timeout.
//! * [`discover`] is upstream `discovery.For`: the validated kubeconfig turned into the
//!   TLS-bootstrap kubeconfig (token user `tls-bootstrap-token-user` when a `tlsBootstrapToken` is
//!   set, else the file's own credentials).
//!
//! The checks on fetched data are pure functions ([`validate_cluster_info_token`],
//! [`validate_insecure_cluster_info`], [`validate_cluster_ca`], [`validate_secure_cluster_info`],
//! [`PinSet`]) so they are unit-tested without a cluster.
//!
//! Upstream logs everything at `-v1` except two warnings of file discovery; both kinds go to a
//! caller-supplied [`DiscoveryLog`]. Token secrets never appear in errors, `Debug` or logs.
//!
//! Not implemented: the dry-run client of `join --dry-run` (upstream feeds a fake cluster-info).

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Client;
use kube::api::Api;
use kubeadm_api::constants;
use kubeadm_api::v1beta4::{BootstrapTokenString, JoinConfiguration, SecretString};
use kubeadm_manifests::kubeconfig::{
    self as kc, AuthInfo, Cluster, Config as KubeConfig, NamedAuthInfo, NamedCluster, NamedContext,
};
use kubeadm_manifests::kubelet::go_quote;
use kubeadm_pki::Certificate;

use crate::client::{Attempt, poll_until_timeout, user_agent};
use crate::error::{Error, Result, is_forbidden};
use crate::jws::{JWS_SIGNATURE_KEY_PREFIX, detached_token_is_valid};

/// User of the kubeconfig built from a `tlsBootstrapToken` (upstream `discovery.TokenUser`).
pub const TOKEN_USER: &str = "tls-bootstrap-token-user";
/// User of the anonymous cluster-info clients (upstream `token.BootstrapUser`).
pub const BOOTSTRAP_USER: &str = "token-bootstrap-client";
/// Cluster name of the kubeconfigs built here (`kubeadmapiv1.DefaultClusterName`).
pub const DEFAULT_CLUSTER_NAME: &str = "kubernetes";
/// The `cluster-info` ConfigMap (`bootstrapapi.ConfigMapClusterInfo`).
pub const CLUSTER_INFO: &str = "cluster-info";
/// Its kubeconfig key (`bootstrapapi.KubeConfigKey`).
pub const KUBECONFIG_KEY: &str = "kubeconfig";
/// Namespace of `cluster-info`.
pub const KUBE_PUBLIC: &str = "kube-public";

// ---------------------------------------------------------------------------------------------
// Inputs

/// Where upstream's klog lines of discovery go: the warnings are printed at the default verbosity
/// (stderr, `W...` lines), the rest only with `-v1` or higher.
pub trait DiscoveryLog: Sync {
    /// `klog.Warningf` (default verbosity).
    fn warning(&self, message: &str);
    /// `klog.V(1).Info` (only with `-v1`).
    fn v1(&self, _message: &str) {}
}

/// A [`DiscoveryLog`] that drops everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLog;

impl DiscoveryLog for NoLog {
    fn warning(&self, _message: &str) {}
}

/// Timing of discovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiscoveryTimeouts {
    /// `timeouts.discovery` (default 5m): how long cluster-info is waited for.
    pub discovery: Duration,
    /// Pause between attempts (`DiscoveryRetryInterval`, 5s); injectable for tests.
    pub retry_interval: Duration,
    /// Timeout of one HTTP request (10s, like every kubeadm client).
    pub request: Duration,
}

impl Default for DiscoveryTimeouts {
    fn default() -> Self {
        Self {
            discovery: constants::DISCOVERY_TIMEOUT.to_std(),
            retry_interval: constants::DISCOVERY_RETRY_INTERVAL.to_std(),
            request: Duration::from_secs(10),
        }
    }
}

/// `discovery.bootstrapToken`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TokenDiscovery {
    /// `host:port` of the API server.
    pub api_server_endpoint: String,
    /// The bootstrap token `<id>.<secret>` (secret).
    pub token: SecretString,
    /// `sha256:<hex>` pins of the cluster CA's public key.
    pub ca_cert_hashes: Vec<String>,
    /// Accept any CA (no pins).
    pub unsafe_skip_ca_verification: bool,
}

impl std::fmt::Debug for TokenDiscovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Only the public token ID is shown.
        let id = self.token.expose().split_once('.').map(|(id, _)| id).unwrap_or("");
        f.debug_struct("TokenDiscovery")
            .field("api_server_endpoint", &self.api_server_endpoint)
            .field("token", &format_args!("{id}.<redacted>"))
            .field("ca_cert_hashes", &self.ca_cert_hashes)
            .field("unsafe_skip_ca_verification", &self.unsafe_skip_ca_verification)
            .finish()
    }
}

/// What discovery needs from the v1beta4 `JoinConfiguration` (`Debug` redacts the secrets).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiscoveryInput {
    /// `discovery.bootstrapToken`.
    pub token: Option<TokenDiscovery>,
    /// `discovery.file.kubeConfigPath`: a file path or an `https://` URL.
    pub file: Option<String>,
    /// `discovery.tlsBootstrapToken` (secret; empty = unset).
    pub tls_bootstrap_token: SecretString,
    /// Timeouts (`timeouts.discovery`).
    pub timeouts: DiscoveryTimeouts,
}

impl DiscoveryInput {
    /// From a (defaulted) `JoinConfiguration`, like upstream `DiscoverValidatedKubeConfig` reads it.
    pub fn from_join_configuration(cfg: &JoinConfiguration) -> Self {
        let d = &cfg.discovery;
        let mut timeouts = DiscoveryTimeouts::default();
        if let Some(t) = cfg.timeouts.as_ref().and_then(|t| t.discovery) {
            timeouts.discovery = t.to_std();
        }
        Self {
            token: d.bootstrap_token.as_ref().map(|b| TokenDiscovery {
                api_server_endpoint: b.api_server_endpoint.clone(),
                token: b.token.clone(),
                ca_cert_hashes: b.ca_cert_hashes.clone(),
                unsafe_skip_ca_verification: b.unsafe_skip_ca_verification,
            }),
            file: d.file.as_ref().map(|f| f.kube_config_path.clone()),
            tls_bootstrap_token: d.tls_bootstrap_token.clone(),
            timeouts,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Errors

/// A `caCertHashes` value was rejected (upstream `pubkeypin.Set.Allow`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinError {
    /// Not `<format>:<value>`.
    #[error("invalid hash, expected \"format:hex-value\". Known format(s) are: sha256")]
    Format,
    /// A format other than `sha256`.
    #[error("unknown hash format {}. Known format(s) are: sha256", go_quote(.0))]
    UnknownFormat(String),
    /// Not 64 hex digits.
    #[error("invalid hash {}, {reason}", go_quote(.hash))]
    InvalidSha256 {
        /// The whole value.
        hash: String,
        /// Go's reason (`expected a 32 byte SHA-256 hash, found 31 bytes`, ...).
        reason: String,
    },
    /// No certificate matched (`CheckAny`): the computed pins joined with `:`.
    #[error("none of the public keys {} are pinned", go_quote(.0))]
    NotPinned(String),
}

/// Discovery failures, with upstream's messages.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// Neither token nor file discovery is configured.
    #[error("couldn't find a valid discovery configuration")]
    NoConfiguration,
    /// The discovery token is malformed (upstream prints the token; it is a secret here).
    #[error("could not construct token string for token: {0}")]
    InvalidToken(kubeadm_api::v1beta4::InvalidBootstrapToken),
    /// `discovery.bootstrapToken.apiServerEndpoint` does not make a URL.
    #[error("invalid API server endpoint {}: {reason}", go_quote(.endpoint))]
    InvalidEndpoint {
        /// The endpoint.
        endpoint: String,
        /// Why.
        reason: String,
    },
    /// A `caCertHashes` value is malformed.
    #[error("invalid discovery token CA certificate hash: {0}")]
    InvalidCaCertHash(PinError),
    /// Reading cluster-info failed (API error text, or `Get "<url>": <transport error>`).
    #[error("failed to request the cluster-info ConfigMap: {0}")]
    ClusterInfoRequest(String),
    /// cluster-info has no signature for the token (yet).
    #[error("could not find a JWS signature in the cluster-info ConfigMap for token ID {}", go_quote(.0))]
    MissingSignature(String),
    /// cluster-info has no kubeconfig.
    #[error(
        "there is no kubeconfig key in the cluster-info ConfigMap. This API Server isn't set up for token bootstrapping, can't connect"
    )]
    NoKubeconfigKey,
    /// The signature key is empty.
    #[error(
        "token id {} is invalid for this cluster or it has expired. Use \"kubeadm token create\" on the control-plane node to create a new valid token",
        go_quote(.0)
    )]
    TokenIdInvalid(String),
    /// The signature does not match the kubeconfig and token.
    #[error("failed to verify JWS signature of received cluster info object, can't trust this API Server")]
    InvalidSignature,
    /// The kubeconfig in cluster-info does not parse.
    #[error("couldn't parse the kubeconfig file in the cluster-info ConfigMap: {0}")]
    ParseClusterInfo(String),
    /// The kubeconfig in cluster-info (or the discovered one) has no usable cluster.
    #[error("malformed kubeconfig in the cluster-info ConfigMap: {0}")]
    MalformedClusterInfo(String),
    /// `certificate-authority-data` in cluster-info is not PEM certificates.
    #[error("failed to parse cluster CA from the cluster-info ConfigMap: {0}")]
    ParseClusterCa(String),
    /// No CA certificate in cluster-info is pinned.
    #[error("cluster CA found in cluster-info ConfigMap is invalid: {0}")]
    ClusterCaNotPinned(PinError),
    /// The second read (over verified TLS) returned another kubeconfig.
    #[error(
        "the second kubeconfig from the cluster-info ConfigMap (using validated TLS) was different from the first"
    )]
    KubeconfigChanged,
    /// File discovery without credentials and without a TLS bootstrap token.
    #[error(
        "could not find authentication credentials for the TLS bootstrap process. Please use Token discovery, a discovery file with embedded authentication credentials or a discovery file without authentication credentials but with the TLSBootstrapToken flag"
    )]
    NoCredentials,
    /// The discovered kubeconfig has no CA certificate.
    #[error("could not get CA certificate from discovery kubeconfig: {0}")]
    NoCaCertificate(String),
    /// The discovery file could not be read or parsed (Go's text, e.g. `open <path>: ...`).
    #[error("{0}")]
    LoadFile(String),
    /// The discovery kubeconfig has no cluster.
    #[error("the provided kubeconfig file must have at least one Cluster defined")]
    NoClusters,
    /// The discovery kubeconfig's current cluster cannot be found.
    #[error("the provided kubeconfig file is malformed: {0}")]
    MalformedFile(String),
    /// clientcmd validation of the discovery kubeconfig failed.
    #[error("invalid configuration: {}", aggregate(.0))]
    InvalidConfiguration(Vec<String>),
    /// A file referenced by the discovery kubeconfig could not be read.
    #[error("error while reading {what} defined in kubeconfig: {message}")]
    ReadReferencedFile {
        /// `certificate authority file`, `client cert file`, `client key file`, `token file`.
        what: &'static str,
        /// `open <path>: <reason>`.
        message: String,
    },
    /// File discovery could not read cluster-info before the timeout.
    #[error("Abort reading the cluster-info ConfigMap after timeout of {timeout}: {message}")]
    FileClusterInfoTimeout {
        /// Go duration (`5m0s`).
        timeout: String,
        /// The last error.
        message: String,
    },
    /// The HTTPS download of the discovery file failed.
    #[error("Get {}: {message}", go_quote(.url))]
    HttpsGet {
        /// The URL.
        url: String,
        /// Transport error.
        message: String,
    },
    /// The HTTPS server answered with a status other than 200.
    #[error("error trying to fetch discovery kubeconfig over HTTPS from {url}, received status {status}")]
    HttpsStatus {
        /// The URL.
        url: String,
        /// HTTP status.
        status: u16,
    },
}

/// `utilerrors.NewAggregate(errs).Error()`: one message as is, several de-duplicated in brackets.
fn aggregate(errs: &[String]) -> String {
    if errs.len() == 1 {
        return errs[0].clone();
    }
    let mut seen: Vec<&str> = Vec::new();
    for e in errs {
        if !seen.contains(&e.as_str()) {
            seen.push(e);
        }
    }
    if seen.len() == 1 { seen[0].to_string() } else { format!("[{}]", seen.join(", ")) }
}

// ---------------------------------------------------------------------------------------------
// Public key pins

/// A set of pinned CA public keys (upstream `pubkeypin.Set`): `sha256:<hex of SHA-256 over the
/// DER SubjectPublicKeyInfo>`; the format is case-insensitive, the hex is stored lower-case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PinSet {
    sha256: std::collections::BTreeSet<String>,
}

impl PinSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds pins (`Allow`); stops at the first invalid one.
    pub fn allow<S: AsRef<str>>(&mut self, hashes: &[S]) -> std::result::Result<(), PinError> {
        for h in hashes {
            let h = h.as_ref();
            let parts: Vec<&str> = h.split(':').collect();
            let [format, value] = parts[..] else { return Err(PinError::Format) };
            if !format.eq_ignore_ascii_case("sha256") {
                return Err(PinError::UnknownFormat(format.to_string()));
            }
            let invalid = |reason: String| PinError::InvalidSha256 { hash: h.to_string(), reason };
            // Go: hex.DecodedLen(len) = len/2 must be 32, then hex.DecodeString.
            if value.len() / 2 != 32 {
                return Err(invalid(format!(
                    "expected a 32 byte SHA-256 hash, found {} bytes",
                    value.len() / 2
                )));
            }
            go_hex_check(value.as_bytes())
                .map_err(|e| invalid(format!("could not decode SHA-256 from hex: {e}")))?;
            self.sha256.insert(value.to_ascii_lowercase());
        }
        Ok(())
    }

    /// No pins.
    pub fn is_empty(&self) -> bool {
        self.sha256.is_empty()
    }

    /// `CheckAny`: OK when one of the certificates' public keys is pinned, else the error lists
    /// every computed pin.
    pub fn check_any(&self, certs: &[Certificate]) -> std::result::Result<(), PinError> {
        let mut hashes = Vec::new();
        for c in certs {
            let pin = c.public_key_pin();
            if pin.strip_prefix("sha256:").is_some_and(|hex| self.sha256.contains(hex)) {
                return Ok(());
            }
            hashes.push(pin);
        }
        Err(PinError::NotPinned(hashes.join(":")))
    }
}

/// Go's `hex.DecodeString` errors: the first invalid byte (`encoding/hex: invalid byte: U+0067
/// 'g'`), else `encoding/hex: odd length hex string`.
fn go_hex_check(s: &[u8]) -> std::result::Result<(), String> {
    let invalid = |b: u8| {
        let c = char::from(b);
        // Go %#U: the character is shown when printable (Latin-1 here, one byte = one rune).
        let printable = (0x20..0x7f).contains(&b) || (b >= 0xa1 && b != 0xad);
        if printable {
            format!("encoding/hex: invalid byte: U+{:04X} '{c}'", b)
        } else {
            format!("encoding/hex: invalid byte: U+{:04X}", b)
        }
    };
    let mut pairs = s.chunks_exact(2);
    for p in &mut pairs {
        for &b in p {
            if !b.is_ascii_hexdigit() {
                return Err(invalid(b));
            }
        }
    }
    if let [b] = pairs.remainder() {
        if !b.is_ascii_hexdigit() {
            return Err(invalid(*b));
        }
        return Err("encoding/hex: odd length hex string".to_string());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Pure validation of cluster-info

/// `validateClusterInfoToken`: the non-empty `kubeconfig` of cluster-info, after checking that the
/// `jws-kubeconfig-<id>` signature is present and valid for the token.
pub fn validate_cluster_info_token<'a>(
    data: &'a BTreeMap<String, String>,
    token: &BootstrapTokenString,
) -> std::result::Result<&'a str, DiscoveryError> {
    let kubeconfig =
        data.get(KUBECONFIG_KEY).filter(|s| !s.is_empty()).ok_or(DiscoveryError::NoKubeconfigKey)?;
    let sig = data
        .get(&format!("{JWS_SIGNATURE_KEY_PREFIX}{}", token.id))
        .filter(|s| !s.is_empty())
        .ok_or_else(|| DiscoveryError::TokenIdInvalid(token.id.clone()))?;
    if !detached_token_is_valid(sig, kubeconfig, &token.id, &token.secret) {
        return Err(DiscoveryError::InvalidSignature);
    }
    Ok(kubeconfig)
}

/// Upstream `GetClusterFromKubeConfig`: the unnamed cluster if present, else the current
/// context's; the error text is upstream's.
pub fn cluster_of(config: &KubeConfig) -> std::result::Result<(&str, &Cluster), String> {
    if let Some(c) = config.cluster("") {
        return Ok(("", c));
    }
    match config.context(&config.current_context) {
        Some(ctx) => match config.cluster(&ctx.cluster) {
            Some(c) => Ok((ctx.cluster.as_str(), c)),
            None => Err(format!("no matching cluster for the current context: {}", config.current_context)),
        },
        None => Err(format!("the current context is invalid: {}", config.current_context)),
    }
}

/// The first read of cluster-info, validated: the exact kubeconfig text and its parsed form.
#[derive(Debug, Clone)]
pub struct InsecureClusterInfo {
    /// The `kubeconfig` value, byte for byte (compared with the second read).
    pub kubeconfig: String,
    /// Parsed.
    pub config: KubeConfig,
}

/// Token discovery's checks on the first (unverified) read: signature, parse, a cluster.
pub fn validate_insecure_cluster_info(
    data: &BTreeMap<String, String>,
    token: &BootstrapTokenString,
) -> std::result::Result<InsecureClusterInfo, DiscoveryError> {
    let text = validate_cluster_info_token(data, token)?;
    let config =
        KubeConfig::parse(text.as_bytes()).map_err(|e| DiscoveryError::ParseClusterInfo(e.to_string()))?;
    cluster_of(&config).map_err(DiscoveryError::MalformedClusterInfo)?;
    Ok(InsecureClusterInfo { kubeconfig: text.to_string(), config })
}

/// `validateClusterCA`: the cluster's `certificate-authority-data` (PEM) when one of its
/// certificates is pinned.
///
/// Upstream takes the CA of the last cluster of a Go map (random with several clusters); this
/// takes the cluster [`cluster_of`] picks, which is the same for cluster-info's single cluster.
pub fn validate_cluster_ca(
    config: &KubeConfig,
    pins: &PinSet,
) -> std::result::Result<Vec<u8>, DiscoveryError> {
    let ca =
        cluster_of(config).ok().and_then(|(_, c)| c.certificate_authority_data.clone()).unwrap_or_default();
    let certs = Certificate::all_from_pem(&ca).map_err(|e| DiscoveryError::ParseClusterCa(e.to_string()))?;
    pins.check_any(&certs).map_err(DiscoveryError::ClusterCaNotPinned)?;
    Ok(ca)
}

/// The second read over verified TLS: its kubeconfig must equal the first byte for byte.
pub fn validate_secure_cluster_info(
    first_kubeconfig: &str,
    data: &BTreeMap<String, String>,
) -> std::result::Result<KubeConfig, DiscoveryError> {
    let second = data.get(KUBECONFIG_KEY).map(String::as_str).unwrap_or("");
    if second.as_bytes() != first_kubeconfig.as_bytes() {
        return Err(DiscoveryError::KubeconfigChanged);
    }
    KubeConfig::parse(second.as_bytes()).map_err(|e| DiscoveryError::ParseClusterInfo(e.to_string()))
}

/// Upstream `isHTTPSURL`: parses as a URL with scheme `https` (case-insensitive).
pub fn is_https_url(s: &str) -> bool {
    let Some((scheme, _)) = s.split_once(':') else { return false };
    let valid = scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    valid && scheme.eq_ignore_ascii_case("https") && !s.chars().any(|c| c.is_ascii_control())
}

// ---------------------------------------------------------------------------------------------
// discovery.For

/// Upstream `discovery.For`: discovery ([`discover_validated_kubeconfig`], errors wrapped with
/// "couldn't validate the identity of the API Server"), then the TLS-bootstrap kubeconfig
/// ([`tls_bootstrap_kubeconfig`]).
pub async fn discover(input: &DiscoveryInput, log: &dyn DiscoveryLog) -> Result<KubeConfig> {
    let config = discover_validated_kubeconfig(input, log)
        .await
        .map_err(|e| e.context("couldn't validate the identity of the API Server"))?;
    Ok(tls_bootstrap_kubeconfig(config, &input.tls_bootstrap_token, log)?)
}

/// The second half of upstream `discovery.For`: with a TLS bootstrap token, a kubeconfig for the
/// discovered server and CA with user `tls-bootstrap-token-user` and that token; else the
/// discovered kubeconfig, which must carry credentials. Either must have a CA certificate.
pub fn tls_bootstrap_kubeconfig(
    config: KubeConfig,
    tls_bootstrap_token: &SecretString,
    log: &dyn DiscoveryLog,
) -> std::result::Result<KubeConfig, DiscoveryError> {
    let config = if tls_bootstrap_token.is_empty() {
        if !kc::has_authentication_credentials(&config) {
            return Err(DiscoveryError::NoCredentials);
        }
        config
    } else {
        log.v1(
            "[discovery] Using provided TLSBootstrapToken as authentication credentials for the join process",
        );
        let (_, cluster) = cluster_of(&config).map_err(DiscoveryError::MalformedClusterInfo)?;
        kc::create_with_token(
            &cluster.server,
            DEFAULT_CLUSTER_NAME,
            TOKEN_USER,
            cluster.certificate_authority_data.as_deref().unwrap_or_default(),
            tls_bootstrap_token.expose(),
        )
    };
    let (_, cluster) = cluster_of(&config).map_err(DiscoveryError::NoCaCertificate)?;
    let ca = cluster.certificate_authority_data.as_deref().unwrap_or_default();
    let certs = Certificate::all_from_pem(ca).map_err(|e| DiscoveryError::NoCaCertificate(e.to_string()))?;
    if let Some(cert) = certs.first() {
        log.v1(&format!(
            "[discovery] Using CA certificate from discovery kubeconfig:\n{}",
            format_ca_cert_info(cert)
        ));
    }
    Ok(config)
}

/// Upstream `DiscoverValidatedKubeConfig`: file discovery (local or HTTPS) when configured, else
/// token discovery.
pub async fn discover_validated_kubeconfig(
    input: &DiscoveryInput,
    log: &dyn DiscoveryLog,
) -> Result<KubeConfig> {
    let t = &input.timeouts;
    if let Some(path) = &input.file {
        if is_https_url(path) {
            return retrieve_https_config(path, t, log).await;
        }
        return retrieve_file_config(path, t, log).await;
    }
    if let Some(td) = &input.token {
        return retrieve_token_config(td, t, log).await;
    }
    Err(DiscoveryError::NoConfiguration.into())
}

// ---------------------------------------------------------------------------------------------
// Token discovery

/// One way of reading the `data` of cluster-info (a live client, or a fake in tests).
trait ClusterInfoGetter {
    /// The ConfigMap's data; a failure is the text upstream would wrap.
    async fn get(&self) -> std::result::Result<BTreeMap<String, String>, Fetch>;
}

/// A failed read of cluster-info.
#[derive(Debug, Clone)]
struct Fetch {
    /// The server answered Forbidden.
    forbidden: bool,
    /// Go-style error text.
    message: String,
}

/// A kube client reading cluster-info, and the URL for error messages.
struct ApiGetter {
    client: Client,
    url: String,
}

impl ClusterInfoGetter for ApiGetter {
    async fn get(&self) -> std::result::Result<BTreeMap<String, String>, Fetch> {
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), KUBE_PUBLIC);
        match api.get(CLUSTER_INFO).await {
            Ok(cm) => Ok(cm.data.unwrap_or_default()),
            Err(e) => Err(Fetch { forbidden: is_forbidden(&e), message: request_error_text(&self.url, &e) }),
        }
    }
}

/// Go's text of a failed client-go request: the API status message, or `Get "<url>": <cause>`.
fn request_error_text(url: &str, e: &kube::Error) -> String {
    if let kube::Error::Api(s) = e {
        if !s.message.is_empty() {
            return s.message.clone();
        }
        return format!(
            "the server responded with the status code {} but did not return more information",
            s.code
        );
    }
    format!("Get {}: {}", go_quote(url), transport_error_text(e))
}

/// The causes of a transport error joined with `: ` (kube-rs' own `HyperError:` prefix dropped);
/// a rejected server certificate is reported as a TLS verification failure.
fn transport_error_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = match e.source() {
        Some(s) if e.downcast_ref::<kube::Error>().is_some() => Some(s),
        _ => Some(e),
    };
    while let Some(err) = cur {
        let text = err.to_string();
        if !parts.last().is_some_and(|p| p.ends_with(&text)) {
            parts.push(text);
        }
        cur = err.source();
    }
    // A rejected server certificate reads like Go's (`tls: failed to verify certificate: x509: ...`).
    if let Some(cert) = parts.iter().rev().find(|p| p.starts_with("invalid peer certificate")) {
        let reason = match cert.trim_start_matches("invalid peer certificate: ") {
            "UnknownIssuer" => "x509: certificate signed by unknown authority".to_string(),
            _ => cert.clone(),
        };
        return format!("tls: failed to verify certificate: {reason}");
    }
    parts.join(": ")
}

impl<F, Fut> ClusterInfoGetter for F
where
    F: Fn() -> Fut,
    Fut: Future<Output = std::result::Result<BTreeMap<String, String>, Fetch>>,
{
    async fn get(&self) -> std::result::Result<BTreeMap<String, String>, Fetch> {
        self().await
    }
}

/// An anonymous client for `https://<endpoint>`: trusting only `ca_pem`'s certificates, or (without)
/// not verifying the server at all (upstream `BuildInsecureBootstrapKubeConfig` /
/// `buildSecureBootstrapKubeConfig` + `ToClientSet`).
fn anonymous_client(endpoint: &str, ca_pem: Option<&[u8]>, request: Duration) -> Result<ApiGetter> {
    let server = format!("https://{endpoint}");
    let uri: http::Uri = server.parse().map_err(|e: http::uri::InvalidUri| {
        DiscoveryError::InvalidEndpoint { endpoint: endpoint.to_string(), reason: e.to_string() }
    })?;
    if uri.host().is_none_or(str::is_empty) || uri.path() != "/" || uri.query().is_some() {
        return Err(DiscoveryError::InvalidEndpoint {
            endpoint: endpoint.to_string(),
            reason: "expected host:port".to_string(),
        }
        .into());
    }
    let mut cfg = kube::Config::new(uri);
    match ca_pem {
        // An empty root store: the platform verifier is never needed, verification is off.
        None => {
            cfg.accept_invalid_certs = true;
            cfg.root_cert = Some(Vec::new());
        }
        Some(pem) => {
            let ders = kubeadm_pki::pem_decode_all(pem)
                .into_iter()
                .filter(|(tag, _)| tag == "CERTIFICATE")
                .map(|(_, der)| der)
                .collect();
            cfg.root_cert = Some(ders);
        }
    }
    set_request_options(&mut cfg, request);
    let client = Client::try_from(cfg)
        .map_err(|source| Error::ClientConfig { what: server.clone(), source: Box::new(source) })?;
    let url = format!("{server}/api/v1/namespaces/{KUBE_PUBLIC}/configmaps/{CLUSTER_INFO}");
    Ok(ApiGetter { client, url })
}

fn set_request_options(cfg: &mut kube::Config, request: Duration) {
    cfg.connect_timeout = Some(request);
    cfg.read_timeout = Some(request);
    cfg.write_timeout = Some(request);
    if let Ok(ua) = http::HeaderValue::from_str(&user_agent()) {
        cfg.headers.push((http::header::USER_AGENT, ua));
    }
}

/// Upstream `getClusterInfo`: read cluster-info until it has the token's signature.
async fn poll_cluster_info<G: ClusterInfoGetter>(
    getter: &G,
    token_id: &str,
    interval: Duration,
    timeout: Duration,
    log: &dyn DiscoveryLog,
) -> Result<BTreeMap<String, String>> {
    let key = format!("{JWS_SIGNATURE_KEY_PREFIX}{token_id}");
    let key = key.as_str();
    poll_until_timeout("read the cluster-info ConfigMap", interval, timeout, || async move {
        log.v1(&format!(
            "[discovery] Waiting for the cluster-info ConfigMap to receive a JWS signature for token ID {}",
            go_quote(token_id)
        ));
        let err = match getter.get().await {
            Ok(data) if data.contains_key(key) => return Attempt::Done(data),
            Ok(_) => DiscoveryError::MissingSignature(token_id.to_string()),
            Err(f) => DiscoveryError::ClusterInfoRequest(f.message),
        };
        log.v1(&format!("[discovery] Retrying due to error: {err}"));
        Attempt::Retry(err.into())
    })
    .await
}

/// Upstream `token.RetrieveValidatedConfigInfo`: the validated cluster-info kubeconfig.
pub async fn retrieve_token_config(
    td: &TokenDiscovery,
    timeouts: &DiscoveryTimeouts,
    log: &dyn DiscoveryLog,
) -> Result<KubeConfig> {
    let endpoint = td.api_server_endpoint.as_str();
    let request = timeouts.request;
    token_discovery_with(td, timeouts, log, |ca: Option<Vec<u8>>| {
        anonymous_client(endpoint, ca.as_deref(), request)
    })
    .await
}

/// Token discovery over `connect(None)` (insecure) and `connect(Some(ca))` (verified) clients.
async fn token_discovery_with<G, C>(
    td: &TokenDiscovery,
    timeouts: &DiscoveryTimeouts,
    log: &dyn DiscoveryLog,
    connect: C,
) -> Result<KubeConfig>
where
    G: ClusterInfoGetter,
    C: Fn(Option<Vec<u8>>) -> Result<G>,
{
    let interval = timeouts.retry_interval.min(timeouts.discovery);
    let timeout = timeouts.discovery;
    let endpoint = &td.api_server_endpoint;
    let token = BootstrapTokenString::parse(td.token.expose()).map_err(DiscoveryError::InvalidToken)?;

    log.v1(&format!(
        "[discovery] Created cluster-info discovery client, requesting info from {}",
        go_quote(endpoint)
    ));
    let insecure = connect(None)?;
    let data = poll_cluster_info(&insecure, &token.id, interval, timeout, log).await?;

    let mut pins = PinSet::new();
    pins.allow(&td.ca_cert_hashes).map_err(DiscoveryError::InvalidCaCertHash)?;
    let first = validate_insecure_cluster_info(&data, &token)?;

    if pins.is_empty() {
        log.v1(&format!(
            "[discovery] Cluster info signature and contents are valid and no TLS pinning was specified, will use API Server {}",
            go_quote(endpoint)
        ));
        return Ok(first.config);
    }
    let ca = validate_cluster_ca(&first.config, &pins)?;

    log.v1(&format!(
        "[discovery] Requesting info from {} again to validate TLS against the pinned public key",
        go_quote(endpoint)
    ));
    let secure = connect(Some(ca))?;
    let data = poll_cluster_info(&secure, &token.id, interval, timeout, log).await?;
    let config = validate_secure_cluster_info(&first.kubeconfig, &data)?;
    log.v1(&format!(
        "[discovery] Cluster info signature and contents are valid and TLS certificate validates against pinned roots, will use API Server {}",
        go_quote(endpoint)
    ));
    Ok(config)
}

// ---------------------------------------------------------------------------------------------
// File and HTTPS discovery

/// Go's `open <path>: <reason>`.
fn open_error(path: &str, e: &std::io::Error) -> String {
    format!("open {path}: {}", crate::joincmd::go_io_reason(e))
}

/// Upstream `file.RetrieveValidatedConfigInfo`: load the file, then [`validate_config_info`].
pub async fn retrieve_file_config(
    path: &str,
    timeouts: &DiscoveryTimeouts,
    log: &dyn DiscoveryLog,
) -> Result<KubeConfig> {
    let data = std::fs::read(path).map_err(|e| DiscoveryError::LoadFile(open_error(path, &e)))?;
    let config = KubeConfig::parse(&data).map_err(|e| {
        DiscoveryError::LoadFile(format!("error loading config file {}: {e}", go_quote(path)))
    })?;
    validate_config_info(config, timeouts, log).await
}

/// Upstream `https.RetrieveValidatedConfigInfo`: download the kubeconfig (server verified with the
/// system trust store), then [`validate_config_info`].
pub async fn retrieve_https_config(
    url: &str,
    timeouts: &DiscoveryTimeouts,
    log: &dyn DiscoveryLog,
) -> Result<KubeConfig> {
    let body = https_get(url, timeouts.request, None).await?;
    let config = KubeConfig::parse(&body).map_err(|e| DiscoveryError::LoadFile(e.to_string()))?;
    validate_config_info(config, timeouts, log).await
}

/// GET `url` trusting the system trust store (or only `roots`, for tests), requiring 200.
async fn https_get(url: &str, request: Duration, roots: Option<Vec<Vec<u8>>>) -> Result<Vec<u8>> {
    let get_err = |message: String| DiscoveryError::HttpsGet { url: url.to_string(), message };
    let uri: http::Uri = url.parse().map_err(|e: http::uri::InvalidUri| get_err(e.to_string()))?;
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return Err(get_err("invalid URL".to_string()).into());
    };
    let origin: http::Uri = format!("{scheme}://{authority}")
        .parse()
        .map_err(|e: http::uri::InvalidUri| get_err(e.to_string()))?;
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/").to_string();
    let mut cfg = kube::Config::new(origin);
    cfg.root_cert = roots;
    set_request_options(&mut cfg, request);
    let client = Client::try_from(cfg)
        .map_err(|source| Error::ClientConfig { what: url.to_string(), source: Box::new(source) })?;
    let req =
        http::Request::get(path).body(kube::client::Body::empty()).map_err(|e| get_err(e.to_string()))?;
    let resp = client.send(req).await.map_err(|e| get_err(transport_error_text(&e)))?;
    let status = resp.status().as_u16();
    if status != 200 {
        return Err(DiscoveryError::HttpsStatus { url: url.to_string(), status }.into());
    }
    let body = resp.into_body().collect_bytes().await.map_err(|e| get_err(transport_error_text(&e)))?;
    Ok(body.to_vec())
}

/// Upstream `file.ValidateConfigInfo`: check the discovery kubeconfig, embed the files it refers
/// to, connect to its API server with it and read cluster-info (Forbidden is accepted; other
/// errors are retried until the timeout); a readable cluster-info refreshes a missing CA.
pub async fn validate_config_info(
    mut config: KubeConfig,
    timeouts: &DiscoveryTimeouts,
    log: &dyn DiscoveryLog,
) -> Result<KubeConfig> {
    if config.clusters.is_empty() {
        return Err(DiscoveryError::NoClusters.into());
    }
    let cluster_name = cluster_of(&config).map_err(DiscoveryError::MalformedFile)?.0.to_string();
    validate_kubeconfig(&config)?;
    embed_referenced_files(&mut config, &cluster_name)?;
    let has_credentials = kc::has_authentication_credentials(&config);
    if has_credentials {
        log.v1("[discovery] Using authentication credentials from the discovery file for validating TLS connection");
    } else {
        log.v1(
            "[discovery] Discovery file does not contains authentication credentials, using unauthenticated request for validating TLS connection",
        );
    }
    let Some(cluster) = config.cluster(&cluster_name).cloned() else {
        return Err(DiscoveryError::MalformedFile(format!(
            "the current context is invalid: {}",
            config.current_context
        ))
        .into());
    };
    let getter = file_client(&cluster, config.current_user(), timeouts.request).await?;
    log.v1(&format!(
        "[discovery] Created cluster-info discovery client, requesting info from {}",
        go_quote(&cluster.server)
    ));
    refresh_from_cluster_info(config, &cluster_name, &getter, timeouts, log).await
}

/// The rest of `ValidateConfigInfo` once the client exists: poll cluster-info and refresh.
async fn refresh_from_cluster_info<G: ClusterInfoGetter>(
    mut config: KubeConfig,
    cluster_name: &str,
    getter: &G,
    timeouts: &DiscoveryTimeouts,
    log: &dyn DiscoveryLog,
) -> Result<KubeConfig> {
    let polled = poll_until_timeout(
        "read the cluster-info ConfigMap",
        timeouts.retry_interval,
        timeouts.discovery,
        || async move {
            match getter.get().await {
                Ok(data) => Attempt::Done(Some(data)),
                Err(f) if f.forbidden => {
                    log.warning(
                        "[discovery] Could not access the cluster-info ConfigMap for refreshing the cluster-info information, but the TLS cert is valid so proceeding...",
                    );
                    Attempt::Done(None)
                }
                Err(f) => {
                    log.v1(&format!(
                        "[discovery] Error reading the cluster-info ConfigMap, will try again: {}",
                        f.message
                    ));
                    Attempt::Retry(DiscoveryError::ClusterInfoRequest(f.message).into())
                }
            }
        },
    )
    .await;
    let data = match polled {
        Ok(Some(data)) => data,
        Ok(None) => return Ok(config),
        Err(e) => {
            let message = match e {
                Error::Discovery(DiscoveryError::ClusterInfoRequest(m)) => m,
                other => other.to_string(),
            };
            let timeout = kubeadm_api::Duration::from_std(timeouts.discovery).to_string();
            return Err(DiscoveryError::FileClusterInfoTimeout { timeout, message }.into());
        }
    };
    let refreshed = match parse_cluster_info_data(&data) {
        Ok(c) => c,
        Err(e) => {
            log.v1(&format!(
                "[discovery] The cluster-info ConfigMap isn't set up properly ({e}), but the TLS cert is valid so proceeding..."
            ));
            return Ok(config);
        }
    };
    let (_, refreshed_cluster) = cluster_of(&refreshed).map_err(DiscoveryError::MalformedClusterInfo)?;
    let Some(current) = config.clusters.iter_mut().rev().find(|c| c.name == cluster_name) else {
        return Ok(config);
    };
    if current.cluster.server != refreshed_cluster.server {
        log.warning(&format!(
            "[discovery] the API Server endpoint {} in use is different from the endpoint {} which defined in the cluster-info ConfigMap",
            go_quote(&current.cluster.server),
            go_quote(&refreshed_cluster.server)
        ));
    }
    let has_ca = current.cluster.certificate_authority_data.as_ref().is_some_and(|d| !d.is_empty());
    let refreshed_ca = refreshed_cluster.certificate_authority_data.as_ref().filter(|d| !d.is_empty());
    if let (false, Some(ca)) = (has_ca, refreshed_ca) {
        current.cluster.certificate_authority_data = Some(ca.clone());
        log.v1("[discovery] Synced CertificateAuthorityData from the cluster-info ConfigMap");
    }
    Ok(config)
}

/// `tryParseClusterInfoFromConfigMap`.
fn parse_cluster_info_data(data: &BTreeMap<String, String>) -> std::result::Result<KubeConfig, String> {
    let text = data
        .get(KUBECONFIG_KEY)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| "no kubeconfig key in ConfigMap".to_string())?;
    KubeConfig::parse(text.as_bytes())
        .map_err(|e| format!("couldn't parse the kubeconfig file in the cluster-info ConfigMap: {e}"))
}

/// A client for the discovery file's cluster and current user (client-go `ToClientSet` of the
/// file), via a one-context kubeconfig so kube-rs handles every credential kind.
async fn file_client(cluster: &Cluster, user: Option<&AuthInfo>, request: Duration) -> Result<ApiGetter> {
    const NAME: &str = "discovery";
    let normalized = KubeConfig {
        clusters: vec![NamedCluster { name: NAME.into(), cluster: cluster.clone() }],
        users: vec![NamedAuthInfo { name: NAME.into(), user: user.cloned().unwrap_or_default() }],
        contexts: vec![NamedContext {
            name: NAME.into(),
            context: kc::Context { cluster: NAME.into(), auth_info: NAME.into(), ..Default::default() },
        }],
        current_context: NAME.into(),
        ..Default::default()
    };
    let timeouts = crate::ApiTimeouts { request, ..Default::default() };
    let client =
        crate::client::client_from_kubeconfig(&normalized, "discovery kubeconfig", &timeouts).await?;
    let server = cluster.server.trim_end_matches('/');
    let url = format!("{server}/api/v1/namespaces/{KUBE_PUBLIC}/configmaps/{CLUSTER_INFO}");
    Ok(ApiGetter { client, url })
}

/// `EnsureCertificateAuthorityIsEmbedded` and (with credentials) `EnsureAuthenticationInfoAreEmbedded`.
fn embed_referenced_files(
    config: &mut KubeConfig,
    cluster_name: &str,
) -> std::result::Result<(), DiscoveryError> {
    let read = |path: &str, what: &'static str| {
        std::fs::read(path)
            .map_err(|e| DiscoveryError::ReadReferencedFile { what, message: open_error(path, &e) })
    };
    if let Some(nc) = config.clusters.iter_mut().rev().find(|c| c.name == cluster_name) {
        let c = &mut nc.cluster;
        if c.certificate_authority_data.as_ref().is_none_or(|d| d.is_empty())
            && !c.certificate_authority.is_empty()
        {
            c.certificate_authority_data =
                Some(read(&c.certificate_authority, "certificate authority file")?);
            c.certificate_authority.clear();
        }
    }
    if !kc::has_authentication_credentials(config) {
        return Ok(());
    }
    // has_authentication_credentials found the current user, so it exists.
    let user_name = config.context(&config.current_context).map(|c| c.auth_info.clone()).unwrap_or_default();
    let Some(nu) = config.users.iter_mut().rev().find(|u| u.name == user_name) else { return Ok(()) };
    let a = &mut nu.user;
    let empty = |d: &Option<Vec<u8>>| d.as_ref().is_none_or(|d| d.is_empty());
    if empty(&a.client_certificate_data) && !a.client_certificate.is_empty() {
        a.client_certificate_data = Some(read(&a.client_certificate, "client cert file")?);
        a.client_certificate.clear();
    }
    if empty(&a.client_key_data) && !a.client_key.is_empty() {
        a.client_key_data = Some(read(&a.client_key, "client key file")?);
        a.client_key.clear();
    }
    if a.token.is_empty() && !a.token_file.is_empty() {
        let bytes = read(&a.token_file, "token file")?;
        // Go: string(tokenBytes), no trimming.
        a.token = String::from_utf8_lossy(&bytes).into_owned();
        a.token_file.clear();
    }
    Ok(())
}

/// client-go `clientcmd.Validate` (the checks that apply to a loaded kubeconfig), in a stable
/// order: current context, contexts, users, clusters (each by name).
fn validate_kubeconfig(config: &KubeConfig) -> std::result::Result<(), DiscoveryError> {
    let mut errs = Vec::new();
    let names = |it: &mut dyn Iterator<Item = &String>| -> std::collections::BTreeSet<String> {
        it.cloned().collect()
    };
    let contexts = names(&mut config.contexts.iter().map(|c| &c.name));
    let users = names(&mut config.users.iter().map(|c| &c.name));
    let clusters = names(&mut config.clusters.iter().map(|c| &c.name));
    if !config.current_context.is_empty() && !contexts.contains(&config.current_context) {
        errs.push(format!("context was not found for specified context: {}", config.current_context));
    }
    for name in &contexts {
        let Some(ctx) = config.context(name) else { continue };
        if name.is_empty() {
            errs.push(format!(
                "empty context name for api.Context{{LocationOfOrigin:\"\", Cluster:{}, AuthInfo:{}, Namespace:{}, Extensions:map[string]runtime.Object(nil)}} is not allowed",
                go_quote(&ctx.cluster),
                go_quote(&ctx.auth_info),
                go_quote(&ctx.namespace)
            ));
        }
        if ctx.auth_info.is_empty() {
            errs.push(format!("user was not specified for context {}", go_quote(name)));
        } else if !users.contains(&ctx.auth_info) {
            errs.push(format!(
                "user {} was not found for context {}",
                go_quote(&ctx.auth_info),
                go_quote(name)
            ));
        }
        if ctx.cluster.is_empty() {
            errs.push(format!("cluster was not specified for context {}", go_quote(name)));
        } else if !clusters.contains(&ctx.cluster) {
            errs.push(format!(
                "cluster {} was not found for context {}",
                go_quote(&ctx.cluster),
                go_quote(name)
            ));
        }
        if !ctx.namespace.is_empty() && !is_dns1123_label(&ctx.namespace) {
            errs.push(format!(
                "namespace {} for context {} does not conform to the kubernetes DNS_LABEL rules",
                go_quote(&ctx.namespace),
                go_quote(name)
            ));
        }
    }
    for name in &users {
        if let Some(a) = config.user(name) {
            validate_auth_info(name, a, &mut errs);
        }
    }
    for name in &clusters {
        if let Some(c) = config.cluster(name) {
            validate_cluster(name, c, &mut errs);
        }
    }
    if errs.is_empty() { Ok(()) } else { Err(DiscoveryError::InvalidConfiguration(errs)) }
}

fn is_dns1123_label(s: &str) -> bool {
    let b = s.as_bytes();
    let ok = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    s.len() <= 63
        && b.first().is_some_and(ok)
        && b.last().is_some_and(ok)
        && b.iter().all(|c| ok(c) || *c == b'-')
}

fn validate_cluster(name: &str, c: &Cluster, errs: &mut Vec<String>) {
    if c.server.is_empty() {
        if name.is_empty() {
            errs.push("default cluster has no server defined".to_string());
        } else {
            errs.push(format!("no server found for cluster {}", go_quote(name)));
        }
    }
    if !c.proxy_url.is_empty() {
        let scheme = c.proxy_url.split_once("://").map(|(s, _)| s.to_ascii_lowercase()).unwrap_or_default();
        if !matches!(scheme.as_str(), "http" | "https" | "socks5") {
            errs.push(format!(
                "invalid 'proxy-url' {} for cluster {}: unsupported scheme {}, must be http, https, or socks5",
                go_quote(&c.proxy_url),
                go_quote(name),
                go_quote(&scheme)
            ));
        }
    }
    let has_data = c.certificate_authority_data.as_ref().is_some_and(|d| !d.is_empty());
    if !c.certificate_authority.is_empty() && has_data {
        errs.push(format!(
            "certificate-authority-data and certificate-authority are both specified for {name}. certificate-authority-data will override."
        ));
    }
    if !c.certificate_authority.is_empty()
        && let Err(e) = std::fs::File::open(&c.certificate_authority)
    {
        errs.push(format!(
            "unable to read certificate-authority {} for {name} due to {}",
            c.certificate_authority,
            open_error(&c.certificate_authority, &e)
        ));
    }
}

fn validate_auth_info(name: &str, a: &AuthInfo, errs: &mut Vec<String>) {
    let s = |k: &str| a.other.get(k).and_then(|v| v.as_str()).unwrap_or("");
    let has = |k: &str| {
        a.other.get(k).is_some_and(|v| match v {
            serde_json::Value::Null => false,
            serde_json::Value::String(s) => !s.is_empty(),
            serde_json::Value::Array(x) => !x.is_empty(),
            serde_json::Value::Object(x) => !x.is_empty(),
            _ => true,
        })
    };
    let mut methods = Vec::new();
    if !a.token.is_empty() {
        methods.push("token");
    }
    if !s("username").is_empty() || !s("password").is_empty() {
        methods.push("basicAuth");
    }
    let empty = |d: &Option<Vec<u8>>| d.as_ref().is_none_or(|d| d.is_empty());
    if !a.client_certificate.is_empty() || !empty(&a.client_certificate_data) {
        if !a.client_certificate.is_empty() && !empty(&a.client_certificate_data) {
            errs.push(format!(
                "client-cert-data and client-cert are both specified for {name}. client-cert-data will override."
            ));
        }
        if !a.client_key.is_empty() && !empty(&a.client_key_data) {
            errs.push(format!(
                "client-key-data and client-key are both specified for {name}; client-key-data will override"
            ));
        }
        if a.client_key.is_empty() && empty(&a.client_key_data) {
            errs.push(format!(
                "client-key-data or client-key must be specified for {name} to use the clientCert authentication method."
            ));
        }
        for (path, what) in [(&a.client_certificate, "client-cert"), (&a.client_key, "client-key")] {
            if !path.is_empty()
                && let Err(e) = std::fs::File::open(path)
            {
                errs.push(format!("unable to read {what} {path} for {name} due to {}", open_error(path, &e)));
            }
        }
    }
    if let Some(exec) = a.other.get("exec").filter(|v| !v.is_null()) {
        if has("auth-provider") {
            errs.push(format!(
                "authProvider cannot be provided in combination with an exec plugin for {name}"
            ));
        }
        let field = |k: &str| exec.get(k).and_then(|v| v.as_str()).unwrap_or("");
        if field("command").is_empty() {
            errs.push(format!("command must be specified for {name} to use exec authentication plugin"));
        }
        let api_version = field("apiVersion");
        if api_version.is_empty() {
            errs.push(format!("apiVersion must be specified for {name} to use exec authentication plugin"));
        }
        for v in exec.get("env").and_then(|e| e.as_array()).into_iter().flatten() {
            if v.get("name").and_then(|n| n.as_str()).unwrap_or("").is_empty() {
                errs.push(format!(
                    "env variable name must be specified for {name} to use exec authentication plugin"
                ));
            }
        }
        let mut mode = field("interactiveMode");
        // v1 defaulting: the beta/alpha APIs default to IfAvailable, v1 requires a value.
        if mode.is_empty()
            && matches!(
                api_version,
                "client.authentication.k8s.io/v1beta1" | "client.authentication.k8s.io/v1alpha1"
            )
        {
            mode = "IfAvailable";
        }
        match mode {
            "" => errs.push(format!(
                "interactiveMode must be specified for {name} to use exec authentication plugin"
            )),
            "Never" | "IfAvailable" | "Always" => {}
            other => errs.push(format!("invalid interactiveMode for {name}: {}", go_quote(other))),
        }
    }
    if methods.len() > 1 {
        errs.push(format!(
            "more than one authentication method found for {name}; found [{}], only one is allowed",
            methods.join(" ")
        ));
    }
    if (has("as-uid") || has("as-groups") || has("as-user-extra")) && !has("as") {
        errs.push(format!("requesting uid, groups or user-extra for {name} without impersonating a user"));
    }
}

// ---------------------------------------------------------------------------------------------
// CA certificate information (`-v1`)

/// Upstream `formatCACertInfo` (approximated: subject/issuer show CN and O; the algorithms are
/// derived from the CA's own key, which is what a self-signed kubeadm CA uses).
pub fn format_ca_cert_info(cert: &Certificate) -> String {
    let go_time = |t: time::OffsetDateTime| {
        let fmt =
            time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] +0000 UTC");
        // Only fixed-width numeric components: formatting cannot fail.
        t.to_offset(time::UtcOffset::UTC).format(fmt).unwrap_or_default()
    };
    let mut subject = format!("CN={}", cert.common_name());
    if !cert.organization().is_empty() {
        let o: Vec<String> = cert.organization().iter().map(|o| format!("O={o}")).collect();
        subject.push(',');
        subject.push_str(&o.join("+"));
    }
    let (sig, pk) = match cert.public_key() {
        Some(kubeadm_pki::PublicKey::Rsa { .. }) => ("SHA256-RSA", "RSA"),
        Some(kubeadm_pki::PublicKey::Ec { curve: kubeadm_pki::keys::Curve::P384, .. }) => {
            ("ECDSA-SHA384", "ECDSA")
        }
        Some(kubeadm_pki::PublicKey::Ec { .. }) => ("ECDSA-SHA256", "ECDSA"),
        None => ("0", "0"),
    };
    format!(
        "CA Certificate:\n\tSubject: {subject}\n\tIssuer: CN={}\n\tSerialNumber: {}\n\tNotBefore: {}\n\tNotAfter: {}\n\tSignatureAlgorithm: {sig}\n\tPublicKeyAlgorithm: {pk}\n\tHash: {}",
        cert.issuer_common_name(),
        decimal(cert.serial()),
        go_time(cert.not_before()),
        go_time(cert.not_after()),
        cert.public_key_pin()
    )
}

/// A big-endian unsigned integer in decimal (`big.Int` `%v`).
fn decimal(be: &[u8]) -> String {
    let mut n: Vec<u8> = be.iter().copied().skip_while(|b| *b == 0).collect();
    if n.is_empty() {
        return "0".to_string();
    }
    let mut digits = Vec::new();
    while !n.is_empty() {
        let mut rem = 0u32;
        for b in n.iter_mut() {
            let cur = (rem << 8) | u32::from(*b);
            *b = (cur / 10) as u8;
            rem = cur % 10;
        }
        digits.push(b'0' + rem as u8);
        let zeros = n.iter().take_while(|b| **b == 0).count();
        n.drain(..zeros);
    }
    digits.reverse();
    String::from_utf8_lossy(&digits).into_owned()
}

#[cfg(test)]
#[path = "discovery_tests.rs"]
mod tests;
