//! Parity with upstream kubeadm: both tools generate the offline half of `init` (certs, kubeconfigs,
//! etcd and control-plane manifests) from the same configuration, each into its own node root, and
//! the trees are compared: the same files with the same modes, the four manifests equal as parsed
//! YAML, the kubeconfigs equal in structure, and every certificate equal in the fields that do not
//! differ by nature (keys, serials and exact timestamps do).
//!
//! Needs root (a private mount namespace per run binds a scratch folder over /etc/kubernetes) and
//! the upstream kubeadm binary built by `scripts/build-components.sh` (found through
//! `KUBEADM_RS_BIN_DIR`). The cases live in `tests/parity/<case>/config.yaml` (plus an optional
//! `patches/` folder); `@CASE_DIR@` in a config is replaced with the case's folder.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use x509_parser::prelude::*;

mod common;
use common::{decode_b64, diff, upstream_kubeadm};

const PHASES: &[&str] = &["certs all", "kubeconfig all", "etcd local", "control-plane all"];

/// Runs `tool init phase <p> --config <cfg>` for every offline phase inside a private mount
/// namespace in which `root/etc-kubernetes` is bound over /etc/kubernetes.
fn generate(tool: &Path, case_dir: &Path, root: &Path) -> Result<String, String> {
    let etc = root.join("etc-kubernetes");
    let etcd_data = root.join("var-lib-etcd");
    for dir in [&etc, &etcd_data] {
        fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    // The bind mounts need mount points; an empty /etc/kubernetes and /var/lib/etcd are what a
    // kubeadm host has anyway (the test bed creates the same ones).
    for mount_point in ["/etc/kubernetes", "/var/lib/etcd"] {
        fs::create_dir_all(mount_point).map_err(|e| format!("create {mount_point}: {e}"))?;
    }
    let cfg_text = fs::read_to_string(case_dir.join("config.yaml")).map_err(|e| e.to_string())?;
    let cfg = root.join("config.yaml");
    fs::write(&cfg, cfg_text.replace("@CASE_DIR@", &case_dir.display().to_string()))
        .map_err(|e| e.to_string())?;
    let mut script =
        String::from("set -eu\nmount --bind \"$1\" /etc/kubernetes\nmount --bind \"$4\" /var/lib/etcd\n");
    for phase in PHASES {
        script.push_str(&format!("\"$2\" init phase {phase} --config \"$3\"\n"));
    }
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "--", "/bin/sh", "-c", &script, "sh"])
        .arg(&etc)
        .arg(tool)
        .arg(&cfg)
        .arg(&etcd_data)
        .env_clear()
        .env("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        .env("HOME", "/root")
        .output()
        .map_err(|e| format!("run {}: {e}", tool.display()))?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if out.status.success() { Ok(text) } else { Err(format!("{} failed:\n{text}", tool.display())) }
}

