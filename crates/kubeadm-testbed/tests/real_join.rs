//! Real worker nodes join a kubeadm-rs cluster, in both TLS-bootstrap modes (issue 5 item 4,
//! issue 7).
//!
//! `real_workers_join_in_both_bootstrap_modes`: a bed of 3 real nodes (own containerd, the
//! kubelet run by the node's service through `KUBEADM_RS_KUBELET_SERVICE`, no runner):
//!
//! * node1: control plane by `kubeadm-rs init` as in real_node.rs (`realnode::cluster`), with
//!   the controller-manager's `--cluster-signing-duration` short ([`SIGNING_DURATION`]) so that
//!   the kubelets rotate their client certificates within the test;
//! * node2 (only the pause, kube-proxy and CoreDNS images) runs the join command init printed,
//!   with only `SystemVerification` ignored: kubeadm-rs's own TLS bootstrap (default). The
//!   kubelet starts with the kubelet.conf kubeadm-rs wrote; bootstrap-kubelet.conf never exists;
//! * node3: the same with `--kubelet-tls-bootstrap`: kubeadm-rs writes bootstrap-kubelet.conf,
//!   the real kubelet makes its own CSR (auto-approved), writes kubelet.conf and its pki files;
//!   `kubelet-wait-bootstrap` waits for that and removes bootstrap-kubelet.conf.
//!
//! The bed plays the CNI daemon: each worker gets its bridge network once its Node has a Pod
//! CIDR. Checked: all three Nodes Ready (admin.conf on node1); on each worker `kubectl
//! --kubeconfig /etc/kubernetes/kubelet.conf auth whoami` is `system:node:<name>` in
//! `system:nodes`; one bootstrap CSR per worker (requestor `system:bootstrap:<token id>`, subject
//! `CN=system:node:<name>,O=system:nodes`, kubelet client signer, `Approved,Issued`): node2's
//! made by kubeadm-rs (the deterministic `node-csr-<digest>` name it printed, no `kubelet` field
//! manager), node3's by the kubelet (its certificate manager bootstraps when rotateCertificates
//! is on, kubeadm's default: `generateName: csr-`, field manager `kubelet`); each issued
//! certificate is one of the kubelet's `kubelet-client-<time>.pem`
//! files; bootstrap-kubelet.conf absent on node3 afterwards; kube-proxy Running and Ready on all
//! three nodes; then both kubelets rotate their client certificates (a CSR requested by
//! `system:node:<name>`, approved and issued, `kubelet-client-current.pem` moved to the new
//! file, the node still Ready and `auth whoami` still the node); nothing of the bed or the real
//! nodes is left.
//!
//! Needs root, the pinned components, the bed's images and the kubeadm-rs binary (see
//! real_node.rs); fails when they are missing, unless `KUBEADM_RS_SKIP_BED=1`.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use kubeadm_testbed::controlplane::{self, JoinCommand};
use kubeadm_testbed::realnode::{self, RealNode, RealNodeOptions, cluster, images};
use kubeadm_testbed::state::{self, BedState};
use kubeadm_testbed::{Bed, Node, bed_preflight, heavy_lock, wait_for};
use serde_json::Value;

const VERSION: &str = "v1.37.2";
/// What a worker needs besides pause (always imported): kube-proxy's DaemonSet, and CoreDNS
/// should a replica be scheduled there. Importing all seven images costs ~760 MB per node.
const WORKER_IMAGES: &[&str] = &["kube-proxy", "coredns"];
/// The controller-manager's `--cluster-signing-duration`. Its signer backdates `notBefore` by
/// 5 min and, for short lifetimes, ends at now + duration; the kubelet rotates at a jittered
/// 70-90% of `notAfter - notBefore`: with 2m, 0-80 s after a certificate was issued.
const SIGNING_DURATION: &str = "2m";
const KUBELET_CONF: &str = "/etc/kubernetes/kubelet.conf";
const BOOTSTRAP_CONF: &str = "/etc/kubernetes/bootstrap-kubelet.conf";
const KUBELET_PKI: &str = "/var/lib/kubelet/pki";
const CURRENT_PEM: &str = "/var/lib/kubelet/pki/kubelet-client-current.pem";
const SIGNER: &str = "kubernetes.io/kube-apiserver-client-kubelet";
const JOINED: &str = "This node has joined the cluster:";
const READY_TIMEOUT: Duration = Duration::from_secs(120);
const ROTATION_TIMEOUT: Duration = Duration::from_secs(150);

