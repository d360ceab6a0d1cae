import { createHash } from 'node:crypto';
import {
  AppError,
  capacityRpc,
  Id,
  IMPORT_CHUNK_BYTES,
  Import,
  ImportMapping,
  ImportOptions,
  type ImportOwner,
  ImportRowError,
  importOwner,
  importOwnerOf,
  importRpc,
  inventoryRpc,
  Pagination,
  page,
  validationError,
} from '@allot/contracts';
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { GatewayDeps } from '../deps';
import { requireCredential } from '../http/auth';
import type { GatewayEnv } from '../http/env';
import { idempotent } from '../http/idempotency';
import { bearer, callableBy, IdempotencyHeader, problems, router } from '../http/openapi';

const byId = z.object({ id: Id });
const tenant = ['apiKey'] as const;
const tag = 'Imports' as const;
const owners: ImportOwner[] = ['capacity', 'inventory'];
const contracts = { capacity: capacityRpc, inventory: inventoryRpc } as const;
type ImportOp = keyof typeof importRpc;

const UploadForm = z.object({
  type: ImportOptions.shape.type,
  // A file part (the form may come from another realm's File class, so it is known by its shape).
  file: z
    .custom<File>((v) => typeof v === 'object' && v !== null && typeof (v as File).arrayBuffer === 'function', 'a file is required')
    .openapi({ type: 'string', format: 'binary', description: 'CSV with a header row, or NDJSON (one object a line)' }),
  mapping: z.string().optional().openapi({ description: 'JSON: field → file column name, or `{"value": …}` for a fixed value' }),
  dryRun: z.enum(['true', 'false']).optional(),
  atomic: z.enum(['true', 'false']).optional(),
});

const uploadRoute = createRoute({
  method: 'post',
  path: '/imports',
  operationId: 'createImport',
  tags: ['Imports'],
  summary: 'Upload a file of rows to import',
  description:
    'Takes a `multipart/form-data` upload: `type` (`sessions`, `capacity`, `bookings` or `skus`), `file` (CSV with a header row, or NDJSON when its ' +
    'name ends in `.ndjson`/`.jsonl` or its type is `application/x-ndjson`), optional `mapping`, `dryRun` and `atomic`. ' +
    'Answers 202 with the queued import; it runs in the background (`GET /v1/imports/{id}`). A file over the size limit is 413; ' +
    `more imports queued or running than the tenant's limit is 429 \`too_many_jobs\`. ${callableBy(...tenant)}`,
  security: bearer,
  middleware: [requireCredential(...tenant)],
  request: { headers: IdempotencyHeader, body: { required: true, content: { 'multipart/form-data': { schema: UploadForm } } } },
  responses: {
    202: { description: 'Queued', content: { 'application/json': { schema: Import } } },
    ...problems(400, 401, 403, 409, 413, 422, 429, 503),
  },
});

const listRoute = createRoute({
  method: 'get',
  path: '/imports',
  operationId: 'listImports',
  tags: [tag],
  summary: 'List imports',
  description: `Lists the tenant's imports of every type, newest first, with their counts (an import's errors are on its own answer). ${callableBy(...tenant)}`,
  security: bearer,
  middleware: [requireCredential(...tenant)],
  request: { query: Pagination.strict() },
  responses: { 200: { description: 'OK', content: { 'application/json': { schema: page(Import) } } }, ...problems(400, 401, 403, 503) },
});

const getRoute = createRoute({
  method: 'get',
  path: '/imports/{id}',
  operationId: 'getImport',
  tags: [tag],
  summary: 'Get an import',
  description: `Returns an import: its status (\`queued\`, \`running\`, \`previewed\`, \`completed\`, \`failed\`), the rows counted so far and the first 100 row errors. ${callableBy(...tenant)}`,
  security: bearer,
  middleware: [requireCredential(...tenant)],
  request: { params: byId },
  responses: { 200: { description: 'OK', content: { 'application/json': { schema: Import } } }, ...problems(400, 401, 403, 404, 503) },
});

const errorsRoute = createRoute({
  method: 'get',
  path: '/imports/{id}/errors',
  operationId: 'listImportErrors',
  tags: [tag],
  summary: "List an import's row errors",
  description: `Every refused row of an import, by line: the line, the column, the value found there and why it was refused. ${callableBy(...tenant)}`,
  security: bearer,
  middleware: [requireCredential(...tenant)],
  request: { params: byId, query: Pagination.strict() },
  responses: {
    200: { description: 'OK', content: { 'application/json': { schema: page(ImportRowError) } } },
    ...problems(400, 401, 403, 404, 503),
  },
});

const confirmRoute = createRoute({
  method: 'post',
  path: '/imports/{id}/confirm',
  operationId: 'confirmImport',
  tags: [tag],
  summary: 'Apply a previewed dry run',
  description: `Applies a dry run that ended \`previewed\`, from the file already uploaded (202; it runs in the background). Any other import is 409 \`invalid_state\`. ${callableBy(...tenant)}`,
  security: bearer,
  middleware: [requireCredential(...tenant)],
  request: { params: byId },
  responses: {
    202: { description: 'Queued', content: { 'application/json': { schema: Import } } },
    ...problems(400, 401, 403, 404, 409, 503),
  },
});

