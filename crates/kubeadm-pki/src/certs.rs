//! kubeadm's certificate tree and the phases that create it (`phases/certs/certlist.go`,
//! `certs.go`, `cmd/phases/init/certs.go`).
//!
//! * [`default_cert_list`]: the table (name, files, CA, subject, usages, SANs) in upstream order.
//! * [`CertsRunner`]: `init phase certs <name>` one by one, or [`CertsRunner::run_all`] which first
//!   generates every needed key in parallel (rayon) and then signs in upstream order.
//! * [`create_pki_assets`]: `CreatePKIAssets` as `join --control-plane` uses it (validates SANs
//!   of existing certificates).
//! * [`using_external_ca`] and friends.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use kubeadm_api::OutFile;
use rayon::prelude::*;
use time::OffsetDateTime;

use crate::cert::{
    AltNames, CertAndKey, CertConfig, Certificate, ExtKeyUsage, new_certificate_authority,
    new_self_signed_ca_cert, new_signed_cert,
};
use crate::error::{PkiError, Result};
use crate::keys::{KeyAlgorithm, PrivateKey, PublicKey};
use crate::{
    CERT_FILE_MODE, KEY_FILE_MODE, cert_path, key_path, load_ca, load_cert, load_cert_chain, load_key,
    pub_path,
};

/// Base name of the service account key pair.
pub const SA_BASE_NAME: &str = "sa";

/// Which SAN builder a certificate uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SanKind {
    /// No SANs (client certificates; CAs get their CN as DNS SAN from the CA helper).
    None,
    /// `GetAPIServerAltNames`.
    ApiServer,
    /// `GetEtcdAltNames`.
    EtcdServer,
    /// `GetEtcdPeerAltNames`.
    EtcdPeer,
}

/// One row of kubeadm's certificate table (`KubeadmCert`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CertSpec {
    /// Phase name (`apiserver`).
    pub name: &'static str,
    /// Phase description.
    pub long_name: &'static str,
    /// File base name below the cert dir (`etcd/server`).
    pub base_name: &'static str,
    /// Name of the signing CA; `None` for CAs.
    pub ca_name: Option<&'static str>,
    /// Subject CN; `None` means the node name (etcd server and peer).
    pub common_name: Option<&'static str>,
    /// Subject O.
    pub organization: &'static [&'static str],
    /// Extended key usages.
    pub usages: &'static [ExtKeyUsage],
    /// SAN builder.
    pub sans: SanKind,
}

const SERVER_CLIENT: &[ExtKeyUsage] = &[ExtKeyUsage::ServerAuth, ExtKeyUsage::ClientAuth];
const CLIENT: &[ExtKeyUsage] = &[ExtKeyUsage::ClientAuth];

static CERT_LIST: [CertSpec; 10] = [
    CertSpec {
        name: "ca",
        long_name: "self-signed Kubernetes CA to provision identities for other Kubernetes components",
        base_name: "ca",
        ca_name: None,
        common_name: Some("kubernetes"),
        organization: &[],
        usages: &[],
        sans: SanKind::None,
    },
    CertSpec {
        name: "apiserver",
        long_name: "certificate for serving the Kubernetes API",
        base_name: "apiserver",
        ca_name: Some("ca"),
        common_name: Some("kube-apiserver"),
        organization: &[],
        usages: &[ExtKeyUsage::ServerAuth],
        sans: SanKind::ApiServer,
    },
    CertSpec {
        name: "apiserver-kubelet-client",
        long_name: "certificate for the API server to connect to kubelet",
        base_name: "apiserver-kubelet-client",
        ca_name: Some("ca"),
        common_name: Some("kube-apiserver-kubelet-client"),
        organization: &[],
        usages: CLIENT,
        sans: SanKind::None,
    },
    CertSpec {
        name: "front-proxy-ca",
        long_name: "self-signed CA to provision identities for front proxy",
        base_name: "front-proxy-ca",
        ca_name: None,
        common_name: Some("front-proxy-ca"),
        organization: &[],
        usages: &[],
        sans: SanKind::None,
    },
    CertSpec {
        name: "front-proxy-client",
        long_name: "certificate for the front proxy client",
        base_name: "front-proxy-client",
        ca_name: Some("front-proxy-ca"),
        common_name: Some("front-proxy-client"),
        organization: &[],
        usages: CLIENT,
        sans: SanKind::None,
    },
    CertSpec {
        name: "etcd-ca",
        long_name: "self-signed CA to provision identities for etcd",
        base_name: "etcd/ca",
        ca_name: None,
        common_name: Some("etcd-ca"),
        organization: &[],
        usages: &[],
        sans: SanKind::None,
    },
    CertSpec {
        name: "etcd-server",
        long_name: "certificate for serving etcd",
        base_name: "etcd/server",
        ca_name: Some("etcd-ca"),
        common_name: None,
        organization: &[],
        usages: SERVER_CLIENT,
        sans: SanKind::EtcdServer,
    },
    CertSpec {
        name: "etcd-peer",
        long_name: "certificate for etcd nodes to communicate with each other",
        base_name: "etcd/peer",
        ca_name: Some("etcd-ca"),
        common_name: None,
        organization: &[],
        usages: SERVER_CLIENT,
        sans: SanKind::EtcdPeer,
    },
    CertSpec {
        name: "etcd-healthcheck-client",
        long_name: "certificate for liveness probes to healthcheck etcd",
        base_name: "etcd/healthcheck-client",
        ca_name: Some("etcd-ca"),
        common_name: Some("kube-etcd-healthcheck-client"),
        organization: &[],
        usages: CLIENT,
        sans: SanKind::None,
    },
    CertSpec {
        name: "apiserver-etcd-client",
        long_name: "certificate the apiserver uses to access etcd",
        base_name: "apiserver-etcd-client",
        ca_name: Some("etcd-ca"),
        common_name: Some("kube-apiserver-etcd-client"),
        organization: &[],
        usages: CLIENT,
        sans: SanKind::None,
    },
];

