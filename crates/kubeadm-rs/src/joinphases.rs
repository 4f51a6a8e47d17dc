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
        control_plane_preflight(d).map_err(fail)?;
    }
    Ok(())
}

/// Upstream `checkIfReadyForAdditionalControlPlane`, then `RunInitNodeChecks` for a secondary
/// control plane and the image pull.
fn control_plane_preflight(d: &mut JoinData) -> anyhow::Result<()> {
    let has_key = d.cfg.control_plane.as_ref().is_some_and(|c| !c.certificate_key.is_empty());
    let dry_run = d.dry_run;
    let cp = d.cp_init_data()?;
    let not_ready = |e: String| {
        anyhow!(
            "\nOne or more conditions for hosting a new control plane instance is not satisfied.\n\n{e}\n\nPlease ensure that:\n* The cluster has a stable controlPlaneEndpoint address.\n* The certificates that must be shared among control plane instances are provided.\n\n"
        )
    };
    if cp.cfg.cluster.control_plane_endpoint.is_empty() {
        return Err(not_ready(
            "unable to add a new control plane instance to a cluster that doesn't have a stable controlPlaneEndpoint address".into(),
        ));
    }
    if !has_key {
        let dir = cp.cert_dir();
        let mut need =
            vec!["ca.crt", "ca.key", "sa.key", "sa.pub", "front-proxy-ca.crt", "front-proxy-ca.key"];
        if cp.cfg.cluster.etcd.external.is_none() {
            need.extend(["etcd/ca.crt", "etcd/ca.key"]);
        }
        let missing: Vec<String> = need
            .iter()
            .map(|f| dir.join(f))
            .filter(|p| !p.is_file())
            .map(|p| format!("{} does not exist", p.display()))
            .collect();
        if !missing.is_empty() {
            return Err(not_ready(format!("[{}]", missing.join(", "))));
        }
    }
    let mut input = crate::wiring::preflight_input(cp);
    input.secondary_control_plane = true;
    input.download_certs = has_key;
    let ignore: Vec<String> = cp.ignore_preflight_errors.iter().cloned().collect();
    let ignore = kubeadm_host::preflight::IgnoreSet::new(&ignore, &[])?;
    kubeadm_host::preflight::run_secondary_control_plane_preflight(
        &input,
        &kubeadm_host::RealHost,
        &ignore,
        dry_run,
        &mut cp.out.progress_writer(),
        &mut std::io::stderr(),
    )?;
    Ok(())
}

fn dry_run_control_plane(d: &JoinData, phase: &str) -> Result<(), PhaseError> {
    if d.dry_run {
        return Err(PhaseError::NotImplemented(format!("{phase} with --dry-run")));
    }
    Ok(())
}

/// Phase `control-plane-prepare/download-certs`.
pub fn download_certs(d: &mut JoinData) -> Result<(), PhaseError> {
    let key =
        d.cfg.control_plane.as_ref().map(|c| c.certificate_key.expose().to_string()).unwrap_or_default();
    if key.is_empty() {
        d.out.v(1, "[download-certs] Skipping certs download");
        return Ok(());
    }
    dry_run_control_plane(d, "control-plane-prepare/download-certs")?;
    (|| -> anyhow::Result<()> {
        let state = d.cluster_state()?;
        let rt = d.rt()?;
        let t = d.api_timeouts();
        let out = d.out;
        let client = rt
            .block_on(kubeadm_cluster::client::client_from_kubeconfig(&state.tls_bootstrap, "bootstrap", &t))
            .context("unable to access the cluster")?;
        let cp = d.cp_init_data()?;
        let dir = cp.cert_write_dir();
        rt.block_on(kubeadm_cluster::copycerts::download_certs(
            &client,
            &dir,
            &cp.cfg.cluster,
            &key,
            &mut out.progress_writer(),
        ))
        .context("error downloading certs")?;
        Ok(())
    })()
    .map_err(fail)
}

/// Phase `control-plane-prepare/certs`: init's certificate phases (existing CAs are used).
pub fn control_plane_certs(d: &mut JoinData) -> Result<(), PhaseError> {
    dry_run_control_plane(d, "control-plane-prepare/certs")?;
    let cp = d.cp_init_data().map_err(fail)?;
    cp.out
        .line(format!("[certs] Using certificateDir folder {:?}", cp.cert_write_dir().display().to_string()));
    for name in crate::phases::init::CERTS.iter().map(|(n, _)| *n) {
        crate::wiring::cert(cp, name)?;
    }
    crate::wiring::sa(cp)
}

/// Phase `control-plane-prepare/kubeconfig`: admin, controller-manager and scheduler kubeconfigs.
pub fn control_plane_kubeconfig(d: &mut JoinData) -> Result<(), PhaseError> {
    dry_run_control_plane(d, "control-plane-prepare/kubeconfig")?;
    let cp = d.cp_init_data().map_err(fail)?;
    cp.out.line("[kubeconfig] Generating kubeconfig files");
    cp.out.line(format!(
        "[kubeconfig] Using kubeconfig folder {:?}",
        cp.kubeconfig_dir().display().to_string()
    ));
    for name in ["admin", "controller-manager", "scheduler"] {
        crate::wiring::kubeconfig(cp, name)?;
    }
    Ok(())
}

