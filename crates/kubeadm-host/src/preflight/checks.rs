//! The individual checks of upstream's `cmd/kubeadm/app/preflight/checks.go` (v1.37.2), each a
//! struct with upstream's name and messages. All host access goes through [`HostEnv`].

use std::io;
use std::net::IpAddr;
use std::path::PathBuf;

use ipnet::IpNet;

use super::proxy::ProxyEnv;
use super::sysverify;
use super::version::Version;
use super::{CheckResult, Checker};
use crate::hostenv::{CriError, HostEnv, HttpGetError, TlsMaterial, io_error_text};

/// `IsPrivilegedUser`: the real uid must be 0.
#[derive(Clone, Debug, Default)]
pub struct IsPrivilegedUserCheck;

impl Checker for IsPrivilegedUserCheck {
    fn name(&self) -> String {
        "IsPrivilegedUser".into()
    }
    fn check(&self, host: &dyn HostEnv) -> CheckResult {
        if host.uid() != 0 {
            return CheckResult::error("user is not running as root");
        }
        CheckResult::ok()
    }
}

/// `NumCPU`: at least `num_cpu` CPUs.
#[derive(Clone, Debug)]
pub struct NumCpuCheck {
    /// Required CPUs (`ControlPlaneNumCPU` = 2).
    pub num_cpu: usize,
}

impl Checker for NumCpuCheck {
    fn name(&self) -> String {
        "NumCPU".into()
    }
    fn check(&self, host: &dyn HostEnv) -> CheckResult {
        let n = host.num_cpus();
        if n < self.num_cpu {
            return CheckResult::error(format!(
                "the number of available CPUs {n} is less than the required {}",
                self.num_cpu
            ));
        }
        CheckResult::ok()
    }
}

/// `Mem`: at least `mem_mb` MiB of RAM.
#[derive(Clone, Debug)]
pub struct MemCheck {
    /// Required MiB (`ControlPlaneMem` = 1700).
    pub mem_mb: u64,
}

impl Checker for MemCheck {
    fn name(&self) -> String {
        "Mem".into()
    }
    fn check(&self, host: &dyn HostEnv) -> CheckResult {
        let mut r = CheckResult::ok();
        let actual = match host.total_mem_mb() {
            Ok(m) => m,
            Err(e) => {
                r.errors.push(format!("failed to get system info: {}", io_error_text(&e)));
                0
            }
        };
        if actual < self.mem_mb {
            r.errors
                .push(format!("the system RAM ({actual} MB) is less than the minimum {} MB", self.mem_mb));
        }
        r
    }
}

/// `KubernetesVersion`: warns when the control plane version is newer than kubeadm's minor.
#[derive(Clone, Debug)]
pub struct KubernetesVersionCheck {
    /// kubeadm's own version (`v1.37.2`).
    pub kubeadm_version: String,
    /// The cluster's `kubernetesVersion`.
    pub kubernetes_version: String,
}

impl Checker for KubernetesVersionCheck {
    fn name(&self) -> String {
        "KubernetesVersion".into()
    }
    fn check(&self, _host: &dyn HostEnv) -> CheckResult {
        if self.kubeadm_version.starts_with("v0.0.0") {
            return CheckResult::ok();
        }
        let kadm = match Version::parse(&self.kubeadm_version) {
            Ok(v) => v,
            Err(e) => {
                return CheckResult::error(format!(
                    "couldn't parse kubeadm version {:?}: {e}",
                    self.kubeadm_version
                ));
            }
        };
        let k8s = match Version::parse(&self.kubernetes_version) {
            Ok(v) => v,
            Err(e) => {
                return CheckResult::error(format!(
                    "couldn't parse Kubernetes version {:?}: {e}",
                    self.kubernetes_version
                ));
            }
        };
        // First unsupported version: major.(minor+1).0-0, i.e. any version of a newer minor.
        if (k8s.major(), k8s.minor()) > (kadm.major(), kadm.minor()) {
            return CheckResult::warning(format!(
                "Kubernetes version is greater than kubeadm version. Please consider to upgrade kubeadm. Kubernetes version: {k8s}. Kubeadm version: {}.{}.x",
                kadm.major(),
                kadm.minor()
            ));
        }
        CheckResult::ok()
    }
}

