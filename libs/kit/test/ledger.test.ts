import type { EventEnvelope } from '@allot/contracts';
import { DeliverPolicy } from '@nats-io/jetstream';
import type { Collection } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { systemClock } from '../src/clock';
import { EventPublisher } from '../src/events';
import { newId } from '../src/ids';
import { type InflightChange, type LedgerDoc, LedgerEngine, type LedgerPlan, type LedgerWrite, OutboxLedgerStore } from '../src/ledger';
import { connectMongo } from '../src/mongo';
import { type OutboxEntry, OutboxRelay } from '../src/outbox';
import { OutboxCollection, onlyDuplicateKeys } from '../src/outbox-collection';
import { ensureStream, eventStreamConfig } from '../src/streams';
import { eventually, testLogger, testNats, uniqueName } from '../src/testing';

/**
 * The engine's crash cases, once for every ledger built on it: a counter ledger whose other half
 * is one document per item. A "process" is an engine with its own memory; a crash is an error
 * thrown at one step of a batch, after which that engine is abandoned and a new one takes over
 * the same database, as a restarted replica would. The client retries what it never heard back.
 */
type Step = 'decided' | 'written' | 'completed' | 'published';

interface CounterDoc extends LedgerDoc {
  tenantId: string;
  count: number;
  outbox?: OutboxEntry[];
}

class Crash extends Error {}

class CounterStore extends OutboxLedgerStore<CounterDoc, { count: number }> {
  constructor(
    docs: OutboxCollection<CounterDoc>,
    private readonly crashAfter?: Step,
  ) {
    super(docs);
  }
  override async commitMany(writes: LedgerWrite<CounterDoc, { count: number }>[]) {
    const written = await super.commitMany(writes);
    if (this.crashAfter === 'written') throw new Crash('killed after the ledger write');
    return written;
  }
  override async publish(doc: CounterDoc, events: EventEnvelope[]) {
    await super.publish(doc, events);
    if (this.crashAfter === 'published') throw new Crash('killed after publishing');
  }
}

class CounterLedger extends LedgerEngine<CounterDoc, string, { duplicate: boolean }, { count: number }> {
  constructor(
    store: CounterStore,
    private readonly items: Collection<{ _id: string }>,
    private readonly crashAfter?: Step,
  ) {
    super(store, systemClock, testLogger());
  }

  add(key: string, itemId: string) {
    return this.submitChange(key, itemId);
  }

  /** A counter is created on its first change, unless its key says it cannot be. */
  protected override async load(key: string): Promise<CounterDoc | null> {
    if (key.endsWith(':broken')) throw new Error('cannot create this counter');
    const doc = { _id: key, tenantId: key.split(':')[0] as string, version: 0, count: 0, inflight: [] };
    return (await (this.store as CounterStore).docs.insertOrGet(doc)).doc;
  }

  protected async plan(doc: CounterDoc, itemIds: string[]): Promise<LedgerPlan<CounterDoc, { count: number }, { duplicate: boolean }>> {
    const stored = new Set((await this.items.find({ _id: { $in: itemIds } }).toArray()).map((i) => i._id));
    const seen = new Set(doc.inflight.map((c) => c.id));
    const at = new Date().toISOString();
    const duplicate = itemIds.map((id) => {
      const again = seen.has(id) || stored.has(id);
      seen.add(id);
      return again;
    });
    const accepted = itemIds.filter((_, i) => !duplicate[i]).map((id) => ({ id, at }));
    const events = accepted.map(({ id }) => envelope(doc.tenantId, id));
    if (this.crashAfter === 'decided') throw new Crash('killed after deciding');
    return {
      figures: { count: doc.count + accepted.length },
      accepted,
      events,
      changed: accepted.length > 0,
      results: () => duplicate.map((d) => ({ duplicate: d })),
    };
  }

