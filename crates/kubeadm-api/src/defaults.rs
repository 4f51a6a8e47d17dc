//! Upstream's defaulting: the static defaults of `v1beta4/defaults.go` and
//! `bootstraptoken/v1/defaults.go`, and the dynamic defaults of `util/config/*configuration.go`
//! (`SetInitDynamicDefaults`, `SetJoinDynamicDefaults`, `SetResetDynamicDefaults`).
//!
//! This crate does no I/O: facts about the host (hostname, default-route address, detected CRI
//! socket) come in through [`HostFacts`], and random bootstrap tokens through a generator closure.
//! Dynamic-default functions return the warnings upstream would log (as plain strings) so the
//! caller can print them.

use std::net::IpAddr;

use crate::constants;
use crate::duration::Duration;
use crate::net::{join_host_port, parse_host_port, parse_ip_sloppy};
use crate::v1beta4::{
    ApiEndpoint, BootstrapToken, BootstrapTokenString, ClusterConfiguration, Discovery,
    EncryptionAlgorithmType, EnvVar, InitConfiguration, JoinConfiguration, LocalEtcd,
    NodeRegistrationOptions, ResetConfiguration, Timeouts, UpgradeConfiguration,
};

/// Warnings produced by dynamic defaulting (upstream logs them with klog).
pub type Warnings = Vec<String>;

/// Errors of dynamic defaulting. Messages follow upstream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DefaultsError {
    /// The node name is empty after trimming (`nodeutil.GetHostname`).
    #[error("empty hostname is invalid")]
    EmptyHostname,
    /// `advertiseAddress` is not an IP.
    #[error("couldn't use \"{0}\" as \"apiserver-advertise-address\", must be ipv4 or ipv6 address")]
    InvalidAdvertiseAddress(String),
    /// Loopback advertise address but no usable address on the loopback interface.
    #[error("unable to resolve link-local addresses")]
    NoLoopbackAddress,
    /// `kubernetesVersion` is not a version or a known label.
    #[error(
        "version {0:?} doesn't match patterns for neither semantic version nor labels (stable, latest, ...)"
    )]
    UnknownVersion(String),
    /// `kubernetesVersion` does not have a valid bucket prefix.
    #[error("invalid version {0:?}")]
    InvalidVersion(String),
    /// The version could not be parsed as semver.
    #[error("couldn't parse Kubernetes version {0:?}")]
    UnparsableVersion(String),
    /// The version is older than the minimum control-plane version.
    #[error(
        "this version of kubeadm only supports deploying clusters with the control plane version >= {min}. Current version: {current}"
    )]
    VersionTooOld {
        /// Minimum supported version.
        min: String,
        /// Requested version.
        current: String,
    },
    /// `controlPlaneEndpoint` is invalid.
    #[error("{0}")]
    ControlPlaneEndpoint(String),
}

/// Facts about the host that dynamic defaulting needs; gathered by the caller (host crate).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HostFacts {
    /// `os.Hostname()`; used when `nodeRegistration.name` is empty.
    pub hostname: String,
    /// Address of the interface with the default route (`ChooseHostInterface`); `None` when there
    /// is no default route (upstream then warns and uses `0.0.0.0`).
    pub default_address: Option<IpAddr>,
    /// A global-unicast address found on the loopback interface, used when the advertise address
    /// is a loopback address.
    pub loopback_address: Option<IpAddr>,
    /// The detected CRI socket (`DetectCRISocket`); `None` means "use the default"
    /// (`unix:///var/run/containerd/containerd.sock`), as with skipped detection.
    pub cri_socket: Option<String>,
}

// ----- static defaults -----

/// `SetDefaults_Timeouts`.
pub fn set_defaults_timeouts(t: &mut Timeouts) {
    t.control_plane_component_health_check
        .get_or_insert(constants::CONTROL_PLANE_COMPONENT_HEALTH_CHECK_TIMEOUT);
    t.kubelet_health_check.get_or_insert(constants::KUBELET_HEALTH_CHECK_TIMEOUT);
    t.kubernetes_api_call.get_or_insert(constants::KUBERNETES_API_CALL_TIMEOUT);
    t.etcd_api_call.get_or_insert(constants::ETCD_API_CALL_TIMEOUT);
    t.tls_bootstrap.get_or_insert(constants::TLS_BOOTSTRAP_TIMEOUT);
    t.discovery.get_or_insert(constants::DISCOVERY_TIMEOUT);
    t.upgrade_manifests.get_or_insert(constants::UPGRADE_MANIFESTS_TIMEOUT);
}

