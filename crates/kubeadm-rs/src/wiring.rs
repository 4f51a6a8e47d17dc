//! The adapter between the phases and the library crates (kubeadm-api, kubeadm-pki,
//! kubeadm-manifests, kubeadm-host). Everything the binary needs from them goes through here, so the
//! phase table and the CLI do not depend on the libraries' exact shapes.

use std::path::PathBuf;

use anyhow::Context;
use kubeadm_api::{load, v1beta4};
use rayon::prelude::*;

use crate::commands::init::{FlagValue, InitData, InitOptions};
use crate::output::Output;
use crate::workflow::PhaseError;

/// The loaded, defaulted and validated init configuration.
// The component configs are read by kubelet-start / addon phases (not implemented yet).
#[allow(dead_code)]
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
    /// Facts gathered from the host (CA directories, proxy variables, ...).
    pub host: kubeadm_host::hostfacts::HostFacts,
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
            None => {
                anyhow::bail!("invalid argument {kv:?} for \"--{flag}\" flag: expected <flagname>=<value>")
            }
        })
        .collect()
}

/// Upstream `features.NewFeatureGate`: `k=v,...` of known kubeadm feature gates with Go booleans.
pub fn parse_feature_gates(s: &str) -> anyhow::Result<std::collections::BTreeMap<String, bool>> {
    let mut m = std::collections::BTreeMap::new();
    for kv in s.split(',').filter(|x| !x.is_empty()) {
        let Some((k, v)) = kv.split_once('=') else {
            anyhow::bail!("missing bool value for feature-gate key:{kv}")
        };
        let (k, v) = (k.trim(), v.trim());
        if !kubeadm_api::validation::KNOWN_FEATURE_GATES.iter().any(|(n, _)| *n == k) {
            anyhow::bail!("unrecognized feature-gate key: {k}");
        }
        let b = match v {
            "1" | "t" | "T" | "TRUE" | "true" | "True" => true,
            "0" | "f" | "F" | "FALSE" | "false" | "False" => false,
            _ => anyhow::bail!("invalid value {v} for feature-gate key: {k}, use true|false instead"),
        };
        m.insert(k.to_string(), b);
    }
    Ok(m)
}

/// Applies the command-line overrides (only used without `--config`, which cannot be mixed).
fn apply_overrides(
    opts: &InitOptions,
    init: &mut v1beta4::InitConfiguration,
    cluster: &mut v1beta4::ClusterConfiguration,
) -> anyhow::Result<()> {
    use crate::flags::names::*;
    for (name, value) in &opts.overrides {
        match (*name, value) {
            (APISERVER_ADVERTISE_ADDRESS, FlagValue::Str(v)) => {
                init.local_api_endpoint.advertise_address = v.clone()
            }
            (APISERVER_BIND_PORT, FlagValue::Int(p)) => init.local_api_endpoint.bind_port = *p,
            (NODE_NAME, FlagValue::Str(v)) => init.node_registration.name = v.clone(),
            (CERTIFICATE_KEY, FlagValue::Str(v)) => {
                init.certificate_key = v1beta4::SecretString::new(v.clone())
            }
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
            (APISERVER_EXTRA_ARGS, FlagValue::List(v)) => {
                cluster.api_server.control_plane_component.extra_args = extra_args(v, name)?
            }
            (CONTROLLER_MANAGER_EXTRA_ARGS, FlagValue::List(v)) => {
                cluster.controller_manager.extra_args = extra_args(v, name)?
            }
            (SCHEDULER_EXTRA_ARGS, FlagValue::List(v)) => cluster.scheduler.extra_args = extra_args(v, name)?,
            (TOKEN, FlagValue::Str(v)) => {
                let tok = v1beta4::BootstrapTokenString::parse(v).map_err(|_| {
                    anyhow::anyhow!("the bootstrap token given with --token has an invalid format")
                })?;
                if init.bootstrap_tokens.is_empty() {
                    init.bootstrap_tokens.push(v1beta4::BootstrapToken::default());
                }
                init.bootstrap_tokens[0].token = Some(tok);
            }
            (TOKEN_TTL, FlagValue::Str(v)) => {
                let d = kubeadm_api::Duration::parse(v)
                    .map_err(|e| anyhow::anyhow!("invalid argument {v:?} for \"--token-ttl\" flag: {e}"))?;
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

/// Upstream `VerifyAPIServerBindAddress` (run by `init`, its phases and `join --control-plane`
/// on the defaulted advertise address): a loopback address is allowed, anything else must be a
/// global unicast address, so `0.0.0.0` (what defaulting falls back to on a host without a
/// default route) is refused.
pub fn verify_api_server_bind_address(address: &str) -> anyhow::Result<()> {
    let Some(ip) = kubeadm_api::net::parse_ip_sloppy(address) else {
        anyhow::bail!("cannot parse IP address: {address}");
    };
    let v4 = match ip {
        std::net::IpAddr::V4(a) => Some(a),
        std::net::IpAddr::V6(a) => a.to_ipv4_mapped(),
    };
    let (loopback, global_unicast) = match (v4, ip) {
        (Some(a), _) => (
            a.is_loopback(),
            !(a.is_unspecified()
                || a.is_loopback()
                || a.is_multicast()
                || a.is_link_local()
                || a.is_broadcast()),
        ),
        (None, std::net::IpAddr::V6(a)) => (
            a.is_loopback(),
            !(a.is_unspecified()
                || a.is_loopback()
                || a.is_multicast()
                || (a.segments()[0] & 0xffc0) == 0xfe80),
        ),
        (None, std::net::IpAddr::V4(_)) => unreachable!("an IPv4 address has its IPv4 form"),
    };
    if loopback || global_unicast {
        return Ok(());
    }
    anyhow::bail!("cannot use {address:?} as the bind address for the API Server")
}

/// Host facts for dynamic defaulting, gathered from the real host.
pub fn host_facts(
    node_name: &str,
) -> anyhow::Result<(kubeadm_api::defaults::HostFacts, kubeadm_host::hostfacts::HostFacts)> {
    let facts = kubeadm_host::hostfacts::HostFacts::gather(&kubeadm_host::RealHost, node_name)?;
    let default_address =
        if facts.advertise_address_warning.is_some() { None } else { Some(facts.advertise_address) };
    Ok((
        kubeadm_api::defaults::HostFacts {
            hostname: facts.node_name.clone(),
            default_address,
            loopback_address: None,
            cri_socket: None,
        },
        facts,
    ))
}

/// Load options of `--config`: strict (unknown fields are errors). Upstream v1.37 only warns; see
/// docs/cli.md.
pub const STRICT: load::LoadOptions = load::LoadOptions { strict: true, allow_experimental: false };

/// Loads `--config` (or defaults), applies the flag overrides, dynamic defaults and validation.
pub fn load_init_config(out: &Output, opts: &InitOptions) -> anyhow::Result<InitConfig> {
    match &opts.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                let shown = path.display().to_string();
                anyhow::anyhow!("unable to read config from {shown:?} : open {shown}: {}", io_reason(&e))
            })?;
            init_config_from_text(out, &text, opts)
                .with_context(|| format!("error loading config file {:?}", path.display().to_string()))
        }
        None => finish_init_config(out, opts, None),
    }
}

