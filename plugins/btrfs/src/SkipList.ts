const EXAMPLES = 3;

/** What a restore could not put on the destination, grouped by reason, with a few of the paths for each. */
export class SkipList {
  private readonly reasons = new Map<string, { count: number; examples: string[] }>();

  add(reason: string, path: string): void {
    let entry = this.reasons.get(reason);
    if (!entry) this.reasons.set(reason, (entry = { count: 0, examples: [] }));
    entry.count += 1;
    if (entry.examples.length < EXAMPLES) entry.examples.push(path);
  }

  /** One line per reason: `<reason>: <n> entries (a, b, c, …)`. */
  lines(): string[] {
    return [...this.reasons].map(
      ([reason, { count, examples }]) =>
        `${reason}: ${count} ${count === 1 ? 'entry' : 'entries'} (${examples.join(', ')}${count > examples.length ? ', …' : ''})`,
    );
  }
}
