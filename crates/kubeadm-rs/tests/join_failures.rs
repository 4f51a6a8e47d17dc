//! `kubeadm-rs join` (worker) refuses every way discovery can go wrong, says why, keeps the token
//! secret out of its output and writes nothing on the node.
//!
//! One bed: node 1 gets a control plane from the full `kubeadm-rs init` (the bed's stand-ins for
//! the kubelet, as in join_discovery.rs); node 2 tries to join and must fail each time. Before the
//! cases the test lists every file under node 2's `/etc/kubernetes` and `/var/lib/kubelet` (path,
//! type, size, content hash); after each case the listing must be identical (so no kubelet.conf,
//! bootstrap-kubelet.conf, pki/ca.crt, config.yaml or kubelet pki). Each failing run must exit
//! non-zero, name the cause (key words, case-insensitive) and never print the token's secret half.
//! At the end no CertificateSigningRequest and no Node `node2` may exist in the cluster.
//!
//! Cases, in this order (the controller-manager is stopped only for the last two):
//! 1. wrong CA pin (one hex digit flipped), flags only: fails at once naming the pin;
//! 2. a well-formed token whose ID does not exist: no JWS for the token ID until
//!    `timeouts.discovery` (15 s, from a JoinConfiguration file);
//! 3. a token created and deleted with `kubeadm-rs token` (the bootstrap signer drops its JWS);
//! 4. a token created with `--ttl 1s`, used 5 s later (expired: signature dropped / Secret cleaned);
//! 5. unreachable endpoints: an unused address of the bed's subnet, and node 1 on a closed port;
//!    both fail after about 15 s naming the endpoint;
//! 6. a TLS-terminating proxy (socat, certificate from a CA generated at run time) in front of the
//!    real API server: the insecure first fetch gets the real cluster-info (its CA matches the pin),
//!    the second fetch, trusting only that CA, must fail TLS verification naming the endpoint;
//! 7. with kube-controller-manager stopped (its manifest moved out of node 1's manifest directory,
//!    so the bootstrap signer cannot repair anything): a deleted token whose stale JWS is still in
//!    cluster-info (discovery passes, the bootstrap-token read of kubeadm-config is refused), and
//!    one character of `jws-kubeconfig-<id>` changed with admin.conf (the JWS check fails at once).
//!
//! Every case runs even when an earlier one failed; the test fails at the end listing all.
//! Needs root and the pinned components (`KUBEADM_RS_BIN_DIR`); skipped with
//! `KUBEADM_RS_SKIP_BED=1`.

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use kubeadm_testbed::{Bed, Node, bed_preflight, controlplane, heavy_lock, tlsproxy, wait_for};

const VERSION: &str = "v1.37.2";
/// The token `init` creates; its JWS is in cluster-info for cases 1, 6 and 7.
const INIT_TOKEN: &str = "jfails.s3cr3tjoinfailur";
/// Case 2: well-formed, never created.
const UNKNOWN_TOKEN: &str = "wr0ngt.0123456789wrongs";
/// How long the Node object stand-in waits for the API server during init.
const NODE_TIMEOUT: Duration = Duration::from_secs(240);
/// `timeouts.discovery` of the JoinConfiguration files.
const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(15);
/// A join still running after this is killed and counted as a failure of the case.
const RUN_LIMIT: Duration = Duration::from_secs(120);
/// A failure that needs no retry (wrong pin, bad JWS) must come faster than this.
const FAST: Duration = Duration::from_secs(10);
const JOIN_CONFIG: &str = "/run/kubeadm/join.yaml";
const PROXY_PORT: u16 = 7443;
/// What join may not touch on node 2.
const WATCHED: [&str; 2] = ["/etc/kubernetes", "/var/lib/kubelet"];
/// Preflight checks a bed node fails: no container runtime (`CRI`, `ContainerRuntimeVersion`), no
/// kubelet binary on the PATH (`KubeletVersion`, `SystemVerification`), IP forwarding off in a
/// fresh network namespace. Every other check runs (Hostname and Service-kubelet only warn).
const IGNORE_PREFLIGHT: &str = "--ignore-preflight-errors=CRI,ContainerRuntimeVersion,KubeletVersion,\
                                SystemVerification,FileContent--proc-sys-net-ipv4-ip_forward";
const MANIFEST_DIR: &str = "/etc/kubernetes/manifests";
const KCM: &str = "kube-controller-manager";

fn kubeadm_rs() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_kubeadm-rs"))
}

