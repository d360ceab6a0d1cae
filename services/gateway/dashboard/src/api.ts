import { type AllotClient, createAllotClient, type Problem } from '@allot/client';

export type { AllotClient };

/** The typed client for the gateway that serves this page. */
export const clientFor = (secret: string) => createAllotClient({ baseUrl: location.origin, credential: secret });

/** A refused or failed call, with the problem's code and the text a person can act on. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
  ) {
    super(detail);
  }
}

/**
 * Unwraps a typed call: its data, or an `ApiError` from the problem body. A 429 is waited out
 * (`Retry-After`) and tried again, since loading the grid makes many small calls at once.
 */
export async function must<T>(call: () => Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const { data, error, response } = await call();
    if (response.status === 429 && attempt < 5) {
      await new Promise((resolve) => setTimeout(resolve, Number(response.headers.get('retry-after') ?? '1') * 1000));
      continue;
    }
    if (response.ok) return data as T;
    const problem = (error ?? {}) as Partial<Problem>;
    throw new ApiError(response.status, problem.code ?? 'internal', problem.detail ?? `${response.status} ${response.statusText}`);
  }
}

/** Runs `work` over `items`, at most `limit` at a time (kind to the per-credential rate limit). */
export async function eachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>) {
  const queue = [...items];
  const worker = async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
