//! The static-pod runner: a stand-in for the kubelet. Per node, a thread polls the node's
//! `/etc/kubernetes/manifests` every 200 ms and runs each container's `command[1..] + args`
//! with the pinned binary named by the image's repository basename, as a host process inside
//! the node's namespaces. It restarts a container when its manifest changes or it exits (with a
//! growing backoff), stops it when the manifest disappears, and appends its output to
//! `<bed log dir>/<node>/<container>.log`.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::fs::OpenOptions;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::bed::Shared;
use crate::components::image_binary;
use crate::error::{Error, Result};
use crate::node::{Node, PRIVATE_DIRS};
use crate::pod::{Container, Pod};
use crate::procs::{self, ProcRef};

/// Where the runner looks for manifests inside a node.
pub const MANIFEST_DIR: &str = "/etc/kubernetes/manifests";

const POLL: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// A running runner thread.
pub(crate) struct Runner {
    node: String,
    stop: Arc<AtomicBool>,
    grace: Arc<std::sync::Mutex<Duration>>,
    handle: Option<JoinHandle<()>>,
}

impl Runner {
    /// Starts the runner thread for `node`.
    pub(crate) fn start(node: Node, bin_dir: PathBuf, shared: Arc<Shared>) -> Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let grace = Arc::new(std::sync::Mutex::new(Duration::from_secs(2)));
        let log_dir = shared.log_dir.join(node.name());
        std::fs::create_dir_all(&log_dir)
            .map_err(|e| Error::io(format!("creating {}", log_dir.display()), e))?;
        let name = node.name().to_string();
        let mut state =
            RunnerState { node, bin_dir, log_dir, shared, pods: HashMap::new(), bad: HashMap::new() };
        let (s, g) = (stop.clone(), grace.clone());
        let handle = std::thread::Builder::new()
            .name(format!("runner-{name}"))
            .spawn(move || {
                while !s.load(Ordering::Relaxed) {
                    state.tick();
                    std::thread::sleep(POLL);
                }
                let grace = *g.lock().unwrap_or_else(|e| e.into_inner());
                state.stop_all(grace);
            })
            .map_err(|e| Error::io("starting a runner thread", e))?;
        Ok(Runner { node: name, stop, grace, handle: Some(handle) })
    }

    /// The node it serves.
    pub(crate) fn node_name(&self) -> &str {
        &self.node
    }

    /// Stops the thread and every process it started (SIGTERM, SIGKILL after `grace`).
    pub(crate) fn stop(mut self, grace: Duration) {
        *self.grace.lock().unwrap_or_else(|e| e.into_inner()) = grace;
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// One container of a manifest and its process.
struct Ctr {
    spec: Container,
    child: Option<Child>,
    proc: Option<ProcRef>,
    restarts: u32,
    next_start: Instant,
}

/// One manifest file.
struct PodEntry {
    hash: u64,
    ctrs: Vec<Ctr>,
}

struct RunnerState {
    node: Node,
    bin_dir: PathBuf,
    log_dir: PathBuf,
    shared: Arc<Shared>,
    pods: HashMap<PathBuf, PodEntry>,
    /// Manifests that failed to parse, by content hash (reported once).
    bad: HashMap<PathBuf, u64>,
}

/// `/etc/kubernetes/manifests/<file>`: how a manifest is named in messages.
fn node_path(p: &Path) -> String {
    let file = p.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    format!("{MANIFEST_DIR}/{file}")
}

fn hash_bytes(b: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    b.hash(&mut h);
    h.finish()
}

fn now_secs() -> String {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    format!("{}.{:03}", d.as_secs(), d.subsec_millis())
}

impl RunnerState {
    fn runner_log(&self, msg: &str) {
        let path = self.log_dir.join("_runner.log");
        if let Ok(mut f) = OpenOptions::new().create(true).append(true).open(path) {
            let _ = writeln!(f, "{} {msg}", now_secs());
        }
    }

    fn tick(&mut self) {
        let dir = self.node.host_path(MANIFEST_DIR);
        let mut seen: HashMap<PathBuf, Vec<u8>> = HashMap::new();
        if let Ok(rd) = std::fs::read_dir(&dir) {
            for e in rd.flatten() {
                let p = e.path();
                let hidden = p.file_name().and_then(|n| n.to_str()).is_none_or(|n| n.starts_with('.'));
                if hidden || !p.is_file() {
                    continue;
                }
                if let Ok(bytes) = std::fs::read(&p) {
                    seen.insert(p, bytes);
                }
            }
        }
        // Removed manifests.
        let gone: Vec<PathBuf> = self.pods.keys().filter(|p| !seen.contains_key(*p)).cloned().collect();
        for p in gone {
            if let Some(mut entry) = self.pods.remove(&p) {
                self.runner_log(&format!("manifest {} removed; stopping", node_path(&p)));
                for c in &mut entry.ctrs {
                    self.stop_ctr(c, Duration::from_secs(2));
                }
            }
        }
        self.bad.retain(|p, _| seen.contains_key(p));
        // New or changed manifests.
        for (p, bytes) in seen {
            let hash = hash_bytes(&bytes);
            if self.pods.get(&p).is_some_and(|e| e.hash == hash) || self.bad.get(&p) == Some(&hash) {
                continue;
            }
            let pod = match Pod::parse(&String::from_utf8_lossy(&bytes)) {
                Ok(pod) => pod,
                Err(e) => {
                    // Maybe half written; retried when the content changes.
                    let err = Error::Manifest { path: node_path(&p).into(), message: e };
                    self.runner_log(&err.to_string());
                    self.bad.insert(p, hash);
                    continue;
                }
            };
            self.bad.remove(&p);
            if let Some(mut old) = self.pods.remove(&p) {
                self.runner_log(&format!("manifest {} changed; restarting", node_path(&p)));
                for c in &mut old.ctrs {
                    self.stop_ctr(c, Duration::from_secs(2));
                }
            }
            let now = Instant::now();
            let ctrs = pod
                .spec
                .containers
                .iter()
                .map(|c| Ctr { spec: c.clone(), child: None, proc: None, restarts: 0, next_start: now })
                .collect();
            self.prepare_volumes(&pod);
            self.pods.insert(p, PodEntry { hash, ctrs });
        }
        // Exited processes and (re)starts.
        let mut pods = std::mem::take(&mut self.pods);
        for entry in pods.values_mut() {
            for c in &mut entry.ctrs {
                if let Some(child) = c.child.as_mut()
                    && let Ok(Some(status)) = child.try_wait()
                {
                    let backoff = (Duration::from_millis(500) * 2u32.pow(c.restarts.min(5))).min(MAX_BACKOFF);
                    self.component_log(&c.spec.name, &format!("exited: {status}; restarting in {backoff:?}"));
                    c.child = None;
                    if let Some(p) = c.proc.take() {
                        self.shared.tracker.remove_proc(p);
                    }
                    c.restarts += 1;
                    c.next_start = Instant::now() + backoff;
                }
                if c.child.is_none() && Instant::now() >= c.next_start {
                    self.start_ctr(c);
                }
            }
        }
        self.pods = pods;
    }

    /// Creates `DirectoryOrCreate` / `FileOrCreate` hostPaths, like the kubelet — only below
    /// the node's private directories, so the host's file system is never touched.
    fn prepare_volumes(&self, pod: &Pod) {
        for v in &pod.spec.volumes {
            let Some(hp) = &v.host_path else { continue };
            let private = PRIVATE_DIRS.iter().any(|d| Path::new(&hp.path).starts_with(d));
            if !private {
                continue;
            }
            let target = self.node.host_path(&hp.path);
            match hp.kind.as_deref() {
                Some("DirectoryOrCreate") => {
                    let _ = std::fs::create_dir_all(&target);
                }
                Some("FileOrCreate") if !target.exists() => {
                    if let Some(parent) = target.parent() {
                        let _ = std::fs::create_dir_all(parent);
                    }
                    let _ = std::fs::write(&target, b"");
                }
                _ => {}
            }
        }
    }

    fn component_log(&self, name: &str, msg: &str) {
        let path = self.log_dir.join(format!("{name}.log"));
        if let Ok(mut f) = OpenOptions::new().create(true).append(true).open(path) {
            let _ = writeln!(f, "==== {} runner: {msg}", now_secs());
        }
    }

    fn start_ctr(&self, c: &mut Ctr) {
        let bin = self.bin_dir.join(image_binary(&c.spec.image));
        let retry = |c: &mut Ctr| {
            c.restarts += 1;
            c.next_start = Instant::now() + MAX_BACKOFF;
        };
        if !bin.is_file() {
            self.component_log(
                &c.spec.name,
                &format!("image {}: {} does not exist", c.spec.image, bin.display()),
            );
            retry(c);
            return;
        }
        let args = c.spec.argv_tail();
        let log_path = self.log_dir.join(format!("{}.log", c.spec.name));
        let files = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .and_then(|f| f.try_clone().map(|g| (f, g)));
        let (out, err) = match files {
            Ok(f) => f,
            Err(e) => {
                self.runner_log(&format!("opening {}: {e}", log_path.display()));
                retry(c);
                return;
            }
        };
        self.component_log(
            &c.spec.name,
            &format!("start #{}: {} {}", c.restarts, bin.display(), args.join(" ")),
        );
        let mut cmd = self.node.command(&bin, &args);
        for e in &c.spec.env {
            cmd.env(&e.name, e.value.as_deref().unwrap_or(""));
        }
        cmd.stdin(Stdio::null()).stdout(out).stderr(err).process_group(0);
        match cmd.spawn() {
            Ok(child) => {
                let pid = child.id() as i32;
                let p = ProcRef::of(pid).unwrap_or(ProcRef { pid, start: 0 });
                self.shared.tracker.add_proc(p);
                c.proc = Some(p);
                c.child = Some(child);
            }
            Err(e) => {
                self.component_log(&c.spec.name, &format!("spawn failed: {e}"));
                retry(c);
            }
        }
    }

    fn stop_ctr(&self, c: &mut Ctr, grace: Duration) {
        if let Some(mut child) = c.child.take() {
            procs::stop_child(&mut child, grace);
            self.component_log(&c.spec.name, "stopped");
        }
        if let Some(p) = c.proc.take() {
            self.shared.tracker.remove_proc(p);
        }
    }

    fn stop_all(&mut self, grace: Duration) {
        let mut pods = std::mem::take(&mut self.pods);
        // Signal everything first so the grace periods overlap.
        for e in pods.values() {
            for c in &e.ctrs {
                if let Some(p) = c.proc {
                    p.signal_group(if grace.is_zero() {
                        nix::sys::signal::Signal::SIGKILL
                    } else {
                        nix::sys::signal::Signal::SIGTERM
                    });
                }
            }
        }
        for e in pods.values_mut() {
            for c in &mut e.ctrs {
                self.stop_ctr(c, grace);
            }
        }
    }
}
