//! Steps the control-plane tests share: the `init` configuration for a bed node, upstream
//! kubeadm's offline `init` phases, and what is checked or done once the runner has started the
//! control plane (`/readyz`, the `kubeadm:cluster-admins` binding, the system namespaces).
//!
//! ```no_run
//! use std::time::Duration;
//! use kubeadm_testbed::{Bed, controlplane};
//! let bed = Bed::builder().name("cp").nodes(1).start()?;
//! let n1 = bed.node(0);
//! n1.write_file(controlplane::CONFIG_PATH, controlplane::init_config(n1, "v1.37.2"))?;
//! controlplane::upstream_offline_phases(n1, controlplane::CONFIG_PATH)?;
//! bed.start_runner(n1)?;
//! controlplane::wait_readyz(&bed, n1, Duration::from_secs(120))?;
//! controlplane::bind_cluster_admins(&bed, n1)?;
//! controlplane::wait_system_namespaces(&bed, n1)?;
//! # Ok::<(), kubeadm_testbed::Error>(())
//! ```

use std::time::Duration;

use crate::{Bed, Node, NodeProcess, Result, components, procs, wait_for};

/// Where the tests write the kubeadm configuration inside a node.
pub const CONFIG_PATH: &str = "/run/kubeadm/kubeadm.yaml";

/// Upstream `kubeadm init phase ...` runs that write everything a control plane needs without
/// an API server: certificates, kubeconfigs, and the etcd and control-plane static Pod manifests.
pub const OFFLINE_PHASES: [&[&str]; 4] =
    [&["certs", "all"], &["kubeconfig", "all"], &["etcd", "local"], &["control-plane", "all"]];

/// The static Pods of a control plane with local etcd, as named in
/// `/etc/kubernetes/manifests/<name>.yaml`.
pub const STATIC_PODS: [&str; 4] = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"];

/// The namespaces the API server creates by itself.
pub const SYSTEM_NAMESPACES: [&str; 4] = ["default", "kube-node-lease", "kube-public", "kube-system"];

/// How long [`wait_system_namespaces`] waits.
pub const SYSTEM_NAMESPACES_TIMEOUT: Duration = Duration::from_secs(60);

/// A minimal v1beta4 `InitConfiguration` + `ClusterConfiguration` for `node`: advertise the
/// node's bridge IP on port 6443, register under the node's name with containerd's socket, and
/// pin `kubernetesVersion` to `version`.
pub fn init_config(node: &Node, version: &str) -> String {
    init_config_with(node, version, "", "")
}

/// [`init_config`] with more YAML: `init_extra` is appended to the `InitConfiguration` document
/// and `cluster_extra` to the `ClusterConfiguration` one (top-level keys, each line ending in a
/// newline), e.g. `bootstrapTokens` or `networking`.
pub fn init_config_with(node: &Node, version: &str, init_extra: &str, cluster_extra: &str) -> String {
    format!(
        r#"apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: {ip}
  bindPort: 6443
nodeRegistration:
  name: {name}
  criSocket: unix:///run/containerd/containerd.sock
{init_extra}---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: {version}
{cluster_extra}"#,
        ip = node.ip(),
        name = node.name()
    )
}

/// Runs the pinned upstream kubeadm with `args` in `node`; fails unless it exits 0, returns its
/// stdout.
pub fn upstream_kubeadm(node: &Node, args: &[&str]) -> Result<String> {
    let kubeadm = components::bin("kubeadm")?;
    node.exec_ok(&kubeadm, args, &[])
}

/// Runs upstream `kubeadm init phase <phase> --config <config_path>` in `node` for each of
/// [`OFFLINE_PHASES`], in order, printing each phase's output to stderr.
pub fn upstream_offline_phases(node: &Node, config_path: &str) -> Result<()> {
    for phase in OFFLINE_PHASES {
        let mut args = vec!["init", "phase"];
        args.extend_from_slice(phase);
        args.extend_from_slice(&["--config", config_path]);
        let out = upstream_kubeadm(node, &args)?;
        eprintln!("[kubeadm init phase {}]\n{out}", phase.join(" "));
    }
    Ok(())
}

