#!/usr/bin/env bash
# Paired rounds of a full `rast-backup create` of a read-only btrfs snapshot (zstd + OpenPGP, local repository)
# against `btrfs send | zstd -3 -T0 | gpg -e > file` of the same snapshot. Each command starts cold (btrfs
# cleaner done, sync, page cache dropped) and writes into a fresh repository or file, deleted after it.
# The order is reversed every other round. With LOCK set, each pair runs under `flock $LOCK`.
# Per-thread CPU of each command is sampled once a second (bench/thread-cpu.mjs) into WORK/<round>-<tool>.jsonl.
# Prints one line per command: round, tool, start (UTC), load before, wall s, user s, system s, peak RSS KiB,
# stored bytes, load after; appended to WORK/rounds.log.
# Usage (root): GNUPGHOME=... KEY=<key from generate-key> RECIPIENT=<its fingerprint> \
#   bench/btrfs-full.sh SNAPSHOT WORK [ROUNDS [FIRST [BUILD]]]
# SNAPSHOT: a read-only subvolume on a btrfs whose top-level subvolume is mounted (rast-backup's snapshots of it
# are deleted after each create). FIRST: the first round's number (odd: rast-backup first). BUILD: a built tree.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SRC=$(realpath "$1")
WORK=$2
ROUNDS=${3:-2}
FIRST=${4:-1}
BUILD=${5:-$ROOT}
: "${KEY:?KEY: the private key file rast-backup encrypts to}" "${RECIPIENT:?RECIPIENT: its fingerprint, for gpg -e}"
mkdir -p "$WORK"
MNT=$(findmnt -n -o TARGET -T "$SRC" | head -n 1)
UUID=$(btrfs subvolume show "$SRC" | awk '$1 == "UUID:" { print $2; exit }')
printf '[storage]\nlocal.path = "%s/repo"\n[encryption]\nenabled = true\nkey_path = "%s"\n' "$WORK" "$KEY" > "$WORK/config.toml"

settle() {
  btrfs filesystem sync "$MNT"
  btrfs subvolume sync "$MNT" >/dev/null
  sync
  echo 3 > /proc/sys/vm/drop_caches
}

clean() {
  rm -rf "$WORK/repo" "$WORK/state" "$WORK/full.zst.gpg"
  local mine="$MNT/.rast-backup/snapshots/$UUID"
  if [ -d "$mine" ]; then
    find "$mine" -mindepth 2 -maxdepth 2 -type d -exec btrfs -q subvolume delete {} \;
    rm -rf "$mine"
  fi
}

run() { # round tool
  local round=$1 tool=$2 stored
  clean
  settle
  local load start
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  start=$(date -u +%T)
  if [ "$tool" = rast ]; then
    RAST_BACKUP_STATE_DIR="$WORK/state" /usr/bin/time -o "$WORK/time" -f '%e %U %S %M' \
      node "$BUILD/cli/bin/rast-backup.js" create "$SRC" --json --config "$WORK/config.toml" > "$WORK/$round-rast.json" &
  else
    /usr/bin/time -o "$WORK/time" -f '%e %U %S %M' bash -c "btrfs send -q '$SRC' | zstd -3 -T0 -q |
      gpg --batch --quiet --trust-model always --compress-algo none --encrypt --recipient $RECIPIENT > '$WORK/full.zst.gpg'" &
  fi
  local pid=$!
  node "$ROOT/bench/thread-cpu.mjs" "$pid" > "$WORK/$round-$tool.jsonl" &
  local sampler=$!
  wait "$pid"
  wait "$sampler"
  if [ "$tool" = rast ]; then
    stored=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).storedSize)' "$WORK/$round-rast.json")
  else
    stored=$(stat -c %s "$WORK/full.zst.gpg")
  fi
  echo "round $round $tool $start load $load: $(cat "$WORK/time") stored $stored end load $(cut -d' ' -f1-3 /proc/loadavg)" |
    tee -a "$WORK/rounds.log"
  clean
}

for round in $(seq "$FIRST" $((FIRST + ROUNDS - 1))); do
  order=(rast pipe)
  [ $((round % 2)) -eq 0 ] && order=(pipe rast)
  pair() { for tool in "${order[@]}"; do run "$round" "$tool"; done; }
  if [ -n "${LOCK:-}" ]; then
    exec {fd}> "$LOCK"
    flock "$fd"
    pair
    flock -u "$fd"
    exec {fd}>&-
  else
    pair
  fi
done
