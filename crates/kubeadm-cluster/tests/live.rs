//! kubeadm-cluster against a real control plane on the test bed.
//!
//! Upstream kubeadm v1.37.2 writes the offline half of `init` on node 1 (certs, kubeconfigs, etcd
//! and control-plane manifests) and the runner starts etcd + control plane. Then, from the test
//! process (the host reaches node 1 over the bed's bridge), kubeadm-cluster does:
//! the admin-client bootstrap (creating `kubeadm:cluster-admins` with super-admin.conf),
//! `bootstrap-token`, `upload-config/kubeadm`, the kubelet-config hook and `mark-control-plane`
//! (waiting for a Node object the test creates with kubectl only after the phase started, since
//! there is no kubelet), then `token create|list|delete`. The pinned kubectl checks the objects;
//! the controller-manager's bootstrap signer must sign cluster-info for the signing token and
//! [`kubeadm_cluster::jws`] must accept the signature, and join discovery (token with the CA pin, a
//! discovery file) must produce the TLS-bootstrap kubeconfig. Finally upstream kubeadm runs the same
//! phases over our objects and nothing we wrote may change (parity), and upstream's `token list`
//! output must equal ours.
//!
//! Needs root and the pinned components (`KUBEADM_RS_BIN_DIR`); fails without them unless
//! `KUBEADM_RS_SKIP_BED=1`.

use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail, ensure};
use kubeadm_cluster::{ApiTimeouts, bootstrap, client, discovery, jws, markcp, token, uploadconfig};
use kubeadm_testbed::controlplane::{
    CONFIG_PATH, init_config_with, upstream_kubeadm, upstream_offline_phases, wait_readyz,
};
use kubeadm_testbed::{Bed, Node, bed_preflight, heavy_lock, wait_for};
use serde_json::Value;

const VERSION: &str = "v1.37.2";
const TOKEN_A: &str = "abcdef.0123456789abcdef"; // signing + authentication, 2h
const TOKEN_B: &str = "bbbbbb.0123456789abcdef"; // authentication only, no expiry
const TOKEN_C: &str = "cccccc.0123456789abcdef"; // created by `token create`

fn init_config(node: &Node) -> String {
    let tokens = format!(
        r#"bootstrapTokens:
- token: {TOKEN_A}
  description: live test token
  ttl: 2h
- token: {TOKEN_B}
  ttl: 0s
  usages:
  - authentication
  groups:
  - system:bootstrappers:kubeadm:default-node-token
  - system:bootstrappers:extra
"#
    );
    init_config_with(node, VERSION, &tokens, "networking:\n  podSubnet: 10.244.0.0/16\n")
}

fn get_json(bed: &Bed, node: &Node, args: &[&str]) -> Result<Value> {
    let mut a = vec!["get"];
    a.extend_from_slice(args);
    a.extend_from_slice(&["-o", "json"]);
    let out = bed.kubectl_ok(node, &a)?;
    serde_json::from_str(&out).with_context(|| format!("kubectl get {args:?}"))
}

/// The parts of an object that matter for parity (no server metadata).
fn content(v: &Value) -> Value {
    let mut c = serde_json::Map::new();
    for k in ["data", "rules", "roleRef", "subjects", "type"] {
        if let Some(x) = v.get(k) {
            c.insert(k.into(), x.clone());
        }
    }
    for k in ["labels", "annotations"] {
        if let Some(x) = v["metadata"].get(k) {
            c.insert(k.into(), x.clone());
        }
    }
    Value::Object(c)
}

fn b64(v: &Value) -> Result<String> {
    use base64::Engine as _;
    let s = v.as_str().ok_or_else(|| anyhow!("not a string: {v}"))?;
    Ok(String::from_utf8(base64::engine::general_purpose::STANDARD.decode(s)?)?)
}

