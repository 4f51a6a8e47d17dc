//! A bed: N nodes on a per-bed Linux bridge, torn down on drop (also when a test panics), with
//! stale beds of interrupted runs cleaned on the next [`BedBuilder::start`].

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{BufRead, BufReader, Read};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{Sender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::components;
use crate::error::{Error, Result};
use crate::node::{Node, PRIVATE_DIRS};
use crate::procs::{self, ProcRef};
use crate::runner::Runner;
use crate::state::{self, BedState, NodeState};

/// Root of the per-bed log folders on the host.
pub const LOG_ROOT: &str = "/var/log/kubeadm-rs-bed";

/// The kubeconfig [`Bed::kubectl`] uses (inside the node).
pub const ADMIN_CONF: &str = "/etc/kubernetes/admin.conf";

/// How long [`Bed::kubectl`] lets one kubectl run.
pub const KUBECTL_TIMEOUT: Duration = Duration::from_secs(60);

/// The first two octets of every bed subnet (`10.233.<x>.0/24`).
const SUBNET_PREFIX: [u8; 2] = [10, 233];

/// A bed's state shared with its nodes and runners: the state file and the spawner thread.
pub(crate) struct Shared {
    pub(crate) tracker: Tracker,
    pub(crate) spawner: Spawner,
    pub(crate) log_dir: PathBuf,
}

/// The in-memory copy of the bed's state file; every change is written through.
pub(crate) struct Tracker {
    /// The state, and whether the bed is closed (torn down: the file must not come back).
    st: Mutex<(BedState, bool)>,
}

impl Tracker {
    fn new(st: BedState) -> Self {
        Tracker { st: Mutex::new((st, false)) }
    }

    /// Applies `f` to the state and saves it (unless the bed was torn down).
    pub(crate) fn update(&self, f: impl FnOnce(&mut BedState)) {
        let mut g = self.st.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut g.0);
        if !g.1
            && let Err(e) = g.0.save()
        {
            eprintln!("kubeadm-testbed: {e}");
        }
    }

    /// Stops writing the state file; returns the final state.
    fn close(&self) -> BedState {
        let mut g = self.st.lock().unwrap_or_else(|e| e.into_inner());
        g.1 = true;
        g.0.clone()
    }

    /// Records a process.
    pub(crate) fn add_proc(&self, p: ProcRef) {
        self.update(|st| st.procs.push(p));
    }

    /// Forgets a process.
    pub(crate) fn remove_proc(&self, p: ProcRef) {
        self.update(|st| st.procs.retain(|q| *q != p));
    }

    /// A copy of the state.
    pub(crate) fn snapshot(&self) -> BedState {
        self.st.lock().unwrap_or_else(|e| e.into_inner()).0.clone()
    }
}

type SpawnReq = (Command, std::sync::mpsc::SyncSender<std::io::Result<Child>>);

/// A thread that lives as long as the bed and spawns its long-lived processes, so that
/// `PR_SET_PDEATHSIG` (tied to the spawning *thread*) fires only when the bed goes away.
pub(crate) struct Spawner {
    tx: Mutex<Option<Sender<SpawnReq>>>,
    handle: Mutex<Option<JoinHandle<()>>>,
}

impl Spawner {
    fn new() -> Result<Self> {
        let (tx, rx) = std::sync::mpsc::channel::<SpawnReq>();
        let handle = std::thread::Builder::new()
            .name("bed-spawner".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
            })
            .map_err(|e| Error::io("starting the spawner thread", e))?;
        Ok(Spawner { tx: Mutex::new(Some(tx)), handle: Mutex::new(Some(handle)) })
    }

    /// Spawns `cmd` on the spawner thread.
    pub(crate) fn spawn(&self, cmd: Command) -> std::io::Result<Child> {
        let tx = self.tx.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let gone = || std::io::Error::other("the bed is shutting down");
        let tx = tx.ok_or_else(gone)?;
        let (rtx, rrx) = sync_channel(1);
        tx.send((cmd, rtx)).map_err(|_| gone())?;
        rrx.recv().map_err(|_| gone())?
    }

    fn shutdown(&self) {
        self.tx.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(h) = self.handle.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = h.join();
        }
    }
}

