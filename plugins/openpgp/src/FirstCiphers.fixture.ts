// Run as a script: prepares one part on the main thread as the transform does before handing it to a worker
// (with `--unprepared`, not), then starts workers whose first libgcrypt ciphers come at once. Prints one line:
// `ok`, or each worker's error.
import { Worker } from 'node:worker_threads';
import * as openpgp from 'openpgp';
import { encryptionWorker } from './OpenPgpTransform.js';

if (!process.argv.includes('--unprepared')) {
  const { publicKey } = await openpgp.generateKey({
    type: 'ecc',
    curve: 'curve25519Legacy',
    userIDs: [{ name: 'test' }],
    format: 'object',
  });
  await encryptionWorker(publicKey).prepare!({ key: 'data/test/000000.part' } as never);
}
const module = new URL('./AesCfb.js', import.meta.url).href;
const code = `import { aesCfb } from ${JSON.stringify(module)};
import { parentPort } from 'node:worker_threads';
try { aesCfb(new Uint8Array(32), true).close(); parentPort.postMessage('ok'); } catch (error) { parentPort.postMessage(error.message); }`;
const outcomes = await Promise.all(
  Array.from(
    { length: 6 },
    () =>
      new Promise<string>((resolve) => {
        const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(code)}`));
        worker.once('message', (message: string) => void worker.terminate().then(() => resolve(message)));
        worker.once('error', (error) => resolve(error.message));
      }),
  ),
);
const failed = outcomes.filter((outcome) => outcome !== 'ok');
process.stdout.write(`${failed.length > 0 ? failed.join('; ') : 'ok'}\n`);