/// [`load_init_config`] for the text of a config file (strict).
pub fn init_config_from_text(out: &Output, text: &str, opts: &InitOptions) -> anyhow::Result<InitConfig> {
    finish_init_config(out, opts, Some(text))
}

fn finish_init_config(out: &Output, opts: &InitOptions, text: Option<&str>) -> anyhow::Result<InitConfig> {
    let mut bundle = match text {
        Some(text) => load::load_init_config_with(text, &STRICT)?,
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
    // The no-default-route warning comes from the dynamic defaulting below, only when the
    // advertise address is empty or unspecified (upstream's `ChooseAPIServerBindAddress`).
    let (facts, host) = host_facts(&bundle.init.node_registration.name)?;
    let mut gen_token = || {
        // generate_token always yields the valid format; fall back to re-generating is not needed.
        loop {
            if let Ok(t) = v1beta4::BootstrapTokenString::parse(&crate::commands::token::generate_token()) {
                return t;
            }
        }
    };
    let warnings = kubeadm_api::defaults::set_init_dynamic_defaults(
        &mut bundle.init,
        &mut bundle.cluster,
        &facts,
        &mut gen_token,
    )?;
    for w in warnings {
        out.warn(w);
    }
    let errs = kubeadm_api::validation::validate_init_configuration(&bundle.init, &bundle.cluster);
    if !errs.is_empty() {
        anyhow::bail!("{errs}");
    }
    Ok(InitConfig {
        init: bundle.init,
        cluster: bundle.cluster,
        kubelet: bundle.kubelet,
        kube_proxy: bundle.kube_proxy,
        host,
    })
}

// ---------------------------------------------------------------------------------------------
// Offline phases (preflight, certs, kubeconfig, etcd local, control-plane)
//
// Nothing half-written: the first offline phase that runs computes the output of *every* selected
// offline phase in memory (certificates, kubeconfigs, manifests) before anything is written. Any
// error (a corrupt existing certificate, a kubeconfig signed by another CA, a bad patch) therefore
// fails the run before the first file is touched; it is reported under the name of the phase that
// would have failed, as upstream does. Each phase then prints its lines and writes its own files.

/// One line a phase prints: stdout, or a klog-style warning on stderr.
#[derive(Debug)]
pub enum Line {
    /// A `[phase] ...` line on stdout.
    Out(String),
    /// A warning on stderr.
    Warn(String),
}

/// What one phase prints and writes.
#[derive(Debug, Default)]
pub struct PhaseOutput {
    /// Lines in upstream's order (stdout and stderr interleaved).
    pub lines: Vec<Line>,
    /// Files to write, in order.
    pub files: Vec<kubeadm_api::OutFile>,
    /// Files to print after writing (dry-run: `[dryrun] Would write file ...`), as (real, shown).
    pub print_after: Vec<(PathBuf, PathBuf)>,
}

/// A preparation failure, carrying the name of the phase that failed.
#[derive(Debug, thiserror::Error)]
#[error("{}", crate::output::error_message(.cause))]
pub struct PrepareFailed {
    /// Full phase name (`certs/apiserver`).
    pub phase: String,
    /// The cause.
    pub cause: anyhow::Error,
}

/// The certificate sub-phases, in upstream order, including `sa`.
const CERT_PHASES: &[&str] = &[
    "ca",
    "apiserver",
    "apiserver-kubelet-client",
    "front-proxy-ca",
    "front-proxy-client",
    "etcd-ca",
    "etcd-server",
    "etcd-peer",
    "etcd-healthcheck-client",
    "apiserver-etcd-client",
    "sa",
];
/// The kubeconfig sub-phases: (phase name, file name).
const KUBECONFIG_PHASES: &[(&str, &str)] = &[
    ("admin", "admin.conf"),
    ("super-admin", "super-admin.conf"),
    ("kubelet", "kubelet.conf"),
    ("controller-manager", "controller-manager.conf"),
    ("scheduler", "scheduler.conf"),
];
/// The control-plane sub-phases: (phase name, component).
const CONTROL_PLANE_PHASES: &[(&str, &str)] = &[
    ("apiserver", "kube-apiserver"),
    ("controller-manager", "kube-controller-manager"),
    ("scheduler", "kube-scheduler"),
];

fn selected(d: &InitData, name: &str) -> bool {
    d.plan.as_ref().is_none_or(|p| p.selected(name))
}

fn fail(phase: &str, cause: impl Into<anyhow::Error>) -> PrepareFailed {
    PrepareFailed { phase: phase.to_string(), cause: cause.into() }
}

fn path_str(p: &std::path::Path) -> String {
    p.display().to_string()
}

/// `ExternalCA()`: ca.crt present without ca.key.
pub fn external_ca(d: &InitData) -> bool {
    kubeadm_pki::using_external_ca(&d.cert_dir()).external
}

fn cert_inputs(d: &InitData) -> anyhow::Result<kubeadm_pki::CertInputs> {
    let mut inputs = kubeadm_pki::CertInputs::from_config(&d.cfg.init, &d.cfg.cluster)?;
    inputs.start_time = d.start_time;
    if d.dry_run {
        inputs.write_dir = Some(d.cert_write_dir());
    }
    Ok(inputs)
}

impl PhaseOutput {
    fn msg(&mut self, m: impl Into<String>) {
        self.lines.push(Line::Out(m.into()));
    }
    fn warn(&mut self, m: impl Into<String>) {
        self.lines.push(Line::Warn(m.into()));
    }
}

fn pki_output(o: kubeadm_pki::PkiOutput) -> PhaseOutput {
    let lines = o.warnings.into_iter().map(Line::Warn).chain(o.messages.into_iter().map(Line::Out)).collect();
    PhaseOutput { lines, files: o.files, print_after: Vec::new() }
}

/// Loads the patches directory once per process (upstream caches the manager per path).
fn patch_manager(
    d: &mut InitData,
) -> anyhow::Result<Option<(kubeadm_manifests::patches::PatchManager, Vec<String>)>> {
    load_patches(d.patches_dir())
}

/// Reads a patches directory (`--patches` / `patches.directory`) into a manager and its reading
/// messages; `None` when no directory is configured.
pub fn load_patches(
    dir: Option<PathBuf>,
) -> anyhow::Result<Option<(kubeadm_manifests::patches::PatchManager, Vec<String>)>> {
    let Some(dir) = dir else { return Ok(None) };
    let shown = path_str(&dir);
    let meta = std::fs::symlink_metadata(&dir).map_err(|e| {
        anyhow::anyhow!("could not list patch files for path {shown:?}: lstat {shown}: {}", io_reason(&e))
    })?;
    if !meta.is_dir() {
        let base = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        anyhow::bail!(
            "could not list patch files for path {shown:?}: getPatchSetsFromPath {base}: not a directory"
        );
    }
    let mut files = Vec::new();
    fn walk(
        base: &std::path::Path,
        dir: &std::path::Path,
        out: &mut Vec<kubeadm_manifests::patches::PatchFile>,
    ) -> anyhow::Result<()> {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .with_context(|| format!("could not read the directory {:?}", path_str(dir)))?
            .filter_map(Result::ok)
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, out)?;
            } else {
                let data = std::fs::read(&p)
                    .with_context(|| format!("could not read the file {:?}", path_str(&p)))?;
                let rel = p.strip_prefix(base).unwrap_or(&p).display().to_string();
                out.push(kubeadm_manifests::patches::PatchFile { path: rel, data });
            }
        }
        Ok(())
    }
    walk(&dir, &dir, &mut files)?;
    let pm = kubeadm_manifests::patches::PatchManager::from_files(&shown, files)?;
    let msgs = pm.messages.clone();
    Ok(Some((pm, msgs)))
}