/// Every file under `dir`, relative path -> (mode bits, contents).
fn tree(dir: &Path) -> BTreeMap<String, (u32, Vec<u8>)> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, (u32, Vec<u8>)>) {
        for entry in fs::read_dir(dir).expect("read dir") {
            let entry = entry.expect("dir entry");
            let path = entry.path();
            let meta = fs::symlink_metadata(&path).expect("metadata");
            let rel = path.strip_prefix(base).expect("prefix").display().to_string();
            if meta.is_dir() {
                out.insert(format!("{rel}/"), (meta.permissions().mode() & 0o7777, Vec::new()));
                walk(base, &path, out);
            } else {
                out.insert(rel, (meta.permissions().mode() & 0o7777, fs::read(&path).expect("read")));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The fields of a certificate that must match between the tools.
fn describe_cert(pem_bytes: &[u8]) -> String {
    let (_, pem) = parse_x509_pem(pem_bytes).expect("certificate PEM");
    let cert = pem.parse_x509().expect("X.509 certificate");
    let mut d = String::new();
    d += &format!("pem-label: {}\n", pem.label);
    d += &format!("version: {:?}\n", cert.version());
    d += &format!("subject: {}\n", cert.subject());
    d += &format!("issuer: {}\n", cert.issuer());
    let v = cert.validity();
    let secs = v.not_after.timestamp() - v.not_before.timestamp();
    // Both tools run within seconds of each other; compare lifetimes to the nearest 10 minutes.
    d += &format!("lifetime(10min units): {}\n", (secs + 300) / 600);
    d += &format!("signature-algorithm: {}\n", cert.signature_algorithm.algorithm);
    let spki = cert.public_key();
    d += &format!("public-key-algorithm: {}\n", spki.algorithm.algorithm);
    if let Some(params) = &spki.algorithm.parameters
        && let Ok(oid) = params.as_oid()
    {
        d += &format!("public-key-params: {oid}\n");
    }
    match spki.parsed() {
        Ok(key) => d += &format!("public-key-bits: {}\n", key.key_size()),
        Err(e) => d += &format!("public-key: unparsable ({e})\n"),
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
                    "ext-key-usage: server={} client={} other={:?}\n",
                    eku.server_auth,
                    eku.client_auth,
                    eku.other.iter().map(|o| o.to_string()).collect::<Vec<_>>()
                )
            }
            ParsedExtension::BasicConstraints(bc) => {
                d += &format!("basic-constraints: ca={} pathlen={:?}\n", bc.ca, bc.path_len_constraint)
            }
            ParsedExtension::SubjectAlternativeName(san) => {
                for name in &san.general_names {
                    match name {
                        GeneralName::IPAddress(bytes) => d += &format!("san: IP {}\n", ip_string(bytes)),
                        other => d += &format!("san: {other}\n"),
                    }
                }
            }
            _ => {}
        }
    }
    d
}

fn ip_string(bytes: &[u8]) -> String {
    match bytes.len() {
        4 => std::net::Ipv4Addr::from(<[u8; 4]>::try_from(bytes).expect("4 bytes")).to_string(),
        16 => std::net::Ipv6Addr::from(<[u8; 16]>::try_from(bytes).expect("16 bytes")).to_string(),
        _ => format!("{bytes:?}"),
    }
}

/// A private key's PEM label and algorithm (never its contents).
fn describe_key(pem_bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(pem_bytes);
    let label = text
        .lines()
        .find_map(|l| l.strip_prefix("-----BEGIN ").and_then(|l| l.strip_suffix("-----")))
        .unwrap_or("<no PEM block>")
        .to_string();
    let blocks = text.matches("-----BEGIN ").count();
    format!("pem-label: {label}\nblocks: {blocks}\nbytes(100s): {}\n", pem_bytes.len() / 100)
}