/// `GetDefaultCertList`: all ten certificates in upstream's (phase) order.
pub fn default_cert_list() -> &'static [CertSpec] {
    &CERT_LIST
}

/// `GetCertsWithoutEtcd`: the first five (external etcd).
pub fn certs_without_etcd() -> &'static [CertSpec] {
    &CERT_LIST[..5]
}

/// Looks a certificate up by phase name.
pub fn cert_spec(name: &str) -> Option<&'static CertSpec> {
    CERT_LIST.iter().find(|c| c.name == name)
}

/// What the certificate phases need from the configuration.
#[derive(Clone, Debug)]
pub struct CertInputs {
    /// `certificatesDir`: where existing files are read.
    pub cert_dir: PathBuf,
    /// Where new files go (`CertificateWriteDir`, differs in dry-run); `None`: `cert_dir`.
    pub write_dir: Option<PathBuf>,
    /// `nodeRegistration.name`.
    pub node_name: String,
    /// `localAPIEndpoint.advertiseAddress`.
    pub advertise_address: IpAddr,
    /// `controlPlaneEndpoint` (host, host:port, [v6]:port).
    pub control_plane_endpoint: Option<String>,
    /// `networking.serviceSubnet` (may be dual-stack `a,b`).
    pub service_subnet: String,
    /// `networking.dnsDomain`.
    pub dns_domain: String,
    /// `apiServer.certSANs`.
    pub api_server_cert_sans: Vec<String>,
    /// `etcd.local.serverCertSANs`.
    pub etcd_server_cert_sans: Vec<String>,
    /// `etcd.local.peerCertSANs`.
    pub etcd_peer_cert_sans: Vec<String>,
    /// True when `etcd.external` is set.
    pub external_etcd: bool,
    /// `encryptionAlgorithm`.
    pub algorithm: KeyAlgorithm,
    /// `certificateValidityPeriod`.
    pub cert_validity: time::Duration,
    /// `caCertificateValidityPeriod`.
    pub ca_validity: time::Duration,
    /// kubeadm's start time (`StartTimeUTC`); NotBefore = this - 5m, NotAfter = this + validity.
    pub start_time: OffsetDateTime,
}

impl CertInputs {
    /// Inputs with upstream defaults (service subnet 10.96.0.0/12, cluster.local, RSA-2048, 1y/10y).
    pub fn new(
        cert_dir: impl Into<PathBuf>,
        node_name: impl Into<String>,
        advertise_address: IpAddr,
    ) -> Self {
        Self {
            cert_dir: cert_dir.into(),
            write_dir: None,
            node_name: node_name.into(),
            advertise_address,
            control_plane_endpoint: None,
            service_subnet: "10.96.0.0/12".to_string(),
            dns_domain: "cluster.local".to_string(),
            api_server_cert_sans: Vec::new(),
            etcd_server_cert_sans: Vec::new(),
            etcd_peer_cert_sans: Vec::new(),
            external_etcd: false,
            algorithm: KeyAlgorithm::default(),
            cert_validity: crate::CERTIFICATE_VALIDITY,
            ca_validity: crate::CA_CERTIFICATE_VALIDITY,
            start_time: OffsetDateTime::now_utc(),
        }
    }

    /// Inputs from (defaulted) v1beta4 configuration, as upstream's internal config feeds
    /// `GetConfig` and the SAN builders. `start_time` is now; `write_dir` is unset.
    pub fn from_config(
        init: &kubeadm_api::v1beta4::InitConfiguration,
        cluster: &kubeadm_api::v1beta4::ClusterConfiguration,
    ) -> Result<Self> {
        let addr = &init.local_api_endpoint.advertise_address;
        let advertise_address: IpAddr = addr.parse().map_err(|_| {
            PkiError::InvalidConfig(format!(
                "error parsing LocalAPIEndpoint AdvertiseAddress {addr}: is not a valid textual representation of an IP address"
            ))
        })?;
        let algorithm = cluster.encryption_algorithm_or_default().as_str().parse::<KeyAlgorithm>()?;
        let nanos = |d: Option<kubeadm_api::Duration>, default: time::Duration| {
            d.map_or(default, |d| time::Duration::nanoseconds(d.0))
        };
        let local = cluster.etcd.local.as_ref();
        let mut inputs =
            Self::new(&cluster.certificates_dir, init.node_registration.name.clone(), advertise_address);
        inputs.control_plane_endpoint =
            Some(cluster.control_plane_endpoint.clone()).filter(|c| !c.is_empty());
        inputs.service_subnet = cluster.networking.service_subnet.clone();
        inputs.dns_domain = cluster.networking.dns_domain.clone();
        inputs.api_server_cert_sans = cluster.api_server.cert_sans.clone();
        inputs.etcd_server_cert_sans = local.map(|l| l.server_cert_sans.clone()).unwrap_or_default();
        inputs.etcd_peer_cert_sans = local.map(|l| l.peer_cert_sans.clone()).unwrap_or_default();
        inputs.external_etcd = cluster.etcd.external.is_some();
        inputs.algorithm = algorithm;
        inputs.cert_validity = nanos(cluster.certificate_validity_period, crate::CERTIFICATE_VALIDITY);
        inputs.ca_validity = nanos(cluster.ca_certificate_validity_period, crate::CA_CERTIFICATE_VALIDITY);
        Ok(inputs)
    }

    /// The directory new files are written to.
    pub fn write_dir(&self) -> &Path {
        self.write_dir.as_deref().unwrap_or(&self.cert_dir)
    }

