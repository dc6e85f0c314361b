#!/usr/bin/env bash
# Builds a Debian root filesystem with debootstrap and imports it as a Docker image, because no
# image registry is reachable from our machines: every image we run starts from one of these.
#   scripts/debian-base-image.sh          -> eddy-test/debian-base:<hash>  (minbase + ca-certificates)
#   scripts/debian-base-image.sh --jre    -> eddy-test/debian-jre:<hash>   (the same + a headless JRE 17)
# Prints the image reference on stdout, progress on stderr. The tag is a hash of this script and the
# variant, so changing either builds a new image. Three levels of cache, cheapest first: the image
# itself, the root filesystem tarball (${XDG_CACHE_HOME:-~/.cache}/eddy/images/, survives `docker
# system prune`), and debootstrap's .deb cache there. Packages come from the machine's own apt mirror
# (EDDY_DEBIAN_MIRROR overrides). Needs root, debootstrap and a running Docker engine.
set -euo pipefail

variant=base
case "${1:-}" in
  --jre) variant=jre ;;
  '') ;;
  *) echo "usage: $0 [--jre]" >&2; exit 2 ;;
esac
suite=bookworm
include=ca-certificates
[ "$variant" = jre ] && include="$include,openjdk-17-jre-headless"

hash=$( { cat "${BASH_SOURCE[0]}"; echo "$variant $suite $include"; } | sha256sum | cut -c1-12)
image="eddy-test/debian-$variant:$hash"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/eddy/images"
tarball="$cache/debian-$variant-$hash.tar"
say() { echo "[images] $*" >&2; }

if docker image inspect "$image" >/dev/null 2>&1; then
  echo "$image"
  exit 0
fi

# The first `URIs:`/`deb` entry serving $suite in the machine's apt sources: the mirror (or proxy)
# that apt-get already uses here, so debootstrap reaches what apt reaches.
apt_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    awk -v suite="$suite" '
      /^[[:space:]]*$/ { if (uri != "" && ok) { print uri; exit } uri = ""; ok = 0; next }
      /^URIs:/ { uri = $2 }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) ok = 1 }
      END { if (uri != "" && ok) print uri }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    awk -v suite="$suite" '$1 == "deb" && $0 !~ /\[/ && $3 == suite { print $2 }' "$f"
  done
}

mkdir -p "$cache/debs"
# One builder per variant at a time: the test harness may ask for the same image from two peers.
exec 9>"$cache/.lock-$variant"
if ! flock -n 9; then
  say "waiting for another process that is building $image"
  flock 9
  if docker image inspect "$image" >/dev/null 2>&1; then
    echo "$image"
    exit 0
  fi
fi

if [ ! -s "$tarball" ]; then
  if [ "$(id -u)" != 0 ]; then
    say "building $image needs root (debootstrap); run scripts/debian-base-image.sh as root once"
    exit 1
  fi
  command -v debootstrap >/dev/null || { say "debootstrap is not installed (apt-get install -y debootstrap)"; exit 1; }
  mirror="${EDDY_DEBIAN_MIRROR:-$(apt_mirror | head -n1)}"
  mirror="${mirror:-http://deb.debian.org/debian}"
  root=$(mktemp -d "$cache/rootfs-$variant.XXXXXX")
  trap 'rm -rf "$root" "$tarball.partial"' EXIT
  say "debootstrap $suite (minbase + $include) from $mirror into $root; 1-3 min the first time"
  started=$(date +%s)
  debootstrap --variant=minbase --include="$include" --cache-dir="$cache/debs" \
    "$suite" "$root" "$mirror" >&2
  # Nothing in the image needs apt's package lists, and the .debs stay in the cache folder.
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/log/* "$root"/tmp/*
  tar --numeric-owner --xattrs -C "$root" -cf "$tarball.partial" .
  mv "$tarball.partial" "$tarball"
  rm -rf "$root"
  trap - EXIT
  say "root filesystem ready in $(( $(date +%s) - started )) s: $tarball ($(du -m "$tarball" | cut -f1) MB)"
fi

docker import \
  --change 'ENV LANG=C.UTF-8' \
  --change "LABEL dev.eddy.image=debian-$variant dev.eddy.debian.suite=$suite" \
  --change 'CMD ["/bin/sh"]' \
  "$tarball" "$image" >/dev/null
say "imported $image"
echo "$image"
