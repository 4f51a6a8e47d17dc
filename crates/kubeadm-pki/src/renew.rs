//! Certificate renewal and expiration bookkeeping (upstream `phases/certs/renewal`: `Manager`,
//! `CertificateRenewHandler`, `CAExpirationHandler`, `pkiCertificateReadWriter`, `FileRenewer`).
//!
//! * [`renew_handlers`] / [`ca_handlers`]: what `certs renew` and `certs check-expiration` cover:
//!   every leaf of the certificate tree (without the etcd ones with external etcd) and the client
//!   certificates embedded in `admin.conf`, `super-admin.conf`, `controller-manager.conf` and
//!   `scheduler.conf`, sorted by name as upstream's `Certificates()` / `CAs()`.
//! * [`ExternalCaChecker`]: `Manager.IsExternallyManaged` (a CA certificate without its key).
//! * [`renew_certificate`]: `RenewUsingLocalCA`'s signing step: a **new key** and a certificate with
//!   the old one's CN, O, SANs and extended key usages, NotBefore = start - 5m, NotAfter = start +
//!   `certificateValidityPeriod`.
//!
//! Reading and rewriting kubeconfig files is left to the caller (kubeadm-manifests owns that
//! format); PKI files are read here and written by the caller from [`pki_files`].

use std::path::{Path, PathBuf};

use kubeadm_api::OutFile;
use time::OffsetDateTime;

use crate::cert::{CertAndKey, CertConfig, Certificate};
use crate::certs::{
    certs_without_etcd, default_cert_list, using_external_ca, using_external_etcd_ca,
    using_external_front_proxy_ca,
};
use crate::error::{PkiError, Result};
use crate::keys::KeyAlgorithm;
use crate::{CERT_FILE_MODE, KEY_FILE_MODE, cert_path, key_path};

/// Where the certificate of a [`RenewHandler`] lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertLocation {
    /// `<certificatesDir>/<base_name>.{crt,key}`.
    Pki {
        /// File base name (`apiserver`, `etcd/server`).
        base_name: &'static str,
    },
    /// The client certificate of the current context's user in `<kubernetesDir>/<file_name>`.
    Kubeconfig {
        /// File name (`admin.conf`).
        file_name: &'static str,
    },
}

/// One renewable certificate (`CertificateRenewHandler`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RenewHandler {
    /// Name used on the command line and in the tables (`apiserver`, `admin.conf`).
    pub name: &'static str,
    /// Description printed by `renew` (`certificate for serving the Kubernetes API`).
    pub long_name: &'static str,
    /// Where the certificate is.
    pub location: CertLocation,
    /// Name of the signing CA (`ca`, `etcd-ca`, `front-proxy-ca`).
    pub ca_name: &'static str,
    /// Base name of the signing CA's files (`ca`, `etcd/ca`, `front-proxy-ca`).
    pub ca_base_name: &'static str,
}

/// One CA of the check-expiration output (`CAExpirationHandler`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CaHandler {
    /// `ca`, `etcd-ca`, `front-proxy-ca`.
    pub name: &'static str,
    /// Description.
    pub long_name: &'static str,
    /// File base name (`etcd/ca`).
    pub base_name: &'static str,
}

/// The kubeconfig files whose client certificate is renewed (kubelet.conf is left to the kubelet).
pub const KUBECONFIG_CERTS: [(&str, &str); 4] = [
    ("admin.conf", "certificate embedded in the kubeconfig file for the admin to use and for kubeadm itself"),
    ("super-admin.conf", "certificate embedded in the kubeconfig file for the super-admin"),
    (
        "controller-manager.conf",
        "certificate embedded in the kubeconfig file for the controller manager to use",
    ),
    ("scheduler.conf", "certificate embedded in the kubeconfig file for the scheduler manager to use"),
];

/// Base name of the Kubernetes CA, which signs every kubeconfig client certificate.
pub const CA_BASE_NAME: &str = "ca";

/// `NewManager(cfg).Certificates()`: sorted by name.
pub fn renew_handlers(external_etcd: bool) -> Vec<RenewHandler> {
    let list = if external_etcd { certs_without_etcd() } else { default_cert_list() };
    let mut out: Vec<RenewHandler> = list
        .iter()
        .filter_map(|spec| {
            let ca = list.iter().find(|c| Some(c.name) == spec.ca_name)?;
            Some(RenewHandler {
                name: spec.name,
                long_name: spec.long_name,
                location: CertLocation::Pki { base_name: spec.base_name },
                ca_name: ca.name,
                ca_base_name: ca.base_name,
            })
        })
        .collect();
    out.extend(KUBECONFIG_CERTS.iter().map(|(file, long)| RenewHandler {
        name: file,
        long_name: long,
        location: CertLocation::Kubeconfig { file_name: file },
        ca_name: CA_BASE_NAME,
        ca_base_name: CA_BASE_NAME,
    }));
    out.sort_by(|a, b| a.name.cmp(b.name));
    out
}

