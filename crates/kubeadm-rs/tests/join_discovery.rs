//! Issues 4 and 5: `kubeadm-rs token create --print-join-command` prints a command that upstream
//! kubeadm's join discovery and join preflight accept.
//!
//! Node 1 gets a cluster made by the full `kubeadm-rs init` (with the stand-ins of init_e2e.rs: the
//! static-pod runner, a socat responder for the kubelet's healthz, and a background thread that
//! creates the Node object). Then `kubeadm-rs token create --print-join-command` on node 1; once the
//! controller-manager's bootstrap signer has added `jws-kubeconfig-<id>` to cluster-info, node 2 runs
//! the printed command with UPSTREAM kubeadm v1.37.2 plus `--dry-run --ignore-preflight-errors=all
//! -v=1`.
//!
//! Upstream's dry-run discovery reads the real cluster-info through the dry-run client (a GET is
//! tried against the real API server first) and only falls back to a fake cluster-info, mutating
//! the token/pin/endpoint with a `[dryrun] Mutating the JoinConfiguration.Discovery.BootstrapToken`
//! warning, when the real one has no JWS for the token. So the test asserts upstream's discovery
//! success line naming node 1's endpoint, and no mutation warning and no discovery error. The JWS
//! check and the CA pin check run on the real data. After discovery the dry-run reads kubeadm-config,
//! kube-proxy and kubelet-config from node 1 and fakes the rest (no kubelet is needed): it exits 0,
//! which the test also asserts (checked on v1.37.2: the whole dry-run takes well under a second).
//!
//! Then the same command without `--dry-run`, as `kubeadm join phase preflight <endpoint> --token ...
//! --discovery-token-ca-cert-hash ... --ignore-preflight-errors=all`: upstream's preflight phase
//! runs the discovery with the real client and reads kubeadm-config with the bootstrap token
//! (`InitCfg()`); it must exit 0 with the same discovery success line, and write nothing on node 2.
//! The whole join of a real worker by kubeadm-rs is in join_e2e.rs.
//!
//! Negative: the same command with one hex digit of the pin flipped fails in discovery with
//! upstream's `cluster CA found in cluster-info ConfigMap is invalid: none of the public keys ... are
//! pinned`.
//!
//! Needs root and the pinned components (`KUBEADM_RS_BIN_DIR`); skipped with
//! `KUBEADM_RS_SKIP_BED=1`.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use kubeadm_testbed::controlplane::{self, JoinCommand};
use kubeadm_testbed::{Bed, Node, bed_preflight, heavy_lock};

/// How long the Node object stand-in waits for the API server.
const NODE_TIMEOUT: Duration = Duration::from_secs(240);
const VERSION: &str = "v1.37.2";
const JOIN_TIMEOUT: Duration = Duration::from_secs(60);

fn ours(n: &Node, args: &[&str]) -> Result<String> {
    Ok(n.exec_ok(Path::new(env!("CARGO_BIN_EXE_kubeadm-rs")), args, &[])?)
}

fn init(bed: &Bed) -> Result<()> {
    let n1 = bed.node(0);
    let bin = Path::new(env!("CARGO_BIN_EXE_kubeadm-rs"));
    let out = controlplane::full_init(
        bed,
        n1,
        bin,
        &controlplane::api_init_config(n1, VERSION),
        &[],
        NODE_TIMEOUT,
    )?;
    ensure!(out.contains("Your Kubernetes control-plane has initialized successfully!"), "{out}");
    Ok(())
}

/// Upstream kubeadm on `node`, bounded by [`JOIN_TIMEOUT`]: (exit success, stdout + stderr).
fn upstream_join(n: &Node, args: &[String]) -> Result<(bool, String)> {
    Ok(controlplane::upstream_kubeadm_bounded(n, args, JOIN_TIMEOUT)?)
}

