#!/usr/bin/env bash
# All tests: installs and starts the prerequisites, then builds and runs the unit tests (Surefire)
# and the integration tests against the real Docker engine, etcd, GnuPG and GNU tar (Failsafe).
# Run as root: the tests create Docker volumes and mount small tmpfs file systems.
set -euo pipefail
self=$(readlink -f "$0")
[ "$(id -u)" = 0 ] || exec sudo -E "$self" "$@"
cd "$(dirname "$self")/.."

deploy/prereqs.sh
mvn -B verify "$@"
