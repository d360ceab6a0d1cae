import { type Span, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { type Db, type IndexDescription, MongoClient } from 'mongodb';
import { tracesRecorded } from './telemetry';
import { tracer } from './trace';

/**
 * Connects to the service's own database. Works with FerretDB and MongoDB alike. When spans are
 * recorded (`startTelemetry` first), every command becomes a client span under the caller's span
 * (from the driver's command monitoring), so one trace shows HTTP → service → database → event.
 * Otherwise command monitoring stays off: the driver decodes every reply a second time, whole,
 * for its events — a cursor's every batch — which is CPU and garbage for spans nobody keeps.
 * `monitorCommands: true` turns it on regardless (tests that count commands).
 */
export async function connectMongo(
  url: string,
  dbName: string,
  options: { monitorCommands?: boolean } = {},
): Promise<{ client: MongoClient; db: Db }> {
  const monitorCommands = options.monitorCommands ?? tracesRecorded();
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 10_000, retryWrites: true, monitorCommands });
  if (tracesRecorded()) traceCommands(client);
  await client.connect();
  return { client, db: client.db(dbName) };
}

const untraced = new Set(['hello', 'isMaster', 'ping', 'endSessions', 'saslStart', 'saslContinue', 'buildInfo']);

function traceCommands(client: MongoClient) {
  const open = new Map<number, Span>();
  client.on('commandStarted', (event) => {
    if (untraced.has(event.commandName)) return;
    const collection = String((event.command as Record<string, unknown>)[event.commandName] ?? '');
    const span = tracer.startSpan(`mongodb.${event.commandName} ${collection}`, {
      kind: SpanKind.CLIENT,
      attributes: {
        'db.system': 'mongodb',
        'db.namespace': event.databaseName,
        'db.operation.name': event.commandName,
        'db.collection.name': collection,
      },
    });
    open.set(event.requestId, span);
  });
  client.on('commandSucceeded', (event) => {
    open.get(event.requestId)?.end();
    open.delete(event.requestId);
  });
  client.on('commandFailed', (event) => {
    const span = open.get(event.requestId);
    span?.setStatus({ code: SpanStatusCode.ERROR, message: String(event.failure) });
    span?.end();
    open.delete(event.requestId);
  });
}

/**
 * Creates each collection's indexes; idempotent, so every replica runs it at start. One index
 * per command: FerretDB v1 drops the connection when one `createIndexes` names several indexes
 * of which some already exist.
 */
export async function ensureIndexes(db: Db, indexes: Record<string, IndexDescription[]>): Promise<void> {
  for (const [collection, specs] of Object.entries(indexes)) {
    for (const spec of specs) await db.collection(collection).createIndexes([spec]);
  }
}
