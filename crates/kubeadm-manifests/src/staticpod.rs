//! Static Pod manifests for etcd (local) and the control plane, as upstream v1.37.2 generates them
//! (`phases/controlplane/{manifests,volumes}.go`, `phases/etcd/local.go`, `util/staticpod/utils.go`).
//!
//! Pods are built as [`serde_json::Value`] exactly like Go's JSON encoding of `v1.Pod` (omitted
//! empty fields, `status: {}`, no `creationTimestamp`: `metav1.Time` is `omitzero` in 1.37) and
//! serialized with [`crate::goyaml`], so the bytes equal upstream's `MarshalToYaml` output.
//!
//! Host facts (which CA directories exist, proxy environment, whether `ca.key` is absent) are inputs.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

use serde_json::{Map, Value, json};

use kubeadm_api::OutFile;
use kubeadm_api::v1beta4::{ApiEndpoint, Arg, ClusterConfiguration, EnvVar, ExternalEtcd, HostPathMount};

use crate::args::{arguments_to_command, get_arg_value, set_arg_value};
use crate::images;
use crate::paths::join;

/// Component name of etcd.
pub const ETCD: &str = "etcd";
/// Component name of the API server.
pub const KUBE_APISERVER: &str = "kube-apiserver";
/// Component name of the controller manager.
pub const KUBE_CONTROLLER_MANAGER: &str = "kube-controller-manager";
/// Component name of the scheduler.
pub const KUBE_SCHEDULER: &str = "kube-scheduler";
/// Default static Pod directory.
pub const MANIFESTS_DIR: &str = "/etc/kubernetes/manifests";
/// Mode of a manifest file (`os.WriteFile(..., 0600)`).
pub const MANIFEST_FILE_MODE: u32 = 0o600;
/// Mode of the manifests directory when created (`os.MkdirAll(dir, 0700)`).
pub const MANIFESTS_DIR_MODE: u32 = 0o700;
/// The Kubernetes config directory.
pub const KUBERNETES_DIR: &str = "/etc/kubernetes";
/// Name of the container port used by all probes.
pub const PROBE_PORT: &str = "probe-port";
/// Default `timeouts.controlPlaneComponentHealthCheck` (4m) in seconds.
pub const DEFAULT_CONTROL_PLANE_HEALTH_CHECK_SECONDS: f64 = 240.0;

/// Directories mounted into kube-apiserver and kube-controller-manager, in this order, when they
/// exist on the host (`/etc/ssl/certs` may link into them). The caller checks existence.
pub const CA_CERTS_EXTRA_VOLUME_PATHS: &[&str] = &[
    "/etc/pki/ca-trust",
    "/etc/pki/tls/certs",
    "/etc/ca-certificates",
    "/usr/share/ca-certificates",
    "/usr/local/share/ca-certificates",
];
const CA_CERTS_VOLUME_NAME: &str = "ca-certs";
const CA_CERTS_VOLUME_PATH: &str = "/etc/ssl/certs";
const K8S_CERTS_VOLUME_NAME: &str = "k8s-certs";
const KUBECONFIG_VOLUME_NAME: &str = "kubeconfig";

/// Facts about the host and process that upstream reads itself.
#[derive(Debug, Clone, Default)]
pub struct HostInputs {
    /// Entries of [`CA_CERTS_EXTRA_VOLUME_PATHS`] that exist on the host (`os.Stat` succeeds).
    pub existing_ca_cert_dirs: Vec<String>,
    /// Proxy variables of the kubeadm process: see [`proxy_env_vars`].
    pub proxy_env: Vec<EnvVar>,
    /// True when `<certificatesDir>/ca.key` is absent but `ca.crt` exists (external CA mode):
    /// the controller manager gets empty `--cluster-signing-*` values.
    pub external_ca: bool,
    /// Upstream's internal `CIImageRepository` (set for `ci/` Kubernetes versions).
    pub ci_image_repository: Option<String>,
    /// `timeouts.controlPlaneComponentHealthCheck` (drives the startup probe failureThreshold);
    /// `None` means the 4m default.
    pub control_plane_component_health_check: Option<kubeadm_api::Duration>,
}

/// Proxy variables from a process environment (upstream `GetProxyEnvVars`): every variable whose
/// lower-cased name ends in `_proxy` and whose value is not empty, in environment order.
pub fn proxy_env_vars<I, K, V>(environ: I) -> Vec<EnvVar>
where
    I: IntoIterator<Item = (K, V)>,
    K: Into<String>,
    V: Into<String>,
{
    environ
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .filter(|(k, v)| k.to_lowercase().ends_with("_proxy") && !v.is_empty())
        .map(|(name, value)| EnvVar { name, value, value_from: None })
        .collect()
}

