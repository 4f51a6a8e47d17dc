//! The `bootstrap-token` phase of `kubeadm init` (upstream `cmd/phases/init/bootstraptoken.go`,
//! `phases/bootstraptoken/node` and `phases/bootstraptoken/clusterinfo`): token Secrets, the RBAC
//! that lets bootstrap tokens get nodes / post CSRs / get them auto-approved, node certificate
//! rotation, the API server's kubelet client, and the `cluster-info` ConfigMap in `kube-public`
//! with anonymous read access.

use std::io::Write;

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Client;
use kubeadm_api::constants;
use kubeadm_api::v1beta4::BootstrapToken;
use kubeadm_manifests::kubeconfig::{Config as KubeConfig, NamedCluster};

use crate::apply;
use crate::client::ApiTimeouts;
use crate::error::{Error, Result};
use crate::token;

/// `rbac.authorization.k8s.io`.
pub const RBAC_GROUP: &str = "rbac.authorization.k8s.io";
/// `kube-public`.
pub const NAMESPACE_PUBLIC: &str = "kube-public";
/// `kube-system`.
pub const NAMESPACE_SYSTEM: &str = "kube-system";
/// `cluster-info` (bootstrapapi.ConfigMapClusterInfo).
pub const CLUSTER_INFO_CONFIG_MAP: &str = "cluster-info";
/// `kubeconfig` (bootstrapapi.KubeConfigKey).
pub const CLUSTER_INFO_KUBECONFIG_KEY: &str = "kubeconfig";
/// Role/RoleBinding for anonymous access to cluster-info (`BootstrapSignerClusterRoleName`).
pub const BOOTSTRAP_SIGNER_CLUSTER_ROLE_NAME: &str = "kubeadm:bootstrap-signer-clusterinfo";
/// `system:anonymous`.
pub const ANONYMOUS_USER: &str = "system:anonymous";

fn meta(name: &str, namespace: Option<&str>) -> ObjectMeta {
    ObjectMeta { name: Some(name.into()), namespace: namespace.map(Into::into), ..Default::default() }
}

/// An RBAC subject of kind Group, as upstream sends it (no `apiGroup`; the API server defaults
/// it to `rbac.authorization.k8s.io`).
pub fn group_subject(name: &str) -> Subject {
    Subject { api_group: None, kind: "Group".into(), name: name.into(), namespace: None }
}

/// An RBAC subject of kind User (no `apiGroup`, as upstream).
pub fn user_subject(name: &str) -> Subject {
    Subject { api_group: None, kind: "User".into(), name: name.into(), namespace: None }
}

fn role_ref(kind: &str, name: &str) -> RoleRef {
    RoleRef { api_group: Some(RBAC_GROUP.into()), kind: kind.into(), name: name.into() }
}

/// A ClusterRoleBinding `name` -> ClusterRole `role` for `subjects`.
pub fn cluster_role_binding(name: &str, role: &str, subjects: Vec<Subject>) -> ClusterRoleBinding {
    ClusterRoleBinding {
        metadata: meta(name, None),
        role_ref: role_ref("ClusterRole", role),
        subjects: Some(subjects),
    }
}

