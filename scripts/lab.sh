#!/usr/bin/env bash
# The lab: a local cluster brought up with kubeadm-rs on the test bed (nodes as namespaces).
#
#   sudo scripts/lab.sh up [--nodes N]   # build what's needed, start the bed (N nodes, default 3),
#                                        # kubeadm-rs init on node1, kubeadm-rs join on the others
#   sudo scripts/lab.sh status           # kubectl's view: nodes, CSRs, each worker's identity
#   sudo scripts/lab.sh exec NODE -- CMD # run a command inside a node (e.g. node1 -- kubectl get ns)
#   sudo scripts/lab.sh down             # tear everything down
#
# node1 runs the full `kubeadm-rs init`; every other node runs `kubeadm-rs join` with the command
# `kubeadm-rs token create --print-join-command` prints (token discovery, then kubeadm-rs's own TLS
# bootstrap: the controller-manager approves and signs each node's CSR). There is no kubelet yet
# (issue 7), so the bed stands in for it: its static-pod runner starts etcd and the control plane
# from the pinned binaries, socat answers the kubelet's healthz port on each node, and the lab
# registers each Node object with that node's own credentials (node1: super-admin.conf during
# init; workers: their /etc/kubernetes/kubelet.conf, as their kubelet would). The Nodes stay
# status Unknown: nothing reports their status.
set -euo pipefail
cd "$(dirname "$0")/.."
export KUBEADM_RS_CACHE="${KUBEADM_RS_CACHE:-/var/cache/kubeadm-rs}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$KUBEADM_RS_CACHE/target}"
NAME=lab
NODES=3
CONFIG=/run/kubeadm/kubeadm.yaml
LOGS=/var/log/kubeadm-rs-bed
# The join preflight checks a bed node fails: no container runtime (CRI, ContainerRuntimeVersion), cgroup v1 and no kernel
# config (SystemVerification), no kubelet binary in PATH (KubeletVersion), ip_forward off in the
# node's network namespace. Everything else (e.g. FileAvailable on a second join) stays an error.
JOIN_IGNORE=CRI,ContainerRuntimeVersion,SystemVerification,KubeletVersion,FileContent--proc-sys-net-ipv4-ip_forward

