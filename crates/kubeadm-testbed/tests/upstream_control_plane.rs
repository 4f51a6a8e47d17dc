//! End to end with upstream only (no kubeadm-rs): upstream kubeadm v1.37.2 writes certificates,
//! kubeconfigs and static Pod manifests on node 1; the runner starts etcd and the control plane
//! from the pinned binaries; the pinned kubectl checks `/readyz`, the server version and the
//! system namespaces, from node 1 and over the bridge from node 2; after the bed is dropped,
//! nothing of it remains.
//!
//! Needs root and the pinned components (`KUBEADM_RS_BIN_DIR`, or scripts/build-components.sh);
//! fails when they are missing, unless `KUBEADM_RS_SKIP_BED=1`.

use std::time::Duration;

use anyhow::{Context, Result, anyhow, ensure};
use kubeadm_testbed::controlplane::{
    CONFIG_PATH, STATIC_PODS, bind_cluster_admins, init_config, upstream_offline_phases, wait_readyz,
    wait_system_namespaces,
};
use kubeadm_testbed::state::{self, BedState};
use kubeadm_testbed::{Bed, bed_preflight, heavy_lock};

const VERSION: &str = "v1.37.2";
const READY_TIMEOUT: Duration = Duration::from_secs(120);

fn upstream_control_plane(bed: &Bed) -> Result<()> {
    let (n1, n2) = (bed.node(0), bed.node(1));
    n1.write_file(CONFIG_PATH, init_config(n1, VERSION))?;
    upstream_offline_phases(n1, CONFIG_PATH).context("upstream kubeadm init phases")?;
    for m in STATIC_PODS {
        let p = n1.host_path(format!("/etc/kubernetes/manifests/{m}.yaml"));
        ensure!(p.is_file(), "upstream kubeadm wrote no {m} manifest");
    }
    ensure!(!n2.host_path("/etc/kubernetes/admin.conf").exists(), "node2 sees node1's files");

    bed.start_runner(n1)?;

    // (a) readyz, version and system namespaces from node 1.
    wait_readyz(bed, n1, READY_TIMEOUT)?;
    // What `kubeadm init` does after the control plane is up (not a phase of its own): bind
    // admin.conf's group kubeadm:cluster-admins to cluster-admin, with super-admin.conf.
    bind_cluster_admins(bed, n1).context("creating kubeadm:cluster-admins")?;
    let version = bed.kubectl_ok(n1, &["version", "-o", "json"])?;
    let v: serde_json::Value = serde_json::from_str(&version).context("kubectl version -o json")?;
    let server =
        v["serverVersion"]["gitVersion"].as_str().ok_or_else(|| anyhow!("no serverVersion: {version}"))?;
    ensure!(server == VERSION, "server version {server}, want {VERSION}");
    let client = v["clientVersion"]["gitVersion"].as_str().unwrap_or_default();
    ensure!(client == VERSION, "kubectl version {client}, want {VERSION}");
    wait_system_namespaces(bed, n1)?;

    // (b) node 2 reaches node 1's API server over the bridge with node 1's admin.conf.
    let admin = n1.read_file("/etc/kubernetes/admin.conf")?;
    ensure!(admin.contains(&format!("https://{}:6443", n1.ip())), "admin.conf server is not node1's IP");
    n2.write_file("/etc/kubernetes/admin.conf", admin)?;
    let out = bed.kubectl_ok(n2, &["get", "--raw", "/readyz"])?;
    ensure!(out.trim() == "ok", "readyz from node2: {out}");
    let out = bed.kubectl_ok(n2, &["get", "ns", "kube-system", "-o", "name"])?;
    ensure!(out.trim() == "namespace/kube-system", "{out}");
    Ok(())
}

#[test]
fn upstream_control_plane_on_bed() -> Result<()> {
    if bed_preflight()? {
        return Ok(());
    }
    let _serial = heavy_lock()?;
    let bed = Bed::builder().name("upstream-cp").nodes(2).start()?;
    let st: BedState = bed.state();
    let started = std::time::Instant::now();
    let r = upstream_control_plane(&bed);
    eprintln!("control plane checks took {:?}", started.elapsed());
    if let Err(e) = r {
        eprintln!("===== component log tails =====\n{}", bed.log_tails(40));
        return Err(e);
    }
    // Processes the runner started (etcd + 3 control-plane components) are recorded.
    let running = bed.state();
    ensure!(running.procs.len() >= 4, "runner processes: {:?}", running.procs);

    // (c) teardown leaves nothing behind.
    drop(bed);
    let mut all = running.clone();
    all.procs.extend(st.procs);
    let left = state::leftovers(&all);
    ensure!(left.is_empty(), "left behind: {left:#?}");
    for n in &all.nodes {
        let netns = std::process::Command::new("ip").args(["netns", "list"]).output()?;
        ensure!(!String::from_utf8_lossy(&netns.stdout).contains(&n.netns), "netns {} remains", n.netns);
    }
    let links = std::process::Command::new("ip").args(["-o", "link", "show"]).output()?;
    let links = String::from_utf8_lossy(&links.stdout);
    ensure!(!links.contains(&all.bridge), "bridge {} remains", all.bridge);
    Ok(())
}
