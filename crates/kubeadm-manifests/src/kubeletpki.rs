//! The kubelet's client credentials after a TLS bootstrap, as the kubelet writes them
//! (`pkg/kubelet/certificate/bootstrap.LoadClientCert` with client-go's
//! `util/certificate` file store, prefix `kubelet-client`, directory `/var/lib/kubelet/pki`):
//!
//! 1. `kubelet-client-<YYYY-MM-DD-hh-mm-ss>.pem` (mode 0600): every certificate of the issued
//!    chain re-encoded as a `CERTIFICATE` block, then the private key block (`fileStore.Update`);
//! 2. the symbolic link `kubelet-client-current.pem` pointing to it by absolute path, replaced
//!    atomically (`fileStore.updateSymlink`);
//! 3. `/etc/kubernetes/kubelet.conf` (mode 0600) referring to the link for both the client
//!    certificate and key ([`crate::kubeconfig::kubelet_conf_from_bootstrap`]).
//!
//! The kubelet later rotates the certificate in the same store. Write the files in this order.

use kubeadm_api::{OutFile, OutSymlink, constants};
use time::OffsetDateTime;

use crate::kubeconfig::{self, Config, KubeconfigError};
use crate::paths::join;

/// The store's file name prefix (`certificate.NewFileStore("kubelet-client", ...)`).
pub const KUBELET_CLIENT_PAIR_PREFIX: &str = "kubelet-client";
/// Qualifier of the link to the current pair (`kubelet-client-current.pem`).
pub const CURRENT_QUALIFIER: &str = "current";
/// Mode of the certificate+key file (`os.OpenFile(..., 0600)`).
pub const KUBELET_CLIENT_FILE_MODE: u32 = 0o600;

/// Where the kubelet keeps its private key until its CSR succeeds (`tmpPrivateKeyFile`), so that
/// a retry reuses the key and finds its CSR (same name) again. Removed after success.
pub const TMP_PRIVATE_KEY_FILE: &str = "kubelet-client.key.tmp";

/// `<pki_dir>/kubelet-client.key.tmp` with `key_pem` (secret, 0600 as `keyutil.WriteKey`).
pub fn tmp_private_key_file(pki_dir: &str, key_pem: &[u8]) -> OutFile {
    OutFile::secret(join(pki_dir, TMP_PRIVATE_KEY_FILE), key_pem.to_vec(), KUBELET_CLIENT_FILE_MODE)
}

/// Errors assembling the kubelet's client credentials. Never contains key material.
#[derive(Debug, thiserror::Error)]
pub enum KubeletPkiError {
    /// The issued certificate data holds no parsable certificate (`certutil.ParseCertsPEM`).
    #[error("invalid certificate data: {0}")]
    InvalidCertificate(String),
    /// The private key data holds no PEM block.
    #[error("invalid key data")]
    InvalidKey,
    /// The kubeconfig could not be built or serialized.
    #[error(transparent)]
    Kubeconfig(#[from] KubeconfigError),
}

/// The store's timestamp of `t`, in `t`'s offset (Go formats `time.Now()` in local time with the
/// layout `2006-01-02-15-04-05`).
pub fn store_timestamp(t: OffsetDateTime) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day]-[hour]-[minute]-[second]");
    // The description has no fallible parts (no offset, no subsecond); formatting into a String
    // cannot fail for a valid OffsetDateTime.
    t.format(fmt).unwrap_or_default()
}

/// `<pki_dir>/kubelet-client-<timestamp>.pem`.
pub fn kubelet_client_pem_path(pki_dir: &str, t: OffsetDateTime) -> String {
    join(pki_dir, &format!("{KUBELET_CLIENT_PAIR_PREFIX}-{}.pem", store_timestamp(t)))
}

