# Sourced by the bench scripts that need a btrfs filesystem: `btrfs_image WORK SIZE` makes a sparse image of SIZE
# (truncate's units) in WORK, mounts it on WORK/btrfs (set as MOUNT), and removes both, with WORK, on exit.
btrfs_image() {
  WORK=$1
  MOUNT="$WORK/btrfs"
  trap 'umount "$MOUNT" 2>/dev/null || true; rm -rf "$WORK"' EXIT
  mkdir "$MOUNT"
  truncate -s "$2" "$WORK/image"
  mkfs.btrfs -q -f "$WORK/image" >/dev/null 2>&1
  mount -o loop "$WORK/image" "$MOUNT"
}
