/**
 * Stream updates that arrived before the answer naming their item. A short job (a two-row
 * import, a small report) can end, and say so on the stream, before the page has read the 202
 * that started it; a panel that only follows the item it knows would then wait forever. It
 * notes the updates of items it does not know yet (the last one per item, of the latest few)
 * and takes them once the answer names the item.
 */
export class EarlyUpdates<U extends { id: string }> {
  private readonly last = new Map<string, U>();

  constructor(private readonly keep = 20) {}

  note(update: U): void {
    this.last.delete(update.id);
    this.last.set(update.id, update);
    if (this.last.size > this.keep) this.last.delete(this.last.keys().next().value as string);
  }

  /** The last update noted for `id`, once. */
  take(id: string): U | undefined {
    const update = this.last.get(id);
    this.last.delete(id);
    return update;
  }
}
