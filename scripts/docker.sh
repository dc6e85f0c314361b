#!/usr/bin/env bash
# Makes a Docker engine available for the tests when possible, so the harness runs Kafka and
# ElasticMQ as containers; otherwise says why in one line and leaves the harness on its jars.
# Source it (scripts/test.sh does) or run it. EDDY_TEST_DOCKER decides:
#   auto (default)  use the engine if `docker info` answers; else, as root with apt, install Debian's
#                   docker.io (and debootstrap, which builds the images) and start dockerd in the
#                   background (log: ${XDG_CACHE_HOME:-~/.cache}/eddy/docker/dockerd.log); then makes
#                   sure the Debian + JRE base image the peer images start from exists
#                   (scripts/debian-base-image.sh: about a minute the first time, cached after); any
#                   failure falls back to the jars
#   1               the same, but a failure is an error (exit status 1)
#   0               no Docker: the jars
# Afterwards EDDY_TEST_DOCKER is exported as 1 or 0, so the harness does not ask again. Quick when the
# engine already runs (one `docker info`); starting dockerd is bounded (60 s).
# No `set -e` here: this file is sourced, and shell options would leak into the caller's shell.

_eddy_docker_setup() {
  local mode="${EDDY_TEST_DOCKER:-auto}" log_dir="${XDG_CACHE_HOME:-$HOME/.cache}/eddy/docker"
  case "$mode" in
    0) echo "docker: EDDY_TEST_DOCKER=0, the test peers run from their jars" >&2; return 0 ;;
    1 | auto) ;;
    *) echo "docker: EDDY_TEST_DOCKER must be 0, 1 or auto, got '$mode'" >&2; return 1 ;;
  esac
  local problem
  problem=$(_eddy_docker_ensure "$log_dir" && _eddy_docker_base_image "$log_dir") && {
    export EDDY_TEST_DOCKER=1
    echo "docker: engine $(docker info --format '{{.ServerVersion}}' 2>/dev/null) answers, the test peers run as containers" >&2
    return 0
  }
  if [ "$mode" = 1 ]; then
    echo "docker: EDDY_TEST_DOCKER=1 but $problem" >&2
    return 1
  fi
  export EDDY_TEST_DOCKER=0
  echo "docker: $problem; the test peers run from their jars" >&2
  return 0
}

# Prints nothing and succeeds once an engine answers (and debootstrap is there to build images);
# otherwise prints the problem.
_eddy_docker_ensure() {
  local log_dir=$1
  if timeout 20 docker info >/dev/null 2>&1 && command -v debootstrap >/dev/null 2>&1; then
    return 0
  fi
  if [ "$(id -u)" != 0 ]; then
    command -v debootstrap >/dev/null 2>&1 || { echo "debootstrap is missing and installing it needs root"; return 1; }
    echo "no Docker engine answers and starting one needs root"
    return 1
  fi
  mkdir -p "$log_dir" || { echo "cannot create $log_dir"; return 1; }
  if ! command -v dockerd >/dev/null 2>&1 || ! command -v debootstrap >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 || { echo "no dockerd/debootstrap and no apt-get to install them"; return 1; }
    # A fresh machine may have no package lists yet: update once and try again.
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io debootstrap >"$log_dir/apt.log" 2>&1; then
      { DEBIAN_FRONTEND=noninteractive apt-get update -q &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io debootstrap; } >>"$log_dir/apt.log" 2>&1 ||
        { echo "apt-get install docker.io debootstrap failed (log: $log_dir/apt.log)"; return 1; }
    fi
  fi
  if timeout 20 docker info >/dev/null 2>&1; then return 0; fi
  # setsid: the daemon must not belong to this shell's process group, or a Ctrl-C of the test run
  # would take it down with the tests.
  echo "docker: starting dockerd (log: $log_dir/dockerd.log)" >&2
  setsid dockerd >>"$log_dir/dockerd.log" 2>&1 </dev/null &
  local pid=$! waited=0
  while ! timeout 5 docker info >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "dockerd exited at start: $(tail -n 1 "$log_dir/dockerd.log")"
      return 1
    fi
    if [ "$waited" -ge 60 ]; then
      echo "dockerd did not answer within 60 s (log: $log_dir/dockerd.log)"
      return 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
  return 0
}

# Building the base here rather than in the test harness makes a failure (no mirror, no debootstrap)
# a fallback to the jars instead of a failed test run.
_eddy_docker_base_image() {
  local log="$1/base-image.log" script
  script="$(dirname "${BASH_SOURCE[0]}")/debian-base-image.sh"
  if ! bash "$script" --jre >"$log" 2>&1; then
    echo "building the Debian + JRE base image failed ($(tail -n 1 "$log"); log: $log)"
    return 1
  fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  _eddy_docker_setup
  exit $?
fi
_eddy_docker_setup
