//! `kubeadm-rs token create|list|delete` and upload-certs against a real control plane, with
//! upstream kubeadm v1.37.2 as the oracle on the same cluster.
//!
//! Upstream kubeadm writes the offline half of `init` on node 1 and the runner starts etcd and
//! the control plane; admin.conf's group is bound with super-admin.conf. Then, inside the node:
//! * `kubeadm-rs token create` (explicit token, flags; generated token) prints the token, a
//!   duplicate ID fails, `--certificate-key` without `--print-join-command` fails;
//! * `token create --print-join-command` prints the same command shape and CA pin as upstream's
//!   `kubeadm token create --print-join-command`, and the printed token authenticates as
//!   `system:bootstrap:<id>` (`kubectl auth whoami`);
//! * `token list` (text, json, yaml) is byte-identical to upstream's on the same cluster;
//! * `token delete` by ID and by full token.
//!
//! Upload-certs (from the test process, over the bed's bridge): our `upload_certs` writes the
//! Secret, owner reference and RBAC as upstream; our `download_certs` decrypts both our upload and
//! the one upstream `kubeadm init phase upload-certs --upload-certs --certificate-key` wrote,
//! byte-identical to the node's files.
//!
//! Needs root and the pinned components (`KUBEADM_RS_BIN_DIR`); skipped with
//! `KUBEADM_RS_SKIP_BED=1`.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail, ensure};
use kubeadm_cluster::{ApiTimeouts, client, copycerts};
use kubeadm_testbed::controlplane::{
    CONFIG_PATH, bind_cluster_admins, init_config, upstream_kubeadm, upstream_offline_phases, wait_readyz,
    wait_system_namespaces,
};
use kubeadm_testbed::{Bed, Node, bed_preflight, heavy_lock};
use serde_json::Value;

const VERSION: &str = "v1.37.2";
const TOKEN_A: &str = "abcdef.0123456789abcdef";
const TOKEN_B: &str = "bbbbbb.0123456789abcdef";

fn ours(node: &Node, args: &[&str]) -> Result<std::process::Output> {
    let bin = Path::new(env!("CARGO_BIN_EXE_kubeadm-rs"));
    let mut a = vec!["--kubeconfig", "/etc/kubernetes/admin.conf"];
    // `--kubeconfig` is a flag of `token`: put it after the subcommand name.
    let mut full: Vec<&str> = vec![args[0]];
    full.append(&mut a);
    full.extend_from_slice(&args[1..]);
    Ok(node.exec(bin, &full, &[])?)
}

fn ours_ok(node: &Node, args: &[&str]) -> Result<String> {
    let out = ours(node, args)?;
    ensure!(
        out.status.success(),
        "kubeadm-rs {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?)
}

fn get_json(bed: &Bed, node: &Node, args: &[&str]) -> Result<Value> {
    let mut a = vec!["get"];
    a.extend_from_slice(args);
    a.extend_from_slice(&["-o", "json"]);
    let out = bed.kubectl_ok(node, &a)?;
    serde_json::from_str(&out).with_context(|| format!("kubectl get {args:?}"))
}

fn b64(v: &Value) -> Result<Vec<u8>> {
    use base64::Engine as _;
    let s = v.as_str().ok_or_else(|| anyhow!("not a string: {v}"))?;
    Ok(base64::engine::general_purpose::STANDARD.decode(s)?)
}

/// `kubeadm join <endpoint> --token <token> --discovery-token-ca-cert-hash <pin> ` split up.
fn parse_join(line: &str) -> Result<(String, String, String)> {
    let w: Vec<&str> = line.split(' ').collect();
    ensure!(
        w.len() == 8
            && w[0] == "kubeadm"
            && w[1] == "join"
            && w[3] == "--token"
            && w[5] == "--discovery-token-ca-cert-hash"
            && w[7].is_empty(),
        "unexpected join command {line:?}"
    );
    Ok((w[2].to_string(), w[4].to_string(), w[6].to_string()))
}

fn whoami(bed: &Bed, node: &Node, token: &str) -> Result<String> {
    let conf = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://{ip}:6443\n    insecure-skip-tls-verify: true\nusers:\n- name: u\n  user:\n    token: {token}\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\n",
        ip = node.ip()
    );
    node.write_file("/run/kubeadm/token.conf", conf)?;
    let out = bed.kubectl_with(
        node,
        "/run/kubeadm/token.conf",
        &["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"],
    )?;
    ensure!(out.status.success(), "whoami with the token failed: {}", String::from_utf8_lossy(&out.stderr));
    Ok(String::from_utf8(out.stdout)?)
}

