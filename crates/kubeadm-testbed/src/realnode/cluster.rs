//! A cluster of real nodes made by kubeadm-rs (issue 7): the kubeadm configuration a real bed
//! control plane needs, `init` and `join` run as an admin would (only `SystemVerification`
//! ignored, the kubelet driven through the node's service), and the probes the real-node tests
//! share (Node Ready, its Pod CIDR, Ready kube-system Pods). The bed also plays the CNI daemon: a
//! node joined without a Pod CIDR gets its bridge network once the controller-manager has given
//! it one ([`RealNode::wait_pod_network`]).

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use super::{RealNode, containerd, kubelet};
use crate::bed::Bed;
use crate::error::{Error, Result};
use crate::node::Node;

/// The cluster's Pod network (`networking.podSubnet`; the controller-manager gives each node a
/// /24 of it).
pub const POD_SUBNET: &str = "10.244.0.0/16";
/// What the controller-manager gives the first node of [`POD_SUBNET`] (the control plane).
pub const FIRST_POD_CIDR: &str = "10.244.0.0/24";
/// The Service network (`networking.serviceSubnet`).
pub const SERVICE_SUBNET: &str = "10.96.0.0/12";
/// Where [`init`] writes the kubeadm configuration inside the node.
pub const CONFIG_PATH: &str = "/run/kubeadm/kubeadm.yaml";
/// The only preflight check a real bed node fails: on cgroup v1 SystemVerification says itself
/// that it must be skipped explicitly (even with `failCgroupV1: false`).
pub const IGNORE_PREFLIGHT: &str = "--ignore-preflight-errors=SystemVerification";
/// How long one `kubeadm-rs init` or `join` may take.
pub const KUBEADM_TIMEOUT: Duration = Duration::from_secs(300);

/// The kubeadm configuration of a control plane on the real node `node`: its address as
/// advertise address and `controlPlaneEndpoint`, the Pod and Service networks, the
/// KubeletConfiguration a real bed node needs ([`kubelet::KUBELET_CONFIGURATION`]) and
/// `conntrack.maxPerCore: 0` for kube-proxy (`nf_conntrack_max` is read-only outside the initial
/// network namespace). `cluster_extra` is appended to the ClusterConfiguration (YAML at its top
/// level, e.g. `controllerManager:\n  extraArgs:\n  - name: ...`).
pub fn init_config(node: &Node, version: &str, cluster_extra: &str) -> String {
    format!(
        "apiVersion: kubeadm.k8s.io/v1beta4\n\
         kind: InitConfiguration\n\
         localAPIEndpoint:\n  advertiseAddress: {ip}\n  bindPort: 6443\n\
         nodeRegistration:\n  name: {name}\n\
         ---\n\
         apiVersion: kubeadm.k8s.io/v1beta4\n\
         kind: ClusterConfiguration\n\
         kubernetesVersion: {version}\n\
         controlPlaneEndpoint: {ip}:6443\n\
         networking:\n  podSubnet: {POD_SUBNET}\n  serviceSubnet: {SERVICE_SUBNET}\n\
         {cluster_extra}\
         ---\n{kc}---\n\
         apiVersion: kubeproxy.config.k8s.io/v1alpha1\n\
         kind: KubeProxyConfiguration\n\
         conntrack:\n  maxPerCore: 0\n",
        ip = node.ip(),
        name = node.name(),
        kc = kubelet::KUBELET_CONFIGURATION
    )
}

/// Lets host-network processes of `node` reach ClusterIPs through `eth0` (bed nodes have no
/// default route): `ip route add <SERVICE_SUBNET> dev eth0 src <node IP>`.
pub fn add_service_route(node: &Node) -> Result<()> {
    node.exec_ok(
        "/sbin/ip",
        ["route", "add", SERVICE_SUBNET, "dev", "eth0", "src", &node.ip().to_string()],
        &[],
    )
    .map(drop)
}

/// The outcome of one kubeadm-rs command on a real node.
#[derive(Debug)]
pub struct KubeadmRun {
    /// Its exit status and output.
    pub output: Output,
    /// stdout followed by stderr, for messages.
    pub text: String,
    /// How long it took.
    pub took: Duration,
}

impl KubeadmRun {
    /// Whether it exited 0.
    pub fn success(&self) -> bool {
        self.output.status.success()
    }

    /// Its standard output.
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }
}

