//! Parity of the offline utility commands with upstream kubeadm v1.37.2: `config print`,
//! `config images list` and `kubeconfig user`. Both binaries run on the same host with the same
//! arguments; outputs are compared byte for byte, except the client certificate and key that
//! `kubeconfig user` generates, which are compared in the fields that do not differ by nature
//! (keys, serials and exact expiry do).
//!
//! Needs root (like every parity test) and the upstream kubeadm binary built by
//! `scripts/build-components.sh` (found through `KUBEADM_RS_BIN_DIR`); a missing binary fails the
//! tests. Upstream's attempt to fetch the `stable-1` version marker from dl.k8s.io is made to fail
//! fast (a proxy on a closed port), so both tools use their own version (kubeadm-rs never fetches).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use x509_parser::prelude::*;

mod common;
use common::{decode_b64, diff, upstream_kubeadm};

fn upstream() -> PathBuf {
    upstream_kubeadm("like every parity test")
}

fn ours() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_kubeadm-rs"))
}

fn run(tool: &Path, args: &[&str]) -> Output {
    Command::new(tool)
        .args(args)
        .env_clear()
        .env("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        .env("HOME", "/root")
        // Upstream resolves `stable-1` over the network; make that fail at once on any host.
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .env("https_proxy", "http://127.0.0.1:9")
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", tool.display()))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs both tools; both must succeed and print the same stdout. Returns that stdout.
fn same_stdout(args: &[&str]) -> String {
    let up = run(&upstream(), args);
    let rs = run(&ours(), args);
    assert!(up.status.success(), "upstream kubeadm {args:?} failed:\n{}", text(&up.stderr));
    assert!(rs.status.success(), "kubeadm-rs {args:?} failed:\n{}", text(&rs.stderr));
    let (u, r) = (text(&up.stdout), text(&rs.stdout));
    assert!(u == r, "stdout of {args:?} differs:\n{}", diff(&u, &r));
    u
}

/// Runs both tools; both must fail with exit code 1 and the same first stderr line.
fn same_error(args: &[&str]) {
    let up = run(&upstream(), args);
    let rs = run(&ours(), args);
    assert_eq!(up.status.code(), Some(1), "upstream kubeadm {args:?}: {}", text(&up.stderr));
    assert_eq!(rs.status.code(), Some(1), "kubeadm-rs {args:?}: {}", text(&rs.stderr));
    let first = |o: &Output| {
        text(&o.stderr).lines().find(|l| !l.contains("version.go")).unwrap_or_default().to_string()
    };
    assert_eq!(first(&up).to_lowercase(), first(&rs).to_lowercase(), "errors of {args:?} differ");
    assert!(rs.stdout.is_empty(), "kubeadm-rs printed to stdout on error");
}

// ---------------------------------------------------------------------------------------------
// config print

#[test]
fn config_print_init_defaults() {
    let out = same_stdout(&["config", "print", "init-defaults"]);
    assert!(out.contains("kind: InitConfiguration"));
}

#[test]
fn config_print_init_defaults_with_component_configs() {
    let out = same_stdout(&[
        "config",
        "print",
        "init-defaults",
        "--component-configs",
        "KubeletConfiguration,KubeProxyConfiguration",
    ]);
    assert!(out.contains("kind: KubeletConfiguration") && out.contains("kind: KubeProxyConfiguration"));
    same_stdout(&["config", "print", "init-defaults", "--component-configs", "KubeProxyConfiguration"]);
    same_stdout(&["config", "print", "init-defaults", "--component-configs=KubeletConfiguration"]);
}

#[test]
fn config_print_other_defaults() {
    for action in ["join-defaults", "reset-defaults", "upgrade-defaults"] {
        same_stdout(&["config", "print", action]);
    }
}

#[test]
fn config_print_component_config_errors() {
    same_error(&["config", "print", "init-defaults", "--component-configs", "KubeletConfiguration,Bogus"]);
    // Upstream has the flag on init-defaults only.
    same_error(&["config", "print", "join-defaults", "--component-configs", "KubeletConfiguration"]);
}

// ---------------------------------------------------------------------------------------------
// config images list

const CUSTOM_IMAGES_CONFIG: &str = "\
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: v1.36.4
imageRepository: registry.example.com/k8s
dns:
  imageRepository: registry.example.com/dns
  imageTag: v1.12.9
etcd:
  local:
    imageRepository: registry.example.com/etcd
    imageTag: 3.6.1-0
";

#[test]
fn config_images_list() {
    let dir = tempfile::tempdir().expect("tempdir");
    let custom = dir.path().join("custom.yaml");
    fs::write(&custom, CUSTOM_IMAGES_CONFIG).expect("write config");
    let custom = custom.to_str().expect("utf-8 path");
    for output in [None, Some("text"), Some("json")] {
        let mut args = vec!["config", "images", "list"];
        if let Some(o) = output {
            args.extend(["-o", o]);
        }
        let default = same_stdout(&args);
        assert!(default.contains("registry.k8s.io/kube-apiserver:"), "{default}");
        args.extend(["--config", custom]);
        let out = same_stdout(&args);
        assert!(out.contains("registry.example.com/etcd/etcd:3.6.1-0"), "{out}");
    }
}

// ---------------------------------------------------------------------------------------------
// kubeconfig user

/// Fields of a certificate that must match between the tools (not the key or serial).
fn describe_cert(pem_bytes: &[u8]) -> String {
    let (_, pem) = parse_x509_pem(pem_bytes).expect("certificate PEM");
    let cert = pem.parse_x509().expect("X.509 certificate");
    let mut d = String::new();
    d += &format!("pem-label: {}\n", pem.label);
    d += &format!("subject: {}\n", cert.subject());
    d += &format!("issuer: {}\n", cert.issuer());
    let v = cert.validity();
    // NotBefore is the CA's NotBefore for both tools: exact.
    d += &format!("not-before: {}\n", v.not_before.timestamp());
    let secs = v.not_after.timestamp() - v.not_before.timestamp();
    // Both tools run within seconds of each other; lifetimes to the nearest 10 minutes.
    d += &format!("lifetime(10min units): {}\n", (secs + 300) / 600);
    d += &format!("signature-algorithm: {}\n", cert.signature_algorithm.algorithm);
    let spki = cert.public_key();
    d += &format!("public-key-algorithm: {}\n", spki.algorithm.algorithm);
    if let Some(params) = &spki.algorithm.parameters
        && let Ok(oid) = params.as_oid()
    {
        d += &format!("public-key-params: {oid}\n");
    }
    if let Ok(key) = spki.parsed() {
        d += &format!("public-key-bits: {}\n", key.key_size());
    }
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
                d += &format!(
                    "ext-key-usage: server={} client={} other={}\n",
                    eku.server_auth,
                    eku.client_auth,
                    eku.other.len()
                )
            }
            ParsedExtension::BasicConstraints(bc) => d += &format!("basic-constraints: ca={}\n", bc.ca),
            _ => {}
        }
    }
    d
}