/// `NewManager(cfg).CAs()`: sorted by name.
pub fn ca_handlers(external_etcd: bool) -> Vec<CaHandler> {
    let list = if external_etcd { certs_without_etcd() } else { default_cert_list() };
    let mut out: Vec<CaHandler> = list
        .iter()
        .filter(|s| s.is_ca())
        .map(|s| CaHandler { name: s.name, long_name: s.long_name, base_name: s.base_name })
        .collect();
    out.sort_by(|a, b| a.name.cmp(b.name));
    out
}

/// The handler of `name` in the full list (with etcd), as the `renew <name>` subcommands are
/// built from.
pub fn renew_handler(name: &str) -> Option<RenewHandler> {
    renew_handlers(false).into_iter().find(|h| h.name == name)
}

/// Upstream `fileExists`: the path exists and is not a directory (errors count as missing).
pub fn file_exists(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.is_dir())
}

/// `pkiCertificateReadWriter.Exists`.
pub fn pki_cert_exists(cert_dir: &Path, base_name: &str) -> bool {
    file_exists(&cert_path(cert_dir, base_name))
}

/// `certutil.CertsFromFile` with upstream's wording (`open <path>: ...`, `error reading <path>:
/// ...`): every certificate of a PEM file, at least one.
pub fn certs_from_file(path: &Path) -> Result<Vec<Certificate>> {
    let data = std::fs::read(path).map_err(|source| PkiError::Io { path: path.to_path_buf(), source })?;
    Certificate::all_from_pem(&data)
        .map_err(|e| PkiError::Decode(format!("error reading {}: {e}", path.display())))
}

/// `pkiCertificateReadWriter.Read`: the first certificate of `<dir>/<base>.crt`.
pub fn read_pki_cert(cert_dir: &Path, base_name: &str) -> Result<Certificate> {
    certs_from_file(&cert_path(cert_dir, base_name))
        .map(|mut v| v.remove(0))
        .map_err(|e| e.context(format!("failed to load existing certificate {base_name}")))
}

/// `Manager.IsExternallyManaged` for each CA, with `CheckCertificatePeriodValidity`'s warnings
/// (once per CA).
#[derive(Debug)]
pub struct ExternalCaChecker {
    cert_dir: PathBuf,
    checked: Vec<String>,
    /// Warnings collected so far (klog warnings upstream).
    pub warnings: Vec<String>,
}

impl ExternalCaChecker {
    /// A checker for the CAs in `cert_dir`.
    pub fn new(cert_dir: impl Into<PathBuf>) -> Self {
        Self { cert_dir: cert_dir.into(), checked: Vec::new(), warnings: Vec::new() }
    }

    /// True when the CA `ca_base_name` (`ca`, `front-proxy-ca`, `etcd/ca`) is present without its
    /// key and the certificates it signs are valid; an error when the CA cannot be loaded or an
    /// external CA's certificates are incomplete.
    pub fn is_externally_managed(&mut self, ca_base_name: &str, now: OffsetDateTime) -> Result<bool> {
        let (check, ux) = match ca_base_name {
            "ca" => (using_external_ca(&self.cert_dir), "CA"),
            "front-proxy-ca" => (using_external_front_proxy_ca(&self.cert_dir), "front-proxy CA"),
            "etcd/ca" => (using_external_etcd_ca(&self.cert_dir), "etcd CA"),
            other => {
                return Err(PkiError::InvalidConfig(format!("unknown certificate authority {other}")));
            }
        };
        if !self.checked.iter().any(|c| c == ux) {
            self.checked.push(ux.to_string());
            if let Ok(ca) = crate::load_cert(&self.cert_dir, ca_base_name)
                && let Err(e) = ca.validate_period(now)
            {
                self.warnings.push(format!("WARNING: could not validate bounds for certificate {ux}: {e}"));
            }
        }
        match check.error {
            Some(e) => Err(e.context(format!(
                "Error checking external CA condition for {ca_base_name} certificate authority"
            ))),
            None => Ok(check.external),
        }
    }
}

/// `certToConfig`: CN, O, SANs and extended key usages of an existing certificate.
pub fn cert_to_config(cert: &Certificate) -> CertConfig {
    CertConfig {
        common_name: cert.common_name().to_string(),
        organization: cert.organization().to_vec(),
        alt_names: cert.alt_names().clone(),
        usages: cert.ext_key_usages().to_vec(),
        not_before: None,
        not_after: None,
    }
}