/// `kubeadm-rs args` on node 1 (admin.conf by default), which must succeed: its stdout.
fn on_cp(n1: &Node, args: &[&str]) -> Result<String> {
    Ok(n1.exec_ok(kubeadm_rs(), args, &[])?)
}

fn secret_of(token: &str) -> &str {
    token.split_once('.').map(|(_, s)| s).unwrap_or(token)
}

fn id_of(token: &str) -> &str {
    token.split_once('.').map(|(i, _)| i).unwrap_or(token)
}

/// Every entry under `WATCHED` in node `n`: path -> type, size and content hash.
fn snapshot(n: &Node) -> Result<BTreeMap<String, String>> {
    fn walk(host: &Path, shown: &str, m: &mut BTreeMap<String, String>) -> Result<()> {
        let md = match std::fs::symlink_metadata(host) {
            Ok(md) => md,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                m.insert(shown.to_string(), "absent".into());
                return Ok(());
            }
            Err(e) => return Err(e).with_context(|| format!("stat {}", host.display())),
        };
        let what = if md.is_dir() {
            let mut names: Vec<_> = std::fs::read_dir(host)
                .with_context(|| format!("listing {}", host.display()))?
                .map(|e| e.map(|e| e.file_name()))
                .collect::<std::io::Result<_>>()?;
            names.sort();
            for name in names {
                let name = name.to_string_lossy().into_owned();
                walk(&host.join(&name), &format!("{shown}/{name}"), m)?;
            }
            "dir".to_string()
        } else if md.file_type().is_symlink() {
            format!("link -> {}", std::fs::read_link(host)?.display())
        } else {
            let mut h = DefaultHasher::new();
            std::fs::read(host).with_context(|| format!("reading {}", host.display()))?.hash(&mut h);
            format!("file {} bytes, hash {:016x}", md.len(), h.finish())
        };
        m.insert(shown.to_string(), what);
        Ok(())
    }
    let mut m = BTreeMap::new();
    for root in WATCHED {
        walk(&n.host_path(root), root, &mut m)?;
    }
    Ok(m)
}

/// One failing join run.
struct Run {
    code: Option<i32>,
    text: String,
    elapsed: Duration,
}

/// A JoinConfiguration for node 2 with the short discovery timeout.
fn join_config(endpoint: &str, token: &str, pin: &str) -> String {
    format!(
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\ndiscovery:\n  bootstrapToken:\n    \
         token: {token}\n    apiServerEndpoint: {endpoint}\n    caCertHashes:\n    - {pin}\n  tlsBootstrapToken: {token}\n\
         nodeRegistration:\n  name: node2\n  criSocket: unix:///run/containerd/containerd.sock\n\
         timeouts:\n  discovery: {}s\n  tlsBootstrap: 30s\n",
        DISCOVERY_TIMEOUT.as_secs()
    )
}

struct Worker<'a> {
    node: &'a Node,
    baseline: BTreeMap<String, String>,
    pin: String,
}