/// The `--patches` manager for the API phases (kubelet-start, addons); upstream prints its reading
/// messages once per process, so they are printed here only when no offline phase ran.
pub fn patch_manager_for_api(
    d: &mut InitData,
) -> anyhow::Result<Option<kubeadm_manifests::patches::PatchManager>> {
    Ok(patch_manager(d)?.map(|(pm, _)| pm))
}

/// Go's wording of common I/O errors (`no such file or directory`, ...).
fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => {
            let s = e.to_string();
            s.split(" (os error").next().unwrap_or(&s).to_lowercase()
        }
    }
}

fn host_inputs(d: &InitData) -> kubeadm_manifests::HostInputs {
    let facts = &d.cfg.host;
    kubeadm_manifests::HostInputs {
        existing_ca_cert_dirs: facts.ca_cert_dirs.iter().map(|p| path_str(p)).collect(),
        proxy_env: kubeadm_manifests::staticpod::proxy_env_vars(facts.proxy_env.clone()),
        external_ca: external_ca(d),
        ci_image_repository: None,
        control_plane_component_health_check: d
            .cfg
            .init
            .timeouts
            .as_ref()
            .and_then(|t| t.control_plane_component_health_check),
    }
}

/// The CA used to sign kubeconfig client certificates: generated in this run, else from the
/// certificate write dir (upstream `getKubeConfigSpecs`).
fn kubeconfig_ca(
    d: &InitData,
    generated: &[kubeadm_api::OutFile],
) -> anyhow::Result<kubeadm_pki::CertAndKey> {
    let dir = d.cert_write_dir();
    let crt = kubeadm_pki::cert_path(&dir, "ca");
    let key = kubeadm_pki::key_path(&dir, "ca");
    let find = |p: &std::path::Path| generated.iter().rev().find(|f| f.path == p).map(|f| f.data.clone());
    if let (Some(c), Some(k)) = (find(&crt), find(&key)) {
        let mut certs = kubeadm_pki::Certificate::all_from_pem(&c)?;
        let cert = certs.remove(0);
        let key = kubeadm_pki::PrivateKey::from_pem(&k)?
            .ok_or_else(|| anyhow::anyhow!("generated CA key is not a private key"))?;
        return Ok(kubeadm_pki::CertAndKey { cert, key });
    }
    // Upstream tests os.IsNotExist on a wrapped error, which never matches: a missing CA gets the
    // generic message as well.
    kubeadm_pki::load_cert_and_key(&dir, "ca").map_err(|e| {
        anyhow::Error::new(e).context("couldn't create a kubeconfig; the CA files couldn't be loaded")
    })
}

