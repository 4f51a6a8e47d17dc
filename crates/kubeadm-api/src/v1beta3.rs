//! `kubeadm.k8s.io/v1beta3` configuration types (read only) and their conversion to
//! [`crate::v1beta4`].
//!
//! Upstream kubeadm v1.37 removed v1beta3 and asks users to migrate with kubeadm v1.36;
//! kubeadm-rs goes further and still reads v1beta3 InitConfiguration, ClusterConfiguration and
//! JoinConfiguration documents, converting them the way kubeadm v1.36 did
//! (`apis/kubeadm/v1beta3/{types,defaults,conversion}.go` and `v1beta4/conversion.go`, i.e. the
//! v1beta3 -> internal -> v1beta4 path). The loader ([`crate::load`]) then applies the v1beta4
//! static defaults, exactly as for a v1beta4 document, and warns with [`deprecation_warning`].
//!
//! The structs mirror the Go types one to one (serde renames equal to the Go json tags) and reject
//! unknown fields (`deny_unknown_fields`), so v1beta4-only fields (`encryptionAlgorithm`,
//! `certificateValidityPeriod`, `caCertificateValidityPeriod`, `extraEnvs`, `dns.disabled`, `proxy`,
//! `dryRun`, `timeouts`, `imagePullSerial`, `etcd.external.httpEndpoints`) and fields removed before
//! v1beta3 (`dns.type`, `useHyperKubeImage`) are reported as unknown fields with their path.
//! Types whose wire form is identical in both versions (bootstrap tokens, taints, API endpoints,
//! networking, host-path mounts, patches, token/file discovery, `controlPlane`) are reused from
//! [`crate::v1beta4`].
//!
//! Conversion differences handled here:
//! * `extraArgs` / `kubeletExtraArgs` are maps in v1beta3 and become `{name, value}` lists sorted
//!   by name (`convertToArgs`);
//! * `apiServer.timeoutForControlPlane` (v1beta3 default 4m) moves to
//!   `InitConfiguration.timeouts.controlPlaneComponentHealthCheck`
//!   ([`ClusterConfiguration::timeout_for_control_plane`], [`apply_timeout_for_control_plane`]);
//! * JoinConfiguration `discovery.timeout` (v1beta3 default 5m) moves to `timeouts.discovery`;
//! * `etcd.external.httpEndpoints` is set to `etcd.external.endpoints`;
//! * `nodeRegistration.imagePullSerial` becomes `true`; the encryption algorithm and certificate
//!   validity periods get their defaults; Init/Join `timeouts` are defaulted.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

use crate::constants;
use crate::defaults;
use crate::serde_util::null_default;
use crate::v1beta4::{
    self, ApiEndpoint, Arg, BootstrapToken, BootstrapTokenDiscovery, Duration, EncryptionAlgorithmType,
    FileDiscovery, HostPathMount, JoinControlPlane, Networking, Patches, SecretString, Taint,
};

/// `apiVersion` of this package.
pub const API_VERSION: &str = "kubeadm.k8s.io/v1beta3";

/// The kinds v1beta3 defines.
pub const KINDS: [&str; 3] = [
    constants::INIT_CONFIGURATION_KIND,
    constants::CLUSTER_CONFIGURATION_KIND,
    constants::JOIN_CONFIGURATION_KIND,
];

/// The warning printed for every v1beta3 document that was read and converted.
pub fn deprecation_warning(kind: &str) -> String {
    format!(
        "{API_VERSION} (kind: {kind:?}) is deprecated and was removed from upstream kubeadm v1.37; kubeadm-rs converted it to {}: run \"kubeadm-rs config migrate --old-config old-config-file --new-config new-config-file\" to update the file",
        v1beta4::API_VERSION
    )
}

/// Deserializes a `map[string]string`: `null` is an empty map and a `null` value is `""`, like Go.
fn string_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    let m: Option<BTreeMap<String, Option<String>>> = Option::deserialize(d)?;
    Ok(m.unwrap_or_default().into_iter().map(|(k, v)| (k, v.unwrap_or_default())).collect())
}

