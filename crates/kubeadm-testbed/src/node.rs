//! A node: a network namespace plus mount and UTS namespaces held by a long-lived holder process.
//! Commands run inside with `nsenter --target <holder> --mount --net --uts` (not `ip netns exec`,
//! which remounts /sys), wrapped in `setpriv --pdeathsig KILL` so they die with their parent.

use std::ffi::OsStr;
use std::fs::OpenOptions;
use std::io::Read;
use std::net::Ipv4Addr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::bed::Shared;
use crate::error::{Error, Result};
use crate::procs::{self, ProcRef};
use crate::state::NodeState;

/// `PATH` inside a node (callers may override it through `env`).
pub const NODE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Directories that get a private tmpfs in every node, so kubeadm runs with its real default
/// paths and nodes can't see each other's files. `/run` is private too (containerd sockets,
/// kubelet state); the bed never needs the host's `/run/netns` from inside a node because it
/// enters nodes through the holder's PID. `/tmp` stays shared with the host on purpose, so tests
/// can hand files to commands in a node.
pub const PRIVATE_DIRS: &[&str] = &[
    "/run",
    "/etc/kubernetes",
    "/etc/cni/net.d",
    "/var/lib/kubelet",
    "/var/lib/etcd",
    "/var/lib/containerd",
    "/var/lib/cni",
    "/var/log/pods",
    "/var/log/containers",
    "/usr/libexec/kubernetes",
    "/root/.kube",
];

/// One node of a bed. Cheap to clone.
#[derive(Clone)]
pub struct Node {
    pub(crate) name: String,
    pub(crate) netns: String,
    pub(crate) ip: Ipv4Addr,
    pub(crate) holder: ProcRef,
    pub(crate) shared: Option<Arc<Shared>>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("name", &self.name)
            .field("netns", &self.netns)
            .field("ip", &self.ip)
            .field("holder", &self.holder)
            .finish()
    }
}

impl Node {
    /// A handle on a node recorded in a state file (e.g. from another process, as `bed exec`
    /// does). [`Node::spawn`] is not available on such a handle.
    pub fn from_state(st: &NodeState) -> Result<Self> {
        let holder =
            st.holder.ok_or_else(|| Error::Invalid(format!("node {} has no holder process", st.name)))?;
        Ok(Node { name: st.name.clone(), netns: st.netns.clone(), ip: st.ip, holder, shared: None })
    }

    /// The node's name (also its hostname, and what tests use as the Kubernetes node name).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The node's address on the bed's bridge.
    pub fn ip(&self) -> Ipv4Addr {
        self.ip
    }

    /// The network namespace's name (`/run/netns/<name>` on the host).
    pub fn netns(&self) -> &str {
        &self.netns
    }

    /// The process holding the node's mount and UTS namespaces.
    pub fn holder(&self) -> ProcRef {
        self.holder
    }

    /// The host path of `path` as seen inside the node: `/proc/<holder>/root/<path>`.
    /// `host_path("/etc/kubernetes/admin.conf")`.
    pub fn host_path(&self, path: impl AsRef<Path>) -> PathBuf {
        let rel = path.as_ref().strip_prefix("/").unwrap_or(path.as_ref());
        PathBuf::from(format!("/proc/{}/root", self.holder.pid)).join(rel)
    }

    /// Checks that the holder is alive and really in its own mount namespace (so a command can
    /// never land in the host's namespaces by mistake).
    pub fn check(&self) -> Result<()> {
        if !self.holder.is_alive() {
            return Err(Error::Invalid(format!(
                "node {}: holder process {} is gone (bed torn down?)",
                self.name, self.holder.pid
            )));
        }
        let theirs = std::fs::read_link(format!("/proc/{}/ns/mnt", self.holder.pid));
        let ours = std::fs::read_link("/proc/self/ns/mnt");
        match (theirs, ours) {
            (Ok(t), Ok(o)) if t != o => Ok(()),
            (t, o) => Err(Error::Invalid(format!(
                "node {}: holder {} is not in a mount namespace of its own ({t:?} vs {o:?})",
                self.name, self.holder.pid
            ))),
        }
    }

    fn check_holder(&self) -> Result<()> {
        self.check()
    }

    /// A command that runs `program args` inside the node, with a clean environment
    /// (`PATH` = [`NODE_PATH`], `HOME=/root`), working directory `/` and `PR_SET_PDEATHSIG`
    /// SIGKILL. Use absolute paths: entering the mount namespace resets the working directory.
    pub fn command<I, S>(&self, program: impl AsRef<OsStr>, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = Command::new("/usr/bin/nsenter");
        c.arg(format!("--target={}", self.holder.pid))
            .args(["--mount", "--net", "--uts", "--", "/usr/bin/setpriv", "--pdeathsig", "KILL", "--"])
            .arg(program)
            .args(args)
            .env_clear()
            .env("PATH", NODE_PATH)
            .env("HOME", "/root")
            .current_dir("/");
        c
    }

