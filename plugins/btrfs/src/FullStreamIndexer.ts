import { compareNames, indexPath, type EntryType, type IndexEntry, type StreamRange, type WalkedIndex } from '@rast-backup/core';
import { Float64Column, Int32Column, Uint16Column, Uint32Column, Uint8Column } from './ChunkedColumn.js';
import { NameTable } from './NameTable.js';
import { PageStore } from './PageStore.js';
import { CommandAttributes } from './CommandAttributes.js';
import { createdEntry } from './CreatedEntry.js';
import { DATA_COMMANDS, dataEnd } from './DataCommand.js';
import { Attribute, Command, type SendCommand } from './SendStreamDecoder.js';

const TYPES: EntryType[] = ['file', 'directory', 'symlink', 'fifo', 'char-device', 'block-device', 'socket'];
const FILE = 0;
const DIRECTORY = 1;
const ROOT = 0;
const MORE_OWNERS = 0xffff;
/** The memory the tree's columns may hold; the rest is in a temporary file. */
export const TREE_MEMORY = 24 * 1024 * 1024;

const join = (directory: string, name: string) => (directory === '.' ? name : `${directory}/${name}`);

/** What a span holds beyond its place: its clones (their sources as nodes), or that it has a clone not resolved. */
interface SpanClones {
  clones?: Array<{ at: number; source: number }>;
  clone?: true;
}

/** The link an entry was reached through, and its path: a span written through it has that path. */
interface Reached {
  link: number;
  path: string;
}

/**
 * Builds a full send stream's index: the whole tree, simulated as the stream names it (renames move whole
 * subtrees, orphan names included), is held compactly, then written in index order through a spool. A node
 * (an inode) is a few numbers in typed arrays; its names are a NameTable's links; a file's spans are numbers
 * too, their path the link the stream wrote through (a span's path is written out as text only when that
 * link's path is about to change: the name removed or a directory above it moved). What is rare (symlink
 * targets, devices, xattrs, clones) is kept in maps. The columns are pages of a PageStore: beyond `memory`
 * bytes of them, those not used lately wait in a temporary file (the stream and the index's order use the
 * nodes made lately, and the directories above them). See docs/btrfs.md.
 */
export class FullStreamIndexer {
  private readonly pages: PageStore;
  private readonly names: NameTable;
  private nodes = 0;
  private readonly type: Uint8Column;
  private readonly mode: Uint16Column;
  /** A node's owner: the number of its (uid, gid) in `owners` (a tree has few), or MORE_OWNERS. */
  private readonly owner: Uint16Column;
  private readonly owners: Array<[number, number]> = [[0, 0]];
  private readonly ownerNumbers = new Map<string, number>([['0:0', 0]]);
  private readonly moreOwners = new Map<number, [number, number]>();
  private readonly size: Float64Column;
  /** mtime: seconds (those from 2106 on in bigSeconds) and nanoseconds. */
  private readonly seconds: Uint32Column;
  private readonly nanoseconds: Uint32Column;
  /** A node's last span, or -1; each span links to the one before it. */
  private readonly lastSpan: Int32Column;
  /** How many names a node has (a btrfs inode has at most 65535): a file with several is written as its first name and hard links to it. */
  private readonly nameCount: Uint16Column;
  private readonly directoryLink = new Map<number, number>();
  private readonly targets = new Map<number, string>();
  private readonly devices = new Map<number, [number, number]>();
  private readonly xattrs = new Map<number, Record<string, string>>();
  /** Seconds too large for a double to hold exactly. */
  private readonly bigSeconds = new Map<number, bigint>();

  private spans = 0;
  private readonly spanStart: Float64Column;
  private readonly spanEnd: Float64Column;
  private readonly spanBefore: Int32Column;
  /** The link the stream wrote through, or -1 once its path is written out in spanPaths. */
  private readonly spanLink: Int32Column;
  private readonly spanPaths = new Map<number, string>();
  private readonly spanClones = new Map<number, SpanClones>();

  /** The file the previous data command wrote to: a span grows only over consecutive data commands of one file. */
  private lastWritten = -1;
  private uuid?: string;
  /** The last path looked up, while no name has been removed since. */
  private cached?: { path: string; node: number; link: number };

