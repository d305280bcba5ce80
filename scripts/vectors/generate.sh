#!/usr/bin/env bash
# Regenerates crates/protocol/tests/vectors/*.json from the real Java client
# (org.apache.kafka:kafka-clients, version pinned in pom.xml).
#
#   bash scripts/vectors/generate.sh
#
# Needs Java 17+ and Maven. Maven copies kafka-clients and its runtime dependencies
# (zstd-jni, lz4-java, snappy-java, slf4j) into scripts/vectors/target/lib; then
# GenerateVectors.java runs as a single-file source program on that classpath.
# The output is deterministic (fixed inputs, fixed random seeds), so a re-run with the
# same versions must leave `git diff` empty.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/../../crates/protocol/tests/vectors"
mvn -B -q -f "$here/pom.xml" dependency:copy-dependencies \
  -DincludeScope=runtime -DoutputDirectory="$here/target/lib"
mkdir -p "$out"
java -cp "$here/target/lib/*" "$here/GenerateVectors.java" "$out"