/// The init system as kubeadm detects it (`systemctl` in PATH, else OpenRC).
enum InitSystem {
    Systemd,
    OpenRc,
}

fn init_system(host: &dyn HostEnv) -> Result<InitSystem, String> {
    if host.look_path("systemctl").is_some() {
        return Ok(InitSystem::Systemd);
    }
    if host.look_path("openrc").is_some() {
        for b in ["rc-service", "rc-update"] {
            if host.look_path(b).is_none() {
                return Err(format!(
                    "openrc detected, but missing required binary: {b}: exec: \"{b}\": executable file not found in $PATH"
                ));
            }
        }
        return Ok(InitSystem::OpenRc);
    }
    Err("no supported init system detected, skipping checking for services".into())
}

fn out_of(host: &dyn HostEnv, prog: &str, args: &[&str], combined: bool) -> (bool, String) {
    match host.run(prog, args) {
        Ok(o) => (o.success, if combined { o.stdout + &o.stderr } else { o.stdout }),
        Err(_) => (false, String::new()),
    }
}

impl InitSystem {
    fn service_exists(&self, host: &dyn HostEnv, s: &str) -> bool {
        match self {
            InitSystem::Systemd => {
                let (_, out) = out_of(host, "systemctl", &["status", s], false);
                !out.contains("Loaded: not-found") && !out.contains("could not be found")
            }
            InitSystem::OpenRc => {
                !out_of(host, "rc-service", &[s, "status"], true).1.contains("does not exist")
            }
        }
    }
    fn service_is_enabled(&self, host: &dyn HostEnv, s: &str) -> bool {
        match self {
            InitSystem::Systemd => out_of(host, "systemctl", &["is-enabled", s], false).0,
            InitSystem::OpenRc => out_of(host, "rc-update", &["show", "default"], false).1.contains(s),
        }
    }
    fn service_is_active(&self, host: &dyn HostEnv, s: &str) -> bool {
        match self {
            InitSystem::Systemd => {
                let out = out_of(host, "systemctl", &["is-active", s], false).1;
                matches!(out.trim(), "active" | "activating")
            }
            InitSystem::OpenRc => {
                let out = out_of(host, "rc-service", &[s, "status"], true).1;
                !out.contains("stopped") && !out.contains("does not exist")
            }
        }
    }
    fn enable_command(&self, s: &str) -> String {
        match self {
            InitSystem::Systemd => format!("systemctl enable {s}.service"),
            InitSystem::OpenRc => format!("rc-update add {s} default"),
        }
    }
}

/// `Service-<name>`: the service exists and is enabled (warnings), and active if asked (error).
#[derive(Clone, Debug)]
pub struct ServiceCheck {
    /// Service name (`kubelet`).
    pub service: String,
    /// Also require the service to be active.
    pub check_if_active: bool,
}

impl Checker for ServiceCheck {
    fn name(&self) -> String {
        format!("Service-{}", self.service)
    }
    fn check(&self, host: &dyn HostEnv) -> CheckResult {
        // kubeadm-rs extension: a kubelet driven through KUBEADM_RS_KUBELET_SERVICE (hosts without
        // systemd) has no unit to enable; the program is the operator's service manager.
        if self.service == "kubelet"
            && host.env_var("KUBEADM_RS_KUBELET_SERVICE").is_some_and(|p| !p.trim().is_empty())
        {
            return CheckResult::ok();
        }
        let init = match init_system(host) {
            Ok(i) => i,
            Err(e) => return CheckResult::warning(e),
        };
        if !init.service_exists(host, &self.service) {
            return CheckResult::warning(format!("{} service does not exist", self.service));
        }
        let mut r = CheckResult::ok();
        if !init.service_is_enabled(host, &self.service) {
            r.warnings.push(format!(
                "{} service is not enabled, please run '{}'",
                self.service,
                init.enable_command(&self.service)
            ));
        }
        if self.check_if_active && !init.service_is_active(host, &self.service) {
            r.errors.push(format!(
                "{} service is not active, please run 'systemctl start {}.service'",
                self.service, self.service
            ));
        }
        r
    }
}

