import { realpath } from 'node:fs/promises';
import path from 'node:path';

/** Where `target` really is, symlinks resolved: it need not exist yet (its nearest existing ancestor is resolved). */
export async function realLocation(target: string): Promise<string> {
  const absolute = path.resolve(target);
  const rest: string[] = [];
  for (let current = absolute; ; current = path.dirname(current)) {
    try {
      return path.join(await realpath(current), ...rest.reverse());
    } catch {
      if (current === path.dirname(current)) return absolute;
      rest.push(path.basename(current));
    }
  }
}

/** Whether `inner` is `outer` or lies below it (both absolute). */
export function isWithin(outer: string, inner: string): boolean {
  const relative = path.relative(outer, inner);
  return relative === '' || (relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative));
}
