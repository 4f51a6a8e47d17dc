//! The bed's load-balanced control-plane endpoint (`Bed::start_load_balancer`, `bed lb`): two
//! nodes run a tiny HTTPS responder on `<node ip>:6443` that answers every request (the LB's
//! `GET /readyz` checks included) with its node name; from a node, connections through the
//! endpoint reach both; a stopped responder is failed over at once and taken out within ~3 s; a
//! restarted one is used again; teardown leaves no load balancer process.
//!
//! Needs root (fails without it unless `KUBEADM_RS_SKIP_BED=1`); no Kubernetes components run.

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use kubeadm_testbed::lb::{LbHandle, LbOptions};
use kubeadm_testbed::state::{self, BedState};
use kubeadm_testbed::{Bed, Node, NodeProcess, bed_preflight, heavy_lock, tlsproxy};

const PORT: u16 = 6443;
const DIR: &str = "/run/lb-test";

/// socat in `node`: TLS on `<node ip>:6443` (a throwaway certificate), each connection answered
/// with an HTTP 200 whose body is the node's name.
fn start_responder(node: &Node) -> Result<NodeProcess> {
    if !node.host_path(format!("{DIR}/server.crt")).exists() {
        tlsproxy::foreign_server_cert(node, DIR, node.ip())?;
    }
    let name = node.name();
    node.write_file(
        format!("{DIR}/respond.sh"),
        format!(
            "read -r line\nprintf 'HTTP/1.0 200 OK\\r\\nContent-Type: text/plain\\r\\nContent-Length: {}\\r\\n\
             Connection: close\\r\\n\\r\\n{name}'\n",
            name.len()
        ),
    )?;
    let listen = format!(
        "OPENSSL-LISTEN:{PORT},bind={},cert={DIR}/server.crt,key={DIR}/server.key,verify=0,fork,reuseaddr",
        node.ip()
    );
    let p = node.spawn("/usr/bin/socat", [listen, format!("EXEC:/bin/sh {DIR}/respond.sh")], &[])?;
    kubeadm_testbed::wait_for(&format!("responder on {name}"), Duration::from_secs(10), || {
        let out = node
            .exec_ok("/usr/bin/ss", ["-Hltn", &format!("sport = :{PORT}")], &[])
            .map_err(|e| e.to_string())?;
        (!out.trim().is_empty()).then_some(()).ok_or_else(|| "not listening yet".to_string())
    })?;
    Ok(p)
}