/// Objects this test writes (kind, namespace or "", name), for the parity snapshot.
const OBJECTS: &[(&str, &str, &str)] = &[
    ("configmap", "kube-public", "cluster-info"),
    ("role", "kube-public", "kubeadm:bootstrap-signer-clusterinfo"),
    ("rolebinding", "kube-public", "kubeadm:bootstrap-signer-clusterinfo"),
    ("clusterrole", "", "kubeadm:get-nodes"),
    ("clusterrolebinding", "", "kubeadm:get-nodes"),
    ("clusterrolebinding", "", "kubeadm:kubelet-bootstrap"),
    ("clusterrolebinding", "", "kubeadm:node-autoapprove-bootstrap"),
    ("clusterrolebinding", "", "kubeadm:node-autoapprove-certificate-rotation"),
    ("clusterrolebinding", "", "kubeadm:apiserver-kubelet-client"),
    ("clusterrolebinding", "", "kubeadm:cluster-admins"),
    ("configmap", "kube-system", "kubeadm-config"),
    ("role", "kube-system", "kubeadm:nodes-kubeadm-config"),
    ("rolebinding", "kube-system", "kubeadm:nodes-kubeadm-config"),
];

fn snapshot(bed: &Bed, n1: &Node) -> Result<Vec<Value>> {
    OBJECTS
        .iter()
        .map(|(kind, ns, name)| {
            let mut args = vec![*kind, *name];
            if !ns.is_empty() {
                args.extend_from_slice(&["-n", ns]);
            }
            let mut v = content(&get_json(bed, n1, &args)?);
            // The bootstrap signer's jws-kubeconfig-* keys come and go with updates.
            if let Some(d) = v.get_mut("data").and_then(Value::as_object_mut) {
                d.retain(|k, _| !k.starts_with(jws::JWS_SIGNATURE_KEY_PREFIX));
            }
            Ok(v)
        })
        .collect()
}

