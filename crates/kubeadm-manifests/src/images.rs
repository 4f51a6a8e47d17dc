//! Container image names (upstream `cmd/kubeadm/app/images`).

use kubeadm_api::v1beta4::ClusterConfiguration;

/// The default image repository (`registry.k8s.io`).
pub const DEFAULT_IMAGE_REPOSITORY: &str = "registry.k8s.io";
/// Default etcd image tag when the version map has no answer (`constants.DefaultEtcdVersion`).
pub const DEFAULT_ETCD_VERSION: &str = "3.7.0-0";
/// CoreDNS image tag (`constants.CoreDNSVersion`).
pub const COREDNS_VERSION: &str = "v1.14.6";
/// Pause image tag (`constants.PauseVersion`).
pub const PAUSE_VERSION: &str = "3.10.2";
/// `constants.SupportedEtcdVersion` of v1.37.2: Kubernetes minor -> etcd image tag.
pub const SUPPORTED_ETCD_VERSION: &[(u64, &str)] = &[(34, "3.7.0-0"), (35, "3.7.0-0"), (36, "3.7.0-0")];

/// `<prefix>/<image>:<tag>`.
pub fn generic_image(prefix: &str, image: &str, tag: &str) -> String {
    format!("{prefix}/{image}:{tag}")
}

/// Replaces characters not allowed in image tags (anything but `[-\w.]`) by `_`
/// (upstream `KubernetesVersionToImageTag`, e.g. for `v1.38.0-alpha.1+abc`).
pub fn kubernetes_version_to_image_tag(version: &str) -> String {
    version
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.' { c } else { '_' })
        .collect()
}

/// Image of a Kubernetes component (`kube-apiserver`, `kube-controller-manager`, `kube-scheduler`,
/// `kube-proxy`). `ci_image_repository` is upstream's internal `CIImageRepository` (set by dynamic
/// defaulting for `ci/...` versions), which wins over `imageRepository`.
pub fn kubernetes_image(
    image: &str,
    cfg: &ClusterConfiguration,
    ci_image_repository: Option<&str>,
) -> String {
    let repo = match ci_image_repository {
        Some(r) if !r.is_empty() => r,
        _ => cfg.image_repository.as_str(),
    };
    generic_image(repo, image, &kubernetes_version_to_image_tag(&cfg.kubernetes_version))
}

/// CoreDNS image: `dns.imageRepository` or `imageRepository`; the default registry gets the
/// `/coredns` sub-path (`registry.k8s.io/coredns/coredns`), custom registries do not.
pub fn dns_image(cfg: &ClusterConfiguration) -> String {
    let mut repo = if cfg.dns.image_meta.image_repository.is_empty() {
        cfg.image_repository.clone()
    } else {
        cfg.dns.image_meta.image_repository.clone()
    };
    if repo == DEFAULT_IMAGE_REPOSITORY {
        repo = format!("{repo}/coredns");
    }
    let tag = if cfg.dns.image_meta.image_tag.is_empty() {
        COREDNS_VERSION
    } else {
        cfg.dns.image_meta.image_tag.as_str()
    };
    generic_image(&repo, "coredns", tag)
}

/// Parses `vMAJOR.MINOR.PATCH[-pre][+build]` (semantic, leading `v` optional) into its minor.
fn semantic_minor(version: &str) -> Option<u64> {
    let v = version.strip_prefix('v').unwrap_or(version);
    let core = v.split(['-', '+']).next()?;
    let mut parts = core.split('.');
    let _major: u64 = parts.next()?.parse().ok()?;
    let minor: u64 = parts.next()?.parse().ok()?;
    let _patch: u64 = parts.next()?.parse().ok()?;
    if parts.next().is_some() {
        return None;
    }
    Some(minor)
}

/// The etcd version for a Kubernetes version and a warning when it falls back to the nearest known
/// minor (upstream `constants.EtcdSupportedVersion`). `None` when the version does not parse.
pub fn etcd_supported_version(kubernetes_version: &str) -> Option<(String, Option<String>)> {
    let minor = semantic_minor(kubernetes_version)?;
    if let Some((_, v)) = SUPPORTED_ETCD_VERSION.iter().find(|(m, _)| *m == minor) {
        return Some(((*v).to_string(), None));
    }
    let min = SUPPORTED_ETCD_VERSION.iter().map(|(m, _)| *m).min()?;
    let max = SUPPORTED_ETCD_VERSION.iter().map(|(m, _)| *m).max()?;
    let nearest = if minor < min { min } else { max };
    let v = SUPPORTED_ETCD_VERSION.iter().find(|(m, _)| *m == nearest).map(|(_, v)| *v)?;
    let warning = format!(
        "could not find officially supported version of etcd for Kubernetes {kubernetes_version}, falling back to the nearest etcd version ({v})"
    );
    Some((v.to_string(), Some(warning)))
}