/// Builds a [`Bed`]: `Bed::builder().nodes(2).name("my-test").start()?`.
#[derive(Debug, Clone)]
pub struct BedBuilder {
    nodes: usize,
    name: Option<String>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl BedBuilder {
    /// Number of nodes (default 1, at most 200).
    pub fn nodes(mut self, n: usize) -> Self {
        self.nodes = n;
        self
    }

    /// The bed's name: `[a-z0-9-]`, at most 40 characters, unique among live beds (default
    /// `bed-<pid>-<counter>`). It names the state file and the log folder.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Creates the bed: cleans stale beds, then makes the bridge, namespaces, veths, addresses
    /// and holder processes. Needs root.
    pub fn start(self) -> Result<Bed> {
        if !nix::unistd::geteuid().is_root() {
            return Err(Error::Invalid("a test bed needs root (namespaces, interfaces, mounts)".into()));
        }
        if self.nodes == 0 || self.nodes > 200 {
            return Err(Error::Invalid(format!("a bed has 1..=200 nodes, not {}", self.nodes)));
        }
        let name = self.name.unwrap_or_else(|| {
            format!("bed-{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
        });
        if name.is_empty()
            || name.len() > 40
            || !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(Error::Invalid(format!("bed name {name:?}: use 1-40 of [a-z0-9-]")));
        }
        let owner = ProcRef::current().ok_or_else(|| Error::Invalid("cannot read /proc/self/stat".into()))?;

        let st = {
            let _lock = state::lock_file(".alloc.lock")?;
            state::clean_stale_locked()?;
            let live = state::list();
            if let Some(other) = live.iter().find(|s| s.name == name) {
                return Err(Error::Invalid(format!(
                    "bed {name} already exists (owner pid {}); choose another name or `bed down {name}`",
                    other.owner.pid
                )));
            }
            let id = pick_id(&live);
            let octet = pick_octet(&live)?;
            let log_dir = Path::new(LOG_ROOT).join(&name);
            let nodes = (1..=self.nodes)
                .map(|i| NodeState {
                    name: format!("node{i}"),
                    netns: format!("kbr-{id}-n{i}"),
                    host_veth: format!("kb{id}-{i}"),
                    ip: Ipv4Addr::new(SUBNET_PREFIX[0], SUBNET_PREFIX[1], octet, 10 + i as u8),
                    holder: None,
                })
                .collect();
            let st = BedState {
                name: name.clone(),
                bridge: format!("kb{id}"),
                id,
                owner,
                octet,
                nodes,
                procs: Vec::new(),
                log_dir,
            };
            // Recorded before anything is made, so an interrupted setup is cleaned as well.
            st.save()?;
            st
        };

        let shared = (|| {
            if st.log_dir.exists() {
                let _ = std::fs::remove_dir_all(&st.log_dir);
            }
            std::fs::create_dir_all(&st.log_dir)
                .map_err(|e| Error::io(format!("creating {}", st.log_dir.display()), e))?;
            Ok(Arc::new(Shared {
                log_dir: st.log_dir.clone(),
                tracker: Tracker::new(st.clone()),
                spawner: Spawner::new()?,
            }))
        })();
        let shared = match shared {
            Ok(s) => s,
            Err(e) => {
                state::teardown(&st);
                return Err(e);
            }
        };
        let mut bed = Bed {
            shared,
            nodes: Vec::new(),
            holders: Vec::new(),
            runners: Mutex::new(Vec::new()),
            torn_down: false,
        };
        // On error, `bed` is dropped here and tears down what was made.
        bed.setup_network(&st)?;
        for ns in &st.nodes {
            bed.start_holder(ns, &st.id)?;
        }
        Ok(bed)
    }
}

/// A short random hex ID unused by live beds and host interfaces.
fn pick_id(live: &[BedState]) -> String {
    loop {
        let mut h = RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        h.write_u32(COUNTER.fetch_add(1, Ordering::Relaxed));
        let id = format!("{:05x}", h.finish() & 0xf_ffff);
        if !live.iter().any(|s| s.id == id) && !state::link_exists(&format!("kb{id}")) {
            return id;
        }
    }
}

/// A third octet for `10.233.<x>.0/24` that no live bed and no host address uses.
fn pick_octet(live: &[BedState]) -> Result<u8> {
    let addrs = procs::run_ok(Command::new("ip").args(["-4", "-o", "addr", "show"]))?;
    let routes = procs::run_ok(Command::new("ip").args(["-4", "route", "show"]))?;
    let start = (RandomState::new().build_hasher().finish() % 254) as u8;
    for k in 0..254u8 {
        let octet = 1 + start.wrapping_add(k) % 254;
        let needle = format!("{}.{}.{}.", SUBNET_PREFIX[0], SUBNET_PREFIX[1], octet);
        if live.iter().any(|s| s.octet == octet) || addrs.contains(&needle) || routes.contains(&needle) {
            continue;
        }
        return Ok(octet);
    }
    Err(Error::Invalid("no free 10.233.x.0/24 subnet for a bed".into()))
}

fn ip(args: &[&str]) -> Result<String> {
    procs::run_ok(Command::new("ip").args(args))
}

/// Best-effort: no IPv6 chatter (router solicitations, DAD) on the bed's links.
fn disable_ipv6(iface: &str) {
    let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{iface}/disable_ipv6"), "1");
}

/// A running test bed. Dropping it tears everything down.
pub struct Bed {
    pub(crate) shared: Arc<Shared>,
    nodes: Vec<Node>,
    holders: Vec<Child>,
    runners: Mutex<Vec<Runner>>,
    torn_down: bool,
}

impl Bed {
    /// A builder with one node.
    pub fn builder() -> BedBuilder {
        BedBuilder { nodes: 1, name: None }
    }

