/**
 * Runs `run(item)` for the items with at most `limit` in flight, yielding results as they arrive (in any order).
 * An error stops the others and is rethrown.
 */
export async function* mergeConcurrent<T, R>(
  items: readonly T[],
  limit: number,
  run: (item: T) => AsyncIterable<R>,
): AsyncGenerator<R> {
  type Slot = { it: AsyncIterator<R>; next: Promise<{ slot: Slot; res: IteratorResult<R> }> };
  const active = new Set<Slot>();
  let index = 0;
  const arm = (slot: Slot) => {
    slot.next = slot.it.next().then((res) => ({ slot, res }));
  };
  const start = () => {
    while (active.size < Math.max(1, limit) && index < items.length) {
      const slot = { it: run(items[index++] as T)[Symbol.asyncIterator]() } as Slot;
      arm(slot);
      active.add(slot);
    }
  };
  try {
    start();
    while (active.size > 0) {
      const { slot, res } = await Promise.race([...active].map((s) => s.next));
      if (res.done) {
        active.delete(slot);
        start();
        continue;
      }
      arm(slot);
      yield res.value;
    }
  } finally {
    for (const s of active) {
      s.next.catch(() => undefined);
      await s.it.return?.().catch(() => undefined);
    }
  }
}
