//! Benchmark (issue 4, speed): the full `init` of upstream kubeadm v1.37.2 vs kubeadm-rs on a bed
//! node, same configuration. Not a test.
//!
//! `sudo -E cargo run --release -p kubeadm-testbed --example bench_init -- [ITERATIONS]` (default 3).
//!
//! Each run gets a fresh 1-node bed with the kubelet stand-ins of `init_e2e.rs` (the bed's runner
//! starts the static Pods, socat answers `http://127.0.0.1:10248/healthz`, a background thread
//! creates the Node object once the API server answers), then runs
//! `init --config ... --ignore-preflight-errors=all`. The tools alternate run by run (upstream,
//! kubeadm-rs, upstream, ...). Measured from the start of the init process (ms):
//!
//! * **exit**: when the process exits (wall time);
//! * **wcp line**: when it prints its first `[wait-control-plane]` line;
//! * **ready**: when the API server first answers `GET /readyz` with `ok` (a parallel thread polls
//!   `https://127.0.0.1:6443/readyz` every 50 ms with curl inside the node; kubectl with
//!   super-admin.conf when curl is missing);
//! * **cp healthy**: when the tool prints its last `[control-plane-check] ... is healthy` line;
//! * **beyond readiness** = exit − ready (issue 4's aim for kubeadm-rs: ≤ 500 ms).
//!
//! Binaries: upstream `kubeadm` from the pinned bin dir (`KUBEADM_RS_BIN_DIR`); kubeadm-rs from
//! `KUBEADM_RS_BENCH_OURS`, else `$CARGO_TARGET_DIR/release/kubeadm-rs`, else
//! `<repo>/target/release/kubeadm-rs` (build it first: `cargo build --release -p kubeadm-rs`).

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use kubeadm_testbed::{Bed, Node, components, heavy_lock};

const VERSION: &str = "v1.37.2";
const CONFIG_PATH: &str = "/run/kubeadm/kubeadm.yaml";
const TOKEN: &str = "abcdef.0123456789abcdef";
const INIT_TIMEOUT: Duration = Duration::from_secs(300);

fn init_config(node: &Node) -> String {
    format!(
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nbootstrapTokens:\n- token: {TOKEN}\n\
         localAPIEndpoint:\n  advertiseAddress: {ip}\n  bindPort: 6443\nnodeRegistration:\n  name: {name}\n  \
         criSocket: unix:///run/containerd/containerd.sock\ntimeouts:\n  kubeletHealthCheck: 1m0s\n  controlPlaneComponentHealthCheck: 3m0s\n\
         ---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: {VERSION}\n",
        ip = node.ip(),
        name = node.name()
    )
}

#[derive(Clone, Copy, PartialEq)]
enum Tool {
    Upstream,
    Ours,
}

impl Tool {
    fn label(self) -> &'static str {
        match self {
            Tool::Upstream => "upstream",
            Tool::Ours => "kubeadm-rs",
        }
    }
}

/// One run's times, in ms from the start of the init process.
#[derive(Clone, Copy, Debug)]
struct Sample {
    exit: f64,
    wcp_line: Option<f64>,
    ready: Option<f64>,
    cp_healthy: Option<f64>,
}

