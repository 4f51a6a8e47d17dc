//! Issue 6: the external etcd topology, for `init` and `join --control-plane`.
//!
//! Node 3 hosts an etcd outside the cluster: kubeadm-rs makes its CA and certificates
//! (`init phase certs etcd-ca|etcd-server|etcd-peer|apiserver-etcd-client` with node 3's address),
//! and the pinned etcd serves `https://<node3>:2379` with client-certificate authentication. As an
//! operator would, the test copies the etcd CA certificate and the apiserver-etcd-client pair to
//! node 1 at the paths the configuration names (`etcd.external.{caFile,certFile,keyFile}`); node 1
//! runs `kubeadm-rs init --upload-certs` (`controlPlaneEndpoint` = node 1); node 2 joins as a
//! control plane with the certificate key (the kubeadm-certs Secret carries the external etcd
//! files), beside the bed's kubelet stand-ins (runner, health endpoint, Node registration).
//! Checked:
//!
//! * preflight's ExternalEtcdVersion check reaches node 3's etcd over TLS with the client pair
//!   (no finding), and reports a closed endpoint;
//! * init and join exit 0; neither node has an etcd static Pod; both API servers use node 3's etcd;
//! * the kubeadm-certs Secret holds `external-etcd-ca.crt`, `external-etcd.crt`,
//!   `external-etcd.key` (no etcd CA key), and node 2 got them at the configured paths;
//! * node 2's API server answers `/readyz` and reads node 1's write; node 3's etcd holds the
//!   cluster's keys (`etcdctl get /registry --prefix --keys-only`, with the client certificate);
//! * `reset -f` on node 2 takes the external-etcd path (`[reset] No etcd config found. Assuming
//!   external etcd`) at once, and node 3's etcd and node 1's cluster are unaffected.
//!
//! Needs root and the pinned components; fails when they are missing unless
//! `KUBEADM_RS_SKIP_BED=1`.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use kubeadm_testbed::controlplane::{self, JoinCommand};
use kubeadm_testbed::{Bed, Node, NodeProcess, bed_preflight, components, heavy_lock, wait_for};

const VERSION: &str = "v1.37.2";
const NODE_TIMEOUT: Duration = Duration::from_secs(300);
const JOIN_TIMEOUT: Duration = Duration::from_secs(420);
/// What a bed node lacks (see join_control_plane.rs).
const BED_IGNORED_CHECKS: &str = "--ignore-preflight-errors=CRI,ContainerRuntimeVersion,SystemVerification,KubeletVersion,FileContent--proc-sys-net-ipv4-ip_forward,ImagePull";
const ADMIN_CONF: &str = "/etc/kubernetes/admin.conf";
const KUBELET_CONF: &str = "/etc/kubernetes/kubelet.conf";
/// Where the operator puts the external etcd's client files on the control-plane nodes (the paths
/// of kubeadm's "external etcd" HA guide).
const ETCD_CA: &str = "/etc/kubernetes/pki/etcd/ca.crt";
const ETCD_CERT: &str = "/etc/kubernetes/pki/apiserver-etcd-client.crt";
const ETCD_KEY: &str = "/etc/kubernetes/pki/apiserver-etcd-client.key";
const PKI: &str = "/etc/kubernetes/pki";

fn ours() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_kubeadm-rs"))
}

/// etcdctl in node 3 against its etcd, with the apiserver-etcd-client identity.
fn etcdctl(n3: &Node, args: &[&str]) -> Result<String> {
    let etcdctl = components::bin("etcdctl")?;
    let ep = format!("--endpoints=https://{}:2379", n3.ip());
    let mut all = vec![ep.as_str(), "--cacert", ETCD_CA, "--cert", ETCD_CERT, "--key", ETCD_KEY];
    all.extend_from_slice(args);
    Ok(n3.exec_ok(&etcdctl, &all, &[])?)
}

