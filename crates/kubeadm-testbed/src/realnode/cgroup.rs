//! Per-node cgroup trees. The machine's cgroups are v1 (hybrid: a cgroup2 mount at
//! `/sys/fs/cgroup/unified`), shared by every node, so each real node gets its own top-level
//! cgroup in every hierarchy: the kubelet's `cgroupRoot` (Pods) and a sibling for the node's
//! runtime processes (containerd, its shims, the kubelet supervisor and the kubelet). Teardown
//! finds what is left by cgroup membership — never by name — kills it and removes the trees.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::error::{Error, Result};

/// Where the cgroup hierarchies are mounted.
pub const CGROUP_MOUNT_ROOT: &str = "/sys/fs/cgroup";

/// The mount points of every cgroup hierarchy (v1 and v2) under [`CGROUP_MOUNT_ROOT`], from
/// `/proc/self/mountinfo`.
pub fn hierarchies() -> Result<Vec<PathBuf>> {
    let text = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| Error::io("reading /proc/self/mountinfo", e))?;
    Ok(parse_hierarchies(&text))
}

/// [`hierarchies`] from a mountinfo text.
pub fn parse_hierarchies(mountinfo: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for line in mountinfo.lines() {
        // "<id> <parent> <maj:min> <root> <mount point> <opts> [optional...] - <fstype> <src> <sopts>"
        let Some((left, right)) = line.split_once(" - ") else { continue };
        let fstype = right.split_whitespace().next().unwrap_or("");
        let mount_point = left.split_whitespace().nth(4).unwrap_or("");
        if (fstype == "cgroup" || fstype == "cgroup2")
            && Path::new(mount_point).starts_with(CGROUP_MOUNT_ROOT)
            && mount_point != CGROUP_MOUNT_ROOT
        {
            out.push(PathBuf::from(mount_point));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// One cgroup (a path like `/kbr-1a2b3-n1`) in every hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupTree {
    path: String,
}

impl CgroupTree {
    /// A handle on `path` (absolute, e.g. `/kbr-1a2b3-n1`); nothing is created.
    pub fn new(path: impl Into<String>) -> Result<Self> {
        let path = path.into();
        let ok = path.len() > 1
            && path.starts_with('/')
            && !path.contains("..")
            && path[1..].chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
        if !ok {
            return Err(Error::Invalid(format!("cgroup path {path:?}: use /[A-Za-z0-9._-]+")));
        }
        Ok(CgroupTree { path })
    }

    /// The cgroup path (what `--cgroup-root` and a Pod's `cgroup_parent` take).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Its directory in every hierarchy.
    pub fn dirs(&self) -> Result<Vec<PathBuf>> {
        Ok(hierarchies()?.into_iter().map(|h| h.join(&self.path[1..])).collect())
    }

    /// Creates it in every hierarchy; in cpuset, `cpuset.cpus` and `cpuset.mems` are copied from
    /// the parent (an empty cpuset accepts no process).
    pub fn create(&self) -> Result<()> {
        for h in hierarchies()? {
            let mut dir = h.clone();
            for part in self.path[1..].split('/') {
                let parent = dir.clone();
                dir = dir.join(part);
                if dir.is_dir() {
                    continue;
                }
                std::fs::create_dir(&dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
                for f in ["cpuset.cpus", "cpuset.mems"] {
                    let src = parent.join(f);
                    if src.is_file() && !h.ends_with("unified") {
                        let v = std::fs::read_to_string(&src)
                            .map_err(|e| Error::io(format!("reading {}", src.display()), e))?;
                        let dst = dir.join(f);
                        std::fs::write(&dst, v.trim())
                            .map_err(|e| Error::io(format!("writing {}", dst.display()), e))?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether it exists in any hierarchy.
    pub fn exists(&self) -> bool {
        self.dirs().map(|d| d.iter().any(|p| p.is_dir())).unwrap_or(false)
    }

    /// Every process in it or below it, in any hierarchy.
    pub fn procs(&self) -> Vec<i32> {
        let mut pids = BTreeSet::new();
        for d in self.dirs().unwrap_or_default() {
            let mut stack = vec![d];
            while let Some(dir) = stack.pop() {
                if let Ok(text) = std::fs::read_to_string(dir.join("cgroup.procs")) {
                    pids.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
                }
                if let Ok(rd) = std::fs::read_dir(&dir) {
                    stack.extend(rd.flatten().map(|e| e.path()).filter(|p| p.is_dir()));
                }
            }
        }
        pids.remove(&(std::process::id() as i32));
        pids.into_iter().collect()
    }

    /// SIGKILLs every process in the tree until none is left or `timeout` passes; returns the
    /// PIDs still there at the end.
    pub fn kill_all(&self, timeout: Duration) -> Vec<i32> {
        let deadline = Instant::now() + timeout;
        loop {
            let pids = self.procs();
            if pids.is_empty() || Instant::now() >= deadline {
                return pids;
            }
            for p in pids {
                let _ = kill(Pid::from_raw(p), Signal::SIGKILL);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Removes the tree (children first) from every hierarchy, retrying for up to `timeout`
    /// while the kernel still counts exiting processes. Returns the problems left.
    pub fn remove(&self, timeout: Duration) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let mut left = Vec::new();
            for d in self.dirs().unwrap_or_default() {
                let mut all = Vec::new();
                collect_dirs(&d, &mut all);
                // Deepest first.
                all.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
                for dir in all {
                    if let Err(e) = std::fs::remove_dir(&dir)
                        && e.kind() != std::io::ErrorKind::NotFound
                    {
                        left.push(format!("removing cgroup {}: {e}", dir.display()));
                    }
                }
            }
            if left.is_empty() || Instant::now() >= deadline {
                return left;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The `cgroup.procs` files a process writes its PID into to join the tree (one per
    /// hierarchy), space-separated directories for the kubelet service's `KUBELET_CGROUPS`.
    pub fn join_dirs(&self) -> Result<String> {
        Ok(self.dirs()?.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(" "))
    }
}

fn collect_dirs(dir: &Path, out: &mut Vec<PathBuf>) {
    if !dir.is_dir() {
        return;
    }
    out.push(dir.to_path_buf());
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                collect_dirs(&p, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hybrid_mountinfo() {
        let text = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n\
                    32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n\
                    34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime shared:5 - cgroup cgroup rw,cpuset\n\
                    41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n\
                    50 23 0:40 / /proc rw - proc proc rw\n";
        let h = parse_hierarchies(text);
        let want: Vec<PathBuf> = ["/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpuset", "/sys/fs/cgroup/unified"]
            .iter()
            .map(PathBuf::from)
            .collect();
        assert_eq!(h, want);
    }

    #[test]
    fn rejects_odd_paths() {
        assert!(CgroupTree::new("/kbr-1a2b3-n1").is_ok());
        assert!(CgroupTree::new("/kbr-1a2b3-n1/crictl").is_ok());
        for bad in ["", "/", "kbr", "/a/../b", "/a b", "/a;b"] {
            assert!(CgroupTree::new(bad).is_err(), "{bad:?}");
        }
    }
}
