//! The command tree (clap derive), mirroring upstream kubeadm v1.37.2's `cmd/kubeadm/app/cmd`.
//!
//! `init`, `join` and `reset` are built from their phase tables instead (see [`crate::workflow`]
//! and [`crate::commands::workflow_args`]): their flags and generated `phase` subcommands come from
//! one table per command.

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::commands::workflow_args::{InitArgs, JoinArgs, ResetArgs};

const LONG_ABOUT: &str = "
    ┌──────────────────────────────────────────────────────────┐
    │ KUBEADM-RS                                               │
    │ Bootstrap a secure Kubernetes cluster                    │
    └──────────────────────────────────────────────────────────┘

Example usage:

    Create a two-machine cluster with one control-plane node and one worker node:

    control-plane# kubeadm-rs init
    worker#        kubeadm-rs join <arguments-returned-from-init>
";

/// kubeadm-rs: bootstrap a secure Kubernetes cluster (a drop-in for kubeadm v1.37).
#[derive(Debug, Parser)]
#[command(name = "kubeadm-rs", bin_name = "kubeadm-rs", long_about = LONG_ABOUT, disable_version_flag = true)]
#[command(subcommand_required = true, arg_required_else_help = true)]
pub struct Cli {
    /// Path to the host's real root filesystem; kubeadm chroots into it (not supported yet).
    #[arg(long, global = true, value_name = "string")]
    pub rootfs: Option<String>,

    /// Log verbosity (0-10); higher numbers print more detail.
    #[arg(short = 'v', long = "v", global = true, value_name = "Level", default_value_t = 0)]
    pub v: u8,

    /// The command.
    #[command(subcommand)]
    pub command: Commands,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Commands {
    /// Commands related to handling Kubernetes certificates
    #[command(visible_alias = "certificates", subcommand_required = true, arg_required_else_help = true)]
    Certs {
        /// Subcommand.
        #[command(subcommand)]
        command: CertsCommand,
    },
    /// Output shell completion code for the given shell (bash, zsh or fish)
    Completion {
        /// Shell to generate completion code for.
        #[arg(value_enum)]
        shell: CompletionShell,
    },
    /// Manage the kubeadm configuration (stored in a ConfigMap in the cluster, or files)
    #[command(subcommand_required = true, arg_required_else_help = true)]
    Config {
        /// kubeconfig file used to talk to the cluster.
        #[arg(long, global = true, default_value = "/etc/kubernetes/admin.conf", value_name = "string")]
        kubeconfig: String,
        /// Subcommand.
        #[command(subcommand)]
        command: ConfigCommand,
    },
    // No doc comments on the workflow commands: their about and long help (with the phase tree) are
    // set by `augment_args`, and a doc comment here would override them.
    #[allow(missing_docs)]
    Init(InitArgs),
    #[allow(missing_docs)]
    Join(JoinArgs),
    #[allow(missing_docs)]
    Reset(ResetArgs),
    /// Print the version of kubeadm-rs
    Version {
        /// Output format: 'yaml', 'json' or 'short'.
        #[arg(
            short = 'o',
            long = "output",
            default_value = "",
            hide_default_value = true,
            value_name = "string"
        )]
        output: String,
    },
    /// Manage bootstrap tokens
    #[command(subcommand_required = true, arg_required_else_help = true)]
    Token {
        /// kubeconfig file used to talk to the cluster.
        #[arg(long, global = true, default_value = "/etc/kubernetes/admin.conf", value_name = "string")]
        kubeconfig: String,
        /// Only print what would be done.
        #[arg(long = "dry-run", global = true)]
        dry_run: bool,
        /// Subcommand.
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Upgrade the cluster to a newer version
    #[command(subcommand_required = true, arg_required_else_help = true)]
    Upgrade {
        /// Subcommand.
        #[command(subcommand)]
        command: UpgradeCommand,
    },
    /// Kubeconfig file utilities
    #[command(subcommand_required = true, arg_required_else_help = true)]
    Kubeconfig {
        /// Subcommand.
        #[command(subcommand)]
        command: KubeconfigCommand,
    },
}

