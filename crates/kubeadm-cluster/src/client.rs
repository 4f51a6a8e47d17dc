//! API clients from kubeconfig files, upstream's retry loop, and the admin-client bootstrap.
//!
//! * Every request has a 10 s timeout (upstream `kubeconfigutil.ToClientSet` sets
//!   `ConfigOverrides{Timeout: "10s"}`), see [`ApiTimeouts::request`].
//! * Operations that upstream retries (`wait.PollUntilContextTimeout`) retry every 500 ms
//!   (`KubernetesAPICallRetryInterval`) until `timeouts.kubernetesAPICall` (default 1m) is up,
//!   returning the last error: [`poll_until_timeout`].
//! * [`ensure_admin_cluster_role_binding`] is upstream's `EnsureAdminClusterRoleBinding`: use
//!   admin.conf, creating the `kubeadm:cluster-admins` ClusterRoleBinding with super-admin.conf
//!   when admin.conf is not yet authorized.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use k8s_openapi::api::rbac::v1::{ClusterRoleBinding, RoleRef};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Client;
use kube::api::{Api, PostParams};
use kubeadm_api::constants;
use kubeadm_api::v1beta4::ApiEndpoint;
use kubeadm_manifests::kubeconfig::Config as KubeConfig;

use crate::error::{Error, Result, is_already_exists, is_forbidden};

/// Timeouts of API work (upstream `timeouts.kubernetesAPICall`, `KubernetesAPICallRetryInterval`
/// and the per-request client timeout).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApiTimeouts {
    /// How long a retried API operation may take in total (`timeouts.kubernetesAPICall`, 1m).
    pub api_call: Duration,
    /// Pause between attempts (500ms).
    pub retry_interval: Duration,
    /// Timeout of one HTTP request (10s).
    pub request: Duration,
}

impl Default for ApiTimeouts {
    fn default() -> Self {
        Self {
            api_call: constants::KUBERNETES_API_CALL_TIMEOUT.to_std(),
            retry_interval: constants::KUBERNETES_API_CALL_RETRY_INTERVAL.to_std(),
            request: Duration::from_secs(10),
        }
    }
}

impl ApiTimeouts {
    /// From the configuration's `timeouts.kubernetesAPICall` (`None` = default 1m).
    pub fn from_config(kubernetes_api_call: Option<kubeadm_api::duration::Duration>) -> Self {
        let mut t = Self::default();
        if let Some(d) = kubernetes_api_call {
            t.api_call = d.to_std();
        }
        t
    }

    /// From an InitConfiguration's timeouts.
    pub fn from_init_configuration(init: &kubeadm_api::v1beta4::InitConfiguration) -> Self {
        Self::from_config(init.timeouts.as_ref().and_then(|t| t.kubernetes_api_call))
    }
}

/// The outcome of one attempt inside [`poll_until_timeout`].
#[derive(Debug)]
pub enum Attempt<T> {
    /// Finished successfully.
    Done(T),
    /// Failed; try again after the interval (the error is returned if time runs out).
    Retry(Error),
    /// Not ready yet, no error to report (e.g. waiting for an object to show up).
    Wait,
    /// Failed for good; stop now.
    Fail(Error),
}

/// Upstream's `wait.PollUntilContextTimeout(ctx, interval, timeout, immediate=true, f)` followed by
/// "return lastError": runs `f` at once, then every `interval` until `timeout` has passed; returns
/// the first `Done`, a `Fail`, or the last `Retry` error when time is up (`Error::Timeout` with
/// `what` when there was none).
pub async fn poll_until_timeout<T, F, Fut>(
    what: &str,
    interval: Duration,
    timeout: Duration,
    mut f: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Attempt<T>>,
{
    let start = tokio::time::Instant::now();
    let deadline = start + timeout;
    let mut last: Option<Error> = None;
    loop {
        match f().await {
            Attempt::Done(v) => return Ok(v),
            Attempt::Fail(e) => return Err(e),
            Attempt::Retry(e) => last = Some(e),
            Attempt::Wait => {}
        }
        let next = tokio::time::Instant::now() + interval;
        if next > deadline {
            // Upstream's PollUntilContextTimeout waits for the deadline itself (no further
            // attempt), then returns the last error.
            tokio::time::sleep_until(deadline).await;
            return Err(last.unwrap_or_else(|| Error::Timeout { what: what.to_string(), timeout }));
        }
        tokio::time::sleep_until(next).await;
    }
}

/// Reads and parses a kubeconfig file.
pub fn load_kubeconfig(path: &Path) -> Result<KubeConfig> {
    let data = std::fs::read(path)
        .map_err(|e| Error::Kubeconfig { path: path.to_path_buf(), message: e.to_string() })?;
    KubeConfig::parse(&data)
        .map_err(|e| Error::Kubeconfig { path: path.to_path_buf(), message: e.to_string() })
}

/// The `User-Agent` of kubeadm-rs's API requests: `kubeadm/<version> (<os>/<arch>)
/// kubernetes/kubeadm-rs`. The API server names an object's field manager after the part before
/// the first `/`, so what kubeadm-rs writes is managed by `kubeadm`, as with upstream (client-go's
/// `DefaultKubernetesUserAgent`, `kubeadm/v1.37.2 (linux/amd64) kubernetes/<commit>`). Without it
/// the manager is `unknown`.
pub fn user_agent() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        a => a,
    };
    format!(
        "kubeadm/{} ({}/{arch}) kubernetes/kubeadm-rs",
        constants::KUBERNETES_VERSION,
        std::env::consts::OS
    )
}

