#!/usr/bin/env bash
# The browser tests drive Debian's Chromium; install it once if it is missing.
set -euo pipefail
if [ ! -x /usr/bin/chromium ]; then
  echo "Installing Chromium for the browser tests"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
/usr/bin/chromium --version
