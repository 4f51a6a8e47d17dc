//! Reading back what `init` stored (upstream `configutil.FetchInitConfigurationFromCluster` and
//! `componentconfigs.FetchFromCluster`, as `join` uses them): the ClusterConfiguration from
//! `kube-system/kubeadm-config` and the KubeletConfiguration from `kube-system/kubelet-config`.
//!
//! A joining node reads both with its bootstrap-token identity (init grants the
//! `system:bootstrappers:kubeadm:default-node-token` group `get` on these two ConfigMaps).

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Client;
use kube::api::Api;
use kubeadm_api::constants;
use kubeadm_api::v1beta4::ClusterConfiguration;

use crate::bootstrap::NAMESPACE_SYSTEM;
use crate::client::ApiTimeouts;
use crate::error::{Error, Result, is_not_found};

/// The cluster-wide configuration a joining node needs.
#[derive(Debug, Clone)]
pub struct FetchedConfig {
    /// The ClusterConfiguration (static defaults applied).
    pub cluster: ClusterConfiguration,
    /// The `kubelet` document of `kubelet-config`, parsed (`None` when the ConfigMap is missing).
    pub kubelet: Option<serde_json::Value>,
    /// Whether the kubelet document is the user's (the ConfigMap carries no valid kubeadm hash).
    pub kubelet_user_supplied: bool,
}

/// Upstream `GetConfigMapWithShortRetry`: a few quick attempts (the API server may be settling).
async fn get_config_map(client: &Client, name: &str, t: &ApiTimeouts) -> Result<Option<ConfigMap>> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), NAMESPACE_SYSTEM);
    let mut delay = std::time::Duration::from_millis(50);
    let mut attempt = 0;
    loop {
        attempt += 1;
        match tokio::time::timeout(t.request, api.get(name)).await {
            Ok(Ok(cm)) => return Ok(Some(cm)),
            Ok(Err(e)) if is_not_found(&e) => return Ok(None),
            Ok(Err(e)) if attempt >= 5 => {
                return Err(Error::Api {
                    verb: "get",
                    kind: "ConfigMap".into(),
                    target: format!("\"{NAMESPACE_SYSTEM}/{name}\""),
                    source: Box::new(e),
                });
            }
            Err(_) if attempt >= 5 => {
                return Err(Error::Timeout {
                    what: format!("get ConfigMap {NAMESPACE_SYSTEM}/{name}"),
                    timeout: t.request,
                });
            }
            _ => {}
        }
        tokio::time::sleep(delay).await;
        delay *= 2;
    }
}

/// Parses the `ClusterConfiguration` key of a `kubeadm-config` ConfigMap.
pub fn cluster_configuration_from_config_map(cm: &ConfigMap) -> Result<ClusterConfiguration> {
    let data =
        cm.data.as_ref().and_then(|d| d.get(constants::CLUSTER_CONFIGURATION_CONFIG_MAP_KEY)).ok_or_else(
            || {
                Error::ClusterConfig(format!(
                    "unexpected error when reading kubeadm-config ConfigMap: {} key value pair missing",
                    constants::CLUSTER_CONFIGURATION_CONFIG_MAP_KEY
                ))
            },
        )?;
    kubeadm_api::load::parse_cluster_configuration(data)
        .map_err(|e| Error::ClusterConfig(format!("failed to decode cluster configuration data: {e}")))
}

/// Parses the `kubelet` key of a `kubelet-config` ConfigMap; the flag says whether it is
/// user-supplied (no kubeadm hash annotation, or one that does not match).
pub fn kubelet_config_from_config_map(cm: &ConfigMap) -> Result<(serde_json::Value, bool)> {
    let data = cm
        .data
        .as_ref()
        .and_then(|d| d.get(constants::KUBELET_BASE_CONFIGURATION_CONFIG_MAP_KEY))
        .ok_or_else(|| {
            Error::ClusterConfig(format!(
                "unexpected error when reading {} ConfigMap: {} key value pair missing",
                constants::KUBELET_BASE_CONFIGURATION_CONFIG_MAP,
                constants::KUBELET_BASE_CONFIGURATION_CONFIG_MAP_KEY
            ))
        })?;
    let value: serde_json::Value = serde_yaml::from_str(data).map_err(|e| {
        Error::ClusterConfig(format!(
            "failed to decode the {} ConfigMap: {e}",
            constants::KUBELET_BASE_CONFIGURATION_CONFIG_MAP
        ))
    })?;
    let signed = cm
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(constants::COMPONENT_CONFIG_HASH_ANNOTATION_KEY))
        .is_some_and(|h| *h == crate::uploadconfig::config_map_checksum(cm));
    Ok((value, !signed))
}

/// Fetches the ClusterConfiguration and the kubelet's configuration.
pub async fn fetch_join_config(client: &Client, t: &ApiTimeouts) -> Result<FetchedConfig> {
    let cm = get_config_map(client, constants::KUBEADM_CONFIG_CONFIG_MAP, t)
        .await
        .map_err(|e| e.context("unable to fetch the kubeadm-config ConfigMap"))?
        .ok_or_else(|| {
            Error::ClusterConfig(format!(
                "unable to fetch the kubeadm-config ConfigMap: configmaps \"{}\" not found",
                constants::KUBEADM_CONFIG_CONFIG_MAP
            ))
        })?;
    let cluster = cluster_configuration_from_config_map(&cm)
        .map_err(|e| e.context("unable to fetch the kubeadm-config ConfigMap"))?;
    let (kubelet, kubelet_user_supplied) =
        match get_config_map(client, constants::KUBELET_BASE_CONFIGURATION_CONFIG_MAP, t).await? {
            Some(cm) => {
                let (v, user) = kubelet_config_from_config_map(&cm)?;
                (Some(v), user)
            }
            None => (None, false),
        };
    Ok(FetchedConfig { cluster, kubelet, kubelet_user_supplied })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stored_cluster_configuration_and_kubelet_config() {
        let cfg = kubeadm_api::load::default_cluster_configuration();
        let yaml = crate::uploadconfig::cluster_configuration_yaml(&cfg).unwrap();
        let cm = crate::uploadconfig::kubeadm_config_config_map(&yaml);
        let back = cluster_configuration_from_config_map(&cm).unwrap();
        assert_eq!(back.cluster_name, cfg.cluster_name);
        assert_eq!(back.networking.service_subnet, cfg.networking.service_subnet);

        let kubelet = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nclusterDomain: cluster.local\n";
        let signed = crate::uploadconfig::kubelet_config_map(kubelet, false);
        let (v, user) = kubelet_config_from_config_map(&signed).unwrap();
        assert!(!user);
        assert_eq!(v["clusterDomain"], "cluster.local");
        let unsigned = crate::uploadconfig::kubelet_config_map(kubelet, true);
        assert!(kubelet_config_from_config_map(&unsigned).unwrap().1);

        let empty = ConfigMap::default();
        let e = cluster_configuration_from_config_map(&empty).unwrap_err().to_string();
        assert!(e.contains("ClusterConfiguration key value pair missing"), "{e}");
    }
}
