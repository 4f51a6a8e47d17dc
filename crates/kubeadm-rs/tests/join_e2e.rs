//! End to end (issue 5): worker nodes join with `kubeadm-rs join`.
//!
//! `kubeadm_rs_workers_join`: a 3-node bed. Node 1 gets a cluster made by the full `kubeadm-rs
//! init` (with the kubelet stand-ins of init_e2e.rs: the bed's runner starts the static Pods, socat
//! answers the kubelet's healthz, a background thread creates node 1's Node object). Nodes 2 and 3
//! run the join command init printed, with kubeadm-rs (node 3 with `-o json`). The bed has no
//! kubelet, so each worker gets the socat healthz responder before it joins, and after the join the
//! test creates the worker's Node object with the worker's own kubelet.conf (the NodeRestriction
//! admission plugin lets a node create itself: this stands in for the kubelet's registration).
//! Checked:
//!
//! * both joins exit 0 and print upstream's closing block; node 3's `-o json` is one JoinResult
//!   document naming the node, its identity and its CSR;
//! * on each worker, `kubectl --kubeconfig /etc/kubernetes/kubelet.conf auth whoami` is
//!   `system:node:<name>` in `system:nodes`, and the worker creates, then reads, its own Node;
//! * with admin.conf on node 1: one CSR per worker (subject `CN=system:node:<name>,
//!   O=system:nodes`, signer `kubernetes.io/kube-apiserver-client-kubelet`, requestor
//!   `system:bootstrap:<token id>`), Approved and Issued (`kubectl get csr` says
//!   `Approved,Issued`), the issued certificate for the same subject;
//! * files: kubelet.conf 0600 pointing at `kubelet-client-current.pem`, a symlink to the 0600
//!   `kubelet-client-<timestamp>.pem` beside it; ca.crt 0644 equal to node 1's CA; the kubelet's
//!   config.yaml, kubeadm-flags.env and instance-config.yaml;
//! * joining node 2 again is refused by preflight (`FileAvailable--etc-kubernetes-kubelet.conf`)
//!   and changes nothing under /etc/kubernetes and /var/lib/kubelet (contents, modes, mtimes).
//!
//! `kubeadm_rs_joins_upstream_cluster` (interop): node 1 gets its cluster from UPSTREAM `kubeadm
//! init` v1.37.2; node 2 joins with kubeadm-rs right away (no wait for the cluster-info signature:
//! discovery waits for it) and `auth whoami` with its kubelet.conf shows the node identity. The other
//! direction (upstream's join discovery and preflight accept a cluster made by kubeadm-rs) is in
//! join_discovery.rs.
//!
//! Preflight: the workers ignore only what the bed lacks ([`BED_IGNORED_CHECKS`]), so the
//! FileAvailable checks stay errors.
//!
//! Needs root and the pinned components (`KUBEADM_RS_BIN_DIR`, or scripts/build-components.sh);
//! fails when they are missing, unless `KUBEADM_RS_SKIP_BED=1`.

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use base64::Engine as _;
use kubeadm_testbed::controlplane::{self, JoinCommand};
use kubeadm_testbed::{Bed, Node, bed_preflight, components, heavy_lock};
use serde_json::Value;

/// How long the Node object stand-in waits for the API server.
const NODE_TIMEOUT: Duration = Duration::from_secs(240);
const VERSION: &str = "v1.37.2";
/// How long one `join` may take (discovery, TLS bootstrap, kubelet checks).
const JOIN_TIMEOUT: Duration = Duration::from_secs(300);
/// The preflight checks a bed node fails: no container runtime (`CRI`, `ContainerRuntimeVersion`), cgroup v1 and no kernel
/// config (`SystemVerification`), no kubelet binary in PATH (`KubeletVersion`), and the node's own
/// network namespace starting with `net.ipv4.ip_forward = 0`.
const BED_IGNORED_CHECKS: &str = "--ignore-preflight-errors=CRI,ContainerRuntimeVersion,SystemVerification,KubeletVersion,FileContent--proc-sys-net-ipv4-ip_forward";
const ADMIN_CONF: &str = "/etc/kubernetes/admin.conf";
const KUBELET_CONF: &str = "/etc/kubernetes/kubelet.conf";
const CA_CRT: &str = "/etc/kubernetes/pki/ca.crt";
const KUBELET_PKI: &str = "/var/lib/kubelet/pki";
const CURRENT_PEM: &str = "/var/lib/kubelet/pki/kubelet-client-current.pem";
const SIGNER: &str = "kubernetes.io/kube-apiserver-client-kubelet";
/// The closing message of a worker join.
const JOINED: &str = "This node has joined the cluster:";

