/**
 * `btrfs.*` xattrs are btrfs properties (e.g. `btrfs.compression`): only btrfs accepts them, so restores onto
 * any other filesystem leave them out by design. The one rule for every btrfs restore path.
 */
export function isRestorableXattr(name: string, onBtrfs: boolean): boolean {
  return onBtrfs || !name.startsWith('btrfs.');
}
