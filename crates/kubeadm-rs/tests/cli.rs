//! Runs the built `kubeadm-rs` binary: help, version formats, phase selection errors,
//! not-implemented commands, and bad inputs. No root and no cluster needed; files only go to
//! temporary directories (`--cert-dir`, `--kubeconfig-dir`, `KUBEADM_RS_MANIFESTS_DIR`).

use std::path::Path;
use std::process::{Command, Output};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kubeadm-rs"));
    c.env_remove("KUBEADM_RS_MANIFESTS_DIR").env_remove("KUBEADM_INIT_DRYRUN_DIR");
    c
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p.display().to_string());
            }
        }
    }
    out
}

/// Every later phase: skipping them leaves only the offline part of `init`.
const ONLINE: &str = "kubelet-start,wait-control-plane,upload-config,upload-certs,mark-control-plane,bootstrap-token,kubelet-finalize,addon,show-join-command";

#[test]
fn root_help_lists_commands() {
    let o = run(&["--help"]);
    assert!(o.status.success());
    let s = stdout(&o);
    for c in [
        "certs",
        "completion",
        "config",
        "init",
        "join",
        "reset",
        "token",
        "upgrade",
        "version",
        "kubeconfig",
    ] {
        assert!(s.contains(c), "missing {c} in help:\n{s}");
    }
}

#[test]
fn init_help_has_phase_tree() {
    let o = run(&["init", "--help"]);
    assert!(o.status.success());
    let s = stdout(&o);
    assert!(s.contains("The \"init\" command executes the following phases:\n```\npreflight                     Run pre-flight checks\n"), "{s}");
    assert!(
        s.contains("  /enable-client-cert-rotation  Enable kubelet client certificate rotation\n"),
        "{s}"
    );
    assert!(s.contains("--skip-phases"), "{s}");
}

#[test]
fn phase_subcommands_only_take_inherited_flags() {
    let o = run(&["init", "phase", "certs", "ca", "--help"]);
    assert!(o.status.success());
    let s = stdout(&o);
    assert!(s.contains("--cert-dir") && s.contains("--kubernetes-version"), "{s}");
    assert!(!s.contains("--pod-network-cidr"), "{s}");
    let o = run(&["init", "phase", "certs", "ca", "--pod-network-cidr", "10.0.0.0/8"]);
    assert!(!o.status.success());
}