    fn dry_run(&self) -> bool {
        self.write_dir.as_deref().is_some_and(|w| w != self.cert_dir)
    }
}

/// Files and console lines produced by a phase, in upstream's order.
#[derive(Debug, Default)]
pub struct PkiOutput {
    /// Files to write (keys before certificates, as upstream writes them).
    pub files: Vec<OutFile>,
    /// Lines upstream prints to stdout (without trailing newline).
    pub messages: Vec<String>,
    /// Lines upstream logs as klog warnings (stderr).
    pub warnings: Vec<String>,
}

impl PkiOutput {
    fn msg(&mut self, m: String) {
        self.messages.push(m);
    }

    /// Appends another output.
    pub fn extend(&mut self, other: PkiOutput) {
        self.files.extend(other.files);
        self.messages.extend(other.messages);
        self.warnings.extend(other.warnings);
    }
}

/// `[certs] Using certificateDir folder "<dir>"` (the `certs` parent phase).
pub fn certs_dir_message(inputs: &CertInputs) -> String {
    format!("[certs] Using certificateDir folder {}", go_quote(&inputs.write_dir().display().to_string()))
}

/// Go's `%q` for ordinary strings.
fn go_quote(s: &str) -> String {
    format!("{s:?}")
}

// ---------------------------------------------------------------------------------------------
// SANs

/// `validation.IsDNS1123Subdomain` (shared with `controlPlaneEndpoint` parsing in kubeadm-api).
pub use kubeadm_api::net::is_dns1123_subdomain;

/// `validation.IsWildcardDNS1123Subdomain`.
pub fn is_wildcard_dns1123_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.strip_prefix("*.").is_some_and(is_dns1123_subdomain)
}

/// `appendSANsToAltNames`: IPs, DNS names and wildcard DNS names; anything else yields a warning.
fn append_sans(alt: &mut AltNames, sans: &[String], cert_name: &str, warnings: &mut Vec<String>) {
    for s in sans {
        if let Ok(ip) = s.parse::<IpAddr>() {
            alt.ips.push(ip);
        } else if is_dns1123_subdomain(s) || is_wildcard_dns1123_subdomain(s) {
            alt.dns_names.push(s.clone());
        } else {
            warnings.push(format!(
                "[certificates] WARNING: '{s}' was not added to the '{cert_name}' SAN, because it is not a valid IP or RFC-1123 compliant DNS entry"
            ));
        }
    }
}

/// `GetAPIServerVirtualIP`: network address + 1 of the first service CIDR.
pub fn api_server_virtual_ip(service_subnet: &str) -> Result<IpAddr> {
    let first = service_subnet.split(',').next().unwrap_or_default().trim();
    let net: ipnet::IpNet = first.parse().map_err(|_| {
        PkiError::InvalidConfig(format!(
            "unable to get first IP address from the given CIDR: {service_subnet}: unable to get internal Kubernetes Service IP from the given service CIDR: invalid CIDR address: {first}"
        ))
    })?;
    let ip = match net.network() {
        IpAddr::V4(n) => IpAddr::V4(std::net::Ipv4Addr::from(u32::from(n).wrapping_add(1))),
        IpAddr::V6(n) => IpAddr::V6(std::net::Ipv6Addr::from(u128::from(n).wrapping_add(1))),
    };
    if !net.contains(&ip) {
        return Err(PkiError::InvalidConfig(format!(
            "unable to get first IP address from the given CIDR: {service_subnet}: unable to get the first IP address from the given CIDR: {net}"
        )));
    }
    Ok(ip)
}

/// `kubeadmutil.ParseHostPort`: host of `host`, `host:port` or `[v6]:port`.
pub fn parse_host_port(hostport: &str) -> Result<(String, String)> {
    let (host, port) = split_host_port(hostport).unwrap_or_else(|| (hostport.to_string(), String::new()));
    if !port.is_empty() && !port.parse::<u32>().is_ok_and(|p| (1..=65535).contains(&p)) {
        return Err(PkiError::InvalidConfig(format!(
            "hostport {hostport}: port {port} must be a valid number between 1 and 65535, inclusive"
        )));
    }
    if host.parse::<IpAddr>().is_ok() || is_dns1123_subdomain(&host) {
        return Ok((host, port));
    }
    Err(PkiError::InvalidConfig(format!(
        "hostport {hostport}: host '{host}' must be a valid IP address or a valid RFC-1123 DNS subdomain"
    )))
}

/// Go's `net.SplitHostPort` (None where Go returns an error).
fn split_host_port(s: &str) -> Option<(String, String)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = after.strip_prefix(':')?;
        if port.contains(':') || host.contains('[') {
            return None;
        }
        return Some((host.to_string(), port.to_string()));
    }
    let (host, port) = s.rsplit_once(':')?;
    if host.contains(':') || host.contains('[') || host.contains(']') {
        return None;
    }
    Some((host.to_string(), port.to_string()))
}

/// `GetAPIServerAltNames` (before de-duplication).
pub fn api_server_alt_names(inputs: &CertInputs, warnings: &mut Vec<String>) -> Result<AltNames> {
    let vip = api_server_virtual_ip(&inputs.service_subnet)?;
    let mut dns = Vec::new();
    if !inputs.node_name.is_empty() {
        dns.push(inputs.node_name.clone());
    }
    dns.extend(["kubernetes", "kubernetes.default", "kubernetes.default.svc"].map(String::from));
    if !inputs.dns_domain.is_empty() {
        dns.push(format!("kubernetes.default.svc.{}", inputs.dns_domain));
    }
    let mut alt = AltNames { dns_names: dns, ips: vec![vip, inputs.advertise_address] };
    if let Some(cpe) = inputs.control_plane_endpoint.as_deref().filter(|c| !c.is_empty()) {
        let (host, _) = parse_host_port(cpe).map_err(|e| {
            e.context(format!("error parsing cluster controlPlaneEndpoint {}", go_quote(cpe)))
        })?;
        match host.parse::<IpAddr>() {
            Ok(ip) => alt.ips.push(ip),
            Err(_) => alt.dns_names.push(host),
        }
    }
    append_sans(&mut alt, &inputs.api_server_cert_sans, "apiserver", warnings);
    Ok(alt)
}

