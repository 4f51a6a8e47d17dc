//! `kubeadm-rs join [api-server-endpoint]` and `join phase ...`: builds the typed shared state
//! ([`JoinData`]) as upstream's `newJoinData` does, then runs the phase table of
//! [`crate::phases::join`], and prints upstream's closing message (or, with `-o json|yaml`, a
//! `JoinResult` document).
//!
//! Order of checks follows upstream: `--config` mixed with other flags, `--token` filling the
//! discovery and TLS-bootstrap tokens, the positional endpoint, the control-plane flags, then
//! loading/defaulting/validating the JoinConfiguration.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use anyhow::{Context, bail};
use clap::ArgMatches;
use kubeadm_api::v1beta4::{self, JoinConfiguration, SecretString};
use kubeadm_api::{constants, load};
use kubeadm_manifests::componentconfigs::ComponentConfig;
use kubeadm_manifests::kubeconfig::Config as KubeConfig;

use crate::commands::workflow_args::{JoinArgs, phase_path};
use crate::flags::names::*;
use crate::flags::{Flags, validate_mixed_arguments};
use crate::output::Output;
use crate::phases::join::runner;

/// Where dry-run output goes (upstream `KUBEADM_JOIN_DRYRUN_DIR`).
pub const DRY_RUN_DIR_ENV: &str = "KUBEADM_JOIN_DRYRUN_DIR";

const WORKER_DONE: &str = "
This node has joined the cluster:
* Certificate signing request was sent to apiserver and a response was received.
* The Kubelet was informed of the new secure connection details.

Run 'kubectl get nodes' on the control-plane to see this node join the cluster.

";

fn control_plane_done(external_etcd: bool) -> String {
    let etcd =
        if external_etcd { "" } else { "* A new etcd member was added to the local/stacked etcd cluster." };
    format!(
        "
This node has joined the cluster and a new control plane instance was created:

* Certificate signing request was sent to apiserver and approval was received.
* The Kubelet was informed of the new secure connection details.
* Control plane label and taint were applied to the new node.
* The Kubernetes control plane instances scaled up.
{etcd}

To start administering your cluster from this node, you need to run the following as a regular user:

\tmkdir -p $HOME/.kube
\tsudo cp -i /etc/kubernetes/admin.conf $HOME/.kube/config
\tsudo chown $(id -u):$(id -g) $HOME/.kube/config

Run 'kubectl get nodes' to see this node join the cluster.

"
    )
}

/// Options of `join` that are not part of the JoinConfiguration.
#[derive(Debug, Clone, Default)]
pub struct JoinOptions {
    /// `--config`.
    pub config: Option<PathBuf>,
    /// `--dry-run`.
    pub dry_run: bool,
    /// `--control-plane`.
    pub control_plane: bool,
    /// `--ignore-preflight-errors`.
    pub ignore_preflight_errors: Vec<String>,
    /// `--patches`.
    pub patches: Option<PathBuf>,
    /// `--kubelet-tls-bootstrap` (kubeadm-rs only): the kubelet performs the TLS bootstrap.
    pub kubelet_tls_bootstrap: bool,
    /// `-o/--output` (kubeadm-rs only): `text`, `json` or `yaml`.
    pub output: String,
}

/// What the join produced, for the closing message and `-o json|yaml`.
#[derive(Debug, Clone, Default)]
pub struct JoinResult {
    /// The node's name.
    pub node_name: String,
    /// The API server the node's kubelet talks to.
    pub api_server: String,
    /// The CertificateSigningRequest kubeadm-rs submitted (not with `--kubelet-tls-bootstrap`).
    pub csr_name: Option<String>,
    /// The kubelet's client certificate file.
    pub client_certificate: Option<String>,
}

