//! Serializing configurations back to YAML like upstream (`kubeadm config print init-defaults`,
//! `join-defaults`, `reset-defaults`, `upgrade-defaults`, `config migrate`, the `kubeadm-config`
//! ConfigMap): Go's JSON encoding (see [`crate::v1beta4`]) converted to YAML with sorted keys, as
//! sigs.k8s.io/yaml does, using go-yaml v2's layout (sequences not indented under their key,
//! double-quoted strings only where needed), documents joined with `---\n`.

use serde::Serialize;
use serde_json::Value;

use crate::constants;
use crate::load;
use crate::v1beta4::{
    BootstrapTokenDiscovery, BootstrapTokenString, ClusterConfiguration, InitConfiguration, JoinConfiguration,
};

/// The placeholder token printed by `config print` (`PlaceholderToken`).
pub const PLACEHOLDER_TOKEN: &str = "abcdef.0123456789abcdef";

/// Error serializing an object (should not happen for this crate's types).
#[derive(Debug, thiserror::Error)]
#[error("failed to marshal {what}: {message}")]
pub struct PrintError {
    /// What was being serialized.
    pub what: &'static str,
    /// serde message.
    pub message: String,
}

fn needs_quotes(s: &str) -> bool {
    if s.is_empty() || s.trim() != s {
        return true;
    }
    let lower = s.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "true"
            | "false"
            | "yes"
            | "no"
            | "on"
            | "off"
            | "y"
            | "n"
            | "null"
            | "~"
            | ".inf"
            | "-.inf"
            | "+.inf"
            | ".nan"
    ) {
        return true;
    }
    // numbers (ints, floats, hex, octal, with underscores as YAML 1.1 allows)
    let num = s.trim_start_matches(['-', '+']).replace('_', "");
    if !num.is_empty()
        && (num.parse::<f64>().is_ok()
            || num
                .strip_prefix("0x")
                .is_some_and(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit()))
            || num
                .strip_prefix("0o")
                .is_some_and(|o| !o.is_empty() && o.chars().all(|c| ('0'..='7').contains(&c))))
        && !num.contains(':')
    {
        return true;
    }
    // sexagesimal like 1:20 (YAML 1.1)
    if s.contains(':') && s.split(':').all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit())) {
        return true;
    }
    let first = s.chars().next().unwrap_or(' ');
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        // "-x" is a plain scalar in go-yaml, but "- x" / "-" are not
        if first == '-' && s.len() > 1 && !s.starts_with("- ") && !s.starts_with("---") {
            return false;
        }
        return true;
    }
    s.contains(": ") || s.contains(" #") || s.ends_with(':') || s.chars().any(|c| c.is_control())
}

fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\x{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::Null => Some("null".into()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(if needs_quotes(s) { quote(s) } else { s.clone() }),
        Value::Array(a) if a.is_empty() => Some("[]".into()),
        Value::Object(o) if o.is_empty() => Some("{}".into()),
        _ => None,
    }
}

fn sorted(o: &serde_json::Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut v: Vec<_> = o.iter().collect();
    v.sort_by(|a, b| a.0.cmp(b.0));
    v
}

fn emit_key(k: &str) -> String {
    if needs_quotes(k) { quote(k) } else { k.to_string() }
}

fn emit(v: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(o) => {
            for (k, val) in sorted(o) {
                out.push_str(&pad);
                out.push_str(&emit_key(k));
                out.push(':');
                match scalar(val) {
                    Some(s) => {
                        out.push(' ');
                        out.push_str(&s);
                        out.push('\n');
                    }
                    None => {
                        out.push('\n');
                        match val {
                            Value::Array(_) => emit(val, indent, out),
                            _ => emit(val, indent + 2, out),
                        }
                    }
                }
            }
        }
        Value::Array(a) => {
            for item in a {
                out.push_str(&pad);
                out.push('-');
                match scalar(item) {
                    Some(s) => {
                        out.push(' ');
                        out.push_str(&s);
                        out.push('\n');
                    }
                    None => {
                        // Render the nested block at indent+2, then put its first line after "- ".
                        let mut inner = String::new();
                        emit(item, indent + 2, &mut inner);
                        out.push(' ');
                        out.push_str(&inner[indent + 2..]);
                    }
                }
            }
        }
        other => {
            out.push_str(&pad);
            out.push_str(&scalar(other).unwrap_or_default());
            out.push('\n');
        }
    }
}

