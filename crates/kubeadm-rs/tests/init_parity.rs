//! Object parity of the full `init` (issue 4): upstream kubeadm v1.37.2 `init` on one bed node,
//! kubeadm-rs `init` on another, with the same configuration (only the node IP differs; same node
//! name and bootstrap token). Then the API objects each cluster holds are compared.
//!
//! Neither node has a kubelet, so the test stands in for it as `init_e2e.rs` does: the bed's runner
//! starts the static Pods, socat answers `http://127.0.0.1:10248/healthz`, and a background thread
//! creates the Node object once the API server is up.
//!
//! Compared: ConfigMaps, Secrets, ServiceAccounts, Roles, RoleBindings, ClusterRoles,
//! ClusterRoleBindings, Services, Deployments and DaemonSets in all namespaces, keeping those some
//! client other than the API server, controller manager or scheduler wrote (managedFields): the
//! objects `init` creates or changes. The SET of (kind, namespace, name) must be equal and so must
//! the contents once generated values are normalized (see [`normalize`]); so must the Node's labels
//! and taints (the `node.kubernetes.io/*` taints of the node lifecycle controller aside).
//!
//! Needs root and the pinned components (`KUBEADM_RS_BIN_DIR`, or scripts/build-components.sh);
//! fails when they are missing, unless `KUBEADM_RS_SKIP_BED=1`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use kubeadm_testbed::{Bed, Node, bed_preflight, components, heavy_lock, wait_for};
use serde_json::Value;

const VERSION: &str = "v1.37.2";
const CONFIG_PATH: &str = "/run/kubeadm/kubeadm.yaml";
const TOKEN: &str = "abcdef.0123456789abcdef";
/// The node name both inits register (the bed's hostnames differ: node1, node2).
const NODE_NAME: &str = "parity-cp";
const KINDS: &str = "configmaps,secrets,serviceaccounts,roles,rolebindings,clusterroles,clusterrolebindings,services,deployments,daemonsets";
/// Field managers of the cluster's own components: what only they wrote exists in any cluster.
const SERVER_MANAGERS: [&str; 4] =
    ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "clusterrole-aggregation-controller"];

fn init_config(node: &Node) -> String {
    format!(
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nbootstrapTokens:\n- token: {TOKEN}\n\
         localAPIEndpoint:\n  advertiseAddress: {ip}\n  bindPort: 6443\nnodeRegistration:\n  name: {NODE_NAME}\n  \
         criSocket: unix:///run/containerd/containerd.sock\ntimeouts:\n  kubeletHealthCheck: 1m0s\n  controlPlaneComponentHealthCheck: 3m0s\n\
         ---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: {VERSION}\n",
        ip = node.ip(),
    )
}

