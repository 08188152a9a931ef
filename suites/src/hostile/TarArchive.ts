import tar from 'tar-stream';

/** One member of a forged archive: its tar header and, for files, its content. */
export interface Member {
  header: Partial<tar.Header> & { name: string };
  data?: Buffer;
}

/** A POSIX pax archive of `members`, written as given: nothing is checked or normalized. */
export async function tarArchive(members: Member[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const chunk of pack as AsyncIterable<Buffer>) chunks.push(chunk);
  })();
  for (const { header, data } of members) {
    await new Promise<void>((resolve, reject) =>
      pack.entry(
        {
          mtime: new Date(1_700_000_000_000),
          mode: header.type === 'directory' ? 0o755 : 0o644,
          uid: 0,
          gid: 0,
          ...header,
          size: data?.length ?? 0,
        },
        data ?? Buffer.alloc(0),
        (error) => (error ? reject(error) : resolve()),
      ),
    );
  }
  pack.finalize();
  await collected;
  return Buffer.concat(chunks);
}

/**
 * Rewrites the size field of the ustar header that names `name` (a header whose data is already in the
 * archive), fixing its checksum: the archive then claims more data than it holds. Names must fit the
 * 100-byte ustar field (tar-stream writes short names there as well as in the pax header).
 */
export function claimSize(archive: Buffer, name: string, size: number): Buffer {
  const patched = Buffer.from(archive);
  for (let offset = 0; offset + 512 <= patched.length; offset += 512) {
    const header = patched.subarray(offset, offset + 512);
    if (header.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '') !== name || header[156] !== 0x30) continue;
    header.write(size.toString(8).padStart(11, '0') + '\0', 124, 12, 'latin1');
    header.fill(0x20, 148, 156);
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
    return patched;
  }
  throw new Error(`no file header named ${name}`);
}
