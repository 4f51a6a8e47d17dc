//! The adapter between the phases and the library crates (kubeadm-api, kubeadm-pki,
//! kubeadm-manifests, kubeadm-host). Everything the binary needs from them goes through here, so the
//! phase table and the CLI do not depend on the libraries' exact shapes.

use std::path::PathBuf;

use crate::commands::init::{InitData, InitOptions};
use crate::workflow::PhaseError;

/// The loaded, defaulted and validated init configuration.
#[derive(Debug, Clone)]
pub struct InitConfig {
    kubernetes_version: String,
    certificates_dir: PathBuf,
    dns_disabled: bool,
    proxy_disabled: bool,
}

impl InitConfig {
    /// `kubernetesVersion`.
    pub fn kubernetes_version(&self) -> &str {
        &self.kubernetes_version
    }
    /// `certificatesDir`.
    pub fn certificates_dir(&self) -> PathBuf {
        self.certificates_dir.clone()
    }
    /// `nodeRegistration.ignorePreflightErrors`.
    pub fn ignore_preflight_errors(&self) -> Vec<String> {
        Vec::new()
    }
    /// `dryRun`.
    pub fn dry_run(&self) -> bool {
        false
    }
    /// `skipPhases`.
    pub fn skip_phases(&self) -> Vec<String> {
        Vec::new()
    }
    /// `patches.directory`.
    pub fn patches_dir(&self) -> Option<PathBuf> {
        None
    }
    /// `dns.disabled`.
    pub fn dns_disabled(&self) -> bool {
        self.dns_disabled
    }
    /// `proxy.disabled`.
    pub fn proxy_disabled(&self) -> bool {
        self.proxy_disabled
    }
    /// Sets `dns.disabled`.
    pub fn set_dns_disabled(&mut self) {
        self.dns_disabled = true;
    }
    /// Sets `proxy.disabled`.
    pub fn set_proxy_disabled(&mut self) {
        self.proxy_disabled = true;
    }
}

/// Loads `--config` (or defaults) and applies the flag overrides.
pub fn load_init_config(opts: &InitOptions) -> anyhow::Result<InitConfig> {
    if let Some(path) = &opts.config {
        std::fs::metadata(path).map_err(|e| anyhow::anyhow!("unable to read config from {:?}: {e}", path.display().to_string()))?;
    }
    Ok(InitConfig {
        kubernetes_version: opts.get_str("kubernetes-version").unwrap_or("v1.37.2").to_string(),
        certificates_dir: PathBuf::from(opts.get_str("cert-dir").unwrap_or("/etc/kubernetes/pki")),
        dns_disabled: false,
        proxy_disabled: false,
    })
}

/// Phase `preflight`.
pub fn preflight(_d: &mut InitData) -> Result<(), PhaseError> {
    Err(PhaseError::NotImplemented("preflight".into()))
}

/// Phase `certs/<name>`.
pub fn cert(_d: &mut InitData, name: &str) -> Result<(), PhaseError> {
    Err(PhaseError::NotImplemented(format!("certs/{name}")))
}

/// Phase `certs/sa`.
pub fn sa(_d: &mut InitData) -> Result<(), PhaseError> {
    Err(PhaseError::NotImplemented("certs/sa".into()))
}

/// Phase `kubeconfig/<file>`.
pub fn kubeconfig(_d: &mut InitData, file: &str) -> Result<(), PhaseError> {
    Err(PhaseError::NotImplemented(format!("kubeconfig/{}", file.trim_end_matches(".conf"))))
}

/// Phase `etcd/local`.
pub fn etcd_local(_d: &mut InitData) -> Result<(), PhaseError> {
    Err(PhaseError::NotImplemented("etcd/local".into()))
}

/// Phase `control-plane/<component>`.
pub fn control_plane(_d: &mut InitData, component: &str) -> Result<(), PhaseError> {
    Err(PhaseError::NotImplemented(format!("control-plane/{}", component.trim_start_matches("kube-"))))
}
