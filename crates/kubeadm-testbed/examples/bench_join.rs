//! Benchmark (issues 5 and 9, speed): worker `join` of kubeadm-rs, and upstream kubeadm v1.37.2
//! on the same work, against one control plane on a bed. Not a test.
//!
//! `sudo -E cargo run --release -p kubeadm-testbed --example bench_join -- [OPTIONS]`
//!
//! ```text
//! --iterations I   single-join runs per variant (default 5)
//! --storm N[,N..]  concurrent joins per storm (default 10; the bed holds up to 199 workers)
//! --quick          smoke mode: 1 iteration, no warm-up, one storm of 3
//! --out PREFIX     results to PREFIX.md and PREFIX.json (default <repo>/bench-results/join)
//! --no-upstream-storm   storms of kubeadm-rs only
//! ```
//!
//! One bed: node 1 gets a control plane from the full `kubeadm-rs init` (the stand-ins of
//! join_e2e.rs: the bed's runner, a socat kubelet healthz, the Node object registered beside init),
//! nodes 2.. are workers, each with its own socat answering `http://127.0.0.1:10248/healthz` (what
//! join's kubelet check polls; a variant of the shared stand-in that reads the request first). Before every join the worker's `/etc/kubernetes` and
//! `/var/lib/kubelet` (private tmpfs of the node) are emptied, which is what `reset` does to a
//! worker, so every join starts from a clean node. Every join uses the command init printed plus the
//! preflight ignore list of join_e2e.rs (what a bed node lacks: CRI, kernel config, kubelet binary).
//!
//! Single-join variants, each timed from the spawn of the join process to its exit (the process is
//! `nsenter ... setpriv ... kubeadm`, a few ms of the same overhead for both tools):
//!
//! * `ours-full`: `kubeadm-rs join` (discovery, its own TLS bootstrap by CSR, the kubelet's files,
//!   kubelet-wait-bootstrap against the healthz stand-in). Upstream cannot finish this on the bed:
//!   it waits for a kubelet to perform the TLS bootstrap;
//! * `upstream-skip`: upstream `join --skip-phases=kubelet-wait-bootstrap` (discovery, preflight,
//!   kubelet-start: bootstrap-kubelet.conf, ca.crt, the kubelet's files);
//! * `ours-skip`: `kubeadm-rs join --skip-phases=kubelet-wait-bootstrap` (includes its CSR round
//!   trip, which it does inside kubelet-start);
//! * `ours-tls-skip`: `kubeadm-rs join --kubelet-tls-bootstrap --skip-phases=kubelet-wait-bootstrap`
//!   (bootstrap-kubelet.conf like upstream: the like-for-like case).
//!
//! For the joins with a CSR, a `kubectl get csr --watch` on node 1 also records when the
//! certificate was issued (how long the CSR takes apart from kubeadm-rs's poll interval).
//!
//! One warm-up run of each variant is discarded (not in `--quick`); then per iteration the
//! variants run in the order above, so the tools alternate. Storms: N joins on N workers released
//! by one barrier; each join's latency is its own spawn → exit; makespan = barrier → last exit.
//! Storm variants: `ours-full`, and (unless `--no-upstream-storm`) `upstream-skip` and
//! `ours-tls-skip`.
//!
//! Binaries: upstream `kubeadm` from the pinned bin dir (`KUBEADM_RS_BIN_DIR`); kubeadm-rs from
//! `KUBEADM_RS_BENCH_OURS`, else `$CARGO_TARGET_DIR/release/kubeadm-rs`. Holds the bed's heavy
//! lock for the whole run. Exits 1 if the control plane cannot be set up or any join fails.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Barrier, mpsc};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use kubeadm_testbed::controlplane::{self, JoinCommand};
use kubeadm_testbed::{Bed, Node, NodeProcess, components, heavy_lock};
use serde_json::{Value, json};

const VERSION: &str = "v1.37.2";
/// The preflight checks a bed node fails (as in join_e2e.rs).
const BED_IGNORED_CHECKS: &str = "--ignore-preflight-errors=CRI,ContainerRuntimeVersion,SystemVerification,KubeletVersion,FileContent--proc-sys-net-ipv4-ip_forward";
const SKIP_WAIT: &str = "--skip-phases=kubelet-wait-bootstrap";
const JOINED: &str = "This node has joined the cluster";
const JOIN_TIMEOUT: Duration = Duration::from_secs(180);
const NODE_TIMEOUT: Duration = Duration::from_secs(240);
/// The most nodes a bed has (bed.rs), one of them the control plane.
const MAX_WORKERS: usize = 199;
const AIM_MS: f64 = 1000.0;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Variant {
    OursFull,
    UpstreamSkip,
    OursSkip,
    OursTlsSkip,
}

