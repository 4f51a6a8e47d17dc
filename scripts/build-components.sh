#!/usr/bin/env bash
# Builds the pinned real Kubernetes components for the kubeadm-rs test bed:
#   kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl
#   kubeadm (upstream, the oracle) etcd etcdctl crictl
# from the Go module proxy, at the versions in components.lock, into
#   ${KUBEADM_RS_CACHE:-/var/cache/kubeadm-rs}/components/<key>/bin
# where <key> hashes components.lock (comments aside) and scripts/components/*/go.{mod,sum}.
#
# Usage:  BIN=$(scripts/build-components.sh | tail -1)
# Progress goes to stderr; the LAST line of stdout is the absolute bin dir.
# A complete build (stamp file present) is reused at once. Concurrent invocations
# serialize on an flock of $KUBEADM_RS_CACHE/build.lock; a build happens in a temp
# dir renamed into place only when complete, so an interrupted build is never reused.
#
# Environment:
#   KUBEADM_RS_CACHE      cache root (default /var/cache/kubeadm-rs)
#   KUBEADM_RS_GOCACHE    Go build cache (default $KUBEADM_RS_CACHE/go-build)
#   GOMODCACHE, GOPROXY   honoured as usual (module + toolchain downloads)
#   KUBEADM_RS_KEY_ONLY=1 print the bin dir that would be used and exit (no build)
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LOCK_FILE="$ROOT/components.lock"
WRAPPERS="$ROOT/scripts/components"
CACHE=${KUBEADM_RS_CACHE:-/var/cache/kubeadm-rs}

