// A bar chart (SVG) of the report's ratios: for each rast-backup case, its time divided by each peer's,
// with a line at 1 (below it, rast-backup is faster).
const COLOURS = { pipe: '#4c78a8', restic: '#f58518', ceiling: '#9d9d9d', rast: '#54a24b' };
const escape = (text) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Returns the SVG text, or null when no case has a ratio. */
export function ratioChart(rows) {
  const bars = rows
    .filter((row) => row.tool === 'rast')
    .flatMap((row) => row.ratios.map((r) => ({ label: row.name.replace(/: rast-backup.*$/, ''), ...r })));
  if (!bars.length) return null;
  const labelWidth = 520;
  const plotWidth = 420;
  const barHeight = 16;
  const top = 40;
  const max = Math.max(1.5, ...bars.map((bar) => bar.ratio));
  const x = (value) => labelWidth + (Math.log1p(value) / Math.log1p(max)) * plotWidth;
  const height = top + bars.length * (barHeight + 4) + 40;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${labelWidth + plotWidth + 120}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<text x="10" y="20" font-size="13">rast-backup's time ÷ each peer's (bar length: log(1 + ratio); left of the line: rast-backup is faster)</text>`,
  ];
  bars.forEach((bar, index) => {
    const y = top + index * (barHeight + 4);
    parts.push(
      `<text x="${labelWidth - 8}" y="${y + 12}" text-anchor="end">${escape(`${bar.label} vs ${bar.tool === 'rast' ? 'rast-backup' : bar.tool}`)}</text>`,
      `<rect x="${labelWidth}" y="${y}" width="${(x(bar.ratio) - labelWidth).toFixed(1)}" height="${barHeight}" fill="${COLOURS[bar.tool] ?? '#888'}"/>`,
      `<text x="${(x(bar.ratio) + 4).toFixed(1)}" y="${y + 12}">${bar.ratio.toFixed(2)}×</text>`,
    );
  });
  const one = x(1).toFixed(1);
  parts.push(
    `<line x1="${one}" y1="${top - 6}" x2="${one}" y2="${height - 30}" stroke="#d62728" stroke-dasharray="4 3"/>`,
    `<text x="${one}" y="${height - 16}" text-anchor="middle">1×</text>`,
    '</svg>',
  );
  return `${parts.join('\n')}\n`;
}
