//! Helpers shared by the parity tests (`parity.rs`, `parity_commands.rs`), which compare
//! kubeadm-rs with the pinned upstream kubeadm on the same host.

use std::path::PathBuf;
use std::process::Command;

/// The pinned upstream kubeadm, after checking that the test runs as root (`why` says what
/// needs it). The binary comes from [`kubeadm_testbed::components`] (`KUBEADM_RS_BIN_DIR`, or
/// what `scripts/build-components.sh` prints). A missing binary fails the test: a skipped parity
/// test is not a passing one.
pub fn upstream_kubeadm(why: &str) -> PathBuf {
    let root = Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0")).unwrap_or(false);
    assert!(root, "the parity tests need root ({why})");
    kubeadm_testbed::components::bin("kubeadm").unwrap_or_else(|e| panic!("upstream kubeadm not found: {e}"))
}

/// A unified diff from upstream's text `a` to kubeadm-rs's text `b`.
pub fn diff(a: &str, b: &str) -> String {
    similar::TextDiff::from_lines(a, b).unified_diff().header("upstream", "kubeadm-rs").to_string()
}

/// Decodes the standard base64 of a kubeconfig's `*-data` field.
pub fn decode_b64(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s.trim()).expect("base64 data in kubeconfig")
}