fn live(bed: &Bed) -> Result<()> {
    let n1 = bed.node(0);
    let cfg_yaml = init_config(n1);
    n1.write_file(CONFIG_PATH, &cfg_yaml)?;
    upstream_offline_phases(n1, CONFIG_PATH)?;
    bed.start_runner(n1)?;
    wait_readyz(bed, n1, Duration::from_secs(120))?;

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let t = ApiTimeouts::default();
    let kdir = n1.host_path("/etc/kubernetes");
    let bundle = kubeadm_api::load::load_init_config(&cfg_yaml)?;

    // --- admin client bootstrap: admin.conf is not authorized yet, super-admin.conf creates the binding.
    let out = bed.kubectl(n1, &["get", "ns", "kube-system"])?;
    ensure!(
        !out.status.success(),
        "admin.conf should not be authorized before kubeadm:cluster-admins exists"
    );
    let client = rt.block_on(client::ensure_admin_cluster_role_binding(&kdir, None, &t))?;
    bed.kubectl_ok(n1, &["get", "ns", "kube-system"]).context("admin.conf after the bootstrap")?;
    // Idempotent: a second call finds the binding with admin.conf.
    let client = rt.block_on(client::ensure_admin_cluster_role_binding_with(client, None, &t))?;

    // --- bootstrap-token
    let admin = client::load_kubeconfig(&kdir.join("admin.conf"))?;
    let mut console = Vec::new();
    rt.block_on(bootstrap::run_bootstrap_token_phase(
        &client,
        &admin,
        &bundle.init.bootstrap_tokens,
        bootstrap::BootstrapTokenPhaseOptions::default(),
        &t,
        &mut console,
    ))?;
    let console = String::from_utf8(console)?;
    eprintln!("{console}");
    ensure!(
        console
            == format!(
                "[bootstrap-token] Using tokens: [{TOKEN_A} {TOKEN_B}]\n\
[bootstrap-token] Configuring bootstrap tokens, cluster-info ConfigMap, RBAC Roles\n\
[bootstrap-token] Configured RBAC rules to allow Node Bootstrap tokens to get nodes\n\
[bootstrap-token] Configured RBAC rules to allow Node Bootstrap tokens to post CSRs in order for nodes to get long term certificate credentials\n\
[bootstrap-token] Configured RBAC rules to allow the csrapprover controller automatically approve CSRs from a Node Bootstrap Token\n\
[bootstrap-token] Configured RBAC rules to allow certificate rotation for all node client certificates in the cluster\n\
[bootstrap-token] Configured RBAC rules to allow the API server kubelet client certificate to access the kubelet API\n\
[bootstrap-token] Creating the \"cluster-info\" ConfigMap in the \"kube-public\" namespace\n"
            ),
        "console:\n{console}"
    );
    let sa = get_json(bed, n1, &["secret", "-n", "kube-system", "bootstrap-token-abcdef"])?;
    ensure!(sa["type"] == "bootstrap.kubernetes.io/token", "{}", sa["type"]);
    let d = &sa["data"];
    ensure!(b64(&d["token-id"])? == "abcdef" && b64(&d["token-secret"])? == "0123456789abcdef");
    ensure!(b64(&d["description"])? == "live test token");
    ensure!(
        b64(&d["usage-bootstrap-signing"])? == "true" && b64(&d["usage-bootstrap-authentication"])? == "true"
    );
    ensure!(b64(&d["auth-extra-groups"])? == "system:bootstrappers:kubeadm:default-node-token");
    let exp = b64(&d["expiration"])?;
    let exp_t = time::OffsetDateTime::parse(&exp, &time::format_description::well_known::Rfc3339)?;
    let left = exp_t - time::OffsetDateTime::now_utc();
    ensure!(
        exp.ends_with('Z') && left > time::Duration::minutes(115) && left <= time::Duration::hours(2),
        "expiration {exp}"
    );
    let sb = get_json(bed, n1, &["secret", "-n", "kube-system", "bootstrap-token-bbbbbb"])?;
    let keys: Vec<&String> = sb["data"].as_object().map(|m| m.keys().collect()).unwrap_or_default();
    ensure!(
        keys == ["auth-extra-groups", "token-id", "token-secret", "usage-bootstrap-authentication"],
        "token B keys {keys:?}"
    );
    ensure!(
        b64(&sb["data"]["auth-extra-groups"])?
            == "system:bootstrappers:kubeadm:default-node-token,system:bootstrappers:extra"
    );
    let crb = get_json(bed, n1, &["clusterrolebinding", "kubeadm:node-autoapprove-bootstrap"])?;
    ensure!(crb["roleRef"]["name"] == "system:certificates.k8s.io:certificatesigningrequests:nodeclient");
    ensure!(
        crb["subjects"][0]
            == serde_json::json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:bootstrappers:kubeadm:default-node-token"})
    );
    let ci = get_json(bed, n1, &["configmap", "-n", "kube-public", "cluster-info"])?;
    let kubeconfig = ci["data"]["kubeconfig"]
        .as_str()
        .ok_or_else(|| anyhow!("no kubeconfig in cluster-info"))?
        .to_string();
    ensure!(
        kubeconfig.contains(&format!("    server: https://{}:6443\n  name: \"\"\n", n1.ip())),
        "{kubeconfig}"
    );
    ensure!(!kubeconfig.contains("client-key-data") && kubeconfig.contains("certificate-authority-data: "));
    // Anonymous users can read cluster-info (what join discovery does).
    let anon = std::process::Command::new("curl")
        .args([
            "-sk",
            "--max-time",
            "10",
            &format!("https://{}:6443/api/v1/namespaces/kube-public/configmaps/cluster-info", n1.ip()),
        ])
        .output()?;
    let anon: Value = serde_json::from_slice(&anon.stdout).context("anonymous GET cluster-info")?;
    ensure!(anon["data"]["kubeconfig"] == kubeconfig.as_str(), "anonymous read: {anon}");

    // --- bootstrap signer: jws-kubeconfig-abcdef appears (signing token), never for bbbbbb.
    let sig = wait_for("bootstrap signer signs cluster-info", Duration::from_secs(90), || {
        let v = get_json(bed, n1, &["configmap", "-n", "kube-public", "cluster-info"])
            .map_err(|e| e.to_string())?;
        v["data"]["jws-kubeconfig-abcdef"].as_str().map(String::from).ok_or_else(|| format!("{}", v["data"]))
    })?;
    let ci = get_json(bed, n1, &["configmap", "-n", "kube-public", "cluster-info"])?;
    ensure!(ci["data"].get("jws-kubeconfig-bbbbbb").is_none(), "non-signing token got a signature");
    let signed = ci["data"]["kubeconfig"].as_str().unwrap_or_default();
    ensure!(
        jws::detached_token_is_valid(&sig, signed, "abcdef", "0123456789abcdef"),
        "our JWS check rejects the signer's {sig}"
    );
    ensure!(jws::compute_detached_signature(signed, "abcdef", "0123456789abcdef") == sig);
    ensure!(!jws::detached_token_is_valid(&sig, signed, "abcdef", "0123456789abcdeX"));

    // --- join discovery against the live API server (token with pin, file), and its failures.
    join_discovery(&rt, n1)?;

    // --- the node's TLS bootstrap done by kubeadm-cluster: a CSR with bootstrap token A, approved
    // by the csrapprover and signed by the csrsigning controller; then kubelet.conf as the kubelet
    // writes it authenticates as the node.
    tls_bootstrap(bed, n1, &rt, &t)?;

    // --- upload-config/kubeadm (+ the kubelet-config hook)
    let mut console = Vec::new();
    rt.block_on(uploadconfig::upload_configuration(&client, &bundle.cluster, &t, &mut console))?;
    rt.block_on(uploadconfig::upload_kubelet_config(
        &client,
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n",
        false,
        &t,
        &mut console,
    ))?;
    let console = String::from_utf8(console)?;
    ensure!(
        console
            == "[upload-config] Storing the configuration used in ConfigMap \"kubeadm-config\" in the \"kube-system\" Namespace\n\
[kubelet] Creating a ConfigMap \"kubelet-config\" in namespace kube-system with the configuration for the kubelets in the cluster\n",
        "{console}"
    );
    let kc = get_json(bed, n1, &["configmap", "-n", "kube-system", "kubeadm-config"])?;
    let cc = kc["data"]["ClusterConfiguration"].as_str().unwrap_or_default();
    ensure!(
        cc.contains("kind: ClusterConfiguration\n") && cc.contains("  podSubnet: 10.244.0.0/16\n"),
        "{cc}"
    );
    let kl = get_json(bed, n1, &["configmap", "-n", "kube-system", "kubelet-config"])?;
    ensure!(
        kl["metadata"]["annotations"]["kubeadm.kubernetes.io/component-config.hash"]
            == "sha256:".to_string()
                + &sha256_hex("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n")
    );
    // Update path: a second upload keeps working (CreateOrMutate / CreateOrUpdate).
    rt.block_on(uploadconfig::upload_configuration(&client, &bundle.cluster, &t, &mut Vec::new()))?;

    // --- mark-control-plane: the phase waits for the Node, which appears 2s later.
    let mc = client.clone();
    let name = n1.name().to_string();
    let mark = rt.spawn(async move {
        let mut out = Vec::new();
        let r = markcp::mark_control_plane(&mc, &name, None, &ApiTimeouts::default(), &mut out).await;
        r.map(|_| out)
    });
    std::thread::sleep(Duration::from_secs(2));
    ensure!(!mark.is_finished(), "mark-control-plane finished without a Node");
    let node_yaml = format!(
        "apiVersion: v1\nkind: Node\nmetadata:\n  name: {n}\n  labels:\n    kubernetes.io/hostname: {n}\n    keep: me\nspec:\n  taints:\n  - key: example.com/other\n    effect: NoExecute\n",
        n = n1.name()
    );
    n1.write_file("/run/kubeadm/node.yaml", node_yaml)?;
    bed.kubectl_ok(n1, &["create", "-f", "/run/kubeadm/node.yaml"])?;
    let out = String::from_utf8(rt.block_on(mark)??)?;
    ensure!(
        out == format!(
            "[mark-control-plane] Marking the node {n} as control-plane by adding the labels: [node-role.kubernetes.io/control-plane node.kubernetes.io/exclude-from-external-load-balancers]\n\
[mark-control-plane] Marking the node {n} as control-plane by adding the taints [node-role.kubernetes.io/control-plane:NoSchedule]\n",
            n = n1.name()
        ),
        "{out}"
    );
    let node = get_json(bed, n1, &["node", n1.name()])?;
    let labels = &node["metadata"]["labels"];
    ensure!(
        labels["node-role.kubernetes.io/control-plane"] == ""
            && labels["node.kubernetes.io/exclude-from-external-load-balancers"] == ""
            && labels["keep"] == "me",
        "{labels}"
    );
    let taints = node["spec"]["taints"].as_array().cloned().unwrap_or_default();
    ensure!(
        taints.first()
            == Some(
                &serde_json::json!({"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"})
            ),
        "{taints:?}"
    );
    ensure!(taints.iter().any(|t| t["key"] == "example.com/other"), "existing taint dropped: {taints:?}");

    // --- token create / list / delete
    let tc = kubeadm_api::v1beta4::BootstrapToken {
        token: kubeadm_api::v1beta4::BootstrapTokenString::parse(TOKEN_C).ok(),
        description: "made by token create".into(),
        ttl: Some(kubeadm_api::Duration::from_hours(24)),
        usages: vec!["signing".into(), "authentication".into()],
        groups: vec!["system:bootstrappers:kubeadm:default-node-token".into()],
        ..Default::default()
    };
    ensure!(
        kubeadm_api::validation::validate_bootstrap_tokens(std::slice::from_ref(&tc), "bootstrapTokens")
            .is_empty()
    );
    rt.block_on(token::create_new_tokens(&client, std::slice::from_ref(&tc), &t))?;
    let again = rt.block_on(token::create_new_tokens(&client, std::slice::from_ref(&tc), &t));
    match again {
        Err(kubeadm_cluster::Error::TokenExists(id)) if id == "cccccc" => {}
        other => bail!("creating an existing token: {other:?}"),
    }
    let listed = rt.block_on(token::list_tokens(&client))?;
    let listed: Vec<token::TokenInfo> = listed.into_iter().collect::<Result<_, _>>()?;
    let ids: Vec<&str> = listed.iter().map(|t| t.token.id.as_str()).collect();
    ensure!(ids == ["abcdef", "bbbbbb", "cccccc"], "{ids:?}");
    // Our table and JSON/YAML equal upstream `kubeadm token list` on the same cluster.
    let now = time::OffsetDateTime::now_utc();
    let mut table = token::TokenTablePrinter::default();
    let ours_text: String = listed.iter().map(|t| table.print(t, now)).collect();
    let up_text = upstream_kubeadm(n1, &["token", "list"])?;
    ensure!(ours_text == up_text, "token list table differs:\nours:\n{ours_text}\nupstream:\n{up_text}");
    let ours_json: String = listed.iter().map(token::token_output_json).collect::<Result<_, _>>()?;
    let up_json = upstream_kubeadm(n1, &["token", "list", "-o", "json"])?;
    ensure!(ours_json == up_json, "token list -o json differs:\nours:\n{ours_json}\nupstream:\n{up_json}");
    let mut yp = token::TokenYamlPrinter::default();
    let ours_yaml: String = listed.iter().map(|t| yp.print(t)).collect();
    let up_yaml = upstream_kubeadm(n1, &["token", "list", "-o", "yaml"])?;
    ensure!(ours_yaml == up_yaml, "token list -o yaml differs:\nours:\n{ours_yaml}\nupstream:\n{up_yaml}");

    // --- parity: upstream kubeadm runs the same phases over our objects; nothing may change.
    let before = snapshot(bed, n1)?;
    let node_before = get_json(bed, n1, &["node", n1.name()])?;
    for phase in [&["upload-config", "kubeadm"][..], &["bootstrap-token"], &["mark-control-plane"]] {
        let mut args = vec!["init", "phase"];
        args.extend_from_slice(phase);
        args.extend_from_slice(&["--config", CONFIG_PATH]);
        let out = upstream_kubeadm(n1, &args)?;
        eprintln!("[upstream kubeadm init phase {}]\n{out}", phase.join(" "));
    }
    let after = snapshot(bed, n1)?;
    for ((o, b), a) in OBJECTS.iter().zip(&before).zip(&after) {
        ensure!(b == a, "upstream kubeadm changed {o:?}:\nours:     {b}\nupstream: {a}");
    }
    let node_after = get_json(bed, n1, &["node", n1.name()])?;
    ensure!(node_before["metadata"]["labels"] == node_after["metadata"]["labels"], "node labels");
    ensure!(node_before["spec"]["taints"] == node_after["spec"]["taints"], "node taints");
    let sa_after = get_json(bed, n1, &["secret", "-n", "kube-system", "bootstrap-token-abcdef"])?;
    let strip = |v: &Value| {
        let mut d = v["data"].clone();
        d.as_object_mut().map(|m| m.remove("expiration"));
        d
    };
    ensure!(strip(&sa) == strip(&sa_after), "upstream token Secret differs");

    // --- delete by full token and by ID.
    let mut out = Vec::new();
    rt.block_on(token::delete_tokens(&client, &[TOKEN_C.to_string(), "bbbbbb".to_string()], &mut out))?;
    ensure!(
        String::from_utf8(out)? == "bootstrap token \"cccccc\" deleted\nbootstrap token \"bbbbbb\" deleted\n"
    );
    let left = bed.kubectl_ok(
        n1,
        &[
            "get",
            "secrets",
            "-n",
            "kube-system",
            "--field-selector",
            "type=bootstrap.kubernetes.io/token",
            "-o",
            "name",
        ],
    )?;
    ensure!(left.trim() == "secret/bootstrap-token-abcdef", "{left}");
    let Err(e) = rt.block_on(token::delete_tokens(&client, &["cccccc".to_string()], &mut Vec::new())) else {
        bail!("deleting a missing token succeeded");
    };
    ensure!(
        e.to_string() == "failed to delete bootstrap token \"cccccc\"" && e.status_code() == Some(404),
        "{e:?}"
    );
    drop(client);
    rt.shutdown_timeout(Duration::from_secs(5));
    Ok(())
}