fn ours() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_kubeadm-rs"))
}

/// `kubeadm-rs <join command> <BED_IGNORED_CHECKS> <extra>` on `n`: (exit success, stdout,
/// stderr), printed for the test log.
fn join(n: &Node, cmd: &JoinCommand, extra: &[&str]) -> Result<(bool, String, String)> {
    let mut args = cmd.args();
    args.push(BED_IGNORED_CHECKS.to_string());
    args.extend(extra.iter().map(|s| s.to_string()));
    let start = std::time::Instant::now();
    let out = n.exec_timeout(ours(), &args, &[], JOIN_TIMEOUT)?;
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    eprintln!(
        "===== [{}] kubeadm-rs {} (exit {:?}, {:.1}s) =====\n{stdout}\n[stderr]\n{stderr}",
        n.name(),
        args.join(" "),
        out.status.code(),
        start.elapsed().as_secs_f64()
    );
    Ok((out.status.success(), stdout, stderr))
}

/// `CN` and `O` values of a subject.
fn subject_of(name: &x509_parser::x509::X509Name<'_>) -> (Vec<String>, Vec<String>) {
    let strs = |it: &mut dyn Iterator<Item = &x509_parser::x509::AttributeTypeAndValue<'_>>| {
        it.filter_map(|a| a.as_str().ok().map(String::from)).collect::<Vec<_>>()
    };
    (strs(&mut name.iter_common_name()), strs(&mut name.iter_organization()))
}

/// The subject (`CN`, `O`) of the PEM in a base64 API field (`spec.request`, `status.certificate`).
fn pem_subject(b64: &str, csr: bool) -> Result<(Vec<String>, Vec<String>)> {
    use x509_parser::prelude::FromDer as _;
    let pem_bytes = base64::engine::general_purpose::STANDARD.decode(b64).context("base64")?;
    let (_, pem) = x509_parser::pem::parse_x509_pem(&pem_bytes).map_err(|e| anyhow::anyhow!("PEM: {e}"))?;
    if csr {
        let (_, req) = x509_parser::certification_request::X509CertificationRequest::from_der(&pem.contents)
            .map_err(|e| anyhow::anyhow!("CSR: {e}"))?;
        Ok(subject_of(&req.certification_request_info.subject))
    } else {
        let (_, cert) = x509_parser::certificate::X509Certificate::from_der(&pem.contents)
            .map_err(|e| anyhow::anyhow!("cert: {e}"))?;
        Ok(subject_of(cert.subject()))
    }
}

/// The node's identity with its own kubelet.conf, and its Node object created and read with it.
fn check_node_credentials(bed: &Bed, n: &Node) -> Result<()> {
    controlplane::check_node_identity(bed, n, KUBELET_CONF)?;

    controlplane::register_node_as(bed, n, KUBELET_CONF, Duration::from_secs(60))
        .with_context(|| format!("{} creating its own Node object with its kubelet.conf", n.name()))?;
    let node = controlplane::kubectl_json(bed, n, KUBELET_CONF, &["node", n.name()])?;
    ensure!(node["metadata"]["name"] == n.name(), "[{}] read its Node: {node}", n.name());
    Ok(())
}

