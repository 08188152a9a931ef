import { randomBytes } from 'node:crypto';
import * as openpgp from 'openpgp';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writtenMessageKey } from './MessageReader.js';
import { writeMessage } from './MessageWriter.js';
import { decodePart } from '@rast-backup/core';
import { decryptionWorker } from './OpenPgpTransform.js';
import { decryptWritten } from './WrittenMessage.js';

/** The two halves decryptPart runs (the key here, the data in a worker thread), in this thread. */
async function readWrittenMessage(data: Uint8Array, privateKey: openpgp.PrivateKey): Promise<Buffer | undefined> {
  const written = await writtenMessageKey(data, privateKey);
  return written && decryptWritten(data, written);
}

const keys = (async () => {
  const { privateKey, publicKey } = await openpgp.generateKey({
    type: 'ecc',
    curve: 'curve25519Legacy',
    userIDs: [{ name: 'reader test' }],
    format: 'object',
  });
  return { privateKey, publicKey };
})();

/** A part decrypted as restore does: its session key here, its data in the core's worker pool. */
const decryptPart = (privateKey: openpgp.PrivateKey, data: Buffer) => decodePart(decryptionWorker(privateKey), data, {});

async function written(data: Buffer): Promise<Buffer> {
  const { publicKey } = await keys;
  const sessionKey = randomBytes(32);
  const packets = await openpgp.encryptSessionKey({ data: sessionKey, algorithm: 'aes256', encryptionKeys: publicKey, format: 'binary' });
  return writeMessage(packets, sessionKey, data);
}

// ---

const reader = suite('OpenPGP message reader (the messages MessageWriter writes, decrypted with AesCfb)');

reader('reads back what the writer wrote, from empty to several MiB', async () => {
  const { privateKey } = await keys;
  for (const size of [0, 1, 191, 8383, 8384, 3 * 1024 * 1024 + 7]) {
    const data = randomBytes(size);
    assert.equal(await readWrittenMessage(await written(data), privateKey), data, `${size} bytes`);
  }
});

reader('a changed byte anywhere in the encrypted data is refused, never returned', async () => {
  const { privateKey } = await keys;
  const message = await written(randomBytes(100_000));
  for (const at of [message.length - 1, message.length - 30, message.length - 50_000, 200]) {
    const damaged = Buffer.from(message);
    damaged[at]! ^= 0x01;
    const error = await readWrittenMessage(damaged, privateKey).then(
      () => undefined,
      (failure: Error) => failure,
    );
    assert.ok(error, `byte ${at} of ${message.length}`);
    assert.match(error!.message, /damaged|decrypt|session key/i);
  }
});

reader('messages of other shapes (openpgp.js with compression) are left to openpgp.js, and decryptPart reads both', async () => {
  const { privateKey, publicKey } = await keys;
  const data = Buffer.from('made by openpgp.js '.repeat(1000));
  const other = Buffer.from(
    await openpgp.encrypt({
      message: await openpgp.createMessage({ binary: data }),
      encryptionKeys: publicKey,
      format: 'binary',
      config: { preferredCompressionAlgorithm: openpgp.enums.compression.zlib },
    }),
  );
  const before = Buffer.from(other);
  assert.is(await readWrittenMessage(other, privateKey), undefined);
  assert.ok(other.equals(before), 'deciphered in place, and enciphered again when left to openpgp.js');
  assert.equal(await decryptPart(privateKey, other), data);
  const mine = randomBytes(5000);
  assert.equal(await decryptPart(privateKey, await written(mine)), mine);
});

reader(
  'decryptPart decrypts in a worker thread, taking its input over (moved, not copied) when it owns its memory; damage comes back as the same refusal',
  async () => {
    const { privateKey } = await keys;
    const data = randomBytes(2 * 1024 * 1024 + 3);
    const message = Buffer.from(await written(data)); // a buffer of its own, as sinks return
    const shared = Buffer.concat([Buffer.alloc(10), message]);
    assert.equal(await decryptPart(privateKey, message), data);
    assert.is(message.length, 0, 'the message was moved to the worker');
    assert.equal(await decryptPart(privateKey, shared.subarray(10)), data, 'a view into a larger buffer is copied');
    const damaged = Buffer.from(shared.subarray(10));
    damaged[damaged.length - 100]! ^= 0x01;
    const error = await decryptPart(privateKey, damaged).then(
      () => undefined,
      (failure: Error) => failure,
    );
    assert.match(error?.message ?? '', /the OpenPGP message is damaged: modification detected/);
  },
);

reader.run();
