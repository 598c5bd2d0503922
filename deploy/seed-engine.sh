#!/usr/bin/env bash
# A Docker engine of the tests' own, beside the host's: SeedCommandsIT runs the seed's commands
# (which take no volume prefix, so they need the unprefixed MKE state) against it, and so never
# touches the unprefixed state deploy/demo.sh made on the host's engine.
#
#   deploy/seed-engine.sh up      start it unless it answers (idempotent); prints its DOCKER_HOST
#   deploy/seed-engine.sh down    stop it (its containers with it) and remove its bridge
#   deploy/seed-engine.sh host    print its DOCKER_HOST (unix:///run/mke-backup-seed/docker.sock)
#
# It has its own socket, data root, exec root (so its own containerd), pidfile and bridge
# (mkeseed0, 10.213.77.1/24), and leaves the host's iptables to the host's engine: a second dockerd
# with iptables on flushes the shared DOCKER chains when it starts (libnetwork's removeIPChains),
# which would cut the host engine's published ports. So it runs with --iptables=false, and this
# script adds the one rule its containers need to reach each other over its bridge (the host
# engine's FORWARD policy is DROP and br_netfilter filters bridged traffic), and removes it on down.
# Its images stay in its data root between runs (/var/lib/mke-backup-seed).
set -euo pipefail
self=$(readlink -f "$0")
[ "$(id -u)" = 0 ] || exec sudo -E "$self" "$@"

run=${MKE_SEED_ENGINE_RUN:-/run/mke-backup-seed}
data=${MKE_SEED_ENGINE_DATA:-/var/lib/mke-backup-seed}
bridge=${MKE_SEED_ENGINE_BRIDGE:-mkeseed0}
cidr=${MKE_SEED_ENGINE_CIDR:-10.213.77.1/24}
sock=$run/docker.sock
pidfile=$run/dockerd.pid
host=unix://$sock
forward=(FORWARD -i "$bridge" -o "$bridge" -j ACCEPT)

answers() { DOCKER_HOST=$host timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }
running_pid() {
  local pid
  pid=$(cat "$pidfile" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ] && echo "$pid"
}

up() {
  exec 9>"$data.lock"
  flock 9
  if ! ip link show "$bridge" >/dev/null 2>&1; then
    ip link add "$bridge" type bridge
    ip addr add "$cidr" dev "$bridge"
  fi
  ip link set "$bridge" up
  iptables -C "${forward[@]}" 2>/dev/null || iptables -I "${forward[@]}"
  if ! answers; then
    if pid=$(running_pid); then
      echo "seed-engine: dockerd $pid does not answer on $sock; stopping it" >&2
      kill "$pid"
      timeout 30 tail --pid="$pid" -f /dev/null || kill -9 "$pid"
    fi
    mkdir -p "$run" "$data/docker" "$data/exec"
    chmod 0700 "$run" "$data"
    rm -f "$sock"
    setsid dockerd --host "$host" --ip 127.0.0.1 --data-root "$data/docker" --exec-root "$run/exec" --pidfile "$pidfile" \
      --bridge "$bridge" --iptables=false --ip-masq=false --ip6tables=false --storage-driver overlay2 \
      >>"$data/dockerd.log" 2>&1 </dev/null 9>&- &
    for _ in $(seq 1 120); do
      answers && break
      sleep 0.5
    done
    answers || { echo "seed-engine: dockerd did not answer on $sock in 60 s; see $data/dockerd.log" >&2; exit 1; }
  fi
  echo "$host"
}

down() {
  exec 9>"$data.lock"
  flock 9
  if pid=$(running_pid); then
    kill "$pid"   # dockerd stops its containers and its containerd
    timeout 60 tail --pid="$pid" -f /dev/null || { echo "seed-engine: dockerd $pid did not stop in 60 s" >&2; exit 1; }
  fi
  while iptables -C "${forward[@]}" 2>/dev/null; do iptables -D "${forward[@]}"; done
  if ip link show "$bridge" >/dev/null 2>&1; then ip link del "$bridge"; fi
  echo "seed-engine: stopped"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  host) echo "$host" ;;
  *) echo "usage: $0 up|down|host" >&2; exit 2 ;;
esac