/// The files of a joined worker: modes, the certificate link, kubelet.conf's user, the CA.
fn check_files(cp: &Node, n: &Node) -> Result<()> {
    let mode = |p: &str| -> Result<u32> {
        Ok(std::fs::metadata(n.host_path(p))
            .with_context(|| format!("[{}] {p}", n.name()))?
            .permissions()
            .mode()
            & 0o7777)
    };
    ensure!(mode(KUBELET_CONF)? == 0o600, "[{}] {KUBELET_CONF} mode {:o}", n.name(), mode(KUBELET_CONF)?);
    ensure!(mode(CA_CRT)? == 0o644, "[{}] {CA_CRT} mode {:o}", n.name(), mode(CA_CRT)?);
    ensure!(
        std::fs::read(n.host_path(CA_CRT))? == std::fs::read(cp.host_path(CA_CRT))?,
        "[{}] {CA_CRT} differs from {}'s",
        n.name(),
        cp.name()
    );

    let link = n.host_path(CURRENT_PEM);
    ensure!(
        std::fs::symlink_metadata(&link)?.file_type().is_symlink(),
        "[{}] {CURRENT_PEM} is not a symlink",
        n.name()
    );
    let target = std::fs::read_link(&link)?;
    let target_abs = if target.is_absolute() { target.clone() } else { Path::new(KUBELET_PKI).join(&target) };
    ensure!(target_abs.parent() == Some(Path::new(KUBELET_PKI)), "[{}] link target {target:?}", n.name());
    let file_name = target_abs.file_name().and_then(|f| f.to_str()).unwrap_or_default();
    // The kubelet's certificate store names it kubelet-client-2006-01-02-15-04-05.pem.
    let stamp =
        file_name.strip_prefix("kubelet-client-").and_then(|s| s.strip_suffix(".pem")).unwrap_or_default();
    let digits: Vec<&str> = stamp.split('-').collect();
    ensure!(
        digits.len() == 6 && digits.iter().all(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())),
        "[{}] link target {target:?} is not kubelet-client-<timestamp>.pem",
        n.name()
    );
    let target_str = target_abs.to_str().context("target path")?;
    ensure!(mode(target_str)? == 0o600, "[{}] {target_str} mode {:o}", n.name(), mode(target_str)?);
    let pem = n.read_file(target_str)?;
    ensure!(
        pem.contains("-----BEGIN CERTIFICATE-----") && pem.contains("PRIVATE KEY-----"),
        "[{}] {target_str} is not a certificate + key bundle",
        n.name()
    );

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
    let server = conf["clusters"][0]["cluster"]["server"].as_str().unwrap_or_default();
    ensure!(server == format!("https://{}:6443", cp.ip()), "[{}] kubelet.conf server {server}", n.name());

    for f in [
        "/var/lib/kubelet/config.yaml",
        "/var/lib/kubelet/kubeadm-flags.env",
        "/var/lib/kubelet/instance-config.yaml",
    ] {
        ensure!(n.host_path(f).is_file(), "[{}] missing {f}", n.name());
    }
    ensure!(
        !n.host_path("/etc/kubernetes/bootstrap-kubelet.conf").exists(),
        "[{}] bootstrap-kubelet.conf left behind",
        n.name()
    );
    Ok(())
}

/// One CSR per worker, requested with the bootstrap token, approved and issued; returns the CSR
/// name of each worker.
fn check_csrs(bed: &Bed, cp: &Node, workers: &[&Node], token_id: &str) -> Result<BTreeMap<String, String>> {
    let list = controlplane::kubectl_json(bed, cp, ADMIN_CONF, &["csr"])?;
    let items = list["items"].as_array().cloned().unwrap_or_default();
    let mut names = BTreeMap::new();
    for w in workers {
        let cn = format!("system:node:{}", w.name());
        let mut mine = Vec::new();
        for csr in &items {
            let (cns, _) = pem_subject(csr["spec"]["request"].as_str().unwrap_or_default(), true)?;
            if cns == [cn.clone()] {
                mine.push(csr);
            }
        }
        ensure!(mine.len() == 1, "{} CSRs for {cn}: {list}", mine.len());
        let csr = mine[0];
        let name = csr["metadata"]["name"].as_str().unwrap_or_default().to_string();
        let (_, orgs) = pem_subject(csr["spec"]["request"].as_str().unwrap_or_default(), true)?;
        ensure!(orgs == ["system:nodes"], "CSR {name} organizations {orgs:?}");
        ensure!(csr["spec"]["signerName"] == SIGNER, "CSR {name}: {csr}");
        ensure!(
            csr["spec"]["username"] == format!("system:bootstrap:{token_id}"),
            "CSR {name} requestor: {csr}"
        );
        let conditions = csr["status"]["conditions"].as_array().cloned().unwrap_or_default();
        ensure!(
            conditions.iter().any(|c| c["type"] == "Approved" && c["status"] == "True"),
            "CSR {name} not approved: {csr}"
        );
        ensure!(
            !conditions.iter().any(|c| c["type"] == "Denied" || c["type"] == "Failed"),
            "CSR {name} denied or failed: {csr}"
        );
        let cert = csr["status"]["certificate"].as_str().unwrap_or_default();
        ensure!(!cert.is_empty(), "CSR {name} not issued: {csr}");
        let (cns, orgs) = pem_subject(cert, false)?;
        ensure!(cns == [cn.clone()] && orgs == ["system:nodes"], "CSR {name} issued {cns:?} {orgs:?}");
        names.insert(w.name().to_string(), name);
    }
    // kubectl's own view.
    let table = bed.kubectl_ok(cp, &["get", "csr"])?;
    eprintln!("[{}] kubectl get csr\n{table}", cp.name());
    for (node, name) in &names {
        let row = table
            .lines()
            .find(|l| l.starts_with(name.as_str()))
            .with_context(|| format!("no row {name}:\n{table}"))?;
        ensure!(row.contains("Approved,Issued"), "{node}'s CSR row: {row}");
        ensure!(row.contains(&format!("system:bootstrap:{token_id}")), "{node}'s CSR row: {row}");
    }
    Ok(names)
}

