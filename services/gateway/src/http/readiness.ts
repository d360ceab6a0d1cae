import { ping } from '@allot/contracts';
import type { RpcClient } from '@allot/kit';

export type Checks = Record<string, boolean>;

/**
 * The gateway's readiness: its own (started, NATS, Mongo) and every service it needs answering
 * a ping. Probed at most once per `maxAgeMs` however often it is asked (load balancers poll, and
 * anyone can call the public `/readyz`); callers meanwhile share the last result or the probe
 * under way.
 */
export function cachedReadiness(own: () => Promise<Checks>, client: RpcClient, services: string[], maxAgeMs = 1000): () => Promise<Checks> {
  let last: { at: number; checks: Checks } | undefined;
  let running: Promise<Checks> | undefined;
  const probe = async (): Promise<Checks> => {
    const [checks, ...answers] = await Promise.all([
      own(),
      ...services.map((name) =>
        client
          .call(name as never, 'ping', ping, {}, { tenantId: null, actor: { kind: 'root' }, timeoutMs: 1000 })
          .then(() => [name, true] as const)
          .catch(() => [name, false] as const),
      ),
    ]);
    return { ...checks, ...Object.fromEntries(answers) };
  };
  return () => {
    if (last && performance.now() - last.at < maxAgeMs) return Promise.resolve(last.checks);
    running ??= probe()
      .then((checks) => {
        last = { at: performance.now(), checks };
        return checks;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };
}