fn cluster_extra() -> String {
    format!(
        "controllerManager:\n  extraArgs:\n  - name: cluster-signing-duration\n    value: {SIGNING_DURATION}\n"
    )
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

/// Runs `sh -c script` on the host with `input` on stdin; returns stdout.
fn host_filter(script: &str, input: &str) -> Result<String> {
    let mut child = Command::new("/bin/sh")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("running {script}"))?;
    child.stdin.take().context("stdin")?.write_all(input.as_bytes())?;
    let out = child.wait_with_output()?;
    ensure!(out.status.success(), "{script}: {}", String::from_utf8_lossy(&out.stderr));
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A base64 API field (`spec.request`, `status.certificate`) decoded: PEM text.
fn b64_pem(b64: &str) -> Result<String> {
    host_filter("openssl base64 -d -A", b64)
}

/// The subject of a CSR in PEM, RFC 2253 (`CN=system:node:node2,O=system:nodes`).
fn csr_subject(pem: &str) -> Result<String> {
    let s = host_filter("openssl req -noout -subject -nameopt RFC2253", pem)?;
    Ok(s.trim().trim_start_matches("subject=").to_string())
}

/// The first certificate of a PEM text (a kubelet-client-*.pem holds certificate and key).
fn first_cert(pem: &str) -> Option<String> {
    let begin = pem.find("-----BEGIN CERTIFICATE-----")?;
    let end_marker = "-----END CERTIFICATE-----";
    let end = pem[begin..].find(end_marker)? + begin + end_marker.len();
    Some(pem[begin..end].to_string())
}

/// The CSR name kubeadm-rs printed (`... (CertificateSigningRequest "node-csr-...")`).
fn printed_csr_name(text: &str) -> Option<String> {
    let rest = text.split("(CertificateSigningRequest \"").nth(1)?;
    Some(rest.split('"').next()?.to_string())
}

/// The field managers of a CSR's main resource (not its `approval` and `status` subresources,
/// which are the controller-manager's): who created it. The API server names a manager after the
/// client's User-Agent (`kubelet`; `kubeadm` for kubeadm-rs, as for upstream) and keeps no entry
/// whose field set is empty: a CSR created with a `name` (kubeadm-rs's) instead of the kubelet's
/// `generateName` has none.
fn creators(csr: &Value) -> Vec<String> {
    csr["metadata"]["managedFields"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .filter(|f| f.get("subresource").is_none_or(|s| s.as_str() == Some("")))
        .filter_map(|f| f["manager"].as_str().map(str::to_string))
        .collect()
}

/// A CertificateSigningRequest, as the checks need it.
#[derive(Debug, Clone)]
struct Csr {
    name: String,
    requestor: String,
    subject: String,
    generate_name: String,
    creators: Vec<String>,
    signer: String,
    approved: bool,
    denied_or_failed: bool,
    certificate: Option<String>,
}

fn list_csrs(bed: &Bed, admin: &Node) -> Result<Vec<Csr>> {
    let v = cluster::admin_json(bed, admin, &["csr", "--show-managed-fields"]).map_err(anyhow::Error::msg)?;
    let mut out = Vec::new();
    for c in v["items"].as_array().map(|a| a.as_slice()).unwrap_or_default() {
        let conditions = c["status"]["conditions"].as_array().cloned().unwrap_or_default();
        let cond = |t: &str| conditions.iter().any(|x| x["type"] == t && x["status"] == "True");
        let cert = c["status"]["certificate"].as_str().filter(|s| !s.is_empty());
        out.push(Csr {
            name: c["metadata"]["name"].as_str().unwrap_or_default().to_string(),
            requestor: c["spec"]["username"].as_str().unwrap_or_default().to_string(),
            subject: csr_subject(&b64_pem(c["spec"]["request"].as_str().unwrap_or_default())?)?,
            generate_name: c["metadata"]["generateName"].as_str().unwrap_or_default().to_string(),
            creators: creators(c),
            signer: c["spec"]["signerName"].as_str().unwrap_or_default().to_string(),
            approved: cond("Approved"),
            denied_or_failed: cond("Denied") || cond("Failed"),
            certificate: cert.map(b64_pem).transpose()?,
        });
    }
    Ok(out)
}

/// Where `kubelet-client-current.pem` points (absolute).
fn current_target(n: &Node) -> Result<PathBuf> {
    let target = std::fs::read_link(n.host_path(CURRENT_PEM))
        .with_context(|| format!("[{}] {CURRENT_PEM}", n.name()))?;
    Ok(if target.is_absolute() { target } else { Path::new(KUBELET_PKI).join(target) })
}

/// The certificates of the node's `kubelet-client-<time>.pem` files.
fn client_certs(n: &Node) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(n.host_path(KUBELET_PKI))? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("kubelet-client-")
            && name != "kubelet-client-current.pem"
            && name.ends_with(".pem")
        {
            out.extend(first_cert(&std::fs::read_to_string(e.path())?));
        }
    }
    Ok(out)
}

