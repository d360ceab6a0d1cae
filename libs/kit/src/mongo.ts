import { type Db, type IndexDescription, MongoClient } from 'mongodb';

/** Connects to the service's own database. Works with FerretDB and MongoDB alike. */
export async function connectMongo(url: string, dbName: string): Promise<{ client: MongoClient; db: Db }> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 10_000, retryWrites: true });
  await client.connect();
  return { client, db: client.db(dbName) };
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
