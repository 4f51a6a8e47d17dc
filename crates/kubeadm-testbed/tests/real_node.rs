//! Real nodes (issue 7's foundation), without the static-pod runner:
//!
//! * `containerd_per_node`: a bed node gets its own containerd (config, root, state, socket
//!   inside the node) with every image of `kubeadm-rs config images list` imported under exactly
//!   those names; crictl lists them, a Pod sandbox runs the pause image, a privileged container
//!   of the kube-proxy image runs iptables from the image's own libraries; then nothing is left.
//! * `kubelet_service_runs_static_pods`: kubeadm-rs's `init phase kubelet-start`, with
//!   `KUBEADM_RS_KUBELET_SERVICE` naming the node's kubelet service, starts the pinned kubelet
//!   (KubeletConfiguration with `cgroupDriver: cgroupfs` and `failCgroupV1: false`); it runs
//!   kubeadm-rs's etcd static Pod in a container from the bed's image (etcd answers `/readyz`);
//!   the service restarts the kubelet (containers untouched), resurrects it after a crash and
//!   stops it; teardown removes containers and cgroups and restores the kubelet's sysctls.
//!
//! Needs root, the pinned components, the bed's images (scripts/build-images.sh, run here when
//! `KUBEADM_RS_IMAGES_DIR` is unset) and the kubeadm-rs binary; fails when they are missing,
//! unless `KUBEADM_RS_SKIP_BED=1`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use kubeadm_testbed::realnode::{self, RealNode, RealNodeOptions, cluster, containerd, images, kubelet};
use kubeadm_testbed::state::{self, BedState};
use kubeadm_testbed::{Bed, Node, bed_preflight, heavy_lock, wait_for};

const VERSION: &str = "v1.37.2";
const CONFIG: &str = "/run/kubeadm/kubeadm.yaml";

/// Checks, for a preflight-passed run, that the images and kubeadm-rs are there (failing, not
/// skipping, when they are not).
fn prerequisites() -> Result<(images::ImageSet, PathBuf)> {
    let set = images::image_set().context("the bed's images (scripts/build-images.sh)")?;
    let ours = realnode::kubeadm_rs_bin()?;
    Ok((set, ours))
}

fn json(text: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text).with_context(|| format!("parsing JSON: {text}"))
}

/// Everything of the bed and of its real nodes is gone.
fn assert_nothing_left(bed_state: &BedState, real: &[(realnode::RealNodeState, String)]) -> Result<()> {
    let mut left = state::leftovers(bed_state);
    for (st, netns) in real {
        left.extend(realnode::leftovers(st, netns));
    }
    ensure!(left.is_empty(), "left behind: {left:#?}");
    Ok(())
}

