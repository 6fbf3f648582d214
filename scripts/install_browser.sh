#!/usr/bin/env bash
# Install (idempotently) Debian's Chromium for tests/assets/test_browser.py; a no-op when /usr/bin/chromium exists.
# Needs root (or sudo) and the Debian package mirror; it never downloads a browser build of its own.
set -euo pipefail
CHROMIUM=/usr/bin/chromium
if [ -x "$CHROMIUM" ]; then
  echo "chromium present: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install_browser.sh: needs root or sudo to apt-get install chromium" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends chromium fonts-liberation
[ -x "$CHROMIUM" ] || { echo "install_browser.sh: apt-get finished but $CHROMIUM is missing" >&2; exit 1; }
echo "chromium installed: $("$CHROMIUM" --version)"
