//! kubeadm-rs: a Rust implementation of kubeadm (Kubernetes v1.37.2), a drop-in for its commands,
//! flags, config files, files on disk and API objects.
//!
//! This is the binary edge: parse the command line, dispatch to `commands::*`, and turn errors into
//! upstream's output (`error: <message>` on stderr) and the exit codes documented in docs/cli.md.

mod apiphases;
mod cli;
mod commands;
mod flags;
mod joinphases;
mod kubeletsvc;
mod output;
mod phases;
mod resetphases;
mod wiring;
mod workflow;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Commands};
use crate::commands::NotImplemented;
use crate::output::Output;
use crate::workflow::{PhaseError, WorkflowError};

/// Exit code of every error, as upstream (`defaultErrorExitCode`).
const EXIT_ERROR: u8 = 1;
/// Exit code when the command or phase is not implemented by kubeadm-rs yet.
const EXIT_NOT_IMPLEMENTED: u8 = 3;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_ERROR } else { 0 };
            // Help and usage errors go where clap sends them; a closed pipe is not our problem.
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let out = Output::new(cli.v);
    match dispatch(&out, cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => report(&out, &err),
    }
}

fn dispatch(out: &Output, cli: Cli) -> anyhow::Result<()> {
    if cli.rootfs.as_deref().is_some_and(|r| !r.is_empty()) {
        anyhow::bail!("--rootfs is not supported yet by kubeadm-rs");
    }
    match cli.command {
        Commands::Certs { command } => commands::certs::run(out, &command),
        Commands::Completion { shell } => commands::completion::run(shell),
        Commands::Config { kubeconfig, command } => commands::config::run(out, &kubeconfig, &command),
        Commands::Init(args) => commands::init::run(out, &args),
        Commands::Join(args) => commands::join::run(out, &args),
        Commands::Reset(args) => commands::reset::run(out, &args),
        Commands::Version { output } => commands::version::run(out, &output),
        Commands::Token { command, kubeconfig, dry_run } => {
            commands::token::run(out, &command, &kubeconfig, dry_run)
        }
        Commands::Upgrade { command } => commands::upgrade::run(&command),
        Commands::Kubeconfig { command } => commands::kubeconfig::run(out, &command),
    }
}

/// Whether the error (or a cause) says "not implemented yet".
fn is_not_implemented(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<NotImplemented>().is_some()
            || matches!(e.downcast_ref::<PhaseError>(), Some(PhaseError::NotImplemented(_)))
            || matches!(
                e.downcast_ref::<WorkflowError>(),
                Some(WorkflowError::Phase { cause: PhaseError::NotImplemented(_), .. })
            )
    })
}

fn report(out: &Output, err: &anyhow::Error) -> ExitCode {
    if let Some(ni) = err.downcast_ref::<NotImplemented>() {
        eprintln!("{ni}");
        return ExitCode::from(EXIT_NOT_IMPLEMENTED);
    }
    if out.verbosity > 4 {
        eprintln!("error: {err:?}");
    } else {
        eprintln!(
            "error: {}\nTo see the stack trace of this error execute with --v=5 or higher",
            output::error_message(err)
        );
    }
    if is_not_implemented(err) { ExitCode::from(EXIT_NOT_IMPLEMENTED) } else { ExitCode::from(EXIT_ERROR) }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn cli_debug_assert() {
        Cli::command().debug_assert();
    }
}