/// `convertToArgs`: a map of flags to a list of [`Arg`] sorted by name (then value). A `BTreeMap`
/// iterates in byte order of the keys, which is Go's string order.
pub fn convert_to_args(m: &BTreeMap<String, String>) -> Vec<Arg> {
    m.iter().map(|(k, v)| Arg::new(k.clone(), v.clone())).collect()
}

// ---------------------------------------------------------------------------------------------
// InitConfiguration

/// v1beta3 `kind: InitConfiguration`.
#[derive(Clone, Debug, PartialEq, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct InitConfiguration {
    /// TypeMeta `apiVersion`.
    #[serde(deserialize_with = "null_default")]
    pub api_version: String,
    /// TypeMeta `kind`.
    #[serde(deserialize_with = "null_default")]
    pub kind: String,
    /// Bootstrap tokens to create (bootstraptoken/v1, same as v1beta4).
    #[serde(deserialize_with = "null_default")]
    pub bootstrap_tokens: Vec<BootstrapToken>,
    /// Node registration settings.
    #[serde(deserialize_with = "null_default")]
    pub node_registration: NodeRegistrationOptions,
    /// API server endpoint of this control-plane node.
    #[serde(rename = "localAPIEndpoint", deserialize_with = "null_default")]
    pub local_api_endpoint: ApiEndpoint,
    /// Key to encrypt certificates in the kubeadm-certs Secret. Secret.
    #[serde(deserialize_with = "null_default")]
    pub certificate_key: SecretString,
    /// Phases to skip.
    #[serde(deserialize_with = "null_default")]
    pub skip_phases: Vec<String>,
    /// Patches for components.
    pub patches: Option<Patches>,
}

impl InitConfiguration {
    /// Converts to v1beta4 (`Convert_v1beta3_InitConfiguration_To_kubeadm_InitConfiguration` +
    /// internal -> v1beta4): timeouts get their defaults; `timeouts.controlPlaneComponentHealthCheck`
    /// comes from the ClusterConfiguration, see [`apply_timeout_for_control_plane`].
    pub fn into_v1beta4(self) -> v1beta4::InitConfiguration {
        v1beta4::InitConfiguration {
            api_version: v1beta4::API_VERSION.to_string(),
            kind: constants::INIT_CONFIGURATION_KIND.to_string(),
            bootstrap_tokens: self.bootstrap_tokens,
            dry_run: false,
            node_registration: self.node_registration.into_v1beta4(),
            local_api_endpoint: self.local_api_endpoint,
            certificate_key: self.certificate_key,
            skip_phases: self.skip_phases,
            patches: self.patches,
            timeouts: Some(defaults::default_timeouts()),
        }
    }
}

impl From<InitConfiguration> for v1beta4::InitConfiguration {
    fn from(c: InitConfiguration) -> Self {
        c.into_v1beta4()
    }
}

// ---------------------------------------------------------------------------------------------
// ClusterConfiguration

/// v1beta3 `kind: ClusterConfiguration`.
#[derive(Clone, Debug, PartialEq, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterConfiguration {
    /// TypeMeta `apiVersion`.
    #[serde(deserialize_with = "null_default")]
    pub api_version: String,
    /// TypeMeta `kind`.
    #[serde(deserialize_with = "null_default")]
    pub kind: String,
    /// etcd settings.
    #[serde(deserialize_with = "null_default")]
    pub etcd: Etcd,
    /// Networking settings (same as v1beta4).
    #[serde(deserialize_with = "null_default")]
    pub networking: Networking,
    /// Target Kubernetes version.
    #[serde(deserialize_with = "null_default")]
    pub kubernetes_version: String,
    /// Stable IP or DNS name of the control plane.
    #[serde(deserialize_with = "null_default")]
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
    /// CoreDNS image settings.
    #[serde(deserialize_with = "null_default")]
    pub dns: Dns,
    /// Where certificates are stored.
    #[serde(deserialize_with = "null_default")]
    pub certificates_dir: String,
    /// Container registry for control-plane images.
    #[serde(deserialize_with = "null_default")]
    pub image_repository: String,
    /// kubeadm feature gates.
    #[serde(deserialize_with = "null_default")]
    pub feature_gates: BTreeMap<String, bool>,
    /// Cluster name.
    #[serde(deserialize_with = "null_default")]
    pub cluster_name: String,
}

