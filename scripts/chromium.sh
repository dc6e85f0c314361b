#!/usr/bin/env bash
# Makes headless Chromium available for the dashboard's browser tests (test/dashboard/): Debian's
# `chromium` package, installed with apt when it is missing and this runs as root; otherwise says why in
# one line and the tests skip with that reason. Source it (scripts/test.sh does) or run it. Exports
# EDDY_CHROMIUM with the executable when one is found (an EDDY_CHROMIUM already set wins).
# No `set -e` here: this file is sourced, and shell options would leak into the caller's shell.

_eddy_chromium_find() {
  local candidate
  for candidate in "${EDDY_CHROMIUM:-}" chromium chromium-browser google-chrome-stable google-chrome; do
    [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1 && { command -v "$candidate"; return 0; }
  done
  return 1
}

_eddy_chromium_setup() {
  local found log="${XDG_CACHE_HOME:-$HOME/.cache}/eddy/chromium-apt.log"
  if found=$(_eddy_chromium_find); then
    export EDDY_CHROMIUM="$found"
    echo "chromium: $found, the dashboard's browser tests run" >&2
    return 0
  fi
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "chromium: not found and installing it needs root and apt-get; the dashboard's browser tests skip" >&2
    return 0
  fi
  mkdir -p "$(dirname "$log")"
  echo "chromium: installing Debian's chromium (log: $log)" >&2
  # A fresh machine may have no package lists yet: update once and try again.
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >"$log" 2>&1; then
    { DEBIAN_FRONTEND=noninteractive apt-get update -q &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; } >>"$log" 2>&1 || {
      echo "chromium: apt-get install chromium failed (log: $log); the dashboard's browser tests skip" >&2
      return 0
    }
  fi
  if found=$(_eddy_chromium_find); then
    export EDDY_CHROMIUM="$found"
    echo "chromium: installed $found" >&2
  fi
  return 0
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  _eddy_chromium_setup
  exit $?
fi
_eddy_chromium_setup
