//! Stopping and (re)starting the kubelet around `kubelet-start` (upstream `TryStopKubelet` /
//! `TryStartKubelet`), and waiting for its health endpoint.
//!
//! Like upstream, kubeadm-rs drives the kubelet through systemd when systemd is the init system
//! (`/run/systemd/system` exists): `systemctl stop kubelet`, then `systemctl daemon-reload` and
//! `systemctl restart kubelet`. Hosts without systemd (containers, the test bed, OpenRC or
//! s6-supervised machines) can name a program in `KUBEADM_RS_KUBELET_SERVICE`: kubeadm-rs runs it
//! with one argument, `stop` or `restart`, and reports a non-zero exit as upstream reports a
//! failed `systemctl`. Without either, kubeadm-rs prints upstream's "No supported init system
//! detected" lines and leaves the kubelet alone. See docs/cli.md.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::output::Output;

/// Environment variable naming the kubelet service program of hosts without systemd.
pub const KUBELET_SERVICE_ENV: &str = "KUBEADM_RS_KUBELET_SERVICE";

/// How the kubelet is managed on this host.
enum Manager {
    Systemd,
    Program(String),
    None,
}

fn manager() -> Manager {
    if let Ok(p) = std::env::var(KUBELET_SERVICE_ENV)
        && !p.trim().is_empty()
    {
        return Manager::Program(p);
    }
    if systemd_is_init() { Manager::Systemd } else { Manager::None }
}

/// Whether systemd is the init system.
pub fn systemd_is_init() -> bool {
    Path::new("/run/systemd/system").is_dir()
}

/// Whether the `systemd-resolved` service is active (then the kubelet's `resolvConf` points at its
/// stub file, upstream's `Mutate`).
pub fn systemd_resolved_active() -> bool {
    systemd_is_init()
        && std::process::Command::new("systemctl")
            .args(["is-active", "--quiet", "systemd-resolved"])
            .status()
            .is_ok_and(|s| s.success())
}

fn systemctl_in_path() -> bool {
    std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("systemctl").is_file()))
}

fn run(program: &str, args: &[&str]) -> anyhow::Result<()> {
    let o = std::process::Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("failed to run {program}"))?;
    if !o.status.success() {
        let stderr = String::from_utf8_lossy(&o.stderr);
        let msg = stderr.trim();
        if msg.is_empty() {
            anyhow::bail!("{program} {} exited with {}", args.join(" "), o.status);
        }
        anyhow::bail!("{msg}");
    }
    Ok(())
}

/// Upstream `TryStopKubelet`.
pub fn try_stop(out: &Output) {
    out.v(1, "[kubelet-start] Stopping the kubelet");
    let r = match manager() {
        Manager::Systemd => run("systemctl", &["stop", "kubelet"]),
        Manager::Program(p) => run(&p, &["stop"]),
        Manager::None => {
            out.line("[kubelet-start] No supported init system detected, won't make sure the kubelet not running for a short period of time while setting up configuration for it.");
            return;
        }
    };
    if let Err(e) = r {
        out.warn(format!("[kubelet-start] WARNING: unable to stop the kubelet service momentarily: [{e}]"));
    }
}

/// Upstream `TryStartKubelet` (a restart: the kubelet must read its new configuration).
pub fn try_start(out: &Output) {
    let r = match manager() {
        Manager::Systemd => {
            run("systemctl", &["daemon-reload"]).and_then(|()| run("systemctl", &["restart", "kubelet"]))
        }
        Manager::Program(p) => run(&p, &["restart"]),
        Manager::None => {
            out.line("[kubelet-start] No supported init system detected, won't make sure the kubelet is running properly.");
            return;
        }
    };
    if let Err(e) = r {
        out.warn(format!("[kubelet-start] WARNING: unable to start the kubelet service: [{e}]"));
        out.line("[kubelet-start] Please ensure kubelet is reloaded and running manually.");
    }
}

