//! Golden tests: static Pod manifests, kubeconfig specs and files, and image lists for several
//! configurations under `tests/golden/<case>/config.yaml`. `UPDATE_GOLDEN=1` regenerates the
//! expected files; they are never edited by hand. The expected manifests were checked against
//! upstream kubeadm v1.37.2 output where noted in the crate's report.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use kubeadm_api::defaults::{set_defaults_cluster_configuration, set_defaults_init_configuration};
use kubeadm_api::v1beta4::{ClusterConfiguration, EnvVar, InitConfiguration};
use kubeadm_manifests::kubeconfig;
use kubeadm_manifests::patches::{PatchFile, PatchManager, patch_static_pod};
use kubeadm_manifests::staticpod::{self, HostInputs};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn load(case: &str) -> (InitConfiguration, ClusterConfiguration) {
    let text = std::fs::read_to_string(golden_dir().join(case).join("config.yaml")).expect("config.yaml");
    let mut init = InitConfiguration::default();
    let mut cluster = ClusterConfiguration::default();
    for doc in text.split("\n---\n") {
        if doc.contains("kind: InitConfiguration") {
            init = serde_yaml::from_str(doc).expect("InitConfiguration");
        } else if doc.contains("kind: ClusterConfiguration") {
            cluster = serde_yaml::from_str(doc).expect("ClusterConfiguration");
        }
    }
    set_defaults_init_configuration(&mut init);
    set_defaults_cluster_configuration(&mut cluster);
    (init, cluster)
}

fn host(case: &str, init: &InitConfiguration) -> HostInputs {
    let proxy_env = if case == "extras" {
        staticpod::proxy_env_vars(vec![
            ("HTTPS_PROXY", "http://proxy:3128"),
            ("no_proxy", "localhost,10.0.0.0/8"),
            ("FTP_PROXY", ""),
            ("PATH", "/usr/bin"),
        ])
    } else {
        Vec::<EnvVar>::new()
    };
    HostInputs {
        existing_ca_cert_dirs: vec![
            "/etc/ca-certificates".into(),
            "/usr/share/ca-certificates".into(),
            "/usr/local/share/ca-certificates".into(),
        ],
        proxy_env,
        external_ca: false,
        ci_image_repository: None,
        control_plane_component_health_check: init
            .timeouts
            .as_ref()
            .and_then(|t| t.control_plane_component_health_check),
    }
}

fn check(case: &str, file: &str, actual: &str, failures: &mut Vec<String>) {
    let path = golden_dir().join(case).join(file);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("write golden");
        return;
    }
    match std::fs::read_to_string(&path) {
        Ok(expected) if expected == actual => {}
        Ok(expected) => {
            failures.push(format!("{case}/{file} differs:\n--- expected\n{expected}\n+++ actual\n{actual}"))
        }
        Err(_) => failures.push(format!("{case}/{file} missing (run with UPDATE_GOLDEN=1)")),
    }
}

const FAKE_CA: &str = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n";
const FAKE_CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIBcert\n-----END CERTIFICATE-----\n";
const FAKE_KEY: &str = "-----BEGIN RSA PRIVATE KEY-----\nMIIBkey0\n-----END RSA PRIVATE KEY-----\n";

