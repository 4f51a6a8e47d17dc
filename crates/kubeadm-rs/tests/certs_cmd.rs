//! Parity of `certs check-expiration`, `certs renew` and `certs generate-csr` with upstream kubeadm
//! v1.37.2, plus the kubeadm-rs extension `renew --if-expiring-within`.
//!
//! A PKI and kubeconfig files are made by kubeadm-rs (`init phase certs all`, `init phase
//! kubeconfig all`) in a temporary directory. Expired and short-lived certificates are signed by
//! code. Both tools always read the kubeconfig files from `/etc/kubernetes`, so each run happens
//! in a private mount namespace (`unshare --mount`) with the temporary kubeconfig directory bind
//! mounted there; the host's `/etc/kubernetes` is never touched.
//!
//! Needs root (like every parity test) and the upstream kubeadm binary built by
//! `scripts/build-components.sh` (found through `KUBEADM_RS_BIN_DIR`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ::time::{Duration, OffsetDateTime};
use kubeadm_manifests::kubeconfig as kc;
use kubeadm_pki::{Certificate, KeyAlgorithm, PrivateKey};
use x509_parser::prelude::*;

mod common;
use common::{decode_b64, diff, upstream_kubeadm};

fn upstream() -> PathBuf {
    upstream_kubeadm("like every parity test, and for the mount namespace")
}

fn ours() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_kubeadm-rs"))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn command(program: &Path) -> Command {
    let mut c = Command::new(program);
    c.env_clear()
        .env("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        .env("HOME", "/root")
        // Upstream resolves `stable-1` over the network when the config has no version.
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .env("https_proxy", "http://127.0.0.1:9");
    c
}

