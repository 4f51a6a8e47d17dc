//! The kubelet of a real bed node, run by `scripts/bed-kubelet-service.sh` — the program
//! kubeadm-rs calls through `KUBEADM_RS_KUBELET_SERVICE` (`stop` / `restart`) on hosts without
//! systemd. The bed installs the script in the node as [`SERVICE_PATH`] with an environment file
//! ([`ENV_PATH`], the bed's `/etc/default/kubelet`) naming the kubelet binary, the log file, the
//! runtime cgroup and the per-node flags.
//!
//! Where each kubelet setting comes from on the bed:
//! * **KubeletConfiguration** (cluster-wide: kubeadm writes `/var/lib/kubelet/config.yaml` and
//!   uploads it in the `kubelet-config` ConfigMap that joining nodes download):
//!   `cgroupDriver: cgroupfs` (kubeadm defaults an empty value to `systemd`, and containerd runs
//!   with `SystemdCgroup = false`) and `failCgroupV1: false` (cgroups are v1 here). See
//!   [`KUBELET_CONFIGURATION`].
//! * **Per-node flags** (`KUBELET_EXTRA_ARGS` in [`ENV_PATH`], like `/etc/default/kubelet` under
//!   systemd, so they also apply to a node joined with the bare `kubeadm join` command line):
//!   `--node-ip` (nodes have no default route) and `--cgroup-root` (every node's kubelet shares
//!   the machine's cgroup hierarchies, so each needs its own root). Both could also come from
//!   `nodeRegistration.kubeletExtraArgs` (kubeadm-flags.env) when a node has a kubeadm config.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::node::Node;
use crate::procs::{self, ProcRef};

/// The service program inside the node (what `KUBEADM_RS_KUBELET_SERVICE` names).
pub const SERVICE_PATH: &str = "/run/kubeadm-rs-node/kubelet-service";
/// Its environment file inside the node.
pub const ENV_PATH: &str = "/run/kubeadm-rs-node/kubelet.env";
/// The supervisor's PID file (`<pid> <start time>`).
pub const PID_PATH: &str = "/run/kubeadm-rs-node/kubelet.pid";
/// The variable kubeadm-rs reads (crates/kubeadm-rs/src/kubeletsvc.rs).
pub const SERVICE_ENV: &str = "KUBEADM_RS_KUBELET_SERVICE";
/// The kubelet's health endpoint (KubeletConfiguration defaults).
pub const HEALTHZ_URL: &str = "http://127.0.0.1:10248/healthz";
/// The script, compiled in so the bed does not depend on the checkout's path at run time.
pub const SERVICE_SCRIPT: &str = include_str!("../../../../scripts/bed-kubelet-service.sh");

/// The KubeletConfiguration document a kubeadm config for a real bed node should carry.
pub const KUBELET_CONFIGURATION: &str = "apiVersion: kubelet.config.k8s.io/v1beta1\n\
kind: KubeletConfiguration\n\
cgroupDriver: cgroupfs\n\
failCgroupV1: false\n";

/// What the service's environment file holds.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The kubelet binary (the pinned one).
    pub kubelet: PathBuf,
    /// Log file on the host's /var/log (visible in the node).
    pub log: PathBuf,
    /// `KUBELET_EXTRA_ARGS`.
    pub extra_args: Vec<String>,
    /// cgroup directories the supervisor joins (space-separated).
    pub cgroups: String,
    /// Seconds between an exit and the next start.
    pub restart_sec: u32,
}

/// Single-quotes `s` for a shell.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The environment file's text.
pub fn env_file(s: &Settings) -> String {
    format!(
        "# Written by the kubeadm-rs test bed: the kubelet service's settings for this node.\n\
         KUBELET_BIN={}\nKUBELET_LOG={}\nKUBELET_EXTRA_ARGS={}\nKUBELET_CGROUPS={}\nKUBELET_RESTART_SEC={}\n",
        shell_quote(&s.kubelet.display().to_string()),
        shell_quote(&s.log.display().to_string()),
        shell_quote(&s.extra_args.join(" ")),
        shell_quote(&s.cgroups),
        s.restart_sec
    )
}

/// Installs the service program and its environment file in `node` (the kubelet is not
/// started: kubeadm does that).
pub(crate) fn install(node: &Node, s: &Settings) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    node.write_file(ENV_PATH, env_file(s))?;
    node.write_file(SERVICE_PATH, SERVICE_SCRIPT)?;
    let p = node.host_path(SERVICE_PATH);
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| Error::io(format!("chmod {}", p.display()), e))
}

/// Runs the service program in `node` with `action` (`restart`, `stop`, `status`), as
/// kubeadm-rs does; fails on a non-zero exit. Returns its standard output.
pub fn service(node: &Node, action: &str) -> Result<String> {
    let out = node.exec_timeout(SERVICE_PATH, [action], &[], Duration::from_secs(30))?;
    procs::check_output(&format!("[{}] {SERVICE_PATH} {action}", node.name()), out)
}

/// The running supervisor (from its PID file, checked against the process's start time).
pub fn supervisor(node: &Node) -> Option<ProcRef> {
    let text = std::fs::read_to_string(node.host_path(PID_PATH)).ok()?;
    let mut it = text.split_whitespace();
    let pid: i32 = it.next()?.parse().ok()?;
    let start: u64 = it.next()?.parse().ok()?;
    let p = ProcRef { pid, start };
    p.is_alive().then_some(p)
}

/// The kubelet the supervisor runs now (its child executing the kubelet binary).
pub fn kubelet_process(node: &Node, kubelet: &std::path::Path) -> Option<ProcRef> {
    let sup = supervisor(node)?;
    let children = std::fs::read_to_string(format!("/proc/{}/task/{}/children", sup.pid, sup.pid)).ok()?;
    children.split_whitespace().filter_map(|c| c.parse::<i32>().ok()).find_map(|pid| {
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
        (exe == kubelet).then(|| ProcRef::of(pid)).flatten()
    })
}

/// One probe of the kubelet's `/healthz` from inside the node: `Ok` on 200.
pub fn healthz(node: &Node) -> Result<(), String> {
    let out = node
        .exec_timeout(
            "/usr/bin/curl",
            ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "2", HEALTHZ_URL],
            &[],
            Duration::from_secs(5),
        )
        .map_err(|e| e.to_string())?;
    let code = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if code == "200" { Ok(()) } else { Err(format!("GET {HEALTHZ_URL}: {code:?} (curl {})", out.status)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_file_quotes_values() {
        let s = Settings {
            kubelet: "/cache/bin/kubelet".into(),
            log: "/var/log/x/kubelet.log".into(),
            extra_args: vec!["--node-ip=10.233.1.11".into(), "--cgroup-root=/kbr-1-n1".into()],
            cgroups: "/sys/fs/cgroup/cpu/a /sys/fs/cgroup/pids/a".into(),
            restart_sec: 2,
        };
        let t = env_file(&s);
        assert!(t.contains("KUBELET_EXTRA_ARGS='--node-ip=10.233.1.11 --cgroup-root=/kbr-1-n1'\n"), "{t}");
        assert!(t.contains("KUBELET_BIN='/cache/bin/kubelet'\n"), "{t}");
        assert_eq!(shell_quote("a'b"), "'a'\\''b'");
    }

    #[test]
    fn script_is_the_repository_one() {
        assert!(SERVICE_SCRIPT.starts_with("#!/usr/bin/env bash"));
        assert!(SERVICE_SCRIPT.contains("--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf"));
    }
}
