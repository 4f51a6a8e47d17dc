//! Issue 6: `kubeadm-rs join --control-plane` grows a stacked-etcd control plane.
//!
//! Node 1 gets a cluster from the full `kubeadm-rs init --upload-certs` with a
//! `controlPlaneEndpoint` (node 1's own address: the bed's load balancer comes separately); node 2
//! runs the control-plane join command init printed (`--control-plane --certificate-key ...`) with
//! kubeadm-rs, beside the bed's kubelet stand-ins (the static-pod runner starts its etcd and
//! control plane from the manifests the join writes; socat answers the kubelet health port; a
//! thread registers node 2's Node object with node 2's own kubelet.conf once its API server is up;
//! node 1's etcd mirror Pod, through which kubeadm finds the etcd members, is created from its
//! manifest).
//! Checked:
//!
//! * a wrong certificate key, then a deleted (expired) kubeadm-certs Secret, fail in download-certs
//!   with a clear error and no certificate written;
//! * the join exits 0 and prints upstream's control-plane closing block;
//! * the shared certificates were downloaded (node 2's CA equals node 1's) and node 2 has its own
//!   serving certificates;
//! * `etcdctl member list` shows two started, voting members (node 2 was added as a learner and
//!   promoted);
//! * node 2's own API server answers `/readyz`, and a write through it is read back through node 1;
//! * node 2's Node carries the control-plane label and taint.
//!
//! Needs root and the pinned components; fails when they are missing unless
//! `KUBEADM_RS_SKIP_BED=1`.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use kubeadm_testbed::controlplane::{self, JoinCommand};
use kubeadm_testbed::{Bed, Node, bed_preflight, heavy_lock};

const VERSION: &str = "v1.37.2";
const NODE_TIMEOUT: Duration = Duration::from_secs(300);
const JOIN_TIMEOUT: Duration = Duration::from_secs(420);
/// What a bed node lacks (see join_e2e.rs), plus the image pull (no container runtime).
const BED_IGNORED_CHECKS: &str = "--ignore-preflight-errors=CRI,ContainerRuntimeVersion,SystemVerification,KubeletVersion,FileContent--proc-sys-net-ipv4-ip_forward,ImagePull";
const ADMIN_CONF: &str = "/etc/kubernetes/admin.conf";
const KUBELET_CONF: &str = "/etc/kubernetes/kubelet.conf";

fn ours() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_kubeadm-rs"))
}

/// A failed control-plane join: exit 1, the error on stderr, and nothing under node 2's pki dir.
fn join_fails(n2: &Node, args: &[String], want: &str) -> Result<()> {
    let out = n2.exec_timeout(ours(), args, &[], JOIN_TIMEOUT)?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    ensure!(out.status.code() == Some(1), "join should fail ({want}):\n{stderr}");
    let last = stderr.lines().rev().find(|l| l.starts_with("error:")).unwrap_or_default();
    ensure!(last.contains(want), "error {last:?} does not say {want:?}:\n{stderr}");
    let pki = n2.host_path("/etc/kubernetes/pki");
    let left: Vec<_> =
        std::fs::read_dir(&pki).map(|d| d.filter_map(|e| e.ok()).collect()).unwrap_or_default();
    ensure!(left.is_empty(), "files left in node 2's pki dir after a failed join: {left:?}");
    Ok(())
}

/// A wrong certificate key and an expired (deleted) kubeadm-certs Secret are refused clearly in
/// download-certs, before any certificate is written; the Secret is uploaded again afterwards and
/// its new key returned.
fn refused_without_the_right_key(
    bed: &Bed,
    n1: &Node,
    n2: &Node,
    cmd: &JoinCommand,
    key: &str,
) -> Result<String> {
    let flipped: String = key
        .chars()
        .enumerate()
        .map(|(i, c)| if i == 0 { if c == '0' { '1' } else { '0' } } else { c })
        .collect();
    let mut args = cmd.control_plane_args(&flipped, n2);
    args.push(BED_IGNORED_CHECKS.to_string());
    join_fails(n2, &args, "error downloading certs")?;
    bed.kubectl_with(n1, ADMIN_CONF, &["-n", "kube-system", "delete", "secret", "kubeadm-certs"])?;
    let mut args = cmd.control_plane_args(key, n2);
    args.push(BED_IGNORED_CHECKS.to_string());
    join_fails(n2, &args, "might have expired")?;
    // Upload again (a new key, as `init phase upload-certs --upload-certs` prints it).
    let up = n1.exec(
        ours(),
        ["init", "phase", "upload-certs", "--upload-certs", "--config", controlplane::CONFIG_PATH],
        &[],
    )?;
    let stdout = String::from_utf8_lossy(&up.stdout).into_owned();
    ensure!(up.status.success(), "upload-certs again: {}", String::from_utf8_lossy(&up.stderr));
    let new_key = stdout
        .split_whitespace()
        .find(|w| w.len() == 64 && w.bytes().all(|b| b.is_ascii_hexdigit()))
        .with_context(|| format!("no certificate key in upload-certs' output:\n{stdout}"))?;
    Ok(new_key.to_string())
}

