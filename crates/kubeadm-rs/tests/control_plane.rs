//! End to end with kubeadm-rs's files: on a bed node, kubeadm-rs writes the certificates,
//! kubeconfigs and static Pod manifests (`init` with every later phase skipped); the bed's runner
//! starts etcd and the control plane from the pinned binaries; the pinned kubectl, with the
//! admin.conf kubeadm-rs wrote, gets `/readyz` = ok, the pinned server version and the system
//! namespaces, from the node itself and over the bridge from a second node.
//!
//! Needs root and the pinned components (`KUBEADM_RS_BIN_DIR`, or scripts/build-components.sh);
//! fails when they are missing, unless `KUBEADM_RS_SKIP_BED=1`.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use kubeadm_testbed::controlplane::{
    CONFIG_PATH, STATIC_PODS, bind_cluster_admins, init_config, wait_readyz, wait_system_namespaces,
};
use kubeadm_testbed::{Bed, bed_preflight, heavy_lock};

const VERSION: &str = "v1.37.2";
const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// Every `init` phase after the ones that write files: they talk to a kubelet or the API server.
const LATER_PHASES: &str = "kubelet-start,wait-control-plane,upload-config,upload-certs,\
mark-control-plane,bootstrap-token,kubelet-finalize,addon,show-join-command";

fn kubeadm_rs_control_plane(bed: &Bed) -> Result<()> {
    let (n1, n2) = (bed.node(0), bed.node(1));
    n1.write_file(CONFIG_PATH, init_config(n1, VERSION))?;
    let bin = Path::new(env!("CARGO_BIN_EXE_kubeadm-rs"));
    // Preflight is skipped too: this bed node has no kubelet or container runtime.
    let skip = format!("preflight,{LATER_PHASES}");
    let out = n1
        .exec_ok(bin, ["init", "--config", CONFIG_PATH, "--skip-phases", &skip], &[])
        .context("kubeadm-rs init (offline phases)")?;
    eprintln!("[kubeadm-rs init]\n{out}");
    for line in [
        "[certs] Generating \"ca\" certificate and key",
        "[kubeconfig] Writing \"admin.conf\" kubeconfig file",
        "[control-plane] Creating static Pod manifest for \"kube-apiserver\"",
    ] {
        ensure!(out.contains(line), "kubeadm-rs init did not print {line:?}:\n{out}");
    }
    for m in STATIC_PODS {
        let p = n1.host_path(format!("/etc/kubernetes/manifests/{m}.yaml"));
        ensure!(p.is_file(), "kubeadm-rs wrote no {m} manifest");
    }

    bed.start_runner(n1)?;
    wait_readyz(bed, n1, READY_TIMEOUT)?;
    // `init`'s API phases (a later issue) bind admin.conf's group to cluster-admin; until then the
    // test does it with super-admin.conf, which kubeadm-rs also wrote.
    bind_cluster_admins(bed, n1).context("binding kubeadm:cluster-admins")?;

    let version = bed.kubectl_ok(n1, &["version", "-o", "json"])?;
    let v: serde_json::Value = serde_json::from_str(&version).context("kubectl version -o json")?;
    ensure!(v["serverVersion"]["gitVersion"] == VERSION, "server version: {version}");
    wait_system_namespaces(bed, n1)?;
    let who = bed.kubectl_ok(n1, &["auth", "whoami", "-o", "json"])?;
    ensure!(who.contains("kubernetes-admin") && who.contains("kubeadm:cluster-admins"), "whoami: {who}");

    // Node 2 reaches node 1's API server over the bridge with the admin.conf kubeadm-rs wrote.
    let admin = n1.read_file("/etc/kubernetes/admin.conf")?;
    ensure!(admin.contains(&format!("https://{}:6443", n1.ip())), "admin.conf server is not node1's IP");
    n2.write_file("/etc/kubernetes/admin.conf", admin)?;
    let out = bed.kubectl_ok(n2, &["get", "--raw", "/readyz"])?;
    ensure!(out.trim() == "ok", "readyz from node2: {out}");
    Ok(())
}

#[test]
fn kubeadm_rs_files_run_a_control_plane() -> Result<()> {
    if bed_preflight()? {
        return Ok(());
    }
    let _serial = heavy_lock()?;
    let bed = Bed::builder().name("krs-cp").nodes(2).start()?;
    let r = kubeadm_rs_control_plane(&bed);
    if r.is_err() {
        eprintln!("===== component log tails =====\n{}", bed.log_tails(40));
    }
    r
}
