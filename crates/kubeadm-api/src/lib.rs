//! Pure kubeadm configuration types (`kubeadm.k8s.io/v1beta4`), defaulting, validation, loading,
//! printing, network helpers and constants. No I/O.
//!
//! kubeadm v1.37 reads only v1beta4; kubeadm-rs additionally reads `kubeadm.k8s.io/v1beta3`
//! ([`v1beta3`], converted to v1beta4 with a deprecation warning). v1beta2 and older are rejected
//! with upstream's "old API spec" error, see [`load`].
//!
//! This crate sits at the bottom of the workspace: every other crate may depend on it, it depends on
//! no other kubeadm-rs crate and performs no I/O.

pub mod constants;
pub mod defaults;
pub mod duration;
pub mod files;
pub mod load;
pub mod net;
pub mod print;
mod serde_util;
pub mod v1beta3;
pub mod v1beta4;
pub mod validation;

pub use duration::Duration;
pub use files::{OutFile, OutSymlink};
