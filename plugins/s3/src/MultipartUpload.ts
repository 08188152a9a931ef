import { createHash } from 'node:crypto';
import type { S3Connection } from './S3Connection.js';

export interface MultipartTarget {
  Bucket: string;
  Key: string;
  StorageClass?: string;
}

/** Runs one request: the sink's concurrency limit and retries. */
export type RequestRunner = <T>(action: string, request: () => Promise<T>) => Promise<T>;

/**
 * Uploads one large Buffer as a multipart upload: pieces of `chunkSize` (the last one smaller) sent in
 * parallel, each with Content-MD5 and retried on its own. The object appears only when the upload is
 * completed; on failure the upload is aborted so that its pieces do not linger (and cost).
 */
export async function uploadMultipart(
  connection: S3Connection,
  target: MultipartTarget,
  data: Buffer,
  chunkSize: number,
  run: RequestRunner,
): Promise<string | undefined> {
  const { sdk, client } = connection;
  const created = await run(`start a multipart upload of ${target.Key}`, () =>
    client.send(new sdk.CreateMultipartUploadCommand({ ...target, StorageClass: target.StorageClass as never })),
  );
  const UploadId = created.UploadId!;
  try {
    const count = Math.max(1, Math.ceil(data.length / chunkSize));
    const parts = await Promise.all(
      Array.from({ length: count }, async (_, index) => {
        const piece = data.subarray(index * chunkSize, Math.min(data.length, (index + 1) * chunkSize));
        const PartNumber = index + 1;
        const answer = await run(`upload piece ${PartNumber} of ${count} of ${target.Key}`, () =>
          client.send(
            new sdk.UploadPartCommand({
              Bucket: target.Bucket,
              Key: target.Key,
              UploadId,
              PartNumber,
              Body: piece,
              ContentLength: piece.length,
              ContentMD5: createHash('md5').update(piece).digest('base64'),
            }),
          ),
        );
        return { PartNumber, ETag: answer.ETag };
      }),
    );
    const completed = await run(`complete the multipart upload of ${target.Key}`, () =>
      client.send(
        new sdk.CompleteMultipartUploadCommand({ Bucket: target.Bucket, Key: target.Key, UploadId, MultipartUpload: { Parts: parts } }),
      ),
    );
    return completed.ETag;
  } catch (error) {
    await client.send(new sdk.AbortMultipartUploadCommand({ Bucket: target.Bucket, Key: target.Key, UploadId })).catch(() => {});
    throw error;
  }
}

/**
 * Uploads an object that arrives as chunks (`size` bytes in all) as a multipart upload, gathered into pieces of
 * `chunkSize` sent one at a time (memory: one piece). An error thrown by `chunks` aborts the upload and is
 * rethrown as it is: the object never appears.
 */
export async function uploadMultipartStream(
  connection: S3Connection,
  target: MultipartTarget,
  chunks: AsyncIterable<Buffer>,
  size: number,
  chunkSize: number,
  run: RequestRunner,
): Promise<void> {
  const { sdk, client } = connection;
  const created = await run(`start a multipart upload of ${target.Key}`, () =>
    client.send(new sdk.CreateMultipartUploadCommand({ ...target, StorageClass: target.StorageClass as never })),
  );
  const UploadId = created.UploadId!;
  const count = Math.max(1, Math.ceil(size / chunkSize));
  const parts: Array<{ PartNumber: number; ETag?: string }> = [];
  const send = async (piece: Buffer) => {
    const PartNumber = parts.length + 1;
    const answer = await run(`upload piece ${PartNumber} of ${count} of ${target.Key}`, () =>
      client.send(
        new sdk.UploadPartCommand({
          Bucket: target.Bucket,
          Key: target.Key,
          UploadId,
          PartNumber,
          Body: piece,
          ContentLength: piece.length,
          ContentMD5: createHash('md5').update(piece).digest('base64'),
        }),
      ),
    );
    parts.push({ PartNumber, ETag: answer.ETag });
  };
  try {
    let piece = Buffer.allocUnsafe(chunkSize);
    let filled = 0;
    for await (const chunk of chunks) {
      for (let offset = 0; offset < chunk.length;) {
        const taken = chunk.copy(piece, filled, offset);
        offset += taken;
        filled += taken;
        if (filled === chunkSize) {
          await send(piece);
          piece = Buffer.allocUnsafe(chunkSize);
          filled = 0;
        }
      }
    }
    if (filled > 0 || parts.length === 0) await send(piece.subarray(0, filled));
    await run(`complete the multipart upload of ${target.Key}`, () =>
      client.send(
        new sdk.CompleteMultipartUploadCommand({ Bucket: target.Bucket, Key: target.Key, UploadId, MultipartUpload: { Parts: parts } }),
      ),
    );
  } catch (error) {
    await client.send(new sdk.AbortMultipartUploadCommand({ Bucket: target.Bucket, Key: target.Key, UploadId })).catch(() => {});
    throw error;
  }
}