/// One HTTPS request through the endpoint from `client`: the answering node's name ("" when the
/// connection was closed without an answer).
fn ask(client: &Node, lb: &LbHandle) -> Result<String> {
    let url = format!("https://{}/", lb.endpoint());
    let out = client.exec_timeout(
        "/usr/bin/curl",
        ["-sk", "--max-time", "3", &url],
        &[],
        Duration::from_secs(10),
    )?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn ask_n(client: &Node, lb: &LbHandle, n: usize) -> Result<Vec<String>> {
    (0..n).map(|_| ask(client, lb)).collect()
}

fn count(got: &[String], name: &str) -> usize {
    got.iter().filter(|g| *g == name).count()
}

fn scenario(bed: &Bed, lb: &LbHandle) -> Result<()> {
    let (n1, n2) = (bed.node(0), bed.node(1));
    let (b1, b2): (SocketAddr, SocketAddr) = ((n1.ip(), PORT).into(), (n2.ip(), PORT).into());
    ensure!(lb.endpoint() == format!("{}:{PORT}", bed.host_ip()), "endpoint {}", lb.endpoint());
    let _r1 = start_responder(n1)?;
    let mut r2 = Some(start_responder(n2)?);

    // No backends yet: connections are closed.
    ensure!(ask(n1, lb)?.is_empty(), "an answer without backends");

    // One backend, then a second one added at run time (like a control-plane join).
    lb.set_backends(&[b1])?;
    lb.wait_healthy(&[b1], Duration::from_secs(10))?;
    let got = ask_n(n2, lb, 3)?;
    ensure!(count(&got, "node1") == 3, "with node1 only: {got:?}");
    lb.set_backends(&[b1, b2])?;
    lb.wait_healthy(&[b1, b2], Duration::from_secs(10))?;
    let got = ask_n(n1, lb, 6)?;
    ensure!(count(&got, "node1") == 3 && count(&got, "node2") == 3, "round-robin over both: {got:?}");

    // node2's responder stops: connections fail over at once, the checks take it out within ~3 s.
    drop(r2.take());
    let stopped = Instant::now();
    let got = ask_n(n1, lb, 4)?;
    ensure!(count(&got, "node1") == 4, "right after node2 stopped: {got:?}");
    lb.wait_healthy(&[b1], Duration::from_secs(4)).context("node2 not taken out")?;
    let down_after = stopped.elapsed();
    eprintln!("node2 marked down {down_after:?} after its responder stopped");
    let got = ask_n(n2, lb, 4)?;
    ensure!(count(&got, "node1") == 4, "with node2 down: {got:?}");

    // It comes back: used again.
    r2 = Some(start_responder(n2)?);
    let restarted = Instant::now();
    lb.wait_healthy(&[b1, b2], Duration::from_secs(4)).context("node2 not taken back")?;
    eprintln!("node2 marked up {:?} after its responder restarted", restarted.elapsed());
    let got = ask_n(n1, lb, 4)?;
    ensure!(count(&got, "node1") == 2 && count(&got, "node2") == 2, "node2 back: {got:?}");

    // Every backend down: connections are closed, not hung.
    drop(r2.take());
    drop(_r1);
    lb.wait_healthy(&[], Duration::from_secs(4))?;
    let t = Instant::now();
    ensure!(ask(n2, lb)?.is_empty(), "an answer with every backend down");
    ensure!(t.elapsed() < Duration::from_secs(2), "closing took {:?}", t.elapsed());
    Ok(())
}

#[test]
fn load_balancer_spreads_fails_over_and_recovers() -> Result<()> {
    if bed_preflight()? {
        return Ok(());
    }
    let _serial = heavy_lock()?;
    let bed = Bed::builder().name("lb").nodes(2).start()?;
    let mut opts = LbOptions::new(PORT);
    opts.bed_bin = Some(env!("CARGO_BIN_EXE_bed").into());
    let lb = bed.start_load_balancer_with(opts)?;
    let lb_proc = lb.proc_ref();
    ensure!(bed.state().procs.contains(&lb_proc), "the load balancer is not in the state file");
    if let Err(e) = scenario(&bed, &lb) {
        eprintln!("{}", bed.log_tails(40));
        return Err(e); // drops lb and bed: teardown
    }
    // Teardown kills it (the handle is still alive).
    let st: BedState = bed.state();
    let problems = bed.down();
    ensure!(problems.is_empty(), "teardown problems: {problems:?}");
    ensure!(!lb_proc.is_alive(), "load balancer {lb_proc:?} survived teardown");
    drop(lb); // reaps it
    let left = state::leftovers(&st);
    ensure!(left.is_empty(), "bed left behind: {left:#?}");
    ensure!(!BedState::run_dir_for(&st.name).exists(), "run directory left behind");
    Ok(())
}

#[test]
fn cli_lb_rejects_bad_arguments() -> Result<()> {
    let bed = env!("CARGO_BIN_EXE_bed");
    let out = Command::new(bed).args(["lb", "--listen", "127.0.0.1:0"]).output()?;
    ensure!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    ensure!(err.contains("--backends-file"), "{err}");
    let out = Command::new(bed).args(["lb", "--listen", "nowhere", "--backend", "127.0.0.1:1"]).output()?;
    ensure!(!out.status.success(), "a bad --listen was accepted");
    // Something else holds the port: a clear error, not a hang.
    let holder = std::net::TcpListener::bind("127.0.0.1:0")?;
    let taken = holder.local_addr()?.to_string();
    let out = Command::new(bed).args(["lb", "--listen", &taken, "--backend", "127.0.0.1:1"]).output()?;
    let err = String::from_utf8_lossy(&out.stderr);
    if out.status.success() || !err.contains(&format!("listening on {taken}")) {
        bail!("bed lb on a taken port: {:?}\n{err}", out.status);
    }
    Ok(())
}