impl Worker<'_> {
    /// `kubeadm-rs join` on node 2 with `args` (plus the preflight ignores and `-v=5`, so that
    /// verbose output is checked for the secret too).
    fn run(&self, args: &[String]) -> Result<Run> {
        let mut all = vec!["join".to_string()];
        all.extend_from_slice(args);
        all.extend([IGNORE_PREFLIGHT.to_string(), "-v=5".to_string()]);
        let start = Instant::now();
        let out = self
            .node
            .exec_timeout(kubeadm_rs(), &all, &[], RUN_LIMIT)
            .with_context(|| format!("kubeadm-rs join did not end within {RUN_LIMIT:?}"))?;
        let text = format!(
            "{}\n[stderr]\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let run = Run { code: out.status.code(), text, elapsed: start.elapsed() };
        eprintln!(
            "===== kubeadm-rs {} (exit {:?}, {:.1?}) =====\n{}",
            all.join(" "),
            run.code,
            run.elapsed,
            run.text
        );
        Ok(run)
    }

    /// Join with a JoinConfiguration file (endpoint, token, pin).
    fn run_config(&self, endpoint: &str, token: &str, pin: &str) -> Result<Run> {
        self.node.write_file(JOIN_CONFIG, join_config(endpoint, token, pin))?;
        self.run(&["--config".to_string(), JOIN_CONFIG.to_string()])
    }

    /// Join with the flags `init` prints.
    fn run_flags(&self, endpoint: &str, token: &str, pin: &str) -> Result<Run> {
        self.run(&[
            endpoint.to_string(),
            "--token".into(),
            token.into(),
            "--discovery-token-ca-cert-hash".into(),
            pin.into(),
        ])
    }

    /// The run failed after the preflight checks; its error message (the `error:` lines) names
    /// the cause (each group: one of its words, case-insensitive) as a plain message (no Rust
    /// `Debug` dump); the whole output keeps `token`'s secret out; node 2's files are as they were.
    /// Returns the error message, for the summary.
    fn failed_cleanly(&self, run: &Run, token: &str, groups: &[&[&str]]) -> Result<String> {
        ensure!(
            run.code.is_some_and(|c| c != 0),
            "join exited {:?} instead of failing:\n{}",
            run.code,
            run.text
        );
        ensure!(
            !run.text.contains("[preflight] Some fatal errors occurred"),
            "join failed in the preflight checks, not where the case expects:\n{}",
            run.text
        );
        let error: Vec<&str> = run.text.lines().filter(|l| l.starts_with("error")).collect();
        let error = error.join("\n");
        ensure!(!error.is_empty(), "no `error:` line in the output:\n{}", run.text);
        let lower = error.to_lowercase();
        for group in groups {
            ensure!(
                group.iter().any(|w| lower.contains(&w.to_lowercase())),
                "the error names none of {group:?}: {error}"
            );
        }
        ensure!(
            !["Some(", "None,", "Status {"].iter().any(|d| error.contains(d)),
            "the error contains a Rust Debug dump: {error}"
        );
        ensure!(!run.text.contains(secret_of(token)), "the output shows the token's secret:\n{}", run.text);
        let after = snapshot(self.node)?;
        if after != self.baseline {
            let mut diff = String::new();
            for (k, v) in &after {
                if self.baseline.get(k) != Some(v) {
                    diff.push_str(&format!("  + {k}: {v}\n"));
                }
            }
            for (k, v) in &self.baseline {
                if after.get(k) != Some(v) {
                    diff.push_str(&format!("  - {k}: {v}\n"));
                }
            }
            bail!("join changed files on node 2:\n{diff}");
        }
        Ok(format!("exit {:?} after {:.1?}: {error}", run.code, run.elapsed))
    }
}

/// Waits until cluster-info has (or, `present == false`, no longer has) the JWS of token `id`;
/// returns cluster-info's `data`.
fn wait_jws(bed: &Bed, n1: &Node, id: &str, present: bool) -> Result<serde_json::Value> {
    let key = format!("jws-kubeconfig-{id}");
    Ok(wait_for(&format!("{key} present={present} in cluster-info"), Duration::from_secs(60), || {
        let data = cluster_info_data(bed, n1).map_err(|e| e.to_string())?;
        (data.get(&key).is_some() == present).then_some(data.clone()).ok_or(data.to_string())
    })?)
}

fn cluster_info_data(bed: &Bed, n1: &Node) -> Result<serde_json::Value> {
    let out = bed.kubectl_ok(n1, &["get", "configmap", "-n", "kube-public", "cluster-info", "-o", "json"])?;
    let v: serde_json::Value = serde_json::from_str(&out).with_context(|| out.clone())?;
    Ok(v["data"].clone())
}

fn token_secret_exists(bed: &Bed, n1: &Node, id: &str) -> Result<bool> {
    let out = bed.kubectl(
        n1,
        &["get", "secret", "-n", "kube-system", &format!("bootstrap-token-{id}"), "-o", "name"],
    )?;
    Ok(out.status.success())
}

/// A token created on node 1 with `kubeadm-rs token create` and `extra` flags.
fn create_token(n1: &Node, extra: &[&str]) -> Result<String> {
    let mut args = vec!["token", "create"];
    args.extend_from_slice(extra);
    let token = on_cp(n1, &args)?.trim().to_string();
    ensure!(token.len() == 23 && token.as_bytes()[6] == b'.', "token create printed {token:?}");
    Ok(token)
}

/// The address `.200` of node 1's /24: inside the bed's subnet, used by nobody.
fn unused_address(n1: &Node) -> String {
    let o = n1.ip().octets();
    format!("{}.{}.{}.200", o[0], o[1], o[2])
}

/// A failure that needs no retry (wrong pin, bad JWS) comes at once, as upstream's.
fn fails_fast(run: &Run) -> Result<()> {
    ensure!(run.elapsed < FAST, "took {:.1?} to fail (no retry expected)", run.elapsed);
    Ok(())
}

