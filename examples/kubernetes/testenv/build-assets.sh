#!/usr/bin/env bash
# Builds the envtest assets (kube-apiserver and etcd) from the Go module proxy
# into a cache folder outside the work tree, once. Prints the folder on the
# last line of its output; point KUBEBUILDER_ASSETS at it.
#
#   KUBE_VERSION   kube-apiserver version (default v1.37.2)
#   ETCD_VERSION   etcd version (default v3.6.16)
#   LBKIT_ASSETS   output folder (default /var/cache/lbkit/k8s-$KUBE_VERSION)
#
# Needs only Go and the Go module proxy. A cold build takes a few minutes.
set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:-v1.37.2}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
OUT="${LBKIT_ASSETS:-/var/cache/lbkit/k8s-${KUBE_VERSION}}"
STAGING_VERSION="v0.${KUBE_VERSION#v1.}"

if [[ -x "$OUT/kube-apiserver" && -x "$OUT/etcd" ]]; then
	echo "assets present"
	echo "$OUT"
	exit 0
fi

mkdir -p "$OUT"
WORK="$(mktemp -d)"
trap 'chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"
export CGO_ENABLED=0 GOWORK=off GOTOOLCHAIN=local

# build_module MODULE VERSION PACKAGE BINARY [SED-SCRIPT]: copies the module's
# source from the proxy, drops replace lines pointing into its own repository
# (they only work in a full checkout), applies SED-SCRIPT to go.mod and builds
# PACKAGE into $OUT/BINARY.
build_module() {
	local mod="$1" ver="$2" pkg="$3" bin="$4" extra="${5:-}" dir src
	echo "building $bin from $mod@$ver"
	dir="$(cd "$WORK" && GOFLAGS=-mod=mod go mod download -json "$mod@$ver" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
	src="$WORK/$bin-src"
	cp -r "$dir" "$src"
	chmod -R u+w "$src"
	sed -i -E '/=> \.{1,2}\//d; /^replace [^ ]+ => \.\//d' "$src/go.mod"
	if [[ -n "$extra" ]]; then sed -i -E "$extra" "$src/go.mod"; fi
	(cd "$src" && go build -mod=mod -o "$WORK/$bin" "$pkg")
	install -m 0755 "$WORK/$bin" "$OUT/$bin.tmp"
	mv "$OUT/$bin.tmp" "$OUT/$bin"
}

[[ -x "$OUT/etcd" ]] || build_module go.etcd.io/etcd/server/v3 "$ETCD_VERSION" . etcd
# kubernetes requires its staging modules (k8s.io/api, ...) at v0.0.0; the
# released ones carry the matching v0.x version.
[[ -x "$OUT/kube-apiserver" ]] || build_module k8s.io/kubernetes "$KUBE_VERSION" \
	./cmd/kube-apiserver kube-apiserver "s#^(\s+k8s\.io/[a-z0-9-]+) v0\.0\.0\$#\1 ${STAGING_VERSION}#"

"$OUT/etcd" --version | head -1
"$OUT/kube-apiserver" --version
echo "$OUT"