/// Discovery and the cluster's stored configuration, fetched once per run.
pub struct ClusterState {
    /// The TLS-bootstrap kubeconfig (upstream `TLSBootstrapCfg`), cluster renamed to `clusterName`.
    pub tls_bootstrap: KubeConfig,
    /// The ClusterConfiguration from `kubeadm-config`.
    pub cluster: v1beta4::ClusterConfiguration,
    /// The KubeletConfiguration from `kubelet-config`, with kubeadm's defaults.
    pub kubelet: ComponentConfig,
}

/// Typed shared state of a `join` run.
pub struct JoinData {
    /// Output sink.
    pub out: Output,
    /// Options not in the configuration.
    pub opts: JoinOptions,
    /// The loaded, defaulted and validated JoinConfiguration.
    pub cfg: JoinConfiguration,
    /// Whether nothing may change on the host.
    pub dry_run: bool,
    /// Temporary directory receiving files in dry-run mode.
    pub dry_run_dir: Option<PathBuf>,
    /// Checks whose errors become warnings (lower-cased, `all` allowed).
    pub ignore_preflight_errors: BTreeSet<String>,
    /// The OS host name (trimmed, lower-cased), for the node name and kubelet flags.
    pub hostname: String,
    /// Phases to skip from the configuration (`skipPhases`).
    pub skip_phases_from_config: Vec<String>,
    rt: Option<Rc<tokio::runtime::Runtime>>,
    state: Option<Rc<ClusterState>>,
    /// `join --control-plane`: the InitConfiguration upstream builds from the cluster's
    /// configuration and this node's registration, as init's phase state, so the control-plane
    /// phases run init's code (certificates, kubeconfigs, manifests, waits, marking).
    cp: Option<crate::commands::init::InitData>,
    /// The result, filled in by the phases.
    pub result: JoinResult,
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|v| !v.is_empty())
}

/// The JoinConfiguration built from the flags (no `--config`), as upstream's `externalcfg`.
fn config_from_flags(f: &Flags<'_>, endpoint: Option<&str>, control_plane: bool) -> JoinConfiguration {
    let mut j = load::default_join_configuration();
    if let Some(n) = non_empty(f.string(NODE_NAME)) {
        j.node_registration.name = n;
    }
    if let Some(s) = non_empty(f.string(CRI_SOCKET)) {
        j.node_registration.cri_socket = s;
    }
    let token = non_empty(f.string(TOKEN));
    let mut tls = non_empty(f.string(TLS_BOOTSTRAP_TOKEN)).unwrap_or_default();
    let mut discovery_token = non_empty(f.string(DISCOVERY_TOKEN)).unwrap_or_default();
    if let Some(t) = &token {
        if tls.is_empty() {
            tls = t.clone();
        }
        if discovery_token.is_empty() {
            discovery_token = t.clone();
        }
    }
    j.discovery.tls_bootstrap_token = SecretString::new(tls);
    if let Some(file) = non_empty(f.string(DISCOVERY_FILE)) {
        j.discovery.file = Some(v1beta4::FileDiscovery { kube_config_path: file });
    }
    if let Some(ep) = endpoint {
        j.discovery.bootstrap_token = Some(v1beta4::BootstrapTokenDiscovery {
            token: SecretString::new(discovery_token),
            api_server_endpoint: ep.to_string(),
            ca_cert_hashes: f.list(DISCOVERY_TOKEN_CA_CERT_HASH),
            unsafe_skip_ca_verification: f.boolean(DISCOVERY_TOKEN_UNSAFE_SKIP),
        });
    }
    if control_plane {
        let mut cp = v1beta4::JoinControlPlane::default();
        if let Some(a) = non_empty(f.string(APISERVER_ADVERTISE_ADDRESS)) {
            cp.local_api_endpoint.advertise_address = a;
        }
        if let Some(p) = f.int_set(APISERVER_BIND_PORT) {
            cp.local_api_endpoint.bind_port = p;
        }
        if let Some(k) = non_empty(f.string(CERTIFICATE_KEY)) {
            cp.certificate_key = SecretString::new(k);
        }
        j.control_plane = Some(cp);
    }
    // Upstream re-applies the scheme defaults after the flags (the TLS bootstrap token defaults to
    // the discovery token).
    kubeadm_api::defaults::set_defaults_join_configuration(&mut j);
    j
}

