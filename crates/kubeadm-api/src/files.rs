//! Files that a phase wants on disk.
//!
//! Library crates (PKI, kubeconfig and manifest generation) do not write to the host: they return
//! [`OutFile`]s, and the host crate writes them atomically with the right mode, or (with `--dry-run`)
//! into a temporary folder and prints them.

use std::fmt;
use std::path::PathBuf;

/// One file a phase wants written: absolute path, contents and Unix permission bits.
#[derive(Clone, PartialEq, Eq)]
pub struct OutFile {
    /// Absolute path of the file on the node.
    pub path: PathBuf,
    /// Full contents.
    pub data: Vec<u8>,
    /// Unix permission bits (e.g. `0o600` for private keys and kubeconfigs, `0o644` for certificates).
    pub mode: u32,
    /// True when the contents are secret (private keys, kubeconfigs with embedded keys): never print
    /// them, also not in dry-run output.
    pub secret: bool,
}

impl OutFile {
    /// A public file (certificate, manifest).
    pub fn public(path: impl Into<PathBuf>, data: impl Into<Vec<u8>>, mode: u32) -> Self {
        Self { path: path.into(), data: data.into(), mode, secret: false }
    }

    /// A secret file (private key, kubeconfig with embedded credentials).
    pub fn secret(path: impl Into<PathBuf>, data: impl Into<Vec<u8>>, mode: u32) -> Self {
        Self { path: path.into(), data: data.into(), mode, secret: true }
    }
}

impl fmt::Debug for OutFile {
    // Contents are left out on purpose: they may be private keys.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutFile")
            .field("path", &self.path)
            .field("len", &self.data.len())
            .field("mode", &format_args!("{:o}", self.mode))
            .field("secret", &self.secret)
            .finish()
    }
}

/// A symbolic link a phase wants on the node (e.g. the kubelet's `kubelet-client-current.pem`),
/// created atomically by the host crate (temporary link + rename), like client-go's certificate
/// store replaces its `-current` link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutSymlink {
    /// Absolute path of the link.
    pub path: PathBuf,
    /// What the link points to, as stored in the link (an absolute node path here).
    pub target: PathBuf,
}

impl OutSymlink {
    /// The link `path` -> `target`.
    pub fn new(path: impl Into<PathBuf>, target: impl Into<PathBuf>) -> Self {
        Self { path: path.into(), target: target.into() }
    }
}
