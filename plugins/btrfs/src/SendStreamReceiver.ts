import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  linkSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  rmdirSync,
  rmSync,
  symlinkSync,
  unlinkSync,
} from 'node:fs';
import path from 'node:path';
import {
  RastError,
  type RestoreReport,
  chainMismatch,
  locatedAt,
  restoreRefused,
  restoreWriteFailed,
  streamDamagedAt,
  streamDamagedInBackup,
} from '@rast-backup/core';
import { isRestorableXattr } from './BtrfsProperties.js';
import { BadAttribute, CommandAttributes, commandName } from './CommandAttributes.js';
import { createdEntry, type CreatedEntry } from './CreatedEntry.js';
import { applyDataCommand, DATA_COMMANDS, NO_DATA, type CloneRange } from './DataCommand.js';
import { UndecodableExtent } from './EncodedExtent.js';
import { BadFileData, FileDataWriter, type RangeSource } from './FileDataWriter.js';
import { ParentFileView } from './ParentFileView.js';
import { MetadataApplier } from './MetadataApplier.js';
import { ReceiveTree, UnsafePath, show, type ReceiveNode, type Time } from './ReceiveTree.js';
import { Attribute, Command, SendStreamDecoder, type SendCommand } from './SendStreamDecoder.js';
import { SkipList } from './SkipList.js';
import { xattrReason } from './XattrError.js';
import { extendedAttributes, makeSpecialFile } from '@rast-backup/restore-kit';

const CAPABILITY = 'security.capability';

/** A stream that contradicts itself (a path that is not there, a file that is a directory…). */
class Inconsistent extends Error {}

export interface ReceiverOptions {
  /** Owners and device nodes are restored only as root. */
  isRoot: boolean;
  /** `btrfs.*` xattrs (btrfs properties) are set only on btrfs; elsewhere they are left out. */
  onBtrfs: boolean;
  /** Told once per kind of stream content this receiver leaves out by design (FILEATTR, verity). */
  note?: (message: string) => void;
}

/** A timespec attribute as the tree keeps it. */
function time({ seconds, nanoseconds }: { seconds: bigint; nanoseconds: number }): Time {
  return { seconds: Number(seconds), nanoseconds };
}

/**
 * Restores btrfs send streams onto any filesystem, without `btrfs receive`: the full backup's stream,
 * then each incremental one in order, into one destination directory. Paths are resolved only through
 * the receiver's own tree (ReceiveTree); nothing on disk is followed or trusted. File data goes through
 * FileDataWriter; clones from the parent read an unchanged view of it (ParentFileView). Commands are read
 * through the stream model the indexers share (CommandAttributes, CreatedEntry, DataCommand). Owners, modes,
 * file capabilities and times are applied by MetadataApplier once all streams are in.
 */
export class SendStreamReceiver {
  readonly tree = new ReceiveTree();
  private readonly skipped = new SkipList();
  private readonly noted = new Set<string>();
  private readonly destination: Buffer;
  private readonly stash: string;
  private readonly parentView: ParentFileView;
  private stashed: ReceiveNode[] = [];
  private stashCount = 0;
  private streamIndex = -1;
  private subvolume?: { uuid: string; ctransid: bigint };
  private parent?: { uuid: string; ctransid: bigint };
  private current?: { node: ReceiveNode; writer: FileDataWriter };
  private begun = false;
  private bytes = 0;
  private name: { backup: string } | string = '';
  private label = '';

  constructor(
    destination: string,
    private readonly options: ReceiverOptions,
  ) {
    this.destination = Buffer.from(destination);
    this.stash = path.join(destination, `.rast-receive-${randomBytes(6).toString('hex')}`);
    mkdirSync(this.stash, { mode: 0o700 });
    this.parentView = new ParentFileView(path.join(this.stash, 'parent-data'));
    this.tree.root.uid = process.getuid?.() ?? 0;
    this.tree.root.gid = process.getgid?.() ?? 0;
  }

