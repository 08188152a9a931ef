import {
  compareNames,
  comparePaths,
  indexPath,
  isBinaryPath,
  isWithin,
  IndexSpool,
  pathBytes,
  type EntryType,
  type IndexChanges,
  type IndexEntry,
  type IndexRecord,
  type IndexView,
  type StreamRange,
  type WalkedIndex,
  streamDamaged,
} from '@rast-backup/core';
import { FullStreamIndexer } from './FullStreamIndexer.js';
import { BadAttribute, CommandAttributes, commandName } from './CommandAttributes.js';
import { createdEntry } from './CreatedEntry.js';
import { DATA_COMMANDS, dataEnd } from './DataCommand.js';
import { Attribute, Command, type SendCommand } from './SendStreamDecoder.js';

/** Link counts asked of `parentLinks` at once. */
const LINK_QUESTIONS_AT_ONCE = 64;
/** A change the stream made to a node, replayed once the node's entry in the parent is known. */
type Change = (node: Node) => void;

/** One inode of the tree being received; several names may share it (hard links). */
interface Node {
  /** Undefined while the node is the parent's and its entry has not been read. */
  type?: EntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Nanoseconds since the epoch: a bigint takes half the memory of its decimal string. */
  mtime: string | bigint;
  from: string;
  target?: string;
  devMajor?: number;
  devMinor?: number;
  xattrs?: Record<string, string>;
  /** Regular files: where their data lies in the chain's streams (see IndexEntry.ranges); made at the first span. */
  ranges?: StreamRange[];
  /** Directories: their names as the stream left them; null hides a name the parent's directory has. */
  children?: Map<string, Node | null>;
  /** Nodes of the parent's tree ("parent-backed"): what is known of them there. */
  origin?: Origin;
}

interface Origin {
  /** The directory holding the node in the parent and its name there; none for the root. */
  directory?: Node;
  name: string;
  /** The parent's names in this directory that the stream met, by their name in the parent. */
  children?: Map<string, Node>;
  /** The stream's changes, numbered in stream order across all nodes. */
  changes: Array<[number, Change]>;
  /** The stream changed the node, or another name of its inode: it is written again. */
  dirty: boolean;
  /** A name of it was removed, or added: its other names in the parent may change roles. */
  relinked: boolean;
  entry?: IndexEntry;
  /** The node holding this inode's state, when several of the parent's names of it were met. */
  same?: Node;
}

/** A clone whose source is known only once the parent is read. */
interface PendingClone {
  range: StreamRange;
  clone: { at: number; source: StreamRange[] };
  /** A node of the parent's tree, as this stream named it, or a path in the parent. */
  node?: Node;
  path?: string;
}

export interface IndexerOptions {
  /**
   * How many names the inode at this path of the parent snapshot has (its link count). Without it, an
   * incremental that touches a file reads the whole parent index once to find the other names of hard links.
   */
  parentLinks?: (path: string) => Promise<number>;
  /** A full stream's tree: the bytes of it held in memory (the rest waits in a temporary file), 2^pageShift nodes a page. */
  tree?: { memory?: number; pageShift?: number };
}

const join = (directory: string, name: string) => (directory === '.' ? name : `${directory}/${name}`);
const real = (node: Node) => node.origin?.same ?? node;

/** An attribute of a command as an index path. */
function textOf(read: CommandAttributes, attribute: number): string {
  return indexPath(read.bytes(attribute));
}

/**
 * Builds a backup's file index from its send stream as it flows past. Paths in a send stream name the tree as
 * it is at that moment, so the tree is simulated node by node (renames move whole subtrees, orphan names
 * included). A full stream's tree is all in memory, compactly (FullStreamIndexer), and is given whole, in index
 * order, through a spool. An incremental's tree holds only the nodes the stream names: the others stay in the parent's index, read after
 * the stream (in index order) where the stream's changes need them; the result is the changes to the parent's index.
 */