/// A client for the current context of `config`, each request limited to `timeouts.request`.
/// `what` names the kubeconfig in errors (e.g. its path).
pub async fn client_from_kubeconfig(
    config: &KubeConfig,
    what: &str,
    timeouts: &ApiTimeouts,
) -> Result<Client> {
    if config.context(&config.current_context).is_none() {
        return Err(Error::InvalidKubeconfig(format!(
            "{what}: current context {:?} not found",
            config.current_context
        )));
    }
    let yaml = config.to_yaml().map_err(|e| Error::InvalidKubeconfig(format!("{what}: {e}")))?;
    let kc = kube::config::Kubeconfig::from_yaml(&yaml)
        .map_err(|source| Error::ClientKubeconfig { what: what.to_string(), source: Box::new(source) })?;
    let mut cfg = kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
        .await
        .map_err(|source| Error::ClientKubeconfig { what: what.to_string(), source: Box::new(source) })?;
    cfg.connect_timeout = Some(timeouts.request);
    cfg.read_timeout = Some(timeouts.request);
    cfg.write_timeout = Some(timeouts.request);
    if let Ok(ua) = http::HeaderValue::from_str(&user_agent()) {
        cfg.headers.push((http::header::USER_AGENT, ua));
    }
    Client::try_from(cfg)
        .map_err(|source| Error::ClientConfig { what: what.to_string(), source: Box::new(source) })
}

/// A client from a kubeconfig file (upstream `kubeconfigutil.ClientSetFromFile`), optionally
/// pointed at the local API endpoint first (`PointKubeConfigToLocalAPIEndpoint`).
pub async fn client_from_file(
    path: &Path,
    local_endpoint: Option<&ApiEndpoint>,
    timeouts: &ApiTimeouts,
) -> Result<Client> {
    let mut cfg = load_kubeconfig(path)?;
    if let Some(ep) = local_endpoint {
        kubeadm_manifests::kubeconfig::point_to_local_endpoint(&mut cfg, ep);
    }
    client_from_kubeconfig(&cfg, &path.display().to_string(), timeouts).await
}

/// The `kubeadm:cluster-admins` ClusterRoleBinding (group `kubeadm:cluster-admins` ->
/// ClusterRole `cluster-admin`).
pub fn cluster_admins_binding() -> ClusterRoleBinding {
    ClusterRoleBinding {
        metadata: ObjectMeta {
            name: Some(constants::CLUSTER_ADMINS_GROUP_AND_CLUSTER_ROLE_BINDING.into()),
            ..Default::default()
        },
        role_ref: RoleRef {
            api_group: Some("rbac.authorization.k8s.io".into()),
            kind: "ClusterRole".into(),
            name: "cluster-admin".into(),
        },
        subjects: Some(vec![crate::bootstrap::group_subject(
            constants::CLUSTER_ADMINS_GROUP_AND_CLUSTER_ROLE_BINDING,
        )]),
    }
}

