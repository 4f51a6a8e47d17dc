//! The objects of the essential addons, as upstream kubeadm v1.37.2 creates them
//! (`cmd/kubeadm/app/phases/addons/dns` and `.../proxy`): CoreDNS (ServiceAccount, ClusterRole,
//! ClusterRoleBinding, ConfigMap with the Corefile, Deployment, Service `kube-dns`) and kube-proxy
//! (ConfigMap with `config.conf` + `kubeconfig.conf`, DaemonSet, ServiceAccount,
//! ClusterRoleBinding, Role, RoleBinding).
//!
//! Objects are `serde_json::Value`s (`apiVersion`, `kind`, `metadata`, ...) equal to what upstream
//! decodes from its templates, ready to be sent by the API layer. How they are applied is the
//! caller's business and follows upstream: CoreDNS's ConfigMap is created or updated only when
//! there is no Corefile yet or it is the default one (else retained or migrated), the Deployment
//! keeps the existing replica count ([`CoreDnsInputs::replicas`]), the Service is created and, if
//! it exists or is invalid, updated; everything else is create-or-update.
//!
//! The kube-dns Service is single-stack as in upstream's template: only `clusterIP` (the 10th
//! address of the first service CIDR) is set, the API server fills `ipFamilies`/`ipFamilyPolicy`.

use kubeadm_api::v1beta4::{ApiEndpoint, ClusterConfiguration, EnvVar};
use serde_json::{Value, json};

use crate::componentconfigs::{ComponentConfig, sign_config_map};
use crate::patches::{PatchError, PatchManager};
use crate::strategic::Schema;

/// Default number of CoreDNS replicas.
pub const COREDNS_REPLICAS: i32 = 2;
/// Line printed after CoreDNS was applied.
pub const MSG_COREDNS_APPLIED: &str = "[addons] Applied essential addon: CoreDNS";
/// Line printed after kube-proxy was applied.
pub const MSG_KUBE_PROXY_APPLIED: &str = "[addons] Applied essential addon: kube-proxy";
/// Line printed when an existing Corefile is migrated.
pub const MSG_COREDNS_MIGRATING: &str = "[addons] Migrating CoreDNS Corefile";
/// Label selector of the CoreDNS Deployment (used to find an existing one).
pub const COREDNS_LABEL_SELECTOR: &str = "k8s-app=kube-dns";
/// The control-plane taint key tolerated by CoreDNS.
pub const CONTROL_PLANE_TAINT_KEY: &str = "node-role.kubernetes.io/control-plane";