/// Node 3's etcd: certificates by kubeadm-rs, then the pinned etcd with TLS and client-cert auth
/// for clients and peers.
fn start_external_etcd(n3: &Node) -> Result<NodeProcess> {
    let cfg = "/run/kubeadm/etcd-certs.yaml";
    n3.write_file(cfg, controlplane::init_config(n3, VERSION))?;
    for phase in ["etcd-ca", "etcd-server", "etcd-peer", "apiserver-etcd-client"] {
        let out = n3.exec_ok(ours(), ["init", "phase", "certs", phase, "--config", cfg], &[])?;
        eprintln!("[{}] kubeadm-rs init phase certs {phase}\n{out}", n3.name());
    }
    let ip = n3.ip();
    let name = n3.name();
    let etcd_dir = format!("{PKI}/etcd");
    let args: Vec<String> = [
        format!("--name={name}"),
        "--data-dir=/var/lib/etcd/external".to_string(),
        format!("--listen-client-urls=https://{ip}:2379,https://127.0.0.1:2379"),
        format!("--advertise-client-urls=https://{ip}:2379"),
        format!("--listen-peer-urls=https://{ip}:2380"),
        format!("--initial-advertise-peer-urls=https://{ip}:2380"),
        format!("--initial-cluster={name}=https://{ip}:2380"),
        "--initial-cluster-state=new".to_string(),
        format!("--cert-file={etcd_dir}/server.crt"),
        format!("--key-file={etcd_dir}/server.key"),
        format!("--trusted-ca-file={etcd_dir}/ca.crt"),
        "--client-cert-auth=true".to_string(),
        format!("--peer-cert-file={etcd_dir}/peer.crt"),
        format!("--peer-key-file={etcd_dir}/peer.key"),
        format!("--peer-trusted-ca-file={etcd_dir}/ca.crt"),
        "--peer-client-cert-auth=true".to_string(),
        "--listen-metrics-urls=http://127.0.0.1:2381".to_string(),
    ]
    .to_vec();
    let etcd = n3.spawn(components::bin("etcd")?, &args, &[])?;
    wait_for("node 3's etcd healthy", Duration::from_secs(60), || {
        etcdctl(n3, &["endpoint", "health"]).map_err(|e| e.to_string())
    })?;
    // Without a client certificate the etcd refuses the client.
    let etcdctl_bin = components::bin("etcdctl")?;
    let ep = format!("--endpoints=https://{ip}:2379");
    let anon =
        n3.exec(&etcdctl_bin, [ep.as_str(), "--cacert", ETCD_CA, "--command-timeout=3s", "get", "x"], &[])?;
    ensure!(!anon.status.success(), "node 3's etcd accepts clients without a certificate");
    Ok(etcd)
}

