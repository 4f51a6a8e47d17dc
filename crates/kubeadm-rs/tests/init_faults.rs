//! Faults during `kubeadm-rs init` on a bed node, with the real pinned control plane (issue 4).
//!
//! Like `init_e2e.rs`, the test stands in for the kubelet: the bed's runner starts the static Pods,
//! a socat responder answers `http://127.0.0.1:10248/healthz`, and a background thread creates the
//! Node object once the API server is up.
//!
//! * A kube-scheduler that exits at start makes `wait-control-plane` fail, naming the scheduler
//!   and its error, while the API server and the controller manager are reported healthy.
//! * Killing the API server while init is in its API phases, then re-running init on the same
//!   node, converges: one of each object, no reset needed.
//!
//! Needs root and the pinned components (`KUBEADM_RS_BIN_DIR`, or scripts/build-components.sh);
//! fails when they are missing, unless `KUBEADM_RS_SKIP_BED=1`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use kubeadm_testbed::{Bed, Node, bed_preflight, controlplane, heavy_lock, wait_for};

/// How long the Node object stand-in waits for the API server.
const NODE_TIMEOUT: Duration = Duration::from_secs(240);
const VERSION: &str = "v1.37.2";
const CONFIG_PATH: &str = "/run/kubeadm/kubeadm.yaml";
const TOKEN: &str = "abcdef.0123456789abcdef";

fn init_config(node: &Node, cp_timeout: &str, cluster_extra: &str) -> String {
    format!(
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nbootstrapTokens:\n- token: {TOKEN}\n\
         localAPIEndpoint:\n  advertiseAddress: {ip}\n  bindPort: 6443\nnodeRegistration:\n  name: {name}\n  \
         criSocket: unix:///run/containerd/containerd.sock\ntimeouts:\n  kubeletHealthCheck: 1m0s\n  controlPlaneComponentHealthCheck: {cp_timeout}\n\
         ---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: {VERSION}\n{cluster_extra}",
        ip = node.ip(),
        name = node.name()
    )
}

fn init_args() -> Vec<&'static str> {
    vec!["init", "--config", CONFIG_PATH, "--ignore-preflight-errors=all"]
}

fn show(what: &str, out: &Output) -> (String, String) {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    eprintln!("[{what}] exit {:?}\n{stdout}\n[stderr]\n{stderr}", out.status.code());
    (stdout, stderr)
}

/// PIDs of the processes in `n`'s network namespace whose command name is `comm`.
fn pids_named(n: &Node, comm: &str) -> Vec<i32> {
    let Some(ino) = kubeadm_testbed::procs::ns_inode(Path::new(&format!("/run/netns/{}", n.netns()))) else {
        return Vec::new();
    };
    kubeadm_testbed::procs::pids_in_netns(ino)
        .into_iter()
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/comm")).map(|c| c.trim() == comm).unwrap_or(false)
        })
        .collect()
}

fn with_logs(bed: &Bed, r: Result<()>) -> Result<()> {
    if r.is_err() {
        eprintln!("===== component log tails =====\n{}", bed.log_tails(40));
    }
    r
}

fn scheduler_fails(bed: &Bed) -> Result<()> {
    let n1 = bed.node(0);
    // `--leader-elect=notabool` makes kube-scheduler exit at flag parsing, before it listens;
    // its port (10259) stays the default, so the check's URL is well formed and gets refused.
    let sched = "scheduler:\n  extraArgs:\n  - name: leader-elect\n    value: \"notabool\"\n";
    n1.write_file(CONFIG_PATH, init_config(n1, "30s", sched))?;
    let _healthz = controlplane::start_kubelet_healthz(n1)?;
    bed.start_runner(n1)?;
    let bin = Path::new(env!("CARGO_BIN_EXE_kubeadm-rs"));
    let start = Instant::now();
    let out = n1.exec_timeout(bin, init_args(), &[], Duration::from_secs(240))?;
    let took = start.elapsed();
    let (stdout, stderr) = show("kubeadm-rs init, failing scheduler", &out);
    ensure!(!out.status.success(), "init succeeded with a failing kube-scheduler");
    // kubelet check (~immediate) + 30 s for the components + slack.
    ensure!(took < Duration::from_secs(150), "init took {took:?} to fail");
    let all = format!("{stdout}\n{stderr}");
    for line in [
        "[control-plane-check] kube-apiserver is healthy after",
        "[control-plane-check] kube-controller-manager is healthy after",
        "[control-plane-check] kube-scheduler is not healthy after",
    ] {
        ensure!(all.contains(line), "init did not print {line:?}");
    }
    let err = stderr
        .lines()
        .find(|l| l.contains("error execution phase wait-control-plane"))
        .with_context(|| format!("no `error execution phase wait-control-plane` in stderr:\n{stderr}"))?;
    ensure!(
        err.contains("kube-scheduler check failed at https://127.0.0.1:10259/livez"),
        "error does not name kube-scheduler's check: {err}"
    );
    ensure!(err.to_lowercase().contains("connection refused"), "error does not give the cause: {err}");
    ensure!(
        !err.contains("kube-apiserver check failed") && !err.contains("kube-controller-manager check failed"),
        "error blames healthy components: {err}"
    );
    ensure!(!all.contains("[upload-config]"), "init went on past wait-control-plane");
    Ok(())
}

