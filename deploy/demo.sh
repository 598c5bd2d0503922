#!/usr/bin/env bash
# The demo: on a fresh Debian machine, installs what is missing, builds mke-backup, creates a demo
# MKE manager state on the local Docker engine (volumes, certificates, etcd with keys, containers),
# brings up three managers on this machine (deploy/local-cluster.sh), then, as an MKE admin would
# with curl: logs in, starts an encrypted backup through the API, follows its progress (Server-Sent
# Events), and prints the backup's record. Finally it verifies the archive with mke-backup and
# lists it with stock gpg + tar. Run as root: it writes into Docker's volumes.
#
# Secrets never go on a command line (where ps and /proc/<pid>/cmdline show them to every user):
# the password, the passphrase and the token reach curl on its stdin or in a file of this run's
# private temporary directory, and mke-backup and gpg read the passphrase file.
#
# The environment of deploy/local-cluster.sh applies (MKE_LOCAL_CLUSTER_DIR, ports, the demo
# state's MKE_BACKUP_VOLUME_PREFIX and MKE_LOCAL_DEMO_ARGS); MKE_DEMO_SKIP_BUILD=1 uses the jar
# already built and skips the prerequisites (tests run the demo so).
set -euo pipefail
self=$(readlink -f "$0")
[ "$(id -u)" = 0 ] || exec sudo -E "$self" "$@"
cd "$(dirname "$self")/.."

if [ "${MKE_DEMO_SKIP_BUILD:-}" != 1 ] || [ ! -f deploy/target/mke-backup.jar ]; then
  deploy/prereqs.sh
  command -v curl >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null; }
  mvn -B -q -DskipTests package
fi
# shellcheck disable=SC2086
deploy/bin/mke-backup demo-state ${MKE_BACKUP_VOLUME_PREFIX:+--prefix "$MKE_BACKUP_VOLUME_PREFIX"} ${MKE_LOCAL_DEMO_ARGS:-}

export MKE_LOCAL_CLUSTER_DIR=${MKE_LOCAL_CLUSTER_DIR:-/var/lib/mke-backup-local}
echo "== deploy/local-cluster.sh up"
deploy/local-cluster.sh up
base=$MKE_LOCAL_CLUSTER_DIR
ucp=https://127.0.0.1:${MKE_LOCAL_HTTPS_PORT:-8443}
cacert=$base/manager-1/tls/server-cert.pem   # manager-1's self-signed certificate
passfile=$base/demo-passphrase
[ -f "$passfile" ] || (umask 077; head -c 18 /dev/urandom | base64 > "$passfile")
secrets=$(mktemp -d)   # 0700: the token's header file
trap 'rm -rf "$secrets"' EXIT
json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

echo "== POST /auth/login"
# The body, password included, goes to curl's stdin; the password comes from the environment or
# the file local-cluster.sh generated.
token=$(MKE_DEMO_PASSWORD_FILE=$base/admin-password python3 -c '
import json, os
password = os.environ.get("MKE_ADMIN_PASSWORD") or open(os.environ["MKE_DEMO_PASSWORD_FILE"]).read().strip()
print(json.dumps({"username": os.environ.get("MKE_ADMIN_USERNAME", "admin"), "password": password}))' \
  | curl -sf --cacert "$cacert" "$ucp/auth/login" --data-binary @- | json_field auth_token)
(umask 077; printf 'Authorization: Bearer %s\n' "$token" > "$secrets/auth-header")
file="backup-$(date -u +%Y%m%dT%H%M%SZ).tar"
echo "== POST /api/ucp/backup ($file, encrypted, with logs, into $base/backups)"
id=$(python3 -c '
import json, sys
print(json.dumps({"encrypted": True, "includeLogs": True, "fileName": sys.argv[1], "hostPath": sys.argv[2],
                  "passphrase": open(sys.argv[3]).readline().strip()}))' "$file" "$base/backups" "$passfile" \
  | curl -sf --cacert "$cacert" -H @"$secrets/auth-header" -H "Content-Type: application/json" \
      "$ucp/api/ucp/backup" --data-binary @- | json_field backupId)
echo "backupId $id"
echo "== GET /api/ucp/backup/$id/events (progress as it happens)"
curl -sN --cacert "$cacert" -H @"$secrets/auth-header" "$ucp/api/ucp/backup/$id/events" \
  | python3 -c '
import json, sys
for line in sys.stdin:
    if line.startswith("data: "):
        e = json.loads(line[6:])
        if "kind" in e:
            print("  %-10s %-11s %-28s %s" % (e["kind"], e["step"], e.get("target", ""), e.get("message", "")))'
echo "== GET /api/ucp/backup/$id"
curl -sf --cacert "$cacert" -H @"$secrets/auth-header" "$ucp/api/ucp/backup/$id" | python3 -m json.tool

echo "== mke-backup verify $base/backups/$file"
deploy/bin/mke-backup verify "$base/backups/$file" --passphrase-file "$passfile"
entries=$(gpg --batch --quiet --pinentry-mode loopback --passphrase-file "$passfile" --decrypt "$base/backups/$file" | tar --list | wc -l)
echo "== gpg --decrypt | tar --list: $entries entries, the first 10:"
gpg --batch --quiet --pinentry-mode loopback --passphrase-file "$passfile" --decrypt "$base/backups/$file" | tar --list | awk "NR <= 10"
echo "The managers keep running: deploy/local-cluster.sh status | down"
