#!/usr/bin/env bash
# The lab: a local cluster brought up with kubeadm-rs on the test bed (nodes as namespaces).
#
#   sudo scripts/lab.sh up [--nodes N]   # build what's needed, start the bed, kubeadm-rs init on node1
#   sudo scripts/lab.sh status           # kubectl's view of the cluster
#   sudo scripts/lab.sh exec NODE -- CMD # run a command inside a node (e.g. node1 -- kubectl get ns)
#   sudo scripts/lab.sh down             # tear everything down
#
# Today kubeadm-rs writes node1's certificates, kubeconfigs and static Pod manifests (the offline
# half of `init`); the bed's static-pod runner stands in for the kubelet and starts etcd and the
# control plane from the pinned binaries. The other nodes reach node1's API server over the bed's
# bridge. Joining them as Kubernetes nodes comes with `kubeadm-rs join` (issue 5) and real
# kubelets (issue 7).
set -euo pipefail
cd "$(dirname "$0")/.."
export KUBEADM_RS_CACHE="${KUBEADM_RS_CACHE:-/var/cache/kubeadm-rs}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$KUBEADM_RS_CACHE/target}"
NAME=lab
NODES=3
CONFIG=/run/kubeadm/kubeadm.yaml
LATER_PHASES=kubelet-start,wait-control-plane,upload-config,upload-certs,mark-control-plane,bootstrap-token,kubelet-finalize,addon,show-join-command

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

up() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --nodes) NODES=$2; shift 2 ;;
      *) die "unknown option $1" ;;
    esac
  done
  prepare
  "$BED" down "$NAME" >/dev/null 2>&1 || true
  mkdir -p "/var/log/kubeadm-rs-bed"
  nohup "$BED" up --name "$NAME" --nodes "$NODES" --runner >"/var/log/kubeadm-rs-bed/$NAME.bed.log" 2>&1 &
  for _ in $(seq 1 100); do
    "$BED" list 2>/dev/null | grep -q "^$NAME[[:space:]]" && bed_exec node1 -- /bin/true 2>/dev/null && break
    sleep 0.2
  done
  bed_exec node1 -- /bin/true || die "the bed did not come up; see /var/log/kubeadm-rs-bed/$NAME.bed.log"
  local ip
  ip=$(bed_exec node1 -- /bin/sh -c "ip -4 -o addr show eth0 | awk '{print \$4}' | cut -d/ -f1")
  bed_exec node1 -- /bin/sh -c "mkdir -p /run/kubeadm && cat > $CONFIG" <<EOF
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: $ip
nodeRegistration:
  name: node1
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: v1.37.2
controlPlaneEndpoint: $ip:6443
EOF
  echo "== kubeadm-rs init on node1 ($ip)"
  bed_exec node1 -- "$KRS" init --config "$CONFIG" --skip-phases "preflight,$LATER_PHASES"
  echo "== waiting for the control plane (the bed's runner starts the static Pods)"
  for _ in $(seq 1 240); do
    [ "$(kubectl_in node1 get --raw /readyz 2>/dev/null || true)" = ok ] && break
    sleep 0.5
  done
  [ "$(kubectl_in node1 get --raw /readyz 2>/dev/null || true)" = ok ] || die "control plane not ready; see: $BED logs $NAME"
  # What init's API phases will do (issue 4): give admin.conf's group cluster-admin.
  bed_exec node1 -- "$KUBEADM_RS_BIN_DIR/kubectl" --kubeconfig=/etc/kubernetes/super-admin.conf \
    create clusterrolebinding kubeadm:cluster-admins --clusterrole=cluster-admin --group=kubeadm:cluster-admins >/dev/null
  for n in $(seq 2 "$NODES"); do
    bed_exec node1 -- /bin/cat /etc/kubernetes/admin.conf | bed_exec "node$n" -- /bin/sh -c "cat > /etc/kubernetes/admin.conf"
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
  echo "== kubectl get ns";                     kubectl_in node1 get ns
  echo "== kubectl get --raw /readyz from the other nodes, over the bridge"
  local count
  count=$("$BED" list | awk -v n="$NAME" '$1==n' | grep -o 'node[0-9]*=' | wc -l)
  for n in $(seq 2 "$count"); do
    printf 'node%s: ' "$n"; kubectl_in "node$n" get --raw /readyz; echo
  done 2>/dev/null || true
}

case "${1:-}" in
  up) shift; up "$@" ;;
  status) status ;;
  exec) shift; bed_exec "$@" ;;
  down) "$BED" down "$NAME" ;;
  *) sed -n '2,9p' "$0"; exit 2 ;;
esac
