//! Component configs: `KubeletConfiguration` (`kubelet.config.k8s.io/v1beta1`) and
//! `KubeProxyConfiguration` (`kubeproxy.config.k8s.io/v1alpha1`) as upstream kubeadm v1.37.2
//! builds them (`cmd/kubeadm/app/componentconfigs`).
//!
//! Upstream decodes the user's document (or starts from an empty struct), applies kubeadm's
//! defaults (`Default`, plus the node-local `Mutate` for the kubelet: `resolvConf` when
//! systemd-resolved is active) and marshals the versioned Go struct. The component APIs' own
//! defaulting is *not* applied (the staging API packages register none), so every non-`omitempty`
//! field is printed as its zero value. [`schema`] reproduces the decode/encode round trip from the
//! field tables in [`types`].
//!
//! Also here: the component-config hash annotation (`ChecksumForConfigMap`), the
//! `kube-system/kubelet-config` ConfigMap and its RBAC (`upload-config kubelet`), and the documents
//! of `kubeadm config print init-defaults --component-configs ...`.
//!
//! Warnings that upstream logs through klog (`The recommended value for ... is: ...`) are returned
//! in [`ComponentConfig::warnings`] for the caller to print.

pub mod schema;
pub mod types;

use std::collections::BTreeMap;
use std::net::IpAddr;

use kubeadm_api::v1beta4::{ApiEndpoint, ClusterConfiguration};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use schema::{DecodeError, Ty};

/// API group of the kubelet's component config.
pub const KUBELET_GROUP: &str = "kubelet.config.k8s.io";
/// API group of kube-proxy's component config.
pub const KUBE_PROXY_GROUP: &str = "kubeproxy.config.k8s.io";
/// `apiVersion` of the KubeletConfiguration kubeadm writes.
pub const KUBELET_API_VERSION: &str = "kubelet.config.k8s.io/v1beta1";
/// `apiVersion` of the KubeProxyConfiguration kubeadm writes.
pub const KUBE_PROXY_API_VERSION: &str = "kubeproxy.config.k8s.io/v1alpha1";
/// Kind of the kubelet's component config.
pub const KUBELET_KIND: &str = "KubeletConfiguration";
/// Kind of kube-proxy's component config.
pub const KUBE_PROXY_KIND: &str = "KubeProxyConfiguration";
/// Annotation holding [`checksum_for_config_map`] on ConfigMaps kubeadm generated itself.
pub const COMPONENT_CONFIG_HASH_ANNOTATION: &str = "kubeadm.kubernetes.io/component-config.hash";
/// `resolvConf` set when systemd-resolved is active.
pub const SYSTEMD_RESOLVED_RESOLV_CONF: &str = "/run/systemd/resolve/resolv.conf";
/// `clientConnection.kubeconfig` of kube-proxy (inside the DaemonSet's Pods).
pub const KUBE_PROXY_KUBECONFIG_FILE: &str = "/var/lib/kube-proxy/kubeconfig.conf";
/// Name (and key prefix) of the cluster-wide kubelet ConfigMap.
pub const KUBELET_CONFIG_MAP: &str = "kubelet-config";
/// Data key of the kubelet ConfigMap.
pub const KUBELET_CONFIG_MAP_KEY: &str = "kubelet";
/// Role / RoleBinding giving nodes read access to the kubelet ConfigMap.
pub const KUBELET_CONFIG_MAP_ROLE: &str = "kubeadm:kubelet-config";
/// Group of all nodes.
pub const NODES_GROUP: &str = "system:nodes";
/// Group of bootstrap-token authenticated joining nodes.
pub const NODE_BOOTSTRAP_TOKEN_GROUP: &str = "system:bootstrappers:kubeadm:default-node-token";

const DEFAULT_CLUSTER_DNS_IP: &str = "10.96.0.10";
const MANIFESTS_DIR: &str = "/etc/kubernetes/manifests";
const KUBELET_HEALTHZ_BIND_ADDRESS: &str = "127.0.0.1";
const KUBELET_HEALTHZ_PORT: i64 = 10248;

