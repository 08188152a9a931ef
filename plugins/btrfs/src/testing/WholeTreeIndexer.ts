import {
  compareNames,
  indexPath,
  isBinaryPath,
  pathBytes,
  type EntryType,
  type FileIndex,
  type IndexEntry,
  type StreamRange,
} from '@rast-backup/core';
import { Attribute, Command, type SendCommand } from '../SendStreamDecoder.js';

// Its own lenient readers: this model stays independent of the production code it is compared with.
function u32(value: Buffer | undefined): number {
  return value ? value.readUInt32LE(0) : 0;
}

function u64(value: Buffer | undefined): number {
  return value ? Number(value.readBigUInt64LE(0)) : 0;
}

/** A timespec attribute (u64 seconds, u32 nanoseconds) as nanoseconds since the epoch, decimal. */
function timespec(value: Buffer | undefined): string {
  if (!value) return '0';
  return String(value.readBigUInt64LE(0) * 1_000_000_000n + BigInt(value.readUInt32LE(8)));
}

/** One inode of the tree being received; several names may share it (hard links). */
interface Node {
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: string;
  target?: string;
  devMajor?: number;
  devMinor?: number;
  xattrs?: Record<string, string>;
  children?: Map<string, Node>;
  from: string;
  /** Regular files: where their data lies in the chain's streams (see IndexEntry.ranges). */
  ranges?: StreamRange[];
}

const CREATED: Record<number, EntryType> = {
  [Command.MKFILE]: 'file',
  [Command.MKDIR]: 'directory',
  [Command.MKNOD]: 'char-device',
  [Command.MKFIFO]: 'fifo',
  [Command.MKSOCK]: 'socket',
  [Command.SYMLINK]: 'symlink',
};
const FALLOC_FL_KEEP_SIZE = 1;

const S_IFMT = 0o170000;
const S_IFBLK = 0o060000;

/**
 * The model for tests: a backup's file index built the simple way, the parent's whole index loaded into a
 * tree in memory and the stream's commands applied to it (SendStreamIndexer gives the same index while
 * reading only what the stream touches).
 */
export class WholeTreeIndexer {
  private readonly root: Node;
  /** The file the previous data command wrote to: a span grows only over consecutive data commands of one file. */
  private lastWritten?: Node;
  /** UUIDs (hex) of the subvolume this stream makes and of its parent, for resolving clone sources. */
  private uuid?: string;
  private parentUuid?: string;
  /** The parent's files as they were, by path: a clone from the parent reads them, whatever this stream did since. */
  private readonly parentFiles = new Map<string, StreamRange[] | undefined>();

  constructor(
    private readonly backupId: string,
    parent?: FileIndex,
  ) {
    this.root = { type: 'directory', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: '0', children: new Map(), from: backupId };
    if (parent) this.load(parent);
  }

  private load(parent: FileIndex): void {
    // Entries come parents first: each directory is found by its path, not by walking from the root.
    const directories = new Map<string, Node>([['.', this.root]]);
    for (const entry of parent.entries) {
      if (entry.path === '.') {
        Object.assign(this.root, {
          mode: entry.mode,
          uid: entry.uid,
          gid: entry.gid,
          mtime: entry.mtime,
          xattrs: entry.xattrs,
          from: entry.from,
        });
        continue;
      }
      const slash = entry.path.lastIndexOf('/');
      const known = directories.get(slash < 0 ? '.' : entry.path.slice(0, slash));
      const [directory, name] = known?.children ? [known, entry.path.slice(slash + 1)] : this.parentOf(entry.path);
      if (entry.type === 'hardlink') {
        this.parentFiles.set(entry.path, this.parentFiles.get(entry.linkTo!));
        directory.children!.set(name, this.lookup(entry.linkTo!));
        continue;
      }
      const node: Node = {
        type: entry.type,
        mode: entry.mode,
        uid: entry.uid,
        gid: entry.gid,
        size: entry.size,
        mtime: entry.mtime,
        from: entry.from,
      };
      if (entry.target !== undefined) node.target = entry.target;
      if (entry.devMajor !== undefined) [node.devMajor, node.devMinor] = [entry.devMajor, entry.devMinor];
      if (entry.xattrs) node.xattrs = entry.xattrs;
      if (entry.type === 'directory') {
        node.children = new Map();
        directories.set(entry.path, node);
      }
      if (entry.ranges) {
        // The span objects are shared: data() only ever extends a span this stream pushed. The array is not, as data() pushes onto it.
        node.ranges = [...entry.ranges];
        this.parentFiles.set(entry.path, entry.ranges);
      } else if (entry.type === 'file') this.parentFiles.set(entry.path, undefined);
      directory.children!.set(name, node);
    }
  }

