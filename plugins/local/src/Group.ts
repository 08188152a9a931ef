import { readFile } from 'node:fs/promises';

/** The gid of a group from /etc/group, or undefined where it does not exist. */
export async function groupId(name: string, groupFile = '/etc/group'): Promise<number | undefined> {
  const text = await readFile(groupFile, 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const [groupName, , gid] = line.split(':');
    if (groupName === name && gid !== undefined) return Number(gid);
  }
  return undefined;
}
