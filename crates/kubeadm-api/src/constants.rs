//! Constants of kubeadm v1.37.2 (`cmd/kubeadm/app/constants`, `apis/kubeadm/v1beta4/defaults*.go`,
//! `apis/bootstraptoken/v1`, `cluster-bootstrap`).
//!
//! Paths are Linux paths. Durations use [`Duration`] (Go nanoseconds).

use crate::duration::Duration;

// ----- version -----

/// The Kubernetes version this kubeadm-rs build corresponds to (kubeadm's own version).
pub const KUBERNETES_VERSION: &str = "v1.37.2";
/// Major version of [`KUBERNETES_VERSION`].
pub const KUBERNETES_VERSION_MAJOR: u32 = 1;
/// Minor version of [`KUBERNETES_VERSION`].
pub const KUBERNETES_VERSION_MINOR: u32 = 37;
/// Patch version of [`KUBERNETES_VERSION`].
pub const KUBERNETES_VERSION_PATCH: u32 = 2;
/// `CurrentKubernetesVersion`: `v<major>.<minor>.0` of kubeadm.
pub const CURRENT_KUBERNETES_VERSION: &str = "v1.37.0";
/// `MinimumControlPlaneVersion`: kubeadm minor - 1.
pub const MINIMUM_CONTROL_PLANE_VERSION: &str = "v1.36.0";
/// `MinimumKubeletVersion`: kubeadm minor - 3.
pub const MINIMUM_KUBELET_VERSION: &str = "v1.34.0";
/// Default `kubernetesVersion` before label resolution (`DefaultKubernetesVersion`).
pub const DEFAULT_KUBERNETES_VERSION_LABEL: &str = "stable-1";
/// Prefix of CI versions (`ci/latest`).
pub const CI_KUBERNETES_VERSION_PREFIX: &str = "ci/";

// ----- directories and files -----

/// `/etc/kubernetes`.
pub const KUBERNETES_DIR: &str = "/etc/kubernetes";
/// Name of the static Pod manifests subdirectory.
pub const MANIFESTS_SUB_DIR_NAME: &str = "manifests";
/// `/etc/kubernetes/manifests` (`DefaultManifestsDir`).
pub const MANIFESTS_DIR: &str = "/etc/kubernetes/manifests";
/// Name of kubeadm's temporary directory under `/etc/kubernetes`.
pub const TEMP_DIR: &str = "tmp";
/// `/etc/kubernetes/tmp`.
pub const TEMP_DIR_PATH: &str = "/etc/kubernetes/tmp";
/// Name of the certificates subdirectory.
pub const DEFAULT_CERTIFICATE_DIR: &str = "pki";
/// `/etc/kubernetes/pki` (`DefaultCertificatesDir`).
pub const DEFAULT_CERTIFICATES_DIR: &str = "/etc/kubernetes/pki";
/// `/etc/kubernetes/pki/ca.crt` (`DefaultCACertPath`).
pub const DEFAULT_CA_CERT_PATH: &str = "/etc/kubernetes/pki/ca.crt";
/// `/var/lib/etcd` (`DefaultEtcdDataDir`).
pub const DEFAULT_ETCD_DATA_DIR: &str = "/var/lib/etcd";

/// `admin.conf`.
pub const ADMIN_KUBECONFIG_FILE_NAME: &str = "admin.conf";
/// `super-admin.conf`.
pub const SUPER_ADMIN_KUBECONFIG_FILE_NAME: &str = "super-admin.conf";
/// `bootstrap-kubelet.conf`.
pub const KUBELET_BOOTSTRAP_KUBECONFIG_FILE_NAME: &str = "bootstrap-kubelet.conf";
/// `kubelet.conf`.
pub const KUBELET_KUBECONFIG_FILE_NAME: &str = "kubelet.conf";
/// `controller-manager.conf`.
pub const CONTROLLER_MANAGER_KUBECONFIG_FILE_NAME: &str = "controller-manager.conf";
/// `scheduler.conf`.
pub const SCHEDULER_KUBECONFIG_FILE_NAME: &str = "scheduler.conf";
/// `/etc/kubernetes/admin.conf`.
pub const ADMIN_KUBECONFIG_PATH: &str = "/etc/kubernetes/admin.conf";
/// `/etc/kubernetes/super-admin.conf`.
pub const SUPER_ADMIN_KUBECONFIG_PATH: &str = "/etc/kubernetes/super-admin.conf";
/// `/etc/kubernetes/kubelet.conf`.
pub const KUBELET_KUBECONFIG_PATH: &str = "/etc/kubernetes/kubelet.conf";
/// `/etc/kubernetes/bootstrap-kubelet.conf`.
pub const KUBELET_BOOTSTRAP_KUBECONFIG_PATH: &str = "/etc/kubernetes/bootstrap-kubelet.conf";