/// Errors building a component config.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComponentConfigError {
    /// The document's group is known but its version is not (upstream
    /// `UnsupportedConfigVersionError`).
    #[error(
        "unsupported apiVersion {old:?}, you may have to do manual conversion to {current:?} and run kubeadm again"
    )]
    UnsupportedVersion {
        /// The document's `apiVersion`.
        old: String,
        /// The version kubeadm supports.
        current: String,
    },
    /// The document does not decode into the Go struct.
    #[error("could not decode {kind}: {source}")]
    Decode {
        /// `KubeletConfiguration` or `KubeProxyConfiguration`.
        kind: &'static str,
        /// Go-style message.
        source: DecodeError,
    },
    /// `--component-configs` named an unknown kind.
    #[error("--component-configs needs to contain some of [KubeProxyConfiguration KubeletConfiguration]")]
    UnknownKind(String),
}

/// Which component config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    /// `KubeletConfiguration`.
    Kubelet,
    /// `KubeProxyConfiguration`.
    KubeProxy,
}

impl Component {
    /// The `apiVersion` kubeadm supports.
    pub fn api_version(self) -> &'static str {
        match self {
            Component::Kubelet => KUBELET_API_VERSION,
            Component::KubeProxy => KUBE_PROXY_API_VERSION,
        }
    }

    /// The kind.
    pub fn kind(self) -> &'static str {
        match self {
            Component::Kubelet => KUBELET_KIND,
            Component::KubeProxy => KUBE_PROXY_KIND,
        }
    }

    fn group(self) -> &'static str {
        match self {
            Component::Kubelet => KUBELET_GROUP,
            Component::KubeProxy => KUBE_PROXY_GROUP,
        }
    }

    fn ty(self) -> Ty {
        match self {
            Component::Kubelet => Ty::Struct(types::KUBELET_CONFIGURATION),
            Component::KubeProxy => Ty::Struct(types::KUBE_PROXY_CONFIGURATION),
        }
    }

    /// Maps a `--component-configs` kind to the component (upstream `legacyKindToGroupMap`).
    pub fn from_kind(kind: &str) -> Result<Self, ComponentConfigError> {
        match kind {
            KUBELET_KIND => Ok(Component::Kubelet),
            KUBE_PROXY_KIND => Ok(Component::KubeProxy),
            other => Err(ComponentConfigError::UnknownKind(other.to_string())),
        }
    }
}

/// A defaulted component config: the Go struct (as "typed" JSON, see [`schema`]), whether the user
/// supplied it, and the warnings upstream logs while defaulting.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentConfig {
    /// Which component.
    pub component: Component,
    /// True when the document came from the user's `--config` (then upstream does not sign the
    /// ConfigMap with the hash annotation).
    pub user_supplied: bool,
    /// Warnings logged by upstream (klog `W` lines) in order, without the klog prefix.
    pub warnings: Vec<String>,
    typed: Value,
}

impl ComponentConfig {
    /// The object as upstream's `Marshal` prints it, as JSON (`apiVersion` and `kind` included).
    pub fn to_value(&self) -> Value {
        let mut v = schema::encode(&self.typed, &self.component.ty(), false).unwrap_or_else(|| json!({}));
        if let Value::Object(m) = &mut v {
            m.insert("apiVersion".into(), Value::String(self.component.api_version().into()));
            m.insert("kind".into(), Value::String(self.component.kind().into()));
        }
        v
    }

    /// The YAML upstream's `Marshal` produces (sigs.k8s.io/yaml).
    pub fn to_yaml(&self) -> String {
        to_yaml(&self.to_value())
    }

    /// A field of the Go struct (typed form; `None` when the path does not exist), by JSON pointer
    /// such as `/authentication/x509/clientCAFile`.
    pub fn get(&self, pointer: &str) -> Option<&Value> {
        self.typed.pointer(pointer)
    }

    /// The kubelet's node-local mutation (upstream `kubeletConfig.Mutate`, unix): with
    /// systemd-resolved active, `resolvConf` defaults to [`SYSTEMD_RESOLVED_RESOLV_CONF`] (a
    /// different user value is kept with a warning). A no-op for kube-proxy.
    pub fn mutate(&mut self, systemd_resolved_active: bool) {
        if self.component != Component::Kubelet || !systemd_resolved_active {
            return;
        }
        match self.typed.pointer("/resolvConf") {
            Some(Value::String(s)) if s != SYSTEMD_RESOLVED_RESOLV_CONF => {
                let w = recommended(KUBELET_KIND, "resolvConf", SYSTEMD_RESOLVED_RESOLV_CONF, s);
                self.warnings.push(w);
            }
            Some(Value::String(_)) => {}
            _ => set(&mut self.typed, "/resolvConf", json!(SYSTEMD_RESOLVED_RESOLV_CONF)),
        }
    }
}