/// The part of a kubeconfig phase before its client certificate: endpoint warnings, the spec and
/// the certificate's parameters (upstream computes them in this order, per file).
struct KubeconfigPlan {
    out: PhaseOutput,
    spec: kubeadm_manifests::kubeconfig::KubeConfigSpec,
    algorithm: kubeadm_pki::KeyAlgorithm,
    not_after: time::OffsetDateTime,
}

fn kubeconfig_plan(d: &InitData, file: &str) -> anyhow::Result<KubeconfigPlan> {
    use kubeadm_manifests::kubeconfig as kc;
    let mut out = PhaseOutput::default();
    let endpoint = &d.cfg.init.local_api_endpoint;
    // The kubelet's kubeconfig is built with controlPlaneEndpoint cleared: no endpoint warning.
    if file != "kubelet.conf" {
        let (_, warning) = kc::control_plane_endpoint_url(&d.cfg.cluster.control_plane_endpoint, endpoint)?;
        if let Some(w) = warning {
            out.warn(w);
        }
    }
    let specs = kc::init_kubeconfig_specs(&d.cfg.cluster, endpoint, &d.cfg.init.node_registration.name)?;
    let spec = specs
        .into_iter()
        .find(|s| s.file_name == file)
        .ok_or_else(|| anyhow::anyhow!("couldn't retrieve KubeConfigSpec for {file}"))?;
    let algorithm = kubeconfig_key_algorithm(d)?;
    let validity = cert_inputs(d)?.cert_validity;
    Ok(KubeconfigPlan { out, spec, algorithm, not_after: d.start_time + validity })
}

fn kubeconfig_key_algorithm(d: &InitData) -> anyhow::Result<kubeadm_pki::KeyAlgorithm> {
    Ok(d.cfg.cluster.encryption_algorithm_or_default().as_str().parse()?)
}

/// Issues the client certificate of `plan`, with `key` if one was generated beforehand (a failed
/// pre-generation is retried, and reported, here).
fn kubeconfig_client(
    plan: &KubeconfigPlan,
    ca: &kubeadm_pki::CertAndKey,
    key: Option<kubeadm_pki::PrivateKey>,
) -> anyhow::Result<kubeadm_pki::CertAndKey> {
    let spec = &plan.spec;
    let client = match key {
        Some(key) => kubeadm_pki::issue_client_cert_with_key(
            ca,
            &spec.client_name,
            &spec.organizations,
            key,
            plan.not_after,
        ),
        None => kubeadm_pki::issue_client_cert(
            ca,
            &spec.client_name,
            &spec.organizations,
            plan.algorithm,
            plan.not_after,
        ),
    };
    client.with_context(|| format!("failure while creating {} client certificate", spec.client_name))
}

fn kubeconfig_output(
    d: &InitData,
    file: &str,
    plan: KubeconfigPlan,
    ca: &kubeadm_pki::CertAndKey,
    client: kubeadm_pki::CertAndKey,
) -> anyhow::Result<PhaseOutput> {
    use kubeadm_manifests::kubeconfig as kc;
    let KubeconfigPlan { mut out, spec, .. } = plan;
    let key_pem = client.key.to_pem().context("failed to marshal private key to PEM")?;
    let config = kc::build_from_spec(
        &spec,
        &d.cfg.cluster.cluster_name,
        ca.cert.to_pem().as_bytes(),
        key_pem.as_bytes(),
        client.cert.to_pem().as_bytes(),
    );
    let dir = d.kubeconfig_dir();
    let path = dir.join(file);
    match std::fs::read(&path) {
        Ok(existing) => {
            let read = |p: &str| std::fs::read(p).ok();
            let ok = kc::validate_existing(&path_str(&path), &existing, &config, &read)?;
            if let Some(w) = ok.warning {
                out.warn(w);
            }
            out.msg(kc::msg_using_existing(&path_str(&path)));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            out.msg(kc::msg_writing(file));
            out.files.push(kc::to_out_file(&path_str(&dir), file, &config)?);
        }
        Err(e) => {
            return Err(anyhow::anyhow!(
                "failed to load kubeconfig file {:?}: {}",
                path_str(&path),
                io_reason(&e)
            ));
        }
    }
    Ok(out)
}