/// Phase `control-plane-prepare/control-plane`: the static Pod manifests.
pub fn control_plane_manifests(d: &mut JoinData) -> Result<(), PhaseError> {
    dry_run_control_plane(d, "control-plane-prepare/control-plane")?;
    let cp = d.cp_init_data().map_err(fail)?;
    cp.out
        .line(format!("[control-plane] Using manifest folder {:?}", cp.manifest_dir().display().to_string()));
    for name in ["apiserver", "controller-manager", "scheduler"] {
        crate::wiring::control_plane(cp, name)?;
    }
    Ok(())
}

/// Phase `etcd-join`: adds this node to the stacked etcd cluster as a learner, writes its etcd
/// static Pod with the returned initial cluster, promotes it once it has caught up and waits for
/// the cluster to be available (upstream `CreateStackedEtcdStaticPodManifestFile`).
pub fn etcd_join(d: &mut JoinData) -> Result<(), PhaseError> {
    dry_run_control_plane(d, "etcd-join")?;
    (|| -> anyhow::Result<()> {
        let rt = d.rt()?;
        let cp = d.cp_init_data()?;
        if cp.cfg.cluster.etcd.external.is_some() {
            cp.out.line("[control-plane-join] Using external etcd - no local stacked instance added");
            return Ok(());
        }
        let data_dir = cp.cfg.cluster.etcd.local.as_ref().map(|l| l.data_dir.clone()).unwrap_or_default();
        create_etcd_data_dir(Path::new(&data_dir))?;
        let t = kubeadm_cluster::ApiTimeouts::from_init_configuration(&cp.cfg.init);
        let admin = cp.opts.kubeconfig_path.clone();
        let client = rt
            .block_on(kubeadm_cluster::client::client_from_file(&admin, None, &t))
            .context("couldn't create Kubernetes client")?;
        let advertise = cp.cfg.init.local_api_endpoint.advertise_address.clone();
        let peer = kubeadm_cluster::etcd::peer_url_by_ip(&advertise);
        let node = cp.cfg.init.node_registration.name.clone();
        let cert_dir = cp.cert_dir();
        let etcd_timeouts = kubeadm_cluster::etcd::EtcdTimeouts::from_config(
            cp.cfg.init.timeouts.as_ref().and_then(|t| t.etcd_api_call),
        );
        let ctx = "error creating local etcd static pod manifest file";
        let mut etcd = rt
            .block_on(kubeadm_cluster::etcd::EtcdClient::from_cluster(
                &client,
                &cert_dir,
                None,
                &t,
                etcd_timeouts,
            ))
            .context(ctx)?;
        cp.out.v(1, format!("[etcd] Adding etcd member: {peer}"));
        let added = rt.block_on(etcd.member_add_as_learner(&node, &peer)).context(ctx)?;
        cp.out.line("[etcd] Announced new etcd member joining to the existing etcd cluster");
        crate::wiring::write_joining_etcd_pod(cp, &added.initial_cluster()).context(ctx)?;
        let id = rt.block_on(etcd.get_member_id(&peer)).context(ctx)?;
        rt.block_on(etcd.member_promote(id)).context(ctx)?;
        cp.out.line("[etcd] Waiting for the new etcd member to join the cluster. This can take up to 40s");
        rt.block_on(etcd.wait_for_cluster_available(8, Duration::from_secs(5))).context(ctx)?;
        Ok(())
    })()
    .map_err(fail)
}

/// Upstream `etcdutil.CreateDataDirectory`: 0700, also tightening an existing directory.
fn create_etcd_data_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let shown = dir.display().to_string();
    std::fs::create_dir_all(dir).with_context(|| format!("failed to create etcd directory {shown:?}"))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("failed to set permissions on etcd directory {shown:?}"))
}

/// Phase `control-plane-join/mark-control-plane`.
pub fn mark_control_plane(d: &mut JoinData) -> Result<(), PhaseError> {
    dry_run_control_plane(d, "control-plane-join/mark-control-plane")?;
    let cp = d.cp_init_data().map_err(fail)?;
    crate::apiphases::mark_control_plane(cp).map_err(|e| match e {
        PhaseError::Failed(e) => {
            PhaseError::Failed(e.context("error applying control-plane label and taints"))
        }
        e => e,
    })
}

/// Phase `wait-control-plane` (join): the local control-plane components.
pub fn wait_control_plane(d: &mut JoinData) -> Result<(), PhaseError> {
    dry_run_control_plane(d, "wait-control-plane")?;
    let cp = d.cp_init_data().map_err(fail)?;
    crate::apiphases::wait_control_plane_components(cp)
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

    // The bootstrap client talks to the discovered endpoint: on a joining control plane the local
    // API server only starts after this phase (upstream's kubelet retries in the background;
    // kubeadm-rs requests the node's certificate through the cluster's endpoint instead).
    let client = rt
        .block_on(kubeadm_cluster::client::client_from_kubeconfig(
            &state.tls_bootstrap,
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
