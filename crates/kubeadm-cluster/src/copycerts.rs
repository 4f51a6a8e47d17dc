//! `upload-certs` / `download-certs` (upstream `phases/copycerts/copycerts.go` and
//! `util/crypto/crypto.go`): the control-plane CAs and service-account keys, AES-GCM encrypted
//! with the certificate key, in the `kube-system/kubeadm-certs` Secret, owned by a short-lived
//! (2h) bootstrap token's Secret so it is garbage-collected with it.
//!
//! Encryption is exactly upstream's: AES-GCM (key = the hex-decoded certificate key, 32 bytes
//! from `kubeadm certs certificate-key`), a random 12-byte nonce, no additional data, stored as
//! `nonce || ciphertext || tag`.
//!
//! The certificate key, the token and the decrypted data never appear in errors or logs.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use aws_lc_rs::aead::{AES_128_GCM, AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::Client;
use kube::api::Api;
use kubeadm_api::constants;
use kubeadm_api::v1beta4::{BootstrapToken, BootstrapTokenString, ClusterConfiguration};

use crate::apply;
use crate::bootstrap::NAMESPACE_SYSTEM;
use crate::client::ApiTimeouts;
use crate::error::{Error, Result, is_not_found};
use crate::joincmd::go_io_reason;
use crate::token;

/// `external-etcd-ca.crt`.
pub const EXTERNAL_ETCD_CA: &str = "external-etcd-ca.crt";
/// `external-etcd.crt`.
pub const EXTERNAL_ETCD_CERT: &str = "external-etcd.crt";
/// `external-etcd.key`.
pub const EXTERNAL_ETCD_KEY: &str = "external-etcd.key";
/// The description of the short-lived token that owns the kubeadm-certs Secret.
pub const CERTS_TOKEN_DESCRIPTION: &str = "Proxy for managing TTL for the kubeadm-certs secret";

fn random_bytes(n: usize) -> Result<Vec<u8>> {
    let mut b = vec![0u8; n];
    aws_lc_rs::rand::fill(&mut b).map_err(|_| Error::Crypto("unable to read random bytes".into()))?;
    Ok(b)
}

/// Upstream `CreateCertificateKey`: 32 random bytes, hex-encoded (64 characters).
pub fn create_certificate_key() -> Result<String> {
    Ok(hex::encode(random_bytes(constants::CERTIFICATE_KEY_SIZE)?))
}

/// Decodes a hex certificate key (the key is not echoed in the error).
pub fn decode_certificate_key(key: &str) -> Result<Vec<u8>> {
    hex::decode(key).map_err(|e| {
        let reason = match e {
            hex::FromHexError::OddLength => "encoding/hex: odd length hex string".to_string(),
            hex::FromHexError::InvalidHexCharacter { index, .. } => {
                format!("encoding/hex: invalid byte at offset {index}")
            }
            hex::FromHexError::InvalidStringLength => "encoding/hex: invalid length".to_string(),
        };
        Error::CertificateKey(format!("error decoding certificate key: {reason}"))
    })
}

fn gcm_key(key: &[u8]) -> Result<LessSafeKey> {
    let alg = match key.len() {
        16 => &AES_128_GCM,
        32 => &AES_256_GCM,
        n => return Err(Error::Crypto(format!("crypto/aes: invalid key size {n}"))),
    };
    let k = UnboundKey::new(alg, key)
        .map_err(|_| Error::Crypto(format!("crypto/aes: invalid key size {}", key.len())))?;
    Ok(LessSafeKey::new(k))
}

/// Upstream `EncryptBytes`: AES-GCM with a random nonce, returns `nonce || ciphertext || tag`.
pub fn encrypt_bytes(data: &[u8], key: &[u8]) -> Result<Vec<u8>> {
    let k = gcm_key(key)?;
    let nonce_bytes = random_bytes(NONCE_LEN)?;
    let mut nb = [0u8; NONCE_LEN];
    nb.copy_from_slice(&nonce_bytes);
    let mut in_out = data.to_vec();
    k.seal_in_place_append_tag(Nonce::assume_unique_for_key(nb), Aad::empty(), &mut in_out)
        .map_err(|_| Error::Crypto("cipher: encryption failed".into()))?;
    let mut out = nb.to_vec();
    out.extend_from_slice(&in_out);
    Ok(out)
}