/// A fully defaulted [`Timeouts`].
pub fn default_timeouts() -> Timeouts {
    let mut t = Timeouts::default();
    set_defaults_timeouts(&mut t);
    t
}

/// `SetDefaults_BootstrapToken`: ttl 24h, usages signing+authentication, the default node group.
pub fn set_defaults_bootstrap_token(bt: &mut BootstrapToken) {
    if bt.ttl.is_none() {
        bt.ttl = Some(constants::DEFAULT_TOKEN_DURATION);
    }
    if bt.usages.is_empty() {
        bt.usages = constants::DEFAULT_TOKEN_USAGES.iter().map(|s| s.to_string()).collect();
    }
    if bt.groups.is_empty() {
        bt.groups = vec![constants::NODE_BOOTSTRAP_TOKEN_AUTH_GROUP.to_string()];
    }
}

/// `SetDefaults_APIEndpoint`: bindPort 6443.
pub fn set_defaults_api_endpoint(ep: &mut ApiEndpoint) {
    if ep.bind_port == 0 {
        ep.bind_port = constants::KUBE_API_SERVER_PORT;
    }
}

/// `SetDefaults_NodeRegistration`: imagePullPolicy IfNotPresent, imagePullSerial true.
pub fn set_defaults_node_registration(n: &mut NodeRegistrationOptions) {
    if n.image_pull_policy.is_empty() {
        n.image_pull_policy = constants::DEFAULT_IMAGE_PULL_POLICY.to_string();
    }
    n.image_pull_serial.get_or_insert(true);
}

/// `SetDefaults_EnvVar`: `valueFrom.fieldRef.apiVersion` defaults to `v1`.
pub fn set_defaults_env_var(e: &mut EnvVar) {
    if let Some(serde_json::Value::Object(vf)) = &mut e.value_from
        && let Some(serde_json::Value::Object(fr)) = vf.get_mut("fieldRef")
    {
        let empty = fr.get("apiVersion").and_then(|v| v.as_str()).is_none_or(str::is_empty);
        if empty {
            fr.insert("apiVersion".into(), serde_json::Value::String("v1".into()));
        }
    }
}

/// `SetDefaults_InitConfiguration`: one default bootstrap token (without a token value), the
/// API endpoint port, node registration and timeouts.
pub fn set_defaults_init_configuration(c: &mut InitConfiguration) {
    if c.bootstrap_tokens.is_empty() {
        c.bootstrap_tokens.push(BootstrapToken::default());
    }
    c.bootstrap_tokens.iter_mut().for_each(set_defaults_bootstrap_token);
    set_defaults_api_endpoint(&mut c.local_api_endpoint);
    set_defaults_node_registration(&mut c.node_registration);
    set_defaults_timeouts(c.timeouts.get_or_insert_with(Timeouts::default));
}