/// A failure that is retried (every 5 s) gives up when `timeouts.discovery` has passed, not
/// before (upstream v1.37.2 on this bed: 15.1 s for cases 2 and 6), and not much later.
fn gives_up_at_timeout(run: &Run) -> Result<()> {
    let (low, high) =
        (DISCOVERY_TIMEOUT - Duration::from_millis(500), DISCOVERY_TIMEOUT + Duration::from_secs(20));
    ensure!(
        run.elapsed >= low && run.elapsed <= high,
        "gave up after {:.1?}, expected about timeouts.discovery = {DISCOVERY_TIMEOUT:?}",
        run.elapsed
    );
    Ok(())
}

/// The case results: name -> Ok(summary) or Err(why).
#[derive(Default)]
struct Cases(Vec<(String, Result<String>)>);

impl Cases {
    fn run(&mut self, name: &str, f: impl FnOnce() -> Result<String>) {
        eprintln!("########## case {name}");
        let r = f();
        match &r {
            Ok(s) => eprintln!("########## case {name}: PASS: {s}"),
            Err(e) => eprintln!("########## case {name}: FAIL: {e:#}"),
        }
        self.0.push((name.to_string(), r));
    }
}

fn init(bed: &Bed) -> Result<()> {
    let n1 = bed.node(0);
    let extra = format!(
        "bootstrapTokens:\n- token: {INIT_TOKEN}\ntimeouts:\n  kubeletHealthCheck: 1m0s\n  controlPlaneComponentHealthCheck: 3m0s\n"
    );
    n1.write_file(controlplane::CONFIG_PATH, controlplane::init_config_with(n1, VERSION, &extra, ""))?;
    let _healthz = controlplane::start_kubelet_healthz(n1)?;
    let out = controlplane::init_beside_node_registration(bed, n1, NODE_TIMEOUT, || {
        on_cp(n1, &["init", "--config", controlplane::CONFIG_PATH, "--ignore-preflight-errors=all"])
    })?;
    ensure!(out.contains("Your Kubernetes control-plane has initialized successfully!"), "{out}");
    Ok(())
}

/// Stops kube-controller-manager: its manifest leaves the runner's directory; returns once the
/// runner logged that it stopped it.
fn stop_controller_manager(bed: &Bed, n1: &Node) -> Result<()> {
    let log: PathBuf = bed.log_dir().join(n1.name()).join(format!("{KCM}.log"));
    let stopped = || std::fs::read_to_string(&log).unwrap_or_default().matches("runner: stopped").count();
    let before = stopped();
    std::fs::rename(
        n1.host_path(format!("{MANIFEST_DIR}/{KCM}.yaml")),
        n1.host_path(format!("/etc/kubernetes/{KCM}.yaml.stopped")),
    )
    .context("moving the controller-manager's manifest away")?;
    wait_for("the runner to stop kube-controller-manager", Duration::from_secs(30), || {
        (stopped() > before).then_some(()).ok_or_else(|| "still running".to_string())
    })?;
    Ok(())
}

