//! Shared flag definitions for the workflow commands (`init`, `join`, `reset`), like upstream's
//! `cmd/kubeadm/app/cmd/options` package.
//!
//! These commands are built from the phase tables, so their flags live in one registry: the
//! top-level command takes the whole list, and each generated `phase` subcommand takes the subset
//! its phase inherits. Flags behave like pflag's: booleans accept `--flag` and `--flag=false`,
//! lists accept repeated use and comma-separated values.

use clap::builder::BoolishValueParser;
use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches};

/// Flag names (identical to upstream's).
pub mod names {
    #![allow(missing_docs)]
    pub const APISERVER_ADVERTISE_ADDRESS: &str = "apiserver-advertise-address";
    pub const APISERVER_BIND_PORT: &str = "apiserver-bind-port";
    pub const APISERVER_CERT_SANS: &str = "apiserver-cert-extra-sans";
    pub const APISERVER_EXTRA_ARGS: &str = "apiserver-extra-args";
    pub const CERT_DIR: &str = "cert-dir";
    pub const CONFIG: &str = "config";
    pub const CONTROLLER_MANAGER_EXTRA_ARGS: &str = "controller-manager-extra-args";
    pub const CONTROL_PLANE_ENDPOINT: &str = "control-plane-endpoint";
    pub const DRY_RUN: &str = "dry-run";
    pub const FEATURE_GATES: &str = "feature-gates";
    pub const IGNORE_PREFLIGHT_ERRORS: &str = "ignore-preflight-errors";
    pub const IMAGE_REPOSITORY: &str = "image-repository";
    pub const KUBECONFIG_DIR: &str = "kubeconfig-dir";
    pub const KUBECONFIG: &str = "kubeconfig";
    pub const KUBERNETES_VERSION: &str = "kubernetes-version";
    pub const SERVICE_DNS_DOMAIN: &str = "service-dns-domain";
    pub const SERVICE_CIDR: &str = "service-cidr";
    pub const POD_NETWORK_CIDR: &str = "pod-network-cidr";
    pub const CRI_SOCKET: &str = "cri-socket";
    pub const NODE_NAME: &str = "node-name";
    pub const SCHEDULER_EXTRA_ARGS: &str = "scheduler-extra-args";
    pub const SKIP_TOKEN_PRINT: &str = "skip-token-print";
    pub const TOKEN: &str = "token";
    pub const TOKEN_TTL: &str = "token-ttl";
    pub const TLS_BOOTSTRAP_TOKEN: &str = "tls-bootstrap-token";
    pub const DISCOVERY_TOKEN: &str = "discovery-token";
    pub const DISCOVERY_TOKEN_CA_CERT_HASH: &str = "discovery-token-ca-cert-hash";
    pub const DISCOVERY_TOKEN_UNSAFE_SKIP: &str = "discovery-token-unsafe-skip-ca-verification";
    pub const DISCOVERY_FILE: &str = "discovery-file";
    pub const CONTROL_PLANE: &str = "control-plane";
    pub const UPLOAD_CERTS: &str = "upload-certs";
    pub const CERTIFICATE_KEY: &str = "certificate-key";
    pub const SKIP_CERTIFICATE_KEY_PRINT: &str = "skip-certificate-key-print";
    pub const FORCE: &str = "force";
    pub const PATCHES: &str = "patches";
    pub const CLEANUP_TMP_DIR: &str = "cleanup-tmp-dir";
    pub const SKIP_PHASES: &str = "skip-phases";
    /// kubeadm-rs only (upstream has no such flag): format of the join information.
    pub const OUTPUT: &str = "output";
    /// kubeadm-rs only: let the kubelet perform the TLS bootstrap (upstream kubeadm's flow) instead
    /// of kubeadm-rs requesting the node's client certificate itself.
    pub const KUBELET_TLS_BOOTSTRAP: &str = "kubelet-tls-bootstrap";
    /// kubeadm-rs only: `reset` also removes kube-proxy's iptables/nftables rules, IPVS and the
    /// CNI state (upstream only prints instructions).
    pub const CLEANUP_NETWORK: &str = "cleanup-network";
}

use names::*;

/// Which workflow command a flag is defined for (some help texts and defaults differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workflow {
    /// `kubeadm init`.
    Init,
    /// `kubeadm join`.
    Join,
    /// `kubeadm reset`.
    Reset,
}

