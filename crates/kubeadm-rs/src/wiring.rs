//! The adapter between the phases and the library crates (kubeadm-api, kubeadm-pki,
//! kubeadm-manifests, kubeadm-host). Everything the binary needs from them goes through here, so the
//! phase table and the CLI do not depend on the libraries' exact shapes.

use std::path::PathBuf;

use anyhow::Context;
use kubeadm_api::{load, v1beta4};

use crate::commands::init::{FlagValue, InitData, InitOptions};
use crate::output::Output;
use crate::workflow::PhaseError;

/// The loaded, defaulted and validated init configuration.
#[derive(Debug, Clone)]
pub struct InitConfig {
    /// InitConfiguration (v1beta4, defaulted).
    pub init: v1beta4::InitConfiguration,
    /// ClusterConfiguration (v1beta4, defaulted).
    pub cluster: v1beta4::ClusterConfiguration,
    /// KubeletConfiguration document from the config file, if any.
    pub kubelet: Option<serde_json::Value>,
    /// KubeProxyConfiguration document from the config file, if any.
    pub kube_proxy: Option<serde_json::Value>,
}

impl InitConfig {
    /// `kubernetesVersion`.
    pub fn kubernetes_version(&self) -> &str {
        &self.cluster.kubernetes_version
    }
    /// `certificatesDir`.
    pub fn certificates_dir(&self) -> PathBuf {
        PathBuf::from(&self.cluster.certificates_dir)
    }
    /// `nodeRegistration.ignorePreflightErrors`.
    pub fn ignore_preflight_errors(&self) -> Vec<String> {
        self.init.node_registration.ignore_preflight_errors.clone()
    }
    /// `dryRun`.
    pub fn dry_run(&self) -> bool {
        self.init.dry_run
    }
    /// `skipPhases`.
    pub fn skip_phases(&self) -> Vec<String> {
        self.init.skip_phases.clone()
    }
    /// `patches.directory`.
    pub fn patches_dir(&self) -> Option<PathBuf> {
        self.init.patches.as_ref().filter(|p| !p.directory.is_empty()).map(|p| PathBuf::from(&p.directory))
    }
    /// `dns.disabled`.
    pub fn dns_disabled(&self) -> bool {
        self.cluster.dns.disabled
    }
    /// `proxy.disabled`.
    pub fn proxy_disabled(&self) -> bool {
        self.cluster.proxy.disabled
    }
    /// Sets `dns.disabled`.
    pub fn set_dns_disabled(&mut self) {
        self.cluster.dns.disabled = true;
    }
    /// Sets `proxy.disabled`.
    pub fn set_proxy_disabled(&mut self) {
        self.cluster.proxy.disabled = true;
    }
}

fn extra_args(values: &[String], flag: &str) -> anyhow::Result<Vec<v1beta4::Arg>> {
    values
        .iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => Ok(v1beta4::Arg::new(k.trim_start_matches("--"), v)),
            None => anyhow::bail!("invalid argument {kv:?} for \"--{flag}\" flag: expected <flagname>=<value>"),
        })
        .collect()
}

fn parse_feature_gates(s: &str) -> anyhow::Result<std::collections::BTreeMap<String, bool>> {
    let mut m = std::collections::BTreeMap::new();
    for kv in s.split(',').map(str::trim).filter(|x| !x.is_empty()) {
        let Some((k, v)) = kv.split_once('=') else { anyhow::bail!("missing bool value for {kv}") };
        let b: bool = v.trim().parse().map_err(|_| anyhow::anyhow!("invalid value of {k}: {v}, err: strconv.ParseBool: parsing {v:?}: invalid syntax"))?;
        m.insert(k.trim().to_string(), b);
    }
    Ok(m)
}

