//! Errors of the PKI crate. `Display` follows upstream kubeadm's wording (Go error chains joined
//! with ": ") so the CLI can print them as kubeadm would. Private key material never appears here.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while generating, loading or verifying PKI assets.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// Reading a file failed.
    #[error("open {}: {}", path.display(), go_io_error(source))]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A certificate file exists but does not hold a usable certificate.
    #[error("couldn't load the certificate file {}: {source}", path.display())]
    CertFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: Box<PkiError>,
    },
    /// A key file is missing or does not hold a usable private key.
    #[error("couldn't load the private key file {}: {source}", path.display())]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it (never the key itself).
        #[source]
        source: Box<PkiError>,
    },
    /// A public key file is missing or does not hold a usable public key.
    #[error("couldn't load the public key file {}: {source}", path.display())]
    PublicKeyFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: Box<PkiError>,
    },
    /// The private key is neither RSA nor ECDSA (e.g. Ed25519).
    #[error("the private key file {} is neither in RSA nor ECDSA format", path.display())]
    UnsupportedKeyType {
        /// The file.
        path: PathBuf,
    },
    /// The sa.key / sa.pub pair has different key types.
    #[error("the private key file {} is in {kind} format but the public key file {} is not in {kind} format", key_path.display(), pub_path.display())]
    KeyTypeMismatch {
        /// "RSA" or "ECDSA".
        kind: &'static str,
        /// The private key file.
        key_path: PathBuf,
        /// The public key file.
        pub_path: PathBuf,
    },
    /// Decoding PEM or DER data (not from a named file) failed.
    #[error("{0}")]
    Decode(String),
    /// A certificate that must be a CA is not one (`certificate <name> is not a CA`).
    #[error("certificate {name} is not a CA")]
    NotCa {
        /// kubeadm's name or base name of the certificate.
        name: String,
    },
    /// `LoadCertificateAuthority`'s wording of [`PkiError::NotCa`].
    #[error("{name} certificate is not a certificate authority")]
    NotCertificateAuthority {
        /// Base name of the certificate.
        name: String,
    },
    /// A certificate does not chain to the expected CA.
    #[error("certificate {name} is not signed by corresponding CA{}", reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default())]
    NotSignedByCa {
        /// The certificate.
        name: String,
        /// The verification error, when upstream prints it.
        reason: Option<String>,
    },
    /// `init phase certs <leaf>` found a certificate on disk that is not signed by its CA.
    #[error("[certs] certificate {name} not signed by CA certificate {ca}: {reason}")]
    PhaseNotSignedByCa {
        /// Base name of the certificate.
        name: String,
        /// Base name of the CA.
        ca: String,
        /// The verification error.
        reason: String,
    },
    /// An existing certificate lacks a SAN the configuration requires.
    #[error("certificate {name} is invalid: {reason}")]
    InvalidCertificate {
        /// Base name of the certificate.
        name: String,
        /// Go's hostname-verification wording.
        reason: String,
    },
    /// The CA private key does not belong to the CA certificate.
    #[error("x509: provided PrivateKey doesn't match parent's PublicKey")]
    CaKeyMismatch,
    /// A configuration value cannot be used (advertise address, service subnet, endpoint, ...).
    #[error("{0}")]
    InvalidConfig(String),
    /// Key generation or signing failed inside the crypto library.
    #[error("{0}")]
    Crypto(String),
    /// Upstream-style context wrapping: `"<context>: <source>"`.
    #[error("{context}: {source}")]
    Context {
        /// What was being done.
        context: String,
        /// What went wrong.
        #[source]
        source: Box<PkiError>,
    },
}

impl PkiError {
    /// Wraps `self` with upstream-style context (`errors.Wrap`).
    pub fn context(self, context: impl Into<String>) -> Self {
        PkiError::Context { context: context.into(), source: Box::new(self) }
    }

    /// True when the root cause is a missing file.
    pub fn is_not_found(&self) -> bool {
        match self {
            PkiError::Io { source, .. } => source.kind() == io::ErrorKind::NotFound,
            PkiError::Context { source, .. }
            | PkiError::CertFile { source, .. }
            | PkiError::KeyFile { source, .. }
            | PkiError::PublicKeyFile { source, .. } => source.is_not_found(),
            _ => false,
        }
    }
}

/// Go's spelling of common OS errors (`no such file or directory`).
fn go_io_error(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file or directory".to_string(),
        io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        io::ErrorKind::IsADirectory => "is a directory".to_string(),
        _ => e.to_string(),
    }
}

/// Result alias of this crate.
pub type Result<T, E = PkiError> = std::result::Result<T, E>;
