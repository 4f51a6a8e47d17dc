//! Bed state files: one JSON file per bed under [`STATE_DIR`], recording everything the bed made
//! (namespaces, interfaces, processes) and its owner process, so an interrupted run can be
//! cleaned up later by [`clean_stale`] — by PID + start time and namespace membership, never by
//! process name.

use std::fs::{self, File, OpenOptions};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use nix::fcntl::{Flock, FlockArg};
use nix::sys::signal::Signal;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::procs::{self, ProcRef};

/// Where bed state files live (on the host's /run: gone after a reboot, like the beds).
pub const STATE_DIR: &str = "/run/kubeadm-rs-bed";

/// One node as recorded in the state file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NodeState {
    /// The node's name (also its hostname).
    pub name: String,
    /// Its network namespace (`/run/netns/<netns>`).
    pub netns: String,
    /// The host end of its veth pair.
    pub host_veth: String,
    /// Its address on the bed's bridge.
    pub ip: Ipv4Addr,
    /// The process holding its mount and UTS namespaces, once started.
    pub holder: Option<ProcRef>,
}

/// Everything a bed made.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BedState {
    /// The bed's name (the state file is `<name>.json`).
    pub name: String,
    /// Short random ID used in interface and namespace names.
    pub id: String,
    /// The process that owns the bed; when it is dead, the bed is stale.
    pub owner: ProcRef,
    /// The bridge on the host.
    pub bridge: String,
    /// The third octet of the bed's subnet `10.233.<octet>.0/24`.
    pub octet: u8,
    /// The nodes.
    pub nodes: Vec<NodeState>,
    /// Other processes started in the bed (runner containers, spawned processes).
    pub procs: Vec<ProcRef>,
    /// Per-bed log directory on the host.
    pub log_dir: PathBuf,
}

impl BedState {
    /// The state file of bed `name`.
    pub fn path_for(name: &str) -> PathBuf {
        Path::new(STATE_DIR).join(format!("{name}.json"))
    }

    /// The directory of bed `name`'s run files (`STATE_DIR/<name>.d/`: e.g. a load balancer's
    /// backends file), removed at teardown. (Bed names have no dot, so this never collides with
    /// another bed's or another module's files there.)
    pub fn run_dir_for(name: &str) -> PathBuf {
        Path::new(STATE_DIR).join(format!("{name}.d"))
    }

    /// Reads the state of bed `name`.
    pub fn load(name: &str) -> Result<Self> {
        Self::load_path(&Self::path_for(name))
    }

    /// Reads a state file.
    pub fn load_path(path: &Path) -> Result<Self> {
        let text = fs::read_to_string(path)
            .map_err(|e| Error::State { path: path.into(), message: e.to_string() })?;
        serde_json::from_str(&text).map_err(|e| Error::State { path: path.into(), message: e.to_string() })
    }

    /// Writes the state file atomically (temp file + rename).
    pub fn save(&self) -> Result<()> {
        ensure_state_dir()?;
        let path = Self::path_for(&self.name);
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::State { path: path.clone(), message: e.to_string() })?;
        fs::write(&tmp, text).map_err(|e| Error::io(format!("writing {}", tmp.display()), e))?;
        fs::rename(&tmp, &path).map_err(|e| Error::io(format!("renaming {} into place", tmp.display()), e))
    }

    /// Whether the owner process is gone.
    pub fn is_stale(&self) -> bool {
        !self.owner.is_alive()
    }

    /// Every process the bed recorded (holders and others).
    pub fn all_procs(&self) -> Vec<ProcRef> {
        self.nodes.iter().filter_map(|n| n.holder).chain(self.procs.iter().copied()).collect()
    }
}

/// Creates [`STATE_DIR`].
pub fn ensure_state_dir() -> Result<()> {
    fs::create_dir_all(STATE_DIR).map_err(|e| Error::io(format!("creating {STATE_DIR}"), e))
}

/// An exclusive lock on a file under [`STATE_DIR`], held until dropped.
pub struct FileLock {
    _lock: Flock<File>,
}

/// Takes an exclusive `flock` on `STATE_DIR/<name>` (blocking).
pub fn lock_file(name: &str) -> Result<FileLock> {
    ensure_state_dir()?;
    let path = Path::new(STATE_DIR).join(name);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let lock = Flock::lock(file, FlockArg::LockExclusive)
        .map_err(|(_, e)| Error::io(format!("locking {}", path.display()), e.into()))?;
    Ok(FileLock { _lock: lock })
}

