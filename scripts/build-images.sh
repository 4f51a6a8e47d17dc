#!/usr/bin/env bash
# Builds the container images a real bed node needs, without any registry: one single-layer OCI
# image-layout tarball per image, named exactly as `kubeadm config images list
# --kubernetes-version $KUBERNETES_VERSION` prints (the pinned upstream kubeadm; kubeadm-rs
# prints the same, tests check it), importable with `ctr -n k8s.io images import <tar>`:
#   kube-apiserver kube-controller-manager kube-scheduler   the pinned binaries (static)
#   kube-proxy      + iptables (nft and legacy), nft, conntrack, their libraries and loader
#   etcd            etcd + etcdctl
#   coredns         built here from github.com/coredns/coredns at kubeadm's CoreDNSVersion
#                   (wrapper module scripts/images/coredns)
#   pause           scripts/images/pause.c, gcc -static
# into ${KUBEADM_RS_CACHE:-/var/cache/kubeadm-rs}/images/<key>/ (key: this script, pause.c, the
# CoreDNS wrapper's go.mod/go.sum, components.lock, the components key and the Debian versions
# of the packages copied into kube-proxy's image).
#
# Usage:  IMAGES=$(scripts/build-images.sh | tail -1)
# The LAST line of stdout is the image dir; progress goes to stderr. It holds one <name>.tar
# per image and `images.tsv`: "<image name>\t<file>" per line. Runs scripts/build-components.sh
# itself (cached) unless KUBEADM_RS_BIN_DIR is set.
#
# Environment: KUBEADM_RS_CACHE, KUBEADM_RS_GOCACHE, KUBEADM_RS_BIN_DIR, GOMODCACHE, GOPROXY;
#   KUBEADM_RS_KEY_ONLY=1  print the image dir that would be used and exit (no build).
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SELF="$ROOT/scripts/build-images.sh"
IMAGES_SRC="$ROOT/scripts/images"
LOCK_FILE="$ROOT/components.lock"
CACHE=${KUBEADM_RS_CACHE:-/var/cache/kubeadm-rs}