impl Variant {
    const SINGLE: [Variant; 4] =
        [Variant::OursFull, Variant::UpstreamSkip, Variant::OursSkip, Variant::OursTlsSkip];

    fn key(self) -> &'static str {
        match self {
            Variant::OursFull => "ours-full",
            Variant::UpstreamSkip => "upstream-skip",
            Variant::OursSkip => "ours-skip",
            Variant::OursTlsSkip => "ours-tls-skip",
        }
    }
    fn upstream(self) -> bool {
        self == Variant::UpstreamSkip
    }
    fn tool(self) -> &'static str {
        if self.upstream() { "upstream" } else { "kubeadm-rs" }
    }
    fn extra(self) -> &'static [&'static str] {
        match self {
            Variant::OursFull => &[],
            Variant::UpstreamSkip | Variant::OursSkip => &[SKIP_WAIT],
            Variant::OursTlsSkip => &["--kubelet-tls-bootstrap", SKIP_WAIT],
        }
    }
    fn describe(self) -> String {
        let extra = self.extra().join(" ");
        format!("{} `join{}{}`", self.tool(), if extra.is_empty() { "" } else { " " }, extra)
    }
    /// The file a successful join of this variant leaves.
    fn leaves(self) -> &'static str {
        match self {
            Variant::OursFull | Variant::OursSkip => "/etc/kubernetes/kubelet.conf",
            Variant::UpstreamSkip | Variant::OursTlsSkip => "/etc/kubernetes/bootstrap-kubelet.conf",
        }
    }
}

struct Opts {
    iterations: usize,
    storms: Vec<usize>,
    quick: bool,
    out: PathBuf,
    upstream_storm: bool,
}

fn parse_args() -> Result<Opts> {
    let mut o = Opts {
        iterations: 5,
        storms: vec![10],
        quick: false,
        out: components::repo_root().join("bench-results").join("join"),
        upstream_storm: true,
    };
    let mut args = std::env::args().skip(1);
    let mut iterations = None;
    let mut storms = None;
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().with_context(|| format!("{name} needs a value"));
        match a.as_str() {
            "--iterations" => iterations = Some(value("--iterations")?.parse().context("--iterations")?),
            "--storm" => {
                let v = value("--storm")?;
                let ns: Result<Vec<usize>> =
                    v.split(',').filter(|s| !s.is_empty()).map(|s| s.parse().context("--storm")).collect();
                storms = Some(ns?);
            }
            "--quick" => o.quick = true,
            "--out" => o.out = PathBuf::from(value("--out")?),
            "--no-upstream-storm" => o.upstream_storm = false,
            "-h" | "--help" => {
                println!(
                    "bench_join [--iterations I] [--storm N[,N..]] [--quick] [--out PREFIX] [--no-upstream-storm]"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?} (see --help)"),
        }
    }
    if o.quick {
        o.iterations = 1;
        o.storms = vec![3];
    }
    if let Some(i) = iterations {
        o.iterations = i;
    }
    if let Some(s) = storms {
        o.storms = s;
    }
    ensure!(o.iterations > 0, "--iterations must be at least 1");
    for &n in &o.storms {
        ensure!((1..=MAX_WORKERS).contains(&n), "a storm has 1..={MAX_WORKERS} joins (one bed), not {n}");
    }
    Ok(o)
}

/// One timed join.
#[derive(Clone, Debug)]
struct Run {
    variant: Variant,
    node: String,
    ok: bool,
    status: String,
    /// Spawn → exit, ms.
    wall: f64,
    /// Spawn time after the storm's barrier (0 for single joins), ms.
    start: f64,
    /// First `[kubelet-start]` line (discovery + preflight done), ms after spawn.
    kubelet_start: Option<f64>,
    /// `Requesting a client certificate` → `Received the client certificate`, ms (kubeadm-rs CSR).
    csr: Option<f64>,
    /// What `[kubelet-check] The kubelet is healthy after <d>` says, ms (the whole join only).
    kubelet_check: Option<f64>,
    /// The `Requesting a client certificate` line, ms after spawn, and the CSR it names.
    csr_request: Option<f64>,
    csr_name: Option<String>,
    /// When a `kubectl get csr --watch` on the control plane saw the certificate issued, ms after
    /// the request line (single joins with a CSR only).
    csr_issued: Option<f64>,
    /// The spawn instant.
    t0: Instant,
    output: String,
}