export class SendStreamIndexer {
  private readonly root: Node;
  /** The file the previous data command wrote to: a span grows only over consecutive data commands of one file. */
  private lastWritten?: Node;
  /** UUIDs (hex) of the subvolume this stream makes and of its parent, for resolving clone sources. */
  private uuid?: string;
  private parentUuid?: string;
  private changeNumber = 0;
  private readonly pendingClones: PendingClone[] = [];
  /** Written to the spool: the first name of each file met (a later name of it is a hard link). */
  private readonly leaders = new Map<Node, string>();
  private entries = 0;
  /** A full stream's tree; let go once its index is spooled. */
  private full?: FullStreamIndexer;

  constructor(
    private readonly backupId: string,
    private readonly parent?: IndexView,
    private readonly options: IndexerOptions = {},
  ) {
    this.root = this.parentNode(undefined, '.');
    if (!parent) this.full = new FullStreamIndexer(backupId, options.tree);
  }

  private parentNode(directory: Node | undefined, name: string): Node {
    return {
      mode: 0,
      uid: 0,
      gid: 0,
      size: 0,
      mtime: '0',
      from: '',
      origin: { directory, name, changes: [], dirty: false, relinked: false },
    };
  }

  private originPath(node: Node): string {
    const origin = node.origin!;
    return origin.directory ? join(this.originPath(origin.directory), origin.name) : '.';
  }

  /** The node under `name` now; a name the stream has not met in a directory of the parent is the parent's. */
  private child(directory: Node, name: string): Node | undefined {
    const known = directory.children?.get(name);
    if (known !== undefined) return known ?? undefined;
    if (!directory.origin || directory.children?.has(name)) return undefined;
    const node = this.parentNode(directory, name);
    (directory.origin.children ??= new Map()).set(name, node);
    (directory.children ??= new Map()).set(name, node);
    return node;
  }

  private lookup(path: string): Node {
    if (path === '' || path === '.') return this.root;
    let node = this.root;
    for (const part of path.split('/')) {
      const next = this.child(node, part);
      if (!next) throw new Error(`the stream names ${path}, which does not exist at that point`);
      node = next;
    }
    return node;
  }

  private lookupOptional(path: string): Node | undefined {
    try {
      return this.lookup(path);
    } catch {
      return undefined;
    }
  }

  private parentOf(path: string): [Node, string] {
    const slash = path.lastIndexOf('/');
    const directory = this.lookup(slash < 0 ? '' : path.slice(0, slash));
    if (directory.origin && directory.type === undefined) directory.children ??= new Map();
    if (!directory.children) throw new Error(`${path}: its parent is not a directory`);
    return [directory, path.slice(slash + 1)];
  }

  /** Puts `node` under `name`, or removes the name (hiding the parent's entry there). */
  private place(directory: Node, name: string, node: Node | null): void {
    if (node === null && !directory.origin) directory.children!.delete(name);
    else directory.children!.set(name, node);
  }

  /** Applies a change now, or, to a node of the parent, once its entry is read. */
  private change(node: Node, change: Change): void {
    if (node.origin) {
      node.origin.changes.push([this.changeNumber++, change]);
      node.origin.dirty = true;
    } else change(node);
  }

  private touch(node: Node): void {
    const backupId = this.backupId;
    this.change(node, (changed) => {
      changed.from = backupId;
    });
  }

  /** Applies one command; a command that lacks what it needs is a STREAM_DAMAGED error naming it and the attribute. */
  apply(command: SendCommand): void {
    try {
      if (this.full) this.full.apply(command);
      else this.applyToParent(command, new CommandAttributes(command));
    } catch (error) {
      if (!(error instanceof BadAttribute)) throw error;
      throw streamDamaged(this.backupId, `send stream at byte ${command.offset}, ${commandName(command.type)}: ${error.message}`, {
        offset: command.offset,
      });
    }
  }