/// Serializes a JSON value as YAML the way upstream does (sigs.k8s.io/yaml).
pub fn to_yaml(value: &Value) -> String {
    crate::goyaml::to_string(value)
}

fn recommended(
    kind: &str,
    param: &str,
    default: impl std::fmt::Display,
    user: impl std::fmt::Display,
) -> String {
    format!("The recommended value for {param:?} in {kind:?} is: {default}; the provided value is: {user}")
}

fn set(v: &mut Value, pointer: &str, value: Value) {
    if let Some(slot) = v.pointer_mut(pointer) {
        *slot = value;
    }
}

fn get_str<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// Go's `%v` of a `[]string`.
fn go_string_list(v: &Value) -> String {
    let items: Vec<String> = match v {
        Value::Array(a) => {
            a.iter().map(|e| e.as_str().map(str::to_string).unwrap_or_else(|| e.to_string())).collect()
        }
        _ => Vec::new(),
    };
    format!("[{}]", items.join(" "))
}

fn decode_user(
    component: Component,
    user: Option<&Value>,
) -> Result<(Value, Vec<String>, bool), ComponentConfigError> {
    let mut warnings = Vec::new();
    let mut unknown = Vec::new();
    if let Some(doc) = user {
        let api_version = doc.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        if api_version != component.api_version()
            && api_version.starts_with(&format!("{}/", component.group()))
        {
            return Err(ComponentConfigError::UnsupportedVersion {
                old: api_version.to_string(),
                current: component.api_version().to_string(),
            });
        }
    }
    // apiVersion/kind are TypeMeta, not fields of the table.
    let body = user.map(|doc| {
        let mut d = doc.clone();
        if let Value::Object(m) = &mut d {
            m.remove("apiVersion");
            m.remove("kind");
        }
        d
    });
    let typed = schema::decode(body.as_ref(), &component.ty(), "", &mut unknown)
        .map_err(|source| ComponentConfigError::Decode { kind: component.kind(), source })?;
    if !unknown.is_empty() {
        let fields: Vec<String> = unknown.iter().map(|f| format!("unknown field {f:?}")).collect();
        warnings.push(format!(
            "error unmarshaling configuration schema.GroupVersionKind{{Group:{:?}, Version:{:?}, Kind:{:?}}}: strict decoding error: {}",
            component.group(),
            component.api_version().rsplit('/').next().unwrap_or(""),
            component.kind(),
            fields.join(", ")
        ));
    }
    Ok((typed, warnings, user.is_some()))
}

/// The cluster DNS IP kubeadm puts into `clusterDNS`: the 10th address of the first service CIDR,
/// or `10.96.0.10` when the subnet does not parse (upstream `kubeletConfig.Default`).
pub fn cluster_dns_ip(cluster: &ClusterConfiguration) -> String {
    kubeadm_api::net::dns_ip(&cluster.networking.service_subnet)
        .map(|ip| ip.to_string())
        .unwrap_or_else(|_| DEFAULT_CLUSTER_DNS_IP.to_string())
}