/// `/var/lib/kubelet` (`KubeletRunDirectory`).
pub const KUBELET_RUN_DIRECTORY: &str = "/var/lib/kubelet";
/// `config.yaml` (`KubeletConfigurationFileName`).
pub const KUBELET_CONFIGURATION_FILE_NAME: &str = "config.yaml";
/// `instance-config.yaml` (`KubeletInstanceConfigurationFileName`).
pub const KUBELET_INSTANCE_CONFIGURATION_FILE_NAME: &str = "instance-config.yaml";
/// `kubeadm-flags.env` (`KubeletEnvFileName`).
pub const KUBELET_ENV_FILE_NAME: &str = "kubeadm-flags.env";
/// `KUBELET_KUBEADM_ARGS`.
pub const KUBELET_ENV_FILE_VARIABLE_NAME: &str = "KUBELET_KUBEADM_ARGS";
/// `/var/lib/kubelet/config.yaml`.
pub const KUBELET_CONFIG_PATH: &str = "/var/lib/kubelet/config.yaml";
/// `/var/lib/kubelet/instance-config.yaml`.
pub const KUBELET_INSTANCE_CONFIG_PATH: &str = "/var/lib/kubelet/instance-config.yaml";
/// `/var/lib/kubelet/kubeadm-flags.env`.
pub const KUBELET_ENV_FILE_PATH: &str = "/var/lib/kubelet/kubeadm-flags.env";
/// `/var/lib/kubelet/pki` (kubelet's certificate directory).
pub const KUBELET_PKI_DIR: &str = "/var/lib/kubelet/pki";

// ----- certificates and keys (paths relative to certificatesDir) -----