/// Errors building addon objects.
#[derive(Debug, thiserror::Error)]
pub enum AddonError {
    /// A `corednsdeployment` patch failed.
    #[error("could not apply patches to the CoreDNS Deployment: {0}")]
    CoreDnsPatches(#[source] PatchError),
    /// A `kubeproxydaemonset` patch failed.
    #[error("could not apply patches to the kube-proxy DaemonSet: {0}")]
    KubeProxyPatches(#[source] PatchError),
    /// The service subnet does not give a DNS IP.
    #[error("{0}")]
    DnsIp(#[source] kubeadm_api::net::NetError),
    /// The API server URL for kube-proxy's kubeconfig could not be built.
    #[error("{0}")]
    Endpoint(#[source] crate::kubeconfig::KubeconfigError),
}

/// Inputs of the CoreDNS addon besides the ClusterConfiguration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoreDnsInputs {
    /// Replica count: the existing Deployment's (upstream `deployedDNSReplicas`), else
    /// [`COREDNS_REPLICAS`].
    pub replicas: i32,
}

impl Default for CoreDnsInputs {
    fn default() -> Self {
        CoreDnsInputs { replicas: COREDNS_REPLICAS }
    }
}

/// The CoreDNS objects.
#[derive(Debug, Clone, PartialEq)]
pub struct CoreDns {
    /// ConfigMap `kube-system/coredns` (key `Corefile`).
    pub config_map: Value,
    /// ClusterRole `system:coredns`.
    pub cluster_role: Value,
    /// ClusterRoleBinding `system:coredns`.
    pub cluster_role_binding: Value,
    /// ServiceAccount `kube-system/coredns`.
    pub service_account: Value,
    /// Deployment `kube-system/coredns` (after `corednsdeployment` patches).
    pub deployment: Value,
    /// Service `kube-system/kube-dns`.
    pub service: Value,
    /// `[patches] Applied patch ...` lines, printed while building.
    pub messages: Vec<String>,
}

impl CoreDns {
    /// The objects in upstream's creation order: ConfigMap, ClusterRole, ClusterRoleBinding,
    /// ServiceAccount, Deployment, Service.
    pub fn objects(&self) -> Vec<&Value> {
        vec![
            &self.config_map,
            &self.cluster_role,
            &self.cluster_role_binding,
            &self.service_account,
            &self.deployment,
            &self.service,
        ]
    }
}

/// The Corefile for a DNS domain (upstream `CoreDNSConfigMap` template; with an empty domain the
/// `cache` plugin has no block).
pub fn corefile(dns_domain: &str) -> String {
    let cache = if dns_domain.is_empty() {
        "    cache 30\n".to_string()
    } else {
        format!(
            "    cache 30 {{\n       disable success {dns_domain}\n       disable denial {dns_domain}\n    }}\n"
        )
    };
    format!(
        ".:53 {{\n    errors\n    health {{\n       lameduck 5s\n    }}\n    ready\n    kubernetes {dns_domain} in-addr.arpa ip6.arpa {{\n       pods insecure\n       fallthrough in-addr.arpa ip6.arpa\n       ttl 30\n    }}\n    prometheus :9153\n    forward . /etc/resolv.conf {{\n       max_concurrent 1000\n    }}\n{cache}    loop\n    reload\n    loadbalance\n}}\n"
    )
}

/// ConfigMap `kube-system/coredns`.
pub fn coredns_config_map(cluster: &ClusterConfiguration) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "coredns", "namespace": "kube-system"},
        "data": {"Corefile": corefile(&cluster.networking.dns_domain)},
    })
}

/// ClusterRole `system:coredns`.
pub fn coredns_cluster_role() -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "system:coredns"},
        "rules": [
            {"apiGroups": [""], "resources": ["endpoints", "services", "pods", "namespaces"], "verbs": ["list", "watch"]},
            {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["list", "watch"]},
        ],
    })
}

/// ClusterRoleBinding `system:coredns`.
pub fn coredns_cluster_role_binding() -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "system:coredns"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:coredns"},
        "subjects": [{"kind": "ServiceAccount", "name": "coredns", "namespace": "kube-system"}],
    })
}

/// ServiceAccount `kube-system/coredns`.
pub fn coredns_service_account() -> Value {
    service_account("coredns")
}

fn service_account(name: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": name, "namespace": "kube-system"},
    })
}