/// Builds the KubeletConfiguration: the user's document (if any) decoded, then kubeadm's defaults
/// (upstream `kubeletConfig.Default`). The node-local [`ComponentConfig::mutate`] is separate: the
/// cluster-wide ConfigMap is built without it, `/var/lib/kubelet/config.yaml` with it.
pub fn kubelet_config(
    cluster: &ClusterConfiguration,
    user: Option<&Value>,
) -> Result<ComponentConfig, ComponentConfigError> {
    let (mut c, mut warnings, user_supplied) = decode_user(Component::Kubelet, user)?;
    let kind = KUBELET_KIND;

    if c.pointer("/featureGates").is_some_and(Value::is_null) {
        set(&mut c, "/featureGates", json!({}));
    }

    let spp = get_str(&c, "/staticPodPath").to_string();
    if spp.is_empty() {
        set(&mut c, "/staticPodPath", json!(MANIFESTS_DIR));
    } else if spp != MANIFESTS_DIR {
        warnings.push(recommended(kind, "staticPodPath", MANIFESTS_DIR, &spp));
    }

    let dns = cluster_dns_ip(cluster);
    match c.pointer("/clusterDNS").cloned() {
        None | Some(Value::Null) => set(&mut c, "/clusterDNS", json!([dns])),
        Some(list) => {
            let ok = matches!(&list, Value::Array(a) if a.len() == 1 && a[0].as_str() == Some(dns.as_str()));
            if !ok {
                warnings.push(recommended(kind, "clusterDNS", format!("[{dns}]"), go_string_list(&list)));
            }
        }
    }

    let domain = &cluster.networking.dns_domain;
    let cd = get_str(&c, "/clusterDomain").to_string();
    if cd.is_empty() {
        set(&mut c, "/clusterDomain", json!(domain));
    } else if !domain.is_empty() && &cd != domain {
        warnings.push(recommended(kind, "clusterDomain", domain, &cd));
    }

    let ca = crate::paths::join(&cluster.certificates_dir, "ca.crt");
    let cur = get_str(&c, "/authentication/x509/clientCAFile").to_string();
    if cur.is_empty() {
        set(&mut c, "/authentication/x509/clientCAFile", json!(ca));
    } else if cur != ca {
        warnings.push(recommended(kind, "authentication.x509.clientCAFile", &ca, &cur));
    }

    match c.pointer("/authentication/anonymous/enabled").and_then(Value::as_bool) {
        None => set(&mut c, "/authentication/anonymous/enabled", json!(false)),
        Some(true) => warnings.push(recommended(kind, "authentication.anonymous.enabled", false, true)),
        Some(false) => {}
    }

    let mode = get_str(&c, "/authorization/mode").to_string();
    if mode.is_empty() {
        set(&mut c, "/authorization/mode", json!("Webhook"));
    } else if mode != "Webhook" {
        warnings.push(recommended(kind, "authorization.mode", "Webhook", &mode));
    }

    match c.pointer("/authentication/webhook/enabled").and_then(Value::as_bool) {
        None => set(&mut c, "/authentication/webhook/enabled", json!(true)),
        Some(false) => warnings.push(recommended(kind, "authentication.webhook.enabled", true, false)),
        Some(true) => {}
    }

    let hba = get_str(&c, "/healthzBindAddress").to_string();
    if hba.is_empty() {
        set(&mut c, "/healthzBindAddress", json!(KUBELET_HEALTHZ_BIND_ADDRESS));
    } else if hba != KUBELET_HEALTHZ_BIND_ADDRESS {
        warnings.push(recommended(kind, "healthzBindAddress", KUBELET_HEALTHZ_BIND_ADDRESS, &hba));
    }

    match c.pointer("/healthzPort").and_then(Value::as_i64) {
        None => set(&mut c, "/healthzPort", json!(KUBELET_HEALTHZ_PORT)),
        Some(p) if p != KUBELET_HEALTHZ_PORT => {
            warnings.push(recommended(kind, "healthzPort", KUBELET_HEALTHZ_PORT, p));
        }
        Some(_) => {}
    }

    let ro = c.pointer("/readOnlyPort").and_then(Value::as_i64).unwrap_or(0);
    if ro != 0 {
        warnings.push(recommended(kind, "readOnlyPort", 0, ro));
    }

    set(&mut c, "/rotateCertificates", json!(true));

    if get_str(&c, "/cgroupDriver").is_empty() {
        set(&mut c, "/cgroupDriver", json!("systemd"));
    }

    Ok(ComponentConfig { component: Component::Kubelet, user_supplied, warnings, typed: c })
}

fn proxy_default_bind_address(address: &str) -> &'static str {
    match kubeadm_api::net::parse_ip_sloppy(address) {
        Some(IpAddr::V4(_)) => "0.0.0.0",
        Some(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_some() => "0.0.0.0",
        _ => "::",
    }
}

