//! `kubeadm-rs kubeconfig user`: not implemented yet.

use crate::cli::KubeconfigCommand;
use crate::commands::not_implemented;

/// Runs a `kubeconfig` subcommand.
pub fn run(cmd: &KubeconfigCommand) -> anyhow::Result<()> {
    match cmd {
        KubeconfigCommand::User { .. } => not_implemented("kubeconfig user"),
    }
}