impl Run {
    fn json(&self) -> Value {
        json!({
            "variant": self.variant.key(), "node": self.node, "ok": self.ok, "status": self.status,
            "wall_ms": self.wall, "start_ms": self.start, "kubelet_start_ms": self.kubelet_start,
            "csr_ms": self.csr, "kubelet_check_ms": self.kubelet_check,
            "csr_name": self.csr_name, "csr_issued_after_request_ms": self.csr_issued,
        })
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The join command for `v` on `n`, ready to spawn (stdout/stderr piped, own process group).
fn join_command(n: &Node, bin: &Path, cmd: &JoinCommand, v: Variant) -> Command {
    let mut args = cmd.args();
    args.push(BED_IGNORED_CHECKS.to_string());
    args.extend(v.extra().iter().map(|s| s.to_string()));
    let mut c = n.command(bin, &args);
    c.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    c
}

fn timed_lines(r: impl Read + Send + 'static, t0: Instant) -> std::thread::JoinHandle<Vec<(f64, String)>> {
    std::thread::spawn(move || {
        BufReader::new(r).lines().map_while(|l| l.ok()).map(|l| (ms(t0.elapsed()), l)).collect()
    })
}

/// Spawns `c` now and waits for it (killing its process group after [`JOIN_TIMEOUT`]).
fn run_timed(mut c: Command, v: Variant, n: &Node, storm_t0: Option<Instant>) -> Run {
    let t0 = Instant::now();
    let start = storm_t0.map(|s| ms(t0.duration_since(s))).unwrap_or(0.0);
    let fail = |status: String| Run {
        variant: v,
        node: n.name().to_string(),
        ok: false,
        status,
        wall: ms(t0.elapsed()),
        start,
        kubelet_start: None,
        csr: None,
        kubelet_check: None,
        csr_request: None,
        csr_name: None,
        csr_issued: None,
        t0,
        output: String::new(),
    };
    let mut child = match c.spawn() {
        Ok(ch) => ch,
        Err(e) => return fail(format!("spawn: {e}")),
    };
    let pid = child.id() as i32;
    let out_t = child.stdout.take().map(|o| timed_lines(o, t0));
    let err_t = child.stderr.take().map(|e| timed_lines(e, t0));
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if done_rx.recv_timeout(JOIN_TIMEOUT) == Err(mpsc::RecvTimeoutError::Timeout) {
            let _ =
                nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
            true
        } else {
            false
        }
    });
    let status = child.wait();
    let wall = ms(t0.elapsed());
    let _ = done_tx.send(());
    let timed_out = watchdog.join().unwrap_or(false);
    let mut lines: Vec<(f64, String)> = Vec::new();
    for t in [out_t, err_t].into_iter().flatten() {
        lines.extend(t.join().unwrap_or_default());
    }
    lines.sort_by(|a, b| a.0.total_cmp(&b.0));
    let output = lines.iter().map(|(_, l)| l.as_str()).collect::<Vec<_>>().join("\n");
    let first = |pat: &str| lines.iter().find(|(_, l)| l.contains(pat)).map(|(t, _)| *t);
    let kubelet_start = lines.iter().find(|(_, l)| l.starts_with("[kubelet-start]")).map(|(t, _)| *t);
    let csr_request = first("Requesting a client certificate");
    let csr_name = lines.iter().find_map(|(_, l)| {
        let rest = l.split_once("(CertificateSigningRequest \"")?.1;
        Some(rest.split_once('"')?.0.to_string())
    });
    let csr = match (csr_request, first("Received the client certificate")) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    let kubelet_check = lines.iter().find_map(|(_, l)| {
        go_duration_ms(l.split_once("[kubelet-check] The kubelet is healthy after ")?.1.trim())
    });
    let (mut ok, mut status) = match status {
        Ok(s) if timed_out => (false, format!("killed after {}s ({s})", JOIN_TIMEOUT.as_secs())),
        Ok(s) => (s.success(), s.to_string()),
        Err(e) => (false, format!("wait: {e}")),
    };
    if ok && !output.contains(JOINED) {
        ok = false;
        status = format!("exit 0 without {JOINED:?}");
    }
    if ok && !n.host_path(v.leaves()).is_file() {
        ok = false;
        status = format!("exit 0 but {} is missing", v.leaves());
    }
    Run {
        variant: v,
        node: n.name().to_string(),
        ok,
        status,
        wall,
        start,
        kubelet_start,
        csr,
        kubelet_check,
        csr_request,
        csr_name,
        csr_issued: None,
        t0,
        output,
    }
}