  /** `memory`: bytes of columns held in memory; `pageItems`: 2^pageShift items per page (tests make pages small). */
  constructor(
    private readonly backupId: string,
    { memory = TREE_MEMORY, pageShift = 16 }: { memory?: number; pageShift?: number } = {},
  ) {
    const pages = (this.pages = new PageStore(memory, pageShift));
    this.names = new NameTable(pages);
    [this.type, this.mode, this.owner, this.size] = [
      new Uint8Column(pages),
      new Uint16Column(pages),
      new Uint16Column(pages),
      new Float64Column(pages),
    ];
    [this.seconds, this.nanoseconds, this.lastSpan, this.nameCount] = [
      new Uint32Column(pages),
      new Uint32Column(pages),
      new Int32Column(pages),
      new Uint16Column(pages),
    ];
    [this.spanStart, this.spanEnd, this.spanBefore, this.spanLink] = [
      new Float64Column(pages),
      new Float64Column(pages),
      new Int32Column(pages),
      new Int32Column(pages),
    ];
    this.newNode(DIRECTORY, 0o755);
  }

  /** Pages read back from the temporary file or written to it so far. */
  get pageFaults(): number {
    return this.pages.faults;
  }

  private newNode(type: number, mode: number): number {
    const node = this.nodes++;
    if (this.pages.startsPage(node))
      for (const column of [this.type, this.mode, this.owner, this.size, this.seconds, this.nanoseconds, this.lastSpan, this.nameCount])
        column.extend(node);
    this.type.set(node, type);
    this.mode.set(node, mode);
    this.lastSpan.set(node, -1);
    return node;
  }

  /** The node at `path` now and the link it was reached through (-1 for the root), or undefined. */
  private find(path: string): { node: number; link: number } | undefined {
    if (path === '' || path === '.') return { node: ROOT, link: -1 };
    if (this.cached?.path === path) return this.cached;
    let node = ROOT;
    let link = -1;
    for (let start = 0; start <= path.length;) {
      let end = path.indexOf('/', start);
      if (end < 0) end = path.length;
      if (this.type.get(node) !== DIRECTORY) return undefined;
      link = this.names.find(node, path.slice(start, end));
      if (link < 0 || (node = this.names.nodeAt(link)) < 0) return undefined;
      start = end + 1;
    }
    this.cached = { path, node, link };
    return this.cached;
  }

  private lookup(path: string): { node: number; link: number } {
    const found = this.find(path);
    if (!found) throw new Error(`the stream names ${path}, which does not exist at that point`);
    return found;
  }

  private parentOf(path: string): [number, string] {
    const slash = path.lastIndexOf('/');
    const directory = this.lookup(slash < 0 ? '' : path.slice(0, slash)).node;
    if (this.type.get(directory) !== DIRECTORY) throw new Error(`${path}: its parent is not a directory`);
    return [directory, path.slice(slash + 1)];
  }

  /** Puts `node` under `name`, or removes the name. */
  private place(directory: number, name: string, node: number): void {
    const existing = this.names.find(directory, name);
    if (existing >= 0) this.unlink(existing);
    if (node < 0) return;
    const link = this.names.add(directory, name, node);
    this.nameCount.set(node, Math.min(0xffff, this.nameCount.get(node) + 1));
    if (this.type.get(node) === DIRECTORY) this.directoryLink.set(node, link);
  }

  /** Empties a link: the paths through it are about to change, so the spans written through them get their paths as text. */
  private unlink(link: number): void {
    const node = this.names.nodeAt(link);
    this.cached = undefined;
    if (this.type.get(node) === DIRECTORY) {
      const below = [node];
      for (let directory = below.pop(); directory !== undefined; directory = below.pop()) {
        for (const child of this.names.links(directory)) {
          const inside = this.names.nodeAt(child);
          if (inside < 0) continue;
          if (this.type.get(inside) === DIRECTORY) below.push(inside);
          else this.writeOutPaths(inside, -1);
        }
      }
      this.directoryLink.delete(node);
    } else this.writeOutPaths(node, link);
    this.names.remove(link);
    this.nameCount.set(node, Math.max(0, this.nameCount.get(node) - 1));
  }

