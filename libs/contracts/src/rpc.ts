import { z } from 'zod';
import { ErrorBody } from './errors';

/** Who is calling: the platform root, a tenant API key, or an end user's token. */
export const Actor = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('root') }),
  z.object({ kind: z.literal('apiKey'), keyId: z.string() }),
  z.object({ kind: z.literal('user'), userId: z.string() }),
]);
export type Actor = z.infer<typeof Actor>;

/**
 * Every RPC request carries the caller's tenant and actor beside the operation's input, and for
 * a creating request sent with an `Idempotency-Key`, an opaque key derived from it and the
 * credential: a service creates at most one resource per key, so a retry gets the same one.
 */
export const RpcRequest = z.object({
  tenantId: z.string().nullable(),
  actor: Actor,
  idempotencyKey: z.string().min(1).max(128).optional(),
  input: z.unknown(),
  /** When the caller stops waiting (epoch ms): work it would wait for is not started after it. */
  deadline: z.number().optional(),
  /** The caller's trace (W3C), which the service's spans continue. */
  traceparent: z.string().max(256).optional(),
});
export type RpcRequest = z.infer<typeof RpcRequest>;

export const RpcReply = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), data: z.unknown() }),
  z.object({ ok: z.literal(false), error: ErrorBody }),
]);
export type RpcReply = z.infer<typeof RpcReply>;

/**
 * Whether an operation acts inside a tenant (`required`: the caller's credential must belong to
 * one, as every domain operation does) or not (`none`: platform operations such as `ping`).
 */
export type TenantScope = 'required' | 'none';

/** An RPC operation's contract: what it takes and what it answers. */
export interface RpcContract<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType, T extends TenantScope = TenantScope> {
  readonly summary: string;
  readonly input: I;
  readonly output: O;
  readonly tenant: T;
}

/** A tenant-scoped operation: the server refuses a call without a tenant before its handler runs. */
export function rpc<I extends z.ZodType, O extends z.ZodType>(summary: string, input: I, output: O) {
  return { summary, input, output, tenant: 'required' } satisfies RpcContract<I, O, 'required'>;
}

/** An operation outside any tenant. */
export function platformRpc<I extends z.ZodType, O extends z.ZodType>(summary: string, input: I, output: O) {
  return { summary, input, output, tenant: 'none' } satisfies RpcContract<I, O, 'none'>;
}

/** Every service answers `rpc.<service>.ping`; the gateway's /readyz asks them all. */
export const ping = platformRpc(
  'Liveness of a service behind NATS',
  z.object({}).optional(),
  z.object({ service: z.string(), instance: z.string() }),
);
