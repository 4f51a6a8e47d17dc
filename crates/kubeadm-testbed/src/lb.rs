//! A TCP load balancer for a bed's control-plane endpoint, like the HAProxy in front of the API
//! servers of kubeadm's HA setups: a plain L4 splice (TLS passes through untouched) with active
//! health checks, round-robin over the healthy backends, failover to the next one when a connect
//! fails, and backends that change at run time.
//!
//! It runs as its own process (`bed lb`, see [`run`]); [`crate::Bed::start_load_balancer`] starts
//! it on the bed's bridge address, records it in the bed's state file (so teardown and stale-bed
//! cleanup kill it) and hands back an [`LbHandle`]:
//!
//! ```no_run
//! use kubeadm_testbed::Bed;
//! let bed = Bed::builder().name("ha").nodes(3).start()?;
//! let lb = bed.start_load_balancer(6443)?;          // listens on <bed.host_ip()>:6443
//! let endpoint = lb.endpoint();                      // controlPlaneEndpoint: "10.233.x.1:6443"
//! lb.set_backends(&[(bed.node(0).ip(), 6443).into()])?; // later: add the joined nodes
//! # Ok::<(), kubeadm_testbed::Error>(())
//! ```
//!
//! Health: every [`DEFAULT_INTERVAL`] each backend gets an HTTPS `GET /readyz` (certificate not
//! verified; status 200 = pass) or, with [`HealthCheck::Tcp`], a TCP connect. A backend starts
//! down, is up after [`RISE`] pass and down after [`FALL`] failures in a row. The backends file
//! (`ip:port` lines, `#` comments) is re-read every 250 ms; the healthy set is written to a status
//! file on every change.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::bed::{Bed, Shared};
use crate::error::{Error, Result};
use crate::procs::{self, ProcRef};
use crate::state::BedState;

/// Time between two health checks of a backend.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);
/// How long one health check may take.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a connect to a backend may take before the next one is tried.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Failed checks in a row that take a backend down.
pub const FALL: u32 = 2;
/// Passed checks in a row that bring a backend up.
pub const RISE: u32 = 1;
/// How often the backends file is re-read.
pub const WATCH_INTERVAL: Duration = Duration::from_millis(250);
/// Overrides where [`Bed::start_load_balancer`] finds the `bed` binary.
pub const BED_BIN_ENV: &str = "KUBEADM_RS_BED_BIN";
/// How long [`Bed::start_load_balancer`] waits for the process to listen.
pub const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// How backends are checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthCheck {
    /// A TCP connect succeeds.
    Tcp,
    /// An HTTPS `GET <path>` (certificate not verified) answers 200.
    Https {
        /// The request path, e.g. `/readyz`.
        path: String,
    },
}

impl HealthCheck {
    /// `GET /readyz` over HTTPS: what an API server behind the endpoint should answer.
    pub fn readyz() -> Self {
        HealthCheck::Https { path: "/readyz".into() }
    }
}

fn log(msg: std::fmt::Arguments<'_>) {
    let t = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    eprintln!("{}.{:03} lb: {msg}", t.as_secs(), t.subsec_millis());
}

macro_rules! lb_log {
    ($($t:tt)*) => { log(format_args!($($t)*)) };
}

/// Parses a backends file: one `ip:port` per line (IPv6 as `[addr]:port`); blank lines and `#`
/// comments are ignored, duplicates dropped (first one kept).
pub fn parse_backends(text: &str) -> std::result::Result<Vec<SocketAddr>, String> {
    let mut out: Vec<SocketAddr> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let addr: SocketAddr =
            line.parse().map_err(|_| format!("line {}: {line:?} is not an ip:port address", i + 1))?;
        if addr.port() == 0 {
            return Err(format!("line {}: {line:?} has port 0", i + 1));
        }
        if !out.contains(&addr) {
            out.push(addr);
        }
    }
    Ok(out)
}

/// The text of a backends file listing `addrs`.
pub fn format_backends(addrs: &[SocketAddr]) -> String {
    addrs.iter().map(|a| format!("{a}\n")).collect()
}

#[derive(Debug, Clone)]
struct Backend {
    addr: SocketAddr,
    up: bool,
    passes: u32,
    fails: u32,
}

/// The backends and their health; picks the order in which to try them. Pure logic (no I/O).
#[derive(Debug, Clone)]
pub struct Pool {
    backends: Vec<Backend>,
    cursor: usize,
    rise: u32,
    fall: u32,
}

