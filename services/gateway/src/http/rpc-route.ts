import { AppError, type RpcContract, type ServiceName } from '@allot/contracts';
import { createRoute, type OpenAPIHono, type z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Credential, CredentialKind } from '../auth/credentials';
import type { IdempotencyStore } from '../store/idempotency';
import { requireCredential } from './auth';
import type { GatewayEnv } from './env';
import { idempotent } from './idempotency';
import { bearer, callableBy, IdempotencyHeader, problems } from './openapi';
import type { ApiTag } from './openapi-info';
import type { CallService } from './rpc-bridge';

/** What an RPC route uses (the gateway's context has both): the bridge to the services and the store of keyed answers. */
export interface RpcRouteDeps {
  callService: CallService;
  idempotency: IdempotencyStore;
}

interface Validated {
  params: any;
  query: any;
  body: any;
}

/** One HTTP route that is one RPC call: who may call it, what it validates, how it maps to the input. */
export interface RpcRouteSpec<C extends RpcContract> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string;
  /** The name SDK generators give the method: a camelCase verb and noun (`createBooking`), kept once published. */
  operationId: string;
  /** The area `/docs` lists the operation under. */
  tag: ApiTag;
  summary: string;
  /** What it does and what a client must know; which credentials may call it is added from `credentials`. */
  description: string;
  credentials: CredentialKind[];
  service: ServiceName;
  operation: string;
  contract: C;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** 204: the answer has no body (a DELETE); the service's reply is dropped. */
  status?: 200 | 201 | 202 | 204;
  /** Creating POSTs honour `Idempotency-Key`. */
  idempotent?: boolean;
  /** The answer shows a secret: a stored idempotent answer is sealed (see `idempotent`). */
  carriesSecret?: boolean;
  input(request: Validated): z.input<C['input']>;
}

/**
 * Registers routes that are each a single RPC: the request is validated by the given schemas
 * (and documented in the OpenAPI document by them), the credential checked, and the service's
 * reply returned as it is — or its error as a problem response.
 */
export function registerRpcRoutes(app: OpenAPIHono<GatewayEnv>, deps: RpcRouteDeps, specs: RpcRouteSpec<RpcContract>[]) {
  for (const spec of specs) {
    const status = spec.status ?? 200;
    const request: Record<string, unknown> = {};
    if (spec.params) request.params = spec.params;
    if (spec.query) request.query = spec.query;
    if (spec.body) request.body = { required: true, content: { 'application/json': { schema: spec.body } } };
    if (spec.idempotent) request.headers = IdempotencyHeader;
    const route = createRoute({
      method: spec.method,
      path: spec.path,
      operationId: spec.operationId,
      tags: [spec.tag],
      summary: spec.summary,
      description: `${spec.description} ${callableBy(...spec.credentials)}`,
      security: bearer,
      middleware: [requireCredential(...spec.credentials)],
      request,
      responses: {
        [status]:
          status === 204
            ? { description: 'Done; no content' }
            : { description: 'OK', content: { 'application/json': { schema: spec.contract.output } } },
        ...problems(400, 401, 403, 404, 409, 422, 429, 503),
      },
    });
    const handler = async (c: Context<GatewayEnv>) => {
      const valid = (target: string) => (c.req.valid as (t: string) => unknown)(target);
      const validated: Validated = {
        params: spec.params ? valid('param') : {},
        query: spec.query ? valid('query') : {},
        body: spec.body ? valid('json') : {},
      };
      refuseOtherUser(c.get('credential'), validated);
      const run = async () => {
        const reply = await deps.callService(c, spec.service, spec.operation, spec.contract, spec.input(validated));
        return status === 204 ? c.body(null, 204) : c.json(reply, status);
      };
      return spec.idempotent ? idempotent(c, deps.idempotency, validated.body, run, { carriesSecret: spec.carriesSecret }) : run();
    };
    app.openapi(route, handler as never);
  }
}

/**
 * A user token acts for its own user only: naming another `userId` in the body or query is
 * refused (403) rather than silently replaced by the token's user.
 */
function refuseOtherUser(credential: Credential | undefined, request: Validated) {
  if (credential?.kind !== 'user') return;
  for (const [where, values] of [
    ['body', request.body],
    ['query', request.query],
  ] as const) {
    const named = (values as { userId?: unknown } | undefined)?.userId;
    if (named !== undefined && named !== null && named !== credential.userId) {
      throw new AppError('forbidden', `A user token may only name its own userId (in the ${where})`);
    }
  }
}

/** Keeps the spec's input function typed against its contract while the list stays homogeneous. */
export const rpcRoute = <C extends RpcContract>(spec: RpcRouteSpec<C>) => spec as unknown as RpcRouteSpec<RpcContract>;
