#!/usr/bin/env bash
# Benchmark (not a test; it never fails on a timing): the catalog API under load. Brings up three
# managers of its own (deploy/local-cluster.sh, on ports and directories of its own), seeds RECORDS
# backup records (default 10,000) through the catalog's supported restore path (record files in a
# manager's catalog mirror, merged into the cluster at start, as after a restart of the whole
# cluster), then measures on loopback with wrk (Debian's):
#   GET /api/ucp/backup/{id}          random ids, paced at RATE requests/s (default 500): p99
#   GET /api/ucp/backups?limit=50     newest first, paced at RATE requests/s: p99
#   GET /api/ucp/backups              the full list: median of 11 single requests
#   GET /metrics                      median of 11 single requests
# tears everything down, and prints as its last line
#   records=<n> get_p99_ms=<x> list50_p99_ms=<x> rps=<x> full_list_ms=<x> metrics_ms=<x>
# (targets: get p99 < 10 ms and list50 p99 < 25 ms at 500 requests/s, full list < 150 ms,
# /metrics < 50 ms). RECORDS, RATE and SECONDS_PER_RUN (per wrk run, default 20) tune it.
set -euo pipefail
self=$(readlink -f "$0")
[ "$(id -u)" = 0 ] || exec sudo -E "$self" "$@"
cd "$(dirname "$self")/../.."

records=${RECORDS:-10000}
rate=${RATE:-500}
seconds=${SECONDS_PER_RUN:-20}
connections=10

deploy/prereqs.sh
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
[ -f deploy/target/mke-backup.jar ] || mvn -B -q -DskipTests package

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
work=$(mktemp -d /var/tmp/mke-api-bench.XXXXXX)
export MKE_LOCAL_CLUSTER_DIR=$work/cluster
export MKE_LOCAL_HTTPS_PORT=$(free_port)
export MKE_LOCAL_CLUSTER_PORT=$(free_port)
# The managers' ports follow the first ones; check the next two are free too.
for p in $((MKE_LOCAL_HTTPS_PORT + 1)) $((MKE_LOCAL_HTTPS_PORT + 2)) $((MKE_LOCAL_CLUSTER_PORT + 1)) $((MKE_LOCAL_CLUSTER_PORT + 2)); do
  python3 -c "import socket,sys; s=socket.socket(); s.bind(('127.0.0.1',$p))" 2>/dev/null \
    || { echo "api-latency: port $p is taken; run again" >&2; exit 1; }
done
export MKE_BACKUP_VOLUME_PREFIX=apibench-
etcd_client=$(free_port); etcd_peer=$(free_port)
export MKE_LOCAL_DEMO_ARGS="--etcd-client-port $etcd_client --etcd-peer-port $etcd_peer --etcd-keys 10"
cleanup() {
  deploy/local-cluster.sh down >/dev/null 2>&1 || true
  deploy/bin/mke-backup demo-state --prefix "$MKE_BACKUP_VOLUME_PREFIX" $MKE_LOCAL_DEMO_ARGS --remove >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# Seed: record files as the catalog mirror keeps them, created over the last 30 days.
mkdir -p "$MKE_LOCAL_CLUSTER_DIR/manager-1/catalog"
python3 - "$MKE_LOCAL_CLUSTER_DIR/manager-1/catalog" "$records" "$work/ids" <<'EOF'
import json, os, random, sys, uuid, datetime
out, n, ids = sys.argv[1], int(sys.argv[2]), sys.argv[3]
now = datetime.datetime.now(datetime.timezone.utc)
fmt = lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)
rnd = random.Random(7)
with open(ids, "w") as id_file:
    for i in range(n):
        rid = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
        created = now - datetime.timedelta(seconds=rnd.randrange(30 * 86400))
        state = rnd.choice(["SUCCESS"] * 8 + ["FAILED"])
        rec = {"id": rid, "encrypted": True, "fileName": "mke-backup-%05d.tar" % i, "logFileName": "",
               "backupPath": "/backups", "backupState": state, "nodeLocation": "manager-%d" % (i % 3 + 1),
               "shortError": "disk full" if state == "FAILED" else "", "created_at": fmt(created),
               "completed_at": fmt(created + datetime.timedelta(seconds=40)), "ownerMember": str(uuid.uuid4()),
               "archiveBytes": 1 << 30, "files": 72, "dataBytes": 1 << 30, "origin": "api", "tick": 0,
               "prunedAt": None}
        with open(os.path.join(out, rid + ".json"), "w") as f:
            json.dump(rec, f)
        id_file.write(rid + "\n")