/// A string flag.
pub fn string(name: &'static str, help: &'static str) -> Arg {
    Arg::new(name).long(name).value_name("string").help(help).action(ArgAction::Set)
}

/// A string flag with a default shown in help.
pub fn string_default(name: &'static str, default: &'static str, help: &'static str) -> Arg {
    string(name, help).default_value(default)
}

/// A pflag-like list flag: repeatable, comma separated.
pub fn list(name: &'static str, help: &'static str) -> Arg {
    Arg::new(name).long(name).value_name("strings").help(help).action(ArgAction::Append).value_delimiter(',')
}

/// A pflag-like boolean: `--flag`, `--flag=true`, `--flag=false`.
pub fn boolean(name: &'static str, help: &'static str) -> Arg {
    Arg::new(name)
        .long(name)
        .help(help)
        .num_args(0..=1)
        .require_equals(true)
        .default_missing_value("true")
        .value_parser(BoolishValueParser::new())
        .action(ArgAction::Set)
}

const PATCHES_HELP: &str = "Directory with patch files named \"target[suffix][+patchtype].extension\" (e.g. \
\"kube-apiserver0+merge.yaml\" or \"etcd.json\"). target is one of kube-apiserver, kube-controller-manager, \
kube-scheduler, etcd, kubeletconfiguration, corednsdeployment, kubeproxydaemonset; patchtype is strategic \
(default), merge or json; extension is json or yaml; the optional suffix orders patches alpha-numerically.";

const IGNORE_HELP: &str = "Checks whose errors are shown as warnings instead, e.g. 'IsPrivilegedUser,Swap'. \
'all' ignores the errors of every check.";