/// Renders a JSON value as YAML the way sigs.k8s.io/yaml (go-yaml v2) does.
pub fn value_to_yaml(v: &Value) -> String {
    let mut out = String::new();
    emit(v, 0, &mut out);
    out
}

/// Serializes an object with Go's JSON rules and renders it as YAML with sorted keys.
pub fn to_yaml<T: Serialize>(obj: &T) -> Result<String, PrintError> {
    let v = serde_json::to_value(obj).map_err(|e| PrintError { what: "object", message: e.to_string() })?;
    Ok(value_to_yaml(&v))
}

/// `MarshalInitConfigurationToBytes`: InitConfiguration and ClusterConfiguration, joined by `---`.
pub fn marshal_init_configuration(
    init: &InitConfiguration,
    cluster: &ClusterConfiguration,
) -> Result<String, PrintError> {
    let mut i = init.clone();
    let mut c = cluster.clone();
    i.api_version = crate::v1beta4::API_VERSION.into();
    i.kind = constants::INIT_CONFIGURATION_KIND.into();
    c.api_version = crate::v1beta4::API_VERSION.into();
    c.kind = constants::CLUSTER_CONFIGURATION_KIND.into();
    Ok(format!("{}{}{}", to_yaml(&i)?, constants::YAML_DOCUMENT_SEPARATOR, to_yaml(&c)?))
}

/// The configuration printed by `kubeadm config print init-defaults` (`DefaultedStaticInitConfiguration`):
/// placeholder token, advertise address `1.2.3.4`, node name `node`, default CRI socket, and
/// `kubernetesVersion` = `CurrentKubernetesVersion` without `v` (`1.37.0`).
pub fn init_defaults() -> (InitConfiguration, ClusterConfiguration) {
    let mut i = InitConfiguration::default();
    i.local_api_endpoint.advertise_address = "1.2.3.4".into();
    // PLACEHOLDER_TOKEN is a valid token literal.
    let bt = crate::v1beta4::BootstrapToken {
        token: BootstrapTokenString::parse(PLACEHOLDER_TOKEN).ok(),
        ..Default::default()
    };
    i.bootstrap_tokens = vec![bt];
    i.node_registration.cri_socket = constants::DEFAULT_CRI_SOCKET.into();
    i.node_registration.name = "node".into();
    i.api_version = crate::v1beta4::API_VERSION.into();
    i.kind = constants::INIT_CONFIGURATION_KIND.into();
    crate::defaults::set_defaults_init_configuration(&mut i);
    let mut c = ClusterConfiguration {
        kubernetes_version: constants::CURRENT_KUBERNETES_VERSION.trim_start_matches('v').to_string(),
        ..Default::default()
    };
    c.api_version = crate::v1beta4::API_VERSION.into();
    c.kind = constants::CLUSTER_CONFIGURATION_KIND.into();
    crate::defaults::set_defaults_cluster_configuration(&mut c);
    (i, c)
}

/// Output of `kubeadm config print init-defaults` (without component configs).
pub fn print_init_defaults() -> Result<String, PrintError> {
    let (i, c) = init_defaults();
    marshal_init_configuration(&i, &c)
}

/// The configuration printed by `kubeadm config print join-defaults`: placeholder token,
/// `kube-apiserver:6443`, unsafe skip CA verification, and the node name from the hostname
/// (`node_name`, lowercased by the caller's facts) and the default CRI socket.
pub fn join_defaults(hostname: &str) -> JoinConfiguration {
    let mut j = load::default_join_configuration();
    j.discovery.bootstrap_token = Some(BootstrapTokenDiscovery {
        token: PLACEHOLDER_TOKEN.into(),
        api_server_endpoint: "kube-apiserver:6443".into(),
        unsafe_skip_ca_verification: true,
        ..Default::default()
    });
    crate::defaults::set_defaults_discovery(&mut j.discovery);
    j.node_registration.name = hostname.trim().to_lowercase();
    j.node_registration.cri_socket = constants::DEFAULT_CRI_SOCKET.into();
    j
}

/// Output of `kubeadm config print join-defaults`.
pub fn print_join_defaults(hostname: &str) -> Result<String, PrintError> {
    to_yaml(&join_defaults(hostname))
}