/// Merges env lists; later lists win per name; result sorted by name (upstream `MergeKubeadmEnvVars`).
pub fn merge_env_vars(lists: &[&[EnvVar]]) -> Vec<Value> {
    let mut m: BTreeMap<String, Value> = BTreeMap::new();
    for list in lists {
        for e in list.iter() {
            let mut o = Map::new();
            o.insert("name".into(), Value::String(e.name.clone()));
            if !e.value.is_empty() {
                o.insert("value".into(), Value::String(e.value.clone()));
            }
            if let Some(vf) = &e.value_from {
                o.insert("valueFrom".into(), vf.clone());
            }
            m.insert(e.name.clone(), Value::Object(o));
        }
    }
    m.into_values().collect()
}

/// One static Pod: component name, the Pod as JSON, and helpers to serialize it.
#[derive(Debug, Clone, PartialEq)]
pub struct StaticPod {
    /// Component name (`etcd`, `kube-apiserver`, ...), also the file stem.
    pub name: String,
    /// The Pod object (Go JSON shape).
    pub pod: Value,
}

impl StaticPod {
    /// YAML exactly as upstream writes it.
    pub fn to_yaml(&self) -> String {
        crate::goyaml::to_string(&self.pod)
    }

    /// The manifest file `<manifests_dir>/<name>.yaml`, mode 0600.
    pub fn to_out_file(&self, manifests_dir: &str) -> OutFile {
        OutFile::public(manifest_path(&self.name, manifests_dir), self.to_yaml(), MANIFEST_FILE_MODE)
    }
}

/// `<dir>/<component>.yaml`.
pub fn manifest_path(component: &str, manifests_dir: &str) -> PathBuf {
    PathBuf::from(join(manifests_dir, &format!("{component}.yaml")))
}

fn is_ipv6(s: &str) -> bool {
    matches!(s.parse::<IpAddr>(), Ok(IpAddr::V6(_)))
}

/// Go's `net.JoinHostPort`.
pub fn join_host_port(host: &str, port: impl std::fmt::Display) -> String {
    if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") }
}

fn probe_address(addr: &str) -> String {
    if addr == "0.0.0.0" || addr == "::" { String::new() } else { addr.to_string() }
}

fn http_probe(
    host: &str,
    path: &str,
    scheme: &str,
    initial_delay: i64,
    timeout: i64,
    failure: i64,
    period: i64,
) -> Value {
    let mut get = Map::new();
    if !host.is_empty() {
        get.insert("host".into(), json!(host));
    }
    get.insert("path".into(), json!(path));
    get.insert("port".into(), json!(PROBE_PORT));
    get.insert("scheme".into(), json!(scheme));
    let mut p = Map::new();
    p.insert("httpGet".into(), Value::Object(get));
    if initial_delay != 0 {
        p.insert("initialDelaySeconds".into(), json!(initial_delay));
    }
    if timeout != 0 {
        p.insert("timeoutSeconds".into(), json!(timeout));
    }
    if period != 0 {
        p.insert("periodSeconds".into(), json!(period));
    }
    if failure != 0 {
        p.insert("failureThreshold".into(), json!(failure));
    }
    Value::Object(p)
}

fn liveness(host: &str, path: &str, scheme: &str) -> Value {
    http_probe(host, path, scheme, 10, 15, 8, 10)
}

fn readiness(host: &str, path: &str, scheme: &str) -> Value {
    http_probe(host, path, scheme, 0, 15, 3, 1)
}

fn startup(host: &str, path: &str, scheme: &str, health_check: Option<kubeadm_api::Duration>) -> Value {
    let secs = health_check.map(|d| d.0 as f64 / 1e9).unwrap_or(DEFAULT_CONTROL_PLANE_HEALTH_CHECK_SECONDS);
    let failure = (secs / 10.0).ceil() as i64;
    http_probe(host, path, scheme, 10, 15, failure, 10)
}

fn host_path_volume(name: &str, path: &str, path_type: &str) -> Value {
    let mut hp = Map::new();
    hp.insert("path".into(), json!(path));
    // Upstream always passes a pointer; an empty string pointer is still emitted (`type: ""`).
    hp.insert("type".into(), json!(path_type));
    json!({ "name": name, "hostPath": Value::Object(hp) })
}