fn tokens(bed: &Bed, n1: &Node) -> Result<()> {
    // --- create: explicit token with flags, then a generated one with defaults.
    let out = ours_ok(n1, &["token", "create", TOKEN_A, "--description", "e2e token <a>", "--ttl", "2h"])?;
    ensure!(out == format!("{TOKEN_A}\n"), "create A printed {out:?}");
    let out = ours_ok(
        n1,
        &[
            "token",
            "create",
            TOKEN_B,
            "--ttl",
            "0",
            "--usages",
            "authentication",
            "--groups",
            "system:bootstrappers:kubeadm:default-node-token,system:bootstrappers:extra",
        ],
    )?;
    ensure!(out == format!("{TOKEN_B}\n"), "create B printed {out:?}");
    let generated = ours_ok(n1, &["token", "create"])?;
    let generated = generated.trim_end().to_string();
    ensure!(
        kubeadm_api::v1beta4::BootstrapTokenString::parse(&generated).is_ok(),
        "generated token has a bad format"
    );
    let sa = get_json(bed, n1, &["secret", "-n", "kube-system", "bootstrap-token-abcdef"])?;
    ensure!(sa["type"] == "bootstrap.kubernetes.io/token");
    ensure!(b64(&sa["data"]["description"])? == b"e2e token <a>");
    let sb = get_json(bed, n1, &["secret", "-n", "kube-system", "bootstrap-token-bbbbbb"])?;
    let keys: Vec<&String> = sb["data"].as_object().map(|m| m.keys().collect()).unwrap_or_default();
    ensure!(
        keys == ["auth-extra-groups", "token-id", "token-secret", "usage-bootstrap-authentication"],
        "token B keys {keys:?}"
    );

    // --- failures: duplicate ID, --certificate-key without --print-join-command, bad token.
    let dup = ours(n1, &["token", "create", TOKEN_A])?;
    let err = String::from_utf8_lossy(&dup.stderr);
    ensure!(
        !dup.status.success() && err.contains("a token with id \"abcdef\" already exists"),
        "duplicate create: {err}"
    );
    let ck = ours(n1, &["token", "create", "--certificate-key", "00"])?;
    let err = String::from_utf8_lossy(&ck.stderr);
    ensure!(
        !ck.status.success() && err.contains("cannot use --certificate-key without --print-join-command"),
        "{err}"
    );
    let bad = ours(n1, &["token", "create", "Abcdef.0123456789abcdef"])?;
    ensure!(!bad.status.success() && !String::from_utf8_lossy(&bad.stderr).contains("Abcdef"));

    // --- --print-join-command: same shape and CA pin as upstream's; the token authenticates.
    let up = upstream_kubeadm(n1, &["token", "create", "--print-join-command"])?;
    let (up_ep, up_tok, up_pin) = parse_join(up.trim_end_matches('\n'))?;
    let ours_join = ours_ok(n1, &["token", "create", "--print-join-command"])?;
    ensure!(ours_join.ends_with(" \n"), "{ours_join:?}");
    let (ep, tok, pin) = parse_join(ours_join.trim_end_matches('\n'))?;
    ensure!(ep == up_ep && pin == up_pin, "ours {ep} {pin}, upstream {up_ep} {up_pin}");
    ensure!(ep == format!("{}:6443", n1.ip()) && pin.starts_with("sha256:") && pin.len() == 71);
    let id = tok.split('.').next().unwrap_or_default().to_string();
    let who = whoami(bed, n1, &tok)?;
    ensure!(who == format!("system:bootstrap:{id}"), "whoami: {who}");
    let up_id = up_tok.split('.').next().unwrap_or_default().to_string();
    ensure!(whoami(bed, n1, &up_tok)? == format!("system:bootstrap:{up_id}"));
    let cp = ours_ok(n1, &["token", "create", "--print-join-command", "--certificate-key", "ab12"])?;
    ensure!(
        cp.starts_with(&format!("kubeadm join {ep} --token "))
            && cp.ends_with(&format!(
                " --discovery-token-ca-cert-hash {pin} --control-plane --certificate-key ab12\n"
            )),
        "control-plane join: {cp:?}"
    );

    // --- list: byte-identical to upstream on the same cluster (text, json, yaml).
    for fmt in [None, Some("json"), Some("yaml")] {
        let mut a = vec!["token", "list"];
        if let Some(f) = fmt {
            a.extend_from_slice(&["-o", f]);
        }
        let mine = ours_ok(n1, &a)?;
        let mut ua = a.clone();
        ua.extend_from_slice(&["--kubeconfig", "/etc/kubernetes/admin.conf"]);
        let theirs = upstream_kubeadm(n1, &ua)?;
        ensure!(mine == theirs, "token list {fmt:?} differs:\n--- ours\n{mine}\n--- upstream\n{theirs}");
        ensure!(mine.contains(TOKEN_A) && mine.contains(&generated) && mine.contains(&up_tok));
    }
    let bad_fmt = ours(n1, &["token", "list", "-o", "xml"])?;
    ensure!(!bad_fmt.status.success());

    // --- delete by full token and by ID; then a missing one fails.
    let out = ours_ok(n1, &["token", "delete", TOKEN_B, "abcdef"])?;
    ensure!(out == "bootstrap token \"bbbbbb\" deleted\nbootstrap token \"abcdef\" deleted\n", "{out:?}");
    let listed = upstream_kubeadm(n1, &["token", "list", "--kubeconfig", "/etc/kubernetes/admin.conf"])?;
    ensure!(!listed.contains(TOKEN_A) && !listed.contains(TOKEN_B) && listed.contains(&generated));
    let gone = ours(n1, &["token", "delete", "abcdef"])?;
    let err = String::from_utf8_lossy(&gone.stderr);
    ensure!(!gone.status.success() && err.contains("failed to delete bootstrap token \"abcdef\""), "{err}");
    Ok(())
}

