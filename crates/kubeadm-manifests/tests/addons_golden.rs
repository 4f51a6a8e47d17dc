//! Golden tests for component configs, the kubelet files of `kubelet-start` and the addon objects,
//! for the configurations under `tests/golden/componentconfigs/<case>/config.yaml` (a `patches/`
//! directory next to it is used as `--patches`). Expected files live in
//! `tests/golden/componentconfigs/<case>/` and `tests/golden/addons/<case>/`; `UPDATE_GOLDEN=1`
//! regenerates them, they are never edited by hand. The host name is taken to be `vm`.
//!
//! How they were checked against upstream kubeadm v1.37.2 is described in the crate's report:
//! `kubelet-start --dry-run` files byte for byte, `addon coredns|kube-proxy --print-manifest`
//! objects as parsed YAML, `config print init-defaults --component-configs` byte for byte.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use kubeadm_api::load::load_init_config;
use kubeadm_manifests::addons::{self, CoreDnsInputs, KubeProxyInputs};
use kubeadm_manifests::componentconfigs::{self, kube_proxy_config, kubelet_config, to_yaml};
use kubeadm_manifests::kubelet::{KubeletStartInputs, kubelet_start_files};
use kubeadm_manifests::patches::{PatchFile, PatchManager};
use serde_json::Value;

const HOSTNAME: &str = "vm";

fn golden() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn check(dir: &str, case: &str, file: &str, actual: &str, failures: &mut Vec<String>) {
    let path = golden().join(dir).join(case).join(file);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    match std::fs::read_to_string(&path) {
        Ok(expected) if expected == actual => {}
        Ok(expected) => failures
            .push(format!("{dir}/{case}/{file} differs:\n--- expected\n{expected}\n+++ actual\n{actual}")),
        Err(_) => failures.push(format!("{dir}/{case}/{file} missing (run with UPDATE_GOLDEN=1)")),
    }
}

fn docs<'a>(objects: impl IntoIterator<Item = &'a Value>) -> String {
    objects.into_iter().map(to_yaml).collect::<Vec<_>>().join("---\n")
}

fn read_patch_dir(root: &Path, dir: &Path, out: &mut Vec<PatchFile>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            read_patch_dir(root, &p, out);
        } else {
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            out.push(PatchFile { path: rel, data: std::fs::read(&p).unwrap() });
        }
    }
}

fn lines(v: &[String]) -> String {
    v.iter().map(|l| format!("{l}\n")).collect()
}

#[test]
fn golden_component_configs_kubelet_files_and_addons() {
    let mut failures = Vec::new();
    for case in ["default", "custom", "ipv6", "patches"] {
        let dir = golden().join("componentconfigs").join(case);
        let text = std::fs::read_to_string(dir.join("config.yaml")).unwrap();
        let b = load_init_config(&text).unwrap();
        let pm = if dir.join("patches").is_dir() {
            let root = dir.join("patches");
            let mut files = Vec::new();
            read_patch_dir(&root, &root, &mut files);
            Some(PatchManager::from_files("/tmp/patches", files).unwrap())
        } else {
            None
        };
        let ep = &b.init.local_api_endpoint;

        let kubelet = kubelet_config(&b.cluster, b.kubelet.as_ref()).unwrap();
        let proxy = kube_proxy_config(&b.cluster, ep, b.kube_proxy.as_ref()).unwrap();
        check("componentconfigs", case, "kubelet.yaml", &kubelet.to_yaml(), &mut failures);
        check("componentconfigs", case, "kube-proxy.yaml", &proxy.to_yaml(), &mut failures);
        let mut warnings = kubelet.warnings.clone();
        warnings.extend(proxy.warnings.iter().cloned());
        check("componentconfigs", case, "warnings.txt", &lines(&warnings), &mut failures);
        let cm = componentconfigs::kubelet_config_map_objects(&kubelet);
        check("componentconfigs", case, "kubelet-config-objects.yaml", &docs(&cm), &mut failures);

        let inputs = KubeletStartInputs {
            hostname: HOSTNAME.into(),
            systemd_resolved_active: case == "custom",
            kubelet_dir: "/var/lib/kubelet".into(),
            register_taints_using_flags: false,
        };
        let files = kubelet_start_files(&kubelet, &b.init.node_registration, &inputs, pm.as_ref()).unwrap();
        for f in &files.files {
            assert_eq!(f.mode, 0o644);
            let name = f.path.file_name().unwrap().to_string_lossy();
            check(
                "componentconfigs",
                case,
                &format!("var-lib-kubelet/{name}"),
                &String::from_utf8_lossy(&f.data),
                &mut failures,
            );
        }
        let mut msgs = files.messages.clone();
        msgs.extend(files.warnings.iter().map(|w| format!("WARNING: {w}")));
        check("componentconfigs", case, "kubelet-start.txt", &lines(&msgs), &mut failures);

        let dns = addons::coredns(&b.cluster, CoreDnsInputs::default(), pm.as_ref()).unwrap();
        check("addons", case, "coredns.yaml", &docs(dns.objects()), &mut failures);
        let proxy_inputs = KubeProxyInputs {
            proxy_env: if case == "custom" {
                kubeadm_manifests::staticpod::proxy_env_vars(vec![
                    ("https_proxy", "http://p:3128"),
                    ("NO_PROXY", "10.0.0.0/8"),
                ])
            } else {
                Vec::new()
            },
            ci_image_repository: None,
        };
        let kp = addons::kube_proxy(&b.cluster, ep, &proxy, &proxy_inputs, pm.as_ref()).unwrap();
        check("addons", case, "kube-proxy.yaml", &docs(kp.objects()), &mut failures);
        let mut msgs = dns.messages.clone();
        msgs.push(addons::MSG_COREDNS_APPLIED.into());
        msgs.extend(kp.messages.iter().cloned());
        msgs.extend(kp.warnings.iter().cloned());
        msgs.push(addons::MSG_KUBE_PROXY_APPLIED.into());
        check("addons", case, "messages.txt", &lines(&msgs), &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn golden_print_init_defaults_with_component_configs() {
    let mut failures = Vec::new();
    let base = kubeadm_api::print::print_init_defaults().unwrap();
    let out = componentconfigs::print_with_component_configs(
        &base,
        &["KubeletConfiguration".to_string(), "KubeProxyConfiguration".to_string()],
    )
    .unwrap();
    check("componentconfigs", "print", "init-defaults-kubelet-kubeproxy.yaml", &out, &mut failures);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
