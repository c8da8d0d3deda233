#!/usr/bin/env bash
# The e2e tests drive Debian's Chromium (Playwright may not download a browser here), and the
# WebGPU-in-Node unit test uses its bundled SwiftShader Vulkan driver. Run by scripts/setup.mjs under
# `npm test` (before the unit tests) and again by `test:e2e`; a no-op when chromium is installed.
set -euo pipefail
CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
[ -x "$CHROMIUM" ] && exit 0
if [ "$(id -u)" -eq 0 ] || command -v sudo >/dev/null 2>&1; then
  echo "twinmerge: installing Debian's chromium (SwiftShader WebGPU for the WebGPU-in-Node and e2e tests)…"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq || true
  $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
  [ -x "$CHROMIUM" ] && exit 0
fi
echo "twinmerge: the e2e tests need Chromium at $CHROMIUM (Debian: apt-get install chromium; or set CHROMIUM_PATH)." >&2
exit 1
