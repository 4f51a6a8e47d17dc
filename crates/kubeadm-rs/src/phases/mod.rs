//! The phase tables of `init`, `join` and `reset`: names, order and flags identical to upstream
//! v1.37.2 (`cmd/kubeadm/app/cmd/{init,join,reset}.go`). Phase names are public API.

pub mod init;
pub mod join;
pub mod reset;
