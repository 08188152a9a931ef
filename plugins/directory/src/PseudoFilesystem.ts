import { statfs } from 'node:fs/promises';

/** Magic numbers (statfs f_type, linux/magic.h) of the filesystems the kernel makes up: nothing there to back up. */
const PSEUDO_FILESYSTEMS = new Map<number, string>([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x1cd1, 'devpts'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0xcafe4a11, 'bpf'],
  [0x6165676c, 'pstore'],
  [0xde5e81e4, 'efivarfs'],
  [0x62656570, 'configfs'],
  [0x65735543, 'fusectl'],
  [0x19800202, 'mqueue'],
  [0x42494e4d, 'binfmt_misc'],
  [0xf97cff8c, 'selinuxfs'],
  [0x6e736673, 'nsfs'],
  [0x958458f6, 'hugetlbfs'],
]);

/** The name of the pseudo filesystem `absolute` lies on (`proc`, `sysfs`…), or undefined for a real one. */
export async function pseudoFilesystem(absolute: string | Buffer): Promise<string | undefined> {
  const { type } = await statfs(absolute);
  return PSEUDO_FILESYSTEMS.get(Number(type));
}