/// All recorded beds (unreadable files are reported on stderr and skipped).
pub fn list() -> Vec<BedState> {
    let Ok(dir) = fs::read_dir(STATE_DIR) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in dir.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        match BedState::load_path(&path) {
            Ok(s) => out.push(s),
            Err(e) => eprintln!("kubeadm-testbed: skipping {}: {e}", path.display()),
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Removes every bed whose owner process is dead. Returns the names of the beds cleaned.
/// Takes the allocation lock itself.
pub fn clean_stale() -> Result<Vec<String>> {
    let _lock = lock_file(".alloc.lock")?;
    clean_stale_locked()
}

/// [`clean_stale`] for callers already holding the allocation lock.
pub(crate) fn clean_stale_locked() -> Result<Vec<String>> {
    let mut cleaned = Vec::new();
    for st in list() {
        if st.is_stale() {
            eprintln!("kubeadm-testbed: cleaning stale bed {} (owner pid {} gone)", st.name, st.owner.pid);
            teardown(&st);
            // Killed processes of a dead owner are reaped by init: give it a moment, so callers
            // see them gone.
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            while st.all_procs().iter().any(|p| procs::start_time(p.pid) == Some(p.start))
                && std::time::Instant::now() < deadline
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            cleaned.push(st.name);
        }
    }
    Ok(cleaned)
}

/// Serializes [`teardown`] within one process (it runs `ip` commands on shared names).
static TEARDOWN: Mutex<()> = Mutex::new(());

/// Removes everything `st` records: kills its processes (by PID + start time, and every process
/// inside its network namespaces), deletes its namespaces, veths and bridge, and its state file.
/// Best effort: problems are printed, and the function carries on. Returns the problems.
pub fn teardown(st: &BedState) -> Vec<String> {
    let _g = TEARDOWN.lock().unwrap_or_else(|e| e.into_inner());
    let mut problems = Vec::new();
    for p in &st.procs {
        p.signal_group(Signal::SIGKILL);
    }
    for n in &st.nodes {
        let ns_path = Path::new("/run/netns").join(&n.netns);
        if let Some(ino) = procs::ns_inode(&ns_path) {
            let left = procs::kill_netns_members(ino, Duration::from_secs(10));
            if !left.is_empty() {
                problems.push(format!("processes {left:?} survived in netns {}", n.netns));
            }
        }
        if let Some(h) = n.holder {
            h.signal(Signal::SIGKILL);
        }
        if ns_path.exists()
            && let Err(e) = procs::run_ok(Command::new("ip").args(["netns", "delete", &n.netns]))
        {
            problems.push(e.to_string());
        }
        if link_exists(&n.host_veth) {
            let _ = procs::run_ok(Command::new("ip").args(["link", "delete", &n.host_veth]));
        }
    }
    if link_exists(&st.bridge)
        && let Err(e) = procs::run_ok(Command::new("ip").args(["link", "delete", &st.bridge]))
    {
        problems.push(e.to_string());
    }
    // Per-bed run files (load balancer backends/status), `STATE_DIR/<name>.d/`.
    let run_dir = BedState::run_dir_for(&st.name);
    if let Err(e) = fs::remove_dir_all(&run_dir)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        problems.push(format!("removing {}: {e}", run_dir.display()));
    }
    let path = BedState::path_for(&st.name);
    if let Err(e) = fs::remove_file(&path)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        problems.push(format!("removing {}: {e}", path.display()));
    }
    for p in &problems {
        eprintln!("kubeadm-testbed: teardown of {}: {p}", st.name);
    }
    problems
}

/// What is left of a bed on the host: namespaces, interfaces, mounts, live processes, the state
/// file. Empty after a complete teardown (used by tests).
pub fn leftovers(st: &BedState) -> Vec<String> {
    let mut out = Vec::new();
    for n in &st.nodes {
        if Path::new("/run/netns").join(&n.netns).exists() {
            out.push(format!("netns {}", n.netns));
        }
        if link_exists(&n.host_veth) {
            out.push(format!("interface {}", n.host_veth));
        }
    }
    if link_exists(&st.bridge) {
        out.push(format!("bridge {}", st.bridge));
    }
    let tag = format!("kbr-{}", st.id);
    if let Ok(mounts) = fs::read_to_string("/proc/mounts") {
        for line in mounts.lines().filter(|l| l.contains(&tag)) {
            out.push(format!("mount {line}"));
        }
    }
    for p in st.all_procs() {
        if p.is_alive() || procs::start_time(p.pid) == Some(p.start) {
            out.push(format!("process {} (start {})", p.pid, p.start));
        }
    }
    if BedState::run_dir_for(&st.name).exists() {
        out.push(format!("run directory {}", BedState::run_dir_for(&st.name).display()));
    }
    if BedState::path_for(&st.name).exists() {
        out.push(format!("state file {}", BedState::path_for(&st.name).display()));
    }
    out
}

/// Whether a network interface of that name exists in the host's network namespace.
pub fn link_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips() {
        let st = BedState {
            name: "t".into(),
            id: "abcde".into(),
            owner: ProcRef { pid: 1, start: u64::MAX },
            bridge: "kbabcde".into(),
            octet: 7,
            nodes: vec![NodeState {
                name: "node1".into(),
                netns: "kbr-abcde-n1".into(),
                host_veth: "kbabcde-1".into(),
                ip: Ipv4Addr::new(10, 233, 7, 11),
                holder: None,
            }],
            procs: vec![ProcRef { pid: 5, start: 6 }],
            log_dir: "/tmp/x".into(),
        };
        let text = serde_json::to_string(&st).expect("serialize");
        let back: BedState = serde_json::from_str(&text).expect("parse");
        assert_eq!(st, back);
        assert!(back.is_stale(), "pid 1 with that start time is not the real init");
    }
}
