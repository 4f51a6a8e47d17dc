//! Issue 4: `kubeadm-rs token create --print-join-command` prints a command that upstream kubeadm's
//! join discovery accepts.
//!
//! Node 1 gets a cluster made by the full `kubeadm-rs init` (with the stand-ins of init_e2e.rs: the
//! static-pod runner, a socat responder for the kubelet's healthz, and a background thread that
//! creates the Node object). Then `kubeadm-rs token create --print-join-command` on node 1; once the
//! controller-manager's bootstrap signer has added `jws-kubeconfig-<id>` to cluster-info, node 2 runs
//! the printed command with UPSTREAM kubeadm v1.37.2 plus `--dry-run --ignore-preflight-errors=all
//! -v=1`.
//!
//! Upstream's dry-run discovery reads the real cluster-info through the dry-run client (a GET is
//! tried against the real API server first) and only falls back to a fake cluster-info, mutating
//! the token/pin/endpoint with a `[dryrun] Mutating the JoinConfiguration.Discovery.BootstrapToken`
//! warning, when the real one has no JWS for the token. So the test asserts upstream's discovery
//! success line naming node 1's endpoint, and no mutation warning and no discovery error. The JWS
//! check and the CA pin check run on the real data. After discovery the dry-run reads kubeadm-config,
//! kube-proxy and kubelet-config from node 1 and fakes the rest (no kubelet is needed): it exits 0,
//! which the test also asserts (checked on v1.37.2: the whole dry-run takes well under a second).
//!
//! Negative: the same command with one hex digit of the pin flipped fails in discovery with
//! upstream's `cluster CA found in cluster-info ConfigMap is invalid: none of the public keys ... are
//! pinned`.
//!
//! Needs root and the pinned components (`KUBEADM_RS_BIN_DIR`); skipped with
//! `KUBEADM_RS_SKIP_BED=1`.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use kubeadm_testbed::{Bed, Node, bed_preflight, controlplane, heavy_lock, wait_for};

/// How long the Node object stand-in waits for the API server.
const NODE_TIMEOUT: Duration = Duration::from_secs(240);
const VERSION: &str = "v1.37.2";
const CONFIG_PATH: &str = "/run/kubeadm/kubeadm.yaml";
const TOKEN: &str = "abcdef.0123456789abcdef";
const JOIN_TIMEOUT: Duration = Duration::from_secs(60);

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

fn ours(n: &Node, args: &[&str]) -> Result<String> {
    let bin = Path::new(env!("CARGO_BIN_EXE_kubeadm-rs"));
    let out = n.exec(bin, args, &[])?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    ensure!(
        out.status.success(),
        "kubeadm-rs {args:?} failed (exit {:?}):\n{stdout}\n[stderr]\n{stderr}",
        out.status.code()
    );
    Ok(stdout)
}

fn init(bed: &Bed) -> Result<()> {
    let n1 = bed.node(0);
    n1.write_file(CONFIG_PATH, init_config(n1))?;
    // Stand-in for the kubelet's healthz (socat in the node's network namespace).
    let _healthz = controlplane::start_kubelet_healthz(n1)?;
    let out = controlplane::init_beside_node_registration(bed, n1, NODE_TIMEOUT, || {
        ours(n1, &["init", "--config", CONFIG_PATH, "--ignore-preflight-errors=all"])
    })?;
    ensure!(out.contains("Your Kubernetes control-plane has initialized successfully!"), "{out}");
    Ok(())
}

/// Upstream kubeadm on `node`, bounded by [`JOIN_TIMEOUT`]: (exit success, stdout + stderr).
fn upstream_join(n: &Node, args: &[String]) -> Result<(bool, String)> {
    Ok(controlplane::upstream_kubeadm_bounded(n, args, JOIN_TIMEOUT)?)
}

