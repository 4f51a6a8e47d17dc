#!/usr/bin/env bash
# Offline-phase benchmark: kubeadm-rs vs upstream kubeadm v1.37.2 on the same work, in one run.
#
#   (phases) `init phase certs all` + `kubeconfig all` + `etcd local` + `control-plane all`
#   (init)   one `init --skip-phases=<all other phases>`
# for encryptionAlgorithm RSA-2048, ECDSA-P256 and RSA-4096, the two tools alternating run by
# run, each run in a fresh private mount namespace with scratch dirs bound over /etc/kubernetes,
# /var/lib/etcd and /var/lib/kubelet. Reports wall / CPU / peak RSS per tool, ratios
# upstream/ours, the single-key cost of each tool and the parallel key-generation limit.
# See BENCHMARKS.md. As root.
#
# Usage: scripts/bench-offline.sh [--quick] [--iterations N] [--cases RSA-2048,ECDSA-P256,RSA-4096]
#                                 [--scenarios phases,init] [--key-samples N] [--out PREFIX] [--keep]
#                                 [--build]
#   --quick   smoke mode: 1 iteration, ECDSA-P256 only (about 2 s once both binaries exist)
#   --build   run `cargo build --release -p kubeadm-rs` even if the binary exists (default: only
#             when missing, so a run never measures a half-edited tree by surprise)
#   --out     output prefix (default bench-results/offline → .md and .json, gitignored)
# Environment: KUBEADM_RS_BENCH_OURS / KUBEADM_RS_BENCH_UPSTREAM override the binaries;
#              CARGO_TARGET_DIR as usual (default /var/cache/kubeadm-rs/target).
# Exit status: 0 when every run succeeded (goals missed do not fail the script), 1 otherwise.
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
log() { printf '[bench-offline] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ $(id -u) == 0 ]] || die "run as root (each run uses a private mount namespace)"
for t in python3 unshare mount openssl; do command -v "$t" >/dev/null || die "missing $t"; done

BUILD=0
pass=()
for a in "$@"; do
  if [[ "$a" == --build ]]; then BUILD=1; else pass+=("$a"); fi
done

cd "$ROOT"
UPSTREAM=${KUBEADM_RS_BENCH_UPSTREAM:-}
if [[ -z "$UPSTREAM" ]]; then
  BIN=$(bash scripts/build-components.sh | tail -1)
  UPSTREAM="$BIN/kubeadm"
fi
[[ -x "$UPSTREAM" ]] || die "upstream kubeadm not found at $UPSTREAM"

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/cache/kubeadm-rs/target}
OURS=${KUBEADM_RS_BENCH_OURS:-$CARGO_TARGET_DIR/release/kubeadm-rs}
if [[ -z "${KUBEADM_RS_BENCH_OURS:-}" ]] && { ((BUILD)) || [[ ! -x "$OURS" ]]; }; then
  log "building kubeadm-rs (release, LTO: several minutes on 2 cores)"
  cargo build --release -p kubeadm-rs >&2
fi
[[ -x "$OURS" ]] || die "kubeadm-rs not found at $OURS"
log "upstream: $UPSTREAM"
log "kubeadm-rs: $OURS (built $(date -r "$OURS" '+%Y-%m-%d %H:%M'))"

exec python3 "$ROOT/bench/offline.py" --upstream "$UPSTREAM" --ours "$OURS" "${pass[@]}"
