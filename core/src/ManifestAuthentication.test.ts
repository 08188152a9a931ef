import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { authenticate, type SignatureCheck } from './ManifestAuthentication.js';
import type { Manifest } from './Manifest.js';
import type { ManifestVerifier } from './types.js';

const verifier: ManifestVerifier = {
  check: async () => 'TRUSTED',
  distrust: (fingerprint) => (fingerprint === 'TRUSTED' ? undefined : `it is signed by key ${fingerprint}, which this host does not trust`),
};
const backup = (id: string, signature: SignatureCheck, unsignedAccepted?: string[]) => ({
  manifest: { id, ...(unsignedAccepted ? { unsignedAccepted } : {}) } as Manifest,
  signature,
});
const statuses = (backups: Array<ReturnType<typeof backup>>) => authenticate(verifier, backups).map((judged) => judged.status);

const judge = suite('authenticate: which backups may be read');

judge('signing off: nothing is checked', () => {
  assert.equal(
    authenticate(undefined, [backup('a', { unsigned: true })]).map((judged) => judged.status),
    ['unchecked'],
  );
});

judge('a repository from before signing: its unsigned backups are read (with a warning)', () => {
  assert.equal(statuses([backup('a', { unsigned: true }), backup('b', { unsigned: true })]), ['unsigned', 'unsigned']);
});

judge('once a trusted backup is signed, only the unsigned backups it vouches for are read', () => {
  assert.equal(
    statuses([backup('old', { unsigned: true }), backup('signed', { signer: 'TRUSTED' }, ['old']), backup('planted', { unsigned: true })]),
    ['unsigned', 'signed', 'refused'],
  );
});

judge('a bad signature, or one by an untrusted key, is refused, naming the backup and the key', () => {
  const judged = authenticate(verifier, [
    backup('bad', { problem: 'its signature does not verify' }),
    backup('other', { signer: 'OTHER' }),
  ]);
  assert.equal(
    judged.map((one) => (one.status === 'refused' ? one.problem : one.status)),
    [
      'backup bad is refused: its signature does not verify',
      'backup other is refused: it is signed by key OTHER, which this host does not trust',
    ],
  );
});

judge('a signature by an untrusted key vouches for nothing', () => {
  assert.equal(
    statuses([
      backup('signed', { signer: 'TRUSTED' }),
      backup('foreign', { signer: 'OTHER' }, ['planted']),
      backup('planted', { unsigned: true }),
    ]),
    ['signed', 'refused', 'refused'],
  );
});

judge.run();
