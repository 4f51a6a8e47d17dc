//! Preflight checks, as upstream's `cmd/kubeadm/app/preflight` (v1.37.2).
//!
//! * [`Checker`]: one check, named as `--ignore-preflight-errors` matches it.
//! * [`IgnoreSet`]: the validated, lower-cased ignore list (CLI ∪ `nodeRegistration.ignorePreflightErrors`).
//! * [`run_checks`]: runs checks and prints `\t[WARNING Name]: msg` (stderr) and, when any error is
//!   left, the `[preflight] Some fatal errors occurred:` block.
//! * [`init_node_checks`] / [`run_init_preflight`]: the checks and flow of `kubeadm init`'s preflight phase.

pub mod checks;
pub mod proxy;
pub mod sysverify;
pub mod version;

use std::collections::BTreeSet;
use std::io::{self, Write};
use std::net::IpAddr;
use std::path::PathBuf;

use crate::hostenv::HostEnv;
pub use checks::*;
pub use version::Version;

/// What a check found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckResult {
    /// Non-fatal findings (`[WARNING Name]`).
    pub warnings: Vec<String>,
    /// Fatal findings (`[ERROR Name]`) unless the check is ignored.
    pub errors: Vec<String>,
    /// Text upstream prints on stdout while running the check (the system verification report).
    pub stdout: String,
}

impl CheckResult {
    /// Nothing found.
    pub fn ok() -> Self {
        Self::default()
    }
    /// One error.
    pub fn error(msg: impl Into<String>) -> Self {
        Self { errors: vec![msg.into()], ..Self::default() }
    }
    /// One warning.
    pub fn warning(msg: impl Into<String>) -> Self {
        Self { warnings: vec![msg.into()], ..Self::default() }
    }
}

/// One preflight check.
pub trait Checker: Send + Sync {
    /// The name `--ignore-preflight-errors` matches (`Port-6443`, `FileAvailable--etc-...`).
    fn name(&self) -> String;
    /// Runs the check against the host.
    fn check(&self, host: &dyn HostEnv) -> CheckResult;
}

/// Errors of the preflight layer.
#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    /// At least one check failed (the details were printed).
    #[error("preflight checks failed")]
    ChecksFailed,
    /// The ignore list combines `all` with names.
    #[error(
        "ignore-preflight-errors: Invalid value: {value:?}: don't specify individual checks if 'all' is used"
    )]
    InvalidIgnoreList {
        /// The sorted, comma-joined list.
        value: String,
    },
    /// Writing the output failed.
    #[error("failed to write preflight output: {0}")]
    Output(#[from] io::Error),
}

/// The set of check names whose errors become warnings (lower-cased; `all` ignores everything).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IgnoreSet(BTreeSet<String>);

impl IgnoreSet {
    /// Validates and merges the CLI flag values and the config file's list, like upstream's
    /// `ValidateIgnorePreflightErrors`: names are lower-cased; `all` may not be combined with others.
    /// CLI values are expected already split on commas (as the flag parser does); this also splits.
    pub fn new<S: AsRef<str>>(from_cli: &[S], from_config: &[S]) -> Result<Self, PreflightError> {
        let set: BTreeSet<String> = from_config
            .iter()
            .chain(from_cli.iter())
            .flat_map(|s| s.as_ref().split(',').map(|p| p.to_lowercase()).collect::<Vec<_>>())
            .collect();
        if set.contains("all") && set.len() > 1 {
            return Err(PreflightError::InvalidIgnoreList {
                value: set.into_iter().collect::<Vec<_>>().join(","),
            });
        }
        Ok(Self(set))
    }

    /// Whether errors of the check `name` are ignored (case-insensitive; `all`).
    pub fn ignores(&self, name: &str) -> bool {
        self.0.contains("all") || self.0.contains(&name.to_lowercase())
    }

