#!/usr/bin/env bash
# Builds the anchor: Knative's Kafka broker data plane (eventing-kafka-broker receiver-loom +
# dispatcher-loom), unchanged, from a read-only source tree, in a copy under .cache/knative-anchor/.
# The jars are cached by a hash of the source, so a second run only checks the hash.
#
#   bench/broker/anchor/build.sh            # prints JAVA=..., RECEIVER_JAR=..., DISPATCHER_JAR=... on success
#
# Env: EKB_SRC (default /work/shared/anchors/knative-kafka-broker/source), ANCHOR_JAVA_HOME (a JDK >= 21;
# default: JAVA_HOME if >= 21, else the newest /usr/lib/jvm/* that is >= 21).
# Exit 3 (with a message on stderr) when there is no source or no JDK >= 21: the benchmark then skips the anchor.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
src=${EKB_SRC:-/work/shared/anchors/knative-kafka-broker/source}
log() { echo "[anchor] $*" >&2; }

if [ ! -f "$src/data-plane/pom.xml" ]; then
  log "no eventing-kafka-broker source at $src (set EKB_SRC): skipping the anchor"; exit 3
fi

java_major() { "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | cut -d. -f1; }
jdk=""
for cand in "${ANCHOR_JAVA_HOME:-}" "${JAVA_HOME:-}" $(ls -d /usr/lib/jvm/*/ 2>/dev/null | sort -rV); do
  cand=${cand%/}
  [ -n "$cand" ] && [ -x "$cand/bin/java" ] && [ -x "$cand/bin/javac" ] || continue
  v=$(java_major "$cand" || true)
  if [ -n "$v" ] && [ "$v" -ge 21 ]; then jdk=$cand; break; fi
done
if [ -z "$jdk" ]; then log "no JDK >= 21 (JAVA_HOME, /usr/lib/jvm/*): skipping the anchor"; exit 3; fi
if ! command -v mvn >/dev/null; then log "no mvn on PATH: skipping the anchor"; exit 3; fi

# Key: the source files' paths, sizes and mtimes (cheap; the tree is read-only) plus SOURCE.txt.
key=$( (cat "$src/SOURCE.txt" 2>/dev/null; find "$src/data-plane" "$src/proto" -type f -printf '%P %s %T@\n' | sort) | sha256sum | cut -c1-16)
cache="$root/.cache/knative-anchor"
out="$cache/jars-$key"
if [ -f "$out/receiver-loom.jar" ] && [ -f "$out/dispatcher-loom.jar" ]; then
  log "cached build $key"
else
  log "building from $src with $jdk (key $key); first time: Maven downloads ~300 MB, then ~1-3 min"
  work="$cache/build-$key"
  rm -rf "$work"; mkdir -p "$work"
  cp -r "$src/data-plane" "$src/proto" "$work/"
  chmod -R u+w "$work"
  (cd "$work/data-plane" && JAVA_HOME="$jdk" mvn -B -ntp -DskipTests -Dlicense.skip -Dspotless.skip -Djacoco.skip \
    -Denforcer.skip -Dmaven.javadoc.skip -pl receiver-loom,dispatcher-loom -am package) > "$cache/build-$key.log" 2>&1 &
  pid=$!
  trap 'kill $pid 2>/dev/null || true' EXIT
  while kill -0 $pid 2>/dev/null; do
    sleep 10; log "mvn still running: $(grep -E '^\[INFO\] Building .*\[[0-9]+/[0-9]+\]' "$cache/build-$key.log" | tail -1 | sed -E 's/^\[INFO\] Building ([^ ]+).*(\[[0-9]+\/[0-9]+\])/\1 \2/')"
  done
  trap - EXIT
  if ! wait $pid; then log "mvn failed, see $cache/build-$key.log"; tail -30 "$cache/build-$key.log" >&2; exit 1; fi
  mkdir -p "$out"
  cp "$work/data-plane/receiver-loom/target/receiver-loom-1.0-SNAPSHOT.jar" "$out/receiver-loom.jar"
  cp "$work/data-plane/dispatcher-loom/target/dispatcher-loom-1.0-SNAPSHOT.jar" "$out/dispatcher-loom.jar"
  rm -rf "$work"
  log "built: $out"
fi
echo "JAVA=$jdk/bin/java"
echo "RECEIVER_JAR=$out/receiver-loom.jar"
echo "DISPATCHER_JAR=$out/dispatcher-loom.jar"
