//! Run functions of the worker `join` phases: `preflight`, `kubelet-start` and
//! `kubelet-wait-bootstrap` (upstream `cmd/kubeadm/app/cmd/phases/join/{preflight,kubelet}.go`).
//!
//! **TLS bootstrap.** By default kubeadm-rs performs the node's TLS bootstrap itself in
//! `kubelet-start`: it creates the node's key pair and a CSR for `system:node:<name>` (signer
//! `kubernetes.io/kube-apiserver-client-kubelet`), submits it with the bootstrap token, waits for
//! the controller-manager to approve and sign it, and writes the kubelet's credentials as the
//! kubelet's own bootstrap would (`/var/lib/kubelet/pki/kubelet-client-<timestamp>.pem`, the
//! `kubelet-client-current.pem` link, `/etc/kubernetes/kubelet.conf` pointing at it). The kubelet
//! then starts with valid credentials and rotates them itself later. The request happens before
//! anything is written, so a failed bootstrap leaves nothing on the node.
//!
//! With `--kubelet-tls-bootstrap`, kubeadm-rs follows upstream: it writes
//! `bootstrap-kubelet.conf` and `kubelet-wait-bootstrap` waits for the kubelet to write
//! kubelet.conf.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use kubeadm_api::OutFile;
use kubeadm_api::constants;

use crate::commands::join::JoinData;
use crate::workflow::PhaseError;

/// Permission bits of kubeconfig files and the kubelet's key/cert bundle.
const PRIVATE_MODE: u32 = 0o600;
/// Permission bits of the CA certificate.
const CERT_MODE: u32 = 0o644;

fn fail(e: anyhow::Error) -> PhaseError {
    PhaseError::Failed(e)
}

/// Phase `preflight`: the root check, upstream's join checks, then discovery and the cluster's
/// stored configuration (upstream's `InitCfg()` is called here, so a bad token or pin fails in
/// preflight, before anything is written).
pub fn preflight(d: &mut JoinData) -> Result<(), PhaseError> {
    use kubeadm_host::preflight as pf;
    let cfg = &d.cfg;
    let input = pf::JoinPreflightInput {
        kubeadm_version: constants::KUBERNETES_VERSION.to_string(),
        kubernetes_dir: PathBuf::from(constants::KUBERNETES_DIR),
        node_name: cfg.node_registration.name.clone(),
        cri_socket: cfg.node_registration.cri_socket.clone(),
        ca_cert_path: cfg.control_plane.is_none().then(|| PathBuf::from(&cfg.ca_cert_path)),
        discovery_endpoint: cfg.discovery.bootstrap_token.as_ref().map(|b| b.api_server_endpoint.clone()),
    };
    let ignore: Vec<String> = d.ignore_preflight_errors.iter().cloned().collect();
    let ignore = pf::IgnoreSet::new(&ignore, &[]).map_err(|e| fail(anyhow::Error::new(e)))?;
    pf::run_join_preflight(
        &input,
        &kubeadm_host::RealHost,
        &ignore,
        &mut d.out.progress_writer(),
        &mut std::io::stderr(),
    )
    .map_err(|e| fail(anyhow::Error::new(e)))?;
    d.cluster_state().map_err(fail)?;
    if d.cfg.control_plane.is_some() {
        // The checks of a new control-plane instance come with `join --control-plane`.
        return Err(crate::phases::not_implemented("preflight (join --control-plane)"));
    }
    Ok(())
}

fn write_all(files: &[OutFile]) -> anyhow::Result<()> {
    use kubeadm_host::FileWriter as _;
    let w = kubeadm_host::RealWriter::host();
    for f in files {
        w.write(f).map_err(|e| {
            anyhow::Error::new(e).context(format!("failed to write {:?}", f.path.display().to_string()))
        })?;
    }
    Ok(())
}

/// Phase `kubelet-start`.
pub fn kubelet_start(d: &mut JoinData) -> Result<(), PhaseError> {
    kubelet_start_inner(d).map_err(fail)
}