  protected async complete(batches: { doc: CounterDoc; changes: InflightChange[] }[]) {
    const changes = batches.flatMap((b) => b.changes);
    if (changes.length === 0) return;
    // An other half that cannot be done yet (inventory: an order settled before it was stored).
    if (changes.some((c) => c.id.endsWith('-stuck'))) throw new Error('not yet');
    await this.items
      .insertMany(
        changes.map((c) => ({ _id: c.id })),
        { ordered: false },
      )
      .catch((error) => {
        if (!onlyDuplicateKeys(error)) throw error;
      });
    if (this.crashAfter === 'completed') throw new Crash('killed after the other half');
  }
}

const envelope = (tenantId: string, itemId: string): EventEnvelope => ({
  id: newId('evt'),
  type: 'counter.added',
  version: 1,
  tenantId,
  occurredAt: new Date().toISOString(),
  source: 'capacity',
  data: { itemId },
});

describe('ledger engine', () => {
  let conn: Awaited<ReturnType<typeof testNats>>;
  let mongo: Awaited<ReturnType<typeof connectMongo>>;

  beforeAll(async () => {
    conn = await testNats();
    mongo = await connectMongo(inject('mongoUrl'), uniqueName('ledger').toLowerCase());
    await ensureStream(conn.jsm, eventStreamConfig('capacity'));
  });
  afterAll(async () => {
    await conn.close();
    await mongo.client.close();
  });

  /** A process: its own relay and engine over the shared collections, crashing after `step` if given. */
  function processWith(crashAfter?: Step) {
    const relay = new OutboxRelay(new EventPublisher(conn.js, 'capacity'), testLogger());
    const raw = mongo.db.collection<CounterDoc>('counters');
    relay.watch(raw);
    const store = new CounterStore(new OutboxCollection(raw, relay), crashAfter);
    return { relay, store, ledger: new CounterLedger(store, mongo.db.collection('items'), crashAfter) };
  }

  async function published(tenantId: string): Promise<string[]> {
    const consumer = await conn.js.consumers.get('EVT_CAPACITY', {
      filter_subjects: [`evt.capacity.${tenantId}.>`],
      deliver_policy: DeliverPolicy.All,
    });
    const items: string[] = [];
    const batch = await consumer.fetch({ max_messages: 100, expires: 1000 });
    for await (const m of batch) {
      items.push(m.json<{ data: { itemId: string } }>().data.itemId);
      if (m.info.pending === 0) break;
    }
    return items.sort();
  }

  it.each<Step>(['decided', 'written', 'completed', 'published'])(
    'ledger engine - a process killed once its batch is %s: after a restart, the retries and the sweep, each change counted, done and announced once',
    async (step) => {
      const tenantId = uniqueName('t');
      const key = `${tenantId}:counter`;
      const first = processWith(step);
      await first.store.docs.insert({ _id: key, tenantId, version: 0, count: 0, inflight: [] });

      // Three changes in one batch; the process dies at `step` (its callers may hear nothing back).
      await Promise.allSettled(['a', 'b', 'c'].map((id) => first.ledger.add(key, `${tenantId}-${id}`)));
      await first.relay.settle();

      // A new process; clients retry all three, and add one more; the sweep finishes what is left.
      const next = processWith();
      const retried = await Promise.all(['a', 'b', 'c', 'd'].map((id) => next.ledger.add(key, `${tenantId}-${id}`)));
      expect(retried.map((r) => r?.duplicate)).toEqual(
        step === 'decided' ? [false, false, false, false] : [true, true, true, false], // written changes are recognised
      );
      await next.ledger.finishStale(0);
      await next.relay.sweep();
      await next.relay.settle();

      const ids = ['a', 'b', 'c', 'd'].map((id) => `${tenantId}-${id}`);
      const doc = await next.store.docs.raw.findOne({ _id: key });
      expect(doc?.count).toBe(4);
      expect(doc?.inflight).toEqual([]);
      expect(doc?.outbox).toEqual([]);
      const items = await mongo.db.collection('items').countDocuments({ _id: { $in: ids as never[] } });
      expect(items).toBe(4);
      expect(await eventually(async () => ((await published(tenantId)).length >= 4 ? published(tenantId) : false))).toEqual(ids);
    },
  );

  it('ledger engine - a ledger whose other half keeps failing does not hold the sweep up for the others', async () => {
    const tenantId = uniqueName('t');
    const [fine, stuck] = [`${tenantId}:fine`, `${tenantId}:stuck`];
    const first = processWith('written');
    for (const key of [fine, stuck]) await first.store.docs.insert({ _id: key, tenantId, version: 0, count: 0, inflight: [] });
    await Promise.allSettled([first.ledger.add(fine, `${tenantId}-a`), first.ledger.add(stuck, `${tenantId}-b-stuck`)]);

    const next = processWith();
    await next.ledger.finishStale(0);
    const [fineDoc, stuckDoc] = await next.store
      .byKeys([fine, stuck])
      .then((docs) => [fine, stuck].map((k) => docs.find((d) => d._id === k)));
    expect(fineDoc?.inflight).toEqual([]);
    expect(await mongo.db.collection('items').countDocuments({ _id: `${tenantId}-a` as never })).toBe(1);
    expect(stuckDoc?.inflight.map((c) => c.id)).toEqual([`${tenantId}-b-stuck`]);
  });

  it('ledger engine - two processes changing the same ledgers at once: every change counted once, none lost to a conflict', async () => {
    const tenantId = uniqueName('t');
    const keys = Array.from({ length: 20 }, (_, i) => `${tenantId}:counter-${i}`);
    const a = processWith();
    const b = processWith();
    for (const key of keys) await a.store.docs.insert({ _id: key, tenantId, version: 0, count: 0, inflight: [] });
    // Each process writes a tick for all twenty ledgers at once; their compare-and-sets race.
    const adds = keys.flatMap((key) => Array.from({ length: 10 }, (_, n) => (n % 2 ? a : b).ledger.add(key, `${key}-${n}`)));
    const results = await Promise.all(adds);
    // Each process recognised its own writes (even one the other process wrote over at once): no
    // change was answered as somebody else's, and every change's other half is done already.
    expect(results.every((r) => r?.duplicate === false)).toBe(true);
    const docs = await a.store.byKeys(keys);
    expect(docs.map((d) => d.count)).toEqual(keys.map(() => 10));
    const ids = keys.flatMap((key) => Array.from({ length: 10 }, (_, n) => `${key}-${n}`));
    expect(await mongo.db.collection('items').countDocuments({ _id: { $in: ids as never[] } })).toBe(ids.length);
    await a.relay.settle();
    await b.relay.settle();
  });

  it('ledger engine - a ledger that cannot be created fails its own changes only, not those written in the same tick', async () => {
    const tenantId = uniqueName('t');
    const { ledger, relay } = processWith();
    const first = ledger.add(`${tenantId}:warm`, `${tenantId}-w`); // writes alone; the next two queue behind it together
    const broken = ledger.add(`${tenantId}:broken`, `${tenantId}-b`);
    const fine = ledger.add(`${tenantId}:fine`, `${tenantId}-f`);
    await first;
    await expect(broken).rejects.toThrow('cannot create this counter');
    await expect(fine).resolves.toEqual({ duplicate: false });
    await relay.settle();
  });

  it('ledger engine - finished changes leave the ledger with its next write, not with writes of their own', async () => {
    const tenantId = uniqueName('t');
    const key = `${tenantId}:counter`;
    const { ledger, store, relay } = processWith();
    await store.docs.insert({ _id: key, tenantId, version: 0, count: 0, inflight: [] });
    await ledger.add(key, `${tenantId}-1`);
    expect((await (await store.byKeys([key]))[0])?.inflight.map((c) => c.id)).toEqual([`${tenantId}-1`]); // done, not yet dropped
    await ledger.add(key, `${tenantId}-2`);
    const doc = await (await store.byKeys([key]))[0];
    expect(doc?.inflight.map((c) => c.id)).toEqual([`${tenantId}-2`]);
    expect(doc?.version).toBe(2);
    await relay.settle();
  });
});
