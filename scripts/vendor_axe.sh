#!/usr/bin/env bash
# Vendors axe-core's axe.min.js into tests/vendor/ for the accessibility browser tests (issue 21),
# with npm's ordinary client, once; the tests themselves never reach the network.
set -euo pipefail
VERSION="4.14.1"
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/tests/vendor/axe.min.js"
if [ -s "$dest" ] && grep -q "axe v$VERSION" "$dest"; then exit 0; fi
command -v npm >/dev/null 2>&1 || { echo "npm is missing: sudo apt-get install npm" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "axe-core@$VERSION" >/dev/null && tar -xzf "axe-core-$VERSION.tgz")
mkdir -p "$root/tests/vendor"
cp "$tmp/package/axe.min.js" "$dest"
echo "Vendored axe-core $VERSION into tests/vendor/axe.min.js"
