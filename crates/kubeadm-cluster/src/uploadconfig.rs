//! The `upload-config` phase: `kubeadm` (upstream `phases/uploadconfig`): the `kubeadm-config`
//! ConfigMap with the ClusterConfiguration and the Role/RoleBinding `kubeadm:nodes-kubeadm-config`;
//! and the ConfigMap half of `kubelet` (upstream `phases/kubelet.CreateConfigMap`) for a
//! KubeletConfiguration rendered elsewhere: [`upload_kubelet_config`].

use std::io::Write;

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Client;
use kube::api::Api;
use kubeadm_api::constants;
use kubeadm_api::v1beta4::ClusterConfiguration;
use sha2::{Digest, Sha256};

use crate::apply;
use crate::bootstrap::{NAMESPACE_SYSTEM, get_role, group_subject, role_binding};
use crate::client::ApiTimeouts;
use crate::error::{Error, Result};

/// `kubeadm:nodes-kubeadm-config` (`NodesKubeadmConfigClusterRoleName`).
pub const NODES_KUBEADM_CONFIG_CLUSTER_ROLE_NAME: &str = "kubeadm:nodes-kubeadm-config";

/// The `ClusterConfiguration` document stored in `kubeadm-config`: the configuration with
/// `apiVersion: kubeadm.k8s.io/v1beta4` / `kind: ClusterConfiguration`, marshalled like upstream
/// (`MarshalKubeadmConfigObject`). The caller passes the defaulted configuration of the run.
pub fn cluster_configuration_yaml(cfg: &ClusterConfiguration) -> Result<String> {
    let mut c = cfg.clone();
    c.api_version = kubeadm_api::v1beta4::API_VERSION.into();
    c.kind = constants::CLUSTER_CONFIGURATION_KIND.into();
    kubeadm_api::print::to_yaml(&c)
        .map_err(|e| Error::Marshal { what: "ClusterConfiguration".into(), message: e.to_string() })
}

/// The `kube-system/kubeadm-config` ConfigMap.
pub fn kubeadm_config_config_map(cluster_configuration_yaml: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(constants::KUBEADM_CONFIG_CONFIG_MAP.into()),
            namespace: Some(NAMESPACE_SYSTEM.into()),
            ..Default::default()
        },
        data: Some(
            [(
                constants::CLUSTER_CONFIGURATION_CONFIG_MAP_KEY.to_string(),
                cluster_configuration_yaml.to_string(),
            )]
            .into(),
        ),
        ..Default::default()
    }
}

/// Upstream `UploadConfiguration`: prints `[upload-config] Storing the configuration used in
/// ConfigMap "kubeadm-config" in the "kube-system" Namespace`, creates the ConfigMap (or replaces
/// its `ClusterConfiguration` key, keeping other keys), then the Role and RoleBinding
/// `kubeadm:nodes-kubeadm-config` (default node token group + `system:nodes`).
pub async fn upload_configuration(
    client: &Client,
    cfg: &ClusterConfiguration,
    t: &ApiTimeouts,
    out: &mut (dyn Write + Send),
) -> Result<()> {
    writeln!(
        out,
        "[upload-config] Storing the configuration used in ConfigMap \"{}\" in the \"{NAMESPACE_SYSTEM}\" Namespace",
        constants::KUBEADM_CONFIG_CONFIG_MAP
    )?;
    let yaml = cluster_configuration_yaml(cfg)?;
    let cm = kubeadm_config_config_map(&yaml);
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), NAMESPACE_SYSTEM);
    apply::create_or_mutate(&api, &cm, t, |current: &mut ConfigMap| {
        current
            .data
            .get_or_insert_with(Default::default)
            .insert(constants::CLUSTER_CONFIGURATION_CONFIG_MAP_KEY.to_string(), yaml.clone());
    })
    .await?;
    apply::apply_role(
        client,
        &get_role(
            NODES_KUBEADM_CONFIG_CLUSTER_ROLE_NAME,
            NAMESPACE_SYSTEM,
            "configmaps",
            &[constants::KUBEADM_CONFIG_CONFIG_MAP],
        ),
        t,
    )
    .await?;
    apply::apply_role_binding(
        client,
        &role_binding(
            NODES_KUBEADM_CONFIG_CLUSTER_ROLE_NAME,
            NAMESPACE_SYSTEM,
            vec![
                group_subject(constants::NODE_BOOTSTRAP_TOKEN_AUTH_GROUP),
                group_subject(constants::NODES_GROUP),
            ],
        ),
        t,
    )
    .await
}

/// Upstream `componentconfigs.ChecksumForConfigMap`: `sha256:<hex>` over the `data` values in
/// key order, then the `binaryData` values in key order.
pub fn config_map_checksum(cm: &ConfigMap) -> String {
    let mut h = Sha256::new();
    for v in cm.data.iter().flatten().map(|(_, v)| v) {
        h.update(v.as_bytes());
    }
    for v in cm.binary_data.iter().flatten().map(|(_, v)| v) {
        h.update(&v.0);
    }
    format!("sha256:{}", hex::encode(h.finalize()))
}