/// `Firewalld`: warns when firewalld is active.
#[derive(Clone, Debug)]
pub struct FirewalldCheck {
    /// Ports that must be open (bind port, kubelet port).
    pub ports: Vec<u16>,
}

impl Checker for FirewalldCheck {
    fn name(&self) -> String {
        "Firewalld".into()
    }
    fn check(&self, host: &dyn HostEnv) -> CheckResult {
        let init = match init_system(host) {
            Ok(i) => i,
            Err(e) => return CheckResult::warning(e),
        };
        if !init.service_exists(host, "firewalld") {
            return CheckResult::ok();
        }
        if init.service_is_active(host, "firewalld") {
            let ports: Vec<String> = self.ports.iter().map(u16::to_string).collect();
            return CheckResult::warning(format!(
                "firewalld is active, please ensure ports [{}] are open or your cluster may not function correctly",
                ports.join(" ")
            ));
        }
        CheckResult::ok()
    }
}

/// `Port-<n>`: the TCP port can be listened on.
#[derive(Clone, Debug)]
pub struct PortOpenCheck {
    /// Address to bind (empty: all).
    pub address: String,
    /// The port.
    pub port: u16,
}

impl Checker for PortOpenCheck {
    fn name(&self) -> String {
        format!("Port-{}", self.port)
    }
    fn check(&self, host: &dyn HostEnv) -> CheckResult {
        let addr = (!self.address.is_empty()).then_some(self.address.as_str());
        match host.try_listen(addr, self.port) {
            Ok(()) => CheckResult::ok(),
            Err(_) => CheckResult::error(format!("Port {} is in use", self.port)),
        }
    }
}

fn path_label(prefix: &str, path: &std::path::Path) -> String {
    format!("{prefix}-{}", path.to_string_lossy().replace('/', "-"))
}

/// `DirAvailable--<path>`: the directory is absent or empty.
#[derive(Clone, Debug)]
pub struct DirAvailableCheck {
    /// The directory.
    pub path: PathBuf,
    /// Name override.
    pub label: Option<String>,
}

impl Checker for DirAvailableCheck {
    fn name(&self) -> String {
        self.label.clone().unwrap_or_else(|| path_label("DirAvailable", &self.path))
    }
    fn check(&self, host: &dyn HostEnv) -> CheckResult {
        match host.stat_is_dir(&self.path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return CheckResult::ok(),
            _ => {}
        }
        let p = self.path.display();
        match host.first_dir_entry(&self.path) {
            Ok(None) => CheckResult::ok(),
            Ok(Some(_)) => CheckResult::error(format!("{p} is not empty")),
            // Go: Open failing is reported; Readdirnames failing (not a directory) means "not empty".
            Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => {
                CheckResult::error(format!("{p} is not empty"))
            }
            Err(e) => CheckResult::error(format!(
                "unable to check if {p} is empty: open {p}: {}",
                io_error_text(&e)
            )),
        }
    }
}

/// `FileAvailable--<path>`: the file does not exist.
#[derive(Clone, Debug)]
pub struct FileAvailableCheck {
    /// The file.
    pub path: PathBuf,
    /// Name override.
    pub label: Option<String>,
}

impl Checker for FileAvailableCheck {
    fn name(&self) -> String {
        self.label.clone().unwrap_or_else(|| path_label("FileAvailable", &self.path))
    }
    fn check(&self, host: &dyn HostEnv) -> CheckResult {
        if host.stat_is_dir(&self.path).is_ok() {
            return CheckResult::error(format!("{} already exists", self.path.display()));
        }
        CheckResult::ok()
    }
}

