//! Pure kubeadm configuration types (v1beta4, v1beta3), defaulting, validation and constants. No I/O.
//!
//! This crate sits at the bottom of the workspace: every other crate may depend on it, it depends on
//! no other kubeadm-rs crate and performs no I/O.

pub mod constants;
pub mod defaults;
pub mod duration;
pub mod files;
pub mod net;
mod serde_util;
pub mod v1beta4;
pub mod validation;

pub use duration::Duration;
pub use files::OutFile;