/// Waits up to `timeout` for `kubectl get --raw /readyz` (admin.conf, in `node`) to print `ok`.
pub fn wait_readyz(bed: &Bed, node: &Node, timeout: Duration) -> Result<()> {
    wait_for(&format!("{} /readyz = ok", node.name()), timeout, || {
        let out = bed.kubectl_ok(node, &["get", "--raw", "/readyz"]).map_err(|e| e.to_string())?;
        (out.trim() == "ok").then_some(()).ok_or(out)
    })
}

/// What `kubeadm init` does once the control plane is up (not a phase of its own): binds
/// admin.conf's group `kubeadm:cluster-admins` to the `cluster-admin` ClusterRole, using
/// `/etc/kubernetes/super-admin.conf` in `node` (admin.conf is not authorized before).
pub fn bind_cluster_admins(bed: &Bed, node: &Node) -> Result<()> {
    let args = [
        "create",
        "clusterrolebinding",
        "kubeadm:cluster-admins",
        "--clusterrole=cluster-admin",
        "--group=kubeadm:cluster-admins",
    ];
    let out = bed.kubectl_with(node, "/etc/kubernetes/super-admin.conf", &args)?;
    let what =
        format!("[{}] kubectl --kubeconfig=/etc/kubernetes/super-admin.conf {}", node.name(), args.join(" "));
    procs::check_output(&what, out).map(drop)
}

/// Waits up to [`SYSTEM_NAMESPACES_TIMEOUT`] until `kubectl get ns` (admin.conf, in `node`)
/// lists every one of [`SYSTEM_NAMESPACES`].
pub fn wait_system_namespaces(bed: &Bed, node: &Node) -> Result<()> {
    wait_for("system namespaces", SYSTEM_NAMESPACES_TIMEOUT, || {
        let out = bed.kubectl_ok(node, &["get", "ns", "-o", "name"]).map_err(|e| e.to_string())?;
        let missing: Vec<&str> = SYSTEM_NAMESPACES
            .into_iter()
            .filter(|ns| !out.lines().any(|l| l.trim() == format!("namespace/{ns}")))
            .collect();
        missing.is_empty().then_some(()).ok_or(format!("missing {missing:?} in:\n{out}"))
    })
}

/// Where [`start_kubelet_healthz`] and [`register_node_when_api_is_up`] keep their files in a node.
const STANDIN_DIR: &str = "/run/kubeadm";

/// Stands in for the kubelet's health endpoint on a node that has no kubelet: socat answers
/// `http://127.0.0.1:10248/healthz` with `200 ok` inside the node's network namespace, which is
/// what `kubeadm init` waits for before it checks the control plane. Dropping the returned handle
/// stops it.
pub fn start_kubelet_healthz(node: &Node) -> Result<NodeProcess> {
    // A script file: socat's SYSTEM: address would mangle the \r\n escapes.
    let script = format!("{STANDIN_DIR}/healthz.sh");
    // The script reads the request up to its blank line before answering: answering and closing
    // at once makes the kernel reset a request that arrives after the close (a loaded machine),
    // and kubeadm's kubelet check then retries 500 ms later.
    node.write_file(
        &script,
        "cr=$(printf '\\r')\nwhile IFS= read -r l; do case \"$l\" in ''|\"$cr\") break;; esac; done\n\
         printf 'HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok'\n",
    )?;
    node.spawn(
        "/usr/bin/socat",
        ["TCP-LISTEN:10248,bind=127.0.0.1,fork,reuseaddr".to_string(), format!("EXEC:/bin/sh {script}")],
        &[],
    )
}

/// Registers the node's Node object, as its kubelet would, as soon as the API server accepts it
/// (`kubectl apply` with super-admin.conf, retried until `timeout`), so that `mark-control-plane`
/// finds it. Meant to run in a thread beside `kubeadm init`.
pub fn register_node_when_api_is_up(bed: &Bed, node: &Node, timeout: Duration) -> Result<()> {
    register_node_as(bed, node, "/etc/kubernetes/super-admin.conf", timeout)
}