impl ClusterConfiguration {
    /// `apiServer.timeoutForControlPlane` after v1beta3 defaulting (`SetDefaults_APIServer`: 4m).
    pub fn timeout_for_control_plane(&self) -> Duration {
        self.api_server
            .timeout_for_control_plane
            .unwrap_or(constants::CONTROL_PLANE_COMPONENT_HEALTH_CHECK_TIMEOUT)
    }

    /// Converts to v1beta4 (`Convert_v1beta3_ClusterConfiguration_To_kubeadm_ClusterConfiguration`).
    /// `apiServer.timeoutForControlPlane` has no place in a v1beta4 ClusterConfiguration; read it
    /// with [`Self::timeout_for_control_plane`] first.
    pub fn into_v1beta4(self) -> v1beta4::ClusterConfiguration {
        v1beta4::ClusterConfiguration {
            api_version: v1beta4::API_VERSION.to_string(),
            kind: constants::CLUSTER_CONFIGURATION_KIND.to_string(),
            etcd: self.etcd.into_v1beta4(),
            networking: self.networking,
            kubernetes_version: self.kubernetes_version,
            control_plane_endpoint: self.control_plane_endpoint,
            api_server: self.api_server.into_v1beta4(),
            controller_manager: self.controller_manager.into_v1beta4(),
            scheduler: self.scheduler.into_v1beta4(),
            dns: v1beta4::Dns {
                image_meta: v1beta4::ImageMeta {
                    image_repository: self.dns.image_repository,
                    image_tag: self.dns.image_tag,
                },
                disabled: false,
            },
            proxy: v1beta4::Proxy::default(),
            certificates_dir: self.certificates_dir,
            image_repository: self.image_repository,
            feature_gates: self.feature_gates,
            cluster_name: self.cluster_name,
            encryption_algorithm: Some(EncryptionAlgorithmType::Rsa2048),
            certificate_validity_period: Some(constants::CERTIFICATE_VALIDITY_PERIOD),
            ca_certificate_validity_period: Some(constants::CA_CERTIFICATE_VALIDITY_PERIOD),
        }
    }
}

impl From<ClusterConfiguration> for v1beta4::ClusterConfiguration {
    fn from(c: ClusterConfiguration) -> Self {
        c.into_v1beta4()
    }
}

/// Moves a v1beta3 `apiServer.timeoutForControlPlane` into a v1beta4 InitConfiguration, like
/// upstream's `documentMapToInitConfiguration` workaround: only a value other than zero and the 4m
/// default replaces `timeouts.controlPlaneComponentHealthCheck`.
pub fn apply_timeout_for_control_plane(init: &mut v1beta4::InitConfiguration, timeout: Duration) {
    if timeout != Duration::ZERO && timeout != constants::CONTROL_PLANE_COMPONENT_HEALTH_CHECK_TIMEOUT {
        init.timeouts.get_or_insert_with(Default::default).control_plane_component_health_check =
            Some(timeout);
    }
}

/// Settings common to control-plane components (v1beta3: `extraArgs` is a map).
#[derive(Clone, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct ControlPlaneComponent {
    /// Extra command-line flags.
    #[serde(deserialize_with = "string_map")]
    pub extra_args: BTreeMap<String, String>,
    /// Extra host-path volumes.
    #[serde(deserialize_with = "null_default")]
    pub extra_volumes: Vec<HostPathMount>,
}

impl ControlPlaneComponent {
    /// Converts to v1beta4 (args sorted by name, no extra envs).
    pub fn into_v1beta4(self) -> v1beta4::ControlPlaneComponent {
        v1beta4::ControlPlaneComponent {
            extra_args: convert_to_args(&self.extra_args),
            extra_volumes: self.extra_volumes,
            extra_envs: Vec::new(),
        }
    }
}