fn volume_mount(name: &str, path: &str, read_only: bool) -> Value {
    let mut m = Map::new();
    m.insert("mountPath".into(), json!(path));
    m.insert("name".into(), json!(name));
    if read_only {
        m.insert("readOnly".into(), json!(true));
    }
    Value::Object(m)
}

/// Per-component volumes and mounts keyed by name (later additions replace earlier ones).
#[derive(Default)]
struct Mounts {
    volumes: BTreeMap<String, BTreeMap<String, Value>>,
    mounts: BTreeMap<String, BTreeMap<String, Value>>,
}

impl Mounts {
    fn add(&mut self, component: &str, name: &str, host: &str, container: &str, ro: bool, path_type: &str) {
        self.volumes
            .entry(component.into())
            .or_default()
            .insert(name.into(), host_path_volume(name, host, path_type));
        self.mounts
            .entry(component.into())
            .or_default()
            .insert(name.into(), volume_mount(name, container, ro));
    }

    fn add_extra(&mut self, component: &str, extra: &[HostPathMount]) {
        for v in extra {
            self.add(component, &v.name, &v.host_path, &v.mount_path, v.read_only, &v.path_type);
        }
    }

    /// Sorted by name, like `VolumeMapToSlice` (BTreeMap iterates in byte order, which is what Go's
    /// `strings.Compare` sort yields).
    fn volumes(&self, component: &str) -> Vec<Value> {
        self.volumes.get(component).map(|m| m.values().cloned().collect()).unwrap_or_default()
    }

    fn mounts(&self, component: &str) -> Vec<Value> {
        self.mounts.get(component).map(|m| m.values().cloned().collect()).unwrap_or_default()
    }
}

/// Directories holding external etcd certificates that need their own mounts (`etcd-certs-<i>`).
fn etcd_cert_dirs(ext: &ExternalEtcd, cert_dir: &str) -> Vec<String> {
    let mut dirs: Vec<String> = Vec::new();
    for p in [&ext.ca_file, &ext.cert_file, &ext.key_file] {
        let d = crate::paths::dir(p);
        let under_extra = CA_CERTS_EXTRA_VOLUME_PATHS.iter().any(|x| d.starts_with(x));
        if d == "." || under_extra || d.starts_with(CA_CERTS_VOLUME_PATH) || d.starts_with(cert_dir) {
            continue;
        }
        let mut already = false;
        let mut sorted = dirs.clone();
        sorted.sort();
        for existing in sorted {
            if existing.starts_with(&d) {
                dirs.retain(|x| *x != existing);
            } else if d.starts_with(&existing) {
                already = true;
            }
        }
        if already {
            continue;
        }
        if !dirs.contains(&d) {
            dirs.push(d);
        }
    }
    dirs.sort();
    dirs
}

fn control_plane_mounts(cfg: &ClusterConfiguration, host: &HostInputs) -> Mounts {
    let mut m = Mounts::default();
    let cd = cfg.certificates_dir.as_str();
    let dir_or_create = "DirectoryOrCreate";
    let file_or_create = "FileOrCreate";
    m.add(KUBE_APISERVER, K8S_CERTS_VOLUME_NAME, cd, cd, true, dir_or_create);
    m.add(
        KUBE_APISERVER,
        CA_CERTS_VOLUME_NAME,
        CA_CERTS_VOLUME_PATH,
        CA_CERTS_VOLUME_PATH,
        true,
        dir_or_create,
    );
    if let Some(ext) = &cfg.etcd.external {
        for (i, d) in etcd_cert_dirs(ext, cd).iter().enumerate() {
            m.add(KUBE_APISERVER, &format!("etcd-certs-{i}"), d, d, true, dir_or_create);
        }
    }
    m.add(KUBE_CONTROLLER_MANAGER, K8S_CERTS_VOLUME_NAME, cd, cd, true, dir_or_create);
    m.add(
        KUBE_CONTROLLER_MANAGER,
        CA_CERTS_VOLUME_NAME,
        CA_CERTS_VOLUME_PATH,
        CA_CERTS_VOLUME_PATH,
        true,
        dir_or_create,
    );
    let kcm_conf = join(KUBERNETES_DIR, "controller-manager.conf");
    m.add(KUBE_CONTROLLER_MANAGER, KUBECONFIG_VOLUME_NAME, &kcm_conf, &kcm_conf, true, file_or_create);
    let sched_conf = join(KUBERNETES_DIR, "scheduler.conf");
    m.add(KUBE_SCHEDULER, KUBECONFIG_VOLUME_NAME, &sched_conf, &sched_conf, true, file_or_create);
    for p in CA_CERTS_EXTRA_VOLUME_PATHS {
        if host.existing_ca_cert_dirs.iter().any(|e| e == p) {
            let name = p.replace('/', "-")[1..].to_string();
            m.add(KUBE_APISERVER, &name, p, p, true, dir_or_create);
            m.add(KUBE_CONTROLLER_MANAGER, &name, p, p, true, dir_or_create);
        }
    }
    m.add_extra(KUBE_APISERVER, &cfg.api_server.control_plane_component.extra_volumes);
    m.add_extra(KUBE_CONTROLLER_MANAGER, &cfg.controller_manager.extra_volumes);
    m.add_extra(KUBE_SCHEDULER, &cfg.scheduler.extra_volumes);
    m
}

