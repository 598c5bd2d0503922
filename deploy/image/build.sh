#!/usr/bin/env bash
# Builds the manager image (mke-backup:<version>, also :latest) with the local Docker engine, from
# nothing: jlink makes a Java runtime of the modules the application needs, the C libraries that
# runtime links (ldd) are copied beside it, then `docker build` on deploy/image/Dockerfile
# (FROM scratch). Needs the JDK's jmods (openjdk-17-jmods) and a running Docker engine; etcdctl
# (etcd-client) goes in too, for a restore run in the container.
set -euo pipefail
self=$(readlink -f "$0")
[ "$(id -u)" = 0 ] || exec sudo -E "$self" "$@"
cd "$(dirname "$self")/../.."

jar=deploy/target/mke-backup.jar
[ -f "$jar" ] || mvn -B -q -DskipTests package
java_home=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
if [ ! -d "$java_home/jmods" ]; then
  echo "image: installing openjdk-17-jmods (jlink needs the JDK's modules)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jmods >/dev/null
fi
version=$(java -jar "$jar" --version 2>/dev/null | awk '{print $2}')
version=${version:-dev}
tag=${MKE_BACKUP_IMAGE:-mke-backup:${version,,}}

work=deploy/target/image
rm -rf "$work"
mkdir -p "$work/rootfs/opt/mke-backup" "$work/rootfs/etc" "$work/rootfs/tmp" "$work/rootfs/var/lib/mke-backup"
chmod 1777 "$work/rootfs/tmp"
"$java_home/bin/jlink" --module-path "$java_home/jmods" \
  --add-modules java.base,java.logging,java.management,java.naming,java.net.http,java.sql,java.xml,java.desktop,java.scripting,java.security.jgss,java.security.sasl,jdk.crypto.ec,jdk.crypto.cryptoki,jdk.unsupported,jdk.management,jdk.naming.dns,jdk.net,jdk.zipfs \
  --strip-debug --no-header-files --no-man-pages --compress=2 --output "$work/rootfs/opt/java"
# etcdctl, for a restore of ucp-kv in the container (`etcdctl snapshot restore`).
etcdctl=$(command -v etcdctl) || { echo "image: etcdctl is missing (deploy/prereqs.sh installs etcd-client)" >&2; exit 1; }
mkdir -p "$work/rootfs/usr/bin"
cp -L "$etcdctl" "$work/rootfs/usr/bin/etcdctl"
# The C libraries (and the dynamic loader) the runtime and etcdctl link, at the paths they expect.
{
  ldd "$etcdctl" || true
  ldd "$work/rootfs/opt/java/bin/java"
  find "$work/rootfs/opt/java/lib" -name '*.so' -exec ldd {} \; 2>/dev/null
} | awk '/=>/ && $3 ~ /^\// {print $3} /^\s*\// {print $1}' | sort -u | while read -r lib; do
  cp --parents -L "$lib" "$work/rootfs/"
done
[ -e /lib64/ld-linux-x86-64.so.2 ] && cp --parents -L /lib64/ld-linux-x86-64.so.2 "$work/rootfs/"
cp "$jar" "$work/rootfs/opt/mke-backup/mke-backup.jar"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' > "$work/rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$work/rootfs/etc/group"
printf 'hosts: files dns\n' > "$work/rootfs/etc/nsswitch.conf"
cp deploy/image/Dockerfile "$work/Dockerfile"
previous=$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)
docker build -q -t "$tag" -t "${tag%%:*}:latest" "$work" >/dev/null
# The image this build replaced, once no tag and no container is left on it: kept, each rebuild
# left 155 MB behind (forty rebuilds filled a test host's disk).
if [ -n "$previous" ] && [ "$previous" != "$(docker image inspect -f '{{.Id}}' "$tag")" ] \
    && [ -z "$(docker image inspect -f '{{join .RepoTags " "}}' "$previous" 2>/dev/null)" ]; then
  docker image rm "$previous" >/dev/null 2>&1 || true
fi
echo "$tag $(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}')"