/// Runs init with its stdout streamed; kills kube-apiserver as soon as `[upload-config]` is printed.
/// Returns init's output and the PIDs killed.
fn init_killing_apiserver(n1: &Node) -> Result<(Output, Vec<i32>)> {
    let bin = Path::new(env!("CARGO_BIN_EXE_kubeadm-rs"));
    let mut cmd = n1.command(bin, init_args());
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut p = n1.spawn_command(cmd)?;
    let stdout = p.child().stdout.take().context("init stdout")?;
    let stderr = p.child().stderr.take().context("init stderr")?;
    let err_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = std::io::Read::read_to_end(&mut BufReader::new(stderr), &mut s);
        s
    });
    let (tx, rx) = mpsc::channel::<()>();
    let out_reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        let mut sent = false;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if !sent && line.starts_with("[upload-config]") {
                let _ = tx.send(());
                sent = true;
            }
            all.extend_from_slice(line.as_bytes());
            all.push(b'\n');
        }
        all
    });
    let mut killed = Vec::new();
    if rx.recv_timeout(Duration::from_secs(300)).is_ok() {
        let pids = pids_named(n1, "kube-apiserver");
        ensure!(!pids.is_empty(), "no kube-apiserver process in {}", n1.name());
        for pid in pids {
            eprintln!("killing kube-apiserver pid {pid}");
            let st = std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status()?;
            if st.success() {
                killed.push(pid);
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(420);
    let status = loop {
        if let Some(st) = p.child().try_wait()? {
            break st;
        }
        if Instant::now() > deadline {
            bail!("init did not finish within 420 s after start");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let stdout = out_reader.join().map_err(|_| anyhow::anyhow!("stdout reader panicked"))?;
    let stderr = err_reader.join().map_err(|_| anyhow::anyhow!("stderr reader panicked"))?;
    Ok((Output { status, stdout, stderr }, killed))
}

fn count_names(bed: &Bed, n1: &Node, args: &[&str], want: &str) -> Result<usize> {
    let mut all = vec!["get"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-o", "name"]);
    let out = bed.kubectl_ok(n1, &all)?;
    Ok(out.lines().filter(|l| l.trim() == want).count())
}

fn apiserver_killed_then_rerun(bed: &Bed) -> Result<()> {
    let n1 = bed.node(0);
    n1.write_file(CONFIG_PATH, init_config(n1, "3m0s", ""))?;
    let _healthz = controlplane::start_kubelet_healthz(n1)?;
    std::thread::scope(|s| -> Result<()> {
        bed.start_runner(n1)?;
        let creator = s.spawn(|| controlplane::register_node_when_api_is_up(bed, n1, NODE_TIMEOUT));
        let (first, killed) = init_killing_apiserver(n1)?;
        let (stdout, stderr) = show("kubeadm-rs init, API server killed", &first);
        ensure!(!killed.is_empty(), "init never reached [upload-config] or the kill failed:\n{stdout}");
        // The runner restarts the killed API server (after its backoff).
        wait_for("a new kube-apiserver process", Duration::from_secs(60), || {
            let now = pids_named(n1, "kube-apiserver");
            now.iter().any(|p| !killed.contains(p)).then_some(()).ok_or(format!("{now:?}"))
        })?;
        if !first.status.success() {
            ensure!(
                stderr.contains("error execution phase "),
                "the failed init does not name its phase:\n{stderr}"
            );
        }
        let created = creator.join().map_err(|_| anyhow::anyhow!("node creator panicked"))?;
        created?;
        let bin = Path::new(env!("CARGO_BIN_EXE_kubeadm-rs"));
        let second = n1.exec_timeout(bin, init_args(), &[], Duration::from_secs(420))?;
        let (stdout2, stderr2) = show("kubeadm-rs init, re-run", &second);
        ensure!(second.status.success(), "re-run of init failed: {stderr2}");
        ensure!(stdout2.contains("Your Kubernetes control-plane has initialized successfully!"), "{stdout2}");
        Ok(())
    })?;
    let ks = ["-n", "kube-system"];
    let checks: [(&[&str], &str); 4] = [
        (&["configmaps"], "configmap/kubeadm-config"),
        (
            &["secrets", "--field-selector", "type=bootstrap.kubernetes.io/token"],
            "secret/bootstrap-token-abcdef",
        ),
        (&["deployments"], "deployment.apps/coredns"),
        (&["daemonsets"], "daemonset.apps/kube-proxy"),
    ];
    for (args, want) in checks {
        let mut a = args.to_vec();
        a.extend_from_slice(&ks);
        let n = count_names(bed, n1, &a, want)?;
        ensure!(n == 1, "{n} × {want} after the re-run");
    }
    // No other bootstrap token was left behind.
    let toks = bed.kubectl_ok(
        n1,
        &[
            "get",
            "secrets",
            "-n",
            "kube-system",
            "--field-selector",
            "type=bootstrap.kubernetes.io/token",
            "-o",
            "name",
        ],
    )?;
    ensure!(toks.lines().count() == 1, "bootstrap token secrets:\n{toks}");
    Ok(())
}

#[test]
fn failing_scheduler_fails_wait_control_plane() -> Result<()> {
    if bed_preflight()? {
        return Ok(());
    }
    let _serial = heavy_lock()?;
    let bed = Bed::builder().name("krs-fsched").nodes(1).start()?;
    let r = scheduler_fails(&bed);
    with_logs(&bed, r)
}

#[test]
fn apiserver_killed_during_api_phases_rerun_converges() -> Result<()> {
    if bed_preflight()? {
        return Ok(());
    }
    let _serial = heavy_lock()?;
    let bed = Bed::builder().name("krs-fkill").nodes(1).start()?;
    let r = apiserver_killed_then_rerun(&bed);
    with_logs(&bed, r)
}
