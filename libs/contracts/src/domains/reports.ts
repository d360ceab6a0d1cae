import { z } from 'zod';
import { Id, IsoDate, Pagination, page, Timestamp } from '../primitives';
import { rpc } from '../rpc';

/**
 * Reports (docs/api.md, Reports): a file of rows generated in the background by the service that
 * owns the data, kept until it expires, and downloaded through the gateway chunk by chunk.
 */
export const ReportType = z.enum(['bookings', 'occupancy', 'orders', 'stock-movements', 'stock-valuation']);
export type ReportType = z.infer<typeof ReportType>;

/** Which service generates each type. */
export const reportOwner = {
  bookings: 'capacity',
  occupancy: 'capacity',
  orders: 'inventory',
  'stock-movements': 'inventory',
  'stock-valuation': 'inventory',
} as const satisfies Record<ReportType, 'capacity' | 'inventory'>;
export type ReportOwner = (typeof reportOwner)[ReportType];

/**
 * A report's id names its owner after the time-ordered part (`rep_<ULID>-capacity`), so the
 * gateway finds the service of any id without a lookup, and ids of both owners still sort by
 * creation time (one cursor pages through both).
 */
export function reportOwnerOf(id: string): ReportOwner | undefined {
  const owner = /-(capacity|inventory)$/.exec(id)?.[1];
  return owner as ReportOwner | undefined;
}

export const ReportFormat = z.enum(['csv', 'ndjson', 'xlsx']);
export type ReportFormat = z.infer<typeof ReportFormat>;

/** The media type each format is downloaded as. */
export const reportContentType: Record<ReportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  ndjson: 'application/x-ndjson',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};

export const ReportStatus = z.enum(['queued', 'running', 'ready', 'failed', 'expired']);
export type ReportStatus = z.infer<typeof ReportStatus>;

/** The columns of each type, in file order. */
export const reportColumns = {
  bookings: [
    'bookingId',
    'sessionId',
    'sessionName',
    'date',
    'status',
    'adults',
    'children',
    'slots',
    'userId',
    'bookingType',
    'createdAt',
  ],
  occupancy: ['sessionId', 'sessionName', 'date', 'capacity', 'booked', 'held', 'available', 'utilizationPercentage', 'waitlist'],
  orders: ['orderId', 'sku', 'qty', 'userId', 'status', 'reason', 'createdAt', 'updatedAt'],
  'stock-movements': ['movementId', 'sku', 'type', 'qty', 'orderId', 'at'],
  'stock-valuation': ['sku', 'name', 'quantity', 'unitCostFifo', 'value'],
} as const satisfies Record<ReportType, readonly string[]>;

/**
 * What to report: `from`/`to` are whole days (UTC, both included); a valuation is taken at the
 * end of `to` (default today). `sessionId` narrows `bookings` and `occupancy`, `sku` the
 * inventory types.
 */
export const CreateReport = z
  .strictObject({
    type: ReportType,
    format: ReportFormat,
    from: IsoDate.optional(),
    to: IsoDate.optional(),
    sessionId: Id.optional(),
    sku: z.string().min(1).max(64).optional(),
  })
  .superRefine((input, ctx) => {
    if (input.from && input.to && input.from > input.to) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must not be before from' });
    if (input.sessionId && reportOwner[input.type] !== 'capacity')
      ctx.addIssue({ code: 'custom', path: ['sessionId'], message: `does not apply to ${input.type}` });
    if (input.sku && reportOwner[input.type] !== 'inventory')
      ctx.addIssue({ code: 'custom', path: ['sku'], message: `does not apply to ${input.type}` });
  });
export type CreateReport = z.infer<typeof CreateReport>;

export const Report = z.object({
  id: Id,
  type: ReportType,
  format: ReportFormat,
  status: ReportStatus,
  /** How far the rows are written (0–100). */
  percentage: z.number().int().min(0).max(100),
  /** Rows written so far (all of them once ready). */
  rows: z.number().int(),
  /** The file's size once ready: the bytes downloaded, uncompressed. */
  sizeBytes: z.number().int().nullable(),
  /** Why a failed report stopped. */
  error: z.string().nullable(),
  from: IsoDate.nullable(),
  to: IsoDate.nullable(),
  sessionId: Id.nullable(),
  sku: z.string().nullable(),
  /** The user who asked (a user token), or null (an API key: the admins feed is told). */
  userId: z.string().nullable(),
  createdAt: Timestamp,
  readyAt: Timestamp.nullable(),
  expiresAt: Timestamp.nullable(),
});
export type Report = z.infer<typeof Report>;

/** What `report.updated` tells: a report's status and progress, and who asked. */
export const ReportUpdated = Report.pick({
  id: true,
  type: true,
  format: true,
  status: true,
  percentage: true,
  rows: true,
  sizeBytes: true,
  error: true,
  userId: true,
  expiresAt: true,
});
export type ReportUpdated = z.infer<typeof ReportUpdated>;

/** The most bytes of file one chunk carries (base64 in a reply: well under NATS's 1 MB). */
export const REPORT_CHUNK_BYTES = 384 * 1024;

export const ReportChunkQuery = z.strictObject({ id: Id, seq: z.number().int().min(0) });
export const ReportChunk = z.object({
  seq: z.number().int(),
  /** The chunk's bytes, base64. */
  data: z.string(),
  /** Whether this is the file's last chunk. */
  last: z.boolean(),
  /**
   * How the file is stored, so how the chunks' bytes read: `gzip`, one gzip stream cut into the
   * chunks (CSV and NDJSON), or null, the file as it is (XLSX, and files stored before compression).
   */
  encoding: z.enum(['gzip']).nullable().default(null),
  /** The bytes of all the chunks together (the file's `sizeBytes` when it is stored as it is). */
  storedBytes: z.number().int().nullable().default(null),
});

/** The operations an owning service serves for reports (`rpc.<service>.report.*`). */
export const reportRpc = {
  'report.create': rpc('Queue a report (a user token: its own bookings only)', CreateReport, Report),
  'report.get': rpc('Get a report', z.object({ id: Id }), Report),
  'report.list': rpc('List reports, newest first', Pagination.strict(), page(Report)),
  'report.chunk': rpc('One chunk of a ready report’s file', ReportChunkQuery, ReportChunk),
} as const;