  private lookup(path: string): Node {
    if (path === '' || path === '.') return this.root;
    let node = this.root;
    for (const part of path.split('/')) {
      const next = node.children?.get(part) ?? (node.children && this.legacyName(node.children, part));
      if (!next) throw new Error(`the stream names ${path}, which does not exist at that point`);
      node = next;
    }
    return node;
  }

  private parentOf(path: string): [Node, string] {
    const slash = path.lastIndexOf('/');
    const directory = this.lookup(slash < 0 ? '' : path.slice(0, slash));
    if (!directory.children) throw new Error(`${path}: its parent is not a directory`);
    const name = path.slice(slash + 1);
    this.legacyName(directory.children, name);
    return [directory, name];
  }

  /**
   * Indexes made before names were kept as bytes hold a name that is not UTF-8 decoded lossily (U+FFFD): found
   * under that form, the entry is filed under its exact name from now on.
   */
  private legacyName(children: Map<string, Node>, name: string): Node | undefined {
    if (children.has(name) || !isBinaryPath(name)) return children.get(name);
    const lossy = pathBytes(name).toString('utf8');
    const node = children.get(lossy);
    if (node) {
      children.delete(lossy);
      children.set(name, node);
    }
    return node;
  }

  apply(command: SendCommand): void {
    const attributes = command.attributes;
    const text = (attribute: number) => indexPath(attributes.get(attribute) ?? Buffer.alloc(0));
    const path = text(Attribute.PATH);
    const touch = (node: Node) => {
      node.from = this.backupId;
      return node;
    };
    const created = CREATED[command.type];
    if (created) {
      const [directory, name] = this.parentOf(path);
      const mode = Number(u64(attributes.get(Attribute.MODE)));
      const node: Node = {
        type: created,
        mode: created === 'symlink' ? 0o777 : created === 'directory' ? 0o700 : 0o600,
        uid: 0,
        gid: 0,
        size: 0,
        mtime: '0',
        from: this.backupId,
      };
      if (created === 'directory') node.children = new Map();
      if (created === 'file') node.ranges = [];
      if (created === 'symlink') node.target = text(Attribute.PATH_LINK);
      if (command.type === Command.MKNOD) {
        const rdev = BigInt(u64(attributes.get(Attribute.RDEV)));
        node.type = (mode & S_IFMT) === S_IFBLK ? 'block-device' : 'char-device';
        node.devMajor = Number((rdev >> 8n) & 0xfffn);
        node.devMinor = Number((rdev & 0xffn) | ((rdev >> 12n) & 0xfff00n));
      }
      if (mode) node.mode = mode & 0o7777;
      directory.children!.set(name, node);
      return;
    }
    switch (command.type) {
      case Command.SUBVOL:
        this.root.children = new Map();
        touch(this.root);
        this.uuid = attributes.get(Attribute.UUID)?.toString('hex');
        return;
      case Command.SNAPSHOT:
        this.uuid = attributes.get(Attribute.UUID)?.toString('hex');
        this.parentUuid = attributes.get(Attribute.CLONE_UUID)?.toString('hex');
        return;
      case Command.RENAME: {
        const [from, name] = this.parentOf(path);
        const node = from.children!.get(name);
        if (!node) throw new Error(`rename of ${path}, which does not exist`);
        from.children!.delete(name);
        const [to, newName] = this.parentOf(text(Attribute.PATH_TO));
        to.children!.set(newName, node);
        return;
      }
      case Command.LINK: {
        const [directory, name] = this.parentOf(path);
        directory.children!.set(name, touch(this.lookup(text(Attribute.PATH_LINK))));
        return;
      }
      case Command.UNLINK:
      case Command.RMDIR: {
        const [directory, name] = this.parentOf(path);
        directory.children!.delete(name);
        return;
      }
      case Command.SET_XATTR: {
        const node = touch(this.lookup(path));
        node.xattrs = {
          ...node.xattrs,
          [text(Attribute.XATTR_NAME)]: (attributes.get(Attribute.XATTR_DATA) ?? Buffer.alloc(0)).toString('base64'),
        };
        return;
      }
      case Command.REMOVE_XATTR: {
        const node = touch(this.lookup(path));
        if (node.xattrs) {
          // A copy, as SET_XATTR makes: the object may be the parent index's own.
          node.xattrs = { ...node.xattrs };
          delete node.xattrs[text(Attribute.XATTR_NAME)];
        }
        return;
      }
      case Command.WRITE:
        this.data(command, path, u64(attributes.get(Attribute.FILE_OFFSET)) + (attributes.get(Attribute.DATA)?.length ?? 0));
        return;
      case Command.CLONE: {
        const source = this.cloneSource(command);
        this.data(command, path, u64(attributes.get(Attribute.FILE_OFFSET)) + u64(attributes.get(Attribute.CLONE_LEN)), source);
        return;
      }
      case Command.ENCODED_WRITE:
        this.data(command, path, u64(attributes.get(Attribute.FILE_OFFSET)) + u64(attributes.get(Attribute.UNENCODED_FILE_LEN)));
        return;
      case Command.UPDATE_EXTENT:
        this.data(command, path, u64(attributes.get(Attribute.FILE_OFFSET)) + u64(attributes.get(Attribute.SIZE)));
        return;
      case Command.FALLOCATE: {
        const keepSize = (u32(attributes.get(Attribute.FALLOCATE_MODE)) & FALLOC_FL_KEEP_SIZE) !== 0;
        this.data(command, path, keepSize ? 0 : u64(attributes.get(Attribute.FILE_OFFSET)) + u64(attributes.get(Attribute.SIZE)));
        return;
      }
      case Command.TRUNCATE:
        this.data(command, path, 0).size = u64(attributes.get(Attribute.SIZE));
        return;
      case Command.CHMOD:
        touch(this.lookup(path)).mode = u64(attributes.get(Attribute.MODE)) & 0o7777;
        return;
      case Command.CHOWN: {
        const node = touch(this.lookup(path));
        node.uid = u64(attributes.get(Attribute.UID));
        node.gid = u64(attributes.get(Attribute.GID));
        return;
      }
      case Command.UTIMES:
        this.lookup(path).mtime = timespec(attributes.get(Attribute.MTIME));
        return;
      default:
        return;
    }
  }