    /// The sorted list (upstream stores it back into `nodeRegistration.ignorePreflightErrors`).
    pub fn to_list(&self) -> Vec<String> {
        self.0.iter().cloned().collect()
    }
}

/// Runs checks in order like upstream's `RunChecks`: ignored errors are demoted to warnings,
/// warnings go to `stderr` as `\t[WARNING <name>]: <msg>`, and if errors remain, the block
/// `[preflight] Some fatal errors occurred:` + `\t[ERROR <name>]: <msg>` lines + the hint is written
/// to `stderr` and [`PreflightError::ChecksFailed`] returned.
pub fn run_checks(
    checks: &[Box<dyn Checker>],
    host: &dyn HostEnv,
    ignore: &IgnoreSet,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), PreflightError> {
    let mut errs = String::new();
    for c in checks {
        let name = c.name();
        let mut r = c.check(host);
        if !r.stdout.is_empty() {
            stdout.write_all(r.stdout.as_bytes())?;
        }
        if ignore.ignores(&name) {
            r.warnings.append(&mut r.errors);
        }
        for w in &r.warnings {
            writeln!(stderr, "\t[WARNING {name}]: {w}")?;
        }
        for e in &r.errors {
            errs.push_str(&format!("\t[ERROR {name}]: {e}\n"));
        }
    }
    if errs.is_empty() {
        return Ok(());
    }
    write!(
        stderr,
        "[preflight] Some fatal errors occurred:\n{errs}[preflight] If you know what you are doing, you can make a check non-fatal with `--ignore-preflight-errors=...`\n"
    )?;
    Err(PreflightError::ChecksFailed)
}

/// etcd of the cluster being initialised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EtcdInput {
    /// Local (stacked) etcd with its data dir.
    Local {
        /// `etcd.local.dataDir` (`/var/lib/etcd`).
        data_dir: PathBuf,
    },
    /// External etcd.
    External {
        /// Endpoints.
        endpoints: Vec<String>,
        /// CA file (may be empty).
        ca_file: String,
        /// Client certificate (may be empty).
        cert_file: String,
        /// Client key (may be empty).
        key_file: String,
    },
}

/// The configuration fields the init checks need (filled by the caller from the InitConfiguration
/// after defaulting).
#[derive(Clone, Debug)]
pub struct InitPreflightInput {
    /// kubeadm's version (`v1.37.2`).
    pub kubeadm_version: String,
    /// `kubernetesVersion`.
    pub kubernetes_version: String,
    /// `localAPIEndpoint.bindPort`.
    pub bind_port: u16,
    /// `localAPIEndpoint.advertiseAddress`.
    pub advertise_address: String,
    /// `apiServer.extraArgs` `bind-address` (last value), if any.
    pub apiserver_bind_address: Option<String>,
    /// `apiServer.extraArgs` `advertise-address` (last value), if any.
    pub apiserver_advertise_address_arg: Option<String>,
    /// `scheduler.extraArgs` `bind-address`, if any.
    pub scheduler_bind_address: Option<String>,
    /// `controllerManager.extraArgs` `bind-address`, if any.
    pub controller_manager_bind_address: Option<String>,
    /// `networking.serviceSubnet` (comma-separated).
    pub service_subnet: String,
    /// `networking.podSubnet` (comma-separated, may be empty).
    pub pod_subnet: String,
    /// etcd.
    pub etcd: EtcdInput,
    /// Static Pod manifests dir (`/etc/kubernetes/manifests`).
    pub manifests_dir: PathBuf,
    /// `certificatesDir` (unused by init's checks; kept for join's CA check).
    pub cert_dir: PathBuf,
    /// `nodeRegistration.name`.
    pub node_name: String,
    /// `nodeRegistration.criSocket`.
    pub cri_socket: String,
    /// `nodeRegistration.imagePullPolicy`.
    pub image_pull_policy: PullPolicy,
    /// Control plane images (as `config images list`).
    pub images: Vec<String>,
    /// kubeadm's pause image.
    pub sandbox_image: String,
    /// `join --control-plane` (upstream `isSecondaryControlPlane`): the common checks ran with
    /// the join checks already, so they are left out here.
    pub secondary_control_plane: bool,
    /// `join --control-plane --certificate-key` (upstream `downloadCerts`): external etcd client
    /// certificates come with the download, so their existence is not checked.
    pub download_certs: bool,
}

