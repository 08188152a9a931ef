#!/usr/bin/env bash
# Create throughput with encryption off and on, next to `tar | zstd -3 -T0 | gpg --encrypt` (and, as root on
# btrfs, `btrfs send | zstd -3 -T0 | gpg --encrypt`, what btrbk's raw target does), paired in each round.
# Usage: bench/encryption.sh [SIZE_MB] [ROUNDS]   (defaults 1024 and 3). Prints each run, then medians.
# Needs: a built tree (npm run build), gpg, zstd, tar; btrfs-progs and root for the btrfs rows.
set -euo pipefail
SIZE_MB=${1:-1024}
ROUNDS=${2:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN="$ROOT/node_modules/.bin/rast-backup"
WORK=$(mktemp -d /var/tmp/rast-bench-XXXXXX)
export GNUPGHOME="$WORK/gnupg"
mkdir -m 700 "$GNUPGHOME"
cleanup() {
  gpgconf --kill gpg-agent 2>/dev/null || true
  if mountpoint -q "$WORK/mnt" 2>/dev/null; then umount -l "$WORK/mnt"; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# Data like research/performance.md's set (a): half random, half text-like (hex dumps), 64 files; zstd -3 ratio ~1.4.
make_data() {
  local dir=$1 files=64 each=$((SIZE_MB * 1000000 / 64))
  mkdir -p "$dir"
  for i in $(seq 1 $files); do
    if [ $((i % 2)) = 0 ]; then head -c "$each" /dev/urandom > "$dir/random-$i"
    else head -c $((each / 3)) /dev/urandom | od -An -tx1 -v | head -c "$each" > "$dir/text-$i" || true; fi
  done
}

"$BIN" generate-key --output "$WORK/keys/bench.key" --json > /dev/null
gpg --batch --quiet --import "$WORK/keys/bench.key" 2>/dev/null
FPR=$(gpg --batch --with-colons --list-keys | awk -F: '/^fpr/ {print $10; exit}')

config() {  # config FILE REPOSITORY ENCRYPTED
  printf '[storage]\nlocal.path = "%s"\n' "$2" > "$1"
  if [ "$3" = yes ]; then printf '[encryption]\nenabled = true\nkey_path = "%s"\n' "$WORK/keys/bench.key" >> "$1"; fi
}
config "$WORK/plain.toml" "$WORK/repo-plain" no
config "$WORK/encrypted.toml" "$WORK/repo-encrypted" yes

# seconds and peak RSS (MiB) of a command: prints "SECONDS RSS"
measure() {
  local start end rss
  start=$(date +%s.%N)
  rss=$(/usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -n 1)
  end=$(date +%s.%N)
  echo "$(echo "$end - $start" | bc) $((rss / 1024))"
}

sources=("directory:$WORK/data")
make_data "$WORK/data"
if [ "$(id -u)" = 0 ] && command -v mkfs.btrfs >/dev/null; then
  truncate -s $((SIZE_MB * 3 + 1024))M "$WORK/fs.img"
  mkfs.btrfs -q -f "$WORK/fs.img"
  mkdir "$WORK/mnt"
  mount -o loop "$WORK/fs.img" "$WORK/mnt"
  btrfs subvolume create "$WORK/mnt/data" > /dev/null
  cp -a "$WORK/data/." "$WORK/mnt/data/"
  btrfs subvolume snapshot -r "$WORK/mnt/data" "$WORK/mnt/bench-snapshot" > /dev/null
  sources+=("btrfs:$WORK/mnt/data")
fi
sync

declare -A results
for round in $(seq 1 "$ROUNDS"); do
  for entry in "${sources[@]}"; do
    kind=${entry%%:*} path=${entry#*:}
    if [ "$kind" = btrfs ]; then shell="btrfs send -q $WORK/mnt/bench-snapshot"; else shell="tar -C $path -cf - ."; fi
    for variant in shell plain encrypted; do
      rm -rf "$WORK/repo-plain" "$WORK/repo-encrypted" "$WORK/out.gpg"; sync
      case $variant in
        shell) r=$(measure bash -o pipefail -c "$shell | zstd -3 -T0 -q | gpg --batch --quiet --trust-model always --encrypt --recipient $FPR > $WORK/out.gpg") ;;
        plain) r=$(measure "$BIN" create "$path" --config "$WORK/plain.toml") ;;
        encrypted) r=$(measure "$BIN" create "$path" --config "$WORK/encrypted.toml") ;;
      esac
      read -r seconds rss <<< "$r"
      mbps=$(echo "scale=0; $SIZE_MB / $seconds" | bc)
      echo "round $round  $kind  $variant  ${seconds}s  ${mbps} MB/s  peak RSS ${rss} MiB" >&2
      results[$kind.$variant]+="$seconds "
      results[$kind.$variant.rss]+="$rss "
    done
  done
done

median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo
printf '%-10s %-48s %10s %10s %12s\n' source what 'median s' 'MB/s' 'peak RSS'
for entry in "${sources[@]}"; do
  kind=${entry%%:*}
  for variant in shell plain encrypted; do
    case $variant in
      shell) label=$([ "$kind" = btrfs ] && echo 'btrfs send | zstd -3 -T0 | gpg -e' || echo 'tar | zstd -3 -T0 | gpg -e') ;;
      plain) label='rast-backup create (zstd)' ;;
      encrypted) label='rast-backup create (zstd + OpenPGP)' ;;
    esac
    s=$(echo "${results[$kind.$variant]}" | median)
    m=$(echo "${results[$kind.$variant.rss]}" | median)
    printf '%-10s %-48s %10s %10s %9s MiB\n' "$kind" "$label" "$s" "$(echo "scale=0; $SIZE_MB / $s" | bc)" "$m"
  done
done