/// A Go duration (`501.2ms`, `1.5s`, `1m2s`, `800µs`) in ms.
fn go_duration_ms(s: &str) -> Option<f64> {
    let mut total = 0.0;
    let mut rest = s;
    while !rest.is_empty() {
        let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let value: f64 = rest[..end].parse().ok()?;
        let unit_end = rest[end..].find(|c: char| c.is_ascii_digit()).map_or(rest.len(), |i| end + i);
        let factor = match &rest[end..unit_end] {
            "ns" => 1e-6,
            "us" | "µs" => 1e-3,
            "ms" => 1.0,
            "s" => 1e3,
            "m" => 60e3,
            "h" => 3600e3,
            _ => return None,
        };
        total += value * factor;
        rest = &rest[unit_end..];
    }
    Some(total)
}

/// Empties the node's `/etc/kubernetes` and `/var/lib/kubelet` (what `reset` cleans on a worker).
fn clean(n: &Node) -> Result<()> {
    n.check()?;
    for d in ["/etc/kubernetes", "/var/lib/kubelet"] {
        let host = n.host_path(d);
        for e in std::fs::read_dir(&host).with_context(|| format!("listing {}", host.display()))? {
            let p = e?.path();
            let r = if p.is_dir() && !p.is_symlink() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
            r.with_context(|| format!("[{}] removing {}", n.name(), p.display()))?;
        }
    }
    Ok(())
}

/// `kubectl get csr --watch` on the control plane, every line with the instant it arrived.
struct CsrWatch {
    child: std::process::Child,
    lines: std::thread::JoinHandle<Vec<(Instant, String)>>,
}

impl CsrWatch {
    /// Starts the watch and waits (up to 3 s) for its first line, the header of the initial list.
    fn start(cp: &Node) -> Result<Self> {
        let kubectl = components::bin("kubectl")?;
        let mut c = cp.command(
            kubectl,
            [
                "--kubeconfig=/etc/kubernetes/admin.conf",
                "get",
                "csr",
                "--watch",
                "-o",
                "custom-columns=NAME:.metadata.name,CERT:.status.certificate",
            ],
        );
        c.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null()).process_group(0);
        let mut child = c.spawn().context("starting kubectl get csr --watch")?;
        let out = child.stdout.take().context("kubectl stdout")?;
        let (tx, rx) = mpsc::channel();
        let lines = std::thread::spawn(move || {
            let mut v = Vec::new();
            for l in BufReader::new(out).lines().map_while(|l| l.ok()) {
                if v.is_empty() {
                    let _ = tx.send(());
                }
                v.push((Instant::now(), l));
            }
            v
        });
        let _ = rx.recv_timeout(Duration::from_secs(3));
        Ok(CsrWatch { child, lines })
    }

    /// Stops the watch; when it saw `csr` with a certificate.
    fn issued(mut self, csr: &str) -> Option<Instant> {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = self.child.wait();
        let lines = self.lines.join().unwrap_or_default();
        lines.into_iter().find_map(|(t, l)| {
            let mut cols = l.split_whitespace();
            (cols.next() == Some(csr) && cols.next().is_some_and(|c| c != "<none>")).then_some(t)
        })
    }
}

