/**
 * Failpoints: named places where a process can be made to die at the worst moment, so the fault
 * suite causes every run what a timed signal would only hit by luck (a consumer killed after
 * its handler ran and before its ack, say). `ALLOT_FAILPOINTS` names those armed, comma-separated;
 * it is never set outside the suite, and then a check is one lookup in an empty set.
 */
const armed = new Set((process.env.ALLOT_FAILPOINTS ?? '').split(',').filter(Boolean));

/** Dies here (SIGKILL: nothing flushed, nothing acknowledged) if `name` is armed. */
export function failpoint(name: string): void {
  if (armed.size > 0 && armed.has(name)) process.kill(process.pid, 'SIGKILL');
}
