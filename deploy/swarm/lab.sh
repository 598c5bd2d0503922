#!/usr/bin/env bash
# A real Docker Swarm of N manager nodes on this machine, each node a container running its own
# dockerd (its own engine, its own ucp-* volumes and ucp-kv), on a bridge network of its own: the
# stand-in for an MKE cluster's managers. One host directory is bind-mounted at /mnt/nfs/mke-backups
# on every node (standing in for the NFS share). deploy/swarm/mke-backup-stack.yml is deployed on
# it as an MKE admin would. Idempotent. Everything it creates on this engine is named mkelab-*.
#
#   deploy/swarm/lab.sh up [N]         node image (cached by the hash of its recipe), N nodes (default 3),
#                                      a swarm of N managers, the mke-backup image and MKE state on every
#                                      node, the secrets, the stack; waits until every task answers /_ready
#   deploy/swarm/lab.sh status         one line per node: node<i> <ip> https://<ip>:8443 <state>
#   deploy/swarm/lab.sh exec NODE CMD  runs CMD in that node (NODE: node1 or 1)
#   deploy/swarm/lab.sh kill NODE      kills the node's container (a host losing power)
#   deploy/swarm/lab.sh start NODE     starts a killed node again, with its disk
#   deploy/swarm/lab.sh wipe NODE      removes that node's MKE state (ucp-* containers and volumes)
#   deploy/swarm/lab.sh down           removes the nodes, their disks, the network (the node image and
#                                      the share stay)
#
# Environment: MKE_LAB_DIR (default /var/lib/mkelab: the share, the admin password, the bundles),
# MKE_LAB_SUBNET (default 192.168.231: nodes at .11, .12, ...), MKE_LAB_NAME (default mkelab: prefix
# of the containers, volumes and network), MKE_BACKUP_IMAGE (the product image on this engine,
# default mke-backup-lab:lab, built by deploy/image/build.sh when missing), MKE_LAB_VOLUME_MIB (the
# demo state's data volumes, default 96 MiB each, so a backup lasts long enough to watch), MKE_ADMIN_PASSWORD (else
# one is generated into $MKE_LAB_DIR/admin-password, 0600), MKE_LAB_MIRROR (default: this machine's
# Debian mirror).
set -euo pipefail
self=$(readlink -f "$0")
[ "$(id -u)" = 0 ] || exec sudo -E "$self" "$@"
root=$(dirname "$self")/../..
cd "$root"

lab=${MKE_LAB_NAME:-mkelab}
dir=${MKE_LAB_DIR:-/var/lib/mkelab}
subnet=${MKE_LAB_SUBNET:-192.168.231}
image=${MKE_BACKUP_IMAGE:-mke-backup-lab:lab}
network=$lab
share=$dir/share
stack=mke-backup
in_node_image=mke-backup:latest
count_file=$dir/nodes

