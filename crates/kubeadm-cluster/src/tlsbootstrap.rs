//! The node's TLS bootstrap done by kubeadm-rs itself, as the kubelet does it
//! (`pkg/kubelet/certificate/bootstrap.requestNodeCertificate` with client-go's
//! `csr.RequestCertificate` and `csr.WaitForCertificate`):
//!
//! 1. an ECDSA P-256 key (`keyutil.LoadOrGenerateKeyFile`) and a PKCS#10 request for subject
//!    `O=system:nodes, CN=system:node:<node>` ([`kubeadm_pki::new_csr_pem`]);
//! 2. a `certificates.k8s.io/v1` CertificateSigningRequest named `node-csr-<digest>`
//!    ([`digested_name`]: the same key, subject and usages give the same name) for the signer
//!    `kubernetes.io/kube-apiserver-client-kubelet` with the usages `digital signature`,
//!    `client auth` (and `key encipherment` for RSA keys), created with the bootstrap-token
//!    client. If it already exists (an earlier run with the same key), it is reused when its
//!    request is compatible with ours (same subject and signer, signed by our key, certificate not
//!    expired), as client-go's `ensureCompatible` decides;
//! 3. polling until the CSR has the `Approved` condition (given by the controller-manager's
//!    csrapprover for bootstrap tokens bound to `nodeclient`) and `status.certificate` (issued by
//!    its csrsigning controller); `Denied` or `Failed` end the wait with the reason;
//! 4. checks of the issued certificate: our public key, CN `system:node:<node>`, client auth,
//!    currently valid.
//!
//! The caller writes the result as the kubelet would
//! ([`kubeadm_manifests::kubeletpki::kubelet_client_files`]). Private keys never appear in errors,
//! `Debug` output or progress lines.

