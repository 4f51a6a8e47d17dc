//! containerd per bed node: its own configuration, root (`/var/lib/containerd`), state and
//! socket (`/run/containerd`) — all on the node's private tmpfs — started inside the node's
//! namespaces (through the holder, not `ip netns exec`), in the node's runtime cgroup.
//!
//! What these machines need (docs/testbed.md, "Real nodes"): `restrict_oom_score_adj = true`
//! (no process may lower its OOM score here), `sandbox_image` = kubeadm's pause image,
//! `SystemdCgroup = false` (cgroupfs, as the kubelet), CNI plugins from Debian in
//! `/usr/lib/cni`, the `opt` plugin's directory moved inside the node.

use std::fs::OpenOptions;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::node::{Node, NodeProcess};
use crate::procs;
use crate::realnode::cgroup::CgroupTree;
use crate::realnode::images::Image;

/// containerd's configuration file inside the node.
pub const CONFIG_PATH: &str = "/run/kubeadm-rs-node/containerd.toml";
/// containerd's socket inside the node (the path kubeadm and the kubelet default to).
pub const SOCKET: &str = "/run/containerd/containerd.sock";
/// The CRI endpoint.
pub const ENDPOINT: &str = "unix:///run/containerd/containerd.sock";
/// crictl's configuration file inside the node (crictl is always run with `--config` on it).
pub const CRICTL_CONFIG: &str = "/run/kubeadm-rs-node/crictl.yaml";
/// The containerd namespace of the CRI plugin.
pub const NAMESPACE: &str = "k8s.io";
/// The CNI configuration directory inside the node (private tmpfs).
pub const CNI_CONF_DIR: &str = "/etc/cni/net.d";
/// Where Debian's containernetworking-plugins are.
pub const CNI_BIN_DIR: &str = "/usr/lib/cni";
/// containerd's binary (Debian).
pub const CONTAINERD: &str = "/usr/bin/containerd";
/// ctr (Debian's containerd package).
pub const CTR: &str = "/usr/bin/ctr";

/// containerd's configuration (version 2, containerd 1.6).
pub fn config_toml(sandbox_image: &str) -> String {
    format!(
        r#"# Written by the kubeadm-rs test bed (crates/kubeadm-testbed/src/realnode/containerd.rs).
version = 2
root = "/var/lib/containerd"
state = "/run/containerd"
# Snapshotters that cannot work here (no aufs/zfs/btrfs, devmapper unconfigured): not loaded.
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]

[grpc]
  address = "{SOCKET}"

[plugins."io.containerd.internal.v1.opt"]
  path = "/var/lib/containerd/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{sandbox_image}"
  # No process may lower its oom_score_adj on these machines (CAP_SYS_RESOURCE is missing).
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{CNI_BIN_DIR}"
    conf_dir = "{CNI_CONF_DIR}"
"#
    )
}

/// crictl's configuration.
pub fn crictl_yaml() -> String {
    format!("runtime-endpoint: {ENDPOINT}\nimage-endpoint: {ENDPOINT}\ntimeout: 30\n")
}

/// A bridge + host-local CNI network for Pods on `pod_cidr` (the node is the gateway,
/// masquerading traffic that leaves the Pod network).
pub fn bridge_conflist(pod_cidr: &str) -> String {
    serde_json::json!({
        "cniVersion": "1.0.0",
        "name": "bed",
        "plugins": [
            {
                "type": "bridge",
                "bridge": "cni0",
                "isGateway": true,
                "ipMasq": true,
                "hairpinMode": true,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{ "subnet": pod_cidr }]],
                    "routes": [{ "dst": "0.0.0.0/0" }]
                }
            },
            { "type": "portmap", "capabilities": { "portMappings": true } }
        ]
    })
    .to_string()
}