/// Shells for `completion`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CompletionShell {
    /// GNU bash.
    Bash,
    /// Z shell.
    Zsh,
    /// fish.
    Fish,
}

/// `--config`, `--cert-dir` pair used by several `certs` subcommands.
#[derive(Debug, Args)]
pub struct CertDirConfig {
    /// Path to a kubeadm configuration file.
    #[arg(long, value_name = "string")]
    pub config: Option<String>,
    /// Directory where the certificates are stored.
    #[arg(long = "cert-dir", default_value = "/etc/kubernetes/pki", value_name = "string")]
    pub cert_dir: String,
}

/// Printer flags shared by commands with `-o`.
#[derive(Debug, Args)]
pub struct PrintFlags {
    /// Output format (text, json, yaml, go-template, ...).
    #[arg(short = 'o', long = "output", value_name = "string")]
    pub output: Option<String>,
    /// Ignore template errors for missing fields or map keys (golang and jsonpath templates only).
    #[arg(long = "allow-missing-template-keys", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub allow_missing_template_keys: bool,
    /// Keep managedFields when printing objects as JSON or YAML.
    #[arg(long = "show-managed-fields")]
    pub show_managed_fields: bool,
}

/// `kubeadm certs ...`
#[derive(Debug, Subcommand)]
pub enum CertsCommand {
    /// Generate a certificate key (for `init --upload-certs`)
    CertificateKey,
    /// Check the expiration of the certificates of a local kubeadm PKI
    CheckExpiration {
        /// Config and certificate dir.
        #[command(flatten)]
        common: CertDirConfig,
        /// kubeconfig file used to talk to the cluster.
        #[arg(long, default_value = "/etc/kubernetes/admin.conf", value_name = "string")]
        kubeconfig: String,
        /// Printer flags.
        #[command(flatten)]
        print: PrintFlags,
    },
    /// Generate keys and certificate signing requests
    GenerateCsr {
        /// Path to a kubeadm configuration file.
        #[arg(long, value_name = "string")]
        config: Option<String>,
        /// The path where to save the certificates (overrides the configuration's certificatesDir).
        #[arg(long = "cert-dir", value_name = "string")]
        cert_dir: Option<String>,
        /// Directory where the kubeconfig files are saved.
        #[arg(long = "kubeconfig-dir", default_value = "/etc/kubernetes", value_name = "string")]
        kubeconfig_dir: String,
    },
    /// Renew certificates of a Kubernetes cluster
    #[command(subcommand_required = true, arg_required_else_help = true)]
    Renew {
        /// What to renew.
        #[command(subcommand)]
        target: RenewTarget,
    },
}

/// Flags of every `certs renew <target>`.
#[derive(Debug, Args)]
pub struct RenewFlags {
    /// Config and certificate dir.
    #[command(flatten)]
    pub common: CertDirConfig,
    /// kubeconfig file used to talk to the cluster.
    #[arg(long, default_value = "/etc/kubernetes/admin.conf", value_name = "string")]
    pub kubeconfig: String,
    /// kubeadm-rs extension: renew only certificates expiring within this duration (e.g. 720h);
    /// the others are reported as skipped.
    #[arg(long = "if-expiring-within", value_name = "duration")]
    pub if_expiring_within: Option<String>,
}

