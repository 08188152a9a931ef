/**
 * The restore kit: what the formats share to restore a tree from a file index into a destination safely.
 * A library, not a plugin: it has no default export and taps no hook; format plugins import it.
 */
export { batches } from './Batches.js';
export { extendedAttributes } from './ExtendedAttributes.js';
export { checkIndex, IndexChecker } from './IndexCheck.js';
export { includeMatcher, type IncludeMatcher } from './IncludeMatcher.js';
export { restoreIndexedTree, type FileToFill, type FilesToFill, type FillFiles } from './IndexedTreeRestorer.js';
export type { XattrFilter } from './Metadata.js';
export { safeRelativePath } from './SafeRelativePath.js';
export type { SafeTree } from './SafeTree.js';
export { makeSpecialFile, type SpecialKind } from './SpecialFile.js';
export { NoTextPath, withTextPath } from './TextPath.js';