struct ContainerParts {
    name: &'static str,
    image: String,
    command: Vec<String>,
    volume_mounts: Vec<Value>,
    liveness: Value,
    readiness: Option<Value>,
    startup: Value,
    requests: Value,
    env: Vec<Value>,
    port: i64,
}

fn container(p: ContainerParts) -> Value {
    let mut c = Map::new();
    c.insert("command".into(), json!(p.command));
    if !p.env.is_empty() {
        c.insert("env".into(), Value::Array(p.env));
    }
    c.insert("image".into(), json!(p.image));
    c.insert("imagePullPolicy".into(), json!("IfNotPresent"));
    c.insert("livenessProbe".into(), p.liveness);
    c.insert("name".into(), json!(p.name));
    c.insert("ports".into(), json!([{ "containerPort": p.port, "name": PROBE_PORT, "protocol": "TCP" }]));
    if let Some(r) = p.readiness {
        c.insert("readinessProbe".into(), r);
    }
    c.insert("resources".into(), json!({ "requests": p.requests }));
    c.insert("startupProbe".into(), p.startup);
    if !p.volume_mounts.is_empty() {
        c.insert("volumeMounts".into(), Value::Array(p.volume_mounts));
    }
    Value::Object(c)
}

/// Upstream `ComponentPod`.
fn component_pod(
    name: &str,
    container: Value,
    volumes: Vec<Value>,
    annotations: Option<BTreeMap<String, String>>,
) -> Value {
    let mut meta = Map::new();
    if let Some(a) = annotations {
        meta.insert("annotations".into(), json!(a));
    }
    meta.insert("labels".into(), json!({ "component": name, "tier": "control-plane" }));
    meta.insert("name".into(), json!(name));
    meta.insert("namespace".into(), json!("kube-system"));
    let mut spec = Map::new();
    spec.insert("containers".into(), json!([container]));
    spec.insert("hostNetwork".into(), json!(true));
    spec.insert("priority".into(), json!(2000001000));
    spec.insert("priorityClassName".into(), json!("system-node-critical"));
    spec.insert("securityContext".into(), json!({ "seccompProfile": { "type": "RuntimeDefault" } }));
    if !volumes.is_empty() {
        spec.insert("volumes".into(), Value::Array(volumes));
    }
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": Value::Object(meta),
        "spec": Value::Object(spec),
        "status": {},
    })
}

fn api_server_probe_address(endpoint: &ApiEndpoint) -> String {
    if endpoint.advertise_address.is_empty() {
        "127.0.0.1".into()
    } else {
        probe_address(&endpoint.advertise_address)
    }
}

fn bind_probe_address(extra_args: &[Arg]) -> String {
    match get_arg_value(extra_args, "bind-address") {
        Some((v, _)) => probe_address(v),
        None => "127.0.0.1".into(),
    }
}

fn is_valid_authz_mode(m: &str) -> bool {
    matches!(m, "Node" | "RBAC" | "Webhook" | "ABAC" | "AlwaysAllow" | "AlwaysDeny")
}

fn authz_modes(arg: Option<&Arg>) -> String {
    let default = "Node,RBAC".to_string();
    let Some(arg) = arg else { return default };
    if arg.value.is_empty() {
        return default;
    }
    let modes: Vec<&str> = arg.value.split(',').filter(|m| !m.is_empty() && is_valid_authz_mode(m)).collect();
    if modes.is_empty() {
        return default;
    }
    if modes != ["Node", "RBAC"] { modes.join(",") } else { default }
}