fn containerd_checks(rn: &RealNode, expected: &BTreeSet<String>) -> Result<()> {
    // crictl lists exactly kubeadm's images.
    let out = rn.crictl_ok(&["images", "-o", "json"])?;
    let tags: BTreeSet<String> = json(&out)?["images"]
        .as_array()
        .context("crictl images: no images array")?
        .iter()
        .flat_map(|i| i["repoTags"].as_array().cloned().unwrap_or_default())
        .filter_map(|t| t.as_str().map(str::to_string))
        .collect();
    ensure!(&tags == expected, "crictl images: {tags:?}, want {expected:?}");

    // The CRI plugin runs with the machine's settings.
    let info = json(&rn.crictl_ok(&["info"])?)?;
    let cfg = &info["config"];
    let pause = expected.iter().find(|n| n.contains("/pause:")).context("no pause image")?;
    ensure!(cfg["sandboxImage"] == pause.as_str(), "sandboxImage {}", cfg["sandboxImage"]);
    ensure!(cfg["restrictOOMScoreAdj"] == true, "restrictOOMScoreAdj {}", cfg["restrictOOMScoreAdj"]);
    ensure!(cfg["containerd"]["runtimes"]["runc"]["options"]["SystemdCgroup"] == false, "SystemdCgroup");
    ensure!(cfg["cni"]["binDir"] == containerd::CNI_BIN_DIR, "CNI binDir {}", cfg["cni"]["binDir"]);

    // A host-network Pod sandbox: pause runs, in the node's cgroup root.
    let node = rn.node();
    let parent = format!("{}/crictl-probe", rn.cgroup_root());
    let pod = serde_json::json!({
        "metadata": {"name": "probe", "namespace": "default", "uid": "probe-uid", "attempt": 0},
        "log_directory": "/var/log/pods/probe",
        "linux": {
            "cgroup_parent": parent,
            "security_context": {"privileged": true, "namespace_options": {"network": 2}}
        }
    });
    node.write_file("/run/kubeadm-rs-node/probe-pod.json", pod.to_string())?;
    let pod_id = rn.crictl_ok(&["runp", "/run/kubeadm-rs-node/probe-pod.json"])?.trim().to_string();
    let sandbox = json(&rn.crictl_ok(&["inspectp", &pod_id])?)?;
    ensure!(sandbox["status"]["state"] == "SANDBOX_READY", "sandbox state {}", sandbox["status"]["state"]);
    let pause_pid = sandbox["info"]["pid"].as_i64().context("sandbox pid")? as i32;
    let cmdline = std::fs::read(format!("/proc/{pause_pid}/cmdline")).context("pause's cmdline")?;
    ensure!(cmdline.starts_with(b"/pause"), "sandbox process runs {:?}", String::from_utf8_lossy(&cmdline));
    let tree = realnode::cgroup::CgroupTree::new(parent.clone())?;
    ensure!(tree.procs().contains(&pause_pid), "pause {pause_pid} is not in cgroup {parent}");

    // A privileged container from the kube-proxy image: iptables (nft backend) runs with the
    // image's own libraries and loader, in the node's network namespace.
    let proxy = expected.iter().find(|n| n.contains("/kube-proxy:")).context("no kube-proxy image")?;
    let ctr = serde_json::json!({
        "metadata": {"name": "iptables"},
        "image": {"image": proxy},
        "command": ["/usr/sbin/iptables", "-t", "filter", "-L", "-n"],
        "log_path": "iptables.log",
        "linux": {"security_context": {"privileged": true}}
    });
    node.write_file("/run/kubeadm-rs-node/probe-ctr.json", ctr.to_string())?;
    let ctr_id = rn
        .crictl_ok(&[
            "create",
            &pod_id,
            "/run/kubeadm-rs-node/probe-ctr.json",
            "/run/kubeadm-rs-node/probe-pod.json",
        ])?
        .trim()
        .to_string();
    rn.crictl_ok(&["start", &ctr_id])?;
    let exit = wait_for("the iptables container to exit", Duration::from_secs(30), || {
        let v = rn
            .crictl_ok(&["inspect", &ctr_id])
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).map_err(|e| e.to_string()))?;
        if v["status"]["state"] == "CONTAINER_EXITED" {
            Ok(v["status"]["exitCode"].as_i64().unwrap_or(-1))
        } else {
            Err(format!("state {}", v["status"]["state"]))
        }
    })?;
    let logs = rn.crictl(&["logs", &ctr_id])?;
    let logs = format!("{}{}", String::from_utf8_lossy(&logs.stdout), String::from_utf8_lossy(&logs.stderr));
    ensure!(
        exit == 0 && logs.contains("Chain INPUT (policy ACCEPT)"),
        "iptables in kube-proxy's image: exit {exit}\n{logs}"
    );

    // Cleaned up through the CRI: the sandbox's processes are gone.
    rn.crictl_ok(&["stopp", &pod_id])?;
    rn.crictl_ok(&["rmp", &pod_id])?;
    let pods = rn.crictl_ok(&["pods", "-q"])?;
    ensure!(pods.trim().is_empty(), "pods left: {pods}");
    wait_for("the probe sandbox's processes to go", Duration::from_secs(10), || {
        let p = tree.procs();
        if p.is_empty() { Ok(()) } else { Err(format!("{p:?}")) }
    })?;
    Ok(())
}