/// `GetEtcdAltNames` / `GetEtcdPeerAltNames` (before de-duplication).
pub fn etcd_alt_names(inputs: &CertInputs, peer: bool, warnings: &mut Vec<String>) -> AltNames {
    let mut dns = Vec::new();
    if !inputs.node_name.is_empty() {
        dns.push(inputs.node_name.clone());
    }
    dns.push("localhost".to_string());
    let mut alt = AltNames {
        dns_names: dns,
        ips: vec![
            inputs.advertise_address,
            IpAddr::from([127, 0, 0, 1]),
            IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
        ],
    };
    if !inputs.external_etcd {
        if peer {
            append_sans(&mut alt, &inputs.etcd_peer_cert_sans, "etcd/peer", warnings);
        } else {
            append_sans(&mut alt, &inputs.etcd_server_cert_sans, "etcd/server", warnings);
        }
    }
    alt
}

impl CertSpec {
    /// True for CAs.
    pub fn is_ca(&self) -> bool {
        self.ca_name.is_none()
    }

    /// `KubeadmCert.GetConfig`: subject, SANs and validity for this certificate.
    pub fn config(&self, inputs: &CertInputs, warnings: &mut Vec<String>) -> Result<CertConfig> {
        let alt_names = match self.sans {
            SanKind::None => AltNames::default(),
            SanKind::ApiServer => api_server_alt_names(inputs, warnings)?,
            SanKind::EtcdServer => etcd_alt_names(inputs, false, warnings),
            SanKind::EtcdPeer => etcd_alt_names(inputs, true, warnings),
        };
        let validity = if self.is_ca() { inputs.ca_validity } else { inputs.cert_validity };
        Ok(CertConfig {
            common_name: self.common_name.map_or_else(|| inputs.node_name.clone(), str::to_string),
            organization: self.organization.iter().map(|s| s.to_string()).collect(),
            alt_names,
            usages: self.usages.to_vec(),
            not_before: Some(inputs.start_time - crate::CERTIFICATE_BACKDATE),
            not_after: Some(inputs.start_time + validity),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Files

fn cert_and_key_files(dir: &Path, base: &str, ck: &CertAndKey) -> Result<Vec<OutFile>> {
    Ok(vec![
        OutFile::secret(key_path(dir, base), ck.key.to_pem()?.into_bytes(), KEY_FILE_MODE),
        OutFile::public(cert_path(dir, base), ck.cert.to_pem().into_bytes(), CERT_FILE_MODE),
    ])
}

/// `pkiutil.CertOrKeyExist`.
fn cert_or_key_exist(dir: &Path, base: &str) -> bool {
    cert_path(dir, base).exists() || key_path(dir, base).exists()
}

/// `CheckCertificatePeriodValidity` (warning only, once per name).
fn check_period(
    seen: &mut Vec<String>,
    name: &str,
    cert: &Certificate,
    now: OffsetDateTime,
    out: &mut PkiOutput,
) {
    if seen.iter().any(|s| s == name) {
        return;
    }
    seen.push(name.to_string());
    if let Err(e) = cert.validate_period(now) {
        out.warnings.push(format!("WARNING: could not validate bounds for certificate {name}: {e}"));
    }
}

// ---------------------------------------------------------------------------------------------
// Phases

/// Runs the `certs` sub-phases of `kubeadm init`, keeping CAs created in this run in memory (so
/// leaf phases work before the host has written any file) and a pool of pre-generated keys.
pub struct CertsRunner<'a> {
    inputs: &'a CertInputs,
    cas: HashMap<&'static str, CertAndKey>,
    key_pool: HashMap<String, PrivateKey>,
    period_checked: Vec<String>,
    external_ca: bool,
    now: OffsetDateTime,
}

impl std::fmt::Debug for CertsRunner<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertsRunner")
            .field("inputs", &self.inputs)
            .field("external_ca", &self.external_ca)
            .finish_non_exhaustive()
    }
}

impl<'a> CertsRunner<'a> {
    /// A runner; detects external-CA mode (ca.crt without ca.key) as init does.
    pub fn new(inputs: &'a CertInputs) -> Self {
        let external_ca = using_external_ca(&inputs.cert_dir).external;
        Self {
            inputs,
            cas: HashMap::new(),
            key_pool: HashMap::new(),
            period_checked: Vec::new(),
            external_ca,
            now: OffsetDateTime::now_utc(),
        }
    }

    /// True when ca.crt exists without ca.key.
    pub fn external_ca(&self) -> bool {
        self.external_ca
    }

    fn take_key(&mut self, base: &str) -> Result<PrivateKey> {
        match self.key_pool.remove(base) {
            Some(k) => Ok(k),
            None => PrivateKey::generate(self.inputs.algorithm),
        }
    }

    /// Runs one sub-phase by name: a certificate name from [`default_cert_list`] or `sa`.
    pub fn run_phase(&mut self, name: &str) -> Result<PkiOutput> {
        let mut out = PkiOutput::default();
        if name == SA_BASE_NAME {
            self.run_sa(&mut out)?;
            return Ok(out);
        }
        let spec = cert_spec(name)
            .ok_or_else(|| PkiError::InvalidConfig(format!("unknown certificate {name:?}")))?;
        if spec.is_ca() {
            self.run_ca(spec, &mut out)?;
        } else {
            self.run_cert(spec, &mut out)?;
        }
        Ok(out)
    }

