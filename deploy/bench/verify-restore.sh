#!/usr/bin/env bash
# Benchmark (not a test; it never fails on a timing): builds about 1.5 GB of MKE volume data and
# takes one encrypted backup of it, then times on that archive, page cache warm:
#   gpg --decrypt | tar -x      into a fresh directory, then sync (the yardstick)
#   mke-backup verify           decrypts, checks the MDC, hashes every file
#   mke-backup restore          into fresh volumes (another prefix), then sync
# and prints each median wall time and the ratios (targets: verify and restore each >= 1.0x the
# throughput of gpg | tar -x). ROUNDS (default 5) and MIB_PER_VOLUME (default 720) tune it.
set -euo pipefail
self=$(readlink -f "$0")
[ "$(id -u)" = 0 ] || exec sudo -E "$self" "$@"
cd "$(dirname "$self")/../.."
. deploy/bench/lib.sh

rounds=${ROUNDS:-5}
mib=${MIB_PER_VOLUME:-720}
prefix=benchvr-
restored=benchvr-r-
client_port=22479
peer_port=22480
out=${BENCH_DIR:-/var/tmp/mke-backup-bench-vr}
export GNUPGHOME="$out/gnupg"

deploy/prereqs.sh
[ -f deploy/target/mke-backup.jar ] || mvn -B -q -DskipTests package
cli=(deploy/bin/mke-backup)
remove_restored() {
  for v in $(docker volume ls -q | grep "^${restored}" || true); do docker volume rm -f "$v" >/dev/null; done
}
"${cli[@]}" demo-state --prefix "$prefix" --etcd-client-port $client_port --etcd-peer-port $peer_port \
  --etcd-keys 2000 --volume-mib "$mib" >/dev/null 2>&1
trap '"${cli[@]}" demo-state --prefix "$prefix" --etcd-client-port $client_port --etcd-peer-port $peer_port --remove >/dev/null 2>&1; remove_restored; gpgconf --kill gpg-agent 2>/dev/null || true; rm -rf "$out"' EXIT
mkdir -p "$out" && mkdir -p -m 700 "$GNUPGHOME"
passfile=$(passphrase_file "$out")
archive="$out/backup.tar"
"${cli[@]}" backup --volume-prefix "$prefix" \
  --passphrase-file "$passfile" --file "$archive" 2>/dev/null
bytes=$(stat -c %s "$archive")
echo "archive: $((bytes / 1000000)) MB, encrypted; output to $out ($(df -h --output=fstype,avail "$out" | tail -1)); $(nproc) cores"
cat "$archive" > /dev/null  # warm the page cache

run_gpg_tar() {
  rm -rf "$out/x" && mkdir "$out/x"
  gpg --batch --quiet --pinentry-mode loopback --passphrase-file "$passfile" --decrypt "$archive" | tar -x -C "$out/x"
  sync
}
run_verify()  { "${cli[@]}" verify "$archive" --passphrase-file "$passfile" >/dev/null 2>&1; }
run_restore() {  # before_run has removed the volumes of the previous round
  "${cli[@]}" restore --file "$archive" --passphrase-file "$passfile" --volume-prefix "$restored" \
    --etcd-peer-url "http://127.0.0.1:$peer_port" >/dev/null 2>&1
  sync
}

before_run() { rm -rf "$out/x"; remove_restored; sync; }
time_rounds "$rounds" "$bytes" "gpg_tar:gpg --decrypt | tar -x" "verify:mke-backup verify" \
  "restore:mke-backup restore"
printf '\nverify:  %.2fx the throughput of gpg --decrypt | tar -x (target >= 1.0)\n' "$(ratio verify gpg_tar)"
printf 'restore: %.2fx the throughput of gpg --decrypt | tar -x (target >= 1.0)\n' "$(ratio restore gpg_tar)"
