//! Bed mechanics that need root but no Kubernetes components: node isolation, networking over
//! the bridge, teardown on drop and on panic, stale-bed cleanup after a killed owner.

use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use kubeadm_testbed::state::{self, BedState};
use kubeadm_testbed::{Bed, components, wait_for};

fn skip() -> bool {
    if components::skip_requested() {
        eprintln!("skipping: {}=1", components::SKIP_ENV);
        return true;
    }
    false
}

fn assert_gone(st: &BedState) {
    let left = state::leftovers(st);
    assert!(left.is_empty(), "bed {} left behind: {left:#?}", st.name);
}

#[test]
fn nodes_are_isolated_and_connected() -> Result<()> {
    if skip() {
        return Ok(());
    }
    let bed = Bed::builder().name("basic-net").nodes(2).start()?;
    let st = bed.state();
    let (n1, n2) = (bed.node(0), bed.node(1));

    // UTS: hostname is the node name.
    assert_eq!(n1.exec_ok("/usr/bin/hostname", [""; 0], &[])?.trim(), "node1");
    assert_eq!(n2.exec_ok("/usr/bin/hostname", [""; 0], &[])?.trim(), "node2");

    // Mounts: private /etc/kubernetes, invisible to the other node and the host.
    n1.write_file("/etc/kubernetes/marker", "n1")?;
    let ls = n1.exec_ok("/bin/cat", ["/etc/kubernetes/marker"], &[])?;
    assert_eq!(ls, "n1");
    let o = n2.exec("/bin/cat", ["/etc/kubernetes/marker"], &[])?;
    assert!(!o.status.success(), "node2 sees node1's file");
    assert!(!std::path::Path::new("/etc/kubernetes/marker").exists(), "host sees node1's file");
    assert!(n1.host_path("/etc/kubernetes/marker").is_file());
    // The working directory is / and the env is clean.
    let env = n1.exec_ok("/usr/bin/env", [""; 0], &[("FOO", "bar")])?;
    assert!(env.contains("FOO=bar") && env.contains("HOME=/root"), "{env}");

    // Network: eth0 carries the node IP, and node2 and the host reach a server on node1.
    let addr = n1.exec_ok("/usr/sbin/ip", ["-4", "-o", "addr", "show", "dev", "eth0"], &[])?;
    assert!(addr.contains(&n1.ip().to_string()), "{addr}");
    let bind = n1.ip().to_string();
    let server = n1.spawn(
        "/usr/bin/python3",
        ["-m", "http.server", "--bind", &bind, "18080", "--directory", "/etc/kubernetes"],
        &[],
    )?;
    let url = format!("http://{}:18080/marker", n1.ip());
    let body = wait_for("http server on node1", Duration::from_secs(20), || {
        n2.exec_ok("/usr/bin/curl", ["-sf", "--max-time", "2", &url], &[]).map_err(|e| e.to_string())
    })?;
    assert_eq!(body, "n1");
    TcpStream::connect_timeout(&format!("{}:18080", n1.ip()).parse()?, Duration::from_secs(2))
        .context("host -> node1")?;
    // Not reachable from node2's own loopback: separate network namespaces.
    let o = n2.exec("/usr/bin/curl", ["-sf", "--max-time", "2", "http://127.0.0.1:18080/marker"], &[])?;
    assert!(!o.status.success());
    let server_pid = server.proc_ref();
    assert!(bed.state().procs.contains(&server_pid));
    drop(server);
    assert!(!server_pid.is_alive());
    assert!(!bed.state().procs.contains(&server_pid));

    // A process left running is killed at teardown.
    let stray = n2.spawn("/usr/bin/sleep", ["1000"], &[])?;
    let stray_pid = stray.proc_ref();
    std::mem::forget(stray); // leak the handle: teardown must still kill it
    let problems = bed.down();
    assert!(problems.is_empty(), "{problems:?}");
    assert!(!stray_pid.is_alive());
    assert_gone(&st);
    Ok(())
}