use std::fmt;
use std::io::Write;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use k8s_openapi::ByteString;
use k8s_openapi::api::certificates::v1::{CertificateSigningRequest, CertificateSigningRequestSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Client;
use kube::api::{Api, PostParams};
use kubeadm_pki::{Certificate, CertificateRequest, ExtKeyUsage, KeyAlgorithm, PrivateKey, PublicKey};
use sha2::{Digest, Sha512_256};

use crate::error::{Result, is_already_exists};

/// `certificatesv1.KubeAPIServerClientKubeletSignerName`.
pub const KUBELET_CLIENT_SIGNER_NAME: &str = "kubernetes.io/kube-apiserver-client-kubelet";
/// `certificatesv1.UsageDigitalSignature`.
pub const USAGE_DIGITAL_SIGNATURE: &str = "digital signature";
/// `certificatesv1.UsageKeyEncipherment`.
pub const USAGE_KEY_ENCIPHERMENT: &str = "key encipherment";
/// `certificatesv1.UsageClientAuth`.
pub const USAGE_CLIENT_AUTH: &str = "client auth";
/// The organization of node client certificates.
pub const NODES_GROUP: &str = "system:nodes";
/// Prefix of a node's user name (`system:node:<node>`).
pub const NODE_USER_PREFIX: &str = "system:node:";
/// Longest pause between two reads of the CSR while waiting for its certificate.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// First pause between two reads of the CSR: the controller-manager usually approves and signs
/// within a few tens of milliseconds, so the wait starts short and doubles up to
/// [`POLL_INTERVAL`].
pub const FIRST_POLL_INTERVAL: Duration = Duration::from_millis(25);

/// Why the TLS bootstrap failed. Every variant names the CertificateSigningRequest when there is
/// one; none contains key material.
#[derive(Debug, thiserror::Error)]
pub enum TlsBootstrapError {
    /// Generating the key or the PKCS#10 request failed.
    #[error("unable to generate the node's {what}: {source}")]
    Generate {
        /// `private key` or `certificate request`.
        what: &'static str,
        /// The crypto error.
        #[source]
        source: kubeadm_pki::PkiError,
    },
    /// Creating the CSR failed (after retrying transient errors until the timeout).
    #[error("cannot create certificate signing request {name:?}")]
    Create {
        /// The CSR.
        name: String,
        /// kube-rs error (boxed: it is large).
        #[source]
        source: Box<kube::Error>,
    },
    /// The CSR exists but could not be read.
    #[error("cannot retrieve certificate signing request {name:?}")]
    Get {
        /// The CSR.
        name: String,
        /// kube-rs error (boxed: it is large).
        #[source]
        source: Box<kube::Error>,
    },
    /// A CSR of that name exists but does not fit our key and subject.
    #[error(
        "certificate signing request {name:?} already exists and is not compatible with this node's key: {reason} (delete it to request a new certificate)"
    )]
    Incompatible {
        /// The CSR.
        name: String,
        /// What differs.
        reason: String,
    },
    /// The CSR was denied.
    #[error("certificate signing request {name:?} was denied, reason: {reason}, message: {message}")]
    Denied {
        /// The CSR.
        name: String,
        /// The condition's reason.
        reason: String,
        /// The condition's message.
        message: String,
    },
    /// Signing failed.
    #[error("certificate signing request {name:?} failed, reason: {reason}, message: {message}")]
    Failed {
        /// The CSR.
        name: String,
        /// The condition's reason.
        reason: String,
        /// The condition's message.
        message: String,
    },
    /// The CSR disappeared while waiting.
    #[error("certificate signing request {name:?} was deleted while waiting for its certificate")]
    Deleted {
        /// The CSR.
        name: String,
    },
    /// The CSR was replaced by another object of the same name while waiting.
    #[error("certificate signing request {name:?} changed UIDs while waiting for its certificate")]
    UidChanged {
        /// The CSR.
        name: String,
    },
    /// The certificate did not arrive in time.
    #[error("timed out after {} waiting for certificate signing request {name:?} (signer {signer}): {}{}",
        kubeadm_api::duration::Duration::from_std(*timeout),
        if *approved {
            "it is approved but no certificate was issued; is the kube-controller-manager's csrsigning controller running with a cluster signing certificate and key?"
        } else {
            "it is not approved; is the kube-controller-manager's csrapprover controller running, and may the bootstrap token's group create certificatesigningrequests/nodeclient?"
        },
        last_error.as_ref().map(|e| format!(" (last API error: {e})")).unwrap_or_default()
    )]
    Timeout {
        /// The CSR.
        name: String,
        /// Its signer.
        signer: String,
        /// How long was waited.
        timeout: Duration,
        /// Whether the CSR was seen approved (then only the certificate is missing).
        approved: bool,
        /// The last error reading the CSR, if the last reads failed.
        last_error: Option<String>,
    },
    /// The issued certificate is unusable.
    #[error("the certificate issued for certificate signing request {name:?} is invalid: {reason}")]
    InvalidCertificate {
        /// The CSR.
        name: String,
        /// What is wrong.
        reason: String,
    },
}

/// The node's new client credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct NodeClientCert {
    /// The issued certificate chain (PEM, leaf first), as in the CSR's `status.certificate`.
    pub cert_pem: String,
    /// The private key (SEC1 `EC PRIVATE KEY` PEM). Secret.
    pub key_pem: String,
    /// The name of the CertificateSigningRequest.
    pub csr_name: String,
}

impl fmt::Debug for NodeClientCert {
    // The key is left out on purpose.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeClientCert")
            .field("csr_name", &self.csr_name)
            .field("cert_pem_len", &self.cert_pem.len())
            .finish_non_exhaustive()
    }
}

/// The usages the kubelet requests for `key`: digital signature and client auth, plus key
/// encipherment for RSA keys.
pub fn node_client_usages(key: &PrivateKey) -> Vec<&'static str> {
    let mut usages = vec![USAGE_DIGITAL_SIGNATURE, USAGE_CLIENT_AUTH];
    if key.is_rsa() {
        usages.push(USAGE_KEY_ENCIPHERMENT);
    }
    usages
}

/// The kubelet's CSR name (`digestedName`): `node-csr-` and the unpadded URL-safe base64 of the
/// SHA-512/256 over the URL-safe base64 of the PKIX public key, the CN, each O and each usage,
/// each followed by `|`.
pub fn digested_name(
    public_key: &PublicKey,
    common_name: &str,
    organizations: &[String],
    usages: &[&str],
) -> String {
    let mut hash = Sha512_256::new();
    let mut write = |data: &[u8]| {
        hash.update(URL_SAFE_NO_PAD.encode(data).as_bytes());
        hash.update(b"|");
    };
    write(&public_key.spki_der());
    write(common_name.as_bytes());
    for o in organizations {
        write(o.as_bytes());
    }
    for u in usages {
        write(u.as_bytes());
    }
    format!("node-csr-{}", URL_SAFE_NO_PAD.encode(hash.finalize()))
}