/// Output of `kubeadm config print reset-defaults`.
pub fn print_reset_defaults() -> Result<String, PrintError> {
    let mut r = load::default_reset_configuration();
    r.cri_socket = constants::DEFAULT_CRI_SOCKET.into();
    to_yaml(&r)
}

/// Output of `kubeadm config print upgrade-defaults`.
pub fn print_upgrade_defaults() -> Result<String, PrintError> {
    to_yaml(&load::default_upgrade_configuration())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const EXPECTED_INIT: &str = "apiVersion: kubeadm.k8s.io/v1beta4
bootstrapTokens:
- groups:
  - system:bootstrappers:kubeadm:default-node-token
  token: abcdef.0123456789abcdef
  ttl: 24h0m0s
  usages:
  - signing
  - authentication
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: 1.2.3.4
  bindPort: 6443
nodeRegistration:
  criSocket: unix:///var/run/containerd/containerd.sock
  imagePullPolicy: IfNotPresent
  imagePullSerial: true
  name: node
  taints: null
timeouts:
  controlPlaneComponentHealthCheck: 4m0s
  discovery: 5m0s
  etcdAPICall: 2m0s
  kubeletHealthCheck: 4m0s
  kubernetesAPICall: 1m0s
  tlsBootstrap: 5m0s
  upgradeManifests: 5m0s
---
apiServer: {}
apiVersion: kubeadm.k8s.io/v1beta4
caCertificateValidityPeriod: 87600h0m0s
certificateValidityPeriod: 8760h0m0s
certificatesDir: /etc/kubernetes/pki
clusterName: kubernetes
controllerManager: {}
dns: {}
encryptionAlgorithm: RSA-2048
etcd:
  local:
    dataDir: /var/lib/etcd
imageRepository: registry.k8s.io
kind: ClusterConfiguration
kubernetesVersion: 1.37.0
networking:
  dnsDomain: cluster.local
  serviceSubnet: 10.96.0.0/12
proxy: {}
scheduler: {}
";

    #[test]
    fn init_defaults_match_upstream_layout() {
        assert_eq!(print_init_defaults().unwrap(), EXPECTED_INIT);
    }

    #[test]
    fn round_trip() {
        let b = load::load_init_config(EXPECTED_INIT).unwrap();
        assert!(b.warnings.is_empty());
        assert_eq!(marshal_init_configuration(&b.init, &b.cluster).unwrap(), EXPECTED_INIT);
    }

    #[test]
    fn join_defaults_print() {
        let s = print_join_defaults("MyHost").unwrap();
        assert!(s.contains("discovery:\n  bootstrapToken:\n    apiServerEndpoint: kube-apiserver:6443\n    token: abcdef.0123456789abcdef\n    unsafeSkipCAVerification: true\n  tlsBootstrapToken: abcdef.0123456789abcdef\n"), "{s}");
        assert!(s.contains("caCertPath: /etc/kubernetes/pki/ca.crt\n"));
        assert!(s.contains("  name: myhost\n  taints: null\n"), "{s}");
        let j = load::load_join_config(&s).unwrap();
        assert!(j.warnings.is_empty());
    }

    #[test]
    fn reset_upgrade_print() {
        let r = print_reset_defaults().unwrap();
        assert!(r.starts_with("apiVersion: kubeadm.k8s.io/v1beta4\ncertificatesDir: /etc/kubernetes/pki\ncriSocket: unix:///var/run/containerd/containerd.sock\nkind: ResetConfiguration\ntimeouts:\n"), "{r}");
        let u = print_upgrade_defaults().unwrap();
        assert!(u.contains("apply:\n  certificateRenewal: true\n  etcdUpgrade: true\n  imagePullPolicy: IfNotPresent\n  imagePullSerial: true\n"), "{u}");
        assert!(u.contains("diff: {}\n"), "{u}");
    }

    #[test]
    fn quoting() {
        let v = serde_json::json!({"a": "2", "b": "", "c": "true", "d": "x: y", "e": "-x", "f": ["1", {"g": "*", "h": [] }]});
        assert_eq!(
            value_to_yaml(&v),
            "a: \"2\"\nb: \"\"\nc: \"true\"\nd: \"x: y\"\ne: -x\nf:\n- \"1\"\n- g: \"*\"\n  h: []\n"
        );
        let back: serde_json::Value = serde_yaml::from_str(&value_to_yaml(&v)).unwrap();
        assert_eq!(back, v);
    }
}