/// Definition of one workflow flag for a given command, or `None` if that command lacks it.
pub fn workflow_flag(wf: Workflow, name: &str) -> Option<Arg> {
    use Workflow::*;
    let arg = match (wf, name) {
        (Init, APISERVER_ADVERTISE_ADDRESS) => string(
            APISERVER_ADVERTISE_ADDRESS,
            "IP address the API server advertises it listens on; defaults to the address of the default network interface",
        ),
        (Join, APISERVER_ADVERTISE_ADDRESS) => string(
            APISERVER_ADVERTISE_ADDRESS,
            "For a new control plane instance: IP address the API server advertises it listens on; defaults to the default network interface's address",
        ),
        (Init, APISERVER_BIND_PORT) => Arg::new(APISERVER_BIND_PORT)
            .long(APISERVER_BIND_PORT)
            .value_name("int32")
            .value_parser(clap::value_parser!(i32))
            .default_value("6443")
            .help("Port the API server binds to"),
        (Join, APISERVER_BIND_PORT) => Arg::new(APISERVER_BIND_PORT)
            .long(APISERVER_BIND_PORT)
            .value_name("int32")
            .value_parser(clap::value_parser!(i32))
            .default_value("6443")
            .help("For a new control plane instance: port the API server binds to"),
        (Init, APISERVER_CERT_SANS) => list(
            APISERVER_CERT_SANS,
            "Extra Subject Alternative Names (IP addresses or DNS names) for the API server serving certificate",
        ),
        (Init, APISERVER_EXTRA_ARGS) => deprecated_args(APISERVER_EXTRA_ARGS, "API server"),
        (Init, CONTROLLER_MANAGER_EXTRA_ARGS) => {
            deprecated_args(CONTROLLER_MANAGER_EXTRA_ARGS, "controller manager")
        }
        (Init, SCHEDULER_EXTRA_ARGS) => deprecated_args(SCHEDULER_EXTRA_ARGS, "scheduler"),
        (Init, CERT_DIR) => string_default(
            CERT_DIR,
            "/etc/kubernetes/pki",
            "Directory where certificates are stored and saved",
        ),
        (Reset, CERT_DIR) => string_default(
            CERT_DIR,
            "/etc/kubernetes/pki",
            "Directory holding the certificates; when given, it is cleaned",
        ),
        (_, CONFIG) => string(CONFIG, "Path to a kubeadm configuration file"),
        (Init, CONTROL_PLANE_ENDPOINT) => {
            string(CONTROL_PLANE_ENDPOINT, "A stable IP address or DNS name for the control plane")
        }
        (_, DRY_RUN) => boolean(DRY_RUN, "Change nothing; only print what would be done"),
        (Init, FEATURE_GATES) => string(
            FEATURE_GATES,
            "key=value pairs of kubeadm feature gates. Options are:\nControlPlaneKubeletLocalMode=true|false (default=true)\nNodeLocalCRISocket=true|false (default=true)\nPublicKeysECDSA=true|false (DEPRECATED - default=false)\nRootlessControlPlane=true|false (ALPHA - default=false)",
        ),
        (_, IGNORE_PREFLIGHT_ERRORS) => list(IGNORE_PREFLIGHT_ERRORS, IGNORE_HELP),
        (Init, IMAGE_REPOSITORY) => string_default(
            IMAGE_REPOSITORY,
            "registry.k8s.io",
            "Container registry to pull control plane images from",
        ),
        (Init, KUBECONFIG_DIR) => {
            string_default(KUBECONFIG_DIR, "/etc/kubernetes", "Directory where kubeconfig files are saved")
        }
        (Init | Reset, KUBECONFIG) => string_default(
            KUBECONFIG,
            "/etc/kubernetes/admin.conf",
            "kubeconfig file used to talk to the cluster",
        ),
        (Init, KUBERNETES_VERSION) => {
            string_default(KUBERNETES_VERSION, "stable-1", "Kubernetes version of the control plane")
        }
        (Init, SERVICE_DNS_DOMAIN) => string_default(
            SERVICE_DNS_DOMAIN,
            "cluster.local",
            "DNS domain for Services, e.g. \"myorg.internal\"",
        ),
        (Init, SERVICE_CIDR) => {
            string_default(SERVICE_CIDR, "10.96.0.0/12", "IP address range for Service virtual IPs")
        }
        (Init, POD_NETWORK_CIDR) => string(
            POD_NETWORK_CIDR,
            "IP address range for the Pod network; when set, the control plane allocates a CIDR to every node",
        ),
        (_, CRI_SOCKET) => string(
            CRI_SOCKET,
            "Path of the CRI socket; only needed when several or non-standard sockets exist",
        ),
        (Init | Join, NODE_NAME) => string(NODE_NAME, "Name of this node"),
        (Init, SKIP_TOKEN_PRINT) => {
            boolean(SKIP_TOKEN_PRINT, "Don't print the default bootstrap token that 'kubeadm init' creates")
        }
        (Init, TOKEN) => string(
            TOKEN,
            "Token establishing mutual trust between nodes and the control plane; format [a-z0-9]{6}\\.[a-z0-9]{16}, e.g. abcdef.0123456789abcdef",
        ),
        (Join, TOKEN) => {
            string(TOKEN, "Token used for both discovery and TLS bootstrap unless those are given separately")
        }
        (Init, TOKEN_TTL) => string_default(
            TOKEN_TTL,
            "24h0m0s",
            "Lifetime of the token before it is deleted (e.g. 1s, 2m, 3h); '0' means it never expires",
        )
        .value_name("duration"),
        (Join, TLS_BOOTSTRAP_TOKEN) => string(
            TLS_BOOTSTRAP_TOKEN,
            "Token used to authenticate to the control plane temporarily while the node joins",
        ),
        (Join, DISCOVERY_TOKEN) => string(
            DISCOVERY_TOKEN,
            "Token-based discovery: token used to validate cluster information fetched from the API server",
        ),
        (Join, DISCOVERY_TOKEN_CA_CERT_HASH) => list(
            DISCOVERY_TOKEN_CA_CERT_HASH,
            "Token-based discovery: check that the root CA public key matches this hash (\"<type>:<value>\")",
        ),
        (Join, DISCOVERY_TOKEN_UNSAFE_SKIP) => boolean(
            DISCOVERY_TOKEN_UNSAFE_SKIP,
            "Token-based discovery: allow joining without --discovery-token-ca-cert-hash pinning",
        ),
        (Join, DISCOVERY_FILE) => {
            string(DISCOVERY_FILE, "File-based discovery: file or URL with the cluster information")
        }
        (Join, CONTROL_PLANE) => boolean(CONTROL_PLANE, "Create a new control plane instance on this node"),
        (Init, UPLOAD_CERTS) => {
            boolean(UPLOAD_CERTS, "Upload the control-plane certificates to the kubeadm-certs Secret")
        }
        (Init, CERTIFICATE_KEY) => string(
            CERTIFICATE_KEY,
            "Hex-encoded 32-byte AES key that encrypts the control-plane certificates in the kubeadm-certs Secret",
        ),
        (Join, CERTIFICATE_KEY) => string(
            CERTIFICATE_KEY,
            "Hex-encoded 32-byte AES key that decrypts the certificate Secret uploaded by init",
        ),
        (Init, SKIP_CERTIFICATE_KEY_PRINT) => boolean(
            SKIP_CERTIFICATE_KEY_PRINT,
            "Don't print the key that encrypts the control-plane certificates",
        ),
        (Init, OUTPUT) => Arg::new(OUTPUT)
            .long(OUTPUT)
            .short('o')
            .value_name("string")
            .value_parser(["text", "json", "yaml"])
            .default_value("text")
            .help(
                "Format of the join information show-join-command prints: text (upstream's), or json|yaml \
(one JoinInformation document on stdout; progress lines go to stderr)",
            ),
        (Join, OUTPUT) => Arg::new(OUTPUT)
            .long(OUTPUT)
            .short('o')
            .value_name("string")
            .value_parser(["text", "json", "yaml"])
            .default_value("text")
            .help(
                "Format of the result: text (upstream's), or json|yaml (one JoinResult document on stdout: node \
name, identity, API endpoint; progress lines go to stderr)",
            ),
        (Join, KUBELET_TLS_BOOTSTRAP) => boolean(
            KUBELET_TLS_BOOTSTRAP,
            "Let the kubelet perform the TLS bootstrap (upstream kubeadm's flow): write bootstrap-kubelet.conf and \
wait for the kubelet to write kubelet.conf. By default kubeadm-rs requests the node's client certificate itself",
        ),
        (Reset, FORCE) => boolean(FORCE, "Reset the node without asking for confirmation").short('f'),
        (Init | Join, PATCHES) => string(PATCHES, PATCHES_HELP),
        (Reset, CLEANUP_TMP_DIR) => {
            boolean(CLEANUP_TMP_DIR, "Clean up the \"/etc/kubernetes/tmp\" directory")
        }
        (Reset, CLEANUP_NETWORK) => boolean(
            CLEANUP_NETWORK,
            "Also remove what kube-proxy and the CNI plugins left (kubeadm-rs extension): the iptables chains \
named KUBE-* and the rules jumping to them (iptables-legacy and iptables-nft, IPv4 and IPv6), the nftables \
tables \"kube-proxy\", the IPVS tables (ipvsadm --clear), the kube-ipvs0 interface, the KUBE-* ipsets, and the \
contents of /etc/cni/net.d and /var/lib/cni",
        ),
        _ => return None,
    };
    Some(arg)
}