/// `FileExisting--<path>`: the file exists (label `ExternalEtcdClientCertificates` for etcd files).
#[derive(Clone, Debug)]
pub struct FileExistingCheck {
    /// The file.
    pub path: PathBuf,
    /// Name override.
    pub label: Option<String>,
}

impl Checker for FileExistingCheck {
    fn name(&self) -> String {
        self.label.clone().unwrap_or_else(|| path_label("FileExisting", &self.path))
    }
    fn check(&self, host: &dyn HostEnv) -> CheckResult {
        if host.stat_is_dir(&self.path).is_err() {
            return CheckResult::error(format!("{} doesn't exist", self.path.display()));
        }
        CheckResult::ok()
    }
}

/// `FileContent--<path>`: the file starts with `content`.
#[derive(Clone, Debug)]
pub struct FileContentCheck {
    /// The file.
    pub path: PathBuf,
    /// Expected leading bytes.
    pub content: Vec<u8>,
}

impl Checker for FileContentCheck {
    fn name(&self) -> String {
        path_label("FileContent", &self.path)
    }
    fn check(&self, host: &dyn HostEnv) -> CheckResult {
        let p = self.path.display();
        let data = match host.read_file(&self.path) {
            Ok(d) => d,
            Err(_) => return CheckResult::error(format!("{p} does not exist")),
        };
        let head = &data[..data.len().min(self.content.len())];
        if head != self.content.as_slice() {
            return CheckResult::error(format!(
                "{p} contents are not set to {}",
                String::from_utf8_lossy(&self.content)
            ));
        }
        CheckResult::ok()
    }
}

/// `FileExisting-<exe>`: the executable is in `$PATH` (error if mandatory, else warning).
#[derive(Clone, Debug)]
pub struct InPathCheck {
    /// Executable name.
    pub executable: String,
    /// Error (true) or warning (false) when missing.
    pub mandatory: bool,
    /// Extra hint for the warning.
    pub suggestion: Option<String>,
}

impl Checker for InPathCheck {
    fn name(&self) -> String {
        format!("FileExisting-{}", self.executable.replace('/', "-"))
    }
    fn check(&self, host: &dyn HostEnv) -> CheckResult {
        if host.look_path(&self.executable).is_some() {
            return CheckResult::ok();
        }
        let msg = format!("{} not found in system path", self.executable);
        if self.mandatory {
            return CheckResult::error(msg);
        }
        match &self.suggestion {
            Some(s) => CheckResult::warning(format!("{msg}\nSuggestion: {s}")),
            None => CheckResult::warning(msg),
        }
    }
}

/// Upstream's `IsQualifiedName` (label-key rules) messages for a node name.
pub fn qualified_name_errors(value: &str) -> Vec<String> {
    const KEY_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
    const KEY_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
    // Go's RegexError: "(e.g. 'a',  or 'b',  or 'c', regex used for validation is '...')".
    let regex_err = format!(
        "{KEY_MSG} (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '{KEY_FMT}')"
    );
    let mut errs = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.as_slice() {
        [n] => *n,
        [prefix, n] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_string());
            } else {
                for m in dns1123_subdomain_errors(prefix) {
                    errs.push(format!("prefix part {m}"));
                }
            }
            *n
        }
        _ => {
            errs.push(format!(
                "a valid label key {regex_err} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
            ));
            return errs;
        }
    };
    let valid = |s: &str| {
        let b = s.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".into());
    } else if name.len() > 63 {
        errs.push("name part must be no more than 63 bytes".into());
    }
    if !valid(name) {
        errs.push(format!("name part {regex_err}"));
    }
    errs
}

fn dns1123_subdomain_errors(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 253 {
        errs.push("must be no more than 253 bytes".into());
    }
    let label_ok = |l: &str| {
        let b = l.as_bytes();
        !b.is_empty()
            && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
            && (b[b.len() - 1].is_ascii_lowercase() || b[b.len() - 1].is_ascii_digit())
            && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
    };
    if !value.split('.').all(label_ok) {
        errs.push("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".into());
    }
    errs
}