/// A kubeconfig with its embedded certificates replaced by their descriptions and its key by the
/// key's description.
fn normalize_kubeconfig(bytes: &[u8]) -> serde_yaml::Value {
    let mut v: serde_yaml::Value = serde_yaml::from_slice(bytes).expect("kubeconfig YAML");
    fn walk(v: &mut serde_yaml::Value) {
        match v {
            serde_yaml::Value::Mapping(m) => {
                for (k, val) in m.iter_mut() {
                    let key = k.as_str().unwrap_or_default().to_string();
                    match (key.as_str(), val.as_str()) {
                        ("certificate-authority-data" | "client-certificate-data", Some(s)) => {
                            *val = serde_yaml::Value::String(describe_cert(&decode_b64(s)))
                        }
                        ("client-key-data", Some(s)) => {
                            *val = serde_yaml::Value::String(describe_key(&decode_b64(s)))
                        }
                        _ => walk(val),
                    }
                }
            }
            serde_yaml::Value::Sequence(s) => s.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut v);
    v
}

/// What is compared for one file.
fn normalize(rel: &str, bytes: &[u8]) -> String {
    if rel.ends_with(".crt") {
        describe_cert(bytes)
    } else if rel.ends_with(".key") || rel.ends_with(".pub") {
        describe_key(bytes)
    } else if rel.ends_with(".conf") {
        serde_yaml::to_string(&normalize_kubeconfig(bytes)).expect("yaml")
    } else if rel.ends_with(".yaml") {
        let v: serde_yaml::Value = serde_yaml::from_slice(bytes).expect("manifest YAML");
        serde_yaml::to_string(&v).expect("yaml")
    } else {
        String::from_utf8_lossy(bytes).into_owned()
    }
}

/// Compares the two trees; returns a report of every difference (empty when they match).
fn compare(upstream: &Path, ours: &Path) -> String {
    let up = tree(upstream);
    let rs = tree(ours);
    let mut report = String::new();
    for (rel, (mode, data)) in &up {
        match rs.get(rel) {
            None => report += &format!("missing in kubeadm-rs: {rel}\n"),
            Some((rmode, rdata)) => {
                if mode != rmode {
                    report += &format!("mode of {rel}: upstream {mode:o}, kubeadm-rs {rmode:o}\n");
                }
                if rel.ends_with('/') {
                    continue;
                }
                let (a, b) = (normalize(rel, data), normalize(rel, rdata));
                if a != b {
                    report += &format!("content of {rel} differs:\n{}\n", diff(&a, &b));
                }
            }
        }
    }
    for rel in rs.keys().filter(|k| !up.contains_key(*k)) {
        report += &format!("only in kubeadm-rs: {rel}\n");
    }
    report
}

fn parity_case(case: &str) {
    let upstream_bin =
        upstream_kubeadm("they bind a scratch folder over /etc/kubernetes in a private mount namespace");
    let ours = PathBuf::from(env!("CARGO_BIN_EXE_kubeadm-rs"));
    let case_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/parity").join(case);
    let scratch = tempfile::Builder::new().prefix(&format!("parity-{case}-")).tempdir().expect("tempdir");
    let up_root = scratch.path().join("upstream");
    let rs_root = scratch.path().join("kubeadm-rs");
    let up_out = generate(&upstream_bin, &case_dir, &up_root).unwrap_or_else(|e| panic!("upstream: {e}"));
    let rs_out = generate(&ours, &case_dir, &rs_root).unwrap_or_else(|e| panic!("kubeadm-rs: {e}"));
    let mut report = compare(&up_root.join("etc-kubernetes"), &rs_root.join("etc-kubernetes"));
    let mode = |root: &Path| {
        fs::metadata(root.join("var-lib-etcd"))
            .map(|m| format!("{:o}", m.permissions().mode() & 0o7777))
            .unwrap_or_else(|e| e.to_string())
    };
    if mode(&up_root) != mode(&rs_root) {
        report += &format!(
            "mode of the etcd data dir: upstream {}, kubeadm-rs {}\n",
            mode(&up_root),
            mode(&rs_root)
        );
    }
    assert!(
        report.is_empty(),
        "case {case}: kubeadm-rs differs from upstream kubeadm:\n{report}\n--- upstream output:\n{up_out}\n--- kubeadm-rs output:\n{rs_out}"
    );
}

macro_rules! parity_tests {
    ($($name:ident => $case:literal),* $(,)?) => {
        $( #[test] fn $name() { parity_case($case); } )*
    };
}

parity_tests! {
    parity_defaults => "defaults",
    parity_sans_and_endpoint => "sans-endpoint",
    parity_ecdsa_p256 => "ecdsa-p256",
    parity_rsa_4096 => "rsa-4096",
    parity_external_etcd => "external-etcd",
    parity_extra_args_volumes_envs_gates => "extras",
    parity_ipv6 => "ipv6",
    parity_dual_stack => "dual-stack",
    parity_service_subnet_and_dns_domain => "service-dns",
    parity_patches => "patches",
}
