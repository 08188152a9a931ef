/**
 * The items of `source` in their order, pulled up to `size` ahead of the consumer: items that start work when
 * they are made (a promise inside) have that many in flight while the consumer handles the first.
 */
export async function* readAhead<T>(source: AsyncIterable<T>, size: number): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  const queue: T[] = [];
  let done = false;
  try {
    for (;;) {
      while (!done && queue.length < size) {
        const next = await iterator.next();
        if (next.done) done = true;
        else queue.push(next.value);
      }
      if (queue.length === 0) return;
      yield queue.shift()!;
    }
  } finally {
    if (!done) await iterator.return?.();
  }
}