fn positional(m: &ArgMatches) -> Vec<String> {
    for name in ["api-server-endpoint", "args"] {
        if let Ok(Some(v)) = m.try_get_many::<String>(name) {
            return v.cloned().collect();
        }
    }
    Vec::new()
}

impl JoinData {
    /// Builds the state from the matches of `join` or of a generated `join phase ...` subcommand.
    pub fn new(out: Output, m: &ArgMatches) -> anyhow::Result<Self> {
        let f = Flags(m);
        let output = f.string(OUTPUT).unwrap_or_else(|| "text".to_string());
        let out = out.progress_to_stderr(matches!(output.as_str(), "json" | "yaml"));
        validate_mixed_arguments(&f)?;
        let opts = JoinOptions {
            config: non_empty(f.string(CONFIG)).map(PathBuf::from),
            dry_run: f.boolean(DRY_RUN),
            control_plane: f.boolean(CONTROL_PLANE),
            ignore_preflight_errors: f.list(IGNORE_PREFLIGHT_ERRORS),
            patches: non_empty(f.string(PATCHES)).map(PathBuf::from),
            kubelet_tls_bootstrap: f.boolean(KUBELET_TLS_BOOTSTRAP),
            output,
        };
        let args = positional(m);
        if opts.config.is_none() && args.len() > 1 {
            out.warn(format!(
                "[preflight] WARNING: More than one API server endpoint supplied on command line [{}]. Using the first one.",
                args.join(" ")
            ));
        }
        if !opts.control_plane
            && [CERTIFICATE_KEY, APISERVER_ADVERTISE_ADDRESS, APISERVER_BIND_PORT]
                .iter()
                .any(|n| f.changed(n))
        {
            out.warn(format!(
                "[preflight] WARNING: --{CONTROL_PLANE} is also required when passing control-plane related flags such as [{CERTIFICATE_KEY}, {APISERVER_ADVERTISE_ADDRESS}, {APISERVER_BIND_PORT}]"
            ));
        }
        let mut cfg = match &opts.config {
            Some(path) => {
                let shown = path.display().to_string();
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("unable to read config from {shown:?}"))?;
                let b = load::load_join_config_with(&text, &crate::wiring::STRICT)
                    .with_context(|| format!("error loading config file {shown:?}"))?;
                for w in &b.warnings {
                    out.warn(w);
                }
                b.join
            }
            None => config_from_flags(&f, args.first().map(String::as_str), opts.control_plane),
        };
        // --node-name and --cri-socket override the file.
        if let Some(n) = non_empty(f.string(NODE_NAME)) {
            cfg.node_registration.name = n;
        }
        if let Some(s) = non_empty(f.string(CRI_SOCKET)) {
            cfg.node_registration.cri_socket = s;
        }
        let (facts, _) = crate::wiring::host_facts(&cfg.node_registration.name)?;
        let hostname = {
            use kubeadm_host::HostEnv as _;
            kubeadm_host::RealHost.hostname().map(|h| h.trim().to_lowercase()).unwrap_or_default()
        };
        let warnings = kubeadm_api::defaults::set_join_dynamic_defaults(&mut cfg, &facts)?;
        for w in warnings {
            out.warn(w);
        }
        let errs =
            kubeadm_api::validation::validate_join_configuration(&cfg, &|p: &str| Path::new(p).exists());
        if !errs.is_empty() {
            bail!("{errs}");
        }
        let ignore = kubeadm_api::validation::validate_ignore_preflight_errors(
            &opts.ignore_preflight_errors,
            &cfg.node_registration.ignore_preflight_errors,
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        cfg.node_registration.ignore_preflight_errors = ignore.iter().cloned().collect();
        if let Some(cp) = &cfg.control_plane {
            crate::wiring::verify_api_server_bind_address(&cp.local_api_endpoint.advertise_address)?;
        }
        let dry_run = opts.dry_run || cfg.dry_run;
        let dry_run_dir = if dry_run { Some(make_dry_run_dir(&out)?) } else { None };
        let skip_phases_from_config = cfg.skip_phases.clone();
        Ok(Self {
            out,
            opts,
            cfg,
            dry_run,
            dry_run_dir,
            ignore_preflight_errors: ignore,
            hostname,
            skip_phases_from_config,
            rt: None,
            state: None,
            cp: None,
            result: JoinResult::default(),
        })
    }