/// `ca`.
pub const CA_CERT_AND_KEY_BASE_NAME: &str = "ca";
/// `ca.crt`.
pub const CA_CERT_NAME: &str = "ca.crt";
/// `ca.key`.
pub const CA_KEY_NAME: &str = "ca.key";
/// `apiserver`.
pub const API_SERVER_CERT_AND_KEY_BASE_NAME: &str = "apiserver";
/// `apiserver.crt`.
pub const API_SERVER_CERT_NAME: &str = "apiserver.crt";
/// `apiserver.key`.
pub const API_SERVER_KEY_NAME: &str = "apiserver.key";
/// CN of the API server serving certificate.
pub const API_SERVER_CERT_COMMON_NAME: &str = "kube-apiserver";
/// `apiserver-kubelet-client`.
pub const API_SERVER_KUBELET_CLIENT_CERT_AND_KEY_BASE_NAME: &str = "apiserver-kubelet-client";
/// `apiserver-kubelet-client.crt`.
pub const API_SERVER_KUBELET_CLIENT_CERT_NAME: &str = "apiserver-kubelet-client.crt";
/// `apiserver-kubelet-client.key`.
pub const API_SERVER_KUBELET_CLIENT_KEY_NAME: &str = "apiserver-kubelet-client.key";
/// CN of the API server's kubelet client certificate.
pub const API_SERVER_KUBELET_CLIENT_CERT_COMMON_NAME: &str = "kube-apiserver-kubelet-client";
/// `etcd/ca`.
pub const ETCD_CA_CERT_AND_KEY_BASE_NAME: &str = "etcd/ca";
/// `etcd/ca.crt`.
pub const ETCD_CA_CERT_NAME: &str = "etcd/ca.crt";
/// `etcd/ca.key`.
pub const ETCD_CA_KEY_NAME: &str = "etcd/ca.key";
/// `etcd/server`.
pub const ETCD_SERVER_CERT_AND_KEY_BASE_NAME: &str = "etcd/server";
/// `etcd/server.crt`.
pub const ETCD_SERVER_CERT_NAME: &str = "etcd/server.crt";
/// `etcd/server.key`.
pub const ETCD_SERVER_KEY_NAME: &str = "etcd/server.key";
/// `etcd/peer`.
pub const ETCD_PEER_CERT_AND_KEY_BASE_NAME: &str = "etcd/peer";
/// `etcd/peer.crt`.
pub const ETCD_PEER_CERT_NAME: &str = "etcd/peer.crt";
/// `etcd/peer.key`.
pub const ETCD_PEER_KEY_NAME: &str = "etcd/peer.key";
/// `etcd/healthcheck-client`.
pub const ETCD_HEALTHCHECK_CLIENT_CERT_AND_KEY_BASE_NAME: &str = "etcd/healthcheck-client";
/// `etcd/healthcheck-client.crt`.
pub const ETCD_HEALTHCHECK_CLIENT_CERT_NAME: &str = "etcd/healthcheck-client.crt";
/// `etcd/healthcheck-client.key`.
pub const ETCD_HEALTHCHECK_CLIENT_KEY_NAME: &str = "etcd/healthcheck-client.key";
/// CN of the etcd healthcheck client certificate.
pub const ETCD_HEALTHCHECK_CLIENT_CERT_COMMON_NAME: &str = "kube-etcd-healthcheck-client";
/// `apiserver-etcd-client`.
pub const API_SERVER_ETCD_CLIENT_CERT_AND_KEY_BASE_NAME: &str = "apiserver-etcd-client";
/// `apiserver-etcd-client.crt`.
pub const API_SERVER_ETCD_CLIENT_CERT_NAME: &str = "apiserver-etcd-client.crt";
/// `apiserver-etcd-client.key`.
pub const API_SERVER_ETCD_CLIENT_KEY_NAME: &str = "apiserver-etcd-client.key";
/// CN of the API server's etcd client certificate.
pub const API_SERVER_ETCD_CLIENT_CERT_COMMON_NAME: &str = "kube-apiserver-etcd-client";
/// `sa`.
pub const SERVICE_ACCOUNT_KEY_BASE_NAME: &str = "sa";
/// `sa.pub`.
pub const SERVICE_ACCOUNT_PUBLIC_KEY_NAME: &str = "sa.pub";
/// `sa.key`.
pub const SERVICE_ACCOUNT_PRIVATE_KEY_NAME: &str = "sa.key";
/// `front-proxy-ca`.
pub const FRONT_PROXY_CA_CERT_AND_KEY_BASE_NAME: &str = "front-proxy-ca";
/// `front-proxy-ca.crt`.
pub const FRONT_PROXY_CA_CERT_NAME: &str = "front-proxy-ca.crt";
/// `front-proxy-ca.key`.
pub const FRONT_PROXY_CA_KEY_NAME: &str = "front-proxy-ca.key";
/// `front-proxy-client`.
pub const FRONT_PROXY_CLIENT_CERT_AND_KEY_BASE_NAME: &str = "front-proxy-client";
/// `front-proxy-client.crt`.
pub const FRONT_PROXY_CLIENT_CERT_NAME: &str = "front-proxy-client.crt";
/// `front-proxy-client.key`.
pub const FRONT_PROXY_CLIENT_KEY_NAME: &str = "front-proxy-client.key";
/// CN of the front-proxy client certificate.
pub const FRONT_PROXY_CLIENT_CERT_COMMON_NAME: &str = "front-proxy-client";

/// Certificates are backdated by 5 minutes (`CertificateBackdate`).
pub const CERTIFICATE_BACKDATE: Duration = Duration::from_mins(5);
/// Default validity of non-CA certificates: 365 days.
pub const CERTIFICATE_VALIDITY_PERIOD: Duration = Duration::from_hours(24 * 365);
/// Default validity of CA certificates: 10 years.
pub const CA_CERTIFICATE_VALIDITY_PERIOD: Duration = Duration::from_hours(24 * 365 * 10);
/// Size in bytes of the `--certificate-key` (AES-256).
pub const CERTIFICATE_KEY_SIZE: usize = 32;
/// TTL of the kubeadm-certs Secret's token (`DefaultCertTokenDuration`).
pub const DEFAULT_CERT_TOKEN_DURATION: Duration = Duration::from_hours(2);

// ----- users, groups, RBAC -----