/// Deployment `kube-system/coredns` before patches.
pub fn coredns_deployment(cluster: &ClusterConfiguration, replicas: i32) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "coredns", "namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}},
        "spec": {
            "replicas": replicas,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "selector": {"matchLabels": {"k8s-app": "kube-dns"}},
            "template": {
                "metadata": {"labels": {"k8s-app": "kube-dns"}},
                "spec": {
                    "priorityClassName": "system-cluster-critical",
                    "serviceAccountName": "coredns",
                    "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
                        "weight": 100,
                        "podAffinityTerm": {
                            "labelSelector": {"matchExpressions": [{"key": "k8s-app", "operator": "In", "values": ["kube-dns"]}]},
                            "topologyKey": "kubernetes.io/hostname",
                        },
                    }]}},
                    "tolerations": [
                        {"key": "CriticalAddonsOnly", "operator": "Exists"},
                        {"key": CONTROL_PLANE_TAINT_KEY, "effect": "NoSchedule"},
                    ],
                    "nodeSelector": {"kubernetes.io/os": "linux"},
                    "containers": [{
                        "name": "coredns",
                        "image": crate::images::dns_image(cluster),
                        "imagePullPolicy": "IfNotPresent",
                        "resources": {"limits": {"memory": "170Mi"}, "requests": {"cpu": "100m", "memory": "70Mi"}},
                        "args": ["-conf", "/etc/coredns/Corefile"],
                        "volumeMounts": [{"name": "config-volume", "mountPath": "/etc/coredns", "readOnly": true}],
                        "ports": [
                            {"containerPort": 53, "name": "dns", "protocol": "UDP"},
                            {"containerPort": 53, "name": "dns-tcp", "protocol": "TCP"},
                            {"containerPort": 9153, "name": "metrics", "protocol": "TCP"},
                            {"containerPort": 8080, "name": "liveness-probe", "protocol": "TCP"},
                            {"containerPort": 8181, "name": "readiness-probe", "protocol": "TCP"},
                        ],
                        "livenessProbe": {
                            "httpGet": {"path": "/health", "port": "liveness-probe", "scheme": "HTTP"},
                            "initialDelaySeconds": 60,
                            "timeoutSeconds": 5,
                            "successThreshold": 1,
                            "failureThreshold": 5,
                        },
                        "readinessProbe": {"httpGet": {"path": "/ready", "port": "readiness-probe", "scheme": "HTTP"}},
                        "securityContext": {
                            "allowPrivilegeEscalation": false,
                            "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]},
                            "readOnlyRootFilesystem": true,
                        },
                    }],
                    "dnsPolicy": "Default",
                    "volumes": [{
                        "name": "config-volume",
                        "configMap": {"name": "coredns", "items": [{"key": "Corefile", "path": "Corefile"}]},
                    }],
                },
            },
        },
    })
}

/// Service `kube-system/kube-dns` with `clusterIP` = the DNS IP. Carries `resourceVersion: "0"`
/// like upstream's template (so that an update of an existing Service is accepted).
pub fn coredns_service(cluster: &ClusterConfiguration) -> Result<Value, AddonError> {
    let ip = kubeadm_api::net::dns_ip(&cluster.networking.service_subnet).map_err(AddonError::DnsIp)?;
    Ok(json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "labels": {"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "CoreDNS"},
            "name": "kube-dns",
            "namespace": "kube-system",
            "annotations": {"prometheus.io/port": "9153", "prometheus.io/scrape": "true"},
            "resourceVersion": "0",
        },
        "spec": {
            "clusterIP": ip.to_string(),
            "ports": [
                {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153},
            ],
            "selector": {"k8s-app": "kube-dns"},
        },
    }))
}

/// All CoreDNS objects (upstream `coreDNSAddon`), with `corednsdeployment` patches applied.
pub fn coredns(
    cluster: &ClusterConfiguration,
    inputs: CoreDnsInputs,
    patches: Option<&PatchManager>,
) -> Result<CoreDns, AddonError> {
    let mut deployment = coredns_deployment(cluster, inputs.replicas);
    let mut messages = Vec::new();
    if let Some(pm) = patches {
        let (patched, msgs) = pm
            .apply("corednsdeployment", &deployment, Schema::Deployment)
            .map_err(AddonError::CoreDnsPatches)?;
        deployment = patched;
        crate::patches::normalize_nulls(&mut deployment);
        messages = msgs;
    }
    Ok(CoreDns {
        config_map: coredns_config_map(cluster),
        cluster_role: coredns_cluster_role(),
        cluster_role_binding: coredns_cluster_role_binding(),
        service_account: coredns_service_account(),
        deployment,
        service: coredns_service(cluster)?,
        messages,
    })
}

