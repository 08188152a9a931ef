import { ErrorCode, RastError } from '../errors.js';
import type { Manifest, PartRecord } from '../Manifest.js';
import { checkStored } from '../Repository.js';
import type { Runtime } from '../Runtime.js';
import { runOperation } from './lifecycle.js';

export interface VerifyOptions {
  backup: string;
}

export interface VerifyReport {
  backup: string;
  /** Sinks checked, each with the problems found (empty when intact). */
  sinks: Array<{ sink: string; objects: number; problems: string[] }>;
  /** Problem found decoding the stream end to end, if any. */
  stream: string | null;
  ok: boolean;
}

/**
 * Every part and the index present in every sink holding the backup, with the recorded size and SHA-256;
 * then the stream decoded end to end and checked against the index.
 */
export async function verifyBackup(runtime: Runtime, options: VerifyOptions): Promise<VerifyReport> {
  const { repository, pipeline } = runtime;
  return runOperation(runtime, 'verify', { backupId: options.backup }, async (event) => {
    const entry = await repository.resolve(options.backup);
    const manifest: Manifest = entry.manifest;
    event.backupId = manifest.id;
    const objects: Array<[string, PartRecord]> = [...manifest.parts.map((part, seq): [string, PartRecord] => [`part ${seq + 1} of ${manifest.parts.length}`, part]), ['file index', manifest.index]];
    const sinks: VerifyReport['sinks'] = [];
    for (const sink of runtime.sinks.filter((candidate) => entry.sinks.includes(candidate.name))) {
      const problems: string[] = [];
      for (const [label, part] of objects) {
        try {
          const problem = checkStored(await sink.get(part.key), part);
          if (problem) problems.push(`backup ${manifest.id}, ${label} (${part.key}) in sink ${sink.name}: ${problem}`);
        } catch (error) {
          problems.push(`backup ${manifest.id}, ${label} (${part.key}) in sink ${sink.name}: ${(error as Error).message}`);
        }
      }
      sinks.push({ sink: sink.name, objects: objects.length, problems });
    }

    let streamProblem: string | null = null;
    try {
      const format = pipeline.hooks.format.get(manifest.serializer.format)?.call();
      if (!format) throw new RastError(ErrorCode.PLUGIN_INVALID, `no loaded plugin reads format ${manifest.serializer.format}`);
      const index = await repository.readIndex(manifest);
      await format.verify({ manifest, index, stream: repository.openStream(manifest) });
    } catch (error) {
      streamProblem = (error as Error).message;
    }
    const report = { backup: manifest.id, sinks, stream: streamProblem, ok: streamProblem === null && sinks.every((sink) => sink.problems.length === 0) };
    if (!report.ok) {
      const first = sinks.flatMap((sink) => sink.problems)[0] ?? streamProblem;
      const error = new RastError(ErrorCode.VERIFY_FAILED, `verify failed: ${first}`, { backup: manifest.id, report });
      throw error;
    }
    return report;
  });
}
