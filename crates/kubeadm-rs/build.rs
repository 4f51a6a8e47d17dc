//! Records the compiler version for `kubeadm-rs version` (the `goVersion` field's counterpart).

use std::process::Command;

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.split_whitespace().nth(1).map(str::to_string))
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=KUBEADM_RS_RUSTC_VERSION=rust{version}");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=KUBEADM_RS_GIT_COMMIT");
    println!("cargo:rerun-if-env-changed=KUBEADM_RS_GIT_TREE_STATE");
    println!("cargo:rerun-if-env-changed=KUBEADM_RS_BUILD_DATE");
}