/// `ControlPlaneNumCPU`.
pub const CONTROL_PLANE_NUM_CPU: usize = 2;
/// `ControlPlaneMem` (MiB).
pub const CONTROL_PLANE_MEM_MB: u64 = 1700;
/// `KubeletPort`.
pub const KUBELET_PORT: u16 = 10250;
/// `KubeSchedulerPort`.
pub const KUBE_SCHEDULER_PORT: u16 = 10259;
/// `KubeControllerManagerPort`.
pub const KUBE_CONTROLLER_MANAGER_PORT: u16 = 10257;
/// `EtcdListenClientPort`.
pub const ETCD_LISTEN_CLIENT_PORT: u16 = 2379;
/// `EtcdListenPeerPort`.
pub const ETCD_LISTEN_PEER_PORT: u16 = 2380;
/// `MinExternalEtcdVersion`.
pub const MIN_EXTERNAL_ETCD_VERSION: &str = "3.5.24-0";
/// `/proc/sys/net/ipv4/ip_forward`.
pub const IPV4_FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";
/// `/proc/sys/net/ipv6/conf/default/forwarding`.
pub const IPV6_DEFAULT_FORWARDING: &str = "/proc/sys/net/ipv6/conf/default/forwarding";

/// `MinimumKubeletVersion`: kubeadm's minor - 3, patch 0.
pub fn minimum_kubelet_version(kubeadm_version: &str) -> Version {
    match Version::parse(kubeadm_version) {
        Ok(v) => {
            Version { parts: [v.major(), v.minor().saturating_sub(3), 0], pre: vec![], build: String::new() }
        }
        // DefaultKubernetesPlaceholderVersion for builds without a version.
        Err(_) => Version { parts: [1, 0, 0], pre: vec!["placeholder".into()], build: String::new() },
    }
}

fn cidr_family(cidr: &str) -> Option<bool> {
    cidr.parse::<ipnet::IpNet>().ok().map(|n| n.addr().is_ipv4())
}

/// Common checks of init and join (`addCommonChecks`): CRI, ContainerRuntimeVersion, Swap, the
/// executables (`losetup`, `mount`, `cp`; `conntrack` only for Kubernetes < 1.32), SystemVerification,
/// Hostname, KubeletVersion, Service-Kubelet, Port-10250.
pub fn common_checks(
    kubeadm_version: &str,
    k8s_version: &str,
    node_name: &str,
    cri_socket: &str,
) -> Vec<Box<dyn Checker>> {
    let mut v: Vec<Box<dyn Checker>> = vec![
        Box::new(ContainerRuntimeCheck { cri_socket: cri_socket.into() }),
        Box::new(ContainerRuntimeVersionCheck { cri_socket: cri_socket.into() }),
        Box::new(SwapCheck),
    ];
    if let Ok(k) = Version::parse(k8s_version)
        && k.less_than(&Version { parts: [1, 32, 0], pre: vec![], build: String::new() })
    {
        v.push(Box::new(InPathCheck { executable: "conntrack".into(), mandatory: true, suggestion: None }));
    }
    for exe in ["losetup", "mount", "cp"] {
        v.push(Box::new(InPathCheck { executable: exe.into(), mandatory: true, suggestion: None }));
    }
    v.push(Box::new(SystemVerificationCheck { is_upgrade: false }));
    v.push(Box::new(HostnameCheck { node_name: node_name.into() }));
    v.push(Box::new(KubeletVersionCheck {
        kubernetes_version: k8s_version.into(),
        min_kubelet_version: minimum_kubelet_version(kubeadm_version),
    }));
    v.push(Box::new(ServiceCheck { service: "kubelet".into(), check_if_active: false }));
    v.push(Box::new(PortOpenCheck { address: String::new(), port: KUBELET_PORT }));
    v
}

