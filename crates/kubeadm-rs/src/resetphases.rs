//! Run functions of the `reset` phases (upstream `cmd/kubeadm/app/cmd/phases/reset`):
//! `preflight`, `remove-etcd-member` and `cleanup-node`.

use std::io::BufRead as _;
use std::path::{Path, PathBuf};

use kubeadm_api::constants;

use crate::commands::reset::ResetData;
use crate::workflow::PhaseError;

fn fail(e: anyhow::Error) -> PhaseError {
    PhaseError::Failed(e)
}

/// Upstream `InteractivelyConfirmAction`.
fn confirm(action: &str, question: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    print!("[{action}] {question} [y/N]: ");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| anyhow::Error::new(e).context("couldn't read from standard input"))?;
    let a = answer.trim();
    if a.eq_ignore_ascii_case("y") || a.eq_ignore_ascii_case("yes") {
        return Ok(());
    }
    anyhow::bail!("won't proceed; the user didn't answer (Y|y) in order to continue")
}

/// Phase `preflight`: the confirmation (unless `--force` or `--dry-run`), then the root check.
pub fn preflight(d: &mut ResetData) -> Result<(), PhaseError> {
    if !d.force && !d.dry_run {
        d.out.warn("[reset] WARNING: Changes made to this host by 'kubeadm init' or 'kubeadm join' will be reverted.");
        confirm("reset", "Are you sure you want to proceed?").map_err(fail)?;
    }
    d.out.line("[preflight] Running pre-flight checks");
    let ignore: Vec<String> = d.ignore_preflight_errors.iter().cloned().collect();
    let ignore =
        kubeadm_host::preflight::IgnoreSet::new(&ignore, &[]).map_err(|e| fail(anyhow::Error::new(e)))?;
    kubeadm_host::preflight::run_root_check_only(
        &kubeadm_host::RealHost,
        &ignore,
        &mut d.out.progress_writer(),
        &mut std::io::stderr(),
    )
    .map_err(|e| fail(anyhow::Error::new(e)))
}

/// The etcd data directory (upstream `getEtcdDataDir`): the cluster's `etcd.local.dataDir`, else
/// the `etcd-data` hostPath of the etcd static Pod, else the default; `None` means external etcd
/// (a manifest without that volume).
fn etcd_data_dir(d: &ResetData, manifest: &Path) -> Option<PathBuf> {
    if let Some(l) = d.cluster.as_ref().and_then(|c| c.etcd.local.as_ref()) {
        return Some(PathBuf::from(&l.data_dir));
    }
    if d.cluster.is_none() {
        d.out.warn("[reset] No kubeadm config, using etcd pod spec to get data directory");
    }
    let Ok(text) = std::fs::read_to_string(manifest) else {
        return Some(PathBuf::from(constants::DEFAULT_ETCD_DATA_DIR));
    };
    let pod: serde_json::Value = serde_yaml::from_str(&text).ok()?;
    pod.pointer("/spec/volumes")?
        .as_array()?
        .iter()
        .find(|v| v.get("name").and_then(|n| n.as_str()) == Some("etcd-data"))
        .and_then(|v| v.pointer("/hostPath/path"))
        .and_then(|p| p.as_str())
        .map(PathBuf::from)
}

fn clean_etcd_dir(d: &ResetData, dir: &Path) {
    match kubeadm_host::reset::clean_dir(dir) {
        Ok(()) => {
            d.out.line(format!("[reset] Deleted contents of the etcd data directory: {}", dir.display()))
        }
        Err(e) => d.out.warn(format!(
            "[reset] Failed to delete contents of the etcd directory: {:?}, error: {e}",
            dir.display().to_string()
        )),
    }
}

