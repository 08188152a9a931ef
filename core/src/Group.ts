import { readFile } from 'node:fs/promises';

/** The group that may read backups and their secrets besides root (the seed's `usermod -aG rast-backup user`). */
export const BACKUP_GROUP = 'rast-backup';

/** `[name, gid]` of each group in /etc/group. */
async function groups(groupFile: string): Promise<Array<[string, number]>> {
  const text = await readFile(groupFile, 'utf8').catch(() => '');
  return text.split('\n').flatMap((line) => {
    const [name, , gid] = line.split(':');
    return name && gid ? [[name, Number(gid)] as [string, number]] : [];
  });
}

/** The gid of a group from /etc/group, or undefined where it does not exist. */
export async function groupId(name: string, groupFile = '/etc/group'): Promise<number | undefined> {
  return (await groups(groupFile)).find(([groupName]) => groupName === name)?.[1];
}

/** The name of group `gid`, or the number where /etc/group does not name it. */
export async function groupName(gid: number, groupFile = '/etc/group'): Promise<string> {
  return (await groups(groupFile)).find(([, id]) => id === gid)?.[0] ?? String(gid);
}