    /// What the `exec*` methods run: [`Node::command`] with `env` added and stdin from
    /// `/dev/null`, after checking that the node's holder process is still alive.
    fn prepared<I, S>(&self, program: impl AsRef<OsStr>, args: I, env: &[(&str, &str)]) -> Result<Command>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.check_holder()?;
        let mut c = self.command(program, args);
        c.envs(env.iter().copied()).stdin(Stdio::null());
        Ok(c)
    }

    /// Runs `program args` in the node to completion and returns its output (whatever its exit
    /// status). `env` is added to the clean environment.
    pub fn exec<I, S>(&self, program: impl AsRef<OsStr>, args: I, env: &[(&str, &str)]) -> Result<Output>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        procs::output(&mut self.prepared(program, args, env)?)
    }

    /// Like [`Node::exec`] but fails unless the command exits 0; returns its stdout.
    pub fn exec_ok<I, S>(&self, program: impl AsRef<OsStr>, args: I, env: &[(&str, &str)]) -> Result<String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = self.prepared(program, args, env)?;
        let what = format!("[{}] {}", self.name, procs::describe(&c));
        let out = procs::output(&mut c)?;
        procs::check_output(&what, out)
    }

    /// Like [`Node::exec`] but kills the command (its whole process group) and fails with
    /// [`Error::Timeout`] when it runs longer than `timeout`.
    pub fn exec_timeout<I, S>(
        &self,
        program: impl AsRef<OsStr>,
        args: I,
        env: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<Output>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = self.prepared(program, args, env)?;
        c.stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
        let what = format!("[{}] {}", self.name, procs::describe(&c));
        let mut child = c.spawn().map_err(|e| Error::io(format!("running `{what}`"), e))?;
        let reader = |r: Option<Box<dyn Read + Send>>| {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                if let Some(mut r) = r {
                    let _ = r.read_to_end(&mut buf);
                }
                buf
            })
        };
        let out_t = reader(child.stdout.take().map(|o| Box::new(o) as Box<dyn Read + Send>));
        let err_t = reader(child.stderr.take().map(|o| Box::new(o) as Box<dyn Read + Send>));
        let deadline = Instant::now() + timeout;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
                Ok(None) => {
                    procs::stop_child(&mut child, Duration::ZERO);
                    let stderr = String::from_utf8_lossy(&err_t.join().unwrap_or_default()).into_owned();
                    return Err(Error::Timeout { what, timeout, last: stderr });
                }
                Err(e) => return Err(Error::io(format!("waiting for `{what}`"), e)),
            }
        };
        let stdout = out_t.join().unwrap_or_default();
        let stderr = err_t.join().unwrap_or_default();
        Ok(Output { status, stdout, stderr })
    }

    /// Writes a file inside the node (creating parent directories).
    pub fn write_file(&self, path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> Result<()> {
        self.check_holder()?;
        let p = self.host_path(path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::io(format!("creating {}", parent.display()), e))?;
        }
        std::fs::write(&p, contents).map_err(|e| Error::io(format!("writing {}", p.display()), e))
    }

    /// Reads a file inside the node.
    pub fn read_file(&self, path: impl AsRef<Path>) -> Result<String> {
        self.check_holder()?;
        let p = self.host_path(path);
        std::fs::read_to_string(&p).map_err(|e| Error::io(format!("reading {}", p.display()), e))
    }

    /// Starts a prepared command (from [`Node::command`]) as a long-lived process in its own
    /// process group. It is tracked in the bed's state file and killed at teardown at the latest
    /// (or when the returned handle is dropped).
    pub fn spawn_command(&self, mut cmd: Command) -> Result<NodeProcess> {
        self.check_holder()?;
        let shared = self
            .shared
            .clone()
            .ok_or_else(|| Error::Invalid("spawn needs a node handle from a live Bed".into()))?;
        cmd.process_group(0);
        let what = procs::describe(&cmd);
        let child = shared.spawner.spawn(cmd).map_err(|e| Error::io(format!("spawning `{what}`"), e))?;
        let proc = ProcRef::of(child.id() as i32).unwrap_or(ProcRef { pid: child.id() as i32, start: 0 });
        shared.tracker.add_proc(proc);
        Ok(NodeProcess { child, proc, shared })
    }

    /// Starts `program args` (with `env`) in the node as a long-lived process; its stdout and
    /// stderr go to `<bed log dir>/<node>/<program basename>.log`.
    pub fn spawn<I, S>(
        &self,
        program: impl AsRef<OsStr>,
        args: I,
        env: &[(&str, &str)],
    ) -> Result<NodeProcess>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let shared = self
            .shared
            .clone()
            .ok_or_else(|| Error::Invalid("spawn needs a node handle from a live Bed".into()))?;
        let base = Path::new(program.as_ref())
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "process".into());
        let dir = shared.log_dir.join(&self.name);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        let log_path = dir.join(format!("{base}.log"));
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| Error::io(format!("opening {}", log_path.display()), e))?;
        let log2 = log.try_clone().map_err(|e| Error::io("duplicating a log file handle", e))?;
        let mut c = self.command(program, args);
        c.envs(env.iter().copied()).stdin(Stdio::null()).stdout(log).stderr(log2);
        self.spawn_command(c)
    }
}

/// A long-lived process started in a node. Dropping it stops it (SIGTERM to its process group,
/// SIGKILL after 2 s).
pub struct NodeProcess {
    child: Child,
    proc: ProcRef,
    shared: Arc<Shared>,
}

impl NodeProcess {
    /// Its PID (also its process group ID).
    pub fn pid(&self) -> i32 {
        self.proc.pid
    }

    /// Its identity.
    pub fn proc_ref(&self) -> ProcRef {
        self.proc
    }

    /// The underlying child (e.g. to `try_wait`, or take piped stdio).
    pub fn child(&mut self) -> &mut Child {
        &mut self.child
    }

    /// Stops it now.
    pub fn stop(self) {
        drop(self)
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        procs::stop_child(&mut self.child, Duration::from_secs(2));
        self.shared.tracker.remove_proc(self.proc);
    }
}
