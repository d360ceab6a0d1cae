/**
 * The service kit: what every service is built from. `defineService` is the front door; the
 * rest is what handlers, stores and tests use from it.
 */
export type { BackgroundWork, RunningWork } from './background';
export { BULK_WRITE_PART, bulkWriteInParts } from './bulk-write';
export { findEachById } from './by-id';
export { type Clock, systemClock } from './clock';
export { type BaseEnv, baseEnv, ConfigError, loadConfig, positiveInt } from './config';
export { type DeadLetter, errorText, type RunningConsumer } from './consumer';
export { databaseUnreachable, unreachableDatabase } from './database-errors';
export { type DeadLetterSubscription, redeliver, removeDeadLetter } from './dead-letters';
export {
  type DefinedService,
  defineService,
  type EventSubscription,
  type Handlers,
  type RunningService,
  type ServiceDefinition,
} from './define-service';
export { type EventData, EventPublisher, makeEvent } from './events';
export { GroupCommit } from './group-commit';
export { startHealthServer } from './health';
export { IdLists } from './id-lists';
export { newId } from './ids';
export {
  type BatchAt,
  type ImportDoc,
  type ImportEnv,
  type ImportLimits,
  type ImportProgress,
  type ImportRowKind,
  type ImportSlice,
  ImportSliceSchema,
  Imports,
  importEnv,
  importHandlers,
  importIndexes,
  importLimitsOf,
  type RowOutcome,
} from './imports';
export { defineJob, type GivenUp, type JobDefinition, type JobInfo, type JobOptions, type JobType } from './jobs';
export {
  type InflightChange,
  type LedgerDoc,
  LedgerEngine,
  type LedgerPlan,
  type LedgerStore,
  type LedgerWrite,
  OutboxLedgerStore,
} from './ledger';
export { createLogger, type Logger } from './logger';
export { ensureIndexes } from './mongo';
export { NewestWins } from './newest-wins';
export type { OutboxEntry, PrepareEntry } from './outbox';
export { groupedInserts, insertNew, isDuplicateKey, OutboxCollection, type OutboxDoc, onlyDuplicateKeys } from './outbox-collection';
export { jsonBytes, PAGE_BYTES, type PageOptions, pageLength, toPage } from './pagination';
export { every, type PeriodicTask, ScanPace } from './periodic';
export { readAhead } from './read-ahead';
// Reports: files of rows written by durable jobs from a cursor, downloaded in chunks.
export { type ReportRow, reportFile } from './report-files';
export {
  REPORT_CURSOR_BATCH,
  type ReportDoc,
  type ReportEnv,
  ReportJobSchema,
  type ReportLimits,
  type ReportQuery,
  type ReportSource,
  Reports,
  reportEnv,
  reportHandlers,
  reportIndexes,
  reportJobs,
  reportLimitsOf,
} from './reports';
export { assertBeforeDeadline, RpcClient, type RpcContext, type RpcHandler, RpcServer, withDeadline } from './rpc';
export { createService, type Service, tuneV8 } from './service';
export { descriptorOf, handleOf, writeToSocket } from './socket-writes';
export { ensureStream } from './streams';
export { instruments, lazyInstruments, secondsHistogram, type Telemetry } from './telemetry';
export { TenantLimits } from './tenant-limits';
export { currentTraceparent, formatTraceparent, SpanKind, startServerSpan, tracer } from './trace';