/// Phase `remove-etcd-member`.
pub fn remove_etcd_member(d: &mut ResetData) -> Result<(), PhaseError> {
    d.out.v(1, "[reset] Checking for etcd config");
    // Deliberate deviation: upstream (since v1.26) falls back to the default data directory when
    // the cluster's etcd is external, then waits a minute for etcd Pods that never exist, warns,
    // and would empty /var/lib/etcd (kubernetes/kubeadm#3225: the data of an external etcd
    // running on the node). kubeadm-rs takes the external path when the cluster says so.
    if d.cluster.as_ref().is_some_and(|c| c.etcd.external.is_some()) {
        d.out.line("[reset] No etcd config found. Assuming external etcd");
        d.out.line("[reset] Please, manually reset etcd to prevent further issues");
        return Ok(());
    }
    let manifest = Path::new(constants::KUBERNETES_DIR).join("manifests/etcd.yaml");
    let Some(dir) = etcd_data_dir(d, &manifest) else {
        d.out.line("[reset] No etcd config found. Assuming external etcd");
        d.out.line("[reset] Please, manually reset etcd to prevent further issues");
        return Ok(());
    };
    if d.cluster.is_some() {
        if d.dry_run {
            d.out.line("[dryrun] Would remove the etcd member on this node from the etcd cluster");
            d.out.line(format!(
                "[dryrun] Would delete contents of the etcd data directory: {}",
                dir.display()
            ));
        } else {
            match remove_local_member(d) {
                Ok(outcome) => {
                    d.out.v(1, format!("[reset] etcd member removal: {outcome:?}"));
                    clean_etcd_dir(d, &dir);
                }
                Err(e) => d.out.warn(format!(
                    "[reset] Failed to remove etcd member: {}, please manually remove this etcd member using etcdctl",
                    crate::output::error_message(&e)
                )),
            }
        }
    }
    if !d.dry_run && !kubeadm_host::reset::is_dir_empty(&dir) && dir.exists() {
        clean_etcd_dir(d, &dir);
    }
    Ok(())
}

/// This node's advertise address, from the annotation kubeadm puts on its kube-apiserver static
/// Pod (`kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint`, upstream
/// `GetAPIEndpoint` for the local node).
fn local_advertise_address() -> anyhow::Result<String> {
    let path = Path::new(constants::KUBERNETES_DIR).join("manifests/kube-apiserver.yaml");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| anyhow::anyhow!("could not read {}: {e}", path.display()))?;
    let pod: serde_json::Value = serde_yaml::from_str(&text)?;
    let ep = pod
        .pointer("/metadata/annotations")
        .and_then(|a| a.get("kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint"))
        .and_then(|v| v.as_str())
        .ok_or_else(|| anyhow::anyhow!("{} has no advertise-address annotation", path.display()))?;
    let host = match ep.rsplit_once(':') {
        Some((h, _)) => h.trim_start_matches('[').trim_end_matches(']'),
        None => ep,
    };
    Ok(host.to_string())
}

/// Upstream `RemoveStackedEtcdMemberFromCluster`: removes this node's member unless it is the only
/// one.
fn remove_local_member(d: &ResetData) -> anyhow::Result<kubeadm_cluster::etcd::RemoveOutcome> {
    let rt = kubeadm_cluster::runtime()?;
    let t = kubeadm_cluster::ApiTimeouts::default();
    let client = rt.block_on(kubeadm_cluster::client::client_from_file(&d.kubeconfig, None, &t))?;
    let ip = local_advertise_address()?;
    let cert_dir = PathBuf::from(&d.certificates_dir);
    Ok(rt.block_on(kubeadm_cluster::etcd::remove_stacked_etcd_member_from_cluster(
        &client,
        &cert_dir,
        &ip,
        &t,
        kubeadm_cluster::etcd::EtcdTimeouts::default(),
    ))?)
}

fn dirs_list(dirs: &[PathBuf]) -> String {
    format!("[{}]", dirs.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" "))
}