/// `SetDefaults_ClusterConfiguration` (+ `SetDefaults_Etcd` and env var defaults).
pub fn set_defaults_cluster_configuration(c: &mut ClusterConfiguration) {
    fn def(s: &mut String, v: &str) {
        if s.is_empty() {
            *s = v.to_string();
        }
    }
    def(&mut c.kubernetes_version, constants::DEFAULT_KUBERNETES_VERSION_LABEL);
    def(&mut c.networking.service_subnet, constants::DEFAULT_SERVICES_SUBNET);
    def(&mut c.networking.dns_domain, constants::DEFAULT_SERVICE_DNS_DOMAIN);
    def(&mut c.certificates_dir, constants::DEFAULT_CERTIFICATES_DIR);
    def(&mut c.image_repository, constants::DEFAULT_IMAGE_REPOSITORY);
    def(&mut c.cluster_name, constants::DEFAULT_CLUSTER_NAME);
    if c.encryption_algorithm.as_ref().is_none_or(|a| a.as_str().is_empty()) {
        c.encryption_algorithm = Some(EncryptionAlgorithmType::Rsa2048);
    }
    c.certificate_validity_period.get_or_insert(constants::CERTIFICATE_VALIDITY_PERIOD);
    c.ca_certificate_validity_period.get_or_insert(constants::CA_CERTIFICATE_VALIDITY_PERIOD);
    if c.etcd.external.is_none() && c.etcd.local.is_none() {
        c.etcd.local = Some(LocalEtcd::default());
    }
    if let Some(l) = &mut c.etcd.local {
        def(&mut l.data_dir, constants::DEFAULT_ETCD_DATA_DIR);
        l.extra_envs.iter_mut().for_each(set_defaults_env_var);
    }
    if let Some(x) = &mut c.etcd.external
        && x.http_endpoints.is_empty()
        && !x.endpoints.is_empty()
    {
        x.http_endpoints = x.endpoints.clone();
    }
    for comp in [&mut c.api_server.control_plane_component, &mut c.controller_manager, &mut c.scheduler] {
        comp.extra_envs.iter_mut().for_each(set_defaults_env_var);
    }
}

/// `SetDefaults_Discovery` (+ `SetDefaults_FileDiscovery`): the TLS bootstrap token defaults to the
/// discovery token; `file://` URLs become paths.
pub fn set_defaults_discovery(d: &mut Discovery) {
    if d.tls_bootstrap_token.is_empty()
        && let Some(b) = &d.bootstrap_token
    {
        d.tls_bootstrap_token = b.token.clone();
    }
    if let Some(f) = &mut d.file
        && let Some(rest) = f.kube_config_path.strip_prefix("file://")
    {
        // Go's url.Parse("file:///a/b").Path == "/a/b"; "file://host/a" has Path "/a".
        let path = match rest.find('/') {
            Some(i) => rest[i..].to_string(),
            None => String::new(),
        };
        f.kube_config_path = path;
    }
}

/// `SetDefaults_JoinConfiguration`.
pub fn set_defaults_join_configuration(c: &mut JoinConfiguration) {
    if c.ca_cert_path.is_empty() {
        c.ca_cert_path = constants::DEFAULT_CA_CERT_PATH.to_string();
    }
    if let Some(cp) = &mut c.control_plane {
        set_defaults_api_endpoint(&mut cp.local_api_endpoint);
    }
    set_defaults_discovery(&mut c.discovery);
    set_defaults_node_registration(&mut c.node_registration);
    set_defaults_timeouts(c.timeouts.get_or_insert_with(Timeouts::default));
}

/// `SetDefaults_ResetConfiguration`.
pub fn set_defaults_reset_configuration(c: &mut ResetConfiguration) {
    if c.certificates_dir.is_empty() {
        c.certificates_dir = constants::DEFAULT_CERTIFICATES_DIR.to_string();
    }
    set_defaults_timeouts(c.timeouts.get_or_insert_with(Timeouts::default));
}

/// `SetDefaults_UpgradeConfiguration`.
pub fn set_defaults_upgrade_configuration(c: &mut UpgradeConfiguration) {
    c.node.etcd_upgrade.get_or_insert(true);
    c.node.certificate_renewal.get_or_insert(true);
    if c.node.image_pull_policy.is_empty() {
        c.node.image_pull_policy = constants::DEFAULT_IMAGE_PULL_POLICY.to_string();
    }
    c.node.image_pull_serial.get_or_insert(true);
    c.apply.etcd_upgrade.get_or_insert(true);
    c.apply.certificate_renewal.get_or_insert(true);
    if c.apply.image_pull_policy.is_empty() {
        c.apply.image_pull_policy = constants::DEFAULT_IMAGE_PULL_POLICY.to_string();
    }
    c.apply.image_pull_serial.get_or_insert(true);
    c.plan.etcd_upgrade.get_or_insert(true);
    set_defaults_timeouts(c.timeouts.get_or_insert_with(Timeouts::default));
}

// ----- Kubernetes version -----