  private applyToParent(command: SendCommand, read: CommandAttributes): void {
    // No closure here may reach `read`: the changes kept for the parent's nodes would keep each command's
    // attributes, and with them the stream's chunks they are views of (a 1M incremental held 43 MiB so).
    const created = createdEntry(command.type, read);
    if (created) {
      const [directory, name] = this.parentOf(textOf(read, Attribute.PATH));
      const node: Node = {
        type: created.kind,
        mode: created.kind === 'symlink' ? 0o777 : created.kind === 'directory' ? 0o700 : 0o600,
        uid: 0,
        gid: 0,
        size: 0,
        mtime: '0',
        from: this.backupId,
        // Kept inside the object: a field added later would go to a separate store.
        ranges: undefined,
      };
      if (created.kind === 'directory') node.children = new Map();
      if (created.target) node.target = indexPath(created.target);
      if (created.device) [node.devMajor, node.devMinor] = created.device;
      if (created.mode !== undefined) node.mode = created.mode;
      this.place(directory, name, node);
      return;
    }
    if (DATA_COMMANDS.has(command.type)) {
      const path = textOf(read, Attribute.PATH);
      const range = this.data(command, path, dataEnd(command.type, read));
      if (command.type === Command.CLONE && range) this.cloneInto(range, command.offset, read);
      if (command.type === Command.TRUNCATE) {
        const size = read.u64(Attribute.SIZE);
        this.change(this.lookup(path), (changed) => {
          changed.size = size;
        });
      }
      return;
    }
    switch (command.type) {
      case Command.SUBVOL:
        this.root.children = new Map();
        this.touch(this.root);
        this.uuid = read.bytes(Attribute.UUID).toString('hex');
        return;
      case Command.SNAPSHOT:
        this.uuid = read.bytes(Attribute.UUID).toString('hex');
        this.parentUuid = read.bytes(Attribute.CLONE_UUID).toString('hex');
        return;
      case Command.RENAME: {
        const path = textOf(read, Attribute.PATH);
        const [from, name] = this.parentOf(path);
        const node = this.child(from, name);
        if (!node) throw new Error(`rename of ${path}, which does not exist`);
        this.place(from, name, null);
        const [to, newName] = this.parentOf(textOf(read, Attribute.PATH_TO));
        this.place(to, newName, node);
        return;
      }
      case Command.LINK: {
        const [directory, name] = this.parentOf(textOf(read, Attribute.PATH));
        const node = this.lookup(textOf(read, Attribute.PATH_LINK));
        this.touch(node);
        if (node.origin) node.origin.relinked = true;
        this.place(directory, name, node);
        return;
      }
      case Command.UNLINK:
      case Command.RMDIR: {
        const [directory, name] = this.parentOf(textOf(read, Attribute.PATH));
        const node = this.child(directory, name);
        if (node?.origin) node.origin.relinked = true;
        this.place(directory, name, null);
        return;
      }
      case Command.SET_XATTR: {
        const node = this.lookup(textOf(read, Attribute.PATH));
        const name = textOf(read, Attribute.XATTR_NAME);
        const value = read.bytes(Attribute.XATTR_DATA).toString('base64');
        this.touch(node);
        this.change(node, (changed) => {
          changed.xattrs = { ...changed.xattrs, [name]: value };
        });
        return;
      }
      case Command.REMOVE_XATTR: {
        const node = this.lookup(textOf(read, Attribute.PATH));
        const name = textOf(read, Attribute.XATTR_NAME);
        this.touch(node);
        this.change(node, (changed) => {
          if (!changed.xattrs) return;
          // A copy: the object may be the parent index's own.
          changed.xattrs = { ...changed.xattrs };
          delete changed.xattrs[name];
        });
        return;
      }
      case Command.CHMOD: {
        const mode = read.u64(Attribute.MODE) & 0o7777;
        const node = this.lookup(textOf(read, Attribute.PATH));
        this.touch(node);
        this.change(node, (changed) => {
          changed.mode = mode;
        });
        return;
      }
      case Command.CHOWN: {
        const [uid, gid] = [read.u64(Attribute.UID), read.u64(Attribute.GID)];
        const node = this.lookup(textOf(read, Attribute.PATH));
        this.touch(node);
        this.change(node, (changed) => {
          [changed.uid, changed.gid] = [uid, gid];
        });
        return;
      }
      case Command.UTIMES: {
        const { seconds, nanoseconds } = read.time(Attribute.MTIME);
        const mtime = seconds * 1_000_000_000n + BigInt(nanoseconds);
        this.change(this.lookup(textOf(read, Attribute.PATH)), (changed) => {
          changed.mtime = mtime;
        });
        return;
      }
      default:
        return;
    }
  }

