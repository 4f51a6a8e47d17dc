//! `kubeadm-rs config images|migrate|print|validate`.

use crate::cli::{ConfigCommand, ImagesCommand, PrintCommand};
use crate::commands::not_implemented;
use crate::output::Output;

/// Runs a `config` subcommand.
pub fn run(_out: &Output, _kubeconfig: &str, cmd: &ConfigCommand) -> anyhow::Result<()> {
    match cmd {
        ConfigCommand::Images { command: ImagesCommand::List { .. } } => not_implemented("config images list"),
        ConfigCommand::Images { command: ImagesCommand::Pull { .. } } => not_implemented("config images pull"),
        ConfigCommand::Migrate { .. } => not_implemented("config migrate"),
        ConfigCommand::Print { command } => match command {
            PrintCommand::InitDefaults { .. } => not_implemented("config print init-defaults"),
            PrintCommand::JoinDefaults { .. } => not_implemented("config print join-defaults"),
            PrintCommand::ResetDefaults { .. } => not_implemented("config print reset-defaults"),
            PrintCommand::UpgradeDefaults { .. } => not_implemented("config print upgrade-defaults"),
        },
        ConfigCommand::Validate { .. } => not_implemented("config validate"),
    }
}
