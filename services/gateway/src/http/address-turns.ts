import pLimit, { type LimitFunction } from 'p-limit';

/**
 * Runs work per client address at most `concurrency` at a time (p-limit per address), in
 * arrival order. An address's queue exists only while it has work, so an attacker's many
 * addresses cost nothing once they are quiet.
 */
export class AddressTurns {
  private readonly queues = new Map<string, LimitFunction>();

  constructor(private readonly concurrency: number) {}

  async run<T>(address: string, work: () => Promise<T>): Promise<T> {
    let queue = this.queues.get(address);
    if (!queue) {
      queue = pLimit(this.concurrency);
      this.queues.set(address, queue);
    }
    try {
      return await queue(work);
    } finally {
      if (queue.activeCount === 0 && queue.pendingCount === 0) this.queues.delete(address);
    }
  }
}
