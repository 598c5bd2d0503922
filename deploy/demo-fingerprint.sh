#!/usr/bin/env bash
# Prints a fingerprint of the demo deploy/demo.sh leaves on this machine, one fact per line, so that
# two runs compare with diff: deploy/test.sh takes one before the tests and one after, and fails
# when they differ (the tests must leave the demo exactly as it was).
#
#   - every file of the unprefixed ucp-* volumes but ucp-kv's: type, mode, owner, size, name and
#     SHA-256 (ucp-kv holds etcd's live data directory: it is compared by what etcd answers; a volume
#     a running container mounts, the live auth store, by its files' names and its container);
#   - the ucp-* containers: id, image, state and start time (ucp-kv must be the same running etcd);
#   - etcd's keys and values (SHA-256 of each), read from ucp-kv with its own client certificate;
#   - the demo directory: the admin password, passphrase, cluster secret and every backup (SHA-256)
#     and the admin client bundle;
#   - the managers: pid and port from deploy/local-cluster.sh status, and that each answers /_ping.
#
# With no demo state on the engine it prints one line saying so. Needs root (it reads Docker's
# volume directories).
set -euo pipefail
self=$(readlink -f "$0")
[ "$(id -u)" = 0 ] || exec sudo -E "$self" "$@"
cd "$(dirname "$self")/.."

base=${MKE_LOCAL_CLUSTER_DIR:-/var/lib/mke-backup-local}
port=${MKE_DEMO_ETCD_PORT:-12379}
bundle=${MKE_DEMO_BUNDLE_DIR:-/var/lib/mke-backup-demo/default/ucp-bundle-admin}

mapfile -t volumes < <(docker volume ls -q | grep -E '^ucp-' | sort)
if [ "${#volumes[@]}" = 0 ]; then
  echo "no demo state (no unprefixed ucp-* volume)"
  exit 0
fi
files() { # <dir>: one line per entry, in name order
  (cd "$1" && find . -mindepth 1 -printf '%y %m %U:%G %s %P\n' | LC_ALL=C sort -k5 | while read -r t m o s p; do
    if [ "$t" = f ]; then h=$(sha256sum -- "$p" </dev/null | cut -d' ' -f1); else h=-; fi
    echo "$t $m $o $s $h $p"
  done)
}
for v in "${volumes[@]}"; do
  [ "$v" = ucp-kv ] && { echo "volume ucp-kv (etcd's data: see etcd below)"; continue; }
  mp=$(docker volume inspect -f '{{.Mountpoint}}' "$v")
  writers=$(docker ps -q --filter volume="$v" | while read -r c; do
    docker inspect -f "{{range .Mounts}}{{if and (eq .Name \"$v\") .RW}}{{\$.Name}}{{end}}{{end}}" "$c"
  done | sed 's|^/||' | { grep . || true; } | sort | tr '\n' ' ')
  if [ -n "$writers" ]; then
    # A live database (demo-state's auth store writes all the time): its contents change by design,
    # so it is compared by the names of its files and by its writer (the container lines below).
    echo "volume $v live, mounted by ${writers% }"
    (cd "$mp" && find . -mindepth 1 -printf '%y %P\n' | LC_ALL=C sort -k2) | sed "s|^|volume $v |"
  else
    files "$mp" | sed "s|^|volume $v |"
  fi
done
docker ps -a --filter name='^/ucp-' --format '{{.Names}}' | sort | while read -r c; do
  docker inspect -f "container {{.Name}} {{.Id}} {{.Config.Image}} {{.State.Status}} {{.State.StartedAt}}" "$c"
done
certs=$(docker volume inspect -f '{{.Mountpoint}}' ucp-kv-certs 2>/dev/null || true)
if [ -n "$certs" ]; then
  etcd=(env ETCDCTL_API=3 etcdctl --endpoints "https://127.0.0.1:$port" --cacert "$certs/ca.pem"
    --cert "$certs/cert.pem" --key "$certs/key.pem" --command-timeout 20s)
  if kvs=$("${etcd[@]}" get "" --prefix -w json 2>&1); then
    python3 -c '
import base64, hashlib, json, sys
kvs = json.loads(sys.stdin.read()).get("kvs", [])
print("etcd keys %d" % len(kvs))
for kv in sorted(kvs, key=lambda kv: base64.b64decode(kv["key"])):
    value = base64.b64decode(kv.get("value", ""))
    print("etcd %s %s %s" % (base64.b64decode(kv["key"]).decode("utf-8", "backslashreplace"),
                             kv.get("mod_revision"), hashlib.sha256(value).hexdigest()))' <<<"$kvs"
  else
    # Its client's message carries a time and a connection id: on stderr, so two runs compare.
    echo "etcd does not answer"
    echo "demo-fingerprint: etcd does not answer: $kvs" >&2
  fi
fi
for f in "$base/admin-password" "$base/demo-passphrase" "$base/cluster-secret"; do
  [ -f "$f" ] && echo "file $(stat -c '%a %U' "$f") $(sha256sum < "$f" | cut -d' ' -f1) $f"
done
[ -d "$base/backups" ] && files "$base/backups" | sed 's|^|backups |'
[ -d "$bundle" ] && files "$bundle" | sed 's|^|bundle |'
if [ -d "$base" ]; then
  MKE_LOCAL_CLUSTER_DIR=$base deploy/local-cluster.sh status | while read -r name pid url; do
    if [ "$url" != - ] && curl -sfk --max-time 20 "$url/_ping" >/dev/null; then a=answers; else a="does not answer"; fi
    echo "manager $name $pid $url $a"
  done
fi
