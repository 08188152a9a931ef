import { createHash } from 'node:crypto';
import type { S3Connection } from './S3Connection.js';

export interface MultipartTarget {
  Bucket: string;
  Key: string;
  StorageClass?: string;
}

/** Runs one request: the sink's concurrency limit and retries. */
export type RequestRunner = <T>(action: string, request: () => Promise<T>) => Promise<T>;

interface UploadedPiece {
  PartNumber: number;
  ETag?: string;
}

/**
 * One multipart upload: started, its pieces sent by `sendAll` (through `sendPiece`, each with Content-MD5 and
 * retried on its own), then completed. The object appears only when the upload is completed; on any failure the
 * upload is aborted so that its pieces do not linger (and cost), and the error is rethrown as it is.
 */
async function multipartUpload(
  connection: S3Connection,
  target: MultipartTarget,
  count: number,
  run: RequestRunner,
  sendAll: (sendPiece: (PartNumber: number, piece: Buffer) => Promise<UploadedPiece>) => Promise<UploadedPiece[]>,
): Promise<string | undefined> {
  const { sdk, client } = connection;
  const created = await run(`start a multipart upload of ${target.Key}`, () =>
    client.send(new sdk.CreateMultipartUploadCommand({ ...target, StorageClass: target.StorageClass as never })),
  );
  const UploadId = created.UploadId!;
  const sendPiece = async (PartNumber: number, piece: Buffer): Promise<UploadedPiece> => {
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
  };
  try {
    const Parts = await sendAll(sendPiece);
    const completed = await run(`complete the multipart upload of ${target.Key}`, () =>
      client.send(new sdk.CompleteMultipartUploadCommand({ Bucket: target.Bucket, Key: target.Key, UploadId, MultipartUpload: { Parts } })),
    );
    return completed.ETag;
  } catch (error) {
    await client.send(new sdk.AbortMultipartUploadCommand({ Bucket: target.Bucket, Key: target.Key, UploadId })).catch(() => {});
    throw error;
  }
}

/** Uploads one large Buffer as a multipart upload: pieces of `chunkSize` (the last one smaller) sent in parallel. */
export function uploadMultipart(
  connection: S3Connection,
  target: MultipartTarget,
  data: Buffer,
  chunkSize: number,
  run: RequestRunner,
): Promise<string | undefined> {
  const count = Math.max(1, Math.ceil(data.length / chunkSize));
  return multipartUpload(connection, target, count, run, (sendPiece) =>
    Promise.all(
      Array.from({ length: count }, (_, index) =>
        sendPiece(index + 1, data.subarray(index * chunkSize, Math.min(data.length, (index + 1) * chunkSize))),
      ),
    ),
  );
}

/**
 * Uploads an object that arrives as chunks (`size` bytes in all) as a multipart upload, gathered into pieces of
 * `chunkSize` sent one at a time (memory: one piece). An error thrown by `chunks` aborts the upload.
 */
export async function uploadMultipartStream(
  connection: S3Connection,
  target: MultipartTarget,
  chunks: AsyncIterable<Buffer>,
  size: number,
  chunkSize: number,
  run: RequestRunner,
): Promise<void> {
  const count = Math.max(1, Math.ceil(size / chunkSize));
  await multipartUpload(connection, target, count, run, async (sendPiece) => {
    const parts: UploadedPiece[] = [];
    let piece = Buffer.allocUnsafe(chunkSize);
    let filled = 0;
    for await (const chunk of chunks) {
      for (let offset = 0; offset < chunk.length;) {
        const taken = chunk.copy(piece, filled, offset);
        offset += taken;
        filled += taken;
        if (filled === chunkSize) {
          parts.push(await sendPiece(parts.length + 1, piece));
          piece = Buffer.allocUnsafe(chunkSize);
          filled = 0;
        }
      }
    }
    if (filled > 0 || parts.length === 0) parts.push(await sendPiece(parts.length + 1, piece.subarray(0, filled)));
    return parts;
  });
}
