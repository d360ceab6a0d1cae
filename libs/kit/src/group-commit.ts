/**
 * Group commit for a hot record (TigerBeetle's "hot account"): changes to one key are queued and
 * decided together, one batch at a time per key in this process, so a busy record is written
 * once per batch instead of once per change. A batch starts as soon as the key is idle — an
 * idle request is never delayed — and whatever arrives while it is written forms the next one,
 * so batches grow with the load by themselves, up to `maxBatch`.
 *
 * `commit` decides the batch (in arrival order) and writes it; it returns one outcome per
 * change, in order. Correctness across processes is `commit`'s job (e.g. a version
 * compare-and-set that re-reads and decides again on conflict).
 *
 * `writers` batches of one key may be written at once: 1 (the default) for a record whose changes
 * must be decided in order; more where they are independent (inserts of separate documents),
 * so a change arriving during a slow write need not wait for it to end.
 */
export class GroupCommit<Change, Outcome> {
  private readonly queues = new Map<string, { change: Change; settle: (outcome: Promise<Outcome>) => void }[]>();
  /** Batches being written, per key. */
  private readonly running = new Map<string, number>();

  constructor(
    private readonly commit: (key: string, changes: Change[]) => Promise<Outcome[]>,
    private readonly maxBatch = 256,
    private readonly writers = 1,
  ) {}

  /** Queues a change of `key`; resolves with its outcome once its batch is written. */
  submit(key: string, change: Change): Promise<Outcome> {
    return new Promise<Outcome>((resolve, reject) => {
      const queue = this.queues.get(key) ?? [];
      this.queues.set(key, queue);
      queue.push({ change, settle: (outcome) => outcome.then(resolve, reject) });
      if ((this.running.get(key) ?? 0) < this.writers) void this.drain(key);
    });
  }

  private async drain(key: string): Promise<void> {
    this.running.set(key, (this.running.get(key) ?? 0) + 1);
    try {
      for (let queue = this.queues.get(key); queue?.length; queue = this.queues.get(key)) {
        const batch = queue.splice(0, this.maxBatch);
        const outcomes = this.commit(
          key,
          batch.map((b) => b.change),
        );
        // A failed commit fails every change of its batch; the next batch is tried afresh.
        await outcomes.then(
          (all) => {
            for (const [i, b] of batch.entries()) b.settle(Promise.resolve(all[i] as Outcome));
          },
          (error) => {
            for (const b of batch) b.settle(Promise.reject(error));
          },
        );
      }
    } finally {
      const left = (this.running.get(key) ?? 1) - 1;
      if (left > 0) this.running.set(key, left);
      else {
        this.running.delete(key);
        if (this.queues.get(key)?.length === 0) this.queues.delete(key);
      }
    }
  }
}
