import { lazyInstruments, secondsHistogram } from '@allot/kit';
import { z } from 'zod';

const metrics = lazyInstruments((meter) => ({
  calls: secondsHistogram(meter, 'allot_supplier_call_duration_seconds', 'Supplier call duration by operation and outcome'),
}));

const ReserveReply = z.object({ accepted: z.boolean(), ref: z.string().min(1).max(200).nullish() });
const StatusReply = z.object({ status: z.enum(['ok', 'fail', 'delayed']) });

/** The supplier did not answer usefully (transport error, timeout, 5xx, a reply we cannot read): worth retrying. */
export class SupplierUnavailable extends Error {}

/**
 * The supplier's API (`POST /reserve`, `GET /reservations/:ref`; `tools/supplier-sim` plays it).
 * Every call has a timeout; it is only ever called from durable
 * jobs, never while an HTTP request of ours waits. Retries are the jobs' (durable backoff).
 */
export class SupplierClient {
  constructor(
    private readonly baseUrl: string,
    private readonly timeoutMs: number,
  ) {}

  reserve(sku: string, qty: number, reference: string) {
    return this.call('reserve', ReserveReply, '/reserve', { method: 'POST', body: JSON.stringify({ sku, qty, reference }) });
  }

  status(ref: string) {
    return this.call('status', StatusReply, `/reservations/${encodeURIComponent(ref)}`, { method: 'GET' });
  }

  private async call<T>(operation: string, reply: z.ZodType<T>, path: string, init: RequestInit): Promise<T> {
    const started = performance.now();
    let outcome = 'error';
    try {
      const res = await fetch(new URL(path, this.baseUrl), {
        ...init,
        headers: { 'content-type': 'application/json' },
        signal: AbortSignal.timeout(this.timeoutMs),
      }).catch((error: Error) => {
        throw new SupplierUnavailable(`supplier ${operation}: ${error.name === 'TimeoutError' ? 'timed out' : error.message}`);
      });
      if (res.status >= 500) throw new SupplierUnavailable(`supplier ${operation}: HTTP ${res.status}`);
      const body = reply.safeParse(await res.json().catch(() => undefined));
      if (!res.ok || !body.success) throw new SupplierUnavailable(`supplier ${operation}: unexpected HTTP ${res.status} reply`);
      outcome = 'ok';
      return body.data;
    } finally {
      metrics().calls.record((performance.now() - started) / 1000, { operation, outcome });
    }
  }
}
