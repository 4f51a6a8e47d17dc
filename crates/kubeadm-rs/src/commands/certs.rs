//! `kubeadm-rs certs ...` (upstream `cmd/certs.go`): `certificate-key`, `check-expiration`,
//! `renew <name>|all` and `generate-csr`.
//!
//! `check-expiration` and `renew` read the ClusterConfiguration from the cluster (`kubeadm-config`
//! through `--kubeconfig`) unless `--config` is given, and fall back to `--config` or the defaults
//! when the cluster cannot be read, as upstream's `getInternalCfg` does. The kubeconfig files whose
//! client certificates they cover are always those in `/etc/kubernetes`, as upstream.

use std::path::{Path, PathBuf};
use std::time::Duration as StdDuration;

use anyhow::Context as _;
use kubeadm_api::v1beta4::ClusterConfiguration;
use kubeadm_api::{OutFile, constants};
use kubeadm_manifests::kubeconfig as kc;
use kubeadm_pki::expiration::{CertificateExpiration, ExpirationInfo, rfc3339_utc};
use kubeadm_pki::renew::{self, CertLocation, ExternalCaChecker, RenewHandler};
use kubeadm_pki::{Certificate, KeyAlgorithm, PrivateKey};
use rand::{RngCore, TryRngCore};
use rayon::prelude::*;
use time::OffsetDateTime;

use crate::cli::{CertsCommand, PrintFlags, RenewFlags, RenewTarget};
use crate::commands::init::{FlagValue, InitOptions};
use crate::commands::not_implemented;
use crate::output::Output;

/// Upstream `constants.KubernetesDir`: where `renew` and `check-expiration` find the kubeconfig
/// files (not configurable upstream either).
const KUBERNETES_DIR: &str = "/etc/kubernetes";

/// A random 32-byte AES key, hex encoded (upstream `copycerts.CreateCertificateKey`).
pub fn certificate_key() -> String {
    let mut key = [0u8; 32];
    rand::rngs::OsRng.unwrap_err().fill_bytes(&mut key);
    hex::encode(key)
}

fn renew_target(t: &RenewTarget) -> (&'static str, &RenewFlags) {
    match t {
        RenewTarget::AdminConf(f) => ("admin.conf", f),
        RenewTarget::All(f) => ("all", f),
        RenewTarget::ApiserverEtcdClient(f) => ("apiserver-etcd-client", f),
        RenewTarget::ApiserverKubeletClient(f) => ("apiserver-kubelet-client", f),
        RenewTarget::Apiserver(f) => ("apiserver", f),
        RenewTarget::ControllerManagerConf(f) => ("controller-manager.conf", f),
        RenewTarget::EtcdHealthcheckClient(f) => ("etcd-healthcheck-client", f),
        RenewTarget::EtcdPeer(f) => ("etcd-peer", f),
        RenewTarget::EtcdServer(f) => ("etcd-server", f),
        RenewTarget::FrontProxyClient(f) => ("front-proxy-client", f),
        RenewTarget::SchedulerConf(f) => ("scheduler.conf", f),
        RenewTarget::SuperAdminConf(f) => ("super-admin.conf", f),
    }
}