/// Runs `tool args` with `kdir` bind-mounted on /etc/kubernetes in a private mount namespace.
fn run_k(tool: &Path, kdir: &Path, args: &[&str]) -> Output {
    let script = r#"mkdir -p /etc/kubernetes && mount --bind "$1" /etc/kubernetes && shift && exec "$@""#;
    command(Path::new("/usr/bin/unshare"))
        .args(["--mount", "--propagation", "private", "--", "/bin/sh", "-c", script, "sh"])
        .arg(kdir)
        .arg(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", tool.display()))
}

fn ok(o: Output, what: &str) -> String {
    assert!(o.status.success(), "{what} failed:\n{}\n{}", text(&o.stdout), text(&o.stderr));
    text(&o.stdout)
}

/// A PKI and kubeconfig files below `root` (`pki/`, `k/`) and the config (`cfg.yaml`) using them.
struct Tree {
    root: PathBuf,
    cfg: String,
}

impl Tree {
    fn pki(&self) -> PathBuf {
        self.root.join("pki")
    }
    fn kdir(&self) -> PathBuf {
        self.root.join("k")
    }
}

fn write_cfg(root: &Path, extra: &str) -> String {
    let cfg = root.join("cfg.yaml");
    fs::write(
        &cfg,
        format!(
            "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nlocalAPIEndpoint:\n  advertiseAddress: 10.1.2.3\nnodeRegistration:\n  name: node1\n---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: v1.37.2\ncertificatesDir: {}\n{extra}",
            root.join("pki").display()
        ),
    )
    .expect("write config");
    cfg.to_str().expect("utf-8 path").to_string()
}

/// A fresh PKI and kubeconfigs made by kubeadm-rs in `root`.
fn make_tree(root: &Path, extra: &str) -> Tree {
    fs::create_dir_all(root.join("k")).expect("mkdir");
    let cfg = write_cfg(root, extra);
    ok(
        command(&ours()).args(["init", "phase", "certs", "all", "--config", &cfg]).output().expect("run"),
        "certs",
    );
    let kdir = root.join("k");
    let kdir = kdir.to_str().expect("utf-8");
    ok(
        command(&ours())
            .args(["init", "phase", "kubeconfig", "all", "--config", &cfg, "--kubeconfig-dir", kdir])
            .output()
            .expect("run"),
        "kubeconfig",
    );
    Tree { root: root.to_path_buf(), cfg }
}

/// A byte copy of `t` in `root` (same certificates and keys), with its own config.
fn copy_tree(t: &Tree, root: &Path, extra: &str) -> Tree {
    let st = Command::new("cp").arg("-a").arg(&t.root).arg(root).status().expect("cp");
    assert!(st.success());
    Tree { root: root.to_path_buf(), cfg: write_cfg(root, extra) }
}

/// Re-signs `<pki>/<base>.crt` (new key) with its CA for [now + from, now + to].
fn resign_pki(pki: &Path, base: &str, ca_base: &str, from: Duration, to: Duration) {
    let ca = kubeadm_pki::load_ca(pki, ca_base).expect("load CA");
    let old = kubeadm_pki::load_cert(pki, base).expect("load cert");
    let mut cfg = kubeadm_pki::renew::cert_to_config(&old);
    let now = OffsetDateTime::now_utc();
    cfg.not_before = Some(now + from);
    cfg.not_after = Some(now + to);
    let ck = kubeadm_pki::new_cert_and_key(&ca, &cfg, KeyAlgorithm::default()).expect("sign");
    fs::write(kubeadm_pki::key_path(pki, base), ck.key.to_pem().expect("key pem")).expect("write key");
    fs::write(kubeadm_pki::cert_path(pki, base), ck.cert.to_pem()).expect("write cert");
}

/// Re-signs the client certificate embedded in `<kdir>/<file>` for [now + from, now + to].
fn resign_kubeconfig(pki: &Path, kdir: &Path, file: &str, from: Duration, to: Duration) {
    let path = kdir.join(file);
    let mut c = kc::Config::parse(&fs::read(&path).expect("read kubeconfig")).expect("parse");
    let old =
        Certificate::all_from_pem(kc::embedded_client_certificate(&c, "x").expect("cert")).expect("pem");
    let ca = kubeadm_pki::load_ca(pki, "ca").expect("CA");
    let mut cfg = kubeadm_pki::renew::cert_to_config(&old[0]);
    let now = OffsetDateTime::now_utc();
    cfg.not_before = Some(now + from);
    cfg.not_after = Some(now + to);
    let ck = kubeadm_pki::new_cert_and_key(&ca, &cfg, KeyAlgorithm::default()).expect("sign");
    let key = ck.key.to_pem().expect("key pem");
    kc::replace_embedded_client_credentials(
        &mut c,
        ca.cert.to_pem().as_bytes(),
        key.as_bytes(),
        ck.cert.to_pem().as_bytes(),
    );
    fs::write(&path, c.to_yaml().expect("yaml")).expect("write kubeconfig");
}

/// Runs both tools on their own tree; both must succeed with the same stdout (after `norm`).
fn same_stdout(up: &Tree, rs: &Tree, args: &[&str], norm: fn(&str) -> String) -> String {
    let with = |t: &Tree| {
        let mut a: Vec<&str> = args.to_vec();
        a.extend(["--config", &t.cfg]);
        a.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let ua = with(up);
    let ra = with(rs);
    let ua: Vec<&str> = ua.iter().map(String::as_str).collect();
    let ra: Vec<&str> = ra.iter().map(String::as_str).collect();
    let u = norm(
        &ok(run_k(&upstream(), &up.kdir(), &ua), "upstream kubeadm")
            .replace(up.root.to_str().unwrap_or(""), "<root>"),
    );
    let r = norm(
        &ok(run_k(&ours(), &rs.kdir(), &ra), "kubeadm-rs").replace(rs.root.to_str().unwrap_or(""), "<root>"),
    );
    assert!(u == r, "stdout of {args:?} differs:\n{}", diff(&u, &r));
    r
}

fn keep(s: &str) -> String {
    s.to_string()
}

/// JSON/YAML `residualTime` may differ by a second or two between the two runs.
fn round_residual(s: &str) -> String {
    s.lines()
        .map(|l| match l.split_once("residualTime\": ").or_else(|| l.split_once("residualTime: ")) {
            Some((head, n)) => {
                let comma = n.ends_with(',');
                let v: i64 = n.trim_end_matches(',').parse().expect("residualTime number");
                format!("{head}residualTime~{}{}", (v + 30) / 60, if comma { "," } else { "" })
            }
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

// ---------------------------------------------------------------------------------------------
// check-expiration

#[test]
fn check_expiration_matches_upstream() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let rs = make_tree(&tmp.path().join("rs"), "");
    // Missing files, an expired certificate and short-lived ones (PKI and kubeconfig).
    fs::remove_file(rs.pki().join("apiserver-etcd-client.crt")).expect("rm");
    fs::remove_file(rs.kdir().join("scheduler.conf")).expect("rm");
    resign_pki(&rs.pki(), "front-proxy-client", "front-proxy-ca", Duration::hours(-2), Duration::hours(-1));
    let short = Duration::minutes(90) + Duration::seconds(30);
    resign_pki(&rs.pki(), "etcd/healthcheck-client", "etcd/ca", Duration::minutes(-5), short);
    let day = Duration::hours(30) + Duration::minutes(1);
    resign_kubeconfig(&rs.pki(), &rs.kdir(), "admin.conf", Duration::minutes(-5), day);
    let up = copy_tree(&rs, &tmp.path().join("up"), "");

    let table = same_stdout(&up, &rs, &["certs", "check-expiration"], keep);
    for want in [
        "!MISSING! apiserver-etcd-client ",
        "!MISSING! scheduler.conf ",
        "<invalid>",
        "   90m   ",
        "   30h   ",
        "CERTIFICATE AUTHORITY   EXPIRES ",
    ] {
        assert!(table.contains(want), "missing {want:?} in\n{table}");
    }
    let json = same_stdout(&up, &rs, &["certs", "check-expiration", "-o", "json"], round_residual);
    assert!(json.contains("\"kind\": \"CertificateExpirationInfo\""), "{json}");
    same_stdout(&up, &rs, &["certs", "check-expiration", "-o", "yaml"], round_residual);

    // External CA: ca.crt without ca.key.
    fs::remove_file(rs.pki().join("ca.key")).expect("rm");
    fs::remove_file(up.pki().join("ca.key")).expect("rm");
    let table = same_stdout(&up, &rs, &["certs", "check-expiration"], keep);
    assert!(table.contains("yes"), "{table}");

    // A missing CA certificate is an error.
    fs::remove_file(rs.pki().join("front-proxy-ca.crt")).expect("rm");
    fs::remove_file(up.pki().join("front-proxy-ca.crt")).expect("rm");
    let u = run_k(&upstream(), &up.kdir(), &["certs", "check-expiration", "--config", &up.cfg]);
    let r = run_k(&ours(), &rs.kdir(), &["certs", "check-expiration", "--config", &rs.cfg]);
    assert_eq!(u.status.code(), Some(1));
    assert_eq!(r.status.code(), Some(1));
    let first = |o: &Output, root: &Path| {
        text(&o.stderr).lines().next().unwrap_or_default().replace(root.to_str().unwrap_or(""), "<root>")
    };
    assert_eq!(first(&u, &up.root), first(&r, &rs.root));
    assert!(r.stdout.is_empty());
}

#[test]
fn check_expiration_external_etcd_and_cluster_fallback() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let etcd = "etcd:\n  external:\n    endpoints: [\"https://10.0.0.9:2379\"]\n    caFile: /x/ca.crt\n    certFile: /x/c.crt\n    keyFile: /x/c.key\n";
    let rs = make_tree(&tmp.path().join("rs"), "");
    let up = copy_tree(&rs, &tmp.path().join("up"), "");
    let rs = Tree { cfg: write_cfg(&rs.root, etcd), ..rs };
    let up = Tree { cfg: write_cfg(&up.root, etcd), ..up };
    let table = same_stdout(&up, &rs, &["certs", "check-expiration"], keep);
    assert!(!table.contains("etcd"), "{table}");

    // No --config: the cluster from --kubeconfig cannot be reached, so both fall back to the
    // defaults with --cert-dir (the kubeconfig files are then missing: /etc/kubernetes is empty).
    let unreachable = tmp.path().join("unreachable.conf");
    let admin = fs::read_to_string(rs.kdir().join("admin.conf")).expect("read");
    let admin: String = admin
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("server: ") {
                "    server: https://127.0.0.1:1".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    fs::write(&unreachable, admin).expect("write");
    let empty = tmp.path().join("empty");
    fs::create_dir_all(&empty).expect("mkdir");
    let args = |t: &Tree| {
        vec![
            "certs".to_string(),
            "check-expiration".to_string(),
            "--cert-dir".to_string(),
            t.pki().display().to_string(),
            "--kubeconfig".to_string(),
            unreachable.display().to_string(),
        ]
    };
    let ua = args(&up);
    let ra = args(&rs);
    let u = ok(run_k(&upstream(), &empty, &ua.iter().map(String::as_str).collect::<Vec<_>>()), "upstream");
    let r = ok(run_k(&ours(), &empty, &ra.iter().map(String::as_str).collect::<Vec<_>>()), "kubeadm-rs");
    assert!(u == r, "fallback output differs:\n{}", diff(&u, &r));
    assert!(
        r.starts_with("[check-expiration] Reading configuration from the \"kubeadm-config\" ConfigMap"),
        "{r}"
    );
    assert!(r.contains("Falling back to default configuration\n\n"), "{r}");
    assert!(r.contains("!MISSING! admin.conf"), "{r}");
}

// ---------------------------------------------------------------------------------------------
// renew

/// What must match between two renewals of the same certificate (not the key, serial or the exact
/// second of the validity).
fn describe_cert(pem_bytes: &[u8], validity: Duration) -> String {
    let (_, pem) = parse_x509_pem(pem_bytes).expect("certificate PEM");
    let cert = pem.parse_x509().expect("X.509 certificate");
    let mut d = format!("subject: {}\nissuer: {}\n", cert.subject(), cert.issuer());
    let v = cert.validity();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    // NotAfter = start + validity, NotBefore = start - 5m; the renewal ran moments ago.
    assert!((v.not_after.timestamp() - (now + validity.whole_seconds())).abs() < 120, "NotAfter of {d}");
    d += &format!("lifetime: {}\n", v.not_after.timestamp() - v.not_before.timestamp());
    d += &format!("signature-algorithm: {}\n", cert.signature_algorithm.algorithm);
    d += &format!("public-key-algorithm: {}\n", cert.public_key().algorithm.algorithm);
    let mut exts: Vec<String> = cert
        .extensions()
        .iter()
        .map(|e| format!("{}{}", e.oid, if e.critical { " (critical)" } else { "" }))
        .collect();
    exts.sort();
    d += &format!("extensions: {exts:?}\n");
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::KeyUsage(ku) => d += &format!("key-usage: {ku}\n"),
            ParsedExtension::ExtendedKeyUsage(eku) => {
                d += &format!("ext-key-usage: server={} client={}\n", eku.server_auth, eku.client_auth)
            }
            ParsedExtension::BasicConstraints(bc) => d += &format!("basic-constraints: ca={}\n", bc.ca),
            ParsedExtension::SubjectAlternativeName(san) => d += &format!("sans: {:?}\n", san.general_names),
            ParsedExtension::AuthorityKeyIdentifier(a) => d += &format!("akid: {:?}\n", a.key_identifier),
            _ => {}
        }
    }
    d
}

/// The certificate and key PEMs of a renewed PKI file pair or kubeconfig.
fn cert_and_key(t: &Tree, name: &str) -> (Vec<u8>, Vec<u8>) {
    if name.ends_with(".conf") {
        let c = kc::Config::parse(&fs::read(t.kdir().join(name)).expect("read")).expect("parse");
        let u = c.current_user().expect("user");
        (u.client_certificate_data.clone().expect("cert"), u.client_key_data.clone().expect("key"))
    } else {
        let h = kubeadm_pki::renew::renew_handler(name).expect("known certificate");
        let kubeadm_pki::renew::CertLocation::Pki { base_name } = h.location else { panic!("{name}") };
        (
            fs::read(kubeadm_pki::cert_path(&t.pki(), base_name)).expect("cert"),
            fs::read(kubeadm_pki::key_path(&t.pki(), base_name)).expect("key"),
        )
    }
}

fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    fs::metadata(p).expect("stat").permissions().mode() & 0o7777
}

/// The kubeconfig with its client certificate and key data blanked (the rest must be identical).
fn kubeconfig_shape(p: &Path) -> String {
    fs::read_to_string(p)
        .expect("read")
        .lines()
        .map(|l| {
            match l.split_once("client-certificate-data: ").or_else(|| l.split_once("client-key-data: ")) {
                Some((indent, _)) => format!("{indent}<data>"),
                None => l.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

const RENEWED: [&str; 11] = [
    "admin.conf",
    "apiserver",
    "apiserver-etcd-client",
    "apiserver-kubelet-client",
    "controller-manager.conf",
    "etcd-healthcheck-client",
    "etcd-peer",
    "etcd-server",
    "front-proxy-client",
    "scheduler.conf",
    "super-admin.conf",
];

#[test]
fn renew_all_matches_upstream() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let extra = "certificateValidityPeriod: 48h\n";
    let rs = make_tree(&tmp.path().join("rs"), extra);
    resign_pki(&rs.pki(), "apiserver", "ca", Duration::hours(-2), Duration::hours(-1));
    let up = copy_tree(&rs, &tmp.path().join("up"), extra);
    let before: Vec<(Vec<u8>, Vec<u8>)> = RENEWED.iter().map(|n| cert_and_key(&rs, n)).collect();

    let out = same_stdout(&up, &rs, &["certs", "renew", "all"], keep);
    assert!(out.starts_with("certificate embedded in the kubeconfig file for the admin to use and for kubeadm itself renewed\ncertificate for serving the Kubernetes API renewed\n"), "{out}");
    assert!(out.ends_with("\n\nDone renewing certificates. You must restart the kube-apiserver, kube-controller-manager, kube-scheduler and etcd, so that they can use the new certificates.\n"), "{out}");

    for (i, name) in RENEWED.iter().enumerate() {
        let (rc, rk) = cert_and_key(&rs, name);
        let (uc, uk) = cert_and_key(&up, name);
        let (d_rs, d_up) = (describe_cert(&rc, Duration::hours(48)), describe_cert(&uc, Duration::hours(48)));
        assert!(d_up == d_rs, "{name} differs:\n{}", diff(&d_up, &d_rs));
        // Same subject and SANs as before, but (as upstream) a new key matching the certificate.
        let old = Certificate::all_from_pem(&before[i].0).expect("old")[0].clone();
        let new = Certificate::all_from_pem(&rc).expect("new")[0].clone();
        assert_eq!(old.raw_subject(), new.raw_subject(), "{name}");
        assert_eq!(old.alt_names(), new.alt_names(), "{name}");
        assert_eq!(old.ext_key_usages(), new.ext_key_usages(), "{name}");
        assert_ne!(before[i].1, rk, "{name}: upstream renews with a new key");
        assert_ne!(before[i].1, uk, "{name}: upstream renews with a new key");
        let key = PrivateKey::from_pem(&rk).expect("key").expect("supported key");
        assert_eq!(Some(&key.public_key()), new.public_key(), "{name}: key and certificate");
        assert_eq!(text(&rk).lines().next(), text(&uk).lines().next(), "{name}: key PEM type");
    }
    for f in ["admin.conf", "super-admin.conf", "controller-manager.conf", "scheduler.conf"] {
        assert_eq!(kubeconfig_shape(&rs.kdir().join(f)), kubeconfig_shape(&up.kdir().join(f)), "{f}");
        assert_eq!(mode(&rs.kdir().join(f)), 0o600, "{f}");
    }
    assert_eq!(mode(&rs.pki().join("apiserver.key")), 0o600);
    assert_eq!(mode(&rs.pki().join("apiserver.crt")), 0o644);
    // kubelet.conf is left to the kubelet.
    assert_eq!(
        fs::read(rs.kdir().join("kubelet.conf")).expect("read"),
        fs::read(up.kdir().join("kubelet.conf")).expect("read")
    );
}

#[test]
fn renew_external_ca_missing_files_and_single_targets() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let rs = make_tree(&tmp.path().join("rs"), "");
    fs::remove_file(rs.pki().join("ca.key")).expect("rm");
    fs::remove_file(rs.kdir().join("scheduler.conf")).expect("rm");
    let up = copy_tree(&rs, &tmp.path().join("up"), "");
    let out = same_stdout(&up, &rs, &["certs", "renew", "all"], keep);
    assert!(
        out.contains("Detected external ca, certificate for serving the Kubernetes API can't be renewed\n"),
        "{out}"
    );
    assert!(
        out.contains(
            "MISSING! certificate embedded in the kubeconfig file for the scheduler manager to use\n"
        ),
        "{out}"
    );
    assert!(out.contains("certificate for serving etcd renewed\n"), "{out}");
    for args in [
        &["certs", "renew", "apiserver"][..],
        &["certs", "renew", "scheduler.conf"],
        &["certs", "renew", "etcd-peer"],
        &["certs", "renew", "front-proxy-client"],
    ] {
        same_stdout(&up, &rs, args, keep);
    }
    // With external etcd the etcd certificates are not part of the cluster.
    let etcd = "etcd:\n  external:\n    endpoints: [\"https://10.0.0.9:2379\"]\n    caFile: /x/ca.crt\n    certFile: /x/c.crt\n    keyFile: /x/c.key\n";
    let rs = Tree { cfg: write_cfg(&rs.root, etcd), ..rs };
    let up = Tree { cfg: write_cfg(&up.root, etcd), ..up };
    let out = same_stdout(&up, &rs, &["certs", "renew", "etcd-server"], keep);
    assert_eq!(out, "MISSING! certificate for serving etcd\n");
}

#[test]
fn renew_if_expiring_within() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let rs = make_tree(&tmp.path().join("rs"), "");
    resign_pki(&rs.pki(), "apiserver-etcd-client", "etcd/ca", Duration::minutes(-5), Duration::days(10));
    resign_kubeconfig(&rs.pki(), &rs.kdir(), "super-admin.conf", Duration::minutes(-5), Duration::days(3));
    let before = fs::read(rs.pki().join("apiserver.crt")).expect("read");
    let out = ok(
        run_k(
            &ours(),
            &rs.kdir(),
            &["certs", "renew", "all", "--config", &rs.cfg, "--if-expiring-within", "720h"],
        ),
        "renew",
    );
    assert!(out.contains("certificate the apiserver uses to access etcd renewed\n"), "{out}");
    assert!(
        out.contains("certificate embedded in the kubeconfig file for the super-admin renewed\n"),
        "{out}"
    );
    assert!(
        out.contains("Skipped certificate for serving the Kubernetes API: it expires in 364d ("),
        "{out}"
    );
    assert!(out.contains("), not within 720h0m0s\n"), "{out}");
    assert_eq!(out.matches(" renewed\n").count(), 2, "{out}");
    assert!(out.ends_with("\nDone renewing certificates. You must restart the kube-apiserver, kube-controller-manager, kube-scheduler and etcd, so that they can use the new certificates.\n"), "{out}");
    assert_eq!(before, fs::read(rs.pki().join("apiserver.crt")).expect("read"), "apiserver was skipped");
    let renewed = kubeadm_pki::load_cert(&rs.pki(), "apiserver-etcd-client").expect("load");
    assert!(renewed.not_after() > OffsetDateTime::now_utc() + Duration::days(360));

    let out = ok(
        run_k(
            &ours(),
            &rs.kdir(),
            &["certs", "renew", "all", "--config", &rs.cfg, "--if-expiring-within", "1h"],
        ),
        "renew",
    );
    assert!(out.ends_with("\n\nNo certificate was renewed.\n"), "{out}");
    let bad = run_k(
        &ours(),
        &rs.kdir(),
        &["certs", "renew", "apiserver", "--config", &rs.cfg, "--if-expiring-within", "soon"],
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad.stderr).contains("invalid argument \"soon\" for \"--if-expiring-within\" flag"),
        "{}",
        text(&bad.stderr)
    );
}

// ---------------------------------------------------------------------------------------------
// generate-csr

fn describe_csr(pem_bytes: &[u8]) -> String {
    let (_, pem) = parse_x509_pem(pem_bytes).expect("CSR PEM");
    assert_eq!(pem.label, "CERTIFICATE REQUEST");
    let (_, req) = X509CertificationRequest::from_der(&pem.contents).expect("CSR");
    req.verify_signature().expect("self-signature");
    let info = &req.certification_request_info;
    let mut d = format!("subject: {}\nraw-subject: {:x?}\n", info.subject, info.subject.as_raw());
    d += &format!("signature-algorithm: {}\n", req.signature_algorithm.algorithm);
    d += &format!("public-key-algorithm: {}\n", info.subject_pki.algorithm.algorithm);
    d += &format!("attributes: {}\n", info.attributes().len());
    for ext in req.requested_extensions().into_iter().flatten() {
        d += &format!("extension: {ext:?}\n");
    }
    d
}

fn files_with_modes(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).expect("prefix").display().to_string();
                out.push(format!("{:o} {rel}", mode(&p)));
            }
        }
    }
    out.sort();
    out
}