/// `kubeadm certs renew <target>`.
#[derive(Debug, Subcommand)]
pub enum RenewTarget {
    /// Renew the certificate embedded in the kubeconfig file for the admin and kubeadm itself
    #[command(name = "admin.conf")]
    AdminConf(RenewFlags),
    /// Renew all available certificates
    All(RenewFlags),
    /// Renew the certificate the apiserver uses to access etcd
    ApiserverEtcdClient(RenewFlags),
    /// Renew the certificate for the API server to connect to kubelet
    ApiserverKubeletClient(RenewFlags),
    /// Renew the certificate for serving the Kubernetes API
    Apiserver(RenewFlags),
    /// Renew the certificate embedded in the kubeconfig file for the controller manager
    #[command(name = "controller-manager.conf")]
    ControllerManagerConf(RenewFlags),
    /// Renew the certificate for liveness probes to healthcheck etcd
    EtcdHealthcheckClient(RenewFlags),
    /// Renew the certificate for etcd nodes to communicate with each other
    EtcdPeer(RenewFlags),
    /// Renew the certificate for serving etcd
    EtcdServer(RenewFlags),
    /// Renew the certificate for the front proxy client
    FrontProxyClient(RenewFlags),
    /// Renew the certificate embedded in the kubeconfig file for the scheduler
    #[command(name = "scheduler.conf")]
    SchedulerConf(RenewFlags),
    /// Renew the certificate embedded in the kubeconfig file for the super-admin
    #[command(name = "super-admin.conf")]
    SuperAdminConf(RenewFlags),
}

/// `kubeadm config ...`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Interact with the container images kubeadm uses
    #[command(subcommand_required = true, arg_required_else_help = true)]
    Images {
        /// Subcommand.
        #[command(subcommand)]
        command: ImagesCommand,
    },
    /// Convert a config file from an older API version to the newest one
    Migrate {
        /// Config file in an older API version to convert (required).
        #[arg(long = "old-config", value_name = "string")]
        old_config: Option<String>,
        /// Where to write the converted config; standard output when unset.
        #[arg(long = "new-config", value_name = "string")]
        new_config: Option<String>,
        /// Allow migrating to experimental, unreleased APIs.
        #[arg(long = "allow-experimental-api")]
        allow_experimental_api: bool,
    },
    /// Print configuration
    #[command(subcommand_required = true, arg_required_else_help = true)]
    Print {
        /// Subcommand.
        #[command(subcommand)]
        command: PrintCommand,
    },
    /// Read a kubeadm config file and report problems with it
    Validate {
        /// Path to a kubeadm configuration file.
        #[arg(long, value_name = "string")]
        config: Option<String>,
        /// Allow validating deprecated APIs.
        #[arg(long = "allow-deprecated-api")]
        allow_deprecated_api: bool,
        /// Allow validating experimental, unreleased APIs.
        #[arg(long = "allow-experimental-api")]
        allow_experimental_api: bool,
    },
}

/// Flags shared by `config images list|pull`.
#[derive(Debug, Args)]
pub struct ImagesFlags {
    /// Kubernetes version of the control plane.
    #[arg(long = "kubernetes-version", default_value = "stable-1", value_name = "string")]
    pub kubernetes_version: String,
    /// key=value pairs of kubeadm feature gates.
    #[arg(long = "feature-gates", value_name = "string")]
    pub feature_gates: Option<String>,
    /// Container registry to pull control plane images from.
    #[arg(long = "image-repository", default_value = "registry.k8s.io", value_name = "string")]
    pub image_repository: String,
    /// Path to a kubeadm configuration file.
    #[arg(long, value_name = "string")]
    pub config: Option<String>,
}

/// `kubeadm config images ...`
#[derive(Debug, Subcommand)]
pub enum ImagesCommand {
    /// Print the images kubeadm will use (the config file customises images and repositories)
    List {
        /// Image selection.
        #[command(flatten)]
        common: ImagesFlags,
        /// Output format: text, json, yaml, go-template, ...
        #[arg(short = 'o', long = "output", default_value = "text", value_name = "string")]
        output: String,
        /// Ignore template errors for missing fields or map keys.
        #[arg(long = "allow-missing-template-keys", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
        allow_missing_template_keys: bool,
        /// Keep managedFields when printing objects as JSON or YAML.
        #[arg(long = "show-managed-fields")]
        show_managed_fields: bool,
    },
    /// Pull the images kubeadm uses
    Pull {
        /// Image selection.
        #[command(flatten)]
        common: ImagesFlags,
        /// Path of the CRI socket.
        #[arg(long = "cri-socket", value_name = "string")]
        cri_socket: Option<String>,
    },
}

