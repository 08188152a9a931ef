import { CommandAttributes } from './CommandAttributes.js';
import { FALLOC_FL_KEEP_SIZE } from './FileCalls.js';
import { BadFileData, type FileDataWriter } from './FileDataWriter.js';
import { Attribute, Command, type SendCommand } from './SendStreamDecoder.js';

/** The send commands about a file's data, which applyDataCommand applies (UPDATE_EXTENT, which has none, it refuses). */
export const DATA_COMMANDS: ReadonlySet<number> = new Set([
  Command.WRITE,
  Command.CLONE,
  Command.ENCODED_WRITE,
  Command.FALLOCATE,
  Command.TRUNCATE,
  Command.UPDATE_EXTENT,
]);

/** Why an UPDATE_EXTENT cannot be applied. */
export const NO_DATA = 'the stream was made with btrfs send --no-data and holds no file data to restore';

/** A CLONE's numbers: copy `length` bytes of the source from `sourceOffset` to `offset` of the file. */
export interface CloneRange {
  offset: number;
  length: number;
  sourceOffset: number;
}

/**
 * Applies one data command (one of DATA_COMMANDS) to the file `writer` holds, its attributes read through
 * CommandAttributes. A CLONE is handed to `clone`, since whoever replays the stream knows where its source is.
 * Returns the bytes of file data the command stands for.
 */
export function applyDataCommand(command: SendCommand, writer: FileDataWriter, clone: (range: CloneRange) => void): number {
  const attributes = new CommandAttributes(command);
  switch (command.type) {
    case Command.WRITE: {
      const data = attributes.bytes(Attribute.DATA);
      writer.write(attributes.u64(Attribute.FILE_OFFSET), data);
      return data.length;
    }
    case Command.CLONE: {
      const range = {
        offset: attributes.u64(Attribute.FILE_OFFSET),
        length: attributes.u64(Attribute.CLONE_LEN),
        sourceOffset: attributes.u64(Attribute.CLONE_OFFSET),
      };
      clone(range);
      return range.length;
    }
    case Command.ENCODED_WRITE: {
      if (attributes.u32(Attribute.ENCRYPTION, 0) !== 0) throw new BadFileData('an encrypted extent, which no receiver can decode');
      const offset = attributes.u64(Attribute.FILE_OFFSET);
      const compression = attributes.u32(Attribute.COMPRESSION, 0);
      const data = attributes.bytes(Attribute.DATA);
      const unencodedLength = attributes.u64(Attribute.UNENCODED_LEN);
      const unencodedOffset = attributes.u64(Attribute.UNENCODED_OFFSET);
      const length = attributes.u64(Attribute.UNENCODED_FILE_LEN);
      writer.encodedWrite(offset, compression, data, unencodedLength, unencodedOffset, length);
      return length;
    }
    case Command.FALLOCATE:
      writer.fallocate(attributes.u32(Attribute.FALLOCATE_MODE), attributes.u64(Attribute.FILE_OFFSET), attributes.u64(Attribute.SIZE));
      return 0;
    case Command.TRUNCATE:
      writer.truncate(attributes.u64(Attribute.SIZE));
      return 0;
    case Command.UPDATE_EXTENT:
      throw new BadFileData(NO_DATA);
    default:
      throw new Error(`command ${command.type} is not a data command`);
  }
}

/**
 * The size a data command (one of DATA_COMMANDS) makes its file reach at least: where its data ends, or 0
 * for those that do not grow it (TRUNCATE sets the size itself, a FALLOCATE that keeps the size).
 */
export function dataEnd(type: number, read: CommandAttributes): number {
  switch (type) {
    case Command.WRITE:
      return read.u64(Attribute.FILE_OFFSET) + read.bytes(Attribute.DATA).length;
    case Command.CLONE:
      return read.u64(Attribute.FILE_OFFSET) + read.u64(Attribute.CLONE_LEN);
    case Command.ENCODED_WRITE:
      return read.u64(Attribute.FILE_OFFSET) + read.u64(Attribute.UNENCODED_FILE_LEN);
    case Command.UPDATE_EXTENT:
      return read.u64(Attribute.FILE_OFFSET) + read.u64(Attribute.SIZE);
    case Command.FALLOCATE:
      return read.u32(Attribute.FALLOCATE_MODE) & FALLOC_FL_KEEP_SIZE ? 0 : read.u64(Attribute.FILE_OFFSET) + read.u64(Attribute.SIZE);
    case Command.TRUNCATE:
      return 0;
    default:
      throw new Error(`command ${type} is not a data command`);
  }
}
