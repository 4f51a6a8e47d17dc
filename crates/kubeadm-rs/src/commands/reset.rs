//! `kubeadm-rs reset` and `reset phase ...`: builds the typed shared state ([`ResetData`]) as
//! upstream's `newResetData` does, runs the phase table of [`crate::phases::reset`], then prints
//! upstream's manual-cleanup note.

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::ArgMatches;
use kubeadm_api::v1beta4::{ClusterConfiguration, ResetConfiguration};
use kubeadm_api::{constants, load};

use crate::commands::workflow_args::{ResetArgs, phase_path};
use crate::flags::names::*;
use crate::flags::{Flags, validate_mixed_arguments};
use crate::output::Output;
use crate::phases::reset::runner;

const MANUAL_CLEANUP: &str = "
The reset process does not perform cleanup of CNI plugin configuration,
network filtering rules and kubeconfig files.

For information on how to perform this cleanup manually, please see:
    https://k8s.io/docs/reference/setup-tools/kubeadm/kubeadm-reset/

";

/// What is left to clean by hand after `reset --cleanup-network` (the first sentence of
/// upstream's note before v1.29).
const MANUAL_CLEANUP_KUBECONFIG: &str = "
The reset process does not clean your kubeconfig files and you must remove them manually.
Please, check the contents of the $HOME/.kube/config file.

";

/// Typed shared state of a `reset` run.
pub struct ResetData {
    /// Output sink.
    pub out: Output,
    /// The ResetConfiguration (file or defaults).
    pub cfg: ResetConfiguration,
    /// The cluster's ClusterConfiguration, when `--kubeconfig` could read `kubeadm-config`.
    pub cluster: Option<ClusterConfiguration>,
    /// The certificate directory to clean.
    pub certificates_dir: String,
    /// The CRI endpoint whose Kubernetes Pods are removed.
    pub cri_socket: String,
    /// `--force` (or `force` in the configuration): no confirmation prompt.
    pub force: bool,
    /// Print what would be done, change nothing.
    pub dry_run: bool,
    /// Also clean `/etc/kubernetes/tmp`.
    pub cleanup_tmp_dir: bool,
    /// `--cleanup-network` (kubeadm-rs extension): also remove kube-proxy's iptables/nftables
    /// rules, IPVS and the CNI state.
    pub cleanup_network: bool,
    /// Checks whose errors become warnings.
    pub ignore_preflight_errors: BTreeSet<String>,
    /// Phases to skip from the configuration (`skipPhases`).
    pub skip_phases_from_config: Vec<String>,
    /// `--kubeconfig` (admin.conf by default): the client of the etcd member removal.
    pub kubeconfig: PathBuf,
}

fn bool_flag_or(f: &Flags<'_>, name: &str, cfg: bool) -> bool {
    if f.changed(name) { f.boolean(name) } else { cfg }
}