/// `system:node:<node_name>`.
pub fn node_user(node_name: &str) -> String {
    format!("{NODE_USER_PREFIX}{node_name}")
}

/// The CertificateSigningRequest the kubelet would create for `key` and `node_name`.
pub fn node_csr(key: &PrivateKey, node_name: &str) -> Result<CertificateSigningRequest, TlsBootstrapError> {
    let cn = node_user(node_name);
    let orgs = [NODES_GROUP.to_string()];
    let request = kubeadm_pki::new_csr_pem(key, &cn, &orgs)
        .map_err(|source| TlsBootstrapError::Generate { what: "certificate request", source })?;
    let usages = node_client_usages(key);
    Ok(CertificateSigningRequest {
        metadata: ObjectMeta {
            name: Some(digested_name(&key.public_key(), &cn, &orgs, &usages)),
            ..Default::default()
        },
        spec: CertificateSigningRequestSpec {
            request: ByteString(request.into_bytes()),
            signer_name: KUBELET_CLIENT_SIGNER_NAME.to_string(),
            usages: Some(usages.into_iter().map(str::to_string).collect()),
            ..Default::default()
        },
        status: None,
    })
}

/// What a CSR's status says (client-go's `WaitForCertificate` condition check): a `Denied` or
/// `Failed` condition wins, then `Approved` with a certificate means issued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CsrState {
    /// No decision yet.
    Pending,
    /// Approved; the signer has not issued the certificate yet.
    Approved,
    /// Approved and issued: the PEM certificate chain.
    Issued(Vec<u8>),
    /// Denied (reason, message).
    Denied(String, String),
    /// Failed (reason, message).
    Failed(String, String),
}

/// The state of `csr`.
pub fn csr_state(csr: &CertificateSigningRequest) -> CsrState {
    let Some(status) = &csr.status else { return CsrState::Pending };
    let mut approved = false;
    for c in status.conditions.iter().flatten() {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        match c.type_.as_str() {
            "Denied" => return CsrState::Denied(text(&c.reason), text(&c.message)),
            "Failed" => return CsrState::Failed(text(&c.reason), text(&c.message)),
            "Approved" => approved = true,
            _ => {}
        }
    }
    match &status.certificate {
        Some(cert) if approved && !cert.0.is_empty() => CsrState::Issued(cert.0.clone()),
        _ if approved => CsrState::Approved,
        _ => CsrState::Pending,
    }
}

/// client-go's `ensureCompatible`: an existing CSR may stand for ours when its request has our
/// subject, is signed by our key, its signer (if set) is ours, and a certificate it already has
/// is not expired.
pub fn ensure_compatible(
    existing: &CertificateSigningRequest,
    ours: &CertificateSigningRequest,
    key: &PrivateKey,
    now: time::OffsetDateTime,
) -> std::result::Result<(), String> {
    let theirs = CertificateRequest::from_pem(&existing.spec.request.0)
        .map_err(|e| format!("unable to parse its request: {e}"))?;
    let mine = CertificateRequest::from_pem(&ours.spec.request.0)
        .map_err(|e| format!("unable to parse our request: {e}"))?;
    if theirs.common_name() != mine.common_name() || theirs.organization() != mine.organization() {
        return Err(format!(
            "subjects differ: existing CN={:?} O={:?}, ours CN={:?} O={:?}",
            theirs.common_name(),
            theirs.organization(),
            mine.common_name(),
            mine.organization()
        ));
    }
    let (a, b) = (&existing.spec.signer_name, &ours.spec.signer_name);
    if !a.is_empty() && !b.is_empty() && a != b {
        return Err(format!("signer names differ: existing {a:?}, ours {b:?}"));
    }
    theirs
        .check_signature_with(&key.public_key())
        .map_err(|e| format!("its request is not signed by this node's key: {e}"))?;
    if let Some(cert) =
        existing.status.as_ref().and_then(|s| s.certificate.as_ref()).filter(|c| !c.0.is_empty())
    {
        let certs = Certificate::all_from_pem(&cert.0)
            .map_err(|e| format!("error parsing its signed certificate: {e}"))?;
        if let Some(expired) = certs.iter().find(|c| now > c.not_after()) {
            return Err(format!("one of its certificates has expired: {}", expired.not_after()));
        }
    }
    Ok(())
}

