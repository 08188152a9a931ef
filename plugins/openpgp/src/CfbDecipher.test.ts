import { createCipheriv, randomBytes } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { decipherCfb } from './CfbDecipher.js';

const cfb = suite('AES-256-CFB deciphered with ECB and a XOR: the same bytes as OpenSSL’s CFB');

cfb('every length around the block and the slice, at every alignment', () => {
  const key = randomBytes(32);
  const MiB = 1024 * 1024;
  for (const length of [0, 1, 15, 16, 17, 31, 4096 + 5, MiB - 1, MiB, MiB + 1, MiB + 16, 3 * MiB + 7]) {
    for (const offset of [0, 1, 3, 8]) {
      const plain = randomBytes(length);
      const cipher = createCipheriv('aes-256-cfb', key, Buffer.alloc(16));
      const enciphered = Buffer.concat([cipher.update(plain), cipher.final()]);
      const holder = Buffer.alloc(offset + length + 5, 0xa5);
      enciphered.copy(holder, offset);
      decipherCfb(key, holder.subarray(offset, offset + length));
      assert.ok(holder.subarray(offset, offset + length).equals(plain), `length ${length} at offset ${offset}`);
      assert.ok(
        holder.subarray(0, offset).every((byte) => byte === 0xa5),
        'wrote before the data',
      );
      assert.ok(
        holder.subarray(offset + length).every((byte) => byte === 0xa5),
        'wrote past the data',
      );
    }
  }
});

cfb.run();