/// A private key's PEM label and block count (never its contents).
fn describe_key(pem_bytes: &[u8]) -> String {
    let t = text(pem_bytes);
    let label = t
        .lines()
        .find_map(|l| l.strip_prefix("-----BEGIN ").and_then(|l| l.strip_suffix("-----")))
        .unwrap_or("<none>");
    format!("pem-label: {label}\nblocks: {}\n", t.matches("-----BEGIN ").count())
}

/// The kubeconfig YAML with the client certificate and key replaced by their descriptions (the CA
/// is the same file for both tools and stays byte-identical).
fn normalize_kubeconfig(out: &str) -> String {
    let mut lines = Vec::new();
    for line in out.lines() {
        if let Some((indent, data)) = line.split_once("client-certificate-data: ") {
            lines.push(format!("{indent}client-certificate: |\n{}", describe_cert(&decode_b64(data))));
        } else if let Some((indent, data)) = line.split_once("client-key-data: ") {
            lines.push(format!("{indent}client-key: |\n{}", describe_key(&decode_b64(data))));
        } else {
            lines.push(line.to_string());
        }
    }
    lines.join("\n")
}

/// A CA made by upstream `init phase certs ca` in `<dir>/pki` and a config using it.
fn kubeconfig_case(dir: &Path, extra: &str) -> String {
    let pki = dir.join("pki");
    let pki = pki.to_str().expect("utf-8 path");
    let cfg_path = dir.join("config.yaml");
    let cfg = format!(
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\ncertificatesDir: {pki}\n{extra}"
    );
    fs::write(&cfg_path, &cfg).expect("write config");
    let cfg_path = cfg_path.to_str().expect("utf-8 path").to_string();
    let ca = run(&upstream(), &["init", "phase", "certs", "ca", "--config", &cfg_path]);
    assert!(ca.status.success(), "upstream init phase certs ca failed:\n{}", text(&ca.stderr));
    cfg_path
}