/// Upstream `DecryptBytes`: the inverse of [`encrypt_bytes`].
pub fn decrypt_bytes(data: &[u8], key: &[u8]) -> Result<Vec<u8>> {
    let k = gcm_key(key)?;
    if data.len() < NONCE_LEN {
        return Err(Error::Crypto("size of data is less than the nonce".into()));
    }
    let (n, ct) = data.split_at(NONCE_LEN);
    let mut nb = [0u8; NONCE_LEN];
    nb.copy_from_slice(n);
    let mut in_out = ct.to_vec();
    let plain = k
        .open_in_place(Nonce::assume_unique_for_key(nb), Aad::empty(), &mut in_out)
        .map_err(|_| Error::Crypto("cipher: message authentication failed".into()))?;
    Ok(plain.to_vec())
}

/// Upstream `certOrKeyNameToSecretName`: `/` becomes `-` (`etcd/ca.crt` -> `etcd-ca.crt`).
pub fn cert_or_key_name_to_secret_name(name: &str) -> String {
    name.replace('/', "-")
}

/// Upstream `certsToTransfer`: name -> path of every file carried in the Secret (sorted by name).
pub fn certs_to_transfer(cert_dir: &Path, cluster: &ClusterConfiguration) -> BTreeMap<String, PathBuf> {
    let mut m = BTreeMap::new();
    for n in [
        constants::CA_CERT_NAME,
        constants::CA_KEY_NAME,
        constants::FRONT_PROXY_CA_CERT_NAME,
        constants::FRONT_PROXY_CA_KEY_NAME,
        constants::SERVICE_ACCOUNT_PUBLIC_KEY_NAME,
        constants::SERVICE_ACCOUNT_PRIVATE_KEY_NAME,
    ] {
        m.insert(n.to_string(), cert_dir.join(n));
    }
    match &cluster.etcd.external {
        None => {
            for n in [constants::ETCD_CA_CERT_NAME, constants::ETCD_CA_KEY_NAME] {
                m.insert(n.to_string(), cert_dir.join(n));
            }
        }
        Some(ext) => {
            m.insert(EXTERNAL_ETCD_CA.into(), PathBuf::from(&ext.ca_file));
            m.insert(EXTERNAL_ETCD_CERT.into(), PathBuf::from(&ext.cert_file));
            m.insert(EXTERNAL_ETCD_KEY.into(), PathBuf::from(&ext.key_file));
        }
    }
    m
}

/// Upstream `getDataFromDisk`: each file encrypted under its Secret key name; a missing file is
/// an empty entry.
pub fn secret_data_from_disk(
    cert_dir: &Path,
    cluster: &ClusterConfiguration,
    key: &[u8],
) -> Result<BTreeMap<String, ByteString>> {
    let mut data = BTreeMap::new();
    for (name, path) in certs_to_transfer(cert_dir, cluster) {
        let value = match std::fs::read(&path) {
            Ok(content) => encrypt_bytes(&content, key)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => {
                return Err(Error::CertFile {
                    message: format!("open {}: {}", path.display(), go_io_reason(&e)),
                    path,
                });
            }
        };
        data.insert(cert_or_key_name_to_secret_name(&name), ByteString(value));
    }
    Ok(data)
}

/// The `kube-system/kubeadm-certs` Secret, owned (controller reference) by `owner`.
pub fn kubeadm_certs_secret(data: BTreeMap<String, ByteString>, owner: Option<OwnerReference>) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(constants::KUBEADM_CERTS_SECRET.into()),
            namespace: Some(NAMESPACE_SYSTEM.into()),
            owner_references: owner.map(|o| vec![o]),
            ..Default::default()
        },
        data: Some(data),
        ..Default::default()
    }
}