/// `Hostname`: the node name is a valid name and resolves (warnings only).
#[derive(Clone, Debug)]
pub struct HostnameCheck {
    /// The node name.
    pub node_name: String,
}

impl Checker for HostnameCheck {
    fn name(&self) -> String {
        "Hostname".into()
    }
    fn check(&self, host: &dyn HostEnv) -> CheckResult {
        let mut r = CheckResult::ok();
        for m in qualified_name_errors(&self.node_name) {
            r.warnings.push(format!("invalid node name format {:?}: {m}", self.node_name));
        }
        match host.lookup_host(&self.node_name) {
            Ok(addrs) if !addrs.is_empty() => {}
            Ok(_) => r.warnings.push(format!("hostname \"{}\" could not be reached", self.node_name)),
            Err(e) => {
                r.warnings.push(format!("hostname \"{}\" could not be reached", self.node_name));
                r.warnings.push(format!(
                    "hostname \"{}\": lookup {} on local resolver: {}",
                    self.node_name,
                    self.node_name,
                    io_error_text(&e)
                ));
            }
        }
        r
    }
}

/// `HTTPProxy`: warns when https to `host` would go through a proxy.
#[derive(Clone, Debug)]
pub struct HttpProxyCheck {
    /// URL scheme (`https`).
    pub proto: String,
    /// Host (advertise address or discovery endpoint host).
    pub host: String,
}

impl Checker for HttpProxyCheck {
    fn name(&self) -> String {
        "HTTPProxy".into()
    }
    fn check(&self, host: &dyn HostEnv) -> CheckResult {
        let is_v6 = self.host.parse::<IpAddr>().is_ok_and(|ip| ip.is_ipv6());
        let (url, port) = if is_v6 {
            (format!("{}://[{}]:1234", self.proto, self.host), 1234)
        } else {
            (format!("{}://{}", self.proto, self.host), if self.proto == "http" { 80 } else { 443 })
        };
        match ProxyEnv::from_host(host).proxy_for(&self.proto, &self.host, port) {
            Err(e) => CheckResult::error(e),
            Ok(None) => CheckResult::ok(),
            Ok(Some(p)) => CheckResult::warning(format!(
                "Connection to {url:?} uses proxy {p:?}. If that is not intended, adjust your proxy settings"
            )),
        }
    }
}

/// `HTTPProxyCIDR`: warns when https to the first address of a CIDR would go through a proxy.
#[derive(Clone, Debug)]
pub struct HttpProxyCidrCheck {
    /// URL scheme (`https`).
    pub proto: String,
    /// The CIDR (one of the comma-separated service / pod subnets).
    pub cidr: String,
}

impl Checker for HttpProxyCidrCheck {
    fn name(&self) -> String {
        "HTTPProxyCIDR".into()
    }
    fn check(&self, host: &dyn HostEnv) -> CheckResult {
        if self.cidr.is_empty() {
            return CheckResult::ok();
        }
        let net: IpNet = match self.cidr.parse() {
            Ok(n) => n,
            Err(_) => {
                return CheckResult::error(format!(
                    "error parsing CIDR {:?}: invalid CIDR address: {}",
                    self.cidr, self.cidr
                ));
            }
        };
        let net = net.trunc();
        let first = match net.network() {
            IpAddr::V4(a) => u32::from(a).checked_add(1).map(|n| IpAddr::V4(n.into())),
            IpAddr::V6(a) => u128::from(a).checked_add(1).map(|n| IpAddr::V6(n.into())),
        };
        let Some(first) = first.filter(|ip| net.contains(ip)) else {
            return CheckResult::error(format!("unable to get first IP address from the given CIDR ({net})"));
        };
        match ProxyEnv::from_host(host).proxy_for(&self.proto, &first.to_string(), 1234) {
            Err(e) => CheckResult::error(e),
            Ok(None) => CheckResult::ok(),
            Ok(Some(p)) => CheckResult::warning(format!(
                "connection to {:?} uses proxy {p:?}. This may lead to malfunctional cluster setup. Make sure that Pod and Services IP ranges specified correctly as exceptions in proxy configuration",
                self.cidr
            )),
        }
    }
}

