//! End to end: the full `kubeadm-rs init` on a bed node, with the real pinned control plane.
//!
//! The bed node has no kubelet, so the test stands in for it: the bed's runner starts the static
//! Pods kubeadm-rs writes, a socat responder answers the kubelet's `http://127.0.0.1:10248/healthz`,
//! and a background thread creates the Node object (with super-admin.conf, once the API server is
//! up) so `mark-control-plane` finds it. init runs in full with `--ignore-preflight-errors=all` (the
//! node has no container runtime or kubelet).
//! Then it checks with kubectl what init created, and that running init again succeeds without
//! duplicates.
//!
//! Needs root and the pinned components (`KUBEADM_RS_BIN_DIR`, or scripts/build-components.sh);
//! fails when they are missing, unless `KUBEADM_RS_SKIP_BED=1`.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use kubeadm_testbed::{Bed, Node, bed_preflight, controlplane, heavy_lock, wait_for};

/// How long the Node object stand-in waits for the API server.
const NODE_TIMEOUT: Duration = Duration::from_secs(240);
const VERSION: &str = "v1.37.2";
const CONFIG_PATH: &str = "/run/kubeadm/kubeadm.yaml";
const TOKEN: &str = "abcdef.0123456789abcdef";

fn init_config(node: &Node) -> String {
    format!(
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nbootstrapTokens:\n- token: {TOKEN}\n\
         localAPIEndpoint:\n  advertiseAddress: {ip}\n  bindPort: 6443\nnodeRegistration:\n  name: {name}\n  \
         criSocket: unix:///run/containerd/containerd.sock\ntimeouts:\n  kubeletHealthCheck: 1m0s\n  controlPlaneComponentHealthCheck: 3m0s\n\
         ---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: {VERSION}\n",
        ip = node.ip(),
        name = node.name()
    )
}

