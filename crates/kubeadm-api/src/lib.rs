//! Pure kubeadm configuration types (v1beta4, v1beta3), defaulting, validation and constants. No I/O.
//!
//! This crate sits at the bottom of the workspace: every other crate may depend on it, it depends on
//! no other kubeadm-rs crate and performs no I/O.

pub mod files;

pub use files::OutFile;