/// The klog warnings upstream prints while building the kube-apiserver command (`getAuthzModes`):
/// unknown authorization modes, and a mode list that replaces the default `Node,RBAC`. Upstream
/// computes every control-plane spec per sub-phase, so callers print these once per sub-phase.
pub fn api_server_command_warnings(cfg: &ClusterConfiguration) -> Vec<String> {
    let extra = &cfg.api_server.control_plane_component.extra_args;
    let mut out = Vec::new();
    if get_arg_value(extra, "authorization-config").is_some() {
        return out;
    }
    let Some((value, _)) = get_arg_value(extra, "authorization-mode") else { return out };
    let mut modes = Vec::new();
    for m in value.split(',').filter(|m| !m.is_empty()) {
        if is_valid_authz_mode(m) {
            modes.push(m);
        } else {
            out.push(format!("ignoring unknown kube-apiserver authorization-mode {m:?}"));
        }
    }
    if !modes.is_empty() && modes != ["Node", "RBAC"] {
        out.push(format!(
            "the default kube-apiserver authorization-mode is \"Node,RBAC\"; using {:?}",
            modes.join(",")
        ));
    }
    out
}

/// The kube-apiserver command (upstream `getAPIServerCommand`).
pub fn api_server_command(cfg: &ClusterConfiguration, endpoint: &ApiEndpoint) -> Vec<String> {
    let cd = cfg.certificates_dir.as_str();
    let mut d: Vec<Arg> = vec![
        Arg::new("advertise-address", &endpoint.advertise_address),
        Arg::new("enable-admission-plugins", "NodeRestriction"),
        Arg::new("service-cluster-ip-range", &cfg.networking.service_subnet),
        Arg::new("service-account-key-file", join(cd, "sa.pub")),
        Arg::new("service-account-signing-key-file", join(cd, "sa.key")),
        Arg::new(
            "service-account-issuer",
            format!("https://kubernetes.default.svc.{}", cfg.networking.dns_domain),
        ),
        Arg::new("client-ca-file", join(cd, "ca.crt")),
        Arg::new("tls-cert-file", join(cd, "apiserver.crt")),
        Arg::new("tls-private-key-file", join(cd, "apiserver.key")),
        Arg::new("kubelet-client-certificate", join(cd, "apiserver-kubelet-client.crt")),
        Arg::new("kubelet-client-key", join(cd, "apiserver-kubelet-client.key")),
        Arg::new("enable-bootstrap-token-auth", "true"),
        Arg::new("secure-port", endpoint.bind_port.to_string()),
        Arg::new("allow-privileged", "true"),
        Arg::new("kubelet-preferred-address-types", "InternalIP,ExternalIP,Hostname"),
        Arg::new("requestheader-username-headers", "X-Remote-User"),
        Arg::new("requestheader-group-headers", "X-Remote-Group"),
        Arg::new("requestheader-extra-headers-prefix", "X-Remote-Extra-"),
        Arg::new("requestheader-client-ca-file", join(cd, "front-proxy-ca.crt")),
        Arg::new("requestheader-allowed-names", "front-proxy-client"),
        Arg::new("proxy-client-cert-file", join(cd, "front-proxy-client.crt")),
        Arg::new("proxy-client-key-file", join(cd, "front-proxy-client.key")),
    ];
    if let Some(ext) = &cfg.etcd.external {
        set_arg_value(&mut d, "etcd-servers", ext.endpoints.join(","));
        if !ext.ca_file.is_empty() {
            set_arg_value(&mut d, "etcd-cafile", &ext.ca_file);
        }
        if !ext.cert_file.is_empty() && !ext.key_file.is_empty() {
            set_arg_value(&mut d, "etcd-certfile", &ext.cert_file);
            set_arg_value(&mut d, "etcd-keyfile", &ext.key_file);
        }
    } else {
        let lo = if is_ipv6(&endpoint.advertise_address) { "::1" } else { "127.0.0.1" };
        let mut servers = format!("https://{}", join_host_port(lo, 2379));
        set_arg_value(&mut d, "etcd-servers", &servers);
        set_arg_value(&mut d, "etcd-cafile", join(cd, "etcd/ca.crt"));
        set_arg_value(&mut d, "etcd-certfile", join(cd, "apiserver-etcd-client.crt"));
        set_arg_value(&mut d, "etcd-keyfile", join(cd, "apiserver-etcd-client.key"));
        if let Some(local) = &cfg.etcd.local
            && let Some((v, _)) = get_arg_value(&local.extra_args, "advertise-client-urls")
        {
            servers = v.to_string();
            set_arg_value(&mut d, "etcd-servers", &servers);
        }
    }
    let extra = &cfg.api_server.control_plane_component.extra_args;
    if get_arg_value(extra, "authorization-config").is_none() {
        let authz = get_arg_value(extra, "authorization-mode").map(|(_, i)| &extra[i]);
        set_arg_value(&mut d, "authorization-mode", authz_modes(authz));
    }
    let mut cmd = vec![KUBE_APISERVER.to_string()];
    cmd.extend(arguments_to_command(&d, extra));
    cmd
}

