//! Real nodes (issue 7): a bed node with its own containerd, the bed's images imported and a
//! kubelet service kubeadm-rs can drive through `KUBEADM_RS_KUBELET_SERVICE`, instead of the
//! static-pod runner.
//!
//! ```no_run
//! use kubeadm_testbed::{Bed, realnode::{RealNode, RealNodeOptions}};
//! let bed = Bed::builder().name("my-real").nodes(1).start()?;
//! let rn = RealNode::start(&bed, bed.node(0), RealNodeOptions::default())?; // containerd + images
//! rn.crictl_ok(&["images"])?;
//! // kubeadm-rs with rn.kubeadm_env() runs the kubelet through the node's service program.
//! drop(rn); // kubelet, containerd, containers and cgroups gone; kubelet sysctls restored
//! # Ok::<(), kubeadm_testbed::Error>(())
//! ```
//!
//! A real node owns, besides what the bed made: two cgroup trees (`/<netns>` = the kubelet's
//! `cgroupRoot`, `/<netns>.runtime` = containerd, shims, kubelet supervisor and kubelet), the
//! files under [`NODE_DIR`] and `/etc/kubernetes/manifests` in the node, and the host-wide
//! sysctls the kubelet sets. They are recorded in `/run/kubeadm-rs-bed/realnode/<netns>.json`
//! before they are made, so a real node of a killed test is cleaned by the next
//! [`RealNode::start`] (or [`clean_stale`]). See docs/testbed.md ("Real nodes").

pub mod cgroup;
pub mod cluster;
pub mod containerd;
pub mod images;
pub mod kubelet;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::bed::Bed;
use crate::components;
use crate::error::{Error, Result};
use crate::node::{Node, NodeProcess};
use crate::procs::{self, ProcRef};
use crate::state;
use cgroup::CgroupTree;
use images::ImageSet;

/// The node-private directory (on the node's `/run` tmpfs) with the runtime's files.
pub const NODE_DIR: &str = "/run/kubeadm-rs-node";

/// The directory of the node's PATH where the bed links `kubelet` and `crictl` (a node-private
/// tmpfs over the host's, which is empty on these machines).
pub const LOCAL_SBIN: &str = "/usr/local/sbin";

/// Host-wide sysctls the kubelet sets at start (`setupKernelTunables`); restored when the last
/// real node goes away.
pub const KUBELET_SYSCTLS: &[&str] = &[
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
];

/// How a real node is set up.
#[derive(Debug, Clone, Default)]
pub struct RealNodeOptions {
    /// Images to import (full or short names, e.g. `pause`, `etcd`); `None`: all of them.
    pub images: Option<Vec<String>>,
    /// More kubelet flags for `KUBELET_EXTRA_ARGS`, after the bed's `--node-ip` and
    /// `--cgroup-root`.
    pub kubelet_extra_args: Vec<String>,
    /// Writes a bridge CNI network for this Pod CIDR into the node's `/etc/cni/net.d` (for a
    /// node whose CIDR is known only once it has joined: [`RealNode::wait_pod_network`]).
    pub pod_cidr: Option<String>,
}

impl RealNodeOptions {
    /// Only these images (the pause image is always added: containerd's sandbox image).
    pub fn images(mut self, names: &[&str]) -> Self {
        self.images = Some(names.iter().map(|s| s.to_string()).collect());
        self
    }

    /// A bridge CNI network for `cidr`.
    pub fn pod_cidr(mut self, cidr: impl Into<String>) -> Self {
        self.pod_cidr = Some(cidr.into());
        self
    }
}

/// What a real node made, recorded before it is made.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RealNodeState {
    /// The bed.
    pub bed: String,
    /// The node.
    pub node: String,
    /// The process that owns it (the test); when it is dead, the real node is stale.
    pub owner: ProcRef,
    /// Its cgroup trees (paths such as `/kbr-1a2b3-n1`).
    pub cgroups: Vec<String>,
    /// [`KUBELET_SYSCTLS`] as they were before any real node's kubelet ran.
    pub sysctls: Vec<(String, String)>,
}

/// Where real-node state files live.
pub fn state_dir() -> PathBuf {
    Path::new(state::STATE_DIR).join("realnode")
}

fn list_states() -> Vec<(PathBuf, RealNodeState)> {
    let Ok(rd) = std::fs::read_dir(state_dir()) else { return Vec::new() };
    let mut out = Vec::new();
    for e in rd.flatten() {
        let p = e.path();
        if p.extension().and_then(|x| x.to_str()) != Some("json") {
            continue;
        }
        match std::fs::read_to_string(&p)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str::<RealNodeState>(&t).map_err(|e| e.to_string()))
        {
            Ok(s) => out.push((p, s)),
            Err(e) => eprintln!("kubeadm-testbed: skipping {}: {e}", p.display()),
        }
    }
    out
}