    fn setup_network(&mut self, st: &BedState) -> Result<()> {
        let br = st.bridge.as_str();
        let host_ip = format!("{}.{}.{}.1/24", SUBNET_PREFIX[0], SUBNET_PREFIX[1], st.octet);
        ip(&["link", "add", br, "type", "bridge"])?;
        disable_ipv6(br);
        ip(&["addr", "add", &host_ip, "dev", br])?;
        ip(&["link", "set", br, "up"])?;
        for n in &st.nodes {
            ip(&["netns", "add", &n.netns])?;
            ip(&["link", "add", &n.host_veth, "type", "veth", "peer", "name", "eth0", "netns", &n.netns])?;
            disable_ipv6(&n.host_veth);
            ip(&["link", "set", &n.host_veth, "master", br])?;
            ip(&["link", "set", &n.host_veth, "up"])?;
            ip(&["-n", &n.netns, "link", "set", "lo", "up"])?;
            ip(&["-n", &n.netns, "addr", "add", &format!("{}/24", n.ip), "dev", "eth0"])?;
            ip(&["-n", &n.netns, "link", "set", "eth0", "up"])?;
        }
        Ok(())
    }

    fn start_holder(&mut self, ns: &NodeState, id: &str) -> Result<()> {
        for d in PRIVATE_DIRS {
            // Mount points must exist on the host; an empty directory is all that is left there.
            if !Path::new(d).exists() {
                std::fs::create_dir_all(d).map_err(|e| Error::io(format!("creating mount point {d}"), e))?;
            }
        }
        let script = format!(
            "set -e\nfor d in \"$@\"; do mount -t tmpfs -o mode=0755 kbr-{id} \"$d\"; done\n\
             mount --make-rshared /var/lib/kubelet\n\
             hostname {}\necho ready\nexec sleep infinity\n",
            ns.name
        );
        let mut cmd = Command::new("/usr/bin/setpriv");
        cmd.args(["--pdeathsig", "KILL", "--", "/usr/bin/nsenter"])
            .arg(format!("--net=/run/netns/{}", ns.netns))
            .args(["--", "/usr/bin/unshare", "--mount", "--uts", "--propagation", "private", "--"])
            .args(["/bin/sh", "-c", &script, "holder"])
            .args(PRIVATE_DIRS)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        {
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
        }
        let mut child = self
            .shared
            .spawner
            .spawn(cmd)
            .map_err(|e| Error::io(format!("starting the holder of {}", ns.name), e))?;
        // The holder is recorded only once it is ready (in its own mount namespace): before
        // that, entering it would mean entering the host's namespaces. Until then it is in the
        // node's netns (cleaned by namespace membership) and dies with its spawner thread.
        let pid = child.id() as i32;
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            let _ = BufReader::new(out).read_line(&mut line);
        }
        if line.trim() != "ready" {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
            return Err(Error::Command {
                command: format!("holder of node {}", ns.name),
                status,
                stderr: err,
                stdout: line,
            });
        }
        child.stderr.take();
        let holder = ProcRef::of(pid)
            .ok_or_else(|| Error::Invalid(format!("holder of {} died right away", ns.name)))?;
        let name = ns.name.clone();
        self.shared.tracker.update(|st| {
            if let Some(n) = st.nodes.iter_mut().find(|n| n.name == name) {
                n.holder = Some(holder);
            }
        });
        self.holders.push(child);
        self.nodes.push(Node {
            name: ns.name.clone(),
            netns: ns.netns.clone(),
            ip: ns.ip,
            holder,
            shared: Some(self.shared.clone()),
        });
        Ok(())
    }

    /// The bed's name.
    pub fn name(&self) -> String {
        self.shared.tracker.snapshot().name
    }

    /// The bed's state as recorded in its state file (names of namespaces, interfaces, PIDs).
    pub fn state(&self) -> BedState {
        self.shared.tracker.snapshot()
    }

    /// The nodes.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Node `i` (0-based). Panics when out of range, like indexing.
    pub fn node(&self, i: usize) -> &Node {
        &self.nodes[i]
    }

    /// The host's address on the bed's bridge (nodes reach the host there).
    pub fn host_ip(&self) -> Ipv4Addr {
        let st = self.state();
        Ipv4Addr::new(SUBNET_PREFIX[0], SUBNET_PREFIX[1], st.octet, 1)
    }

    /// The per-bed log folder on the host (`/var/log/kubeadm-rs-bed/<bed>`).
    pub fn log_dir(&self) -> &Path {
        &self.shared.log_dir
    }