log() { printf '[build-components %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ -f "$LOCK_FILE" ]] || die "missing $LOCK_FILE"
# shellcheck source=../components.lock
source "$LOCK_FILE"
for v in LOCK_FORMAT KUBERNETES_VERSION KUBERNETES_STAGING_VERSION GO_TOOLCHAIN \
  KUBERNETES_BUILD_TAGS KUBELET_CGO_ENABLED ETCD_VERSION ETCD_GO_TOOLCHAIN \
  CRI_TOOLS_VERSION CRI_TOOLS_GO_TOOLCHAIN KUBERNETES_BUILD_DATE; do
  [[ -n "${!v+x}" ]] || die "components.lock lacks $v"
done
[[ "$LOCK_FORMAT" == 1 ]] || die "unsupported LOCK_FORMAT=$LOCK_FORMAT"

# ---- cache key -------------------------------------------------------------------
key_inputs=("$LOCK_FILE")
for d in "$WRAPPERS"/*/; do
  key_inputs+=("$d/go.mod" "$d/go.sum")
done
# Comments and blank lines of components.lock do not count: editing them must not rebuild.
KEY=$(for f in "${key_inputs[@]}"; do
  [[ -f "$f" ]] || die "missing $f"
  printf '== %s\n' "${f#"$ROOT"/}"
  if [[ "$f" == "$LOCK_FILE" ]]; then
    grep -Ev '^[[:space:]]*(#|$)' "$f"
  else
    cat "$f"
  fi
done | sha256sum | cut -c1-16)

COMPONENTS_DIR="$CACHE/components"
OUT="$COMPONENTS_DIR/$KEY"
BIN="$OUT/bin"
STAMP="$OUT/COMPLETE"
BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl kubeadm etcd etcdctl crictl)

complete() {
  [[ -f "$STAMP" ]] || return 1
  local b
  for b in "${BINARIES[@]}"; do [[ -x "$BIN/$b" ]] || return 1; done
}

if [[ "${KUBEADM_RS_KEY_ONLY:-}" == 1 ]]; then
  echo "$BIN"
  exit 0
fi

# Warm path: no lock needed, the stamp only exists in a renamed, finished build.
if complete; then
  log "cached build $KEY is complete"
  echo "$BIN"
  exit 0
fi

mkdir -p "$COMPONENTS_DIR"
exec 9>"$CACHE/build.lock"
if ! flock -n 9; then
  log "another build holds $CACHE/build.lock; waiting"
  flock 9
fi
if complete; then
  log "cached build $KEY completed by another invocation"
  echo "$BIN"
  exit 0
fi

command -v go >/dev/null || die "go is not installed (needed to build the components; see scripts/install-deps.sh)"

# Under the lock nobody else builds: leftovers are from interrupted runs.
rm -rf "$COMPONENTS_DIR"/.tmp.* "$OUT"
TMP="$COMPONENTS_DIR/.tmp.$KEY.$$"
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/bin"

export GOCACHE=${KUBEADM_RS_GOCACHE:-$CACHE/go-build}
export GOFLAGS="-buildvcs=false -mod=readonly"
export GOWORK=off
mkdir -p "$GOCACHE"

TIMINGS="$TMP/timings"
: >"$TIMINGS"
t_all=$SECONDS
TICKS=$(getconf CLK_TCK)
child_cpu() { # CPU seconds (user+sys) of this shell's waited-for children so far
  local stat
  stat=$(</proc/$$/stat)
  stat=${stat##*) }
  # after "pid (comm) ": fields from 3 on; cutime is field 16, cstime 17
  set -- $stat
  echo $(((${14} + ${15}) / TICKS))
}
step() { # step NAME cmd...
  local name=$1 t0=$SECONDS c0
  c0=$(child_cpu)
  shift
  log "step $name: start"
  "$@"
  local dt=$((SECONDS - t0)) dc
  dc=$(($(child_cpu) - c0))
  log "step $name: done in ${dt}s wall, ${dc}s CPU"
  printf '%s=%s wall_s, %s cpu_s\n' "$name" "$dt" "$dc" >>"$TIMINGS"
}

# ---- toolchains ------------------------------------------------------------------
check_toolchain() { # check_toolchain goX.Y.Z
  local got
  got=$(GOTOOLCHAIN=$1 go env GOVERSION) || die "cannot get Go toolchain $1 (GOTOOLCHAIN download from the Go module proxy failed)"
  [[ "$got" == "$1" ]] || die "asked for Go $1, got $got"
  log "Go toolchain $1 ready"
}
toolchains() {
  local t
  for t in $(printf '%s\n' "$GO_TOOLCHAIN" "$ETCD_GO_TOOLCHAIN" "$CRI_TOOLS_GO_TOOLCHAIN" | sort -u); do
    check_toolchain "$t"
  done
}

# ---- module downloads (separate step so timings show network vs compile) ---------
download() {
  (cd "$WRAPPERS/kubernetes" && GOTOOLCHAIN=$GO_TOOLCHAIN go mod download && GOTOOLCHAIN=$GO_TOOLCHAIN go mod verify >&2)
  (cd "$WRAPPERS/etcd" && GOTOOLCHAIN=$ETCD_GO_TOOLCHAIN go mod download && GOTOOLCHAIN=$ETCD_GO_TOOLCHAIN go mod verify >&2)
  (cd "$WRAPPERS/cri-tools" && GOTOOLCHAIN=$CRI_TOOLS_GO_TOOLCHAIN go mod download && GOTOOLCHAIN=$CRI_TOOLS_GO_TOOLCHAIN go mod verify >&2)
}

# ---- Kubernetes --------------------------------------------------------------------
k8s_version_ldflags() {
  local ver=${KUBERNETES_VERSION#v} major minor
  major=${ver%%.*}
  minor=${ver#*.}
  minor=${minor%%.*}
  local -a kv=(
    "gitVersion=$KUBERNETES_VERSION"
    "gitMajor=$major"
    "gitMinor=$minor"
    "gitTreeState=clean"
    "buildDate=$KUBERNETES_BUILD_DATE"
  )
  [[ -n "${KUBERNETES_GIT_COMMIT:-}" ]] && kv+=("gitCommit=$KUBERNETES_GIT_COMMIT")
  local pkg e out=""
  for e in "${kv[@]}"; do
    for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
      out+=" -X '$pkg.${e%%=*}=${e#*=}'"
    done
  done
  printf '%s' "$out"
}
k8s_build() { # k8s_build CGO_ENABLED cmd...
  local cgo=$1
  shift
  local -a pkgs=()
  local c
  for c in "$@"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
  (cd "$WRAPPERS/kubernetes" &&
    GOTOOLCHAIN=$GO_TOOLCHAIN CGO_ENABLED=$cgo go build -trimpath \
      -tags "$KUBERNETES_BUILD_TAGS" \
      -ldflags "all=-s -w$(k8s_version_ldflags)" \
      -o "$TMP/bin/" "${pkgs[@]}")
}
K8S_STATIC=(kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubectl kubeadm)
if [[ "$KUBELET_CGO_ENABLED" == 0 ]]; then K8S_STATIC+=(kubelet); fi

# ---- etcd --------------------------------------------------------------------------
etcd_build() {
  (cd "$WRAPPERS/etcd" &&
    GOTOOLCHAIN=$ETCD_GO_TOOLCHAIN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X 'go.etcd.io/etcd/api/v3/version.GitSHA=${ETCD_GIT_SHA:-$ETCD_VERSION}'" \
      -o "$TMP/etcd-out/" go.etcd.io/etcd/server/v3 go.etcd.io/etcd/etcdctl/v3)
  # A module path ending in /v3 names the binary after the element before it.
  mv "$TMP/etcd-out/server" "$TMP/bin/etcd"
  mv "$TMP/etcd-out/etcdctl" "$TMP/bin/etcdctl"
  rmdir "$TMP/etcd-out"
}

# ---- crictl ------------------------------------------------------------------------
crictl_build() {
  (cd "$WRAPPERS/cri-tools" &&
    GOTOOLCHAIN=$CRI_TOOLS_GO_TOOLCHAIN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X 'sigs.k8s.io/cri-tools/pkg/version.Version=${CRI_TOOLS_VERSION#v}'" \
      -o "$TMP/bin/" sigs.k8s.io/cri-tools/cmd/crictl)
}

# ---- verification ------------------------------------------------------------------
verify() {
  local b out
  for b in "${BINARIES[@]}"; do [[ -x "$TMP/bin/$b" ]] || die "build produced no $b"; done
  out=$("$TMP/bin/kubeadm" version -o short)
  [[ "$out" == "$KUBERNETES_VERSION" ]] || die "kubeadm version -o short says '$out', want $KUBERNETES_VERSION"
  out=$("$TMP/bin/kubectl" version --client 2>&1)
  [[ "$out" == *"Client Version: $KUBERNETES_VERSION"* ]] || die "kubectl version --client says '$out'"
  for b in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy; do
    out=$("$TMP/bin/$b" --version 2>&1)
    [[ "$out" == "Kubernetes $KUBERNETES_VERSION" ]] || die "$b --version says '$out'"
  done
  out=$("$TMP/bin/etcd" --version)
  [[ "$out" == *"etcd Version: ${ETCD_VERSION#v}"* ]] || die "etcd --version says '$out'"
  out=$("$TMP/bin/etcdctl" version)
  [[ "$out" == *"etcdctl version: ${ETCD_VERSION#v}"* ]] || die "etcdctl version says '$out'"
  out=$("$TMP/bin/crictl" --version)
  [[ "$out" == *"${CRI_TOOLS_VERSION#v}"* ]] || die "crictl --version says '$out'"
  log "versions verified: kubernetes $KUBERNETES_VERSION, etcd $ETCD_VERSION, crictl $CRI_TOOLS_VERSION"
}

log "building components $KEY into $OUT (GOCACHE=$GOCACHE)"
step toolchains toolchains
step download download
step kubernetes-static k8s_build 0 "${K8S_STATIC[@]}"
if [[ "$KUBELET_CGO_ENABLED" != 0 ]]; then
  step kubelet-cgo k8s_build 1 kubelet
fi
step etcd etcd_build
step crictl crictl_build
step verify verify
printf 'total=%s wall_s, %s cpu_s\n' "$((SECONDS - t_all))" "$(child_cpu)" >>"$TIMINGS"

cp "$LOCK_FILE" "$TMP/components.lock"
{
  echo "key=$KEY"
  echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host_go=$(GOTOOLCHAIN=local go env GOVERSION)"
  for b in "${BINARIES[@]}"; do
    printf 'sha256 %s %s\n' "$(sha256sum "$TMP/bin/$b" | cut -d' ' -f1)" "$b"
  done
} >"$TMP/COMPLETE.tmp"
# The stamp is written last inside the temp dir; the rename publishes dir and stamp at once.
mv "$TMP/COMPLETE.tmp" "$TMP/COMPLETE"
mv -T "$TMP" "$OUT"
trap - EXIT
log "done in $((SECONDS - t_all))s: $BIN"
echo "$BIN"