/// `system:kube-controller-manager`.
pub const CONTROLLER_MANAGER_USER: &str = "system:kube-controller-manager";
/// `system:kube-scheduler`.
pub const SCHEDULER_USER: &str = "system:kube-scheduler";
/// `system:node:` (prefix of kubelet user names).
pub const NODES_USER_PREFIX: &str = "system:node:";
/// `system:masters`.
pub const SYSTEM_PRIVILEGED_GROUP: &str = "system:masters";
/// `system:nodes`.
pub const NODES_GROUP: &str = "system:nodes";
/// `system:bootstrappers:kubeadm:default-node-token`.
pub const NODE_BOOTSTRAP_TOKEN_AUTH_GROUP: &str = "system:bootstrappers:kubeadm:default-node-token";
/// `system:node-proxier`.
pub const KUBE_PROXY_CLUSTER_ROLE_NAME: &str = "system:node-proxier";
/// `system:node-bootstrapper`.
pub const NODE_BOOTSTRAPPER_CLUSTER_ROLE_NAME: &str = "system:node-bootstrapper";
/// ClusterRole allowing auto-approval of node client CSRs.
pub const CSR_AUTO_APPROVAL_CLUSTER_ROLE_NAME: &str =
    "system:certificates.k8s.io:certificatesigningrequests:nodeclient";
/// ClusterRole allowing auto-approval of node self CSRs.
pub const NODE_SELF_CSR_AUTO_APPROVAL_CLUSTER_ROLE_NAME: &str =
    "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient";
/// `system:node`.
pub const NODES_CLUSTER_ROLE_BINDING: &str = "system:node";
/// `kubeadm:kubelet-config`.
pub const KUBELET_BASE_CONFIG_MAP_ROLE: &str = "kubeadm:kubelet-config";
/// `kubeadm:node-proxier`.
pub const KUBE_PROXY_CLUSTER_ROLE_BINDING_NAME: &str = "kubeadm:node-proxier";
/// `kubeadm:kubelet-bootstrap`.
pub const NODE_KUBELET_BOOTSTRAP: &str = "kubeadm:kubelet-bootstrap";
/// `kubeadm:get-nodes`.
pub const GET_NODES_CLUSTER_ROLE_NAME: &str = "kubeadm:get-nodes";
/// `kubeadm:node-autoapprove-bootstrap`.
pub const NODE_AUTO_APPROVE_BOOTSTRAP_CLUSTER_ROLE_BINDING: &str = "kubeadm:node-autoapprove-bootstrap";
/// `kubeadm:node-autoapprove-certificate-rotation`.
pub const NODE_AUTO_APPROVE_CERTIFICATE_ROTATION_CLUSTER_ROLE_BINDING: &str =
    "kubeadm:node-autoapprove-certificate-rotation";
/// `kubeadm:cluster-admins` (group and ClusterRoleBinding).
pub const CLUSTER_ADMINS_GROUP_AND_CLUSTER_ROLE_BINDING: &str = "kubeadm:cluster-admins";
/// `kubeadm:apiserver-kubelet-client`.
pub const KUBELET_API_ADMIN_CLUSTER_ROLE_BINDING_NAME: &str = "kubeadm:apiserver-kubelet-client";
/// `system:kubelet-api-admin`.
pub const KUBELET_API_ADMIN_CLUSTER_ROLE_NAME: &str = "system:kubelet-api-admin";
/// `kubeadm-certs`.
pub const KUBEADM_CERTS_SECRET: &str = "kubeadm-certs";
/// `kubeadm:kubeadm-certs`.
pub const KUBEADM_CERTS_CLUSTER_ROLE_NAME: &str = "kubeadm:kubeadm-certs";
/// `cluster-admin` ClusterRole.
pub const CLUSTER_ADMIN_CLUSTER_ROLE: &str = "cluster-admin";

// ----- timeouts and retries -----