fn control_plane_join(bed: &Bed) -> Result<()> {
    let (n1, n2) = (bed.node(0), bed.node(1));
    let endpoint = format!("{}:6443", n1.ip());
    let config = controlplane::init_config_with(
        n1,
        VERSION,
        &format!(
            "bootstrapTokens:\n- token: {}\ntimeouts:\n  kubeletHealthCheck: 1m0s\n  controlPlaneComponentHealthCheck: 3m0s\n",
            controlplane::TEST_TOKEN
        ),
        &format!("controlPlaneEndpoint: {endpoint}\n"),
    );
    let init_out = controlplane::full_init(bed, n1, ours(), &config, &["--upload-certs"], NODE_TIMEOUT)?;
    let cmd = JoinCommand::parse(&init_out).with_context(|| format!("no join command in:\n{init_out}"))?;
    let key = controlplane::certificate_key(&init_out)
        .with_context(|| format!("no --certificate-key in:\n{init_out}"))?;
    controlplane::wait_cluster_info_signed(bed, n1, cmd.token_id(), Duration::from_secs(60))?;
    // kubeadm finds the etcd members through the etcd mirror Pods, which the kubelet creates.
    controlplane::register_mirror_pod(bed, n1, n1, "etcd")?;

    let _healthz = controlplane::start_kubelet_healthz(n2)?;
    let key = refused_without_the_right_key(bed, n1, n2, &cmd, &key)?;
    bed.start_runner(n2)?;
    let mut args = cmd.control_plane_args(&key, n2);
    args.push(BED_IGNORED_CHECKS.to_string());
    let start = std::time::Instant::now();
    let out = std::thread::scope(|s| {
        // Stands in for the kubelet's registration: the Node object appears once node 2's API
        // server accepts node 2's own credentials.
        let registrar = s.spawn(|| controlplane::register_node_as(bed, n2, KUBELET_CONF, NODE_TIMEOUT));
        let out = n2.exec_timeout(ours(), &args, &[], JOIN_TIMEOUT);
        let registered = registrar.join();
        (out, registered)
    });
    let (out, registered) = out;
    let out = out?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    eprintln!(
        "===== [{}] kubeadm-rs join --control-plane (exit {:?}, {:.1}s) =====\n{stdout}\n[stderr]\n{stderr}",
        n2.name(),
        out.status.code(),
        start.elapsed().as_secs_f64()
    );
    ensure!(out.status.success(), "join --control-plane failed");
    ensure!(
        stdout.contains("This node has joined the cluster and a new control plane instance was created:"),
        "closing message missing"
    );
    ensure!(!stdout.contains(&key) && !stderr.contains(&key), "the certificate key was printed");
    registered.map_err(|_| anyhow::anyhow!("registration thread panicked"))??;

    // Shared CA downloaded; own serving certificate.
    for f in ["/etc/kubernetes/pki/ca.crt", "/etc/kubernetes/pki/etcd/ca.crt", "/etc/kubernetes/pki/sa.pub"] {
        ensure!(n1.read_file(f)? == n2.read_file(f)?, "{f} differs between the control-plane nodes");
    }
    ensure!(
        n1.read_file("/etc/kubernetes/pki/apiserver.crt")?
            != n2.read_file("/etc/kubernetes/pki/apiserver.crt")?,
        "node 2 reuses node 1's apiserver certificate"
    );

    // Two started voting members.
    let members = controlplane::etcd_member_list(n1)?;
    ensure!(members.len() == 2, "etcd members: {members:?}");
    for m in &members {
        ensure!(m["isLearner"].as_bool() != Some(true), "a learner is left: {m}");
        ensure!(m["name"].as_str().is_some_and(|n| !n.is_empty()), "an unstarted member: {m}");
    }

    // Node 2's API server serves, and sees node 1's writes.
    let server = format!("--server=https://{}:6443", n2.ip());
    // wait-control-plane checks /livez, as upstream; the post-start hooks (RBAC bootstrap roles)
    // may still be running, so /readyz gets a moment.
    kubeadm_testbed::wait_for("node 2's /readyz", Duration::from_secs(60), || {
        let ready = bed
            .kubectl_with(n2, ADMIN_CONF, &[server.as_str(), "get", "--raw", "/readyz"])
            .map_err(|e| e.to_string())?;
        ready
            .status
            .success()
            .then_some(())
            .ok_or_else(|| String::from_utf8_lossy(&ready.stderr).into_owned())
    })?;
    bed.kubectl_with(n1, ADMIN_CONF, &["create", "configmap", "ha-probe", "--from-literal=k=v"])?;
    let cm =
        bed.kubectl_with(n2, ADMIN_CONF, &[server.as_str(), "get", "configmap", "ha-probe", "-o", "json"])?;
    ensure!(cm.status.success(), "node 2 reading node 1's write: {}", String::from_utf8_lossy(&cm.stderr));

    // Marked as control plane.
    let node = controlplane::kubectl_json(bed, n1, ADMIN_CONF, &["node", n2.name()])?;
    ensure!(
        node["metadata"]["labels"].get("node-role.kubernetes.io/control-plane").is_some(),
        "node 2 labels: {}",
        node["metadata"]["labels"]
    );
    let taints = node["spec"]["taints"].as_array().cloned().unwrap_or_default();
    ensure!(
        taints
            .iter()
            .any(|t| t["key"] == "node-role.kubernetes.io/control-plane" && t["effect"] == "NoSchedule"),
        "node 2 taints: {taints:?}"
    );
    Ok(())
}

#[test]
fn kubeadm_rs_control_plane_join() -> Result<()> {
    if bed_preflight()? {
        return Ok(());
    }
    let _serial = heavy_lock()?;
    let start = std::time::Instant::now();
    let bed = Bed::builder().name("krs-cpjoin").nodes(2).start()?;
    let r = control_plane_join(&bed);
    if r.is_err() {
        eprintln!("===== component log tails =====\n{}", bed.log_tails(40));
    }
    eprintln!("[krs-cpjoin] {:.1}s", start.elapsed().as_secs_f64());
    r
}