fn single(cp: &Node, n: &Node, bin: &Path, cmd: &JoinCommand, v: Variant) -> Result<Run> {
    clean(n)?;
    let watch =
        matches!(v, Variant::OursFull | Variant::OursSkip).then(|| CsrWatch::start(cp)).transpose()?;
    let mut r = run_timed(join_command(n, bin, cmd, v), v, n, None);
    if let (Some(w), Some(name), Some(req)) = (watch, &r.csr_name, r.csr_request) {
        r.csr_issued = w.issued(name).map(|t| ms(t.saturating_duration_since(r.t0)) - req);
    }
    ensure!(r.ok, "[{}] {} failed ({}):\n{}", n.name(), v.describe(), r.status, r.output);
    eprintln!(
        "[bench] {:<13} {}: {:.0} ms (first [kubelet-start] line {}, CSR {}, issued {} after the request)",
        v.key(),
        n.name(),
        r.wall,
        fmt_opt(r.kubelet_start),
        fmt_opt(r.csr),
        fmt_opt(r.csr_issued),
    );
    Ok(r)
}

/// `workers.len()` joins of `v`, all released at once by a barrier. Returns every run and the
/// makespan (barrier → last exit, ms).
fn storm(workers: &[Node], bin: &Path, cmd: &JoinCommand, v: Variant) -> Result<(Vec<Run>, f64)> {
    for n in workers {
        clean(n)?;
    }
    let barrier = Barrier::new(workers.len() + 1);
    let t0_cell = std::sync::OnceLock::<Instant>::new();
    let runs = std::thread::scope(|s| {
        let handles: Vec<_> = workers
            .iter()
            .map(|n| {
                let c = join_command(n, bin, cmd, v);
                let (barrier, t0_cell) = (&barrier, &t0_cell);
                s.spawn(move || {
                    barrier.wait();
                    let t0 = *t0_cell.get().expect("set before the barrier opens");
                    run_timed(c, v, n, Some(t0))
                })
            })
            .collect();
        let _ = t0_cell.set(Instant::now());
        barrier.wait();
        handles
            .into_iter()
            .map(|h| h.join().map_err(|_| anyhow::anyhow!("a storm thread panicked")))
            .collect::<Result<Vec<Run>>>()
    })?;
    let makespan = runs.iter().map(|r| r.start + r.wall).fold(0.0, f64::max);
    Ok((runs, makespan))
}

struct Stats {
    n: usize,
    median: f64,
    min: f64,
    max: f64,
    p50: f64,
    p99: f64,
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

fn stats(v: impl IntoIterator<Item = f64>) -> Option<Stats> {
    let mut v: Vec<f64> = v.into_iter().collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    let median = if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 };
    Some(Stats { n, median, min: v[0], max: v[n - 1], p50: percentile(&v, 50.0), p99: percentile(&v, 99.0) })
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.0} ms")).unwrap_or_else(|| "–".into())
}

fn fmt_ms(v: f64) -> String {
    if v >= 10_000.0 { format!("{:.1} s", v / 1000.0) } else { format!("{v:.0} ms") }
}