/// `KubernetesAPICallTimeout`: 1m.
pub const KUBERNETES_API_CALL_TIMEOUT: Duration = Duration::from_mins(1);
/// `KubernetesAPICallRetryInterval`: 500ms.
pub const KUBERNETES_API_CALL_RETRY_INTERVAL: Duration = Duration::from_millis(500);
/// `DiscoveryTimeout`: 5m.
pub const DISCOVERY_TIMEOUT: Duration = Duration::from_mins(5);
/// `DiscoveryRetryInterval`: 5s.
pub const DISCOVERY_RETRY_INTERVAL: Duration = Duration::from_secs(5);
/// `TLSBootstrapTimeout`: 5m.
pub const TLS_BOOTSTRAP_TIMEOUT: Duration = Duration::from_mins(5);
/// `TLSBootstrapRetryInterval`: 1s.
pub const TLS_BOOTSTRAP_RETRY_INTERVAL: Duration = Duration::from_secs(1);
/// `EtcdAPICallTimeout`: 2m.
pub const ETCD_API_CALL_TIMEOUT: Duration = Duration::from_mins(2);
/// `EtcdAPICallRetryInterval`: 500ms.
pub const ETCD_API_CALL_RETRY_INTERVAL: Duration = Duration::from_millis(500);
/// `ControlPlaneComponentHealthCheckTimeout`: 4m.
pub const CONTROL_PLANE_COMPONENT_HEALTH_CHECK_TIMEOUT: Duration = Duration::from_mins(4);
/// `KubeletHealthCheckTimeout`: 4m.
pub const KUBELET_HEALTH_CHECK_TIMEOUT: Duration = Duration::from_mins(4);
/// `UpgradeManifestsTimeout`: 5m.
pub const UPGRADE_MANIFESTS_TIMEOUT: Duration = Duration::from_mins(5);
/// `PullImageRetry`.
pub const PULL_IMAGE_RETRY: u32 = 5;
/// `RemoveContainerRetry`.
pub const REMOVE_CONTAINER_RETRY: u32 = 5;
/// Default bootstrap token TTL: 24h.
pub const DEFAULT_TOKEN_DURATION: Duration = Duration::from_hours(24);

// ----- networking -----

/// `MinimumAddressesInServiceSubnet`.
pub const MINIMUM_ADDRESSES_IN_SERVICE_SUBNET: u32 = 10;
/// `MaximumBitsForServiceSubnet`.
pub const MAXIMUM_BITS_FOR_SERVICE_SUBNET: u32 = 20;
/// `MinimumAddressesInPodSubnet`.
pub const MINIMUM_ADDRESSES_IN_POD_SUBNET: u32 = 14;
/// `PodSubnetNodeMaskMaxDiff`.
pub const POD_SUBNET_NODE_MASK_MAX_DIFF: u32 = 16;
/// `DefaultServiceDNSDomain`.
pub const DEFAULT_SERVICE_DNS_DOMAIN: &str = "cluster.local";
/// `DefaultServicesSubnet`.
pub const DEFAULT_SERVICES_SUBNET: &str = "10.96.0.0/12";
/// `DefaultClusterDNSIP`.
pub const DEFAULT_CLUSTER_DNS_IP: &str = "10.96.0.10";
/// `DefaultAPIServerBindAddress`.
pub const DEFAULT_API_SERVER_BIND_ADDRESS: &str = "0.0.0.0";
/// `DefaultProxyBindAddressv4`.
pub const DEFAULT_PROXY_BIND_ADDRESS_V4: &str = "0.0.0.0";
/// `DefaultProxyBindAddressv6`.
pub const DEFAULT_PROXY_BIND_ADDRESS_V6: &str = "::";

// ----- ports -----

/// `KubeAPIServerPort`.
pub const KUBE_API_SERVER_PORT: i32 = 6443;
/// `KubeletPort`.
pub const KUBELET_PORT: i32 = 10250;
/// `KubeletHealthzPort`.
pub const KUBELET_HEALTHZ_PORT: i32 = 10248;
/// `KubeSchedulerPort`.
pub const KUBE_SCHEDULER_PORT: i32 = 10259;
/// `KubeControllerManagerPort`.
pub const KUBE_CONTROLLER_MANAGER_PORT: i32 = 10257;
/// `EtcdListenClientPort`.
pub const ETCD_LISTEN_CLIENT_PORT: i32 = 2379;
/// `EtcdListenPeerPort`.
pub const ETCD_LISTEN_PEER_PORT: i32 = 2380;
/// `EtcdMetricsPort`.
pub const ETCD_METRICS_PORT: i32 = 2381;
/// Name of the probe port in static Pods (`ProbePort`).
pub const PROBE_PORT: &str = "probe-port";

// ----- components and images -----