/// `kubeadm config print ...`
#[derive(Debug, Subcommand)]
#[allow(clippy::enum_variant_names)] // upstream's subcommand names: init-defaults, join-defaults, ...
pub enum PrintCommand {
    /// Print the default init configuration for `kubeadm init`
    InitDefaults {
        /// Component config API objects to print as well (e.g. KubeletConfiguration, KubeProxyConfiguration).
        #[arg(long = "component-configs", value_delimiter = ',', value_name = "strings")]
        component_configs: Vec<String>,
    },
    /// Print the default join configuration for `kubeadm join`
    JoinDefaults {
        /// Component config API objects to print as well.
        #[arg(long = "component-configs", value_delimiter = ',', value_name = "strings")]
        component_configs: Vec<String>,
    },
    /// Print the default reset configuration for `kubeadm reset`
    ResetDefaults {
        /// Component config API objects to print as well.
        #[arg(long = "component-configs", value_delimiter = ',', value_name = "strings")]
        component_configs: Vec<String>,
    },
    /// Print the default upgrade configuration for `kubeadm upgrade`
    UpgradeDefaults {
        /// Component config API objects to print as well.
        #[arg(long = "component-configs", value_delimiter = ',', value_name = "strings")]
        component_configs: Vec<String>,
    },
}

/// `kubeadm token ...`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a bootstrap token on the server
    Create {
        /// The token to create (generated when omitted).
        token: Option<String>,
        /// Path to a kubeadm configuration file.
        #[arg(long, value_name = "string")]
        config: Option<String>,
        /// Print the whole `kubeadm join` command instead of only the token.
        #[arg(long = "print-join-command")]
        print_join_command: bool,
        /// With --print-join-command, print the control-plane join command with this certificate key.
        #[arg(long = "certificate-key", value_name = "string")]
        certificate_key: Option<String>,
        /// Lifetime of the token before it is deleted (e.g. 1s, 2m, 3h); '0' means never.
        #[arg(long, default_value = "24h0m0s", value_name = "duration")]
        ttl: String,
        /// Ways the token can be used (signing, authentication).
        #[arg(long, value_delimiter = ',', default_value = "signing,authentication", value_name = "strings")]
        usages: Vec<String>,
        /// Extra groups the token authenticates as; must match "\\Asystem:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]\\z".
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "system:bootstrappers:kubeadm:default-node-token",
            value_name = "strings"
        )]
        groups: Vec<String>,
        /// Human-friendly description of the token's purpose.
        #[arg(long, value_name = "string")]
        description: Option<String>,
    },
    /// Delete bootstrap tokens on the server
    Delete {
        /// Token values or IDs to delete.
        #[arg(value_name = "token-value", required = true)]
        tokens: Vec<String>,
    },
    /// Generate and print a bootstrap token, but do not create it on the server
    Generate,
    /// List bootstrap tokens on the server
    List {
        /// Printer flags.
        #[command(flatten)]
        print: PrintFlags,
    },
}

/// Flags shared by `upgrade apply` and `upgrade plan`.
#[derive(Debug, Args)]
pub struct UpgradeCommon {
    /// kubeconfig file used to talk to the cluster.
    #[arg(long, default_value = "/etc/kubernetes/admin.conf", value_name = "string")]
    pub kubeconfig: String,
    /// Path to a kubeadm configuration file.
    #[arg(long, value_name = "string")]
    pub config: Option<String>,
    /// Offer and allow upgrades to unstable Kubernetes versions (alpha, beta, RC).
    #[arg(long = "allow-experimental-upgrades")]
    pub allow_experimental_upgrades: bool,
    /// Offer and allow upgrades to release candidates.
    #[arg(long = "allow-release-candidate-upgrades")]
    pub allow_release_candidate_upgrades: bool,
    /// Print the configuration the upgrade will use.
    #[arg(long = "print-config")]
    pub print_config: bool,
    /// Upgrade etcd as well.
    #[arg(long = "etcd-upgrade", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub etcd_upgrade: bool,
    /// Checks whose errors are shown as warnings instead; 'all' ignores every check.
    #[arg(long = "ignore-preflight-errors", value_delimiter = ',', value_name = "strings")]
    pub ignore_preflight_errors: Vec<String>,
    /// key=value pairs of kubeadm feature gates.
    #[arg(long = "feature-gates", value_name = "string")]
    pub feature_gates: Option<String>,
}

