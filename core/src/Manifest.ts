import * as t from 'typanion';

/**
 * A backup's manifest: written last, to every sink, as the commit point. It says everything restore needs
 * to know how the backup was made, whatever today's config says. See docs/repository-format.md.
 */
export interface Manifest {
  format: 'rast-backup/manifest';
  version: 1;
  id: string;
  name: string | null;
  tags: string[];
  /** ISO-8601. */
  created: string;
  host: string;
  /** Full id of the parent backup, or null for a full backup. */
  parent: string | null;
  source: { path: string; kind: string; atomic: boolean } & Record<string, unknown>;
  serializer: { format: string; version: number; plugin: string };
  /** In the order applied on create. */
  transforms: Array<{ name: string; stage: number; params: Record<string, unknown>; plugin: string }>;
  partSize: number;
  parts: PartRecord[];
  index: PartRecord & { entries: number };
  /** Plaintext bytes of the serialized stream. */
  size: number;
  /** Bytes stored per sink (parts and index). */
  storedSize: number;
  plugins: Record<string, string>;
  /** The key that signed this manifest (`backups/<id>.json.sig`), when signing is on. */
  signer?: { fingerprint: string; publicKey: string };
  /**
   * Signed manifests only: the unsigned backups (made before signing was on) that this one vouches for, so
   * that they still restore (with a warning) while an unsigned manifest added later is refused.
   */
  unsignedAccepted?: string[];
  /** The exclude patterns the backup was made with (`[backup] exclude`, then `--exclude`, `--exclude-file`); absent when none. */
  exclude?: string[];
}

export interface PartRecord {
  /** Object key inside each sink. */
  key: string;
  /** Plaintext bytes. */
  size: number;
  /** Stored bytes. */
  storedSize: number;
  /** SHA-256 of the stored bytes, hex. */
  sha256: string;
}

const isPart = t.isObject({
  key: t.isString(),
  size: t.isNumber(),
  storedSize: t.isNumber(),
  sha256: t.cascade(t.isString(), [t.matchesRegExp(/^[0-9a-f]{64}$/)]),
});

const isManifest = t.isObject(
  {
    format: t.isLiteral('rast-backup/manifest'),
    version: t.isLiteral(1),
    id: t.isString(),
    name: t.isNullable(t.isString()),
    tags: t.isArray(t.isString()),
    created: t.isString(),
    host: t.isString(),
    parent: t.isNullable(t.isString()),
    source: t.isObject({ path: t.isString(), kind: t.isString(), atomic: t.isBoolean() }, { extra: t.isUnknown() }),
    serializer: t.isObject({ format: t.isString(), version: t.isNumber(), plugin: t.isString() }),
    transforms: t.isArray(t.isObject({ name: t.isString(), stage: t.isNumber(), params: t.isRecord(t.isUnknown()), plugin: t.isString() })),
    partSize: t.isNumber(),
    parts: t.isArray(isPart),
    index: t.isObject({ key: t.isString(), size: t.isNumber(), storedSize: t.isNumber(), sha256: t.isString(), entries: t.isNumber() }),
    size: t.isNumber(),
    storedSize: t.isNumber(),
    plugins: t.isRecord(t.isString()),
    signer: t.isOptional(
      t.isObject({ fingerprint: t.cascade(t.isString(), [t.matchesRegExp(/^[0-9A-F]{40,64}$/)]), publicKey: t.isString() }),
    ),
    unsignedAccepted: t.isOptional(t.isArray(t.isString())),
    exclude: t.isOptional(t.isArray(t.isString())),
  },
  { extra: t.isUnknown() },
);

/** A manifest's bytes as stored: what its signature covers. */
export function manifestBytes(manifest: Manifest): Buffer {
  return Buffer.from(JSON.stringify(manifest, null, 2) + '\n');
}

/** Parses a stored manifest; returns the reasons it is not one. */
export function parseManifest(data: Buffer, expectedId: string): { manifest?: Manifest; problem?: string } {
  let value: unknown;
  try {
    value = JSON.parse(data.toString('utf8'));
  } catch (error) {
    return { problem: `not JSON (${(error as Error).message})` };
  }
  const errors: string[] = [];
  if (!isManifest(value, { errors })) return { problem: errors.slice(0, 3).join('; ') };
  if (value.id !== expectedId) return { problem: `it names backup ${value.id}, not ${expectedId}` };
  const prefix = `data/${expectedId}/`;
  const foreign = [...value.parts, value.index].find((part) => !part.key.startsWith(prefix));
  if (foreign) return { problem: `it points at ${foreign.key}, outside ${prefix}` };
  return { manifest: value as Manifest };
}
