#!/usr/bin/env bash
# Installs and starts what mke-backup's build, demo and tests need on Debian, and only what is
# missing: Java 17 and Maven, the Docker engine (docker.io), etcd and etcdctl, GnuPG, GNU tar,
# util-linux's setsid/setpriv/script, curl, sqlite3 and busybox-static (the demo's auth store),
# and Chromium with chromedriver and npm (the page's test).
# Safe to run again. Needs root (or sudo).
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

need=()
command -v java >/dev/null || need+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || need+=(maven)
command -v dockerd >/dev/null || need+=(docker.io)
command -v etcd >/dev/null || need+=(etcd-server)
command -v etcdctl >/dev/null || need+=(etcd-client)
command -v gpg >/dev/null || need+=(gnupg)
command -v tar >/dev/null || need+=(tar)
command -v setpriv >/dev/null || need+=(util-linux)
command -v script >/dev/null || need+=(bsdutils)
command -v curl >/dev/null || need+=(curl)
# The demo's ucp-auth-store is a live SQLite database, its shell loop a static busybox.
command -v sqlite3 >/dev/null || need+=(sqlite3)
[ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 || need+=(busybox-static)
command -v python3 >/dev/null || need+=(python3)   # the demo reads JSON with it
command -v systemd-analyze >/dev/null || need+=(systemd)   # a test verifies the unit file
# The Backup Admin page's end-to-end test drives Debian's Chromium through its chromedriver.
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
# ... and checks it with axe-core, which it fetches from the npm registry with npm pack.
command -v npm >/dev/null || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
  echo "prereqs: installing ${need[*]}" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

docker_up() { timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }
if ! docker_up; then
  echo "prereqs: starting the Docker engine" >&2
  if [ -d /run/systemd/system ]; then
    as_root systemctl start docker
  else
    as_root sh -c 'nohup dockerd >/var/log/mke-backup-dockerd.log 2>&1 &'
  fi
  for _ in $(seq 1 60); do docker_up && break; sleep 1; done
  docker_up || { echo "prereqs: dockerd did not start; see /var/log/mke-backup-dockerd.log" >&2; exit 1; }
fi
echo "prereqs: java $(java -version 2>&1 | head -1 | cut -d'"' -f2), docker $(docker version --format '{{.Server.Version}}'), $(etcd --version | head -1), $(gpg --version | head -1)" >&2