log() { echo "lab: $*" >&2; }
die() { echo "lab: error: $*" >&2; exit 1; }
node_name() { local n=${1#node}; [[ $n =~ ^[0-9]+$ ]] || die "no node '$1' (node1, node2, ... or 1, 2, ...)"; echo "$lab-node$n"; }
node_ip() { echo "$subnet.$((10 + ${1#node}))"; }
count() { [ -f "$count_file" ] && cat "$count_file" || echo 0; }
running() { [ "$(docker inspect -f '{{.State.Running}}' "$(node_name "$1")" 2>/dev/null)" = true ]; }
in_node() { local n=$1; shift; docker exec "$(node_name "$n")" "$@"; }
in_node_i() { local n=$1; shift; docker exec -i "$(node_name "$n")" "$@"; }

# --- the node image: Debian with docker.io, cached by the hash of this recipe -----------------------
mirror() {
  if [ -n "${MKE_LAB_MIRROR:-}" ]; then echo "$MKE_LAB_MIRROR"; return; fi
  local m
  m=$(grep -hE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null \
      | grep -v security | sed -E 's/^URIs:\s*//; s/^deb (\[[^]]*\] )?//' | awk '{print $1}' | head -1)
  echo "${m:-http://deb.debian.org/debian}"
}
recipe() {
  printf 'debootstrap --variant=minbase --include=docker.io,iptables,iproute2,ca-certificates,procps bookworm\n'
  printf 'mirror %s\n' "$(mirror)"
  printf 'cmd dockerd\n'
}
node_image() {
  local hash tag rootfs
  hash=$(recipe | sha256sum | cut -c1-12)
  tag=$lab-node:$hash
  if docker image inspect "$tag" >/dev/null 2>&1; then echo "$tag"; return; fi
  command -v debootstrap >/dev/null || { log "installing debootstrap"; apt-get install -y -qq debootstrap >/dev/null; }
  rootfs=$(mktemp -d /var/tmp/$lab-rootfs.XXXXXX)
  log "building node image $tag (debootstrap bookworm from $(mirror))"
  debootstrap --variant=minbase --include=docker.io,iptables,iproute2,ca-certificates,procps \
    bookworm "$rootfs" "$(mirror)" >"$rootfs.log" 2>&1 || { tail -20 "$rootfs.log" >&2; rm -rf "$rootfs"; die "debootstrap failed"; }
  tar -C "$rootfs" -c . | docker import -c 'CMD ["dockerd"]' - "$tag" >/dev/null
  rm -rf "$rootfs" "$rootfs.log"
  echo "$tag"
}

# --- the product image, and what demo-state needs, into a node --------------------------------------
product_image() {
  if ! docker image inspect "$image" >/dev/null 2>&1; then
    [ -f deploy/target/mke-backup.jar ] || mvn -B -q -DskipTests package
    log "building $image"
    MKE_BACKUP_IMAGE=$image deploy/image/build.sh >/dev/null
  fi
  docker image inspect -f '{{.Id}}' "$image"
}
# demo-state's images (ucp-kv's etcd, the live auth store's SQLite), built on this machine by
# demo-state itself from its etcd and sqlite3, then saved into each node: the product image has
# neither to build them from, and demo-state in a node uses the ones it finds there.
demo_images() {
  # Standard output is the tags: the build's output goes to standard error.
  [ -f deploy/target/mke-backup.jar ] || mvn -B -q -DskipTests package >&2
  deploy/bin/mke-backup demo-state --images-only 2>"$dir/demo-images.log" \
    || { tail -5 "$dir/demo-images.log" >&2; die "demo-state could not build the demo's images"; }
}

load_images() {
  local n=$1 id=$2 have tag
  shift 2
  have=$(in_node "$n" docker image inspect -f '{{.Id}}' "$in_node_image" 2>/dev/null || true)
  if [ "$have" != "$id" ]; then
    log "node$n: loading $image as $in_node_image"
    docker save "$image" | in_node_i "$n" docker load -q >/dev/null
    in_node "$n" docker tag "$image" "$in_node_image"
  fi
  for tag in "$@"; do
    in_node "$n" docker image inspect "$tag" >/dev/null 2>&1 || docker save "$tag" | in_node_i "$n" docker load -q >/dev/null
  done
}

# --- nodes -------------------------------------------------------------------------------------------
start_node() {
  local n=$1 nimg=$2 name
  name=$(node_name "$n")
  if running "$n"; then return; fi
  if docker inspect "$name" >/dev/null 2>&1; then
    docker start "$name" >/dev/null
  else
    docker run -d --name "$name" --hostname "node$n" --network "$network" --ip "$(node_ip "$n")" \
      --cap-add ALL --cap-drop SYS_RESOURCE --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
      --security-opt systempaths=unconfined --tmpfs /run --tmpfs /tmp -v /sys/fs/cgroup:/sys/fs/cgroup:rw \
      --cgroupns host -v "$name-docker:/var/lib/docker" -v "$share:/mnt/nfs/mke-backups" \
      --label "$lab=node" "$nimg" dockerd --storage-driver=vfs >/dev/null
  fi
}
wait_engine() {
  local n=$1 t
  for t in $(seq 1 120); do in_node "$n" docker version >/dev/null 2>&1 && return; sleep 0.5; done
  die "node$n: its dockerd did not start; see docker logs $(node_name "$n")"
}

swarm_state() { in_node "$1" docker info -f '{{.Swarm.LocalNodeState}}' 2>/dev/null || echo none; }
form_swarm() {
  local n=$1 i
  if [ "$(swarm_state 1)" != active ]; then
    in_node 1 docker swarm init --advertise-addr "$(node_ip 1)" >/dev/null
  fi
  local token
  token=$(in_node 1 docker swarm join-token -q manager)
  for i in $(seq 2 "$n"); do
    [ "$(swarm_state "$i")" = active ] && continue
    in_node "$i" docker swarm join --token "$token" --advertise-addr "$(node_ip "$i")" "$(node_ip 1):2377" >/dev/null
  done
}

# A swarm whose managers were cut off from each other, killed or starved of CPU needs a while to
# elect a leader again; until it has one, secrets and services cannot be read or changed.
wait_leader() {
  local t
  for t in $(seq 1 120); do in_node 1 docker node ls >/dev/null 2>&1 && return; sleep 1; done
  die "the swarm has no leader after 120 s: $(in_node 1 docker node ls 2>&1 | tail -1)"
}

demo_state() {
  local n=$1
  # ucp-auth-store is a live database writer (its image loaded by load_images), as on MKE's managers:
  # a transaction every 250 ms, not the demo's 30, since three of them share this machine's cores
  # with three engines and managers.
  local args="--etcd-publish-address 0.0.0.0 --volume-mib ${MKE_LAB_VOLUME_MIB:-96} --auth-store-mib 16"
  args+=" --auth-store-every-ms ${MKE_LAB_AUTH_STORE_EVERY_MS:-250}"
  # Already there: ucp-kv running, the node's bundle copied out, made with these arguments (wipe
  # removes ucp-kv).
  if [ -f "$dir/node$n/bundle/cert.pem" ] && [ "$(cat "$dir/node$n/demo-args" 2>/dev/null)" = "$args" ] \
      && [ "$(in_node "$n" docker inspect -f '{{.State.Running}}' ucp-kv 2>/dev/null)" = true ]; then
    return
  fi
  mkdir -p "$dir/node$n"
  in_node "$n" docker run --rm --network host --name mke-backup-demo-state \
    -v /var/run/docker.sock:/var/run/docker.sock -v /var/lib/docker/volumes:/var/lib/docker/volumes \
    -v /var/lib/mke-backup-demo:/var/lib/mke-backup-demo "$in_node_image" demo-state $args >>"$dir/node$n/demo-state.log" 2>&1 || { tail -5 "$dir/node$n/demo-state.log" >&2; die "node$n: demo-state failed"; }
  rm -rf "$dir/node$n/bundle"
  docker cp "$(node_name "$n"):/var/lib/mke-backup-demo/default/ucp-bundle-admin" "$dir/node$n/bundle"
  echo "$args" > "$dir/node$n/demo-args"
}

# One cluster, one pair of root CAs, as MKE's managers share them: a node whose root CA volumes are
# missing or empty gets another node's (cert.pem, key.pem) before demo-state issues its component
# certificates and client bundle from them, so a client bundle works on every node. A node that has
# its own already (a lab brought up by an older lab.sh) keeps them: bring the lab down to share them.
share_root_cas() {
  local n=$1 to=$2 from="" i v
  # The first node with both (node1 once its demo-state ran: up runs it before the others').
  for i in $(seq 1 "$n"); do
    [ "$i" = "$to" ] && continue
    running "$i" && in_node "$i" test -s /var/lib/docker/volumes/ucp-cluster-root-ca/_data/key.pem 2>/dev/null \
      && in_node "$i" test -s /var/lib/docker/volumes/ucp-client-root-ca/_data/key.pem 2>/dev/null && { from=$i; break; }
  done
  [ -n "$from" ] || return 0   # none has them yet: this node's demo-state makes them
  for v in ucp-cluster-root-ca ucp-client-root-ca; do
    in_node "$to" test -s "/var/lib/docker/volumes/$v/_data/cert.pem" 2>/dev/null && continue
    in_node "$to" docker volume create --label io.mkebackup.demo=default "$v" >/dev/null
    in_node "$from" tar -C "/var/lib/docker/volumes/$v/_data" -c cert.pem key.pem \
      | in_node_i "$to" tar -C "/var/lib/docker/volumes/$v/_data" -x --same-owner -p
    log "node$to: $v from node$from"
  done
}

secrets() {
  local password_file
  if [ -n "${MKE_ADMIN_PASSWORD:-}" ]; then
    password_file=$(mktemp); (umask 077; printf '%s' "$MKE_ADMIN_PASSWORD" > "$password_file")
  else
    password_file=$dir/admin-password
    if [ ! -f "$password_file" ]; then
      (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$password_file")
      log "generated a password for the admin user: read it in $password_file (root only)"
    fi
  fi
  [ -f "$dir/passphrase" ] || (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$dir/passphrase")
  local have
  have=$(in_node 1 docker secret ls --format '{{.Name}}')
  grep -qx mke_backup_admin_password <<<"$have" || tr -d '\n' < "$password_file" | in_node_i 1 docker secret create mke_backup_admin_password - >/dev/null
  grep -qx mke_backup_passphrase <<<"$have" || tr -d '\n' < "$dir/passphrase" | in_node_i 1 docker secret create mke_backup_passphrase - >/dev/null
  grep -qx mke_backup_cluster_secret <<<"$have" || head -c 32 /dev/urandom | base64 | in_node_i 1 docker secret create mke_backup_cluster_secret - >/dev/null
  [ -n "${MKE_ADMIN_PASSWORD:-}" ] && rm -f "$password_file"
  return 0
}

deploy_stack() {
  local n=$1 id=$2 i c stale=""
  in_node_i 1 sh -c 'cat > /tmp/stack.yml' < deploy/swarm/mke-backup-stack.yml
  in_node 1 docker stack deploy --resolve-image never -c /tmp/stack.yml "$stack" >/dev/null
  # A changed stack file is a rolling update: wait for it.
  local deadline=$((SECONDS + 900))
  while [ "$(in_node 1 docker service inspect -f '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}' "${stack}_manager")" = updating ]; do
    [ $SECONDS -lt $deadline ] || die "the stack's rolling update did not finish within 15 minutes"
    sleep 2
  done
  # Same tag, new image (no registry to tell by digest): a task running another image is replaced,
  # one at a time (the service's update order).
  for i in $(seq 1 "$n"); do
    for c in $(in_node "$i" docker ps -q --filter "label=com.docker.swarm.service.name=${stack}_manager"); do
      [ "$(in_node "$i" docker inspect -f '{{.Image}}' "$c")" = "$id" ] || stale=1
    done
  done
  if [ -n "$stale" ]; then
    log "replacing the tasks that run an older image"
    in_node 1 docker service update --force --detach=false --quiet "${stack}_manager" >/dev/null
  fi
}

ready() { curl -skf -o /dev/null --max-time 3 "https://$(node_ip "$1"):8443/_ready"; }
wait_ready() {
  local n=$1 i t deadline=$((SECONDS + ${MKE_LAB_READY_TIMEOUT:-300}))
  for i in $(seq 1 "$n"); do
    until ready "$i"; do
      [ $SECONDS -lt $deadline ] || { in_node 1 docker service ps --no-trunc "${stack}_manager" >&2 || true; die "node$i: the manager task did not answer /_ready"; }
      sleep 1
    done
  done
}

status() {
  local n i state
  n=$(count)
  [ "$n" -gt 0 ] || { echo "lab: down"; return; }
  for i in $(seq 1 "$n"); do
    if ! running "$i"; then state=stopped
    elif ready "$i"; then state=ready
    else state=not-ready; fi
    echo "node$i $(node_ip "$i") https://$(node_ip "$i"):8443 $state"
  done
  echo "share $share"
}

# Runs "<command> <node> <args...>" for nodes first..last side by side and waits for them in order.
# When one fails, the lab says which node and what, after killing the other jobs' subshells (a
# docker command one of them started may still run to its end).
on_nodes() {
  local first=$1 last=$2 what=$3 cmd=$4 k i
  shift 4
  local -a pids=() nodes=()
  for i in $(seq "$first" "$last"); do "$cmd" "$i" "$@" & pids+=($!); nodes+=("$i"); done
  for k in "${!pids[@]}"; do
    wait "${pids[$k]}" || { kill "${pids[@]}" 2>/dev/null || true; die "node${nodes[$k]}: $what"; }
  done
}

# Node i's MKE state (node_state I N): the cluster's root CAs from node 1, then its demo-state.
# Two statements, not "a && b": errexit then stops at a failure inside share_root_cas too.
node_state() {
  share_root_cas "$2" "$1"
  demo_state "$1"
}

up() {
  local n=${1:-3} i
  [[ $n =~ ^[1-9]$ ]] || die "N must be 1 to 9"
  [ "$(count)" -gt "$n" ] && die "the lab has $(count) nodes; bring it down first to have $n"
  mkdir -p "$dir" "$share"
  chmod 700 "$dir"
  local nimg id
  nimg=$(node_image)
  id=$(product_image)
  docker network inspect "$network" >/dev/null 2>&1 \
    || docker network create --subnet "$subnet.0/24" --label "$lab=network" "$network" >/dev/null
  echo "$n" > "$count_file"
  for i in $(seq 1 "$n"); do start_node "$i" "$nimg"; done
  for i in $(seq 1 "$n"); do wait_engine "$i"; done
  form_swarm "$n"
  wait_leader
  local -a tags
  mapfile -t tags < <(demo_images)
  [ "${#tags[@]}" = 2 ] || die "demo-state named ${#tags[@]} images, not 2"
  on_nodes 1 "$n" "loading the images failed" load_images "$id" "${tags[@]}"
  # The first node's state first (its root CAs are the cluster's), then the others side by side.
  node_state 1 "$n"
  on_nodes 2 "$n" "its MKE state could not be made" node_state "$n"
  secrets
  deploy_stack "$n" "$id"
  wait_ready "$n"
  for i in $(seq 1 "$n"); do echo "node$i $(node_ip "$i") https://$(node_ip "$i"):8443"; done
  echo "share $share"
}

wipe() {
  local n=${1#node} c v
  c=$(in_node "$n" docker ps -aq --filter name='^/ucp-')
  [ -z "$c" ] || in_node "$n" docker rm -f $c >/dev/null
  v=$(in_node "$n" docker volume ls -q --filter name='^ucp-')
  [ -z "$v" ] || in_node "$n" docker volume rm -f $v >/dev/null
  in_node "$n" rm -rf /var/lib/mke-backup-demo
  echo "node$n: MKE state removed"
}

down() {
  local c
  c=$(docker ps -aq --filter "label=$lab=node")
  [ -z "$c" ] || docker rm -f $c >/dev/null
  local v
  v=$(docker volume ls -q --filter name="^$lab-node[0-9]+-docker$")
  [ -z "$v" ] || docker volume rm $v >/dev/null
  docker network rm "$network" >/dev/null 2>&1 || true
  rm -f "$count_file"
  echo "lab: down (node image and $share kept)"
}

cmd=${1:-}
shift || true
case "$cmd" in
  up) up "$@" ;;
  status) status ;;
  exec) [ $# -ge 2 ] || die "usage: lab.sh exec NODE CMD..."; n=$1; shift; docker exec -i "$(node_name "$n")" "$@" ;;
  kill) [ $# = 1 ] || die "usage: lab.sh kill NODE"; docker kill "$(node_name "$1")" >/dev/null; echo "$1 killed" ;;
  start) [ $# = 1 ] || die "usage: lab.sh start NODE"; name=$(node_name "$1"); docker start "$name" >/dev/null; wait_engine "${1#node}"
    # The demo's ucp-kv and ucp-auth-store have no restart policy (MKE's have): start them as the
    # node's MKE would.
    in_node "${1#node}" docker start ucp-kv ucp-auth-store >/dev/null 2>&1 || true; echo "$1 started" ;;
  wipe) [ $# = 1 ] || die "usage: lab.sh wipe NODE"; node_name "$1" >/dev/null; wipe "$1" ;;
  down) down ;;
  *) sed -n '2,/^set -e/p' "$self" | grep '^#' | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