/// etcd image tag: `etcd.local.imageTag`, else the supported version for the Kubernetes version,
/// else [`DEFAULT_ETCD_VERSION`].
pub fn etcd_image_tag(cfg: &ClusterConfiguration) -> String {
    if let Some(local) = &cfg.etcd.local
        && !local.image_meta.image_tag.is_empty()
    {
        return local.image_meta.image_tag.clone();
    }
    etcd_supported_version(&cfg.kubernetes_version)
        .map(|(v, _)| v)
        .unwrap_or_else(|| DEFAULT_ETCD_VERSION.to_string())
}

/// etcd image: `etcd.local.imageRepository` or `imageRepository`, and [`etcd_image_tag`].
pub fn etcd_image(cfg: &ClusterConfiguration) -> String {
    let repo = match &cfg.etcd.local {
        Some(l) if !l.image_meta.image_repository.is_empty() => l.image_meta.image_repository.as_str(),
        _ => cfg.image_repository.as_str(),
    };
    generic_image(repo, "etcd", &etcd_image_tag(cfg))
}

/// The pause image (always from `imageRepository`).
pub fn pause_image(cfg: &ClusterConfiguration) -> String {
    generic_image(&cfg.image_repository, "pause", PAUSE_VERSION)
}

/// `kubeadm config images list` order: kube-apiserver, kube-controller-manager, kube-scheduler,
/// kube-proxy (unless `proxy.disabled`), CoreDNS (unless `dns.disabled`), pause, etcd (local etcd
/// only). `cfg` must be defaulted (image repository, resolved version).
pub fn list(cfg: &ClusterConfiguration) -> Vec<String> {
    list_with_ci_repository(cfg, None)
}

/// [`list`] with upstream's internal CI image repository (for `ci/` versions).
pub fn list_with_ci_repository(cfg: &ClusterConfiguration, ci_image_repository: Option<&str>) -> Vec<String> {
    let mut images = vec![
        kubernetes_image("kube-apiserver", cfg, ci_image_repository),
        kubernetes_image("kube-controller-manager", cfg, ci_image_repository),
        kubernetes_image("kube-scheduler", cfg, ci_image_repository),
    ];
    if !cfg.proxy.disabled {
        images.push(kubernetes_image("kube-proxy", cfg, ci_image_repository));
    }
    if !cfg.dns.disabled {
        images.push(dns_image(cfg));
    }
    images.push(pause_image(cfg));
    if cfg.etcd.local.is_some() {
        images.push(etcd_image(cfg));
    }
    images
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubeadm_api::v1beta4::{ExternalEtcd, LocalEtcd};

    fn cfg() -> ClusterConfiguration {
        ClusterConfiguration {
            image_repository: "registry.k8s.io".into(),
            kubernetes_version: "v1.37.2".into(),
            etcd: kubeadm_api::v1beta4::Etcd { local: Some(LocalEtcd::default()), external: None },
            ..Default::default()
        }
    }

    #[test]
    fn default_list() {
        assert_eq!(
            list(&cfg()),
            vec![
                "registry.k8s.io/kube-apiserver:v1.37.2",
                "registry.k8s.io/kube-controller-manager:v1.37.2",
                "registry.k8s.io/kube-scheduler:v1.37.2",
                "registry.k8s.io/kube-proxy:v1.37.2",
                "registry.k8s.io/coredns/coredns:v1.14.6",
                "registry.k8s.io/pause:3.10.2",
                "registry.k8s.io/etcd:3.7.0-0",
            ]
        );
    }

    #[test]
    fn custom_repo_and_external_etcd() {
        let mut c = cfg();
        c.image_repository = "example.com/k8s".into();
        c.etcd = kubeadm_api::v1beta4::Etcd { local: None, external: Some(ExternalEtcd::default()) };
        let l = list(&c);
        assert_eq!(l[4], "example.com/k8s/coredns:v1.14.6");
        assert_eq!(l.len(), 6);
        assert_eq!(l[5], "example.com/k8s/pause:3.10.2");
    }

    #[test]
    fn etcd_fallback_warns() {
        let (v, w) = etcd_supported_version("v1.37.2").unwrap();
        assert_eq!(v, "3.7.0-0");
        assert!(w.is_some());
        assert_eq!(kubernetes_version_to_image_tag("v1.38.0-alpha.1+abc"), "v1.38.0-alpha.1_abc");
    }
}