  /** Gives a node's spans written through `link` (any link when -1) their paths as text. */
  private writeOutPaths(node: number, link: number): void {
    for (let span = this.lastSpan.get(node); span >= 0; span = this.spanBefore.get(span)) {
      const through = this.spanLink.get(span);
      if (through < 0 || (link >= 0 && through !== link)) continue;
      this.spanPaths.set(span, this.linkPath(through));
      this.spanLink.set(span, -1);
    }
  }

  private linkPath(link: number): string {
    const parts = [this.names.nameOf(link)];
    for (let directory = this.names.directoryOf(link); directory !== ROOT;) {
      const above = this.directoryLink.get(directory)!;
      parts.push(this.names.nameOf(above));
      directory = this.names.directoryOf(above);
    }
    return parts.reverse().join('/');
  }

  apply(command: SendCommand): void {
    const read = new CommandAttributes(command);
    const text = (attribute: number) => indexPath(read.bytes(attribute));
    const created = createdEntry(command.type, read);
    if (created) {
      const path = text(Attribute.PATH);
      const [directory, name] = this.parentOf(path);
      const type = TYPES.indexOf(created.kind);
      const node = this.newNode(type, created.kind === 'symlink' ? 0o777 : type === DIRECTORY ? 0o700 : 0o600);
      if (created.target) this.targets.set(node, indexPath(created.target));
      if (created.device) this.devices.set(node, created.device);
      if (created.mode !== undefined) this.mode.set(node, created.mode);
      this.place(directory, name, node);
      return;
    }
    if (DATA_COMMANDS.has(command.type)) {
      const path = text(Attribute.PATH);
      const span = this.data(command, path, dataEnd(command.type, read));
      if (command.type === Command.CLONE && span >= 0) this.cloneInto(span, command.offset, read);
      if (command.type === Command.TRUNCATE) this.size.set(this.lookup(path).node, read.u64(Attribute.SIZE));
      return;
    }
    switch (command.type) {
      case Command.SUBVOL:
        for (const link of [...this.names.links(ROOT)]) this.unlink(link);
        this.uuid = read.bytes(Attribute.UUID).toString('hex');
        return;
      case Command.SNAPSHOT:
        this.uuid = read.bytes(Attribute.UUID).toString('hex');
        return;
      case Command.RENAME: {
        const path = text(Attribute.PATH);
        const [from, name] = this.parentOf(path);
        const link = this.names.find(from, name);
        const node = link < 0 ? -1 : this.names.nodeAt(link);
        if (node < 0) throw new Error(`rename of ${path}, which does not exist`);
        this.place(from, name, -1);
        const [to, newName] = this.parentOf(text(Attribute.PATH_TO));
        this.place(to, newName, node);
        return;
      }
      case Command.LINK: {
        const [directory, name] = this.parentOf(text(Attribute.PATH));
        this.place(directory, name, this.lookup(text(Attribute.PATH_LINK)).node);
        return;
      }
      case Command.UNLINK:
      case Command.RMDIR: {
        const [directory, name] = this.parentOf(text(Attribute.PATH));
        this.place(directory, name, -1);
        return;
      }
      case Command.SET_XATTR: {
        const { node } = this.lookup(text(Attribute.PATH));
        const name = text(Attribute.XATTR_NAME);
        const value = read.bytes(Attribute.XATTR_DATA).toString('base64');
        this.xattrs.set(node, { ...this.xattrs.get(node), [name]: value });
        return;
      }
      case Command.REMOVE_XATTR: {
        const { node } = this.lookup(text(Attribute.PATH));
        const xattrs = this.xattrs.get(node);
        if (xattrs) {
          const rest = { ...xattrs };
          delete rest[text(Attribute.XATTR_NAME)];
          this.xattrs.set(node, rest);
        }
        return;
      }
      case Command.CHMOD:
        this.mode.set(this.lookup(text(Attribute.PATH)).node, read.u64(Attribute.MODE) & 0o7777);
        return;
      case Command.CHOWN: {
        const { node } = this.lookup(text(Attribute.PATH));
        this.setOwner(node, read.u64(Attribute.UID), read.u64(Attribute.GID));
        return;
      }
      case Command.UTIMES: {
        const { node } = this.lookup(text(Attribute.PATH));
        const { seconds, nanoseconds } = read.time(Attribute.MTIME);
        if (seconds > 0xffffffffn) this.bigSeconds.set(node, seconds);
        else this.bigSeconds.delete(node);
        this.seconds.set(node, Number(seconds));
        this.nanoseconds.set(node, nanoseconds);
        return;
      }
      default:
        return;
    }
  }