fn kubelet_start_inner(d: &mut JoinData) -> anyhow::Result<()> {
    let out = d.out;
    let state = d.cluster_state()?;
    let rt = d.rt()?;
    let t = d.api_timeouts();
    let mut tls_bootstrap = state.tls_bootstrap.clone();
    if let Some(cp) = &d.cfg.control_plane {
        let server = kubeadm_manifests::kubeconfig::local_api_endpoint_url(&cp.local_api_endpoint)
            .context("could not get LocalAPIEndpoint")?;
        for c in &mut tls_bootstrap.clusters {
            c.cluster.server = server.clone();
        }
    }
    let (server, ca_pem) = {
        let (_, cluster) = tls_bootstrap
            .current_cluster()
            .ok_or_else(|| anyhow!("the TLS bootstrap kubeconfig has no current cluster"))?;
        let ca = cluster
            .certificate_authority_data
            .clone()
            .ok_or_else(|| anyhow!("the TLS bootstrap kubeconfig has no certificate-authority-data"))?;
        (cluster.server.clone(), ca)
    };
    let node_name = d.node_name();
    d.result.node_name = node_name.clone();
    d.result.api_server = server.clone();

    let kubeconfig_dir = d.kubeconfig_dir();
    let bootstrap_path = kubeconfig_dir.join(constants::KUBELET_BOOTSTRAP_KUBECONFIG_FILE_NAME);
    let kubelet_conf_path = kubeconfig_dir.join(constants::KUBELET_KUBECONFIG_FILE_NAME);
    let ca_path = match &d.dry_run_dir {
        Some(dir) => dir.join("ca.crt"),
        None => PathBuf::from(&d.cfg.ca_cert_path),
    };

    let client = rt
        .block_on(kubeadm_cluster::client::client_from_kubeconfig(
            &tls_bootstrap,
            "bootstrap-kubelet.conf",
            &t,
        ))
        .context("could not create client from bootstrap kubeconfig")?;

    // Upstream: refuse a name that a Ready Node already uses.
    out.v(1, format!("[kubelet-start] Checking for an existing Node in the cluster with name {node_name:?} and status \"Ready\""));
    rt.block_on(check_no_ready_node(&client, &node_name))?;

    let mut files: Vec<OutFile> = Vec::new();
    let mut links: Vec<kubeadm_api::OutSymlink> = Vec::new();
    if d.opts.kubelet_tls_bootstrap {
        out.v(
            1,
            format!("[kubelet-start] writing bootstrap kubelet config file at {}", bootstrap_path.display()),
        );
        let yaml = tls_bootstrap.to_yaml().context("couldn't save bootstrap-kubelet.conf to disk")?;
        files.push(OutFile::secret(&bootstrap_path, yaml, PRIVATE_MODE));
    } else if d.dry_run {
        out.line(format!(
            "[dryrun] Would request a client certificate for \"system:node:{node_name}\" (signer {:?}) and write {:?}",
            kubeadm_cluster::tlsbootstrap::KUBELET_CLIENT_SIGNER_NAME,
            kubelet_conf_path.display().to_string()
        ));
    } else {
        // kubeadm-rs's own TLS bootstrap: the certificate is requested before any file is written.
        let timeout = d
            .cfg
            .timeouts
            .as_ref()
            .and_then(|t| t.tls_bootstrap)
            .unwrap_or(constants::TLS_BOOTSTRAP_TIMEOUT)
            .to_std();
        let mut progress = out.progress_writer();
        let cert = rt
            .block_on(kubeadm_cluster::tlsbootstrap::request_node_client_certificate(
                &client,
                &node_name,
                timeout,
                &mut progress,
            ))
            .context("the TLS bootstrap failed")?;
        let creds = kubeadm_manifests::kubeletpki::kubelet_client_files(
            kubeadm_api::constants::KUBELET_PKI_DIR,
            &kubelet_conf_path.display().to_string(),
            &tls_bootstrap,
            cert.cert_pem.as_bytes(),
            cert.key_pem.as_bytes(),
            time::OffsetDateTime::now_utc(),
        )?;
        let current = creds.current.path.display().to_string();
        files.push(creds.pair);
        links.push(creds.current);
        files.push(creds.kubeconfig);
        d.result.csr_name = Some(cert.csr_name.clone());
        d.result.client_certificate = Some(current);
    }
    if !ca_path.exists() {
        out.v(1, format!("[kubelet-start] writing CA certificate at {}", ca_path.display()));
        files.push(OutFile::public(&ca_path, ca_pem.clone(), CERT_MODE));
    }

    if d.dry_run {
        out.line("[kubelet-start] Would stop the kubelet");
    } else {
        crate::kubeletsvc::try_stop(&out);
    }

    // The kubelet's own files, from the cluster's kubelet-config.
    let patches = crate::wiring::load_patches(d.patches_dir())?;
    if let Some((_, msgs)) = &patches {
        for m in msgs {
            out.line(m);
        }
    }
    let resolved = crate::kubeletsvc::systemd_resolved_active();
    let inputs = kubeadm_manifests::kubelet::KubeletStartInputs {
        hostname: d.hostname.clone(),
        systemd_resolved_active: resolved,
        kubelet_dir: d.kubelet_dir().display().to_string(),
        register_taints_using_flags: d.cfg.control_plane.is_none(),
    };
    let kfiles = kubeadm_manifests::kubelet::kubelet_start_files(
        &state.kubelet,
        &d.cfg.node_registration,
        &inputs,
        patches.as_ref().map(|(pm, _)| pm),
    )?;
    for w in &kfiles.warnings {
        out.warn(w);
    }
    // Join writes the instance config and config.yaml first and the flags file last (upstream's
    // join order; init's is the other way round).
    let mut kfiles = kfiles;
    if !kfiles.files.is_empty() {
        let env = kfiles.files.remove(0);
        kfiles.files.push(env);
    }
    if !kfiles.messages.is_empty() {
        let env = kfiles.messages.remove(0);
        kfiles.messages.push(env);
    }
    for m in &kfiles.messages {
        out.line(m);
    }

    // Credentials first, so a kubelet started by a supervisor as soon as config.yaml appears
    // finds them.
    let mut all = files;
    all.extend(kfiles.files);
    write_all_with_links(&all, &links)?;

    if d.dry_run {
        out.line("[kubelet-start] Would start the kubelet");
        for f in &all {
            if f.secret {
                out.line(format!(
                    "[dryrun] Would write file {:?} (contents not shown: secret)",
                    f.path.display().to_string()
                ));
            } else {
                out.line(format!(
                    "[dryrun] Would write file {:?} with content:",
                    f.path.display().to_string()
                ));
                out.raw(String::from_utf8_lossy(&f.data));
            }
        }
        return Ok(());
    }
    out.line("[kubelet-start] Starting the kubelet");
    crate::kubeletsvc::try_start(&out);
    Ok(())
}