fn external_etcd(bed: &Bed) -> Result<()> {
    let (n1, n2, n3) = (bed.node(0), bed.node(1), bed.node(2));
    let _etcd = start_external_etcd(n3)?;

    // The operator copies the CA certificate and the API server's client pair to node 1.
    for f in [ETCD_CA, ETCD_CERT, ETCD_KEY] {
        n1.write_file(f, n3.read_file(f)?)?;
    }
    let endpoint = format!("{}:6443", n1.ip());
    let config = controlplane::init_config_with(
        n1,
        VERSION,
        &format!(
            "bootstrapTokens:\n- token: {}\ntimeouts:\n  kubeletHealthCheck: 1m0s\n  controlPlaneComponentHealthCheck: 3m0s\n",
            controlplane::TEST_TOKEN
        ),
        &format!(
            "controlPlaneEndpoint: {endpoint}\netcd:\n  external:\n    endpoints:\n    - https://{}:2379\n    \
             caFile: {ETCD_CA}\n    certFile: {ETCD_CERT}\n    keyFile: {ETCD_KEY}\n",
            n3.ip()
        ),
    );
    // Preflight's ExternalEtcdVersion check queries node 3's etcd over TLS with the client pair:
    // silent when it answers, an error (shown as a warning, all being ignored) when it does not.
    let preflight = |cfg: &str| -> Result<String> {
        let path = "/run/kubeadm/preflight.yaml";
        n1.write_file(path, cfg)?;
        let o = n1.exec(
            ours(),
            ["init", "phase", "preflight", "--config", path, "--ignore-preflight-errors=all"],
            &[],
        )?;
        ensure!(o.status.success(), "init phase preflight: {}", String::from_utf8_lossy(&o.stderr));
        let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
        for l in stderr.lines().filter(|l| l.contains("ExternalEtcd")) {
            eprintln!("[{}] init phase preflight: {l}", n1.name());
        }
        Ok(stderr)
    };
    let checks = preflight(&config)?;
    ensure!(!checks.contains("ExternalEtcdVersion"), "ExternalEtcdVersion against a healthy etcd:\n{checks}");
    let checks = preflight(&config.replace(":2379\n", ":2390\n"))?;
    ensure!(
        checks.contains(&format!(
            "[WARNING ExternalEtcdVersion]: Get \"https://{}:2390/version\": connection refused",
            n3.ip()
        )),
        "ExternalEtcdVersion against a closed port:\n{checks}"
    );
    // The server is verified with caFile: another CA fails.
    let other = "/run/kubeadm/other-ca.yaml";
    n1.write_file(
        other,
        controlplane::init_config_with(n1, VERSION, "", "certificatesDir: /run/kubeadm/other-pki\n"),
    )?;
    n1.exec_ok(ours(), ["init", "phase", "certs", "ca", "--config", other], &[])?;
    let checks =
        preflight(&config.replace(&format!("caFile: {ETCD_CA}"), "caFile: /run/kubeadm/other-pki/ca.crt"))?;
    ensure!(
        checks.contains("[WARNING ExternalEtcdVersion]: Get ") && checks.contains("UnknownIssuer"),
        "ExternalEtcdVersion with another CA:\n{checks}"
    );
    // The etcd wants a client certificate: none fails.
    let no_client = config.replace(&format!("    certFile: {ETCD_CERT}\n    keyFile: {ETCD_KEY}\n"), "");
    ensure!(no_client != config, "the client pair was not removed from the config");
    let checks = preflight(&no_client)?;
    ensure!(
        checks.contains("[WARNING ExternalEtcdVersion]: Get "),
        "ExternalEtcdVersion without a client certificate:\n{checks}"
    );

    let init_out = controlplane::full_init(bed, n1, ours(), &config, &["--upload-certs"], NODE_TIMEOUT)?;
    let cmd = JoinCommand::parse(&init_out).with_context(|| format!("no join command in:\n{init_out}"))?;
    let key = controlplane::certificate_key(&init_out)
        .with_context(|| format!("no --certificate-key in:\n{init_out}"))?;
    controlplane::wait_cluster_info_signed(bed, n1, cmd.token_id(), Duration::from_secs(60))?;

    // What upload-certs stored: the external etcd's files, no etcd CA.
    let secret =
        controlplane::kubectl_json(bed, n1, ADMIN_CONF, &["secret", "-n", "kube-system", "kubeadm-certs"])?;
    let data = secret["data"].as_object().cloned().unwrap_or_default();
    for k in ["external-etcd-ca.crt", "external-etcd.crt", "external-etcd.key"] {
        ensure!(
            data.get(k).and_then(|v| v.as_str()).is_some_and(|v| !v.is_empty()),
            "kubeadm-certs lacks {k}"
        );
    }
    ensure!(
        !data.contains_key("etcd-ca.key") && !data.contains_key("etcd-ca.crt"),
        "kubeadm-certs: {:?}",
        data.keys()
    );

    // Node 2 joins as a control plane.
    let _healthz = controlplane::start_kubelet_healthz(n2)?;
    bed.start_runner(n2)?;
    let mut args = cmd.control_plane_args(&key, n2);
    args.push(BED_IGNORED_CHECKS.to_string());
    let start = Instant::now();
    let (out, registered) = std::thread::scope(|s| {
        let registrar = s.spawn(|| controlplane::register_node_as(bed, n2, KUBELET_CONF, NODE_TIMEOUT));
        let out = n2.exec_timeout(ours(), &args, &[], JOIN_TIMEOUT);
        (out, registrar.join())
    });
    let out = out?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    eprintln!(
        "===== [{}] kubeadm-rs join --control-plane (exit {:?}, {:.1}s) =====\n{stdout}\n[stderr]\n{stderr}",
        n2.name(),
        out.status.code(),
        start.elapsed().as_secs_f64()
    );
    ensure!(out.status.success(), "join --control-plane failed");
    ensure!(
        stdout.contains("This node has joined the cluster and a new control plane instance was created:"),
        "closing message missing"
    );
    ensure!(
        stdout.contains("[control-plane-join] Using external etcd - no local stacked instance added"),
        "the external etcd line is missing"
    );
    registered.map_err(|_| anyhow::anyhow!("registration thread panicked"))??;

    // No local etcd anywhere; both API servers use node 3's.
    let etcd_servers = format!("--etcd-servers=https://{}:2379", n3.ip());
    for n in [n1, n2] {
        ensure!(
            !n.host_path("/etc/kubernetes/manifests/etcd.yaml").exists(),
            "{} has an etcd static Pod",
            n.name()
        );
        let apiserver = n.read_file("/etc/kubernetes/manifests/kube-apiserver.yaml")?;
        ensure!(apiserver.contains(&etcd_servers), "{}: kube-apiserver without {etcd_servers}", n.name());
        ensure!(!n.host_path("/var/lib/etcd/member").exists(), "{} has etcd data", n.name());
    }
    // The external etcd files were downloaded to the configured paths; no etcd CA key or etcd
    // serving certificates were made on node 2.
    for f in [ETCD_CA, ETCD_CERT, ETCD_KEY, "/etc/kubernetes/pki/ca.crt", "/etc/kubernetes/pki/sa.pub"] {
        ensure!(n2.read_file(f)? == n1.read_file(f)?, "{f} differs between node 1 and node 2");
    }
    for f in ["etcd/ca.key", "etcd/server.crt", "etcd/peer.crt", "etcd/healthcheck-client.crt"] {
        ensure!(!n2.host_path(format!("{PKI}/{f}")).exists(), "node 2 has {f}");
    }

    // Node 2's API server serves and reads node 1's write.
    let server = format!("--server=https://{}:6443", n2.ip());
    wait_for("node 2's /readyz", Duration::from_secs(60), || {
        let ready = bed
            .kubectl_with(n2, ADMIN_CONF, &[server.as_str(), "get", "--raw", "/readyz"])
            .map_err(|e| e.to_string())?;
        ready
            .status
            .success()
            .then_some(())
            .ok_or_else(|| String::from_utf8_lossy(&ready.stderr).into_owned())
    })?;
    let created = bed.kubectl_with(
        n1,
        ADMIN_CONF,
        &["create", "configmap", "external-etcd-probe", "--from-literal=k=v"],
    )?;
    ensure!(created.status.success(), "create: {}", String::from_utf8_lossy(&created.stderr));
    let cm = bed.kubectl_with(
        n2,
        ADMIN_CONF,
        &[server.as_str(), "get", "configmap", "external-etcd-probe", "-o", "jsonpath={.data.k}"],
    )?;
    ensure!(
        cm.status.success() && String::from_utf8_lossy(&cm.stdout) == "v",
        "node 2 reading node 1's write: {}",
        String::from_utf8_lossy(&cm.stderr)
    );

    // The cluster's keys are in node 3's etcd.
    let keys = etcdctl(n3, &["get", "/registry", "--prefix", "--keys-only", "--limit", "5"])?;
    ensure!(keys.lines().filter(|l| l.starts_with("/registry/")).count() == 5, "etcd keys: {keys}");
    let probe_key = "/registry/configmaps/default/external-etcd-probe";
    ensure!(
        etcdctl(n3, &["get", probe_key, "--keys-only"])?.contains(probe_key),
        "{probe_key} not in node 3's etcd"
    );

    // reset on node 2: the external path, at once, and node 3's etcd is left alone.
    let members_before = etcdctl(n3, &["member", "list"])?;
    let start = Instant::now();
    let out = n2.exec_timeout(ours(), ["reset", "-f"], &[], Duration::from_secs(120))?;
    let took = start.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!(
        "===== [{}] kubeadm-rs reset -f (exit {:?}, {:.1}s) =====\n{stdout}\n[stderr]\n{}",
        n2.name(),
        out.status.code(),
        took.as_secs_f64(),
        String::from_utf8_lossy(&out.stderr)
    );
    ensure!(out.status.success(), "reset failed");
    ensure!(
        stdout.contains(
            "[reset] No etcd config found. Assuming external etcd\n[reset] Please, manually reset etcd to prevent further issues\n"
        ),
        "the external etcd lines are missing"
    );
    ensure!(!stdout.contains("etcd data directory"), "reset touched an etcd data directory");
    ensure!(took < Duration::from_secs(30), "reset took {took:?} (waited for etcd Pods?)");
    ensure!(
        !n2.host_path("/etc/kubernetes/manifests/kube-apiserver.yaml").exists(),
        "node 2's manifests remain"
    );
    ensure!(!n2.host_path(ETCD_KEY).exists(), "node 2's copy of the etcd client key remains");
    ensure!(etcdctl(n3, &["member", "list"])? == members_before, "node 3's etcd membership changed");
    ensure!(etcdctl(n3, &["get", probe_key, "--keys-only"])?.contains(probe_key), "{probe_key} gone");
    ensure!(n3.host_path("/var/lib/etcd/external/member").is_dir(), "node 3's etcd data is gone");
    let cm = bed.kubectl_with(n1, ADMIN_CONF, &["get", "configmap", "external-etcd-probe"])?;
    ensure!(cm.status.success(), "node 1 after node 2's reset: {}", String::from_utf8_lossy(&cm.stderr));
    Ok(())
}

#[test]
fn external_etcd_init_join_reset() -> Result<()> {
    if bed_preflight()? {
        return Ok(());
    }
    let _serial = heavy_lock()?;
    let start = Instant::now();
    let bed = Bed::builder().name("krs-extetcd").nodes(3).start()?;
    let r = external_etcd(&bed);
    if r.is_err() {
        eprintln!("===== component log tails =====\n{}", bed.log_tails(40));
    }
    eprintln!("[krs-extetcd] {:.1}s", start.elapsed().as_secs_f64());
    r
}