fn join_discovery(bed: &Bed) -> Result<()> {
    init(bed)?;
    let (n1, n2) = (bed.node(0), bed.node(1));

    let printed =
        ours(n1, &["token", "create", "--kubeconfig", "/etc/kubernetes/admin.conf", "--print-join-command"])?;
    eprintln!("[kubeadm-rs token create --print-join-command] {printed:?}");
    let words: Vec<&str> = printed.split_whitespace().collect();
    let cmd = JoinCommand::parse(&printed).with_context(|| format!("unexpected join command {printed:?}"))?;
    ensure!(words.len() == 7 && words[..2] == ["kubeadm", "join"], "unexpected join command {printed:?}");
    let (endpoint, token, pin) = (cmd.endpoint.as_str(), cmd.token.as_str(), cmd.ca_cert_hash.as_str());
    ensure!(endpoint == format!("{}:6443", n1.ip()), "endpoint {endpoint}");
    ensure!(token != controlplane::TEST_TOKEN, "print-join-command reused the init token");
    let id = cmd.token_id();
    controlplane::wait_cluster_info_signed(bed, n1, id, Duration::from_secs(60))?;

    let args = |pin: &str, phase_preflight: bool| -> Vec<String> {
        // The printed command, `kubeadm` replaced with upstream's binary, plus the dry-run flags
        // (or `join phase preflight`, which runs the discovery and reads kubeadm-config for real).
        let mut a = JoinCommand { ca_cert_hash: pin.to_string(), ..cmd.clone() }.args();
        if phase_preflight {
            a.splice(1..1, ["phase".to_string(), "preflight".to_string()]);
            a.extend(["--ignore-preflight-errors=all", "-v=1"].map(String::from));
        } else {
            a.extend(["--dry-run", "--ignore-preflight-errors=all", "-v=1"].map(String::from));
        }
        a
    };
    let success = format!(
        "[discovery] Cluster info signature and contents are valid and TLS certificate validates against pinned roots, will use API Server \"{endpoint}\""
    );
    let waiting = format!(
        "[discovery] Waiting for the cluster-info ConfigMap to receive a JWS signature for token ID \"{id}\""
    );
    let bad = [
        "[dryrun] Mutating the JoinConfiguration.Discovery.BootstrapToken",
        "192.168.0.101",
        "failed to verify JWS signature",
        "is invalid for this cluster or it has expired",
        "are pinned",
        "cluster-info ConfigMap is invalid",
        "couldn't validate the identity of the API Server",
        "[discovery] Retrying due to error",
    ];

    // --- positive: upstream's discovery accepts the printed command against the real cluster-info.
    let (ok, out) = upstream_join(n2, &args(pin, false))?;
    ensure!(out.contains(&success), "upstream join did not print {success:?}:\n{out}");
    ensure!(out.contains(&waiting), "no discovery for token ID {id}:\n{out}");
    for b in bad {
        ensure!(!out.contains(b), "upstream join output contains {b:?}:\n{out}");
    }
    ensure!(ok, "upstream join --dry-run got past discovery but failed afterwards:\n{out}");

    // --- positive, without --dry-run: `join phase preflight` runs the discovery with the real
    // client and reads kubeadm-config with the bootstrap token (upstream's `InitCfg()`), writing
    // nothing on node 2.
    let (ok, out) = upstream_join(n2, &args(pin, true))?;
    ensure!(ok, "upstream join phase preflight failed:\n{out}");
    ensure!(out.contains(&success), "upstream join phase preflight did not print {success:?}:\n{out}");
    ensure!(out.contains("[preflight] Reading configuration from the \"kubeadm-config\" ConfigMap"), "{out}");
    for b in bad {
        ensure!(!out.contains(b), "upstream join phase preflight output contains {b:?}:\n{out}");
    }
    for f in [
        "/etc/kubernetes/kubelet.conf",
        "/etc/kubernetes/bootstrap-kubelet.conf",
        "/etc/kubernetes/pki/ca.crt",
    ] {
        ensure!(!n2.host_path(f).exists(), "upstream join phase preflight wrote {f}");
    }

    // --- negative: one hex digit of the pin flipped.
    let last = pin.chars().last().context("empty pin")?;
    let flipped = format!("{}{}", &pin[..pin.len() - 1], if last == '0' { '1' } else { '0' });
    let (ok, out) = upstream_join(n2, &args(&flipped, false))?;
    ensure!(!ok, "upstream join accepted a wrong pin:\n{out}");
    // The error names the hash of the CA actually served: the printed (correct) pin.
    let mismatch = format!(
        "couldn't validate the identity of the API Server: cluster CA found in cluster-info ConfigMap is invalid: none of the public keys \"{pin}\" are pinned"
    );
    ensure!(out.contains(&mismatch), "upstream join with a wrong pin did not fail with {mismatch:?}:\n{out}");
    ensure!(!out.contains(&success), "wrong pin still validated:\n{out}");
    Ok(())
}

#[test]
fn print_join_command_passes_upstream_discovery() -> Result<()> {
    if bed_preflight()? {
        return Ok(());
    }
    let _serial = heavy_lock()?;
    let bed = Bed::builder().name("krs-joindisc").nodes(2).start()?;
    let r = join_discovery(&bed);
    if r.is_err() {
        eprintln!("===== component log tails =====\n{}", bed.log_tails(40));
    }
    r
}
