import { createHash } from 'node:crypto';
import {
  AppError,
  capacityRpc,
  Id,
  IMPORT_CHUNK_BYTES,
  Import,
  ImportMapping,
  ImportOptions,
  importOwner,
  Pagination,
  validationError,
} from '@allot/contracts';
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { GatewayDeps } from '../deps';
import { requireCredential } from '../http/auth';
import type { GatewayEnv } from '../http/env';
import { idempotent } from '../http/idempotency';
import { bearer, callableBy, IdempotencyHeader, problems, router } from '../http/openapi';
import { registerRpcRoutes, rpcRoute } from '../http/rpc-route';

const byId = z.object({ id: Id });
const tenant = ['apiKey'] as const;
// Every import type is capacity's for now; the upload routes by type (`importOwner`), so a type
// owned by another service adds its owner here and to these reads.
const service = 'capacity' as const;
const op = <K extends keyof typeof capacityRpc>(operation: K) => ({ service, operation, contract: capacityRpc[operation] });

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
    'Takes a `multipart/form-data` upload: `type` (`sessions` or `capacity`), `file` (CSV with a header row, or NDJSON when its ' +
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

/** Bulk imports: the upload, its progress and row errors, and the confirmation of a dry run. */
export function importRoutes(deps: GatewayDeps) {
  const app = router();
  registerRpcRoutes(app, deps, [
    rpcRoute({
      method: 'get',
      path: '/imports',
      summary: 'List imports',
      operationId: 'listImports',
      tag: 'Imports',
      description: "Lists the tenant's imports, newest first, with their counts (an import's errors are on its own answer).",
      credentials: [...tenant],
      ...op('import.list'),
      query: Pagination.strict(),
      input: (r) => r.query,
    }),
    rpcRoute({
      method: 'get',
      path: '/imports/{id}',
      summary: 'Get an import',
      operationId: 'getImport',
      tag: 'Imports',
      description:
        'Returns an import: its status (`queued`, `running`, `previewed`, `completed`, `failed`), the rows counted so far and the first 100 row errors.',
      credentials: [...tenant],
      ...op('import.get'),
      params: byId,
      input: (r) => r.params,
    }),
    rpcRoute({
      method: 'get',
      path: '/imports/{id}/errors',
      summary: "List an import's row errors",
      operationId: 'listImportErrors',
      tag: 'Imports',
      description: 'Every refused row of an import, by line: the line, the column, the value found there and why it was refused.',
      credentials: [...tenant],
      ...op('import.errors'),
      params: byId,
      query: Pagination.strict(),
      input: (r) => ({ ...r.query, ...r.params }),
    }),
    rpcRoute({
      method: 'post',
      path: '/imports/{id}/confirm',
      summary: 'Apply a previewed dry run',
      operationId: 'confirmImport',
      tag: 'Imports',
      description:
        'Applies a dry run that ended `previewed`, from the file already uploaded (202; it runs in the background). Any other import is 409 `invalid_state`.',
      credentials: [...tenant],
      ...op('import.confirm'),
      params: byId,
      status: 202,
      input: (r) => r.params,
    }),
  ]);
  return app.openapi(uploadRoute, (c) => upload(c, deps) as never);
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
      input: z.input<(typeof capacityRpc)[K]['input']>,
    ) => deps.callService(c, owner, operation, capacityRpc[operation], input);
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
