#!/usr/bin/env bash
# Gets a fresh machine ready to run or test PerpDesk: Node >= 20, npm dependencies, redis-server.
# Safe to run again: it only does what is missing. `--tests` also installs what the tests need beyond that:
# Debian's chromium (the queue dashboard is tested in a real headless browser).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*" >&2; }

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  say "Node.js >= 20 is required (found: $(node --version 2>/dev/null || echo none)). Install it from https://nodejs.org or your package manager."
  exit 1
fi

# npm dependencies: install when node_modules is missing or older than the lock file.
stamp=node_modules/.perpdesk-lock
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  say "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error >&2
  cp package-lock.json "$stamp"
fi

# redis-server: PerpDesk starts its own when REDIS_URL is unset.
if [ -z "${REDIS_URL:-}" ] && ! command -v redis-server >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    say "installing redis-server with apt-get"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server) >&2
  elif command -v apt-get >/dev/null 2>&1 && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    say "installing redis-server with sudo apt-get"
    (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server) >&2
  elif command -v brew >/dev/null 2>&1; then
    say "installing redis with brew"
    brew install redis >&2
  else
    say "redis-server is missing. Install it (Debian/Ubuntu: sudo apt-get install -y redis-server; macOS: brew install redis),"
    say "or run Redis elsewhere and set REDIS_URL=redis://host:6379 (docker compose up redis works too)."
    exit 1
  fi
fi

apt_install() {
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@") >&2
  elif command -v apt-get >/dev/null 2>&1 && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@") >&2
  else
    return 1
  fi
}

if [ "${1:-}" = "--tests" ] && [ -z "${CHROMIUM_PATH:-}" ] && ! command -v chromium >/dev/null 2>&1; then
  say "installing chromium for the browser test (apt-get)"
  if ! apt_install chromium; then
    say "chromium is missing. Install it (Debian/Ubuntu: sudo apt-get install -y chromium) or set CHROMIUM_PATH to a Chromium binary."
    exit 1
  fi
fi
say "ready"
