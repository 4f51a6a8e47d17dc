//! Issue 6, "Must show": a highly available control plane behind the bed's load-balanced
//! endpoint (`bed lb`, see docs/testbed.md "Load-balanced endpoint").
//!
//! `kubeadm_rs_ha_cluster`: one bed of 4 nodes, every step by kubeadm-rs through the endpoint.
//!
//! 1. The load balancer starts with node 1 as its backend; `kubeadm-rs init --upload-certs` on
//!    node 1 with `controlPlaneEndpoint: <endpoint>`; nodes 2 and 3 run the control-plane join
//!    command init printed (`--control-plane --certificate-key K --apiserver-advertise-address
//!    <own ip>`, discovery through the endpoint), each beside the kubelet stand-ins (the runner,
//!    socat on the kubelet health port, its Node registered with its own kubelet.conf, its etcd
//!    mirror Pod registered once it joined), and each is added to the endpoint's backends; node 4
//!    joins as a worker through the endpoint. Checked: `etcdctl member list` shows 3 started
//!    voting members (names and peer URLs of nodes 1-3), `etcdctl endpoint health` on the three,
//!    `/readyz` through the endpoint, the 4 Node objects with the control-plane label and taint
//!    on nodes 1-3 only, kubeconfigs (admin.conf, the worker's kubelet.conf) pointing at the
//!    endpoint.
//! 2. Node 3's runner is stopped: its etcd, API server, controller-manager and scheduler stop
//!    listening (checked with `ss`); through the endpoint `/readyz` is ok and a ConfigMap is
//!    created (retried while the endpoint's health check takes node 3 out); the endpoint keeps
//!    nodes 1 and 2 only. The runner starts again: all three etcd endpoints healthy, node 3 back in
//!    the endpoint, and node 3's own API server serves the ConfigMap written while it was down.
//! 3. `kubeadm-rs reset -f` on node 3: its member is gone (2 voting members), its control plane
//!    stops, a ConfigMap is created through the endpoint; node 3's etcd mirror Pod and Node are
//!    deleted (what its kubelet / the operator would do) and it leaves the backends. A fresh
//!    token (`kubeadm-rs token create --print-join-command`) and a new certificate key
//!    (`kubeadm-rs init phase upload-certs --upload-certs --config <init config>`, which
//!    re-uploads the certificates; without `--config` both upstream and kubeadm-rs refuse the
//!    0.0.0.0 advertise address a node without default route defaults to) are made on node 1
//!    (`token create --print-join-command --certificate-key` prints the control-plane command);
//!    node 3 joins again as control plane with them: 3 voting members, all healthy, node 3
//!    labelled again.
//! 4. `kubeadm-rs reset -f` on the worker (kubelet.conf and its certificate gone), its Node is
//!    deleted (kubeadm's documented `kubectl delete node`), and it joins again.
//!
//! Interop, each on its own 2-node bed with the endpoint, 2 voting members and `/readyz` through
//! the endpoint checked:
//!
//! * `upstream_joins_kubeadm_rs_ha_cluster`: UPSTREAM `kubeadm join --control-plane
//!   --certificate-key` into a cluster made by `kubeadm-rs init --upload-certs` (upstream
//!   decrypts the kubeadm-certs Secret kubeadm-rs uploaded: node 2's CA equals node 1's).
//!   Upstream runs with `--skip-phases kubelet-wait-bootstrap`: that phase waits for the kubelet
//!   to turn bootstrap-kubelet.conf into kubelet.conf by its own TLS bootstrap, and a bed node has
//!   no kubelet (kubeadm-rs does the TLS bootstrap itself, so it needs no such skip). As nothing
//!   then has node 2's kubelet identity, node 2's Node object is registered with node 2's
//!   admin.conf (mark-control-plane waits for it). Nothing else is skipped.
//! * `kubeadm_rs_joins_upstream_ha_cluster`: `kubeadm-rs join --control-plane` into a cluster made
//!   by UPSTREAM `kubeadm init --upload-certs` with the endpoint as `controlPlaneEndpoint`.
//!
//! Needs root, the pinned components and the `bed` binary (`cargo build -p kubeadm-testbed --bin
//! bed`); fails when they are missing unless `KUBEADM_RS_SKIP_BED=1`.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use kubeadm_testbed::controlplane::{self, JoinCommand};
use kubeadm_testbed::lb::LbHandle;
use kubeadm_testbed::{Bed, Node, NodeProcess, bed_preflight, components, heavy_lock, wait_for};
use serde_json::Value;

