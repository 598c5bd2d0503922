#!/usr/bin/env bash
# The Swarm lab's integration tests (SwarmLabIT, tag swarm-lab), which the default run
# (deploy/test.sh) leaves out for now: builds the jar and the image (MKE_BACKUP_IMAGE, default
# mke-backup-lab:lab), brings the lab up or reuses it (deploy/swarm/lab.sh), runs the tests and
# leaves the lab up (deploy/swarm/lab.sh down removes it). Extra arguments go to mvn.
set -euo pipefail
self=$(readlink -f "$0")
[ "$(id -u)" = 0 ] || exec sudo -E "$self" "$@"
cd "$(dirname "$self")/../.."
export MKE_BACKUP_IMAGE=${MKE_BACKUP_IMAGE:-mke-backup-lab:lab}
mvn -B -q -DskipTests package
deploy/image/build.sh
mvn -B verify -Dit.test=SwarmLabIT -Dit.excludedGroups= -Dtest=SwarmLabIT -Dsurefire.excludedGroups=integration \
  -Dsurefire.failIfNoSpecifiedTests=false "$@"
