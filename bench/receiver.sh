#!/usr/bin/env bash
# The user-space receiver against btrfs receive on the same send stream (~1 GiB: large random files,
# text-like files, 20,000 small files, a sparse file, reflinks), paired in rounds, caches dropped first.
# Usage (root): bench/receiver.sh [ROUNDS]. Prints wall seconds and peak RSS (GNU time) per command.
set -euo pipefail
ROUNDS=${1:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/rast-bench-receiver-XXXX)
trap 'umount -l "$WORK"/btrfs "$WORK"/ext4 "$WORK"/tmpfs 2>/dev/null || true; rm -rf "$WORK"' EXIT
mkdir "$WORK"/btrfs "$WORK"/ext4 "$WORK"/tmpfs
truncate -s 4G "$WORK"/btrfs.img && mkfs.btrfs -q -f "$WORK"/btrfs.img && mount -o loop "$WORK"/btrfs.img "$WORK"/btrfs
truncate -s 3G "$WORK"/ext4.img && mkfs.ext4 -q -F "$WORK"/ext4.img && mount -o loop "$WORK"/ext4.img "$WORK"/ext4
mount -t tmpfs -o size=2g tmpfs "$WORK"/tmpfs
btrfs subvolume create "$WORK"/btrfs/data >/dev/null
cd "$WORK"/btrfs/data
for i in $(seq 1 600); do head -c 1M /dev/urandom > "random-$i"; done
for i in $(seq 1 100); do (yes "line $i of a text-like file, compressible and repetitive" || true) | head -c 2M > "text-$i"; done
mkdir small && head -c $((20000 * 4096)) /dev/urandom | split -b 4096 -a 5 - small/
truncate -s 10G sparse && echo start | dd of=sparse conv=notrunc status=none
for i in $(seq 1 50); do cp --reflink=always "random-$i" "reflink-$i"; done
cd "$ROOT"
btrfs subvolume snapshot -r "$WORK"/btrfs/data "$WORK"/btrfs/snap >/dev/null
btrfs send -q --proto 0 -f "$WORK"/stream "$WORK"/btrfs/snap
echo "stream: $(stat -c %s "$WORK"/stream) bytes"

measure() { # name, command...
  local name=$1; shift
  sync; echo 3 > /proc/sys/vm/drop_caches
  /usr/bin/time -f "$name %e s %M KiB" -o "$WORK"/time "$@" >/dev/null
  cat "$WORK"/time
}
for round in $(seq 1 "$ROUNDS"); do
  mkdir "$WORK"/btrfs/received
  measure "btrfs-receive(btrfs)" btrfs receive -q -f "$WORK"/stream "$WORK"/btrfs/received
  btrfs subvolume delete "$WORK"/btrfs/received/snap >/dev/null; rmdir "$WORK"/btrfs/received
  mkdir "$WORK"/btrfs/user-space
  measure "receiver(btrfs)" node bench/receive-stream.mjs "$WORK"/btrfs/user-space "$WORK"/stream
  rm -rf "$WORK"/btrfs/user-space
  mkdir "$WORK"/ext4/user-space
  measure "receiver(ext4)" node bench/receive-stream.mjs "$WORK"/ext4/user-space "$WORK"/stream
  rm -rf "$WORK"/ext4/user-space
  mkdir "$WORK"/tmpfs/user-space
  measure "receiver(tmpfs)" node bench/receive-stream.mjs "$WORK"/tmpfs/user-space "$WORK"/stream
  rm -rf "$WORK"/tmpfs/user-space
done
