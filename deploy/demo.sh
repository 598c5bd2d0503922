#!/usr/bin/env bash
# The demo: on a fresh Debian machine, installs what is missing, builds mke-backup, creates a demo
# MKE manager state on the local Docker engine (volumes, certificates, etcd with keys, containers),
# takes an encrypted backup with the CLI while it prints its progress, and verifies it with
# mke-backup and with stock gpg + tar. Run as root: it writes into Docker's volumes.
set -euo pipefail
self=$(readlink -f "$0")
[ "$(id -u)" = 0 ] || exec sudo -E "$self" "$@"
cd "$(dirname "$self")/.."

deploy/prereqs.sh
mvn -B -q -DskipTests package
deploy/bin/mke-backup demo-state

dir=${MKE_BACKUP_DIR:-/var/lib/mke-backup-demo/backups}
mkdir -p "$dir"
chmod 700 "$dir"
passfile="$dir/demo-passphrase"
if [ ! -f "$passfile" ]; then
  (umask 077; head -c 18 /dev/urandom | base64 > "$passfile")
fi
file="$dir/backup-$(date -u +%Y%m%dT%H%M%SZ).tar"

echo "== mke-backup backup --file $file --passphrase - (from $passfile) --include-logs"
deploy/bin/mke-backup backup --file "$file" --passphrase - --include-logs < "$passfile"
echo "== mke-backup verify $file"
deploy/bin/mke-backup verify "$file" --passphrase - < "$passfile"
echo "== gpg --decrypt $file | tar --list (first 10 of $(gpg --batch --quiet --pinentry-mode loopback --passphrase-file "$passfile" --decrypt "$file" | tar --list | wc -l) entries)"
gpg --batch --quiet --pinentry-mode loopback --passphrase-file "$passfile" --decrypt "$file" | tar --list | head -10