    /// `init phase certs all`: every certificate in upstream order, then `sa`. Keys that will be
    /// needed are generated in parallel first. Stops at the first error, returning it.
    pub fn run_all(&mut self) -> Result<PkiOutput> {
        self.pregenerate_keys();
        let mut out = PkiOutput::default();
        for spec in default_cert_list() {
            let one = self.run_phase(spec.name)?;
            out.extend(one);
        }
        out.extend(self.run_phase(SA_BASE_NAME)?);
        Ok(out)
    }

    /// Generates, in parallel, keys for every file set that does not exist yet.
    pub fn pregenerate_keys(&mut self) {
        let dir = &self.inputs.cert_dir;
        let mut needed: Vec<String> = default_cert_list()
            .iter()
            .filter(|s| !(self.inputs.external_etcd && (s.name == "etcd-ca" || s.ca_name == Some("etcd-ca"))))
            .filter(|s| load_cert_chain(dir, s.base_name).is_err())
            .filter(|s| !(s.is_ca() && cert_or_key_exist(self.inputs.write_dir(), s.base_name)))
            .map(|s| s.base_name.to_string())
            .collect();
        if !self.external_ca && !key_path(self.inputs.write_dir(), SA_BASE_NAME).exists() {
            needed.push(SA_BASE_NAME.to_string());
        }
        needed.retain(|n| !self.key_pool.contains_key(n));
        let alg = self.inputs.algorithm;
        let keys: Vec<(String, Result<PrivateKey>)> =
            needed.into_par_iter().map(|n| (n, PrivateKey::generate(alg))).collect();
        for (n, k) in keys {
            // A failed pre-generation is retried (and reported) when the key is needed.
            if let Ok(k) = k {
                self.key_pool.insert(n, k);
            }
        }
    }

    fn run_ca(&mut self, spec: &'static CertSpec, out: &mut PkiOutput) -> Result<()> {
        let inputs = self.inputs;
        let base = spec.base_name;
        if inputs.external_etcd && spec.name == "etcd-ca" {
            out.msg(format!("[certs] External etcd mode: Skipping {base} certificate authority generation"));
            return Ok(());
        }
        if let Ok(cert) = load_cert(&inputs.cert_dir, base) {
            check_period(&mut self.period_checked, base, &cert, self.now, out);
            let dry = inputs.dry_run();
            if dry {
                out.files.push(copy_file(
                    &cert_path(&inputs.cert_dir, base),
                    &cert_path(inputs.write_dir(), base),
                    CERT_FILE_MODE,
                    false,
                )?);
            }
            if let Ok(key) = load_key(&inputs.cert_dir, base) {
                if dry {
                    out.files.push(copy_file(
                        &key_path(&inputs.cert_dir, base),
                        &key_path(inputs.write_dir(), base),
                        KEY_FILE_MODE,
                        true,
                    )?);
                }
                out.msg(format!("[certs] Using existing {base} certificate authority"));
                self.cas.insert(spec.name, CertAndKey { cert, key });
                return Ok(());
            }
            out.msg(format!("[certs] Using existing {base} keyless certificate authority"));
            return Ok(());
        }
        // CreateCACertAndKeyFiles
        let config = spec.config(inputs, &mut out.warnings)?;
        let key = self
            .take_key(base)
            .map_err(|e| e.context("unable to create private key while generating CA certificate"))?;
        let cert = new_self_signed_ca_cert(&config, &key)
            .map_err(|e| e.context("unable to create self-signed CA certificate"))?;
        let ca = CertAndKey { cert, key };
        let wdir = inputs.write_dir();
        if cert_or_key_exist(wdir, base) {
            let existing = crate::load_cert_and_key(wdir, base)
                .map_err(|e| e.context(format!("failure loading {base} certificate")))?;
            check_period(&mut self.period_checked, base, &existing.cert, self.now, out);
            if !existing.cert.is_ca() {
                return Err(PkiError::NotCa { name: base.to_string() });
            }
            out.msg(format!("[certs] Using the existing {} certificate and key", go_quote(base)));
            self.cas.insert(spec.name, existing);
            return Ok(());
        }
        out.msg(format!("[certs] Generating {} certificate and key", go_quote(base)));
        out.files.extend(cert_and_key_files(wdir, base, &ca)?);
        self.cas.insert(spec.name, ca);
        Ok(())
    }

    fn ca_cert_for_check(&self, ca: &CertSpec) -> Result<Certificate> {
        if let Some(c) = self.cas.get(ca.name) {
            return Ok(c.cert.clone());
        }
        load_cert(&self.inputs.cert_dir, ca.base_name)
    }