EOF

echo "api-latency: $records records seeded; starting three managers" >&2
deploy/local-cluster.sh up >/dev/null
base=https://127.0.0.1:$MKE_LOCAL_HTTPS_PORT
login=$work/login.json
(umask 077; python3 -c 'import json,sys; print(json.dumps({"username": "admin", "password": open(sys.argv[1]).read().strip()}))' \
  "$MKE_LOCAL_CLUSTER_DIR/admin-password" > "$login")
token=$(curl -sfk "$base/auth/login" --data @"$login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["auth_token"])')
hdr=$work/auth-header
(umask 077; printf 'header = "Authorization: Bearer %s"\n' "$token" > "$hdr")

# Wait until the manager lists every seeded record (its mirror is merged at start).
for _ in $(seq 1 120); do
  n=$(curl -sfk -K "$hdr" "$base/api/ucp/backups" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
  [ "$n" -ge "$records" ] && break
  sleep 0.5
done
echo "api-latency: the manager lists $n records" >&2

median_ms() {  # URL: the median of 11 requests' total time, in ms, after one warm-up
  curl -sfk -K "$hdr" -o /dev/null "$1"
  for _ in $(seq 1 11); do curl -sfk -K "$hdr" -o /dev/null -w '%{time_total}\n' "$1"; done \
    | sort -g | awk '{a[NR]=$1} END {printf "%.1f", a[6] * 1000}'
}

# wrk: each connection waits so that all of them together send about RATE requests/s; the token
# goes in through the script, never on a command line.
cat > "$work/paced.lua" <<EOF
local ids = {}
for line in io.lines("$work/ids") do ids[#ids + 1] = line end
local token = io.open("$work/token"):read("*l")
local path_of = os.getenv("BENCH_PATH")
math.randomseed(os.time())
local wait = math.floor($connections * 1000 / $rate)
function delay() return wait end
function request()
  local path = path_of
  if path == "one" then path = "/api/ucp/backup/" .. ids[math.random(#ids)] end
  return wrk.format("GET", path, {["Authorization"] = "Bearer " .. token})
end
function done(summary, latency, requests)
  io.write(string.format("p99_ms=%.2f rps=%.0f errors=%d\n", latency:percentile(99) / 1000,
    summary.requests / (summary.duration / 1e6), summary.errors.status + summary.errors.connect + summary.errors.timeout))
end
EOF
(umask 077; echo "$token" > "$work/token")
run_wrk() {  # PATH_KIND
  curl -sfk -K "$hdr" -o /dev/null "$base/api/ucp/backups?limit=50"   # warm-up of the route
  BENCH_PATH=$1 wrk -t2 -c$connections -d5s -s "$work/paced.lua" "$base" >/dev/null   # JIT warm-up
  BENCH_PATH=$1 wrk -t2 -c$connections -d${seconds}s -s "$work/paced.lua" "$base" | tail -1
}
get=$(run_wrk one)
echo "GET /api/ucp/backup/{id}: $get" >&2
list=$(run_wrk "/api/ucp/backups?limit=50")
echo "GET /api/ucp/backups?limit=50: $list" >&2
full=$(median_ms "$base/api/ucp/backups")
metrics=$(median_ms "$base/metrics")
echo "GET /api/ucp/backups (all $n): ${full} ms; GET /metrics: ${metrics} ms (medians of 11)" >&2

field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
echo "records=$n get_p99_ms=$(field "$get" p99_ms) list50_p99_ms=$(field "$list" p99_ms) rps=$(field "$get" rps) full_list_ms=$full metrics_ms=$metrics"
