import { spawn } from 'node:child_process';
import { stopIfInterrupted, type Survey } from '@rast-backup/core';
import { toolFailure, toolMissing } from './BtrfsCommand.js';
import { CommandAttributes } from './CommandAttributes.js';
import { Attribute, Command, SendStreamDecoder, type SendCommand } from './SendStreamDecoder.js';

/** Commands that change a regular file's content, and the bytes of content each sends. */
const CONTENT: Record<number, (command: SendCommand) => number> = {
  [Command.WRITE]: (command) => command.attributes.get(Attribute.DATA)?.length ?? 0,
  [Command.UPDATE_EXTENT]: (command) => new CommandAttributes(command).u64(Attribute.SIZE),
  [Command.ENCODED_WRITE]: (command) => new CommandAttributes(command).u64(Attribute.UNENCODED_FILE_LEN),
  // A clone shares extents already stored: it sends no content.
  [Command.CLONE]: () => 0,
  [Command.TRUNCATE]: () => 0,
  [Command.FALLOCATE]: () => 0,
};

/**
 * What `btrfs send [-p parent] snapshot` would send, from `btrfs send --no-data`: the same commands, with each
 * write replaced by an UPDATE_EXTENT naming its length, so no file content is read. Files: the regular files
 * created or whose content changed (a file's commands come together, so a file is counted when its path
 * changes); bytes: the content their writes would send.
 */
export async function surveySend(snapshot: string, parent: string | undefined, what: string, signal?: AbortSignal): Promise<Survey> {
  let files = 0;
  let bytes = 0;
  let current: string | undefined;
  const decoder = new SendStreamDecoder(
    what,
    (command) => {
      const path = command.attributes.get(Attribute.PATH)?.toString('latin1');
      if (command.type === Command.MKFILE) {
        files++;
        current = path;
      } else if (command.type === Command.RENAME) {
        if (path === current) current = command.attributes.get(Attribute.PATH_TO)?.toString('latin1');
      } else if (CONTENT[command.type]) {
        if (path !== current) files++;
        current = path;
        bytes += CONTENT[command.type]!(command);
      }
    },
    undefined,
    { checkCrc: false },
  );
  const args = ['send', '--proto', '0', '--no-data', '-q', ...(parent ? ['-p', parent] : []), snapshot];
  // `signal` ends `btrfs send` (the snapshot cannot be deleted while it is being sent). Its own process group, as
  // CommandOutput's: stopped and continued, it would send its stream again.
  const child = spawn('btrfs', args, { stdio: ['ignore', 'pipe', 'pipe'], signal, detached: true });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'ENOENT' ? toolMissing('btrfs') : error.name === 'AbortError' ? new Error(`${what}: stopped`) : error),
    );
    child.on('close', resolve);
  });
  exited.catch(() => {});
  try {
    for await (const chunk of child.stdout) decoder.push(chunk as Buffer);
  } catch (error) {
    child.kill();
    await exited.catch(() => {});
    throw error;
  }
  const status = await exited;
  stopIfInterrupted(signal);
  if (status !== 0) throw toolFailure(what, stderr);
  decoder.finish();
  return { files, bytes };
}