fn static_pod_output(
    d: &InitData,
    pod: &kubeadm_manifests::StaticPod,
    patches: &mut Option<(kubeadm_manifests::patches::PatchManager, Vec<String>)>,
    out: &mut PhaseOutput,
) -> anyhow::Result<()> {
    let mut pod = pod.clone();
    if let Some((pm, first_messages)) = patches.as_mut() {
        out.lines.extend(first_messages.drain(..).map(Line::Out));
        let (patched, msgs) = kubeadm_manifests::patches::patch_static_pod(&pod, pm)
            .with_context(|| format!("failed to patch static Pod manifest file for {:?}", pod.name))?;
        out.lines.extend(msgs.into_iter().map(Line::Out));
        pod = patched;
    }
    out.files.push(pod.to_out_file(&path_str(&d.manifest_dir())));
    Ok(())
}

/// Computes the output of every selected offline phase (see the section comment).
pub fn prepare(d: &mut InitData) -> Result<(), PrepareFailed> {
    if d.prepared.is_some() {
        return Ok(());
    }
    let mut prepared: std::collections::HashMap<String, PhaseOutput> = std::collections::HashMap::new();
    let kubeconfigs: Vec<(&str, &str)> =
        KUBECONFIG_PHASES.iter().copied().filter(|(n, _)| selected(d, &format!("kubeconfig/{n}"))).collect();
    // With an external CA no kubeconfig is generated (all or none: the check does not depend on
    // the file). Preparing writes nothing, so checking before the certs is the same as after.
    let kubeconfig_external = !kubeconfigs.is_empty() && external_ca(d);
    // Keys for the kubeconfig client certificates, generated with the certificates' keys when
    // both are needed (one parallel batch); `None` (or a failed generation, retried and reported
    // when issuing) means generate when issuing.
    let mut kubeconfig_keys: Vec<Option<kubeadm_pki::PrivateKey>> = Vec::new();
    let kc_alg =
        if kubeconfigs.is_empty() || kubeconfig_external { None } else { kubeconfig_key_algorithm(d).ok() };

    // certs
    let certs: Vec<&str> =
        CERT_PHASES.iter().copied().filter(|n| selected(d, &format!("certs/{n}"))).collect();
    let mut generated: Vec<kubeadm_api::OutFile> = Vec::new();
    if !certs.is_empty() {
        let first = format!("certs/{}", certs[0]);
        let inputs = cert_inputs(d).map_err(|e| fail(&first, e))?;
        let mut runner = kubeadm_pki::CertsRunner::new(&inputs);
        if certs.len() > 1 {
            match kc_alg {
                Some(alg) => {
                    let ((), keys) = rayon::join(
                        || runner.pregenerate_keys(),
                        || {
                            kubeconfigs
                                .par_iter()
                                .map(|_| kubeadm_pki::PrivateKey::generate(alg).ok())
                                .collect()
                        },
                    );
                    kubeconfig_keys = keys;
                }
                None => runner.pregenerate_keys(),
            }
        }
        for name in certs {
            let phase = format!("certs/{name}");
            let o = runner.run_phase(name).map_err(|e| fail(&phase, e))?;
            generated.extend(o.files.iter().cloned());
            prepared.insert(phase, pki_output(o));
        }
    }

    // kubeconfig
    if kubeconfig_external {
        for (name, file) in kubeconfigs {
            let phase = format!("kubeconfig/{name}");
            let mut o = PhaseOutput::default();
            o.msg(kubeadm_manifests::kubeconfig::msg_external_ca(file));
            if d.dry_run {
                let src = PathBuf::from(crate::commands::init::KUBERNETES_DIR).join(file);
                let data = std::fs::read(&src).map_err(|e| {
                    fail(
                        &phase,
                        anyhow::anyhow!(
                            "could not copy {file} to dry run directory {}: {}",
                            path_str(&d.kubeconfig_dir()),
                            io_reason(&e)
                        ),
                    )
                })?;
                o.files.push(kubeadm_api::OutFile::secret(d.kubeconfig_dir().join(file), data, 0o600));
            }
            prepared.insert(phase, o);
        }
    } else if !kubeconfigs.is_empty() {
        // Upstream, per file: the spec and its parameters, the CA (loaded for the first file),
        // the client certificate, the file. Here every client certificate is issued in one
        // parallel batch; results and errors are then taken in that same order.
        let plans: Vec<anyhow::Result<KubeconfigPlan>> =
            kubeconfigs.iter().map(|(_, file)| kubeconfig_plan(d, file)).collect();
        let ca = kubeconfig_ca(d, &generated);
        kubeconfig_keys.resize_with(plans.len(), || None);
        let mut clients: Vec<Option<anyhow::Result<kubeadm_pki::CertAndKey>>> = match &ca {
            Ok(ca) => plans
                .par_iter()
                .zip(kubeconfig_keys)
                .map(|(plan, key)| plan.as_ref().ok().map(|p| kubeconfig_client(p, ca, key)))
                .collect(),
            Err(_) => Vec::new(),
        };
        clients.resize_with(plans.len(), || None);
        let mut ca = Some(ca);
        for (((name, file), plan), client) in kubeconfigs.into_iter().zip(plans).zip(clients) {
            let phase = format!("kubeconfig/{name}");
            let plan = plan.map_err(|e| fail(&phase, e))?;
            // Only the first file gets here with `ca` still set: its error is that file's.
            if let Some(Err(e)) = ca.take_if(|c| c.is_err()) {
                return Err(fail(&phase, e));
            }
            let (Some(Ok(ca)), Some(client)) = (ca.as_ref(), client) else { continue };
            let client = client.map_err(|e| fail(&phase, e))?;
            let o = kubeconfig_output(d, file, plan, ca, client).map_err(|e| fail(&phase, e))?;
            prepared.insert(phase, o);
        }
    }

    // etcd local and control-plane
    let etcd = selected(d, "etcd/local");
    let cps: Vec<(&str, &str)> = CONTROL_PLANE_PHASES
        .iter()
        .copied()
        .filter(|(n, _)| selected(d, &format!("control-plane/{n}")))
        .collect();
    let mut patches = None;
    let etcd_local = etcd && cfg_has_local_etcd(d);
    if etcd_local || !cps.is_empty() {
        // Upstream reads the directory while patching the first Pod: the error is that Pod's.
        let (first, component) = if etcd_local {
            ("etcd/local".to_string(), "etcd")
        } else {
            (format!("control-plane/{}", cps[0].0), cps[0].1)
        };
        patches = patch_manager(d).map_err(|e| {
            let e = e.context(format!("failed to patch static Pod manifest file for {component:?}"));
            fail(
                &first,
                if etcd_local { e.context("error creating local etcd static pod manifest file") } else { e },
            )
        })?;
    }
    let host = host_inputs(d);
    let cfg = &d.cfg;
    let endpoint = &cfg.init.local_api_endpoint;
    let rootless = cfg.cluster.feature_gates.get("RootlessControlPlane").copied().unwrap_or(false);
    if etcd {
        let mut o = PhaseOutput::default();
        if let Some(local) = cfg.cluster.etcd.local.as_ref().filter(|_| cfg.cluster.etcd.external.is_none()) {
            if d.dry_run {
                o.msg(format!("[etcd] Would ensure that {:?} directory is present", local.data_dir));
            }
            o.msg(format!(
                "[etcd] Creating static Pod manifest for local etcd in {:?}",
                path_str(&d.manifest_dir())
            ));
            if rootless && d.dry_run {
                o.msg("[etcd] Would create users and groups for \"etcd\" to run as non-root");
                o.msg("[etcd] Would update static pod manifest for \"etcd\" to run run as non-root");
            } else if rootless {
                return Err(fail(
                    "etcd/local",
                    PhaseError::NotImplemented(
                        "etcd/local with the RootlessControlPlane feature gate".into(),
                    ),
                ));
            }
            let pod = kubeadm_manifests::staticpod::etcd_pod(
                &cfg.cluster,
                endpoint,
                &cfg.init.node_registration.name,
                &[],
                &host,
            );
            static_pod_output(d, &pod, &mut patches, &mut o).map_err(|e| {
                fail("etcd/local", e.context("error creating local etcd static pod manifest file"))
            })?;
            if d.dry_run {
                let real = o.files.last().map(|f| f.path.clone()).unwrap_or_default();
                o.print_after
                    .push((real, PathBuf::from(crate::commands::init::MANIFESTS_DIR).join("etcd.yaml")));
            }
        } else {
            d.out.v(1, "[etcd] External etcd mode. Skipping the creation of a manifest for local etcd");
        }
        prepared.insert("etcd/local".into(), o);
    }
    if !cps.is_empty() {
        let pods = kubeadm_manifests::staticpod::control_plane_pods(&cfg.cluster, endpoint, &host);
        for (name, component) in &cps {
            let phase = format!("control-plane/{name}");
            let mut o = PhaseOutput::default();
            o.msg(format!("[control-plane] Creating static Pod manifest for {component:?}"));
            // Upstream builds every control-plane spec in each sub-phase, after the line above.
            for w in kubeadm_manifests::staticpod::api_server_command_warnings(&cfg.cluster) {
                o.warn(w);
            }
            if rootless && d.dry_run {
                // Upstream prints this once per CreateStaticPodFiles call, i.e. per sub-phase.
                o.msg(format!(
                    "[control-plane] Would create users and groups for [{component}] to run as non-root"
                ));
                o.msg(format!("[control-plane] Would update static pod manifest for {component:?} to run run as non-root"));
            } else if rootless {
                return Err(fail(
                    &phase,
                    PhaseError::NotImplemented(format!("{phase} with the RootlessControlPlane feature gate")),
                ));
            }
            let pod = pods.iter().find(|p| p.name == *component).ok_or_else(|| {
                fail(&phase, anyhow::anyhow!("couldn't retrieve StaticPodSpec for {component:?}"))
            })?;
            static_pod_output(d, pod, &mut patches, &mut o).map_err(|e| fail(&phase, e))?;
            prepared.insert(phase, o);
        }
    }
    d.prepared = Some(prepared);
    Ok(())
}

