import { Option, UsageError } from 'clipanion';
import * as t from 'typanion';
import {
  displayPath,
  isRastError,
  verifyAll,
  verifyBackup,
  type VerifyAllReport,
  type VerifyOptions,
  type VerifyReport,
} from '@rast-backup/core';
import { BaseCommand, progressOption, withProgress } from '@rast-backup/core/command';
import { writeJson } from '../Output.js';
import { readState, writeState } from '../StateDirectory.js';

/** State file of the --read-subset rotation, in the state directory. */
const ROTATION_FILE = 'verify-rotation.json';

export class VerifyCommand extends BaseCommand {
  static override paths = [['verify']];
  static override usage = BaseCommand.Usage({
    category: 'Backups',
    description: 'Check that backups are intact',
    details: `Checks one backup and the backups below it in its chain (what its restore reads), or every backup once with --all, in every sink that holds it. The default level, full, downloads every part and the file index from every sink, checks each one's size and SHA-256, then decodes the stream end to end (decrypting and decompressing it) and compares it with the file index. --level presence only lists the sinks and checks that every object is there with its recorded size: it downloads nothing but each backup's file index header (a small object naming the index's blocks), for large remote repositories. --read-subset N% does that and also downloads about N% of the objects: a different group on each run (the run number is kept in verify-rotation.json in the state directory: RAST_BACKUP_STATE_DIR, else systemd's STATE_DIRECTORY, else /var/lib/rast-backup as root, else ~/.local/state/rast-backup), so that round(100/N) runs read everything. Also reports a manifest missing or damaged in a sink (or in every sink: give its full id, or --all), a chain of parents that is broken, and a backup whose chain holds a damaged one. Exits 1 on any damage, naming each damaged backup, part and sink, and the backups that depend on a damaged one. What this host cannot check is no damage: a wrong, locked or too-readable key, a missing passphrase, a host with only a public key, a missing plugin or tool. Then the full level still checks every object's SHA-256 but not the stream, says why, and exits 2 (RB026; status unchecked in --json); presence and --read-subset pass and say that this host cannot decode the stream. On a terminal, stderr shows the bytes checked of the total, %, rate and ETA (--progress).`,
    examples: [
      ['Verify the latest backup', '$0 verify latest'],
      ['Verify every backup, for monitoring', '$0 verify --all --json'],
      ['Check a large remote repository cheaply: presence and sizes', '$0 verify --all --level presence'],
      ['Read a tenth of all parts, a different tenth each run', '$0 verify --all --read-subset 10%'],
    ],
  });

  id = Option.String({ name: 'id', required: false });
  all = Option.Boolean('--all', false, { description: 'Verify every backup' });
  level = Option.String('--level', {
    description: 'presence (list and sizes; only the file index headers downloaded) or full (the default: every byte, stream decoded)',
    validator: t.isEnum(['presence', 'full']),
  });
  readSubset = Option.String('--read-subset', { description: 'Download and check about N% of the objects (e.g. 10%), rotating over runs' });
  progress = progressOption();