/// kubelet.conf's user is the kubelet's rotating client certificate.
fn check_kubelet_conf(n: &Node) -> Result<()> {
    let conf: serde_yaml::Value = serde_yaml::from_str(&n.read_file(KUBELET_CONF)?)?;
    let user = &conf["users"][0]["user"];
    for field in ["client-certificate", "client-key"] {
        ensure!(
            user[field].as_str() == Some(CURRENT_PEM),
            "[{}] kubelet.conf {field} = {:?}, want {CURRENT_PEM}",
            n.name(),
            user[field]
        );
    }
    Ok(())
}

/// What the join of one worker left to check later.
struct Joined {
    /// The CSR name kubeadm-rs printed (default mode only).
    printed_csr: Option<String>,
    /// `kubelet-client-current.pem`'s target right after the join.
    first_cert_file: PathBuf,
    /// When the join ended.
    at: Instant,
}

fn join(rn: &RealNode, ours: &Path, cmd: &JoinCommand, kubelet_tls_bootstrap: bool) -> Result<Joined> {
    let n = rn.node();
    let mut args = cmd.args();
    args.push(cluster::IGNORE_PREFLIGHT.to_string());
    if kubelet_tls_bootstrap {
        args.push("--kubelet-tls-bootstrap".to_string());
    }
    let run = cluster::kubeadm_rs(rn, ours, &args)?;
    eprintln!(
        "===== [{}] kubeadm-rs {} ({}, {:.1}s) =====\n{}",
        n.name(),
        args.join(" "),
        run.output.status,
        run.took.as_secs_f64(),
        run.text
    );
    ensure!(run.success(), "[{}] kubeadm-rs join failed", n.name());
    ensure!(run.stdout().contains(JOINED), "[{}] join did not print {JOINED:?}", n.name());
    ensure!(
        !run.text.contains("No supported init system detected"),
        "[{}] join did not use the kubelet service",
        n.name()
    );
    // Whoever bootstrapped, the kubelet's credentials are there and the bootstrap credential is
    // gone (kubelet-wait-bootstrap removes it; kubeadm-rs's own bootstrap never writes it).
    ensure!(!n.host_path(BOOTSTRAP_CONF).exists(), "[{}] {BOOTSTRAP_CONF} exists after the join", n.name());
    check_kubelet_conf(n)?;
    let first_cert_file = current_target(n)?;
    let printed_csr = printed_csr_name(&run.text);
    if kubelet_tls_bootstrap {
        ensure!(
            printed_csr.is_none(),
            "[{}] kubeadm-rs requested a certificate itself: {printed_csr:?}",
            n.name()
        );
    } else {
        ensure!(printed_csr.is_some(), "[{}] kubeadm-rs printed no CSR name", n.name());
    }
    Ok(Joined { printed_csr, first_cert_file, at: Instant::now() })
}