impl ResetData {
    /// Builds the state from the matches of `reset` or of a `reset phase ...` subcommand.
    pub fn new(out: Output, m: &ArgMatches) -> anyhow::Result<Self> {
        let f = Flags(m);
        validate_mixed_arguments(&f)?;
        let mut cfg = match f.string(CONFIG).filter(|s| !s.is_empty()) {
            Some(path) => {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("unable to read config from {path:?}"))?;
                let (c, warnings) = load::load_reset_config(&text, &crate::wiring::STRICT)
                    .with_context(|| format!("error loading config file {path:?}"))?;
                for w in warnings {
                    out.warn(w);
                }
                c
            }
            None => load::default_reset_configuration(),
        };
        let (facts, _) = crate::wiring::host_facts("")?;
        for w in kubeadm_api::defaults::set_reset_dynamic_defaults(&mut cfg, &facts) {
            out.warn(w);
        }
        let errs = kubeadm_api::validation::validate_reset_configuration(&cfg);
        if !errs.is_empty() {
            bail!("{errs}");
        }
        let kubeconfig = PathBuf::from(f.string(KUBECONFIG).filter(|s| !s.is_empty()).unwrap_or_else(|| {
            format!("{}/{}", constants::KUBERNETES_DIR, constants::ADMIN_KUBECONFIG_FILE_NAME)
        }));
        let dry_run = bool_flag_or(&f, DRY_RUN, cfg.dry_run);
        let cluster = fetch_cluster_configuration(&out, &kubeconfig);
        let ignore = kubeadm_api::validation::validate_ignore_preflight_errors(
            &f.list(IGNORE_PREFLIGHT_ERRORS),
            &cfg.ignore_preflight_errors,
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        let cri_socket =
            f.string(CRI_SOCKET).filter(|s| !s.is_empty()).unwrap_or_else(|| cfg.cri_socket.clone());
        out.v(1, format!("[reset] Using specified CRI socket: {cri_socket}"));
        let certificates_dir = if f.changed(CERT_DIR) {
            f.string(CERT_DIR).unwrap_or_default()
        } else if !cfg.certificates_dir.is_empty() {
            cfg.certificates_dir.clone()
        } else if let Some(c) = cluster.as_ref().filter(|c| !c.certificates_dir.is_empty()) {
            c.certificates_dir.clone()
        } else {
            constants::DEFAULT_CERTIFICATES_DIR.to_string()
        };
        Ok(Self {
            out,
            force: bool_flag_or(&f, FORCE, cfg.force),
            cleanup_tmp_dir: bool_flag_or(&f, CLEANUP_TMP_DIR, cfg.cleanup_tmp_dir),
            cleanup_network: f.boolean(CLEANUP_NETWORK),
            skip_phases_from_config: cfg.skip_phases.clone(),
            cfg,
            cluster,
            certificates_dir,
            cri_socket,
            dry_run,
            ignore_preflight_errors: ignore,
            kubeconfig,
        })
    }
}

/// Upstream reads the cluster's configuration with `--kubeconfig` when it can (a control-plane
/// node); failures only warn.
fn fetch_cluster_configuration(out: &Output, kubeconfig: &std::path::Path) -> Option<ClusterConfiguration> {
    if !kubeconfig.exists() {
        out.v(
            1,
            format!(
                "[reset] Could not obtain a client set from the kubeconfig file: {}",
                kubeconfig.display()
            ),
        );
        return None;
    }
    let r = (|| -> anyhow::Result<ClusterConfiguration> {
        let rt = kubeadm_cluster::runtime()?;
        let t = kubeadm_cluster::ApiTimeouts::default();
        let client = rt.block_on(kubeadm_cluster::client::client_from_file(kubeconfig, None, &t))?;
        out.v(1, format!("[reset] Loaded client set from kubeconfig file: {}", kubeconfig.display()));
        crate::commands::join::print_reading_config(out, "reset");
        Ok(rt.block_on(kubeadm_cluster::fetchconfig::fetch_join_config(&client, &t))?.cluster)
    })();
    match r {
        Ok(c) => Some(c),
        Err(e) => {
            out.warn(format!(
                "[reset] Unable to fetch the kubeadm-config ConfigMap from cluster: {}",
                crate::output::error_message(&e)
            ));
            None
        }
    }
}

/// Runs `reset` (or one of its phases).
pub fn run(out: &Output, args: &ResetArgs) -> anyhow::Result<()> {
    let r = runner();
    match phase_path(&args.matches) {
        Some((path, m)) => {
            let Some(sel) = r.selector_for(&path) else { bail!("subcommand is required") };
            let plan = r.plan(std::slice::from_ref(&sel), &[])?;
            let mut data = ResetData::new(*out, m)?;
            r.execute(&plan, &mut data)?;
        }
        None => {
            let mut skip = Flags(&args.matches).list(SKIP_PHASES);
            r.plan(&[], &skip)?;
            let mut data = ResetData::new(*out, &args.matches)?;
            if skip.is_empty() {
                skip = data.skip_phases_from_config.clone();
            }
            let plan = r.plan(&[], &skip)?;
            r.execute(&plan, &mut data)?;
            // With --cleanup-network, what upstream's note tells to do by hand was done, unless
            // cleanup-node was skipped.
            let cleaned = data.cleanup_network && plan.selected("cleanup-node");
            data.out.raw(if cleaned { MANUAL_CLEANUP_KUBECONFIG } else { MANUAL_CLEANUP });
        }
    }
    Ok(())
}