/// The kube-controller-manager command (upstream `getControllerManagerCommand`).
pub fn controller_manager_command(cfg: &ClusterConfiguration, external_ca: bool) -> Vec<String> {
    let cd = cfg.certificates_dir.as_str();
    let kubeconfig = join(KUBERNETES_DIR, "controller-manager.conf");
    let ca = join(cd, "ca.crt");
    let mut d: Vec<Arg> = vec![
        Arg::new("bind-address", "127.0.0.1"),
        Arg::new("leader-elect", "true"),
        Arg::new("kubeconfig", &kubeconfig),
        Arg::new("authentication-kubeconfig", &kubeconfig),
        Arg::new("authorization-kubeconfig", &kubeconfig),
        Arg::new("client-ca-file", &ca),
        Arg::new("requestheader-client-ca-file", join(cd, "front-proxy-ca.crt")),
        Arg::new("root-ca-file", &ca),
        Arg::new("service-account-private-key-file", join(cd, "sa.key")),
        Arg::new("cluster-signing-cert-file", &ca),
        Arg::new("cluster-signing-key-file", join(cd, "ca.key")),
        Arg::new("use-service-account-credentials", "true"),
        Arg::new("controllers", "*,bootstrapsigner,tokencleaner"),
    ];
    if external_ca {
        set_arg_value(&mut d, "cluster-signing-key-file", "");
        set_arg_value(&mut d, "cluster-signing-cert-file", "");
    }
    if !cfg.networking.pod_subnet.is_empty() {
        set_arg_value(&mut d, "allocate-node-cidrs", "true");
        set_arg_value(&mut d, "cluster-cidr", &cfg.networking.pod_subnet);
        if !cfg.networking.service_subnet.is_empty() {
            set_arg_value(&mut d, "service-cluster-ip-range", &cfg.networking.service_subnet);
        }
    }
    if !cfg.cluster_name.is_empty() {
        set_arg_value(&mut d, "cluster-name", &cfg.cluster_name);
    }
    let mut cmd = vec![KUBE_CONTROLLER_MANAGER.to_string()];
    cmd.extend(arguments_to_command(&d, &cfg.controller_manager.extra_args));
    cmd
}

/// The kube-scheduler command (upstream `getSchedulerCommand`).
pub fn scheduler_command(cfg: &ClusterConfiguration) -> Vec<String> {
    let kubeconfig = join(KUBERNETES_DIR, "scheduler.conf");
    let d = vec![
        Arg::new("bind-address", "127.0.0.1"),
        Arg::new("leader-elect", "true"),
        Arg::new("kubeconfig", &kubeconfig),
        Arg::new("authentication-kubeconfig", &kubeconfig),
        Arg::new("authorization-kubeconfig", &kubeconfig),
    ];
    let mut cmd = vec![KUBE_SCHEDULER.to_string()];
    cmd.extend(arguments_to_command(&d, &cfg.scheduler.extra_args));
    cmd
}