  /**
   * A command that changes a file's data: the file grows to `end`, and its span in this stream covers the
   * command (the span, for a clone to note its source, or -1).
   */
  private data(command: SendCommand, path: string, end: number): number {
    const { node, link } = this.lookup(path);
    if (end > this.size.get(node)) this.size.set(node, end);
    let span = this.lastSpan.get(node);
    if (this.lastWritten === node && span >= 0 && this.samePath(span, link, path)) this.spanEnd.set(span, command.offset + command.size);
    else if (this.type.get(node) === FILE) {
      const before = span;
      span = this.spans++;
      if (this.pages.startsPage(span))
        for (const column of [this.spanStart, this.spanEnd, this.spanBefore, this.spanLink]) column.extend(span);
      this.spanStart.set(span, command.offset);
      this.spanEnd.set(span, command.offset + command.size);
      this.spanBefore.set(span, before);
      this.spanLink.set(span, link);
      this.lastSpan.set(node, span);
    } else span = -1;
    this.lastWritten = node;
    return span;
  }

  /** Whether a span was written under `path`, which is reached through `link` now. */
  private samePath(span: number, link: number, path: string): boolean {
    const through = this.spanLink.get(span);
    return through >= 0 ? through === link : this.spanPaths.get(span) === path;
  }

  /**
   * Notes a clone's source on its span: a file of this stream, whose spans (as they are at the end) are its
   * source (readers cut them at the clone, see CloneSource.ts). Any other source marks the span as one
   * replaying cannot rebuild.
   */
  private cloneInto(span: number, at: number, read: CommandAttributes): void {
    const uuid = read.bytes(Attribute.CLONE_UUID).toString('hex');
    const source = uuid === this.uuid ? this.find(indexPath(read.bytes(Attribute.CLONE_PATH))) : undefined;
    let clones = this.spanClones.get(span);
    if (!clones) this.spanClones.set(span, (clones = {}));
    if (source && this.type.get(source.node) === FILE) (clones.clones ??= []).push({ at, source: source.node });
    else clones.clone = true;
  }

  /** The whole index, in index order, walked as its blocks are stored; the tree is let go when the walk ends or is stopped. */
  index(): WalkedIndex {
    return { backupId: this.backupId, walk: this.inOrder() };
  }

  /**
   * The whole index, in index order, built as it is read (verify compares it with the stored index without
   * writing it out); the tree is let go when the walk ends or is stopped.
   */
  *inOrder(): Generator<IndexEntry> {
    try {
      yield* this.entries();
    } finally {
      this.pages.close();
    }
  }

  /** Every entry, depth first, names in order; a file's later names are hard links to its first. */
  private *entries(): Generator<IndexEntry> {
    const leaders = new Map<number, string>();
    const stack: Array<{ path: string; children: Array<[string, number, number]>; next: number }> = [];
    const visit = (node: number, path: string, link: number): IndexEntry => {
      const leader = leaders.get(node);
      if (leader !== undefined) return this.hardlink(node, path, leader);
      if (this.type.get(node) === FILE && this.nameCount.get(node) > 1) leaders.set(node, path);
      if (this.type.get(node) === DIRECTORY) {
        const children: Array<[string, number, number]> = [];
        for (const child of this.names.links(node)) {
          const inside = this.names.nodeAt(child);
          if (inside >= 0) children.push([this.names.nameOf(child), inside, child]);
        }
        stack.push({ path, children: children.sort((a, b) => compareNames(a[0], b[0])), next: 0 });
      }
      return this.entryOf(node, path, link);
    };
    yield visit(ROOT, '.', -1);
    while (stack.length > 0) {
      const top = stack.at(-1)!;
      const child = top.children[top.next++];
      if (!child) {
        stack.pop();
        continue;
      }
      yield visit(child[1], join(top.path, child[0]), child[2]);
    }
  }