/**
 * Bulk imports: the upload, its progress and row errors, and the confirmation of a dry run. Each
 * type is applied by the service that owns its data (\`importOwner\`), and an import's id names
 * that service (\`importOwnerOf\`) for every later call; the list pages through both services'
 * imports at once (their ids sort by creation time).
 */
export function importRoutes(deps: GatewayDeps) {
  const call = <K extends ImportOp>(
    c: Context<GatewayEnv>,
    owner: ImportOwner,
    operation: K,
    input: z.input<(typeof importRpc)[K]['input']>,
  ) =>
    deps.callService(c, owner, operation, contracts[owner][operation], input as never) as Promise<
      z.output<(typeof importRpc)[K]['output']>
    >;
  const param = (c: Context<GatewayEnv>) => (c.req.valid as (t: 'param') => { id: string })('param');
  const query = (c: Context<GatewayEnv>) => (c.req.valid as (t: 'query') => z.output<typeof Pagination>)('query');
  return router()
    .openapi(listRoute, (async (c: Context<GatewayEnv>) => {
      const { limit, cursor } = query(c);
      const pages = await Promise.all(owners.map((owner) => call(c, owner, 'import.list', { limit, ...(cursor ? { cursor } : {}) })));
      const merged = pages.flatMap((p) => p.items).sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
      const items = merged.slice(0, limit);
      const more = merged.length > limit || pages.some((p) => p.nextCursor !== null);
      return c.json({ items, nextCursor: more && items.length > 0 ? (items.at(-1)?.id ?? null) : null });
    }) as never)
    .openapi(getRoute, (async (c: Context<GatewayEnv>) => {
      const { id } = param(c);
      return c.json(await call(c, importOwnerOf(id), 'import.get', { id }));
    }) as never)
    .openapi(errorsRoute, (async (c: Context<GatewayEnv>) => {
      const { id } = param(c);
      return c.json(await call(c, importOwnerOf(id), 'import.errors', { id, ...query(c) }));
    }) as never)
    .openapi(confirmRoute, (async (c: Context<GatewayEnv>) => {
      const { id } = param(c);
      return c.json(await call(c, importOwnerOf(id), 'import.confirm', { id }), 202);
    }) as never)
    .openapi(uploadRoute, ((c: Context<GatewayEnv>) => upload(c, deps)) as never);
}

/**
 * The upload: the form is validated, then the file goes to its owning service in chunks (no
 * message carries more than one) and the import is queued. Under an `Idempotency-Key` the same
 * options and file replay the first answer.
 */
async function upload(c: Context<GatewayEnv>, deps: GatewayDeps) {
  const form = (c.req.valid as (target: 'form') => z.output<typeof UploadForm>)('form');
  const file = form.file;
  const options = ImportOptions.safeParse({
    type: form.type,
    mapping: parseMapping(form.mapping),
    dryRun: form.dryRun ?? 'false',
    atomic: form.atomic ?? 'false',
  });
  if (!options.success) throw validationError(options.error);
  const bytes = new Uint8Array(await file.arrayBuffer());
  const format = /\.(ndjson|jsonl)$/i.test(file.name) || file.type === 'application/x-ndjson' ? 'ndjson' : 'csv';
  const { type, mapping, dryRun, atomic } = options.data;
  const digest = createHash('sha256').update(bytes).digest('base64url');
  const owner = importOwner[type];
  const run = async () => {
    const call = <K extends 'import.begin' | 'import.chunk' | 'import.start'>(
      operation: K,
      input: z.input<(typeof importRpc)[K]['input']>,
    ) => deps.callService(c, owner, operation, importRpc[operation], input);
    const opened = await call('import.begin', { type, format, mapping: mapping ?? {}, dryRun, atomic, sizeBytes: bytes.length });
    let chunks = 0;
    for (let at = 0; at < bytes.length; at += IMPORT_CHUNK_BYTES, chunks++) {
      const data = Buffer.from(bytes.subarray(at, at + IMPORT_CHUNK_BYTES)).toString('base64');
      // A retry whose first attempt completed the file finds it complete: nothing more to send.
      const sent = await call('import.chunk', { id: opened.id, seq: chunks, data }).catch((error) => {
        if (error instanceof AppError && error.code === 'invalid_state') return null;
        throw error;
      });
      if (!sent) break;
    }
    return c.json(await call('import.start', { id: opened.id, chunks }), 202);
  };
  return idempotent(c, deps.idempotency, { type, mapping, dryRun, atomic, format, digest }, run);
}

function parseMapping(raw: unknown): unknown {
  if (raw === undefined || raw === '') return undefined;
  if (typeof raw !== 'string') throw invalid('mapping', 'must be JSON text');
  try {
    const parsed = ImportMapping.safeParse(JSON.parse(raw));
    if (!parsed.success) throw invalid('mapping', parsed.error.issues[0]?.message ?? 'is not a mapping');
    return parsed.data;
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw invalid('mapping', 'must be JSON: an object of field → column name or {"value": …}');
  }
}

const invalid = (path: string, message: string) =>
  new AppError('validation_failed', `Invalid request: ${path} ${message}`, { errors: [{ path, message }] });
