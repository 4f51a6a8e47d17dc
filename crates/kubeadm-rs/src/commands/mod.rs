//! One module per top-level command (`commands/<name>.rs`), plus the clap glue of the workflow
//! commands.

pub mod certs;
pub mod completion;
pub mod config;
pub mod init;
pub mod join;
pub mod kubeconfig;
pub mod reset;
pub mod token;
pub mod upgrade;
pub mod version;
pub mod workflow_args;

/// Error for a command kubeadm-rs does not implement yet. The binary prints it as
/// `kubeadm-rs: "<command>" is not implemented yet` and exits with code 3.
#[derive(Debug, thiserror::Error)]
#[error("kubeadm-rs: {0:?} is not implemented yet")]
pub struct NotImplemented(pub String);

/// Shortcut: fail with [`NotImplemented`] for `command`.
pub fn not_implemented(command: &str) -> anyhow::Result<()> {
    Err(NotImplemented(command.to_string()).into())
}