  /**
   * A command that changes a file's data: the file grows to `end`, and its span in this stream covers the
   * command (the span, for a clone to note its source). A file of the parent keeps this stream's spans apart
   * until the parent's are read.
   */
  private data(command: SendCommand, path: string, end: number): StreamRange | undefined {
    const node = this.lookup(path);
    this.touch(node);
    this.change(node, (changed) => {
      if (end > changed.size) changed.size = end;
    });
    let range: StreamRange | undefined;
    const last = node.ranges?.at(-1);
    if (this.lastWritten === node && last?.from === this.backupId && last.path === path) (range = last).end = command.offset + command.size;
    else if (node.ranges || node.origin || node.type === 'file') {
      range = { from: this.backupId, start: command.offset, end: command.offset + command.size, path };
      // A list made with its first span holds one: an empty one that is pushed to is made room for 17.
      if (node.ranges) node.ranges.push(range);
      else node.ranges = [range];
    }
    this.lastWritten = node;
    return range;
  }

  /**
   * Notes a clone's source on its span: a file of this stream (by its path now: its own list, which later
   * commands extend; readers cut it at the clone, see CloneSource.ts) or of the parent (by its path there). Not
   * copied, so a file cloning from itself costs one record per clone. A source elsewhere or without spans
   * marks the span as one replaying cannot rebuild.
   */
  private cloneInto(range: StreamRange, at: number, read: CommandAttributes): void {
    const uuid = read.bytes(Attribute.CLONE_UUID).toString('hex');
    const sourcePath = indexPath(read.bytes(Attribute.CLONE_PATH));
    let source: StreamRange[] | undefined;
    let pending: Omit<PendingClone, 'range' | 'clone'> | undefined;
    if (uuid === this.uuid) {
      const node = this.lookupOptional(sourcePath);
      if (node?.origin || node?.type === 'file') node.ranges ??= [];
      if (node?.origin) pending = { node };
      source = node?.ranges;
    } else if (uuid === this.parentUuid && this.parent) {
      source = [];
      pending = { path: sourcePath };
    }
    if (!source) {
      range.clone = true;
      return;
    }
    const clone = { at, source };
    (range.clones ??= []).push(clone);
    if (pending) this.pendingClones.push({ range, clone, ...pending });
  }

  /** A full stream's whole index in index order, built as it is read, once the stream has ended (see FullStreamIndexer.inOrder). */
  fullIndex(): Iterable<IndexEntry> {
    const full = this.full;
    if (!full) throw new Error('fullIndex() is for a full stream, once');
    this.full = undefined;
    return full.inOrder();
  }

  /**
   * The index, once the stream has ended: a full stream's whole index, walked in index order, or an
   * incremental's changes to the parent's index (spooled: a renamed directory rewrites its subtree).
   */
  async index(): Promise<WalkedIndex | IndexChanges> {
    if (!this.parent) {
      const full = this.full!;
      this.full = undefined;
      return full.index();
    }
    const spool = new IndexSpool();
    try {
      await this.resolve(this.parent);
      this.entries = this.parent.entries;
      await this.inPlace(this.root, '.', spool);
      return { backupId: this.backupId, changes: spool, entries: this.entries };
    } catch (error) {
      await spool.close();
      throw error;
    }
  }

