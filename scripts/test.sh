#!/usr/bin/env bash
# Runs every test tier: unit tests, CLI tests, and the integration tests against real components
# (test bed, parity with upstream kubeadm). Needs root (namespaces, mounts). Usage: sudo scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export KUBEADM_RS_CACHE="${KUBEADM_RS_CACHE:-/var/cache/kubeadm-rs}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$KUBEADM_RS_CACHE/target}"
[ "$(id -u)" = 0 ] || { echo "scripts/test.sh: the integration tests need root (namespaces, mounts)" >&2; exit 2; }

start=$(date +%s)
echo "== building pinned components (cached in $KUBEADM_RS_CACHE/components)" >&2
KUBEADM_RS_BIN_DIR="$(bash scripts/build-components.sh | tail -n 1)"
export KUBEADM_RS_BIN_DIR
echo "== components ready in $KUBEADM_RS_BIN_DIR ($(( $(date +%s) - start ))s)" >&2
echo "== building the bed's container images (cached in $KUBEADM_RS_CACHE/images)" >&2
KUBEADM_RS_IMAGES_DIR="$(bash scripts/build-images.sh | tail -n 1)"
export KUBEADM_RS_IMAGES_DIR
echo "== images ready in $KUBEADM_RS_IMAGES_DIR ($(( $(date +%s) - start ))s)" >&2

echo "== cargo build" >&2
cargo build --workspace --locked --all-targets
echo "== cargo test" >&2
cargo test --workspace --locked
echo "== benchmark smoke run (one iteration; the figures of a debug build mean nothing, it only keeps the suite from rotting)" >&2
bench_out="$(mktemp -d)"
KUBEADM_RS_BENCH_OURS="$CARGO_TARGET_DIR/debug/kubeadm-rs" KUBEADM_RS_BENCH_UPSTREAM="$KUBEADM_RS_BIN_DIR/kubeadm" \
  bash scripts/bench-offline.sh --quick --out "$bench_out/offline" >/dev/null
echo "== join benchmark smoke run on the bed (bench_join --quick: one join per variant, storms of 3; debug build)" >&2
if ! KUBEADM_RS_BENCH_OURS="$CARGO_TARGET_DIR/debug/kubeadm-rs" \
  "$CARGO_TARGET_DIR/debug/examples/bench_join" --quick --out "$bench_out/join" >/dev/null 2>"$bench_out/join.log"; then
  cat "$bench_out/join.log" >&2
  exit 1
fi
rm -rf "$bench_out"
echo "== all tests done in $(( $(date +%s) - start ))s" >&2