  private setOwner(node: number, uid: number, gid: number): void {
    const key = `${uid}:${gid}`;
    let number = this.ownerNumbers.get(key);
    if (number === undefined && this.owners.length < MORE_OWNERS) {
      number = this.owners.push([uid, gid]) - 1;
      this.ownerNumbers.set(key, number);
    }
    if (number === undefined) this.moreOwners.set(node, [uid, gid]);
    else this.moreOwners.delete(node);
    this.owner.set(node, number ?? MORE_OWNERS);
  }

  private ownerOf(node: number): [number, number] {
    const number = this.owner.get(node);
    return number === MORE_OWNERS ? this.moreOwners.get(node)! : this.owners[number]!;
  }

  /** Nanoseconds since the epoch, as text (index entries' mtime). */
  private mtime(node: number): string {
    const big = this.bigSeconds.get(node);
    if (big !== undefined) return String(big * 1_000_000_000n + BigInt(this.nanoseconds.get(node)));
    const seconds = this.seconds.get(node);
    const nanoseconds = String(this.nanoseconds.get(node));
    return seconds === 0 ? nanoseconds : `${seconds}${nanoseconds.padStart(9, '0')}`;
  }

  private hardlink(node: number, path: string, leader: string): IndexEntry {
    const mode = this.mode.get(node);
    const [uid, gid] = this.ownerOf(node);
    return { path, type: 'hardlink', linkTo: leader, size: 0, mode, uid, gid, mtime: this.mtime(node), from: this.backupId };
  }

  /** A node's entry at `path`, which it was reached through `link`. */
  private entryOf(node: number, path: string, link: number): IndexEntry {
    const type = this.type.get(node);
    const [uid, gid] = this.ownerOf(node);
    // `path` first, as a block's line has it (encodeLine): the entry is written as it is, not rebuilt.
    const entry: IndexEntry = {
      path,
      type: TYPES[type]!,
      mode: this.mode.get(node),
      uid,
      gid,
      size: type === FILE ? this.size.get(node) : 0,
      mtime: this.mtime(node),
      from: this.backupId,
    };
    const target = this.targets.get(node);
    if (target !== undefined) entry.target = target;
    const device = this.devices.get(node);
    if (device) [entry.devMajor, entry.devMinor] = device;
    const xattrs = this.xattrs.get(node);
    if (xattrs) entry.xattrs = xattrs;
    if (type === FILE) entry.ranges = this.spansOf(node, new Map(), { link, path });
    return entry;
  }

  /** A file's spans, oldest first; a source met again in the same entry is the same list (see storedEntry). */
  private spansOf(node: number, made: Map<number, StreamRange[]>, reached: Reached): StreamRange[] {
    const known = made.get(node);
    if (known) return known;
    const list: StreamRange[] = [];
    made.set(node, list);
    for (let span = this.lastSpan.get(node); span >= 0; span = this.spanBefore.get(span)) list.push(this.spanOf(span, made, reached));
    return list.reverse();
  }

  private spanOf(span: number, made: Map<number, StreamRange[]>, reached: Reached): StreamRange {
    const link = this.spanLink.get(span);
    const range: StreamRange = {
      from: this.backupId,
      start: this.spanStart.get(span),
      end: this.spanEnd.get(span),
      path: link < 0 ? this.spanPaths.get(span)! : link === reached.link ? reached.path : this.linkPath(link),
    };
    const clones = this.spanClones.get(span);
    if (clones)
      for (const key of Object.keys(clones) as Array<keyof SpanClones>) {
        if (key === 'clone') range.clone = true;
        else range.clones = clones.clones!.map((clone) => ({ at: clone.at, source: this.spansOf(clone.source, made, reached) }));
      }
    return range;
  }
}