/// The checks of `kubeadm init` (`InitNodeChecks` with `isSecondaryControlPlane = false`), in
/// upstream's order.
pub fn init_node_checks(cfg: &InitPreflightInput) -> Vec<Box<dyn Checker>> {
    let md = &cfg.manifests_dir;
    let opt = |o: &Option<String>| o.clone().unwrap_or_default();
    let mut v: Vec<Box<dyn Checker>> = vec![
        Box::new(NumCpuCheck { num_cpu: CONTROL_PLANE_NUM_CPU }),
        Box::new(MemCheck { mem_mb: CONTROL_PLANE_MEM_MB }),
        Box::new(KubernetesVersionCheck {
            kubeadm_version: cfg.kubeadm_version.clone(),
            kubernetes_version: cfg.kubernetes_version.clone(),
        }),
        Box::new(FirewalldCheck { ports: vec![cfg.bind_port, KUBELET_PORT] }),
        Box::new(PortOpenCheck { address: opt(&cfg.apiserver_bind_address), port: cfg.bind_port }),
        Box::new(PortOpenCheck { address: opt(&cfg.scheduler_bind_address), port: KUBE_SCHEDULER_PORT }),
        Box::new(PortOpenCheck {
            address: opt(&cfg.controller_manager_bind_address),
            port: KUBE_CONTROLLER_MANAGER_PORT,
        }),
    ];
    for c in ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"] {
        v.push(Box::new(FileAvailableCheck { path: md.join(format!("{c}.yaml")), label: None }));
    }
    v.push(Box::new(HttpProxyCheck { proto: "https".into(), host: cfg.advertise_address.clone() }));
    let (mut v4, mut v6) = (false, false);
    for cidr in cfg.service_subnet.split(',').chain(cfg.pod_subnet.split(',')) {
        v.push(Box::new(HttpProxyCidrCheck { proto: "https".into(), cidr: cidr.into() }));
        match cidr_family(cidr) {
            Some(true) => v4 = true,
            Some(false) => v6 = true,
            None => {}
        }
    }
    if cfg.secondary_control_plane {
        return etcd_checks(cfg, v);
    }
    v.extend(common_checks(&cfg.kubeadm_version, &cfg.kubernetes_version, &cfg.node_name, &cfg.cri_socket));
    match cfg.advertise_address.parse::<IpAddr>() {
        Ok(IpAddr::V4(_)) => v4 = true,
        Ok(IpAddr::V6(a)) => {
            // Go's IsIPv4 is true for IPv4-mapped IPv6 addresses.
            if a.to_ipv4_mapped().is_some() { v4 = true } else { v6 = true }
        }
        Err(_) => {}
    }
    if v4 {
        v.push(Box::new(FileContentCheck { path: IPV4_FORWARD.into(), content: b"1".to_vec() }));
    }
    if v6 {
        v.push(Box::new(FileContentCheck { path: IPV6_DEFAULT_FORWARDING.into(), content: b"1".to_vec() }));
    }
    if let EtcdInput::External { endpoints, ca_file, cert_file, key_file } = &cfg.etcd {
        v.push(Box::new(ExternalEtcdVersionCheck {
            endpoints: endpoints.clone(),
            min_version: MIN_EXTERNAL_ETCD_VERSION.into(),
            ca_file: ca_file.clone(),
            cert_file: cert_file.clone(),
            key_file: key_file.clone(),
        }));
    }
    etcd_checks(cfg, v)
}

