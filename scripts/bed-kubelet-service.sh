#!/usr/bin/env bash
# The kubelet "service" of a real bed node, for hosts where systemd is not PID 1: what
# kubeadm-rs runs instead of systemctl when KUBEADM_RS_KUBELET_SERVICE names it (see
# crates/kubeadm-rs/src/kubeletsvc.rs). The test bed installs it in each real node as
# /run/kubeadm-rs-node/kubelet-service (crates/kubeadm-testbed/src/realnode/kubelet.rs).
#
#   kubelet-service restart   stop, then start a detached supervisor that runs the kubelet and
#                             restarts it when it exits (systemd's Restart=always)
#   kubelet-service stop      stop the supervisor and the kubelet (not the containers)
#   kubelet-service status    print the supervisor's and kubelet's PIDs; exit 3 when stopped
#
# The kubelet's command line is the one kubeadm's systemd drop-in (10-kubeadm.conf) gives,
# re-read at every (re)start:
#   kubelet --bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf
#           --kubeconfig=/etc/kubernetes/kubelet.conf --config=/var/lib/kubelet/config.yaml
#           $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
# KUBELET_KUBEADM_ARGS comes from /var/lib/kubelet/kubeadm-flags.env (written by kubeadm);
# everything else from the node's environment file ($KUBELET_SERVICE_ENV, default
# /run/kubeadm-rs-node/kubelet.env; the bed's /etc/default/kubelet):
#   KUBELET_BIN          the kubelet binary (required)
#   KUBELET_LOG          log file, appended to (default /run/kubeadm-rs-node/kubelet.log)
#   KUBELET_EXTRA_ARGS   per-node flags, as in /etc/default/kubelet (e.g. --node-ip, --cgroup-root)
#   KUBELET_CGROUPS      cgroup directories the supervisor (and so the kubelet) moves into
#   KUBELET_RESTART_SEC  pause between an exit and the next start (default 2; systemd's is 10)
set -uo pipefail

ENV_FILE=${KUBELET_SERVICE_ENV:-/run/kubeadm-rs-node/kubelet.env}
PID_FILE=/run/kubeadm-rs-node/kubelet.pid
FLAGS_FILE=/var/lib/kubelet/kubeadm-flags.env

die() { echo "kubelet-service: $*" >&2; exit 1; }
[[ -f "$ENV_FILE" ]] || die "no $ENV_FILE (is this a real bed node?)"
# shellcheck source=/dev/null
source "$ENV_FILE"
[[ -x "${KUBELET_BIN:-}" ]] || die "KUBELET_BIN (${KUBELET_BIN:-unset}) is not an executable"
KUBELET_LOG=${KUBELET_LOG:-/run/kubeadm-rs-node/kubelet.log}
KUBELET_RESTART_SEC=${KUBELET_RESTART_SEC:-2}

start_time() { # start_time PID: field 22 of /proc/PID/stat (empty when gone)
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  stat=${stat##*) }
  # shellcheck disable=SC2086
  set -- $stat
  echo "${20}"
}
supervisor_pid() { # the live supervisor's PID from the PID file (PID + start time), or nothing
  local pid start
  [[ -f "$PID_FILE" ]] || return 0
  read -r pid start <"$PID_FILE" || return 0
  [[ -n "$pid" && -n "$start" && "$(start_time "$pid")" == "$start" ]] && echo "$pid"
  return 0
}

supervise() {
  local d
  for d in ${KUBELET_CGROUPS:-}; do
    echo $$ >"$d/cgroup.procs" || { echo "supervisor: cannot join cgroup $d"; exit 1; }
  done
  echo "$$ $(start_time $$)" >"$PID_FILE.tmp" && mv "$PID_FILE.tmp" "$PID_FILE"
  local child="" stopping=0 rc
  trap 'stopping=1; [[ -n "$child" ]] && kill -TERM "$child" 2>/dev/null' TERM INT
  while ((!stopping)); do
    KUBELET_KUBEADM_ARGS=""
    # shellcheck source=/dev/null
    [[ -f "$FLAGS_FILE" ]] && source "$FLAGS_FILE"
    local -a argv=("$KUBELET_BIN" --bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf
      --kubeconfig=/etc/kubernetes/kubelet.conf --config=/var/lib/kubelet/config.yaml)
    # shellcheck disable=SC2206 # word splitting like systemd's $VAR expansion
    argv+=($KUBELET_KUBEADM_ARGS ${KUBELET_EXTRA_ARGS:-})
    echo "==== $(date -u +%FT%TZ) supervisor $$: starting ${argv[*]}"
    "${argv[@]}" </dev/null &
    child=$!
    # `wait` returns early when a trapped signal arrives; wait until the kubelet is really gone.
    while :; do
      wait "$child"
      rc=$?
      kill -0 "$child" 2>/dev/null || break
    done
    child=""
    echo "==== $(date -u +%FT%TZ) supervisor $$: kubelet exited ($rc)"
    ((stopping)) && break
    sleep "$KUBELET_RESTART_SEC" &
    child=$!
    wait "$child" 2>/dev/null
    kill "$child" 2>/dev/null
    child=""
  done
  rm -f "$PID_FILE"
  echo "==== $(date -u +%FT%TZ) supervisor $$: stopped"
}

stop() {
  local pid i
  pid=$(supervisor_pid)
  [[ -n "$pid" ]] || { rm -f "$PID_FILE"; return 0; }
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < 100; i++)); do # 10 s, then SIGKILL to the whole process group
    [[ -n "$(supervisor_pid)" ]] || return 0
    sleep 0.1
  done
  kill -KILL -- "-$pid" 2>/dev/null
  rm -f "$PID_FILE"
}

start() {
  local i
  mkdir -p "$(dirname "$PID_FILE")" "$(dirname "$KUBELET_LOG")"
  # Detached: own session, no inherited stdio (kubeadm reads our output to its end).
  setsid -f bash "$0" __supervise </dev/null >>"$KUBELET_LOG" 2>&1
  for ((i = 0; i < 50; i++)); do
    [[ -n "$(supervisor_pid)" ]] && return 0
    sleep 0.1
  done
  die "the kubelet supervisor did not start (see $KUBELET_LOG)"
}

case "${1:-}" in
  restart) stop && start ;;
  stop) stop ;;
  status)
    pid=$(supervisor_pid)
    [[ -n "$pid" ]] || { echo inactive; exit 3; }
    echo "active: supervisor $pid, children $(cat "/proc/$pid/task/$pid/children" 2>/dev/null)"
    ;;
  __supervise) supervise ;;
  *) die "usage: $0 restart|stop|status" ;;
esac