fn read_sysctls() -> Vec<(String, String)> {
    KUBELET_SYSCTLS
        .iter()
        .filter_map(|k| {
            std::fs::read_to_string(format!("/proc/sys/{k}"))
                .ok()
                .map(|v| (k.to_string(), v.trim().to_string()))
        })
        .collect()
}

fn restore_sysctls(values: &[(String, String)]) -> Vec<String> {
    let mut problems = Vec::new();
    for (k, v) in values {
        let p = format!("/proc/sys/{k}");
        if std::fs::read_to_string(&p).map(|c| c.trim() == v).unwrap_or(false) {
            continue;
        }
        if let Err(e) = std::fs::write(&p, v) {
            problems.push(format!("restoring {p} to {v}: {e}"));
        }
    }
    problems
}

/// Kills and removes a real node's cgroup trees; returns the problems.
fn clean_cgroups(paths: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    let trees: Vec<CgroupTree> = paths.iter().filter_map(|p| CgroupTree::new(p.clone()).ok()).collect();
    for t in &trees {
        let left = t.kill_all(Duration::from_secs(10));
        if !left.is_empty() {
            problems.push(format!("processes {left:?} survived in cgroup {}", t.path()));
        }
    }
    for t in &trees {
        problems.extend(t.remove(Duration::from_secs(5)));
    }
    problems
}

/// Cleans real nodes whose owner process is gone (kills what is left in their cgroups, removes
/// the cgroups, restores the kubelet sysctls when no live real node remains). Returns the nodes
/// cleaned (`<bed>/<node>`).
pub fn clean_stale() -> Result<Vec<String>> {
    let _lock = state::lock_file("realnode.lock")?;
    Ok(clean_stale_locked())
}

fn clean_stale_locked() -> Vec<String> {
    let mut cleaned = Vec::new();
    let mut snapshot = None;
    for (path, st) in list_states() {
        if st.owner.is_alive() {
            continue;
        }
        eprintln!(
            "kubeadm-testbed: cleaning stale real node {}/{} (owner pid {} gone)",
            st.bed, st.node, st.owner.pid
        );
        for p in clean_cgroups(&st.cgroups) {
            eprintln!("kubeadm-testbed: {p}");
        }
        snapshot.get_or_insert(st.sysctls.clone());
        let _ = std::fs::remove_file(&path);
        cleaned.push(format!("{}/{}", st.bed, st.node));
    }
    if let Some(values) = snapshot
        && list_states().is_empty()
    {
        for p in restore_sysctls(&values) {
            eprintln!("kubeadm-testbed: {p}");
        }
    }
    cleaned
}

/// A bed node turned into a real node. Dropping it (or [`RealNode::down`]) stops the kubelet
/// and containerd, kills every container, removes its cgroups and, when it is the last real
/// node, restores the kubelet's sysctls.
pub struct RealNode {
    node: Node,
    log_dir: PathBuf,
    pods: CgroupTree,
    runtime: CgroupTree,
    containerd: Option<NodeProcess>,
    kubelet_bin: PathBuf,
    state_path: PathBuf,
    state: RealNodeState,
    images: Vec<images::Image>,
    import_time: Duration,
    torn_down: bool,
}

impl std::fmt::Debug for RealNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RealNode").field("node", &self.node).field("cgroups", &self.state.cgroups).finish()
    }
}

impl RealNode {
    /// Makes `node` (of `bed`) a real node: cgroups, containerd with its configuration, the
    /// images imported, the kubelet service installed (not started), `/etc/kubernetes/manifests`
    /// created and `kubelet` + `crictl` in PATH (as the packages do), `net.ipv4.ip_forward=1` in
    /// the node's network namespace, a CNI network if asked.
    pub fn start(bed: &Bed, node: &Node, opts: RealNodeOptions) -> Result<RealNode> {
        node.check()?;
        let set = images::image_set()?;
        let kubelet_bin = components::bin("kubelet")?;
        let pods = CgroupTree::new(format!("/{}", node.netns()))?;
        let runtime = CgroupTree::new(format!("/{}.runtime", node.netns()))?;
        let state_path = state_dir().join(format!("{}.json", node.netns()));
        let st = {
            let _lock = state::lock_file("realnode.lock")?;
            clean_stale_locked();
            // The sysctls as they were before any real node: from a live real node's record if
            // there is one (its kubelet may have changed them already).
            let sysctls =
                list_states().into_iter().next().map(|(_, s)| s.sysctls).unwrap_or_else(read_sysctls);
            let st = RealNodeState {
                bed: bed.name(),
                node: node.name().to_string(),
                owner: ProcRef::current()
                    .ok_or_else(|| Error::Invalid("cannot read /proc/self/stat".into()))?,
                cgroups: vec![pods.path().to_string(), runtime.path().to_string()],
                sysctls,
            };
            std::fs::create_dir_all(state_dir())
                .map_err(|e| Error::io(format!("creating {}", state_dir().display()), e))?;
            let text = serde_json::to_string_pretty(&st)
                .map_err(|e| Error::State { path: state_path.clone(), message: e.to_string() })?;
            std::fs::write(&state_path, text)
                .map_err(|e| Error::io(format!("writing {}", state_path.display()), e))?;
            st
        };
        let mut rn = RealNode {
            node: node.clone(),
            log_dir: bed.log_dir().join(node.name()),
            pods,
            runtime,
            containerd: None,
            kubelet_bin,
            state_path,
            state: st,
            images: Vec::new(),
            import_time: Duration::ZERO,
            torn_down: false,
        };
        // On error, `rn` is dropped here and tears down what was made.
        rn.setup(&set, &opts)?;
        Ok(rn)
    }