/// Inputs of the kube-proxy addon besides the ClusterConfiguration.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KubeProxyInputs {
    /// Proxy variables of the kubeadm process ([`crate::staticpod::proxy_env_vars`]): upstream
    /// appends them (sorted by name) to the DaemonSet container's `env`.
    pub proxy_env: Vec<EnvVar>,
    /// Upstream's internal `CIImageRepository` (for `ci/` versions).
    pub ci_image_repository: Option<String>,
}

/// The kube-proxy objects.
#[derive(Debug, Clone, PartialEq)]
pub struct KubeProxy {
    /// ConfigMap `kube-system/kube-proxy` (signed unless the config was user-supplied).
    pub config_map: Value,
    /// DaemonSet `kube-system/kube-proxy` (after `kubeproxydaemonset` patches, proxy env added).
    pub daemon_set: Value,
    /// ServiceAccount `kube-system/kube-proxy`.
    pub service_account: Value,
    /// ClusterRoleBinding `kubeadm:node-proxier`.
    pub cluster_role_binding: Value,
    /// Role `kube-system/kube-proxy`.
    pub role: Value,
    /// RoleBinding `kube-system/kube-proxy`.
    pub role_binding: Value,
    /// `[patches] Applied patch ...` lines, printed while building.
    pub messages: Vec<String>,
    /// Warning from building the API server URL (port in controlPlaneEndpoint differs).
    pub warnings: Vec<String>,
}

impl KubeProxy {
    /// The objects in upstream's creation order: ConfigMap, DaemonSet, ServiceAccount,
    /// ClusterRoleBinding, Role, RoleBinding.
    pub fn objects(&self) -> Vec<&Value> {
        vec![
            &self.config_map,
            &self.daemon_set,
            &self.service_account,
            &self.cluster_role_binding,
            &self.role,
            &self.role_binding,
        ]
    }
}

/// `kubeconfig.conf` of the kube-proxy ConfigMap (service-account token, in-cluster CA).
pub fn kube_proxy_kubeconfig(server: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt\n    server: {server}\n  name: default\ncontexts:\n- context:\n    cluster: default\n    namespace: default\n    user: default\n  name: default\ncurrent-context: default\nusers:\n- name: default\n  user:\n    tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token"
    )
}

/// ConfigMap `kube-system/kube-proxy`: `config.conf` = the KubeProxyConfiguration YAML without
/// its final newline (upstream embeds it in a `|-` block), `kubeconfig.conf` for `server`.
pub fn kube_proxy_config_map(kube_proxy: &ComponentConfig, server: &str) -> Value {
    let conf = kube_proxy.to_yaml();
    let mut cm = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "kube-proxy", "namespace": "kube-system", "labels": {"app": "kube-proxy"}},
        "data": {
            "kubeconfig.conf": kube_proxy_kubeconfig(server),
            "config.conf": conf.trim_end_matches('\n'),
        },
    });
    if !kube_proxy.user_supplied {
        sign_config_map(&mut cm);
    }
    cm
}

/// DaemonSet `kube-system/kube-proxy` before patches and without proxy variables.
pub fn kube_proxy_daemon_set(image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"labels": {"k8s-app": "kube-proxy"}, "name": "kube-proxy", "namespace": "kube-system"},
        "spec": {
            "selector": {"matchLabels": {"k8s-app": "kube-proxy"}},
            "updateStrategy": {"type": "RollingUpdate"},
            "template": {
                "metadata": {"labels": {"k8s-app": "kube-proxy"}},
                "spec": {
                    "priorityClassName": "system-node-critical",
                    "containers": [{
                        "name": "kube-proxy",
                        "image": image,
                        "imagePullPolicy": "IfNotPresent",
                        "command": [
                            "/usr/local/bin/kube-proxy",
                            "--config=/var/lib/kube-proxy/config.conf",
                            "--hostname-override=$(NODE_NAME)",
                        ],
                        "securityContext": {"privileged": true},
                        "volumeMounts": [
                            {"mountPath": "/var/lib/kube-proxy", "name": "kube-proxy"},
                            {"mountPath": "/run/xtables.lock", "name": "xtables-lock", "readOnly": false},
                            {"mountPath": "/lib/modules", "name": "lib-modules", "readOnly": true},
                        ],
                        "env": [{"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
                    }],
                    "hostNetwork": true,
                    "serviceAccountName": "kube-proxy",
                    "volumes": [
                        {"name": "kube-proxy", "configMap": {"name": "kube-proxy"}},
                        {"name": "xtables-lock", "hostPath": {"path": "/run/xtables.lock", "type": "FileOrCreate"}},
                        {"name": "lib-modules", "hostPath": {"path": "/lib/modules"}},
                    ],
                    "tolerations": [{"operator": "Exists"}],
                    "nodeSelector": {"kubernetes.io/os": "linux"},
                },
            },
        },
    })
}