/// Upstream prints each section's names in Go map order: compare the sections' sorted lines.
fn sorted_sections(s: &str) -> Vec<Vec<String>> {
    let mut sections: Vec<Vec<String>> = Vec::new();
    for l in s.lines() {
        if l.starts_with("generating ") {
            sections.push(vec![l.to_string()]);
        } else if let Some(last) = sections.last_mut() {
            last.push(l.to_string());
            last[1..].sort();
        }
    }
    sections
}

#[test]
fn generate_csr_matches_upstream() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut outs = Vec::new();
    for (tool, name) in [(upstream(), "up"), (ours(), "rs")] {
        let root = tmp.path().join(name);
        fs::create_dir_all(&root).expect("mkdir");
        let cfg = write_cfg(
            &root,
            "controlPlaneEndpoint: cp.example.com:6443\napiServer:\n  certSANs: [extra.example, 10.9.9.9]\n",
        );
        let kdir = root.join("k").display().to_string();
        let o = command(&tool)
            .args(["certs", "generate-csr", "--config", &cfg, "--kubeconfig-dir", &kdir])
            .output()
            .expect("run");
        outs.push(ok(o, name).replace(root.to_str().unwrap_or(""), "<root>"));
        // A second run refuses to overwrite.
        let again = command(&tool)
            .args(["certs", "generate-csr", "--config", &cfg, "--kubeconfig-dir", &kdir])
            .output()
            .expect("run");
        assert_eq!(again.status.code(), Some(1), "{name}");
        assert!(
            text(&again.stderr).starts_with("error: file already exists: key or CSR "),
            "{name}: {}",
            text(&again.stderr)
        );
    }
    assert_eq!(sorted_sections(&outs[0]), sorted_sections(&outs[1]), "outputs:\n{}\n{}", outs[0], outs[1]);
    let (up, rs) = (tmp.path().join("up"), tmp.path().join("rs"));
    let files = files_with_modes(&rs);
    assert_eq!(files_with_modes(&up), files);
    assert!(files.contains(&"600 pki/etcd/peer.csr".to_string()), "{files:?}");
    assert!(files.contains(&"600 k/admin.conf.csr".to_string()), "{files:?}");
    for f in &files {
        let rel = f.split_once(' ').map(|(_, r)| r).unwrap_or_default();
        let (u, r) = (up.join(rel), rs.join(rel));
        if rel.ends_with(".csr") {
            let (du, dr) =
                (describe_csr(&fs::read(&u).expect("read")), describe_csr(&fs::read(&r).expect("read")));
            assert!(du == dr, "{rel} differs:\n{}", diff(&du, &dr));
            // The CSR is for the key written beside it.
            let key_pem = if rel.starts_with("k/") {
                let c = kc::Config::parse(&fs::read(rs.join(rel.trim_end_matches(".csr"))).expect("read"))
                    .expect("parse");
                c.current_user().and_then(|u| u.client_key_data.clone()).expect("key data")
            } else {
                fs::read(rs.join(rel.replace(".csr", ".key"))).expect("key")
            };
            let key = PrivateKey::from_pem(&key_pem).expect("key").expect("supported");
            let req = kubeadm_pki::CertificateRequest::from_pem(&fs::read(&r).expect("read")).expect("csr");
            assert_eq!(req.public_key(), Some(&key.public_key()), "{rel}");
        } else if rel.ends_with(".conf") {
            let shape = |p: &Path| {
                fs::read_to_string(p)
                    .expect("read")
                    .lines()
                    .map(|l| match l.split_once("client-key-data: ") {
                        Some((i, d)) => {
                            let k = text(&decode_b64(d));
                            format!("{i}key: {}", k.lines().next().unwrap_or_default())
                        }
                        None => l.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            assert_eq!(shape(&u), shape(&r), "{rel}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The ClusterConfiguration from a live cluster (bed test)

/// `check-expiration` and `renew` without `--config` on a control-plane node read the
/// ClusterConfiguration from `kubeadm-config` (here with `certificateValidityPeriod: 72h`), as
/// upstream does once the node's Node object and kube-apiserver mirror Pod exist; before, both
/// tools fall back to the defaults.
#[test]
fn cluster_configuration_from_live_control_plane() -> anyhow::Result<()> {
    use anyhow::{Context as _, ensure};
    use kubeadm_testbed::controlplane::{
        CONFIG_PATH, bind_cluster_admins, init_config_with, register_node_as, upstream_kubeadm,
        upstream_offline_phases, wait_readyz, wait_system_namespaces,
    };
    use kubeadm_testbed::{Bed, Node, bed_preflight, heavy_lock};

    fn both(node: &Node, args: &[&str]) -> anyhow::Result<(String, String)> {
        let kubeadm = kubeadm_testbed::components::bin("kubeadm")?;
        let mut out = Vec::new();
        for tool in [kubeadm.as_path(), Path::new(env!("CARGO_BIN_EXE_kubeadm-rs"))] {
            let o = node.exec(tool, args, &[])?;
            ensure!(o.status.success(), "{} {args:?} failed: {}", tool.display(), text(&o.stderr));
            out.push(text(&o.stdout));
        }
        let rs = out.pop().unwrap_or_default();
        let up = out.pop().unwrap_or_default();
        Ok((up, rs))
    }

    if bed_preflight()? {
        return Ok(());
    }
    let _serial = heavy_lock()?;
    let bed = Bed::builder().name("krs-certs").nodes(1).start()?;
    let run = || -> anyhow::Result<()> {
        let n1 = bed.node(0);
        n1.write_file(CONFIG_PATH, init_config_with(n1, "v1.37.2", "", "certificateValidityPeriod: 72h\n"))?;
        upstream_offline_phases(n1, CONFIG_PATH)?;
        bed.start_runner(n1)?;
        wait_readyz(&bed, n1, std::time::Duration::from_secs(120))?;
        bind_cluster_admins(&bed, n1).context("binding kubeadm:cluster-admins")?;
        wait_system_namespaces(&bed, n1)?;
        for what in ["kubeadm", "kubelet"] {
            upstream_kubeadm(n1, &["init", "phase", "upload-config", what, "--config", CONFIG_PATH])?;
        }
        // Without the Node object upstream's read fails at once: both fall back to the defaults.
        let (up, rs) = both(n1, &["certs", "check-expiration"])?;
        ensure!(up == rs, "check-expiration (fallback) differs:\n{}", diff(&up, &rs));
        ensure!(rs.contains("Falling back to default configuration\n\nCERTIFICATE "), "{rs}");

        // The Node object and the kube-apiserver mirror Pod (with the advertise-address
        // annotation) a kubelet would create; the bed has no kubelet.
        let reg = std::time::Duration::from_secs(60);
        register_node_as(&bed, n1, "/etc/kubernetes/super-admin.conf", reg)?;
        let pod = format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: kube-apiserver-{n}\n  namespace: kube-system\n  labels:\n    component: kube-apiserver\n    tier: control-plane\n  annotations:\n    kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint: {ip}:6443\nspec:\n  nodeName: {n}\n  containers:\n  - name: kube-apiserver\n    image: registry.k8s.io/pause:3.10\n",
            n = n1.name(),
            ip = n1.ip()
        );
        n1.write_file("/run/kubeadm/mirror-pod.yaml", pod)?;
        let deadline = std::time::Instant::now() + reg;
        loop {
            let args = ["apply", "-f", "/run/kubeadm/mirror-pod.yaml"];
            let out = bed.kubectl_with(n1, "/etc/kubernetes/super-admin.conf", &args)?;
            if out.status.success() {
                break;
            }
            ensure!(std::time::Instant::now() < deadline, "mirror Pod: {}", text(&out.stderr));
            std::thread::sleep(std::time::Duration::from_secs(1));
        }

        let (up, rs) = both(n1, &["certs", "check-expiration"])?;
        ensure!(up == rs, "check-expiration differs:\n{}", diff(&up, &rs));
        ensure!(rs.starts_with("[check-expiration] Reading configuration from the \"kubeadm-config\" ConfigMap in namespace \"kube-system\"...\n[check-expiration] Use 'kubeadm init phase upload-config kubeadm --config your-config-file' to re-upload it.\n\nCERTIFICATE "), "{rs}");
        let (up, rs) = both(n1, &["certs", "check-expiration", "-o", "yaml"])?;
        let (up, rs) = (round_residual(&up), round_residual(&rs));
        ensure!(up == rs, "check-expiration -o yaml differs:\n{}", diff(&up, &rs));
        ensure!(rs.starts_with("apiVersion: output.kubeadm.k8s.io/v1alpha3\n"), "{rs}");

        // renew with the cluster's certificateValidityPeriod (72h), upstream first.
        let (up, rs) = both(n1, &["certs", "renew", "front-proxy-client"])?;
        ensure!(up == rs, "renew differs:\n{}", diff(&up, &rs));
        ensure!(rs.ends_with("\n\ncertificate for the front proxy client renewed\n"), "{rs}");
        let o =
            n1.exec(env!("CARGO_BIN_EXE_kubeadm-rs"), ["certs", "renew", "apiserver-kubelet-client"], &[])?;
        ensure!(o.status.success(), "{}", text(&o.stderr));
        let cert = kubeadm_pki::load_cert(&n1.host_path("/etc/kubernetes/pki"), "apiserver-kubelet-client")?;
        let left = cert.not_after() - OffsetDateTime::now_utc();
        ensure!(left > Duration::hours(71) && left < Duration::hours(73), "NotAfter in {left}");
        Ok(())
    };
    let r = run();
    if r.is_err() {
        eprintln!("===== component log tails =====\n{}", bed.log_tails(40));
    }
    r
}