#[test]
fn version_formats() {
    let o = run(&["version", "-o", "short"]);
    assert!(o.status.success());
    assert_eq!(stdout(&o), "v1.37.2\n");
    let o = run(&["version", "-o", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["clientVersion"]["gitVersion"], "v1.37.2");
    assert_eq!(v["clientVersion"]["major"], "1");
    assert_eq!(v["clientVersion"]["minor"], "37");
    assert!(v["clientVersion"]["platform"].as_str().is_some_and(|p| p.starts_with("linux/")));
    let o = run(&["version", "-o", "yaml"]);
    let y: serde_yaml::Value = serde_yaml::from_slice(&o.stdout).expect("yaml");
    assert_eq!(y["clientVersion"]["gitVersion"].as_str(), Some("v1.37.2"));
    let o = run(&["version"]);
    assert!(stdout(&o).starts_with("kubeadm version: &version.Info{Major:\"1\", Minor:\"37\""));
    let o = run(&["version", "-o", "toml"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("invalid output format: toml"));
}

#[test]
fn unknown_phase_in_skip_phases() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = run(&[
        "init",
        "--skip-phases",
        "nope",
        "--cert-dir",
        &dir.path().join("pki").display().to_string(),
        "--kubernetes-version",
        "v1.37.2",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("invalid phase name: nope"), "{}", stderr(&o));
    assert!(files_under(dir.path()).is_empty());
}

#[test]
fn unknown_phase_in_join_and_reset() {
    for cmd in ["join", "reset"] {
        let o = run(&[cmd, "--skip-phases", "bogus"]);
        assert_eq!(o.status.code(), Some(1), "{cmd}: {}", stderr(&o));
        assert!(stderr(&o).contains("invalid phase name: bogus"), "{cmd}: {}", stderr(&o));
    }
}

#[test]
fn not_implemented_commands_fail() {
    for args in [
        &["upgrade", "plan"][..],
        &["token", "list", "--dry-run"],
        &["certs", "check-expiration", "-o", "kyaml"],
        &["config", "images", "pull"],
    ] {
        let o = run(args);
        assert_eq!(o.status.code(), Some(3), "{args:?}");
        let e = stderr(&o);
        assert!(e.contains("kubeadm-rs: \"") && e.contains("is not implemented yet"), "{args:?}: {e}");
        assert!(stdout(&o).is_empty());
    }
}

#[test]
fn token_commands_check_arguments_before_the_cluster() {
    let o = run(&["token", "list", "--kubeconfig", "/nonexistent"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("/nonexistent"), "{}", stderr(&o));
    let o = run(&["token", "create", "ABCDEF.0123456789abcdef", "--kubeconfig", "/nonexistent"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!stderr(&o).contains("ABCDEF"), "the token must not be echoed: {}", stderr(&o));
    let o = run(&["token", "create", "--usages", "bogus", "--kubeconfig", "/nonexistent"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("bootstrapTokens[0].usages"), "{}", stderr(&o));
    let o = run(&["token", "delete", "not-a-token", "--kubeconfig", "/nonexistent"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("given token didn't match pattern"), "{}", stderr(&o));
    let o = run(&["token", "list", "-o", "xml", "--kubeconfig", "/nonexistent"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("unable to match a printer suitable for the output format \"xml\""),
        "{}",
        stderr(&o)
    );
}

#[test]
fn api_server_phases_fail_clearly() {
    // Without --upload-certs the phase only says it skips (as upstream).
    let o = run(&["init", "phase", "upload-certs", "--kubeconfig", "/nonexistent"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "[upload-certs] Skipping phase. Please see --upload-certs\n"
    );
    // With it, a kubeconfig that does not exist is a plain failure naming the phase.
    let o = run(&["init", "phase", "upload-certs", "--upload-certs", "--kubeconfig", "/nonexistent"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("error execution phase upload-certs: "), "{}", stderr(&o));
}

#[test]
fn token_generate_and_certificate_key() {
    let o = run(&["token", "generate"]);
    assert!(o.status.success());
    let t = stdout(&o);
    let t = t.trim_end();
    let (id, secret) = t.split_once('.').expect("dot");
    assert_eq!((id.len(), secret.len()), (6, 16));
    assert!(t.bytes().all(|b| b == b'.' || b.is_ascii_digit() || b.is_ascii_lowercase()));
    let o = run(&["certs", "certificate-key"]);
    assert!(o.status.success());
    let k = stdout(&o);
    assert_eq!(k.trim_end().len(), 64);
    assert!(hex_ok(k.trim_end()));
}

fn hex_ok(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[test]
fn bad_token_is_rejected_without_echoing_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = run(&[
        "init",
        "--token",
        "NOT-A-TOKEN-secretvalue",
        "--cert-dir",
        &dir.path().join("pki").display().to_string(),
        "--skip-phases",
        ONLINE,
    ]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("--token"), "{e}");
    assert!(!e.contains("secretvalue"), "secret leaked: {e}");
    assert!(files_under(dir.path()).is_empty());
}

#[test]
fn config_mixed_with_flags_is_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("c.yaml");
    std::fs::write(&cfg, "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n").expect("write");
    let o = run(&[
        "init",
        "--config",
        &cfg.display().to_string(),
        "--pod-network-cidr",
        "10.0.0.0/16",
        "--service-cidr",
        "10.1.0.0/16",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("can not mix '--config' with arguments [pod-network-cidr service-cidr]"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn missing_config_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nope.yaml");
    let o = run(&["init", "--config", &missing.display().to_string(), "--skip-phases", ONLINE]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("nope.yaml"), "{}", stderr(&o));
    assert!(files_under(dir.path()).is_empty());
}

#[test]
fn completion_scripts() {
    for sh in ["bash", "zsh", "fish"] {
        let o = run(&["completion", sh]);
        assert!(o.status.success(), "{sh}");
        assert!(stdout(&o).contains("kubeadm-rs"), "{sh}");
    }
    assert!(!run(&["completion", "powershell"]).status.success());
}

#[test]
fn rootfs_is_not_supported_yet() {
    let o = run(&["--rootfs", "/mnt", "token", "generate"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--rootfs is not supported yet"));
}

#[test]
fn config_print_init_defaults_parses() {
    let o = run(&["config", "print", "init-defaults"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = stdout(&o);
    let docs: Vec<&str> = s.split("\n---\n").collect();
    assert_eq!(docs.len(), 2, "{s}");
    let init: serde_yaml::Value = serde_yaml::from_str(docs[0]).expect("InitConfiguration yaml");
    let cluster: serde_yaml::Value = serde_yaml::from_str(docs[1]).expect("ClusterConfiguration yaml");
    assert_eq!(init["kind"].as_str(), Some("InitConfiguration"));
    assert_eq!(cluster["kind"].as_str(), Some("ClusterConfiguration"));
    assert_eq!(cluster["apiVersion"].as_str(), Some("kubeadm.k8s.io/v1beta4"));
}

#[test]
fn invalid_cidr_names_the_field_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = run(&[
        "init",
        "--pod-network-cidr",
        "not-a-cidr",
        "--kubernetes-version",
        "v1.37.2",
        "--cert-dir",
        &dir.path().join("pki").display().to_string(),
        "--skip-phases",
        ONLINE,
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("networking.podSubnet"), "{}", stderr(&o));
    assert!(files_under(dir.path()).is_empty());
}

#[test]
fn wrong_kind_in_config_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("c.yaml");
    std::fs::write(&cfg, "apiVersion: kubeadm.k8s.io/v1beta2\nkind: ClusterConfiguration\n").expect("write");
    let o = run(&["init", "--config", &cfg.display().to_string(), "--skip-phases", ONLINE]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("v1beta2"), "{}", stderr(&o));
}

/// A v1beta4 config whose every host path is below `dir` (certificates, etcd data).
fn config_in(dir: &Path, extra_cluster: &str) -> std::path::PathBuf {
    let cfg = dir.join("config.yaml");
    let text = format!(
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nbootstrapTokens:\n- token: abcdef.0123456789abcdef\nlocalAPIEndpoint:\n  advertiseAddress: 10.233.250.10\n  bindPort: 6443\nnodeRegistration:\n  name: cli-node\n  criSocket: unix:///run/containerd/containerd.sock\n---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: v1.37.2\ncertificatesDir: {}\netcd:\n  local:\n    dataDir: {}\n{extra_cluster}",
        dir.join("pki").display(),
        dir.join("etcd-data").display()
    );
    std::fs::write(&cfg, text).expect("write config");
    cfg
}

fn run_env(args: &[&str], manifests: &Path) -> Output {
    bin().args(args).env("KUBEADM_RS_MANIFESTS_DIR", manifests).output().expect("binary runs")
}

const CERT_FILES: &[&str] = &[
    "ca.crt",
    "ca.key",
    "apiserver.crt",
    "apiserver.key",
    "apiserver-kubelet-client.crt",
    "apiserver-kubelet-client.key",
    "front-proxy-ca.crt",
    "front-proxy-ca.key",
    "front-proxy-client.crt",
    "front-proxy-client.key",
    "etcd/ca.crt",
    "etcd/ca.key",
    "etcd/server.crt",
    "etcd/server.key",
    "etcd/peer.crt",
    "etcd/peer.key",
    "etcd/healthcheck-client.crt",
    "etcd/healthcheck-client.key",
    "apiserver-etcd-client.crt",
    "apiserver-etcd-client.key",
    "sa.key",
    "sa.pub",
];
const KUBECONFIGS: &[&str] =
    &["admin.conf", "super-admin.conf", "kubelet.conf", "controller-manager.conf", "scheduler.conf"];
const MANIFESTS: &[&str] =
    &["etcd.yaml", "kube-apiserver.yaml", "kube-controller-manager.yaml", "kube-scheduler.yaml"];

fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).permissions().mode() & 0o7777
}

#[test]
fn offline_phases_write_every_file_with_upstream_modes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let cfg = config_in(d, "");
    let cfg = cfg.display().to_string();
    let kc = d.join("kc").display().to_string();
    let man = d.join("manifests");
    let o = run_env(&["init", "phase", "certs", "all", "--config", &cfg], &man);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = stdout(&o);
    assert!(
        s.starts_with(&format!(
            "[certs] Using certificateDir folder {:?}\n[certs] Generating \"ca\" certificate and key\n",
            d.join("pki").display().to_string()
        )),
        "{s}"
    );
    assert!(s.contains("[certs] apiserver serving cert is signed for DNS names [cli-node kubernetes kubernetes.default kubernetes.default.svc kubernetes.default.svc.cluster.local] and IPs [10.96.0.1 10.233.250.10]\n"), "{s}");
    assert!(s.ends_with("[certs] Generating \"sa\" key and public key\n"), "{s}");
    for f in CERT_FILES {
        let want = if f.ends_with(".crt") { 0o644 } else { 0o600 };
        assert_eq!(mode(&d.join("pki").join(f)), want, "{f}");
    }
    let o = run_env(&["init", "phase", "kubeconfig", "all", "--config", &cfg, "--kubeconfig-dir", &kc], &man);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("[kubeconfig] Writing \"super-admin.conf\" kubeconfig file\n"),
        "{}",
        stdout(&o)
    );
    for f in KUBECONFIGS {
        assert_eq!(mode(&d.join("kc").join(f)), 0o600, "{f}");
    }
    let o = run_env(&["init", "phase", "etcd", "local", "--config", &cfg], &man);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        format!("[etcd] Creating static Pod manifest for local etcd in {:?}\n", man.display().to_string())
    );
    assert_eq!(mode(&d.join("etcd-data")), 0o700);
    let o = run_env(&["init", "phase", "control-plane", "all", "--config", &cfg], &man);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("[control-plane] Creating static Pod manifest for \"kube-scheduler\"\n"),
        "{}",
        stdout(&o)
    );
    for f in MANIFESTS {
        assert_eq!(mode(&man.join(f)), 0o600, "{f}");
    }
    assert_eq!(mode(&man), 0o700);
    // A second run reuses everything.
    let o =
        run_env(&["init", "phase", "kubeconfig", "admin", "--config", &cfg, "--kubeconfig-dir", &kc], &man);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        format!(
            "[kubeconfig] Using existing kubeconfig file: {:?}\n",
            d.join("kc/admin.conf").display().to_string()
        )
    );
    let o = run_env(&["init", "phase", "certs", "apiserver", "--config", &cfg], &man);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "[certs] Using existing apiserver certificate and key on disk\n");
}

#[test]
fn full_offline_init_in_dry_run_writes_everything_then_stops() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let cfg = config_in(d, "").display().to_string();
    let dry = d.join("dry");
    std::fs::create_dir(&dry).expect("mkdir");
    let o = bin()
        .args(["init", "--config", &cfg, "--dry-run", "--skip-phases", &format!("preflight,{ONLINE}")])
        .env("KUBEADM_INIT_DRYRUN_DIR", &dry)
        .output()
        .expect("runs");
    assert!(o.status.success(), "{}", stderr(&o));
    let s = stdout(&o);
    assert!(s.starts_with("[init] Using Kubernetes version: v1.37.2\n"), "{s}");
    assert!(
        s.contains("[dryrun] Would write file \"/etc/kubernetes/manifests/etcd.yaml\" with content:\n"),
        "{s}"
    );
    for f in CERT_FILES.iter().chain(KUBECONFIGS).chain(MANIFESTS) {
        assert!(dry.join(f).is_file(), "missing {f}");
    }
    // Nothing outside the dry-run directory (the etcd data dir is not created either).
    assert!(!d.join("pki").exists() && !d.join("etcd-data").exists());

    // Without --skip-phases, init stops at the first phase that needs an API server.
    let dry2 = d.join("dry2");
    std::fs::create_dir(&dry2).expect("mkdir");
    let o = bin()
        .args(["init", "--config", &cfg, "--dry-run", "--skip-phases", "preflight"])
        .env("KUBEADM_INIT_DRYRUN_DIR", &dry2)
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o)
            .contains("error execution phase kubelet-start: phase \"kubelet-start\" is not implemented yet"),
        "{}",
        stderr(&o)
    );
    assert!(dry2.join("kube-scheduler.yaml").is_file());
}

#[test]
fn unknown_field_is_an_error_naming_it_and_nothing_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let cfg =
        config_in(d, "networking:\n  podSubnet: 10.244.0.0/16\n  bogusField: 1\n").display().to_string();
    let o = run_env(&["init", "phase", "certs", "all", "--config", &cfg], &d.join("m"));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("unknown field \"networking.bogusField\""), "{}", stderr(&o));
    assert_eq!(files_under(d), vec![d.join("config.yaml").display().to_string()]);
    let o = run(&["config", "validate", "--config", &cfg]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("bogusField"), "{}", stderr(&o));
}

#[test]
fn bad_token_in_config_is_an_error_and_nothing_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let cfg = config_in(d, "");
    let text = std::fs::read_to_string(&cfg)
        .expect("read")
        .replace("abcdef.0123456789abcdef", "abcdef.0123456789ABCDEF");
    std::fs::write(&cfg, text).expect("write");
    let o = run_env(&["init", "phase", "certs", "all", "--config", &cfg.display().to_string()], &d.join("m"));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("token"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("0123456789ABCDEF"), "secret leaked: {}", stderr(&o));
    assert_eq!(files_under(d).len(), 1);
}