/// The etcd part of the init checks (ports and data dir of a local etcd, or the external etcd's
/// client certificates).
fn etcd_checks(cfg: &InitPreflightInput, mut v: Vec<Box<dyn Checker>>) -> Vec<Box<dyn Checker>> {
    match &cfg.etcd {
        EtcdInput::Local { data_dir } => {
            let addr = cfg
                .apiserver_advertise_address_arg
                .clone()
                .filter(|a| !a.is_empty())
                .unwrap_or_else(|| cfg.advertise_address.clone());
            v.push(Box::new(PortOpenCheck { address: addr.clone(), port: ETCD_LISTEN_CLIENT_PORT }));
            v.push(Box::new(PortOpenCheck { address: addr, port: ETCD_LISTEN_PEER_PORT }));
            v.push(Box::new(DirAvailableCheck { path: data_dir.clone(), label: None }));
        }
        EtcdInput::External { .. } if cfg.secondary_control_plane && cfg.download_certs => {}
        EtcdInput::External { ca_file, cert_file, key_file, .. } => {
            for f in [ca_file, cert_file, key_file] {
                if !f.is_empty() {
                    v.push(Box::new(FileExistingCheck {
                        path: f.into(),
                        label: Some("ExternalEtcdClientCertificates".into()),
                    }));
                }
            }
        }
    }
    v
}

/// Inputs of the worker checks of `kubeadm join` (upstream `JoinNodeChecks`).
#[derive(Clone, Debug)]
pub struct JoinPreflightInput {
    /// kubeadm's version (`v1.37.2`).
    pub kubeadm_version: String,
    /// Directory of the kubeconfig files (`/etc/kubernetes`).
    pub kubernetes_dir: PathBuf,
    /// `nodeRegistration.name`.
    pub node_name: String,
    /// `nodeRegistration.criSocket`.
    pub cri_socket: String,
    /// `caCertPath`; checked only for worker joins (`None` with `--control-plane`).
    pub ca_cert_path: Option<PathBuf>,
    /// `discovery.bootstrapToken.apiServerEndpoint` (`host:port`), if token discovery is used.
    pub discovery_endpoint: Option<String>,
}

/// Splits `host:port` / `[v6]:port` like Go's `net.SplitHostPort` (host only).
fn split_host(hostport: &str) -> Option<String> {
    if let Some(rest) = hostport.strip_prefix('[') {
        let (host, tail) = rest.split_once(']')?;
        return tail.strip_prefix(':').map(|_| host.to_string());
    }
    let (host, _) = hostport.rsplit_once(':')?;
    if host.contains(':') {
        return None;
    }
    Some(host.to_string())
}

/// The checks of a `kubeadm join` (`JoinNodeChecks`), in upstream's order: kubelet.conf and
/// bootstrap-kubelet.conf must not exist, the common checks (with no Kubernetes version: the
/// kubelet version is checked against kubeadm's own skew only), `caCertPath` must not exist on a
/// worker, then the proxy and forwarding checks for the discovery endpoint's address.
pub fn join_node_checks(cfg: &JoinPreflightInput) -> Vec<Box<dyn Checker>> {
    let mut v: Vec<Box<dyn Checker>> = vec![
        Box::new(FileAvailableCheck { path: cfg.kubernetes_dir.join("kubelet.conf"), label: None }),
        Box::new(FileAvailableCheck { path: cfg.kubernetes_dir.join("bootstrap-kubelet.conf"), label: None }),
    ];
    v.extend(common_checks(&cfg.kubeadm_version, "", &cfg.node_name, &cfg.cri_socket));
    if let Some(ca) = &cfg.ca_cert_path {
        v.push(Box::new(FileAvailableCheck { path: ca.clone(), label: None }));
    }
    if let Some(host) = cfg.discovery_endpoint.as_deref().and_then(split_host) {
        v.push(Box::new(HttpProxyCheck { proto: "https".into(), host: host.clone() }));
        match host.parse::<IpAddr>() {
            Ok(IpAddr::V4(_)) => {
                v.push(Box::new(FileContentCheck { path: IPV4_FORWARD.into(), content: b"1".to_vec() }))
            }
            Ok(IpAddr::V6(a)) => {
                // Go's IsIPv4 is true for IPv4-mapped IPv6 addresses.
                let path = if a.to_ipv4_mapped().is_some() { IPV4_FORWARD } else { IPV6_DEFAULT_FORWARDING };
                v.push(Box::new(FileContentCheck { path: path.into(), content: b"1".to_vec() }));
            }
            Err(_) => {}
        }
    }
    v
}