  /** Applies one backup's stream: the full backup first, then each incremental in chain order. */
  async receive(name: { backup: string } | string, stream: AsyncIterable<Buffer>): Promise<void> {
    this.name = name;
    this.label = typeof name === 'string' ? name : `backup ${name.backup}`;
    this.streamIndex += 1;
    this.tree.stream = this.streamIndex;
    this.parentView.startStream(this.streamIndex);
    this.begun = false;
    const decoder = new SendStreamDecoder(name, (command) => this.apply(command));
    for await (const chunk of stream) {
      decoder.push(chunk);
      this.bytes += chunk.length;
    }
    decoder.finish();
    if (!this.begun) throw streamDamagedAt(this.label, 'the send stream holds no subvolume');
    this.closeCurrent();
    for (const node of this.stashed) unlinkSync(path.join(this.stash, node.stashed!));
    this.stashed = [];
  }

  private apply(command: SendCommand): void {
    try {
      this.dispatch(command);
    } catch (error) {
      const at = `send stream at byte ${command.offset}, ${commandName(command.type)}${command.attributes.has(Attribute.PATH) ? ` ${show(command.attributes.get(Attribute.PATH)!)}` : ''}`;
      const where = `${this.label}: ${at}`;
      const facts = { offset: command.offset, command: commandName(command.type) };
      if (error instanceof UnsafePath) throw restoreRefused(where, error.message, facts);
      if (
        error instanceof Inconsistent ||
        error instanceof BadAttribute ||
        error instanceof BadFileData ||
        error instanceof UndecodableExtent
      )
        throw typeof this.name === 'string'
          ? streamDamagedAt(where, error.message, facts)
          : streamDamagedInBackup(this.name.backup, `${at}: ${error.message}`, facts);
      if (error instanceof RastError) throw locatedAt(where, error, facts);
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' || code === 'ELOOP' || code === 'ENOTDIR')
        throw restoreRefused(where, `the destination holds something the stream did not make there (${code})`, facts);
      throw restoreWriteFailed(where, error, facts);
    }
  }

  private absolute(relative: Buffer): Buffer {
    return relative.length === 0 ? this.destination : Buffer.concat([this.destination, Buffer.from('/'), relative]);
  }

  private stashPath(name: string): string {
    return path.join(this.stash, name);
  }

  private dispatch(command: SendCommand): void {
    const read = new CommandAttributes(command);
    if (command.type === Command.SUBVOL || command.type === Command.SNAPSHOT) return this.begin(command, read);
    if (command.type === Command.END) return;
    if (!this.begun) throw new Inconsistent('the stream does not start with a subvolume');
    const raw = () => read.bytes(Attribute.PATH);
    const created = createdEntry(command.type, read);
    if (created) return this.create(created, raw());
    if (DATA_COMMANDS.has(command.type)) {
      // Refused before its path is looked up: the path of a --no-data stream's command may not exist here.
      if (command.type === Command.UPDATE_EXTENT) throw new BadFileData(NO_DATA);
      const path = raw();
      const writer = this.writer(path);
      applyDataCommand(command, writer, (range) => this.clone(read, writer, range));
      return;
    }
    switch (command.type) {
      case Command.RENAME:
        return this.rename(raw(), read.bytes(Attribute.PATH_TO));
      case Command.LINK:
        return this.link(read.bytes(Attribute.PATH_LINK), raw());
      case Command.UNLINK: {
        const { directory, name, existing } = this.tree.placeOf(raw());
        if (!existing) throw new Inconsistent('unlink of a name that does not exist');
        if (existing.kind === 'directory') throw new Inconsistent('unlink of a directory');
        return this.removeName(existing, directory, name, raw());
      }
      case Command.RMDIR: {
        const { directory, name, existing } = this.tree.placeOf(raw());
        if (!existing || existing.kind !== 'directory') throw new Inconsistent('rmdir of something that is not a directory');
        if (existing.children!.size > 0) throw new Inconsistent(`rmdir of a directory that still holds ${existing.children!.size} entries`);
        rmdirSync(this.absolute(raw()));
        this.tree.detach(existing, directory, name);
        return;
      }
      case Command.SET_XATTR:
      case Command.REMOVE_XATTR:
        return this.xattr(
          command.type === Command.SET_XATTR,
          raw(),
          read.bytes(Attribute.XATTR_NAME),
          command.type === Command.SET_XATTR ? read.bytes(Attribute.XATTR_DATA) : undefined,
        );
      case Command.CHMOD:
        this.tree.resolve(raw(), true).mode = read.u64(Attribute.MODE) & 0o7777;
        return;
      case Command.CHOWN: {
        const node = this.tree.resolve(raw(), true);
        node.uid = read.u64(Attribute.UID);
        node.gid = read.u64(Attribute.GID);
        return;
      }
      case Command.UTIMES: {
        const node = this.tree.resolve(raw(), true);
        node.mtime = time(read.time(Attribute.MTIME));
        node.atime = time(read.time(Attribute.ATIME));
        return;
      }
      case Command.FILEATTR:
        this.tree.resolve(raw(), true);
        return this.note('btrfs inode flags (FILEATTR: immutable, append-only, nodatacow…) are not restored by the user-space receiver');
      case Command.ENABLE_VERITY:
        return this.note('fs-verity (ENABLE_VERITY) is not enabled by the user-space receiver');
      default:
        this.skipped.add(`send stream command ${command.type}, unknown to this receiver, left out`, `byte ${command.offset}`);
    }
  }