fn is_release_version(v: &str) -> bool {
    // ^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)([-\w.+]*)?$
    let s = v.strip_prefix('v').unwrap_or(v);
    let mut rest = s;
    for i in 0..3 {
        let end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let num = &rest[..end];
        if num.is_empty() || (num.len() > 1 && num.starts_with('0')) {
            return false;
        }
        rest = &rest[end..];
        if i < 2 {
            match rest.strip_prefix('.') {
                Some(r) => rest = r,
                None => return false,
            }
        }
    }
    rest.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+'))
}

fn is_release_label(v: &str) -> bool {
    // ^((latest|stable)+(-[1-9](\.[1-9](\d)?)?)?)\z
    let mut rest = v;
    let mut words = 0;
    while let Some(r) = rest.strip_prefix("latest").or_else(|| rest.strip_prefix("stable")) {
        rest = r;
        words += 1;
    }
    if words == 0 {
        return false;
    }
    if rest.is_empty() {
        return true;
    }
    let Some(r) = rest.strip_prefix('-') else { return false };
    let b = r.as_bytes();
    match b.len() {
        1 => (b'1'..=b'9').contains(&b[0]),
        3 | 4 => {
            (b'1'..=b'9').contains(&b[0])
                && b[1] == b'.'
                && (b'1'..=b'9').contains(&b[2])
                && (b.len() == 3 || b[3].is_ascii_digit())
        }
        _ => false,
    }
}

/// Resolves `kubernetesVersion` like `KubernetesReleaseVersion`, but offline: exact versions are
/// normalized with a `v` prefix; labels (`stable`, `stable-1`, `latest`, `stable-1.37`,
/// `release/stable`, `ci/latest`, ...) resolve to our own version [`constants::KUBERNETES_VERSION`],
/// which is what upstream does in an air-gapped environment (it falls back to the client version when
/// dl.k8s.io cannot be reached). kubeadm-rs never fetches version markers from the network.
pub fn resolve_kubernetes_version(version: &str) -> Result<String, DefaultsError> {
    if is_release_version(version) {
        return Ok(if version.starts_with('v') { version.to_string() } else { format!("v{version}") });
    }
    // ^((release|ci)/)?([-\w.+]+)$
    let label = version.strip_prefix("release/").or_else(|| version.strip_prefix("ci/")).unwrap_or(version);
    if label.is_empty()
        || !label.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+'))
    {
        return Err(DefaultsError::InvalidVersion(version.to_string()));
    }
    if is_release_version(label) {
        return Ok(if label.starts_with('v') { label.to_string() } else { format!("v{label}") });
    }
    if is_release_label(label) {
        return Ok(constants::KUBERNETES_VERSION.to_string());
    }
    Err(DefaultsError::UnknownVersion(version.to_string()))
}

/// Parses `vMAJOR.MINOR.PATCH[-pre][+build]` into numbers (pre-release/build ignored).
pub fn parse_semver(v: &str) -> Option<(u64, u64, u64)> {
    let s = v.strip_prefix('v').unwrap_or(v);
    let core = s.split(['-', '+']).next()?;
    let mut it = core.split('.');
    let a = it.next()?.parse().ok()?;
    let b = it.next()?.parse().ok()?;
    let c = it.next()?.parse().ok()?;
    if it.next().is_some() {
        return None;
    }
    Some((a, b, c))
}

/// `NormalizeKubernetesVersion`: resolves labels offline and checks the minimum control-plane
/// version (v1.36.0). CI image repository handling is not supported.
pub fn normalize_kubernetes_version(c: &mut ClusterConfiguration) -> Result<(), DefaultsError> {
    let v = resolve_kubernetes_version(&c.kubernetes_version)?;
    let parsed = parse_semver(&v).ok_or_else(|| DefaultsError::UnparsableVersion(v.clone()))?;
    c.kubernetes_version = v;
    let min = parse_semver(constants::MINIMUM_CONTROL_PLANE_VERSION).unwrap_or((1, 36, 0));
    if parsed < min {
        return Err(DefaultsError::VersionTooOld {
            min: constants::MINIMUM_CONTROL_PLANE_VERSION.to_string(),
            current: c.kubernetes_version.clone(),
        });
    }
    Ok(())
}

// ----- dynamic defaults -----

