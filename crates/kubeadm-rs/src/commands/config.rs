//! `kubeadm-rs config images|migrate|print|validate`.

use anyhow::Context;
use kubeadm_api::{constants, load, print};

use crate::cli::{ConfigCommand, ImagesCommand, ImagesFlags, PrintCommand};
use crate::commands::init::{FlagValue, InitOptions};
use crate::commands::not_implemented;
use crate::flags::names::{FEATURE_GATES, IMAGE_REPOSITORY, KUBERNETES_VERSION};
use crate::output::Output;

/// `config print <action>-defaults`: the base document(s), then, for `init-defaults` only, each
/// `--component-configs` kind (upstream `runConfigPrintActionDefaults`). Unknown kinds fail before
/// anything is printed.
fn print(
    out: &Output,
    component_configs: &[String],
    render: impl FnOnce() -> anyhow::Result<String>,
) -> anyhow::Result<()> {
    // pflag's StringSlice reads `--component-configs ""` as an empty list.
    let kinds: &[String] =
        if component_configs.len() == 1 && component_configs[0].is_empty() { &[] } else { component_configs };
    // mapLegacyKindsToGroups runs before the base config is rendered.
    for k in kinds {
        kubeadm_manifests::componentconfigs::Component::from_kind(k)?;
    }
    let base = render()?;
    out.raw(kubeadm_manifests::componentconfigs::print_with_component_configs(&base, kinds)?);
    Ok(())
}

/// Upstream registers `--component-configs` on `init-defaults` only; the other actions reject it
/// as pflag does.
fn no_component_configs(component_configs: &[String]) -> anyhow::Result<()> {
    if component_configs.is_empty() { Ok(()) } else { anyhow::bail!("unknown flag: --component-configs") }
}

/// Reads a file like Go's `os.ReadFile` reports it (`open <path>: no such file or directory`).
fn read_file(path: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(path).map_err(|e| {
        let reason = match e.kind() {
            std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            _ => e.to_string(),
        };
        anyhow::anyhow!("open {path}: {reason}")
    })
}

/// `config images list`: the images of the (defaulted) configuration as text, JSON or YAML.
fn images_list(out: &Output, common: &ImagesFlags, output: &str) -> anyhow::Result<()> {
    // Upstream parses --feature-gates first, also when --config is given (and then ignores it).
    if let Some(fg) = &common.feature_gates {
        crate::wiring::parse_feature_gates(fg)?;
    }
    let output = output.to_ascii_lowercase();
    match output.as_str() {
        "" | "text" | "json" | "yaml" => {}
        "go-template" | "go-template-file" | "template" | "templatefile" | "jsonpath"
        | "jsonpath-as-json" | "jsonpath-file" | "kyaml" => {
            return not_implemented(&format!("config images list -o {output}"));
        }
        other => anyhow::bail!(
            "could not construct output printer: unable to match a printer suitable for the output format {other:?}, allowed formats are: go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,kyaml,template,templatefile,text,yaml"
        ),
    }
    let mut opts = InitOptions {
        config: common.config.clone().filter(|c| !c.is_empty()).map(Into::into),
        ..InitOptions::default()
    };
    opts.overrides.push((KUBERNETES_VERSION, FlagValue::Str(common.kubernetes_version.clone())));
    opts.overrides.push((IMAGE_REPOSITORY, FlagValue::Str(common.image_repository.clone())));
    if let Some(fg) = &common.feature_gates {
        opts.overrides.push((FEATURE_GATES, FlagValue::Str(fg.clone())));
    }
    let cfg = crate::wiring::load_init_config(out, &opts)?;
    let images = kubeadm_manifests::images::list(&cfg.cluster);
    match output.as_str() {
        "json" => {
            // Field order of upstream's struct: kind, apiVersion, images; 4-space indent.
            let list: Vec<String> =
                images.iter().map(|i| format!("        {}", serde_json::Value::String(i.clone()))).collect();
            let body =
                if list.is_empty() { "[]".to_string() } else { format!("[\n{}\n    ]", list.join(",\n")) };
            out.raw(format!(
                "{{\n    \"kind\": \"Images\",\n    \"apiVersion\": \"output.kubeadm.k8s.io/v1alpha3\",\n    \"images\": {body}\n}}\n"
            ));
        }
        "yaml" => {
            let mut s = String::from("apiVersion: output.kubeadm.k8s.io/v1alpha3\nimages:\n");
            for i in &images {
                s.push_str(&format!("- {i}\n"));
            }
            s.push_str("kind: Images\n");
            out.raw(s);
        }
        _ => {
            for i in &images {
                out.line(i);
            }
        }
    }
    Ok(())
}

