import { availableParallelism } from 'node:os';
import { ErrorCode, RastError, transferList } from '@rast-backup/core';
import { Piscina } from 'piscina';
import type { ZstdTask } from './ZstdWorker.js';

let pool: Piscina | undefined;

/**
 * zstd (the zstd-napi binding of libzstd) in a pool of worker threads, one per core, so that parts are
 * compressed in parallel without blocking the main thread or forking a process per part.
 */
function workers(): Piscina {
  pool ??= new Piscina({
    filename: new URL('./ZstdWorker.js', import.meta.url).href,
    maxThreads: availableParallelism(),
    idleTimeout: 1000,
  });
  return pool;
}

async function run(task: ZstdTask, owned: boolean): Promise<Buffer> {
  try {
    const result: ArrayBuffer = await workers().run(task, { transferList: owned ? transferList(task.data) : [] });
    return Buffer.from(result);
  } catch (error) {
    const message = (error as Error).message;
    if (/zstd-napi|binding\.node|Cannot find module/.test(message)) {
      throw new RastError(ErrorCode.TOOL_MISSING, `the zstd binding (zstd-napi) could not be loaded: ${message}; reinstall rast-backup (it builds with node-gyp)`);
    }
    throw error;
  }
}

/** Compresses `data`, taking ownership of it (the Transform contract). */
export const compress = (data: Buffer, level: number) => run({ operation: 'compress', data, level }, true);
/** Decompresses `data`, taking ownership of it (the TransformDecoder contract). */
export const decompress = (data: Buffer) => run({ operation: 'decompress', data, level: 0 }, true);