/// The three control-plane Pods in upstream's phase order (apiserver, controller-manager,
/// scheduler). `cfg` must be defaulted.
pub fn control_plane_pods(
    cfg: &ClusterConfiguration,
    endpoint: &ApiEndpoint,
    host: &HostInputs,
) -> Vec<StaticPod> {
    let mounts = control_plane_mounts(cfg, host);
    let ci = host.ci_image_repository.as_deref();
    let hc = host.control_plane_component_health_check;
    let proxy = host.proxy_env.as_slice();

    let as_host = api_server_probe_address(endpoint);
    let mut annotations = BTreeMap::new();
    annotations.insert(
        "kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint".to_string(),
        join_host_port(&endpoint.advertise_address, endpoint.bind_port),
    );
    let apiserver = component_pod(
        KUBE_APISERVER,
        container(ContainerParts {
            name: KUBE_APISERVER,
            image: images::kubernetes_image(KUBE_APISERVER, cfg, ci),
            command: api_server_command(cfg, endpoint),
            volume_mounts: mounts.mounts(KUBE_APISERVER),
            liveness: liveness(&as_host, "/livez", "HTTPS"),
            readiness: Some(readiness(&as_host, "/readyz", "HTTPS")),
            startup: startup(&as_host, "/livez", "HTTPS", hc),
            requests: json!({ "cpu": "250m" }),
            env: merge_env_vars(&[proxy, &cfg.api_server.control_plane_component.extra_envs]),
            port: i64::from(endpoint.bind_port),
        }),
        mounts.volumes(KUBE_APISERVER),
        Some(annotations),
    );

    let kcm_host = bind_probe_address(&cfg.controller_manager.extra_args);
    let kcm = component_pod(
        KUBE_CONTROLLER_MANAGER,
        container(ContainerParts {
            name: KUBE_CONTROLLER_MANAGER,
            image: images::kubernetes_image(KUBE_CONTROLLER_MANAGER, cfg, ci),
            command: controller_manager_command(cfg, host.external_ca),
            volume_mounts: mounts.mounts(KUBE_CONTROLLER_MANAGER),
            liveness: liveness(&kcm_host, "/healthz", "HTTPS"),
            readiness: None,
            startup: startup(&kcm_host, "/healthz", "HTTPS", hc),
            requests: json!({ "cpu": "200m" }),
            env: merge_env_vars(&[proxy, &cfg.controller_manager.extra_envs]),
            port: 10257,
        }),
        mounts.volumes(KUBE_CONTROLLER_MANAGER),
        None,
    );

    let sched_host = bind_probe_address(&cfg.scheduler.extra_args);
    let sched = component_pod(
        KUBE_SCHEDULER,
        container(ContainerParts {
            name: KUBE_SCHEDULER,
            image: images::kubernetes_image(KUBE_SCHEDULER, cfg, ci),
            command: scheduler_command(cfg),
            volume_mounts: mounts.mounts(KUBE_SCHEDULER),
            liveness: liveness(&sched_host, "/livez", "HTTPS"),
            readiness: Some(readiness(&sched_host, "/readyz", "HTTPS")),
            startup: startup(&sched_host, "/livez", "HTTPS", hc),
            requests: json!({ "cpu": "100m" }),
            env: merge_env_vars(&[proxy, &cfg.scheduler.extra_envs]),
            port: 10259,
        }),
        mounts.volumes(KUBE_SCHEDULER),
        None,
    );

    vec![
        StaticPod { name: KUBE_APISERVER.into(), pod: apiserver },
        StaticPod { name: KUBE_CONTROLLER_MANAGER.into(), pod: kcm },
        StaticPod { name: KUBE_SCHEDULER.into(), pod: sched },
    ]
}

/// An etcd cluster member (`name=peerURL` in `--initial-cluster`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdMember {
    /// Member name (node name).
    pub name: String,
    /// Peer URL, e.g. `https://10.0.0.1:2380`.
    pub peer_url: String,
}

/// `https://<advertise>:2379`.
pub fn etcd_client_url(endpoint: &ApiEndpoint) -> String {
    format!("https://{}", join_host_port(&endpoint.advertise_address, 2379))
}

/// `https://<advertise>:2380`.
pub fn etcd_peer_url(endpoint: &ApiEndpoint) -> String {
    format!("https://{}", join_host_port(&endpoint.advertise_address, 2380))
}

/// The etcd command (upstream `getEtcdCommand`). An empty `initial_cluster` means a new cluster
/// (init); otherwise a joining member (`--initial-cluster-state=existing`).
pub fn etcd_command(
    cfg: &ClusterConfiguration,
    endpoint: &ApiEndpoint,
    node_name: &str,
    initial_cluster: &[EtcdMember],
) -> Vec<String> {
    let local = cfg.etcd.local.clone().unwrap_or_default();
    let cd = cfg.certificates_dir.as_str();
    let lo = if is_ipv6(&endpoint.advertise_address) { "::1" } else { "127.0.0.1" };
    let client = etcd_client_url(endpoint);
    let peer = etcd_peer_url(endpoint);
    let mut d = vec![
        Arg::new("name", node_name),
        Arg::new("listen-client-urls", format!("https://{},{}", join_host_port(lo, 2379), client)),
        Arg::new("advertise-client-urls", &client),
        Arg::new("listen-peer-urls", &peer),
        Arg::new("initial-advertise-peer-urls", &peer),
        Arg::new("data-dir", &local.data_dir),
        Arg::new("cert-file", join(cd, "etcd/server.crt")),
        Arg::new("key-file", join(cd, "etcd/server.key")),
        Arg::new("trusted-ca-file", join(cd, "etcd/ca.crt")),
        Arg::new("client-cert-auth", "true"),
        Arg::new("peer-cert-file", join(cd, "etcd/peer.crt")),
        Arg::new("peer-key-file", join(cd, "etcd/peer.key")),
        Arg::new("peer-trusted-ca-file", join(cd, "etcd/ca.crt")),
        Arg::new("peer-client-cert-auth", "true"),
        Arg::new("snapshot-count", "10000"),
        Arg::new("listen-metrics-urls", format!("http://{}", join_host_port(lo, 2381))),
        Arg::new("feature-gates", "InitialCorruptCheck=true"),
        Arg::new("watch-progress-notify-interval", "5s"),
    ];
    if initial_cluster.is_empty() {
        set_arg_value(&mut d, "initial-cluster", format!("{node_name}={peer}"));
    } else {
        let list: Vec<String> =
            initial_cluster.iter().map(|m| format!("{}={}", m.name, m.peer_url)).collect();
        set_arg_value(&mut d, "initial-cluster", list.join(","));
        set_arg_value(&mut d, "initial-cluster-state", "existing");
    }
    let mut cmd = vec![ETCD.to_string()];
    cmd.extend(arguments_to_command(&d, &local.extra_args));
    cmd
}