/// kube-apiserver settings. Go inlines `ControlPlaneComponent`; here the fields are flat (serde's
/// `flatten` cannot be combined with `deny_unknown_fields`).
#[derive(Clone, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct ApiServer {
    /// Extra command-line flags (inlined `ControlPlaneComponent`).
    #[serde(deserialize_with = "string_map")]
    pub extra_args: BTreeMap<String, String>,
    /// Extra host-path volumes (inlined `ControlPlaneComponent`).
    #[serde(deserialize_with = "null_default")]
    pub extra_volumes: Vec<HostPathMount>,
    /// Extra SANs for the API server certificate.
    #[serde(rename = "certSANs", deserialize_with = "null_default")]
    pub cert_sans: Vec<String>,
    /// Wait for the control plane (moved to `InitConfiguration.timeouts` in v1beta4).
    pub timeout_for_control_plane: Option<Duration>,
}

impl ApiServer {
    /// Converts to v1beta4 (the timeout is dropped, see [`ClusterConfiguration::timeout_for_control_plane`]).
    pub fn into_v1beta4(self) -> v1beta4::ApiServer {
        v1beta4::ApiServer {
            control_plane_component: ControlPlaneComponent {
                extra_args: self.extra_args,
                extra_volumes: self.extra_volumes,
            }
            .into_v1beta4(),
            cert_sans: self.cert_sans,
        }
    }
}

/// CoreDNS settings (Go inlines `ImageMeta`; v1beta3 has no `type` and no `disabled`).
#[derive(Clone, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Dns {
    /// Image repository override.
    #[serde(deserialize_with = "null_default")]
    pub image_repository: String,
    /// Image tag override.
    #[serde(deserialize_with = "null_default")]
    pub image_tag: String,
}

/// etcd settings.
#[derive(Clone, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Etcd {
    /// Local (stacked) etcd.
    pub local: Option<LocalEtcd>,
    /// External etcd.
    pub external: Option<ExternalEtcd>,
}

impl Etcd {
    /// Converts to v1beta4.
    pub fn into_v1beta4(self) -> v1beta4::Etcd {
        v1beta4::Etcd {
            local: self.local.map(LocalEtcd::into_v1beta4),
            external: self.external.map(ExternalEtcd::into_v1beta4),
        }
    }
}

/// Local etcd settings (Go inlines `ImageMeta`; `extraArgs` is a map).
#[derive(Clone, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct LocalEtcd {
    /// Image repository override.
    #[serde(deserialize_with = "null_default")]
    pub image_repository: String,
    /// Image tag override.
    #[serde(deserialize_with = "null_default")]
    pub image_tag: String,
    /// Data directory.
    #[serde(deserialize_with = "null_default")]
    pub data_dir: String,
    /// Extra etcd flags.
    #[serde(deserialize_with = "string_map")]
    pub extra_args: BTreeMap<String, String>,
    /// Extra SANs for the etcd server certificate.
    #[serde(rename = "serverCertSANs", deserialize_with = "null_default")]
    pub server_cert_sans: Vec<String>,
    /// Extra SANs for the etcd peer certificate.
    #[serde(rename = "peerCertSANs", deserialize_with = "null_default")]
    pub peer_cert_sans: Vec<String>,
}

impl LocalEtcd {
    /// Converts to v1beta4 (args sorted by name).
    pub fn into_v1beta4(self) -> v1beta4::LocalEtcd {
        v1beta4::LocalEtcd {
            image_meta: v1beta4::ImageMeta {
                image_repository: self.image_repository,
                image_tag: self.image_tag,
            },
            data_dir: self.data_dir,
            extra_args: convert_to_args(&self.extra_args),
            extra_envs: Vec::new(),
            server_cert_sans: self.server_cert_sans,
            peer_cert_sans: self.peer_cert_sans,
        }
    }
}

/// External etcd settings (v1beta3 has no `httpEndpoints`).
#[derive(Clone, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct ExternalEtcd {
    /// etcd client URLs.
    #[serde(deserialize_with = "null_default")]
    pub endpoints: Vec<String>,
    /// CA file.
    #[serde(rename = "caFile", deserialize_with = "null_default")]
    pub ca_file: String,
    /// Client certificate file.
    #[serde(deserialize_with = "null_default")]
    pub cert_file: String,
    /// Client key file.
    #[serde(deserialize_with = "null_default")]
    pub key_file: String,
}

