#!/usr/bin/env bash
# The demo: on a fresh Debian machine, installs what is missing, builds mke-backup, creates a demo
# MKE manager state on the local Docker engine (volumes, certificates, etcd with keys, containers),
# brings up three managers on this machine (deploy/local-cluster.sh), then, as an MKE admin would
# with curl: logs in, starts an encrypted backup through the API, follows its progress (Server-Sent
# Events), and prints the backup's record. Finally it verifies the archive with mke-backup and
# lists it with stock gpg + tar. Run as root: it writes into Docker's volumes.
set -euo pipefail
self=$(readlink -f "$0")
[ "$(id -u)" = 0 ] || exec sudo -E "$self" "$@"
cd "$(dirname "$self")/.."

deploy/prereqs.sh
command -v curl >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null; }
mvn -B -q -DskipTests package
deploy/bin/mke-backup demo-state

export MKE_LOCAL_CLUSTER_DIR=${MKE_LOCAL_CLUSTER_DIR:-/var/lib/mke-backup-local}
echo "== deploy/local-cluster.sh up"
deploy/local-cluster.sh up
base=$MKE_LOCAL_CLUSTER_DIR
password=${MKE_ADMIN_PASSWORD:-$(cat "$base/admin-password")}
ucp=https://127.0.0.1:${MKE_LOCAL_HTTPS_PORT:-8443}
cacert=$base/manager-1/tls/server-cert.pem   # manager-1's self-signed certificate
passfile=$base/demo-passphrase
[ -f "$passfile" ] || (umask 077; head -c 18 /dev/urandom | base64 > "$passfile")
json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

echo "== POST /auth/login"
token=$(curl -sf --cacert "$cacert" "$ucp/auth/login" \
  -d "{\"username\": \"${MKE_ADMIN_USERNAME:-admin}\", \"password\": \"$password\"}" | json_field auth_token)
file="backup-$(date -u +%Y%m%dT%H%M%SZ).tar"
echo "== POST /api/ucp/backup ($file, encrypted, with logs, into $base/backups)"
id=$(curl -sf --cacert "$cacert" -H "Authorization: Bearer $token" "$ucp/api/ucp/backup" -X POST \
  -H "Content-Type: application/json" \
  --data "{\"encrypted\": true, \"includeLogs\": true, \"fileName\": \"$file\", \"hostPath\": \"$base/backups\",
           \"passphrase\": \"$(cat "$passfile")\"}" | json_field backupId)
echo "backupId $id"
echo "== GET /api/ucp/backup/$id/events (progress as it happens)"
curl -sN --cacert "$cacert" -H "Authorization: Bearer $token" "$ucp/api/ucp/backup/$id/events" \
  | python3 -c '
import json, sys
for line in sys.stdin:
    if line.startswith("data: "):
        e = json.loads(line[6:])
        if "kind" in e:
            print("  %-10s %-11s %-28s %s" % (e["kind"], e["step"], e.get("target", ""), e.get("message", "")))'
echo "== GET /api/ucp/backup/$id"
curl -sf --cacert "$cacert" -H "Authorization: Bearer $token" "$ucp/api/ucp/backup/$id" | python3 -m json.tool

echo "== mke-backup verify $base/backups/$file"
deploy/bin/mke-backup verify "$base/backups/$file" --passphrase - < "$passfile"
entries=$(gpg --batch --quiet --pinentry-mode loopback --passphrase-file "$passfile" --decrypt "$base/backups/$file" | tar --list | wc -l)
echo "== gpg --decrypt | tar --list: $entries entries, the first 10:"
gpg --batch --quiet --pinentry-mode loopback --passphrase-file "$passfile" --decrypt "$base/backups/$file" | tar --list | awk "NR <= 10"
echo "The managers keep running: deploy/local-cluster.sh status | down"
