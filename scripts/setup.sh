#!/usr/bin/env bash
# Installs everything the test suite needs beyond Rust (stable) and Node (>= 20):
#   - npm packages of the DevTools oracle (tests/reference: heap-snapshot-toolkit);
#   - Debian's chromium, for the HTML report test;
#   - an S3-protocol server for the supervisor's upload test.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

command -v cargo >/dev/null || { echo "setup: cargo not found; install Rust (stable) first" >&2; exit 2; }
command -v node >/dev/null || { echo "setup: node not found; install Node.js >= 20 first" >&2; exit 2; }
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "setup: Node.js >= 20 is required (found $(node --version))" >&2
  exit 2
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

npm_install() { # dir
  if [ -f "$1/package.json" ] && { [ ! -d "$1/node_modules" ] || [ "$1/package-lock.json" -nt "$1/node_modules" ]; }; then
    say "npm packages in $1"
    (cd "$1" && npm ci --no-audit --no-fund --loglevel=error)
    touch "$1/node_modules"
  fi
}
npm_install tests/reference

apt_updated=""
apt_install() { # package...
  if [ -z "$apt_updated" ]; then $SUDO apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ! command -v chromium >/dev/null 2>&1; then
  say "Debian chromium (HTML report test)"
  apt_install chromium
fi

if ! command -v moto_server >/dev/null 2>&1; then
  say "moto S3 server (supervisor upload test)"
  if ! command -v python3 >/dev/null 2>&1 || ! python3 -m pip --version >/dev/null 2>&1; then
    apt_install python3 python3-pip python3-venv
  fi
  python3 -m pip install --quiet 'moto[server]' 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages 'moto[server]'
  if ! command -v moto_server >/dev/null 2>&1; then
    # pip's user or script directory may not be on PATH.
    bin_dir=$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')
    echo "setup: moto_server installed in $bin_dir; add it to PATH" >&2
  fi
fi