/// Checks the issued chain: the leaf certifies `key`'s public key for `system:node:<node_name>`,
/// allows client auth and is valid at `now`. Returns the leaf.
pub fn check_issued_certificate(
    cert_pem: &[u8],
    key: &PrivateKey,
    node_name: &str,
    now: time::OffsetDateTime,
) -> std::result::Result<Certificate, String> {
    let leaf = Certificate::all_from_pem(cert_pem)
        .map_err(|e| format!("unable to parse it: {e}"))?
        .into_iter()
        .next()
        .ok_or_else(|| "no certificate".to_string())?;
    if leaf.public_key() != Some(&key.public_key()) {
        return Err("it does not certify this node's public key".to_string());
    }
    let cn = node_user(node_name);
    if leaf.common_name() != cn {
        return Err(format!("its common name is {:?}, expected {cn:?}", leaf.common_name()));
    }
    if !leaf.ext_key_usages().contains(&ExtKeyUsage::ClientAuth) {
        return Err("it does not allow client authentication".to_string());
    }
    leaf.validate_period(now)?;
    Ok(leaf)
}

/// The kubelet's TLS bootstrap for `node_name` with the bootstrap-token `client`: a new ECDSA
/// P-256 key, the CSR, and waiting up to `timeout` for the certificate. See the module docs.
pub async fn request_node_client_certificate(
    client: &Client,
    node_name: &str,
    timeout: Duration,
    progress: &mut (dyn Write + Send),
) -> Result<NodeClientCert> {
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256)
        .map_err(|source| TlsBootstrapError::Generate { what: "private key", source })?;
    request_node_client_certificate_with_key(client, node_name, &key, timeout, progress).await
}

/// [`request_node_client_certificate`] with a given key (e.g. one kept from an earlier attempt,
/// as the kubelet keeps `kubelet-client.key.tmp`, so that a re-run finds its CSR again).
pub async fn request_node_client_certificate_with_key(
    client: &Client,
    node_name: &str,
    key: &PrivateKey,
    timeout: Duration,
    progress: &mut (dyn Write + Send),
) -> Result<NodeClientCert> {
    let deadline = tokio::time::Instant::now() + timeout;
    let csr = node_csr(key, node_name)?;
    let name = csr.metadata.name.clone().unwrap_or_default();
    let api: Api<CertificateSigningRequest> = Api::all(client.clone());
    writeln!(
        progress,
        "[kubelet-start] Requesting a client certificate for node {node_name:?} (CertificateSigningRequest {name:?})"
    )?;
    let (uid, reused) = create_or_reuse(&api, &csr, key, deadline).await?;
    if reused {
        writeln!(progress, "[kubelet-start] Reusing the existing CertificateSigningRequest {name:?}")?;
    }
    writeln!(
        progress,
        "[kubelet-start] Waiting for the certificate to be approved and issued by {KUBELET_CLIENT_SIGNER_NAME}. This can take up to {}",
        kubeadm_api::duration::Duration::from_std(timeout)
    )?;
    let cert = wait_for_certificate(&api, &name, uid.as_deref(), timeout, deadline).await?;
    let leaf = check_issued_certificate(&cert, key, node_name, time::OffsetDateTime::now_utc())
        .map_err(|reason| TlsBootstrapError::InvalidCertificate { name: name.clone(), reason })?;
    let cert_pem = String::from_utf8(cert).map_err(|_| TlsBootstrapError::InvalidCertificate {
        name: name.clone(),
        reason: "it is not PEM text".to_string(),
    })?;
    let key_pem =
        key.to_pem().map_err(|source| TlsBootstrapError::Generate { what: "private key", source })?;
    writeln!(
        progress,
        "[kubelet-start] Received the client certificate for {:?}, valid until {}",
        leaf.common_name(),
        leaf.not_after().date()
    )?;
    Ok(NodeClientCert { cert_pem, key_pem, csr_name: name })
}