/// One plain HTTP GET (the kubelet's healthz is plain HTTP on loopback): the status, or the
/// cause of the failure worded like Go's `net/http` (`dial tcp ...: connect: connection refused`).
pub fn http_get(host_port: &str, url: &str, path: &str, timeout: Duration) -> Result<u16, String> {
    use std::io::{Read as _, Write as _};
    use std::net::ToSocketAddrs as _;
    let addr = host_port
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| format!("Get {url:?}: dial tcp: lookup {host_port}: no such host"))?;
    let mut s = std::net::TcpStream::connect_timeout(&addr, timeout).map_err(|e| {
        let reason = match e.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
            std::io::ErrorKind::TimedOut => "i/o timeout".to_string(),
            _ => e.to_string(),
        };
        format!("Get {url:?}: dial tcp {host_port}: connect: {reason}")
    })?;
    let io = |e: std::io::Error| format!("Get {url:?}: {e}");
    s.set_read_timeout(Some(timeout)).map_err(io)?;
    s.set_write_timeout(Some(timeout)).map_err(io)?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: {host_port}\r\nConnection: close\r\n\r\n").map_err(io)?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).map_err(io)?;
    let text = String::from_utf8_lossy(&buf);
    text.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("Get {url:?}: malformed HTTP response"))
}

fn go_duration(d: Duration) -> String {
    kubeadm_api::duration::Duration::from_std(d).to_string()
}

/// Upstream `WaitForKubelet`: polls `http://<healthzBindAddress>:<healthzPort>/healthz` of the
/// given KubeletConfiguration until it answers 200 or `timeout` passes.
pub fn wait_for_kubelet(
    out: &Output,
    kubelet: &kubeadm_manifests::componentconfigs::ComponentConfig,
    timeout: Duration,
) -> anyhow::Result<()> {
    let addr = kubelet
        .get("/healthzBindAddress")
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .unwrap_or("127.0.0.1")
        .to_string();
    let port = kubelet
        .get("/healthzPort")
        .and_then(serde_json::Value::as_i64)
        .unwrap_or(i64::from(kubeadm_api::constants::KUBELET_HEALTHZ_PORT));
    if port == 0 {
        out.line("[kubelet-check] Skipping the kubelet health check because the healthz port is set to 0");
        return Ok(());
    }
    let host_port = if addr.contains(':') { format!("[{addr}]:{port}") } else { format!("{addr}:{port}") };
    let url = format!("http://{host_port}/healthz");
    out.line(format!(
        "[kubelet-check] Waiting for a healthy kubelet at {url}. This can take up to {}",
        go_duration(timeout)
    ));
    let start = Instant::now();
    loop {
        let cause = match http_get(&host_port, &url, "/healthz", Duration::from_secs(5)) {
            Ok(200) => {
                out.line(format!(
                    "[kubelet-check] The kubelet is healthy after {}",
                    go_duration(start.elapsed())
                ));
                return Ok(());
            }
            Ok(code) => format!("status code: {code}"),
            Err(e) => format!("error: {e}"),
        };
        if start.elapsed() >= timeout {
            out.line(format!(
                "[kubelet-check] The kubelet is not healthy after {}",
                go_duration(start.elapsed())
            ));
            anyhow::bail!("The HTTP call equal to 'curl -sSL {url}' returned {cause}\n");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The kubelet stop of `reset`'s `cleanup-node` (upstream's wording differs from `kubelet-start`'s).
pub fn reset_stop(out: &Output, dry_run: bool) {
    let mut m = manager();
    // Upstream's init-system detection here is "systemctl is in PATH" (not "systemd runs").
    if matches!(m, Manager::None) && systemctl_in_path() {
        m = Manager::Systemd;
    }
    if matches!(m, Manager::None) {
        out.warn("[reset] The kubelet service could not be stopped by kubeadm. Unable to detect a supported init system!");
        out.warn("[reset] Please ensure kubelet is stopped manually");
        return;
    }
    if dry_run {
        out.line("[dryrun] Would stop the kubelet service");
        return;
    }
    out.line("[reset] Stopping the kubelet service");
    let r = match m {
        Manager::Systemd => run("systemctl", &["stop", "kubelet"]),
        Manager::Program(p) => run(&p, &["stop"]),
        Manager::None => Ok(()),
    };
    if let Err(e) = r {
        out.warn(format!("[reset] The kubelet service could not be stopped by kubeadm: [{e}]"));
        out.warn("[reset] Please ensure kubelet is stopped manually");
    }
}
