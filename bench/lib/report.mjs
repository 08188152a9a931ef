// The report: one row per case (medians over the rounds, ratios against the case's peers) and the goals,
// written as bench/results/latest.md and latest.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { markdownTable } from 'markdown-table';
import { ratioChart } from './plot.mjs';

const RSS_LIMIT_MIB = 256;
const PARTIAL_LIMIT = 0.05; // fraction of the stored bytes a one-file restore may fetch
const INCREMENTAL_FACTOR = 10; // times faster than restic's second backup

const median = (values) => {
  const sorted = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  if (!sorted.length) return null;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const fixed = (value, digits) => (value === null || value === undefined ? '' : value.toFixed(digits));
const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** Adds medians to each case; returns the summaries. */
function summarise(rows) {
  const byName = new Map(rows.map((row) => [row.name, row]));
  for (const row of rows) {
    row.seconds = median(row.runs.map((run) => run.seconds));
    row.rssMiB = median(row.runs.map((run) => run.rssMiB));
    row.treeMiB = median(row.runs.map((run) => run.treeMiB));
    row.fetched = median(row.runs.map((run) => run.fetched));
    row.stored = median(row.runs.map((run) => run.stored));
    row.added = median(row.runs.map((run) => run.added));
    row.load = median(row.runs.map((run) => run.load));
    row.mbPerSecond = row.bytes && row.seconds ? row.bytes / 1e6 / row.seconds : null;
  }
  for (const row of rows) {
    row.ratios = row.peers
      .map((name) => byName.get(name))
      .filter((peer) => peer?.seconds && row.seconds)
      .map((peer) => ({
        peer: peer.name,
        tool: peer.tool,
        ratio: row.seconds / peer.seconds,
        addedRatio: row.added !== null && peer.added ? row.added / peer.added : null,
      }));
  }
  return byName;
}

/** Each goal: { goal, target, measured, status: 'met' | 'not met' | 'not measured' }. */
function goals(rows, byName) {
  const list = [];
  const status = (ok) => (ok === undefined ? 'not measured' : ok ? 'met' : 'not met');

  const create = rows.find((row) => row.goal === 'create');
  const createPipe = create?.ratios.find((r) => r.tool === 'pipe');
  list.push({
    goal: 'full create with zstd+OpenPGP no slower than `btrfs send | zstd -3 -T0 | gpg -e`',
    target: 'time ratio ≤ 1.00',
    measured: createPipe ? `${createPipe.ratio.toFixed(2)}× the pipeline's time` : '',
    status: status(createPipe && createPipe.ratio <= 1),
  });

  const incremental = rows.find((row) => row.goal === 'incremental');
  const restic = incremental?.ratios.find((r) => r.tool === 'restic');
  list.push({
    goal: "incremental create after a 1% change of (b) at least 10× faster than restic's second backup",
    target: `restic's time ÷ rast-backup's ≥ ${INCREMENTAL_FACTOR}`,
    measured: restic
      ? `${(1 / restic.ratio).toFixed(2)} (restic ${fixed(byName.get(restic.peer).seconds, 2)} s, rast-backup ${fixed(incremental.seconds, 2)} s)`
      : '',
    status: status(restic && 1 / restic.ratio >= INCREMENTAL_FACTOR),
  });

  const rast = rows.filter((row) => row.tool === 'rast' && Number.isFinite(row.rssMiB));
  const worst = rast.reduce((a, b) => (b.rssMiB > (a?.rssMiB ?? -1) ? b : a), undefined);
  list.push({
    goal: `peak RSS of rast-backup below ${RSS_LIMIT_MIB} MiB (largest process), whatever the size`,
    target: `< ${RSS_LIMIT_MIB} MiB in every case`,
    measured: worst ? `highest ${worst.rssMiB.toFixed(0)} MiB (${worst.name})` : '',
    status: status(worst ? worst.rssMiB < RSS_LIMIT_MIB : undefined),
  });

  const sized = rows.filter((row) => row.goal === 'rss' && Number.isFinite(row.rssMiB));
  if (sized.length) {
    // Compare each command at the smallest and largest size.
    const byCommand = new Map();
    for (const row of sized) {
      const command = row.name.replace(/^RSS [^:]+: /, '');
      byCommand.set(command, [...(byCommand.get(command) ?? []), row]);
    }
    const growths = [...byCommand].map(([command, group]) => {
      const [small, large] = [group[0], group.at(-1)];
      return { command, small, large, growth: large.rssMiB / small.rssMiB };
    });
    const worstGrowth = growths.reduce((a, b) => (b.growth > a.growth ? b : a));
    list.push({
      goal: 'peak RSS does not grow with the size of the stream',
      target: 'largest ÷ smallest size ≤ 1.10',
      measured: growths.map((g) => `${g.command}: ${g.small.rssMiB.toFixed(0)} → ${g.large.rssMiB.toFixed(0)} MiB`).join('; '),
      status: status(worstGrowth.growth <= 1.1),
    });
  } else {
    list.push({
      goal: 'peak RSS does not grow with the size of the stream',
      target: 'run with --big (2 GiB and 8 GiB)',
      measured: '',
      status: 'not measured',
    });
  }

  for (const row of rows.filter((r) => r.goal === 'partial')) {
    const fraction = row.fetched !== null && row.stored ? row.fetched / row.stored : undefined;
    list.push({
      goal: `restore of one small file from a large S3 backup reads a small fraction (${row.name.match(/, ([^:]+format[^:]*):/)?.[1] ?? row.name})`,
      target: `< ${PARTIAL_LIMIT * 100}% of the stored bytes fetched`,
      measured:
        fraction !== undefined
          ? `${mib(row.fetched)} of ${mib(row.stored)} (${(fraction * 100).toFixed(2)}%), ${fixed(row.seconds, 2)} s`
          : row.errors.length
            ? `failed: ${row.errors[0].slice(0, 160)}`
            : '',
      status: status(fraction === undefined ? undefined : fraction < PARTIAL_LIMIT),
    });
  }
  // Per case (the `files` group): { goal, seconds } (wall time below), or { goal, against: tool, most, bytes? }
  // (the time, or with `bytes` the bytes added, at most `most` × the first peer of that tool's).
  for (const row of rows.filter((r) => r.limits)) {
    for (const limit of row.limits) {
      if (limit.seconds !== undefined) {
        list.push({
          goal: `${limit.goal}: under ${limit.seconds} s`,
          target: `< ${limit.seconds} s`,
          measured: row.seconds === null ? '' : `${fixed(row.seconds, 2)} s`,
          status: status(row.seconds === null ? undefined : row.seconds < limit.seconds),
        });
        continue;
      }
      const peer = row.ratios.find((r) => r.tool === limit.against);
      const ratio = limit.bytes ? peer?.addedRatio : peer?.ratio;
      const what = limit.bytes ? 'bytes' : 'time';
      list.push({
        goal: `${limit.goal}: ${what} at most ${limit.most}× ${peer ? peerLabel(peer) : limit.against}`,
        target: `${what} ratio ≤ ${limit.most.toFixed(2)}`,
        measured: ratio === null || ratio === undefined ? '' : `${ratio.toFixed(2)}×`,
        status: status(ratio === null || ratio === undefined ? undefined : ratio <= limit.most),
      });
    }
  }
  return list;
}

const peerLabel = (r) => (r.tool === 'rast' ? r.peer.replace(/:.*$/, '') : r.tool);

function render(meta, rows, goalList) {
  const m = meta.machine;
  const sets = Object.entries(meta.data)
    .map(([name, set]) => `${name} ${(set.bytes / 1e6).toFixed(0)} MB in ${set.files} files`)
    .join('; ');
  const lines = [
    `# rast-backup benchmark, ${meta.date}`,
    '',
    `${m.cores} × ${m.cpu}, ${m.memoryGiB} GiB, kernel ${m.kernel}; ${[`Node ${m.node}`, `rast-backup ${m.rastBackup}`, m.btrfsProgs, m.zstd, m.gpg, m.restic].filter((tool) => tool !== 'n/a').join(', ')}. Load average at the start: ${m.loadStart ?? 'n/a'}, at the end: ${m.load}.`,
    '',
    `Data: ${sets}. ${meta.options.rounds} paired round(s) (order reversed every other round), medians; ${meta.options.warm ? 'warm page cache' : 'page cache dropped before each command'}${meta.options.quick ? '; --quick: small data, figures only check the harness' : ''}. Run took ${meta.seconds} s. MB = 10^6 bytes; "× peer" is rast-backup's time divided by the peer's (below 1: faster).`,
    '',
    ...(meta.phases && Object.keys(meta.phases).length
      ? [
          `Seconds per phase (the whole run, all rounds): ${Object.entries(meta.phases)
            .map(([name, seconds]) => `${name} ${seconds}`)
            .join('; ')}.`,
          '',
        ]
      : []),
    '## Cases',
    '',
  ];
  const table = [['case', 'tool', 'runs', 'wall s', 'MB/s', 'peak RSS MiB', 'tree RSS MiB', 'against peers', 'notes']];
  for (const row of rows) {
    const notes = [];
    if (row.fetched !== null) notes.push(`fetched ${mib(row.fetched)} of ${mib(row.stored)} stored`);
    if (row.added !== null) {
      const against = row.ratios.filter((r) => r.addedRatio !== null).map((r) => `${r.addedRatio.toFixed(2)}× ${peerLabel(r)}`);
      notes.push(`adds ${mib(row.added)}${against.length ? ` (${against.join(', ')})` : ''}`);
    }
    if (row.note) notes.push(row.note);
    if (row.load !== null) notes.push(`load ${row.load.toFixed(1)}`);
    if (row.errors.length) notes.push(`${row.errors.length} failed: ${row.errors[0].slice(0, 200)}`);
    table.push([
      row.name.replaceAll('|', '\\|'),
      row.tool,
      String(row.runs.length),
      fixed(row.seconds, 2),
      fixed(row.mbPerSecond, 0),
      fixed(row.rssMiB, 0),
      fixed(row.treeMiB, 0),
      row.ratios.map((r) => `${r.ratio.toFixed(2)}× ${peerLabel(r)}`).join(', '),
      notes.join('; ').replaceAll('|', '\\|'),
    ]);
  }
  lines.push(markdownTable(table, { align: ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'l', 'l'] }), '', '## Goals', '');
  lines.push(
    markdownTable([
      ['goal', 'target', 'measured', 'status'],
      ...goalList.map((g) => [g.goal.replaceAll('|', '\\|'), g.target, g.measured.replaceAll('|', '\\|'), g.status]),
    ]),
  );
  return `${lines.join('\n')}\n`;
}

/** Writes latest.md, latest.json and latest.svg (the ratios) into `directory`; returns { markdown, json }. */
export function writeReport(directory, meta, rows) {
  const byName = summarise(rows);
  const goalList = goals(rows, byName);
  const markdown = render(meta, rows, goalList);
  const json = { meta, cases: rows, goals: goalList };
  mkdirSync(directory, { recursive: true });
  writeFileSync(path.join(directory, 'latest.md'), markdown);
  writeFileSync(path.join(directory, 'latest.json'), `${JSON.stringify(json, null, 2)}\n`);
  const chart = ratioChart(rows);
  if (chart) writeFileSync(path.join(directory, 'latest.svg'), chart);
  return { markdown, json };
}