#[test]
fn containerd_per_node() -> Result<()> {
    if bed_preflight()? {
        return Ok(());
    }
    let (set, ours) = prerequisites()?;
    let _serial = heavy_lock()?;
    let started = Instant::now();
    // The names kubeadm-rs itself asks for (offline: the version is given).
    let listed = std::process::Command::new(&ours)
        .args(["config", "images", "list", "--kubernetes-version", VERSION])
        .output()?;
    ensure!(listed.status.success(), "kubeadm-rs config images list: {listed:?}");
    let expected: BTreeSet<String> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    let built: BTreeSet<String> = set.all().iter().map(|i| i.name.clone()).collect();
    ensure!(built == expected, "scripts/build-images.sh built {built:?}; kubeadm-rs lists {expected:?}");

    let bed = Bed::builder().name("real-ctrd").nodes(1).start()?;
    let bed_state = bed.state();
    let rn = RealNode::start(&bed, bed.node(0), RealNodeOptions::default())?;
    let real = vec![(rn.state().clone(), bed.node(0).netns().to_string())];
    eprintln!(
        "containerd up and {} images imported in {:?} (import {:?})",
        rn.images().len(),
        started.elapsed(),
        rn.import_time()
    );
    if let Err(e) = containerd_checks(&rn, &expected) {
        eprintln!("===== log tails =====\n{}", bed.log_tails(30));
        return Err(e);
    }
    let problems = rn.down();
    ensure!(problems.is_empty(), "real node teardown: {problems:?}");
    let problems = bed.down();
    ensure!(problems.is_empty(), "bed teardown: {problems:?}");
    assert_nothing_left(&bed_state, &real)?;
    eprintln!("containerd_per_node took {:?}", started.elapsed());
    Ok(())
}

/// The kubeadm configuration of the kubelet test: the node's address, and the
/// KubeletConfiguration a real bed node needs.
fn kubeadm_config(node: &Node) -> String {
    format!(
        "apiVersion: kubeadm.k8s.io/v1beta4\n\
         kind: InitConfiguration\n\
         localAPIEndpoint:\n  advertiseAddress: {ip}\n  bindPort: 6443\n\
         nodeRegistration:\n  name: {name}\n\
         ---\n\
         apiVersion: kubeadm.k8s.io/v1beta4\n\
         kind: ClusterConfiguration\n\
         kubernetesVersion: {VERSION}\n\
         ---\n{kc}",
        ip = node.ip(),
        name = node.name(),
        kc = kubelet::KUBELET_CONFIGURATION
    )
}

fn etcd_running(rn: &RealNode) -> Result<String, String> {
    let id = rn
        .crictl_ok(&["ps", "--name", "^etcd$", "--state", "running", "-q"])
        .map_err(|e| e.to_string())?
        .trim()
        .to_string();
    if id.is_empty() {
        return Err("no running etcd container".into());
    }
    let out = rn
        .node()
        .exec("/usr/bin/curl", ["-s", "--max-time", "2", "http://127.0.0.1:2381/readyz"], &[])
        .map_err(|e| e.to_string())?;
    let body = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if body == "ok" { Ok(id) } else { Err(format!("etcd /readyz: {body:?}")) }
}