/// Builds the KubeProxyConfiguration: the user's document (if any) decoded, then kubeadm's
/// defaults (upstream `kubeProxyConfig.Default`): `bindAddress` from the advertise address family,
/// `clusterCIDR` from the pod subnet, `clientConnection.kubeconfig`, `mode: iptables`.
pub fn kube_proxy_config(
    cluster: &ClusterConfiguration,
    local_api_endpoint: &ApiEndpoint,
    user: Option<&Value>,
) -> Result<ComponentConfig, ComponentConfigError> {
    let (mut c, mut warnings, user_supplied) = decode_user(Component::KubeProxy, user)?;
    let kind = KUBE_PROXY_KIND;

    if c.pointer("/featureGates").is_some_and(Value::is_null) {
        set(&mut c, "/featureGates", json!({}));
    }

    let bind = get_str(&c, "/bindAddress").to_string();
    if bind.is_empty() {
        set(&mut c, "/bindAddress", json!(proxy_default_bind_address(&local_api_endpoint.advertise_address)));
    } else if bind == "0.0.0.0" || bind == "::" {
        // wildcard: fine
    } else if kubeadm_api::net::parse_ip_sloppy(&bind).is_none() {
        warnings.push(format!("The bindAddress {bind:?} in {kind:?} is not a valid IP address"));
    } else {
        warnings.push(recommended(kind, "bindAddress", proxy_default_bind_address(&bind), &bind));
    }

    let pod_subnet = &cluster.networking.pod_subnet;
    let cidr = get_str(&c, "/clusterCIDR").to_string();
    if cidr.is_empty() && !pod_subnet.is_empty() {
        set(&mut c, "/clusterCIDR", json!(pod_subnet));
    } else if !pod_subnet.is_empty() && &cidr != pod_subnet {
        warnings.push(recommended(kind, "clusterCIDR", pod_subnet, &cidr));
    }

    let kc = get_str(&c, "/clientConnection/kubeconfig").to_string();
    if kc.is_empty() {
        set(&mut c, "/clientConnection/kubeconfig", json!(KUBE_PROXY_KUBECONFIG_FILE));
    } else if kc != KUBE_PROXY_KUBECONFIG_FILE {
        warnings.push(recommended(kind, "clientConnection.kubeconfig", KUBE_PROXY_KUBECONFIG_FILE, &kc));
    }

    let mode = get_str(&c, "/mode").to_string();
    if mode == "ipvs" {
        warnings.push(format!(
            "The {kind:?} field \"mode\" is set to \"ipvs\" which has been deprecated since version v1.35. \
             For newer Linux kernel versions, we recommend using the \"nftables\" mode, which has been GA since v1.33. \
             For older Linux kernel versions, you can use the \"iptables\" mode which is still the default one."
        ));
    }
    if mode.is_empty() {
        set(&mut c, "/mode", json!("iptables"));
    }

    Ok(ComponentConfig { component: Component::KubeProxy, user_supplied, warnings, typed: c })
}

/// Upstream `ChecksumForConfigMap`: SHA-256 over the `data` values in key order, then the
/// `binaryData` values in key order (keys themselves are not hashed), as `sha256:<hex>`.
pub fn checksum_for_config_map(
    data: &BTreeMap<String, String>,
    binary_data: &BTreeMap<String, Vec<u8>>,
) -> String {
    let mut h = Sha256::new();
    for v in data.values() {
        h.update(v.as_bytes());
    }
    for v in binary_data.values() {
        h.update(v);
    }
    let digest = h.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Adds the [`COMPONENT_CONFIG_HASH_ANNOTATION`] to a ConfigMap object (upstream `SignConfigMap`);
/// the hash covers its `data` (string values) and `binaryData` (base64, decoded).
pub fn sign_config_map(cm: &mut Value) {
    let data: BTreeMap<String, String> = cm
        .get("data")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string())).collect())
        .unwrap_or_default();
    let binary: BTreeMap<String, Vec<u8>> = cm
        .get("binaryData")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    use base64::Engine as _;
                    let raw = base64::engine::general_purpose::STANDARD
                        .decode(v.as_str().unwrap_or(""))
                        .unwrap_or_default();
                    (k.clone(), raw)
                })
                .collect()
        })
        .unwrap_or_default();
    let sum = checksum_for_config_map(&data, &binary);
    if let Some(meta) = cm.get_mut("metadata").and_then(Value::as_object_mut) {
        let ann = meta.entry("annotations").or_insert_with(|| json!({}));
        if let Value::Object(a) = ann {
            a.insert(COMPONENT_CONFIG_HASH_ANNOTATION.into(), Value::String(sum));
        }
    }
}

/// The line upstream prints before creating the kubelet ConfigMap.
pub fn msg_creating_kubelet_config_map() -> String {
    format!(
        "[kubelet] Creating a ConfigMap {KUBELET_CONFIG_MAP:?} in namespace kube-system with the configuration for the kubelets in the cluster"
    )
}

