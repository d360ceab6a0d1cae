import { createHash } from 'node:crypto';
import type { RpcContract, ServiceName } from '@allot/contracts';
import type { RpcClient } from '@allot/kit';
import type { Context } from 'hono';
import type { z } from 'zod';
import { actorOf } from '../auth/credentials';
import type { GatewayEnv } from './env';
import { requestHeader } from './node';

/**
 * Calls a service on behalf of the request's credential (its tenant and actor travel with the
 * call, and an `Idempotency-Key` as an opaque key the service dedupes creations on). Service errors come back as the same `AppError`, which `onError` maps to a problem
 * response; a missing or slow service is `upstream_unavailable` (503) by the deadline.
 */
export function createRpcBridge(client: RpcClient, timeoutMs: number) {
  return function callService<C extends RpcContract>(
    c: Context<GatewayEnv>,
    service: ServiceName,
    operation: string,
    contract: C,
    input: z.input<C['input']>,
  ): Promise<z.output<C['output']>> {
    const credential = c.get('credential');
    if (!credential) throw new Error('callService needs an authenticated route');
    const key = requestHeader(c, 'idempotency-key');
    // Scoped like the gateway's own record (credential, method, path), and opaque to the service.
    const idempotencyKey = key
      ? createHash('sha256').update(`${credential.id}\u0000${c.req.method} ${c.req.path}\u0000${key}`).digest('base64url')
      : undefined;
    return client.call(service, operation, contract, input, {
      tenantId: credential.tenantId,
      actor: actorOf(credential),
      idempotencyKey,
      timeoutMs,
      traceContext: c.get('traceContext'),
    });
  };
}

export type CallService = ReturnType<typeof createRpcBridge>;
