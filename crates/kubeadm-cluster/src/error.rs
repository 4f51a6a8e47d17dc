//! The crate's error type: every variant names what was being done (phase step, object kind,
//! namespace/name, file). Token secrets are never part of an error.

use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors of the API-server work.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A kubeconfig file could not be read or parsed.
    #[error("failed to load kubeconfig {path:?}: {message}")]
    Kubeconfig {
        /// File path.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A kubeconfig is structurally unusable (no current context, cluster, ...).
    #[error("invalid kubeconfig: {0}")]
    InvalidKubeconfig(String),
    /// Building a client from a kubeconfig failed.
    #[error("failed to create API client configuration from kubeconfig ({what})")]
    ClientConfig {
        /// Which kubeconfig.
        what: String,
        /// kube-rs error (boxed: it is large).
        #[source]
        source: Box<kube::Error>,
    },
    /// Building a client from a kubeconfig failed while parsing it with kube-rs.
    #[error("failed to create API client configuration from kubeconfig ({what})")]
    ClientKubeconfig {
        /// Which kubeconfig.
        what: String,
        /// kube-rs error (boxed: it is large).
        #[source]
        source: Box<kube::config::KubeconfigError>,
    },
    /// An API call failed (after retries, where upstream retries).
    #[error("unable to {verb} {kind} {target}")]
    Api {
        /// `create`, `update`, `get`, `list`, `patch`, `delete`.
        verb: &'static str,
        /// Object kind (`Secret`, `ClusterRoleBinding`, ...).
        kind: String,
        /// `namespace/name` or `name` (cluster-scoped), quoted.
        target: String,
        /// kube-rs error (boxed: it is large).
        #[source]
        source: Box<kube::Error>,
    },
    /// A retry loop ran out of time before its first attempt could finish (no API error seen).
    #[error("timed out after {timeout:?} waiting to {what}")]
    Timeout {
        /// What was being waited for.
        what: String,
        /// The timeout.
        timeout: std::time::Duration,
    },
    /// `token create` for an ID that already exists.
    #[error("a token with id {0:?} already exists")]
    TokenExists(String),
    /// A bootstrap token entry has no token (none generated yet).
    #[error("bootstrap token #{0} has no token value")]
    MissingToken(usize),
    /// A token string or ID did not match the expected pattern.
    #[error("given token didn't match pattern \"[a-z0-9]{{6}}.[a-z0-9]{{16}}\" or \"[a-z0-9]{{6}}\"")]
    InvalidTokenArgument,
    /// A bootstrap token Secret could not be turned back into a token (`token list`).
    #[error("{0}")]
    InvalidTokenSecret(String),
    /// A time value (token expiration) could not be parsed or formatted.
    #[error("invalid time {value:?} for {field}: {message}")]
    Time {
        /// Field.
        field: String,
        /// The value.
        value: String,
        /// Parser message.
        message: String,
    },
    /// Serialization of an object for upload failed.
    #[error("failed to marshal {what}: {message}")]
    Marshal {
        /// What.
        what: String,
        /// Message.
        message: String,
    },
    /// The node to mark never appeared (or never got its hostname label).
    #[error(
        "timed out after {timeout:?} waiting for Node {node:?} to exist with label kubernetes.io/hostname"
    )]
    NodeNotReady {
        /// Node name.
        node: String,
        /// The timeout.
        timeout: std::time::Duration,
    },
    /// The ClusterRoleBinding for admin.conf is missing and there is no super-admin.conf.
    #[error("the ClusterRoleBinding for the {group} Group is missing but there is no {file} to create it")]
    NoSuperAdmin {
        /// `kubeadm:cluster-admins`.
        group: String,
        /// `super-admin.conf`.
        file: String,
    },
    /// A join command could not be built from a kubeconfig (no CA, unparsable CA, no cluster).
    #[error("{0}")]
    JoinCommand(String),
    /// A certificate key is malformed (the key itself is never part of the message).
    #[error("{0}")]
    CertificateKey(String),
    /// Encryption or decryption of the kubeadm-certs data failed (Go's `crypto/cipher` messages).
    #[error("{0}")]
    Crypto(String),
    /// A certificate or key file could not be read or written.
    #[error("{message}")]
    CertFile {
        /// File path.
        path: PathBuf,
        /// Go-style message (`open <path>: no such file or directory`).
        message: String,
    },
    /// The kubeadm-certs Secret is missing or incomplete.
    #[error("{0}")]
    KubeadmCerts(String),
    /// An error wrapped with upstream's context message (e.g. `failed to delete bootstrap token "abcdef"`).
    #[error("{context}")]
    Context {
        /// The context message.
        context: String,
        /// The underlying error.
        #[source]
        source: Box<Error>,
    },
    /// The cluster's stored configuration (`kubeadm-config`, `kubelet-config`) is missing or invalid.
    #[error("{0}")]
    ClusterConfig(String),
    /// `kubeadm join` discovery failed (upstream's message).
    #[error(transparent)]
    Discovery(#[from] crate::discovery::DiscoveryError),
    /// The node's TLS bootstrap (its client certificate request) failed.
    #[error(transparent)]
    TlsBootstrap(#[from] crate::tlsbootstrap::TlsBootstrapError),
    /// An etcd operation failed.
    #[error(transparent)]
    Etcd(#[from] crate::etcd::EtcdError),
    /// Writing console output failed.
    #[error("failed to write output")]
    Output(#[from] std::io::Error),
    /// The tokio runtime could not be built.
    #[error("failed to start the async runtime")]
    Runtime {
        /// I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// Wraps `self` with a context message (upstream `errors.Wrap`).
    pub fn context(self, context: impl Into<String>) -> Error {
        Error::Context { context: context.into(), source: Box::new(self) }
    }

    /// The API status code, when this is an API error answered by the server.
    pub fn status_code(&self) -> Option<u16> {
        match self {
            Error::Api { source, .. } => match source.as_ref() {
                kube::Error::Api(s) => Some(s.code),
                _ => None,
            },
            Error::Context { source, .. } => source.status_code(),
            _ => None,
        }
    }
}

/// Whether a kube error is the server's `AlreadyExists` (409 + reason AlreadyExists).
pub fn is_already_exists(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.reason == "AlreadyExists" || (s.code == 409 && s.reason.is_empty()))
}

/// Whether a kube error is the server's `NotFound` (404).
pub fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404 || s.reason == "NotFound")
}

/// Whether a kube error is the server's `Forbidden` (403).
pub fn is_forbidden(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 403 || s.reason == "Forbidden")
}

/// Whether a kube error is a `Conflict` (409, not AlreadyExists).
pub fn is_conflict(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.reason == "Conflict")
}
