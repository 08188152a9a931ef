#!/usr/bin/env node
// CPU time of each read-side stage alone, one thread, over the same bytes a restore of a zstd+OpenPGP backup
// reads: node bench/read-stages.mjs <dir of stored .part files> <dir of their gpg -d output (.zst)>.
// Prints user+sys seconds per stage (process.cpuUsage, this thread only does the stage).
import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.resolve('core/package.json'));
const zstd = require('zstd-napi');
const { crc32c } = require(require.resolve('@node-rs/crc32', { paths: [path.resolve('plugins/btrfs')] }));
const [storedDir, plainDir] = process.argv.slice(2);
const files = (dir, ext) =>
  readdirSync(dir)
    .filter((name) => name.endsWith(ext))
    .sort()
    .map((name) => path.join(dir, name));

const cpu = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};
const results = [];
function stage(name, bytes, run) {
  const rounds = [];
  for (let round = 0; round < 3; round++) {
    const start = cpu();
    run();
    rounds.push(cpu() - start);
  }
  const seconds = rounds.sort((a, b) => a - b)[1];
  results.push({ name, seconds, mbps: bytes / 2 ** 20 / seconds });
}

let stored = 0;
let plain = 0;
stage('read the stored parts (readFile, warm cache)', 0, () => {
  for (const file of files(storedDir, '.part')) stored += readFileSync(file).length;
});
stored /= 3;
const parts = files(storedDir, '.part').map((file) => readFileSync(file));
const frames = files(plainDir, '.zst').map((file) => readFileSync(file));
const compressed = frames.reduce((sum, frame) => sum + frame.length, 0);
const key = Buffer.alloc(32, 7);
stage('SHA-256 of the stored parts', stored, () => parts.forEach((part) => createHash('sha256').update(part).digest()));
stage('AES-256-CFB decrypt (OpenSSL, 1 MiB slices)', stored, () =>
  parts.forEach((part) => {
    const decipher = createDecipheriv('aes-256-cfb', key, Buffer.alloc(16));
    for (let at = 0; at < part.length; at += 2 ** 20) decipher.update(part.subarray(at, at + 2 ** 20));
    decipher.final();
  }),
);
stage('AES-256-ECB of the shifted ciphertext + XOR (CFB decrypt)', stored, () =>
  parts.forEach((part) => {
    const cipher = createCipheriv('aes-256-ecb', key, null).setAutoPadding(false);
    const whole = part.length - (part.length % 16);
    const stream = Buffer.concat([cipher.update(Buffer.alloc(16)), cipher.update(part.subarray(0, whole - 16))]);
    const a = new BigUint64Array(stream.buffer, stream.byteOffset, stream.length / 8);
    const b = new BigUint64Array(part.buffer.slice(part.byteOffset, part.byteOffset + whole));
    for (let i = 0; i < a.length; i++) a[i] ^= b[i];
  }),
);
stage('SHA-1 (MDC) of the stored parts', stored, () => parts.forEach((part) => createHash('sha1').update(part).digest()));
const decompressor = new zstd.Decompressor();
stage('zstd decompress (zstd-napi Decompressor, a new buffer each part)', 0, () => {
  plain = 0;
  for (const frame of frames) plain += decompressor.decompress(frame).length;
});
results.at(-1).mbps = plain / 2 ** 20 / results.at(-1).seconds;
const dctx = new (require('zstd-napi/binding.js').DCtx)();
const reused = Buffer.alloc(64 * 2 ** 20);
stage('zstd decompress into one reused buffer (DCtx)', plain, () => frames.forEach((frame) => dctx.decompress(reused, frame)));
// The plain stream's later stages, part by part through the reused buffer (its bytes as they come).
const plainParts = (each) => frames.forEach((frame) => each(reused.subarray(0, dctx.decompress(reused, frame))));
stage('zstd decompress alone, as below (reference)', plain, () => plainParts(() => {}));
stage('… + CRC32C of the plain stream', plain, () => plainParts((output) => crc32c(output)));
stage('… + SHA-256 of the plain stream', plain, () => plainParts((output) => createHash('sha256').update(output).digest()));
stage('… + a copy of the plain stream into fresh memory (Buffer.from)', plain, () => plainParts((output) => Buffer.from(output)));
console.log(
  `stored ${(stored / 2 ** 20).toFixed(0)} MiB, zstd frames ${(compressed / 2 ** 20).toFixed(0)} MiB, plain ${(plain / 2 ** 20).toFixed(0)} MiB; CPU seconds (median of 3):`,
);
for (const { name, seconds, mbps } of results)
  console.log(`  ${seconds.toFixed(3).padStart(6)} s  ${mbps ? `${mbps.toFixed(0).padStart(5)} MiB/s` : '           '}  ${name}`);
