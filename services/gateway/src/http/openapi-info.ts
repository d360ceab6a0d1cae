/**
 * The areas of the API. Every operation carries exactly one of these tags: Swagger UI at `/docs`
 * groups the operations by it, and SDK generators make one class or module per tag. The order
 * here is the order `/docs` shows them in.
 */
const areas = {
  Tenants:
    'A tenant is one customer of the platform; the root key creates it with its first API key. `GET /v1/me` tells any credential who it is.',
  'API keys':
    "A tenant's API keys: its own backend's credential for everything in the tenant. A key's secret is shown once, when it is made.",
  'User tokens':
    "Short-lived tokens an API key issues for one end user: they read sessions and availability and act on that user's own bookings, waitlist entries, orders, notifications and stream.",
  Sessions: 'What can be booked: a named session with a default capacity, bookable on any date while it is active.',
  Capacity: "Seats per session and date: setting them, checking whether slots can be booked, and the day's alerts.",
  Bookings: 'Slots booked on a session and date, confirmed at once or held first and confirmed later.',
  Waitlist: 'Entries waiting for seats on a full session and date, promoted to bookings in order as seats free up.',
  Availability:
    'What is left to book, computed from the bookings and kept up to date as they change; answers carry an `ETag` so polling is cheap.',
  SKUs: 'Stock-keeping units and their stock: creating, restocking, correcting, and the ledger of every movement.',
  Orders: 'Orders for units of a SKU, reserved asynchronously (and from the supplier when stock runs short), then fulfilled or cancelled.',
  Webhooks: 'Calls the platform receives from outside systems, signed instead of carrying a credential.',
  'Webhook endpoints':
    "The tenant's HTTPS endpoints that receive its events as signed POSTs (Standard Webhooks), retried on a schedule, with each message's attempts, resends and recovery of what failed.",
  Notifications: "The notifications feed of a user (a user token) or of the tenant's admins (an API key), with read marks.",
  'Bulk sends': "One notification sent to many users as a durable job, sent in batches and counted against the tenant's quota.",
  'Dead letters': 'Messages a service gave up on after its retries, kept so an admin can retry or delete them.',
  Imports:
    'Files of rows (CSV or NDJSON) applied in bulk as background jobs: a dry run first if wanted, row errors by line and column, and re-imports that update instead of duplicating.',
  Reports:
    'Files of rows (CSV, NDJSON or XLSX) generated in the background from bookings, occupancy, orders and stock, downloadable until they expire.',
  Limits: "The tenant's limits: against hoarding seats and orders, and its quota on bulk sends.",
  Stream: 'Live events as server-sent events, resumable with `Last-Event-ID`.',
} satisfies Record<string, string>;

export type ApiTag = keyof typeof areas;

/**
 * The document-level parts of `/v1/openapi.json`. `servers` is relative (`/`): the document is
 * served by the gateway it describes, so a reader of `/v1/openapi.json` (Swagger UI at `/docs`
 * included) calls the same origin, and the document stays the same on every deployment, which
 * lets the typed client be generated from it and checked in. A tool reading a saved copy is
 * given the gateway's address instead (the typed client's `baseUrl`).
 */
export const openApiInfo = {
  openapi: '3.1.0',
  info: {
    title: 'Allot API',
    version: '1',
    description:
      'Bookable capacity, inventory and notifications for many tenants behind one gateway. JSON in camelCase, ' +
      'dates `YYYY-MM-DD` (UTC), lists `{items, nextCursor}` paged with `?limit=` and `?cursor=`, every error an ' +
      '`application/problem+json` body whose `code` says what happened. Generated from the same schemas that validate every request.',
    contact: { name: 'Allot maintainers' },
    license: { name: 'Proprietary' },
  },
  servers: [{ url: '/', description: 'The gateway serving this document' }],
  tags: Object.entries(areas).map(([name, description]) => ({ name, description })),
};