fn kubelet_checks(bed: &Bed, rn: &RealNode, ours: &PathBuf) -> Result<()> {
    let node = rn.node();
    node.write_file(CONFIG, kubeadm_config(node))?;
    let config = format!("--config={CONFIG}");
    // What the kubelet needs from kubeadm-rs: a CA, kubelet.conf, and an etcd static Pod to run.
    for phase in [
        &["certs", "ca"][..],
        &["certs", "etcd-ca"],
        &["certs", "etcd-server"],
        &["certs", "etcd-peer"],
        &["certs", "etcd-healthcheck-client"],
        &["kubeconfig", "kubelet"],
        &["etcd", "local"],
    ] {
        let mut args = vec!["init", "phase"];
        args.extend_from_slice(phase);
        args.push(&config);
        node.exec_ok(ours, &args, &[])?;
    }
    // kubelet-start writes config.yaml and kubeadm-flags.env, then runs the service program.
    let t = Instant::now();
    let out = node.exec_ok(ours, ["init", "phase", "kubelet-start", &config], &rn.kubeadm_env())?;
    ensure!(!out.contains("No supported init system detected"), "kubeadm-rs did not use the service:\n{out}");
    let kc = node.read_file("/var/lib/kubelet/config.yaml")?;
    ensure!(
        kc.contains("cgroupDriver: cgroupfs") && kc.contains("failCgroupV1: false"),
        "config.yaml:\n{kc}"
    );
    rn.wait_kubelet_healthy(Duration::from_secs(60))?;
    eprintln!("kubelet healthy {:?} after kubelet-start", t.elapsed());

    let sup = rn.kubelet_supervisor().context("no kubelet supervisor")?;
    let k1 = rn.kubelet_process().context("no kubelet process")?;
    let cmdline =
        String::from_utf8_lossy(&std::fs::read(format!("/proc/{}/cmdline", k1.pid))?).replace('\0', " ");
    for want in [
        "--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf",
        "--kubeconfig=/etc/kubernetes/kubelet.conf",
        "--config=/var/lib/kubelet/config.yaml",
        &format!("--node-ip={}", node.ip()),
        &format!("--cgroup-root={}", rn.cgroup_root()),
    ] {
        ensure!(cmdline.contains(want), "kubelet command line lacks {want}: {cmdline}");
    }
    let rt = rn.runtime_cgroup().procs();
    ensure!(
        rt.contains(&sup.pid) && rt.contains(&k1.pid),
        "supervisor/kubelet not in the runtime cgroup: {rt:?}"
    );

    // The static Pod runs in a container from the bed's etcd image, in the kubelet's cgroup root.
    let etcd = wait_for("etcd's static Pod", Duration::from_secs(60), || etcd_running(rn))?;
    eprintln!("etcd static Pod ready {:?} after kubelet-start", t.elapsed());
    let info = json(&rn.crictl_ok(&["inspect", &etcd])?)?;
    let etcd_pid = info["info"]["pid"].as_i64().context("etcd pid")? as i32;
    let cg = std::fs::read_to_string(format!("/proc/{etcd_pid}/cgroup"))?;
    ensure!(cg.contains(&format!("{}/kubepods", rn.cgroup_root())), "etcd's cgroups: {cg}");
    ensure!(realnode::current_sysctls().iter().any(|(k, v)| k == "vm/overcommit_memory" && v == "1"));

    // restart: a new kubelet, the container untouched.
    rn.kubelet_service("restart")?;
    let k2 = rn.kubelet_process().context("no kubelet after restart")?;
    ensure!(k2 != k1, "restart kept kubelet {k1:?}");
    ensure!(!k1.is_alive(), "the old kubelet {k1:?} still runs");
    rn.wait_kubelet_healthy(Duration::from_secs(60))?;
    ensure!(etcd_running(rn).map_err(anyhow::Error::msg)? == etcd, "the kubelet restart restarted etcd");

    // A crashed kubelet is started again by the supervisor.
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(k2.pid), nix::sys::signal::Signal::SIGKILL)?;
    let k3 = wait_for("the supervisor to restart the kubelet", Duration::from_secs(20), || {
        rn.kubelet_process().filter(|k| *k != k2).ok_or_else(|| "not yet".to_string())
    })?;
    rn.wait_kubelet_healthy(Duration::from_secs(60))?;

    // stop: supervisor and kubelet gone, healthz refused, status says inactive.
    rn.kubelet_service("stop")?;
    ensure!(!k3.is_alive() && !sup.is_alive(), "kubelet {k3:?} / supervisor {sup:?} survived stop");
    ensure!(rn.kubelet_supervisor().is_none(), "a supervisor still runs");
    ensure!(kubelet::healthz(node).is_err(), "healthz answers after stop");
    let status = node.exec(kubelet::SERVICE_PATH, ["status"], &[])?;
    ensure!(status.status.code() == Some(3), "status after stop: {status:?}");
    let log = std::fs::read_to_string(bed.log_dir().join(node.name()).join("kubelet.log"))?;
    ensure!(log.matches("supervisor").count() >= 4, "kubelet.log lacks the supervisor's lines");
    Ok(())
}