/// `RenewUsingLocalCA`'s signing: a new `algorithm` key and a certificate signed by `ca` with the
/// subject, SANs and usages of `old`, NotBefore = `start` - 5m and NotAfter = `start` + `validity`
/// (without a validity: NotBefore + 1 year, as `NewSignedCert` defaults it).
pub fn renew_certificate(
    old: &Certificate,
    ca: &CertAndKey,
    algorithm: KeyAlgorithm,
    start: OffsetDateTime,
    validity: Option<time::Duration>,
) -> Result<CertAndKey> {
    let mut config = cert_to_config(old);
    config.not_before = Some(start - crate::CERTIFICATE_BACKDATE);
    config.not_after = validity.map(|v| start + v);
    crate::new_cert_and_key(ca, &config, algorithm)
}

/// `pkiutil.WriteCertAndKey`'s files: the key (0600) before the certificate (0644).
pub fn pki_files(cert_dir: &Path, base_name: &str, renewed: &CertAndKey) -> Result<Vec<OutFile>> {
    Ok(vec![
        OutFile::secret(key_path(cert_dir, base_name), renewed.key.to_pem()?.into_bytes(), KEY_FILE_MODE),
        OutFile::public(cert_path(cert_dir, base_name), renewed.cert.to_pem().into_bytes(), CERT_FILE_MODE),
    ])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn handlers_are_sorted_like_upstream() {
        let names: Vec<&str> = renew_handlers(false).iter().map(|h| h.name).collect();
        assert_eq!(
            names,
            [
                "admin.conf",
                "apiserver",
                "apiserver-etcd-client",
                "apiserver-kubelet-client",
                "controller-manager.conf",
                "etcd-healthcheck-client",
                "etcd-peer",
                "etcd-server",
                "front-proxy-client",
                "scheduler.conf",
                "super-admin.conf",
            ]
        );
        let ext: Vec<&str> = renew_handlers(true).iter().map(|h| h.name).collect();
        assert!(!ext.iter().any(|n| n.contains("etcd")), "{ext:?}");
        let cas: Vec<&str> = ca_handlers(false).iter().map(|h| h.name).collect();
        assert_eq!(cas, ["ca", "etcd-ca", "front-proxy-ca"]);
        assert_eq!(ca_handlers(true).len(), 2);
        let peer = renew_handler("etcd-peer").unwrap();
        assert_eq!(peer.ca_base_name, "etcd/ca");
        assert_eq!(peer.location, CertLocation::Pki { base_name: "etcd/peer" });
    }

    #[test]
    fn renewal_keeps_subject_sans_and_usages_with_a_new_key() {
        let dir = tempfile::tempdir().unwrap();
        let inputs = crate::CertInputs::new(dir.path(), "node1", "10.0.0.1".parse().unwrap());
        let mut runner = crate::CertsRunner::new(&inputs);
        let out = runner.run_phase("ca").unwrap();
        let mut files = out.files;
        files.extend(runner.run_phase("apiserver").unwrap().files);
        for f in &files {
            std::fs::create_dir_all(f.path.parent().unwrap()).unwrap();
            std::fs::write(&f.path, &f.data).unwrap();
        }
        let ca = crate::load_ca(dir.path(), "ca").unwrap();
        let old = read_pki_cert(dir.path(), "apiserver").unwrap();
        let start = OffsetDateTime::now_utc();
        let new =
            renew_certificate(&old, &ca, KeyAlgorithm::default(), start, Some(time::Duration::days(30)))
                .unwrap();
        assert_eq!(new.cert.raw_subject(), old.raw_subject());
        assert_eq!(new.cert.raw_issuer(), old.raw_issuer());
        assert_eq!(new.cert.alt_names(), old.alt_names());
        assert_eq!(new.cert.ext_key_usages(), old.ext_key_usages());
        assert_ne!(new.cert.public_key(), old.public_key());
        assert_eq!(
            new.cert.not_after().unix_timestamp(),
            (start + time::Duration::days(30)).unix_timestamp()
        );
        let mut checker = ExternalCaChecker::new(dir.path());
        assert!(!checker.is_externally_managed("ca", start).unwrap());
        let err = checker.is_externally_managed("front-proxy-ca", start).unwrap_err().to_string();
        assert!(
            err.starts_with("Error checking external CA condition for front-proxy-ca certificate authority: failure loading certificate for front-proxy CA: "),
            "{err}"
        );
        let err = read_pki_cert(dir.path(), "etcd/server").unwrap_err().to_string();
        assert!(err.starts_with("failed to load existing certificate etcd/server: open "), "{err}");
    }
}