/// `metav1.NewControllerRef(secret, v1/Secret)`.
pub fn controller_ref(secret: &Secret) -> OwnerReference {
    OwnerReference {
        api_version: "v1".into(),
        kind: "Secret".into(),
        name: secret.metadata.name.clone().unwrap_or_default(),
        uid: secret.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// Role and RoleBinding `kubeadm:kubeadm-certs`: bootstrap tokens of the default node group may
/// get the kubeadm-certs Secret.
pub fn kubeadm_certs_rbac() -> (Role, RoleBinding) {
    let name = constants::KUBEADM_CERTS_CLUSTER_ROLE_NAME;
    (
        crate::bootstrap::get_role(name, NAMESPACE_SYSTEM, "secrets", &[constants::KUBEADM_CERTS_SECRET]),
        crate::bootstrap::role_binding(
            name,
            NAMESPACE_SYSTEM,
            vec![crate::bootstrap::group_subject(constants::NODE_BOOTSTRAP_TOKEN_AUTH_GROUP)],
        ),
    )
}

const TOKEN_CHARS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// A random bootstrap token (`bootstraputil.GenerateBootstrapToken`).
fn generate_token() -> Result<BootstrapTokenString> {
    let mut s = String::with_capacity(23);
    while s.len() < 23 {
        for b in random_bytes(32)? {
            // 252 = 7 * 36: reject the rest so every character is equally likely.
            if b < 252 && s.len() < 23 {
                if s.len() == 6 {
                    s.push('.');
                }
                s.push(TOKEN_CHARS[usize::from(b % 36)] as char);
            }
        }
    }
    BootstrapTokenString::parse(&s).map_err(|_| Error::Crypto("error creating upload certs token".into()))
}

/// Upstream `createShortLivedBootstrapToken`: a 2h token without usages, returns its ID.
async fn create_short_lived_token(client: &Client, t: &ApiTimeouts) -> Result<String> {
    let tok = generate_token()?;
    let id = tok.id.clone();
    let bt = BootstrapToken {
        token: Some(tok),
        description: CERTS_TOKEN_DESCRIPTION.into(),
        ttl: Some(constants::DEFAULT_CERT_TOKEN_DURATION),
        expires: None,
        usages: Vec::new(),
        groups: Vec::new(),
    };
    token::create_new_tokens(client, &[bt], t).await.map_err(|e| e.context("error creating token"))?;
    Ok(id)
}

/// Upstream `UploadCerts`: prints `[upload-certs] Storing the certificates in Secret
/// "kubeadm-certs" in the "kube-system" Namespace`, creates the short-lived token, uploads the
/// encrypted files owned by the token's Secret, and creates the RBAC rules.
pub async fn upload_certs(
    client: &Client,
    cert_dir: &Path,
    cluster: &ClusterConfiguration,
    certificate_key: &str,
    t: &ApiTimeouts,
    out: &mut (dyn Write + Send),
) -> Result<()> {
    writeln!(
        out,
        "[upload-certs] Storing the certificates in Secret {:?} in the {:?} Namespace",
        constants::KUBEADM_CERTS_SECRET,
        NAMESPACE_SYSTEM
    )?;
    let key = decode_certificate_key(certificate_key)?;
    let token_id = create_short_lived_token(client, t).await?;
    let data = secret_data_from_disk(cert_dir, cluster, &key)?;
    let api: Api<Secret> = Api::namespaced(client.clone(), NAMESPACE_SYSTEM);
    let name = token::token_secret_name(&token_id);
    let owner = api.get(&name).await.map_err(|source| {
        Error::Api {
            verb: "get",
            kind: "Secret".into(),
            target: format!("\"{NAMESPACE_SYSTEM}/{name}\""),
            source: Box::new(source),
        }
        .context("error to get token reference")
    })?;
    let secret = kubeadm_certs_secret(data, Some(controller_ref(&owner)));
    apply::apply_secret(client, &secret, t).await?;
    let (role, binding) = kubeadm_certs_rbac();
    apply::apply_role(client, &role, t).await?;
    apply::apply_role_binding(client, &binding, t).await
}

/// Upstream `getDataFromSecret`: every non-empty entry decrypted.
pub fn data_from_secret(secret: &Secret, key: &[u8]) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut m = BTreeMap::new();
    for (k, v) in secret.data.iter().flatten() {
        let plain = if v.0.is_empty() { Vec::new() } else { decrypt_bytes(&v.0, key)? };
        m.insert(k.clone(), plain);
    }
    Ok(m)
}

/// What a downloaded entry is: a private key (written 0600) or a certificate / public key (0644).
fn classify_pem(data: &[u8]) -> Option<u32> {
    let blocks = kubeadm_pki::pem_decode_all(data);
    let has = |tags: &[&str]| blocks.iter().any(|(t, _)| tags.contains(&t.as_str()));
    if has(&["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY"]) {
        Some(0o600)
    } else if has(&["PUBLIC KEY", "RSA PUBLIC KEY", "CERTIFICATE"]) {
        Some(0o644)
    } else {
        None
    }
}

fn write_cert_or_key(path: &Path, data: &[u8]) -> Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mode =
        classify_pem(data).ok_or_else(|| Error::KubeadmCerts("unknown data found in Secret entry".into()))?;
    let io = |e: std::io::Error, p: &Path| Error::CertFile {
        message: format!("open {}: {}", p.display(), go_io_reason(&e)),
        path: p.to_path_buf(),
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io(e, dir))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .map_err(|e| io(e, path))?;
    f.write_all(data).map_err(|e| io(e, path))?;
    // Go's os.WriteFile keeps the mode of an existing file; a key must never stay world-readable.
    if mode == 0o600 {
        f.set_permissions(std::fs::Permissions::from_mode(mode)).map_err(|e| io(e, path))?;
    }
    Ok(())
}

