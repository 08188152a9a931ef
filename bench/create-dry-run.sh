#!/usr/bin/env bash
# Wall time of `create`, `create --dry-run` and `create --dry-run --exclude '**/*.o'` (full), then of an incremental
# dry run and a real incremental after 100 files changed, for the directory source ([btrfs] enabled = false) and
# the btrfs source, on the same loop-mounted btrfs tree: 20,000 files of 4 KiB in 200 directories (10% `.o`) and
# 20 files of 5 MiB. Each figure is the median of 3 runs. Usage (root): bench/create-dry-run.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B="node $ROOT/cli/bin/rast-backup.js"
H=$(mktemp -d /var/tmp/rast-dry-run-XXXXXX)
cleanup() {
  umount "$H/mnt" 2>/dev/null || true
  rm -rf "$H"
}
trap cleanup EXIT
mkdir -p "$H/mnt"
truncate -s 2G "$H/fs.img"
mkfs.btrfs -q -f "$H/fs.img" >/dev/null 2>&1
mount -o loop "$H/fs.img" "$H/mnt"
btrfs subvolume create "$H/mnt/data" >/dev/null
python3 - "$H/mnt/data" <<'PY'
import os, sys
root = sys.argv[1]
for d in range(200):
    os.makedirs(f'{root}/d{d:03}')
    for f in range(100):
        with open(f'{root}/d{d:03}/f{f:03}.{"o" if f % 10 == 0 else "c"}', 'wb') as out: out.write(os.urandom(4096))
for f in range(20):
    with open(f'{root}/big{f:02}', 'wb') as out: out.write(os.urandom(5 * 1024 * 1024))
PY
sync
printf '[storage]\nlocal.path = "%s/repo-dir"\n[btrfs]\nenabled = false\n' "$H" >"$H/dir.toml"
printf '[storage]\nlocal.path = "%s/repo-btrfs"\n' "$H" >"$H/btrfs.toml"
export RAST_BACKUP_STATE_DIR="$H/state"
seconds() {
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null 2>>"$H/stderr"
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}
median() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
for kind in dir btrfs; do
  full=() dry=() excluded=()
  for _ in 1 2 3; do
    full+=("$(seconds $B create "$H/mnt/data" --config "$H/$kind.toml")")
    dry+=("$(seconds $B create "$H/mnt/data" --config "$H/$kind.toml" --dry-run)")
    excluded+=("$(seconds $B create "$H/mnt/data" --config "$H/$kind.toml" --dry-run --exclude '**/*.o')")
  done
  echo "$kind full: create $(median "${full[@]}") s, dry-run $(median "${dry[@]}") s, dry-run --exclude '**/*.o' $(median "${excluded[@]}") s"
done
for f in $(seq 0 99); do printf 'changed' >>"$H/mnt/data/d$(printf %03d "$f")/f001.c"; done
for kind in dir btrfs; do
  dry=()
  for _ in 1 2 3; do dry+=("$(seconds $B create "$H/mnt/data" --config "$H/$kind.toml" --dry-run --parent latest)"); done
  $B create "$H/mnt/data" --config "$H/$kind.toml" --dry-run --parent latest | sed -n 2p
  echo "$kind incremental (100 files changed): dry-run $(median "${dry[@]}") s, create $(seconds $B create "$H/mnt/data" --config "$H/$kind.toml" --parent latest) s"
done
echo "startup (list): $(median "$(seconds $B list --config "$H/dir.toml")" "$(seconds $B list --config "$H/dir.toml")" "$(seconds $B list --config "$H/dir.toml")") s"