/// The etcd static Pod of a control-plane node joining a stacked etcd cluster (upstream
/// `prepareAndWriteEtcdStaticPod` with the initial cluster returned by the member add), written
/// like init's (patches, modes); prints upstream's line first.
pub fn write_joining_etcd_pod(
    d: &mut InitData,
    initial_cluster: &[kubeadm_manifests::staticpod::EtcdMember],
) -> anyhow::Result<()> {
    d.out.line("[etcd] Creating static Pod manifest for \"etcd\"");
    let mut patches =
        patch_manager(d).map_err(|e| e.context("failed to patch static Pod manifest file for \"etcd\""))?;
    let host = host_inputs(d);
    let cfg = &d.cfg;
    let pod = kubeadm_manifests::staticpod::etcd_pod(
        &cfg.cluster,
        &cfg.init.local_api_endpoint,
        &cfg.init.node_registration.name,
        initial_cluster,
        &host,
    );
    let mut o = PhaseOutput::default();
    static_pod_output(d, &pod, &mut patches, &mut o)?;
    let w = writer(d);
    use kubeadm_host::FileWriter as _;
    for f in &o.files {
        w.write(f)
            .map_err(|e| anyhow::Error::new(e).context(format!("failed to write {:?}", path_str(&f.path))))?;
    }
    Ok(())
}

