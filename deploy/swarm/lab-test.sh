#!/usr/bin/env bash
# The Swarm lab's integration tests (SwarmLabIT, tag swarm-lab) alone (deploy/test.sh runs them with
# the others, then removes the lab): builds the jar, and the tests build the image from it
# (MKE_BACKUP_IMAGE, default mke-backup-lab:lab), bring the lab up or reuse it (deploy/swarm/lab.sh)
# and leave it up (deploy/swarm/lab.sh down removes it). Extra arguments go to mvn.
set -euo pipefail
self=$(readlink -f "$0")
[ "$(id -u)" = 0 ] || exec sudo -E "$self" "$@"
cd "$(dirname "$self")/../.."
export MKE_BACKUP_IMAGE=${MKE_BACKUP_IMAGE:-mke-backup-lab:lab}
# SwarmLabIT builds the image from the jar this run packages.
mvn -B verify -Dit.test=SwarmLabIT -Dit.excludedGroups= -Dtest=SwarmLabIT -Dsurefire.excludedGroups=integration \
  -Dsurefire.failIfNoSpecifiedTests=false "$@"