/// The objects of `upload-config kubelet` (upstream `kubelet.CreateConfigMap`), in creation
/// order: ConfigMap `kube-system/kubelet-config` (data `kubelet` = [`ComponentConfig::to_yaml`],
/// signed unless user-supplied), Role and RoleBinding `kube-system/kubeadm:kubelet-config`.
pub fn kubelet_config_map_objects(kubelet: &ComponentConfig) -> Vec<Value> {
    let mut cm = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": KUBELET_CONFIG_MAP, "namespace": "kube-system"},
        "data": {KUBELET_CONFIG_MAP_KEY: kubelet.to_yaml()},
    });
    if !kubelet.user_supplied {
        sign_config_map(&mut cm);
    }
    let role = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": KUBELET_CONFIG_MAP_ROLE, "namespace": "kube-system"},
        "rules": [{
            "verbs": ["get"],
            "apiGroups": [""],
            "resources": ["configmaps"],
            "resourceNames": [KUBELET_CONFIG_MAP],
        }],
    });
    let binding = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": KUBELET_CONFIG_MAP_ROLE, "namespace": "kube-system"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": KUBELET_CONFIG_MAP_ROLE},
        "subjects": [
            {"kind": "Group", "name": NODES_GROUP},
            {"kind": "Group", "name": NODE_BOOTSTRAP_TOKEN_GROUP},
        ],
    });
    vec![cm, role, binding]
}

/// The defaulted document of one component for `kubeadm config print init-defaults
/// --component-configs` (upstream `getDefaultComponentConfigBytes`: built from the static init
/// defaults, advertise address `1.2.3.4`).
pub fn default_component_config_yaml(kind: &str) -> Result<String, ComponentConfigError> {
    let (init, cluster) = kubeadm_api::print::init_defaults();
    let cfg = match Component::from_kind(kind)? {
        Component::Kubelet => kubelet_config(&cluster, None)?,
        Component::KubeProxy => kube_proxy_config(&cluster, &init.local_api_endpoint, None)?,
    };
    Ok(cfg.to_yaml())
}