fn get_json(bed: &Bed, n: &Node, args: &[&str]) -> Result<serde_json::Value> {
    let mut all = vec!["get"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-o", "json"]);
    let out = bed.kubectl_ok(n, &all)?;
    serde_json::from_str(&out).with_context(|| format!("kubectl {all:?}: {out}"))
}

fn run_init(n1: &Node, extra: &[&str]) -> Result<String> {
    let bin = Path::new(env!("CARGO_BIN_EXE_kubeadm-rs"));
    let mut args = vec!["init", "--config", CONFIG_PATH, "--ignore-preflight-errors=all"];
    args.extend_from_slice(extra);
    let out = n1.exec(bin, &args, &[])?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    eprintln!("[kubeadm-rs init] exit {:?}\n{stdout}\n[stderr]\n{stderr}", out.status.code());
    ensure!(out.status.success(), "kubeadm-rs init failed: {stderr}");
    Ok(stdout)
}

fn check_output(out: &str, n1: &Node) -> Result<()> {
    for line in [
        "[kubelet-start] Writing kubelet configuration to file \"/var/lib/kubelet/config.yaml\"",
        "[kubelet-check] The kubelet is healthy after",
        "[control-plane-check] kube-apiserver is healthy after",
        "[control-plane-check] kube-controller-manager is healthy after",
        "[control-plane-check] kube-scheduler is healthy after",
        "[upload-config] Storing the configuration used in ConfigMap \"kubeadm-config\" in the \"kube-system\" Namespace",
        "[upload-certs] Skipping phase. Please see --upload-certs",
        &format!("[mark-control-plane] Marking the node {} as control-plane", n1.name()),
        "[bootstrap-token] Configuring bootstrap tokens, cluster-info ConfigMap, RBAC Roles",
        "[addons] Applied essential addon: CoreDNS",
        "[addons] Applied essential addon: kube-proxy",
        "Your Kubernetes control-plane has initialized successfully!",
        &format!(
            "kubeadm join {}:6443 --token {TOKEN} \\\n\t--discovery-token-ca-cert-hash sha256:",
            n1.ip()
        ),
    ] {
        ensure!(out.contains(line), "kubeadm-rs init did not print {line:?}:\n{out}");
    }
    Ok(())
}

/// The node's control-plane taints (the node lifecycle controller adds `not-ready` ones: no kubelet
/// reports the node's status here).
fn control_plane_taints(node: &serde_json::Value) -> Vec<serde_json::Value> {
    let taints = node["spec"]["taints"].as_array().cloned().unwrap_or_default();
    taints.into_iter().filter(|t| t["key"] == "node-role.kubernetes.io/control-plane").collect()
}

fn check_cluster(bed: &Bed, n1: &Node) -> Result<()> {
    for (ns, cm) in [
        ("kube-system", "kubeadm-config"),
        ("kube-system", "kubelet-config"),
        ("kube-public", "cluster-info"),
        ("kube-system", "kube-proxy"),
        ("kube-system", "coredns"),
    ] {
        get_json(bed, n1, &["configmap", "-n", ns, cm])?;
    }
    let secret = get_json(bed, n1, &["secret", "-n", "kube-system", "bootstrap-token-abcdef"])?;
    ensure!(secret["type"] == "bootstrap.kubernetes.io/token", "token secret: {secret}");
    wait_for("cluster-info signed by the bootstrap signer", Duration::from_secs(60), || {
        let ci = get_json(bed, n1, &["configmap", "-n", "kube-public", "cluster-info"])
            .map_err(|e| e.to_string())?;
        ci["data"].get("jws-kubeconfig-abcdef").map(|_| ()).ok_or_else(|| ci.to_string())
    })?;
    let node = get_json(bed, n1, &["node", n1.name()])?;
    let labels = &node["metadata"]["labels"];
    ensure!(labels.get("node-role.kubernetes.io/control-plane").is_some(), "labels: {labels}");
    ensure!(
        labels.get("node.kubernetes.io/exclude-from-external-load-balancers").is_some(),
        "labels: {labels}"
    );
    let cp = control_plane_taints(&node);
    ensure!(cp.len() == 1 && cp[0]["effect"] == "NoSchedule", "taints: {}", node["spec"]["taints"]);
    let dep = get_json(bed, n1, &["deployment", "-n", "kube-system", "coredns"])?;
    ensure!(dep["spec"]["replicas"] == 2, "coredns replicas: {}", dep["spec"]["replicas"]);
    let svc = get_json(bed, n1, &["service", "-n", "kube-system", "kube-dns"])?;
    ensure!(svc["spec"]["clusterIP"] == "10.96.0.10", "kube-dns: {}", svc["spec"]);
    get_json(bed, n1, &["daemonset", "-n", "kube-system", "kube-proxy"])?;
    let crb = get_json(bed, n1, &["clusterrolebinding", "kubeadm:cluster-admins"])?;
    ensure!(crb["roleRef"]["name"] == "cluster-admin", "{crb}");
    for f in [
        "/var/lib/kubelet/config.yaml",
        "/var/lib/kubelet/kubeadm-flags.env",
        "/var/lib/kubelet/instance-config.yaml",
    ] {
        ensure!(n1.host_path(f).is_file(), "missing {f}");
    }
    Ok(())
}

fn full_init(bed: &Bed) -> Result<()> {
    let n1 = bed.node(0);
    n1.write_file(CONFIG_PATH, init_config(n1))?;
    // Stand-in for the kubelet's healthz (socat in the node's network namespace).
    let _healthz = controlplane::start_kubelet_healthz(n1)?;
    let first = controlplane::init_beside_node_registration(bed, n1, NODE_TIMEOUT, || run_init(n1, &[]))?;
    check_output(&first, n1)?;
    check_cluster(bed, n1)?;

    // Scale CoreDNS: a re-run keeps the existing replica count.
    bed.kubectl_ok(n1, &["scale", "-n", "kube-system", "deployment/coredns", "--replicas=1"])?;
    // The re-run also uploads the certificates (copycerts) with a generated certificate key.
    let second = run_init(n1, &["--upload-certs"])?;
    check_output(
        &second.replace(
            "[upload-certs] Storing the certificates in Secret",
            "[upload-certs] Skipping phase. Please see --upload-certs\n",
        ),
        n1,
    )?;
    ensure!(second.contains("[upload-certs] Storing the certificates in Secret \"kubeadm-certs\" in the \"kube-system\" Namespace"), "{second}");
    let key_line = second
        .lines()
        .skip_while(|l| *l != "[upload-certs] Using certificate key:")
        .nth(1)
        .unwrap_or_default();
    ensure!(
        key_line.len() == 64 && key_line.bytes().all(|b| b.is_ascii_hexdigit()),
        "certificate key line: {key_line:?}"
    );
    let certs = get_json(bed, n1, &["secret", "-n", "kube-system", "kubeadm-certs"])?;
    ensure!(
        certs["data"].get("ca.crt").is_some() && certs["data"].get("sa.key").is_some(),
        "kubeadm-certs keys: {}",
        certs["data"]
    );
    let dep = get_json(bed, n1, &["deployment", "-n", "kube-system", "coredns"])?;
    ensure!(dep["spec"]["replicas"] == 1, "coredns replicas after re-run: {}", dep["spec"]["replicas"]);
    let secrets = bed.kubectl_ok(
        n1,
        &[
            "get",
            "secrets",
            "-n",
            "kube-system",
            "--field-selector",
            "type=bootstrap.kubernetes.io/token",
            "-o",
            "name",
        ],
    )?;
    // abcdef plus the short-lived token that owns kubeadm-certs.
    ensure!(
        secrets.lines().count() == 2 && secrets.contains("secret/bootstrap-token-abcdef"),
        "token secrets after re-run:\n{secrets}"
    );
    let node = get_json(bed, n1, &["node", n1.name()])?;
    ensure!(control_plane_taints(&node).len() == 1, "taints after re-run: {}", node["spec"]["taints"]);
    let cms = bed.kubectl_ok(n1, &["get", "configmaps", "-n", "kube-system", "-o", "name"])?;
    ensure!(cms.lines().filter(|l| l.trim() == "configmap/kubeadm-config").count() == 1, "{cms}");

    // kubeadm-rs only: `-o json` prints the join information as one JSON document on stdout (the
    // progress lines go to stderr). `init phase show-join-command` alone cannot run (it depends on
    // bootstrap-token and upload-certs, as upstream), so the whole init runs once more.
    let pin_prefix = "--discovery-token-ca-cert-hash ";
    let text_pin = first
        .split(pin_prefix)
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .context("no CA pin in the text output")?
        .to_string();
    ensure!(text_pin.starts_with("sha256:") && text_pin.len() == 7 + 64, "text pin {text_pin:?}");
    let doc = run_init(n1, &["-o", "json"])?;
    let info: serde_json::Value = serde_json::from_str(&doc)
        .with_context(|| format!("init -o json stdout is not one JSON document:\n{doc}"))?;
    ensure!(info["kind"] == "JoinInformation", "{info}");
    ensure!(info["apiServerEndpoint"] == format!("{}:6443", n1.ip()), "{info}");
    ensure!(info["token"] == TOKEN, "{info}");
    ensure!(info["caCertHashes"] == serde_json::json!([text_pin]), "CA pin {text_pin} in text mode: {info}");
    let worker = info["workerJoinCommand"].as_str().unwrap_or_default();
    ensure!(
        worker
            == format!(
                "kubeadm join {}:6443 --token {TOKEN} --discovery-token-ca-cert-hash {text_pin}",
                n1.ip()
            ),
        "{info}"
    );
    // No controlPlaneEndpoint and no --upload-certs: neither a control-plane command nor a key.
    for absent in ["controlPlaneEndpoint", "controlPlaneJoinCommand", "certificateKey"] {
        ensure!(info.get(absent).is_none(), "{absent} in {info}");
    }
    Ok(())
}

#[test]
fn kubeadm_rs_full_init() -> Result<()> {
    if bed_preflight()? {
        return Ok(());
    }
    let _serial = heavy_lock()?;
    let bed = Bed::builder().name("krs-init").nodes(1).start()?;
    let r = full_init(&bed);
    if r.is_err() {
        eprintln!("===== component log tails =====\n{}", bed.log_tails(40));
    }
    r
}