/// Who made a worker's bootstrap CSR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Requester {
    /// kubeadm-rs's own TLS bootstrap: the kubelet's deterministic `node-csr-<digest>` name (as
    /// kubeadm-rs printed it), no `kubelet` field manager.
    KubeadmRs,
    /// The kubelet's: with `rotateCertificates` (kubeadm's default) its certificate manager
    /// bootstraps, with `generateName: csr-`; field manager `kubelet`.
    Kubelet,
}

/// The bootstrap CSR of `n` (requestor `system:bootstrap:<id>`): exactly one, approved and
/// issued, made by `by`; its certificate is one of the kubelet's client certificate files.
fn check_bootstrap_csr(
    csrs: &[Csr],
    n: &Node,
    token_id: &str,
    by: Requester,
    printed: Option<&str>,
) -> Result<Csr> {
    let subject = format!("CN=system:node:{},O=system:nodes", n.name());
    let mine: Vec<&Csr> = csrs
        .iter()
        .filter(|c| c.subject == subject && c.requestor == format!("system:bootstrap:{token_id}"))
        .collect();
    ensure!(mine.len() == 1, "[{}] bootstrap CSRs: {mine:#?}", n.name());
    let c = mine[0].clone();
    ensure!(c.signer == SIGNER, "[{}] CSR {} signer {}", n.name(), c.name, c.signer);
    ensure!(c.approved && !c.denied_or_failed, "[{}] CSR {} not approved: {c:?}", n.name(), c.name);
    match by {
        Requester::KubeadmRs => ensure!(
            c.name.starts_with("node-csr-")
                && Some(c.name.as_str()) == printed
                && c.generate_name.is_empty()
                && !c.creators.iter().any(|m| m == "kubelet"),
            "[{}] CSR {c:?} is not the one kubeadm-rs printed ({printed:?})",
            n.name()
        ),
        Requester::Kubelet => ensure!(
            c.name.starts_with("csr-") && c.generate_name == "csr-" && c.creators == ["kubelet"],
            "[{}] CSR {c:?} was not made by the kubelet",
            n.name()
        ),
    }
    let cert = c.certificate.clone().with_context(|| format!("[{}] CSR {} not issued", n.name(), c.name))?;
    let cert = first_cert(&cert).context("issued certificate: no PEM")?;
    ensure!(
        client_certs(n)?.contains(&cert),
        "[{}] the certificate issued for {} is in none of {KUBELET_PKI}/kubelet-client-*.pem",
        n.name(),
        c.name
    );
    Ok(c)
}

/// `kubectl get csr` says `Approved,Issued` for `name`.
fn check_csr_row(table: &str, name: &str) -> Result<()> {
    let row = table
        .lines()
        .find(|l| l.starts_with(name))
        .with_context(|| format!("no row for {name}:\n{table}"))?;
    ensure!(row.contains("Approved,Issued"), "CSR row: {row}");
    Ok(())
}