    /// `--patches`, else the config's `patches.directory`.
    pub fn patches_dir(&self) -> Option<PathBuf> {
        self.opts
            .patches
            .clone()
            .or_else(|| self.cfg.patches.as_ref().map(|p| PathBuf::from(&p.directory)))
            .filter(|p| !p.as_os_str().is_empty())
    }

    /// Directory kubeconfig files are written to (the dry-run dir in dry-run mode).
    pub fn kubeconfig_dir(&self) -> PathBuf {
        self.dry_run_dir.clone().unwrap_or_else(|| PathBuf::from(constants::KUBERNETES_DIR))
    }

    /// Directory the kubelet's files are written to (the dry-run dir in dry-run mode).
    pub fn kubelet_dir(&self) -> PathBuf {
        self.dry_run_dir.clone().unwrap_or_else(|| PathBuf::from(kubeadm_manifests::kubelet::KUBELET_DIR))
    }

    /// The node's name as the kubelet registers it.
    pub fn node_name(&self) -> String {
        kubeadm_manifests::kubelet::node_name(&self.cfg.node_registration, &self.hostname)
    }

    /// The async runtime of the API work.
    pub fn rt(&mut self) -> anyhow::Result<Rc<tokio::runtime::Runtime>> {
        if let Some(rt) = &self.rt {
            return Ok(rt.clone());
        }
        let rt = Rc::new(kubeadm_cluster::runtime()?);
        self.rt = Some(rt.clone());
        Ok(rt)
    }

    /// API timeouts from `timeouts.kubernetesAPICall`.
    pub fn api_timeouts(&self) -> kubeadm_cluster::ApiTimeouts {
        kubeadm_cluster::ApiTimeouts::from_config(
            self.cfg.timeouts.as_ref().and_then(|t| t.kubernetes_api_call),
        )
    }

    /// Discovery plus the cluster's stored configuration (upstream `TLSBootstrapCfg` + `InitCfg`),
    /// done once.
    pub fn cluster_state(&mut self) -> anyhow::Result<Rc<ClusterState>> {
        if let Some(s) = &self.state {
            return Ok(s.clone());
        }
        let rt = self.rt()?;
        let out = self.out;
        let input = kubeadm_cluster::discovery::DiscoveryInput::from_join_configuration(&self.cfg);
        out.v(1, "[preflight] Discovering cluster-info");
        let mut tls_bootstrap =
            rt.block_on(kubeadm_cluster::discovery::discover(&input, &DiscoveryLog(out)))?;
        out.v(1, "[preflight] Fetching init configuration");
        print_reading_config(&out, "preflight");
        let t = self.api_timeouts();
        let client = rt
            .block_on(kubeadm_cluster::client::client_from_kubeconfig(
                &tls_bootstrap,
                "the TLS bootstrap kubeconfig",
                &t,
            ))
            .context("unable to access the cluster")?;
        let fetched = rt.block_on(kubeadm_cluster::fetchconfig::fetch_join_config(&client, &t))?;
        // Upstream names the bootstrap kubeconfig's cluster after the cluster's name.
        rename_cluster(&mut tls_bootstrap, &fetched.cluster.cluster_name)?;
        let kubelet =
            kubeadm_manifests::componentconfigs::kubelet_config(&fetched.cluster, fetched.kubelet.as_ref())
                .context("invalid kubelet configuration in the kubelet-config ConfigMap")?;
        let state = Rc::new(ClusterState { tls_bootstrap, cluster: fetched.cluster, kubelet });
        self.state = Some(state.clone());
        Ok(state)
    }
}

