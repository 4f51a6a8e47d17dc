//! `kubeadm-rs upgrade apply|diff|node|plan`: not implemented yet (they need an API server).

use crate::cli::UpgradeCommand;
use crate::commands::not_implemented;

/// Runs an `upgrade` subcommand.
pub fn run(cmd: &UpgradeCommand) -> anyhow::Result<()> {
    match cmd {
        UpgradeCommand::Apply { .. } => not_implemented("upgrade apply"),
        UpgradeCommand::Diff { .. } => not_implemented("upgrade diff"),
        UpgradeCommand::Node { .. } => not_implemented("upgrade node"),
        UpgradeCommand::Plan { .. } => not_implemented("upgrade plan"),
    }
}