impl Default for Pool {
    fn default() -> Self {
        Pool::new(RISE, FALL)
    }
}

impl Pool {
    /// An empty pool: a backend is up after `rise` passes and down after `fall` failures in a row.
    pub fn new(rise: u32, fall: u32) -> Self {
        Pool { backends: Vec::new(), cursor: 0, rise: rise.max(1), fall: fall.max(1) }
    }

    /// Replaces the backend set (new backends start down; kept ones keep their health).
    /// Returns (added, removed).
    pub fn set(&mut self, addrs: &[SocketAddr]) -> (Vec<SocketAddr>, Vec<SocketAddr>) {
        let removed: Vec<SocketAddr> =
            self.backends.iter().map(|b| b.addr).filter(|a| !addrs.contains(a)).collect();
        let mut added = Vec::new();
        let mut next = Vec::with_capacity(addrs.len());
        for a in addrs {
            if next.iter().any(|b: &Backend| b.addr == *a) {
                continue;
            }
            match self.backends.iter().find(|b| b.addr == *a) {
                Some(b) => next.push(b.clone()),
                None => {
                    added.push(*a);
                    next.push(Backend { addr: *a, up: false, passes: 0, fails: 0 });
                }
            }
        }
        self.backends = next;
        (added, removed)
    }

    /// Records a health-check result. Returns `Some(up)` when the backend changed state.
    pub fn record(&mut self, addr: SocketAddr, ok: bool) -> Option<bool> {
        let (rise, fall) = (self.rise, self.fall);
        let b = self.backends.iter_mut().find(|b| b.addr == addr)?;
        if ok {
            b.fails = 0;
            b.passes = b.passes.saturating_add(1);
            if !b.up && b.passes >= rise {
                b.up = true;
                return Some(true);
            }
        } else {
            b.passes = 0;
            b.fails = b.fails.saturating_add(1);
            if b.up && b.fails >= fall {
                b.up = false;
                return Some(false);
            }
        }
        None
    }

    /// The healthy backends, in configuration order.
    pub fn healthy(&self) -> Vec<SocketAddr> {
        self.backends.iter().filter(|b| b.up).map(|b| b.addr).collect()
    }

    /// All backends, in configuration order.
    pub fn all(&self) -> Vec<SocketAddr> {
        self.backends.iter().map(|b| b.addr).collect()
    }

    /// The order in which to try backends for a new connection: the healthy ones, rotated by a
    /// round-robin cursor that advances once per call (the first is the round-robin choice, the
    /// others the failover order). Empty when none is healthy.
    pub fn pick(&mut self) -> Vec<SocketAddr> {
        let h = self.healthy();
        if h.is_empty() {
            return h;
        }
        let start = self.cursor % h.len();
        self.cursor = self.cursor.wrapping_add(1);
        h[start..].iter().chain(&h[..start]).copied().collect()
    }
}

/// Accepts any server certificate (the health check only wants the HTTP status).
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> std::result::Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn tls_connector() -> std::result::Result<tokio_rustls::TlsConnector, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS configuration: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
        .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// Checks the status line of an HTTP response: `Ok` for 200.
pub fn check_status_line(head: &[u8]) -> std::result::Result<(), String> {
    let text = String::from_utf8_lossy(head);
    let line = text.lines().next().unwrap_or_default();
    let mut parts = line.split_whitespace();
    match (parts.next(), parts.next()) {
        (Some(v), Some("200")) if v.starts_with("HTTP/") => Ok(()),
        (Some(v), Some(code)) if v.starts_with("HTTP/") => Err(format!("HTTP status {code}")),
        _ => Err(format!("not an HTTP response: {line:?}")),
    }
}

/// What the load balancer's tasks share.
struct Inner {
    pool: Mutex<Pool>,
    checks: Mutex<HashMap<SocketAddr, JoinHandle<()>>>,
    check: HealthCheck,
    interval: Duration,
    timeout: Duration,
    tls: Option<tokio_rustls::TlsConnector>,
    status_file: Option<PathBuf>,
}

impl Inner {
    fn pool(&self) -> std::sync::MutexGuard<'_, Pool> {
        self.pool.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn write_status(&self) {
        let Some(path) = &self.status_file else { return };
        let healthy = self.pool().healthy();
        if let Err(e) = write_atomic(path, format_backends(&healthy).as_bytes()) {
            lb_log!("writing the status file: {e}");
        }
    }