impl JoinData {
    /// The control-plane state (see the `cp` field); built once, after discovery.
    pub fn cp_init_data(&mut self) -> anyhow::Result<&mut crate::commands::init::InitData> {
        if self.cp.is_none() {
            let state = self.cluster_state()?;
            let Some(jcp) = self.cfg.control_plane.clone() else {
                bail!("not a control-plane join");
            };
            let mut init = kubeadm_api::load::default_init_configuration();
            init.node_registration = self.cfg.node_registration.clone();
            init.local_api_endpoint = jcp.local_api_endpoint.clone();
            init.bootstrap_tokens = Vec::new();
            init.timeouts = self.cfg.timeouts.clone();
            init.dry_run = self.dry_run;
            init.patches = self.cfg.patches.clone();
            let mut cluster = state.cluster.clone();
            for w in
                kubeadm_api::defaults::set_cluster_dynamic_defaults(&mut cluster, &init.local_api_endpoint)?
            {
                self.out.warn(w);
            }
            let (_, host) = crate::wiring::host_facts(&init.node_registration.name)?;
            let cfg = crate::wiring::InitConfig {
                init,
                cluster,
                kubelet: Some(state.kubelet.to_value()),
                kube_proxy: None,
                host,
            };
            let opts = crate::commands::init::InitOptions {
                kubeconfig_dir: PathBuf::from(constants::KUBERNETES_DIR),
                kubeconfig_path: PathBuf::from(constants::KUBERNETES_DIR)
                    .join(constants::ADMIN_KUBECONFIG_FILE_NAME),
                patches: self.opts.patches.clone(),
                output: "text".into(),
                ..Default::default()
            };
            self.cp = Some(crate::commands::init::InitData {
                out: self.out,
                opts,
                cfg,
                dry_run: self.dry_run,
                dry_run_dir: self.dry_run_dir.clone(),
                ignore_preflight_errors: self.ignore_preflight_errors.clone(),
                skip_phases_from_config: Vec::new(),
                start_time: time::OffsetDateTime::now_utc(),
                plan: Some(crate::workflow::Plan::of(&[
                    "certs/ca",
                    "certs/apiserver",
                    "certs/apiserver-kubelet-client",
                    "certs/front-proxy-ca",
                    "certs/front-proxy-client",
                    "certs/etcd-ca",
                    "certs/etcd-server",
                    "certs/etcd-peer",
                    "certs/etcd-healthcheck-client",
                    "certs/apiserver-etcd-client",
                    "certs/sa",
                    "kubeconfig/admin",
                    "kubeconfig/controller-manager",
                    "kubeconfig/scheduler",
                    "control-plane/apiserver",
                    "control-plane/controller-manager",
                    "control-plane/scheduler",
                ])),
                prepared: None,
                api: crate::apiphases::ApiState::default(),
            });
        }
        self.cp.as_mut().ok_or_else(|| anyhow::anyhow!("control-plane state missing"))
    }
}

/// Upstream `FetchInitConfigurationFromCluster`'s two lines.
pub fn print_reading_config(out: &Output, prefix: &str) {
    out.line(format!(
        "[{prefix}] Reading configuration from the \"{}\" ConfigMap in namespace \"kube-system\"...",
        constants::KUBEADM_CONFIG_CONFIG_MAP
    ));
    out.line(format!(
        "[{prefix}] Use 'kubeadm init phase upload-config kubeadm --config your-config-file' to re-upload it."
    ));
}

/// Discovery's klog lines through the output sink.
struct DiscoveryLog(Output);

impl kubeadm_cluster::discovery::DiscoveryLog for DiscoveryLog {
    fn warning(&self, message: &str) {
        self.0.warn(message);
    }
    fn v1(&self, message: &str) {
        self.0.v(1, message);
    }
}