fn write_all_with_links(files: &[OutFile], links: &[kubeadm_api::OutSymlink]) -> anyhow::Result<()> {
    // The certificate bundle, then its link, then everything else.
    let (first, rest): (Vec<OutFile>, Vec<OutFile>) =
        files.iter().cloned().partition(|f| links.iter().any(|l| l.target == f.path));
    write_all(&first)?;
    for l in links {
        kubeadm_host::write_symlink(l)
            .with_context(|| format!("failed to link {:?}", l.path.display().to_string()))?;
    }
    write_all(&rest)
}

async fn check_no_ready_node(client: &kubeadm_cluster::Client, name: &str) -> anyhow::Result<()> {
    use k8s_openapi::api::core::v1::Node;
    let api: kube::Api<Node> = kube::Api::all(client.clone());
    let node = match api.get_opt(name).await {
        Ok(n) => n,
        Err(e) => return Err(anyhow::Error::new(e).context(format!("cannot get Node {name:?}"))),
    };
    let ready = node
        .and_then(|n| n.status)
        .and_then(|s| s.conditions)
        .unwrap_or_default()
        .iter()
        .any(|c| c.type_ == "Ready" && c.status == "True");
    if ready {
        anyhow::bail!(
            "a Node with name {name:?} and status \"Ready\" already exists in the cluster. You must delete the existing Node or change the name of this new joining Node"
        );
    }
    Ok(())
}