/// The worker part of `kubeadm join`'s preflight phase (upstream `runPreflight` up to
/// `RunJoinNodeChecks`): the banner, the root check (fail fast), then the join checks.
pub fn run_join_preflight(
    cfg: &JoinPreflightInput,
    host: &dyn HostEnv,
    ignore: &IgnoreSet,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), PreflightError> {
    writeln!(stdout, "[preflight] Running pre-flight checks")?;
    run_root_check_only(host, ignore, stdout, stderr)?;
    run_checks(&join_node_checks(cfg), host, ignore, stdout, stderr)
}

/// `RunRootCheckOnly`.
pub fn run_root_check_only(
    host: &dyn HostEnv,
    ignore: &IgnoreSet,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), PreflightError> {
    let checks: Vec<Box<dyn Checker>> = vec![Box::new(IsPrivilegedUserCheck)];
    run_checks(&checks, host, ignore, stdout, stderr)
}

/// The whole preflight phase of `kubeadm init` (upstream's `runPreflight`): the banner, the root
/// check (fail fast), the init checks, then the image pull (or, on dry-run, the line saying it would).
pub fn run_init_preflight(
    cfg: &InitPreflightInput,
    host: &dyn HostEnv,
    ignore: &IgnoreSet,
    dry_run: bool,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), PreflightError> {
    writeln!(stdout, "[preflight] Running pre-flight checks")?;
    run_root_check_only(host, ignore, stdout, stderr)?;
    run_checks(&init_node_checks(cfg), host, ignore, stdout, stderr)?;
    run_image_pull(cfg, host, ignore, dry_run, stdout, stderr)
}

/// The control-plane part of `join --control-plane`'s preflight: upstream's banner, the init
/// checks of a secondary control plane, then the image pull.
pub fn run_secondary_control_plane_preflight(
    cfg: &InitPreflightInput,
    host: &dyn HostEnv,
    ignore: &IgnoreSet,
    dry_run: bool,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), PreflightError> {
    writeln!(
        stdout,
        "[preflight] Running pre-flight checks before initializing the new control plane instance"
    )?;
    run_checks(&init_node_checks(cfg), host, ignore, stdout, stderr)?;
    run_image_pull(cfg, host, ignore, dry_run, stdout, stderr)
}

fn run_image_pull(
    cfg: &InitPreflightInput,
    host: &dyn HostEnv,
    ignore: &IgnoreSet,
    dry_run: bool,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), PreflightError> {
    if dry_run {
        writeln!(stdout, "[preflight] Would pull the required images (like 'kubeadm config images pull')")?;
        return Ok(());
    }
    writeln!(stdout, "[preflight] Pulling images required for setting up a Kubernetes cluster")?;
    writeln!(
        stdout,
        "[preflight] This might take a minute or two, depending on the speed of your internet connection"
    )?;
    writeln!(
        stdout,
        "[preflight] You can also perform this action beforehand using 'kubeadm config images pull'"
    )?;
    let checks: Vec<Box<dyn Checker>> = vec![Box::new(ImagePullCheck {
        cri_socket: cfg.cri_socket.clone(),
        images: cfg.images.clone(),
        sandbox_image: cfg.sandbox_image.clone(),
        policy: cfg.image_pull_policy,
    })];
    run_checks(&checks, host, ignore, stdout, stderr)
}

#[cfg(test)]
mod tests;
