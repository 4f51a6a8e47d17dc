//! Host effects for kubeadm-rs: atomic file writes and dry-run ([`fs`]), preflight checks
//! ([`preflight`]), the facts kubeadm's dynamic defaults read from the host ([`hostfacts`]), all
//! reading the machine through [`hostenv::HostEnv`] so that tests can fake it.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::field_reassign_with_default))]

pub mod fake;
pub mod fs;
pub mod hostenv;
pub mod hostfacts;
pub mod preflight;
pub mod reset;

pub use fs::{
    DryRunDir, DryRunWriter, FileWriter, FsError, RealWriter, write_all, write_atomic, write_symlink,
};
pub use hostenv::{HostEnv, RealHost};
