//! Node-local kubelet files written by `kubelet-start` (init and join), as upstream v1.37.2
//! (`cmd/kubeadm/app/phases/kubelet/{flags.go,config.go}`, `cmd/phases/init/kubelet.go`):
//!
//! * `kubeadm-flags.env`: `KUBELET_KUBEADM_ARGS="<flags>"` — `--hostname-override` when the node
//!   name differs from the host name, `--register-with-taints` (join only, when asked), then
//!   `nodeRegistration.kubeletExtraArgs` (see [`crate::args::arguments_to_command`]). No
//!   `--container-runtime-endpoint` and no `--pod-infra-container-image` any more.
//! * `instance-config.yaml`: one line, `containerRuntimeEndpoint: "<criSocket>"`.
//! * `config.yaml`: the KubeletConfiguration after the node-local `Mutate` (`resolvConf`), the
//!   user's `kubeletconfiguration` patches, and then the instance config applied as a strategic
//!   merge patch.
//!
//! All three files are mode 0644, written in that order (the caller writes them to the kubelet
//! directory, default `/var/lib/kubelet`, or the dry-run directory).

use kubeadm_api::OutFile;
use kubeadm_api::v1beta4::{Arg, NodeRegistrationOptions, Taint};

use crate::componentconfigs::ComponentConfig;
use crate::patches::{PatchError, PatchFile, PatchManager};
use crate::strategic::Schema;

/// Default kubelet directory.
pub const KUBELET_DIR: &str = "/var/lib/kubelet";
/// File name of the flags environment file.
pub const KUBELET_ENV_FILE: &str = "kubeadm-flags.env";
/// File name of the KubeletConfiguration.
pub const KUBELET_CONFIG_FILE: &str = "config.yaml";
/// File name of the instance configuration.
pub const KUBELET_INSTANCE_CONFIG_FILE: &str = "instance-config.yaml";
/// Variable name in the flags environment file.
pub const KUBELET_ENV_VARIABLE: &str = "KUBELET_KUBEADM_ARGS";
/// Mode of all kubelet files.
pub const KUBELET_FILE_MODE: u32 = 0o644;

/// Errors building the kubelet files.
#[derive(Debug, thiserror::Error)]
pub enum KubeletError {
    /// A user patch failed (upstream wraps: `could not apply patches to the KubeletConfiguration`).
    #[error(
        "error writing kubelet configuration to disk: could not apply patches to the KubeletConfiguration: {0}"
    )]
    Patches(#[source] PatchError),
    /// Applying the instance configuration failed.
    #[error(
        "error writing kubelet configuration to disk: could not apply kubelet instance configuration as a patch from {path:?}: {source}"
    )]
    Instance {
        /// Path of the instance config file.
        path: String,
        /// Cause.
        #[source]
        source: PatchError,
    },
}

/// Host facts for `kubelet-start`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeletStartInputs {
    /// The host name as `nodeutil.GetHostname("")` returns it (OS host name, trimmed and
    /// lower-cased).
    pub hostname: String,
    /// Whether the `systemd-resolved` service is active (then `resolvConf` is set).
    pub systemd_resolved_active: bool,
    /// Directory the files go to (default [`KUBELET_DIR`]; the dry-run directory with `--dry-run`).
    pub kubelet_dir: String,
    /// `--register-with-taints` from the node's taints (upstream passes `true` only for join when
    /// the node registers itself with taints; `false` for init).
    pub register_taints_using_flags: bool,
}

/// The files and messages of `kubelet-start`.
#[derive(Debug, Clone)]
pub struct KubeletFiles {
    /// `kubeadm-flags.env`, `instance-config.yaml`, `config.yaml` in upstream's write order.
    pub files: Vec<OutFile>,
    /// Lines upstream prints to stdout, in order (`[kubelet-start] Writing ...`, `[patches] ...`).
    pub messages: Vec<String>,
    /// Warnings upstream logs (klog), e.g. from `Mutate`.
    pub warnings: Vec<String>,
}

