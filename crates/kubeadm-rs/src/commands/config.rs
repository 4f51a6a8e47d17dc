//! `kubeadm-rs config images|migrate|print|validate`.

use crate::cli::{ConfigCommand, ImagesCommand, PrintCommand};
use crate::commands::not_implemented;
use kubeadm_api::print;

use crate::output::Output;

fn print(out: &Output, component_configs: &[String], render: impl FnOnce() -> anyhow::Result<String>) -> anyhow::Result<()> {
    for kind in component_configs {
        match kind.as_str() {
            "KubeletConfiguration" | "KubeProxyConfiguration" => {
                return not_implemented(&format!("config print --component-configs {kind}"));
            }
            other => anyhow::bail!("{other:?} is not a known component config kind (KubeletConfiguration, KubeProxyConfiguration)"),
        }
    }
    out.raw(render()?);
    Ok(())
}

/// Runs a `config` subcommand.
pub fn run(out: &Output, _kubeconfig: &str, cmd: &ConfigCommand) -> anyhow::Result<()> {
    match cmd {
        ConfigCommand::Images { command: ImagesCommand::List { .. } } => not_implemented("config images list"),
        ConfigCommand::Images { command: ImagesCommand::Pull { .. } } => not_implemented("config images pull"),
        ConfigCommand::Migrate { .. } => not_implemented("config migrate"),
        ConfigCommand::Print { command } => match command {
            PrintCommand::InitDefaults { component_configs } => print(out, component_configs, || Ok(print::print_init_defaults()?)),
            PrintCommand::JoinDefaults { component_configs } => print(out, component_configs, || {
                let facts = kubeadm_host::hostfacts::HostFacts::gather(&kubeadm_host::RealHost, "")?;
                Ok(print::print_join_defaults(&facts.node_name)?)
            }),
            PrintCommand::ResetDefaults { component_configs } => print(out, component_configs, || Ok(print::print_reset_defaults()?)),
            PrintCommand::UpgradeDefaults { component_configs } => print(out, component_configs, || Ok(print::print_upgrade_defaults()?)),
        },
        ConfigCommand::Validate { .. } => not_implemented("config validate"),
    }
}
