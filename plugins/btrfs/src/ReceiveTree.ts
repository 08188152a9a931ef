import { displayPath, indexPath } from '@rast-backup/core';

/** What a node of the received tree is. */
export type NodeKind = 'file' | 'directory' | 'symlink' | 'fifo' | 'socket' | 'char-device' | 'block-device';

/** Seconds and nanoseconds of a timespec attribute. */
export interface Time {
  seconds: number;
  nanoseconds: number;
}

/** One inode of the tree being received; hard links are several (directory, name) pairs of one node. */
export interface ReceiveNode {
  kind: NodeKind;
  /** Where it is now; a directory has exactly one link, the root none. Names are byte strings in latin1. */
  links: Array<{ directory: ReceiveNode; name: string }>;
  /** Directories: the children now. */
  children?: Map<string, ReceiveNode>;
  /** Directories: the children as the parent snapshot had them, saved when stream `savedIn` first changed them. */
  parentChildren?: Map<string, ReceiveNode>;
  savedIn?: number;
  /** The stream (0 = the full backup) that created the node: nodes older than the current stream are the parent's. */
  bornIn: number;
  mode: number;
  uid: number;
  gid: number;
  atime?: Time;
  mtime?: Time;
  /** `security.capability`, applied after owner and mode (chown and writes clear it). */
  capability?: Buffer;
  /** Files: the size as the stream has made it so far. */
  size: number;
  /** Not on disk (a device node without root): why. */
  absent?: string;
  /** A parent file unlinked in this stream, kept in the stash for later clones from the parent: its stash name. */
  stashed?: string;
}

const NAME_MAX = 255;
const PATH_MAX = 4096;

/** Why a stream path is refused; the caller adds the backup, offset and command. */
export class UnsafePath extends Error {}

/** Splits a stream path into names, refusing anything that could leave the tree or is not a plain relative path. */
function pathComponents(raw: Buffer, allowRoot: boolean): string[] {
  if (raw.length === 0) {
    if (allowRoot) return [];
    throw new UnsafePath('an empty path names the root, which this command cannot take');
  }
  if (raw.length > PATH_MAX) throw new UnsafePath(`a path of ${raw.length} bytes (more than ${PATH_MAX})`);
  if (raw.includes(0)) throw new UnsafePath('a path with a NUL byte');
  if (raw[0] === 0x2f) throw new UnsafePath(`an absolute path ${show(raw)}`);
  const names = raw.toString('latin1').split('/');
  for (const name of names) {
    if (name === '' || name === '.' || name === '..') throw new UnsafePath(`the path ${show(raw)} has a '${name}' component`);
    if (name.length > NAME_MAX) throw new UnsafePath(`the path ${show(raw)} has a name longer than ${NAME_MAX} bytes`);
  }
  return names;
}

/**
 * A stream path for messages, quoted and shown as everywhere else (core's displayPath: `\xHH` for a byte that
 * is not UTF-8, and a control character, so that a message stays one line); cut when long.
 */
export function show(raw: Buffer | string): string {
  const bytes = typeof raw === 'string' ? Buffer.from(raw, 'latin1') : raw;
  const text = displayPath(indexPath(bytes));
  return text.length > 200 ? `"${text.slice(0, 200)}…"` : `"${text}"`;
}

/**
 * The receiver's model of the destination tree. Every stream path is resolved here, name by name, never
 * by the filesystem: each intermediate name must be a directory this receiver created, so an operation
 * on disk can only reach inside the destination. It also keeps the parent snapshot's namespace as it was
 * when the current stream started (each directory's children are saved before the stream first changes
 * them), so that a CLONE from the parent finds the node its path named in the parent.
 */
export class ReceiveTree {
  readonly root: ReceiveNode;
  /** Index of the stream being applied: 0 for the full backup, then 1, 2… */
  stream = 0;

  constructor() {
    this.root = { kind: 'directory', links: [], children: new Map(), bornIn: 0, mode: 0o755, uid: 0, gid: 0, size: 0 };
  }

  /** The node a path names now (`allowRoot`: the empty path names the root). */
  resolve(raw: Buffer, allowRoot = false): ReceiveNode {
    return this.walk(pathComponents(raw, allowRoot), raw, (directory) => directory.children!);
  }

  /** The node a path named in the parent snapshot, as it was when this stream started. */
  resolveInParent(raw: Buffer): ReceiveNode {
    const node = this.walk(pathComponents(raw, false), raw, (directory) =>
      directory.savedIn === this.stream ? directory.parentChildren! : directory.children!,
    );
    if (node.bornIn >= this.stream) throw new UnsafePath(`${show(raw)} is not in the parent snapshot`);
    return node;
  }

  private walk(names: string[], raw: Buffer, childrenOf: (directory: ReceiveNode) => Map<string, ReceiveNode>): ReceiveNode {
    let node = this.root;
    for (const name of names) {
      if (node.kind !== 'directory')
        throw new UnsafePath(`${show(raw)} goes through ${show(name)}, which is a ${node.kind}, not a directory`);
      const next = childrenOf(node).get(name);
      if (!next) throw new UnsafePath(`${show(raw)} does not exist at this point of the stream`);
      node = next;
    }
    return node;
  }

  /** The directory that would hold `raw`, the last name, and what already has that name there (the caller decides). */
  placeOf(raw: Buffer): { directory: ReceiveNode; name: string; existing?: ReceiveNode } {
    const names = pathComponents(raw, false);
    const name = names.pop()!;
    const directory = this.walk(names, raw, (node) => node.children!);
    if (directory.kind !== 'directory')
      throw new UnsafePath(`${show(raw)} goes through ${show(names[names.length - 1]!)}, which is a ${directory.kind}, not a directory`);
    if (directory.absent) throw new UnsafePath(`${show(raw)}: its parent is not on disk`);
    return { directory, name, existing: directory.children!.get(name) };
  }

  /** Saves a directory's children as the parent had them, before this stream first changes them. */
  private beforeChange(directory: ReceiveNode): void {
    if (this.stream > 0 && directory.bornIn < this.stream && directory.savedIn !== this.stream) {
      directory.parentChildren = new Map(directory.children);
      directory.savedIn = this.stream;
    }
  }

  attach(node: ReceiveNode, directory: ReceiveNode, name: string): void {
    this.beforeChange(directory);
    directory.children!.set(name, node);
    node.links.push({ directory, name });
  }

  detach(node: ReceiveNode, directory: ReceiveNode, name: string): void {
    this.beforeChange(directory);
    directory.children!.delete(name);
    const index = node.links.findIndex((link) => link.directory === directory && link.name === name);
    if (index >= 0) node.links.splice(index, 1);
  }

  isAncestor(candidate: ReceiveNode, node: ReceiveNode): boolean {
    for (let current: ReceiveNode | undefined = node; current; current = current.links[0]?.directory) {
      if (current === candidate) return true;
    }
    return false;
  }

  /** The node's path relative to the destination, as bytes (one of its names; empty for the root). */
  pathOf(node: ReceiveNode): Buffer {
    const names: string[] = [];
    for (let current = node; current.links.length > 0; current = current.links[0]!.directory) names.push(current.links[0]!.name);
    return Buffer.from(names.reverse().join('/'), 'latin1');
  }
}