    async fn check_once(&self, addr: SocketAddr) -> std::result::Result<(), String> {
        let tcp = TcpStream::connect(addr).await.map_err(|e| format!("connect: {e}"))?;
        let HealthCheck::Https { path } = &self.check else { return Ok(()) };
        let tls = self.tls.as_ref().ok_or("no TLS connector")?;
        let mut s = tls.connect(addr.ip().into(), tcp).await.map_err(|e| format!("TLS: {e}"))?;
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: kubeadm-testbed-lb\r\nAccept: */*\r\n\
             Connection: close\r\n\r\n"
        );
        s.write_all(req.as_bytes()).await.map_err(|e| format!("sending the request: {e}"))?;
        let mut head = Vec::new();
        let mut buf = [0u8; 512];
        while !head.windows(2).any(|w| w == b"\r\n") && head.len() < 4096 {
            let n = s.read(&mut buf).await.map_err(|e| format!("reading the response: {e}"))?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        check_status_line(&head)
    }

    async fn check_loop(self: Arc<Self>, addr: SocketAddr) {
        let mut last_err = String::new();
        loop {
            let r = match tokio::time::timeout(self.timeout, self.check_once(addr)).await {
                Ok(r) => r,
                Err(_) => Err(format!("no answer within {:?}", self.timeout)),
            };
            let changed = self.pool().record(addr, r.is_ok());
            match (&r, changed) {
                (_, Some(true)) => lb_log!("backend {addr} is UP"),
                (Err(e), Some(false)) => lb_log!("backend {addr} is DOWN: {e}"),
                _ => {}
            }
            match r {
                Err(e) if e != last_err => {
                    if changed.is_none() {
                        lb_log!("backend {addr}: check failed: {e}");
                    }
                    last_err = e;
                }
                Ok(()) => last_err.clear(),
                _ => {}
            }
            if changed.is_some() {
                self.write_status();
            }
            tokio::time::sleep(self.interval).await;
        }
    }
}

/// Controls a running [`LoadBalancer`] (cheap to clone). Must be used inside its Tokio runtime.
#[derive(Clone)]
pub struct LbControl(Arc<Inner>);

impl LbControl {
    /// Replaces the backends; new ones get a health-check task (and stay down until it passes).
    pub fn set_backends(&self, addrs: &[SocketAddr]) {
        let (added, removed) = self.0.pool().set(addrs);
        if added.is_empty() && removed.is_empty() {
            return;
        }
        let mut checks = self.0.checks.lock().unwrap_or_else(|e| e.into_inner());
        for a in &removed {
            if let Some(h) = checks.remove(a) {
                h.abort();
            }
        }
        for a in &added {
            checks.insert(*a, tokio::spawn(self.0.clone().check_loop(*a)));
        }
        drop(checks);
        lb_log!("backends now {:?} (added {added:?}, removed {removed:?})", self.0.pool().all());
        self.0.write_status();
    }

    /// The backends currently up.
    pub fn healthy(&self) -> Vec<SocketAddr> {
        self.0.pool().healthy()
    }
}

/// A listening load balancer (see [`LoadBalancer::serve`]).
pub struct LoadBalancer {
    listener: TcpListener,
    inner: Arc<Inner>,
}

impl LoadBalancer {
    /// Binds `listen` (port 0 picks one). `status_file`, when given, gets the healthy backends
    /// (one `ip:port` a line) on every change.
    pub async fn bind(
        listen: SocketAddr,
        check: HealthCheck,
        interval: Duration,
        status_file: Option<PathBuf>,
    ) -> Result<Self> {
        let tls = match &check {
            HealthCheck::Tcp => None,
            HealthCheck::Https { .. } => Some(tls_connector().map_err(Error::Invalid)?),
        };
        let listener =
            TcpListener::bind(listen).await.map_err(|e| Error::io(format!("listening on {listen}"), e))?;
        let inner = Arc::new(Inner {
            pool: Mutex::new(Pool::default()),
            checks: Mutex::new(HashMap::new()),
            check,
            interval,
            timeout: CHECK_TIMEOUT.min(interval.max(Duration::from_millis(100)) * 2),
            tls,
            status_file,
        });
        inner.write_status();
        Ok(LoadBalancer { listener, inner })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> Result<SocketAddr> {
        self.listener.local_addr().map_err(|e| Error::io("reading the listening address", e))
    }

    /// A handle to change the backends.
    pub fn control(&self) -> LbControl {
        LbControl(self.inner.clone())
    }

    /// Accepts connections forever, splicing each to a healthy backend.
    pub async fn serve(self) {
        loop {
            match self.listener.accept().await {
                Ok((client, peer)) => {
                    tokio::spawn(forward(self.inner.clone(), client, peer));
                }
                Err(e) => {
                    // EMFILE and the like: don't spin.
                    lb_log!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

async fn forward(inner: Arc<Inner>, mut client: TcpStream, peer: SocketAddr) {
    let order = inner.pool().pick();
    if order.is_empty() {
        lb_log!("{peer}: no healthy backend, closing the connection");
        return;
    }
    for addr in order {
        match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
            Ok(Ok(mut upstream)) => {
                let _ = client.set_nodelay(true);
                let _ = upstream.set_nodelay(true);
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                return;
            }
            Ok(Err(e)) => lb_log!("{peer}: connecting to {addr}: {e}; trying the next backend"),
            Err(_) => lb_log!("{peer}: connecting to {addr}: timed out; trying the next backend"),
        }
    }
    lb_log!("{peer}: no backend accepted the connection, closing it");
}

/// Re-reads `path` every [`WATCH_INTERVAL`] and applies its backends (plus `extra`) when its
/// content changes. A missing file means no backends from the file; an invalid one is reported
/// and ignored (the previous set stays).
pub async fn watch_backends_file(ctl: LbControl, path: PathBuf, extra: Vec<SocketAddr>) {
    let mut last: Option<Option<String>> = None;
    loop {
        let text = match tokio::fs::read_to_string(&path).await {
            Ok(t) => Some(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                lb_log!("reading {}: {e}", path.display());
                tokio::time::sleep(WATCH_INTERVAL).await;
                continue;
            }
        };
        if last.as_ref() != Some(&text) {
            let parsed = match &text {
                None => {
                    lb_log!("{} does not exist: no backends from it", path.display());
                    Ok(Vec::new())
                }
                Some(t) => parse_backends(t),
            };
            match parsed {
                Ok(mut addrs) => {
                    addrs.extend(extra.iter().filter(|a| !addrs.contains(a)).copied().collect::<Vec<_>>());
                    ctl.set_backends(&addrs);
                }
                Err(e) => lb_log!("{}: {e}; keeping the previous backends", path.display()),
            }
            last = Some(text);
        }
        tokio::time::sleep(WATCH_INTERVAL).await;
    }
}

/// What `bed lb` runs.
#[derive(Debug, Clone)]
pub struct LbConfig {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The backends file to watch, if any.
    pub backends_file: Option<PathBuf>,
    /// Backends always present (in addition to the file's).
    pub backends: Vec<SocketAddr>,
    /// Where to write the healthy backends.
    pub status_file: Option<PathBuf>,
    /// The health check.
    pub check: HealthCheck,
    /// Time between checks.
    pub interval: Duration,
}

/// Runs the load balancer until the process is killed. Prints `ready <addr>` on stdout once it
/// listens (the only thing it prints there); logs go to stderr.
pub fn run(cfg: LbConfig) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("starting the Tokio runtime", e))?;
    rt.block_on(async move {
        let lb =
            LoadBalancer::bind(cfg.listen, cfg.check.clone(), cfg.interval, cfg.status_file.clone()).await?;
        let ctl = lb.control();
        let addr = lb.local_addr()?;
        lb_log!("listening on {addr}, check {:?} every {:?}", cfg.check, cfg.interval);
        match cfg.backends_file {
            Some(path) => {
                tokio::spawn(watch_backends_file(ctl, path, cfg.backends));
            }
            None => ctl.set_backends(&cfg.backends),
        }
        {
            use std::io::Write;
            let mut out = std::io::stdout();
            let _ = writeln!(out, "ready {addr}");
            let _ = out.flush();
        }
        lb.serve().await;
        Ok(())
    })
}

/// Writes `data` to `path` atomically (temp file in the same directory, then rename).
pub fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, data)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// Options of [`Bed::start_load_balancer_with`].
#[derive(Debug, Clone)]
pub struct LbOptions {
    /// The port on the bed's bridge address.
    pub port: u16,
    /// The health check (default: HTTPS `GET /readyz`).
    pub check: HealthCheck,
    /// Time between checks (default [`DEFAULT_INTERVAL`]).
    pub interval: Duration,
    /// The `bed` binary (default: [`BED_BIN_ENV`], else `bed` next to the running executable or
    /// one directory up, where cargo puts it for tests).
    pub bed_bin: Option<PathBuf>,
}

impl LbOptions {
    /// Defaults for `port`.
    pub fn new(port: u16) -> Self {
        LbOptions { port, check: HealthCheck::readyz(), interval: DEFAULT_INTERVAL, bed_bin: None }
    }
}

/// Finds the `bed` binary: [`BED_BIN_ENV`], else `bed` next to the running executable or in its
/// parent directory (tests run from `target/<profile>/deps`, binaries are in `target/<profile>`).
pub fn find_bed_binary() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os(BED_BIN_ENV) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(Error::Invalid(format!("{BED_BIN_ENV}={} is not a file", p.display())))
        };
    }
    let exe = std::env::current_exe().map_err(|e| Error::io("locating the running executable", e))?;
    let dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    let candidates = [dir.join("bed"), dir.parent().map(|d| d.join("bed")).unwrap_or_default()];
    candidates.iter().find(|p| p.is_file()).cloned().ok_or_else(|| {
        Error::Invalid(format!(
            "no `bed` binary beside {} (looked for {}); build it with `cargo build -p kubeadm-testbed \
             --bin bed` or set {BED_BIN_ENV}",
            exe.display(),
            candidates.iter().map(|c| c.display().to_string()).collect::<Vec<_>>().join(", ")
        ))
    })
}

/// A load balancer process of a bed. Dropping it stops the process; bed teardown (and stale-bed
/// cleanup) kills it at the latest.
pub struct LbHandle {
    child: Child,
    proc: ProcRef,
    shared: Arc<Shared>,
    addr: SocketAddr,
    backends_file: PathBuf,
    status_file: PathBuf,
    log_file: PathBuf,
}

impl LbHandle {
    /// `host:port` for `controlPlaneEndpoint` (and `kubeadm join`).
    pub fn endpoint(&self) -> String {
        self.addr.to_string()
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Replaces the backends (atomic write of the backends file; the process applies it within
    /// [`WATCH_INTERVAL`], new backends serve once their first check passes).
    pub fn set_backends(&self, addrs: &[SocketAddr]) -> Result<()> {
        write_atomic(&self.backends_file, format_backends(addrs).as_bytes())
            .map_err(|e| Error::io(format!("writing {}", self.backends_file.display()), e))
    }

    /// The backends the process currently considers healthy (from its status file).
    pub fn healthy(&self) -> Result<Vec<SocketAddr>> {
        let text = std::fs::read_to_string(&self.status_file)
            .map_err(|e| Error::io(format!("reading {}", self.status_file.display()), e))?;
        parse_backends(&text).map_err(|e| Error::Invalid(format!("{}: {e}", self.status_file.display())))
    }

    /// Waits until exactly `want` are healthy (in any order).
    pub fn wait_healthy(&self, want: &[SocketAddr], timeout: Duration) -> Result<()> {
        let mut want = want.to_vec();
        want.sort();
        crate::wait_for(&format!("load balancer backends {want:?} healthy"), timeout, || {
            let mut h = self.healthy().map_err(|e| e.to_string())?;
            h.sort();
            if h == want { Ok(()) } else { Err(format!("healthy: {h:?}")) }
        })
    }

    /// The backends file the process watches.
    pub fn backends_file(&self) -> &Path {
        &self.backends_file
    }

    /// The process's log.
    pub fn log_file(&self) -> &Path {
        &self.log_file
    }

    /// The process's identity.
    pub fn proc_ref(&self) -> ProcRef {
        self.proc
    }

    /// Stops it now.
    pub fn stop(self) {
        drop(self)
    }
}

impl Drop for LbHandle {
    fn drop(&mut self) {
        procs::stop_child(&mut self.child, Duration::from_secs(2));
        self.shared.tracker.remove_proc(self.proc);
    }
}

fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read(path).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

impl Bed {
    /// Starts a load balancer on `<bed.host_ip()>:port` with the default options (HTTPS
    /// `/readyz` checks every second) and no backends yet: see [`LbHandle::set_backends`].
    pub fn start_load_balancer(&self, port: u16) -> Result<LbHandle> {
        self.start_load_balancer_with(LbOptions::new(port))
    }

    /// Starts a load balancer process (`bed lb`) on the host, listening on the bed's bridge
    /// address (reachable from every node), recorded in the bed's state file.
    pub fn start_load_balancer_with(&self, opts: LbOptions) -> Result<LbHandle> {
        let bin = match opts.bed_bin {
            Some(b) => b,
            None => find_bed_binary()?,
        };
        let addr = SocketAddr::from((self.host_ip(), opts.port));
        let dir = BedState::run_dir_for(&self.name());
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        let backends_file = dir.join(format!("lb-{}.backends", opts.port));
        let status_file = dir.join(format!("lb-{}.healthy", opts.port));
        write_atomic(&backends_file, b"")
            .map_err(|e| Error::io(format!("writing {}", backends_file.display()), e))?;
        let log_file = self.log_dir().join(format!("lb-{}.log", opts.port));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_file)
            .map_err(|e| Error::io(format!("opening {}", log_file.display()), e))?;
        let mut cmd = Command::new("/usr/bin/setpriv");
        cmd.args(["--pdeathsig", "KILL", "--"])
            .arg(&bin)
            .args(["lb", "--listen", &addr.to_string(), "--backends-file"])
            .arg(&backends_file)
            .arg("--status-file")
            .arg(&status_file)
            .args(["--interval-ms", &opts.interval.as_millis().to_string()]);
        match &opts.check {
            HealthCheck::Tcp => cmd.args(["--check", "tcp"]),
            HealthCheck::Https { path } => cmd.args(["--check", "https", "--check-path", path]),
        };
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(log);
        {
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
        }
        let what = procs::describe(&cmd);
        let shared = self.shared.clone();
        let mut child = shared.spawner.spawn(cmd).map_err(|e| Error::io(format!("starting `{what}`"), e))?;
        let proc = ProcRef::of(child.id() as i32).unwrap_or(ProcRef { pid: child.id() as i32, start: 0 });
        shared.tracker.add_proc(proc);
        let stdout = child.stdout.take();
        let handle = LbHandle { child, proc, shared, addr, backends_file, status_file, log_file };
        // Wait for "ready <addr>" on its stdout (then stop reading: it prints nothing else there).
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            if let Some(o) = stdout {
                let _ = BufReader::new(o).read_line(&mut line);
            }
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(READY_TIMEOUT).unwrap_or_default();
        if line.starts_with("ready ") {
            return Ok(handle);
        }
        let log_file = handle.log_file.clone();
        drop(handle);
        Err(Error::Invalid(format!(
            "the load balancer (`{what}`) did not get ready within {READY_TIMEOUT:?}; the end of its \
             log {}:\n{}",
            log_file.display(),
            tail(&log_file, 20)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().expect("socket address")
    }

    #[test]
    fn parses_backend_files() {
        let text =
            "# control plane\n10.0.0.11:6443\n\n  10.0.0.12:6443  # node2\n[fd00::1]:6443\n10.0.0.11:6443\n";
        assert_eq!(
            parse_backends(text),
            Ok(vec![sa("10.0.0.11:6443"), sa("10.0.0.12:6443"), sa("[fd00::1]:6443")])
        );
        assert_eq!(parse_backends(""), Ok(vec![]));
        assert_eq!(parse_backends("# nothing\n\n"), Ok(vec![]));
        let e = parse_backends("10.0.0.11:6443\n10.0.0.12\n").expect_err("no port");
        assert!(e.starts_with("line 2:"), "{e}");
        assert!(parse_backends("node1:6443").is_err(), "names are not resolved");
        assert!(parse_backends("10.0.0.1:0").expect_err("port 0").contains("port 0"));
        let addrs = [sa("10.0.0.11:6443"), sa("[fd00::1]:6443")];
        assert_eq!(parse_backends(&format_backends(&addrs)), Ok(addrs.to_vec()));
    }

    #[test]
    fn status_lines() {
        assert_eq!(check_status_line(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"), Ok(()));
        assert_eq!(check_status_line(b"HTTP/1.0 200 OK\r\n"), Ok(()));
        assert_eq!(
            check_status_line(b"HTTP/1.1 500 Internal Server Error\r\n"),
            Err("HTTP status 500".into())
        );
        assert!(check_status_line(b"").is_err());
        assert!(check_status_line(b"SSH-2.0-OpenSSH\r\n").is_err());
    }

    #[test]
    fn pool_health_transitions() {
        let (a, b) = (sa("10.0.0.1:1"), sa("10.0.0.2:1"));
        let mut p = Pool::new(1, 2);
        assert_eq!(p.set(&[a, b]), (vec![a, b], vec![]));
        assert!(p.pick().is_empty(), "new backends start down");
        assert_eq!(p.record(a, false), None, "down stays down");
        assert_eq!(p.record(a, true), Some(true), "up after one pass");
        assert_eq!(p.record(a, true), None);
        assert_eq!(p.healthy(), vec![a]);
        assert_eq!(p.record(a, false), None, "one failure is not enough");
        assert_eq!(p.healthy(), vec![a]);
        assert_eq!(p.record(a, true), None, "a pass resets the failures");
        assert_eq!(p.record(a, false), None);
        assert_eq!(p.record(a, false), Some(false), "down after two failures in a row");
        assert!(p.healthy().is_empty());
        assert_eq!(p.record(sa("10.9.9.9:1"), true), None, "unknown backend");
    }

    #[test]
    fn pool_round_robin_and_failover_order() {
        let (a, b, c) = (sa("10.0.0.1:1"), sa("10.0.0.2:1"), sa("10.0.0.3:1"));
        let mut p = Pool::default();
        p.set(&[a, b, c]);
        for x in [a, b, c] {
            p.record(x, true);
        }
        assert_eq!(p.pick(), vec![a, b, c]);
        assert_eq!(p.pick(), vec![b, c, a]);
        assert_eq!(p.pick(), vec![c, a, b]);
        assert_eq!(p.pick(), vec![a, b, c]);
        // b goes down: only a and c, alternating, each with the other as failover.
        p.record(b, false);
        p.record(b, false);
        let firsts: Vec<SocketAddr> =
            (0..4).map(|_| p.pick()).inspect(|o| assert_eq!(o.len(), 2)).map(|o| o[0]).collect();
        assert!(firsts.contains(&a) && firsts.contains(&c) && !firsts.contains(&b), "{firsts:?}");
        assert_ne!(firsts[0], firsts[1]);
        // Changing the set keeps the health of kept backends; removed ones are gone.
        assert_eq!(p.set(&[c, b]), (vec![], vec![a]));
        assert_eq!(p.healthy(), vec![c]);
        let d = sa("10.0.0.4:1");
        assert_eq!(p.set(&[c, d, d]), (vec![d], vec![b]));
        assert_eq!(p.all(), vec![c, d]);
        assert_eq!(p.healthy(), vec![c]);
    }

    /// A TCP server on 127.0.0.1 that writes `name` to every connection and closes it.
    async fn responder(name: &'static str, addr: Option<SocketAddr>) -> (SocketAddr, JoinHandle<()>) {
        let l = TcpListener::bind(addr.unwrap_or(sa("127.0.0.1:0"))).await.expect("bind responder");
        let addr = l.local_addr().expect("addr");
        let h = tokio::spawn(async move {
            loop {
                if let Ok((mut s, _)) = l.accept().await {
                    let _ = s.write_all(name.as_bytes()).await;
                    let _ = s.shutdown().await;
                }
            }
        });
        (addr, h)
    }

    async fn stop(h: JoinHandle<()>) {
        h.abort();
        let _ = h.await; // the listener is closed once the task is gone
    }

    async fn ask(lb: SocketAddr) -> String {
        let mut s = TcpStream::connect(lb).await.expect("connect to the load balancer");
        let mut out = String::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_string(&mut out)).await;
        out
    }

    async fn wait_healthy(ctl: &LbControl, want: &[SocketAddr]) {
        let mut want = want.to_vec();
        want.sort();
        for _ in 0..100 {
            let mut h = ctl.healthy();
            h.sort();
            if h == want {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("healthy {:?}, want {want:?}", ctl.healthy());
    }

    #[tokio::test]
    async fn balances_fails_over_and_recovers() {
        let (a, ha) = responder("a", None).await;
        let (b, hb) = responder("b", None).await;
        let lb = LoadBalancer::bind(sa("127.0.0.1:0"), HealthCheck::Tcp, Duration::from_millis(100), None)
            .await
            .expect("bind");
        let ctl = lb.control();
        let addr = lb.local_addr().expect("addr");
        let server = tokio::spawn(lb.serve());
        assert_eq!(ask(addr).await, "", "no backends: the connection is closed");

        ctl.set_backends(&[a, b]);
        wait_healthy(&ctl, &[a, b]).await;
        let mut got = Vec::new();
        for _ in 0..4 {
            got.push(ask(addr).await);
        }
        assert_eq!(got.iter().filter(|g| *g == "a").count(), 2, "{got:?}");
        assert_eq!(got.iter().filter(|g| *g == "b").count(), 2, "{got:?}");

        // a stops: connections fail over at once, and the checks take it down.
        stop(ha).await;
        for _ in 0..4 {
            assert_eq!(ask(addr).await, "b");
        }
        wait_healthy(&ctl, &[b]).await;
        // a comes back on the same port: used again after one passing check.
        let (_, ha) = responder("a", Some(a)).await;
        wait_healthy(&ctl, &[a, b]).await;
        let mut got = Vec::new();
        for _ in 0..4 {
            got.push(ask(addr).await);
        }
        assert!(got.contains(&"a".to_string()) && got.contains(&"b".to_string()), "{got:?}");

        // Removing a backend at run time.
        ctl.set_backends(&[a]);
        for _ in 0..3 {
            assert_eq!(ask(addr).await, "a");
        }
        stop(ha).await;
        stop(hb).await;
        wait_healthy(&ctl, &[]).await;
        assert_eq!(ask(addr).await, "", "every backend down: closed");
        server.abort();
    }

    #[tokio::test]
    async fn failover_before_the_checks_notice() {
        let (a, ha) = responder("a", None).await;
        let (b, _hb) = responder("b", None).await;
        // Checks every minute: only the first one runs during the test.
        let lb = LoadBalancer::bind(sa("127.0.0.1:0"), HealthCheck::Tcp, Duration::from_secs(60), None)
            .await
            .expect("bind");
        let ctl = lb.control();
        let addr = lb.local_addr().expect("addr");
        tokio::spawn(lb.serve());
        ctl.set_backends(&[a, b]);
        wait_healthy(&ctl, &[a, b]).await;
        stop(ha).await;
        assert_eq!(ctl.healthy().len(), 2, "still considered healthy");
        for _ in 0..4 {
            assert_eq!(ask(addr).await, "b", "a refuses: the next healthy backend is tried");
        }
    }

    #[tokio::test]
    async fn follows_the_backends_file_and_writes_status() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("backends");
        let status = dir.path().join("healthy");
        let (a, _ha) = responder("a", None).await;
        let (b, _hb) = responder("b", None).await;
        let lb = LoadBalancer::bind(
            sa("127.0.0.1:0"),
            HealthCheck::Tcp,
            Duration::from_millis(100),
            Some(status.clone()),
        )
        .await
        .expect("bind");
        let ctl = lb.control();
        let addr = lb.local_addr().expect("addr");
        tokio::spawn(lb.serve());
        tokio::spawn(watch_backends_file(ctl.clone(), file.clone(), vec![]));
        assert_eq!(std::fs::read_to_string(&status).expect("status"), "");
        write_atomic(&file, format_backends(&[a]).as_bytes()).expect("write");
        wait_healthy(&ctl, &[a]).await;
        assert_eq!(ask(addr).await, "a");
        assert_eq!(parse_backends(&std::fs::read_to_string(&status).expect("status")), Ok(vec![a]));
        // An invalid file changes nothing.
        write_atomic(&file, b"garbage\n").expect("write");
        tokio::time::sleep(WATCH_INTERVAL * 3).await;
        assert_eq!(ctl.healthy(), vec![a]);
        write_atomic(&file, format!("# both\n{a}\n{b}\n").as_bytes()).expect("write");
        wait_healthy(&ctl, &[a, b]).await;
        std::fs::remove_file(&file).expect("rm");
        wait_healthy(&ctl, &[]).await;
        assert_eq!(std::fs::read_to_string(&status).expect("status"), "");
    }

    #[tokio::test]
    async fn https_check_needs_tls_and_200() {
        // A plain TCP responder is not an HTTPS server: the check fails at the TLS handshake.
        let (a, _ha) = responder("not tls", None).await;
        let lb =
            LoadBalancer::bind(sa("127.0.0.1:0"), HealthCheck::readyz(), Duration::from_millis(100), None)
                .await
                .expect("bind");
        let inner = lb.inner.clone();
        inner.pool().set(&[a]);
        let e = inner.check_once(a).await.expect_err("not TLS");
        assert!(e.starts_with("TLS:"), "{e}");
    }
}