fn has_kind(docs: &[load::Document], kind: &str) -> bool {
    docs.iter().any(|d| d.kind == kind)
}

/// `config validate --config`: every kubeadm document strictly decoded, defaulted and validated.
fn validate(out: &Output, config: Option<&str>) -> anyhow::Result<()> {
    let Some(path) = config.filter(|c| !c.is_empty()) else {
        anyhow::bail!("the --config flag is mandatory")
    };
    let text = read_file(path)?;
    let docs = load::split_documents(&text)?;
    if has_kind(&docs, constants::INIT_CONFIGURATION_KIND)
        || has_kind(&docs, constants::CLUSTER_CONFIGURATION_KIND)
    {
        crate::wiring::init_config_from_text(out, &text, &InitOptions::default())?;
    }
    if has_kind(&docs, constants::JOIN_CONFIGURATION_KIND) {
        load::load_join_config_with(&text, &crate::wiring::STRICT)?;
    }
    if has_kind(&docs, constants::RESET_CONFIGURATION_KIND) {
        load::load_reset_config(&text, &crate::wiring::STRICT)?;
    }
    if has_kind(&docs, constants::UPGRADE_CONFIGURATION_KIND) {
        load::load_upgrade_config(&text, &crate::wiring::STRICT)?;
    }
    out.line("ok");
    Ok(())
}

/// `config migrate`: the config read, defaulted, converted and validated, in the newest version.
fn migrate(out: &Output, old: Option<&str>, new: Option<&str>) -> anyhow::Result<()> {
    let Some(path) = old.filter(|c| !c.is_empty()) else {
        anyhow::bail!("the --old-config flag is mandatory")
    };
    let text = read_file(path)?;
    let docs = load::split_documents(&text)?;
    let mut parts = Vec::new();
    if has_kind(&docs, constants::INIT_CONFIGURATION_KIND)
        || has_kind(&docs, constants::CLUSTER_CONFIGURATION_KIND)
    {
        let cfg = crate::wiring::init_config_from_text(out, &text, &InitOptions::default())?;
        parts.push(print::marshal_init_configuration(&cfg.init, &cfg.cluster)?);
    }
    if has_kind(&docs, constants::JOIN_CONFIGURATION_KIND)
        || has_kind(&docs, constants::RESET_CONFIGURATION_KIND)
        || has_kind(&docs, constants::UPGRADE_CONFIGURATION_KIND)
    {
        return not_implemented(
            "config migrate of JoinConfiguration, ResetConfiguration or UpgradeConfiguration",
        );
    }
    let bytes = parts.join(constants::YAML_DOCUMENT_SEPARATOR);
    match new.filter(|n| !n.is_empty()) {
        None => out.raw(bytes),
        Some(n) => {
            let f = kubeadm_api::OutFile::public(
                std::path::absolute(n).unwrap_or_else(|_| n.into()),
                bytes,
                0o644,
            );
            kubeadm_host::write_atomic(&f)
                .with_context(|| format!("failed to write the new configuration to the file {n:?}"))?;
        }
    }
    Ok(())
}

/// Runs a `config` subcommand.
pub fn run(out: &Output, _kubeconfig: &str, cmd: &ConfigCommand) -> anyhow::Result<()> {
    match cmd {
        ConfigCommand::Images { command: ImagesCommand::List { common, output, .. } } => {
            images_list(out, common, output)
        }
        ConfigCommand::Images { command: ImagesCommand::Pull { .. } } => {
            not_implemented("config images pull")
        }
        ConfigCommand::Migrate { old_config, new_config, .. } => {
            migrate(out, old_config.as_deref(), new_config.as_deref())
        }
        ConfigCommand::Print { command } => match command {
            PrintCommand::InitDefaults { component_configs } => {
                print(out, component_configs, || Ok(print::print_init_defaults()?))
            }
            PrintCommand::JoinDefaults { component_configs } => {
                no_component_configs(component_configs)?;
                print(out, &[], || {
                    let facts = kubeadm_host::hostfacts::HostFacts::gather(&kubeadm_host::RealHost, "")?;
                    Ok(print::print_join_defaults(&facts.node_name)?)
                })
            }
            PrintCommand::ResetDefaults { component_configs } => {
                no_component_configs(component_configs)?;
                print(out, &[], || Ok(print::print_reset_defaults()?))
            }
            PrintCommand::UpgradeDefaults { component_configs } => {
                no_component_configs(component_configs)?;
                print(out, &[], || Ok(print::print_upgrade_defaults()?))
            }
        },
        ConfigCommand::Validate { config, .. } => validate(out, config.as_deref()),
    }
}
