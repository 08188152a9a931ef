/**
 * Every diagnostic, one factory each, grouped by concept (as rollup's logs.ts): a factory returns a RastError
 * with its code, its one-line message naming what and where, and its facts. Callers throw what it returns;
 * code that must tell failures apart compares `error.code`, never the message.
 */
export * from './config.js';
export * from './plugin.js';
export * from './usage.js';
export * from './source.js';
export * from './backup.js';
export * from './part.js';
export * from './sink.js';
export * from './restore.js';
export * from './repair.js';
export * from './verify.js';
export * from './lock.js';
export * from './signing.js';
export * from './operation.js';
export { sinkPlace, configPlace, reasonOf } from './place.js';