const VERSION: &str = "v1.37.2";
/// How long the Node registration stand-in waits for an API server.
const NODE_TIMEOUT: Duration = Duration::from_secs(300);
/// How long one `join` (or `reset`) may run.
const JOIN_TIMEOUT: Duration = Duration::from_secs(420);
/// What a bed node lacks (see join_e2e.rs).
const WORKER_IGNORED: &str = "--ignore-preflight-errors=CRI,ContainerRuntimeVersion,SystemVerification,KubeletVersion,FileContent--proc-sys-net-ipv4-ip_forward";
/// The same plus the image pull of a control-plane node (no container runtime).
const CP_IGNORED: &str = "--ignore-preflight-errors=CRI,ContainerRuntimeVersion,SystemVerification,KubeletVersion,FileContent--proc-sys-net-ipv4-ip_forward,ImagePull";
const ADMIN_CONF: &str = "/etc/kubernetes/admin.conf";
const KUBELET_CONF: &str = "/etc/kubernetes/kubelet.conf";
/// The closing message of a control-plane join (upstream's text).
const CP_JOINED: &str = "This node has joined the cluster and a new control plane instance was created:";
/// The closing message of a worker join.
const JOINED: &str = "This node has joined the cluster:";
/// The ports of a stacked-etcd control plane: etcd client and peer, API server,
/// controller-manager, scheduler.
const CP_PORTS: [u16; 5] = [2379, 2380, 6443, 10257, 10259];
const CP_LABEL: &str = "node-role.kubernetes.io/control-plane";

fn ours() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_kubeadm-rs"))
}

fn api(n: &Node) -> SocketAddr {
    SocketAddr::from((n.ip(), 6443))
}

/// Step timings, printed at the end.
struct Steps {
    start: Instant,
    last: Instant,
    rows: Vec<(String, f64)>,
}

impl Steps {
    fn new() -> Self {
        let now = Instant::now();
        Steps { start: now, last: now, rows: Vec::new() }
    }

    fn done(&mut self, what: &str) {
        let now = Instant::now();
        let secs = (now - self.last).as_secs_f64();
        eprintln!("----- step done: {what} ({secs:.1}s) -----");
        self.rows.push((what.to_string(), secs));
        self.last = now;
    }

    fn print(&self, name: &str) {
        let mut text = format!("[{name}] step timings:\n");
        for (what, secs) in &self.rows {
            text.push_str(&format!("  {secs:6.1}s  {what}\n"));
        }
        text.push_str(&format!("  {:6.1}s  total", self.start.elapsed().as_secs_f64()));
        eprintln!("{text}");
    }
}

/// The command line with the values of secret flags hidden, for the log.
fn shown(args: &[String]) -> String {
    let mut out = Vec::new();
    let mut hide = false;
    for a in args {
        if hide {
            out.push("<hidden>".to_string());
            hide = false;
            continue;
        }
        hide = a == "--token" || a == "--certificate-key";
        out.push(a.clone());
    }
    out.join(" ")
}