fn tls_bootstrap(bed: &Bed, n1: &Node, rt: &tokio::runtime::Runtime, t: &ApiTimeouts) -> Result<()> {
    use k8s_openapi::api::authentication::v1::SelfSubjectReview;
    use kubeadm_cluster::tlsbootstrap;
    use kubeadm_manifests::{kubeconfig, kubeletpki};

    const WORKER: &str = "live-worker";
    let ca_pem = std::fs::read(n1.host_path("/etc/kubernetes/pki/ca.crt"))?;
    let server = format!("https://{}:6443", n1.ip());
    let bootstrap =
        kubeconfig::create_with_token(&server, "kubernetes", "tls-bootstrap-token-user", &ca_pem, TOKEN_A);
    let bc = rt.block_on(client::client_from_kubeconfig(&bootstrap, "bootstrap-kubelet.conf", t))?;
    let mut progress = Vec::new();
    let got = rt.block_on(tlsbootstrap::request_node_client_certificate(
        &bc,
        WORKER,
        Duration::from_secs(120),
        &mut progress,
    ))?;
    let progress = String::from_utf8(progress)?;
    eprintln!("{progress}");
    ensure!(progress.contains("[kubelet-start] Received the client certificate for"), "{progress}");
    let csr = get_json(bed, n1, &["csr", &got.csr_name])?;
    ensure!(csr["spec"]["username"] == "system:bootstrap:abcdef", "{}", csr["spec"]);
    ensure!(csr["spec"]["signerName"] == tlsbootstrap::KUBELET_CLIENT_SIGNER_NAME);
    ensure!(csr["spec"]["usages"] == serde_json::json!(["digital signature", "client auth"]));
    let conds = csr["status"]["conditions"].as_array().cloned().unwrap_or_default();
    ensure!(conds.iter().any(|c| c["type"] == "Approved" && c["reason"] == "AutoApproved"), "{conds:?}");
    let ca = kubeadm_pki::Certificate::all_from_pem(&ca_pem)?.remove(0);
    let leaf = kubeadm_pki::Certificate::all_from_pem(got.cert_pem.as_bytes())?.remove(0);
    leaf.verify_chain(&[], &ca, time::OffsetDateTime::now_utc()).map_err(|e| anyhow!(e))?;
    ensure!(leaf.organization() == ["system:nodes".to_string()], "{:?}", leaf.organization());

    // A second request with the same key finds the same CSR and reuses its certificate.
    let key = kubeadm_pki::PrivateKey::from_pem(got.key_pem.as_bytes())?.ok_or_else(|| anyhow!("no key"))?;
    let mut progress = Vec::new();
    let again = rt.block_on(tlsbootstrap::request_node_client_certificate_with_key(
        &bc,
        WORKER,
        &key,
        Duration::from_secs(30),
        &mut progress,
    ))?;
    ensure!(again.csr_name == got.csr_name && again.cert_pem == got.cert_pem);
    ensure!(String::from_utf8(progress)?.contains("Reusing the existing CertificateSigningRequest"));

    // The kubelet's files (in a scratch PKI dir) and a client from its kubelet.conf.
    let dir = tempfile_dir()?;
    let pki = dir.join("pki");
    let files = kubeletpki::kubelet_client_files(
        &pki.display().to_string(),
        &dir.join("kubelet.conf").display().to_string(),
        &bootstrap,
        got.cert_pem.as_bytes(),
        got.key_pem.as_bytes(),
        time::OffsetDateTime::now_utc(),
    )?;
    std::fs::create_dir_all(&pki)?;
    std::fs::write(&files.pair.path, &files.pair.data)?;
    std::os::unix::fs::symlink(&files.current.target, &files.current.path)?;
    std::fs::write(&files.kubeconfig.path, &files.kubeconfig.data)?;
    let kc = rt.block_on(client::client_from_file(&files.kubeconfig.path, None, t))?;
    let api: kube::Api<SelfSubjectReview> = kube::Api::all(kc);
    let review = rt.block_on(api.create(&kube::api::PostParams::default(), &SelfSubjectReview::default()))?;
    let user = review.status.and_then(|s| s.user_info).unwrap_or_default();
    ensure!(user.username.as_deref() == Some("system:node:live-worker"), "{user:?}");
    ensure!(user.groups.unwrap_or_default().iter().any(|g| g == "system:nodes"));
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// A fresh scratch directory (no tempfile dev-dependency here).
fn tempfile_dir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("kubeadm-rs-tlsbootstrap-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// `kubeadm join` discovery against node 1: token discovery with the CA pin gives the TLS-bootstrap
/// kubeconfig (server, CA, token user); a non-signing token, a wrong pin and file discovery too.
fn join_discovery(rt: &tokio::runtime::Runtime, n1: &Node) -> Result<()> {
    use discovery::{DiscoveryInput, DiscoveryTimeouts, TokenDiscovery};
    let ca_pem = std::fs::read(n1.host_path("/etc/kubernetes/pki/ca.crt"))?;
    let ca = kubeadm_pki::Certificate::all_from_pem(&ca_pem)?;
    let pin = ca[0].public_key_pin();
    let endpoint = format!("{}:6443", n1.ip());
    let server = format!("https://{endpoint}");
    let timeouts = DiscoveryTimeouts {
        discovery: Duration::from_secs(20),
        retry_interval: Duration::from_secs(1),
        ..Default::default()
    };
    let token_input = |token: &str, pins: Vec<String>| DiscoveryInput {
        token: Some(TokenDiscovery {
            api_server_endpoint: endpoint.clone(),
            token: token.into(),
            ca_cert_hashes: pins,
            unsafe_skip_ca_verification: false,
        }),
        file: None,
        tls_bootstrap_token: token.into(),
        timeouts,
    };
    let want = kubeadm_manifests::kubeconfig::create_with_token(
        &server,
        "kubernetes",
        discovery::TOKEN_USER,
        &ca_pem,
        TOKEN_A,
    );
    let got =
        rt.block_on(discovery::discover(&token_input(TOKEN_A, vec![pin.clone()]), &discovery::NoLog))?;
    ensure!(got == want, "token discovery: {got:?}");

    // bbbbbb is not a signing token: never signed, the last error says so.
    let quick = DiscoveryTimeouts { discovery: Duration::from_secs(3), ..timeouts };
    let input = DiscoveryInput { timeouts: quick, ..token_input(TOKEN_B, vec![pin.clone()]) };
    let e =
        rt.block_on(discovery::discover(&input, &discovery::NoLog)).err().context("token B discovered")?;
    let msg = format!("{:#}", anyhow::Error::from(e));
    ensure!(
        msg == "couldn't validate the identity of the API Server: could not find a JWS signature in the cluster-info ConfigMap for token ID \"bbbbbb\"",
        "{msg}"
    );

    // A pin of another CA: the error lists the cluster CA's pin.
    let other = kubeadm_pki::new_certificate_authority(
        &kubeadm_pki::CertConfig { common_name: "other".into(), ..Default::default() },
        kubeadm_pki::KeyAlgorithm::EcdsaP256,
    )?;
    let input = token_input(TOKEN_A, vec![other.cert.public_key_pin()]);
    let e =
        rt.block_on(discovery::discover(&input, &discovery::NoLog)).err().context("wrong pin accepted")?;
    let msg = format!("{:#}", anyhow::Error::from(e));
    ensure!(msg.ends_with(&format!("none of the public keys \"{pin}\" are pinned")), "{msg}");

    // File discovery with the cluster-info kubeconfig (no credentials) and the TLS bootstrap token.
    let dir = tempdir_for("discovery")?;
    let file = dir.join("discovery.conf");
    let info = kubeadm_manifests::kubeconfig::create_basic(&server, "kubernetes", "admin", &ca_pem);
    std::fs::write(&file, bootstrap::cluster_info_kubeconfig(&info)?)?;
    let input = DiscoveryInput {
        token: None,
        file: Some(file.display().to_string()),
        tls_bootstrap_token: TOKEN_A.into(),
        timeouts,
    };
    let got = rt.block_on(discovery::discover(&input, &discovery::NoLog))?;
    ensure!(got == want, "file discovery: {got:?}");
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

fn tempdir_for(name: &str) -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("kubeadm-rs-live-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn sha256_hex(s: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

#[test]
fn cluster_phases_against_live_control_plane() -> Result<()> {
    if bed_preflight()? {
        return Ok(());
    }
    let _serial = heavy_lock()?;
    let bed = Bed::builder().name("cluster-live").nodes(1).start()?;
    let started = std::time::Instant::now();
    let r = live(&bed);
    eprintln!("live checks took {:?}", started.elapsed());
    if let Err(e) = r {
        eprintln!("===== component log tails =====\n{}", bed.log_tails(40));
        return Err(e);
    }
    Ok(())
}