/// Phase `cleanup-node`.
pub fn cleanup_node(d: &mut ResetData) -> Result<(), PhaseError> {
    let out = d.out;
    let k8s = Path::new(constants::KUBERNETES_DIR);
    let mut dirs = vec![k8s.join("manifests")];
    crate::kubeletsvc::reset_stop(&out, d.dry_run);
    let kubelet_dir = Path::new(kubeadm_manifests::kubelet::KUBELET_DIR);
    if d.dry_run {
        out.line(format!(
            "[dryrun] Would unmount mounted directories in {:?}",
            kubelet_dir.display().to_string()
        ));
    } else {
        match std::fs::canonicalize(kubelet_dir) {
            Err(e) => out.warn(format!(
                "[reset] Skipping unmount of directories in {:?}: lstat {}: {}",
                kubelet_dir.display().to_string(),
                kubelet_dir.display(),
                e
            )),
            Ok(real) => {
                out.line(format!(
                    "[reset] Unmounting mounted directories in {:?}",
                    kubelet_dir.display().to_string()
                ));
                let mut einval =
                    |m: &str| out.warn(format!("[reset] Ignoring EINVAL error while unmounting {m:?}"));
                kubeadm_host::reset::unmount_below(&real, &d.cfg.unmount_flags, &mut einval)
                    .map_err(|e| fail(anyhow::Error::new(e)))?;
                dirs.push(real);
            }
        }
    }
    if d.dry_run {
        out.line("[dryrun] Would remove Kubernetes-managed containers");
    } else {
        out.v(1, "[reset] Removing Kubernetes-managed containers");
        if let Err(e) = kubeadm_host::reset::remove_pods(&kubeadm_host::RealHost, &d.cri_socket) {
            out.warn(format!("[reset] Failed to remove containers: {e}"));
        }
    }
    if d.certificates_dir != constants::DEFAULT_CERTIFICATES_DIR {
        out.warn(format!(
            "[reset] WARNING: Cleaning a non-default certificates directory: {:?}",
            d.certificates_dir
        ));
    }
    dirs.push(PathBuf::from(&d.certificates_dir));
    if d.cleanup_tmp_dir {
        dirs.push(k8s.join("tmp"));
    }
    if d.dry_run {
        out.line(format!("[dryrun] Would delete contents of directories: {}", dirs_list(&dirs)));
    } else {
        out.line(format!("[reset] Deleting contents of directories: {}", dirs_list(&dirs)));
        for dir in &dirs {
            if let Err(e) = kubeadm_host::reset::clean_dir(dir) {
                out.warn(format!(
                    "[reset] Failed to delete contents of {:?} directory: {e}",
                    dir.display().to_string()
                ));
            }
        }
    }
    let files = kubeadm_host::reset::files_to_clean(k8s);
    if d.dry_run {
        out.line(format!("[dryrun] Would delete files: {}", dirs_list(&files)));
    } else {
        out.line(format!("[reset] Deleting files: {}", dirs_list(&files)));
        for f in &files {
            if let Err(e) = kubeadm_host::reset::remove_all(f) {
                out.warn(format!("[reset] Failed to remove file: {:?} [{e}]", f.display().to_string()));
            }
        }
    }
    if d.cleanup_network {
        cleanup_network(&out, d.dry_run);
    }
    Ok(())
}

fn print_network_notes(out: &crate::output::Output, notes: &[kubeadm_host::reset::NetworkNote]) {
    use kubeadm_host::reset::NetworkNote;
    for n in notes {
        match n {
            NetworkNote::Info(m) => out.line(m),
            NetworkNote::Warn(m) => out.warn(m),
            NetworkNote::Verbose(m) => out.v(1, m),
        }
    }
}

/// `--cleanup-network` (kubeadm-rs extension), after the rest of cleanup-node (the Pods of
/// kube-proxy and the CNI plugins are gone by then): what upstream's closing note says to clean
/// by hand. With `--dry-run` only the read-only listings run and the plan is printed.
fn cleanup_network(out: &crate::output::Output, dry_run: bool) {
    let host = kubeadm_host::RealHost;
    let dirs: Vec<PathBuf> = kubeadm_host::reset::CNI_DIRS.iter().map(PathBuf::from).collect();
    let plan = kubeadm_host::reset::plan_network_cleanup(&host, &dirs);
    print_network_notes(out, &plan.notes);
    for step in &plan.steps {
        if dry_run {
            out.line(format!("[dryrun] Would {}", step.describe(true)));
        } else {
            out.line(format!("[reset] {}", step.describe(false)));
            print_network_notes(out, &step.apply(&host));
        }
    }
}