#[test]
fn teardown_on_panic() -> Result<()> {
    if skip() {
        return Ok(());
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let r = std::thread::spawn(move || {
        let bed = Bed::builder().name("basic-panic").nodes(1).start().expect("bed");
        tx.send(bed.state()).expect("send");
        panic!("test panics with a live bed");
    })
    .join();
    assert!(r.is_err());
    let st = rx.recv()?;
    assert_gone(&st);
    Ok(())
}

#[test]
fn stale_bed_of_killed_owner_is_cleaned() -> Result<()> {
    if skip() {
        return Ok(());
    }
    let name = "basic-stale";
    let mut child = Command::new(env!("CARGO_BIN_EXE_bed"))
        .args(["up", "--nodes", "2", "--name", name])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()?;
    let st = wait_for("bed up to record its holders", Duration::from_secs(30), || {
        let st = BedState::load(name).map_err(|e| e.to_string())?;
        if st.nodes.iter().all(|n| n.holder.is_some()) && st.owner.pid == child.id() as i32 {
            Ok(st)
        } else {
            Err("holders not yet recorded".into())
        }
    })?;
    // Let the second holder finish its mounts, then kill the owner hard (no teardown runs).
    std::thread::sleep(Duration::from_millis(500));
    child.kill()?;
    child.wait()?;
    ensure!(BedState::path_for(name).exists(), "state file vanished without cleanup");
    let cleaned = state::clean_stale()?;
    if !cleaned.iter().any(|c| c == name) {
        bail!("clean_stale did not clean {name}: {cleaned:?}");
    }
    assert_gone(&st);
    Ok(())
}

#[test]
fn exec_timeout_kills_the_command() -> Result<()> {
    if skip() {
        return Ok(());
    }
    let bed = Bed::builder().name("basic-timeout").nodes(1).start()?;
    let n = bed.node(0);
    let t = std::time::Instant::now();
    let r = n.exec_timeout("/bin/sh", ["-c", "echo started >&2; sleep 100"], &[], Duration::from_millis(500));
    match r {
        Err(kubeadm_testbed::Error::Timeout { last, .. }) => {
            assert!(last.contains("started"), "{last}")
        }
        other => bail!("expected a timeout, got {other:?}"),
    }
    assert!(t.elapsed() < Duration::from_secs(5));
    let out = n.exec_timeout("/bin/echo", ["hi"], &[], Duration::from_secs(5))?;
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hi\n");
    // No sleep survived in the node.
    let ino = kubeadm_testbed::procs::ns_inode(std::path::Path::new(&format!("/run/netns/{}", n.netns())))
        .context("netns inode")?;
    let members = kubeadm_testbed::procs::pids_in_netns(ino);
    assert_eq!(members, vec![n.holder().pid], "only the holder remains");
    Ok(())
}

#[test]
fn cli_up_exec_down() -> Result<()> {
    if skip() {
        return Ok(());
    }
    let name = "basic-cli";
    let bed_bin = env!("CARGO_BIN_EXE_bed");
    let mut up = Command::new(bed_bin)
        .args(["up", "--nodes", "1", "--name", name])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    // If the test fails half-way, don't leave `bed up` running.
    struct Down<'a>(&'a str, &'a str);
    impl Drop for Down<'_> {
        fn drop(&mut self) {
            if BedState::path_for(self.1).exists() {
                let _ = Command::new(self.0).args(["down", self.1]).status();
            }
        }
    }
    let _down = Down(bed_bin, name);
    let st = wait_for("bed up", Duration::from_secs(30), || {
        let st = BedState::load(name).map_err(|e| e.to_string())?;
        st.nodes.iter().all(|n| n.holder.is_some()).then_some(st).ok_or("holders".into())
    })?;
    let out = wait_for("bed exec", Duration::from_secs(10), || {
        let o = Command::new(bed_bin).args(["exec", name, "node1", "--", "/usr/bin/hostname"]).output();
        let o = o.map_err(|e| e.to_string())?;
        if o.status.success() { Ok(o) } else { Err(String::from_utf8_lossy(&o.stderr).into_owned()) }
    })?;
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "node1");
    let o = Command::new(bed_bin).args(["exec", name, "node1", "--", "/bin/sh", "-c", "exit 7"]).status()?;
    assert_eq!(o.code(), Some(7));
    let list = Command::new(bed_bin).arg("list").output()?;
    let listed = String::from_utf8_lossy(&list.stdout);
    assert!(listed.contains(name), "bed list:\n{listed}\n{}", String::from_utf8_lossy(&list.stderr));
    let down = Command::new(bed_bin).args(["down", name]).status()?;
    assert!(down.success());
    let status = up.wait()?;
    assert!(status.success(), "bed up exited with {status}");
    let mut printed = String::new();
    std::io::Read::read_to_string(&mut up.stdout.take().context("stdout")?, &mut printed)?;
    assert!(printed.contains("node1") && printed.contains("bed exec"), "{printed}");
    assert_gone(&st);
    Ok(())
}
