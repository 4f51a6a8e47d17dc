//! kubeadm's PKI: CAs, certificates, keys; generation, reuse and verification.
//!
//! Mirrors upstream kubeadm v1.37.2 (`cmd/kubeadm/app/phases/certs`, `util/pkiutil`, client-go's
//! `util/cert` and `util/keyutil`):
//!
//! * [`keys`]: RSA-2048/3072/4096 and ECDSA P-256/P-384 keys, PEM as kubeadm writes them.
//! * [`cert`]: certificates with Go's exact X.509 layout; parsing, chain and hostname checks.
//! * [`csr`]: PKCS#10 certificate requests as `certutil.MakeCSR` creates them (the kubelet's TLS
//!   bootstrap), parsing and signature checks.
//! * [`certs`]: the certificate table, SAN builders, the `init phase certs ...` phases (parallel key
//!   generation for `all`), join's `CreatePKIAssets`, external CA detection.
//!
//! Nothing here writes to the host: phases return [`kubeadm_api::OutFile`]s and console messages.

pub mod cert;
pub mod certs;
pub mod csr;
mod der;
pub mod error;
pub mod expiration;
pub mod keys;
pub mod renew;

use std::path::{Path, PathBuf};

pub use cert::{
    AltNames, CertAndKey, CertConfig, Certificate, ExtKeyUsage, new_cert_and_key, new_certificate_authority,
    new_self_signed_ca_cert, new_signed_cert,
};
pub use certs::{
    CertInputs, CertSpec, CertsRunner, ExternalCaCheck, PkiOutput, SanKind, certs_dir_message,
    create_pki_assets, default_cert_list, shared_certificate_exists, using_external_ca,
    using_external_etcd_ca, using_external_front_proxy_ca,
};
pub use csr::{CertificateRequest, new_csr_der, new_csr_der_with_sans, new_csr_pem};
pub use error::{PkiError, Result};
pub use keys::{KeyAlgorithm, PrivateKey, PublicKey};

/// `CertificateBackdate`: NotBefore of every kubeadm certificate is the start time minus this.
pub const CERTIFICATE_BACKDATE: time::Duration = time::Duration::minutes(5);
/// `CertificateValidityPeriod` (8760h).
pub const CERTIFICATE_VALIDITY: time::Duration = time::Duration::hours(24 * 365);
/// `CACertificateValidityPeriod` (87600h).
pub const CA_CERTIFICATE_VALIDITY: time::Duration = time::Duration::hours(24 * 365 * 10);
/// Mode of certificate files (`certutil.WriteCert`).
pub const CERT_FILE_MODE: u32 = 0o644;
/// Mode of key files, including `sa.pub` (`keyutil.WriteKey`).
pub const KEY_FILE_MODE: u32 = 0o600;

/// PEM-encodes like Go's `pem.EncodeToMemory`: 64-column base64, LF line endings.
pub fn pem_encode(tag: &str, der: &[u8]) -> String {
    let p = pem::Pem::new(tag, der.to_vec());
    pem::encode_config(&p, pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF))
}

/// Decodes every PEM block of `data` as (tag, contents); undecodable text is skipped.
pub fn pem_decode_all(data: &[u8]) -> Vec<(String, Vec<u8>)> {
    pem::parse_many(data)
        .map(|v| v.into_iter().map(|p| (p.tag().to_string(), p.into_contents())).collect())
        .unwrap_or_default()
}

/// `<dir>/<base>.crt`.
pub fn cert_path(dir: &Path, base: &str) -> PathBuf {
    dir.join(format!("{base}.crt"))
}

/// `<dir>/<base>.key`.
pub fn key_path(dir: &Path, base: &str) -> PathBuf {
    dir.join(format!("{base}.key"))
}

/// `<dir>/<base>.pub`.
pub fn pub_path(dir: &Path, base: &str) -> PathBuf {
    dir.join(format!("{base}.pub"))
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| PkiError::Io { path: path.to_path_buf(), source })
}

/// `pkiutil.TryLoadCertChainFromDisk`: the first certificate of `<dir>/<base>.crt` and the rest
/// (intermediates).
pub fn load_cert_chain(dir: &Path, base: &str) -> Result<(Certificate, Vec<Certificate>)> {
    let path = cert_path(dir, base);
    let wrap = |e: PkiError| PkiError::CertFile { path: path.clone(), source: Box::new(e) };
    let data = read(&path).map_err(wrap)?;
    // certutil.CertsFromFile: "error reading <file>: <parse error>".
    let mut certs = Certificate::all_from_pem(&data)
        .map_err(|e| wrap(PkiError::Decode(format!("error reading {}: {e}", path.display()))))?;
    let first = certs.remove(0);
    Ok((first, certs))
}