/// `etcd`.
pub const ETCD: &str = "etcd";
/// `kube-apiserver`.
pub const KUBE_API_SERVER: &str = "kube-apiserver";
/// `kube-controller-manager`.
pub const KUBE_CONTROLLER_MANAGER: &str = "kube-controller-manager";
/// `kube-scheduler`.
pub const KUBE_SCHEDULER: &str = "kube-scheduler";
/// `kube-proxy`.
pub const KUBE_PROXY: &str = "kube-proxy";
/// `CoreDNS` (the addon's display name).
pub const CORE_DNS: &str = "CoreDNS";
/// `kubelet`.
pub const KUBELET: &str = "kubelet";
/// `kubeadm`.
pub const KUBEADM: &str = "kubeadm";
/// The control-plane components in manifest order.
pub const CONTROL_PLANE_COMPONENTS: [&str; 3] = [KUBE_API_SERVER, KUBE_CONTROLLER_MANAGER, KUBE_SCHEDULER];
/// `k8s-certs` volume name.
pub const KUBE_CERTIFICATES_VOLUME_NAME: &str = "k8s-certs";
/// `kubeconfig` volume name.
pub const KUBE_CONFIG_VOLUME_NAME: &str = "kubeconfig";
/// `control-plane` tier label value.
pub const CONTROL_PLANE_TIER: &str = "control-plane";

/// `DefaultImageRepository`.
pub const DEFAULT_IMAGE_REPOSITORY: &str = "registry.k8s.io";
/// `DefaultCIImageRepository`.
pub const DEFAULT_CI_IMAGE_REPOSITORY: &str = "gcr.io/k8s-staging-ci-images";
/// `DefaultEtcdVersion` (etcd image tag).
pub const DEFAULT_ETCD_VERSION: &str = "3.7.0-0";
/// `MinExternalEtcdVersion`.
pub const MIN_EXTERNAL_ETCD_VERSION: &str = "3.5.24-0";
/// `SupportedEtcdVersion`: Kubernetes minor -> etcd image tag. v1.37.2 has no entry for 37, so
/// [`etcd_version_for_minor`] falls back to the nearest (with a warning, like upstream).
pub const SUPPORTED_ETCD_VERSION: [(u32, &str); 3] = [(34, "3.7.0-0"), (35, "3.7.0-0"), (36, "3.7.0-0")];
/// `CoreDNSVersion` (image tag).
pub const CORE_DNS_VERSION: &str = "v1.14.6";
/// `CoreDNSImageName`.
pub const CORE_DNS_IMAGE_NAME: &str = "coredns";
/// `coredns` ConfigMap.
pub const CORE_DNS_CONFIG_MAP: &str = "coredns";
/// `coredns` Deployment.
pub const CORE_DNS_DEPLOYMENT_NAME: &str = "coredns";
/// `PauseVersion`.
pub const PAUSE_VERSION: &str = "3.10.2";

/// The etcd image tag for a Kubernetes minor version (`EtcdSupportedVersion`). The second value is
/// upstream's warning when the minor is not in the table and the nearest entry was used.
pub fn etcd_version_for_minor(minor: u32) -> (&'static str, Option<String>) {
    if let Some((_, v)) = SUPPORTED_ETCD_VERSION.iter().find(|(m, _)| *m == minor) {
        return (v, None);
    }
    let min = SUPPORTED_ETCD_VERSION.iter().min_by_key(|(m, _)| *m);
    let max = SUPPORTED_ETCD_VERSION.iter().max_by_key(|(m, _)| *m);
    let v = match (min, max) {
        (Some((lo, lv)), _) if minor < *lo => *lv,
        (_, Some((_, hv))) => *hv,
        _ => DEFAULT_ETCD_VERSION,
    };
    (v, Some(v.to_string()))
}

/// Like [`etcd_version_for_minor`] but takes a version string (`v1.37.2`) and renders upstream's
/// warning text. Returns `None` if the version cannot be parsed.
pub fn etcd_version_for(kubernetes_version: &str) -> Option<(&'static str, Option<String>)> {
    let minor = kubernetes_version.trim_start_matches('v').split('.').nth(1)?.parse::<u32>().ok()?;
    let (v, warn) = etcd_version_for_minor(minor);
    Some((
        v,
        warn.map(|_| {
            format!(
                "could not find officially supported version of etcd for Kubernetes {kubernetes_version}, falling back to the nearest etcd version ({v})"
            )
        }),
    ))
}

// ----- CRI -----