/// `SetBootstrapTokensDynamicDefaults`: tokens without a value get one from `generate` (the caller
/// passes a random generator; this crate has no randomness).
pub fn set_bootstrap_tokens_dynamic_defaults(
    tokens: &mut [BootstrapToken],
    generate: &mut dyn FnMut() -> BootstrapTokenString,
) {
    for bt in tokens {
        if bt.token.as_ref().is_none_or(|t| t.expose().is_empty()) {
            bt.token = Some(generate());
        }
    }
}

/// `SetNodeRegistrationDynamicDefaults`: node name from the hostname (trimmed, lowercased), the
/// control-plane taint when `control_plane_taint` and taints are unset, the CRI socket (detected or
/// default; a socket without `unix` scheme is prefixed with a warning).
pub fn set_node_registration_dynamic_defaults(
    n: &mut NodeRegistrationOptions,
    control_plane_taint: bool,
    facts: &HostFacts,
) -> Result<Warnings, DefaultsError> {
    let mut warnings = Vec::new();
    let name = if n.name.is_empty() { facts.hostname.as_str() } else { n.name.as_str() };
    let name = name.trim();
    if name.is_empty() {
        return Err(DefaultsError::EmptyHostname);
    }
    n.name = name.to_lowercase();
    if control_plane_taint && n.taints.is_none() {
        n.taints = Some(vec![constants::control_plane_taint()]);
    }
    n.cri_socket = default_cri_socket(&n.cri_socket, facts, &mut warnings);
    Ok(warnings)
}

fn default_cri_socket(current: &str, facts: &HostFacts, warnings: &mut Warnings) -> String {
    if current.is_empty() {
        return facts.cri_socket.clone().unwrap_or_else(|| constants::DEFAULT_CRI_SOCKET.to_string());
    }
    if !current.starts_with(constants::DEFAULT_CONTAINER_RUNTIME_URL_SCHEME) {
        warnings.push(format!(
            "Usage of CRI endpoints without URL scheme is deprecated and can cause kubelet errors in the future. Automatically prepending scheme \"{}\" to the \"criSocket\" with value \"{current}\". Please update your configuration!",
            constants::DEFAULT_CONTAINER_RUNTIME_URL_SCHEME
        ));
        return format!("{}://{current}", constants::DEFAULT_CONTAINER_RUNTIME_URL_SCHEME);
    }
    current.to_string()
}

/// Go's `net.IP.String()`: IPv4-mapped IPv6 addresses print as IPv4.
fn go_ip_string(ip: IpAddr) -> String {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => v6.to_string(),
        },
        IpAddr::V4(v4) => v4.to_string(),
    }
}

/// `SetAPIEndpointDynamicDefaults`: resolves an empty/unspecified advertise address to the
/// default-route address (or `0.0.0.0` with a warning), a loopback one to the loopback interface's
/// global address.
pub fn set_api_endpoint_dynamic_defaults(
    ep: &mut ApiEndpoint,
    facts: &HostFacts,
) -> Result<Warnings, DefaultsError> {
    let mut warnings = Vec::new();
    let ip = parse_ip_sloppy(&ep.advertise_address);
    if ip.is_none() && !ep.advertise_address.is_empty() {
        return Err(DefaultsError::InvalidAdvertiseAddress(ep.advertise_address.clone()));
    }
    if let Some(ip) = ip
        && ip.is_loopback()
    {
        let lo = facts.loopback_address.ok_or(DefaultsError::NoLoopbackAddress)?;
        ep.advertise_address = go_ip_string(lo);
        return Ok(warnings);
    }
    let chosen = match ip {
        Some(ip) if !ip.is_unspecified() => ip,
        _ => match facts.default_address {
            Some(a) => a,
            None => {
                warnings.push(format!(
                    "WARNING: could not obtain a bind address for the API Server: no default routes found in \"/proc/net/route\" or \"/proc/net/ipv6_route\"; using: {}",
                    constants::DEFAULT_API_SERVER_BIND_ADDRESS
                ));
                IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)
            }
        },
    };
    ep.advertise_address = go_ip_string(chosen);
    Ok(warnings)
}