/// `pkiutil.TryLoadCertFromDisk`.
pub fn load_cert(dir: &Path, base: &str) -> Result<Certificate> {
    load_cert_chain(dir, base).map(|(c, _)| c)
}

/// `pkiutil.TryLoadKeyFromDisk`: an RSA or ECDSA private key from `<dir>/<base>.key`.
pub fn load_key(dir: &Path, base: &str) -> Result<PrivateKey> {
    load_key_file(&key_path(dir, base))
}

/// Loads an RSA or ECDSA private key from a PEM file.
pub fn load_key_file(path: &Path) -> Result<PrivateKey> {
    let wrap = |e: PkiError| PkiError::KeyFile { path: path.to_path_buf(), source: Box::new(e) };
    let data = read(path).map_err(wrap)?;
    match PrivateKey::from_pem(&data) {
        Ok(Some(k)) => Ok(k),
        Ok(None) => Err(PkiError::UnsupportedKeyType { path: path.to_path_buf() }),
        Err(e) => {
            Err(wrap(PkiError::Decode(format!("error reading private key file {}: {e}", path.display()))))
        }
    }
}

/// `pkiutil.TryLoadCertAndKeyFromDisk`.
pub fn load_cert_and_key(dir: &Path, base: &str) -> Result<CertAndKey> {
    let cert = load_cert(dir, base).map_err(|e| e.context("failed to load certificate"))?;
    let key = load_key(dir, base).map_err(|e| e.context("failed to load key"))?;
    Ok(CertAndKey { cert, key })
}

/// `certsphase.LoadCertificateAuthority`: the CA `<dir>/<base>.{crt,key}`, which must be a CA.
/// (Used for kubeconfig client certificates as well.)
pub fn load_ca(dir: &Path, base: &str) -> Result<CertAndKey> {
    if !cert_path(dir, base).exists() && !key_path(dir, base).exists() {
        return Err(PkiError::InvalidConfig(format!(
            "couldn't load {base} certificate authority from {}",
            dir.display()
        )));
    }
    let ca = load_cert_and_key(dir, base)
        .map_err(|e| e.context(format!("failure loading {base} certificate authority")))?;
    if !ca.cert.is_ca() {
        return Err(PkiError::NotCertificateAuthority { name: base.to_string() });
    }
    Ok(ca)
}

/// Issues a client certificate as kubeadm's kubeconfig phase does (`pkiutil.NewCertAndKey` with
/// ClientAuth): NotBefore = the CA's NotBefore, NotAfter = `not_after` (start time + validity).
pub fn issue_client_cert(
    ca: &CertAndKey,
    common_name: &str,
    organizations: &[String],
    algorithm: KeyAlgorithm,
    not_after: time::OffsetDateTime,
) -> Result<CertAndKey> {
    new_cert_and_key(ca, &client_cert_config(common_name, organizations, not_after), algorithm)
}

/// [`issue_client_cert`] with a key generated beforehand (e.g. in a parallel batch): the same
/// certificate, signed for `key` instead of a new one.
pub fn issue_client_cert_with_key(
    ca: &CertAndKey,
    common_name: &str,
    organizations: &[String],
    key: PrivateKey,
    not_after: time::OffsetDateTime,
) -> Result<CertAndKey> {
    let config = client_cert_config(common_name, organizations, not_after);
    let cert = cert::new_signed_cert(&config, &key.public_key(), ca, false)
        .map_err(|e| e.context("unable to sign certificate"))?;
    Ok(CertAndKey { cert, key })
}

fn client_cert_config(
    common_name: &str,
    organizations: &[String],
    not_after: time::OffsetDateTime,
) -> CertConfig {
    CertConfig {
        common_name: common_name.to_string(),
        organization: organizations.to_vec(),
        usages: vec![ExtKeyUsage::ClientAuth],
        not_after: Some(not_after),
        ..CertConfig::default()
    }
}

/// The join pin of a CA certificate: `sha256:<hex>` over its DER SubjectPublicKeyInfo.
pub fn ca_public_key_pin(ca: &Certificate) -> String {
    ca.public_key_pin()
}

/// Expiry information of one certificate (for `certs check-expiration`-style output).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpiryInfo {
    /// NotAfter.
    pub not_after: time::OffsetDateTime,
    /// Time left from `now` (negative when expired).
    pub residual: time::Duration,
    /// True when expired.
    pub expired: bool,
}

/// Expiry information of `cert` relative to `now`.
pub fn expiry_info(cert: &Certificate, now: time::OffsetDateTime) -> ExpiryInfo {
    let residual = cert.not_after() - now;
    ExpiryInfo { not_after: cert.not_after(), residual, expired: residual.is_negative() }
}