/// containerd's CRI socket.
pub const CRI_SOCKET_CONTAINERD: &str = "unix:///var/run/containerd/containerd.sock";
/// CRI-O's CRI socket.
pub const CRI_SOCKET_CRIO: &str = "unix:///var/run/crio/crio.sock";
/// cri-dockerd's CRI socket.
pub const CRI_SOCKET_DOCKER: &str = "unix:///var/run/cri-dockerd.sock";
/// `DefaultCRISocket`.
pub const DEFAULT_CRI_SOCKET: &str = CRI_SOCKET_CONTAINERD;
/// `DefaultContainerRuntimeURLScheme`.
pub const DEFAULT_CONTAINER_RUNTIME_URL_SCHEME: &str = "unix";

// ----- labels, annotations, taints -----

/// `node-role.kubernetes.io/control-plane`.
pub const LABEL_NODE_ROLE_CONTROL_PLANE: &str = "node-role.kubernetes.io/control-plane";
/// `node.kubernetes.io/exclude-from-external-load-balancers`.
pub const LABEL_EXCLUDE_FROM_EXTERNAL_LB: &str = "node.kubernetes.io/exclude-from-external-load-balancers";
/// Effect of the control-plane taint.
pub const CONTROL_PLANE_TAINT_EFFECT: &str = "NoSchedule";
/// `kubeadm.kubernetes.io/etcd.advertise-client-urls`.
pub const ETCD_ADVERTISE_CLIENT_URLS_ANNOTATION_KEY: &str =
    "kubeadm.kubernetes.io/etcd.advertise-client-urls";
/// `kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint`.
pub const KUBE_API_SERVER_ADVERTISE_ADDRESS_ENDPOINT_ANNOTATION_KEY: &str =
    "kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint";
/// `kubeadm.kubernetes.io/component-config.hash`.
pub const COMPONENT_CONFIG_HASH_ANNOTATION_KEY: &str = "kubeadm.kubernetes.io/component-config.hash";
/// Annotation with the CRI socket on Node objects (`kubeadm.alpha.kubernetes.io/cri-socket`).
pub const ANNOTATION_KUBEADM_CRI_SOCKET: &str = "kubeadm.alpha.kubernetes.io/cri-socket";

/// The control-plane taint (`ControlPlaneTaint`).
pub fn control_plane_taint() -> crate::v1beta4::Taint {
    crate::v1beta4::Taint {
        key: LABEL_NODE_ROLE_CONTROL_PLANE.to_string(),
        effect: CONTROL_PLANE_TAINT_EFFECT.to_string(),
        ..Default::default()
    }
}

// ----- ConfigMaps, kinds -----

/// `kubeadm-config`.
pub const KUBEADM_CONFIG_CONFIG_MAP: &str = "kubeadm-config";
/// `ClusterConfiguration` (key in kubeadm-config).
pub const CLUSTER_CONFIGURATION_CONFIG_MAP_KEY: &str = "ClusterConfiguration";
/// `kube-proxy`.
pub const KUBE_PROXY_CONFIG_MAP: &str = "kube-proxy";
/// `config.conf`.
pub const KUBE_PROXY_CONFIG_MAP_KEY: &str = "config.conf";
/// `kubelet-config`.
pub const KUBELET_BASE_CONFIGURATION_CONFIG_MAP: &str = "kubelet-config";
/// `kubelet`.
pub const KUBELET_BASE_CONFIGURATION_CONFIG_MAP_KEY: &str = "kubelet";
/// `ClusterConfiguration`.
pub const CLUSTER_CONFIGURATION_KIND: &str = "ClusterConfiguration";
/// `InitConfiguration`.
pub const INIT_CONFIGURATION_KIND: &str = "InitConfiguration";
/// `JoinConfiguration`.
pub const JOIN_CONFIGURATION_KIND: &str = "JoinConfiguration";
/// `ResetConfiguration`.
pub const RESET_CONFIGURATION_KIND: &str = "ResetConfiguration";
/// `UpgradeConfiguration`.
pub const UPGRADE_CONFIGURATION_KIND: &str = "UpgradeConfiguration";
/// `KubeletConfiguration`.
pub const KUBELET_CONFIGURATION_KIND: &str = "KubeletConfiguration";
/// `KubeProxyConfiguration`.
pub const KUBE_PROXY_CONFIGURATION_KIND: &str = "KubeProxyConfiguration";
/// `kubelet.config.k8s.io/v1beta1`.
pub const KUBELET_CONFIG_API_VERSION: &str = "kubelet.config.k8s.io/v1beta1";
/// `kubeproxy.config.k8s.io/v1alpha1`.
pub const KUBE_PROXY_CONFIG_API_VERSION: &str = "kubeproxy.config.k8s.io/v1alpha1";
/// `---\n`.
pub const YAML_DOCUMENT_SEPARATOR: &str = "---\n";