/// Phase `kubelet-wait-bootstrap`.
pub fn kubelet_wait_bootstrap(d: &mut JoinData) -> Result<(), PhaseError> {
    let out = d.out;
    if d.dry_run {
        out.line("[kubelet-wait] Would wait for the kubelet to be bootstrapped");
        return Ok(());
    }
    let bootstrap_path =
        Path::new(constants::KUBERNETES_DIR).join(constants::KUBELET_BOOTSTRAP_KUBECONFIG_FILE_NAME);
    // Upstream removes the bootstrap credential whatever the outcome.
    struct RemoveOnDrop(PathBuf);
    impl Drop for RemoveOnDrop {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    let _cleanup = RemoveOnDrop(bootstrap_path);
    let r = (|| -> anyhow::Result<()> {
        let state = d.cluster_state()?;
        let timeouts = d.cfg.timeouts.clone().unwrap_or_default();
        let health =
            timeouts.kubelet_health_check.unwrap_or(constants::KUBELET_HEALTH_CHECK_TIMEOUT).to_std();
        // Patches apply to the in-memory configuration too (healthz address and port).
        let kubelet = match crate::wiring::load_patches(d.patches_dir())? {
            Some((pm, _)) => {
                let (patched, _) = pm
                    .apply(
                        "kubeletconfiguration",
                        &state.kubelet.to_value(),
                        kubeadm_manifests::strategic::Schema::Plain,
                    )
                    .context("could not apply patches to the in-memory kubelet configuration")?;
                kubeadm_manifests::componentconfigs::kubelet_config(&state.cluster, Some(&patched))?
            }
            None => state.kubelet.clone(),
        };
        if let Err(e) = crate::kubeletsvc::wait_for_kubelet(&out, &kubelet, health) {
            out.line(crate::apiphases::KUBELET_FAIL_MSG);
            return Err(e.context("failed while waiting for the kubelet to start"));
        }
        let tls = timeouts.tls_bootstrap.unwrap_or(constants::TLS_BOOTSTRAP_TIMEOUT).to_std();
        if let Err(e) = wait_for_tls_bootstrapped_client(d, tls) {
            out.line(crate::apiphases::KUBELET_FAIL_MSG);
            return Err(e.context("failed while waiting for TLS bootstrap"));
        }
        Ok(())
    })();
    r.map_err(fail)
}

/// Upstream `waitForTLSBootstrappedClient`: a client can be built from kubelet.conf (the file and
/// the certificate files it names exist and parse).
fn wait_for_tls_bootstrapped_client(d: &mut JoinData, timeout: Duration) -> anyhow::Result<()> {
    d.out.line("[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap");
    let rt = d.rt()?;
    let t = d.api_timeouts();
    let path = PathBuf::from(constants::KUBELET_KUBECONFIG_PATH);
    let start = Instant::now();
    loop {
        let r = rt.block_on(kubeadm_cluster::client::client_from_file(&path, None, &t));
        match r {
            Ok(_) => {
                if d.result.client_certificate.is_none() {
                    d.result.client_certificate = client_certificate_path(&path);
                }
                return Ok(());
            }
            Err(e) if start.elapsed() >= timeout => {
                return Err(anyhow::Error::new(e).context(format!(
                    "timed out after {} waiting for a usable {}",
                    kubeadm_api::duration::Duration::from_std(timeout),
                    path.display()
                )));
            }
            Err(_) => std::thread::sleep(constants::TLS_BOOTSTRAP_RETRY_INTERVAL.to_std()),
        }
    }
}

fn client_certificate_path(kubeconfig: &Path) -> Option<String> {
    let cfg = kubeadm_cluster::client::load_kubeconfig(kubeconfig).ok()?;
    cfg.current_user().map(|u| u.client_certificate.clone()).filter(|s| !s.is_empty())
}