  async run(): Promise<number> {
    if (this.all === (this.id !== undefined))
      throw new UsageError(this.all ? 'give a backup id or --all, not both' : 'give a backup id (or latest), or --all');
    const options: Omit<VerifyOptions, 'backup'> = { level: this.level as 'presence' | 'full' | undefined };
    let run: number | undefined;
    if (this.readSubset !== undefined) {
      const match = /^(\d+(?:\.\d+)?)%?$/.exec(this.readSubset);
      const percent = match ? Number(match[1]) : NaN;
      if (!(percent > 0 && percent <= 100))
        throw new UsageError(`--read-subset ${this.readSubset}: expected a percentage above 0 and at most 100, like 10%`);
      if (this.level === 'presence') throw new UsageError('--read-subset reads data, --level presence reads none: give one of them');
      run = (await readState<{ run?: number }>(ROTATION_FILE, {})).run ?? 0;
      options.subset = { percent, run };
    }
    const runtime = await this.context.runtime();
    let report: VerifyReport | VerifyAllReport;
    let exit = 0;
    try {
      report = await withProgress<VerifyReport | VerifyAllReport>(
        runtime.pipeline,
        { mode: this.progress, json: this.json, stream: this.context.stderr },
        () => (this.all ? verifyAll(runtime, options) : verifyBackup(runtime, { ...options, backup: this.id! })),
      );
    } catch (error) {
      if (!isRastError(error) || !error.facts.report) throw error;
      report = error.facts.report as VerifyReport | VerifyAllReport;
      exit = error.exitCode;
    }
    if (run !== undefined) {
      await writeState(ROTATION_FILE, { run: run + 1 }).catch((error: Error) =>
        runtime.log.warn(`could not save the --read-subset rotation (${error.message}): the next run reads the same group`),
      );
    }
    if (this.json) writeJson(this.context.stdout, report);
    const backups = 'backups' in report ? report.backups : [...(report.ancestors ?? []), report];
    for (const backup of backups) this.describe(backup);
    this.explainUndecodable(backups);
    if ('backups' in report) {
      const unchecked = report.unchecked.length > 0 ? `, ${report.unchecked.length} could not be checked in full on this host` : '';
      const summary = `${report.backups.length} backups checked (${report.level}): ${report.damaged.length} damaged${unchecked}`;
      const affected =
        report.affected.length > 0
          ? `; ${report.affected.length} more depend on a damaged one and cannot be restored either: ${report.affected.join(', ')}`
          : '';
      if (report.status === 'intact') this.status(summary);
      else this.context.stderr.write(`rast-backup: ${displayPath(`${summary}${affected}`)}\n`);
    }
    return exit;
  }

  /** Intact (or not damaged) backups to stdout (unless --json); damage always to stderr. */
  private describe(report: VerifyReport): void {
    if (report.status !== 'damaged') {
      const held = report.sinks.filter((sink) => sink.holds);
      const objects = held.map((sink) => `${sink.objects} objects in ${sink.sink}`).join(', ');
      if (report.status === 'unchecked') {
        this.status(
          `${report.backup}: no damage found, not checked in full (${objects}, ${held.map((sink) => sink.read).reduce((a, b) => a + b, 0)} read; ${report.undecodable ? 'stream not decoded: this host cannot decode it' : 'a backup it needs could not be checked'})`,
        );
        return;
      }
      const read =
        report.level === 'full'
          ? '; stream decoded end to end'
          : report.level === 'subset'
            ? `; ${held.map((sink) => sink.read).reduce((a, b) => a + b, 0)} read`
            : '; presence and sizes only';
      const notDecodable = report.undecodable ? '; this host cannot decode its stream' : '';
      this.status(`${report.backup}: intact (${objects}${read}${notDecodable})`);
      this.hintResign(report);
      return;
    }
    for (const problem of [...report.sinks.flatMap((sink) => sink.problems), ...report.problems]) this.damage(problem.message);
    if (report.dependents.length > 0) this.damage(`backup ${report.backup} is needed to restore ${report.dependents.join(', ')}`);
    if (report.repair)
      this.context.stderr.write(
        `rast-backup: hint: ${report.repair} can mend this from a good copy in another sink, or rebuild its file index from its stream\n`,
      );
  }

  /** A re-sign of the manifest cut short (a `.sig.next` left beside it): readable, and `repair` finishes it. */
  private hintResign(report: VerifyReport): void {
    if (!report.resignUnfinished?.length || !report.repair) return;
    this.context.stderr.write(
      `rast-backup: hint: a re-sign of backup ${report.backup}'s manifest was cut short in sink ${report.resignUnfinished.join(', ')} (its .json.sig.next is left); ${report.repair} finishes it\n`,
    );
  }

  /** Why this host cannot decode backups, once per reason (one missing key leaves them all undecoded). */
  private explainUndecodable(backups: VerifyReport[]): void {
    const reasons = new Map<string, string[]>();
    for (const backup of backups)
      if (backup.undecodable) reasons.set(backup.undecodable.message, [...(reasons.get(backup.undecodable.message) ?? []), backup.backup]);
    for (const [message, ids] of reasons)
      this.context.stderr.write(`rast-backup: ${displayPath(`cannot check the stream of ${ids.join(', ')} on this host: ${message}`)}\n`);
  }

  private status(line: string): void {
    if (!this.json) this.out(displayPath(line));
  }

  private damage(line: string): void {
    this.context.stderr.write(`rast-backup: damaged: ${displayPath(line)}\n`);
  }
}