const TRANSFERRED: [&str; 8] = [
    "ca.crt",
    "ca.key",
    "etcd/ca.crt",
    "etcd/ca.key",
    "front-proxy-ca.crt",
    "front-proxy-ca.key",
    "sa.key",
    "sa.pub",
];

fn check_downloaded(n1: &Node, dir: &Path) -> Result<()> {
    for f in TRANSFERRED {
        let want = std::fs::read(n1.host_path(format!("/etc/kubernetes/pki/{f}")))?;
        let got = std::fs::read(dir.join(f)).with_context(|| format!("downloaded {f}"))?;
        ensure!(want == got, "downloaded {f} differs");
    }
    Ok(())
}

fn upload_certs(bed: &Bed, n1: &Node) -> Result<()> {
    let rt = kubeadm_cluster::runtime()?;
    let t = ApiTimeouts::default();
    let cluster = kubeadm_api::load::load_init_config(&init_config(n1, VERSION))?.cluster;
    let pki = n1.host_path("/etc/kubernetes/pki");
    let admin = n1.host_path("/etc/kubernetes/admin.conf");
    let key = copycerts::create_certificate_key()?;
    let mut console = Vec::new();
    let c = rt.block_on(client::client_from_file(&admin, None, &t))?;
    rt.block_on(copycerts::upload_certs(&c, &pki, &cluster, &key, &t, &mut console))?;
    ensure!(
        String::from_utf8(console)?
            == "[upload-certs] Storing the certificates in Secret \"kubeadm-certs\" in the \"kube-system\" Namespace\n"
    );
    let s = get_json(bed, n1, &["secret", "-n", "kube-system", "kubeadm-certs"])?;
    let keys: Vec<&String> = s["data"].as_object().map(|m| m.keys().collect()).unwrap_or_default();
    ensure!(
        keys == [
            "ca.crt",
            "ca.key",
            "etcd-ca.crt",
            "etcd-ca.key",
            "front-proxy-ca.crt",
            "front-proxy-ca.key",
            "sa.key",
            "sa.pub"
        ],
        "kubeadm-certs keys {keys:?}"
    );
    let owner = &s["metadata"]["ownerReferences"][0];
    ensure!(
        owner["apiVersion"] == "v1"
            && owner["kind"] == "Secret"
            && owner["controller"] == true
            && owner["blockOwnerDeletion"] == true,
        "owner {owner}"
    );
    let owner_name = owner["name"].as_str().ok_or_else(|| anyhow!("no owner name"))?;
    let tok = get_json(bed, n1, &["secret", "-n", "kube-system", owner_name])?;
    ensure!(tok["metadata"]["uid"] == owner["uid"]);
    ensure!(b64(&tok["data"]["description"])? == copycerts::CERTS_TOKEN_DESCRIPTION.as_bytes());
    ensure!(tok["data"].get("usage-bootstrap-signing").is_none());
    let role = get_json(bed, n1, &["role", "-n", "kube-system", "kubeadm:kubeadm-certs"])?;
    ensure!(role["rules"][0]["resourceNames"][0] == "kubeadm-certs", "{role}");
    let rb = get_json(bed, n1, &["rolebinding", "-n", "kube-system", "kubeadm:kubeadm-certs"])?;
    ensure!(rb["subjects"][0]["name"] == "system:bootstrappers:kubeadm:default-node-token", "{rb}");

    // Our download of our upload.
    let dir = tempfile::tempdir()?;
    let mut console = Vec::new();
    rt.block_on(copycerts::download_certs(&c, dir.path(), &cluster, &key, &mut console))?;
    check_downloaded(n1, dir.path())?;
    // A wrong key fails.
    let other = copycerts::create_certificate_key()?;
    let Err(e) = rt.block_on(copycerts::download_certs(&c, dir.path(), &cluster, &other, &mut Vec::new()))
    else {
        bail!("download with a wrong key succeeded");
    };
    ensure!(e.to_string() == "error decoding secret data with provided key", "{e}");

    // Upstream uploads with its own key; we decrypt it.
    let key2 = copycerts::create_certificate_key()?;
    // Upstream refuses --certificate-key together with --config: the key goes into the file.
    let cfg = init_config(n1, VERSION);
    ensure!(cfg.contains("kind: InitConfiguration\n"));
    let cfg = cfg.replacen(
        "kind: InitConfiguration\n",
        &format!("kind: InitConfiguration\ncertificateKey: {key2}\n"),
        1,
    );
    n1.write_file("/run/kubeadm/upload-certs.yaml", cfg)?;
    let out = upstream_kubeadm(
        n1,
        &["init", "phase", "upload-certs", "--upload-certs", "--config", "/run/kubeadm/upload-certs.yaml"],
    )?;
    ensure!(out.contains(&key2), "upstream upload-certs output:\n{out}");
    eprintln!("[upstream upload-certs]\n{out}");
    let s2 = get_json(bed, n1, &["secret", "-n", "kube-system", "kubeadm-certs"])?;
    let keys2: Vec<&String> = s2["data"].as_object().map(|m| m.keys().collect()).unwrap_or_default();
    ensure!(keys2 == keys, "upstream keys {keys2:?}");
    let owner2 = &s2["metadata"]["ownerReferences"][0];
    for k in ["apiVersion", "kind", "controller", "blockOwnerDeletion"] {
        ensure!(owner2[k] == owner[k], "ownerReference {k}: {} vs {}", owner2[k], owner[k]);
    }
    let dir2 = tempfile::tempdir()?;
    rt.block_on(copycerts::download_certs(&c, dir2.path(), &cluster, &key2, &mut Vec::new()))?;
    check_downloaded(n1, dir2.path())?;
    drop(c);
    rt.shutdown_timeout(Duration::from_secs(5));
    Ok(())
}

fn run(bed: &Bed) -> Result<()> {
    let n1 = bed.node(0);
    n1.write_file(CONFIG_PATH, init_config(n1, VERSION))?;
    upstream_offline_phases(n1, CONFIG_PATH)?;
    bed.start_runner(n1)?;
    wait_readyz(bed, n1, Duration::from_secs(120))?;
    bind_cluster_admins(bed, n1).context("binding kubeadm:cluster-admins")?;
    wait_system_namespaces(bed, n1)?;
    tokens(bed, n1).context("token commands")?;
    upload_certs(bed, n1).context("upload-certs")?;
    Ok(())
}

#[test]
fn token_commands_and_upload_certs_against_live_control_plane() -> Result<()> {
    if bed_preflight()? {
        return Ok(());
    }
    let _serial = heavy_lock()?;
    let bed = Bed::builder().name("krs-token").nodes(1).start()?;
    let r = run(&bed);
    if let Err(e) = r {
        eprintln!("===== component log tails =====\n{}", bed.log_tails(40));
        return Err(e);
    }
    Ok(())
}
