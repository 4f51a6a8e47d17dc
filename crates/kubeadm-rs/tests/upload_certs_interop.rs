//! `kubeadm-rs init --upload-certs` writes a kubeadm-certs Secret that UPSTREAM kubeadm v1.37.2
//! decrypts.
//!
//! Node 1 gets a cluster made by the full `kubeadm-rs init --upload-certs` (key in `certificateKey`)
//! (with the stand-ins of join_discovery.rs: the static-pod runner, a socat responder for the
//! kubelet's healthz, and a background thread that creates the Node object), its config setting
//! `controlPlaneEndpoint: <node1 ip>:6443`. The token and CA pin come from
//! `kubeadm-rs token create --print-join-command`. Node 2 then runs upstream's
//! `kubeadm join phase control-plane-prepare download-certs --config join.yaml`, the JoinConfiguration
//! holding what the flags `<endpoint> --token --discovery-token-ca-cert-hash --control-plane
//! --certificate-key` would, plus `controlPlane.localAPIEndpoint.advertiseAddress`: the phase has no
//! `--apiserver-advertise-address` flag and without a default route upstream refuses `0.0.0.0`.
//!
//! Negative first (node 2 still clean): a wrong certificate key makes upstream fail with its AES-GCM
//! decryption error (`error decoding secret data with provided key: cipher: message authentication
//! failed`) and write none of the files. Positive: the right key exits 0 and every file upstream
//! writes (CA, SA, front-proxy CA, etcd CA) is byte-identical to node 1's.
//!
//! Needs root and the pinned components (`KUBEADM_RS_BIN_DIR`); skipped with
//! `KUBEADM_RS_SKIP_BED=1`.

use std::io::Read;
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

/// The files `copycerts.DownloadCerts` writes for a stacked-etcd cluster.
const SHARED: [&str; 8] = [
    "/etc/kubernetes/pki/ca.crt",
    "/etc/kubernetes/pki/ca.key",
    "/etc/kubernetes/pki/sa.key",
    "/etc/kubernetes/pki/sa.pub",
    "/etc/kubernetes/pki/front-proxy-ca.crt",
    "/etc/kubernetes/pki/front-proxy-ca.key",
    "/etc/kubernetes/pki/etcd/ca.crt",
    "/etc/kubernetes/pki/etcd/ca.key",
];

/// `certificateKey` goes in the config: `--certificate-key` cannot be mixed with `--config`.
fn init_config(node: &Node, key: &str) -> String {
    format!(
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\ncertificateKey: {key}\nbootstrapTokens:\n- token: {TOKEN}\n\
         localAPIEndpoint:\n  advertiseAddress: {ip}\n  bindPort: 6443\nnodeRegistration:\n  name: {name}\n  \
         criSocket: unix:///run/containerd/containerd.sock\ntimeouts:\n  kubeletHealthCheck: 1m0s\n  controlPlaneComponentHealthCheck: 3m0s\n\
         ---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: {VERSION}\n\
         controlPlaneEndpoint: {ip}:6443\n",
        ip = node.ip(),
        name = node.name()
    )
}

/// 32 random bytes as 64 hex digits (an AES-256 key, like `kubeadm certs certificate-key`).
fn random_key() -> Result<String> {
    let mut b = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut b)?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
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

fn init(bed: &Bed, key: &str) -> Result<()> {
    let n1 = bed.node(0);
    n1.write_file(CONFIG_PATH, init_config(n1, key))?;
    // Stand-in for the kubelet's healthz (socat in the node's network namespace).
    let _healthz = controlplane::start_kubelet_healthz(n1)?;
    let out = controlplane::init_beside_node_registration(bed, n1, NODE_TIMEOUT, || {
        ours(n1, &["init", "--config", CONFIG_PATH, "--upload-certs", "--ignore-preflight-errors=all"])
    })?;
    ensure!(out.contains("Your Kubernetes control-plane has initialized successfully!"), "{out}");
    ensure!(out.contains("[upload-certs] Storing the certificates in Secret \"kubeadm-certs\""), "{out}");
    Ok(())
}

/// Upstream kubeadm on `node`, bounded by [`JOIN_TIMEOUT`]: (exit success, stdout + stderr).
fn upstream(n: &Node, args: &[String]) -> Result<(bool, String)> {
    Ok(controlplane::upstream_kubeadm_bounded(n, args, JOIN_TIMEOUT)?)
}

