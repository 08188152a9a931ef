#!/usr/bin/env bash
# Wall time and peak RSS of an incremental `rast-backup create` of a btrfs subvolume of many small files after a
# "1% change" (append to 1% of the files, delete 0.1%, add 0.1%), beside the raw `btrfs send -p | zstd -3 -T0`
# of the same two snapshots; the full create before it is timed too. Each run starts from the same tree.
# Prints one line per step: label, wall seconds, CPU seconds (user + system), peak RSS MiB.
# Usage (root): bench/btrfs-incremental.sh [FILES] [RUNS] [BUILD...]   (default 100000 3 and this tree's build);
# each BUILD is the root of a built rast-backup tree, run in turn on the same data (paired).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FILES=${1:-100000}
RUNS=${2:-3}
shift $(($# < 2 ? $# : 2))
BUILDS=("$@")
[ ${#BUILDS[@]} -eq 0 ] && BUILDS=("$ROOT")
source "$ROOT/bench/lib/btrfs-image.sh"
btrfs_image "$(mktemp -d /var/tmp/rast-incremental-XXXXXX)" $((FILES / 10 + 2048))M
btrfs -q subvolume create "$MOUNT/pristine"

# 30 files of 1-8 KiB per directory, three levels of directories.
python3 - "$MOUNT/pristine" "$FILES" <<'PY'
import os, random, sys
root, files = sys.argv[1], int(sys.argv[2])
random.seed(1)
side = max(1, round((files / 30) ** (1 / 3) + 0.4999))
made = 0
for a in range(side):
  for b in range(side):
    for c in range(side):
      if made >= files: break
      directory = os.path.join(root, f"a{a}", f"b{b}", f"c{c}")
      os.makedirs(directory)
      for f in range(min(30, files - made)):
        with open(os.path.join(directory, f"f{f}"), "wb") as out: out.write(os.urandom(random.randint(1024, 8192)))
        made += 1
PY

change() {
  python3 - "$1" <<'PY'
import os, random, sys
root = sys.argv[1]
random.seed(2)
paths = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs)
picked = random.sample(paths, len(paths) // 100 + len(paths) // 1000)
for path in picked[: len(paths) // 100]:
  with open(path, "ab") as out: out.write(os.urandom(1024))
for path in picked[len(paths) // 100 :]: os.unlink(path)
for n, path in enumerate(random.sample(paths, len(paths) // 1000)):
  with open(os.path.join(os.path.dirname(path), f"new{n}"), "wb") as out: out.write(os.urandom(random.randint(1024, 8192)))
PY
}

measure() { # label command...: prints "label wall-seconds cpu-seconds peak-MiB"
  local label=$1
  shift
  read -r seconds user system kib < <(/usr/bin/time -f '%e %U %S %M' "$@" 2>&1 >/dev/null | tail -n 1)
  echo "$label $seconds $(echo "$user + $system" | bc) $((kib / 1024))"
}

for run in $(seq 1 "$RUNS"); do
  # Builds in turn, the order reversed every other run, so that a machine getting busier favours none.
  order=("${BUILDS[@]}")
  [ $((run % 2)) -eq 0 ] && order=($(printf '%s\n' "${BUILDS[@]}" | tac))
  for build in "${order[@]}"; do
    name=$(basename "$build")
    btrfs -q subvolume delete "$MOUNT/data" 2>/dev/null || true
    btrfs -q subvolume snapshot "$MOUNT/pristine" "$MOUNT/data"
    rm -rf "$WORK/repo"
    printf '[storage]\nlocal.path = "%s"\n' "$WORK/repo" > "$WORK/config.toml"
    sync
    measure "run$run $name full" "$build/node_modules/.bin/rast-backup" create "$MOUNT/data" --config "$WORK/config.toml"
    btrfs -q subvolume snapshot -r "$MOUNT/data" "$MOUNT/before"
    change "$MOUNT/data"
    btrfs -q subvolume snapshot -r "$MOUNT/data" "$MOUNT/after"
    sync
    measure "run$run $name incremental" "$build/node_modules/.bin/rast-backup" create "$MOUNT/data" --parent latest --config "$WORK/config.toml"
    measure "run$run raw-send-p-zstd" sh -c "btrfs send -q -p '$MOUNT/before' '$MOUNT/after' | zstd -q -3 -T0 > '$WORK/raw.zst'"
    btrfs -q subvolume delete "$MOUNT/before" "$MOUNT/after"
    "$build/node_modules/.bin/rast-backup" list --config "$WORK/config.toml" --json |
      python3 -c 'import json,sys; print(" ".join("%s<-%s" % (b["id"][-8:], (b["parent"] or "full")[-8:]) for b in json.load(sys.stdin)))' >&2
  done
done
