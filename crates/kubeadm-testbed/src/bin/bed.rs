//! `bed`: bring a test bed up by hand, run commands in its nodes, tear it down.
//!
//! ```text
//! bed up --nodes 2 [--name NAME] [--runner]   # foreground until Ctrl-C or `bed down NAME`
//! bed exec NAME node1 -- /bin/sh              # a shell inside node1
//! bed down NAME
//! bed clean                                   # remove beds whose owner died
//! bed list
//! bed logs NAME [-n 50]
//! bed lb --listen 10.233.7.1:6443 --backends-file FILE [--backend IP:PORT]... [--check https|tcp]
//! ```

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use kubeadm_testbed::lb::{self, HealthCheck, LbConfig};
use kubeadm_testbed::state::{self, BedState};
use kubeadm_testbed::{Bed, Node, bed::log_tails};
use nix::sys::signal::Signal;

#[derive(Parser)]
#[command(name = "bed", about = "kubeadm-rs test bed: nodes as namespaces, static-pod runner")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create a bed and keep it until Ctrl-C / SIGTERM / `bed down NAME`.
    Up {
        /// Number of nodes.
        #[arg(long, default_value_t = 1)]
        nodes: usize,
        /// The bed's name ([a-z0-9-], unique).
        #[arg(long, default_value = "dev")]
        name: String,
        /// Run the static-pod runner on every node (needs the pinned components).
        #[arg(long)]
        runner: bool,
    },
    /// Run a command inside a node (stdio inherited).
    Exec {
        /// The bed's name.
        name: String,
        /// The node's name (node1, node2, ...).
        node: String,
        /// The command and its arguments (absolute path recommended).
        #[arg(trailing_var_arg = true, required = true)]
        cmd: Vec<String>,
    },
    /// Tear a bed down (asks its owner process to stop; cleans it directly if the owner is gone).
    Down {
        /// The bed's name.
        name: String,
    },
    /// Remove the leftovers of beds whose owner process died.
    Clean,
    /// List beds.
    List,
    /// Print the tails of a bed's component logs.
    Logs {
        /// The bed's name.
        name: String,
        /// Lines per log.
        #[arg(short = 'n', long, default_value_t = 40)]
        lines: usize,
    },
    /// Run a TCP load balancer (a control-plane endpoint) in the foreground until killed:
    /// round-robin over the healthy backends, failover on connect errors. Prints `ready ADDR` on
    /// stdout once listening; logs to stderr.
    Lb {
        /// Address to listen on (e.g. the bed's bridge address, 10.233.X.1:6443).
        #[arg(long)]
        listen: SocketAddr,
        /// File of `ip:port` lines (`#` comments), re-read when it changes.
        #[arg(long)]
        backends_file: Option<PathBuf>,
        /// A backend always present (repeatable).
        #[arg(long = "backend")]
        backends: Vec<SocketAddr>,
        /// File to write the healthy backends to on every change.
        #[arg(long)]
        status_file: Option<PathBuf>,
        /// Health check: HTTPS GET of --check-path expecting 200 (certificate not verified), or
        /// a TCP connect.
        #[arg(long, value_enum, default_value_t = CheckKind::Https)]
        check: CheckKind,
        /// Path of the HTTPS check.
        #[arg(long, default_value = "/readyz")]
        check_path: String,
        /// Milliseconds between two checks of a backend.
        #[arg(long, default_value_t = 1000)]
        interval_ms: u64,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum CheckKind {
    Https,
    Tcp,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("bed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.cmd {
        Cmd::Up { nodes, name, runner } => up(nodes, &name, runner),
        Cmd::Exec { name, node, cmd } => exec(&name, &node, &cmd),
        Cmd::Down { name } => down(&name),
        Cmd::Clean => {
            let cleaned = state::clean_stale()?;
            if cleaned.is_empty() {
                println!("no stale beds");
            }
            for c in cleaned {
                println!("cleaned {c}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::List => {
            for st in state::list() {
                let nodes: Vec<String> = st.nodes.iter().map(|n| format!("{}={}", n.name, n.ip)).collect();
                let status = if st.is_stale() { "stale" } else { "live" };
                println!("{}\t{status}\towner={}\t{}", st.name, st.owner.pid, nodes.join(" "));
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Lb { listen, backends_file, backends, status_file, check, check_path, interval_ms } => {
            if backends_file.is_none() && backends.is_empty() {
                bail!("give --backends-file FILE and/or --backend IP:PORT");
            }
            if interval_ms == 0 {
                bail!("--interval-ms must be positive");
            }
            let check = match check {
                CheckKind::Tcp => HealthCheck::Tcp,
                CheckKind::Https => HealthCheck::Https { path: check_path },
            };
            lb::run(LbConfig {
                listen,
                backends_file,
                backends,
                status_file,
                check,
                interval: Duration::from_millis(interval_ms),
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Logs { name, lines } => {
            let st = BedState::load(&name)?;
            print!("{}", log_tails(&st.log_dir, lines));
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn up(nodes: usize, name: &str, runner: bool) -> Result<ExitCode> {
    let (tx, rx) = std::sync::mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = tx.send(());
    })
    .context("installing the Ctrl-C handler")?;
    let bed = Bed::builder().nodes(nodes).name(name).start()?;
    if runner {
        bed.start_runners()?;
    }
    println!("bed {name} is up (host {} on bridge {}):", bed.host_ip(), bed.state().bridge);
    for n in bed.nodes() {
        println!("  {}\t{}\tnetns {}\tholder pid {}", n.name(), n.ip(), n.netns(), n.holder().pid);
    }
    println!("enter a node:   bed exec {name} node1 -- /bin/bash");
    println!("           or:  nsenter -t {} -m -n -u /bin/bash", bed.node(0).holder().pid);
    println!("logs:           {}", bed.log_dir().display());
    println!("stop:           Ctrl-C or `bed down {name}`");
    let _ = rx.recv();
    // stdout may be gone by now (closed pipe): don't panic on it.
    let _ = writeln!(std::io::stdout(), "tearing down {name} ...");
    let problems = bed.down();
    if problems.is_empty() {
        let _ = writeln!(std::io::stdout(), "done");
        Ok(ExitCode::SUCCESS)
    } else {
        for p in problems {
            eprintln!("problem: {p}");
        }
        Ok(ExitCode::FAILURE)
    }
}

fn exec(name: &str, node: &str, cmd: &[String]) -> Result<ExitCode> {
    let st = BedState::load(name)?;
    let ns =
        st.nodes.iter().find(|n| n.name == node).with_context(|| format!("bed {name} has no node {node}"))?;
    let node = Node::from_state(ns)?;
    node.check().with_context(|| format!("bed {name}"))?;
    let (prog, args) = cmd.split_first().context("no command given")?;
    let mut c: Command = node.command(prog, args);
    // Keep the caller's terminal settings useful.
    if let Ok(term) = std::env::var("TERM") {
        c.env("TERM", term);
    }
    let status = c.status().with_context(|| format!("running {prog} in {}", node.name()))?;
    Ok(ExitCode::from(status.code().unwrap_or(1).clamp(0, 255) as u8))
}

fn down(name: &str) -> Result<ExitCode> {
    let st = BedState::load(name)?;
    if st.is_stale() {
        let problems = state::teardown(&st);
        println!("cleaned stale bed {name}");
        return Ok(if problems.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE });
    }
    st.owner.signal(Signal::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(60);
    while BedState::path_for(name).exists() {
        if Instant::now() > deadline {
            bail!("bed {name}: owner pid {} did not tear down within 60 s", st.owner.pid);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    println!("bed {name} is down");
    Ok(ExitCode::SUCCESS)
}