/// Registers the node's Node object (`kubectl apply`, retried until `timeout`) with `kubeconfig`,
/// a path inside `node`: super-admin.conf, or the node's own `/etc/kubernetes/kubelet.conf` on a
/// joined node (the NodeRestriction admission plugin lets a node create its own Node object, as
/// its kubelet does when it registers).
pub fn register_node_as(bed: &Bed, node: &Node, kubeconfig: &str, timeout: Duration) -> Result<()> {
    let manifest = format!("{STANDIN_DIR}/node.yaml");
    let yaml = format!(
        "apiVersion: v1\nkind: Node\nmetadata:\n  name: {n}\n  labels:\n    kubernetes.io/hostname: {n}\n",
        n = node.name()
    );
    node.write_file(&manifest, yaml)?;
    wait_for("the Node object created", timeout, || {
        let out =
            bed.kubectl_with(node, kubeconfig, &["apply", "-f", &manifest]).map_err(|e| e.to_string())?;
        out.status.success().then_some(()).ok_or_else(|| String::from_utf8_lossy(&out.stderr).into_owned())
    })
}

/// Runs `init` (a `kubeadm init` on `node`) beside the stand-ins a kubelet would otherwise
/// provide once the manifests are written: the bed's runner starts the static Pods, and a thread
/// registers the Node object as soon as the API server accepts it (waiting up to `node_timeout`).
/// The kubelet's health endpoint is the caller's to start ([`start_kubelet_healthz`]), since it
/// must outlive this call for later `init` runs. Returns what `init` returned, after the
/// registration thread has finished; `init`'s own error wins over the registration's.
pub fn init_beside_node_registration<T, E: From<crate::Error>>(
    bed: &Bed,
    node: &Node,
    node_timeout: Duration,
    init: impl FnOnce() -> std::result::Result<T, E>,
) -> std::result::Result<T, E> {
    // The runner watches the manifest directory: it starts the Pods as soon as init writes them.
    bed.start_runner(node)?;
    std::thread::scope(|s| {
        let registrar = s.spawn(|| register_node_when_api_is_up(bed, node, node_timeout));
        let out = init();
        let registered = registrar
            .join()
            .map_err(|_| crate::Error::Invalid("the Node registration thread panicked".into()))?;
        let out = out?;
        registered?;
        Ok(out)
    })
}