/// All kube-proxy objects (upstream `EnsureProxyAddon`), with `kubeproxydaemonset` patches
/// applied and the proxy variables appended to the container's `env` (after patches, as upstream).
pub fn kube_proxy(
    cluster: &ClusterConfiguration,
    local_endpoint: &ApiEndpoint,
    kube_proxy_config: &ComponentConfig,
    inputs: &KubeProxyInputs,
    patches: Option<&PatchManager>,
) -> Result<KubeProxy, AddonError> {
    let (server, warning) =
        crate::kubeconfig::control_plane_endpoint_url(&cluster.control_plane_endpoint, local_endpoint)
            .map_err(AddonError::Endpoint)?;
    let config_map = kube_proxy_config_map(kube_proxy_config, &server);
    let image = crate::images::kubernetes_image("kube-proxy", cluster, inputs.ci_image_repository.as_deref());
    let mut daemon_set = kube_proxy_daemon_set(&image);
    let mut messages = Vec::new();
    if let Some(pm) = patches {
        let (patched, msgs) = pm
            .apply("kubeproxydaemonset", &daemon_set, Schema::DaemonSet)
            .map_err(AddonError::KubeProxyPatches)?;
        daemon_set = patched;
        crate::patches::normalize_nulls(&mut daemon_set);
        messages = msgs;
    }
    let extra = crate::staticpod::merge_env_vars(&[&inputs.proxy_env]);
    if !extra.is_empty()
        && let Some(c) =
            daemon_set.pointer_mut("/spec/template/spec/containers/0").and_then(Value::as_object_mut)
    {
        let env = c.entry("env").or_insert_with(|| json!([]));
        if let Value::Array(a) = env {
            a.extend(extra);
        } else {
            *env = Value::Array(extra);
        }
    }
    Ok(KubeProxy {
        config_map,
        daemon_set,
        service_account: service_account("kube-proxy"),
        cluster_role_binding: json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "kubeadm:node-proxier"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:node-proxier"},
            "subjects": [{"kind": "ServiceAccount", "name": "kube-proxy", "namespace": "kube-system"}],
        }),
        role: json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": "kube-proxy", "namespace": "kube-system"},
            "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["kube-proxy"]}],
        }),
        role_binding: json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "kube-proxy", "namespace": "kube-system"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "kube-proxy"},
            "subjects": [{"kind": "Group", "name": crate::componentconfigs::NODE_BOOTSTRAP_TOKEN_GROUP}],
        }),
        messages,
        warnings: warning.into_iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corefile_without_domain_has_plain_cache() {
        let c = corefile("");
        assert!(c.contains("    prometheus :9153\n"));
        assert!(c.contains("       max_concurrent 1000\n    }\n    cache 30\n    loop\n"));
        assert!(c.contains("kubernetes  in-addr.arpa"));
    }

    #[test]
    fn corefile_with_domain() {
        let c = corefile("cluster.local");
        assert!(c.contains("    cache 30 {\n       disable success cluster.local\n       disable denial cluster.local\n    }\n    loop\n"));
        assert!(c.ends_with("    loadbalance\n}\n"));
    }
}