impl ExternalEtcd {
    /// Converts to v1beta4; `httpEndpoints` = `endpoints` (`Convert_v1beta3_ExternalEtcd_To_kubeadm_ExternalEtcd`).
    pub fn into_v1beta4(self) -> v1beta4::ExternalEtcd {
        v1beta4::ExternalEtcd {
            http_endpoints: self.endpoints.clone(),
            endpoints: self.endpoints,
            ca_file: self.ca_file,
            cert_file: self.cert_file,
            key_file: self.key_file,
        }
    }
}

/// Node registration settings (`kubeletExtraArgs` is a map; no `imagePullSerial`).
#[derive(Clone, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct NodeRegistrationOptions {
    /// Node name.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// CRI socket URL.
    #[serde(rename = "criSocket", deserialize_with = "null_default")]
    pub cri_socket: String,
    /// Taints; `None` (absent or `null`) means the default, `Some([])` none.
    pub taints: Option<Vec<Taint>>,
    /// Extra kubelet flags.
    #[serde(deserialize_with = "string_map")]
    pub kubelet_extra_args: BTreeMap<String, String>,
    /// Preflight errors to ignore.
    #[serde(deserialize_with = "null_default")]
    pub ignore_preflight_errors: Vec<String>,
    /// Image pull policy.
    #[serde(deserialize_with = "null_default")]
    pub image_pull_policy: String,
}