fn upload_certs_interop(bed: &Bed) -> Result<()> {
    let key = random_key()?;
    init(bed, &key)?;
    let (n1, n2) = (bed.node(0), bed.node(1));

    let join =
        ours(n1, &["token", "create", "--kubeconfig", "/etc/kubernetes/admin.conf", "--print-join-command"])?;
    eprintln!("[kubeadm-rs token create --print-join-command] {join:?}");
    let words: Vec<&str> = join.split_whitespace().collect();
    ensure!(
        words.len() == 7 && words[3] == "--token" && words[5] == "--discovery-token-ca-cert-hash",
        "unexpected join command {join:?}"
    );
    let (endpoint, token, pin) = (words[2], words[4], words[6]);
    ensure!(endpoint == format!("{}:6443", n1.ip()), "endpoint {endpoint}");
    let id = token.split('.').next().unwrap_or_default();
    let jws = format!("jws-kubeconfig-{id}");
    wait_for(&format!("{jws} in cluster-info"), Duration::from_secs(60), || {
        let out = bed
            .kubectl_ok(n1, &["get", "configmap", "-n", "kube-public", "cluster-info", "-o", "json"])
            .map_err(|e| e.to_string())?;
        let ci: serde_json::Value = serde_json::from_str(&out).map_err(|e| format!("{e}: {out}"))?;
        ci["data"].get(&jws).map(|_| ()).ok_or(out)
    })?;

    // download-certs inherits no --apiserver-advertise-address flag, and the node has no default
    // route to pick one from (upstream then refuses 0.0.0.0), so the join settings go in a
    // JoinConfiguration; --config cannot be mixed with --token/--control-plane/--certificate-key.
    let args = |key: &str| -> Result<Vec<String>> {
        let path = format!("/run/kubeadm/join-{}.yaml", &key[..8]);
        n2.write_file(
            &path,
            format!(
                "apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\ndiscovery:\n  bootstrapToken:\n    \
                 apiServerEndpoint: {endpoint}\n    token: {token}\n    caCertHashes:\n    - {pin}\n\
                 nodeRegistration:\n  name: {name}\n  criSocket: unix:///run/containerd/containerd.sock\n\
                 controlPlane:\n  localAPIEndpoint:\n    advertiseAddress: {ip}\n    bindPort: 6443\n  certificateKey: {key}\n",
                name = n2.name(),
                ip = n2.ip()
            ),
        )?;
        Ok(["join", "phase", "control-plane-prepare", "download-certs", "--config", &path, "-v=1"]
            .map(String::from)
            .to_vec())
    };
    let downloading = "[download-certs] Downloading the certificates in Secret \"kubeadm-certs\" in the \"kube-system\" Namespace";

    // --- negative first, while node 2 has no PKI: a wrong (but well-formed) key.
    let wrong = random_key()?;
    ensure!(wrong != key, "random keys collided");
    let (ok, out) = upstream(n2, &args(&wrong)?)?;
    ensure!(!ok, "upstream download-certs accepted a wrong certificate key:\n{out}");
    ensure!(out.contains(downloading), "upstream did not reach the download:\n{out}");
    let decrypt = "error decoding secret data with provided key: cipher: message authentication failed";
    ensure!(out.contains(decrypt), "upstream with a wrong key did not fail with {decrypt:?}:\n{out}");
    for f in SHARED {
        ensure!(!n2.host_path(f).exists(), "{f} written on node 2 despite the wrong key");
    }

    // --- positive: the right key.
    let (ok, out) = upstream(n2, &args(&key)?)?;
    ensure!(ok, "upstream download-certs failed with the right key:\n{out}");
    ensure!(out.contains(downloading), "{out}");
    ensure!(
        out.contains("[download-certs] Saving the certificates to the folder: \"/etc/kubernetes/pki\""),
        "{out}"
    );
    for f in SHARED {
        let mine = std::fs::read(n1.host_path(f)).with_context(|| format!("node 1 {f}"))?;
        let theirs = std::fs::read(n2.host_path(f)).with_context(|| format!("node 2 {f} (not written?)"))?;
        ensure!(!mine.is_empty(), "node 1 {f} is empty");
        ensure!(mine == theirs, "{f} differs between node 1 and what upstream downloaded on node 2");
    }
    Ok(())
}

#[test]
fn upstream_downloads_certs_uploaded_by_kubeadm_rs() -> Result<()> {
    if bed_preflight()? {
        return Ok(());
    }
    let _serial = heavy_lock()?;
    let bed = Bed::builder().name("krs-upcerts").nodes(2).start()?;
    let r = upload_certs_interop(&bed);
    if r.is_err() {
        eprintln!("===== component log tails =====\n{}", bed.log_tails(40));
    }
    r
}