log() { printf '[build-images %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# shellcheck source=../components.lock
source "$LOCK_FILE"
for v in KUBERNETES_VERSION ETCD_VERSION; do [[ -n "${!v:-}" ]] || die "components.lock lacks $v"; done
# CoreDNS's .go-version at the version kubeadm pins (a toolchain the etcd build already fetches).
COREDNS_GO_TOOLCHAIN=go1.26.5
# Debian packages whose files go into kube-proxy's image (their versions are part of the key).
PROXY_PACKAGES=(iptables nftables conntrack libc6)

if [[ -n "${KUBEADM_RS_BIN_DIR:-}" ]]; then
  BIN=$KUBEADM_RS_BIN_DIR
elif [[ "${KUBEADM_RS_KEY_ONLY:-}" == 1 ]]; then
  BIN=$(KUBEADM_RS_KEY_ONLY=1 bash "$ROOT/scripts/build-components.sh" | tail -n 1)
else
  BIN=$(bash "$ROOT/scripts/build-components.sh" | tail -n 1)
fi
COMPONENTS_KEY=$(basename "$(dirname "$BIN")")

# ---- cache key -------------------------------------------------------------------
KEY=$({
  for f in "$SELF" "$IMAGES_SRC/pause.c" "$IMAGES_SRC/coredns/go.mod" "$IMAGES_SRC/coredns/go.sum"; do
    [[ -f "$f" ]] || die "missing $f"
    printf '== %s\n' "${f#"$ROOT"/}"
    cat "$f"
  done
  printf '== components.lock\n'
  grep -Ev '^[[:space:]]*(#|$)' "$LOCK_FILE"
  printf '== components key %s\n' "$COMPONENTS_KEY"
  printf '== debian\n'
  dpkg-query -W "${PROXY_PACKAGES[@]}"
} | sha256sum | cut -c1-16)

IMAGES_DIR="$CACHE/images"
OUT="$IMAGES_DIR/$KEY"
STAMP="$OUT/COMPLETE"

complete() {
  [[ -f "$STAMP" && -f "$OUT/images.tsv" ]] || return 1
  local name file
  while IFS=$'\t' read -r name file; do [[ -s "$OUT/$file" ]] || return 1; done <"$OUT/images.tsv"
}

if [[ "${KUBEADM_RS_KEY_ONLY:-}" == 1 ]]; then
  echo "$OUT"
  exit 0
fi
if complete; then
  log "cached images $KEY are complete"
  echo "$OUT"
  exit 0
fi

mkdir -p "$IMAGES_DIR"
exec 9>"$IMAGES_DIR/.build.lock"
if ! flock -n 9; then
  log "another build holds $IMAGES_DIR/.build.lock; waiting"
  flock 9
fi
if complete; then
  log "cached images $KEY completed by another invocation"
  echo "$OUT"
  exit 0
fi
for t in go gcc tar sha256sum ldd dpkg-query; do command -v "$t" >/dev/null || die "$t is not installed"; done
for b in kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubeadm etcd etcdctl; do
  [[ -x "$BIN/$b" ]] || die "$BIN/$b is missing (scripts/build-components.sh)"
done

rm -rf "$IMAGES_DIR"/.tmp.* "$OUT"
TMP="$IMAGES_DIR/.tmp.$KEY.$$"
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/work"
t_all=$SECONDS

# ---- image names: what the pinned upstream kubeadm pulls -------------------------
declare -A NAME
while read -r img; do
  [[ -n "$img" ]] || continue
  repo=${img%:*}
  NAME[${repo##*/}]=$img
done < <("$BIN/kubeadm" config images list --kubernetes-version "$KUBERNETES_VERSION")
for c in kube-apiserver kube-controller-manager kube-scheduler kube-proxy coredns pause etcd; do
  [[ -n "${NAME[$c]:-}" ]] || die "kubeadm config images list printed no $c image"
done
log "image names: ${NAME[*]}"

# ---- programs that are not pinned components -------------------------------------
build_pause() {
  local tag=${NAME[pause]##*:}
  gcc -static -Os -s -Wall -Werror -DVERSION="\"$tag\"" -o "$TMP/work/pause" "$IMAGES_SRC/pause.c"
  [[ "$("$TMP/work/pause" -v)" == "pause.c $tag" ]] || die "pause -v is wrong"
}
build_coredns() {
  local ver=${NAME[coredns]##*:}
  export GOCACHE=${KUBEADM_RS_GOCACHE:-$CACHE/go-build} GOFLAGS="-buildvcs=false -mod=readonly" GOWORK=off
  mkdir -p "$GOCACHE"
  (cd "$IMAGES_SRC/coredns" &&
    GOTOOLCHAIN=$COREDNS_GO_TOOLCHAIN go mod download &&
    GOTOOLCHAIN=$COREDNS_GO_TOOLCHAIN go mod verify >&2 &&
    GOTOOLCHAIN=$COREDNS_GO_TOOLCHAIN CGO_ENABLED=0 go build -trimpath -tags grpcnotrace \
      -ldflags "-s -w -X github.com/coredns/coredns/coremain.GitCommit=$ver" \
      -o "$TMP/work/coredns" github.com/coredns/coredns) ||
    die "building CoreDNS $ver from the Go module proxy failed"
  local out
  out=$("$TMP/work/coredns" -version)
  [[ "$out" == *"CoreDNS-${ver#v}"* ]] || die "coredns -version says '$out', want ${ver#v}"
}

# ---- rootfs helpers ----------------------------------------------------------------
new_rootfs() { # new_rootfs DIR: merged-/usr layout like Debian 12, /tmp, minimal /etc
  local r=$1
  mkdir -p "$r"/usr/{bin,sbin,lib,lib64,local/bin} "$r"/etc "$r"/tmp "$r"/var/run "$r"/run
  chmod 1777 "$r/tmp"
  ln -s usr/bin "$r/bin"
  ln -s usr/sbin "$r/sbin"
  ln -s usr/lib "$r/lib"
  ln -s usr/lib64 "$r/lib64"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' >"$r/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$r/etc/group"
  printf 'hosts: files dns\n' >"$r/etc/nsswitch.conf"
}
put() { # put SRC ROOTFS DEST: hard link (same file system) or copy
  mkdir -p "$(dirname "$2$3")"
  ln "$1" "$2$3" 2>/dev/null || cp "$1" "$2$3"
}
copy_host_file() { # copy_host_file ROOTFS PATH: the file at its canonical directory, dereferenced
  local r=$1 p=$2 dir
  dir=$(realpath "$(dirname "$p")")
  mkdir -p "$r$dir"
  cp -L --preserve=mode "$p" "$r$dir/$(basename "$p")"
}
copy_with_libs() { # copy_with_libs ROOTFS FILE...: files plus every library ldd names, and the loader
  local r=$1 f lib
  shift
  for f in "$@"; do
    copy_host_file "$r" "$f"
    while read -r lib; do
      [[ -n "$lib" && -e "$r$(realpath "$(dirname "$lib")")/$(basename "$lib")" ]] && continue
      copy_host_file "$r" "$lib"
    done < <(ldd "$f" | awk '/=> \//{print $3} /^[[:space:]]*\/[^ ]+ \(/{print $1}')
  done
}

# ---- OCI image layout --------------------------------------------------------------
json_array() { # json_array a b c -> ["a","b","c"]
  local out="" s
  for s in "$@"; do out+="${out:+,}\"$s\""; done
  printf '[%s]' "$out"
}
IMAGES_TSV="$TMP/images.tsv"
: >"$IMAGES_TSV"
make_image() { # make_image COMPONENT ROOTFS ENTRYPOINT...
  local comp=$1 rootfs=$2 name=${NAME[$1]}
  shift 2
  local lay="$TMP/work/layout-$comp" layer diff_id size cfg cfg_digest cfg_size man man_digest man_size
  mkdir -p "$lay/blobs/sha256"
  layer="$TMP/work/layer-$comp.tar"
  # Reproducible: sorted, root-owned, fixed times; uncompressed (no gzip on build or import).
  tar -C "$rootfs" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --format=gnu \
    -cf "$layer" .
  diff_id=$(sha256sum "$layer" | cut -d' ' -f1)
  size=$(stat -c %s "$layer")
  mv "$layer" "$lay/blobs/sha256/$diff_id"
  cfg="$TMP/work/config-$comp.json"
  printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Entrypoint":%s,"WorkingDir":"/","Labels":{"io.kubeadm-rs.bed.image":"%s"}},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"scripts/build-images.sh %s"}]}' \
    "$(json_array "$@")" "$name" "$diff_id" "$comp" >"$cfg"
  cfg_digest=$(sha256sum "$cfg" | cut -d' ' -f1)
  cfg_size=$(stat -c %s "$cfg")
  mv "$cfg" "$lay/blobs/sha256/$cfg_digest"
  man="$TMP/work/manifest-$comp.json"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
    "$cfg_digest" "$cfg_size" "$diff_id" "$size" >"$man"
  man_digest=$(sha256sum "$man" | cut -d' ' -f1)
  man_size=$(stat -c %s "$man")
  mv "$man" "$lay/blobs/sha256/$man_digest"
  printf '{"imageLayoutVersion":"1.0.0"}' >"$lay/oci-layout"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "$man_digest" "$man_size" "$name" "${name##*:}" >"$lay/index.json"
  tar -C "$lay" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --format=gnu \
    -cf "$TMP/$comp.tar" oci-layout index.json blobs
  rm -rf "$lay" "$rootfs"
  printf '%s\t%s\n' "$name" "$comp.tar" >>"$IMAGES_TSV"
  log "image $name: $comp.tar ($(( $(stat -c %s "$TMP/$comp.tar") / 1048576 )) MiB)"
}

images() {
  local r c
  for c in kube-apiserver kube-controller-manager kube-scheduler; do
    r="$TMP/work/rootfs-$c"
    new_rootfs "$r"
    put "$BIN/$c" "$r" "/usr/local/bin/$c"
    make_image "$c" "$r" "/usr/local/bin/$c"
  done

  r="$TMP/work/rootfs-etcd"
  new_rootfs "$r"
  put "$BIN/etcd" "$r" /usr/local/bin/etcd
  put "$BIN/etcdctl" "$r" /usr/local/bin/etcdctl
  make_image etcd "$r" /usr/local/bin/etcd

  # kube-proxy: iptables mode runs iptables{,-save,-restore} and ip6tables (nft backend, as the
  # host's Debian alternatives), nftables mode runs nft, and conntrack cleans stale UDP entries.
  r="$TMP/work/rootfs-kube-proxy"
  new_rootfs "$r"
  put "$BIN/kube-proxy" "$r" /usr/local/bin/kube-proxy
  copy_with_libs "$r" /usr/sbin/xtables-nft-multi /usr/sbin/xtables-legacy-multi /usr/sbin/nft /usr/sbin/conntrack
  local ext
  for ext in /usr/lib/x86_64-linux-gnu/xtables/*.so; do copy_with_libs "$r" "$ext"; done
  local fam t
  for fam in iptables ip6tables; do
    for t in "" -save -restore; do
      ln -sf xtables-nft-multi "$r/usr/sbin/$fam$t"
      ln -sf xtables-nft-multi "$r/usr/sbin/$fam-nft$t"
      ln -sf xtables-legacy-multi "$r/usr/sbin/$fam-legacy$t"
    done
  done
  cp /etc/protocols /etc/services /etc/ethertypes "$r/etc/" 2>/dev/null || cp /etc/protocols /etc/services "$r/etc/"
  [[ -x "$r/usr/lib64/ld-linux-x86-64.so.2" || -x "$r/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" ]] ||
    die "kube-proxy image: no dynamic loader copied"
  make_image kube-proxy "$r" /usr/local/bin/kube-proxy

  r="$TMP/work/rootfs-coredns"
  new_rootfs "$r"
  put "$TMP/work/coredns" "$r" /coredns
  make_image coredns "$r" /coredns

  r="$TMP/work/rootfs-pause"
  mkdir -p "$r"
  put "$TMP/work/pause" "$r" /pause
  make_image pause "$r" /pause
}

# Smoke test of kube-proxy's rootfs before it is packed: every tool starts with the copied
# libraries alone (chroot, no network or netfilter access needed for --version).
check_proxy_tools() {
  local r="$TMP/work/check-proxy"
  new_rootfs "$r"
  copy_with_libs "$r" /usr/sbin/xtables-nft-multi /usr/sbin/nft /usr/sbin/conntrack
  ln -sf xtables-nft-multi "$r/usr/sbin/iptables"
  chroot "$r" /usr/sbin/iptables --version >&2 || die "iptables does not run from its copied libraries"
  chroot "$r" /usr/sbin/nft --version >&2 || die "nft does not run from its copied libraries"
  chroot "$r" /usr/sbin/conntrack --version >&2 || die "conntrack does not run from its copied libraries"
  rm -rf "$r"
}

step() { # step NAME cmd...
  local name=$1 t0=$SECONDS
  shift
  log "step $name: start"
  "$@"
  log "step $name: done in $((SECONDS - t0))s"
  printf '%s=%s wall_s\n' "$name" "$((SECONDS - t0))" >>"$TMP/timings"
}

log "building images $KEY into $OUT"
step pause build_pause
step coredns build_coredns
step check-proxy-tools check_proxy_tools
step images images
rm -rf "$TMP/work"
printf 'total=%s wall_s\n' "$((SECONDS - t_all))" >>"$TMP/timings"
{
  echo "key=$KEY"
  echo "components=$COMPONENTS_KEY"
  echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  for f in "$TMP"/*.tar; do printf 'sha256 %s %s\n' "$(sha256sum "$f" | cut -d' ' -f1)" "$(basename "$f")"; done
} >"$TMP/COMPLETE.tmp"
mv "$TMP/COMPLETE.tmp" "$TMP/COMPLETE"
mv -T "$TMP" "$OUT"
trap - EXIT
log "done in $((SECONDS - t_all))s: $OUT"
echo "$OUT"
