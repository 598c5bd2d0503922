#!/usr/bin/env bash
# Benchmark (not a test; it never fails on a timing): AES-256-CFB alone on one thread, the JCE's
# CFB against the CBC/ECB route mke-backup uses, SHA-1 and SHA-256 for scale. BC_LTS_JAR, the path
# of a bcprov-lts8on jar, adds Bouncy Castle LTS's native CFB to the table. MB (default 400) sets
# the bytes per pass.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/../.."
[ -f deploy/target/mke-backup.jar ] || mvn -B -q -DskipTests package
exec java -XX:+UseSerialGC -Dmb="${MB:-400}" -cp deploy/target/mke-backup.jar deploy/bench/CipherBench.java ${BC_LTS_JAR:+"$BC_LTS_JAR"}
