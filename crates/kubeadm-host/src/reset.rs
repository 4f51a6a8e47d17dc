//! Host effects of `kubeadm reset` (upstream `cmd/phases/reset/{cleanupnode,unmount_linux}.go`):
//! unmounting what the kubelet mounted, emptying directories, removing the Pods of the container
//! runtime.

use std::io;
use std::path::{Path, PathBuf};

use crate::hostenv::HostEnv;

/// Errors of the reset helpers.
#[derive(Debug, thiserror::Error)]
pub enum ResetError {
    /// `/proc/mounts` could not be read.
    #[error("failed to read /proc/mounts: {0}")]
    Mounts(#[source] io::Error),
    /// Some mounts under a directory could not be unmounted.
    #[error("encountered the following errors while unmounting directories in {dir:?}: [{}]", .errors.join(", "))]
    Unmount {
        /// The directory (with a trailing `/`).
        dir: String,
        /// One message per failed mount point.
        errors: Vec<String>,
    },
    /// The container runtime could not be asked for its Pods, or removing some failed.
    #[error("{0}")]
    Runtime(String),
}

/// Unmount flags of `ResetConfiguration.unmountFlags` (upstream's `flagMap`).
pub fn unmount_flags(names: &[String]) -> nix::mount::MntFlags {
    use nix::mount::MntFlags;
    let mut f = MntFlags::empty();
    for n in names {
        f |= match n.as_str() {
            "MNT_FORCE" => MntFlags::MNT_FORCE,
            "MNT_DETACH" => MntFlags::MNT_DETACH,
            "MNT_EXPIRE" => MntFlags::MNT_EXPIRE,
            "UMOUNT_NOFOLLOW" => MntFlags::UMOUNT_NOFOLLOW,
            _ => MntFlags::empty(),
        };
    }
    f
}

/// The mount points listed in `mounts` (the text of `/proc/mounts`) strictly below `dir`, in
/// listed order (upstream unmounts in that order too). Octal escapes (`\040`) are decoded.
pub fn mounts_below(mounts: &str, dir: &str) -> Vec<String> {
    let prefix = if dir.ends_with('/') { dir.to_string() } else { format!("{dir}/") };
    mounts
        .lines()
        .filter_map(|l| l.split(' ').nth(1))
        .map(unescape_octal)
        .filter(|m| m.starts_with(&prefix))
        .collect()
}

fn unescape_octal(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c)) {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Upstream `unmountKubeletDirectory`: unmounts every mount point below `dir`; `EINVAL` (already
/// gone through a shared peer) is only reported through `on_einval`.
pub fn unmount_below(
    dir: &Path,
    flags: &[String],
    on_einval: &mut dyn FnMut(&str),
) -> Result<(), ResetError> {
    let mounts = std::fs::read_to_string("/proc/mounts").map_err(ResetError::Mounts)?;
    let shown = format!("{}/", dir.display().to_string().trim_end_matches('/'));
    let f = unmount_flags(flags);
    let mut errors = Vec::new();
    for m in mounts_below(&mounts, &shown) {
        match nix::mount::umount2(m.as_str(), f) {
            Ok(()) => {}
            Err(nix::errno::Errno::EINVAL) => on_einval(&m),
            Err(e) => errors.push(format!("failed to unmount {m:?}: {}", e.desc().to_lowercase())),
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(ResetError::Unmount { dir: shown, errors }) }
}

/// Upstream `CleanDir`: removes everything inside `dir` but not `dir` itself; a missing directory
/// is fine.
pub fn clean_dir(dir: &Path) -> io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for e in entries {
        let e = e?;
        let p = e.path();
        if e.file_type()?.is_dir() { std::fs::remove_dir_all(&p)? } else { std::fs::remove_file(&p)? }
    }
    Ok(())
}

/// Upstream `IsDirEmpty` (an unreadable directory counts as not empty).
pub fn is_dir_empty(dir: &Path) -> bool {
    std::fs::read_dir(dir).map(|mut d| d.next().is_none()).unwrap_or(false)
}

/// Removes a file or directory tree; a missing one is fine (Go's `os.RemoveAll`).
pub fn remove_all(path: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
    }
}

/// Upstream `removeContainers`: stops and removes every Pod sandbox of the CRI endpoint (through
/// `crictl`, as the other CRI calls of kubeadm-rs). Returns how many Pods were removed.
pub fn remove_pods(host: &dyn HostEnv, socket: &str) -> Result<usize, ResetError> {
    if host.look_path("crictl").is_none() {
        return Err(ResetError::Runtime(
            "kubeadm-rs talks to the container runtime through crictl, which was not found in system path"
                .into(),
        ));
    }
    let endpoint = if socket.contains("://") { socket.to_string() } else { format!("unix://{socket}") };
    let crictl = |args: &[&str]| -> Result<String, ResetError> {
        let mut full = vec!["--runtime-endpoint", endpoint.as_str()];
        full.extend_from_slice(args);
        let o = host
            .run("crictl", &full)
            .map_err(|e| ResetError::Runtime(format!("cannot execute crictl: {e}")))?;
        if !o.success {
            return Err(ResetError::Runtime(format!("crictl {}: {}", args.join(" "), o.stderr.trim())));
        }
        Ok(o.stdout)
    };
    let pods = crictl(&["pods", "-q"])?;
    let ids: Vec<&str> = pods.split_whitespace().collect();
    let mut errors = Vec::new();
    for id in &ids {
        // Upstream retries each Pod a few times.
        let mut last = None;
        for _ in 0..3 {
            match crictl(&["stopp", id]).and_then(|_| crictl(&["rmp", id])) {
                Ok(_) => {
                    last = None;
                    break;
                }
                Err(e) => last = Some(e.to_string()),
            }
        }
        if let Some(e) = last {
            errors.push(format!("failed to remove pod {id}: {e}"));
        }
    }
    if errors.is_empty() { Ok(ids.len()) } else { Err(ResetError::Runtime(errors.join("; "))) }
}

/// The kubeconfig files reset deletes, in upstream's order.
pub fn files_to_clean(kubernetes_dir: &Path) -> Vec<PathBuf> {
    [
        "admin.conf",
        "super-admin.conf",
        "kubelet.conf",
        "bootstrap-kubelet.conf",
        "controller-manager.conf",
        "scheduler.conf",
    ]
    .iter()
    .map(|f| kubernetes_dir.join(f))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts_below_matches_strictly_below_and_decodes_escapes() {
        let m = "tmpfs /var/lib/kubelet tmpfs rw 0 0\n\
                 tmpfs /var/lib/kubelet/pods/a/volumes/x tmpfs rw 0 0\n\
                 tmpfs /var/lib/kubelet2/y tmpfs rw 0 0\n\
                 tmpfs /var/lib/kubelet/with\\040space tmpfs rw 0 0\n";
        assert_eq!(
            mounts_below(m, "/var/lib/kubelet"),
            vec!["/var/lib/kubelet/pods/a/volumes/x".to_string(), "/var/lib/kubelet/with space".to_string()]
        );
    }

    #[test]
    fn clean_dir_keeps_the_directory() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("a/b")).unwrap();
        std::fs::write(d.path().join("f"), "x").unwrap();
        clean_dir(d.path()).unwrap();
        assert!(d.path().is_dir());
        assert!(is_dir_empty(d.path()));
        clean_dir(&d.path().join("missing")).unwrap();
        remove_all(&d.path().join("missing")).unwrap();
    }

    #[test]
    fn flags_map() {
        let f = unmount_flags(&["MNT_DETACH".into(), "UMOUNT_NOFOLLOW".into()]);
        assert!(f.contains(nix::mount::MntFlags::MNT_DETACH));
        assert!(f.contains(nix::mount::MntFlags::UMOUNT_NOFOLLOW));
        assert!(!f.contains(nix::mount::MntFlags::MNT_FORCE));
    }
}
