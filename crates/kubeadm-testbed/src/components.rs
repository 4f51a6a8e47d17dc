//! Where the pinned real components live.
//!
//! Tests find the bin directory through `KUBEADM_RS_BIN_DIR`; when it is unset,
//! `scripts/build-components.sh` (found from this crate's manifest directory) is run once per
//! process and its last line of standard output is used. Failures are errors, never skips:
//! callers decide about `KUBEADM_RS_SKIP_BED` (see [`skip_requested`]).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::error::{Error, Result};

/// The environment variable naming the bin directory.
pub const BIN_DIR_ENV: &str = "KUBEADM_RS_BIN_DIR";

/// The environment variable that, set to `1`, makes bed tests skip instead of fail.
pub const SKIP_ENV: &str = "KUBEADM_RS_SKIP_BED";

/// Binaries a complete component set holds.
pub const REQUIRED: &[&str] = &[
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
    "kubectl",
    "kubeadm",
    "etcd",
    "etcdctl",
    "crictl",
];

/// Whether the user asked to skip bed tests (`KUBEADM_RS_SKIP_BED=1`).
pub fn skip_requested() -> bool {
    std::env::var(SKIP_ENV).map(|v| v == "1").unwrap_or(false)
}

/// The repository root (two levels above this crate's manifest directory).
pub fn repo_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().and_then(Path::parent).unwrap_or(manifest).to_path_buf()
}

static BIN_DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();

/// The directory holding the pinned binaries (resolved once per process, building them if
/// needed). Checks that every binary in [`REQUIRED`] is present.
pub fn bin_dir() -> Result<PathBuf> {
    BIN_DIR.get_or_init(resolve).clone().map_err(Error::Components)
}

/// The path of one pinned binary (`bin("kubectl")`), checked to exist.
pub fn bin(name: &str) -> Result<PathBuf> {
    let path = bin_dir()?.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(Error::Components(format!("{} does not exist", path.display())))
    }
}

fn resolve() -> Result<PathBuf, String> {
    let dir = match std::env::var_os(BIN_DIR_ENV) {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => build()?,
    };
    check_dir(&dir)?;
    Ok(dir)
}

/// Checks that `dir` holds every required binary.
pub fn check_dir(dir: &Path) -> Result<(), String> {
    let missing: Vec<&str> = REQUIRED.iter().copied().filter(|b| !dir.join(b).is_file()).collect();
    if missing.is_empty() { Ok(()) } else { Err(format!("{} lacks {}", dir.display(), missing.join(", "))) }
}

fn build() -> Result<PathBuf, String> {
    let script = repo_root().join("scripts/build-components.sh");
    if !script.is_file() {
        return Err(format!("{BIN_DIR_ENV} is unset and {} does not exist", script.display()));
    }
    eprintln!("kubeadm-testbed: {BIN_DIR_ENV} unset; running {} ...", script.display());
    let out = Command::new("bash")
        .arg(&script)
        .current_dir(repo_root())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("running {}: {e}", script.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("{} failed ({}); stdout:\n{stdout}", script.display(), out.status));
    }
    last_line(&stdout)
        .map(PathBuf::from)
        .ok_or_else(|| format!("{} printed nothing on stdout", script.display()))
}

/// The last non-empty line of `s`, trimmed.
fn last_line(s: &str) -> Option<&str> {
    s.lines().map(str::trim).rev().find(|l| !l.is_empty())
}

/// The binary a container image maps to: the repository's basename without tag or digest
/// (`registry.k8s.io/kube-apiserver:v1.37.2` -> `kube-apiserver`,
/// `registry.k8s.io/etcd:3.7.0-0` -> `etcd`, `localhost:5000/x/etcd@sha256:..` -> `etcd`).
pub fn image_binary(image: &str) -> &str {
    let no_digest = image.split('@').next().unwrap_or(image);
    let base = no_digest.rsplit('/').next().unwrap_or(no_digest);
    base.split(':').next().unwrap_or(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names_map_to_binaries() {
        assert_eq!(image_binary("registry.k8s.io/kube-apiserver:v1.37.2"), "kube-apiserver");
        assert_eq!(image_binary("registry.k8s.io/etcd:3.7.0-0"), "etcd");
        assert_eq!(image_binary("localhost:5000/a/etcd@sha256:abc"), "etcd");
        assert_eq!(image_binary("kube-scheduler"), "kube-scheduler");
    }

    #[test]
    fn last_line_skips_blank() {
        assert_eq!(last_line("a\nb\n/x/bin\n\n"), Some("/x/bin"));
        assert_eq!(last_line("\n"), None);
    }

    #[test]
    fn repo_root_has_workspace_manifest() {
        assert!(repo_root().join("Cargo.toml").is_file());
    }

    #[test]
    fn check_dir_reports_missing() {
        let d = tempfile::tempdir().expect("tempdir");
        let err = check_dir(d.path()).expect_err("empty dir");
        assert!(err.contains("kube-apiserver"));
    }
}