/// A Role allowing `get` on the ConfigMaps (or other `resource`) named `resource_names`.
pub fn get_role(name: &str, namespace: &str, resource: &str, resource_names: &[&str]) -> Role {
    Role {
        metadata: meta(name, Some(namespace)),
        rules: Some(vec![PolicyRule {
            verbs: vec!["get".into()],
            api_groups: Some(vec![String::new()]),
            resources: Some(vec![resource.into()]),
            resource_names: Some(resource_names.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        }]),
    }
}

/// A RoleBinding `name` -> Role `name` in `namespace` for `subjects`.
pub fn role_binding(name: &str, namespace: &str, subjects: Vec<Subject>) -> RoleBinding {
    RoleBinding {
        metadata: meta(name, Some(namespace)),
        role_ref: role_ref("Role", name),
        subjects: Some(subjects),
    }
}

/// ClusterRole `kubeadm:get-nodes` (get nodes).
pub fn get_nodes_cluster_role() -> ClusterRole {
    ClusterRole {
        metadata: meta(constants::GET_NODES_CLUSTER_ROLE_NAME, None),
        rules: Some(vec![PolicyRule {
            verbs: vec!["get".into()],
            api_groups: Some(vec![String::new()]),
            resources: Some(vec!["nodes".into()]),
            ..Default::default()
        }]),
        aggregation_rule: None,
    }
}

/// ClusterRoleBinding `kubeadm:get-nodes` for the default node token group.
pub fn get_nodes_cluster_role_binding() -> ClusterRoleBinding {
    cluster_role_binding(
        constants::GET_NODES_CLUSTER_ROLE_NAME,
        constants::GET_NODES_CLUSTER_ROLE_NAME,
        vec![group_subject(constants::NODE_BOOTSTRAP_TOKEN_AUTH_GROUP)],
    )
}

/// ClusterRoleBinding `kubeadm:kubelet-bootstrap` -> `system:node-bootstrapper`.
pub fn kubelet_bootstrap_binding() -> ClusterRoleBinding {
    cluster_role_binding(
        constants::NODE_KUBELET_BOOTSTRAP,
        constants::NODE_BOOTSTRAPPER_CLUSTER_ROLE_NAME,
        vec![group_subject(constants::NODE_BOOTSTRAP_TOKEN_AUTH_GROUP)],
    )
}

/// ClusterRoleBinding `kubeadm:node-autoapprove-bootstrap` -> `...:nodeclient`.
pub fn node_autoapprove_bootstrap_binding() -> ClusterRoleBinding {
    cluster_role_binding(
        constants::NODE_AUTO_APPROVE_BOOTSTRAP_CLUSTER_ROLE_BINDING,
        constants::CSR_AUTO_APPROVAL_CLUSTER_ROLE_NAME,
        vec![group_subject(constants::NODE_BOOTSTRAP_TOKEN_AUTH_GROUP)],
    )
}

/// ClusterRoleBinding `kubeadm:node-autoapprove-certificate-rotation` -> `...:selfnodeclient`
/// for `system:nodes`.
pub fn node_autoapprove_certificate_rotation_binding() -> ClusterRoleBinding {
    cluster_role_binding(
        constants::NODE_AUTO_APPROVE_CERTIFICATE_ROTATION_CLUSTER_ROLE_BINDING,
        constants::NODE_SELF_CSR_AUTO_APPROVAL_CLUSTER_ROLE_NAME,
        vec![group_subject(constants::NODES_GROUP)],
    )
}

/// ClusterRoleBinding `kubeadm:apiserver-kubelet-client` -> `system:kubelet-api-admin` for the
/// User `kube-apiserver-kubelet-client`.
pub fn apiserver_kubelet_client_binding() -> ClusterRoleBinding {
    cluster_role_binding(
        constants::KUBELET_API_ADMIN_CLUSTER_ROLE_BINDING_NAME,
        constants::KUBELET_API_ADMIN_CLUSTER_ROLE_NAME,
        vec![user_subject(constants::API_SERVER_KUBELET_CLIENT_CERT_COMMON_NAME)],
    )
}

/// The `cluster-info` kubeconfig: the current context's cluster of `admin` (CA made inline, as
/// `FlattenConfig` does) as the only cluster, named `""`; no contexts/users (upstream
/// `CreateBootstrapConfigMapIfNotExists`, serialized with `clientcmd.Write`).
pub fn cluster_info_kubeconfig(admin: &KubeConfig) -> Result<String> {
    let ctx = admin
        .context(&admin.current_context)
        .ok_or_else(|| Error::InvalidKubeconfig("invalid kubeconfig".into()))?;
    let mut cluster = admin.cluster(&ctx.cluster).cloned().ok_or_else(|| {
        Error::InvalidKubeconfig(format!("cluster {:?} of the current context not found", ctx.cluster))
    })?;
    if !cluster.certificate_authority.is_empty() {
        let path = std::path::PathBuf::from(&cluster.certificate_authority);
        let data = std::fs::read(&path).map_err(|e| Error::Kubeconfig { path, message: e.to_string() })?;
        cluster.certificate_authority_data = Some(data);
        cluster.certificate_authority = String::new();
    }
    let cfg =
        KubeConfig { clusters: vec![NamedCluster { name: String::new(), cluster }], ..Default::default() };
    cfg.to_yaml()
        .map_err(|e| Error::Marshal { what: "cluster-info kubeconfig".into(), message: e.to_string() })
}

/// The `kube-public/cluster-info` ConfigMap with the given kubeconfig.
pub fn cluster_info_config_map(kubeconfig: &str) -> ConfigMap {
    ConfigMap {
        metadata: meta(CLUSTER_INFO_CONFIG_MAP, Some(NAMESPACE_PUBLIC)),
        data: Some([(CLUSTER_INFO_KUBECONFIG_KEY.to_string(), kubeconfig.to_string())].into()),
        ..Default::default()
    }
}

/// Role + RoleBinding `kube-public/kubeadm:bootstrap-signer-clusterinfo` (anonymous get of cluster-info).
pub fn cluster_info_rbac() -> (Role, RoleBinding) {
    (
        get_role(
            BOOTSTRAP_SIGNER_CLUSTER_ROLE_NAME,
            NAMESPACE_PUBLIC,
            "configmaps",
            &[CLUSTER_INFO_CONFIG_MAP],
        ),
        role_binding(
            BOOTSTRAP_SIGNER_CLUSTER_ROLE_NAME,
            NAMESPACE_PUBLIC,
            vec![user_subject(ANONYMOUS_USER)],
        ),
    )
}

/// The console line announcing the tokens, as upstream (`Using token: <t>` for one, `Using tokens:
/// [a b]` for several); `None` when there are none. Contains the token secrets: print only
/// when `--skip-token-print` is not set.
pub fn using_tokens_line(tokens: &[BootstrapToken]) -> Option<String> {
    let t: Vec<String> =
        tokens.iter().map(|t| t.token.as_ref().map(|s| s.expose()).unwrap_or_default()).collect();
    match t.len() {
        0 => None,
        1 => Some(format!("[bootstrap-token] Using token: {}", t[0])),
        _ => Some(format!("[bootstrap-token] Using tokens: [{}]", t.join(" "))),
    }
}

/// Upstream `AllowBootstrapTokensToGetNodes`.
pub async fn allow_bootstrap_tokens_to_get_nodes(
    client: &Client,
    t: &ApiTimeouts,
    out: &mut (dyn Write + Send),
) -> Result<()> {
    writeln!(out, "[bootstrap-token] Configured RBAC rules to allow Node Bootstrap tokens to get nodes")?;
    apply::apply_cluster_role(client, &get_nodes_cluster_role(), t).await?;
    apply::apply_cluster_role_binding(client, &get_nodes_cluster_role_binding(), t).await
}

/// Upstream `AllowBootstrapTokensToPostCSRs`.
pub async fn allow_bootstrap_tokens_to_post_csrs(
    client: &Client,
    t: &ApiTimeouts,
    out: &mut (dyn Write + Send),
) -> Result<()> {
    writeln!(
        out,
        "[bootstrap-token] Configured RBAC rules to allow Node Bootstrap tokens to post CSRs in order for nodes to get long term certificate credentials"
    )?;
    apply::apply_cluster_role_binding(client, &kubelet_bootstrap_binding(), t).await
}

/// Upstream `AutoApproveNodeBootstrapTokens`.
pub async fn auto_approve_node_bootstrap_tokens(
    client: &Client,
    t: &ApiTimeouts,
    out: &mut (dyn Write + Send),
) -> Result<()> {
    writeln!(
        out,
        "[bootstrap-token] Configured RBAC rules to allow the csrapprover controller automatically approve CSRs from a Node Bootstrap Token"
    )?;
    apply::apply_cluster_role_binding(client, &node_autoapprove_bootstrap_binding(), t).await
}

/// Upstream `AutoApproveNodeCertificateRotation`.
pub async fn auto_approve_node_certificate_rotation(
    client: &Client,
    t: &ApiTimeouts,
    out: &mut (dyn Write + Send),
) -> Result<()> {
    writeln!(
        out,
        "[bootstrap-token] Configured RBAC rules to allow certificate rotation for all node client certificates in the cluster"
    )?;
    apply::apply_cluster_role_binding(client, &node_autoapprove_certificate_rotation_binding(), t).await
}

/// Upstream `AllowAPIServerToAccessKubeletAPI`.
pub async fn allow_apiserver_to_access_kubelet_api(
    client: &Client,
    t: &ApiTimeouts,
    out: &mut (dyn Write + Send),
) -> Result<()> {
    writeln!(
        out,
        "[bootstrap-token] Configured RBAC rules to allow the API server kubelet client certificate to access the kubelet API"
    )?;
    apply::apply_cluster_role_binding(client, &apiserver_kubelet_client_binding(), t).await
}

/// Upstream `CreateBootstrapConfigMapIfNotExists` (which, despite its name, creates or updates
/// the ConfigMap in v1.37.2).
pub async fn create_bootstrap_config_map(
    client: &Client,
    admin: &KubeConfig,
    t: &ApiTimeouts,
    out: &mut (dyn Write + Send),
) -> Result<()> {
    writeln!(
        out,
        "[bootstrap-token] Creating the \"{CLUSTER_INFO_CONFIG_MAP}\" ConfigMap in the \"{NAMESPACE_PUBLIC}\" namespace"
    )?;
    let kubeconfig = cluster_info_kubeconfig(admin)?;
    apply::apply_config_map(client, &cluster_info_config_map(&kubeconfig), t).await
}

/// Upstream `CreateClusterInfoRBACRules`.
pub async fn create_cluster_info_rbac_rules(client: &Client, t: &ApiTimeouts) -> Result<()> {
    let (role, binding) = cluster_info_rbac();
    apply::apply_role(client, &role, t).await?;
    apply::apply_role_binding(client, &binding, t).await
}

/// Options of [`run_bootstrap_token_phase`].
#[derive(Debug, Clone, Copy, Default)]
pub struct BootstrapTokenPhaseOptions {
    /// `--skip-token-print`: do not print `[bootstrap-token] Using token: ...`.
    pub skip_token_print: bool,
}

/// The whole `bootstrap-token` phase, in upstream's order and with its messages:
/// tokens (create or update), get-nodes RBAC, post-CSR RBAC, auto-approve, certificate rotation,
/// API server kubelet access, cluster-info ConfigMap and its RBAC. `admin` is the admin.conf
/// as loaded (not pointed at the local endpoint: `KubeConfigOriginal`), `tokens` the
/// InitConfiguration's `bootstrapTokens` (each with a token).
pub async fn run_bootstrap_token_phase(
    client: &Client,
    admin: &KubeConfig,
    tokens: &[BootstrapToken],
    opts: BootstrapTokenPhaseOptions,
    t: &ApiTimeouts,
    out: &mut (dyn Write + Send),
) -> Result<()> {
    if !opts.skip_token_print
        && let Some(line) = using_tokens_line(tokens)
    {
        writeln!(out, "{line}")?;
    }
    writeln!(out, "[bootstrap-token] Configuring bootstrap tokens, cluster-info ConfigMap, RBAC Roles")?;
    token::update_or_create_tokens(client, false, tokens, t).await?;
    allow_bootstrap_tokens_to_get_nodes(client, t, out).await?;
    allow_bootstrap_tokens_to_post_csrs(client, t, out).await?;
    auto_approve_node_bootstrap_tokens(client, t, out).await?;
    auto_approve_node_certificate_rotation(client, t, out).await?;
    allow_apiserver_to_access_kubelet_api(client, t, out).await?;
    create_bootstrap_config_map(client, admin, t, out).await?;
    create_cluster_info_rbac_rules(client, t).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rbac_objects() {
        assert_eq!(
            serde_json::to_value(get_nodes_cluster_role()).unwrap(),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "kubeadm:get-nodes"}, "rules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]}]})
        );
        let b = serde_json::to_value(node_autoapprove_certificate_rotation_binding()).unwrap();
        assert_eq!(
            b["roleRef"]["name"],
            "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient"
        );
        assert_eq!(b["subjects"], json!([{"kind": "Group", "name": "system:nodes"}]));
        let b = serde_json::to_value(apiserver_kubelet_client_binding()).unwrap();
        assert_eq!(b["metadata"]["name"], "kubeadm:apiserver-kubelet-client");
        assert_eq!(b["subjects"][0]["kind"], "User");
        let (role, rb) = cluster_info_rbac();
        assert_eq!(
            serde_json::to_value(role).unwrap(),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "kubeadm:bootstrap-signer-clusterinfo", "namespace": "kube-public"},
                   "rules": [{"apiGroups": [""], "resourceNames": ["cluster-info"], "resources": ["configmaps"], "verbs": ["get"]}]})
        );
        assert_eq!(
            serde_json::to_value(rb).unwrap()["subjects"],
            json!([{"kind": "User", "name": "system:anonymous"}])
        );
    }

    #[test]
    fn cluster_info_from_admin_conf() {
        let admin = kubeadm_manifests::kubeconfig::create_with_certs(
            "https://10.0.0.1:6443",
            "kubernetes",
            "kubernetes-admin",
            b"CA",
            b"KEY",
            b"CERT",
        );
        let kc = cluster_info_kubeconfig(&admin).unwrap();
        assert_eq!(
            kc,
            "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: Q0E=\n    server: https://10.0.0.1:6443\n  name: \"\"\ncontexts: null\ncurrent-context: \"\"\nkind: Config\nusers: null\n"
        );
        assert!(!kc.contains("S0VZ"), "no key");
    }

    #[test]
    fn using_tokens() {
        let bt = |s: &str| BootstrapToken {
            token: kubeadm_api::v1beta4::BootstrapTokenString::parse(s).ok(),
            ..Default::default()
        };
        assert_eq!(using_tokens_line(&[]), None);
        assert_eq!(
            using_tokens_line(&[bt("abcdef.0123456789abcdef")]).unwrap(),
            "[bootstrap-token] Using token: abcdef.0123456789abcdef"
        );
        assert_eq!(
            using_tokens_line(&[bt("abcdef.0123456789abcdef"), bt("bbcdef.0123456789abcdef")]).unwrap(),
            "[bootstrap-token] Using tokens: [abcdef.0123456789abcdef bbcdef.0123456789abcdef]"
        );
    }
}