/// Runs kubeadm-rs (`bin`) in the real node with [`RealNode::kubeadm_env`] (the kubelet through
/// the node's service), bounded by [`KUBEADM_TIMEOUT`]; a non-zero exit is returned, not an
/// error.
pub fn kubeadm_rs<S: AsRef<str>>(rn: &RealNode, bin: &Path, args: &[S]) -> Result<KubeadmRun> {
    let t = Instant::now();
    let args: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
    let output = rn.node().exec_timeout(bin, &args, &rn.kubeadm_env(), KUBEADM_TIMEOUT)?;
    let took = t.elapsed();
    let text =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    Ok(KubeadmRun { output, text, took })
}

/// `kubeadm-rs init --config <init_config> --ignore-preflight-errors=SystemVerification` on the
/// real node, after [`add_service_route`]; fails on a non-zero exit (with its output).
pub fn init(rn: &RealNode, bin: &Path, version: &str, cluster_extra: &str) -> Result<KubeadmRun> {
    let node = rn.node();
    node.write_file(CONFIG_PATH, init_config(node, version, cluster_extra))?;
    add_service_route(node)?;
    let run = kubeadm_rs(rn, bin, &["init", &format!("--config={CONFIG_PATH}"), IGNORE_PREFLIGHT])?;
    if !run.success() {
        return Err(Error::Invalid(format!(
            "[{}] kubeadm-rs init failed ({}):\n{}",
            node.name(),
            run.output.status,
            run.text
        )));
    }
    Ok(run)
}

/// `kubectl get <args> -o json` with admin.conf in `admin`, parsed; errors as strings (for
/// [`crate::wait_for`] probes).
pub fn admin_json(bed: &Bed, admin: &Node, args: &[&str]) -> Result<serde_json::Value, String> {
    let mut all = vec!["get"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-o", "json"]);
    let text = bed.kubectl_ok(admin, &all).map_err(|e| e.to_string())?;
    serde_json::from_str(&text).map_err(|e| format!("kubectl {}: {e}", all.join(" ")))
}

/// `Ok` when the Node `name` is Ready (read with admin.conf in `admin`).
pub fn node_ready(bed: &Bed, admin: &Node, name: &str) -> Result<(), String> {
    let out = bed
        .kubectl_ok(
            admin,
            &["get", "node", name, "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}"],
        )
        .map_err(|e| e.to_string())?;
    if out.trim() == "True" { Ok(()) } else { Err(format!("{name}: Ready={out:?}")) }
}

/// The Node `name`'s `spec.podCIDR`, once the controller-manager has given it one.
pub fn node_pod_cidr(bed: &Bed, admin: &Node, name: &str) -> Result<String, String> {
    let node = admin_json(bed, admin, &["node", name])?;
    node["spec"]["podCIDR"].as_str().map(str::to_string).ok_or_else(|| format!("{name}: no spec.podCIDR yet"))
}

/// A kube-system Pod that is Running with condition Ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadyPod {
    /// Its name.
    pub name: String,
    /// The node it runs on.
    pub node: String,
}

/// The kube-system Pods that are Running and Ready.
pub fn ready_kube_system_pods(bed: &Bed, admin: &Node) -> Result<Vec<ReadyPod>, String> {
    let v = admin_json(bed, admin, &["pods", "-n", "kube-system"])?;
    Ok(v["items"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .filter(|p| {
            p["status"]["phase"] == "Running"
                && p["status"]["conditions"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
        })
        .filter_map(|p| {
            Some(ReadyPod {
                name: p["metadata"]["name"].as_str()?.to_string(),
                node: p["spec"]["nodeName"].as_str().unwrap_or_default().to_string(),
            })
        })
        .collect())
}

impl RealNode {
    /// Writes the bed's bridge CNI network for `cidr` into the node's `/etc/cni/net.d` (what a
    /// CNI daemon does once the node has its Pod CIDR; containerd picks it up by itself).
    pub fn set_pod_network(&self, cidr: &str) -> Result<()> {
        self.node.write_file(
            format!("{}/10-bed.conflist", containerd::CNI_CONF_DIR),
            containerd::bridge_conflist(cidr),
        )
    }

    /// Waits until the controller-manager has given this node's Node (read with admin.conf in
    /// `admin`) a Pod CIDR, then writes the node's CNI network for it ([`Self::set_pod_network`]).
    /// Returns the CIDR.
    pub fn wait_pod_network(&self, bed: &Bed, admin: &Node, timeout: Duration) -> Result<String> {
        let name = self.node.name().to_string();
        let cidr = crate::wait_for(&format!("the Pod CIDR of Node {name}"), timeout, || {
            node_pod_cidr(bed, admin, &name)
        })?;
        self.set_pod_network(&cidr)?;
        Ok(cidr)
    }
}