fn fmt_stats(s: &Option<Stats>) -> String {
    match s {
        Some(s) if s.n > 1 => format!("{} ({}–{})", fmt_ms(s.median), fmt_ms(s.min), fmt_ms(s.max)),
        Some(s) => fmt_ms(s.median),
        None => "–".into(),
    }
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn shell(prog: &str, args: &[&str]) -> String {
    Command::new(prog)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn machine() -> Value {
    let mem_kib: f64 = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    let cpu = read("/proc/cpuinfo")
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_default();
    json!({
        "nproc": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu_model": cpu,
        "memory": format!("{:.1} GiB", mem_kib / 1024.0 / 1024.0),
        "kernel": read("/proc/sys/kernel/osrelease").trim(),
        "date": shell("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
    })
}

fn loadavg() -> String {
    read("/proc/loadavg").split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

fn binary(path: &Path) -> Value {
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let p = path.to_string_lossy();
    json!({
        "path": p,
        "version": shell(&p, &["version", "-o", "short"]),
        "size_mb": (size as f64 / 1e6 * 10.0).round() / 10.0,
        "built": shell("date", &["-u", "-r", &p, "+%Y-%m-%d %H:%M UTC"]),
    })
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

struct StormResult {
    n: usize,
    variant: Variant,
    runs: Vec<Run>,
    makespan: f64,
}

struct Results {
    setup: Value,
    single: Vec<Run>,
    storms: Vec<StormResult>,
}

fn bin_for(v: Variant, upstream: &Path, ours: &Path) -> PathBuf {
    if v.upstream() { upstream.to_path_buf() } else { ours.to_path_buf() }
}

fn run_all(bed: &Bed, o: &Opts, upstream: &Path, ours: &Path, bed_setup: f64) -> Result<Results> {
    let cp = bed.node(0);
    let workers = &bed.nodes()[1..];
    let t = Instant::now();
    let init_out = controlplane::full_init(
        bed,
        cp,
        ours,
        &controlplane::api_init_config(cp, VERSION),
        &[],
        NODE_TIMEOUT,
    )
    .context("kubeadm-rs init of the control plane")?;
    let init_ms = ms(t.elapsed());
    let cmd = JoinCommand::parse(&init_out)
        .with_context(|| format!("no join command in init's output:\n{init_out}"))?;
    controlplane::wait_cluster_info_signed(bed, cp, cmd.token_id(), Duration::from_secs(120))?;
    let ready_ms = ms(t.elapsed());
    eprintln!(
        "[bench] control plane up: init {:.1} s, cluster-info signed at {:.1} s",
        init_ms / 1e3,
        ready_ms / 1e3
    );
    let t = Instant::now();
    let start_healthz = controlplane::start_kubelet_healthz;
    let _healthz: Vec<NodeProcess> =
        workers.iter().map(start_healthz).collect::<kubeadm_testbed::Result<_>>()?;
    eprintln!("[bench] {} healthz stand-ins started in {:.1} s", workers.len(), t.elapsed().as_secs_f64());

    let mut next = 0usize;
    let mut pick = || {
        let n = &workers[next % workers.len()];
        next += 1;
        n
    };
    if !o.quick {
        for v in Variant::SINGLE {
            let r = single(cp, pick(), &bin_for(v, upstream, ours), &cmd, v).context("warm-up")?;
            eprintln!("[bench] (warm-up, discarded: {} {:.0} ms)", v.key(), r.wall);
        }
    }
    let mut single_runs = Vec::new();
    for i in 0..o.iterations {
        for v in Variant::SINGLE {
            let r = single(cp, pick(), &bin_for(v, upstream, ours), &cmd, v)
                .with_context(|| format!("iteration {}", i + 1))?;
            single_runs.push(r);
        }
    }

    let mut storm_variants = vec![Variant::OursFull];
    if o.upstream_storm {
        storm_variants.extend([Variant::UpstreamSkip, Variant::OursTlsSkip]);
    }
    let mut storms = Vec::new();
    for &n in &o.storms {
        for &v in &storm_variants {
            let (runs, makespan) = storm(&workers[..n], &bin_for(v, upstream, ours), &cmd, v)?;
            let ok = runs.iter().filter(|r| r.ok).count();
            let s = stats(runs.iter().filter(|r| r.ok).map(|r| r.wall));
            eprintln!(
                "[bench] storm {n} × {}: {ok}/{n} ok, p50 {}, p99 {}, max {}, makespan {}, kubelet checks > 100 ms: {}",
                v.key(),
                s.as_ref().map(|s| fmt_ms(s.p50)).unwrap_or_default(),
                s.as_ref().map(|s| fmt_ms(s.p99)).unwrap_or_default(),
                s.as_ref().map(|s| fmt_ms(s.max)).unwrap_or_default(),
                fmt_ms(makespan),
                runs.iter().filter(|r| r.kubelet_check.is_some_and(|k| k > 100.0)).count()
            );
            if let Some(f) = runs.iter().find(|r| !r.ok) {
                eprintln!("[bench] first failure, {} ({}):\n{}", f.node, f.status, f.output);
            }
            storms.push(StormResult { n, variant: v, runs, makespan });
        }
    }
    Ok(Results {
        setup: json!({
            "bed_nodes": bed.nodes().len(), "bed_setup_ms": bed_setup, "init_ms": init_ms,
            "cluster_info_signed_ms": ready_ms,
        }),
        single: single_runs,
        storms,
    })
}

fn report(o: &Opts, machine: &Value, bins: &Value, load: (&str, &str), r: &Results) -> String {
    let mut md = String::new();
    let m = machine;
    let (up, rs) = (&bins["upstream"], &bins["kubeadm-rs"]);
    md += &format!(
        "Machine: nproc {}, {}, {} RAM, Linux {}; {}. Load average before/after: {} / {}.  \n",
        m["nproc"],
        m["cpu_model"].as_str().unwrap_or(""),
        m["memory"].as_str().unwrap_or(""),
        m["kernel"].as_str().unwrap_or(""),
        m["date"].as_str().unwrap_or(""),
        load.0,
        load.1
    );
    md += &format!(
        "upstream: kubeadm `{}` ({} MB); kubeadm-rs: `{}` ({} MB, built {}).  \n",
        up["version"].as_str().unwrap_or("?"),
        up["size_mb"],
        rs["version"].as_str().unwrap_or("?"),
        rs["size_mb"],
        rs["built"].as_str().unwrap_or("?")
    );
    md += &format!(
        "Bed: {} nodes (node1 control plane by `kubeadm-rs init`, {:.1} s; the rest workers with a socat kubelet healthz).\n\n",
        r.setup["bed_nodes"],
        r.setup["init_ms"].as_f64().unwrap_or(0.0) / 1e3
    );

    let of = |v: Variant| r.single.iter().filter(move |x| x.variant == v);
    let wall = |v: Variant| stats(of(v).map(|x| x.wall));
    let up_med = wall(Variant::UpstreamSkip).map(|s| s.median);
    md += &format!(
        "### Single join ({} run{} per variant{}, variants in turn, tools alternating)\n\n",
        o.iterations,
        if o.iterations == 1 { "" } else { "s" },
        if o.quick { "" } else { "; one warm-up run each, discarded" }
    );
    md += "Wall = spawn → exit of the join process, median (min–max); \"to `[kubelet-start]`\" = its first \
           `[kubelet-start]` line (preflight + discovery + cluster configuration read); CSR = kubeadm-rs's \
           `Requesting a client certificate` → `Received the client certificate` lines; issued = when a \
           `kubectl get csr --watch` on node1 saw the certificate, after the request line (what the CSR \
           costs without kubeadm-rs's poll interval); ratio = upstream `--skip-phases` median / this median.\n\n";
    md += "| variant | work | wall | to `[kubelet-start]` | CSR | issued | ratio |\n|---|---|---|---|---|---|---|\n";
    let rows = [
        (
            Variant::UpstreamSkip,
            "discovery, preflight, kubelet-start (bootstrap-kubelet.conf, ca.crt, kubelet files)",
        ),
        (Variant::OursTlsSkip, "the same (like-for-like)"),
        (Variant::OursSkip, "the same + its own TLS bootstrap (CSR → kubelet.conf + client certificate)"),
        (
            Variant::OursFull,
            "the whole join: + kubelet-wait-bootstrap (healthz stand-in, kubelet.conf check)",
        ),
    ];
    for (v, work) in rows {
        let s = wall(v);
        let ratio = match (up_med, &s) {
            (Some(u), Some(s)) if s.median > 0.0 => format!("{:.2}x", u / s.median),
            _ => "–".into(),
        };
        md += &format!(
            "| {} | {work} | {} | {} | {} | {} | {ratio} |\n",
            v.describe(),
            fmt_stats(&s),
            fmt_stats(&stats(of(v).filter_map(|x| x.kubelet_start))),
            fmt_stats(&stats(of(v).filter_map(|x| x.csr))),
            fmt_stats(&stats(of(v).filter_map(|x| x.csr_issued))),
        );
    }
    let full = wall(Variant::OursFull).map(|s| s.median);
    md += &format!(
        "\nkubeadm-rs `join` (whole join, median): {} — aim < 1 s: **{}**\n",
        full.map(fmt_ms).unwrap_or_else(|| "–".into()),
        match full {
            Some(f) if f < AIM_MS => "met",
            Some(_) => "missed",
            None => "unknown",
        }
    );

    if !r.storms.is_empty() {
        md += "\n### Join storms (N joins on N workers released by one barrier)\n\n";
        md += "Latency = each join's spawn → exit (successful joins); p50/p99 nearest rank (p99 = max below 100 joins); \
               makespan = barrier → last exit; spawn spread = the last join's spawn after the barrier.\n\n";
        md += "| N | variant | ok | p50 | p99 | max | makespan | spawn spread | CSR median |\n|---|---|---|---|---|---|---|---|---|\n";
        for s in &r.storms {
            let ok = s.runs.iter().filter(|x| x.ok).count();
            let st = stats(s.runs.iter().filter(|x| x.ok).map(|x| x.wall));
            let spread = s.runs.iter().map(|x| x.start).fold(0.0, f64::max);
            let csr = stats(s.runs.iter().filter_map(|x| x.csr))
                .map(|c| fmt_ms(c.median))
                .unwrap_or_else(|| "–".into());
            let f = |g: fn(&Stats) -> f64| st.as_ref().map(|x| fmt_ms(g(x))).unwrap_or_else(|| "–".into());
            md += &format!(
                "| {} | {} | {ok}/{} | {} | {} | {} | {} | {} | {csr} |\n",
                s.n,
                s.variant.describe(),
                s.runs.len(),
                f(|x| x.p50),
                f(|x| x.p99),
                f(|x| x.max),
                fmt_ms(s.makespan),
                fmt_ms(spread)
            );
        }
        md += "\nUpstream's whole `join` cannot run on the bed (it waits for a kubelet to perform the TLS bootstrap), \
               so its storms are of `--skip-phases=kubelet-wait-bootstrap` only.\n";
    }
    md
}

fn main() -> Result<()> {
    let o = parse_args()?;
    // KUBEADM_RS_SKIP_BED=1 skips it as it skips the bed tests; else root and the components are required.
    if kubeadm_testbed::bed_preflight()? {
        return Ok(());
    }
    let upstream = components::bin("kubeadm")?;
    let ours = ours_bin();
    ensure!(
        ours.is_file(),
        "{} does not exist: build it (cargo build --release -p kubeadm-rs) or set KUBEADM_RS_BENCH_OURS",
        ours.display()
    );
    let workers = o.storms.iter().copied().max().unwrap_or(0).max(Variant::SINGLE.len());
    ensure!(workers <= MAX_WORKERS, "{workers} workers do not fit in one bed (at most {MAX_WORKERS})");
    let machine = machine();
    let bins = json!({ "upstream": binary(&upstream), "kubeadm-rs": binary(&ours) });
    eprintln!("[bench] upstream: {}\n[bench] kubeadm-rs: {}", upstream.display(), ours.display());
    eprintln!("[bench] waiting for the bed's heavy lock (bed tests of other sessions)...");
    let _serial = heavy_lock()?;
    let load_before = loadavg();
    let locked = Instant::now();
    let t = Instant::now();
    let bed = Bed::builder().name("bench-join").nodes(1 + workers).start()?;
    let bed_setup = ms(t.elapsed());
    eprintln!("[bench] bed of {} nodes up in {:.1} s", 1 + workers, bed_setup / 1e3);
    let r = run_all(&bed, &o, &upstream, &ours, bed_setup);
    if r.is_err() {
        eprintln!("===== component log tails =====\n{}", bed.log_tails(30));
    }
    let t = Instant::now();
    for p in bed.down() {
        eprintln!("bed teardown: {p}");
    }
    eprintln!("[bench] bed torn down in {:.1} s", t.elapsed().as_secs_f64());
    let r = r?;
    let load_after = loadavg();

    let md = report(&o, &machine, &bins, (&load_before, &load_after), &r);
    println!("{md}");
    let doc = json!({
        "machine": machine,
        "binaries": bins,
        "load_before": load_before,
        "load_after": load_after,
        "options": { "iterations": o.iterations, "storms": o.storms, "quick": o.quick },
        "setup": r.setup,
        "single": r.single.iter().map(Run::json).collect::<Vec<_>>(),
        "storms": r.storms.iter().map(|s| json!({
            "n": s.n, "variant": s.variant.key(), "makespan_ms": s.makespan,
            "runs": s.runs.iter().map(Run::json).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    });
    if let Some(dir) = o.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let (md_path, json_path) = (o.out.with_extension("md"), o.out.with_extension("json"));
    std::fs::write(&md_path, &md).with_context(|| format!("writing {}", md_path.display()))?;
    std::fs::write(&json_path, serde_json::to_string_pretty(&doc)?)
        .with_context(|| format!("writing {}", json_path.display()))?;
    eprintln!(
        "[bench] wrote {} and {} ({:.1} s since the heavy lock was taken)",
        md_path.display(),
        json_path.display(),
        locked.elapsed().as_secs_f64()
    );
    let failed: usize = r.storms.iter().map(|s| s.runs.iter().filter(|x| !x.ok).count()).sum();
    ensure!(failed == 0, "{failed} storm join(s) failed (see above)");
    Ok(())
}
