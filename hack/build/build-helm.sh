#!/usr/bin/env bash
# Build helm from the Go module proxy into a cache directory keyed by
# version. A second run with the binary present returns at once.
#
# helm v4's go.mod has no replace or exclude directives, so `go install
# pkg@version` works without a wrapper module.
#
# Proxy probe (2026-12-04): helm.sh/helm/v4 v4.3.0, v4.3.1 and v4.3.2 were
# listed; v4.3.2 is pinned.
#
# Usage: build-helm.sh [VERSION] [OUT]
set -euo pipefail

VERSION=${1:-v4.3.2}
OUT=${2:-${STAGE2_CACHE:-/var/cache/stage2-operator}/helm-$VERSION}

if [ -x "$OUT/bin/helm" ]; then
    echo "helm $VERSION: cached in $OUT/bin"
    exit 0
fi

echo "helm $VERSION: building ($(date +%H:%M:%S))"
mkdir -p "$OUT/bin"
# The version variable only changes what `helm version` prints.
GOBIN="$OUT/bin.tmp" CGO_ENABLED=0 go install -p 2 -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$VERSION" \
    "helm.sh/helm/v4/cmd/helm@$VERSION"
mv "$OUT/bin.tmp/helm" "$OUT/bin/helm"
rmdir "$OUT/bin.tmp"
echo "helm $VERSION: done ($(date +%H:%M:%S))"
"$OUT/bin/helm" version
