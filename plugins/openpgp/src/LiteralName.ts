import { LITERAL_DATA } from './PacketFormat.js';

/**
 * A part is bound to its place: the file name of the literal data packet inside its encrypted, integrity
 * protected payload is the key it is stored under (`data/<id>/000003.part`: the backup and the position).
 * Manifests of parts written so record `literalName: "key"` in the transform's params; decryption then
 * refuses a message whose name is not the key it was read from, so a part moved to another backup or
 * position is refused before anything else of it is used.
 */
export const LITERAL_NAME_IS_KEY = 'key';

/** The longest file name a literal data packet holds (one length byte). */
export const MAX_LITERAL_NAME = 255;

/** The literal data packet's header and the fields before the data: format 'b' (binary), the name, date 0. */
export function literalHeader(packetHeader: (tag: number, length: number) => Buffer, name: string, dataLength: number): Buffer {
  const nameBytes = Buffer.from(name, 'utf8');
  if (nameBytes.length > MAX_LITERAL_NAME) throw new Error(`a literal data packet's name holds at most ${MAX_LITERAL_NAME} bytes: ${name}`);
  const fields = Buffer.concat([Buffer.from([0x62, nameBytes.length]), nameBytes, Buffer.alloc(4)]);
  return Buffer.concat([packetHeader(LITERAL_DATA, fields.length + dataLength), fields]);
}

/** The name a message must carry when its manifest binds parts to their keys (`params.literalName`); undefined when it does not. */
export function expectedLiteralName(params: Record<string, unknown>, object: { key: string } | undefined): string | undefined {
  if (params.literalName !== LITERAL_NAME_IS_KEY) return undefined;
  if (!object) throw new Error('this backup binds each part to its key, and no key was given to check it against');
  return object.key;
}

/** Throws when a message bound to one place is read from another. */
export function checkLiteralName(expected: string | undefined, found: string): void {
  if (expected === undefined || found === expected) return;
  throw new Error(
    `it was written as ${found === '' ? 'an unbound part' : JSON.stringify(found)}, not ${JSON.stringify(expected)}: a part moved to another backup or position is refused`,
  );
}