/// What a path looks like: file contents, link target or directory, with mode and mtime.
#[derive(Debug, PartialEq, Eq)]
enum Entry {
    File { data: Vec<u8>, mode: u32, mtime: (i64, i64) },
    Link { target: PathBuf, mtime: (i64, i64) },
    Dir { mode: u32 },
}

/// Everything under `dirs` in `n`, recursively, by path inside the node.
fn snapshot(n: &Node, dirs: &[&str]) -> Result<BTreeMap<PathBuf, Entry>> {
    fn walk(host: &Path, inside: &Path, out: &mut BTreeMap<PathBuf, Entry>) -> Result<()> {
        let md = std::fs::symlink_metadata(host).with_context(|| format!("{}", host.display()))?;
        let mtime = (md.mtime(), md.mtime_nsec());
        let mode = md.mode() & 0o7777;
        if md.file_type().is_symlink() {
            out.insert(inside.into(), Entry::Link { target: std::fs::read_link(host)?, mtime });
        } else if md.is_dir() {
            out.insert(inside.into(), Entry::Dir { mode });
            for e in std::fs::read_dir(host)? {
                let e = e?;
                walk(&e.path(), &inside.join(e.file_name()), out)?;
            }
        } else {
            out.insert(inside.into(), Entry::File { data: std::fs::read(host)?, mode, mtime });
        }
        Ok(())
    }
    let mut out = BTreeMap::new();
    for d in dirs {
        walk(&n.host_path(d), Path::new(d), &mut out)?;
    }
    Ok(out)
}

/// A second join of an already joined node fails in preflight and touches nothing.
fn check_rejoin_refused(n: &Node, cmd: &JoinCommand) -> Result<()> {
    let dirs = ["/etc/kubernetes", "/var/lib/kubelet"];
    let before = snapshot(n, &dirs)?;
    ensure!(before.contains_key(Path::new(KUBELET_CONF)), "snapshot misses kubelet.conf");
    let (ok, stdout, stderr) = join(n, cmd, &[])?;
    ensure!(!ok, "[{}] a second join succeeded:\n{stdout}\n{stderr}", n.name());
    let all = format!("{stdout}\n{stderr}");
    for want in
        ["[ERROR FileAvailable--etc-kubernetes-kubelet.conf]", "/etc/kubernetes/kubelet.conf already exists"]
    {
        ensure!(all.contains(want), "[{}] the second join did not say {want:?}:\n{all}", n.name());
    }
    ensure!(!all.contains(JOINED), "[{}] the refused join claims success:\n{all}", n.name());
    let after = snapshot(n, &dirs)?;
    if before != after {
        let changed: Vec<String> = before
            .keys()
            .chain(after.keys())
            .filter(|p| before.get(*p) != after.get(*p))
            .map(|p| p.display().to_string())
            .collect();
        bail!("[{}] the refused join changed {changed:?}", n.name());
    }
    Ok(())
}