  private note(message: string): void {
    if (this.noted.has(message)) return;
    this.noted.add(message);
    this.options.note?.(`${this.label}: ${message}`);
  }

  private begin(command: SendCommand, read: CommandAttributes): void {
    if (this.begun) throw new Inconsistent("a second subvolume in one backup's stream");
    const uuid = read.bytes(Attribute.UUID).toString('hex');
    const ctransid = read.bigU64(Attribute.CTRANSID);
    if (command.type === Command.SUBVOL) {
      if (this.streamIndex !== 0) throw chainMismatch('a full send stream where the chain needs an incremental one');
    } else {
      const parent = { uuid: read.bytes(Attribute.CLONE_UUID).toString('hex'), ctransid: read.bigU64(Attribute.CLONE_CTRANSID) };
      if (this.streamIndex === 0) throw chainMismatch('an incremental send stream with no full backup before it in the chain');
      if (parent.uuid !== this.subvolume!.uuid || parent.ctransid !== this.subvolume!.ctransid) {
        throw chainMismatch(
          `an incremental stream on subvolume ${parent.uuid} (ctransid ${parent.ctransid}), but the backup before it in the chain is ${this.subvolume!.uuid} (ctransid ${this.subvolume!.ctransid})`,
        );
      }
      this.parent = parent;
    }
    this.subvolume = { uuid, ctransid };
    this.begun = true;
  }