    fn run_cert(&mut self, spec: &'static CertSpec, out: &mut PkiOutput) -> Result<()> {
        let inputs = self.inputs;
        let base = spec.base_name;
        let ca_spec = spec.ca_name.and_then(cert_spec).ok_or_else(|| {
            PkiError::InvalidConfig(format!("certificate {:?} references unknown CA", spec.name))
        })?;
        if inputs.external_etcd && spec.ca_name == Some("etcd-ca") {
            out.msg(format!("[certs] External etcd mode: Skipping {base} certificate generation"));
            return Ok(());
        }
        if let Ok((cert, intermediates)) = load_cert_chain(&inputs.cert_dir, base) {
            check_period(&mut self.period_checked, base, &cert, self.now, out);
            let ca_cert = self
                .ca_cert_for_check(ca_spec)
                .map_err(|e| e.context(format!("couldn't load CA certificate {}", ca_spec.name)))?;
            check_period(&mut self.period_checked, ca_spec.base_name, &ca_cert, self.now, out);
            cert.verify_chain(&intermediates, &ca_cert, self.now).map_err(|reason| {
                PkiError::PhaseNotSignedByCa {
                    name: base.to_string(),
                    ca: ca_spec.base_name.to_string(),
                    reason,
                }
            })?;
            out.msg(format!("[certs] Using existing {base} certificate and key on disk"));
            return Ok(());
        }
        // CreateCertAndKeyFilesWithCA
        if !self.cas.contains_key(ca_spec.name) {
            let ca = load_ca(inputs.write_dir(), ca_spec.base_name)
                .map_err(|e| e.context(format!("couldn't load CA certificate {}", ca_spec.name)))?;
            check_period(&mut self.period_checked, ca_spec.base_name, &ca.cert, self.now, out);
            self.cas.insert(ca_spec.name, ca);
        }
        let config = spec
            .config(inputs, &mut out.warnings)
            .map_err(|e| e.context(format!("couldn't create {} certificate", go_quote(spec.name))))?;
        let key = self.take_key(base).map_err(|e| e.context("unable to create private key"))?;
        let ca = self
            .cas
            .get(ca_spec.name)
            .ok_or_else(|| PkiError::InvalidConfig(format!("CA {} not loaded", ca_spec.name)))?;
        let cert = new_signed_cert(&config, &key.public_key(), ca, false)
            .map_err(|e| e.context("unable to sign certificate"))?;
        let ca_cert = ca.cert.clone();
        let new = CertAndKey { cert, key };
        write_certificate_files_if_not_exist(
            inputs.write_dir(),
            base,
            &ca_cert,
            &new,
            &config,
            &mut self.period_checked,
            self.now,
            out,
        )
        .map_err(|e| e.context(format!("failed to write or validate certificate {}", go_quote(spec.name))))
    }