fn all_nodes_ready(bed: &Bed, admin: &Node, names: &BTreeSet<String>) -> Result<(), String> {
    let v = cluster::admin_json(bed, admin, &["nodes"])?;
    let ready: BTreeSet<String> = v["items"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .filter(|n| {
            n["status"]["conditions"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
        })
        .filter_map(|n| n["metadata"]["name"].as_str().map(str::to_string))
        .collect();
    if &ready == names { Ok(()) } else { Err(format!("Ready: {ready:?}, want {names:?}")) }
}

/// A rotation of `n`'s client certificate: a CSR requested by the node itself, approved and
/// issued, and `kubelet-client-current.pem` moved off `first` to a file holding that certificate.
fn rotated(csrs: &[Csr], n: &Node, first: &Path) -> Result<String, String> {
    let me = format!("system:node:{}", n.name());
    let issued: Vec<&Csr> = csrs
        .iter()
        .filter(|c| c.requestor == me && c.approved && c.certificate.is_some() && c.signer == SIGNER)
        .collect();
    if issued.is_empty() {
        return Err(format!("no issued CSR requested by {me}"));
    }
    let now = current_target(n).map_err(|e| e.to_string())?;
    if now == first {
        return Err(format!("{CURRENT_PEM} still points to {}", first.display()));
    }
    let pem = std::fs::read_to_string(n.host_path(&now)).map_err(|e| e.to_string())?;
    let cert = first_cert(&pem).ok_or("no certificate in the current file")?;
    issued
        .iter()
        .find(|c| c.certificate.as_deref().and_then(first_cert).as_deref() == Some(cert.as_str()))
        .map(|c| c.name.clone())
        .ok_or_else(|| format!("{} holds none of the certificates issued to {me}", now.display()))
}

fn checks(bed: &Bed, rn1: &RealNode, rn2: &RealNode, rn3: &RealNode, ours: &Path) -> Result<()> {
    let (n1, n2, n3) = (rn1.node(), rn2.node(), rn3.node());
    let t0 = Instant::now();

    // 1. The control plane.
    let init = cluster::init(rn1, ours, VERSION, &cluster_extra())?;
    eprintln!("kubeadm-rs init on {}: {:.1}s", n1.name(), init.took.as_secs_f64());
    let cmd =
        JoinCommand::parse(&init.stdout()).with_context(|| format!("no join command in:\n{}", init.text))?;
    let cm = n1.read_file("/etc/kubernetes/manifests/kube-controller-manager.yaml")?;
    ensure!(
        cm.contains(&format!("--cluster-signing-duration={SIGNING_DURATION}")),
        "controller-manager:\n{cm}"
    );

    // 2./3. The workers join with the command init printed: kubeadm-rs's TLS bootstrap on node2,
    // the kubelet's on node3.
    let j2 = join(rn2, ours, &cmd, false)?;
    let j3 = join(rn3, ours, &cmd, true)?;
    eprintln!("both workers joined {:.1}s after init started", t0.elapsed().as_secs_f64());
    for rn in [rn2, rn3] {
        let cidr = rn.wait_pod_network(bed, n1, Duration::from_secs(60))?;
        eprintln!("[{}] Pod CIDR {cidr}: CNI network written", rn.node().name());
    }
    let names: BTreeSet<String> = [n1, n2, n3].iter().map(|n| n.name().to_string()).collect();
    wait_for("all three Nodes to be Ready", READY_TIMEOUT, || all_nodes_ready(bed, n1, &names))?;
    eprintln!("all Nodes Ready {:.1}s after init started", t0.elapsed().as_secs_f64());

    // 4. The workers' identities and how they got them.
    for n in [n2, n3] {
        controlplane::check_node_identity(bed, n, KUBELET_CONF)?;
    }
    let csrs = list_csrs(bed, n1)?;
    let c2 = check_bootstrap_csr(&csrs, n2, cmd.token_id(), Requester::KubeadmRs, j2.printed_csr.as_deref())?;
    let c3 = check_bootstrap_csr(&csrs, n3, cmd.token_id(), Requester::Kubelet, None)?;
    let table = bed.kubectl_ok(n1, &["get", "csr"])?;
    eprintln!("[{}] kubectl get csr\n{table}", n1.name());
    check_csr_row(&table, &c2.name)?;
    check_csr_row(&table, &c3.name)?;
    ensure!(!n3.host_path(BOOTSTRAP_CONF).exists(), "{BOOTSTRAP_CONF} came back on {}", n3.name());

    // kube-proxy Running and Ready on every node.
    let r = wait_for("kube-proxy to be Ready on every node", READY_TIMEOUT, || {
        let ready = cluster::ready_kube_system_pods(bed, n1)?;
        let on: BTreeSet<String> =
            ready.iter().filter(|p| p.name.starts_with("kube-proxy-")).map(|p| p.node.clone()).collect();
        if on == names { Ok(()) } else { Err(format!("kube-proxy Ready on {on:?}")) }
    });
    eprintln!("{}", bed.kubectl_ok(n1, &["get", "pods", "-A", "-o", "wide"])?);
    r?;
    eprintln!("kube-proxy Ready on all nodes {:.1}s after init started", t0.elapsed().as_secs_f64());

    // 5. Both kubelets rotate their client certificates (the kubeadm-rs-written one on node2,
    // the kubelet's own on node3).
    for (rn, j) in [(rn2, &j2), (rn3, &j3)] {
        let n = rn.node();
        let what = format!("{}'s kubelet to rotate its client certificate", n.name());
        let left = ROTATION_TIMEOUT.saturating_sub(j.at.elapsed());
        let csr = wait_for(&what, left, || {
            let csrs = list_csrs(bed, n1).map_err(|e| e.to_string())?;
            rotated(&csrs, n, &j.first_cert_file)
        })?;
        eprintln!(
            "[{}] client certificate rotated: the current one is from CSR {csr} (seen {:.1}s after the join)",
            n.name(),
            j.at.elapsed().as_secs_f64()
        );
        controlplane::check_node_identity(bed, n, KUBELET_CONF)?;
        check_kubelet_conf(n)?;
    }
    wait_for("all three Nodes to be Ready after the rotations", READY_TIMEOUT, || {
        all_nodes_ready(bed, n1, &names)
    })?;
    eprintln!("{}", bed.kubectl_ok(n1, &["get", "csr"])?);
    eprintln!("checks done {:.1}s after init started", t0.elapsed().as_secs_f64());
    Ok(())
}

#[test]
fn real_workers_join_in_both_bootstrap_modes() -> Result<()> {
    if bed_preflight()? {
        return Ok(());
    }
    images::image_set().context("the bed's images (scripts/build-images.sh)")?;
    let ours = realnode::kubeadm_rs_bin()?;
    let _serial = heavy_lock()?;
    let started = Instant::now();
    let bed = Bed::builder().name("real-join").nodes(3).start()?;
    let bed_state = bed.state();
    let rn1 =
        RealNode::start(&bed, bed.node(0), RealNodeOptions::default().pod_cidr(cluster::FIRST_POD_CIDR))?;
    let rn2 = RealNode::start(&bed, bed.node(1), RealNodeOptions::default().images(WORKER_IMAGES))?;
    let rn3 = RealNode::start(&bed, bed.node(2), RealNodeOptions::default().images(WORKER_IMAGES))?;
    let real: Vec<_> =
        [&rn1, &rn2, &rn3].iter().map(|rn| (rn.state().clone(), rn.node().netns().to_string())).collect();
    for rn in [&rn2, &rn3] {
        let got: BTreeSet<&str> = rn.images().iter().map(|i| i.short_name()).collect();
        let want: BTreeSet<&str> = ["pause"].iter().chain(WORKER_IMAGES).copied().collect();
        if got != want {
            bail!("[{}] images {got:?}, want {want:?}", rn.node().name());
        }
    }
    eprintln!("3 real nodes up in {:.1}s", started.elapsed().as_secs_f64());
    if let Err(e) = checks(&bed, &rn1, &rn2, &rn3, &ours) {
        eprintln!("===== log tails =====\n{}", bed.log_tails(40));
        return Err(e);
    }
    let mut problems = Vec::new();
    for rn in [rn3, rn2, rn1] {
        problems.extend(rn.down());
    }
    ensure!(problems.is_empty(), "real node teardown: {problems:?}");
    let problems = bed.down();
    ensure!(problems.is_empty(), "bed teardown: {problems:?}");
    assert_nothing_left(&bed_state, &real)?;
    eprintln!("real_workers_join_in_both_bootstrap_modes took {:.1}s", started.elapsed().as_secs_f64());
    Ok(())
}
