/** An attribute of a send command that is missing or malformed; the caller adds the backup, offset and command. */
export class BadAttribute extends Error {}

/**
 * A restore's checked reading of one send command's attributes: a number must be present and of its full
 * width, so that a damaged stream fails as damaged rather than reading past an attribute's end.
 */
export class CommandAttributes {
  constructor(private readonly attributes: Map<number, Buffer>) {}

  /** The attribute's bytes; it must be present. */
  bytes(attribute: number): Buffer {
    const value = this.attributes.get(attribute);
    if (value === undefined) throw new BadAttribute(`the command lacks attribute ${attribute}`);
    return value;
  }

  /** A u64 attribute, present, as a Number: larger values than its exact integers can only come from a damaged stream. */
  u64(attribute: number): number {
    const value = this.bigU64(attribute);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new BadAttribute(`attribute ${attribute} holds ${value}, beyond any real value`);
    return Number(value);
  }

  /** A u64 attribute, present, whole (a transaction id). */
  bigU64(attribute: number): bigint {
    const value = this.bytes(attribute);
    if (value.length < 8) throw new BadAttribute(`attribute ${attribute} is ${value.length} bytes, not 8`);
    return value.readBigUInt64LE(0);
  }

  /** A u32 attribute; when absent, `absent` if given (else it must be present). */
  u32(attribute: number, absent?: number): number {
    const value = this.attributes.get(attribute);
    if (value === undefined && absent !== undefined) return absent;
    const bytes = value ?? this.bytes(attribute);
    if (bytes.length < 4) throw new BadAttribute(`attribute ${attribute} is ${bytes.length} bytes, not 4`);
    return bytes.readUInt32LE(0);
  }

  /** A timespec attribute (u64 seconds, u32 nanoseconds), or undefined when absent. */
  time(attribute: number): { seconds: number; nanoseconds: number } | undefined {
    const value = this.attributes.get(attribute);
    if (value === undefined) return undefined;
    if (value.length < 12) throw new BadAttribute(`attribute ${attribute} is ${value.length} bytes, not 12`);
    return { seconds: Number(value.readBigUInt64LE(0)), nanoseconds: value.readUInt32LE(8) };
  }
}