fn join_failures(bed: &Bed) -> Result<()> {
    let t0 = Instant::now();
    init(bed)?;
    let (n1, n2) = (bed.node(0), bed.node(1));
    eprintln!("[join_failures] control plane up after {:.1?}", t0.elapsed());

    // The endpoint and pin, as `init` would print them; the token of case 3 comes with them.
    let join = on_cp(n1, &["token", "create", "--print-join-command"])?;
    let words: Vec<&str> = join.split_whitespace().collect();
    ensure!(
        words.len() == 7 && words[3] == "--token" && words[5] == "--discovery-token-ca-cert-hash",
        "{join:?}"
    );
    let (endpoint, deleted_token, pin) = (words[2].to_string(), words[4].to_string(), words[6].to_string());
    ensure!(endpoint == format!("{}:6443", n1.ip()), "endpoint {endpoint}");
    wait_jws(bed, n1, id_of(INIT_TOKEN), true)?;

    // The listing sees what a join would write.
    let probe = "/var/lib/kubelet/pki/probe";
    n2.write_file(probe, "x")?;
    ensure!(snapshot(n2)?.contains_key(probe), "the snapshot misses {probe}");
    std::fs::remove_dir_all(n2.host_path("/var/lib/kubelet/pki"))?;

    let w = Worker { node: n2, baseline: snapshot(n2)?, pin: pin.clone() };
    eprintln!("[join_failures] node2 before: {:#?}", w.baseline);
    let mut cases = Cases::default();

    cases.run("1 wrong CA pin", || {
        let last = w.pin.chars().last().context("empty pin")?;
        let flipped = format!("{}{}", &w.pin[..w.pin.len() - 1], if last == '0' { '1' } else { '0' });
        let run = w.run_flags(&endpoint, INIT_TOKEN, &flipped)?;
        // As upstream, the error names the hash of the CA actually served.
        let s = w.failed_cleanly(&run, INIT_TOKEN, &[&["are pinned"], &[&w.pin]])?;
        fails_fast(&run)?;
        Ok(s)
    });

    cases.run("2 unknown token", || {
        let run = w.run_config(&endpoint, UNKNOWN_TOKEN, &w.pin)?;
        let id = id_of(UNKNOWN_TOKEN);
        let s = w.failed_cleanly(&run, UNKNOWN_TOKEN, &[&[id], &["jws signature"]])?;
        gives_up_at_timeout(&run)?;
        Ok(s)
    });

    cases.run("3 deleted token", || {
        let id = id_of(&deleted_token);
        wait_jws(bed, n1, id, true)?;
        on_cp(n1, &["token", "delete", id])?;
        let run = w.run_config(&endpoint, &deleted_token, &w.pin)?;
        // The signer normally drops the JWS at once (no signature for the ID until the timeout);
        // if the join was faster, the API server refuses the deleted token.
        let s = w.failed_cleanly(&run, &deleted_token, &[&[id, "unauthorized"]])?;
        if s.contains("JWS signature") {
            gives_up_at_timeout(&run)?;
        }
        Ok(s)
    });

    cases.run("4 expired token", || {
        let token = create_token(n1, &["--ttl", "1s"])?;
        std::thread::sleep(Duration::from_secs(5));
        let id = id_of(&token);
        let secret = token_secret_exists(bed, n1, id)?;
        let jws = cluster_info_data(bed, n1)?.get(format!("jws-kubeconfig-{id}")).is_some();
        eprintln!(
            "[case 4] 5 s after `token create --ttl 1s`: token Secret present={secret}, JWS present={jws}"
        );
        let run = w.run_config(&endpoint, &token, &w.pin)?;
        let s = w.failed_cleanly(&run, &token, &[&[id, "unauthorized", "expired"]])?;
        if s.contains("JWS signature") {
            gives_up_at_timeout(&run)?;
        }
        Ok(format!("(at join: token Secret present={secret}, JWS present={jws}) {s}"))
    });

    cases.run("5a unreachable address", || {
        let ep = format!("{}:6443", unused_address(n1));
        let run = w.run_config(&ep, INIT_TOKEN, &w.pin)?;
        let why = ["no route to host", "timed out", "timeout", "unreachable"];
        let s = w.failed_cleanly(&run, INIT_TOKEN, &[&[&ep], &why])?;
        gives_up_at_timeout(&run)?;
        Ok(s)
    });

    cases.run("5b closed port", || {
        let ep = format!("{}:6444", n1.ip());
        let run = w.run_config(&ep, INIT_TOKEN, &w.pin)?;
        let s = w.failed_cleanly(&run, INIT_TOKEN, &[&[&ep], &["connection refused"]])?;
        gives_up_at_timeout(&run)?;
        Ok(s)
    });

    cases.run("6 server certificate from another CA", || {
        let cert = tlsproxy::foreign_server_cert(n1, "/run/foreign-ca", n1.ip())?;
        let _proxy = tlsproxy::start(n1, PROXY_PORT, &cert, &endpoint)?;
        let ep = format!("{}:{PROXY_PORT}", n1.ip());
        // The proxy serves the real cluster-info to a client that verifies nothing, and its
        // certificate does not verify against the cluster's CA.
        let url = format!("https://{ep}/api/v1/namespaces/kube-public/configmaps/cluster-info");
        let insecure = n2.exec_ok("/usr/bin/curl", ["-sSk", "--max-time", "10", &url], &[])?;
        ensure!(insecure.contains("jws-kubeconfig-"), "cluster-info through the proxy: {insecure}");
        n2.write_file("/run/kubeadm/cluster-ca.crt", n1.read_file("/etc/kubernetes/pki/ca.crt")?)?;
        let pinned = n2.exec(
            "/usr/bin/curl",
            ["-sS", "--max-time", "10", "--cacert", "/run/kubeadm/cluster-ca.crt", &url],
            &[],
        )?;
        ensure!(!pinned.status.success(), "the proxy's certificate verifies against the cluster CA");
        let run = w.run_config(&ep, INIT_TOKEN, &w.pin)?;
        // The first, insecure fetch went through: the JWS and the pin were accepted.
        ensure!(
            run.text.contains("again to validate TLS against the pinned public key"),
            "the second (pinned) fetch never started:\n{}",
            run.text
        );
        let why = ["unknown authority", "unknown issuer", "unknownissuer"];
        let s = w.failed_cleanly(&run, INIT_TOKEN, &[&[&ep], &["certificate", "x509"], &why])?;
        gives_up_at_timeout(&run)?;
        Ok(s)
    });

    // The signer re-signs cluster-info and removes stale signatures: from here on it is stopped.
    let stale_token = create_token(n1, &[])?;
    wait_jws(bed, n1, id_of(&stale_token), true)?;
    let stopped = stop_controller_manager(bed, n1);

    cases.run("7a deleted token, stale JWS (controller-manager stopped)", || {
        stopped.as_ref().map_err(|e| anyhow::anyhow!("{e:#}"))?;
        let id = id_of(&stale_token);
        on_cp(n1, &["token", "delete", id])?;
        std::thread::sleep(Duration::from_secs(2));
        ensure!(!token_secret_exists(bed, n1, id)?, "token Secret still there");
        wait_jws(bed, n1, id, true).context("the stale JWS vanished: is the signer really stopped?")?;
        let run = w.run_config(&endpoint, &stale_token, &w.pin)?;
        w.failed_cleanly(&run, &stale_token, &[&["kubeadm-config"], &["unauthorized"]])
    });

    cases.run("7b tampered cluster-info JWS (controller-manager stopped)", || {
        stopped.as_ref().map_err(|e| anyhow::anyhow!("{e:#}"))?;
        let key = format!("jws-kubeconfig-{}", id_of(INIT_TOKEN));
        let data = cluster_info_data(bed, n1)?;
        let jws = data[&key].as_str().context("no JWS for the init token")?.to_string();
        // One character of the signature (after the `..`), not its last one (partly padding bits).
        let at = jws.find("..").context("not a detached JWS")? + 2;
        let mut chars: Vec<char> = jws.chars().collect();
        chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
        let tampered: String = chars.into_iter().collect();
        let mut changed = serde_json::Map::new();
        changed.insert(key.clone(), tampered.clone().into());
        let patch = serde_json::json!({ "data": changed }).to_string();
        bed.kubectl_ok(
            n1,
            &["patch", "configmap", "-n", "kube-public", "cluster-info", "--type", "merge", "-p", &patch],
        )?;
        std::thread::sleep(Duration::from_secs(2));
        let now = cluster_info_data(bed, n1)?;
        ensure!(now[&key] == tampered.as_str(), "the tampered JWS was replaced: {now}");
        let run = w.run_flags(&endpoint, INIT_TOKEN, &w.pin)?;
        let s = w.failed_cleanly(&run, INIT_TOKEN, &[&["jws"], &["signature"], &["verify", "invalid"]])?;
        fails_fast(&run)?;
        Ok(s)
    });

    // Nothing reached the cluster either.
    cases.run("no CSR, no Node node2", || {
        let csrs = bed.kubectl_ok(n1, &["get", "csr", "-o", "name"])?;
        ensure!(csrs.trim().is_empty(), "CSRs exist: {csrs}");
        let node = bed.kubectl(n1, &["get", "node", n2.name(), "-o", "name"])?;
        ensure!(!node.status.success(), "Node {} exists", n2.name());
        Ok("none".into())
    });

    eprintln!("\n===== join_failures summary ({:.1?} in all) =====", t0.elapsed());
    let mut failed = Vec::new();
    for (name, r) in &cases.0 {
        match r {
            Ok(s) => eprintln!("PASS {name}: {s}"),
            Err(e) => {
                eprintln!("FAIL {name}: {e:#}");
                failed.push(name.clone());
            }
        }
    }
    ensure!(failed.is_empty(), "failed cases: {failed:?}");
    Ok(())
}

#[test]
fn join_fails_cleanly() -> Result<()> {
    if bed_preflight()? {
        return Ok(());
    }
    let _serial = heavy_lock()?;
    let bed = Bed::builder().name("krs-joinfail").nodes(2).start()?;
    let r = join_failures(&bed);
    if r.is_err() {
        eprintln!("===== component log tails =====\n{}", bed.log_tails(40));
    }
    r
}
