#!/usr/bin/env bash
# All tests: installs and starts the prerequisites, then builds and runs the unit tests (Surefire)
# and the integration tests against the real Docker engine, etcd, GnuPG and GNU tar (Failsafe).
# Run as root: the tests create Docker volumes and mount small tmpfs file systems.
#
# The demo deploy/demo.sh leaves (its volumes, ucp-kv, managers, backups, password) must come out of
# the tests exactly as it went in: deploy/demo-fingerprint.sh is taken before and after, and a
# difference fails the run, even when the tests pass. So does a skipped test, unless
# deploy/test-skips-allowed.txt lists it with the reason (deploy/test-reports.py reads the Surefire
# and Failsafe reports of this run and prints how many tests ran). The Swarm lab's tests run
# with the others, and the lab is removed after. Arguments go to mvn (-Dit.test=SomeIT ...).
set -euo pipefail
self=$(readlink -f "$0")
[ "$(id -u)" = 0 ] || exec sudo -E "$self" "$@"
cd "$(dirname "$self")/.."

deploy/prereqs.sh
fingerprints=$(mktemp -d)
trap 'rm -rf "$fingerprints"' EXIT
deploy/demo-fingerprint.sh > "$fingerprints/before"
touch "$fingerprints/marker"
sleep 1   # report files of this run are newer than the marker by at least the clock's resolution
status=0
# The full run takes in the Swarm lab's tests (SwarmLabIT, tag swarm-lab: three nested Docker nodes,
# brought up once for all of them, with an image built from this run's jar), then removes the lab.
# A run given arguments (one test) or MKE_TEST_SKIP_LAB=1 leaves them out: it is not the full suite.
lab=()
if [ $# = 0 ] && [ "${MKE_TEST_SKIP_LAB:-}" != 1 ]; then
  lab=(-Dit.excludedGroups=)
  # SwarmLabIT removes the lab as soon as it is done, so it does not load the tests after it.
  export MKE_LAB_DOWN_AFTER=1
fi
mvn -B verify "${lab[@]}" "$@" || status=$?
if [ "${#lab[@]}" != 0 ]; then
  deploy/swarm/lab.sh down || status=1
fi
# A skip is not a pass: every skipped test must be listed, with why, in deploy/test-skips-allowed.txt.
python3 deploy/test-reports.py "$fingerprints/marker" deploy/test-skips-allowed.txt */target/surefire-reports \
  */target/failsafe-reports || status=1
deploy/demo-fingerprint.sh > "$fingerprints/after"
if ! diff -u "$fingerprints/before" "$fingerprints/after" > "$fingerprints/diff"; then
  cat "$fingerprints/diff" >&2
  echo "test.sh: the tests changed the demo's state (above: - before, + after)" >&2
  exit 1
fi
echo "test.sh: the demo's state is as it was ($(head -1 "$fingerprints/before" | grep -q '^no demo' \
  && echo 'there was none' || echo "$(grep -c . "$fingerprints/before") facts compared"))"
exit "$status"