    fn run_sa(&mut self, out: &mut PkiOutput) -> Result<()> {
        if self.external_ca {
            out.msg("[certs] Using existing sa keys".to_string());
            return Ok(());
        }
        let key = self.key_pool.remove(SA_BASE_NAME);
        create_service_account_key_and_public_key_files(
            self.inputs.write_dir(),
            self.inputs.algorithm,
            key,
            out,
        )
    }
}

fn copy_file(from: &Path, to: &Path, mode: u32, secret: bool) -> Result<OutFile> {
    let data = std::fs::read(from).map_err(|source| PkiError::Io { path: from.to_path_buf(), source })?;
    Ok(OutFile { path: to.to_path_buf(), data, mode, secret })
}

/// `writeCertificateFilesIfNotExist`.
#[allow(clippy::too_many_arguments)]
fn write_certificate_files_if_not_exist(
    dir: &Path,
    base: &str,
    signing_cert: &Certificate,
    new: &CertAndKey,
    config: &CertConfig,
    seen: &mut Vec<String>,
    now: OffsetDateTime,
    out: &mut PkiOutput,
) -> Result<()> {
    if cert_or_key_exist(dir, base) {
        load_key(dir, base).map_err(|e| e.context(format!("failure loading {base} key")))?;
        let (cert, intermediates) = load_cert_chain(dir, base)
            .map_err(|e| e.context(format!("failure loading {base} certificate")))?;
        check_period(seen, base, &cert, now, out);
        if cert.verify_chain(&intermediates, signing_cert, now).is_err() {
            return Err(PkiError::NotSignedByCa { name: base.to_string(), reason: None });
        }
        validate_certificate_with_config(&cert, base, config)?;
        out.msg(format!("[certs] Using the existing {} certificate and key", go_quote(base)));
        return Ok(());
    }
    out.msg(format!("[certs] Generating {} certificate and key", go_quote(base)));
    out.files.extend(cert_and_key_files(dir, base, new)?);
    if new.cert.has_server_auth() {
        let alt = new.cert.alt_names();
        out.msg(format!(
            "[certs] {base} serving cert is signed for DNS names {} and IPs {}",
            alt.dns_go_list(),
            alt.ips_go_list()
        ));
    }
    Ok(())
}

/// `validateCertificateWithConfig`: the certificate covers every configured SAN.
fn validate_certificate_with_config(cert: &Certificate, base: &str, config: &CertConfig) -> Result<()> {
    let hosts = config
        .alt_names
        .dns_names
        .iter()
        .cloned()
        .chain(config.alt_names.ips.iter().map(crate::cert::go_ip_string));
    for host in hosts {
        cert.verify_hostname(&host)
            .map_err(|reason| PkiError::InvalidCertificate { name: base.to_string(), reason })?;
    }
    Ok(())
}

/// `CreateServiceAccountKeyAndPublicKeyFiles`: reuses any loadable `sa.key`, else a new key
/// (`pregenerated` if given) as `sa.key` + `sa.pub` (both 0600).
pub fn create_service_account_key_and_public_key_files(
    dir: &Path,
    algorithm: KeyAlgorithm,
    pregenerated: Option<PrivateKey>,
    out: &mut PkiOutput,
) -> Result<()> {
    let path = key_path(dir, SA_BASE_NAME);
    match std::fs::read(&path) {
        Ok(data) => {
            return match PrivateKey::from_pem(&data) {
                Ok(_) => {
                    out.msg(format!("[certs] Using the existing {} key", go_quote(SA_BASE_NAME)));
                    Ok(())
                }
                Err(e) => {
                    Err(PkiError::Decode(format!("error reading private key file {}: {e}", path.display()))
                        .context("file sa.key existed but it could not be loaded properly"))
                }
            };
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(PkiError::Io { path: path.clone(), source }
                .context("file sa.key existed but it could not be loaded properly"));
        }
    }
    let key = match pregenerated {
        Some(k) => k,
        None => PrivateKey::generate(algorithm)?,
    };
    out.msg(format!("[certs] Generating {} key and public key", go_quote(SA_BASE_NAME)));
    out.files.push(OutFile::secret(path, key.to_pem()?.into_bytes(), KEY_FILE_MODE));
    out.files.push(OutFile::public(
        pub_path(dir, SA_BASE_NAME),
        key.public_key().to_pem().into_bytes(),
        KEY_FILE_MODE,
    ));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// CreatePKIAssets (join --control-plane)

/// `CreatePKIAssets`: the whole tree with upstream's reuse rules (existing CA without key: all its
/// leaves must exist and be signed by it; existing leaves must be signed by the CA and cover the
/// configured SANs), then `sa`. Keys are generated in parallel up front.
pub fn create_pki_assets(inputs: &CertInputs) -> Result<PkiOutput> {
    let list = if inputs.external_etcd { certs_without_etcd() } else { default_cert_list() };
    let dir = inputs.cert_dir.as_path();
    let now = OffsetDateTime::now_utc();
    let mut out = PkiOutput::default();
    let mut seen = Vec::new();
    let wrap = |e: PkiError| e.context("error creating PKI assets");

    // Keys for files that do not exist yet, in parallel.
    let mut pool: HashMap<&str, PrivateKey> = list
        .par_iter()
        .filter(|s| !cert_or_key_exist(dir, s.base_name))
        .filter_map(|s| PrivateKey::generate(inputs.algorithm).ok().map(|k| (s.base_name, k)))
        .collect();
    let mut take = |base: &str| -> Result<PrivateKey> {
        match pool.remove(base) {
            Some(k) => Ok(k),
            None => PrivateKey::generate(inputs.algorithm),
        }
    };

    for ca_spec in list.iter().filter(|s| s.is_ca()) {
        let leaves: Vec<&CertSpec> = list.iter().filter(|s| s.ca_name == Some(ca_spec.name)).collect();
        let base = ca_spec.base_name;
        let ca = match load_cert(dir, base) {
            Ok(cert) => {
                check_period(&mut seen, base, &cert, now, &mut out);
                if !cert.is_ca() {
                    return Err(wrap(PkiError::InvalidConfig(format!(
                        "certificate {} is not a CA",
                        go_quote(ca_spec.name)
                    ))));
                }
                match load_key(dir, base) {
                    Ok(key) => CertAndKey { cert, key },
                    Err(_) => {
                        for leaf in &leaves {
                            validate_signed_cert_with_ca(dir, leaf.base_name, leaf.name, &cert, now, &mut seen, &mut out).map_err(|e| {
                                wrap(e.context(format!(
                                    "could not load expected certificate {} or validate the existence of key {} for it",
                                    go_quote(leaf.name),
                                    go_quote(ca_spec.name)
                                )))
                            })?;
                        }
                        continue;
                    }
                }
            }
            Err(_) => {
                let config = ca_spec.config(inputs, &mut out.warnings).map_err(wrap)?;
                let key = take(base).map_err(|e| {
                    wrap(e.context("unable to create private key while generating CA certificate"))
                })?;
                let cert = new_self_signed_ca_cert(&config, &key)
                    .map_err(|e| wrap(e.context("unable to create self-signed CA certificate")))?;
                let ca = CertAndKey { cert, key };
                if cert_or_key_exist(dir, base) {
                    let existing = crate::load_cert_and_key(dir, base)
                        .map_err(|e| wrap(e.context(format!("failure loading {base} certificate"))))?;
                    if !existing.cert.is_ca() {
                        return Err(wrap(PkiError::NotCa { name: base.to_string() }));
                    }
                    out.msg(format!("[certs] Using the existing {} certificate and key", go_quote(base)));
                    existing
                } else {
                    out.msg(format!("[certs] Generating {} certificate and key", go_quote(base)));
                    out.files.extend(cert_and_key_files(dir, base, &ca).map_err(wrap)?);
                    ca
                }
            }
        };
        for leaf in leaves {
            let config = leaf.config(inputs, &mut out.warnings).map_err(|e| {
                wrap(e.context(format!("couldn't create {} certificate", go_quote(leaf.name))))
            })?;
            let key = take(leaf.base_name).map_err(|e| wrap(e.context("unable to create private key")))?;
            let cert = new_signed_cert(&config, &key.public_key(), &ca, false)
                .map_err(|e| wrap(e.context("unable to sign certificate")))?;
            let new = CertAndKey { cert, key };
            write_certificate_files_if_not_exist(
                dir,
                leaf.base_name,
                &ca.cert,
                &new,
                &config,
                &mut seen,
                now,
                &mut out,
            )
            .map_err(|e| {
                wrap(e.context(format!("failed to write or validate certificate {}", go_quote(leaf.name))))
            })?;
        }
    }
    out.msg(format!(
        "[certs] Valid certificates and keys now exist in {}",
        go_quote(&dir.display().to_string())
    ));
    create_service_account_key_and_public_key_files(dir, inputs.algorithm, None, &mut out)?;
    Ok(out)
}

/// `validateSignedCertWithCA`.
fn validate_signed_cert_with_ca(
    dir: &Path,
    base: &str,
    ux_name: &str,
    ca: &Certificate,
    now: OffsetDateTime,
    seen: &mut Vec<String>,
    out: &mut PkiOutput,
) -> Result<()> {
    load_key(dir, base).map_err(|e| e.context(format!("failure loading key for {base}")))?;
    let (cert, intermediates) = load_cert_chain(dir, base)
        .map_err(|e| e.context(format!("failure loading certificate for {ux_name}")))?;
    check_period(seen, ux_name, &cert, now, out);
    cert.verify_chain(&intermediates, ca, now)
        .map_err(|reason| PkiError::NotSignedByCa { name: ux_name.to_string(), reason: Some(reason) })
}

// ---------------------------------------------------------------------------------------------
// External CA detection

/// Result of `UsingExternalCA` and friends: Go returns `(bool, error)` with both meaningful.
#[derive(Debug)]
pub struct ExternalCaCheck {
    /// True when the CA certificate exists without its key.
    pub external: bool,
    /// Why the external CA setup is invalid or incomplete (or why the CA could not be loaded).
    pub error: Option<PkiError>,
}

fn validate_ca_cert(dir: &Path, base: &str, ux: &str) -> Result<Certificate> {
    let cert =
        load_cert(dir, base).map_err(|e| e.context(format!("failure loading certificate for {ux}")))?;
    if !cert.is_ca() {
        return Err(PkiError::NotCa { name: ux.to_string() });
    }
    Ok(cert)
}

fn external_check(dir: &Path, ca_base: &str, ca_ux: &str, leaves: &[(&str, &str)]) -> ExternalCaCheck {
    let ca = match validate_ca_cert(dir, ca_base, ca_ux) {
        Ok(c) => c,
        Err(e) => return ExternalCaCheck { external: false, error: Some(e) },
    };
    if key_path(dir, ca_base).exists() {
        return ExternalCaCheck { external: false, error: None };
    }
    let now = OffsetDateTime::now_utc();
    let mut sink = PkiOutput::default();
    let mut seen = Vec::new();
    for (base, ux) in leaves {
        if let Err(e) = validate_signed_cert_with_ca(dir, base, ux, &ca, now, &mut seen, &mut sink) {
            return ExternalCaCheck { external: true, error: Some(e) };
        }
    }
    ExternalCaCheck { external: true, error: None }
}

/// `UsingExternalCA`: ca.crt present without ca.key; then apiserver and apiserver-kubelet-client
/// must exist (with keys) and be signed by it.
pub fn using_external_ca(cert_dir: &Path) -> ExternalCaCheck {
    external_check(
        cert_dir,
        "ca",
        "CA",
        &[("apiserver", "API server"), ("apiserver-kubelet-client", "API server kubelet client")],
    )
}

/// `UsingExternalFrontProxyCA`.
pub fn using_external_front_proxy_ca(cert_dir: &Path) -> ExternalCaCheck {
    external_check(
        cert_dir,
        "front-proxy-ca",
        "front-proxy CA",
        &[("front-proxy-client", "front-proxy client")],
    )
}

/// `UsingExternalEtcdCA`.
pub fn using_external_etcd_ca(cert_dir: &Path) -> ExternalCaCheck {
    external_check(
        cert_dir,
        "etcd/ca",
        "etcd CA",
        &[
            ("apiserver-etcd-client", "apiserver etcd client"),
            ("etcd/server", "etcd server"),
            ("etcd/peer", "etcd peer"),
            ("etcd/healthcheck-client", "etcd health-check client"),
        ],
    )
}

/// `SharedCertificateExists` (join --control-plane preflight): ca, sa, front-proxy-ca and (local
/// etcd) etcd/ca exist; missing CA keys only produce warnings (returned second).
pub fn shared_certificate_exists(
    cert_dir: &Path,
    external_etcd: bool,
) -> (std::result::Result<(), Vec<PkiError>>, Vec<String>) {
    let mut errs = Vec::new();
    let mut warnings = Vec::new();
    let mut cas = vec![("ca", "CA"), ("front-proxy-ca", "front-proxy CA")];
    if !external_etcd {
        cas.push(("etcd/ca", "etcd CA"));
    }
    for (i, (base, ux)) in cas.iter().enumerate() {
        match validate_ca_cert(cert_dir, base, ux) {
            Err(e) => errs.push(e),
            Ok(_) => {
                if let Err(e) = load_key(cert_dir, base) {
                    warnings.push(format!("assuming external key for {ux}: {e}"));
                }
            }
        }
        if i == 0
            && let Err(e) = validate_private_public_key(cert_dir, SA_BASE_NAME)
        {
            errs.push(e.context("failure loading key for service account"));
        }
    }
    (if errs.is_empty() { Ok(()) } else { Err(errs) }, warnings)
}

/// `TryLoadPrivatePublicKeyFromDisk`: `<base>.key` and `<base>.pub` load and have the same type.
pub fn validate_private_public_key(dir: &Path, base: &str) -> Result<(PrivateKey, PublicKey)> {
    let kp = key_path(dir, base);
    let key = load_key(dir, base)?;
    let pp = pub_path(dir, base);
    let data = std::fs::read(&pp).map_err(|source| PkiError::PublicKeyFile {
        path: pp.clone(),
        source: Box::new(PkiError::Io { path: pp.clone(), source }),
    })?;
    let pubs = PublicKey::all_from_pem(&data)
        .map_err(|e| PkiError::PublicKeyFile { path: pp.clone(), source: Box::new(e) })?;
    let kind = if key.is_rsa() { "RSA" } else { "ECDSA" };
    let first = pubs.into_iter().next().ok_or_else(|| PkiError::Decode("no public key".to_string()))?;
    if first.kind() != kind {
        return Err(PkiError::KeyTypeMismatch { kind, key_path: kp, pub_path: pp });
    }
    Ok((key, first))
}

/// `CreateCACertAndKeyFiles`-style helper for other crates: a new CA per `spec` (no disk access).
pub fn new_ca_for_spec(spec: &CertSpec, inputs: &CertInputs) -> Result<CertAndKey> {
    let mut warnings = Vec::new();
    let config = spec.config(inputs, &mut warnings)?;
    new_certificate_authority(&config, inputs.algorithm)
}