/// `SetClusterDynamicDefaults` (without component configs): resolves the version, adds the bind port
/// to a `controlPlaneEndpoint` without port, lowercases API server cert SANs.
pub fn set_cluster_dynamic_defaults(
    c: &mut ClusterConfiguration,
    local_api_endpoint: &ApiEndpoint,
) -> Result<Warnings, DefaultsError> {
    let mut warnings = Vec::new();
    normalize_kubernetes_version(c)?;
    if !c.control_plane_endpoint.is_empty() {
        let (host, port) = parse_host_port(&c.control_plane_endpoint)
            .map_err(|e| DefaultsError::ControlPlaneEndpoint(e.to_string()))?;
        if port.is_empty() {
            c.control_plane_endpoint = join_host_port(&host, local_api_endpoint.bind_port);
        }
    }
    for san in &mut c.api_server.cert_sans {
        let lower = san.to_lowercase();
        if lower != *san {
            warnings.push(format!("lowercasing SAN {san:?} to {lower:?}"));
            *san = lower;
        }
    }
    Ok(warnings)
}

/// `SetInitDynamicDefaults`: tokens, node registration (with control-plane taint), API endpoint and
/// cluster dynamic defaults. Static defaults must have been applied first.
pub fn set_init_dynamic_defaults(
    init: &mut InitConfiguration,
    cluster: &mut ClusterConfiguration,
    facts: &HostFacts,
    generate_token: &mut dyn FnMut() -> BootstrapTokenString,
) -> Result<Warnings, DefaultsError> {
    set_bootstrap_tokens_dynamic_defaults(&mut init.bootstrap_tokens, generate_token);
    let mut w = set_node_registration_dynamic_defaults(&mut init.node_registration, true, facts)?;
    w.extend(set_api_endpoint_dynamic_defaults(&mut init.local_api_endpoint, facts)?);
    w.extend(set_cluster_dynamic_defaults(cluster, &init.local_api_endpoint)?);
    Ok(w)
}

/// `SetJoinDynamicDefaults`: node registration (taint only for control-plane joins) and the
/// control-plane API endpoint.
pub fn set_join_dynamic_defaults(
    c: &mut JoinConfiguration,
    facts: &HostFacts,
) -> Result<Warnings, DefaultsError> {
    let cp = c.control_plane.is_some();
    let mut w = set_node_registration_dynamic_defaults(&mut c.node_registration, cp, facts)?;
    if let Some(cp) = &mut c.control_plane {
        w.extend(set_api_endpoint_dynamic_defaults(&mut cp.local_api_endpoint, facts)?);
    }
    Ok(w)
}

/// `SetResetDynamicDefaults`: the CRI socket.
pub fn set_reset_dynamic_defaults(c: &mut ResetConfiguration, facts: &HostFacts) -> Warnings {
    let mut w = Vec::new();
    c.cri_socket = default_cri_socket(&c.cri_socket, facts, &mut w);
    w
}