/// `SystemVerification`: kernel, OS and cgroups (see [`sysverify`]).
#[derive(Clone, Debug, Default)]
pub struct SystemVerificationCheck {
    /// During upgrade the next kubelet minor is assumed.
    pub is_upgrade: bool,
}

impl Checker for SystemVerificationCheck {
    fn name(&self) -> String {
        "SystemVerification".into()
    }
    fn check(&self, host: &dyn HostEnv) -> CheckResult {
        let (warnings, errors, stdout) = sysverify::system_verification(host, self.is_upgrade);
        CheckResult { warnings, errors, stdout }
    }
}

/// `KubeletVersion`: the kubelet in `PATH` is not older than kubeadm supports and not newer than
/// the control plane.
#[derive(Clone, Debug)]
pub struct KubeletVersionCheck {
    /// The control plane version (empty on join).
    pub kubernetes_version: String,
    /// `MinimumKubeletVersion` (kubeadm minor - 3, i.e. v1.34.0 for v1.37).
    pub min_kubelet_version: Version,
}

impl Checker for KubeletVersionCheck {
    fn name(&self) -> String {
        "KubeletVersion".into()
    }
    fn check(&self, host: &dyn HostEnv) -> CheckResult {
        let kubelet = match sysverify::kubelet_version(host) {
            Ok(v) => v,
            Err(e) => return CheckResult::error(format!("couldn't get kubelet version: {e}")),
        };
        if kubelet.less_than(&self.min_kubelet_version) {
            return CheckResult::error(format!(
                "Kubelet version \"{kubelet}\" is lower than kubeadm can support. Please upgrade kubelet"
            ));
        }
        if !self.kubernetes_version.is_empty() {
            let k8s = match Version::parse(&self.kubernetes_version) {
                Ok(v) => v,
                Err(e) => {
                    return CheckResult::error(format!(
                        "couldn't parse Kubernetes version {:?}: {e}",
                        self.kubernetes_version
                    ));
                }
            };
            if kubelet.major() > k8s.major() || kubelet.minor() > k8s.minor() {
                return CheckResult::error(format!(
                    "the kubelet version is higher than the control plane version. This is not a supported version skew and may lead to a malfunctional cluster. Kubelet version: \"{kubelet}\" Control plane version: \"{k8s}\""
                ));
            }
        }
        CheckResult::ok()
    }
}

/// `Swap`: warns when `/proc/swaps` lists any swap.
#[derive(Clone, Debug, Default)]
pub struct SwapCheck;

impl Checker for SwapCheck {
    fn name(&self) -> String {
        "Swap".into()
    }
    fn check(&self, host: &dyn HostEnv) -> CheckResult {
        let Ok(data) = host.read_file(std::path::Path::new("/proc/swaps")) else { return CheckResult::ok() };
        if String::from_utf8_lossy(&data).lines().count() > 1 {
            return CheckResult::warning(
                "swap is supported for cgroup v2 only. The kubelet must be properly configured to use swap. Please refer to https://kubernetes.io/docs/concepts/architecture/nodes/#swap-memory, or disable swap on the node",
            );
        }
        CheckResult::ok()
    }
}

fn connect_error(e: CriError) -> String {
    match e {
        CriError::Connect(m) => format!("could not connect to the container runtime: {m}"),
        other => other.to_string(),
    }
}

/// `CRI`: the container runtime answers and reports `RuntimeReady`.
#[derive(Clone, Debug)]
pub struct ContainerRuntimeCheck {
    /// CRI endpoint (`unix:///var/run/containerd/containerd.sock`).
    pub cri_socket: String,
}