impl NodeRegistrationOptions {
    /// Converts to v1beta4: args sorted by name, `imagePullSerial: true`.
    pub fn into_v1beta4(self) -> v1beta4::NodeRegistrationOptions {
        v1beta4::NodeRegistrationOptions {
            name: self.name,
            cri_socket: self.cri_socket,
            taints: self.taints,
            kubelet_extra_args: convert_to_args(&self.kubelet_extra_args),
            ignore_preflight_errors: self.ignore_preflight_errors,
            image_pull_policy: self.image_pull_policy,
            image_pull_serial: Some(true),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// JoinConfiguration

/// v1beta3 `kind: JoinConfiguration`.
#[derive(Clone, Debug, PartialEq, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct JoinConfiguration {
    /// TypeMeta `apiVersion`.
    #[serde(deserialize_with = "null_default")]
    pub api_version: String,
    /// TypeMeta `kind`.
    #[serde(deserialize_with = "null_default")]
    pub kind: String,
    /// Node registration settings.
    #[serde(deserialize_with = "null_default")]
    pub node_registration: NodeRegistrationOptions,
    /// Path of the cluster CA on this node.
    #[serde(rename = "caCertPath", deserialize_with = "null_default")]
    pub ca_cert_path: String,
    /// Discovery settings.
    #[serde(deserialize_with = "null_default")]
    pub discovery: Discovery,
    /// Set to join as a control-plane node (same as v1beta4).
    pub control_plane: Option<JoinControlPlane>,
    /// Phases to skip.
    #[serde(deserialize_with = "null_default")]
    pub skip_phases: Vec<String>,
    /// Patches for components.
    pub patches: Option<Patches>,
}

impl JoinConfiguration {
    /// Converts to v1beta4 (`Convert_v1beta3_JoinConfiguration_To_kubeadm_JoinConfiguration`):
    /// timeouts get their defaults and `timeouts.discovery` = `discovery.timeout` (v1beta3 default 5m).
    pub fn into_v1beta4(self) -> v1beta4::JoinConfiguration {
        let mut timeouts = defaults::default_timeouts();
        timeouts.discovery = Some(self.discovery.timeout.unwrap_or(constants::DISCOVERY_TIMEOUT));
        v1beta4::JoinConfiguration {
            api_version: v1beta4::API_VERSION.to_string(),
            kind: constants::JOIN_CONFIGURATION_KIND.to_string(),
            dry_run: false,
            node_registration: self.node_registration.into_v1beta4(),
            ca_cert_path: self.ca_cert_path,
            discovery: v1beta4::Discovery {
                bootstrap_token: self.discovery.bootstrap_token,
                file: self.discovery.file,
                tls_bootstrap_token: self.discovery.tls_bootstrap_token,
            },
            control_plane: self.control_plane,
            skip_phases: self.skip_phases,
            patches: self.patches,
            timeouts: Some(timeouts),
        }
    }
}

impl From<JoinConfiguration> for v1beta4::JoinConfiguration {
    fn from(c: JoinConfiguration) -> Self {
        c.into_v1beta4()
    }
}

/// Discovery settings (v1beta3 has `timeout` here).
#[derive(Clone, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Discovery {
    /// Token-based discovery (same as v1beta4).
    pub bootstrap_token: Option<BootstrapTokenDiscovery>,
    /// File/URL-based discovery (same as v1beta4).
    pub file: Option<FileDiscovery>,
    /// Token for the TLS bootstrap. Secret.
    #[serde(rename = "tlsBootstrapToken", deserialize_with = "null_default")]
    pub tls_bootstrap_token: SecretString,
    /// Discovery timeout (moved to `JoinConfiguration.timeouts.discovery` in v1beta4).
    pub timeout: Option<Duration>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn args_sorted_and_null_values() {
        let c: ControlPlaneComponent =
            serde_yaml::from_str("extraArgs:\n  v: \"2\"\n  b: x\n  a:\n").unwrap();
        let v = c.into_v1beta4();
        assert_eq!(v.extra_args, vec![Arg::new("a", ""), Arg::new("b", "x"), Arg::new("v", "2")]);
        let c: ControlPlaneComponent = serde_yaml::from_str("extraArgs: null\n").unwrap();
        assert!(c.into_v1beta4().extra_args.is_empty());
    }

    #[test]
    fn cluster_conversion() {
        let y = "etcd:\n  external:\n    endpoints: [https://e:2379]\n    caFile: /ca\n    certFile: /c\n    keyFile: /k\ndns:\n  imageTag: v1\napiServer:\n  timeoutForControlPlane: 10m\n  certSANs: [a]\n";
        let c: ClusterConfiguration = serde_yaml::from_str(y).unwrap();
        assert_eq!(c.timeout_for_control_plane(), Duration::from_mins(10));
        let v = c.into_v1beta4();
        let x = v.etcd.external.unwrap();
        assert_eq!(x.http_endpoints, vec!["https://e:2379"]);
        assert_eq!(v.dns.image_meta.image_tag, "v1");
        assert_eq!(v.api_server.cert_sans, vec!["a"]);
        assert_eq!(v.encryption_algorithm, Some(EncryptionAlgorithmType::Rsa2048));
        assert_eq!(ClusterConfiguration::default().timeout_for_control_plane(), Duration::from_mins(4));
    }

    #[test]
    fn v1beta4_only_fields_are_unknown() {
        for (y, field) in [
            ("encryptionAlgorithm: RSA-2048\n", "encryptionAlgorithm"),
            ("proxy:\n  disabled: true\n", "proxy"),
            ("dns:\n  type: CoreDNS\n", "type"),
            ("apiServer:\n  extraEnvs: []\n", "extraEnvs"),
            ("etcd:\n  external:\n    httpEndpoints: []\n", "httpEndpoints"),
        ] {
            let e = serde_yaml::from_str::<ClusterConfiguration>(y).unwrap_err().to_string();
            assert!(e.contains(&format!("unknown field `{field}`")), "{e}");
        }
        let e = serde_yaml::from_str::<InitConfiguration>("timeouts: {}\n").unwrap_err().to_string();
        assert!(e.contains("unknown field `timeouts`"), "{e}");
        let e = serde_yaml::from_str::<JoinConfiguration>("nodeRegistration:\n  imagePullSerial: true\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `imagePullSerial`"), "{e}");
    }

    #[test]
    fn secrets_not_in_debug() {
        let j: JoinConfiguration = serde_yaml::from_str(
            "discovery:\n  bootstrapToken:\n    token: abcdef.0123456789abcdef\n  tlsBootstrapToken: abcdef.0123456789abcdef\ncontrolPlane:\n  certificateKey: deadbeefcafe\n",
        )
        .unwrap();
        let d = format!("{j:?} {:?}", j.clone().into_v1beta4());
        assert!(!d.contains("0123456789abcdef") && !d.contains("deadbeefcafe"), "{d}");
    }
}
