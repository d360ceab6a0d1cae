/**
 * Runs the tasks of one key one after another, in the order they were given (tasks of different
 * keys run side by side). The projection uses it so the changes of one session/date are written
 * and announced in their stream order even though the consumer handles many events at once.
 */
export function inOrderPerKey() {
  const tails = new Map<string, Promise<void>>();
  return (key: string, task: () => Promise<void>): Promise<void> => {
    const previous = tails.get(key) ?? Promise.resolve();
    const run = previous.catch(() => {}).then(task);
    const tail = run.catch(() => {});
    tails.set(key, tail);
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key);
    });
    return run;
  };
}