/// Default validity periods as Go strings, for convenience: `8760h0m0s`, `87600h0m0s`.
pub fn default_validity_periods() -> (Duration, Duration) {
    (constants::CERTIFICATE_VALIDITY_PERIOD, constants::CA_CERTIFICATE_VALIDITY_PERIOD)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::v1beta4::*;

    fn facts() -> HostFacts {
        HostFacts {
            hostname: " MyHost ".into(),
            default_address: Some("192.168.1.10".parse().unwrap()),
            loopback_address: None,
            cri_socket: None,
        }
    }

    #[test]
    fn static_init_defaults() {
        let mut i = InitConfiguration::default();
        set_defaults_init_configuration(&mut i);
        assert_eq!(i.bootstrap_tokens.len(), 1);
        let bt = &i.bootstrap_tokens[0];
        assert_eq!(bt.ttl, Some(Duration::from_hours(24)));
        assert_eq!(bt.usages, vec!["signing", "authentication"]);
        assert_eq!(bt.groups, vec!["system:bootstrappers:kubeadm:default-node-token"]);
        assert!(bt.token.is_none());
        assert_eq!(i.local_api_endpoint.bind_port, 6443);
        assert_eq!(i.node_registration.image_pull_policy, "IfNotPresent");
        assert_eq!(i.node_registration.image_pull_serial, Some(true));
        let t = i.timeouts.unwrap();
        assert_eq!(t.control_plane_component_health_check.unwrap().to_string(), "4m0s");
        assert_eq!(t.kubernetes_api_call.unwrap().to_string(), "1m0s");
        assert_eq!(t.etcd_api_call.unwrap().to_string(), "2m0s");
        assert_eq!(t.discovery.unwrap().to_string(), "5m0s");
    }

    #[test]
    fn static_cluster_defaults() {
        let mut c = ClusterConfiguration::default();
        set_defaults_cluster_configuration(&mut c);
        assert_eq!(c.kubernetes_version, "stable-1");
        assert_eq!(c.networking.service_subnet, "10.96.0.0/12");
        assert_eq!(c.networking.dns_domain, "cluster.local");
        assert_eq!(c.certificates_dir, "/etc/kubernetes/pki");
        assert_eq!(c.image_repository, "registry.k8s.io");
        assert_eq!(c.cluster_name, "kubernetes");
        assert_eq!(c.encryption_algorithm, Some(EncryptionAlgorithmType::Rsa2048));
        assert_eq!(c.etcd.local.as_ref().unwrap().data_dir, "/var/lib/etcd");
        assert_eq!(c.certificate_validity_period.unwrap().to_string(), "8760h0m0s");

        let mut c = ClusterConfiguration::default();
        c.etcd.external =
            Some(ExternalEtcd { endpoints: vec!["https://e:2379".into()], ..Default::default() });
        set_defaults_cluster_configuration(&mut c);
        assert!(c.etcd.local.is_none());
        assert_eq!(c.etcd.external.unwrap().http_endpoints, vec!["https://e:2379"]);
    }

    #[test]
    fn join_defaults() {
        let mut j = JoinConfiguration::default();
        j.discovery.bootstrap_token =
            Some(BootstrapTokenDiscovery { token: "abcdef.0123456789abcdef".into(), ..Default::default() });
        j.control_plane = Some(JoinControlPlane::default());
        set_defaults_join_configuration(&mut j);
        assert_eq!(j.ca_cert_path, "/etc/kubernetes/pki/ca.crt");
        assert_eq!(j.discovery.tls_bootstrap_token.expose(), "abcdef.0123456789abcdef");
        assert_eq!(j.control_plane.as_ref().unwrap().local_api_endpoint.bind_port, 6443);
        let w = set_join_dynamic_defaults(&mut j, &facts()).unwrap();
        assert!(w.is_empty());
        assert_eq!(j.node_registration.name, "myhost");
        assert_eq!(
            j.node_registration.taints.as_ref().unwrap()[0].key,
            "node-role.kubernetes.io/control-plane"
        );
        assert_eq!(j.control_plane.unwrap().local_api_endpoint.advertise_address, "192.168.1.10");

        let mut d = Discovery {
            file: Some(FileDiscovery { kube_config_path: "file:///etc/k.conf".into() }),
            ..Default::default()
        };
        set_defaults_discovery(&mut d);
        assert_eq!(d.file.unwrap().kube_config_path, "/etc/k.conf");

        let mut worker = JoinConfiguration::default();
        set_defaults_join_configuration(&mut worker);
        set_join_dynamic_defaults(&mut worker, &facts()).unwrap();
        assert!(worker.node_registration.taints.is_none());
    }

    #[test]
    fn init_dynamic_defaults() {
        let mut i = InitConfiguration::default();
        let mut c = ClusterConfiguration::default();
        set_defaults_init_configuration(&mut i);
        set_defaults_cluster_configuration(&mut c);
        c.control_plane_endpoint = "LB.example.com".into();
        c.control_plane_endpoint = "lb.example.com".into();
        c.api_server.cert_sans = vec!["Foo.Example.com".into()];
        i.node_registration.cri_socket = "/run/crio/crio.sock".into();
        let mut gen_token = || BootstrapTokenString::parse("abcdef.0123456789abcdef").unwrap();
        let w = set_init_dynamic_defaults(&mut i, &mut c, &facts(), &mut gen_token).unwrap();
        assert_eq!(w.len(), 2, "{w:?}");
        assert_eq!(i.bootstrap_tokens[0].token.as_ref().unwrap().id, "abcdef");
        assert_eq!(i.node_registration.cri_socket, "unix:///run/crio/crio.sock");
        assert_eq!(i.node_registration.taints, Some(vec![constants::control_plane_taint()]));
        assert_eq!(i.local_api_endpoint.advertise_address, "192.168.1.10");
        assert_eq!(c.kubernetes_version, "v1.37.2");
        assert_eq!(c.control_plane_endpoint, "lb.example.com:6443");
        assert_eq!(c.api_server.cert_sans, vec!["foo.example.com"]);
        let e = crate::validation::validate_init_configuration(&i, &c);
        assert!(e.is_empty(), "{e}");
    }

    #[test]
    fn api_endpoint_cases() {
        let mut f = facts();
        let mut ep = ApiEndpoint { advertise_address: "10.1.1.1".into(), bind_port: 6443 };
        set_api_endpoint_dynamic_defaults(&mut ep, &f).unwrap();
        assert_eq!(ep.advertise_address, "10.1.1.1");
        ep.advertise_address = "nope".into();
        assert!(set_api_endpoint_dynamic_defaults(&mut ep, &f).is_err());
        ep.advertise_address = "127.0.0.1".into();
        assert_eq!(set_api_endpoint_dynamic_defaults(&mut ep, &f), Err(DefaultsError::NoLoopbackAddress));
        f.loopback_address = Some("10.9.9.9".parse().unwrap());
        set_api_endpoint_dynamic_defaults(&mut ep, &f).unwrap();
        assert_eq!(ep.advertise_address, "10.9.9.9");
        f.default_address = None;
        ep.advertise_address = String::new();
        let w = set_api_endpoint_dynamic_defaults(&mut ep, &f).unwrap();
        assert_eq!(ep.advertise_address, "0.0.0.0");
        assert_eq!(w.len(), 1);
    }

    #[test]
    fn versions() {
        for l in ["stable", "stable-1", "latest", "stable-1.37", "latest-1.3", "release/stable", "ci/latest"]
        {
            assert_eq!(resolve_kubernetes_version(l).unwrap(), "v1.37.2", "{l}");
        }
        assert_eq!(resolve_kubernetes_version("1.36.1").unwrap(), "v1.36.1");
        assert_eq!(resolve_kubernetes_version("v1.37.0-rc.1").unwrap(), "v1.37.0-rc.1");
        assert!(matches!(resolve_kubernetes_version("foo"), Err(DefaultsError::UnknownVersion(_))));
        assert!(matches!(resolve_kubernetes_version("stable-0"), Err(DefaultsError::UnknownVersion(_))));
        assert!(matches!(resolve_kubernetes_version("a b"), Err(DefaultsError::InvalidVersion(_))));
        let mut c = ClusterConfiguration { kubernetes_version: "v1.35.0".into(), ..Default::default() };
        assert_eq!(
            normalize_kubernetes_version(&mut c).unwrap_err().to_string(),
            "this version of kubeadm only supports deploying clusters with the control plane version >= v1.36.0. Current version: v1.35.0"
        );
    }

    #[test]
    fn reset_and_upgrade() {
        let mut r = ResetConfiguration::default();
        set_defaults_reset_configuration(&mut r);
        assert!(set_reset_dynamic_defaults(&mut r, &facts()).is_empty());
        assert_eq!(r.cri_socket, constants::DEFAULT_CRI_SOCKET);
        assert_eq!(r.certificates_dir, "/etc/kubernetes/pki");
        let mut u = UpgradeConfiguration::default();
        set_defaults_upgrade_configuration(&mut u);
        assert_eq!(u.apply.etcd_upgrade, Some(true));
        assert_eq!(u.node.image_pull_policy, "IfNotPresent");
        assert_eq!(u.plan.etcd_upgrade, Some(true));
        assert!(u.plan.dry_run.is_none());
    }

    #[test]
    fn env_var_field_ref() {
        let mut e = EnvVar {
            name: "N".into(),
            value_from: Some(serde_json::json!({"fieldRef": {"fieldPath": "x"}})),
            ..Default::default()
        };
        set_defaults_env_var(&mut e);
        assert_eq!(e.value_from.unwrap()["fieldRef"]["apiVersion"], "v1");
    }
}