    /// Starts the static-pod runner on `node` (no-op if already running): it watches the node's
    /// `/etc/kubernetes/manifests` and runs each container's binary from the pinned bin dir.
    pub fn start_runner(&self, node: &Node) -> Result<()> {
        self.start_runner_with(node, components::bin_dir()?)
    }

    /// [`Bed::start_runner`] with another bin directory (e.g. fake binaries in tests).
    pub fn start_runner_with(&self, node: &Node, bin_dir: PathBuf) -> Result<()> {
        let mut runners = self.runners.lock().unwrap_or_else(|e| e.into_inner());
        if runners.iter().any(|r| r.node_name() == node.name()) {
            return Ok(());
        }
        runners.push(Runner::start(node.clone(), bin_dir, self.shared.clone())?);
        Ok(())
    }

    /// Starts the runner on every node.
    pub fn start_runners(&self) -> Result<()> {
        for n in &self.nodes {
            self.start_runner(n)?;
        }
        Ok(())
    }

    /// Stops the runner of `node` and the processes it started.
    pub fn stop_runner(&self, node: &Node) {
        let mut runners = self.runners.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = runners.iter().position(|r| r.node_name() == node.name()) {
            runners.remove(i).stop(Duration::from_secs(2));
        }
    }

    /// Runs the pinned kubectl in `node` with `--kubeconfig=/etc/kubernetes/admin.conf` (killed
    /// after [`KUBECTL_TIMEOUT`]). Whatever its exit status, returns its output.
    pub fn kubectl(&self, node: &Node, args: &[&str]) -> Result<Output> {
        self.kubectl_with(node, ADMIN_CONF, args)
    }

    /// Like [`Bed::kubectl`] but fails on a non-zero exit; returns stdout.
    pub fn kubectl_ok(&self, node: &Node, args: &[&str]) -> Result<String> {
        let what = format!("[{}] kubectl {}", node.name(), args.join(" "));
        procs::check_output(&what, self.kubectl(node, args)?)
    }

    /// Runs the pinned kubectl in `node` with another kubeconfig (a path inside the node, e.g.
    /// `/etc/kubernetes/super-admin.conf`).
    pub fn kubectl_with(&self, node: &Node, kubeconfig: &str, args: &[&str]) -> Result<Output> {
        let kubectl = components::bin("kubectl")?;
        let flag = format!("--kubeconfig={kubeconfig}");
        let mut all = vec![flag.as_str()];
        all.extend_from_slice(args);
        node.exec_timeout(kubectl, all, &[], KUBECTL_TIMEOUT)
    }

    /// The last `n` lines of every log in the bed's log folder, with headers; print it when a
    /// test fails.
    pub fn log_tails(&self, n: usize) -> String {
        log_tails(&self.shared.log_dir, n)
    }

    /// Tears the bed down now, returning the problems met (also done on drop).
    pub fn down(mut self) -> Vec<String> {
        self.teardown()
    }

    fn teardown(&mut self) -> Vec<String> {
        if self.torn_down {
            return Vec::new();
        }
        self.torn_down = true;
        let runners: Vec<Runner> =
            std::mem::take(&mut *self.runners.lock().unwrap_or_else(|e| e.into_inner()));
        for r in runners {
            r.stop(Duration::ZERO);
        }
        let st = self.shared.tracker.close();
        let problems = state::teardown(&st);
        for mut h in self.holders.drain(..) {
            let _ = h.kill();
            let _ = h.wait();
        }
        self.shared.spawner.shutdown();
        problems
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        self.teardown();
    }
}

/// [`Bed::log_tails`] for a log folder (e.g. of a bed in another process).
pub fn log_tails(dir: &Path, n: usize) -> String {
    let mut files = Vec::new();
    collect_logs(dir, &mut files);
    files.sort();
    let mut out = String::new();
    for f in files {
        let text = std::fs::read(&f).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let from = lines.len().saturating_sub(n);
        let rel = f.strip_prefix(dir).unwrap_or(&f);
        out.push_str(&format!(
            "----- {} (last {} of {} lines) -----\n",
            rel.display(),
            lines.len() - from,
            lines.len()
        ));
        for l in &lines[from..] {
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}

fn collect_logs(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_logs(&p, out);
        } else if p.extension().and_then(|x| x.to_str()) == Some("log") {
            out.push(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_tails_takes_last_lines() {
        let d = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(d.path().join("node1")).expect("mkdir");
        std::fs::write(d.path().join("node1/etcd.log"), "a\nb\nc\n").expect("write");
        let t = log_tails(d.path(), 2);
        assert!(t.contains("node1/etcd.log (last 2 of 3 lines)"), "{t}");
        assert!(t.ends_with("b\nc\n"), "{t}");
    }
}