impl Sample {
    fn beyond(&self) -> Option<f64> {
        self.ready.map(|r| self.exit - r)
    }
    fn after_cp_healthy(&self) -> Option<f64> {
        self.cp_healthy.map(|h| self.exit - h)
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Polls /readyz every 50 ms until it answers `ok` or `stop` is set; returns when it first did.
fn poll_readyz(bed: &Bed, n: &Node, t0: Instant, stop: &AtomicBool) -> Option<Duration> {
    let curl = Path::new("/usr/bin/curl");
    while !stop.load(Ordering::Relaxed) {
        let before = Instant::now();
        let ok = if curl.is_file() {
            n.exec_timeout(
                curl,
                ["-sk", "--max-time", "1", "https://127.0.0.1:6443/readyz"],
                &[],
                Duration::from_secs(2),
            )
            .map(|o| o.status.success() && o.stdout == b"ok")
            .unwrap_or(false)
        } else {
            bed.kubectl_with(n, "/etc/kubernetes/super-admin.conf", &["get", "--raw", "/readyz"])
                .map(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == "ok")
                .unwrap_or(false)
        };
        if ok {
            // The answer came between the request and now: count the request's start.
            return Some(before.duration_since(t0));
        }
        let next = before + Duration::from_millis(50);
        if let Some(d) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(d);
        }
    }
    None
}

/// Creates the Node object (a kubelet would register it) once the API server answers.
fn create_node(bed: &Bed, n: &Node, stop: &AtomicBool) -> Result<()> {
    let yaml = format!(
        "apiVersion: v1\nkind: Node\nmetadata:\n  name: {n}\n  labels:\n    kubernetes.io/hostname: {n}\n",
        n = n.name()
    );
    n.write_file("/run/kubeadm/node.yaml", yaml)?;
    while !stop.load(Ordering::Relaxed) {
        let out = bed.kubectl_with(
            n,
            "/etc/kubernetes/super-admin.conf",
            &["apply", "-f", "/run/kubeadm/node.yaml"],
        )?;
        if out.status.success() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    Ok(())
}

/// Reads `r` line by line, recording each line's arrival time.
fn timed_lines(
    r: impl Read + Send + 'static,
    t0: Instant,
) -> std::thread::JoinHandle<Vec<(Duration, String)>> {
    std::thread::spawn(move || {
        BufReader::new(r).lines().map_while(|l| l.ok()).map(|l| (t0.elapsed(), l)).collect()
    })
}

fn run_once(tool: Tool, bin: &Path, iteration: usize) -> Result<Sample> {
    let bed = Bed::builder().name("bench-init").nodes(1).start()?;
    let r = run_on(&bed, tool, bin);
    if r.is_err() {
        eprintln!("===== component log tails =====\n{}", bed.log_tails(30));
    }
    for p in bed.down() {
        eprintln!("bed teardown: {p}");
    }
    let s = r.with_context(|| format!("{} run {}", tool.label(), iteration + 1))?;
    eprintln!(
        "[bench] {} run {}: exit {:.0} ms, wcp line {:?}, ready {:?}, cp healthy {:?}, beyond readiness {:?}",
        tool.label(),
        iteration + 1,
        s.exit,
        s.wcp_line.map(|v| v.round()),
        s.ready.map(|v| v.round()),
        s.cp_healthy.map(|v| v.round()),
        s.beyond().map(|v| v.round()),
    );
    Ok(s)
}

fn run_on(bed: &Bed, tool: Tool, bin: &Path) -> Result<Sample> {
    let n1 = bed.node(0);
    n1.write_file(CONFIG_PATH, init_config(n1))?;
    n1.write_file(
        "/run/kubeadm/healthz.sh",
        "printf 'HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok'\n",
    )?;
    let _healthz = n1.spawn(
        "/usr/bin/socat",
        ["TCP-LISTEN:10248,bind=127.0.0.1,fork,reuseaddr", "EXEC:/bin/sh /run/kubeadm/healthz.sh"],
        &[],
    )?;
    bed.start_runner(n1)?;
    let stop = AtomicBool::new(false);
    let mut cmd = n1.command(bin, ["init", "--config", CONFIG_PATH, "--ignore-preflight-errors=all"]);
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    std::thread::scope(|s| -> Result<Sample> {
        let t0 = Instant::now();
        let mut child = cmd.spawn().context("spawning init")?;
        let stop = &stop;
        let ready = s.spawn(move || poll_readyz(bed, n1, t0, stop));
        let creator = s.spawn(move || create_node(bed, n1, stop));
        let out_t = timed_lines(child.stdout.take().context("stdout")?, t0);
        let err_t = timed_lines(child.stderr.take().context("stderr")?, t0);
        let status = loop {
            if let Some(st) = child.try_wait()? {
                break st;
            }
            if t0.elapsed() > INIT_TIMEOUT {
                let _ = child.kill();
                break child.wait()?;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let exit = t0.elapsed();
        // Readiness may come after exit only if init failed; give the poller a moment then stop.
        let deadline = Instant::now() + Duration::from_secs(2);
        while !ready.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        stop.store(true, Ordering::Relaxed);
        let ready = ready.join().map_err(|_| anyhow::anyhow!("readyz poller panicked"))?;
        let created = creator.join().map_err(|_| anyhow::anyhow!("node creator panicked"))?;
        let stdout = out_t.join().unwrap_or_default();
        let stderr = err_t.join().unwrap_or_default();
        if !status.success() {
            let text: Vec<&str> = stdout.iter().chain(&stderr).map(|(_, l)| l.as_str()).collect();
            bail!("{} init failed ({status}):\n{}", tool.label(), text.join("\n"));
        }
        created?;
        let all: Vec<&(Duration, String)> = stdout.iter().chain(&stderr).collect();
        let wcp_line = all
            .iter()
            .filter(|(_, l)| l.starts_with("[wait-control-plane]"))
            .map(|(t, _)| ms(*t))
            .reduce(f64::min);
        let cp_healthy = all
            .iter()
            .filter(|(_, l)| l.starts_with("[control-plane-check]") && l.contains("is healthy after"))
            .map(|(t, _)| ms(*t))
            .reduce(f64::max);
        ensure!(
            stdout.iter().any(|(_, l)| l.contains("has initialized successfully")),
            "{} init exited 0 without the success message",
            tool.label()
        );
        Ok(Sample { exit: ms(exit), wcp_line, ready: ready.map(ms), cp_healthy })
    })
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 })
}

fn fmt_ms(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.0} ms")).unwrap_or_else(|| "–".into())
}

fn range(v: &[f64]) -> String {
    let min = v.iter().copied().reduce(f64::min);
    let max = v.iter().copied().reduce(f64::max);
    match (min, max) {
        (Some(a), Some(b)) => format!(" ({a:.0}–{b:.0})"),
        _ => String::new(),
    }
}

fn ours_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("KUBEADM_RS_BENCH_OURS").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| components::repo_root().join("target"));
    target.join("release").join("kubeadm-rs")
}