    fn setup(&mut self, set: &ImageSet, opts: &RealNodeOptions) -> Result<()> {
        self.pods.create()?;
        self.runtime.create()?;
        let node = self.node.clone();
        for d in [NODE_DIR, "/etc/kubernetes/manifests", containerd::CNI_CONF_DIR] {
            std::fs::create_dir_all(node.host_path(d))
                .map_err(|e| Error::io(format!("creating {d} in {}", node.name()), e))?;
        }
        if let Some(cidr) = &opts.pod_cidr {
            self.set_pod_network(cidr)?;
        }
        // What a kubelet package and a node's admin provide: `kubelet` and `crictl` in PATH (a
        // node-private tmpfs over the host's empty /usr/local/sbin, first in PATH) and IPv4
        // forwarding in the node's network namespace (kubeadm's preflight checks both).
        node.exec_ok("/bin/mount", ["-t", "tmpfs", "-o", "mode=0755", "kbr-realnode", LOCAL_SBIN], &[])?;
        for b in ["kubelet", "crictl"] {
            let target = components::bin(b)?;
            std::os::unix::fs::symlink(&target, node.host_path(format!("{LOCAL_SBIN}/{b}")))
                .map_err(|e| Error::io(format!("linking {b} into {LOCAL_SBIN} of {}", node.name()), e))?;
        }
        node.exec_ok("/usr/sbin/sysctl", ["-q", "-w", "net.ipv4.ip_forward=1"], &[])?;

        let pause = set.pause()?.clone();
        self.containerd = Some(containerd::start(&node, &self.log_dir, &self.runtime, &pause.name)?);

        let mut wanted = vec![pause];
        match &opts.images {
            None => wanted = set.all().to_vec(),
            Some(names) => {
                for n in names {
                    let img = set.get(n)?.clone();
                    if !wanted.contains(&img) {
                        wanted.push(img);
                    }
                }
            }
        }
        let t = Instant::now();
        containerd::import(&node, &wanted)?;
        self.import_time = t.elapsed();
        self.images = wanted;

        let mut extra =
            vec![format!("--node-ip={}", node.ip()), format!("--cgroup-root={}", self.pods.path())];
        extra.extend(opts.kubelet_extra_args.iter().cloned());
        kubelet::install(
            &node,
            &kubelet::Settings {
                kubelet: self.kubelet_bin.clone(),
                log: self.log_dir.join("kubelet.log"),
                extra_args: extra,
                cgroups: self.runtime.join_dirs()?,
                restart_sec: 2,
            },
        )
    }

    /// The bed node.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// The kubelet's cgroup root (`--cgroup-root`), also a good `cgroup_parent` prefix for
    /// sandboxes made by hand.
    pub fn cgroup_root(&self) -> &str {
        self.pods.path()
    }

    /// The cgroup of containerd, its shims, the kubelet supervisor and the kubelet.
    pub fn runtime_cgroup(&self) -> &CgroupTree {
        &self.runtime
    }

    /// Its recorded state.
    pub fn state(&self) -> &RealNodeState {
        &self.state
    }

    /// The images imported.
    pub fn images(&self) -> &[images::Image] {
        &self.images
    }

    /// How long the image import took.
    pub fn import_time(&self) -> Duration {
        self.import_time
    }

    /// The environment kubeadm-rs needs in this node to drive the kubelet:
    /// `KUBEADM_RS_KUBELET_SERVICE` = [`kubelet::SERVICE_PATH`].
    pub fn kubeadm_env(&self) -> [(&'static str, &'static str); 1] {
        [(kubelet::SERVICE_ENV, kubelet::SERVICE_PATH)]
    }