/// `prog args` in `n`, killed after [`JOIN_TIMEOUT`]: (exit success, stdout, stderr), printed.
fn run(n: &Node, prog: &Path, args: &[String]) -> Result<(bool, String, String)> {
    let start = Instant::now();
    let out = n.exec_timeout(prog, args, &[], JOIN_TIMEOUT)?;
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    let name = prog.file_name().and_then(|f| f.to_str()).unwrap_or("?");
    eprintln!(
        "===== [{}] {name} {} (exit {:?}, {:.1}s) =====\n{stdout}\n[stderr]\n{stderr}",
        n.name(),
        shown(args),
        out.status.code(),
        start.elapsed().as_secs_f64()
    );
    Ok((out.status.success(), stdout, stderr))
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// Creates `n`'s Node object with `kubeconfig` (a path in `n`), retried every 500 ms until it
/// works, `stop` is set, or [`NODE_TIMEOUT`]: the kubelet's registration, stood in for.
fn register_node(bed: &Bed, n: &Node, kubeconfig: &str, stop: &AtomicBool) -> Result<()> {
    let manifest = "/run/kubeadm/node.yaml";
    n.write_file(
        manifest,
        format!(
            "apiVersion: v1\nkind: Node\nmetadata:\n  name: {m}\n  labels:\n    kubernetes.io/hostname: {m}\n",
            m = n.name()
        ),
    )?;
    let deadline = Instant::now() + NODE_TIMEOUT;
    let mut last = String::new();
    while Instant::now() < deadline {
        if stop.load(Ordering::Relaxed) {
            bail!("[{}] Node registration given up: {last}", n.name());
        }
        let out = bed.kubectl_with(n, kubeconfig, &["apply", "-f", manifest])?;
        if out.status.success() {
            return Ok(());
        }
        last = String::from_utf8_lossy(&out.stderr).into_owned();
        std::thread::sleep(Duration::from_millis(500));
    }
    bail!("[{}] Node registration with {kubeconfig} timed out: {last}", n.name())
}

/// `kubeadm` (ours or upstream's) `join --control-plane` on `n` through the endpoint of `cmd`
/// with `key`, beside the stand-ins: the runner (started here), and a thread registering `n`'s
/// Node with `registration_kubeconfig` once it is accepted. `extra` goes after the flags.
/// Afterwards `n`'s etcd mirror Pod is registered (with `admin`'s admin.conf), as its kubelet
/// would. Returns the join's stdout.
#[allow(clippy::too_many_arguments)]
fn join_control_plane(
    bed: &Bed,
    n: &Node,
    admin: &Node,
    kubeadm: &Path,
    cmd: &JoinCommand,
    key: &str,
    registration_kubeconfig: &str,
    extra: &[&str],
) -> Result<String> {
    bed.start_runner(n)?;
    let mut args = cmd.control_plane_args(key, n);
    args.push(CP_IGNORED.to_string());
    args.extend(strings(extra));
    let stop = AtomicBool::new(false);
    let (joined, registered) = std::thread::scope(|s| {
        let registrar = s.spawn(|| register_node(bed, n, registration_kubeconfig, &stop));
        let joined = run(n, kubeadm, &args);
        if !matches!(joined, Ok((true, _, _))) {
            stop.store(true, Ordering::Relaxed);
        }
        (joined, registrar.join())
    });
    let (ok, stdout, stderr) = joined?;
    ensure!(ok, "[{}] join --control-plane failed (output above)", n.name());
    registered.map_err(|_| anyhow::anyhow!("the registration thread panicked"))??;
    ensure!(stdout.contains(CP_JOINED), "[{}] the control-plane closing message is missing", n.name());
    ensure!(!stdout.contains(key) && !stderr.contains(key), "[{}] the certificate key was printed", n.name());
    controlplane::register_mirror_pod(bed, n, admin, "etcd")?;
    Ok(stdout)
}

/// `kubeadm-rs join` of a worker through `cmd`'s endpoint, then its Node registered with its own
/// kubelet.conf, which must point at `endpoint`.
fn join_worker(bed: &Bed, n: &Node, cmd: &JoinCommand, endpoint: &str) -> Result<()> {
    let mut args = cmd.args();
    args.push(WORKER_IGNORED.to_string());
    let (ok, stdout, _) = run(n, ours(), &args)?;
    ensure!(ok, "[{}] worker join failed (output above)", n.name());
    ensure!(stdout.contains(JOINED), "[{}] the worker closing message is missing", n.name());
    ensure!(
        kubeconfig_server(n, KUBELET_CONF)? == format!("https://{endpoint}"),
        "[{}] kubelet.conf does not point at the endpoint",
        n.name()
    );
    register_node(bed, n, KUBELET_CONF, &AtomicBool::new(false))
}

/// The `server` of the first cluster of a kubeconfig in `n`.
fn kubeconfig_server(n: &Node, path: &str) -> Result<String> {
    let conf: serde_yaml::Value = serde_yaml::from_str(&n.read_file(path)?)?;
    Ok(conf["clusters"][0]["cluster"]["server"].as_str().unwrap_or_default().to_string())
}

/// Exactly `cps` are etcd members (by name and peer URL), all started and voting.
fn check_members(via: &Node, cps: &[&Node]) -> std::result::Result<(), String> {
    let members = controlplane::etcd_member_list(via).map_err(|e| e.to_string())?;
    let mut got: Vec<(String, String, bool)> = members
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap_or_default().to_string(),
                m["peerURLs"][0].as_str().unwrap_or_default().to_string(),
                m["isLearner"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    got.sort();
    let mut want: Vec<(String, String, bool)> =
        cps.iter().map(|n| (n.name().to_string(), format!("https://{}:2380", n.ip()), false)).collect();
    want.sort();
    if got == want {
        Ok(())
    } else {
        Err(format!("etcd members (name, peer URL, learner): {got:?}, want {want:?}"))
    }
}

fn wait_members(via: &Node, cps: &[&Node], timeout: Duration) -> Result<()> {
    let names: Vec<&str> = cps.iter().map(|n| n.name()).collect();
    wait_for(&format!("etcd members = {names:?}, started and voting"), timeout, || check_members(via, cps))?;
    eprintln!("[{}] etcd members: {names:?}, started and voting", via.name());
    Ok(())
}

/// `etcdctl endpoint health` (run in `via`) passes on the etcd of each of `cps`.
fn wait_etcd_healthy(via: &Node, cps: &[&Node], timeout: Duration) -> Result<()> {
    let endpoints: Vec<String> = cps.iter().map(|n| controlplane::etcd_client_url(n)).collect();
    wait_for(&format!("etcd endpoints {endpoints:?} healthy"), timeout, || {
        let out = controlplane::etcdctl(via, &endpoints, &["endpoint", "health", "-w", "json"])
            .map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let v: Value = serde_json::from_str(&text)
            .map_err(|_| format!("{text}{}", String::from_utf8_lossy(&out.stderr)))?;
        let healthy = v.as_array().map(|a| a.iter().filter(|e| e["health"] == true).count()).unwrap_or(0);
        (out.status.success() && healthy == endpoints.len()).then_some(()).ok_or(text)
    })?;
    eprintln!("[{}] etcdctl endpoint health: {endpoints:?} healthy", via.name());
    Ok(())
}

/// kubectl in `via` with its admin.conf, through the endpoint (`--server`).
fn lb_kubectl(bed: &Bed, via: &Node, lb: &LbHandle, args: &[&str]) -> Result<std::process::Output> {
    let server = format!("--server=https://{}", lb.endpoint());
    let mut all = vec![server.as_str()];
    all.extend_from_slice(args);
    Ok(bed.kubectl_with(via, ADMIN_CONF, &all)?)
}

fn wait_lb_readyz(bed: &Bed, via: &Node, lb: &LbHandle, timeout: Duration) -> Result<()> {
    wait_for("/readyz through the endpoint", timeout, || {
        let out = lb_kubectl(bed, via, lb, &["get", "--raw", "/readyz"]).map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
        (out.status.success() && text == "ok")
            .then_some(())
            .ok_or_else(|| format!("{text}{}", String::from_utf8_lossy(&out.stderr)))
    })?;
    eprintln!("[{}] /readyz through {}: ok", via.name(), lb.endpoint());
    Ok(())
}

/// Creates ConfigMap `name` in `default` through the endpoint, retried until `timeout` (a
/// retried create that finds it already there succeeded before); returns the number of tries.
fn lb_write(bed: &Bed, via: &Node, lb: &LbHandle, name: &str, timeout: Duration) -> Result<u32> {
    let mut tries = 0;
    wait_for(&format!("ConfigMap {name} created through the endpoint"), timeout, || {
        tries += 1;
        let out = lb_kubectl(bed, via, lb, &["create", "configmap", name, "--from-literal=k=v"])
            .map_err(|e| e.to_string())?;
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.success() || (tries > 1 && err.contains("AlreadyExists"))).then_some(()).ok_or(err)
    })?;
    eprintln!("[{}] ConfigMap {name} created through {} ({tries} tries)", via.name(), lb.endpoint());
    Ok(tries)
}

/// The TCP ports listening in `n`'s network namespace.
fn listening(n: &Node) -> Result<Vec<u16>> {
    let out = n.exec_ok("/usr/bin/ss", ["-Hltn"], &[])?;
    Ok(out
        .lines()
        .filter_map(|l| l.split_whitespace().nth(3))
        .filter_map(|a| a.rsplit_once(':').and_then(|(_, p)| p.parse().ok()))
        .collect())
}

/// Waits until none of [`CP_PORTS`] listens in `n`: its control plane and etcd are down.
fn wait_control_plane_down(n: &Node, timeout: Duration) -> Result<()> {
    wait_for(&format!("{}'s control plane down", n.name()), timeout, || {
        let ports = listening(n).map_err(|e| e.to_string())?;
        let left: Vec<u16> = CP_PORTS.into_iter().filter(|p| ports.contains(p)).collect();
        left.is_empty().then_some(()).ok_or(format!("still listening: {left:?}"))
    })?;
    eprintln!("[{}] none of {CP_PORTS:?} listens", n.name());
    Ok(())
}

/// The Node objects (read through the endpoint): exactly `cps` + `workers`, the control-plane
/// label and NoSchedule taint on `cps` only.
fn check_nodes(bed: &Bed, via: &Node, lb: &LbHandle, cps: &[&Node], workers: &[&Node]) -> Result<()> {
    let out = lb_kubectl(bed, via, lb, &["get", "nodes", "-o", "json"])?;
    ensure!(out.status.success(), "get nodes: {}", String::from_utf8_lossy(&out.stderr));
    let list: Value = serde_json::from_slice(&out.stdout)?;
    let items = list["items"].as_array().cloned().unwrap_or_default();
    let mut names: Vec<&str> = items.iter().filter_map(|i| i["metadata"]["name"].as_str()).collect();
    names.sort();
    let mut want: Vec<&str> = cps.iter().chain(workers).map(|n| n.name()).collect();
    want.sort();
    ensure!(names == want, "Node objects {names:?}, want {want:?}");
    for item in &items {
        let name = item["metadata"]["name"].as_str().unwrap_or_default();
        let labelled = item["metadata"]["labels"].get(CP_LABEL).is_some();
        let tainted = item["spec"]["taints"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t["key"] == CP_LABEL && t["effect"] == "NoSchedule"));
        let cp = cps.iter().any(|n| n.name() == name);
        ensure!(labelled == cp && tainted == cp, "Node {name}: control plane {cp}, but {item}");
    }
    let table = lb_kubectl(bed, via, lb, &["get", "nodes", "-o", "wide"])?;
    eprintln!("kubectl get nodes -o wide\n{}", String::from_utf8_lossy(&table.stdout));
    Ok(())
}