/// Upstream kubeadm on `node` with `args`, killed after `timeout`: (exit success, stdout and
/// stderr). The output is also printed, for the test log.
pub fn upstream_kubeadm_bounded(node: &Node, args: &[String], timeout: Duration) -> Result<(bool, String)> {
    let kubeadm = components::bin("kubeadm")?;
    let out = node.exec_timeout(&kubeadm, args, &[], timeout)?;
    let text = format!(
        "{}\n[stderr]\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("===== upstream kubeadm {} (exit {:?}) =====\n{text}", args.join(" "), out.status.code());
    Ok((out.status.success(), text))
}

/// The bootstrap token the bed's `init` configurations create ([`api_init_config`]).
pub const TEST_TOKEN: &str = "abcdef.0123456789abcdef";

/// [`init_config_with`] for a full `kubeadm init` on the bed: the bootstrap token [`TEST_TOKEN`],
/// and health-check timeouts that leave a loaded 2-core machine time (`kubeletHealthCheck` 1m,
/// `controlPlaneComponentHealthCheck` 3m).
pub fn api_init_config(node: &Node, version: &str) -> String {
    let init_extra = format!(
        "bootstrapTokens:\n- token: {TEST_TOKEN}\ntimeouts:\n  kubeletHealthCheck: 1m0s\n  \
         controlPlaneComponentHealthCheck: 3m0s\n"
    );
    init_config_with(node, version, &init_extra, "")
}

/// How long [`full_init`] lets `kubeadm init` run before killing it.
pub const FULL_INIT_TIMEOUT: Duration = Duration::from_secs(600);

/// A full `kubeadm init --config <CONFIG_PATH> --ignore-preflight-errors=all <extra>` on `node`
/// with the binary `kubeadm` (upstream's or kubeadm-rs's), `config` written to [`CONFIG_PATH`]
/// first, beside the kubelet stand-ins: the health endpoint ([`start_kubelet_healthz`], stopped
/// when init returns), the runner and the Node registration ([`init_beside_node_registration`],
/// waiting up to `node_timeout`). Returns init's stdout (also printed, with stderr, for the test
/// log); fails with both when init exits non-zero, or after [`FULL_INIT_TIMEOUT`].
pub fn full_init(
    bed: &Bed,
    node: &Node,
    kubeadm: &std::path::Path,
    config: &str,
    extra: &[&str],
    node_timeout: Duration,
) -> Result<String> {
    node.write_file(CONFIG_PATH, config)?;
    let _healthz = start_kubelet_healthz(node)?;
    let mut args = vec!["init", "--config", CONFIG_PATH, "--ignore-preflight-errors=all"];
    args.extend_from_slice(extra);
    let out = init_beside_node_registration(bed, node, node_timeout, || {
        node.exec_timeout(kubeadm, &args, &[], FULL_INIT_TIMEOUT)
    })?;
    eprintln!(
        "===== [{}] {} {} (exit {:?}) =====\n{}\n[stderr]\n{}",
        node.name(),
        kubeadm.display(),
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    procs::check_output(&format!("[{}] {} {}", node.name(), kubeadm.display(), args.join(" ")), out)
}

/// The worker join command `kubeadm init` (or `token create --print-join-command`) prints:
/// `kubeadm join <endpoint> --token <token> --discovery-token-ca-cert-hash <hash>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinCommand {
    /// `<host>:<port>` of the API server.
    pub endpoint: String,
    /// The bootstrap token, `<id>.<secret>`.
    pub token: String,
    /// The CA pin, `sha256:<hex>`.
    pub ca_cert_hash: String,
}

impl JoinCommand {
    /// Finds the first worker join command (one without `--control-plane`) in `text`; the line
    /// continuations (`\` + newline + tab) of init's output are allowed.
    pub fn parse(text: &str) -> Option<Self> {
        text.split("kubeadm join ").skip(1).find_map(|rest| {
            let words: Vec<&str> =
                rest.split_whitespace().take_while(|w| *w != "kubeadm").filter(|w| *w != "\\").collect();
            if words.contains(&"--control-plane") {
                return None;
            }
            let value = |flag: &str| {
                let i = words.iter().position(|w| *w == flag)?;
                words.get(i + 1).map(|v| (*v).to_string())
            };
            let endpoint = words.first().filter(|w| !w.starts_with('-'))?.to_string();
            Some(Self {
                endpoint,
                token: value("--token")?,
                ca_cert_hash: value("--discovery-token-ca-cert-hash")?,
            })
        })
    }

    /// The token's public part, as in `jws-kubeconfig-<id>` and `system:bootstrap:<id>`.
    pub fn token_id(&self) -> &str {
        self.token.split('.').next().unwrap_or_default()
    }

    /// The command's arguments after the program name: `join <endpoint> --token <token>
    /// --discovery-token-ca-cert-hash <hash>`.
    pub fn args(&self) -> Vec<String> {
        ["join", &self.endpoint, "--token", &self.token, "--discovery-token-ca-cert-hash", &self.ca_cert_hash]
            .map(String::from)
            .to_vec()
    }

    /// [`JoinCommand::args`] for a control-plane node: plus `--control-plane --certificate-key
    /// <key> --apiserver-advertise-address <node's IP>`.
    pub fn control_plane_args(&self, certificate_key: &str, node: &Node) -> Vec<String> {
        let mut args = self.args();
        args.extend(
            ["--control-plane", "--certificate-key", certificate_key, "--apiserver-advertise-address"]
                .map(String::from),
        );
        args.push(node.ip().to_string());
        args
    }
}

/// The value after `--certificate-key` in `text` (init's output with `--upload-certs`, or a printed
/// control-plane join command); line continuations (`\`) are skipped.
pub fn certificate_key(text: &str) -> Option<String> {
    let words: Vec<&str> = text.split_whitespace().filter(|w| *w != "\\").collect();
    let i = words.iter().position(|w| *w == "--certificate-key")?;
    words.get(i + 1).map(|s| (*s).to_string())
}

/// `kubectl get <args> -o json` in `node` with `kubeconfig` (a path inside the node), parsed.
pub fn kubectl_json(bed: &Bed, node: &Node, kubeconfig: &str, args: &[&str]) -> Result<serde_json::Value> {
    let mut all = vec!["get"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-o", "json"]);
    let what = format!("[{}] kubectl --kubeconfig={kubeconfig} {}", node.name(), all.join(" "));
    let out = procs::check_output(&what, bed.kubectl_with(node, kubeconfig, &all)?)?;
    serde_json::from_str(&out).map_err(|e| crate::Error::Invalid(format!("{what}: {e}:\n{out}")))
}

/// Waits up to `timeout` until the controller-manager's bootstrap signer has signed the
/// cluster-info ConfigMap for the token `token_id` (`data.jws-kubeconfig-<id>`, read with
/// admin.conf in `node`): join discovery needs that signature.
pub fn wait_cluster_info_signed(bed: &Bed, node: &Node, token_id: &str, timeout: Duration) -> Result<()> {
    let key = format!("jws-kubeconfig-{token_id}");
    wait_for(&format!("{key} in cluster-info"), timeout, || {
        let ci = kubectl_json(
            bed,
            node,
            crate::bed::ADMIN_CONF,
            &["configmap", "-n", "kube-public", "cluster-info"],
        )
        .map_err(|e| e.to_string())?;
        ci["data"].get(&key).map(drop).ok_or_else(|| ci.to_string())
    })
}

/// Stands in for the mirror Pod the kubelet would create for `node`'s static Pod `component`
/// (e.g. `etcd`): the manifest from the node's `/etc/kubernetes/manifests/<component>.yaml`,
/// named `<component>-<node>` and bound to the node, created in kube-system with admin.conf from
/// `admin_node`. kubeadm finds the stacked etcd members through these Pods' annotations
/// (`kubeadm.kubernetes.io/etcd.advertise-client-urls`), so a control-plane join needs them.
pub fn register_mirror_pod(bed: &Bed, node: &Node, admin_node: &Node, component: &str) -> Result<()> {
    let manifest = node.read_file(format!("/etc/kubernetes/manifests/{component}.yaml"))?;
    let mut pod: serde_json::Value = serde_yaml::from_str(&manifest)
        .map_err(|e| crate::Error::Invalid(format!("[{}] {component}.yaml: {e}", node.name())))?;
    pod["metadata"]["name"] = serde_json::json!(format!("{component}-{}", node.name()));
    pod["metadata"]["namespace"] = serde_json::json!("kube-system");
    pod["metadata"]["annotations"]["kubernetes.io/config.mirror"] = serde_json::json!("bed-stand-in");
    pod["spec"]["nodeName"] = serde_json::json!(node.name());
    let path = format!("{STANDIN_DIR}/mirror-{component}-{}.json", node.name());
    admin_node.write_file(&path, pod.to_string())?;
    let what = format!("[{}] mirror Pod {component}-{}", admin_node.name(), node.name());
    procs::check_output(
        &what,
        bed.kubectl_with(admin_node, crate::bed::ADMIN_CONF, &["apply", "-f", &path])?,
    )?;
    Ok(())
}

/// The TLS flags of the bed's etcdctl in a kubeadm stacked-etcd node: the etcd CA and the
/// `etcd/healthcheck-client` identity kubeadm writes on every control-plane node.
pub const ETCDCTL_TLS: [&str; 3] = [
    "--cacert=/etc/kubernetes/pki/etcd/ca.crt",
    "--cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt",
    "--key=/etc/kubernetes/pki/etcd/healthcheck-client.key",
];

/// How long [`etcdctl`] lets one etcdctl run.
pub const ETCDCTL_TIMEOUT: Duration = Duration::from_secs(30);

/// The pinned etcdctl in `node` against `endpoints` (`https://<ip>:2379`, comma-joined) with
/// [`ETCDCTL_TLS`] and `args` (e.g. `member list -w json`), killed after [`ETCDCTL_TIMEOUT`].
/// Whatever its exit status, returns its output.
pub fn etcdctl(node: &Node, endpoints: &[String], args: &[&str]) -> Result<std::process::Output> {
    let bin = components::bin("etcdctl")?;
    let ep = format!("--endpoints={}", endpoints.join(","));
    let mut all = vec![ep.as_str()];
    all.extend_from_slice(&ETCDCTL_TLS);
    all.extend_from_slice(args);
    node.exec_timeout(bin, all, &[], ETCDCTL_TIMEOUT)
}

/// The etcd client URL of a stacked-etcd member on `node` (`https://<node ip>:2379`).
pub fn etcd_client_url(node: &Node) -> String {
    format!("https://{}:2379", node.ip())
}

/// `etcdctl member list -w json` against `node`'s own etcd member: the `members` array (each
/// with `ID`, `name` (empty while not started), `peerURLs`, `clientURLs`, `isLearner`).
pub fn etcd_member_list(node: &Node) -> Result<Vec<serde_json::Value>> {
    let what = format!("[{}] etcdctl member list", node.name());
    let out = procs::check_output(
        &what,
        etcdctl(node, &[etcd_client_url(node)], &["member", "list", "-w", "json"])?,
    )?;
    let v: serde_json::Value =
        serde_json::from_str(&out).map_err(|e| crate::Error::Invalid(format!("{what}: {e}:\n{out}")))?;
    Ok(v["members"].as_array().cloned().unwrap_or_default())
}

/// `kubectl auth whoami` in `node` with `kubeconfig` (a path inside the node) must be the node's
/// identity: `system:node:<name>` in the `system:nodes` group.
pub fn check_node_identity(bed: &Bed, node: &Node, kubeconfig: &str) -> Result<()> {
    let what = format!("[{}] kubectl --kubeconfig={kubeconfig} auth whoami", node.name());
    let text =
        procs::check_output(&what, bed.kubectl_with(node, kubeconfig, &["auth", "whoami", "-o", "json"])?)?;
    let review: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| crate::Error::Invalid(format!("{what}: {e}: {text}")))?;
    let user = &review["status"]["userInfo"];
    let groups = user["groups"].as_array().cloned().unwrap_or_default();
    if user["username"] != format!("system:node:{}", node.name())
        || !groups.iter().any(|g| g == "system:nodes")
    {
        return Err(crate::Error::Invalid(format!("{what}: not the node's identity: {review}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::JoinCommand;

    const HASH: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn parses_the_worker_join_command_of_init_and_print_join_command() {
        let want = JoinCommand {
            endpoint: "10.233.7.11:6443".into(),
            token: "abcdef.0123456789abcdef".into(),
            ca_cert_hash: HASH.into(),
        };
        let init = format!(
            "You can now join any number of control-plane nodes by running the following command on each as root:\n\n  \
             kubeadm join 10.233.7.11:6443 --token abcdef.0123456789abcdef \\\n\t--discovery-token-ca-cert-hash {HASH} \\\n\t\
             --control-plane --certificate-key 00ff\n\nThen you can join any number of worker nodes by running the following on each as root:\n\n\
             kubeadm join 10.233.7.11:6443 --token abcdef.0123456789abcdef \\\n\t--discovery-token-ca-cert-hash {HASH} \n"
        );
        assert_eq!(JoinCommand::parse(&init), Some(want.clone()));
        let printed = format!(
            "kubeadm join 10.233.7.11:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash {HASH} \n"
        );
        let cmd = JoinCommand::parse(&printed).expect("parsed");
        assert_eq!(cmd, want);
        assert_eq!(cmd.token_id(), "abcdef");
        assert_eq!(cmd.args()[..2], ["join".to_string(), "10.233.7.11:6443".to_string()]);
        assert_eq!(JoinCommand::parse("kubeadm join --token x"), None);
        assert_eq!(JoinCommand::parse("no command here"), None);
    }
}
