//! The test bed's error type.

use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong while building, using or tearing down a bed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done (includes the path where there is one).
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A command ran but exited unsuccessfully.
    #[error("command `{command}` failed ({status}):\n{stderr}{stdout}")]
    Command {
        /// The command line, for humans.
        command: String,
        /// The exit status, for humans.
        status: String,
        /// Its standard error.
        stderr: String,
        /// Its standard output (prefixed with a header when not empty).
        stdout: String,
    },
    /// The pinned components could not be found or built.
    #[error(
        "test bed components unavailable: {0}\n(set KUBEADM_RS_BIN_DIR to a directory holding the \
         pinned binaries, or make scripts/build-components.sh work; set KUBEADM_RS_SKIP_BED=1 to \
         skip bed tests)"
    )]
    Components(String),
    /// A bed state file could not be read or written.
    #[error("bed state file {path}: {message}")]
    State {
        /// The state file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A static Pod manifest could not be parsed.
    #[error("static Pod manifest {path}: {message}")]
    Manifest {
        /// The manifest file (as seen from the host).
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// `wait_for` gave up.
    #[error("timed out after {timeout:?} waiting for {what}; last error: {last}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long we waited.
        timeout: Duration,
        /// The last error the probe reported.
        last: String,
    },
    /// The bed is in a state that does not allow the request.
    #[error("{0}")]
    Invalid(String),
}

impl Error {
    /// Wraps an I/O error with context.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io { context: context.into(), source }
    }
}

/// The bed's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
