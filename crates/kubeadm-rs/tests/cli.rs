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
    for c in ["certs", "completion", "config", "init", "join", "reset", "token", "upgrade", "version", "kubeconfig"] {
        assert!(s.contains(c), "missing {c} in help:\n{s}");
    }
}

#[test]
fn init_help_has_phase_tree() {
    let o = run(&["init", "--help"]);
    assert!(o.status.success());
    let s = stdout(&o);
    assert!(s.contains("The \"init\" command executes the following phases:\n```\npreflight                     Run pre-flight checks\n"), "{s}");
    assert!(s.contains("  /enable-client-cert-rotation  Enable kubelet client certificate rotation\n"), "{s}");
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
        "init", "--skip-phases", "nope", "--cert-dir", &dir.path().join("pki").display().to_string(),
        "--kubernetes-version", "v1.37.2",
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
    for args in [&["upgrade", "plan"][..], &["token", "list"], &["certs", "renew", "all"], &["kubeconfig", "user", "--client-name", "x"], &["config", "images", "pull"]] {
        let o = run(args);
        assert_eq!(o.status.code(), Some(3), "{args:?}");
        let e = stderr(&o);
        assert!(e.contains("kubeadm-rs: \"") && e.contains("is not implemented yet"), "{args:?}: {e}");
        assert!(stdout(&o).is_empty());
    }
}

#[test]
fn api_server_phases_fail_clearly() {
    let o = run(&["init", "phase", "upload-certs", "--kubeconfig", "/nonexistent"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("error execution phase upload-certs: phase \"upload-certs\" is not implemented yet"), "{}", stderr(&o));
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
        "init", "--token", "NOT-A-TOKEN-secretvalue", "--cert-dir", &dir.path().join("pki").display().to_string(),
        "--skip-phases", ONLINE,
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
    let o = run(&["init", "--config", &cfg.display().to_string(), "--pod-network-cidr", "10.0.0.0/16", "--service-cidr", "10.1.0.0/16"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("can not mix '--config' with arguments [pod-network-cidr service-cidr]"), "{}", stderr(&o));
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
        "init", "--pod-network-cidr", "not-a-cidr", "--kubernetes-version", "v1.37.2",
        "--cert-dir", &dir.path().join("pki").display().to_string(), "--skip-phases", ONLINE,
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
