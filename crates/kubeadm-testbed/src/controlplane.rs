//! Steps the control-plane tests share: the `init` configuration for a bed node, upstream
//! kubeadm's offline `init` phases, and what is checked or done once the runner has started the
//! control plane (`/readyz`, the `kubeadm:cluster-admins` binding, the system namespaces).
//!
//! ```no_run
//! use std::time::Duration;
//! use kubeadm_testbed::{Bed, controlplane};
//! let bed = Bed::builder().name("cp").nodes(1).start()?;
//! let n1 = bed.node(0);
//! n1.write_file(controlplane::CONFIG_PATH, controlplane::init_config(n1, "v1.37.2"))?;
//! controlplane::upstream_offline_phases(n1, controlplane::CONFIG_PATH)?;
//! bed.start_runner(n1)?;
//! controlplane::wait_readyz(&bed, n1, Duration::from_secs(120))?;
//! controlplane::bind_cluster_admins(&bed, n1)?;
//! controlplane::wait_system_namespaces(&bed, n1)?;
//! # Ok::<(), kubeadm_testbed::Error>(())
//! ```

use std::time::Duration;

use crate::{Bed, Node, NodeProcess, Result, components, procs, wait_for};

/// Where the tests write the kubeadm configuration inside a node.
pub const CONFIG_PATH: &str = "/run/kubeadm/kubeadm.yaml";

/// Upstream `kubeadm init phase ...` runs that write everything a control plane needs without
/// an API server: certificates, kubeconfigs, and the etcd and control-plane static Pod manifests.
pub const OFFLINE_PHASES: [&[&str]; 4] =
    [&["certs", "all"], &["kubeconfig", "all"], &["etcd", "local"], &["control-plane", "all"]];

/// The static Pods of a control plane with local etcd, as named in
/// `/etc/kubernetes/manifests/<name>.yaml`.
pub const STATIC_PODS: [&str; 4] = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"];

/// The namespaces the API server creates by itself.
pub const SYSTEM_NAMESPACES: [&str; 4] = ["default", "kube-node-lease", "kube-public", "kube-system"];

/// How long [`wait_system_namespaces`] waits.
pub const SYSTEM_NAMESPACES_TIMEOUT: Duration = Duration::from_secs(60);

/// A minimal v1beta4 `InitConfiguration` + `ClusterConfiguration` for `node`: advertise the
/// node's bridge IP on port 6443, register under the node's name with containerd's socket, and
/// pin `kubernetesVersion` to `version`.
pub fn init_config(node: &Node, version: &str) -> String {
    init_config_with(node, version, "", "")
}

/// [`init_config`] with more YAML: `init_extra` is appended to the `InitConfiguration` document
/// and `cluster_extra` to the `ClusterConfiguration` one (top-level keys, each line ending in a
/// newline), e.g. `bootstrapTokens` or `networking`.
pub fn init_config_with(node: &Node, version: &str, init_extra: &str, cluster_extra: &str) -> String {
    format!(
        r#"apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: {ip}
  bindPort: 6443
nodeRegistration:
  name: {name}
  criSocket: unix:///run/containerd/containerd.sock
{init_extra}---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: {version}
{cluster_extra}"#,
        ip = node.ip(),
        name = node.name()
    )
}

/// Runs the pinned upstream kubeadm with `args` in `node`; fails unless it exits 0, returns its
/// stdout.
pub fn upstream_kubeadm(node: &Node, args: &[&str]) -> Result<String> {
    let kubeadm = components::bin("kubeadm")?;
    node.exec_ok(&kubeadm, args, &[])
}

/// Runs upstream `kubeadm init phase <phase> --config <config_path>` in `node` for each of
/// [`OFFLINE_PHASES`], in order, printing each phase's output to stderr.
pub fn upstream_offline_phases(node: &Node, config_path: &str) -> Result<()> {
    for phase in OFFLINE_PHASES {
        let mut args = vec!["init", "phase"];
        args.extend_from_slice(phase);
        args.extend_from_slice(&["--config", config_path]);
        let out = upstream_kubeadm(node, &args)?;
        eprintln!("[kubeadm init phase {}]\n{out}", phase.join(" "));
    }
    Ok(())
}

/// Waits up to `timeout` for `kubectl get --raw /readyz` (admin.conf, in `node`) to print `ok`.
pub fn wait_readyz(bed: &Bed, node: &Node, timeout: Duration) -> Result<()> {
    wait_for(&format!("{} /readyz = ok", node.name()), timeout, || {
        let out = bed.kubectl_ok(node, &["get", "--raw", "/readyz"]).map_err(|e| e.to_string())?;
        (out.trim() == "ok").then_some(()).ok_or(out)
    })
}

/// What `kubeadm init` does once the control plane is up (not a phase of its own): binds
/// admin.conf's group `kubeadm:cluster-admins` to the `cluster-admin` ClusterRole, using
/// `/etc/kubernetes/super-admin.conf` in `node` (admin.conf is not authorized before).
pub fn bind_cluster_admins(bed: &Bed, node: &Node) -> Result<()> {
    let args = [
        "create",
        "clusterrolebinding",
        "kubeadm:cluster-admins",
        "--clusterrole=cluster-admin",
        "--group=kubeadm:cluster-admins",
    ];
    let out = bed.kubectl_with(node, "/etc/kubernetes/super-admin.conf", &args)?;
    let what =
        format!("[{}] kubectl --kubeconfig=/etc/kubernetes/super-admin.conf {}", node.name(), args.join(" "));
    procs::check_output(&what, out).map(drop)
}

