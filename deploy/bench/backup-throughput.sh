#!/usr/bin/env bash
# Benchmark (not a test; it never fails on a timing): builds about 1.5 GB of MKE volume data, then
# times on the same data, page cache warm, each run followed by sync:
#   tar -cf                      the volumes mke-backup copies, to a file
#   tar | gpg --symmetric        AES256, no compression, to a file
#   mke-backup --no-passphrase   to a file
#   mke-backup --passphrase      to a file
# and prints each median wall time, throughput, and the two ratios (targets: encrypted >= 2.0x
# tar|gpg, unencrypted >= 1.0x tar). Then the same two backups through the API of a running
# manager of its own (API=0 skips them): what the pipeline does without a JVM to start.
# ROUNDS (default 5) and MIB_PER_VOLUME (default 720) tune it.
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
trap '"${cli[@]}" demo-state --prefix "$prefix" --etcd-client-port $client_port --etcd-peer-port $peer_port --remove >/dev/null 2>&1 || true; rm -rf "$out"' EXIT

# The volumes mke-backup copies as files (ucp-kv goes in as an etcd snapshot instead).
mapfile -t vols < <(copied_volumes "$prefix")
root=/var/lib/docker/volumes
bytes=$(du -sb $(printf "$root/%s/_data " "${vols[@]}") | awk '{s+=$1} END {print s}')
# The run's secrets (the passphrase, and below the admin password, the token, the API bodies) go
# in files here: a directory of root's alone.
mkdir -p "$out" && chmod 700 "$out"
[ "$(stat -c %u "$out")" = 0 ] || { echo "backup-throughput: $out is not root's; set BENCH_DIR" >&2; exit 1; }
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

[ "${API:-1}" = 1 ] || exit 0
# The same backups taken by a manager that is already running (POST /api/ucp/backup, timed until
# its event stream ends, then sync): what the pipeline reaches without a JVM to start and compile,
# the way MKE's API, page and schedules run them. One manager of its own, on free ports.
echo
echo "the same through the API of a running manager (one manager of this script's own):"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
export MKE_LOCAL_CLUSTER_DIR=$out/cluster MKE_LOCAL_MANAGERS=1 MKE_BACKUP_VOLUME_PREFIX=$prefix
export MKE_LOCAL_HTTPS_PORT=$(free_port) MKE_LOCAL_CLUSTER_PORT=$(free_port)
export MKE_LOCAL_DEMO_ARGS="--etcd-client-port $client_port --etcd-peer-port $peer_port --etcd-keys 2000 --volume-mib $mib"
trap 'deploy/local-cluster.sh down >/dev/null 2>&1 || true; "${cli[@]}" demo-state --prefix "$prefix" --etcd-client-port $client_port --etcd-peer-port $peer_port --remove >/dev/null 2>&1 || true; rm -rf "$out"' EXIT
deploy/local-cluster.sh up > "$out/local-cluster.log" 2>&1 \
  || { echo "backup-throughput: the manager did not start:" >&2; tail -5 "$out/local-cluster.log" >&2; exit 1; }
api=https://127.0.0.1:$MKE_LOCAL_HTTPS_PORT
cacert=$MKE_LOCAL_CLUSTER_DIR/manager-1/tls/server-cert.pem
backups=$MKE_LOCAL_CLUSTER_DIR/backups
# The password and the token go to curl in files of this run's private directory, never its arguments.
python3 -c 'import json,sys; print(json.dumps({"username": "admin", "password": open(sys.argv[1]).read().strip()}))' \
  "$MKE_LOCAL_CLUSTER_DIR/admin-password" > "$out/login.json"
token=$(curl -sf --cacert "$cacert" "$api/auth/login" --data-binary @"$out/login.json" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["auth_token"])')
printf 'Authorization: Bearer %s\n' "$token" > "$out/auth-header"
n_api=0
api_backup() {  # $1: true (encrypted, the bench passphrase) or false
  n_api=$((n_api + 1))
  python3 -c 'import json,sys; print(json.dumps({"fileName": "api-%s.tar" % sys.argv[2], "hostPath": sys.argv[3],
      **({"passphrase": open(sys.argv[4]).read()} if sys.argv[1] == "true" else {"noPassphrase": True})}))' \
    "$1" "$n_api" "$backups" "$passfile" > "$out/body.json"
  local id
  id=$(curl -s --cacert "$cacert" -H @"$out/auth-header" -H "Content-Type: application/json" "$api/api/ucp/backup" \
    --data-binary @"$out/body.json" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r.get("backupId") or sys.exit("refused: %s" % r))')
  curl -sfN --max-time 600 --cacert "$cacert" -H @"$out/auth-header" "$api/api/ucp/backup/$id/events" > "$out/events.txt"
  grep -q '"kind":"succeeded"\|"kind" *: *"succeeded"' "$out/events.txt" || { echo "backup $id did not succeed:" >&2; tail -3 "$out/events.txt" >&2; exit 1; }
  sync
}
run_api_plain() { api_backup false; }
run_api_enc()   { api_backup true; }
before_run() { rm -f "$out"/*.tar "$out"/*.gpg "$backups"/*.tar "$backups"/*.log; sync; }
api_backup false >/dev/null; api_backup true >/dev/null  # the manager's first backups compile the pipeline
unset times; declare -A times
time_rounds "$rounds" "$bytes" "tar:tar -cf" "tar_gpg:tar | gpg --symmetric AES256" \
  "api_plain:API, NOT encrypted (running manager)" "api_enc:API, encrypted (running manager)"
printf '\nencrypted:   a running manager is %.2fx the throughput of tar|gpg (target >= 2.0)\n' "$(ratio api_enc tar_gpg)"
printf 'unencrypted: a running manager is %.2fx the throughput of tar     (target >= 1.0)\n' "$(ratio api_plain tar)"