/// Upstream `EnsureAdminClusterRoleBindingImpl` on ready clients: try to create the
/// `kubeadm:cluster-admins` binding with `admin`; AlreadyExists (or success) means admin works;
/// Forbidden means it is not yet authorized, so create the binding with `super_admin` (retrying,
/// AlreadyExists is fine). Other errors are retried until the API call timeout.
pub async fn ensure_admin_cluster_role_binding_with(
    admin: Client,
    super_admin: Option<Client>,
    timeouts: &ApiTimeouts,
) -> Result<Client> {
    let crb = cluster_admins_binding();
    let name = constants::CLUSTER_ADMINS_GROUP_AND_CLUSTER_ROLE_BINDING;
    let api: Api<ClusterRoleBinding> = Api::all(admin.clone());
    let exists = poll_until_timeout(
        "create ClusterRoleBinding with admin.conf",
        timeouts.retry_interval,
        timeouts.api_call,
        || {
            let api = api.clone();
            let crb = crb.clone();
            async move {
                match api.create(&PostParams::default(), &crb).await {
                    Ok(_) => Attempt::Done(true),
                    Err(e) if is_forbidden(&e) => Attempt::Done(false),
                    Err(e) if is_already_exists(&e) => Attempt::Done(true),
                    Err(source) => Attempt::Retry(Error::Api {
                        verb: "create",
                        kind: "ClusterRoleBinding".into(),
                        target: format!("{name:?}"),
                        source: Box::new(source),
                    }),
                }
            }
        },
    )
    .await?;
    if exists {
        return Ok(admin);
    }
    let Some(super_admin) = super_admin else {
        return Err(Error::NoSuperAdmin {
            group: name.to_string(),
            file: constants::SUPER_ADMIN_KUBECONFIG_FILE_NAME.to_string(),
        });
    };
    tracing::debug!("creating the ClusterRoleBinding for the {name} Group by using super-admin.conf");
    let api: Api<ClusterRoleBinding> = Api::all(super_admin);
    poll_until_timeout(
        "create ClusterRoleBinding with super-admin.conf",
        timeouts.retry_interval,
        timeouts.api_call,
        || {
            let api = api.clone();
            let crb = crb.clone();
            async move {
                match api.create(&PostParams::default(), &crb).await {
                    Ok(_) => Attempt::Done(()),
                    Err(e) if is_already_exists(&e) => Attempt::Done(()),
                    Err(source) => Attempt::Retry(Error::Api {
                        verb: "create (with super-admin.conf)",
                        kind: "ClusterRoleBinding".into(),
                        target: format!("{name:?}"),
                        source: Box::new(source),
                    }),
                }
            }
        },
    )
    .await?;
    Ok(admin)
}

/// Upstream `EnsureAdminClusterRoleBinding(outDir, localAPIEndpoint)`: clients from
/// `<dir>/admin.conf` and (if present) `<dir>/super-admin.conf`, both pointed at the local API
/// endpoint when given, then [`ensure_admin_cluster_role_binding_with`]. Returns the admin.conf
/// client, authorized.
pub async fn ensure_admin_cluster_role_binding(
    kubeconfig_dir: &Path,
    local_endpoint: Option<&ApiEndpoint>,
    timeouts: &ApiTimeouts,
) -> Result<Client> {
    let admin_path: PathBuf = kubeconfig_dir.join(constants::ADMIN_KUBECONFIG_FILE_NAME);
    let admin = client_from_file(&admin_path, local_endpoint, timeouts).await?;
    let super_path = kubeconfig_dir.join(constants::SUPER_ADMIN_KUBECONFIG_FILE_NAME);
    let super_admin = if super_path.exists() {
        Some(client_from_file(&super_path, local_endpoint, timeouts).await?)
    } else {
        None
    };
    ensure_admin_cluster_role_binding_with(admin, super_admin, timeouts).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn user_agent_names_the_kubeadm_field_manager() {
        let ua = super::user_agent();
        assert!(ua.starts_with("kubeadm/v1.37.2 ("), "{ua}");
        assert!(ua.ends_with(") kubernetes/kubeadm-rs"), "{ua}");
    }

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn poll_returns_last_error_after_timeout() {
        let mut n = 0;
        let r: Result<()> =
            poll_until_timeout("x", Duration::from_millis(500), Duration::from_secs(2), || {
                n += 1;
                let k = n;
                async move { Attempt::Retry(Error::InvalidKubeconfig(format!("attempt {k}"))) }
            })
            .await;
        // immediate + 4 ticks within 2s
        assert_eq!(n, 5);
        assert_eq!(r.unwrap_err().to_string(), "invalid kubeconfig: attempt 5");
    }

    #[tokio::test(start_paused = true)]
    async fn poll_done_and_wait() {
        let mut n = 0;
        let r = poll_until_timeout("x", Duration::from_millis(500), Duration::from_secs(2), || {
            n += 1;
            let k = n;
            async move { if k < 3 { Attempt::Wait } else { Attempt::Done(k) } }
        })
        .await;
        assert_eq!(r.unwrap(), 3);
        let r: Result<()> =
            poll_until_timeout("the thing", Duration::from_millis(500), Duration::from_secs(1), || async {
                Attempt::Wait
            })
            .await;
        assert!(matches!(r, Err(Error::Timeout { .. })));
    }

    #[test]
    fn defaults() {
        let t = ApiTimeouts::default();
        assert_eq!(t.api_call, Duration::from_secs(60));
        assert_eq!(t.retry_interval, Duration::from_millis(500));
        let t = ApiTimeouts::from_config(Some(kubeadm_api::duration::Duration::from_secs(5)));
        assert_eq!(t.api_call, Duration::from_secs(5));
    }

    #[test]
    fn admins_binding() {
        let v = serde_json::to_value(cluster_admins_binding()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": "kubeadm:cluster-admins"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
                "subjects": [{"kind": "Group", "name": "kubeadm:cluster-admins"}]
            })
        );
    }
}