/// Waits up to [`SYSTEM_NAMESPACES_TIMEOUT`] until `kubectl get ns` (admin.conf, in `node`)
/// lists every one of [`SYSTEM_NAMESPACES`].
pub fn wait_system_namespaces(bed: &Bed, node: &Node) -> Result<()> {
    wait_for("system namespaces", SYSTEM_NAMESPACES_TIMEOUT, || {
        let out = bed.kubectl_ok(node, &["get", "ns", "-o", "name"]).map_err(|e| e.to_string())?;
        let missing: Vec<&str> = SYSTEM_NAMESPACES
            .into_iter()
            .filter(|ns| !out.lines().any(|l| l.trim() == format!("namespace/{ns}")))
            .collect();
        missing.is_empty().then_some(()).ok_or(format!("missing {missing:?} in:\n{out}"))
    })
}

/// Where [`start_kubelet_healthz`] and [`register_node_when_api_is_up`] keep their files in a node.
const STANDIN_DIR: &str = "/run/kubeadm";

/// Stands in for the kubelet's health endpoint on a node that has no kubelet: socat answers
/// `http://127.0.0.1:10248/healthz` with `200 ok` inside the node's network namespace, which is
/// what `kubeadm init` waits for before it checks the control plane. Dropping the returned handle
/// stops it.
pub fn start_kubelet_healthz(node: &Node) -> Result<NodeProcess> {
    // A script file: socat's SYSTEM: address would mangle the \r\n escapes.
    let script = format!("{STANDIN_DIR}/healthz.sh");
    node.write_file(&script, "printf 'HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok'\n")?;
    node.spawn(
        "/usr/bin/socat",
        ["TCP-LISTEN:10248,bind=127.0.0.1,fork,reuseaddr".to_string(), format!("EXEC:/bin/sh {script}")],
        &[],
    )
}

/// Registers the node's Node object, as its kubelet would, as soon as the API server accepts it
/// (`kubectl apply` with super-admin.conf, retried until `timeout`), so that `mark-control-plane`
/// finds it. Meant to run in a thread beside `kubeadm init`.
pub fn register_node_when_api_is_up(bed: &Bed, node: &Node, timeout: Duration) -> Result<()> {
    let manifest = format!("{STANDIN_DIR}/node.yaml");
    let yaml = format!(
        "apiVersion: v1\nkind: Node\nmetadata:\n  name: {n}\n  labels:\n    kubernetes.io/hostname: {n}\n",
        n = node.name()
    );
    node.write_file(&manifest, yaml)?;
    wait_for("the Node object created", timeout, || {
        let out = bed
            .kubectl_with(node, "/etc/kubernetes/super-admin.conf", &["apply", "-f", &manifest])
            .map_err(|e| e.to_string())?;
        out.status.success().then_some(()).ok_or_else(|| String::from_utf8_lossy(&out.stderr).into_owned())
    })
}

/// Runs `init` (a `kubeadm init` on `node`) beside the stand-ins a kubelet would otherwise
/// provide once the manifests are written: the bed's runner starts the static Pods, and a thread
/// registers the Node object as soon as the API server accepts it (waiting up to `node_timeout`).
/// The kubelet's health endpoint is the caller's to start ([`start_kubelet_healthz`]), since it
/// must outlive this call for later `init` runs. Returns what `init` returned, after the
/// registration thread has finished; `init`'s own error wins over the registration's.
pub fn init_beside_node_registration<T, E: From<crate::Error>>(
    bed: &Bed,
    node: &Node,
    node_timeout: Duration,
    init: impl FnOnce() -> std::result::Result<T, E>,
) -> std::result::Result<T, E> {
    // The runner watches the manifest directory: it starts the Pods as soon as init writes them.
    bed.start_runner(node)?;
    std::thread::scope(|s| {
        let registrar = s.spawn(|| register_node_when_api_is_up(bed, node, node_timeout));
        let out = init();
        let registered = registrar
            .join()
            .map_err(|_| crate::Error::Invalid("the Node registration thread panicked".into()))?;
        let out = out?;
        registered?;
        Ok(out)
    })
}

/// Upstream kubeadm on `node` with `args`, killed after `timeout`: (exit success, stdout and
/// stderr). The output is also printed, for the test log.
pub fn upstream_kubeadm_bounded(node: &Node, args: &[String], timeout: Duration) -> Result<(bool, String)> {
    let kubeadm = components::bin("kubeadm")?;
    let out = node.exec_timeout(&kubeadm, args, &[], timeout)?;
    let text = format!(
        "{}\n[stderr]\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("===== upstream kubeadm {} (exit {:?}) =====\n{text}", args.join(" "), out.status.code());
    Ok((out.status.success(), text))
}