/// `config print init-defaults|join-defaults` output with `--component-configs`: the base
/// document(s) then each requested component config in the given order, joined by `---\n`
/// (upstream `runConfigPrintActionDefaults`). All kinds are checked before anything is built.
pub fn print_with_component_configs(base: &str, kinds: &[String]) -> Result<String, ComponentConfigError> {
    for k in kinds {
        Component::from_kind(k)?;
    }
    let mut parts = vec![base.to_string()];
    for k in kinds {
        parts.push(default_component_config_yaml(k)?);
    }
    Ok(parts.join("---\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubeadm_api::load::default_cluster_configuration;

    fn cluster() -> ClusterConfiguration {
        kubeadm_api::print::init_defaults().1
    }

    #[test]
    fn kubelet_defaults_match_upstream_print() {
        let k = kubelet_config(&cluster(), None).unwrap();
        assert!(k.warnings.is_empty());
        assert!(!k.user_supplied);
        let y = k.to_yaml();
        assert!(y.starts_with("apiVersion: kubelet.config.k8s.io/v1beta1\nauthentication:\n  anonymous:\n    enabled: false\n"), "{y}");
        assert!(y.contains(
            "clusterDNS:\n- 10.96.0.10\nclusterDomain: cluster.local\ncontainerRuntimeEndpoint: \"\"\n"
        ));
        assert!(!y.contains("resolvConf"));
        assert!(!y.contains("featureGates"));
    }

    #[test]
    fn kubelet_mutate_sets_resolv_conf() {
        let mut k = kubelet_config(&cluster(), None).unwrap();
        k.mutate(false);
        assert!(!k.to_yaml().contains("resolvConf"));
        k.mutate(true);
        assert!(k.to_yaml().contains("resolvConf: /run/systemd/resolve/resolv.conf\n"));
        let user = json!({"apiVersion": KUBELET_API_VERSION, "kind": KUBELET_KIND, "resolvConf": "/etc/r"});
        let mut k = kubelet_config(&cluster(), Some(&user)).unwrap();
        k.mutate(true);
        assert_eq!(k.get("/resolvConf"), Some(&json!("/etc/r")));
        assert_eq!(
            k.warnings,
            vec![
                "The recommended value for \"resolvConf\" in \"KubeletConfiguration\" is: /run/systemd/resolve/resolv.conf; the provided value is: /etc/r"
            ]
        );
    }

    #[test]
    fn kubelet_user_values_and_warnings() {
        let mut c = cluster();
        c.networking.service_subnet = "10.100.0.0/16,fd00::/108".into();
        c.networking.dns_domain = "example.org".into();
        let user = json!({
            "apiVersion": KUBELET_API_VERSION, "kind": KUBELET_KIND,
            "clusterDNS": ["1.1.1.1", "8.8.8.8"], "cgroupDriver": "cgroupfs", "syncFrequency": "90s",
            "authentication": {"anonymous": {"enabled": true}}, "readOnlyPort": 10255, "bogus": 1,
            "featureGates": {}, "clusterDomain": "other.org",
        });
        let k = kubelet_config(&c, Some(&user)).unwrap();
        assert!(k.user_supplied);
        let v = k.to_value();
        assert_eq!(v["clusterDNS"], json!(["1.1.1.1", "8.8.8.8"]));
        assert_eq!(v["cgroupDriver"], "cgroupfs");
        assert_eq!(v["syncFrequency"], "1m30s");
        assert_eq!(v["readOnlyPort"], 10255);
        assert!(v.get("featureGates").is_none());
        assert!(v.get("bogus").is_none());
        assert_eq!(k.warnings, vec![
            "error unmarshaling configuration schema.GroupVersionKind{Group:\"kubelet.config.k8s.io\", Version:\"v1beta1\", Kind:\"KubeletConfiguration\"}: strict decoding error: unknown field \"bogus\"".to_string(),
            "The recommended value for \"clusterDNS\" in \"KubeletConfiguration\" is: [10.100.0.10]; the provided value is: [1.1.1.1 8.8.8.8]".into(),
            "The recommended value for \"clusterDomain\" in \"KubeletConfiguration\" is: example.org; the provided value is: other.org".into(),
            "The recommended value for \"authentication.anonymous.enabled\" in \"KubeletConfiguration\" is: false; the provided value is: true".into(),
            "The recommended value for \"readOnlyPort\" in \"KubeletConfiguration\" is: 0; the provided value is: 10255".into(),
        ]);
    }

    #[test]
    fn unsupported_version() {
        let user = json!({"apiVersion": "kubelet.config.k8s.io/v1alpha1", "kind": KUBELET_KIND});
        let e = kubelet_config(&cluster(), Some(&user)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unsupported apiVersion \"kubelet.config.k8s.io/v1alpha1\", you may have to do manual conversion to \"kubelet.config.k8s.io/v1beta1\" and run kubeadm again"
        );
    }

    #[test]
    fn kube_proxy_defaults() {
        let mut c = default_cluster_configuration();
        c.networking.pod_subnet = "10.244.0.0/16".into();
        let ep = ApiEndpoint { advertise_address: "fd00::5".into(), bind_port: 6443 };
        let p = kube_proxy_config(&c, &ep, None).unwrap();
        let v = p.to_value();
        assert_eq!(v["bindAddress"], "::");
        assert_eq!(v["clusterCIDR"], "10.244.0.0/16");
        assert_eq!(v["mode"], "iptables");
        assert_eq!(v["clientConnection"]["kubeconfig"], KUBE_PROXY_KUBECONFIG_FILE);
        let ep4 = ApiEndpoint { advertise_address: "10.0.0.1".into(), bind_port: 6443 };
        let user = json!({"apiVersion": KUBE_PROXY_API_VERSION, "kind": KUBE_PROXY_KIND, "mode": "ipvs", "bindAddress": "10.1.1.1"});
        let p = kube_proxy_config(&c, &ep4, Some(&user)).unwrap();
        assert_eq!(p.to_value()["mode"], "ipvs");
        assert_eq!(p.warnings.len(), 2);
        assert_eq!(
            p.warnings[0],
            "The recommended value for \"bindAddress\" in \"KubeProxyConfiguration\" is: 0.0.0.0; the provided value is: 10.1.1.1"
        );
    }

    #[test]
    fn checksum_hashes_values_in_key_order() {
        let mut d = BTreeMap::new();
        d.insert("b".to_string(), "world".to_string());
        d.insert("a".to_string(), "hello ".to_string());
        // sha256("hello world")
        assert_eq!(
            checksum_for_config_map(&d, &BTreeMap::new()),
            "sha256:b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
        );
    }

    #[test]
    fn unknown_component_kind() {
        let e = print_with_component_configs("x", &["Foo".into()]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--component-configs needs to contain some of [KubeProxyConfiguration KubeletConfiguration]"
        );
    }
}
