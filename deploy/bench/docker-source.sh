#!/usr/bin/env bash
# Benchmark (not a test; it never fails on a timing): builds about 1.5 GB of MKE volume data, then
# times reading it through the Docker archive API, page cache warm:
#   docker cp <helper>:/vol/<volume> - > /dev/null   for every volume mke-backup copies (the yardstick;
#                                                   the helper is a created, never-started container)
#   mke-backup backup --source docker --no-passphrase > /dev/null
#                                                   the same volumes (and the small container
#                                                   configurations), SHA-256 of every file; no etcd
# and prints each median wall time and the ratio (target: mke-backup >= 0.8x the throughput of
# docker cp). ROUNDS (default 5) and MIB_PER_VOLUME (default 720) tune it.
set -euo pipefail
self=$(readlink -f "$0")
[ "$(id -u)" = 0 ] || exec sudo -E "$self" "$@"
cd "$(dirname "$self")/../.."
. deploy/bench/lib.sh

rounds=${ROUNDS:-5}
mib=${MIB_PER_VOLUME:-720}
prefix=benchds-
client_port=22579
peer_port=22580
helper=${prefix}cp-helper

deploy/prereqs.sh
[ -f deploy/target/mke-backup.jar ] || mvn -B -q -DskipTests package
cli=(deploy/bin/mke-backup)
"${cli[@]}" demo-state --prefix "$prefix" --etcd-client-port $client_port --etcd-peer-port $peer_port \
  --etcd-keys 100 --volume-mib "$mib" >/dev/null 2>&1
trap 'docker rm -f "$helper" >/dev/null 2>&1; "${cli[@]}" demo-state --prefix "$prefix" --etcd-client-port $client_port --etcd-peer-port $peer_port --remove >/dev/null 2>&1' EXIT

# The volumes mke-backup copies as files (ucp-kv goes in as an etcd snapshot, left out here).
mapfile -t vols < <(copied_volumes "$prefix")
binds=()
for v in "${vols[@]}"; do binds+=(-v "$v:/vol/$v:ro"); done
docker rm -f "$helper" >/dev/null 2>&1 || true
docker create --name "$helper" "${binds[@]}" mke-backup-helper:1 /never-started >/dev/null
root=/var/lib/docker/volumes
bytes=$(du -sb $(printf "$root/%s/_data " "${vols[@]}") | awk '{s+=$1} END {print s}')
echo "data set: ${#vols[@]} volumes, $((bytes / 1000000)) MB; $(nproc) cores"
cat $(find $(printf "$root/%s/_data " "${vols[@]}") -type f) > /dev/null  # warm the page cache

run_docker_cp() { for v in "${vols[@]}"; do docker cp "$helper:/vol/$v" -; done > /dev/null; }
run_mke() {
  "${cli[@]}" backup --source docker --volume-prefix "$prefix" --etcd-endpoint none --no-passphrase \
    > /dev/null 2>&1
}

time_rounds "$rounds" "$bytes" "docker_cp:docker cp <helper>:/vol/<volume> - (each)" \
  "mke:mke-backup backup --source docker"
printf '\n--source docker: mke-backup is %.2fx the throughput of docker cp (target >= 0.8)\n' "$(ratio mke docker_cp)"