#[test]
fn kubelet_service_runs_static_pods() -> Result<()> {
    if bed_preflight()? {
        return Ok(());
    }
    let (_set, ours) = prerequisites()?;
    let _serial = heavy_lock()?;
    let started = Instant::now();
    let sysctls_before = realnode::current_sysctls();
    let bed = Bed::builder().name("real-kubelet").nodes(1).start()?;
    let bed_state = bed.state();
    let rn = RealNode::start(&bed, bed.node(0), RealNodeOptions::default().images(&["etcd"]))?;
    let real = vec![(rn.state().clone(), bed.node(0).netns().to_string())];
    if let Err(e) = kubelet_checks(&bed, &rn, &ours) {
        eprintln!("===== log tails =====\n{}", bed.log_tails(40));
        return Err(e);
    }
    let problems = rn.down();
    ensure!(problems.is_empty(), "real node teardown: {problems:?}");
    let problems = bed.down();
    ensure!(problems.is_empty(), "bed teardown: {problems:?}");
    assert_nothing_left(&bed_state, &real)?;
    let after = realnode::current_sysctls();
    if after != sysctls_before {
        bail!("kubelet sysctls not restored: {after:?}, were {sysctls_before:?}");
    }
    eprintln!("kubelet_service_runs_static_pods took {:?}", started.elapsed());
    Ok(())
}

/// A real node whose test process died (recorded owner gone) is cleaned by the next start:
/// what runs in its cgroups is killed, the cgroups and the state file are removed.
#[test]
fn stale_real_node_is_cleaned() -> Result<()> {
    if bed_preflight()? {
        return Ok(());
    }
    // Serialized with the other real-node tests: the sysctls it records must be the host's own.
    let _serial = heavy_lock()?;
    let name = format!("/kbr-stale-{}", std::process::id());
    let tree = realnode::cgroup::CgroupTree::new(name.clone())?;
    tree.create()?;
    let mut sleeper = std::process::Command::new("/bin/sleep").arg("300").spawn()?;
    let pid = sleeper.id() as i32;
    for d in tree.dirs()? {
        std::fs::write(d.join("cgroup.procs"), pid.to_string())?;
    }
    ensure!(tree.procs() == vec![pid], "sleep is not alone in {name}: {:?}", tree.procs());
    let st = realnode::RealNodeState {
        bed: "stale-test".into(),
        node: "node1".into(),
        // PID 1 never has this start time: the owner is "gone".
        owner: kubeadm_testbed::ProcRef { pid: 1, start: u64::MAX },
        cgroups: vec![name.clone()],
        sysctls: realnode::current_sysctls(),
    };
    std::fs::create_dir_all(realnode::state_dir())?;
    let file = realnode::state_dir().join(format!("stale-test-{}.json", std::process::id()));
    std::fs::write(&file, serde_json::to_string(&st)?)?;
    let cleaned = realnode::clean_stale()?;
    let status = sleeper.wait()?;
    ensure!(cleaned.contains(&"stale-test/node1".to_string()), "cleaned {cleaned:?}");
    ensure!(!status.success(), "sleep was not killed: {status:?}");
    ensure!(!tree.exists(), "cgroup {name} remains");
    ensure!(!file.exists(), "state file remains");
    Ok(())
}