impl Checker for ContainerRuntimeCheck {
    fn name(&self) -> String {
        "CRI".into()
    }
    fn check(&self, host: &dyn HostEnv) -> CheckResult {
        match host.cri_status(&self.cri_socket) {
            Err(e @ CriError::Connect(_)) => CheckResult::error(connect_error(e)),
            Err(e) => CheckResult::error(format!("container runtime is not running: {e}")),
            Ok(conds) => {
                for c in conds {
                    if c.kind == "RuntimeReady" && !c.status {
                        return CheckResult::error(format!(
                            "container runtime condition \"RuntimeReady\" is not true. reason: {}, message: {}",
                            c.reason, c.message
                        ));
                    }
                }
                CheckResult::ok()
            }
        }
    }
}

/// `ContainerRuntimeVersion`: warns when the runtime lacks the CRI `RuntimeConfig` call.
#[derive(Clone, Debug)]
pub struct ContainerRuntimeVersionCheck {
    /// CRI endpoint.
    pub cri_socket: String,
}

impl Checker for ContainerRuntimeVersionCheck {
    fn name(&self) -> String {
        "ContainerRuntimeVersion".into()
    }
    fn check(&self, host: &dyn HostEnv) -> CheckResult {
        match host.cri_runtime_config_implemented(&self.cri_socket) {
            Err(e @ CriError::Connect(_)) => CheckResult::error(connect_error(e)),
            Err(e) => CheckResult::error(format!("could not check if the runtime config is available: {e}")),
            Ok(true) => CheckResult::ok(),
            Ok(false) => CheckResult::warning(
                "You must update your container runtime to a version that supports the CRI method RuntimeConfig. Falling back to using cgroupDriver from kubelet config will be removed in 1.38. For more information, see https://git.k8s.io/enhancements/keps/sig-node/4033-group-driver-detection-over-cri",
            ),
        }
    }
}

/// `ExternalEtcdVersion`: each external etcd endpoint answers `/version` with etcd ≥ the minimum.
///
/// As upstream, the CA file and the client certificate pair are loaded first (a missing file is
/// an error) and `https://` endpoints are queried with them. kubeadm-rs differences: one attempt
/// per endpoint (upstream retries 3 times, 5 s apart), and an `https://` endpoint without a CA
/// file yields a warning (no system root store to verify the server with).
#[derive(Clone, Debug)]
pub struct ExternalEtcdVersionCheck {
    /// Endpoints.
    pub endpoints: Vec<String>,
    /// `MinExternalEtcdVersion` (`3.5.24-0`).
    pub min_version: String,
    /// `etcd.external.caFile` (may be empty).
    pub ca_file: String,
    /// `etcd.external.certFile` (may be empty).
    pub cert_file: String,
    /// `etcd.external.keyFile` (may be empty).
    pub key_file: String,
}

impl ExternalEtcdVersionCheck {
    /// Upstream `configRootCAs` + `configCertAndKey`, through the host's files.
    fn tls(&self, host: &dyn HostEnv) -> Result<TlsMaterial, String> {
        let mut tls = TlsMaterial::default();
        if !self.ca_file.is_empty() {
            let ca = host.read_file(std::path::Path::new(&self.ca_file)).map_err(|e| {
                format!(
                    "couldn't load external etcd's server certificate {}: open {}: {}",
                    self.ca_file,
                    self.ca_file,
                    io_error_text(&e)
                )
            })?;
            tls.ca_pem = Some(ca);
        }
        if !self.cert_file.is_empty() && !self.key_file.is_empty() {
            let read = |p: &str| {
                host.read_file(std::path::Path::new(p)).map_err(|e| {
                    format!(
                        "couldn't load external etcd's certificate and key pair {}, {}: open {p}: {}",
                        self.cert_file,
                        self.key_file,
                        io_error_text(&e)
                    )
                })
            };
            tls.client_pem = Some((read(&self.cert_file)?, read(&self.key_file)?));
        }
        Ok(tls)
    }
}