/// The node name the kubelet registers with: `nodeRegistration.name`, overridden by the last
/// `hostname-override` kubelet extra argument, else the host name (upstream
/// `GetNodeNameAndHostname`).
pub fn node_name(node_reg: &NodeRegistrationOptions, hostname: &str) -> String {
    if let Some((v, _)) = crate::args::get_arg_value(&node_reg.kubelet_extra_args, "hostname-override") {
        return v.to_string();
    }
    if !node_reg.name.is_empty() {
        return node_reg.name.clone();
    }
    hostname.to_string()
}

/// kubeadm's own kubelet flags (upstream `buildKubeletArgs`), before the extra arguments.
pub fn kubelet_flags(
    node_reg: &NodeRegistrationOptions,
    hostname: &str,
    register_taints_using_flags: bool,
) -> Vec<Arg> {
    let mut flags = Vec::new();
    if register_taints_using_flags && let Some(taints) = node_reg.taints.as_ref().filter(|t| !t.is_empty()) {
        let s: Vec<String> = taints.iter().map(Taint::to_string).collect();
        flags.push(Arg::new("register-with-taints", s.join(",")));
    }
    let name = node_name(node_reg, hostname);
    if name != hostname {
        flags.push(Arg::new("hostname-override", name));
    }
    flags
}