fn kubeconfig_user_parity(extra: &str, flags: &[&str], expect: &[&str]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = kubeconfig_case(dir.path(), extra);
    let mut args = vec!["kubeconfig", "user", "--config", &cfg];
    args.extend_from_slice(flags);
    let up = run(&upstream(), &args);
    let rs = run(&ours(), &args);
    assert!(up.status.success(), "upstream kubeadm {args:?} failed:\n{}", text(&up.stderr));
    assert!(rs.status.success(), "kubeadm-rs {args:?} failed:\n{}", text(&rs.stderr));
    let (u, r) = (normalize_kubeconfig(&text(&up.stdout)), normalize_kubeconfig(&text(&rs.stdout)));
    assert!(u == r, "kubeconfig user {flags:?} differs:\n{}", diff(&u, &r));
    assert!(text(&rs.stdout).ends_with("\n\n"), "upstream prints the YAML with fmt.Fprintln");
    for e in expect {
        assert!(r.contains(e), "{e:?} not in\n{r}");
    }

    // The token variant is byte-identical.
    let mut args = vec!["kubeconfig", "user", "--config", &cfg, "--token", "abcdef.0123456789abcdef"];
    args.extend_from_slice(flags);
    let up = run(&upstream(), &args);
    let rs = run(&ours(), &args);
    assert!(up.status.success() && rs.status.success(), "{}\n{}", text(&up.stderr), text(&rs.stderr));
    assert!(
        up.stdout == rs.stdout,
        "kubeconfig user --token differs:\n{}",
        diff(&text(&up.stdout), &text(&rs.stdout))
    );
}

// Lifetimes: NotBefore is the CA's (backdated 5 minutes), NotAfter now + validity, so a lifetime is
// validity + 5 minutes + the seconds since the CA was made: 365 days -> 52561, 48h -> 289 units.

#[test]
fn kubeconfig_user_default_endpoint() {
    kubeconfig_user_parity(
        "",
        &["--client-name", "alice", "--org", "team-a"],
        &[
            "subject: O=team-a, CN=alice",
            "lifetime(10min units): 52561",
            "pem-label: RSA PRIVATE KEY",
            "user: alice",
        ],
    );
}

#[test]
fn kubeconfig_user_endpoint_ecdsa_validity() {
    kubeconfig_user_parity(
        "controlPlaneEndpoint: cp.example.com:7443\nclusterName: prod\nencryptionAlgorithm: ECDSA-P256\n",
        &["--client-name", "bob", "--org", "team-a,team-b", "--org", "ops", "--validity-period", "48h"],
        &[
            "server: https://cp.example.com:7443",
            "name: bob@prod",
            "lifetime(10min units): 289",
            "pem-label: EC PRIVATE KEY",
        ],
    );
}

#[test]
fn kubeconfig_user_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("config.yaml");
    let missing = dir.path().join("missing");
    fs::write(
        &cfg,
        format!(
            "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\ncertificatesDir: {}\n",
            missing.display()
        ),
    )
    .expect("write config");
    let cfg = cfg.to_str().expect("utf-8 path");
    same_error(&["kubeconfig", "user", "--client-name", "alice", "--config", cfg]);
    same_error(&["kubeconfig", "user", "--config", cfg]);
    same_error(&["kubeconfig", "user", "--client-name", "alice", "--validity-period", "1x"]);
}

/// `reset --dry-run` on a host that kubeadm never touched prints upstream's lines (stdout is
/// compared byte for byte; the host's /etc/kubernetes is only read).
#[test]
fn reset_dry_run() {
    let out = same_stdout(&["reset", "--dry-run"]);
    assert!(out.contains("[dryrun] Would delete files: [/etc/kubernetes/admin.conf"), "{out}");
    let out = same_stdout(&[
        "reset",
        "--dry-run",
        "--cleanup-tmp-dir",
        "--cert-dir",
        "/tmp/kubeadm-rs-no-such-pki",
    ]);
    assert!(out.contains("/etc/kubernetes/tmp]"), "{out}");
}