/// `<pki_dir>/kubelet-client-current.pem` (`fileStore.CurrentPath`).
pub fn kubelet_client_current_path(pki_dir: &str) -> String {
    join(pki_dir, &format!("{KUBELET_CLIENT_PAIR_PREFIX}-{CURRENT_QUALIFIER}.pem"))
}

/// The contents of the pair file: each certificate of `cert_pem` (leaf first, then intermediates)
/// re-encoded as a `CERTIFICATE` block, then the first PEM block of `key_pem` re-encoded.
pub fn kubelet_client_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<Vec<u8>, KubeletPkiError> {
    let certs = kubeadm_pki::Certificate::all_from_pem(cert_pem)
        .map_err(|e| KubeletPkiError::InvalidCertificate(e.to_string()))?;
    let (key_tag, key_der) =
        kubeadm_pki::pem_decode_all(key_pem).into_iter().next().ok_or(KubeletPkiError::InvalidKey)?;
    let mut out = String::new();
    for c in &certs {
        out.push_str(&c.to_pem());
    }
    out.push_str(&kubeadm_pki::pem_encode(&key_tag, &key_der));
    Ok(out.into_bytes())
}

/// What the kubelet's TLS bootstrap leaves on disk, in write order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KubeletClientFiles {
    /// `/var/lib/kubelet/pki/kubelet-client-<timestamp>.pem`, secret, 0600.
    pub pair: OutFile,
    /// `/var/lib/kubelet/pki/kubelet-client-current.pem` -> the pair file.
    pub current: OutSymlink,
    /// `/etc/kubernetes/kubelet.conf`, secret, 0600.
    pub kubeconfig: OutFile,
}

/// The kubelet's credentials for the issued `cert_pem` and its `key_pem`, stored at time `now`
/// (pass local time, as the kubelet names its files; UTC where the local offset is unknown) in
/// `pki_dir` (default [`constants::KUBELET_PKI_DIR`]), and the kubeconfig at `kubeconfig_path`
/// (default [`constants::KUBELET_KUBECONFIG_PATH`]) built from the bootstrap kubeconfig.
pub fn kubelet_client_files(
    pki_dir: &str,
    kubeconfig_path: &str,
    bootstrap: &Config,
    cert_pem: &[u8],
    key_pem: &[u8],
    now: OffsetDateTime,
) -> Result<KubeletClientFiles, KubeletPkiError> {
    let pair_path = kubelet_client_pem_path(pki_dir, now);
    let current_path = kubelet_client_current_path(pki_dir);
    let pair = OutFile::secret(&pair_path, kubelet_client_pem(cert_pem, key_pem)?, KUBELET_CLIENT_FILE_MODE);
    let conf = kubeconfig::kubelet_conf_from_bootstrap(bootstrap, &current_path)?;
    let kubeconfig = OutFile::secret(kubeconfig_path, conf.to_yaml()?, kubeconfig::KUBECONFIG_FILE_MODE);
    Ok(KubeletClientFiles { pair, current: OutSymlink::new(current_path, pair_path), kubeconfig })
}