/// Upstream `DownloadCerts`: fetches `kube-system/kubeadm-certs`, decrypts it with the
/// certificate key and writes the files to `cert_dir` (or the external etcd paths).
pub async fn download_certs(
    client: &Client,
    cert_dir: &Path,
    cluster: &ClusterConfiguration,
    certificate_key: &str,
    out: &mut (dyn Write + Send),
) -> Result<()> {
    writeln!(
        out,
        "[download-certs] Downloading the certificates in Secret {:?} in the {:?} Namespace",
        constants::KUBEADM_CERTS_SECRET,
        NAMESPACE_SYSTEM
    )?;
    let key = decode_certificate_key(certificate_key)?;
    let api: Api<Secret> = Api::namespaced(client.clone(), NAMESPACE_SYSTEM);
    let secret = api.get(constants::KUBEADM_CERTS_SECRET).await.map_err(|source| {
        if is_not_found(&source) {
            Error::KubeadmCerts(format!(
                "Secret {:?} was not found in the {:?} Namespace. This Secret might have expired. Please, run `kubeadm init phase upload-certs --upload-certs` on a control plane to generate a new one",
                constants::KUBEADM_CERTS_SECRET, NAMESPACE_SYSTEM
            ))
            .context("error downloading the secret")
        } else {
            Error::Api {
                verb: "get",
                kind: "Secret".into(),
                target: format!("\"{NAMESPACE_SYSTEM}/{}\"", constants::KUBEADM_CERTS_SECRET),
                source: Box::new(source),
            }
            .context("error downloading the secret")
        }
    })?;
    let data = data_from_secret(&secret, &key)
        .map_err(|e| e.context("error decoding secret data with provided key"))?;
    writeln!(
        out,
        "[download-certs] Saving the certificates to the folder: {:?}",
        cert_dir.display().to_string()
    )?;
    for (name, path) in certs_to_transfer(cert_dir, cluster) {
        let Some(content) = data.get(&cert_or_key_name_to_secret_name(&name)) else {
            return Err(Error::KubeadmCerts(format!(
                "the Secret does not include the required certificate or key - name: {name}, path: {}",
                path.display()
            )));
        };
        if content.is_empty() {
            tracing::debug!(
                "[download-certs] Not saving {name:?} to disk, since it is empty in the {:?} Secret",
                constants::KUBEADM_CERTS_SECRET
            );
            continue;
        }
        write_cert_or_key(&path, content)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Produced by Go's `crypto/aes` + `crypto/cipher` `NewGCM(...).Seal(nonce, nonce, data, nil)`
    /// (upstream `cryptoutil.EncryptBytes`), key below, plaintext "kubeadm-rs copycerts vector\n".
    const GO_KEY: &str = "93b30defbb2313c6a296afaee72472acaef6d9a136f5c13399747bbf4c594f69";
    const GO_CIPHERTEXT: &str = "d6c3359774054a8ea0380bbbe5b82e83909dd1c839445b20b0723f3134d302e92479af9914b488fa33972b4c84595f342e7b6e937ce83c67";

    #[test]
    fn round_trip() {
        let key = decode_certificate_key(&create_certificate_key().unwrap()).unwrap();
        assert_eq!(key.len(), 32);
        let ct = encrypt_bytes(b"hello certs", &key).unwrap();
        assert_eq!(ct.len(), 12 + 11 + 16);
        assert_eq!(decrypt_bytes(&ct, &key).unwrap(), b"hello certs");
        let mut bad = ct.clone();
        bad[20] ^= 1;
        assert_eq!(
            decrypt_bytes(&bad, &key).unwrap_err().to_string(),
            "cipher: message authentication failed"
        );
        assert_eq!(
            decrypt_bytes(&ct[..5], &key).unwrap_err().to_string(),
            "size of data is less than the nonce"
        );
        assert!(decrypt_bytes(&ct, &key[..5]).unwrap_err().to_string().contains("invalid key size 5"));
    }

    #[test]
    fn decrypts_upstream_vector() {
        let key = decode_certificate_key(GO_KEY).unwrap();
        let ct = hex::decode(GO_CIPHERTEXT).unwrap();
        assert_eq!(decrypt_bytes(&ct, &key).unwrap(), b"kubeadm-rs copycerts vector\n");
    }

    #[test]
    fn bad_key_is_not_echoed() {
        let e = decode_certificate_key("zz0011").unwrap_err().to_string();
        assert!(!e.contains("zz"), "{e}");
    }

    #[test]
    fn transfer_list_and_names() {
        let c = kubeadm_api::load::default_cluster_configuration();
        let m = certs_to_transfer(Path::new("/p"), &c);
        let names: Vec<String> = m.keys().map(|k| cert_or_key_name_to_secret_name(k)).collect();
        assert_eq!(
            names,
            [
                "ca.crt",
                "ca.key",
                "etcd-ca.crt",
                "etcd-ca.key",
                "front-proxy-ca.crt",
                "front-proxy-ca.key",
                "sa.key",
                "sa.pub"
            ]
        );
        assert_eq!(m["etcd/ca.key"], PathBuf::from("/p/etcd/ca.key"));
        let (role, rb) = kubeadm_certs_rbac();
        assert_eq!(role.metadata.name.as_deref(), Some("kubeadm:kubeadm-certs"));
        assert_eq!(rb.subjects.unwrap()[0].name, "system:bootstrappers:kubeadm:default-node-token");
    }

    #[test]
    fn token_for_certs_is_valid() {
        let t = generate_token().unwrap();
        assert_eq!(t.id.len(), 6);
    }

    #[test]
    fn download_writes_keys_private() {
        let dir = std::env::temp_dir().join(format!("kubeadm-rs-copycerts-{}", std::process::id()));
        let p = dir.join("etcd/ca.key");
        write_cert_or_key(&p, b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(write_cert_or_key(&dir.join("x"), b"junk").is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