/// kubectl through the endpoint that must succeed; returns stdout.
fn lb_kubectl_ok(bed: &Bed, via: &Node, lb: &LbHandle, args: &[&str]) -> Result<String> {
    let out = lb_kubectl(bed, via, lb, args)?;
    ensure!(out.status.success(), "kubectl {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `kubeadm-rs reset -f` on `n`; returns stdout.
fn reset(n: &Node) -> Result<String> {
    let (ok, stdout, _) = run(n, ours(), &strings(&["reset", "-f"]))?;
    ensure!(ok, "[{}] reset -f failed (output above)", n.name());
    Ok(stdout)
}

/// An init configuration for `n` with the endpoint as `controlPlaneEndpoint`.
fn ha_init_config(n: &Node, endpoint: &str) -> String {
    controlplane::init_config_with(
        n,
        VERSION,
        &format!(
            "bootstrapTokens:\n- token: {}\ntimeouts:\n  kubeletHealthCheck: 1m0s\n  controlPlaneComponentHealthCheck: 3m0s\n",
            controlplane::TEST_TOKEN
        ),
        &format!("controlPlaneEndpoint: {endpoint}\n"),
    )
}

/// Starts the endpoint with `n1` as its only backend, runs `kubeadm init --upload-certs` (with
/// `kubeadm`, ours or upstream's) on `n1` and registers n1's etcd mirror Pod: (endpoint, worker
/// join command, certificate key).
fn ha_init(bed: &Bed, n1: &Node, kubeadm: &Path) -> Result<(LbHandle, JoinCommand, String)> {
    let lb = bed.start_load_balancer(6443)?;
    let endpoint = lb.endpoint();
    lb.set_backends(&[api(n1)])?;
    let init_out = controlplane::full_init(
        bed,
        n1,
        kubeadm,
        &ha_init_config(n1, &endpoint),
        &["--upload-certs"],
        NODE_TIMEOUT,
    )?;
    let cmd = JoinCommand::parse(&init_out).context("no worker join command in init's output")?;
    let key = controlplane::certificate_key(&init_out).context("no --certificate-key in init's output")?;
    ensure!(
        cmd.endpoint == endpoint,
        "init's join command names {}, not the endpoint {endpoint}",
        cmd.endpoint
    );
    ensure!(
        kubeconfig_server(n1, ADMIN_CONF)? == format!("https://{endpoint}"),
        "admin.conf does not point at the endpoint"
    );
    lb.wait_healthy(&[api(n1)], Duration::from_secs(60))?;
    controlplane::wait_cluster_info_signed(bed, n1, cmd.token_id(), Duration::from_secs(60))?;
    // kubeadm finds the stacked etcd members through the etcd mirror Pods (the kubelet's).
    controlplane::register_mirror_pod(bed, n1, n1, "etcd")?;
    Ok((lb, cmd, key))
}

fn ha_cluster(bed: &Bed, steps: &mut Steps) -> Result<()> {
    let (n1, n2, n3, n4) = (bed.node(0), bed.node(1), bed.node(2), bed.node(3));
    let all = [n1, n2, n3];
    let mut healthz: Vec<NodeProcess> = Vec::new();

    // 1. Three control planes and a worker, through the endpoint.
    let (lb, cmd, key) = ha_init(bed, n1, ours())?;
    let endpoint = lb.endpoint();
    steps.done("endpoint + kubeadm-rs init --upload-certs on node1");
    let mut backends = vec![api(n1)];
    for n in [n2, n3] {
        healthz.push(controlplane::start_kubelet_healthz(n)?);
        join_control_plane(bed, n, n1, ours(), &cmd, &key, KUBELET_CONF, &[])?;
        ensure!(
            n.read_file("/etc/kubernetes/pki/ca.crt")? == n1.read_file("/etc/kubernetes/pki/ca.crt")?,
            "[{}] the CA differs from node1's",
            n.name()
        );
        backends.push(api(n));
        lb.set_backends(&backends)?;
        lb.wait_healthy(&backends, Duration::from_secs(60))?;
        steps.done(&format!("kubeadm-rs join --control-plane on {}", n.name()));
    }
    healthz.push(controlplane::start_kubelet_healthz(n4)?);
    join_worker(bed, n4, &cmd, &endpoint)?;
    steps.done("kubeadm-rs join (worker) on node4");

    wait_members(n1, &all, Duration::from_secs(10))?;
    wait_etcd_healthy(n1, &all, Duration::from_secs(30))?;
    wait_lb_readyz(bed, n1, &lb, Duration::from_secs(30))?;
    check_nodes(bed, n1, &lb, &all, &[n4])?;
    steps.done("checks: 3 voting members, readyz, 4 Nodes");

    // 2. Node 3's control plane stops; the endpoint keeps serving, writes work.
    bed.stop_runner(n3);
    wait_control_plane_down(n3, Duration::from_secs(10))?;
    let down = Instant::now();
    wait_lb_readyz(bed, n1, &lb, Duration::from_secs(30))?;
    lb_write(bed, n1, &lb, "ha-node3-down", Duration::from_secs(30))?;
    eprintln!("readyz + write through the endpoint {:.1}s after node3 stopped", down.elapsed().as_secs_f64());
    lb.wait_healthy(&[api(n1), api(n2)], Duration::from_secs(10))?;
    wait_etcd_healthy(n1, &[n1, n2], Duration::from_secs(10))?;
    steps.done("node3 stopped: readyz + ConfigMap through the endpoint");
    bed.start_runner(n3)?;
    wait_etcd_healthy(n1, &all, Duration::from_secs(120))?;
    wait_members(n1, &all, Duration::from_secs(10))?;
    lb.wait_healthy(&backends, Duration::from_secs(120))?;
    let server = format!("--server=https://{}", api(n3));
    let cm = bed.kubectl_with(
        n3,
        ADMIN_CONF,
        &[server.as_str(), "get", "configmap", "ha-node3-down", "-o", "name"],
    )?;
    ensure!(
        cm.status.success(),
        "node3's API server does not serve the write made while it was down: {}",
        String::from_utf8_lossy(&cm.stderr)
    );
    steps.done("node3 restarted: 3 healthy members");

    // 3. reset on a control-plane node, then it joins again.
    let out = reset(n3)?;
    ensure!(!out.contains("Failed to remove etcd member"), "[node3] reset did not remove its etcd member");
    wait_members(n1, &[n1, n2], Duration::from_secs(30))?;
    wait_control_plane_down(n3, Duration::from_secs(15))?;
    lb_write(bed, n1, &lb, "ha-after-reset", Duration::from_secs(30))?;
    wait_etcd_healthy(n1, &[n1, n2], Duration::from_secs(10))?;
    for leftover in ["/etc/kubernetes/manifests", "/var/lib/etcd"] {
        let entries: Vec<_> = std::fs::read_dir(n3.host_path(leftover))
            .with_context(|| format!("[node3] {leftover}"))?
            .filter_map(|e| e.ok().map(|e| e.file_name()))
            .collect();
        ensure!(entries.is_empty(), "[node3] {leftover} not empty after reset: {entries:?}");
    }
    // What node 3's kubelet (its mirror Pod) and the operator (`kubectl delete node`) would do.
    let mirror = format!("etcd-{}", n3.name());
    lb_kubectl_ok(
        bed,
        n1,
        &lb,
        &["delete", "pod", "-n", "kube-system", &mirror, "--grace-period=0", "--force"],
    )?;
    lb_kubectl_ok(bed, n1, &lb, &["delete", "node", n3.name()])?;
    backends.retain(|b| *b != api(n3));
    lb.set_backends(&backends)?;
    lb.wait_healthy(&backends, Duration::from_secs(10))?;
    steps.done("kubeadm-rs reset -f on node3: 2 members, writable");

    let (ok, printed, _) = run(n1, ours(), &strings(&["token", "create", "--print-join-command"]))?;
    ensure!(ok, "token create --print-join-command failed");
    let fresh = JoinCommand::parse(&printed).context("no join command printed by token create")?;
    ensure!(
        fresh.endpoint == endpoint && fresh.token != cmd.token,
        "token create printed {}",
        fresh.endpoint
    );
    // Without --config the advertise address defaults to 0.0.0.0 on a node without a default
    // route, which upstream refuses (VerifyAPIServerBindAddress), and so does kubeadm-rs.
    let refused = "cannot use \"0.0.0.0\" as the bind address for the API Server";
    for kubeadm in [ours(), components::bin("kubeadm")?.as_path()] {
        let (ok, _, err) = run(n1, kubeadm, &strings(&["init", "phase", "upload-certs", "--upload-certs"]))?;
        ensure!(
            !ok && err.contains(refused),
            "{}: init phase upload-certs without --config",
            kubeadm.display()
        );
    }
    let upload = ["init", "phase", "upload-certs", "--upload-certs", "--config", controlplane::CONFIG_PATH];
    let (ok, uploaded, _) = run(n1, ours(), &strings(&upload))?;
    ensure!(ok, "init phase upload-certs --upload-certs --config failed");
    let new_key =
        uploaded.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default().trim().to_string();
    ensure!(
        new_key.len() == 64 && new_key.bytes().all(|b| b.is_ascii_hexdigit()) && new_key != key,
        "init phase upload-certs did not print a new certificate key"
    );
    let (ok, cp_printed, _) = run(
        n1,
        ours(),
        &strings(&["token", "create", "--print-join-command", "--certificate-key", &new_key]),
    )?;
    ensure!(ok, "token create --print-join-command --certificate-key failed");
    ensure!(
        cp_printed.contains("--control-plane")
            && controlplane::certificate_key(&cp_printed).as_deref() == Some(new_key.as_str()),
        "token create --certificate-key did not print a control-plane join command with the key"
    );
    join_control_plane(bed, n3, n1, ours(), &fresh, &new_key, KUBELET_CONF, &[])?;
    backends.push(api(n3));
    lb.set_backends(&backends)?;
    lb.wait_healthy(&backends, Duration::from_secs(60))?;
    wait_members(n1, &all, Duration::from_secs(10))?;
    wait_etcd_healthy(n1, &all, Duration::from_secs(30))?;
    wait_lb_readyz(bed, n1, &lb, Duration::from_secs(30))?;
    check_nodes(bed, n1, &lb, &all, &[n4])?;
    steps.done("node3 re-joined as control plane (fresh token + key): 3 members");

    // 4. reset on the worker, then join again.
    reset(n4)?;
    for gone in
        [KUBELET_CONF, "/var/lib/kubelet/pki/kubelet-client-current.pem", "/etc/kubernetes/pki/ca.crt"]
    {
        ensure!(!n4.host_path(gone).exists(), "[node4] {gone} left after reset");
    }
    lb_kubectl_ok(bed, n1, &lb, &["delete", "node", n4.name()])?;
    join_worker(bed, n4, &fresh, &endpoint)?;
    let whoami = bed.kubectl_with(
        n4,
        KUBELET_CONF,
        &["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"],
    )?;
    ensure!(
        String::from_utf8_lossy(&whoami.stdout) == format!("system:node:{}", n4.name()),
        "[node4] kubelet.conf identity after re-join: {}",
        String::from_utf8_lossy(&whoami.stderr)
    );
    check_nodes(bed, n1, &lb, &all, &[n4])?;
    steps.done("kubeadm-rs reset -f on node4, join again");
    drop(healthz);
    Ok(())
}

/// Two control planes: `init_with` makes the cluster on node 1 (`init --upload-certs`, the
/// endpoint as controlPlaneEndpoint), `join_with` joins node 2 as control plane.
fn two_control_planes(bed: &Bed, steps: &mut Steps, init_with: &Path, join_with: &Path) -> Result<()> {
    let (n1, n2) = (bed.node(0), bed.node(1));
    let (lb, cmd, key) = ha_init(bed, n1, init_with)?;
    steps.done(&format!("endpoint + {} init --upload-certs on node1", init_with.display()));
    let _healthz = controlplane::start_kubelet_healthz(n2)?;
    if join_with == ours() {
        join_control_plane(bed, n2, n1, join_with, &cmd, &key, KUBELET_CONF, &[])?;
    } else {
        // Upstream's kubelet-wait-bootstrap waits for a kubelet's own TLS bootstrap: no kubelet
        // here, hence skipped, and the Node registered with node 2's admin.conf instead.
        join_control_plane(
            bed,
            n2,
            n1,
            join_with,
            &cmd,
            &key,
            ADMIN_CONF,
            &["--skip-phases", "kubelet-wait-bootstrap"],
        )?;
    }
    for f in ["/etc/kubernetes/pki/ca.crt", "/etc/kubernetes/pki/etcd/ca.crt", "/etc/kubernetes/pki/sa.pub"] {
        ensure!(n1.read_file(f)? == n2.read_file(f)?, "{f} differs between the control-plane nodes");
    }
    lb.set_backends(&[api(n1), api(n2)])?;
    lb.wait_healthy(&[api(n1), api(n2)], Duration::from_secs(60))?;
    steps.done(&format!("{} join --control-plane on node2", join_with.display()));
    wait_members(n1, &[n1, n2], Duration::from_secs(10))?;
    wait_etcd_healthy(n1, &[n1, n2], Duration::from_secs(30))?;
    wait_lb_readyz(bed, n1, &lb, Duration::from_secs(30))?;
    lb_write(bed, n2, &lb, "ha-interop", Duration::from_secs(10))?;
    check_nodes(bed, n1, &lb, &[n1, n2], &[])?;
    steps.done("checks: 2 voting members, readyz, Nodes");
    Ok(())
}

/// Runs `f` on a fresh bed of `nodes` nodes; prints the component logs when it fails and the
/// step timings always. The bed goes when it goes out of scope, also on failure or panic.
fn on_bed(name: &str, nodes: usize, f: impl FnOnce(&Bed, &mut Steps) -> Result<()>) -> Result<()> {
    if bed_preflight()? {
        return Ok(());
    }
    // Fail early and clearly when the load balancer's binary is not built.
    kubeadm_testbed::lb::find_bed_binary()?;
    components::bin("etcdctl")?;
    let _serial = heavy_lock()?;
    let mut steps = Steps::new();
    let bed = Bed::builder().name(name).nodes(nodes).start()?;
    steps.done("bed up");
    let r = f(&bed, &mut steps);
    if r.is_err() {
        eprintln!("===== component log tails =====\n{}", bed.log_tails(40));
    }
    steps.print(name);
    r
}

#[test]
fn kubeadm_rs_ha_cluster() -> Result<()> {
    on_bed("krs-ha", 4, ha_cluster)
}

#[test]
fn upstream_joins_kubeadm_rs_ha_cluster() -> Result<()> {
    if components::skip_requested() {
        return Ok(());
    }
    let upstream = components::bin("kubeadm")?;
    on_bed("krs-ha-upjoin", 2, |bed, steps| two_control_planes(bed, steps, ours(), &upstream))
}

#[test]
fn kubeadm_rs_joins_upstream_ha_cluster() -> Result<()> {
    if components::skip_requested() {
        return Ok(());
    }
    let upstream = components::bin("kubeadm")?;
    on_bed("krs-ha-rsjoin", 2, |bed, steps| two_control_planes(bed, steps, &upstream, ours()))
}