#[test]
fn golden_cases() {
    let mut failures = Vec::new();
    for case in ["default", "ipv6", "dualstack", "extras", "external-etcd"] {
        let (init, cluster) = load(case);
        let h = host(case, &init);
        let ep = &init.local_api_endpoint;
        let node = init.node_registration.name.as_str();
        for pod in staticpod::control_plane_pods(&cluster, ep, &h) {
            check(case, &format!("{}.yaml", pod.name), &pod.to_yaml(), &mut failures);
        }
        if cluster.etcd.local.is_some() {
            let pod = staticpod::etcd_pod(&cluster, ep, node, &[], &h);
            check(case, "etcd.yaml", &pod.to_yaml(), &mut failures);
        }
        let mut specs = String::new();
        for s in kubeconfig::init_kubeconfig_specs(&cluster, ep, node).expect("specs") {
            specs.push_str(&format!(
                "{} server={} user={} orgs={:?}\n",
                s.file_name, s.api_server, s.client_name, s.organizations
            ));
            if s.file_name == kubeconfig::ADMIN_KUBECONFIG {
                let c = kubeconfig::build_from_spec(
                    &s,
                    &cluster.cluster_name,
                    FAKE_CA.as_bytes(),
                    FAKE_KEY.as_bytes(),
                    FAKE_CERT.as_bytes(),
                );
                check(case, "admin.conf", &c.to_yaml().expect("yaml"), &mut failures);
            }
        }
        check(case, "kubeconfig-specs.txt", &specs, &mut failures);
        check(
            case,
            "images.txt",
            &(kubeadm_manifests::images::list(&cluster).join("\n") + "\n"),
            &mut failures,
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn read_patch_dir(root: &Path, dir: &Path, out: &mut Vec<PatchFile>) {
    let mut entries: Vec<_> =
        std::fs::read_dir(dir).expect("read_dir").map(|e| e.expect("entry").path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            read_patch_dir(root, &p, out);
        } else {
            let rel = p.strip_prefix(root).expect("prefix").to_string_lossy().into_owned();
            out.push(PatchFile { path: rel, data: std::fs::read(&p).expect("read") });
        }
    }
}

#[test]
fn golden_patches() {
    let case = "patches";
    let mut failures = Vec::new();
    let (init, cluster) = load(case);
    let h = host(case, &init);
    let root = golden_dir().join(case).join("patches");
    let mut files = Vec::new();
    read_patch_dir(&root, &root, &mut files);
    let pm = PatchManager::from_files("/tmp/patches", files).expect("patch manager");
    let mut log = pm.messages.join("\n") + "\n";
    let mut pods =
        vec![staticpod::etcd_pod(&cluster, &init.local_api_endpoint, &init.node_registration.name, &[], &h)];
    pods.extend(staticpod::control_plane_pods(&cluster, &init.local_api_endpoint, &h));
    for pod in pods {
        let (patched, msgs) = patch_static_pod(&pod, &pm).expect("patch");
        for m in msgs {
            log.push_str(&m);
            log.push('\n');
        }
        check(case, &format!("{}.yaml", pod.name), &patched.to_yaml(), &mut failures);
    }
    check(case, "patch-messages.txt", &log, &mut failures);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn kubeconfig_round_trip_and_reuse() {
    let (init, cluster) = load("default");
    let specs =
        kubeconfig::init_kubeconfig_specs(&cluster, &init.local_api_endpoint, "node1").expect("specs");
    let c = kubeconfig::build_from_spec(
        &specs[0],
        "kubernetes",
        FAKE_CA.as_bytes(),
        FAKE_KEY.as_bytes(),
        FAKE_CERT.as_bytes(),
    );
    let y = c.to_yaml().expect("yaml");
    assert!(!y.contains("preferences"));
    let parsed = kubeconfig::Config::parse(y.as_bytes()).expect("parse");
    assert_eq!(parsed.to_yaml().expect("yaml"), y);
    let ok = kubeconfig::validate_existing("/etc/kubernetes/admin.conf", y.as_bytes(), &c, &|_| None)
        .expect("reuse");
    assert!(ok.warning.is_none());
    let mut moved = c.clone();
    kubeconfig::point_to_local_endpoint(
        &mut moved,
        &kubeadm_api::v1beta4::ApiEndpoint { advertise_address: "10.9.9.9".into(), bind_port: 6443 },
    );
    let ok = kubeconfig::validate_existing("/x", moved.to_yaml().expect("yaml").as_bytes(), &c, &|_| None)
        .expect("reuse");
    assert!(
        ok.warning
            .is_some_and(|w| w.contains("expected: https://10.0.0.10:6443, got: https://10.9.9.9:6443"))
    );
    let other = kubeconfig::build_from_spec(
        &specs[0],
        "kubernetes",
        FAKE_CERT.as_bytes(),
        FAKE_KEY.as_bytes(),
        FAKE_CERT.as_bytes(),
    );
    let err = kubeconfig::validate_existing("/x", other.to_yaml().expect("yaml").as_bytes(), &c, &|_| None)
        .unwrap_err();
    assert!(err.to_string().contains("does not contain a trusted CA"));
}