// ----- misc -----

/// `ControlPlaneNumCPU`.
pub const CONTROL_PLANE_NUM_CPU: u32 = 2;
/// `ControlPlaneMem` (MB).
pub const CONTROL_PLANE_MEM: u64 = 1700;
/// Authorization mode `Node`.
pub const MODE_NODE: &str = "Node";
/// Authorization mode `RBAC`.
pub const MODE_RBAC: &str = "RBAC";
/// Authorization mode `Webhook`.
pub const MODE_WEBHOOK: &str = "Webhook";
/// Authorization mode `ABAC`.
pub const MODE_ABAC: &str = "ABAC";
/// Authorization mode `AlwaysAllow`.
pub const MODE_ALWAYS_ALLOW: &str = "AlwaysAllow";
/// Authorization mode `AlwaysDeny`.
pub const MODE_ALWAYS_DENY: &str = "AlwaysDeny";
/// `systemd` cgroup driver.
pub const CGROUP_DRIVER_SYSTEMD: &str = "systemd";
/// Rootless users/groups (RootlessControlPlane feature).
pub const KUBE_CONTROLLER_MANAGER_USER_NAME: &str = "kubeadm-kcm";
/// Rootless kube-apiserver user.
pub const KUBE_API_SERVER_USER_NAME: &str = "kubeadm-kas";
/// Rootless kube-scheduler user.
pub const KUBE_SCHEDULER_USER_NAME: &str = "kubeadm-ks";
/// Rootless etcd user.
pub const ETCD_USER_NAME: &str = "kubeadm-etcd";
/// Group that may read sa.key.
pub const SERVICE_ACCOUNT_KEY_READERS_GROUP_NAME: &str = "kubeadm-sa-key-readers";
/// `KUBEADM_INIT_DRYRUN_DIR`.
pub const ENV_VAR_INIT_DRY_RUN_DIR: &str = "KUBEADM_INIT_DRYRUN_DIR";
/// `KUBEADM_JOIN_DRYRUN_DIR`.
pub const ENV_VAR_JOIN_DRY_RUN_DIR: &str = "KUBEADM_JOIN_DRYRUN_DIR";
/// `KUBEADM_UPGRADE_DRYRUN_DIR`.
pub const ENV_VAR_UPGRADE_DRY_RUN_DIR: &str = "KUBEADM_UPGRADE_DRYRUN_DIR";
/// Default image pull policy.
pub const DEFAULT_IMAGE_PULL_POLICY: &str = "IfNotPresent";
/// Default cluster name.
pub const DEFAULT_CLUSTER_NAME: &str = "kubernetes";
/// Bootstrap token usages `signing` and `authentication` (defaults).
pub const DEFAULT_TOKEN_USAGES: [&str; 2] = ["signing", "authentication"];
/// All known bootstrap token usages (cluster-bootstrap `KnownTokenUsages`).
pub const KNOWN_TOKEN_USAGES: [&str; 2] = ["signing", "authentication"];
/// Prefix required for extra bootstrap-token groups (`system:bootstrappers:`).
pub const BOOTSTRAP_GROUP_PREFIX: &str = "system:bootstrappers:";

/// `/etc/kubernetes/manifests/<component>.yaml`.
pub fn static_pod_path(component: &str) -> String {
    format!("{MANIFESTS_DIR}/{component}.yaml")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn etcd_versions() {
        assert_eq!(etcd_version_for_minor(35), ("3.7.0-0", None));
        assert_eq!(etcd_version_for("v1.37.2").unwrap().0, "3.7.0-0");
        let w = etcd_version_for("v1.37.2").unwrap().1.unwrap();
        assert!(w.contains("falling back to the nearest etcd version (3.7.0-0)"));
        assert_eq!(etcd_version_for_minor(20).0, "3.7.0-0");
        assert_eq!(CA_CERTIFICATE_VALIDITY_PERIOD.to_string(), "87600h0m0s");
        assert_eq!(static_pod_path("etcd"), "/etc/kubernetes/manifests/etcd.yaml");
    }
}