fn join_discovery(bed: &Bed) -> Result<()> {
    init(bed)?;
    let (n1, n2) = (bed.node(0), bed.node(1));

    let join =
        ours(n1, &["token", "create", "--kubeconfig", "/etc/kubernetes/admin.conf", "--print-join-command"])?;
    eprintln!("[kubeadm-rs token create --print-join-command] {join:?}");
    let words: Vec<&str> = join.split_whitespace().collect();
    ensure!(
        words.len() == 7
            && words[0] == "kubeadm"
            && words[1] == "join"
            && words[3] == "--token"
            && words[5] == "--discovery-token-ca-cert-hash",
        "unexpected join command {join:?}"
    );
    let (endpoint, token, pin) = (words[2], words[4], words[6]);
    ensure!(endpoint == format!("{}:6443", n1.ip()), "endpoint {endpoint}");
    ensure!(token != TOKEN, "print-join-command reused the init token");
    let id = token.split('.').next().unwrap_or_default();

    let key = format!("jws-kubeconfig-{id}");
    wait_for(&format!("{key} in cluster-info"), Duration::from_secs(60), || {
        let out = bed
            .kubectl_ok(n1, &["get", "configmap", "-n", "kube-public", "cluster-info", "-o", "json"])
            .map_err(|e| e.to_string())?;
        let ci: serde_json::Value = serde_json::from_str(&out).map_err(|e| format!("{e}: {out}"))?;
        ci["data"].get(&key).map(|_| ()).ok_or(out)
    })?;

    let args = |pin: &str| -> Vec<String> {
        // The printed command, `kubeadm` replaced with upstream's binary, plus the dry-run flags.
        let mut a: Vec<String> = words[1..].iter().map(|w| w.to_string()).collect();
        a[5] = pin.to_string();
        a.extend(["--dry-run", "--ignore-preflight-errors=all", "-v=1"].map(String::from));
        a
    };

    // --- positive: upstream's discovery accepts the printed command against the real cluster-info.
    let (ok, out) = upstream_join(n2, &args(pin))?;
    let success = format!(
        "[discovery] Cluster info signature and contents are valid and TLS certificate validates against pinned roots, will use API Server \"{endpoint}\""
    );
    ensure!(out.contains(&success), "upstream join did not print {success:?}:\n{out}");
    ensure!(
        out.contains(&format!("[discovery] Waiting for the cluster-info ConfigMap to receive a JWS signature for token ID \"{id}\"")),
        "no discovery for token ID {id}:\n{out}"
    );
    for bad in [
        "[dryrun] Mutating the JoinConfiguration.Discovery.BootstrapToken",
        "192.168.0.101",
        "failed to verify JWS signature",
        "is invalid for this cluster or it has expired",
        "are pinned",
        "cluster-info ConfigMap is invalid",
        "couldn't validate the identity of the API Server",
        "[discovery] Retrying due to error",
    ] {
        ensure!(!out.contains(bad), "upstream join output contains {bad:?}:\n{out}");
    }
    ensure!(ok, "upstream join --dry-run got past discovery but failed afterwards:\n{out}");

    // --- negative: one hex digit of the pin flipped.
    let last = pin.chars().last().context("empty pin")?;
    let flipped = format!("{}{}", &pin[..pin.len() - 1], if last == '0' { '1' } else { '0' });
    let (ok, out) = upstream_join(n2, &args(&flipped))?;
    ensure!(!ok, "upstream join accepted a wrong pin:\n{out}");
    // The error names the hash of the CA actually served: the printed (correct) pin.
    let mismatch = format!(
        "couldn't validate the identity of the API Server: cluster CA found in cluster-info ConfigMap is invalid: none of the public keys \"{pin}\" are pinned"
    );
    ensure!(out.contains(&mismatch), "upstream join with a wrong pin did not fail with {mismatch:?}:\n{out}");
    ensure!(!out.contains(&success), "wrong pin still validated:\n{out}");
    Ok(())
}

#[test]
fn print_join_command_passes_upstream_discovery() -> Result<()> {
    if bed_preflight()? {
        return Ok(());
    }
    let _serial = heavy_lock()?;
    let bed = Bed::builder().name("krs-joindisc").nodes(2).start()?;
    let r = join_discovery(&bed);
    if r.is_err() {
        eprintln!("===== component log tails =====\n{}", bed.log_tails(40));
    }
    r
}
