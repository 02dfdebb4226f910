#!/usr/bin/env bash
# Refresh the vendored lightweight-charts standalone build used by liq_chart/.
#
# Usage: scripts/update_lightweight_charts.sh [version-spec]   (default: 5, i.e. the newest 5.x)
#
# Fetches the package tarball from the npm registry with `npm pack` (no CDN, no node_modules), copies the
# standalone production IIFE (it sets window.LightweightCharts) plus LICENSE and NOTICE into
# liq_chart/frontend/, and prints the version that is now vendored.
set -euo pipefail

spec="${1:-5}"
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/liq_chart/frontend"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm pack --silent "lightweight-charts@${spec}" >/dev/null)
tar -xzf "$tmp"/lightweight-charts-*.tgz -C "$tmp"
pkg="$tmp/package"

version="$(node -p "require('$pkg/package.json').version")"
case "$version" in
  5.*) ;;
  *) echo "refusing to vendor lightweight-charts $version: liq_chart is written for 5.x" >&2; exit 1 ;;
esac

src="$pkg/dist/lightweight-charts.standalone.production.js"
if ! grep -q "window.LightweightCharts" "$src"; then
  echo "$src does not look like the standalone IIFE build (no window.LightweightCharts)" >&2
  exit 1
fi

mkdir -p "$dest"
cp "$src" "$dest/lightweight-charts.standalone.production.js"
cp "$pkg/LICENSE" "$dest/LICENSE"
if [ -f "$pkg/NOTICE" ]; then
  cp "$pkg/NOTICE" "$dest/NOTICE"
else
  # The npm tarball ships without the NOTICE file of the upstream repository; reproduce it as the
  # Apache-2.0 licence asks (text of https://github.com/tradingview/lightweight-charts/blob/master/NOTICE).
  printf 'TradingView Lightweight Charts\nCopyright (c) 2023 TradingView, Inc. https://www.tradingview.com/\n' \
    >"$dest/NOTICE"
fi
printf '%s\n' "$version" >"$dest/VERSION"

echo "lightweight-charts $version vendored into ${dest#"$root"/}"