fn deprecated_args(name: &'static str, component: &'static str) -> Arg {
    let help = match component {
        "API server" => {
            "DEPRECATED (use ClusterConfiguration.apiServer.extraArgs): extra flags for the API server as <flagname>=<value>"
        }
        "controller manager" => {
            "DEPRECATED (use ClusterConfiguration.controllerManager.extraArgs): extra flags for the controller manager as <flagname>=<value>"
        }
        _ => {
            "DEPRECATED (use ClusterConfiguration.scheduler.extraArgs): extra flags for the scheduler as <flagname>=<value>"
        }
    };
    // pflag hides deprecated flags from help.
    list(name, help).value_name("key=value").hide(true)
}

/// Flags of the top-level workflow command, in upstream's registration order.
pub fn command_flags(wf: Workflow) -> &'static [&'static str] {
    match wf {
        Workflow::Init => &[
            APISERVER_ADVERTISE_ADDRESS,
            APISERVER_BIND_PORT,
            NODE_NAME,
            CERTIFICATE_KEY,
            CRI_SOCKET,
            SERVICE_CIDR,
            POD_NETWORK_CIDR,
            SERVICE_DNS_DOMAIN,
            CONTROL_PLANE_ENDPOINT,
            KUBERNETES_VERSION,
            CERT_DIR,
            APISERVER_CERT_SANS,
            FEATURE_GATES,
            CONFIG,
            IGNORE_PREFLIGHT_ERRORS,
            SKIP_TOKEN_PRINT,
            DRY_RUN,
            UPLOAD_CERTS,
            SKIP_CERTIFICATE_KEY_PRINT,
            PATCHES,
            TOKEN,
            TOKEN_TTL,
            IMAGE_REPOSITORY,
            OUTPUT,
        ],
        Workflow::Join => &[
            NODE_NAME,
            CERTIFICATE_KEY,
            APISERVER_ADVERTISE_ADDRESS,
            APISERVER_BIND_PORT,
            DISCOVERY_TOKEN,
            DISCOVERY_TOKEN_CA_CERT_HASH,
            DISCOVERY_TOKEN_UNSAFE_SKIP,
            DISCOVERY_FILE,
            TLS_BOOTSTRAP_TOKEN,
            CRI_SOCKET,
            CONFIG,
            IGNORE_PREFLIGHT_ERRORS,
            TOKEN,
            CONTROL_PLANE,
            DRY_RUN,
            PATCHES,
            KUBELET_TLS_BOOTSTRAP,
            OUTPUT,
        ],
        Workflow::Reset => &[
            CERT_DIR,
            FORCE,
            DRY_RUN,
            CLEANUP_TMP_DIR,
            KUBECONFIG,
            CONFIG,
            IGNORE_PREFLIGHT_ERRORS,
            CRI_SOCKET,
            CLEANUP_NETWORK,
        ],
    }
}

