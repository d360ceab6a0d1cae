import { z } from 'zod';
import { Bool, Id, Pagination, page, Timestamp } from '../primitives';
import { rpc } from '../rpc';

/**
 * Bulk imports (docs/api.md, Imports): a file of rows of one type, applied by the service that
 * owns that type's data. The gateway takes the upload and hands it on in chunks, so no message
 * carries more than one chunk; the owning service parses and applies it as a durable job.
 */
export const ImportType = z.enum(['sessions', 'capacity', 'bookings', 'skus']);
export type ImportType = z.infer<typeof ImportType>;

export type ImportOwner = 'capacity' | 'inventory';

/** Which service applies each type. */
export const importOwner = {
  sessions: 'capacity',
  capacity: 'capacity',
  bookings: 'capacity',
  skus: 'inventory',
} as const satisfies Record<ImportType, ImportOwner>;

/**
 * The service that holds an import, from its id: `imp_…-inventory` is inventory's; every other
 * (`imp_…-capacity`, and the plain `imp_…` of imports made before ids named their owner) capacity's.
 */
export const importOwnerOf = (id: string): ImportOwner => (id.endsWith('-inventory') ? 'inventory' : 'capacity');

export const ImportStatus = z.enum(['queued', 'running', 'previewed', 'completed', 'failed']);
export type ImportStatus = z.infer<typeof ImportStatus>;

/** What `import.updated` tells (the event of both owning services): an import's status and progress. */
export const ImportUpdated = z.object({
  id: Id,
  type: ImportType,
  status: ImportStatus,
  processedRows: z.number().int(),
  totalRows: z.number().int().nullable(),
});

export const ImportFormat = z.enum(['csv', 'ndjson']);

/** Where each field comes from: a column of the file, or a value fixed for every row. */
export const ImportMapping = z.record(
  z.string().min(1).max(64),
  z.union([z.string().min(1).max(200), z.strictObject({ value: z.union([z.string().max(2000), z.number(), z.boolean(), z.null()]) })]),
);
export type ImportMapping = z.infer<typeof ImportMapping>;

/** One refused row: its line in the file, the column (or field) at fault, the value found there. */
export const ImportRowError = z.object({
  line: z.number().int().min(1),
  column: z.string(),
  value: z.string().nullable(),
  message: z.string(),
});
export type ImportRowError = z.infer<typeof ImportRowError>;

export const Import = z.object({
  id: Id,
  type: ImportType,
  status: ImportStatus,
  dryRun: z.boolean(),
  atomic: z.boolean(),
  totalRows: z.number().int().nullable(),
  processedRows: z.number().int(),
  created: z.number().int(),
  updated: z.number().int(),
  unchanged: z.number().int(),
  failedRows: z.number().int(),
  /** The first errors; the rest page through `import.errors`. */
  errors: z.array(ImportRowError),
  /** Why a failed import stopped (a row limit, an unreadable file, or refused rows of an atomic one). */
  reason: z.string().nullable(),
  createdAt: Timestamp,
  completedAt: Timestamp.nullable(),
});
export type Import = z.infer<typeof Import>;

/** The most rows an import may hold on a page of its errors, and on the import itself. */
export const IMPORT_ERRORS_SHOWN = 100;

/** The most bytes of file one chunk carries (base64 in the message: well under NATS's 1 MB). */
export const IMPORT_CHUNK_BYTES = 512 * 1024;

/** The form fields of `POST /v1/imports` besides the file, as the gateway reads them. */
export const ImportOptions = z.strictObject({
  type: ImportType,
  mapping: ImportMapping.optional(),
  dryRun: Bool.default(false),
  atomic: Bool.default(false),
});

export const BeginImport = z.strictObject({
  type: ImportType,
  format: ImportFormat,
  mapping: ImportMapping.default({}),
  dryRun: z.boolean(),
  atomic: z.boolean(),
  sizeBytes: z.number().int().min(0),
});
export const ImportChunk = z.strictObject({
  id: Id,
  seq: z.number().int().min(0),
  data: z.string().max(Math.ceil(IMPORT_CHUNK_BYTES / 3) * 4),
});
export const StartImport = z.strictObject({ id: Id, chunks: z.number().int().min(0) });
export const ImportErrorsQuery = Pagination.extend({ id: Id }).strict();

/** The operations an owning service serves for imports (`rpc.<service>.import.*`). */
export const importRpc = {
  'import.begin': rpc('Open an import: its options, before the file arrives in chunks', BeginImport, Import),
  'import.chunk': rpc('One chunk of an import’s file', ImportChunk, z.object({ seq: z.number().int() })),
  'import.start': rpc('The file is complete: queue the import', StartImport, Import),
  'import.get': rpc('Get an import', z.object({ id: Id }), Import),
  'import.list': rpc('List imports, newest first', Pagination.strict(), page(Import)),
  'import.errors': rpc('A page of an import’s row errors, by line', ImportErrorsQuery, page(ImportRowError)),
  'import.confirm': rpc('Apply a previewed dry run', z.object({ id: Id }), Import),
} as const;