  private create({ kind, target: link, device }: CreatedEntry, raw: Buffer): void {
    const { directory, name, existing } = this.tree.placeOf(raw);
    if (existing) throw new Inconsistent(`creates ${show(raw)}, which exists already`);
    const node: ReceiveNode = {
      kind,
      links: [],
      bornIn: this.streamIndex,
      size: 0,
      mode: kind === 'directory' ? 0o700 : kind === 'symlink' ? 0o777 : 0o600,
      uid: this.tree.root.uid,
      gid: this.tree.root.gid,
    };
    if (kind === 'directory') node.children = new Map();
    const target = this.absolute(raw);
    if (kind === 'file') {
      // Kept open: its data usually follows (after a rename from its orphan name).
      const fd = openSync(target, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      this.closeCurrent();
      this.current = { node, writer: this.newWriter(node, fd, 0) };
    } else if (kind === 'directory') mkdirSync(target, { mode: 0o700 });
    else if (kind === 'symlink') {
      if (!link || link.length === 0 || link.includes(0)) throw new Inconsistent('a symlink with an empty target or a NUL byte in it');
      symlinkSync(link, target);
    } else {
      const [major, minor] = device ?? [0, 0];
      if (node.kind.endsWith('device') && !this.options.isRoot) {
        node.absent = 'a device node (needs root)';
        this.skipped.add('device nodes (need root)', show(raw));
      } else {
        // Made under a plain ASCII name in the stash (the tools take text paths), then linked into place.
        const temporary = `new-${(this.stashCount += 1)}`;
        makeSpecialFile(this.stash, temporary, node.kind as 'fifo', major, minor);
        linkSync(this.stashPath(temporary), target);
        unlinkSync(this.stashPath(temporary));
      }
    }
    this.tree.attach(node, directory, name);
  }

  private rename(from: Buffer, to: Buffer): void {
    const source = this.tree.placeOf(from);
    const node = source.existing;
    if (!node) throw new Inconsistent('rename of a name that does not exist');
    const destination = this.tree.placeOf(to);
    if (node.kind === 'directory' && this.tree.isAncestor(node, destination.directory))
      throw new UnsafePath(`moves directory ${show(from)} into itself (${show(to)})`);
    const replaced = destination.existing;
    if (replaced === node) return;
    if (replaced) {
      if ((replaced.kind === 'directory') !== (node.kind === 'directory'))
        throw new Inconsistent(`renames onto ${show(to)}, which is ${replaced.kind === 'directory' ? '' : 'not '}a directory`);
      if (replaced.kind === 'directory') {
        if (replaced.children!.size > 0) throw new Inconsistent(`renames onto directory ${show(to)}, which is not empty`);
        rmdirSync(this.absolute(to));
        this.tree.detach(replaced, destination.directory, destination.name);
      } else this.removeName(replaced, destination.directory, destination.name, to);
    }
    if (!node.absent) renameSync(this.absolute(from), this.absolute(to));
    this.tree.detach(node, source.directory, source.name);
    this.tree.attach(node, destination.directory, destination.name);
  }

  private link(existingPath: Buffer, newPath: Buffer): void {
    const node = this.tree.resolve(existingPath);
    if (node.kind === 'directory') throw new UnsafePath(`hard-links directory ${show(existingPath)}`);
    const { directory, name, existing } = this.tree.placeOf(newPath);
    if (existing) throw new Inconsistent(`links ${show(newPath)}, which exists already`);
    if (!node.absent) linkSync(this.absolute(existingPath), this.absolute(newPath));
    this.tree.attach(node, directory, name);
  }

  /** Removes one name of a non-directory. A parent file losing its last name is kept in the stash until the stream ends, for clones from the parent. */
  private removeName(node: ReceiveNode, directory: ReceiveNode, name: string, raw: Buffer): void {
    this.tree.detach(node, directory, name);
    if (node.absent) return;
    if (node.links.length === 0 && node.kind === 'file' && node.bornIn < this.streamIndex) {
      node.stashed = `gone-${(this.stashCount += 1)}`;
      renameSync(this.absolute(raw), this.stashPath(node.stashed));
      this.stashed.push(node);
      return;
    }
    unlinkSync(this.absolute(raw));
  }

  private xattr(set: boolean, raw: Buffer, rawName: Buffer, value: Buffer | undefined): void {
    const node = this.tree.resolve(raw, true);
    const name = rawName.toString('utf8');
    if (rawName.length === 0 || rawName.includes(0) || !Buffer.from(name).equals(rawName))
      throw new Inconsistent('an xattr name that is empty or not text');
    if (name === CAPABILITY) {
      node.capability = set ? Buffer.from(value ?? Buffer.alloc(0)) : undefined;
      return;
    }
    if (!isRestorableXattr(name, this.options.onBtrfs)) return;
    if (node.absent) return;
    try {
      this.withTextPath(node, raw, (target) => {
        const xattr = extendedAttributes();
        if (set) xattr.setAttributeSync(target, name, value ?? Buffer.alloc(0));
        // An xattr the entry lacks (one this receiver left out) has nothing to remove.
        else if (xattr.listAttributesSync(target).includes(name)) xattr.removeAttributeSync(target, name);
      });
    } catch (error) {
      this.skipped.add(`xattr ${name} (${xattrReason(error)})`, show(raw));
    }
  }

  /** Runs `action` with a text path to the node: the xattr binding takes no bytes. A non-UTF-8 path goes through a temporary link in the stash. */
  private withTextPath(node: ReceiveNode, raw: Buffer, action: (target: string) => void): void {
    const absolute = this.absolute(raw);
    const text = absolute.toString('utf8');
    if (Buffer.from(text).equals(absolute)) return action(text);
    if (node.kind === 'directory') throw new Error('a directory whose path is not UTF-8');
    const temporary = this.stashPath(`xattr-${(this.stashCount += 1)}`);
    linkSync(absolute, temporary);
    try {
      action(temporary);
    } finally {
      unlinkSync(temporary);
    }
  }

  /** The data writer of the file at `raw`, kept open while commands address the same file. */
  private writer(raw: Buffer): FileDataWriter {
    const node = this.tree.resolve(raw);
    if (node.kind !== 'file') throw new Inconsistent(`file data for ${show(raw)}, which is a ${node.kind}`);
    if (this.current?.node === node) return this.current.writer;
    this.closeCurrent();
    const fd = openSync(this.absolute(raw), constants.O_RDWR | constants.O_NOFOLLOW);
    const stats = fstatSync(fd);
    if (!stats.isFile()) {
      closeSync(fd);
      throw new UnsafePath(`${show(raw)} is not a regular file on disk`);
    }
    const writer = this.newWriter(node, fd, stats.size);
    this.current = { node, writer };
    return writer;
  }

  private newWriter(node: ReceiveNode, fd: number, size: number): FileDataWriter {
    return new FileDataWriter(fd, size, (start, end, before) => this.parentView.preserve(node, fd, start, end, before));
  }

  private closeCurrent(): void {
    if (!this.current) return;
    const { node, writer } = this.current;
    this.current = undefined;
    writer.flush();
    node.size = writer.size;
    closeSync(writer.fd);
  }

  /** A CLONE into the file at `raw`, open in `writer`: its source is a file of this stream or of the parent. */
  private clone(read: CommandAttributes, writer: FileDataWriter, { offset, length, sourceOffset }: CloneRange): void {
    const target = this.current!.node;
    const uuid = read.bytes(Attribute.CLONE_UUID).toString('hex');
    const sourcePath = read.bytes(Attribute.CLONE_PATH);
    let source: ReceiveNode;
    let fromParent = false;
    if (uuid === this.subvolume!.uuid) source = this.tree.resolve(sourcePath);
    else if (this.parent && uuid === this.parent.uuid) {
      source = this.tree.resolveInParent(sourcePath);
      fromParent = true;
    } else throw new UnsafePath(`CLONE from subvolume ${uuid || '(none)'}, which is neither this backup nor its parent`);
    if (source.kind !== 'file') throw new Inconsistent(`CLONE from ${show(sourcePath)}, which is a ${source.kind}`);
    if (source === target) {
      writer.clone(offset, length, fromParent ? this.parentView.reader(source, writer) : writer, sourceOffset, this.options.onBtrfs);
    } else {
      const location = source.stashed ? Buffer.from(this.stashPath(source.stashed)) : this.absolute(this.tree.pathOf(source));
      const fd = openSync(location, constants.O_RDONLY | constants.O_NOFOLLOW);
      try {
        const current: RangeSource = { read: (position, into, count) => readSync(fd, into, 0, count, position), fd };
        writer.clone(offset, length, fromParent ? this.parentView.reader(source, current) : current, sourceOffset, this.options.onBtrfs);
      } finally {
        closeSync(fd);
      }
    }
    target.size = writer.size;
  }

  /** After a failure: closes what is open and removes the stash; what was restored so far stays. */
  abandon(): void {
    try {
      this.closeCurrent();
      this.parentView.close();
    } catch {
      // Already closed.
    }
    rmSync(this.stash, { recursive: true, force: true });
  }

  /** Owners, modes, capabilities and times of the whole tree, then the report. Call once, after the last stream. */
  finish(): RestoreReport {
    this.closeCurrent();
    this.parentView.close();
    rmSync(this.stash, { recursive: true, force: true });
    const applier = new MetadataApplier(
      {
        absolute: (relative) => this.absolute(relative),
        withTextPath: (node, relative, action) => this.withTextPath(node, relative, action),
      },
      this.skipped,
      this.options.isRoot,
    );
    try {
      applier.apply(this.tree.root);
    } catch (error) {
      throw restoreWriteFailed(`${this.label}: setting owners, modes and times`, error);
    }
    return { entries: applier.entries, bytes: this.bytes, skipped: this.skipped.lines(), ownersNotSet: applier.ownersNotSet };
  }
}