/// Runs a `certs` subcommand.
pub fn run(out: &Output, cmd: &CertsCommand) -> anyhow::Result<()> {
    match cmd {
        CertsCommand::CertificateKey => {
            out.line(certificate_key());
            Ok(())
        }
        CertsCommand::CheckExpiration { common, kubeconfig, print } => {
            check_expiration(out, common.config.as_deref(), &common.cert_dir, kubeconfig, print)
        }
        CertsCommand::GenerateCsr { config, cert_dir, kubeconfig_dir } => {
            generate_csr(out, config.as_deref(), cert_dir.as_deref(), kubeconfig_dir)
        }
        CertsCommand::Renew { target } => {
            let (name, flags) = renew_target(target);
            renew_cmd(out, name, flags)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Configuration (upstream getInternalCfg)

/// The ClusterConfiguration for `check-expiration` and `renew`: from the cluster when no
/// `--config` is given and `--kubeconfig` loads, else from `--config` or the defaults (with
/// `--cert-dir`, which upstream ignores when `--config` is given). `text` says whether the
/// `[<prefix>] ...` progress lines are printed (upstream's structured printers drop them).
fn internal_cfg(
    out: &Output,
    config: Option<&str>,
    cert_dir: &str,
    kubeconfig: &str,
    prefix: &str,
    text: bool,
) -> anyhow::Result<ClusterConfiguration> {
    let config = config.filter(|c| !c.is_empty());
    if config.is_none()
        && let Some(mut cluster) = cluster_config_from_cluster(out, kubeconfig, prefix, text)
    {
        // Certificate renewal and expiration checks do not depend on a running cluster, so the
        // certificate dir is the flag's (always set: it has a default).
        if !cert_dir.is_empty() {
            out.v(1, format!("Overriding the cluster certificate directory with the value from command line flag --cert-dir: {cert_dir}"));
            cluster.certificates_dir = cert_dir.to_string();
        }
        return Ok(cluster);
    }
    let mut opts = InitOptions { config: config.map(PathBuf::from), ..InitOptions::default() };
    opts.overrides.push((crate::flags::names::CERT_DIR, FlagValue::Str(cert_dir.to_string())));
    Ok(crate::wiring::load_init_config(out, &opts)?.cluster)
}

/// `FetchInitConfigurationFromCluster` for what certificates need: the ClusterConfiguration of
/// `kube-system/kubeadm-config`, read with upstream's short retry (50ms steps for 350ms, each
/// request limited to 10s). `None` when the kubeconfig does not load (silently, as upstream's
/// nil client) or the cluster cannot be read (after upstream's fallback message).
fn cluster_config_from_cluster(
    out: &Output,
    kubeconfig: &str,
    prefix: &str,
    text: bool,
) -> Option<ClusterConfiguration> {
    let path = Path::new(kubeconfig);
    let cfg = kubeadm_cluster::client::load_kubeconfig(path).ok()?;
    cfg.context(&cfg.current_context)?;
    let say = |s: String| {
        if text {
            out.line(s);
        }
    };
    say(format!(
        "[{prefix}] Reading configuration from the {:?} ConfigMap in namespace {:?}...",
        constants::KUBEADM_CONFIG_CONFIG_MAP,
        "kube-system"
    ));
    say(format!(
        "[{prefix}] Use 'kubeadm init phase upload-config kubeadm --config your-config-file' to re-upload it."
    ));
    match fetch_cluster_configuration(&cfg, kubeconfig) {
        Ok(cluster) => {
            say(String::new());
            Some(cluster)
        }
        Err(e) => {
            out.v(
                1,
                format!("reading the cluster configuration failed: {}", crate::output::error_message(&e)),
            );
            say(format!(
                "[{prefix}] Error reading configuration from the Cluster. Falling back to default configuration\n"
            ));
            None
        }
    }
}

/// Upstream `GetConfigMapWithShortRetry` / any short-retried GET: attempts every 50ms for 350ms,
/// each limited to the request timeout; the last error when none succeeded.
async fn get_short_retry<K>(api: &kube::Api<K>, name: &str, request: StdDuration) -> Result<K, kube::Error>
where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let deadline = tokio::time::Instant::now() + StdDuration::from_millis(350);
    loop {
        let err = match tokio::time::timeout(request, api.get(name)).await {
            Ok(Ok(v)) => return Ok(v),
            Ok(Err(e)) => e,
            Err(_) => kube::Error::Service(format!("request timed out after {request:?}").into()),
        };
        let next = tokio::time::Instant::now() + StdDuration::from_millis(50);
        if next > deadline {
            return Err(err);
        }
        tokio::time::sleep_until(next).await;
    }
}

/// The node name as upstream's `GetNodeName` finds it without a cluster round trip: the client
/// certificate CN of `/etc/kubernetes/kubelet.conf` (without `system:node:`), else the hostname.
fn local_node_name() -> Option<String> {
    let path = Path::new(KUBERNETES_DIR).join(kc::KUBELET_KUBECONFIG);
    let from_kubelet_conf = || -> Option<String> {
        let c = kc::Config::parse(&std::fs::read(&path).ok()?).ok()?;
        let user = c.current_user()?;
        let pem = match user.client_certificate_data.as_deref() {
            Some(d) if !d.is_empty() => d.to_vec(),
            _ if !user.client_certificate.is_empty() => std::fs::read(&user.client_certificate).ok()?,
            _ => return None,
        };
        let cert = Certificate::all_from_pem(&pem).ok()?.into_iter().next()?;
        Some(cert.common_name().trim_start_matches(kc::NODES_USER_PREFIX).to_string())
    };
    from_kubelet_conf().or_else(|| kubeadm_host::hostfacts::node_name(&kubeadm_host::RealHost, "").ok())
}

/// `getInitConfigurationFromCluster` as far as certificates are concerned: the ClusterConfiguration
/// of `kubeadm-config`; like upstream, the read fails (and the caller falls back) when the
/// `kubelet-config` ConfigMap or this node's Node object cannot be read, the `kube-proxy`
/// ConfigMap fails otherwise than with NotFound/Forbidden, or (on a control-plane node) this
/// node's kube-apiserver mirror Pod lacks its advertise-address annotation.
fn fetch_cluster_configuration(cfg: &kc::Config, what: &str) -> anyhow::Result<ClusterConfiguration> {
    use k8s_openapi::api::core::v1::{ConfigMap, Node};
    use kubeadm_cluster::error::{is_forbidden, is_not_found};
    // Upstream's client timeout for this client is 10s (the default request timeout).
    let timeouts = kubeadm_cluster::client::ApiTimeouts::default();
    let rt = kubeadm_cluster::runtime()?;
    let has_key = |cm: &ConfigMap, key: &str| cm.data.as_ref().is_some_and(|d| d.contains_key(key));
    rt.block_on(async {
        let client = kubeadm_cluster::client::client_from_kubeconfig(cfg, what, &timeouts).await?;
        let cms: kube::Api<ConfigMap> = kube::Api::namespaced(client.clone(), "kube-system");
        let cm = get_short_retry(&cms, constants::KUBEADM_CONFIG_CONFIG_MAP, timeouts.request)
            .await
            .context("failed to get config map")?;
        let cluster = kubeadm_cluster::fetchconfig::cluster_configuration_from_config_map(&cm)?;
        match get_short_retry(&cms, "kube-proxy", timeouts.request).await {
            Ok(cm) if !has_key(&cm, "config.conf") => {
                anyhow::bail!(
                    "unexpected error when reading kube-proxy ConfigMap: config.conf key value pair missing"
                )
            }
            Ok(_) => {}
            Err(e) if is_not_found(&e) || is_forbidden(&e) => {}
            Err(e) => {
                return Err(anyhow::Error::new(e).context("could not download the kube-proxy configuration"));
            }
        }
        let kubelet =
            get_short_retry(&cms, constants::KUBELET_BASE_CONFIGURATION_CONFIG_MAP, timeouts.request)
                .await
                .context("could not download the kubelet configuration")?;
        if !has_key(&kubelet, constants::KUBELET_BASE_CONFIGURATION_CONFIG_MAP_KEY) {
            anyhow::bail!("kubelet-config ConfigMap has no kubelet key");
        }
        let name = local_node_name().ok_or_else(|| anyhow::anyhow!("could not get node name"))?;
        let nodes: kube::Api<Node> = kube::Api::all(client.clone());
        tokio::time::timeout(timeouts.request, nodes.get(&name))
            .await
            .map_err(|_| anyhow::anyhow!("timed out getting node {name:?}"))?
            .context("failed to get corresponding node")?;
        if Path::new(KUBERNETES_DIR).join("manifests/kube-apiserver.yaml").exists() {
            api_endpoint_from_pod_annotation(&client, &name, &timeouts).await?;
        }
        Ok(cluster)
    })
}

/// Upstream `GetAPIEndpoint` on a control-plane node (its kube-apiserver manifest exists): this
/// node's kube-apiserver mirror Pod must carry the advertise-address annotation, polled every
/// `retry_interval` for `api_call` (500ms / 1m). Only success matters here (the endpoint itself is
/// not used by certificate commands).
async fn api_endpoint_from_pod_annotation(
    client: &kube::Client,
    node: &str,
    t: &kubeadm_cluster::client::ApiTimeouts,
) -> anyhow::Result<()> {
    use k8s_openapi::api::core::v1::Pod;
    const ANNOTATION: &str = "kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint";
    let pods: kube::Api<Pod> = kube::Api::namespaced(client.clone(), "kube-system");
    let lp = kube::api::ListParams::default()
        .fields(&format!("spec.nodeName={node}"))
        .labels("component=kube-apiserver,tier=control-plane");
    let deadline = tokio::time::Instant::now() + t.api_call;
    loop {
        let last = match tokio::time::timeout(t.request, pods.list(&lp)).await {
            Ok(Ok(list)) if list.items.len() == 1 => {
                let ep = list.items[0].metadata.annotations.as_ref().and_then(|a| a.get(ANNOTATION));
                match ep {
                    Some(ep) => {
                        return match ep.rsplit_once(':').map(|(_, p)| p.parse::<u16>()) {
                            Some(Ok(p)) if p > 0 => Ok(()),
                            _ => Err(anyhow::anyhow!("could not parse API endpoint for node {node:?}")),
                        };
                    }
                    None => format!(
                        "API server pod for node name {node:?} hasn't got a {ANNOTATION:?} annotation"
                    ),
                }
            }
            Ok(Ok(list)) => format!(
                "API server pod for node name {node:?} has {} entries, only one was expected",
                list.items.len()
            ),
            Ok(Err(e)) => e.to_string(),
            Err(_) => "timed out listing pods".to_string(),
        };
        let next = tokio::time::Instant::now() + t.retry_interval;
        if next > deadline {
            anyhow::bail!("could not retrieve API endpoints for node {node:?} using pod annotations: {last}");
        }
        tokio::time::sleep_until(next).await;
    }
}

fn key_algorithm(cluster: &ClusterConfiguration) -> anyhow::Result<KeyAlgorithm> {
    Ok(cluster.encryption_algorithm_or_default().as_str().parse::<KeyAlgorithm>()?)
}

// ---------------------------------------------------------------------------------------------
// Reading certificates (upstream renewal readwriters)

/// A certificate embedded in a kubeconfig file, with what rewriting the file needs.
struct KubeconfigCert {
    path: PathBuf,
    config: kc::Config,
    ca_pem: String,
    cert: Certificate,
}

fn handler_exists(h: &RenewHandler, cert_dir: &Path, kdir: &Path) -> bool {
    match h.location {
        CertLocation::Pki { base_name } => renew::pki_cert_exists(cert_dir, base_name),
        CertLocation::Kubeconfig { file_name } => renew::file_exists(&kdir.join(file_name)),
    }
}

/// `kubeConfigReadWriter.Read`.
fn read_kubeconfig_cert(kdir: &Path, file_name: &str, cert_dir: &Path) -> anyhow::Result<KubeconfigCert> {
    let path = kdir.join(file_name);
    let shown = path.display().to_string();
    let load_err = |reason: String| anyhow::anyhow!("failed to load kubeConfig file {shown}: {reason}");
    let data = std::fs::read(&path).map_err(|e| load_err(go_io_error(&shown, &e)))?;
    let config = kc::Config::parse(&data).map_err(|e| load_err(e.to_string()))?;
    let ca = renew::certs_from_file(&kubeadm_pki::cert_path(cert_dir, renew::CA_BASE_NAME))
        .map_err(|e| e.context(format!("failed to load existing certificate {}", renew::CA_BASE_NAME)))?;
    let ca_pem = ca[0].to_pem();
    let pem = kc::embedded_client_certificate(&config, &shown)?;
    let cert = Certificate::all_from_pem(pem)
        .map_err(|e| {
            anyhow::anyhow!("kubeConfig file {shown} does not contain a valid client certificate: {e}")
        })?
        .remove(0);
    Ok(KubeconfigCert { path, config, ca_pem, cert })
}

fn read_handler_cert(h: &RenewHandler, cert_dir: &Path, kdir: &Path) -> anyhow::Result<Certificate> {
    match h.location {
        CertLocation::Pki { base_name } => Ok(renew::read_pki_cert(cert_dir, base_name)?),
        CertLocation::Kubeconfig { file_name } => Ok(read_kubeconfig_cert(kdir, file_name, cert_dir)?.cert),
    }
}

/// Go's `os` error text (`open <path>: no such file or directory`).
fn go_io_error(path: &str, e: &std::io::Error) -> String {
    let reason = match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        std::io::ErrorKind::IsADirectory => "is a directory".to_string(),
        _ => e.to_string(),
    };
    format!("open {path}: {reason}")
}

fn flush_warnings(out: &Output, checker: &mut ExternalCaChecker) {
    for w in checker.warnings.drain(..) {
        out.warn(w);
    }
}

// ---------------------------------------------------------------------------------------------
// check-expiration

/// Upstream `fetchCertificateExpirationInfo`.
fn expiration_info(
    out: &Output,
    cluster: &ClusterConfiguration,
    kdir: &Path,
    now: OffsetDateTime,
) -> anyhow::Result<ExpirationInfo> {
    let cert_dir = Path::new(&cluster.certificates_dir);
    let external_etcd = cluster.etcd.external.is_some();
    let mut checker = ExternalCaChecker::new(cert_dir);
    let mut info = ExpirationInfo::default();
    for h in renew::renew_handlers(external_etcd) {
        if !handler_exists(&h, cert_dir, kdir) {
            info.certificates.push(CertificateExpiration::missing(h.name));
            continue;
        }
        let external = checker.is_externally_managed(h.ca_base_name, now);
        flush_warnings(out, &mut checker);
        let external = external?;
        let cert = read_handler_cert(&h, cert_dir, kdir)?;
        info.certificates.push(CertificateExpiration::present(
            h.name,
            cert.not_after(),
            now,
            external,
            h.ca_name,
        ));
    }
    for ca in renew::ca_handlers(external_etcd) {
        if !renew::pki_cert_exists(cert_dir, ca.base_name) {
            info.certificate_authorities.push(CertificateExpiration::missing(ca.name));
            continue;
        }
        let external = checker.is_externally_managed(ca.base_name, now);
        flush_warnings(out, &mut checker);
        let external = external?;
        let cert = renew::read_pki_cert(cert_dir, ca.base_name)?;
        info.certificate_authorities.push(CertificateExpiration::present(
            ca.name,
            cert.not_after(),
            now,
            external,
            "",
        ));
    }
    Ok(info)
}

/// `outputapiv1alpha3.Certificate` as JSON/YAML.
#[derive(serde::Serialize)]
struct OutCertificate {
    name: String,
    #[serde(rename = "expirationDate")]
    expiration_date: Option<String>,
    #[serde(rename = "residualTime")]
    residual_time: i64,
    #[serde(rename = "externallyManaged")]
    externally_managed: bool,
    #[serde(rename = "caName", skip_serializing_if = "String::is_empty")]
    ca_name: String,
    missing: bool,
}

/// `outputapiv1alpha3.CertificateExpirationInfo` as JSON/YAML.
#[derive(serde::Serialize)]
struct OutExpirationInfo {
    kind: &'static str,
    #[serde(rename = "apiVersion")]
    api_version: &'static str,
    certificates: Vec<OutCertificate>,
    #[serde(rename = "certificateAuthorities")]
    certificate_authorities: Vec<OutCertificate>,
}

fn output_object(info: &ExpirationInfo) -> OutExpirationInfo {
    let conv = |c: &CertificateExpiration| OutCertificate {
        name: c.name.clone(),
        expiration_date: c.expiration_date.map(rfc3339_utc),
        residual_time: c.residual_seconds,
        externally_managed: c.externally_managed,
        ca_name: c.ca_name.clone(),
        missing: c.missing,
    };
    OutExpirationInfo {
        kind: "CertificateExpirationInfo",
        api_version: "output.kubeadm.k8s.io/v1alpha3",
        certificates: info.certificates.iter().map(conv).collect(),
        certificate_authorities: info.certificate_authorities.iter().map(conv).collect(),
    }
}

/// JSON as client-go's printer writes it: 4-space indent, trailing newline.
fn to_go_json<T: serde::Serialize>(v: &T) -> anyhow::Result<String> {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    v.serialize(&mut ser)?;
    let mut s = String::from_utf8(buf)?;
    s.push('\n');
    Ok(s)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Text,
    Json,
    Yaml,
}

fn output_format(print: &PrintFlags) -> anyhow::Result<Format> {
    let f = print.output.as_deref().unwrap_or("text");
    match f {
        "" | "text" => Ok(Format::Text),
        "json" => Ok(Format::Json),
        "yaml" => Ok(Format::Yaml),
        "kyaml" | "go-template" | "go-template-file" | "template" | "templatefile" | "jsonpath"
        | "jsonpath-as-json" | "jsonpath-file" => {
            not_implemented(&format!("certs check-expiration -o {f}")).map(|_| Format::Text)
        }
        f if f.starts_with("go-template=")
            || f.starts_with("go-template-file=")
            || f.starts_with("template=")
            || f.starts_with("templatefile=")
            || f.starts_with("jsonpath") =>
        {
            not_implemented("certs check-expiration -o <template>").map(|_| Format::Text)
        }
        f => anyhow::bail!(
            "could not construct output printer: unable to match a printer suitable for the output format {f:?}, allowed formats are: go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,kyaml,template,templatefile,text,yaml"
        ),
    }
}

fn check_expiration(
    out: &Output,
    config: Option<&str>,
    cert_dir: &str,
    kubeconfig: &str,
    print: &PrintFlags,
) -> anyhow::Result<()> {
    let format = output_format(print)?;
    let cluster =
        internal_cfg(out, config, cert_dir, kubeconfig, "check-expiration", format == Format::Text)?;
    let info = expiration_info(out, &cluster, Path::new(KUBERNETES_DIR), OffsetDateTime::now_utc())?;
    match format {
        Format::Text => out.raw(info.to_text()),
        Format::Json => out.document(to_go_json(&output_object(&info))?),
        Format::Yaml => out.document(kubeadm_manifests::goyaml::marshal(&output_object(&info))?),
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// renew

/// Writes files atomically (relative paths are taken from the working directory, as upstream).
fn write_files(files: &[OutFile]) -> anyhow::Result<()> {
    let files: Vec<OutFile> = files
        .iter()
        .map(|f| {
            let path = std::path::absolute(&f.path)
                .with_context(|| format!("invalid path {:?}", f.path.display().to_string()))?;
            Ok(OutFile { path, ..f.clone() })
        })
        .collect::<anyhow::Result<_>>()?;
    kubeadm_host::fs::write_all(&files).map_err(anyhow::Error::new)
}

/// What `renew_one` did.
#[derive(Debug, PartialEq, Eq)]
enum Renewed {
    Yes,
    No,
}

struct RenewCtx<'a> {
    out: &'a Output,
    cluster: &'a ClusterConfiguration,
    cert_dir: PathBuf,
    kdir: PathBuf,
    algorithm: KeyAlgorithm,
    validity: Option<time::Duration>,
    window: Option<kubeadm_api::Duration>,
    checker: ExternalCaChecker,
}

impl RenewCtx<'_> {
    /// Upstream `renewCert` (+ the `--if-expiring-within` extension).
    fn renew_one(&mut self, h: &RenewHandler) -> anyhow::Result<Renewed> {
        let known = renew::renew_handlers(self.cluster.etcd.external.is_some()).contains(h);
        if !known || !handler_exists(h, &self.cert_dir, &self.kdir) {
            self.out.line(format!("MISSING! {}", h.long_name));
            return Ok(Renewed::No);
        }
        let now = OffsetDateTime::now_utc();
        let external = self.checker.is_externally_managed(h.ca_base_name, now);
        flush_warnings(self.out, &mut self.checker);
        if external? {
            self.out.line(format!("Detected external {}, {} can't be renewed", h.ca_base_name, h.long_name));
            return Ok(Renewed::No);
        }
        let (old, kubeconfig) = match h.location {
            CertLocation::Pki { base_name } => (renew::read_pki_cert(&self.cert_dir, base_name)?, None),
            CertLocation::Kubeconfig { file_name } => {
                let k = read_kubeconfig_cert(&self.kdir, file_name, &self.cert_dir)?;
                (k.cert.clone(), Some(k))
            }
        };
        if let Some(window) = self.window {
            let left = old.not_after() - now;
            if left > time::Duration::nanoseconds(window.0) {
                self.out.line(format!(
                    "Skipped {}: it expires in {} ({}), not within {window}",
                    h.long_name,
                    kubeadm_pki::expiration::human_duration(left),
                    kubeadm_pki::expiration::go_expiry_format(old.not_after())
                ));
                return Ok(Renewed::No);
            }
        }
        let ca = kubeadm_pki::load_ca(&self.cert_dir, h.ca_base_name)?;
        if let Err(e) = ca.cert.validate_period(now) {
            self.out
                .warn(format!("WARNING: could not validate bounds for certificate {}: {e}", h.ca_base_name));
        }
        let renewed = renew::renew_certificate(&old, &ca, self.algorithm, now, self.validity)
            .map_err(|e| e.context(format!("failed to renew certificate {}", h.name)))?;
        match (h.location, kubeconfig) {
            (CertLocation::Pki { base_name }, _) => {
                let files = renew::pki_files(&self.cert_dir, base_name, &renewed)?;
                write_files(&files)
                    .with_context(|| format!("failed to write new certificate {base_name}"))?;
            }
            (CertLocation::Kubeconfig { .. }, Some(mut k)) => {
                // The key PEM only goes into the file; errors never contain it.
                let key_pem = renewed.key.to_pem().context("failed to marshal private key to PEM")?;
                kc::replace_embedded_client_credentials(
                    &mut k.config,
                    k.ca_pem.as_bytes(),
                    key_pem.as_bytes(),
                    renewed.cert.to_pem().as_bytes(),
                );
                let file = OutFile::secret(&k.path, k.config.to_yaml()?, kc::KUBECONFIG_FILE_MODE);
                write_files(&[file])
                    .with_context(|| format!("failed to write kubeconfig file {}", k.path.display()))?;
            }
            (CertLocation::Kubeconfig { .. }, None) => {
                anyhow::bail!("internal error: {} was not read before writing", h.name)
            }
        }
        self.out.line(format!("{} renewed", h.long_name));
        Ok(Renewed::Yes)
    }
}

fn renew_cmd(out: &Output, name: &str, flags: &RenewFlags) -> anyhow::Result<()> {
    let window = flags
        .if_expiring_within
        .as_deref()
        .map(|s| {
            kubeadm_api::Duration::parse(s)
                .map_err(|e| anyhow::anyhow!("invalid argument {s:?} for \"--if-expiring-within\" flag: {e}"))
        })
        .transpose()?;
    let cluster = internal_cfg(
        out,
        flags.common.config.as_deref(),
        &flags.common.cert_dir,
        &flags.kubeconfig,
        "renew",
        true,
    )?;
    let mut ctx = RenewCtx {
        out,
        cluster: &cluster,
        cert_dir: PathBuf::from(&cluster.certificates_dir),
        kdir: PathBuf::from(KUBERNETES_DIR),
        algorithm: key_algorithm(&cluster)?,
        validity: cluster.certificate_validity_period.map(|d| time::Duration::nanoseconds(d.0)),
        window,
        checker: ExternalCaChecker::new(&cluster.certificates_dir),
    };
    if name != "all" {
        let h = renew::renew_handler(name)
            .ok_or_else(|| anyhow::anyhow!("{name} is not a valid certificate for this cluster"))?;
        ctx.renew_one(&h)?;
        return Ok(());
    }
    let mut renewed = 0;
    for h in renew::renew_handlers(cluster.etcd.external.is_some()) {
        if ctx.renew_one(&h)? == Renewed::Yes {
            renewed += 1;
        }
    }
    if window.is_some() && renewed == 0 {
        out.line("\nNo certificate was renewed.");
    } else {
        out.line("\nDone renewing certificates. You must restart the kube-apiserver, kube-controller-manager, kube-scheduler and etcd, so that they can use the new certificates.");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// generate-csr

/// One key + CSR to create.
struct CsrJob {
    /// Printed name (`apiserver`, `etcd/server`, `admin.conf`).
    name: String,
    common_name: String,
    organization: Vec<String>,
    alt_names: kubeadm_pki::AltNames,
    /// For kubeconfig files: (path, server, cluster name, user).
    kubeconfig: Option<(PathBuf, String, String)>,
    dir: PathBuf,
}

fn csr_or_key_exist(dir: &Path, name: &str) -> bool {
    let exists =
        |p: PathBuf| !matches!(std::fs::metadata(p), Err(e) if e.kind() == std::io::ErrorKind::NotFound);
    exists(dir.join(format!("{name}.csr"))) || exists(dir.join(format!("{name}.key")))
}

/// `certs generate-csr`: upstream `CreateDefaultKeysAndCSRFiles` and
/// `CreateDefaultKubeConfigsAndCSRFiles`. Everything is computed and checked before the first
/// file is written.
fn generate_csr(
    out: &Output,
    config: Option<&str>,
    cert_dir: Option<&str>,
    kubeconfig_dir: &str,
) -> anyhow::Result<()> {
    let opts =
        InitOptions { config: config.filter(|c| !c.is_empty()).map(PathBuf::from), ..InitOptions::default() };
    let mut cfg = crate::wiring::load_init_config(out, &opts)?;
    if let Some(d) = cert_dir.filter(|d| !d.is_empty()) {
        cfg.cluster.certificates_dir = d.to_string();
    }
    let algorithm = key_algorithm(&cfg.cluster)?;
    let inputs = kubeadm_pki::CertInputs::from_config(&cfg.init, &cfg.cluster)?;
    let pki_dir = PathBuf::from(&cfg.cluster.certificates_dir);
    let mut warnings = Vec::new();
    let mut jobs = Vec::new();
    for spec in kubeadm_pki::default_cert_list().iter().filter(|s| !s.is_ca()) {
        if csr_or_key_exist(&pki_dir, spec.base_name) {
            anyhow::bail!("file already exists: key or CSR {}/{}", pki_dir.display(), spec.base_name);
        }
        let c = spec.config(&inputs, &mut warnings)?;
        jobs.push(CsrJob {
            name: spec.base_name.to_string(),
            common_name: c.common_name,
            organization: c.organization,
            alt_names: c.alt_names,
            kubeconfig: None,
            dir: pki_dir.clone(),
        });
    }
    let kdir = PathBuf::from(kubeconfig_dir);
    let endpoint = &cfg.init.local_api_endpoint;
    let (cpe, _) = kc::control_plane_endpoint_url(&cfg.cluster.control_plane_endpoint, endpoint)?;
    let local = kc::local_api_endpoint_url(endpoint)?;
    for spec in kc::init_kubeconfig_specs(&cfg.cluster, endpoint, &cfg.init.node_registration.name)? {
        let path = kdir.join(&spec.file_name);
        match std::fs::metadata(&path) {
            Ok(_) => anyhow::bail!("file already exists: kube config: {}", path.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(anyhow::Error::new(e)
                    .context(format!("unexpected error while checking if file exists: {}", path.display())));
            }
        }
        if csr_or_key_exist(&kdir, &spec.file_name) {
            anyhow::bail!("file already exists: csr: {}", path.display());
        }
        // Upstream's base specs (getKubeConfigSpecsBase): the kubelet's file uses the
        // control-plane endpoint too; init later points it at the local endpoint.
        let server = match spec.file_name.as_str() {
            kc::ADMIN_KUBECONFIG | kc::SUPER_ADMIN_KUBECONFIG | kc::KUBELET_KUBECONFIG => cpe.clone(),
            _ => local.clone(),
        };
        jobs.push(CsrJob {
            name: spec.file_name.clone(),
            common_name: spec.client_name.clone(),
            organization: spec.organizations.clone(),
            alt_names: kubeadm_pki::AltNames::default(),
            kubeconfig: Some((path, server, spec.client_name)),
            dir: kdir.clone(),
        });
    }
    for w in &warnings {
        out.warn(w);
    }
    let made: Vec<anyhow::Result<Vec<OutFile>>> = jobs
        .par_iter()
        .map(|j| {
            let key = PrivateKey::generate(algorithm)?;
            let csr = kubeadm_pki::new_csr_der_with_sans(&key, &j.common_name, &j.organization, &j.alt_names)
                .map_err(|e| e.context("unable to generate CSR"))?;
            let csr_pem = kubeadm_pki::pem_encode(kubeadm_pki::csr::CERTIFICATE_REQUEST_BLOCK, &csr);
            let key_pem = key.to_pem()?;
            let csr_file = OutFile::public(j.dir.join(format!("{}.csr", j.name)), csr_pem, 0o600);
            Ok(match &j.kubeconfig {
                None => vec![
                    OutFile::secret(
                        j.dir.join(format!("{}.key", j.name)),
                        key_pem,
                        kubeadm_pki::KEY_FILE_MODE,
                    ),
                    csr_file,
                ],
                Some((path, server, user)) => {
                    let c = kc::create_with_certs(
                        server,
                        &cfg.cluster.cluster_name,
                        user,
                        b"",
                        key_pem.as_bytes(),
                        b"",
                    );
                    vec![OutFile::secret(path, c.to_yaml()?, kc::KUBECONFIG_FILE_MODE), csr_file]
                }
            })
        })
        .collect();
    let mut pki_files = Vec::new();
    let mut kubeconfig_files = Vec::new();
    for (j, files) in jobs.iter().zip(made) {
        if j.kubeconfig.is_some() {
            kubeconfig_files.push((j.name.as_str(), files?));
        } else {
            pki_files.push((j.name.as_str(), files?));
        }
    }
    for (dir, list) in [(&pki_dir, pki_files), (&kdir, kubeconfig_files)] {
        out.line(format!("generating keys and CSRs in {}", dir.display()));
        for (name, files) in list {
            write_files(&files)?;
            out.line(format!("  {name}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn certificate_key_is_64_hex_chars() {
        let k = super::certificate_key();
        assert_eq!(k.len(), 64);
        assert!(k.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_ne!(k, super::certificate_key());
    }
}