/// Stage 4 of issue 7's foundation: the full `kubeadm-rs init` on a real node, no runner
/// (configuration and probes shared with real_join.rs: `realnode::cluster`).
fn init_checks(bed: &Bed, rn: &RealNode, ours: &Path) -> Result<()> {
    let node = rn.node();
    let t = Instant::now();
    // SystemVerification must be skipped explicitly on cgroup v1 (its own message says so),
    // even with failCgroupV1: false; every other check runs.
    let run = cluster::init(rn, ours, VERSION, "")?;
    eprintln!("kubeadm-rs init: {} in {:?}", run.output.status, run.took);

    // The control plane runs as containers, and the API server shows their mirror Pods.
    let ps = rn.crictl_ok(&["ps", "--state", "running", "-o", "json"])?;
    let running: BTreeSet<String> = json(&ps)?["containers"]
        .as_array()
        .context("crictl ps")?
        .iter()
        .filter_map(|c| c["metadata"]["name"].as_str().map(str::to_string))
        .collect();
    for c in ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"] {
        ensure!(running.contains(c), "{c} is not a running container: {running:?}");
    }
    wait_for("the Node to be Ready", Duration::from_secs(120), || {
        cluster::node_ready(bed, node, node.name())
    })?;
    eprintln!("node Ready {:?} after init started", t.elapsed());
    // Mirror Pods of the static Pods, then the addons: kube-proxy (host network, iptables in
    // its image) and CoreDNS (Pod network: the node's bridge CNI), all Running and Ready.
    let mut wanted: Vec<String> = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"]
        .iter()
        .map(|p| format!("{p}-{}", node.name()))
        .collect();
    wanted.extend(["kube-proxy-".to_string(), "coredns-".to_string()]);
    let r = wait_for(
        "the control plane's mirror Pods and the addons to be Ready",
        Duration::from_secs(120),
        || {
            let ready = cluster::ready_kube_system_pods(bed, node)?;
            let missing: Vec<&String> =
                wanted.iter().filter(|w| !ready.iter().any(|r| r.name.starts_with(w.as_str()))).collect();
            if missing.is_empty() { Ok(()) } else { Err(format!("not Ready: {missing:?}")) }
        },
    );
    eprintln!("{}", bed.kubectl_ok(node, &["get", "pods", "-A", "-o", "wide"])?);
    r?;
    eprintln!("control plane and addons Ready {:?} after init started", t.elapsed());
    Ok(())
}

#[test]
fn init_on_a_real_node() -> Result<()> {
    if bed_preflight()? {
        return Ok(());
    }
    let (_set, ours) = prerequisites()?;
    let _serial = heavy_lock()?;
    let started = Instant::now();
    let bed = Bed::builder().name("real-init").nodes(1).start()?;
    let bed_state = bed.state();
    let rn =
        RealNode::start(&bed, bed.node(0), RealNodeOptions::default().pod_cidr(cluster::FIRST_POD_CIDR))?;
    let real = vec![(rn.state().clone(), bed.node(0).netns().to_string())];
    if let Err(e) = init_checks(&bed, &rn, &ours) {
        eprintln!("===== log tails =====\n{}", bed.log_tails(40));
        return Err(e);
    }
    let problems = rn.down();
    ensure!(problems.is_empty(), "real node teardown: {problems:?}");
    let problems = bed.down();
    ensure!(problems.is_empty(), "bed teardown: {problems:?}");
    assert_nothing_left(&bed_state, &real)?;
    eprintln!("init_on_a_real_node took {:?}", started.elapsed());
    Ok(())
}
