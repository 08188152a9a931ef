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