/// `kubeadm upgrade ...`
#[derive(Debug, Subcommand)]
pub enum UpgradeCommand {
    /// Upgrade the cluster to a given version
    Apply {
        /// Target version.
        version: Option<String>,
        /// Shared flags.
        #[command(flatten)]
        common: UpgradeCommon,
        /// Do not ask for confirmation.
        #[arg(short = 'y', long)]
        yes: bool,
        /// Upgrade even if some requirements are not met (implies --yes).
        #[arg(short = 'f', long)]
        force: bool,
        /// Change nothing; only print what would be done.
        #[arg(long = "dry-run")]
        dry_run: bool,
        /// Renew the certificates of the upgraded components.
        #[arg(long = "certificate-renewal", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
        certificate_renewal: bool,
        /// Directory with patch files (see `init --patches`).
        #[arg(long, value_name = "string")]
        patches: Option<String>,
    },
    /// Show the changes `upgrade apply` would make to the static Pod manifests
    Diff {
        /// Target version.
        version: Option<String>,
        /// kubeconfig file used to talk to the cluster.
        #[arg(long, default_value = "/etc/kubernetes/admin.conf", value_name = "string")]
        kubeconfig: String,
        /// Path to a kubeadm configuration file.
        #[arg(long, value_name = "string")]
        config: Option<String>,
        /// Lines of context in the diff.
        #[arg(short = 'c', long = "context-lines", default_value_t = 3, value_name = "int")]
        context_lines: i32,
    },
    /// Upgrade the commands for a node in the cluster
    Node {
        /// kubeconfig file used to talk to the cluster.
        #[arg(long, default_value = "/etc/kubernetes/admin.conf", value_name = "string")]
        kubeconfig: String,
        /// Path to a kubeadm configuration file.
        #[arg(long, value_name = "string")]
        config: Option<String>,
        /// Change nothing; only print what would be done.
        #[arg(long = "dry-run")]
        dry_run: bool,
        /// Renew the certificates of the upgraded components.
        #[arg(long = "certificate-renewal", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
        certificate_renewal: bool,
        /// Upgrade etcd as well.
        #[arg(long = "etcd-upgrade", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
        etcd_upgrade: bool,
        /// Checks whose errors are shown as warnings instead; 'all' ignores every check.
        #[arg(long = "ignore-preflight-errors", value_delimiter = ',', value_name = "strings")]
        ignore_preflight_errors: Vec<String>,
        /// Directory with patch files (see `init --patches`).
        #[arg(long, value_name = "string")]
        patches: Option<String>,
        /// Phases to skip.
        #[arg(long = "skip-phases", value_delimiter = ',', value_name = "strings")]
        skip_phases: Vec<String>,
    },
    /// Check which versions are available to upgrade to and whether the cluster can be upgraded
    Plan {
        /// Target version.
        version: Option<String>,
        /// Shared flags.
        #[command(flatten)]
        common: UpgradeCommon,
        /// Printer flags.
        #[command(flatten)]
        print: PrintFlags,
    },
}

/// `kubeadm kubeconfig ...`
#[derive(Debug, Subcommand)]
pub enum KubeconfigCommand {
    /// Print a kubeconfig file for an additional user
    User {
        /// Path to a kubeadm configuration file.
        #[arg(long, value_name = "string")]
        config: Option<String>,
        /// Token to authenticate with instead of client certificates.
        #[arg(long, value_name = "string")]
        token: Option<String>,
        /// User name; the certificate's CN when client certificates are created.
        #[arg(long = "client-name", value_name = "string")]
        client_name: Option<String>,
        /// Organizations (O) of the client certificate.
        #[arg(long, value_delimiter = ',', value_name = "strings")]
        org: Vec<String>,
        /// Validity of the client certificate, from now.
        #[arg(long = "validity-period", default_value = "8760h0m0s", value_name = "duration")]
        validity_period: String,
    },
}
