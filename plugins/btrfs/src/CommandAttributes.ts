import type { CommandAttributeMap } from './AttributeViews.js';
import { Attribute, Command, type SendCommand } from './SendStreamDecoder.js';

const COMMAND_NAMES = new Map<number, string>(Object.entries(Command).map(([name, number]) => [number, name]));
const ATTRIBUTE_NAMES = new Map<number, string>(Object.entries(Attribute).map(([name, number]) => [number, name]));

/** A send command's name (`WRITE`), or its number for one this code does not know. */
export function commandName(type: number): string {
  return COMMAND_NAMES.get(type) ?? `command ${type}`;
}

/** An attribute's name and number, as messages show it: `FILE_OFFSET (18)`. */
export function attributeName(type: number): string {
  return `${ATTRIBUTE_NAMES.get(type) ?? 'attribute'} (${type})`;
}

/** An attribute of a send command that is missing or malformed; the caller adds the backup, where in the stream and the command. */
export class BadAttribute extends Error {}

/**
 * The one reading of a send command's attributes, for the indexers and the receivers alike: what a command
 * needs must be present and of its full width, so that a damaged stream fails as damaged (naming the command
 * and the attribute) rather than reading a missing number as 0 or past an attribute's end.
 */
export class CommandAttributes {
  private readonly attributes: CommandAttributeMap;

  constructor(command: SendCommand) {
    this.attributes = command.attributes;
  }

  private bad(message: string): BadAttribute {
    return new BadAttribute(message);
  }

  has(attribute: number): boolean {
    return this.attributes.has(attribute);
  }

  /** The attribute's bytes; it must be present. */
  bytes(attribute: number): Buffer {
    const value = this.attributes.get(attribute);
    if (value === undefined) throw this.bad(`the command lacks attribute ${attributeName(attribute)}`);
    return value;
  }

  /** A u64 attribute, present, as a Number: larger values than its exact integers can only come from a damaged stream. */
  u64(attribute: number): number {
    const value = this.bigU64(attribute);
    if (value > BigInt(Number.MAX_SAFE_INTEGER))
      throw this.bad(`attribute ${attributeName(attribute)} holds ${value}, beyond any real value`);
    return Number(value);
  }

  /** A u64 attribute that the command may leave out: undefined when absent. */
  optionalU64(attribute: number): number | undefined {
    return this.attributes.has(attribute) ? this.u64(attribute) : undefined;
  }

  /** A u64 attribute, present, whole (a transaction id, a device number). */
  bigU64(attribute: number): bigint {
    const value = this.bytes(attribute);
    if (value.length < 8) throw this.bad(`attribute ${attributeName(attribute)} is ${value.length} bytes, not 8`);
    return value.readBigUInt64LE(0);
  }

  /** A u32 attribute; when absent, `absent` if given (else it must be present). */
  u32(attribute: number, absent?: number): number {
    const value = this.attributes.get(attribute);
    if (value === undefined && absent !== undefined) return absent;
    const bytes = value ?? this.bytes(attribute);
    if (bytes.length < 4) throw this.bad(`attribute ${attributeName(attribute)} is ${bytes.length} bytes, not 4`);
    return bytes.readUInt32LE(0);
  }

  /** A timespec attribute (u64 seconds, u32 nanoseconds), present. */
  time(attribute: number): { seconds: bigint; nanoseconds: number } {
    const value = this.bytes(attribute);
    if (value.length < 12) throw this.bad(`attribute ${attributeName(attribute)} is ${value.length} bytes, not 12`);
    return { seconds: value.readBigUInt64LE(0), nanoseconds: value.readUInt32LE(8) };
  }
}