/// Renames the current context's cluster (upstream `fetchInitConfigurationFromJoinConfiguration`).
fn rename_cluster(cfg: &mut KubeConfig, name: &str) -> anyhow::Result<()> {
    let ctx_name = cfg.current_context.clone();
    let Some(ctx) = cfg.contexts.iter_mut().find(|c| c.name == ctx_name) else {
        bail!(
            "the TLS bootstrap kubeconfig is malformed: {ctx_name:?} set as current-context, but not found in context list"
        );
    };
    let old = std::mem::replace(&mut ctx.context.cluster, name.to_string());
    let Some(cluster) = cfg.clusters.iter().find(|c| c.name == old).cloned() else {
        bail!("the TLS bootstrap kubeconfig is malformed: cluster {old:?} not found");
    };
    cfg.clusters = vec![kubeadm_manifests::kubeconfig::NamedCluster { name: name.to_string(), ..cluster }];
    Ok(())
}

fn make_dry_run_dir(out: &Output) -> anyhow::Result<PathBuf> {
    let env = std::env::var(DRY_RUN_DIR_ENV).ok();
    let d = kubeadm_host::DryRunDir::resolve(
        env.as_deref(),
        DRY_RUN_DIR_ENV,
        Path::new(constants::KUBERNETES_DIR),
        "kubeadm-join-dryrun",
    )
    .context("could not create a temporary directory on dryrun")?;
    if let Some(m) = &d.message {
        out.warn(m);
    }
    Ok(d.path)
}

/// The `-o json|yaml` document.
fn result_document(d: &JoinData) -> serde_json::Value {
    let r = &d.result;
    let mut v = serde_json::json!({
        "apiVersion": "output.kubeadm-rs.io/v1alpha1",
        "kind": "JoinResult",
        "nodeName": r.node_name,
        "controlPlane": d.cfg.control_plane.is_some(),
        "apiServer": r.api_server,
        "identity": {
            "user": format!("system:node:{}", r.node_name),
            "groups": [constants::NODES_GROUP],
        },
        "dryRun": d.dry_run,
    });
    if let Some(c) = &r.csr_name {
        v["certificateSigningRequest"] = serde_json::json!(c);
    }
    if let Some(c) = &r.client_certificate {
        v["clientCertificate"] = serde_json::json!(c);
    }
    v
}

/// Runs `join` (or one of its phases).
pub fn run(out: &Output, args: &JoinArgs) -> anyhow::Result<()> {
    let r = runner();
    match phase_path(&args.matches) {
        Some((path, m)) => {
            let Some(sel) = r.selector_for(&path) else { bail!("subcommand is required") };
            let plan = r.plan(std::slice::from_ref(&sel), &[])?;
            let mut data = JoinData::new(*out, m)?;
            r.execute(&plan, &mut data)?;
        }
        None => {
            let mut skip = Flags(&args.matches).list(SKIP_PHASES);
            // Phase names are checked before the configuration, so a typo is reported as such.
            r.plan(&[], &skip)?;
            let mut data = JoinData::new(*out, &args.matches)?;
            if skip.is_empty() {
                skip = data.skip_phases_from_config.clone();
            }
            let plan = r.plan(&[], &skip)?;
            r.execute(&plan, &mut data)?;
            match data.opts.output.as_str() {
                "json" => {
                    data.out.document(format!("{:#}\n", result_document(&data)));
                }
                "yaml" => {
                    let y = serde_yaml::to_string(&result_document(&data)).context("marshal JoinResult")?;
                    data.out.document(y);
                }
                _ if data.cfg.control_plane.is_some() => {
                    let external = data.cp.as_ref().is_some_and(|c| c.cfg.cluster.etcd.external.is_some());
                    data.out.raw(control_plane_done(external));
                }
                _ => data.out.raw(WORKER_DONE),
            }
        }
    }
    Ok(())
}
