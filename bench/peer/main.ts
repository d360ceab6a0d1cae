/**
 * The peer the capacity and inventory benchmarks compare Allot with: the naive monolith a team
 * would write in an afternoon. One Hono process, the `mongodb` driver, one guarded write per
 * booking or order plus an insert of the record; no events, no outbox, no read models, no queue.
 * The routes and bodies are the public ones the benchmarks drive through Allot's gateway.
 *
 * Env: MONGO_URL, MONGO_DB (default `peer`), PORT, API_KEY (the one Bearer key it accepts).
 */
import { randomUUID } from 'node:crypto';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { MongoClient, MongoServerError } from 'mongodb';

interface Counter {
  _id: string;
  available: number;
  booked: number;
}
interface Stock {
  _id: string;
  name: string;
  quantity: number;
  reserved: number;
}

const client = await new MongoClient(process.env.MONGO_URL ?? 'mongodb://127.0.0.1:27017/').connect();
const db = client.db(process.env.MONGO_DB ?? 'peer');
const sessions = db.collection<{ _id: string; name: string; maxCapacity: number; createdAt: string }>('sessions');
const counters = db.collection<Counter>('counters');
const bookings = db.collection<{ _id: string }>('bookings');
const skus = db.collection<Stock>('skus');
const orders = db.collection<{ _id: string; sku: string; qty: number; status: string; createdAt: string }>('orders');
/** Session capacities never change here, so each is read once. */
const capacity = new Map<string, number>();

const isInt = (v: unknown, min: number): v is number => Number.isInteger(v) && (v as number) >= min;
const duplicateKey = (error: unknown) => error instanceof MongoServerError && error.code === 11000;

const app = new Hono();
app.get('/readyz', (c) => c.json({ ok: true }));
app.use('/v1/*', async (c, next) => {
  if (c.req.header('authorization') !== `Bearer ${process.env.API_KEY}`) return c.json({ code: 'unauthorized' }, 401);
  await next();
});

app.post('/v1/sessions', async (c) => {
  const body = await c.req.json();
  if (typeof body.name !== 'string' || !isInt(body.maxCapacity, 1)) return c.json({ code: 'validation_failed' }, 400);
  const session = { _id: randomUUID(), name: body.name, maxCapacity: body.maxCapacity, createdAt: new Date().toISOString() };
  await sessions.insertOne(session);
  capacity.set(session._id, session.maxCapacity);
  return c.json({ id: session._id, name: session.name, maxCapacity: session.maxCapacity, createdAt: session.createdAt }, 201);
});

/** Takes `slots` from the session/date counter, creating it at the session's capacity on first touch. */
async function take(sessionId: string, date: string, slots: number, maxCapacity: number): Promise<boolean> {
  const _id = `${sessionId}:${date}`;
  const guarded = () =>
    counters.findOneAndUpdate(
      { _id, available: { $gte: slots } },
      { $inc: { available: -slots, booked: slots } },
      { returnDocument: 'after' },
    );
  if (await guarded()) return true;
  try {
    await counters.updateOne({ _id }, { $setOnInsert: { available: maxCapacity, booked: 0 } }, { upsert: true });
  } catch (error) {
    if (!duplicateKey(error)) throw error; // another request created it first
  }
  return (await guarded()) !== null;
}

app.post('/v1/bookings', async (c) => {
  const body = await c.req.json();
  const children = body.children ?? 0;
  if (typeof body.sessionId !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(body.date) || !isInt(body.adults, 1) || !isInt(children, 0))
    return c.json({ code: 'validation_failed' }, 400);
  let maxCapacity = capacity.get(body.sessionId);
  if (maxCapacity === undefined) {
    const session = await sessions.findOne({ _id: body.sessionId });
    if (!session) return c.json({ code: 'not_found' }, 404);
    maxCapacity = session.maxCapacity;
    capacity.set(session._id, maxCapacity);
  }
  const slots = body.adults + children;
  if (!(await take(body.sessionId, body.date, slots, maxCapacity))) return c.json({ code: 'capacity_exhausted' }, 409);
  const now = new Date().toISOString();
  const booking = {
    _id: randomUUID(),
    sessionId: body.sessionId,
    date: body.date,
    adults: body.adults,
    children,
    slots,
    status: 'confirmed',
    createdAt: now,
  };
  await bookings.insertOne(booking);
  const { _id, ...rest } = booking;
  return c.json({ id: _id, ...rest }, 201);
});

app.post('/v1/skus', async (c) => {
  const body = await c.req.json();
  if (typeof body.sku !== 'string' || typeof body.name !== 'string' || !isInt(body.quantity, 0))
    return c.json({ code: 'validation_failed' }, 400);
  try {
    await skus.insertOne({ _id: body.sku, name: body.name, quantity: body.quantity, reserved: 0 });
  } catch (error) {
    if (duplicateKey(error)) return c.json({ code: 'conflict' }, 409);
    throw error;
  }
  return c.json({ sku: body.sku, name: body.name, quantity: body.quantity }, 201);
});

app.post('/v1/orders', async (c) => {
  const body = await c.req.json();
  if (typeof body.sku !== 'string' || !isInt(body.qty, 1)) return c.json({ code: 'validation_failed' }, 400);
  const stock = await skus.findOneAndUpdate(
    { _id: body.sku, quantity: { $gte: body.qty } },
    { $inc: { quantity: -body.qty, reserved: body.qty } },
    { returnDocument: 'after' },
  );
  if (!stock) return c.json({ code: 'insufficient_stock' }, 409);
  const order = { _id: randomUUID(), sku: body.sku, qty: body.qty, status: 'reserved', createdAt: new Date().toISOString() };
  await orders.insertOne(order);
  const { _id, ...rest } = order;
  return c.json({ id: _id, ...rest }, 202);
});

app.get('/v1/orders/:id', async (c) => {
  const order = await orders.findOne({ _id: c.req.param('id') });
  if (!order) return c.json({ code: 'not_found' }, 404);
  const { _id, ...rest } = order;
  return c.json({ id: _id, ...rest });
});

app.onError((error, c) => {
  console.error(JSON.stringify({ level: 'error', msg: String(error) }));
  return c.json({ code: 'internal' }, 500);
});

const server = serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 0), hostname: '127.0.0.1' }, (info) => {
  console.log(JSON.stringify({ level: 'info', msg: 'peer listening', port: info.port }));
});
const stop = () => server.close(() => void client.close().then(() => process.exit(0)));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
