#!/usr/bin/env bash
# Three mke-backup managers on this machine, against the demo MKE state on the local Docker
# engine: each with its own HTTPS and cluster ports and data directory, all sharing one backup
# directory (standing in for NFS). Idempotent.
#
#   deploy/local-cluster.sh up       build if needed, create the demo state, start what is not running
#   deploy/local-cluster.sh status   one line per manager: <node-name> <pid> https://127.0.0.1:<port>
#   deploy/local-cluster.sh down     stop the managers (their data and the backups stay)
#
# Environment: MKE_LOCAL_CLUSTER_DIR (default /var/lib/mke-backup-local), MKE_LOCAL_HTTPS_PORT
# (first HTTPS port, default 8443; the others follow), MKE_LOCAL_CLUSTER_PORT (first Hazelcast
# port, default 5701), MKE_LOCAL_MANAGERS (default 3), MKE_BACKUP_VOLUME_PREFIX and
# MKE_BACKUP_ETCD_ENDPOINT (default auto: the demo state's ucp-kv container; MKE_LOCAL_DEMO_ARGS adds demo-state options), MKE_ADMIN_USERNAME / MKE_ADMIN_PASSWORD (without a
# password one is generated into $MKE_LOCAL_CLUSTER_DIR/admin-password, 0600, and never printed: read it there).
# The managers share a cluster secret: MKE_BACKUP_CLUSTER_SECRET_FILE, else one generated once in
# $MKE_LOCAL_CLUSTER_DIR/cluster-secret (0600); a process without it cannot join them.
set -euo pipefail
self=$(readlink -f "$0")
[ "$(id -u)" = 0 ] || exec sudo -E "$self" "$@"
root=$(dirname "$self")/..
cd "$root"

base=${MKE_LOCAL_CLUSTER_DIR:-/var/lib/mke-backup-local}
https0=${MKE_LOCAL_HTTPS_PORT:-8443}
cluster0=${MKE_LOCAL_CLUSTER_PORT:-5701}
count=${MKE_LOCAL_MANAGERS:-3}
backups=$base/backups
jar=deploy/target/mke-backup.jar

node() { echo "manager-$1"; }
pidof_node() { local f="$base/$(node "$1")/pid"; [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && cat "$f"; }
members() {
  local m="" i
  for i in $(seq 1 "$count"); do m="$m${m:+,}127.0.0.1:$((cluster0 + i - 1))"; done
  echo "$m"
}
ready() { curl -skf -o /dev/null --max-time 2 "https://127.0.0.1:$1/_ping"; }

up() {
  [ -f "$jar" ] || mvn -B -q -DskipTests package
  # shellcheck disable=SC2086
  deploy/bin/mke-backup demo-state ${MKE_BACKUP_VOLUME_PREFIX:+--prefix "$MKE_BACKUP_VOLUME_PREFIX"} ${MKE_LOCAL_DEMO_ARGS:-} >/dev/null
  mkdir -p "$backups"
  local secret=${MKE_BACKUP_CLUSTER_SECRET_FILE:-$base/cluster-secret}
  [ -f "$secret" ] || (umask 077; head -c 32 /dev/urandom | base64 > "$secret")
  # The password reaches the managers through their environment or a file, never their arguments.
  local password_file=""
  if [ -z "${MKE_ADMIN_PASSWORD:-}" ]; then
    password_file=$base/admin-password
    if [ ! -f "$password_file" ]; then
      (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$password_file")
      echo "Generated a password for the admin user '${MKE_ADMIN_USERNAME:-admin}': read it in $password_file (root only)"
    fi
  fi
  local i
  for i in $(seq 1 "$count"); do
    local name dir https pid
    name=$(node "$i"); dir=$base/$name; https=$((https0 + i - 1))
    if pid=$(pidof_node "$i"); then continue; fi
    mkdir -p "$dir"
    MKE_BACKUP_NODE_NAME=$name \
    MKE_BACKUP_DATA_DIR=$dir \
    MKE_BACKUP_HTTPS_PORT=$https \
    MKE_BACKUP_CLUSTER_PORT=$((cluster0 + i - 1)) \
    MKE_BACKUP_CLUSTER_MEMBERS=$(members) \
    MKE_BACKUP_CLUSTER_SECRET_FILE=$secret \
    MKE_BACKUP_DEFAULT_DIR=$backups \
    MKE_BACKUP_ALLOWED_ROOTS=$backups \
    MKE_ADMIN_PASSWORD=${MKE_ADMIN_PASSWORD:-} \
    MKE_ADMIN_PASSWORD_FILE=$password_file \
      setsid nohup deploy/bin/mke-backup manager >"$dir/manager.log" 2>&1 </dev/null &
    echo $! > "$dir/pid"
  done
  for i in $(seq 1 "$count"); do
    local https=$((https0 + i - 1)) t
    for t in $(seq 1 120); do ready "$https" && break; pidof_node "$i" >/dev/null || break; sleep 0.5; done
    ready "$https" || { echo "local-cluster: $(node "$i") did not start; see $base/$(node "$i")/manager.log" >&2; tail -5 "$base/$(node "$i")/manager.log" >&2; exit 1; }
  done
  status
}

status() {
  local i pid
  for i in $(seq 1 "$count"); do
    pid=$(pidof_node "$i") || pid="-"
    echo "$(node "$i") $pid https://127.0.0.1:$((https0 + i - 1))"
  done
}

down() {
  local i pid
  for i in $(seq 1 "$count"); do
    if pid=$(pidof_node "$i"); then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$base/$(node "$i")/pid"
  done
}

case "${1:-}" in
  up) up ;;
  status) status ;;
  down) down ;;
  *) echo "usage: $0 up|status|down" >&2; exit 2 ;;
esac
