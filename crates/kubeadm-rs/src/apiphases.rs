//! The `init` phases that need a kubelet or an API server (upstream
//! `cmd/kubeadm/app/cmd/phases/init/{kubelet,waitcontrolplane,uploadconfig,uploadcerts,
//! markcontrolplane,bootstraptoken,kubeletfinalize,addons,showjoincommand}.go`), on the
//! kubeadm-cluster and kubeadm-manifests libraries.
//!
//! One tokio runtime and one admin client are kept in [`ApiState`] for the whole run (a kube-rs
//! client is bound to the runtime it was created on). With `--dry-run` these phases are not
//! implemented yet (upstream uses a dry-run client that prints the API calls).

use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::{ConfigMap, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::Api;
use kubeadm_cluster::{ApiTimeouts, Client, apply, joincmd};

use crate::commands::init::{InitData, KUBERNETES_DIR};
use crate::output::Output;
use crate::workflow::PhaseError;

/// The runtime and admin client shared by the API phases of one run.
#[derive(Default)]
pub struct ApiState {
    rt: Option<Rc<tokio::runtime::Runtime>>,
    client: Option<Client>,
}

fn rt(d: &mut InitData) -> anyhow::Result<Rc<tokio::runtime::Runtime>> {
    if let Some(rt) = &d.api.rt {
        return Ok(rt.clone());
    }
    let rt = Rc::new(kubeadm_cluster::runtime()?);
    d.api.rt = Some(rt.clone());
    Ok(rt)
}

fn timeouts(d: &InitData) -> ApiTimeouts {
    ApiTimeouts::from_init_configuration(&d.cfg.init)
}

fn dry_run_check(d: &InitData, phase: &str) -> Result<(), PhaseError> {
    if d.dry_run {
        return Err(PhaseError::NotImplemented(phase.to_string()));
    }
    Ok(())
}

fn admin_conf_path() -> PathBuf {
    Path::new(KUBERNETES_DIR).join(kubeadm_api::constants::ADMIN_KUBECONFIG_FILE_NAME)
}

/// Upstream `initData.Client()`: with the default `--kubeconfig`, bootstrap admin.conf's
/// `kubeadm:cluster-admins` binding (with super-admin.conf if needed); else the given file as is.
fn client(d: &mut InitData) -> anyhow::Result<Client> {
    if let Some(c) = &d.api.client {
        return Ok(c.clone());
    }
    let rt = rt(d)?;
    let t = timeouts(d);
    let path = d.opts.kubeconfig_path.clone();
    let c = if path == admin_conf_path() {
        rt.block_on(kubeadm_cluster::client::ensure_admin_cluster_role_binding(
            Path::new(KUBERNETES_DIR),
            None,
            &t,
        ))
        .context("could not bootstrap the admin user in file admin.conf")?
    } else {
        rt.block_on(kubeadm_cluster::client::client_from_file(&path, None, &t)).with_context(|| {
            format!("couldn't create Kubernetes client from {:?}", path.display().to_string())
        })?
    };
    d.api.client = Some(c.clone());
    Ok(c)
}

/// Progress text of the libraries: stdout, or stderr with `-o json|yaml`.
fn stdout(out: Output) -> Box<dyn std::io::Write + Send> {
    out.progress_writer()
}

fn go_duration(d: Duration) -> String {
    kubeadm_api::duration::Duration::from_std(d).to_string()
}

// ---------------------------------------------------------------------------------------------
// kubelet-start

fn kubelet_component(d: &InitData) -> anyhow::Result<kubeadm_manifests::componentconfigs::ComponentConfig> {
    kubeadm_manifests::componentconfigs::kubelet_config(&d.cfg.cluster, d.cfg.kubelet.as_ref())
        .map_err(anyhow::Error::new)
}

/// Phase `kubelet-start`.
pub fn kubelet_start(d: &mut InitData) -> Result<(), PhaseError> {
    dry_run_check(d, "kubelet-start")?;
    let out = d.out;
    crate::kubeletsvc::try_stop(&out);
    let kubelet = kubelet_component(d)?;
    let hostname = {
        use kubeadm_host::HostEnv as _;
        kubeadm_host::RealHost.hostname().map(|h| h.trim().to_lowercase()).unwrap_or_default()
    };
    let resolved = crate::kubeletsvc::systemd_resolved_active();
    let inputs = kubeadm_manifests::kubelet::KubeletStartInputs {
        hostname,
        systemd_resolved_active: resolved,
        kubelet_dir: kubeadm_manifests::kubelet::KUBELET_DIR.to_string(),
        register_taints_using_flags: false,
    };
    let pm = crate::wiring::patch_manager_for_api(d)?;
    let files = kubeadm_manifests::kubelet::kubelet_start_files(
        &kubelet,
        &d.cfg.init.node_registration,
        &inputs,
        pm.as_ref(),
    )
    .map_err(anyhow::Error::new)?;
    for w in &files.warnings {
        out.warn(w);
    }
    // Messages come in upstream's order: each "Writing ..." line before its file.
    for m in &files.messages {
        out.line(m);
    }
    let w = kubeadm_host::RealWriter::host();
    use kubeadm_host::FileWriter as _;
    for f in &files.files {
        w.write(f).map_err(|e| {
            anyhow::Error::new(e).context(format!("failed to write {:?}", f.path.display().to_string()))
        })?;
    }
    out.line("[kubelet-start] Starting the kubelet");
    crate::kubeletsvc::try_start(&out);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// wait-control-plane

/// Upstream `PrintKubeletErrorHelpScreen`.
pub const KUBELET_FAIL_MSG: &str = "
Unfortunately, an error has occurred, likely caused by:
	- The kubelet is not running
	- The kubelet is unhealthy due to a misconfiguration of the node in some way (required cgroups disabled)

If you are on a systemd-powered system, you can try to troubleshoot the error with the following commands:
	- 'systemctl status kubelet'
	- 'journalctl -xeu kubelet'
";

fn control_plane_fail_msg(socket: &str) -> String {
    format!(
        "
A control plane component may have crashed or exited when started by the container runtime.
To troubleshoot, list all containers using your preferred container runtimes CLI.
Here is one example how you may list all running Kubernetes containers by using crictl:
	- 'crictl --runtime-endpoint {socket} ps -a | grep kube | grep -v pause'
	Once you have found the failing container, you can inspect its logs with:
	- 'crictl --runtime-endpoint {socket} logs CONTAINERID'

"
    )
}

/// `--name=value` or `--name value` from the first container whose command starts with `name`
/// (upstream `getControlPlaneComponentAddressAndPort`).
fn manifest_args(manifest_dir: &Path, component: &str, args: &[&str]) -> anyhow::Result<Vec<String>> {
    let path = manifest_dir.join(format!("{component}.yaml"));
    let data = std::fs::read_to_string(&path)
        .with_context(|| format!("failed to read manifest for {:?}", path.display().to_string()))?;
    let pod: serde_json::Value = serde_yaml::from_str(&data)
        .with_context(|| format!("failed to unmarshal manifest for {:?}", path.display().to_string()))?;
    let containers = pod.pointer("/spec/containers").and_then(|c| c.as_array()).cloned().unwrap_or_default();
    let command: Vec<String> = containers
        .iter()
        .filter_map(|c| c.get("command").and_then(|v| v.as_array()))
        .find(|cmd| cmd.first().and_then(|v| v.as_str()) == Some(component))
        .map(|cmd| cmd.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .ok_or_else(|| anyhow!("the Pod has no container command starting with {component:?}"))?;
    let mut values = vec![String::new(); args.len()];
    for line in &command {
        let line = line.trim();
        for (i, arg) in args.iter().enumerate() {
            if !line.starts_with(&format!("--{arg}")) && !line.starts_with(&format!("-{arg}")) {
                continue;
            }
            values[i] = match line.split_once('=') {
                Some((_, v)) => v.to_string(),
                None => line.split_once(' ').map(|(_, v)| v.to_string()).unwrap_or_default(),
            };
        }
    }
    Ok(values)
}

/// An error and its causes, `outer: inner: root`.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.ends_with(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

async fn check_component(
    name: &'static str,
    url: String,
    client: Client,
    path: &'static str,
    timeout: Duration,
) -> (Duration, Result<(), String>) {
    let start = Instant::now();
    loop {
        let req = http::Request::get(format!("/{path}")).body(Vec::new());
        let r = match req {
            Ok(req) => tokio::time::timeout(Duration::from_secs(10), client.request_text(req)).await,
            Err(e) => return (start.elapsed(), Err(format!("{name} check failed at {url}: {e}"))),
        };
        let last = match r {
            Ok(Ok(_)) => return (start.elapsed(), Ok(())),
            Ok(Err(kube::Error::Api(s))) => {
                format!("{name} check failed at {url} with status: {} ({})", s.code, s.message.trim())
            }
            Ok(Err(e)) => format!("{name} check failed at {url}: {}", chain(&e)),
            Err(_) => format!("{name} check failed at {url}: request timed out"),
        };
        if start.elapsed() >= timeout {
            return (start.elapsed(), Err(last));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn insecure_client(url: &str) -> anyhow::Result<Client> {
    let uri: http::Uri = url.parse().with_context(|| format!("invalid URL {url:?}"))?;
    let mut cfg = kube::Config::new(uri);
    cfg.accept_invalid_certs = true;
    cfg.read_timeout = Some(Duration::from_secs(10));
    cfg.connect_timeout = Some(Duration::from_secs(10));
    Client::try_from(cfg).map_err(|e| anyhow!("{}", chain(&e)))
}

/// Upstream `WaitForControlPlaneComponents` alone (join's `wait-control-plane`), with
/// `timeouts.controlPlaneComponentHealthCheck`.
pub fn wait_control_plane_components(d: &mut InitData) -> Result<(), PhaseError> {
    let timeout = d
        .cfg
        .init
        .timeouts
        .as_ref()
        .and_then(|t| t.control_plane_component_health_check)
        .unwrap_or(kubeadm_api::constants::CONTROL_PLANE_COMPONENT_HEALTH_CHECK_TIMEOUT)
        .to_std();
    if let Err(e) = wait_for_control_plane(d, timeout) {
        d.out.line(control_plane_fail_msg(&d.cfg.init.node_registration.cri_socket));
        return Err(PhaseError::Failed(e.context("failed while waiting for the control plane to start")));
    }
    Ok(())
}

fn wait_for_control_plane(d: &mut InitData, timeout: Duration) -> anyhow::Result<()> {
    let out = d.out;
    out.line(format!(
        "[control-plane-check] Waiting for healthy control plane components. This can take up to {}",
        go_duration(timeout)
    ));
    let dir = d.manifest_dir();
    let api_addr = d.cfg.init.local_api_endpoint.advertise_address.clone();
    let specs: [(&'static str, &[&str], String, String, &'static str); 3] = [
        ("kube-apiserver", &["advertise-address", "secure-port"], api_addr, "6443".into(), "livez"),
        (
            "kube-controller-manager",
            &["bind-address", "secure-port"],
            "127.0.0.1".into(),
            "10257".into(),
            "healthz",
        ),
        ("kube-scheduler", &["bind-address", "secure-port"], "127.0.0.1".into(), "10259".into(), "livez"),
    ];
    let mut comps = Vec::new();
    let mut errs = Vec::new();
    for (name, args, addr, port, ep) in specs {
        let (mut a, mut p) = (addr, port);
        match manifest_args(&dir, name, args) {
            Ok(v) => {
                if !v[0].is_empty() {
                    a.clone_from(&v[0]);
                }
                if !v[1].is_empty() {
                    p.clone_from(&v[1]);
                }
            }
            Err(e) => errs.push(format!("{e:#}")),
        }
        let hp = if a.contains(':') { format!("[{a}]:{p}") } else { format!("{a}:{p}") };
        comps.push((name, hp, ep));
    }
    if !errs.is_empty() {
        anyhow::bail!(
            "could not parse the address and port of all control plane components: {}",
            errs.join(", ")
        );
    }
    let rt = rt(d)?;
    let t = timeouts(d);
    let kubeconfig = d.opts.kubeconfig_path.clone();
    let admin =
        rt.block_on(kubeadm_cluster::client::client_from_file(&kubeconfig, None, &t)).with_context(|| {
            format!("couldn't create Kubernetes client from {:?}", kubeconfig.display().to_string())
        })?;
    let mut futs = Vec::new();
    for (name, hp, ep) in &comps {
        let url = format!("https://{hp}/{ep}");
        out.line(format!("[control-plane-check] Checking {name} at {url}"));
        // The API server is checked with the admin client (anonymous auth may be off), the others
        // anonymously without verifying their self-signed serving certificates.
        let c = if *name == "kube-apiserver" {
            admin.clone()
        } else {
            rt.block_on(async { insecure_client(&format!("https://{hp}")) })?
        };
        futs.push((name, url, c, *ep));
    }
    let results = rt.block_on(async {
        let mut handles = Vec::new();
        for (name, url, c, ep) in futs {
            let n: &'static str = name;
            handles.push(async move {
                let r = check_component(n, url, c, ep, timeout).await;
                let line = match &r.1 {
                    Ok(()) => format!("[control-plane-check] {n} is healthy after {}", go_duration(r.0)),
                    Err(_) => format!("[control-plane-check] {n} is not healthy after {}", go_duration(r.0)),
                };
                out.line(line);
                r.1
            });
        }
        join_all(handles).await
    });
    let errs: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    match errs.len() {
        0 => Ok(()),
        1 => Err(anyhow!("{}", errs[0])),
        _ => Err(anyhow!("[{}]", errs.join(", "))),
    }
}

/// Polls every future to completion concurrently on the current task.
async fn join_all<F: std::future::Future>(futs: Vec<F>) -> Vec<F::Output> {
    let mut futs: Vec<std::pin::Pin<Box<F>>> = futs.into_iter().map(Box::pin).collect();
    let mut results: Vec<Option<F::Output>> = futs.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in futs.iter_mut().enumerate() {
            if results[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => results[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    })
    .await;
    results.into_iter().flatten().collect()
}

/// Phase `wait-control-plane`.
pub fn wait_control_plane(d: &mut InitData) -> Result<(), PhaseError> {
    dry_run_check(d, "wait-control-plane")?;
    let out = d.out;
    out.line(format!(
        "[wait-control-plane] Waiting for the kubelet to boot up the control plane as static Pods from directory {:?}",
        d.manifest_dir().display().to_string()
    ));
    let tmo = d.cfg.init.timeouts.as_ref();
    let kubelet_timeout = tmo
        .and_then(|t| t.kubelet_health_check)
        .unwrap_or(kubeadm_api::constants::KUBELET_HEALTH_CHECK_TIMEOUT)
        .to_std();
    let cp_timeout = tmo
        .and_then(|t| t.control_plane_component_health_check)
        .unwrap_or(kubeadm_api::constants::CONTROL_PLANE_COMPONENT_HEALTH_CHECK_TIMEOUT)
        .to_std();
    if let Err(e) = crate::kubeletsvc::wait_for_kubelet(&d.out, &kubelet_component(d)?, kubelet_timeout) {
        out.line(KUBELET_FAIL_MSG);
        return Err(PhaseError::Failed(e.context("failed while waiting for the kubelet to start")));
    }
    if let Err(e) = wait_for_control_plane(d, cp_timeout) {
        out.raw(control_plane_fail_msg(&d.cfg.init.node_registration.cri_socket));
        return Err(PhaseError::Failed(e.context("failed while waiting for the control plane to start")));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// upload-config, upload-certs, mark-control-plane, bootstrap-token

/// Phase `upload-config/kubeadm`.
pub fn upload_config_kubeadm(d: &mut InitData) -> Result<(), PhaseError> {
    dry_run_check(d, "upload-config/kubeadm")?;
    let c = client(d)?;
    let rt = rt(d)?;
    let t = timeouts(d);
    rt.block_on(kubeadm_cluster::uploadconfig::upload_configuration(
        &c,
        &d.cfg.cluster,
        &t,
        &mut stdout(d.out),
    ))
    .map_err(|e| anyhow::Error::new(e).context("error uploading the kubeadm ClusterConfiguration"))?;
    Ok(())
}

/// Phase `upload-config/kubelet`.
pub fn upload_config_kubelet(d: &mut InitData) -> Result<(), PhaseError> {
    dry_run_check(d, "upload-config/kubelet")?;
    let c = client(d)?;
    let rt = rt(d)?;
    let t = timeouts(d);
    let kubelet = kubelet_component(d)?;
    rt.block_on(kubeadm_cluster::uploadconfig::upload_kubelet_config(
        &c,
        &kubelet.to_yaml(),
        kubelet.user_supplied,
        &t,
        &mut stdout(d.out),
    ))
    .map_err(|e| anyhow::Error::new(e).context("error creating kubelet configuration ConfigMap"))?;
    Ok(())
}

/// Phase `upload-certs`: without `--upload-certs` upstream only prints that it skips. Like
/// upstream, the certificate key is printed (it is needed to join control-plane nodes) unless
/// `--skip-certificate-key-print`.
pub fn upload_certs(d: &mut InitData) -> Result<(), PhaseError> {
    if !d.opts.upload_certs {
        d.out.line("[upload-certs] Skipping phase. Please see --upload-certs");
        return Ok(());
    }
    dry_run_check(d, "upload-certs")?;
    let c = client(d)?;
    let rt = rt(d)?;
    let t = timeouts(d);
    if d.cfg.init.certificate_key.is_empty() {
        let key = kubeadm_cluster::copycerts::create_certificate_key().map_err(anyhow::Error::new)?;
        d.cfg.init.certificate_key = kubeadm_api::v1beta4::SecretString::new(key);
    }
    let cert_dir = d.cert_dir();
    rt.block_on(kubeadm_cluster::copycerts::upload_certs(
        &c,
        &cert_dir,
        &d.cfg.cluster,
        d.cfg.init.certificate_key.expose(),
        &t,
        &mut stdout(d.out),
    ))
    .map_err(|e| anyhow::Error::new(e).context("error uploading certs"))?;
    if !d.opts.skip_certificate_key_print {
        d.out.line(format!("[upload-certs] Using certificate key:\n{}", d.cfg.init.certificate_key.expose()));
    }
    Ok(())
}

/// Phase `mark-control-plane`.
pub fn mark_control_plane(d: &mut InitData) -> Result<(), PhaseError> {
    dry_run_check(d, "mark-control-plane")?;
    let c = client(d)?;
    let rt = rt(d)?;
    let t = timeouts(d);
    let nr = &d.cfg.init.node_registration;
    rt.block_on(kubeadm_cluster::markcp::mark_control_plane(
        &c,
        &nr.name,
        nr.taints.as_deref(),
        &t,
        &mut stdout(d.out),
    ))
    .map_err(anyhow::Error::new)?;
    Ok(())
}

/// Phase `bootstrap-token`.
pub fn bootstrap_token(d: &mut InitData) -> Result<(), PhaseError> {
    dry_run_check(d, "bootstrap-token")?;
    let c = client(d)?;
    let rt = rt(d)?;
    let t = timeouts(d);
    let admin =
        kubeadm_cluster::client::load_kubeconfig(&d.opts.kubeconfig_path).map_err(anyhow::Error::new)?;
    let opts =
        kubeadm_cluster::bootstrap::BootstrapTokenPhaseOptions { skip_token_print: d.opts.skip_token_print };
    rt.block_on(kubeadm_cluster::bootstrap::run_bootstrap_token_phase(
        &c,
        &admin,
        &d.cfg.init.bootstrap_tokens,
        opts,
        &t,
        &mut stdout(d.out),
    ))
    .map_err(anyhow::Error::new)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// kubelet-finalize

/// Phase `kubelet-finalize/enable-client-cert-rotation`.
pub fn kubelet_finalize_cert_rotation(d: &mut InitData) -> Result<(), PhaseError> {
    let nr = &d.cfg.init.node_registration;
    let pki = nr
        .kubelet_extra_args
        .iter()
        .rev()
        .find(|a| a.name == "cert-dir")
        .map(|a| PathBuf::from(&a.value))
        .unwrap_or_else(|| Path::new(kubeadm_manifests::kubelet::KUBELET_DIR).join("pki"));
    let pem = pki.join("kubelet-client-current.pem");
    if !pem.exists() {
        d.out.v(1, format!("[kubelet-finalize] Assuming that kubelet client certificate rotation is disabled: stat {}: no such file or directory", pem.display()));
        return Ok(());
    }
    let path = Path::new(KUBERNETES_DIR).join(kubeadm_api::constants::KUBELET_KUBECONFIG_FILE_NAME);
    let shown = path.display().to_string();
    d.out.line(format!(
        "[kubelet-finalize] Updating {shown:?} to point to a rotatable kubelet client certificate and key"
    ));
    if d.dry_run {
        return Ok(());
    }
    let data = std::fs::read(&path).with_context(|| format!("could not load {shown:?}"))?;
    let mut cfg = kubeadm_manifests::kubeconfig::Config::parse(&data)
        .with_context(|| format!("could not load {shown:?}"))?;
    if cfg.current_context.is_empty() {
        return Err(anyhow!("the file {shown:?} does not have current context set").into());
    }
    let user = cfg
        .context(&cfg.current_context)
        .map(|c| c.auth_info.clone())
        .ok_or_else(|| anyhow!("the file {shown:?} is not a valid kubeconfig: {:?} set as current-context, but not found in context list", cfg.current_context))?;
    if user.is_empty() {
        return Err(anyhow!(
            "the file {shown:?} is not a valid kubeconfig: empty username for current context"
        )
        .into());
    }
    let pem_s = pem.display().to_string();
    let info = cfg.users.iter_mut().find(|u| u.name == user).ok_or_else(|| {
        anyhow!(
            "the file {shown:?} does not contain authentication for user {:?}",
            d.cfg.init.node_registration.name
        )
    })?;
    info.user.client_certificate_data = None;
    info.user.client_key_data = None;
    info.user.client_certificate.clone_from(&pem_s);
    info.user.client_key = pem_s;
    let yaml = cfg.to_yaml().with_context(|| format!("failed to serialize {shown:?}"))?;
    let f = kubeadm_api::OutFile::secret(path.clone(), yaml.into_bytes(), 0o600);
    use kubeadm_host::FileWriter as _;
    kubeadm_host::RealWriter::host()
        .write(&f)
        .map_err(|e| anyhow::Error::new(e).context(format!("failed to serialize {shown:?}")))?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// addons

fn typed<T: serde::de::DeserializeOwned>(v: &serde_json::Value, what: &str) -> anyhow::Result<T> {
    serde_json::from_value(v.clone()).with_context(|| format!("unable to decode {what}"))
}

/// Creates or updates one addon object given as JSON, by kind.
async fn apply_value(c: &Client, v: &serde_json::Value, t: &ApiTimeouts) -> anyhow::Result<()> {
    let kind = v.get("kind").and_then(|k| k.as_str()).unwrap_or_default();
    match kind {
        "ConfigMap" => apply::apply_config_map(c, &typed::<ConfigMap>(v, kind)?, t).await?,
        "ServiceAccount" => apply::apply_service_account(c, &typed::<ServiceAccount>(v, kind)?, t).await?,
        "Service" => apply::apply_service(c, &typed::<Service>(v, kind)?, t).await?,
        "Deployment" => apply::apply_deployment(c, &typed::<Deployment>(v, kind)?, t).await?,
        "DaemonSet" => apply::apply_daemon_set(c, &typed::<DaemonSet>(v, kind)?, t).await?,
        "Role" => apply::apply_role(c, &typed::<Role>(v, kind)?, t).await?,
        "RoleBinding" => apply::apply_role_binding(c, &typed::<RoleBinding>(v, kind)?, t).await?,
        "ClusterRole" => apply::apply_cluster_role(c, &typed::<ClusterRole>(v, kind)?, t).await?,
        "ClusterRoleBinding" => {
            apply::apply_cluster_role_binding(c, &typed::<ClusterRoleBinding>(v, kind)?, t).await?
        }
        other => anyhow::bail!("unexpected addon object kind {other:?}"),
    }
    Ok(())
}

/// Upstream `createDNSService`: create, and on AlreadyExists or Invalid (the cluster IP is
/// already allocated to the existing Service) update it instead.
async fn create_dns_service(c: &Client, svc: &Service) -> anyhow::Result<()> {
    let api: Api<Service> = Api::namespaced(c.clone(), "kube-system");
    match api.create(&kube::api::PostParams::default(), svc).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 || s.code == 422 => {
            let name = svc.metadata.name.clone().unwrap_or_default();
            api.replace(&name, &kube::api::PostParams::default(), svc)
                .await
                .map(|_| ())
                .map_err(|e| anyhow!("unable to create/update the DNS service: {}", chain(&e)))
        }
        Err(e) => Err(anyhow!("unable to create a new DNS service: {}", chain(&e))),
    }
}

/// Phase `addon/coredns`.
pub fn addon_coredns(d: &mut InitData) -> Result<(), PhaseError> {
    if d.cfg.dns_disabled() {
        return Ok(());
    }
    dry_run_check(d, "addon/coredns")?;
    if d.opts.print_manifest {
        return Err(PhaseError::NotImplemented("addon/coredns --print-manifest".into()));
    }
    let c = client(d)?;
    let rt = rt(d)?;
    let t = timeouts(d);
    let pm = crate::wiring::patch_manager_for_api(d)?;
    let cluster = d.cfg.cluster.clone();
    let out = d.out;
    rt.block_on(async {
        // Upstream `deployedDNSReplicas`: keep the replica count of the existing DNS Deployment.
        let deployments: Api<Deployment> = Api::namespaced(c.clone(), "kube-system");
        let lp = kube::api::ListParams::default().labels(kubeadm_manifests::addons::COREDNS_LABEL_SELECTOR);
        let list = deployments
            .list(&lp)
            .await
            .map_err(|e| anyhow!("couldn't retrieve DNS addon deployments: {}", chain(&e)))?;
        let replicas = match list.items.as_slice() {
            [] => kubeadm_manifests::addons::COREDNS_REPLICAS,
            [one] => one.spec.replicas.unwrap_or(kubeadm_manifests::addons::COREDNS_REPLICAS),
            _ => anyhow::bail!("multiple DNS addon deployments found"),
        };
        let dns = kubeadm_manifests::addons::coredns(
            &cluster,
            kubeadm_manifests::addons::CoreDnsInputs { replicas },
            pm.as_ref(),
        )?;
        for m in &dns.messages {
            out.line(m);
        }
        // An existing Corefile is retained (upstream migrates it only on upgrades).
        let cms: Api<ConfigMap> = Api::namespaced(c.clone(), "kube-system");
        let cm: ConfigMap = typed(&dns.config_map, "CoreDNS ConfigMap")?;
        let existing = cms.get_opt("coredns").await.map_err(|e| {
            anyhow!("unable to fetch CoreDNS current installed version and ConfigMap.: {}", chain(&e))
        })?;
        let default_corefile =
            existing.as_ref().and_then(|e| e.data.as_ref()).and_then(|m| m.get("Corefile")).is_none_or(
                |cf| cf.is_empty() || Some(cf) == cm.data.as_ref().and_then(|m| m.get("Corefile")),
            );
        if default_corefile {
            apply::apply_config_map(&c, &cm, &t).await?;
        } else {
            apply::create_or_retain(&cms, &cm, &t).await?;
        }
        for obj in [&dns.cluster_role, &dns.cluster_role_binding, &dns.service_account, &dns.deployment] {
            apply_value(&c, obj, &t).await?;
        }
        create_dns_service(&c, &typed(&dns.service, "CoreDNS Service")?).await?;
        anyhow::Ok(())
    })?;
    d.out.line(kubeadm_manifests::addons::MSG_COREDNS_APPLIED);
    Ok(())
}

/// Phase `addon/kube-proxy`.
pub fn addon_kube_proxy(d: &mut InitData) -> Result<(), PhaseError> {
    if d.cfg.proxy_disabled() {
        return Ok(());
    }
    dry_run_check(d, "addon/kube-proxy")?;
    if d.opts.print_manifest {
        return Err(PhaseError::NotImplemented("addon/kube-proxy --print-manifest".into()));
    }
    let c = client(d)?;
    let rt = rt(d)?;
    let t = timeouts(d);
    let pm = crate::wiring::patch_manager_for_api(d)?;
    let cfg = &d.cfg;
    let kp_cfg = kubeadm_manifests::componentconfigs::kube_proxy_config(
        &cfg.cluster,
        &cfg.init.local_api_endpoint,
        cfg.kube_proxy.as_ref(),
    )
    .map_err(anyhow::Error::new)?;
    let inputs = kubeadm_manifests::addons::KubeProxyInputs {
        proxy_env: kubeadm_manifests::staticpod::proxy_env_vars(cfg.host.proxy_env.clone()),
        ci_image_repository: None,
    };
    let kp = kubeadm_manifests::addons::kube_proxy(
        &cfg.cluster,
        &cfg.init.local_api_endpoint,
        &kp_cfg,
        &inputs,
        pm.as_ref(),
    )
    .map_err(anyhow::Error::new)?;
    for w in &kp.warnings {
        d.out.warn(w);
    }
    for m in &kp.messages {
        d.out.line(m);
    }
    rt.block_on(async {
        for obj in kp.objects() {
            apply_value(&c, obj, &t).await?;
        }
        anyhow::Ok(())
    })?;
    d.out.line(kubeadm_manifests::addons::MSG_KUBE_PROXY_APPLIED);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// show-join-command

fn init_done_text(
    kubeconfig: &str,
    control_plane_endpoint: bool,
    upload_certs: bool,
    cp_cmd: &str,
    worker_cmd: &str,
) -> String {
    let mut s = format!(
        "
Your Kubernetes control-plane has initialized successfully!

To start using your cluster, you need to run the following as a regular user:

  mkdir -p $HOME/.kube
  sudo cp -i {kubeconfig} $HOME/.kube/config
  sudo chown $(id -u):$(id -g) $HOME/.kube/config

Alternatively, if you are the root user, you can run:

  export KUBECONFIG=/etc/kubernetes/admin.conf

You should now deploy a pod network to the cluster.
Run \"kubectl apply -f [podnetwork].yaml\" with one of the options listed at:
  https://kubernetes.io/docs/concepts/cluster-administration/addons/

"
    );
    if control_plane_endpoint {
        if upload_certs {
            s.push_str(&format!(
                "You can now join any number of control-plane nodes running the following command on each as root:

  {cp_cmd}

Please note that the certificate-key gives access to cluster sensitive data, keep it secret!
As a safeguard, uploaded-certs will be deleted in two hours; If necessary, you can use
\"kubeadm init phase upload-certs --upload-certs\" to reload certs afterward.

"
            ));
        } else {
            s.push_str(&format!(
                "You can now join any number of control-plane nodes by copying certificate authorities
and service account keys on each node and then running the following as root:

  {cp_cmd}

"
            ));
        }
    }
    s.push_str(&format!("Then you can join any number of worker nodes by running the following on each as root:\n\n{worker_cmd}\n"));
    s
}

/// The structured join information `init -o json|yaml` prints instead of the success text
/// (kubeadm-rs only; upstream has no structured output here). Secrets appear only where the text
/// output shows them too: the token unless `--skip-token-print`, the certificate key only with
/// `--upload-certs` (whose phase prints it) unless `--skip-certificate-key-print`.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct JoinInformation {
    api_version: &'static str,
    kind: &'static str,
    api_server_endpoint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
    ca_cert_hashes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    control_plane_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    certificate_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    worker_join_command: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    control_plane_join_command: Option<String>,
}

/// API version of [`JoinInformation`].
const JOIN_INFORMATION_API_VERSION: &str = "output.kubeadm-rs.io/v1alpha1";

/// Phase `show-join-command`. The printed join command is the one place a token is shown.
pub fn show_join_command(d: &mut InitData) -> Result<(), PhaseError> {
    dry_run_check(d, "show-join-command")?;
    let path = d.opts.kubeconfig_path.clone();
    let shown = path.display().to_string();
    let format = d.opts.output.clone();
    let render = || -> anyhow::Result<Vec<String>> {
        let data = std::fs::read(&path).context("failed to load kubeconfig")?;
        let cfg = kubeadm_manifests::kubeconfig::Config::parse(&data).context("failed to load kubeconfig")?;
        let (endpoint, pins) = joincmd::join_info_from_kubeconfig(&cfg, &shown)?;
        let (skip_token, skip_key) = (d.opts.skip_token_print, d.opts.skip_certificate_key_print);
        let key = d.cfg.init.certificate_key.expose();
        let cpe = d.cfg.cluster.control_plane_endpoint.clone();
        let mut texts = Vec::new();
        let mut info = JoinInformation {
            api_version: JOIN_INFORMATION_API_VERSION,
            kind: "JoinInformation",
            api_server_endpoint: endpoint.clone(),
            token: None,
            ca_cert_hashes: pins.clone(),
            control_plane_endpoint: (!cpe.is_empty()).then(|| cpe.clone()),
            certificate_key: (d.opts.upload_certs && !skip_key && !key.is_empty()).then(|| key.to_string()),
            worker_join_command: None,
            control_plane_join_command: None,
        };
        for bt in &d.cfg.init.bootstrap_tokens {
            let Some(tok) = &bt.token else { continue };
            let token = format!("{}.{}", tok.id, tok.secret);
            let cp = joincmd::join_command_full(&endpoint, &token, &pins, true, key, skip_token, skip_key);
            let worker = joincmd::join_command(&endpoint, &token, &pins, false, "", skip_token);
            if info.worker_join_command.is_none() {
                // The document describes the first bootstrap token (the one `init` prints first).
                info.token = (!skip_token).then(|| token.clone());
                info.worker_join_command =
                    Some(joincmd::flatten_join_command(&worker).trim_end().to_string());
                if !cpe.is_empty() {
                    info.control_plane_join_command =
                        Some(joincmd::flatten_join_command(&cp).trim_end().to_string());
                }
            }
            texts.push(init_done_text(&shown, !cpe.is_empty(), d.opts.upload_certs, &cp, &worker));
        }
        match format.as_str() {
            "json" => Ok(vec![serde_json::to_string_pretty(&info)? + "\n"]),
            "yaml" => Ok(vec![serde_yaml::to_string(&info)?]),
            _ => Ok(texts),
        }
    };
    let texts = render().map_err(|e| e.context("failed to print join command"))?;
    for t in texts {
        if d.opts.structured_output() { d.out.document(t) } else { d.out.raw(t) }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_command_format() {
        let pins = vec!["sha256:ab".to_string()];
        assert_eq!(
            joincmd::join_command("10.0.0.1:6443", "abcdef.0123456789abcdef", &pins, false, "", false),
            "kubeadm join 10.0.0.1:6443 --token abcdef.0123456789abcdef \\\n\t--discovery-token-ca-cert-hash sha256:ab "
        );
        assert_eq!(
            joincmd::join_command("cp:6443", "t", &pins, true, "k", false),
            "kubeadm join cp:6443 --token t \\\n\t--discovery-token-ca-cert-hash sha256:ab \\\n\t--control-plane --certificate-key k"
        );
        let text = init_done_text("/etc/kubernetes/admin.conf", false, false, "", "W");
        assert!(text.starts_with("\nYour Kubernetes control-plane has initialized successfully!\n"));
        assert!(text.ends_with("addons/\n\nThen you can join any number of worker nodes by running the following on each as root:\n\nW\n"));
    }

    #[test]
    fn join_information_document() {
        let info = JoinInformation {
            api_version: JOIN_INFORMATION_API_VERSION,
            kind: "JoinInformation",
            api_server_endpoint: "10.0.0.1:6443".into(),
            token: None,
            ca_cert_hashes: vec!["sha256:ab".into()],
            control_plane_endpoint: None,
            certificate_key: None,
            worker_join_command: Some("kubeadm join 10.0.0.1:6443 --token <value withheld>".into()),
            control_plane_join_command: None,
        };
        let json = serde_json::to_string_pretty(&info).expect("json");
        let v: serde_json::Value = serde_json::from_str(&json).expect("parse");
        assert_eq!(v["kind"], "JoinInformation");
        assert_eq!(v["apiServerEndpoint"], "10.0.0.1:6443");
        assert_eq!(v["caCertHashes"], serde_json::json!(["sha256:ab"]));
        for absent in ["token", "certificateKey", "controlPlaneEndpoint", "controlPlaneJoinCommand"] {
            assert!(v.get(absent).is_none(), "{absent}: {json}");
        }
        let yaml = serde_yaml::to_string(&info).expect("yaml");
        assert!(yaml.contains("kind: JoinInformation\n"), "{yaml}");
        assert!(yaml.contains("caCertHashes:\n- sha256:ab\n"), "{yaml}");
    }

    #[test]
    fn unhealthy_component_names_the_cause() {
        // Nothing listens on port 1: the check times out naming the component and the refusal.
        let rt = kubeadm_cluster::runtime().expect("runtime");
        let (_, r) = rt.block_on(async {
            let c = insecure_client("https://127.0.0.1:1").expect("client");
            check_component(
                "kube-scheduler",
                "https://127.0.0.1:1/livez".into(),
                c,
                "livez",
                Duration::from_millis(600),
            )
            .await
        });
        let e = r.expect_err("must fail");
        eprintln!("{e}");
        assert!(e.starts_with("kube-scheduler check failed at https://127.0.0.1:1/livez: "), "{e}");
        assert!(e.to_lowercase().contains("connection refused"), "{e}");
        let e = crate::kubeletsvc::http_get(
            "127.0.0.1:1",
            "http://127.0.0.1:1/healthz",
            "/healthz",
            Duration::from_secs(1),
        )
        .expect_err("refused");
        assert_eq!(
            e,
            "Get \"http://127.0.0.1:1/healthz\": dial tcp 127.0.0.1:1: connect: connection refused"
        );
    }

    #[test]
    fn manifest_args_parsing() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("kube-scheduler.yaml"),
            "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - command:\n    - kube-scheduler\n    - --bind-address=127.0.0.2\n    - --secure-port=1234\n",
        )
        .expect("write");
        let v = manifest_args(dir.path(), "kube-scheduler", &["bind-address", "secure-port"]).expect("args");
        assert_eq!(v, vec!["127.0.0.2".to_string(), "1234".to_string()]);
        assert!(manifest_args(dir.path(), "kube-apiserver", &["x"]).is_err());
    }
}
