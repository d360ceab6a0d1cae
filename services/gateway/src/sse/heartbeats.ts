/** How many turns one heartbeat interval is cut into: each turn writes to one group of streams. */
const GROUPS = 10;

/**
 * One timer for the heartbeats of every stream, instead of one per stream: streams are spread
 * over `GROUPS` groups as they open, and every `intervalMs / GROUPS` the next group gets its
 * heartbeat, so each stream still gets one per interval while a server with many streams writes
 * a tenth of them at a time rather than all at once. The timer runs only while streams are open
 * and never keeps the process alive.
 */
export class Heartbeats<T extends { heartbeat(): void }> {
  private readonly groups: Set<T>[] = Array.from({ length: GROUPS }, () => new Set<T>());
  private next = 0;
  private turn = 0;
  private count = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly intervalMs: number) {}

  /** Starts the stream's heartbeats (`delete` stops them: no closure per stream). */
  add(stream: T): void {
    (this.groups[this.next++ % GROUPS] as Set<T>).add(stream);
    this.count++;
    this.timer ??= setInterval(() => this.beat(), this.intervalMs / GROUPS).unref();
  }

  /** Stops the stream's heartbeats; stopping them again changes nothing. */
  delete(stream: T): void {
    if (!this.groups.some((group) => group.delete(stream))) return;
    if (--this.count === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private beat() {
    const group = this.groups[this.turn++ % GROUPS] as Set<T>;
    for (const stream of group) stream.heartbeat();
  }
}