fn workers_join(bed: &Bed) -> Result<()> {
    let (n1, n2, n3) = (bed.node(0), bed.node(1), bed.node(2));
    let init_out = controlplane::full_init(
        bed,
        n1,
        ours(),
        &controlplane::api_init_config(n1, VERSION),
        &[],
        NODE_TIMEOUT,
    )?;
    let cmd = JoinCommand::parse(&init_out)
        .with_context(|| format!("no join command in init's output:\n{init_out}"))?;
    ensure!(cmd.endpoint == format!("{}:6443", n1.ip()) && cmd.token == controlplane::TEST_TOKEN, "{cmd:?}");
    controlplane::wait_cluster_info_signed(bed, n1, cmd.token_id(), Duration::from_secs(60))?;

    // Stand-ins for the workers' kubelet health endpoints; they live until the bed goes.
    let _healthz = [controlplane::start_kubelet_healthz(n2)?, controlplane::start_kubelet_healthz(n3)?];

    let (ok, out2, err2) = join(n2, &cmd, &[])?;
    ensure!(ok, "kubeadm-rs join on {} failed:\n{out2}\n[stderr]\n{err2}", n2.name());
    ensure!(out2.contains(JOINED), "node2's join did not print {JOINED:?}:\n{out2}");

    let (ok, out3, err3) = join(n3, &cmd, &["-o", "json"])?;
    ensure!(ok, "kubeadm-rs join -o json on {} failed:\n{out3}\n[stderr]\n{err3}", n3.name());
    let doc: Value = serde_json::from_str(&out3)
        .with_context(|| format!("join -o json stdout is not one JSON document:\n{out3}"))?;

    for w in [n2, n3] {
        check_node_credentials(bed, w)?;
        check_files(n1, w)?;
    }
    let csrs = check_csrs(bed, n1, &[n2, n3], cmd.token_id())?;

    ensure!(doc["kind"] == "JoinResult", "{doc}");
    ensure!(doc["nodeName"] == n3.name(), "{doc}");
    ensure!(doc["identity"]["user"] == format!("system:node:{}", n3.name()), "{doc}");
    ensure!(
        doc["identity"]["groups"].as_array().is_some_and(|g| g.iter().any(|g| g == "system:nodes")),
        "{doc}"
    );
    ensure!(doc["controlPlane"] == false && doc["dryRun"] == false, "{doc}");
    ensure!(doc["apiServer"] == format!("https://{}", cmd.endpoint), "{doc}");
    ensure!(doc["certificateSigningRequest"] == csrs[n3.name()].as_str(), "CSRs {csrs:?}: {doc}");
    let client_cert = doc["clientCertificate"].as_str().unwrap_or_default();
    ensure!(client_cert.starts_with(KUBELET_PKI), "{doc}");

    check_rejoin_refused(n2, &cmd)?;

    let nodes = bed.kubectl_ok(n1, &["get", "nodes", "-o", "wide"])?;
    eprintln!("[{}] kubectl get nodes -o wide\n{nodes}", n1.name());
    for w in [n1, n2, n3] {
        ensure!(
            nodes.lines().any(|l| l.split_whitespace().next() == Some(w.name())),
            "{} missing:\n{nodes}",
            w.name()
        );
    }
    Ok(())
}

fn joins_upstream_cluster(bed: &Bed) -> Result<()> {
    let (n1, n2) = (bed.node(0), bed.node(1));
    let upstream = components::bin("kubeadm")?;
    let init_out = controlplane::full_init(
        bed,
        n1,
        &upstream,
        &controlplane::api_init_config(n1, VERSION),
        &[],
        NODE_TIMEOUT,
    )?;
    let cmd = JoinCommand::parse(&init_out)
        .with_context(|| format!("no join command in upstream init's output:\n{init_out}"))?;
    let _healthz = controlplane::start_kubelet_healthz(n2)?;
    let (ok, out, err) = join(n2, &cmd, &[])?;
    ensure!(ok, "kubeadm-rs join of an upstream cluster failed:\n{out}\n[stderr]\n{err}");
    ensure!(out.contains(JOINED), "{out}");
    check_node_credentials(bed, n2)?;
    check_files(n1, n2)?;
    check_csrs(bed, n1, &[n2], cmd.token_id())?;
    Ok(())
}

/// Runs `f` on a fresh bed; prints the component logs when it fails. The bed is torn down when
/// it goes out of scope, also on failure or panic.
fn on_bed(name: &str, nodes: usize, f: fn(&Bed) -> Result<()>) -> Result<()> {
    if bed_preflight()? {
        return Ok(());
    }
    let _serial = heavy_lock()?;
    let start = std::time::Instant::now();
    let bed = Bed::builder().name(name).nodes(nodes).start()?;
    let r = f(&bed);
    if r.is_err() {
        eprintln!("===== component log tails =====\n{}", bed.log_tails(40));
    }
    eprintln!("[{name}] {:.1}s", start.elapsed().as_secs_f64());
    r
}

#[test]
fn kubeadm_rs_workers_join() -> Result<()> {
    on_bed("krs-join", 3, workers_join)
}

#[test]
fn kubeadm_rs_joins_upstream_cluster() -> Result<()> {
    on_bed("krs-joinup", 2, joins_upstream_cluster)
}