fn get_json(bed: &Bed, n: &Node, args: &[&str]) -> Result<Value> {
    let mut all = vec!["get"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-o", "json"]);
    let out = bed.kubectl_ok(n, &all)?;
    serde_json::from_str(&out).with_context(|| format!("kubectl {all:?}: {out}"))
}

/// Creates the Node object (a kubelet would register it) once the API server answers.
fn create_node_when_api_is_up(bed: &Bed, n: &Node) -> Result<()> {
    let yaml = format!(
        "apiVersion: v1\nkind: Node\nmetadata:\n  name: {NODE_NAME}\n  labels:\n    kubernetes.io/hostname: {NODE_NAME}\n"
    );
    n.write_file("/run/kubeadm/node.yaml", yaml)?;
    wait_for("the Node object created", Duration::from_secs(240), || {
        let out = bed
            .kubectl_with(n, "/etc/kubernetes/super-admin.conf", &["apply", "-f", "/run/kubeadm/node.yaml"])
            .map_err(|e| e.to_string())?;
        out.status.success().then_some(()).ok_or_else(|| String::from_utf8_lossy(&out.stderr).into_owned())
    })?;
    Ok(())
}

/// Runs `init` with `kubeadm` (a binary path) on `n` with the kubelet stand-ins.
fn init_on(bed: &Bed, n: &Node, kubeadm: &Path, who: &str) -> Result<()> {
    n.write_file(CONFIG_PATH, init_config(n))?;
    n.write_file(
        "/run/kubeadm/healthz.sh",
        "printf 'HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok'\n",
    )?;
    let healthz = n.spawn(
        "/usr/bin/socat",
        ["TCP-LISTEN:10248,bind=127.0.0.1,fork,reuseaddr", "EXEC:/bin/sh /run/kubeadm/healthz.sh"],
        &[],
    )?;
    std::thread::scope(|s| -> Result<()> {
        bed.start_runner(n)?;
        let creator = s.spawn(|| create_node_when_api_is_up(bed, n));
        let out = n.exec(kubeadm, ["init", "--config", CONFIG_PATH, "--ignore-preflight-errors=all"], &[]);
        let created = creator.join().map_err(|_| anyhow::anyhow!("node creator panicked"))?;
        let out = out?;
        eprintln!(
            "[{who} init on {}] exit {:?}\n{}\n[stderr]\n{}",
            n.name(),
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        ensure!(out.status.success(), "{who} init failed");
        created
    })?;
    healthz.stop();
    // The bootstrap signer (controller manager) signs cluster-info for the token.
    wait_for(&format!("{who}: cluster-info signed"), Duration::from_secs(90), || {
        let ci = get_json(bed, n, &["configmap", "-n", "kube-public", "cluster-info"])
            .map_err(|e| e.to_string())?;
        ci["data"].get("jws-kubeconfig-abcdef").map(|_| ()).ok_or_else(|| ci.to_string())
    })?;
    Ok(())
}

type Key = (String, String, String);

/// Field managers of `obj` (needs `--show-managed-fields`).
fn managers(obj: &Value) -> Vec<String> {
    obj["metadata"]["managedFields"]
        .as_array()
        .map(|a| a.iter().filter_map(|m| m["manager"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// Every object of [`KINDS`] with its field managers.
fn collect_all(bed: &Bed, n: &Node) -> Result<BTreeMap<Key, (Vec<String>, Value)>> {
    let list = get_json(bed, n, &[KINDS, "-A", "--show-managed-fields"])?;
    let mut out = BTreeMap::new();
    for item in list["items"].as_array().context("items")? {
        let md = &item["metadata"];
        let key = (
            item["kind"].as_str().unwrap_or_default().to_owned(),
            md["namespace"].as_str().unwrap_or_default().to_owned(),
            md["name"].as_str().unwrap_or_default().to_owned(),
        );
        out.insert(key, (managers(item), item.clone()));
    }
    Ok(out)
}

/// The objects of [`KINDS`] some client other than the cluster's own components wrote. Prints,
/// for information, the other managers seen and, unasserted, which objects only the cluster's
/// components wrote in one cluster and not the other (timing-dependent: controllers).
fn collect(bed: &Bed, n: &Node) -> Result<BTreeMap<Key, Value>> {
    let all = collect_all(bed, n)?;
    let mut out = BTreeMap::new();
    let mut others = std::collections::BTreeSet::new();
    for (key, (managers, item)) in all {
        if managers.iter().all(|m| SERVER_MANAGERS.contains(&m.as_str())) {
            continue;
        }
        others.extend(managers.into_iter().filter(|m| !SERVER_MANAGERS.contains(&m.as_str())));
        out.insert(key, item);
    }
    eprintln!("{}: field managers of the compared objects besides the cluster's own: {others:?}", n.name());
    // A guard against filtering everything away (kubectl hides managedFields without the flag).
    let probe = ("ConfigMap".to_owned(), "kube-system".to_owned(), "kubeadm-config".to_owned());
    ensure!(out.contains_key(&probe), "{}: kubeadm-config not among the collected objects", n.name());
    Ok(out)
}

const CONFIG_HASH: &str = "kubeadm.kubernetes.io/component-config.hash";

/// Upstream's `ChecksumForConfigMap`: sha256 over the `data` values in key order (the keys are not
/// hashed; `binaryData`, which kubeadm's ConfigMaps don't have, is not handled), via `sha256sum`.
fn config_map_checksum(cm: &Value) -> Result<String> {
    use std::io::Write as _;
    let mut buf = Vec::new();
    if let Some(d) = cm["data"].as_object() {
        let sorted: BTreeMap<&String, &Value> = d.iter().collect();
        for v in sorted.values() {
            buf.extend_from_slice(v.as_str().unwrap_or_default().as_bytes());
        }
    }
    ensure!(cm.get("binaryData").is_none(), "binaryData in {}", cm["metadata"]["name"]);
    let mut child = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("sha256sum")?;
    child.stdin.take().context("stdin")?.write_all(&buf)?;
    let out = child.wait_with_output()?;
    let hex = String::from_utf8_lossy(&out.stdout);
    Ok(format!("sha256:{}", hex.split_whitespace().next().unwrap_or_default()))
}

/// Checks every `component-config.hash` annotation against its ConfigMap's data (it covers the
/// node IP in kube-proxy's kubeconfig.conf, so it is then compared as a placeholder).
fn check_config_hashes(objs: &BTreeMap<Key, Value>, who: &str) -> Result<()> {
    for (k, v) in objs {
        let Some(h) = v["metadata"]["annotations"][CONFIG_HASH].as_str() else { continue };
        let want = config_map_checksum(v)?;
        ensure!(h == want, "{who}: {} has {CONFIG_HASH} {h}, its data hashes to {want}", key_str(k));
    }
    Ok(())
}

/// Replaces generated values in every string: PEM blocks and base64 PEM, the node IP, JWS
/// signatures (in `jws-kubeconfig-*` values), expiration timestamps.
fn normalize_str(s: &str, ip: &str) -> String {
    let mut s = s.replace(ip, "<NODE_IP>");
    // PEM text.
    while let Some(b) = s.find("-----BEGIN ") {
        let Some(e) = s[b..].find("-----END ") else { break };
        let e = b + e;
        let end = s[e + 9..].find("-----").map(|i| e + 9 + i + 5).unwrap_or(s.len());
        s.replace_range(b..end, "<PEM>");
    }
    // base64 of "-----BEGIN" (certificate-authority-data etc.).
    while let Some(b) = s.find("LS0tLS1CRUdJTi") {
        let end = s[b..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '+' || c == '/' || c == '='))
            .map(|i| b + i)
            .unwrap_or(s.len());
        s.replace_range(b..end, "<PEM_B64>");
    }
    s
}

fn walk(v: &mut Value, ip: &str) {
    match v {
        Value::String(s) => *s = normalize_str(s, ip),
        Value::Array(a) => a.iter_mut().for_each(|x| walk(x, ip)),
        Value::Object(o) => o.values_mut().for_each(|x| walk(x, ip)),
        _ => {}
    }
}

/// `manager operation subresource` of each managedFields entry of a client other than the
/// cluster's own components, sorted.
fn writers(managed_fields: Option<&Value>) -> Vec<String> {
    let mut w: Vec<String> = managed_fields
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter(|m| !SERVER_MANAGERS.contains(&m["manager"].as_str().unwrap_or_default()))
                .map(|m| format!("{} {} {}", m["manager"], m["operation"], m["subresource"]))
                .collect()
        })
        .unwrap_or_default();
    w.sort();
    w.dedup();
    w
}

/// `2026-11-29T15:53:48Z`: the shape of a bootstrap token's `expiration`.
fn is_rfc3339_utc(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 20
        && b[10] == b'T'
        && b[19] == b'Z'
        && b.iter().enumerate().all(|(i, c)| matches!(i, 4 | 7 | 10 | 13 | 16 | 19) || c.is_ascii_digit())
}

/// Normalizes one object for comparison: server-set metadata and status dropped, Secret data
/// decoded, generated values replaced by placeholders.
fn normalize(mut obj: Value, ip: &str) -> Value {
    let kind = obj["kind"].as_str().unwrap_or_default().to_owned();
    let name = obj["metadata"]["name"].as_str().unwrap_or_default().to_owned();
    if let Some(o) = obj.as_object_mut() {
        o.remove("status");
    }
    if let Some(md) = obj["metadata"].as_object_mut() {
        // managedFields: only who wrote the object, the cluster's own components aside (their
        // status updates are timing-dependent): `kubeadm`/Update for upstream.
        let writers = writers(md.get("managedFields"));
        md.insert("x-writers".into(), serde_json::json!(writers));
        for k in ["uid", "resourceVersion", "creationTimestamp", "managedFields", "generation", "selfLink"] {
            md.remove(k);
        }
        if let Some(a) = md.get_mut("annotations").and_then(Value::as_object_mut) {
            for k in [
                "deployment.kubernetes.io/revision",
                "deprecated.daemonset.template.generation",
                "kubectl.kubernetes.io/last-applied-configuration",
            ] {
                a.remove(k);
            }
            if a.contains_key(CONFIG_HASH) {
                a.insert(CONFIG_HASH.into(), Value::String("<CHECKED_HASH>".into()));
            }
            if a.is_empty() {
                md.remove("annotations");
            }
        }
    }
    if kind == "Secret"
        && let Some(d) = obj.get_mut("data").and_then(Value::as_object_mut)
    {
        use base64::Engine as _;
        for (k, v) in d.iter_mut() {
            let raw = base64::engine::general_purpose::STANDARD.decode(v.as_str().unwrap_or_default());
            let text = raw.ok().and_then(|b| String::from_utf8(b).ok());
            *v = match (k.as_str(), text) {
                ("expiration", Some(t)) if is_rfc3339_utc(&t) => Value::String("<EXPIRATION>".into()),
                (_, Some(t)) => Value::String(t),
                (_, None) => Value::String("<BINARY>".into()),
            };
        }
    }
    if kind == "ConfigMap"
        && name == "cluster-info"
        && let Some(d) = obj.get_mut("data").and_then(Value::as_object_mut)
    {
        for (k, v) in d.iter_mut() {
            if k.starts_with("jws-kubeconfig-") {
                *v = Value::String("<JWS>".into());
            }
        }
    }
    if kind == "Service"
        && name != "kube-dns"
        && let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut)
    {
        for k in ["clusterIP", "clusterIPs"] {
            if spec.contains_key(k) {
                spec.insert(k.into(), Value::String("<CLUSTER_IP>".into()));
            }
        }
    }
    walk(&mut obj, ip);
    obj
}

/// The Node's labels and its taints other than the lifecycle controller's `node.kubernetes.io/*`.
fn node_view(bed: &Bed, n: &Node) -> Result<Value> {
    let node = get_json(bed, n, &["node", NODE_NAME, "--show-managed-fields"])?;
    let taints: Vec<Value> = node["spec"]["taints"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|t| !t["key"].as_str().unwrap_or_default().starts_with("node.kubernetes.io/"))
        .map(|mut t| {
            if let Some(o) = t.as_object_mut() {
                o.remove("timeAdded");
            }
            t
        })
        .collect();
    let mut v = serde_json::json!({
        "labels": node["metadata"]["labels"],
        "taints": taints,
        "x-writers": writers(node["metadata"].get("managedFields")),
    });
    walk(&mut v, &n.ip().to_string());
    Ok(v)
}

fn key_str(k: &Key) -> String {
    if k.1.is_empty() { format!("{}/{}", k.0, k.2) } else { format!("{} {}/{}", k.0, k.1, k.2) }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default() + "\n"
}

fn compare(bed: &Bed, up: &Node, rs: &Node) -> Result<()> {
    let a = collect(bed, up)?;
    let b = collect(bed, rs)?;
    let (ip_a, ip_b) = (up.ip().to_string(), rs.ip().to_string());
    check_config_hashes(&a, "upstream")?;
    check_config_hashes(&b, "kubeadm-rs")?;
    let mut report = String::new();
    let only_up: Vec<String> = a.keys().filter(|k| !b.contains_key(*k)).map(key_str).collect();
    let only_rs: Vec<String> = b.keys().filter(|k| !a.contains_key(*k)).map(key_str).collect();
    if !only_up.is_empty() {
        report += &format!("objects upstream creates and kubeadm-rs does not:\n  {}\n", only_up.join("\n  "));
    }
    if !only_rs.is_empty() {
        report += &format!("objects kubeadm-rs creates and upstream does not:\n  {}\n", only_rs.join("\n  "));
    }
    let server_only = |n: &Node, kept: &BTreeMap<Key, Value>| -> Result<Vec<Key>> {
        Ok(collect_all(bed, n)?.into_keys().filter(|k| !kept.contains_key(k)).collect())
    };
    let (sa, sb) = (server_only(up, &a)?, server_only(rs, &b)?);
    let only: Vec<String> = sa
        .iter()
        .filter(|k| !sb.contains(k))
        .map(|k| format!("upstream only: {}", key_str(k)))
        .chain(sb.iter().filter(|k| !sa.contains(k)).map(|k| format!("kubeadm-rs only: {}", key_str(k))))
        .collect();
    eprintln!("(not asserted) objects only the cluster's components wrote, in one cluster only: {only:?}");
    let mut compared = 0;
    for (k, va) in &a {
        let Some(vb) = b.get(k) else { continue };
        compared += 1;
        let (na, nb) = (pretty(&normalize(va.clone(), &ip_a)), pretty(&normalize(vb.clone(), &ip_b)));
        if std::env::var_os("PARITY_DUMP").is_some() {
            eprintln!("{} (upstream, normalized): {na}", key_str(k));
        }
        if na != nb {
            let d = similar::TextDiff::from_lines(&na, &nb)
                .unified_diff()
                .header("upstream", "kubeadm-rs")
                .to_string();
            report += &format!("{} differs:\n{d}\n", key_str(k));
        }
    }
    let (na, nb) = (pretty(&node_view(bed, up)?), pretty(&node_view(bed, rs)?));
    eprintln!("Node {NODE_NAME} (upstream, normalized): {na}");
    if na != nb {
        let d = similar::TextDiff::from_lines(&na, &nb)
            .unified_diff()
            .header("upstream", "kubeadm-rs")
            .to_string();
        report += &format!("Node {NODE_NAME} labels/taints differ:\n{d}\n");
    }
    eprintln!(
        "compared {compared} objects present in both ({} upstream, {} kubeadm-rs):\n  {}",
        a.len(),
        b.len(),
        a.keys().map(key_str).collect::<Vec<_>>().join("\n  ")
    );
    if !report.is_empty() {
        bail!("object parity (upstream {} vs kubeadm-rs {}):\n{report}", up.name(), rs.name());
    }
    Ok(())
}

fn parity(bed: &Bed) -> Result<()> {
    let (up, rs) = (bed.node(0), bed.node(1));
    init_on(bed, up, &components::bin("kubeadm")?, "upstream")?;
    init_on(bed, rs, Path::new(env!("CARGO_BIN_EXE_kubeadm-rs")), "kubeadm-rs")?;
    compare(bed, up, rs)
}

#[test]
fn init_objects_match_upstream() -> Result<()> {
    if bed_preflight()? {
        return Ok(());
    }
    let _serial = heavy_lock()?;
    let bed = Bed::builder().name("krs-parity").nodes(2).start()?;
    let r = parity(&bed);
    if r.is_err() {
        eprintln!("===== component log tails =====\n{}", bed.log_tails(40));
    }
    r
}
