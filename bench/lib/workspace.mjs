// The benchmark's scratch space: a work directory on the host's disk (repositories, peer files) and a
// loop-mounted btrfs inside it (sources, restores). Everything is unmounted and removed when the process
// exits, whether it finished, failed or was interrupted.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';

/** Runs a shell command synchronously; returns its stdout; throws with its stderr on failure. */
export function sh(command) {
  try {
    return execFileSync('bash', ['-o', 'pipefail', '-c', command], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 * 2 ** 20,
    });
  } catch (error) {
    if (error.signal === 'SIGINT' || error.signal === 'SIGTERM')
      throw Object.assign(new Error(`interrupted (${error.signal})`), { interrupted: true });
    throw new Error(
      `${command.split('\n')[0].slice(0, 200)}: ${String(error.stderr ?? error.message)
        .trim()
        .split('\n')
        .slice(-3)
        .join(' | ')}`,
      { cause: error },
    );
  }
}

const cleanups = [];
let cleaned = false;
/** Registers a synchronous cleanup, run in reverse order at exit. */
export function atExit(cleanup) {
  cleanups.push(cleanup);
}
export function cleanupNow() {
  if (cleaned) return;
  cleaned = true;
  for (const cleanup of cleanups.reverse()) {
    try {
      cleanup();
    } catch (error) {
      console.error(`bench: cleanup: ${error.message}`);
    }
  }
}
process.on('exit', cleanupNow);

/**
 * Creates the work directory (under `parent`, /var/tmp by default: on disk, not tmpfs) and a btrfs image of
 * `imageGiB` (sparse) loop-mounted at <work>/mnt. Returns { work, mnt, device }.
 */
export function createWorkspace(imageGiB, parent = '/var/tmp') {
  const work = mkdtempSync(path.join(parent, 'rast-bench-'));
  const mnt = path.join(work, 'mnt');
  mkdirSync(mnt);
  // Retried: a server stopping at exit (Swift) may still be writing into it.
  atExit(() => rmSync(work, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));
  const image = path.join(work, 'btrfs.img');
  sh(`truncate -s ${imageGiB}G ${image} && mkfs.btrfs -q -f ${image}`);
  const device = sh(`losetup --find --show ${image}`).trim();
  atExit(() => spawnSync('losetup', ['-d', device]));
  sh(`mount ${device} ${mnt}`);
  // Every mount of the device: ours, bind mounts, and rast-backup's private mount of the top-level subvolume
  // left behind if a create was killed.
  atExit(() => {
    const targets = spawnSync('findmnt', ['-rn', '-S', device, '-o', 'TARGET'], { encoding: 'utf8' })
      .stdout.trim()
      .split('\n')
      .filter(Boolean);
    for (const target of targets.reverse()) spawnSync('umount', ['-l', target]);
  });
  return { work, mnt, device };
}

/** Drops the page cache so that each measured command starts cold (as the first run of a nightly backup does). */
export function dropCaches() {
  spawnSync('bash', ['-c', 'sync; echo 3 > /proc/sys/vm/drop_caches'], { stdio: 'ignore' });
}

/**
 * Removes `target`: a subvolume, or a directory holding received subvolumes, or a plain tree; quiet when it
 * does not exist. Waits for btrfs to finish cleaning the deleted subvolumes, so that this work does not
 * run during the next measurement.
 */
export function removeTree(target, mnt) {
  sh(`if [ -e "${target}" ]; then
    for s in "${target}"/*; do [ "$(stat -c %i "$s" 2>/dev/null)" = 256 ] && btrfs subvolume delete -c "$s" >/dev/null; done
    if [ "$(stat -c %i "${target}")" = 256 ]; then btrfs subvolume delete -c "${target}" >/dev/null; else rm -rf "${target}"; fi
    btrfs filesystem sync "${mnt}"; btrfs subvolume sync "${mnt}" >/dev/null
  fi; true`);
}