  /** Reads the parent's entry of every node of the parent the stream met, and replays the stream's changes on them. */
  private async resolve(parent: IndexView): Promise<void> {
    const met: Node[] = [];
    // Depth first, names sorted: the parent's blocks are read in order, each once.
    const visit = async (node: Node) => {
      await this.read(parent, node);
      met.push(node);
      const children = node.origin!.children;
      if (children) for (const name of [...children.keys()].sort(compareNames)) await visit(children.get(name)!);
    };
    await visit(this.root);
    met.push(...(await this.otherNames(parent, met)));

    const inodes = new Map<string, Node[]>();
    for (const node of met) {
      const entry = node.origin!.entry!;
      if (entry.type !== 'file' && entry.type !== 'hardlink') {
        this.settle(node, entry, node.origin!.changes);
        continue;
      }
      const leader = entry.type === 'hardlink' ? entry.linkTo! : entry.path;
      const names = inodes.get(leader);
      if (names) names.push(node);
      else inodes.set(leader, [node]);
    }
    for (const [leader, names] of inodes) {
      const base = names.map((node) => node.origin!.entry!).find((entry) => entry.path === leader) ?? (await parent.get(leader));
      if (base?.type !== 'file')
        throw new Error(`the parent index links ${names[0]!.origin!.entry!.path} to ${leader}, which is not a file there`);
      const [node, ...others] = names;
      const spans = names.flatMap((name) => name.ranges ?? []).sort((a, b) => a.start - b.start);
      if (base.ranges) {
        const ranges = (node!.ranges ??= []);
        ranges.splice(0, ranges.length, ...base.ranges, ...spans);
      } else node!.ranges = undefined;
      for (const other of others) {
        other.origin!.same = node;
        node!.origin!.dirty ||= other.origin!.dirty;
      }
      this.settle(
        node!,
        base,
        names.flatMap((name) => name.origin!.changes),
      );
    }

    const parentSpans = new Map<string, Promise<StreamRange[] | undefined>>();
    const spansIn = (path: string): Promise<StreamRange[] | undefined> => {
      let known = parentSpans.get(path);
      if (!known) {
        known = parent
          .get(path)
          .then((entry): Promise<StreamRange[] | undefined> | StreamRange[] | undefined =>
            entry?.type === 'hardlink' ? spansIn(entry.linkTo!) : entry?.ranges,
          );
        parentSpans.set(path, known);
      }
      return known;
    };
    for (const pending of this.pendingClones) {
      const source = pending.node ? real(pending.node).ranges : await spansIn(pending.path!);
      if (source) pending.clone.source = source;
      else {
        const clones = pending.range.clones!;
        clones.splice(clones.indexOf(pending.clone), 1);
        if (clones.length === 0) delete pending.range.clones;
        pending.range.clone = true;
      }
    }
    this.pendingClones.length = 0;
    // Settled: the parent's entries and the changes replayed on them are garbage while the changes are written.
    for (const node of met) {
      node.origin!.entry = undefined;
      node.origin!.changes = [];
    }
  }

  /** The parent's entry of a node; a name not found may be kept there in its lossy UTF-8 form (older indexes). */
  private async read(parent: IndexView, node: Node): Promise<void> {
    const origin = node.origin!;
    const path = this.originPath(node);
    let entry = await parent.get(path);
    const directory = origin.directory;
    if (!entry && directory && isBinaryPath(origin.name)) {
      const lossy = pathBytes(origin.name).toString('utf8');
      entry = await parent.get(join(this.originPath(directory), lossy));
      if (entry) {
        // Filed under its exact name from now on: the lossy one is removed.
        const children = directory.origin!.children!;
        children.delete(origin.name);
        children.set(lossy, node);
        origin.name = lossy;
        if (!directory.children!.has(lossy)) directory.children!.set(lossy, null);
      }
    }
    if (!entry) throw new Error(`the stream names ${path}, which does not exist at that point`);
    origin.entry = entry;
  }

  private settle(node: Node, base: IndexEntry, changes: Array<[number, Change]>): void {
    node.type = base.type;
    node.mode = base.mode;
    node.uid = base.uid;
    node.gid = base.gid;
    node.size = base.type === 'file' ? base.size : 0;
    node.mtime = base.mtime;
    node.from = base.from;
    if (base.target !== undefined) node.target = base.target;
    if (base.devMajor !== undefined) [node.devMajor, node.devMinor] = [base.devMajor, base.devMinor];
    if (base.xattrs) node.xattrs = base.xattrs;
    if (base.type !== 'file') node.ranges = undefined;
    for (const [, change] of changes.sort((a, b) => a[0] - b[0])) change(node);
  }

