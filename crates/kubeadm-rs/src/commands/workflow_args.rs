//! clap glue for the workflow commands (`init`, `join`, `reset`).
//!
//! The top-level tree is clap derive, but these three commands are built with the builder API from
//! their phase tables: `augment_args` adds the command's flags (from [`crate::flags`]),
//! `--skip-phases` and the generated `phase` subcommand tree, and appends the phase list to the long
//! help. The parsed [`ArgMatches`] are kept as they are; the command reads them leniently through
//! [`crate::flags::Flags`], since a phase subcommand defines only the flags its phase inherits.

use clap::{Arg, ArgMatches, Args, Command, FromArgMatches};

use crate::flags::{self, Workflow};
use crate::workflow::Runner;

fn augment<D>(cmd: Command, wf: Workflow, runner: &Runner<D>, about: &str, long: &str) -> Command {
    // term_width(0): the phase tree is preformatted; wrapping would break its columns.
    let mut cmd =
        cmd.about(about.to_string()).long_about(format!("{long}\n\n{}\n", runner.help())).term_width(0);
    for name in flags::command_flags(wf) {
        if let Some(arg) = flags::workflow_flag(wf, name) {
            cmd = cmd.arg(arg);
        }
    }
    cmd = cmd.arg(flags::list(flags::names::SKIP_PHASES, "Phases to skip"));
    let lookup = move |name: &str| -> Option<Arg> {
        let known = flags::command_flags(wf).contains(&name)
            || flags::additional_flags(wf).contains(&name)
            || name == "print-manifest";
        if !known {
            return None;
        }
        if name == "print-manifest" {
            return Some(flags::boolean(
                "print-manifest",
                "Print the addon manifests to standard output instead of installing them",
            ));
        }
        flags::workflow_flag(wf, name)
    };
    cmd.subcommand(runner.phase_command(&lookup))
}

macro_rules! workflow_args {
    ($ty:ident, $wf:expr, $runner:path, $about:expr, $long:expr, $positional:expr) => {
        /// Parsed arguments of a workflow command (kept as matches; see the module docs).
        #[derive(Debug, Clone)]
        pub struct $ty {
            /// The command's matches (including a `phase` subcommand, if any).
            pub matches: ArgMatches,
        }

        impl FromArgMatches for $ty {
            fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
                Ok(Self { matches: matches.clone() })
            }
            fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
                self.matches = matches.clone();
                Ok(())
            }
        }

        impl Args for $ty {
            fn augment_args(cmd: Command) -> Command {
                let cmd = augment(cmd, $wf, &$runner(), $about, $long);
                match $positional {
                    Some((name, help)) => cmd.arg(Arg::new(name).value_name(name).help(help).num_args(0..=1)),
                    None => cmd,
                }
            }
            fn augment_args_for_update(cmd: Command) -> Command {
                Self::augment_args(cmd)
            }
        }
    };
}

workflow_args!(
    InitArgs,
    Workflow::Init,
    crate::phases::init::runner,
    "Set up the Kubernetes control plane on this machine",
    "Set up the Kubernetes control plane on this machine",
    None::<(&str, &str)>
);
workflow_args!(
    JoinArgs,
    Workflow::Join,
    crate::phases::join::runner,
    "Join this machine to an existing cluster",
    "Join this machine to an existing cluster. On a worker it discovers the cluster (with a token or a \
kubeconfig file), then performs the kubelet TLS bootstrap; with --control-plane it also sets up a new \
control plane instance.",
    Some(("api-server-endpoint", "Address (host:port) of the API server to join"))
);
workflow_args!(
    ResetArgs,
    Workflow::Reset,
    crate::phases::reset::runner,
    "Undo the changes `init` or `join` made to this host",
    "Undo, as far as possible, the changes `kubeadm init` or `kubeadm join` made to this host",
    None::<(&str, &str)>
);

/// If the matches select a `phase` subcommand, the path of names below `phase` (e.g.
/// `["certs", "apiserver"]`) and the deepest subcommand's matches.
pub fn phase_path(matches: &ArgMatches) -> Option<(Vec<String>, &ArgMatches)> {
    let (name, mut m) = matches.subcommand()?;
    if name != "phase" {
        return None;
    }
    let mut path = Vec::new();
    while let Some((n, sub)) = m.subcommand() {
        path.push(n.to_string());
        m = sub;
    }
    Some((path, m))
}
