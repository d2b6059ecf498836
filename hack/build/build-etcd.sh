#!/usr/bin/env bash
# Build etcd from the Go module proxy into a cache directory keyed by
# version. A second run with the binary present returns at once.
#
# `go install go.etcd.io/etcd/server/v3@...` is rejected because the
# server's go.mod has replace directives, so a small wrapper module calls
# etcdmain.Main instead, which is what etcd's own main package does.
#
# Proxy probe (2026-12-04): go.etcd.io/etcd/server/v3 v3.6.13 to v3.6.17
# were listed; v3.6.16 is pinned.
#
# Usage: build-etcd.sh [VERSION] [OUT]
set -euo pipefail

VERSION=${1:-v3.6.16}
OUT=${2:-${STAGE2_CACHE:-/var/cache/stage2-operator}/etcd-$VERSION}

if [ -x "$OUT/bin/etcd" ]; then
    echo "etcd $VERSION: cached in $OUT/bin"
    exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

cat > go.mod <<GOMOD
module stage2.dev/hack/etcdbin

go 1.24.0

require go.etcd.io/etcd/server/v3 $VERSION
GOMOD

cat > main.go <<'GO'
// Command etcd runs the etcd server; it is etcd's own main package,
// rebuilt from a module without replace directives.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
GO

echo "etcd $VERSION: resolving modules"
go mod tidy

echo "etcd $VERSION: building ($(date +%H:%M:%S))"
mkdir -p "$OUT/bin"
CGO_ENABLED=0 go build -p 2 -trimpath -ldflags "-s -w" -o "$OUT/bin/etcd.tmp" .
mv "$OUT/bin/etcd.tmp" "$OUT/bin/etcd"
cp go.mod go.sum main.go "$OUT/"
echo "etcd $VERSION: done ($(date +%H:%M:%S))"
"$OUT/bin/etcd" --version
