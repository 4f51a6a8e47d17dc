//! The static-pod runner with fake binaries (needs root, not the Kubernetes components):
//! start with command + args + env, hostPath creation, restart on change and on exit, stop on
//! removal, logs.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use anyhow::Result;
use kubeadm_testbed::{Bed, components, wait_for};

const FAKE: &str = "#!/bin/sh\necho \"fake args: $* env: $FOO\"\nexec /usr/bin/sleep 1000\n";
const CRASH: &str = "#!/bin/sh\necho crashing\nexit 3\n";

fn manifest(b: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: fake
  namespace: kube-system
spec:
  hostNetwork: true
  containers:
  - name: fake
    image: registry.k8s.io/fakecomp:v1.0.0
    command:
    - fakecomp
    - --a=1
    args:
    - --b={b}
    env:
    - name: FOO
      value: bar
  volumes:
  - name: d
    hostPath:
      path: /var/lib/kubelet/fake-dir
      type: DirectoryOrCreate
  - name: outside
    hostPath:
      path: /opt/kubeadm-rs-should-not-exist
      type: DirectoryOrCreate
"#
    )
}

const CRASHER: &str = r#"apiVersion: v1
kind: Pod
metadata:
  name: crasher
spec:
  containers:
  - name: crasher
    image: example.invalid/x/crashcomp@sha256:0000
"#;

#[test]
fn runner_runs_restarts_and_stops_static_pods() -> Result<()> {
    if components::skip_requested() {
        return Ok(());
    }
    let bins = tempfile::tempdir()?;
    for (name, text) in [("fakecomp", FAKE), ("crashcomp", CRASH)] {
        let p = bins.path().join(name);
        std::fs::write(&p, text)?;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755))?;
    }
    let bed = Bed::builder().name("runner-fake").nodes(1).start()?;
    let n = bed.node(0);
    bed.start_runner_with(n, bins.path().to_path_buf())?;
    let log = bed.log_dir().join("node1/fake.log");
    let result = (|| -> Result<()> {
        n.write_file("/etc/kubernetes/manifests/fake.yaml", manifest("2"))?;
        wait_for("fake started", Duration::from_secs(10), || {
            let t = std::fs::read_to_string(&log).map_err(|e| e.to_string())?;
            t.contains("fake args: --a=1 --b=2 env: bar").then_some(()).ok_or(t)
        })?;
        assert!(n.host_path("/var/lib/kubelet/fake-dir").is_dir());
        assert!(!std::path::Path::new("/opt/kubeadm-rs-should-not-exist").exists());
        let first = bed.state().procs;
        assert_eq!(first.len(), 1, "{first:?}");
        // The process runs inside the node's network namespace.
        let ns = std::fs::read_link(format!("/proc/{}/ns/net", first[0].pid))?;
        let node_ns = std::fs::read_link(format!("/proc/{}/ns/net", n.holder().pid))?;
        assert_eq!(ns, node_ns);

        // Changed manifest: restarted with the new args.
        n.write_file("/etc/kubernetes/manifests/fake.yaml", manifest("3"))?;
        wait_for("fake restarted", Duration::from_secs(10), || {
            let t = std::fs::read_to_string(&log).map_err(|e| e.to_string())?;
            t.contains("fake args: --a=1 --b=3 env: bar").then_some(()).ok_or(t)
        })?;
        assert!(!first[0].is_alive(), "old process still alive");

        // A crashing container is restarted with backoff.
        n.write_file("/etc/kubernetes/manifests/crasher.yaml", CRASHER)?;
        let clog = bed.log_dir().join("node1/crasher.log");
        wait_for("crasher restarted", Duration::from_secs(15), || {
            let t = std::fs::read_to_string(&clog).map_err(|e| e.to_string())?;
            (t.matches("crashing").count() >= 2).then_some(()).ok_or(t)
        })?;
        // Half-written / invalid manifests are ignored until they parse.
        n.write_file("/etc/kubernetes/manifests/bad.yaml", "spec: [")?;

        // Removed manifests: stopped.
        std::fs::remove_file(n.host_path("/etc/kubernetes/manifests/fake.yaml"))?;
        std::fs::remove_file(n.host_path("/etc/kubernetes/manifests/crasher.yaml"))?;
        wait_for("all stopped", Duration::from_secs(10), || {
            let p = bed.state().procs;
            p.is_empty().then_some(()).ok_or(format!("{p:?}"))
        })?;
        let t = std::fs::read_to_string(&log)?;
        assert!(t.contains("runner: stopped"), "{t}");
        Ok(())
    })();
    if result.is_err() {
        eprintln!("{}", bed.log_tails(30));
    }
    result
}