#[test]
fn corrupt_existing_certificate_fails_before_anything_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let cfg = config_in(d, "").display().to_string();
    std::fs::create_dir_all(d.join("pki")).expect("mkdir");
    std::fs::write(
        d.join("pki/apiserver.crt"),
        "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n",
    )
    .expect("write");
    std::fs::write(d.join("pki/apiserver.key"), "garbage").expect("write");
    let o = run_env(&["init", "phase", "certs", "all", "--config", &cfg], &d.join("m"));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("error execution phase certs/apiserver:"), "{}", stderr(&o));
    assert!(stderr(&o).contains("apiserver"), "{}", stderr(&o));
    let mut files = files_under(&d.join("pki"));
    files.sort();
    assert_eq!(
        files,
        [
            d.join("pki/apiserver.crt").display().to_string(),
            d.join("pki/apiserver.key").display().to_string()
        ]
    );
}

#[test]
fn unusable_cert_dir_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let file = d.join("not-a-dir");
    std::fs::write(&file, "x").expect("write");
    let o = run(&[
        "init",
        "phase",
        "certs",
        "all",
        "--cert-dir",
        &file.display().to_string(),
        "--kubernetes-version",
        "v1.37.2",
        "--apiserver-advertise-address",
        "10.0.0.1",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains(&file.display().to_string()), "{}", stderr(&o));
    assert_eq!(files_under(d).len(), 1);
}