/// Go's `strconv.Quote` (what `%q` prints for a string).
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() => {
                let u = c as u32;
                if u <= 0xffff {
                    out.push_str(&format!("\\u{u:04x}"));
                } else {
                    out.push_str(&format!("\\U{u:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Contents of `kubeadm-flags.env` (upstream `WriteKubeletArgsToFile`).
pub fn kubeadm_flags_env(
    node_reg: &NodeRegistrationOptions,
    hostname: &str,
    register_taints_using_flags: bool,
) -> String {
    let flags = kubelet_flags(node_reg, hostname, register_taints_using_flags);
    let args = crate::args::arguments_to_command(&flags, &node_reg.kubelet_extra_args);
    format!("{KUBELET_ENV_VARIABLE}={}\n", go_quote(&args.join(" ")))
}

/// Contents of `instance-config.yaml` (upstream `WriteInstanceConfigToDisk`).
pub fn instance_config(cri_socket: &str) -> String {
    format!("containerRuntimeEndpoint: {}\n", go_quote(cri_socket))
}

/// `config.yaml` (upstream `WriteConfigToDisk`): `kubelet` after `Mutate`, the user's
/// `kubeletconfiguration` patches (if a patch manager is given), then the instance config
/// `instance` (the text of `instance-config.yaml`) as a strategic merge patch. Returns the YAML,
/// the printed lines and the warnings.
pub fn config_yaml(
    kubelet: &ComponentConfig,
    systemd_resolved_active: bool,
    patches: Option<&PatchManager>,
    instance: &str,
    instance_path: &str,
) -> Result<(String, Vec<String>, Vec<String>), KubeletError> {
    let mut local = kubelet.clone();
    let before = local.warnings.len();
    local.mutate(systemd_resolved_active);
    let warnings = local.warnings[before..].to_vec();
    let mut value = local.to_value();
    let mut messages = Vec::new();
    if let Some(pm) = patches {
        let (patched, msgs) =
            pm.apply("kubeletconfiguration", &value, Schema::Plain).map_err(KubeletError::Patches)?;
        value = patched;
        messages.extend(msgs);
    }
    let instance_pm = PatchManager::from_files(
        instance_path,
        vec![PatchFile { path: "kubeletconfiguration.yaml".into(), data: instance.as_bytes().to_vec() }],
    )
    .map_err(|source| KubeletError::Instance { path: instance_path.into(), source })?;
    let (patched, msgs) = instance_pm
        .apply("kubeletconfiguration", &value, Schema::Plain)
        .map_err(|source| KubeletError::Instance { path: instance_path.into(), source })?;
    messages.extend(msgs);
    Ok((crate::goyaml::to_string(&patched), messages, warnings))
}

fn writing(what: &str, path: &str) -> String {
    format!("[kubelet-start] Writing kubelet {what} to file {path:?}")
}

/// All files of `kubelet-start` in upstream's order with its messages: the flags file, the
/// instance config (from `nodeRegistration.criSocket`), then `config.yaml`. `patches` is the
/// manager for `--patches` / `patches.directory`; its own reading messages
/// ([`PatchManager::messages`]) are not included: upstream caches the manager per path and prints
/// them once per process, so the caller prints them when it first builds the manager.
pub fn kubelet_start_files(
    kubelet: &ComponentConfig,
    node_reg: &NodeRegistrationOptions,
    inputs: &KubeletStartInputs,
    patches: Option<&PatchManager>,
) -> Result<KubeletFiles, KubeletError> {
    let dir = inputs.kubelet_dir.as_str();
    let env_path = crate::paths::join(dir, KUBELET_ENV_FILE);
    let instance_path = crate::paths::join(dir, KUBELET_INSTANCE_CONFIG_FILE);
    let config_path = crate::paths::join(dir, KUBELET_CONFIG_FILE);
    let mut messages = vec![writing("environment file with flags", &env_path)];
    let env = kubeadm_flags_env(node_reg, &inputs.hostname, inputs.register_taints_using_flags);
    messages.push(writing("configuration", &instance_path));
    let instance = instance_config(&node_reg.cri_socket);
    let (config, msgs, warnings) =
        config_yaml(kubelet, inputs.systemd_resolved_active, patches, &instance, &instance_path)?;
    messages.extend(msgs);
    messages.push(writing("configuration", &config_path));
    Ok(KubeletFiles {
        files: vec![
            OutFile::public(env_path, env, KUBELET_FILE_MODE),
            OutFile::public(instance_path, instance, KUBELET_FILE_MODE),
            OutFile::public(config_path, config, KUBELET_FILE_MODE),
        ],
        messages,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nr(name: &str) -> NodeRegistrationOptions {
        NodeRegistrationOptions {
            name: name.into(),
            cri_socket: "unix:///run/containerd/containerd.sock".into(),
            ..Default::default()
        }
    }

    #[test]
    fn flags_env_hostname_override() {
        assert_eq!(kubeadm_flags_env(&nr("vm"), "vm", false), "KUBELET_KUBEADM_ARGS=\"\"\n");
        assert_eq!(
            kubeadm_flags_env(&nr("node1"), "vm", false),
            "KUBELET_KUBEADM_ARGS=\"--hostname-override=node1\"\n"
        );
        let mut n = nr("node1");
        n.kubelet_extra_args = vec![Arg::new("v", "4"), Arg::new("hostname-override", "x\"y")];
        assert_eq!(
            kubeadm_flags_env(&n, "vm", false),
            "KUBELET_KUBEADM_ARGS=\"--v=4 --hostname-override=x\\\"y\"\n"
        );
    }

    #[test]
    fn register_taints() {
        let mut n = nr("vm");
        n.taints = Some(vec![
            Taint { key: "a".into(), value: "b".into(), effect: "NoSchedule".into(), time_added: None },
            Taint { key: "c".into(), value: String::new(), effect: "NoExecute".into(), time_added: None },
        ]);
        assert_eq!(
            kubeadm_flags_env(&n, "vm", true),
            "KUBELET_KUBEADM_ARGS=\"--register-with-taints=a=b:NoSchedule,c:NoExecute\"\n"
        );
        assert_eq!(kubeadm_flags_env(&n, "vm", false), "KUBELET_KUBEADM_ARGS=\"\"\n");
    }

    #[test]
    fn instance_file() {
        assert_eq!(instance_config("unix:///x.sock"), "containerRuntimeEndpoint: \"unix:///x.sock\"\n");
    }

    #[test]
    fn go_quote_escapes() {
        assert_eq!(go_quote("a\"b\\c\n\u{1}é"), "\"a\\\"b\\\\c\\n\\x01é\"");
    }
}