fn main() -> Result<()> {
    let iterations: usize = match std::env::args().nth(1) {
        Some(a) => a.parse().with_context(|| format!("iterations: {a:?} is not a number"))?,
        None => 3,
    };
    ensure!(iterations > 0, "iterations must be at least 1");
    ensure!(nix::unistd::geteuid().is_root(), "bench_init needs root (it starts a bed)");
    let upstream = components::bin("kubeadm")?;
    let ours = ours_bin();
    ensure!(
        ours.is_file(),
        "{} does not exist: build it (cargo build --release -p kubeadm-rs) or set KUBEADM_RS_BENCH_OURS",
        ours.display()
    );
    let _serial = heavy_lock()?;
    eprintln!("[bench] upstream: {}\n[bench] kubeadm-rs: {}", upstream.display(), ours.display());
    let mut samples: Vec<(Tool, Sample)> = Vec::new();
    for i in 0..iterations {
        for (tool, bin) in [(Tool::Upstream, &upstream), (Tool::Ours, &ours)] {
            samples.push((tool, run_once(tool, bin, i)?));
        }
    }

    let pick = |tool: Tool, f: &dyn Fn(&Sample) -> Option<f64>| -> Vec<f64> {
        samples.iter().filter(|(t, _)| *t == tool).filter_map(|(_, s)| f(s)).collect()
    };
    type Metric = (&'static str, fn(&Sample) -> Option<f64>);
    let metrics: [Metric; 6] = [
        ("exit (wall)", |s| Some(s.exit)),
        ("first `[wait-control-plane]` line", |s| s.wcp_line),
        ("API server first `/readyz` = ok", |s| s.ready),
        ("last `[control-plane-check] ... healthy` line", |s| s.cp_healthy),
        ("**beyond readiness** (exit − ready)", |s| s.beyond()),
        ("exit − last control-plane-check line", |s| s.after_cp_healthy()),
    ];
    println!(
        "Full `init --ignore-preflight-errors=all` on a fresh 1-node bed, {iterations} runs per tool, alternating. \
         Times in ms from the start of the init process: median (min–max); ratio = upstream / kubeadm-rs.\n"
    );
    println!("| measure | upstream | kubeadm-rs | ratio |");
    println!("|---|---|---|---|");
    for (name, f) in metrics {
        let up = pick(Tool::Upstream, &f);
        let rs = pick(Tool::Ours, &f);
        let (mu, mr) = (median(up.clone()), median(rs.clone()));
        let ratio = match (mu, mr) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.2}x", a / b),
            _ => "–".into(),
        };
        println!("| {name} | {}{} | {}{} | {ratio} |", fmt_ms(mu), range(&up), fmt_ms(mr), range(&rs));
    }
    let beyond = median(pick(Tool::Ours, &|s: &Sample| s.beyond()));
    println!(
        "\nkubeadm-rs beyond readiness (median): {} — aim ≤ 500 ms: {}",
        fmt_ms(beyond),
        match beyond {
            Some(b) if b <= 500.0 => "met",
            Some(_) => "missed",
            None => "unknown",
        }
    );
    Ok(())
}