/// Flags only the generated phase subcommands may inherit (upstream's `SetAdditionalFlags`).
pub fn additional_flags(wf: Workflow) -> &'static [&'static str] {
    match wf {
        Workflow::Init => &[
            KUBECONFIG,
            KUBECONFIG_DIR,
            APISERVER_EXTRA_ARGS,
            CONTROLLER_MANAGER_EXTRA_ARGS,
            SCHEDULER_EXTRA_ARGS,
        ],
        Workflow::Join | Workflow::Reset => &[],
    }
}

/// Typed, lenient access to flag values: a flag the (sub)command does not define reads as unset.
pub struct Flags<'a>(pub &'a ArgMatches);

impl Flags<'_> {
    /// The value of a string flag, including its default.
    pub fn string(&self, name: &str) -> Option<String> {
        self.0.try_get_one::<String>(name).ok().flatten().cloned()
    }
    /// The value of a string flag only if given on the command line.
    pub fn string_set(&self, name: &str) -> Option<String> {
        if self.changed(name) { self.string(name) } else { None }
    }
    /// A list flag's values (empty when unset or undefined).
    pub fn list(&self, name: &str) -> Vec<String> {
        self.0.try_get_many::<String>(name).ok().flatten().map(|v| v.cloned().collect()).unwrap_or_default()
    }
    /// A boolean flag (false when unset or undefined).
    pub fn boolean(&self, name: &str) -> bool {
        self.0.try_get_one::<bool>(name).ok().flatten().copied().unwrap_or(false)
    }
    /// An integer flag only if given on the command line.
    pub fn int_set(&self, name: &str) -> Option<i32> {
        if self.changed(name) { self.0.try_get_one::<i32>(name).ok().flatten().copied() } else { None }
    }
    /// pflag's `Changed`: the user gave the flag on the command line.
    pub fn changed(&self, name: &str) -> bool {
        self.0.try_contains_id(name).unwrap_or(false)
            && self.0.value_source(name) == Some(ValueSource::CommandLine)
    }
    /// Every flag given on the command line, sorted by name (like pflag's `Visit`).
    pub fn changed_names(&self) -> Vec<String> {
        let mut v: Vec<String> =
            self.0.ids().map(|id| id.as_str().to_string()).filter(|n| self.changed(n)).collect();
        v.sort();
        v
    }
}

/// Upstream's `ValidateMixedArguments`: `--config` may only be combined with a few flags.
pub fn validate_mixed_arguments(flags: &Flags<'_>) -> anyhow::Result<()> {
    if !flags.changed(CONFIG) {
        return Ok(());
    }
    const ALLOWED: &[&str] = &[
        CONFIG,
        IGNORE_PREFLIGHT_ERRORS,
        DRY_RUN,
        KUBECONFIG,
        NODE_NAME,
        KUBECONFIG_DIR,
        UPLOAD_CERTS,
        "print-manifest",
        "allow-missing-template-keys",
        "output",
        KUBELET_TLS_BOOTSTRAP,
        CLEANUP_NETWORK,
        "show-managed-fields",
        "print-join-command",
        "rootfs",
        "v",
        "log-file",
        "yes",
    ];
    let bad: Vec<String> = flags
        .changed_names()
        .into_iter()
        .filter(|n| !ALLOWED.contains(&n.as_str()) && !n.starts_with("skip-"))
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("can not mix '--config' with arguments [{}]", bad.join(" "))
    }
}
