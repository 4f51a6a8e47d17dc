//! Idempotent writes, as upstream's `apiclient` package (`idempotency.go`):
//!
//! * [`create_or_update`]: create; on AlreadyExists, update (an unconditional PUT of the same
//!   object); any failure is retried until the API call timeout.
//! * [`create_or_mutate`]: create; on AlreadyExists, get the current object, apply a mutation and
//!   update it (conflicts are retried).
//! * [`create_or_retain`]: create only when absent.
//!
//! Typed shorthands for the kinds kubeadm writes: [`apply_config_map`], [`apply_secret`],
//! [`apply_role`], [`apply_role_binding`], [`apply_cluster_role`], [`apply_cluster_role_binding`],
//! [`apply_service_account`], [`apply_service`], [`apply_deployment`], [`apply_daemon_set`].

use std::fmt::Debug;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::api::{Api, PostParams};
use kube::{Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::client::{ApiTimeouts, Attempt, poll_until_timeout};
use crate::error::{Error, Result, is_already_exists, is_not_found};

/// `"namespace/name"` or `"name"`, quoted, for errors.
pub fn target_of<K: Resource>(obj: &K) -> String {
    match obj.meta().namespace.as_deref() {
        Some(ns) if !ns.is_empty() => format!("\"{ns}/{}\"", obj.name_any()),
        _ => format!("{:?}", obj.name_any()),
    }
}

fn api_error<K: Resource<DynamicType = ()>>(verb: &'static str, obj: &K, source: kube::Error) -> Error {
    Error::Api { verb, kind: K::kind(&()).into_owned(), target: target_of(obj), source: Box::new(source) }
}

/// Upstream `CreateOrUpdate`: create `obj`; if it exists, update it; retry every failure until
/// `timeouts.api_call`.
pub async fn create_or_update<K>(api: &Api<K>, obj: &K, timeouts: &ApiTimeouts) -> Result<()>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Serialize + Debug,
{
    let name = obj.name_any();
    poll_until_timeout(
        &format!("create or update {}", target_of(obj)),
        timeouts.retry_interval,
        timeouts.api_call,
        || async {
            match api.create(&PostParams::default(), obj).await {
                Ok(_) => Attempt::Done(()),
                Err(e) if is_already_exists(&e) => {
                    match api.replace(&name, &PostParams::default(), obj).await {
                        Ok(_) => Attempt::Done(()),
                        Err(e) => Attempt::Retry(api_error("update", obj, e)),
                    }
                }
                Err(e) => Attempt::Retry(api_error("create", obj, e)),
            }
        },
    )
    .await
}

/// Upstream `CreateOrMutate`: create `obj`; if it exists, fetch the current object, call `mutate`
/// on it and update it (with its resourceVersion, so a concurrent change makes it retry).
pub async fn create_or_mutate<K, M>(api: &Api<K>, obj: &K, timeouts: &ApiTimeouts, mutate: M) -> Result<()>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Serialize + Debug,
    M: Fn(&mut K),
{
    let name = obj.name_any();
    let mutate = &mutate;
    poll_until_timeout(
        &format!("create or mutate {}", target_of(obj)),
        timeouts.retry_interval,
        timeouts.api_call,
        || async {
            match api.create(&PostParams::default(), obj).await {
                Ok(_) => Attempt::Done(()),
                Err(e) if is_already_exists(&e) => {
                    let mut current = match api.get(&name).await {
                        Ok(c) => c,
                        Err(e) => return Attempt::Retry(api_error("get", obj, e)),
                    };
                    mutate(&mut current);
                    match api.replace(&name, &PostParams::default(), &current).await {
                        Ok(_) => Attempt::Done(()),
                        Err(e) => Attempt::Retry(api_error("update", obj, e)),
                    }
                }
                Err(e) => Attempt::Retry(api_error("create", obj, e)),
            }
        },
    )
    .await
}

/// Upstream `CreateOrRetain`: create `obj` only if no object of that name exists.
pub async fn create_or_retain<K>(api: &Api<K>, obj: &K, timeouts: &ApiTimeouts) -> Result<()>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Serialize + Debug,
{
    let name = obj.name_any();
    poll_until_timeout(
        &format!("create {}", target_of(obj)),
        timeouts.retry_interval,
        timeouts.api_call,
        || async {
            match api.get(&name).await {
                Ok(_) => Attempt::Done(()),
                Err(e) if is_not_found(&e) => match api.create(&PostParams::default(), obj).await {
                    Ok(_) => Attempt::Done(()),
                    Err(e) => Attempt::Retry(api_error("create", obj, e)),
                },
                Err(e) => Attempt::Retry(api_error("get", obj, e)),
            }
        },
    )
    .await
}

/// The namespaced API for `obj`'s namespace (`default` when unset, as client-go would refuse;
/// kubeadm always sets it).
pub fn namespaced_api<K>(client: &Client, obj: &K) -> Api<K>
where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope>,
{
    Api::namespaced(client.clone(), obj.meta().namespace.as_deref().unwrap_or("default"))
}

macro_rules! namespaced_apply {
    ($(#[$doc:meta])* $fn:ident, $ty:ty) => {
        $(#[$doc])*
        pub async fn $fn(client: &Client, obj: &$ty, timeouts: &ApiTimeouts) -> Result<()> {
            create_or_update(&namespaced_api(client, obj), obj, timeouts).await
        }
    };
}

macro_rules! cluster_apply {
    ($(#[$doc:meta])* $fn:ident, $ty:ty) => {
        $(#[$doc])*
        pub async fn $fn(client: &Client, obj: &$ty, timeouts: &ApiTimeouts) -> Result<()> {
            create_or_update(&Api::<$ty>::all(client.clone()), obj, timeouts).await
        }
    };
}

namespaced_apply!(
    /// [`create_or_update`] for a ConfigMap (namespace from its metadata).
    apply_config_map, ConfigMap);
namespaced_apply!(
    /// [`create_or_update`] for a Secret (namespace from its metadata).
    apply_secret, Secret);
namespaced_apply!(
    /// [`create_or_update`] for a Role.
    apply_role, Role);
namespaced_apply!(
    /// [`create_or_update`] for a RoleBinding.
    apply_role_binding, RoleBinding);
namespaced_apply!(
    /// [`create_or_update`] for a ServiceAccount.
    apply_service_account, ServiceAccount);
namespaced_apply!(
    /// [`create_or_update`] for a Service.
    apply_service, Service);
namespaced_apply!(
    /// [`create_or_update`] for a Deployment.
    apply_deployment, Deployment);
namespaced_apply!(
    /// [`create_or_update`] for a DaemonSet.
    apply_daemon_set, DaemonSet);
cluster_apply!(
    /// [`create_or_update`] for a ClusterRole.
    apply_cluster_role, ClusterRole);
cluster_apply!(
    /// [`create_or_update`] for a ClusterRoleBinding.
    apply_cluster_role_binding, ClusterRoleBinding);

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    #[test]
    fn targets() {
        let cm = ConfigMap {
            metadata: ObjectMeta {
                name: Some("a".into()),
                namespace: Some("kube-system".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        assert_eq!(target_of(&cm), "\"kube-system/a\"");
        let crb = ClusterRoleBinding {
            metadata: ObjectMeta { name: Some("b".into()), ..Default::default() },
            ..Default::default()
        };
        assert_eq!(target_of(&crb), "\"b\"");
    }
}
