import { type Db, type IndexDescription, MongoClient } from 'mongodb';

/** Connects to the service's own database. Works with FerretDB and MongoDB alike. */
export async function connectMongo(url: string, dbName: string): Promise<{ client: MongoClient; db: Db }> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 10_000, retryWrites: true });
  await client.connect();
  return { client, db: client.db(dbName) };
}

/** Creates each collection's indexes; idempotent, so every replica runs it at start. */
export async function ensureIndexes(db: Db, indexes: Record<string, IndexDescription[]>): Promise<void> {
  for (const [collection, specs] of Object.entries(indexes)) {
    if (specs.length > 0) await db.collection(collection).createIndexes(specs);
  }
}