  /** Whether the node is where it was in the parent, under the same path. */
  private isInPlace(node: Node): boolean {
    const directory = node.origin!.directory;
    return !directory || (directory.children?.get(node.origin!.name) === node && this.isInPlace(directory));
  }

  /**
   * The parent's other names of the inodes whose names change or whose state is written again (a file the
   * stream touched, moved, linked or unlinked; every file under a moved directory): each is written again,
   * its first name in index order as the file, the others as hard links to it. They are found in one pass
   * over the parent's index, needed only when such a file has several names (asked of `parentLinks`).
   */
  private async otherNames(parent: IndexView, met: Node[]): Promise<Node[]> {
    const files: IndexEntry[] = [];
    const moved: string[] = [];
    for (const node of met) {
      const origin = node.origin!;
      const entry = origin.entry!;
      const inPlace = this.isInPlace(node);
      if (entry.type === 'directory' && !inPlace) moved.push(entry.path);
      else if ((entry.type === 'file' || entry.type === 'hardlink') && (origin.dirty || origin.relinked || !inPlace)) files.push(entry);
    }
    if (files.length === 0 && moved.length === 0) return [];
    const links = this.options.parentLinks;
    const linked = async (entry: IndexEntry) =>
      entry.type === 'hardlink' || (entry.type === 'file' && (!links || (await links(entry.path)) > 1));
    let any = false;
    // Asked a batch at a time: each is a stat of the parent snapshot, and a 1% change of a million files asks 10,000.
    for (let at = 0; at < files.length && !any; at += LINK_QUESTIONS_AT_ONCE)
      any = (await Promise.all(files.slice(at, at + LINK_QUESTIONS_AT_ONCE).map(linked))).includes(true);
    for (const directory of moved) {
      if (any) break;
      for await (const entry of parent.subtree(directory)) if ((any = await linked(entry))) break;
    }
    if (!any) return [];

    const names = new Map<string, string[]>();
    for await (const entry of parent.all()) {
      if (entry.type !== 'hardlink') continue;
      const others = names.get(entry.linkTo!);
      if (others) others.push(entry.path);
      else names.set(entry.linkTo!, [entry.path]);
    }
    const changed = new Set(files.map((entry) => entry.path));
    const found: Node[] = [];
    for (const [leader, others] of names) {
      const all = [leader, ...others];
      if (!all.some((path) => changed.has(path) || moved.some((directory) => isWithin(path, directory)))) continue;
      for (const path of all) {
        for (const node of this.parentPath(path)) {
          await this.read(parent, node);
          found.push(node);
        }
        this.nodeAt(path).origin!.dirty = true;
      }
    }
    return found;
  }

  /** Meets the parent's path `path`: the nodes made for it (those not met yet), outermost first. */
  private parentPath(path: string): Node[] {
    const made: Node[] = [];
    let node = this.root;
    for (const name of path.split('/')) {
      const origin = node.origin!;
      let next = origin.children?.get(name);
      if (!next) {
        next = this.parentNode(node, name);
        (origin.children ??= new Map()).set(name, next);
        // A name the stream replaced without meeting the parent's node there: the node is gone.
        const children = (node.children ??= new Map());
        if (!children.has(name)) children.set(name, next);
        made.push(next);
      }
      node = next;
    }
    return made;
  }

  private nodeAt(path: string): Node {
    let node = this.root;
    for (const name of path.split('/')) node = node.origin!.children!.get(name)!;
    return node;
  }

