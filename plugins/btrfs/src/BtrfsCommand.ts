import { spawn } from 'node:child_process';
import { deviceFull, settingUnusable, sourceFailed, streamDamagedAt, toolMissing as missing, type RastError } from '@rast-backup/core';

/**
 * Runs `btrfs …` (or another system tool) and returns its stdout; failures become one clear line. The tool runs
 * in its own process group: a Ctrl-C at the terminal reaches rast-backup only, which lets a short step that
 * changes the system (a mount, a snapshot, a subvolume delete while cleaning up) finish rather than stop half-way.
 */
export function runTool(command: string, args: string[], what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', (error: NodeJS.ErrnoException) => reject(error.code === 'ENOENT' ? toolMissing(command) : error));
    child.on('close', (code) => {
      if (code === 0) resolve(stdout);
      else reject(toolFailure(what, stderr));
    });
  });
}

/** A tool rast-backup runs is not installed: names the package that has it. */
export function toolMissing(command: string): RastError {
  const packageName =
    command === 'btrfs' ? 'btrfs-progs' : command === 'findmnt' || command === 'mount' || command === 'umount' ? 'util-linux' : command;
  return missing(command, packageName);
}

/** A btrfs step (`what`) that needs root, run without it. */
export function notRoot(what: string, problem = 'btrfs snapshots need root'): RastError {
  return sourceFailed(
    what,
    `${problem} (CAP_SYS_ADMIN); run as root, or set [btrfs] enabled = false to back up paths as plain directories`,
  );
}

/** Turns a tool's stderr into a one-line error, recognising the failures users can act on. */
export function toolFailure(what: string, stderr: string): RastError {
  const text = stderr
    .trim()
    .split('\n')
    .filter((line) => !/^\s*$/.test(line))
    .join('; ');
  if (/Operation not permitted|Permission denied|EPERM|must be root/i.test(text)) {
    return notRoot(what, 'permission denied: btrfs snapshots and send need root');
  }
  if (/crc32 mismatch|short read|unexpected (EOF|end)|invalid (command|stream)|bad stream|premature end/i.test(text)) {
    // btrfs receive read a damaged stream: say that, with its ERROR lines only (not "Chroot to …; At subvol …").
    const errors = text.split('; ').filter((line) => /^ERROR:/.test(line));
    return streamDamagedAt(what, `the send stream is damaged: ${errors.length > 0 ? errors.join('; ') : text}`);
  }
  if (/No space left/i.test(text)) return deviceFull(what, text);
  if (/Invalid cross-device link|EXDEV/i.test(text)) {
    return settingUnusable(
      what,
      'btrfs.snapshot_dir',
      'the snapshot directory is on another filesystem than the source: [btrfs] snapshot_dir must be on the same btrfs filesystem',
    );
  }
  return sourceFailed(what, text || 'failed');
}
