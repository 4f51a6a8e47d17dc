//! The phase tables of `init`, `join` and `reset`: names, order and flags identical to upstream
//! v1.37.2 (`cmd/kubeadm/app/cmd/{init,join,reset}.go`). Phase names are public API.

pub mod init;
pub mod join;
pub mod reset;

use crate::workflow::PhaseError;

/// A run function for a phase kubeadm-rs does not implement yet (the API-server phases).
pub fn not_implemented(name: &str) -> PhaseError {
    PhaseError::NotImplemented(name.to_string())
}