/// Applies the command-line overrides (only used without `--config`, which cannot be mixed).
fn apply_overrides(opts: &InitOptions, init: &mut v1beta4::InitConfiguration, cluster: &mut v1beta4::ClusterConfiguration) -> anyhow::Result<()> {
    use crate::flags::names::*;
    for (name, value) in &opts.overrides {
        match (*name, value) {
            (APISERVER_ADVERTISE_ADDRESS, FlagValue::Str(v)) => init.local_api_endpoint.advertise_address = v.clone(),
            (APISERVER_BIND_PORT, FlagValue::Int(p)) => init.local_api_endpoint.bind_port = *p,
            (NODE_NAME, FlagValue::Str(v)) => init.node_registration.name = v.clone(),
            (CERTIFICATE_KEY, FlagValue::Str(v)) => init.certificate_key = v1beta4::SecretString::new(v.clone()),
            (CRI_SOCKET, FlagValue::Str(v)) => init.node_registration.cri_socket = v.clone(),
            (SERVICE_CIDR, FlagValue::Str(v)) => cluster.networking.service_subnet = v.clone(),
            (POD_NETWORK_CIDR, FlagValue::Str(v)) => cluster.networking.pod_subnet = v.clone(),
            (SERVICE_DNS_DOMAIN, FlagValue::Str(v)) => cluster.networking.dns_domain = v.clone(),
            (CONTROL_PLANE_ENDPOINT, FlagValue::Str(v)) => cluster.control_plane_endpoint = v.clone(),
            (KUBERNETES_VERSION, FlagValue::Str(v)) => cluster.kubernetes_version = v.clone(),
            (CERT_DIR, FlagValue::Str(v)) => cluster.certificates_dir = v.clone(),
            (IMAGE_REPOSITORY, FlagValue::Str(v)) => cluster.image_repository = v.clone(),
            (FEATURE_GATES, FlagValue::Str(v)) => cluster.feature_gates = parse_feature_gates(v)?,
            (APISERVER_CERT_SANS, FlagValue::List(v)) => cluster.api_server.cert_sans = v.clone(),
            (APISERVER_EXTRA_ARGS, FlagValue::List(v)) => cluster.api_server.control_plane_component.extra_args = extra_args(v, name)?,
            (CONTROLLER_MANAGER_EXTRA_ARGS, FlagValue::List(v)) => cluster.controller_manager.extra_args = extra_args(v, name)?,
            (SCHEDULER_EXTRA_ARGS, FlagValue::List(v)) => cluster.scheduler.extra_args = extra_args(v, name)?,
            (TOKEN, FlagValue::Str(v)) => {
                let tok = v1beta4::BootstrapTokenString::parse(v).map_err(|_| anyhow::anyhow!("the bootstrap token given with --token has an invalid format"))?;
                if init.bootstrap_tokens.is_empty() {
                    init.bootstrap_tokens.push(v1beta4::BootstrapToken::default());
                }
                init.bootstrap_tokens[0].token = Some(tok);
            }
            (TOKEN_TTL, FlagValue::Str(v)) => {
                let d = kubeadm_api::Duration::parse(v).map_err(|e| anyhow::anyhow!("invalid argument {v:?} for \"--token-ttl\" flag: {e}"))?;
                if init.bootstrap_tokens.is_empty() {
                    init.bootstrap_tokens.push(v1beta4::BootstrapToken::default());
                }
                init.bootstrap_tokens[0].ttl = Some(d);
            }
            _ => {}
        }
    }
    Ok(())
}

/// Host facts for dynamic defaulting, gathered from the real host.
fn host_facts(node_name: &str) -> anyhow::Result<(kubeadm_api::defaults::HostFacts, Option<String>)> {
    let facts = kubeadm_host::hostfacts::HostFacts::gather(&kubeadm_host::RealHost, node_name)?;
    let default_address = if facts.advertise_address_warning.is_some() { None } else { Some(facts.advertise_address) };
    Ok((
        kubeadm_api::defaults::HostFacts { hostname: facts.node_name, default_address, loopback_address: None, cri_socket: None },
        facts.advertise_address_warning,
    ))
}

/// Loads `--config` (or defaults), applies the flag overrides, dynamic defaults and validation.
pub fn load_init_config(out: &Output, opts: &InitOptions) -> anyhow::Result<InitConfig> {
    let mut bundle = match &opts.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("unable to read config from {:?} ", path.display().to_string()))?;
            load::load_init_config(&text).with_context(|| format!("error loading config file {:?}", path.display().to_string()))?
        }
        None => {
            let mut b = load::default_init_bundle();
            apply_overrides(opts, &mut b.init, &mut b.cluster)?;
            b
        }
    };
    for w in &bundle.warnings {
        out.warn(w);
    }
    // --node-name is allowed together with --config and wins over the file.
    if let Some(name) = opts.get_str(crate::flags::names::NODE_NAME) {
        bundle.init.node_registration.name = name.to_string();
    }
    let (facts, warning) = host_facts(&bundle.init.node_registration.name)?;
    if let Some(w) = warning {
        out.warn(w);
    }
    let mut gen_token = || {
        // generate_token always yields the valid format; fall back to re-generating is not needed.
        loop {
            if let Ok(t) = v1beta4::BootstrapTokenString::parse(&crate::commands::token::generate_token()) {
                return t;
            }
        }
    };
    let warnings = kubeadm_api::defaults::set_init_dynamic_defaults(&mut bundle.init, &mut bundle.cluster, &facts, &mut gen_token)?;
    for w in warnings {
        out.warn(w);
    }
    let errs = kubeadm_api::validation::validate_init_configuration(&bundle.init, &bundle.cluster);
    if !errs.is_empty() {
        anyhow::bail!("{errs}");
    }
    Ok(InitConfig { init: bundle.init, cluster: bundle.cluster, kubelet: bundle.kubelet, kube_proxy: bundle.kube_proxy })
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
