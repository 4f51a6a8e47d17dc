#!/usr/bin/env bash
# Installs what kubeadm-rs's build, tests and test bed need on a fresh Debian 12 machine.
# Idempotent and fast when warm: `apt-get update` runs once, and only if a package is missing.
# Run as root (CI runs it from .ci/run). Go and cargo must already be installed
# (they are on these machines); this script only checks them.
#
# Usage: scripts/install-deps.sh            # install what is missing
#        scripts/install-deps.sh --check    # report what is missing, install nothing (exit 1 if any)
set -euo pipefail

log() { printf '[install-deps] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

CHECK_ONLY=0
[[ "${1:-}" == "--check" ]] && CHECK_ONLY=1

PACKAGES=(
  # node plumbing (namespaces, veth/bridge, mounts) and what kubeadm's preflight looks for
  iproute2 util-linux mount iptables nftables conntrack socat ethtool ebtables
  procps psmisc kmod
  # HTTP, TLS
  curl ca-certificates openssl
  # Rust build: aws-lc-sys needs a C toolchain and cmake; cgo (kubelet) needs gcc
  build-essential cmake pkg-config git
  # container runtime for real nodes (kubelet + containerd; CNI plugins land in /usr/lib/cni)
  containerd runc containernetworking-plugins
  # etcd-client (tonic/prost) generates its gRPC code at build time with protoc
  protobuf-compiler
  # scripts and measurements
  jq time
)

installed() { [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == installed ]]; }

# One dpkg-query for all packages keeps the warm path fast.
declare -A have=()
while read -r name st; do
  [[ "$st" == installed ]] && have[${name%%:*}]=1
done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${PACKAGES[@]}" 2>/dev/null || true)
missing=()
for p in "${PACKAGES[@]}"; do
  [[ -n "${have[$p]:-}" ]] || missing+=("$p")
done

if ((${#missing[@]})); then
  if ((CHECK_ONLY)); then
    log "missing packages: ${missing[*]}"
  else
    [[ $(id -u) == 0 ]] || die "run as root (missing packages: ${missing[*]})"
    log "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # systemd is not PID 1 here: postinst scripts skip starting services, which is what we want.
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
    for p in "${missing[@]}"; do installed "$p" || die "package $p did not install"; done
  fi
else
  log "all ${#PACKAGES[@]} Debian packages present"
fi

# ---- toolchains that come with the machine -------------------------------------------
status=0
export PATH="$PATH:/usr/local/go/bin:${CARGO_HOME:-$HOME/.cargo}/bin"
if command -v go >/dev/null; then
  gov=$(go env GOVERSION)
  # build-components.sh pins exact toolchains through GOTOOLCHAIN, which needs go >= 1.21.
  minor=$(sed -E 's/^go1\.([0-9]+).*/\1/' <<<"$gov")
  if [[ "$minor" =~ ^[0-9]+$ ]] && ((minor >= 21)); then
    log "go: $gov"
  else
    log "ERROR: go is $gov; need go >= 1.21 (GOTOOLCHAIN switching)"
    status=1
  fi
else
  log "ERROR: go not found (expected preinstalled, e.g. /usr/local/go/bin/go)"
  status=1
fi
if command -v cargo >/dev/null; then
  log "cargo: $(cargo --version)"
else
  log "ERROR: cargo not found (expected preinstalled via rustup in ~/.cargo/bin)"
  status=1
fi
if ((CHECK_ONLY)) && ((${#missing[@]})); then status=1; fi
exit "$status"