    /// Runs the pinned crictl in the node against its containerd; returns its output whatever
    /// the exit status.
    pub fn crictl(&self, args: &[&str]) -> Result<std::process::Output> {
        let mut all = vec!["--config", containerd::CRICTL_CONFIG];
        all.extend_from_slice(args);
        self.node.exec_timeout(components::bin("crictl")?, all, &[], Duration::from_secs(60))
    }

    /// [`RealNode::crictl`], failing on a non-zero exit; returns stdout.
    pub fn crictl_ok(&self, args: &[&str]) -> Result<String> {
        let what = format!("[{}] crictl {}", self.node.name(), args.join(" "));
        procs::check_output(&what, self.crictl(args)?)
    }

    /// Runs the kubelet service program (`restart`, `stop`, `status`) as kubeadm-rs would.
    pub fn kubelet_service(&self, action: &str) -> Result<String> {
        kubelet::service(&self.node, action)
    }

    /// The kubelet supervisor, when running.
    pub fn kubelet_supervisor(&self) -> Option<ProcRef> {
        kubelet::supervisor(&self.node)
    }

    /// The kubelet process, when running.
    pub fn kubelet_process(&self) -> Option<ProcRef> {
        let bin = std::fs::canonicalize(&self.kubelet_bin).unwrap_or_else(|_| self.kubelet_bin.clone());
        kubelet::kubelet_process(&self.node, &bin)
    }

    /// Waits until the kubelet answers `/healthz` with 200.
    pub fn wait_kubelet_healthy(&self, timeout: Duration) -> Result<()> {
        crate::wait_for(&format!("the kubelet of {} to be healthy", self.node.name()), timeout, || {
            kubelet::healthz(&self.node)
        })
    }

    /// Tears the real node down now; returns the problems met (also done on drop).
    pub fn down(mut self) -> Vec<String> {
        self.teardown()
    }

    fn teardown(&mut self) -> Vec<String> {
        if self.torn_down {
            return Vec::new();
        }
        self.torn_down = true;
        let mut problems = Vec::new();
        // 1. The kubelet first, so nothing restarts containers while they are killed.
        if self.node.check().is_ok()
            && self.node.host_path(kubelet::SERVICE_PATH).exists()
            && let Err(e) = kubelet::service(&self.node, "stop")
        {
            problems.push(format!("stopping the kubelet: {e}"));
        }
        // 2. containerd (SIGTERM, SIGKILL after 2 s); its shims keep running until step 3.
        drop(self.containerd.take());
        // 3. Everything left in the node's cgroups: shims, containers, a stray kubelet.
        let _lock = state::lock_file("realnode.lock");
        problems.extend(clean_cgroups(&self.state.cgroups));
        // 4. The state file; the sysctls when no other real node lives.
        let _ = std::fs::remove_file(&self.state_path);
        if list_states().iter().all(|(_, s)| !s.owner.is_alive()) {
            problems.extend(restore_sysctls(&self.state.sysctls));
        }
        for p in &problems {
            eprintln!("kubeadm-testbed: teardown of real node {}: {p}", self.node.name());
        }
        problems
    }
}

impl Drop for RealNode {
    fn drop(&mut self) {
        self.teardown();
    }
}

/// What is left of a real node on the host: its cgroups, live processes in them, its state
/// file. Empty after a complete teardown (used by tests).
pub fn leftovers(st: &RealNodeState, netns: &str) -> Vec<String> {
    let mut out = Vec::new();
    for p in &st.cgroups {
        if let Ok(t) = CgroupTree::new(p.clone()) {
            if t.exists() {
                out.push(format!("cgroup {p}"));
            }
            let procs = t.procs();
            if !procs.is_empty() {
                out.push(format!("processes {procs:?} in cgroup {p}"));
            }
        }
    }
    let f = state_dir().join(format!("{netns}.json"));
    if f.exists() {
        out.push(format!("state file {}", f.display()));
    }
    out
}

/// [`KUBELET_SYSCTLS`] now.
pub fn current_sysctls() -> Vec<(String, String)> {
    read_sysctls()
}

/// The kubeadm-rs binary the real-node tests drive: `KUBEADM_RS_BIN` if set, else
/// `$CARGO_TARGET_DIR/debug/kubeadm-rs`, else `<repo>/target/debug/kubeadm-rs` (build it with
/// `cargo build -p kubeadm-rs`; `scripts/test.sh` does).
pub fn kubeadm_rs_bin() -> Result<PathBuf> {
    let p = match std::env::var_os("KUBEADM_RS_BIN") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => std::env::var_os("CARGO_TARGET_DIR")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| components::repo_root().join("target"))
            .join("debug/kubeadm-rs"),
    };
    if p.is_file() {
        Ok(p)
    } else {
        Err(Error::Invalid(format!(
            "{} does not exist: run `cargo build -p kubeadm-rs` (or set KUBEADM_RS_BIN)",
            p.display()
        )))
    }
}
