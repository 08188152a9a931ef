#!/usr/bin/env node
// AES-256-CFB deciphering, each way on one 256 MiB buffer, CPU MiB/s, median of 5 (issue 17): node bench/cfb-ways.mjs
// OpenSSL's CFB (1 MiB slices, or the whole buffer), and OpenSSL's ECB of the shifted ciphertext + a XOR (32-bit,
// 64-bit words, bytes; and 64-bit words through an aligned copy, a way measured, not used: a hand-written cipher mode).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
const N = 256 * 2 ** 20,
  SLICE = 2 ** 20;
const key = randomBytes(32),
  iv = Buffer.alloc(16);
const plain0 = randomBytes(N);
const c = createCipheriv('aes-256-cfb', key, iv);
const cipher = Buffer.concat([c.update(plain0), c.final()]);
const ways = {
  'cfb 1 MiB slices': (buf) => {
    const d = createDecipheriv('aes-256-cfb', key, iv);
    let w = 0;
    for (let s = 0; s < buf.length; s += SLICE) w += d.update(buf.subarray(s, s + SLICE)).copy(buf, w);
  },
  'cfb whole buffer': (buf) => {
    const d = createDecipheriv('aes-256-cfb', key, iv);
    d.update(buf).copy(buf, 0);
  },
  'ecb + xor u32': (buf) => ecbXor(buf, 4),
  'ecb + xor u64': (buf) => ecbXor(buf, 8),
  'ecb + xor bytes': (buf) => ecbXor(buf, 1),
  'ecb + xor u64 unaligned': (buf) => ecbXorAny(buf.subarray(0)),
};
const work = Buffer.alloc(SLICE);
function ecbXorAny(buf) {
  const e = createCipheriv('aes-256-ecb', key, null).setAutoPadding(false);
  let carry = Buffer.from(e.update(iv));
  for (let s = 0; s < buf.length; s += SLICE) {
    const end = Math.min(buf.length, s + SLICE);
    const len = end - s;
    const out = e.update(buf.subarray(s, end));
    carry.copy(scratch, 0);
    out.copy(scratch, 16, 0, len - 16);
    const nextCarry = Buffer.from(out.subarray(out.length - 16));
    buf.copy(work, 0, s, end);
    const words = len >> 3;
    const k = new BigUint64Array(scratch.buffer, scratch.byteOffset, words);
    const cc = new BigUint64Array(work.buffer, work.byteOffset, words);
    for (let i = 0; i < words; i++) cc[i] ^= k[i];
    for (let i = words * 8; i < len; i++) work[i] ^= scratch[i];
    work.copy(buf, s, 0, len);
    carry = nextCarry;
  }
}
const scratch = Buffer.alloc(SLICE + 16);
function ecbXor(buf, width) {
  const e = createCipheriv('aes-256-ecb', key, null).setAutoPadding(false);
  let carry = Buffer.from(e.update(iv));
  for (let s = 0; s < buf.length; s += SLICE) {
    const end = Math.min(buf.length, s + SLICE);
    const out = e.update(buf.subarray(s, end));
    // plain = keystream (carry | out minus its last block) ^ cipher; written into scratch (aligned), then copied back
    carry.copy(scratch, 0);
    out.copy(scratch, 16, 0, end - s - 16);
    const nextCarry = Buffer.from(out.subarray(out.length - 16));
    const len = end - s;
    if (width === 8) {
      const k = new BigUint64Array(scratch.buffer, scratch.byteOffset, len / 8);
      const cc = new BigUint64Array(buf.buffer, buf.byteOffset + s, len / 8);
      for (let i = 0; i < k.length; i++) cc[i] ^= k[i];
    } else if (width === 4) {
      const k = new Uint32Array(scratch.buffer, scratch.byteOffset, len / 4);
      const cc = new Uint32Array(buf.buffer, buf.byteOffset + s, len / 4);
      for (let i = 0; i < k.length; i++) cc[i] ^= k[i];
    } else {
      for (let i = 0; i < len; i++) buf[s + i] ^= scratch[i];
    }
    carry = nextCarry;
  }
}
const results = {};
for (let round = 0; round < 5; round++)
  for (const [name, f] of Object.entries(ways)) {
    const buf = Buffer.from(cipher);
    const u = process.cpuUsage();
    f(buf);
    const cpu = process.cpuUsage(u);
    const sec = (cpu.user + cpu.system) / 1e6;
    if (!buf.equals(plain0)) throw new Error(name + ' wrong');
    (results[name] ??= []).push(N / 2 ** 20 / sec);
  }
for (const [name, r] of Object.entries(results)) {
  r.sort((a, b) => a - b);
  console.log(name.padEnd(20), 'MiB/s CPU median', r[2].toFixed(0), ' runs', r.map((x) => x.toFixed(0)).join(' '));
}