/// [`kubelet_client_files`] with the default locations.
pub fn default_kubelet_client_files(
    bootstrap: &Config,
    cert_pem: &[u8],
    key_pem: &[u8],
    now: OffsetDateTime,
) -> Result<KubeletClientFiles, KubeletPkiError> {
    kubelet_client_files(
        constants::KUBELET_PKI_DIR,
        constants::KUBELET_KUBECONFIG_PATH,
        bootstrap,
        cert_pem,
        key_pem,
        now,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubeadm_pki::{CertConfig, ExtKeyUsage, KeyAlgorithm, PrivateKey};
    use std::path::Path;

    fn issued() -> (String, String, String) {
        let ca = kubeadm_pki::new_certificate_authority(
            &CertConfig { common_name: "kubernetes".into(), ..Default::default() },
            KeyAlgorithm::EcdsaP256,
        )
        .unwrap();
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let cfg = CertConfig {
            common_name: "system:node:worker-1".into(),
            organization: vec!["system:nodes".into()],
            usages: vec![ExtKeyUsage::ClientAuth],
            ..Default::default()
        };
        let cert = kubeadm_pki::new_signed_cert(&cfg, &key.public_key(), &ca, false).unwrap();
        (cert.to_pem(), key.to_pem().unwrap(), ca.cert.to_pem())
    }

    #[test]
    fn names_like_the_certificate_store() {
        let t = time::macros::datetime!(2026-03-04 05:06:07.89 +01:00);
        assert_eq!(store_timestamp(t), "2026-03-04-05-06-07");
        assert_eq!(
            kubelet_client_pem_path("/var/lib/kubelet/pki", t),
            "/var/lib/kubelet/pki/kubelet-client-2026-03-04-05-06-07.pem"
        );
        assert_eq!(
            kubelet_client_current_path("/var/lib/kubelet/pki/"),
            "/var/lib/kubelet/pki/kubelet-client-current.pem"
        );
    }

    #[test]
    fn files_modes_and_contents() {
        let (cert, key, ca) = issued();
        let bootstrap = kubeconfig::create_with_token(
            "https://10.0.0.1:6443",
            "kubernetes",
            "tls-bootstrap-token-user",
            ca.as_bytes(),
            "abcdef.0123456789abcdef",
        );
        let t = time::macros::datetime!(2026-01-02 03:04:05 UTC);
        // The issued chain may carry an intermediate; both are kept, leaf first.
        let chain = format!("{cert}{ca}");
        let f = default_kubelet_client_files(&bootstrap, chain.as_bytes(), key.as_bytes(), t).unwrap();
        assert_eq!(f.pair.path, Path::new("/var/lib/kubelet/pki/kubelet-client-2026-01-02-03-04-05.pem"));
        assert_eq!((f.pair.mode, f.pair.secret), (0o600, true));
        assert_eq!(String::from_utf8(f.pair.data.clone()).unwrap(), format!("{cert}{ca}{key}"));
        assert_eq!(f.current.path, Path::new("/var/lib/kubelet/pki/kubelet-client-current.pem"));
        assert_eq!(f.current.target, f.pair.path);
        assert_eq!(f.kubeconfig.path, Path::new("/etc/kubernetes/kubelet.conf"));
        assert_eq!((f.kubeconfig.mode, f.kubeconfig.secret), (0o600, true));
        let conf = Config::parse(&f.kubeconfig.data).unwrap();
        let user = conf.current_user().unwrap();
        assert_eq!(user.client_certificate, "/var/lib/kubelet/pki/kubelet-client-current.pem");
        assert_eq!(user.client_key, user.client_certificate);
        assert!(user.token.is_empty());
        let (name, cluster) = conf.current_cluster().unwrap();
        assert_eq!(name, "default-cluster");
        assert_eq!(cluster.certificate_authority_data.as_deref(), Some(ca.as_bytes()));
        // Debug never shows the key.
        assert!(!format!("{f:?}").contains("PRIVATE"));
    }

    #[test]
    fn tmp_key_file() {
        let f = tmp_private_key_file("/var/lib/kubelet/pki", b"K");
        assert_eq!(f.path, Path::new("/var/lib/kubelet/pki/kubelet-client.key.tmp"));
        assert_eq!((f.mode, f.secret, f.data.as_slice()), (0o600, true, &b"K"[..]));
    }

    #[test]
    fn bad_inputs() {
        let (cert, key, _) = issued();
        let e = kubelet_client_pem(key.as_bytes(), key.as_bytes()).unwrap_err();
        assert!(matches!(e, KubeletPkiError::InvalidCertificate(_)), "{e}");
        assert!(!e.to_string().contains("PRIVATE"));
        let e = kubelet_client_pem(cert.as_bytes(), b"no pem").unwrap_err();
        assert_eq!(e.to_string(), "invalid key data");
    }
}
