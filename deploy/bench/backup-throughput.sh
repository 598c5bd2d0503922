#!/usr/bin/env bash
# Benchmark (not a test; it never fails on a timing): builds about 1.5 GB of MKE volume data, then
# times on the same data, page cache warm, each run followed by sync:
#   tar -cf                      the volumes mke-backup copies, to a file
#   tar | gpg --symmetric        AES256, no compression, to a file
#   mke-backup --no-passphrase   to a file
#   mke-backup --passphrase      to a file
# and prints each median wall time, throughput, and the two ratios (targets: encrypted >= 2.0x
# tar|gpg, unencrypted >= 1.0x tar). ROUNDS (default 5) and MIB_PER_VOLUME (default 720) tune it.
# deploy/bench/verify-restore.sh and docker-source.sh measure the other paths.
set -euo pipefail
self=$(readlink -f "$0")
[ "$(id -u)" = 0 ] || exec sudo -E "$self" "$@"
cd "$(dirname "$self")/../.."
. deploy/bench/lib.sh

rounds=${ROUNDS:-5}
mib=${MIB_PER_VOLUME:-720}
prefix=bench-
client_port=22379
peer_port=22380
out=${BENCH_DIR:-/var/tmp/mke-backup-bench}

deploy/prereqs.sh
[ -f deploy/target/mke-backup.jar ] || mvn -B -q -DskipTests package
cli=(deploy/bin/mke-backup)
"${cli[@]}" demo-state --prefix "$prefix" --etcd-client-port $client_port --etcd-peer-port $peer_port \
  --etcd-keys 2000 --volume-mib "$mib" >/dev/null 2>&1
trap '"${cli[@]}" demo-state --prefix "$prefix" --etcd-client-port $client_port --etcd-peer-port $peer_port --remove >/dev/null 2>&1; rm -rf "$out"' EXIT

# The volumes mke-backup copies as files (ucp-kv goes in as an etcd snapshot instead).
mapfile -t vols < <(copied_volumes "$prefix")
root=/var/lib/docker/volumes
bytes=$(du -sb $(printf "$root/%s/_data " "${vols[@]}") | awk '{s+=$1} END {print s}')
mkdir -p "$out"
passfile=$(passphrase_file "$out")
echo "data set: ${#vols[@]} volumes, $((bytes / 1000000)) MB; output to $out ($(df -h --output=fstype,avail "$out" | tail -1)); $(nproc) cores"
cat $(find $(printf "$root/%s/_data " "${vols[@]}") -type f) > /dev/null  # warm the page cache

members=()
for v in "${vols[@]}"; do members+=("$v/_data"); done
run_tar()      { tar -cf "$out/t.tar" -C "$root" "${members[@]}"; sync; }
run_tar_gpg()  { tar -cf - -C "$root" "${members[@]}" | gpg --batch --quiet --yes --pinentry-mode loopback \
                   --passphrase-file "$passfile" --symmetric --cipher-algo AES256 --compress-algo none -o "$out/g.tar.gpg"; sync; }
mke_opts=(--volume-prefix "$prefix")  # etcd: found through the Docker API (auto)
run_mke_plain() { "${cli[@]}" backup "${mke_opts[@]}" --no-passphrase --file "$out/m.tar" 2>/dev/null; sync; }
run_mke_enc()   { "${cli[@]}" backup "${mke_opts[@]}" --passphrase-file "$passfile" --file "$out/e.tar" 2>/dev/null; sync; }

before_run() { rm -f "$out"/*.tar "$out"/*.gpg; sync; }
time_rounds "$rounds" "$bytes" "tar:tar -cf" "tar_gpg:tar | gpg --symmetric AES256" \
  "mke_plain:mke-backup --no-passphrase" "mke_enc:mke-backup --passphrase"
printf '\nencrypted:   mke-backup is %.2fx the throughput of tar|gpg (target >= 2.0)\n' "$(ratio mke_enc tar_gpg)"
printf 'unencrypted: mke-backup is %.2fx the throughput of tar     (target >= 1.0)\n' "$(ratio mke_plain tar)"