  /**
   * The spans of a clone's source: a file of this stream (by its path now: its own list, which later commands
   * extend; readers cut it at the clone, see CloneSource.ts) or of the parent (by its path there). Not copied, so a
   * file cloning from itself costs one record per clone. Undefined when the source lies elsewhere or has no spans.
   */
  private cloneSource(command: SendCommand): StreamRange[] | undefined {
    const uuid = command.attributes.get(Attribute.CLONE_UUID)?.toString('hex');
    const sourcePath = indexPath(command.attributes.get(Attribute.CLONE_PATH) ?? Buffer.alloc(0));
    if (uuid !== undefined && uuid === this.uuid) {
      return this.lookupOptional(sourcePath)?.ranges;
    }
    if (uuid !== undefined && uuid === this.parentUuid) return this.parentFiles.get(sourcePath);
    return undefined;
  }

  private lookupOptional(path: string): Node | undefined {
    try {
      return this.lookup(path);
    } catch {
      return undefined;
    }
  }

  /** A command that changes a file's data: the file grows to `end`, and its span in this stream covers the command. */
  private data(command: SendCommand, path: string, end: number, cloneSource?: StreamRange[]): Node {
    const node = this.lookup(path);
    node.from = this.backupId;
    if (end > node.size) node.size = end;
    if (node.ranges) {
      const last = node.ranges.at(-1);
      let range = last;
      if (this.lastWritten === node && last?.from === this.backupId && last.path === path) last.end = command.offset + command.size;
      else node.ranges.push((range = { from: this.backupId, start: command.offset, end: command.offset + command.size, path }));
      if (command.type === Command.CLONE) {
        if (cloneSource) (range!.clones ??= []).push({ at: command.offset, source: cloneSource });
        else range!.clone = true;
      }
    }
    this.lastWritten = node;
    return node;
  }

  /** The resolved tree as index entries in index order; later names of an inode are hard links. */
  index(): FileIndex {
    const entries: IndexEntry[] = [];
    const seen = new Map<Node, string>();
    const emit = (node: Node, path: string) => {
      const leader = seen.get(node);
      if (leader !== undefined) {
        entries.push({
          path,
          type: 'hardlink',
          linkTo: leader,
          size: 0,
          mode: node.mode,
          uid: node.uid,
          gid: node.gid,
          mtime: node.mtime,
          from: node.from,
        });
        return;
      }
      if (node.type === 'file') seen.set(node, path);
      const entry: IndexEntry = {
        type: node.type,
        mode: node.mode,
        uid: node.uid,
        gid: node.gid,
        size: node.type === 'file' ? node.size : 0,
        mtime: node.mtime,
        from: node.from,
        path,
      };
      if (node.target !== undefined) entry.target = node.target;
      if (node.devMajor !== undefined) [entry.devMajor, entry.devMinor] = [node.devMajor, node.devMinor];
      if (node.xattrs) entry.xattrs = node.xattrs;
      if (node.ranges) entry.ranges = node.ranges;
      entries.push(entry);
      if (node.children) {
        for (const name of [...node.children.keys()].sort(compareNames))
          emit(node.children.get(name)!, path === '.' ? name : `${path}/${name}`);
      }
    };
    emit(this.root, '.');
    return { format: 'rast-backup/index', version: 1, backupId: this.backupId, entries };
  }
}