die() { echo "lab: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (namespaces, mounts)"

BED="$CARGO_TARGET_DIR/debug/bed"
KRS="$CARGO_TARGET_DIR/debug/kubeadm-rs"

bed_exec() { "$BED" exec "$NAME" "$@"; }

kubectl_in() { # node, args...
  local node=$1; shift
  bed_exec "$node" -- "$KUBEADM_RS_BIN_DIR/kubectl" --kubeconfig=/etc/kubernetes/admin.conf "$@"
}

prepare() {
  KUBEADM_RS_BIN_DIR="$(bash scripts/build-components.sh | tail -n 1)"
  export KUBEADM_RS_BIN_DIR
  cargo build --locked -q -p kubeadm-rs -p kubeadm-testbed --bins
}

# Stand-in for the kubelet's health endpoint (http://127.0.0.1:10248/healthz) in a node. socat
# lives in the node's network namespace, so the bed's teardown kills it.
start_healthz() { # node
  bed_exec "$1" -- /bin/sh -c "mkdir -p /run/kubeadm && cat > /run/kubeadm/healthz.sh" <<'SH'
printf 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'
SH
  nohup "$BED" exec "$NAME" "$1" -- /usr/bin/socat TCP-LISTEN:10248,bind=127.0.0.1,fork,reuseaddr \
    "EXEC:/bin/sh /run/kubeadm/healthz.sh" >"$LOGS/$NAME.$1.healthz.log" 2>&1 &
}

# Registers a node's Node object with a kubeconfig inside the node, as its kubelet would (the
# NodeRestriction admission plugin lets a node create its own Node), retrying until the API server
# accepts it.
register_node() { # node kubeconfig [seconds]
  local node=$1 kc=$2 tries=${3:-60}
  bed_exec "$node" -- /bin/sh -c "mkdir -p /run/kubeadm && cat > /run/kubeadm/node.yaml" <<YAML
apiVersion: v1
kind: Node
metadata:
  name: $node
  labels:
    kubernetes.io/hostname: $node
YAML
  for _ in $(seq 1 "$tries"); do
    bed_exec "$node" -- "$KUBEADM_RS_BIN_DIR/kubectl" --kubeconfig="$kc" apply -f /run/kubeadm/node.yaml \
      >/dev/null 2>&1 && return 0
    sleep 1
  done
  echo "lab: could not register $node's Node object with $kc" >&2
  return 1
}

up() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --nodes) NODES=$2; shift 2 ;;
      *) die "unknown option $1" ;;
    esac
  done
  [ "$NODES" -ge 1 ] 2>/dev/null || die "--nodes needs a positive number"
  prepare
  "$BED" down "$NAME" >/dev/null 2>&1 || true
  mkdir -p "$LOGS"
  nohup "$BED" up --name "$NAME" --nodes "$NODES" --runner >"$LOGS/$NAME.bed.log" 2>&1 &
  for _ in $(seq 1 100); do
    "$BED" list 2>/dev/null | grep -q "^$NAME[[:space:]]" && bed_exec node1 -- /bin/true 2>/dev/null && break
    sleep 0.2
  done
  bed_exec node1 -- /bin/true || die "the bed did not come up; see $LOGS/$NAME.bed.log"
  local ip
  ip=$(bed_exec node1 -- /bin/sh -c "ip -4 -o addr show eth0 | awk '{print \$4}' | cut -d/ -f1")
  bed_exec node1 -- /bin/sh -c "mkdir -p /run/kubeadm && cat > $CONFIG" <<EOF
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: $ip
nodeRegistration:
  name: node1
  criSocket: unix:///run/containerd/containerd.sock
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: v1.37.2
controlPlaneEndpoint: $ip:6443
EOF
  start_healthz node1
  # mark-control-plane needs node1's Node object: registered as soon as the API server is up.
  register_node node1 /etc/kubernetes/super-admin.conf 300 &
  local registrar=$!
  echo "== kubeadm-rs init on node1 ($ip); the bed's runner starts the static Pods it writes"
  # No container runtime and no kubelet on a bed node: init's preflight errors are all ignored.
  bed_exec node1 -- "$KRS" init --config "$CONFIG" --ignore-preflight-errors=all \
    || die "kubeadm-rs init failed; see: $BED logs $NAME"
  wait "$registrar" || die "node1's Node object was not registered"
  local join
  join=$(bed_exec node1 -- "$KRS" token create --print-join-command)
  join=${join#kubeadm }
  for n in $(seq 2 "$NODES"); do
    echo "== kubeadm-rs $join (on node$n)"
    start_healthz "node$n"
    # shellcheck disable=SC2086 # the join command's words
    bed_exec "node$n" -- "$KRS" $join --ignore-preflight-errors="$JOIN_IGNORE" \
      || die "kubeadm-rs join failed on node$n; see: $BED logs $NAME"
    echo "== node$n registers its Node object with its own /etc/kubernetes/kubelet.conf (kubelet stand-in)"
    register_node "node$n" /etc/kubernetes/kubelet.conf || die "node$n could not register itself"
  done
  status
  echo
  echo "The lab is up. Enter a node:  sudo scripts/lab.sh exec node1 -- /bin/bash"
  echo "Tear it down:                 sudo scripts/lab.sh down"
}

status() {
  [ -n "${KUBEADM_RS_BIN_DIR:-}" ] || KUBEADM_RS_BIN_DIR="$(bash scripts/build-components.sh 2>/dev/null | tail -n 1)"
  echo "== kubectl get --raw /readyz (node1)"; kubectl_in node1 get --raw /readyz; echo
  echo "== kubectl version";                    kubectl_in node1 version
  echo "== kubectl get nodes -o wide (status Unknown until real kubelets report it, issue 7)"
  kubectl_in node1 get nodes -o wide
  echo "== kubectl get csr (the workers' TLS bootstrap)"
  kubectl_in node1 get csr
  echo "== each worker's identity: kubectl --kubeconfig=/etc/kubernetes/kubelet.conf auth whoami, in the node"
  local count
  count=$("$BED" list | awk -v n="$NAME" '$1==n' | grep -o 'node[0-9]*=' | wc -l)
  for n in $(seq 2 "$count"); do
    printf 'node%s: ' "$n"
    bed_exec "node$n" -- "$KUBEADM_RS_BIN_DIR/kubectl" --kubeconfig=/etc/kubernetes/kubelet.conf \
      auth whoami -o jsonpath='{.status.userInfo.username} {.status.userInfo.groups}' 2>&1 || true
    echo
  done
}

case "${1:-}" in
  up) shift; up "$@" ;;
  status) status ;;
  exec) shift; bed_exec "$@" ;;
  down) "$BED" down "$NAME" ;;
  *) sed -n '2,9p' "$0"; exit 2 ;;
esac