fn cfg_has_local_etcd(d: &InitData) -> bool {
    d.cfg.cluster.etcd.external.is_none() && d.cfg.cluster.etcd.local.is_some()
}

fn writer(d: &InitData) -> kubeadm_host::RealWriter {
    let mut policy = kubeadm_host::fs::DirModePolicy::default();
    // Upstream creates the manifest dir 0700 (also a custom one); certificate and kubeconfig dirs
    // 0755, also below the dry-run dir.
    if d.dry_run_dir.is_none() {
        policy.rules.push((d.manifest_dir(), 0o700));
    }
    kubeadm_host::RealWriter::host().dir_modes(policy)
}

/// Prints and writes the prepared output of `phase`.
fn emit(d: &mut InitData, phase: &str) -> Result<(), PhaseError> {
    prepare(d).map_err(anyhow::Error::new)?;
    let Some(o) = d.prepared.as_mut().and_then(|p| p.remove(phase)) else { return Ok(()) };
    let w = writer(d);
    // Lines come before the write, as upstream prints "Generating ..." / "Writing ..." first.
    for l in &o.lines {
        match l {
            Line::Out(m) => d.out.line(m),
            Line::Warn(m) => d.out.warn(m),
        }
    }
    use kubeadm_host::FileWriter as _;
    for f in &o.files {
        // Upstream accepts relative directories (e.g. `--kubeconfig-dir kc`); the writer wants
        // absolute paths.
        let abs;
        let f = if f.path.is_relative() {
            abs = kubeadm_api::OutFile {
                path: std::path::absolute(&f.path)
                    .with_context(|| format!("invalid path {:?}", path_str(&f.path)))?,
                ..f.clone()
            };
            &abs
        } else {
            f
        };
        w.write(f)
            .map_err(|e| anyhow::Error::new(e).context(format!("failed to write {:?}", path_str(&f.path))))?;
    }
    for (real, shown) in &o.print_after {
        let data = std::fs::read(real).with_context(|| format!("read {}", path_str(real)))?;
        d.out.line(format!("[dryrun] Would write file {:?} with content:", path_str(shown)));
        d.out.raw(String::from_utf8_lossy(&data));
    }
    Ok(())
}

/// Group phases (`certs`, `kubeconfig`, `control-plane`) prepare everything before their line.
pub fn prepare_group(d: &mut InitData) -> Result<(), PhaseError> {
    prepare(d).map_err(|e| PhaseError::Failed(anyhow::Error::new(e)))
}

/// The inputs of init's checks from the configuration.
pub fn preflight_input(d: &InitData) -> kubeadm_host::preflight::InitPreflightInput {
    use kubeadm_host::preflight as pf;
    let cfg = &d.cfg;
    let arg = |args: &[v1beta4::Arg], name: &str| {
        args.iter().rev().find(|a| a.name == name).map(|a| a.value.clone())
    };
    let etcd = match &cfg.cluster.etcd.external {
        Some(e) => pf::EtcdInput::External {
            endpoints: e.endpoints.clone(),
            ca_file: e.ca_file.clone(),
            cert_file: e.cert_file.clone(),
            key_file: e.key_file.clone(),
        },
        None => pf::EtcdInput::Local {
            data_dir: PathBuf::from(
                cfg.cluster.etcd.local.as_ref().map(|l| l.data_dir.clone()).unwrap_or_default(),
            ),
        },
    };
    let policy = match cfg.init.node_registration.image_pull_policy.as_str() {
        "Always" => pf::checks::PullPolicy::Always,
        "Never" => pf::checks::PullPolicy::Never,
        _ => pf::checks::PullPolicy::IfNotPresent,
    };
    pf::InitPreflightInput {
        kubeadm_version: kubeadm_api::constants::KUBERNETES_VERSION.to_string(),
        kubernetes_version: cfg.cluster.kubernetes_version.clone(),
        bind_port: u16::try_from(cfg.init.local_api_endpoint.bind_port).unwrap_or(0),
        advertise_address: cfg.init.local_api_endpoint.advertise_address.clone(),
        apiserver_bind_address: arg(
            &cfg.cluster.api_server.control_plane_component.extra_args,
            "bind-address",
        ),
        apiserver_advertise_address_arg: arg(
            &cfg.cluster.api_server.control_plane_component.extra_args,
            "advertise-address",
        ),
        scheduler_bind_address: arg(&cfg.cluster.scheduler.extra_args, "bind-address"),
        controller_manager_bind_address: arg(&cfg.cluster.controller_manager.extra_args, "bind-address"),
        service_subnet: cfg.cluster.networking.service_subnet.clone(),
        pod_subnet: cfg.cluster.networking.pod_subnet.clone(),
        etcd,
        manifests_dir: d.manifest_dir_for_checks(),
        cert_dir: d.cert_dir(),
        node_name: cfg.init.node_registration.name.clone(),
        cri_socket: cfg.init.node_registration.cri_socket.clone(),
        image_pull_policy: policy,
        images: kubeadm_manifests::images::list(&cfg.cluster),
        sandbox_image: kubeadm_manifests::images::pause_image(&cfg.cluster),
        secondary_control_plane: false,
        download_certs: false,
    }
}