  /** Writes the changes under a node of the parent that is where it was. */
  private async inPlace(node: Node, path: string, spool: IndexSpool): Promise<void> {
    const state = real(node);
    if (state.origin!.dirty) await spool.add(this.entryOf(state, path));
    if (state.type !== 'directory' || !node.children) return;
    for (const name of [...node.children.keys()].sort(compareNames)) {
      const child = node.children.get(name)!;
      const at = join(path, name);
      if (child === null) await this.replace(at, undefined, spool);
      else if (child.origin?.directory === node && child.origin.name === name) await this.inPlace(child, at, spool);
      else await this.replace(at, this.whole(child, at), spool);
    }
  }

  /** Writes the entries now under `path` over the parent's there: tombstones for the parent's paths gone. */
  private async replace(path: string, entries: AsyncIterable<IndexEntry> | undefined, spool: IndexSpool): Promise<void> {
    const before = this.parent!.subtree(path);
    let old = await before.next();
    for await (const entry of entries ?? []) {
      for (; !old.done && comparePaths(old.value.path, entry.path) < 0; old = await before.next())
        await this.tombstone(old.value.path, spool);
      if (!old.done && old.value.path === entry.path) old = await before.next();
      else this.entries++;
      await spool.add(entry);
    }
    for (; !old.done; old = await before.next()) await this.tombstone(old.value.path, spool);
  }

  private async tombstone(path: string, spool: IndexSpool): Promise<void> {
    this.entries--;
    const record: IndexRecord = { path, deleted: true };
    await spool.add(record);
  }

  /**
   * Every entry of a node's subtree under its path now, in index order: a node of the parent brings the
   * parent's entries below it (moved to the new path) where the stream left them as they were.
   */
  private async *whole(node: Node, path: string): AsyncGenerator<IndexEntry> {
    const state = real(node);
    yield this.entryOf(state, path);
    if (state.type !== 'directory') return;
    const children = node.children ?? new Map<string, Node | null>();
    const names = [...children.keys()].sort(compareNames);
    let next = 0;
    if (node.origin) {
      const base = this.originPath(node);
      const prefix = base === '.' ? 0 : base.length + 1;
      let skipping: string | undefined;
      for await (const entry of this.parent!.subtree(base)) {
        if (entry.path === base) continue;
        const rest = entry.path.slice(prefix);
        const slash = rest.indexOf('/');
        const name = slash < 0 ? rest : rest.slice(0, slash);
        if (name === skipping) continue;
        for (; next < names.length && compareNames(names[next]!, name) < 0; next++) yield* this.wholeChild(children, names[next]!, path);
        if (names[next] === name) {
          // The stream's node under this name replaces the parent's subtree there.
          yield* this.wholeChild(children, names[next++]!, path);
          skipping = name;
          continue;
        }
        yield { ...entry, path: join(path, rest) };
      }
    }
    for (; next < names.length; next++) yield* this.wholeChild(children, names[next]!, path);
  }

  private async *wholeChild(children: Map<string, Node | null>, name: string, path: string): AsyncGenerator<IndexEntry> {
    const child = children.get(name);
    if (child) yield* this.whole(child, join(path, name));
  }

  /** A node's entry at `path`: a file's later names, in index order, are hard links to its first. */
  private entryOf(node: Node, path: string): IndexEntry {
    const leader = this.leaders.get(node);
    if (leader !== undefined) {
      return {
        path,
        type: 'hardlink',
        linkTo: leader,
        size: 0,
        mode: node.mode,
        uid: node.uid,
        gid: node.gid,
        mtime: String(node.mtime),
        from: node.from,
      };
    }
    if (node.type === 'file') this.leaders.set(node, path);
    const entry: IndexEntry = {
      type: node.type!,
      mode: node.mode,
      uid: node.uid,
      gid: node.gid,
      size: node.type === 'file' ? node.size : 0,
      mtime: String(node.mtime),
      from: node.from,
      path,
    };
    if (node.target !== undefined) entry.target = node.target;
    if (node.devMajor !== undefined) [entry.devMajor, entry.devMinor] = [node.devMajor, node.devMinor];
    if (node.xattrs) entry.xattrs = node.xattrs;
    if (node.ranges) entry.ranges = node.ranges;
    else if (node.type === 'file' && !node.origin) entry.ranges = [];
    return entry;
  }
}