/// Upstream `SignConfigMap`: sets `kubeadm.kubernetes.io/component-config.hash`.
pub fn sign_config_map(cm: &mut ConfigMap) {
    let sum = config_map_checksum(cm);
    cm.metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert(constants::COMPONENT_CONFIG_HASH_ANNOTATION_KEY.to_string(), sum);
}

/// The `kube-system/kubelet-config` ConfigMap for a rendered KubeletConfiguration YAML, signed
/// unless the configuration was supplied by the user (as upstream).
pub fn kubelet_config_map(kubelet_yaml: &str, user_supplied: bool) -> ConfigMap {
    let mut cm = ConfigMap {
        metadata: ObjectMeta {
            name: Some(constants::KUBELET_BASE_CONFIGURATION_CONFIG_MAP.into()),
            namespace: Some(NAMESPACE_SYSTEM.into()),
            ..Default::default()
        },
        data: Some(
            [(constants::KUBELET_BASE_CONFIGURATION_CONFIG_MAP_KEY.to_string(), kubelet_yaml.to_string())]
                .into(),
        ),
        ..Default::default()
    };
    if !user_supplied {
        sign_config_map(&mut cm);
    }
    cm
}

/// The ConfigMap part of `upload-config/kubelet` (upstream `kubelet.CreateConfigMap`): prints
/// `[kubelet] Creating a ConfigMap "kubelet-config" in namespace kube-system with the
/// configuration for the kubelets in the cluster`, creates or updates the ConfigMap (key
/// `kubelet` = `kubelet_yaml`, as `kubeletCfg.Marshal()` renders it; hash annotation unless
/// `user_supplied`), then Role/RoleBinding `kubeadm:kubelet-config` (`system:nodes` + default node
/// token group). Rendering the KubeletConfiguration is the caller's job.
pub async fn upload_kubelet_config(
    client: &Client,
    kubelet_yaml: &str,
    user_supplied: bool,
    t: &ApiTimeouts,
    out: &mut (dyn Write + Send),
) -> Result<()> {
    writeln!(
        out,
        "[kubelet] Creating a ConfigMap \"{}\" in namespace {NAMESPACE_SYSTEM} with the configuration for the kubelets in the cluster",
        constants::KUBELET_BASE_CONFIGURATION_CONFIG_MAP
    )?;
    apply::apply_config_map(client, &kubelet_config_map(kubelet_yaml, user_supplied), t).await?;
    let rbac = async {
        apply::apply_role(
            client,
            &get_role(
                constants::KUBELET_BASE_CONFIG_MAP_ROLE,
                NAMESPACE_SYSTEM,
                "configmaps",
                &[constants::KUBELET_BASE_CONFIGURATION_CONFIG_MAP],
            ),
            t,
        )
        .await?;
        apply::apply_role_binding(
            client,
            &role_binding(
                constants::KUBELET_BASE_CONFIG_MAP_ROLE,
                NAMESPACE_SYSTEM,
                vec![
                    group_subject(constants::NODES_GROUP),
                    group_subject(constants::NODE_BOOTSTRAP_TOKEN_AUTH_GROUP),
                ],
            ),
            t,
        )
        .await
    };
    rbac.await.map_err(|e| e.context("error creating kubelet configuration configmap RBAC rules"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubeadm_config() {
        let (_, c) = kubeadm_api::print::init_defaults();
        let y = cluster_configuration_yaml(&c).unwrap();
        assert!(y.starts_with("apiServer: {}\napiVersion: kubeadm.k8s.io/v1beta4\n"), "{y}");
        assert!(y.contains("\nkind: ClusterConfiguration\n"));
        let cm = kubeadm_config_config_map(&y);
        let v = serde_json::to_value(&cm).unwrap();
        assert_eq!(v["metadata"], serde_json::json!({"name": "kubeadm-config", "namespace": "kube-system"}));
        assert_eq!(v["data"]["ClusterConfiguration"], y);
    }

    #[test]
    fn checksum_like_upstream() {
        // sha256("ab") over data values in key order.
        let cm = ConfigMap {
            data: Some([("b".to_string(), "b".to_string()), ("a".to_string(), "a".to_string())].into()),
            ..Default::default()
        };
        assert_eq!(
            config_map_checksum(&cm),
            "sha256:fb8e20fc2e4c3f248c60c39bd652f3c1347298bb977b8b4d5903b85055620603"
        );
        let signed = kubelet_config_map("kind: KubeletConfiguration\n", false);
        let ann = signed.metadata.annotations.clone().unwrap();
        assert_eq!(ann[constants::COMPONENT_CONFIG_HASH_ANNOTATION_KEY], config_map_checksum(&signed));
        assert!(kubelet_config_map("x", true).metadata.annotations.is_none());
    }
}