#[test]
fn kubeconfig_without_ca_fails_clearly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let cfg = config_in(d, "").display().to_string();
    let o = run(&[
        "init",
        "phase",
        "kubeconfig",
        "all",
        "--config",
        &cfg,
        "--kubeconfig-dir",
        &d.join("kc").display().to_string(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("error execution phase kubeconfig/admin: couldn't create a kubeconfig; the CA files couldn't be loaded: failed to load certificate: couldn't load the certificate file "), "{}", stderr(&o));
    assert!(!d.join("kc").exists());
}

#[test]
fn config_images_list_validate_and_migrate() {
    let o = run(&["config", "images", "list", "--kubernetes-version", "v1.37.2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with(
            "registry.k8s.io/kube-apiserver:v1.37.2\nregistry.k8s.io/kube-controller-manager:v1.37.2\n"
        ),
        "{}",
        stdout(&o)
    );
    let o = run(&["config", "images", "list", "--kubernetes-version", "v1.37.2", "-o", "json"]);
    assert!(stdout(&o).starts_with("{\n    \"kind\": \"Images\",\n    \"apiVersion\": \"output.kubeadm.k8s.io/v1alpha3\",\n    \"images\": [\n"), "{}", stdout(&o));
    let o = run(&["config", "images", "list", "--kubernetes-version", "v1.37.2", "-o", "yaml"]);
    let v: serde_yaml::Value = serde_yaml::from_slice(&o.stdout).expect("yaml");
    assert_eq!(v["kind"].as_str(), Some("Images"));
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config_in(dir.path(), "imageRepository: example.com/k8s\n").display().to_string();
    let o = run(&["config", "images", "list", "--config", &cfg]);
    assert!(stdout(&o).starts_with("example.com/k8s/kube-apiserver:v1.37.2\n"), "{}", stdout(&o));
    let o = run(&["config", "validate", "--config", &cfg]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "ok\n");
    let o = run(&["config", "validate"]);
    assert!(stderr(&o).contains("the --config flag is mandatory"));
    let new = dir.path().join("new.yaml");
    let o = run(&["config", "migrate", "--old-config", &cfg, "--new-config", &new.display().to_string()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&new).expect("new config");
    assert!(
        text.contains("kind: InitConfiguration")
            && text.contains("kind: ClusterConfiguration")
            && text.contains("imageRepository: example.com/k8s"),
        "{text}"
    );
    assert_eq!(mode(&new), 0o644);
}

#[test]
fn preflight_runs_and_honours_ignore_preflight_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let cfg = config_in(d, "").display().to_string();
    let o = bin()
        .args([
            "init",
            "phase",
            "preflight",
            "--config",
            &cfg,
            "--dry-run",
            "--ignore-preflight-errors",
            "all",
        ])
        .env("KUBEADM_INIT_DRYRUN_DIR", d.join("dry"))
        .output()
        .expect("runs");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "[preflight] Running pre-flight checks\n[preflight] Would pull the required images (like 'kubeadm config images pull')\n"
    );
    let o = run(&["init", "phase", "preflight", "--config", &cfg, "--ignore-preflight-errors", "all,Swap"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("don't specify individual checks if 'all' is used"), "{}", stderr(&o));
}

#[test]
fn external_ca_mode_reuses_user_files_and_checks_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let cfg = config_in(d, "").display().to_string();
    let kc = d.join("kc").display().to_string();
    let man = d.join("m");
    assert!(run_env(&["init", "phase", "certs", "all", "--config", &cfg], &man).status.success());
    assert!(
        run_env(&["init", "phase", "kubeconfig", "all", "--config", &cfg, "--kubeconfig-dir", &kc], &man)
            .status
            .success()
    );
    std::fs::remove_file(d.join("pki/ca.key")).expect("rm ca.key");
    let o = run_env(&["init", "phase", "kubeconfig", "all", "--config", &cfg, "--kubeconfig-dir", &kc], &man);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("[kubeconfig] External CA mode: Using user provided admin.conf\n"),
        "{}",
        stdout(&o)
    );
    std::fs::remove_file(d.join("kc/scheduler.conf")).expect("rm");
    let o = run_env(&["init", "phase", "kubeconfig", "all", "--config", &cfg, "--kubeconfig-dir", &kc], &man);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("the scheduler.conf file does not exists or it is not valid: stat "),
        "{}",
        stderr(&o)
    );
}