/// Host, port and scheme of the etcd probes (upstream `GetEtcdProbeEndpoint`): loopback of the
/// advertise address family on 2381 over HTTP, unless `listen-metrics-urls` is overridden.
pub fn etcd_probe_endpoint(cfg: &ClusterConfiguration, ipv6: bool) -> (String, i64, &'static str) {
    let lo = if ipv6 { "::1" } else { "127.0.0.1" };
    let default = (lo.to_string(), 2381, "HTTP");
    let Some(local) = &cfg.etcd.local else { return default };
    let Some((v, _)) = get_arg_value(&local.extra_args, "listen-metrics-urls") else { return default };
    let first = v.split(',').next().unwrap_or("");
    let Some((scheme, rest)) = first.split_once("://") else {
        // Go's url.Parse accepts scheme-less strings; hostname and port are then empty.
        return default;
    };
    let scheme = if scheme == "https" { "HTTPS" } else { "HTTP" };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit_once('@').map(|(_, h)| h).unwrap_or(authority);
    let (hostname, port) = if let Some(r) = authority.strip_prefix('[') {
        match r.split_once(']') {
            Some((h, p)) => (h.to_string(), p.strip_prefix(':').unwrap_or("").to_string()),
            None => (String::new(), String::new()),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.to_string()),
            None => (authority.to_string(), String::new()),
        }
    };
    let hostname = if hostname.is_empty() { lo.to_string() } else { hostname };
    let port = port.parse::<i64>().ok().filter(|p| (1..=65535).contains(p)).unwrap_or(2381);
    (hostname, port, scheme)
}

/// The local etcd Pod (upstream `GetEtcdPodSpec`). `cfg.etcd.local` must be set (defaulted).
pub fn etcd_pod(
    cfg: &ClusterConfiguration,
    endpoint: &ApiEndpoint,
    node_name: &str,
    initial_cluster: &[EtcdMember],
    host: &HostInputs,
) -> StaticPod {
    let local = cfg.etcd.local.clone().unwrap_or_default();
    let certs = format!("{}/etcd", cfg.certificates_dir);
    let mut vols = BTreeMap::new();
    vols.insert("etcd-certs", host_path_volume("etcd-certs", &certs, "DirectoryOrCreate"));
    vols.insert("etcd-data", host_path_volume("etcd-data", &local.data_dir, "DirectoryOrCreate"));
    let (phost, pport, pscheme) = etcd_probe_endpoint(cfg, is_ipv6(&endpoint.advertise_address));
    let mut annotations = BTreeMap::new();
    annotations
        .insert("kubeadm.kubernetes.io/etcd.advertise-client-urls".to_string(), etcd_client_url(endpoint));
    let c = container(ContainerParts {
        name: ETCD,
        image: images::etcd_image(cfg),
        command: etcd_command(cfg, endpoint, node_name, initial_cluster),
        volume_mounts: vec![
            volume_mount("etcd-data", &local.data_dir, false),
            volume_mount("etcd-certs", &certs, false),
        ],
        liveness: liveness(&phost, "/livez", pscheme),
        readiness: Some(readiness(&phost, "/readyz", pscheme)),
        startup: startup(&phost, "/readyz", pscheme, host.control_plane_component_health_check),
        requests: json!({ "cpu": "100m", "memory": "100Mi" }),
        env: merge_env_vars(&[&local.extra_envs]),
        port: pport,
    });
    StaticPod {
        name: ETCD.into(),
        pod: component_pod(ETCD, c, vols.into_values().collect(), Some(annotations)),
    }
}
