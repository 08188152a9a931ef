import wcwidth from 'wcwidth';

/** Columns a cell takes on a terminal: its length when it is printable ASCII (every id, date and size), else its wcwidth. */
function columnsOf(text: string): number {
  return /^[\x20-\x7e]*$/.test(text) ? text.length : wcwidth(text);
}

/**
 * Rows as a text table, as easy-table prints them (a header, a line of dashes, each cell padded to its column's
 * width, two spaces between columns), measuring each cell once: easy-table measured every cell with wcwidth
 * twice, about half a second for 10,000 backups. Columns come in the order of the first row's keys.
 */
export function formatTable(rows: Array<Record<string, string>>): string {
  const columns = Object.keys(rows[0] ?? {});
  const cells = [columns, ...rows.map((row) => columns.map((column) => row[column] ?? ''))];
  const sizes = cells.map((line) => line.map(columnsOf));
  const widths = columns.map((_, index) => sizes.reduce((width, line) => Math.max(width, line[index]!), 0));
  cells.splice(
    1,
    0,
    widths.map((width) => '-'.repeat(width)),
  );
  sizes.splice(1, 0, widths);
  return cells.map((line, at) => line.map((cell, index) => cell + ' '.repeat(widths[index]! - sizes[at]![index]!)).join('  ')).join('\n');
}