#[test]
fn kubeconfig_user_prints_a_kubeconfig() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = dir.path().join("pki").display().to_string();
    let cfg = dir.path().join("c.yaml");
    std::fs::write(&cfg, format!("apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\ncertificatesDir: {pki}\ncontrolPlaneEndpoint: cp.example.com\n")).expect("write");
    let cfg = cfg.display().to_string();
    assert!(run(&["init", "phase", "certs", "ca", "--config", &cfg]).status.success());
    let o = run(&[
        "kubeconfig",
        "user",
        "--config",
        &cfg,
        "--client-name",
        "alice",
        "--token",
        "abcdef.0123456789abcdef",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("    server: https://cp.example.com:6443\n")
            && out.ends_with("    token: abcdef.0123456789abcdef\n\n"),
        "{out}"
    );
    let o = run(&["kubeconfig", "user", "--config", &cfg, "--client-name", "alice", "--org", "a,b"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("client-certificate-data: ")
            && stdout(&o).contains("current-context: alice@kubernetes\n")
    );
    // The private key is printed to stdout only, never to stderr.
    assert!(!stderr(&o).contains("PRIVATE KEY"));
}

/// `--cleanup-network` (kubeadm-rs extension) may be combined with `--config`; `--dry-run`
/// prints what would be removed and removes nothing.
#[test]
fn reset_cleanup_network_with_config_dry_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("reset.yaml");
    std::fs::write(
        &cfg,
        format!(
            "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ResetConfiguration\ncertificatesDir: {}\n",
            dir.path().join("pki").display()
        ),
    )
    .expect("write");
    let cfg = cfg.display().to_string();
    let o = run(&[
        "reset",
        "--config",
        &cfg,
        "--dry-run",
        "--cleanup-network",
        "--ignore-preflight-errors=IsPrivilegedUser",
    ]);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("[dryrun] Would delete contents of the CNI directories: [/etc/cni/net.d /var/lib/cni]"),
        "{out}"
    );
    assert!(!out.contains("[reset] Deleting"), "{out}");
    assert!(out.contains("The reset process does not clean your kubeconfig files"), "{out}");
    assert!(!out.contains("network filtering rules"), "{out}");
    // The phase alone takes the flag too.
    let o = run(&[
        "reset",
        "phase",
        "cleanup-node",
        "--dry-run",
        "--cleanup-network",
        "--cert-dir",
        "/nonexistent",
    ]);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("[dryrun] Would delete contents of the CNI directories"), "{}", stdout(&o));
    // Other flags still may not be mixed with --config.
    let o = run(&["reset", "--config", &cfg, "--cleanup-network", "--cert-dir", "/x"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("can not mix '--config' with arguments [cert-dir]"), "{}", stderr(&o));
    let help = stdout(&run(&["reset", "--help"]));
    assert!(help.contains("--cleanup-network"), "{help}");
}