/// Phase `preflight`.
pub fn preflight(d: &mut InitData) -> Result<(), PhaseError> {
    use kubeadm_host::preflight as pf;
    let input = preflight_input(d);
    let ignore: Vec<String> = d.ignore_preflight_errors.iter().cloned().collect();
    let ignore = pf::IgnoreSet::new(&ignore, &[]).map_err(anyhow::Error::new)?;
    // Like upstream, warnings and the block of fatal errors go to stderr as they come; the phase
    // then fails with "preflight checks failed".
    pf::run_init_preflight(
        &input,
        &kubeadm_host::RealHost,
        &ignore,
        d.dry_run,
        &mut d.out.progress_writer(),
        &mut std::io::stderr(),
    )
    .map_err(|e| PhaseError::Failed(anyhow::Error::new(e)))
}

/// Phase `certs/<name>`.
pub fn cert(d: &mut InitData, name: &str) -> Result<(), PhaseError> {
    emit(d, &format!("certs/{name}"))
}

/// Phase `certs/sa`.
pub fn sa(d: &mut InitData) -> Result<(), PhaseError> {
    emit(d, "certs/sa")
}

/// Phase `kubeconfig/<file>`.
pub fn kubeconfig(d: &mut InitData, file: &str) -> Result<(), PhaseError> {
    emit(d, &format!("kubeconfig/{}", file.trim_end_matches(".conf")))
}

/// Phase `etcd/local`.
pub fn etcd_local(d: &mut InitData) -> Result<(), PhaseError> {
    prepare(d).map_err(anyhow::Error::new)?;
    if let Some(local) =
        d.cfg.cluster.etcd.local.as_ref().filter(|_| d.cfg.cluster.etcd.external.is_none() && !d.dry_run)
    {
        let dir = PathBuf::from(&local.data_dir);
        kubeadm_host::fs::create_dir_all(&dir, 0o700).map_err(|e| {
            anyhow::Error::new(e).context(format!("failed to create etcd directory {:?}", local.data_dir))
        })?;
    }
    emit(d, "etcd/local")
}

/// Phase `control-plane/<component>`.
pub fn control_plane(d: &mut InitData, component: &str) -> Result<(), PhaseError> {
    emit(d, &format!("control-plane/{}", component.trim_start_matches("kube-")))
}

/// Upstream `ValidateKubeconfigsForExternalCA` (external CA mode, checked when init starts): the
/// kubeconfig files kubeadm cannot create without `ca.key` must exist and trust the CA.
pub fn validate_kubeconfigs_for_external_ca(
    out: &Output,
    kubeconfig_dir: &std::path::Path,
    cfg: &InitConfig,
) -> anyhow::Result<()> {
    use kubeadm_manifests::kubeconfig as kc;
    let (ca, intermediates) = kubeadm_pki::load_cert_chain(&cfg.certificates_dir(), "ca")
        .context("the CA file couldn't be loaded")?;
    let mut bundle = ca.to_pem();
    for c in &intermediates {
        bundle.push_str(&c.to_pem());
    }
    let endpoint = &cfg.init.local_api_endpoint;
    let local = kc::local_api_endpoint_url(endpoint)?;
    let (cpe, warning) = kc::control_plane_endpoint_url(&cfg.cluster.control_plane_endpoint, endpoint)?;
    let groups: [(&[&str], &str, Option<String>); 2] = [
        (&["controller-manager.conf", "scheduler.conf"], &local, None),
        (&["admin.conf", "super-admin.conf", "kubelet.conf"], &cpe, warning),
    ];
    for (files, server, warning) in groups {
        if let Some(w) = warning {
            out.warn(w);
        }
        let expected = kc::create_basic(server, "dummy", "dummy", bundle.as_bytes());
        for file in files {
            let path = kubeconfig_dir.join(file);
            let check = || -> anyhow::Result<Option<String>> {
                let data = std::fs::read(&path)
                    .map_err(|e| anyhow::anyhow!("stat {}: {}", path_str(&path), io_reason(&e)))?;
                let read = |p: &str| std::fs::read(p).ok();
                Ok(kc::validate_existing(&path_str(&path), &data, &expected, &read)?.warning)
            };
            match check() {
                Ok(Some(w)) => out.warn(w),
                Ok(None) => {}
                Err(e) => {
                    return Err(e.context(format!("the {file} file does not exists or it is not valid")));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::verify_api_server_bind_address as verify;

    #[test]
    fn api_server_bind_address_as_upstream() {
        for ok in ["10.233.7.11", "192.168.0.1", "127.0.0.1", "::1", "2001:db8::1", "010.001.002.003"] {
            assert!(verify(ok).is_ok(), "{ok}");
        }
        for bad in
            ["0.0.0.0", "::", "169.254.1.1", "fe80::1", "224.0.0.1", "255.255.255.255", "::ffff:0.0.0.0"]
        {
            let e = verify(bad).expect_err(bad).to_string();
            assert_eq!(e, format!("cannot use {bad:?} as the bind address for the API Server"));
        }
        assert_eq!(verify("nope").expect_err("nope").to_string(), "cannot parse IP address: nope");
    }
}