/// Writes the configuration files and starts containerd in `node`, inside `runtime` (its shims
/// inherit that cgroup), logging to `<log_dir>/containerd.log`; waits until it answers.
pub(crate) fn start(
    node: &Node,
    log_dir: &Path,
    runtime: &CgroupTree,
    sandbox_image: &str,
) -> Result<NodeProcess> {
    node.write_file(CONFIG_PATH, config_toml(sandbox_image))?;
    node.write_file(CRICTL_CONFIG, crictl_yaml())?;
    std::fs::create_dir_all(log_dir).map_err(|e| Error::io(format!("creating {}", log_dir.display()), e))?;
    let log_path = log_dir.join("containerd.log");
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| Error::io(format!("opening {}", log_path.display()), e))?;
    let log2 = log.try_clone().map_err(|e| Error::io("duplicating a log file handle", e))?;
    let script = format!(
        "for d in \"$@\"; do echo $$ > \"$d/cgroup.procs\" || exit 1; done\n\
         exec {CONTAINERD} --config {CONFIG_PATH}\n"
    );
    let mut args = vec!["-c".to_string(), script, "containerd".to_string()];
    args.extend(runtime.dirs()?.iter().map(|d| d.display().to_string()));
    let mut cmd = node.command("/bin/sh", &args);
    cmd.stdin(Stdio::null()).stdout(log).stderr(log2);
    let mut proc = node.spawn_command(cmd)?;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = node.exec(CTR, ["--address", SOCKET, "version"], &[])?;
        if out.status.success() {
            return Ok(proc);
        }
        if let Ok(Some(status)) = proc.child().try_wait() {
            return Err(Error::Invalid(format!(
                "containerd in {} exited ({status}); see {}",
                node.name(),
                log_path.display()
            )));
        }
        if Instant::now() >= deadline {
            return Err(Error::Timeout {
                what: format!("containerd in {}", node.name()),
                timeout: Duration::from_secs(20),
                last: String::from_utf8_lossy(&out.stderr).into_owned(),
            });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Imports image tarballs into the node's containerd (namespace `k8s.io`, unpacked for the
/// overlayfs snapshotter), two at a time.
pub fn import(node: &Node, images: &[Image]) -> Result<()> {
    let mut queue: Vec<&Image> = images.iter().collect();
    // Biggest first, so the two workers finish together.
    queue.sort_by_key(|i| std::cmp::Reverse(std::fs::metadata(&i.tar).map(|m| m.len()).unwrap_or(0)));
    let queue = std::sync::Mutex::new(queue);
    let errors = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                loop {
                    let Some(img) = queue.lock().unwrap_or_else(|e| e.into_inner()).pop() else { break };
                    let tar = img.tar.display().to_string();
                    let r = node
                        .exec(
                            CTR,
                            ["--address", SOCKET, "--namespace", NAMESPACE, "images", "import", &tar],
                            &[],
                        )
                        .and_then(|o| {
                            procs::check_output(&format!("[{}] ctr images import {tar}", node.name()), o)
                        });
                    if let Err(e) = r {
                        errors.lock().unwrap_or_else(|e| e.into_inner()).push(format!("{}: {e}", img.name));
                    }
                }
            });
        }
    });
    let errors = errors.into_inner().unwrap_or_else(|e| e.into_inner());
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(format!("importing images into {}: {}", node.name(), errors.join("; "))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_has_what_the_machine_needs() {
        let c = config_toml("registry.k8s.io/pause:3.10.2");
        for want in [
            "sandbox_image = \"registry.k8s.io/pause:3.10.2\"",
            "restrict_oom_score_adj = true",
            "SystemdCgroup = false",
            "bin_dir = \"/usr/lib/cni\"",
            "conf_dir = \"/etc/cni/net.d\"",
            "path = \"/var/lib/containerd/opt\"",
            "address = \"/run/containerd/containerd.sock\"",
        ] {
            assert!(c.contains(want), "{want} missing in\n{c}");
        }
    }

    #[test]
    fn conflist_is_json_with_the_subnet() {
        let v: serde_json::Value = serde_json::from_str(&bridge_conflist("10.244.1.0/24")).expect("json");
        assert_eq!(v["plugins"][0]["ipam"]["ranges"][0][0]["subnet"], "10.244.1.0/24");
    }
}