/// Whether an API error is worth retrying: no answer from the server, or a 5xx / 429 answer.
fn is_transient(e: &kube::Error) -> bool {
    match e {
        kube::Error::Api(s) => s.code >= 500 || s.code == 429,
        _ => true,
    }
}

/// Creates the CSR, or reuses the existing one of the same name if it is compatible; transient
/// errors are retried until `deadline`. Returns the UID and whether the CSR already existed.
async fn create_or_reuse(
    api: &Api<CertificateSigningRequest>,
    csr: &CertificateSigningRequest,
    key: &PrivateKey,
    deadline: tokio::time::Instant,
) -> Result<(Option<String>, bool), TlsBootstrapError> {
    let name = csr.metadata.name.clone().unwrap_or_default();
    let retry = |e: &kube::Error| is_transient(e) && tokio::time::Instant::now() + POLL_INTERVAL < deadline;
    loop {
        match api.create(&PostParams::default(), csr).await {
            Ok(created) => return Ok((created.metadata.uid, false)),
            Err(e) if is_already_exists(&e) => break,
            Err(e) if retry(&e) => {
                tracing::debug!(csr = %name, error = %e, "creating the CSR failed, retrying");
                tokio::time::sleep(POLL_INTERVAL).await;
            }
            Err(e) => return Err(TlsBootstrapError::Create { name, source: Box::new(e) }),
        }
    }
    let existing = loop {
        match api.get(&name).await {
            Ok(existing) => break existing,
            Err(e) if retry(&e) => tokio::time::sleep(POLL_INTERVAL).await,
            Err(e) => return Err(TlsBootstrapError::Get { name, source: Box::new(e) }),
        }
    };
    ensure_compatible(&existing, csr, key, time::OffsetDateTime::now_utc())
        .map_err(|reason| TlsBootstrapError::Incompatible { name: name.clone(), reason })?;
    Ok((existing.metadata.uid, true))
}

/// Reads the CSR (after [`FIRST_POLL_INTERVAL`], doubling up to [`POLL_INTERVAL`]) until it is
/// issued, denied, failed or gone, or `deadline` passes. Read errors are retried (the last one is
/// reported on timeout).
async fn wait_for_certificate(
    api: &Api<CertificateSigningRequest>,
    name: &str,
    uid: Option<&str>,
    timeout: Duration,
    deadline: tokio::time::Instant,
) -> Result<Vec<u8>, TlsBootstrapError> {
    let mut approved = false;
    let mut pause = FIRST_POLL_INTERVAL;
    loop {
        let last_error = match api.get_opt(name).await {
            Ok(Some(csr)) => {
                if uid.is_some() && csr.metadata.uid.as_deref() != uid {
                    return Err(TlsBootstrapError::UidChanged { name: name.to_string() });
                }
                match csr_state(&csr) {
                    CsrState::Issued(cert) => return Ok(cert),
                    CsrState::Approved => {
                        if !approved {
                            tracing::debug!(csr = %name, "approved, waiting for the certificate to be issued");
                        }
                        approved = true;
                    }
                    CsrState::Pending => {}
                    CsrState::Denied(reason, message) => {
                        return Err(TlsBootstrapError::Denied { name: name.to_string(), reason, message });
                    }
                    CsrState::Failed(reason, message) => {
                        return Err(TlsBootstrapError::Failed { name: name.to_string(), reason, message });
                    }
                }
                None
            }
            Ok(None) => return Err(TlsBootstrapError::Deleted { name: name.to_string() }),
            Err(e) => Some(e.to_string()),
        };
        let next = tokio::time::Instant::now() + pause;
        pause = (pause * 2).min(POLL_INTERVAL);
        if next > deadline {
            return Err(TlsBootstrapError::Timeout {
                name: name.to_string(),
                signer: KUBELET_CLIENT_SIGNER_NAME.to_string(),
                timeout,
                approved,
                last_error,
            });
        }
        tokio::time::sleep_until(next).await;
    }
}

#[cfg(test)]
#[path = "tlsbootstrap_tests.rs"]
mod tests;