impl Checker for ExternalEtcdVersionCheck {
    fn name(&self) -> String {
        "ExternalEtcdVersion".into()
    }
    fn check(&self, host: &dyn HostEnv) -> CheckResult {
        let mut r = CheckResult::ok();
        if self.endpoints.is_empty() {
            return r;
        }
        let tls = match self.tls(host) {
            Ok(t) => t,
            Err(e) => {
                r.errors.push(e);
                return r;
            }
        };
        let min = Version::parse(&self.min_version).ok();
        for ep in &self.endpoints {
            let url = format!("{}/version", ep.trim_end_matches('/'));
            let body = match host.http_get(&url, Some(&tls)) {
                Ok(b) => b,
                Err(HttpGetError::Unsupported(m)) => {
                    r.warnings.push(format!("could not verify the version of external etcd {ep}: {m}"));
                    continue;
                }
                Err(HttpGetError::Failed(m)) => {
                    r.errors.push(m);
                    continue;
                }
            };
            let server = json_field(&body, "etcdserver").unwrap_or_default();
            match (Version::parse(&server), &min) {
                (Err(e), _) => r.errors.push(format!("couldn't parse external etcd version {server:?}: {e}")),
                (Ok(v), Some(min)) if v.less_than(min) => r.errors.push(format!(
                    "this version of kubeadm only supports external etcd version >= {}. Current version: {server}",
                    self.min_version
                )),
                _ => {}
            }
        }
        r
    }
}

fn json_field(json: &str, key: &str) -> Option<String> {
    let pat = format!("\"{key}\"");
    let at = json.find(&pat)? + pat.len();
    let rest = json[at..].trim_start().strip_prefix(':')?.trim_start().strip_prefix('"')?;
    Some(rest[..rest.find('"')?].to_string())
}

/// Image pull policy (`nodeRegistration.imagePullPolicy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PullPolicy {
    /// `Always`.
    Always,
    /// `IfNotPresent` (default).
    #[default]
    IfNotPresent,
    /// `Never`.
    Never,
}

/// `ImagePull`: pulls the control-plane images through the CRI (kubeadm-rs: through `crictl`).
#[derive(Clone, Debug)]
pub struct ImagePullCheck {
    /// CRI endpoint.
    pub cri_socket: String,
    /// Images to pull.
    pub images: Vec<String>,
    /// kubeadm's pause image.
    pub sandbox_image: String,
    /// Pull policy.
    pub policy: PullPolicy,
}

impl Checker for ImagePullCheck {
    fn name(&self) -> String {
        "ImagePull".into()
    }
    fn check(&self, host: &dyn HostEnv) -> CheckResult {
        let mut r = CheckResult::ok();
        if let Err(e @ CriError::Connect(_)) = host.cri_status(&self.cri_socket) {
            return CheckResult::error(connect_error(e));
        }
        if self.policy == PullPolicy::Never {
            return r;
        }
        if let Ok(img) = host.cri_sandbox_image(&self.cri_socket)
            && img != self.sandbox_image
        {
            {
                r.stdout.push_str(&format!(
                    "W detected that the sandbox image {img:?} of the container runtime is inconsistent with that used by kubeadm. It is recommended to use {:?} as the CRI sandbox image.\n",
                    self.sandbox_image
                ));
            }
        }
        for image in &self.images {
            if self.policy == PullPolicy::IfNotPresent
                && host.cri_image_exists(&self.cri_socket, image).unwrap_or(false)
            {
                continue;
            }
            // Upstream retries each pull PullImageRetry (5) times.
            let mut last = None;
            for _ in 0..5 {
                match host.cri_pull_image(&self.cri_socket, image) {
                    Ok(()) => {
                        last = None;
                        break;
                    }
                    Err(e) => last = Some(e),
                }
            }
            if let Some(e) = last {
                r.errors.push(format!("failed to pull image {image}: failed to pull image {image}: {e}"));
            }
        }
        r
    }
}
