/**
 * The demo tenant `make dev` creates, with enough in it that the dashboard and the API are alive
 * on first open: sessions, bookings (one of them held), a full date with a waitlist entry and,
 * once the inventory service exists, SKUs and orders; and, once the webhooks service exists, a
 * webhook endpoint pointed at the local receiver (tools/webhook-receiver), so every demo event
 * shows up there signed. Every creating call carries an
 * Idempotency-Key, so running it again against the same database (external MONGO_URL, same root
 * key) finds what the first run made instead of doubling it.
 */

export interface Demo {
  tenantId: string;
  apiKey: string;
  sessions: { id: string; name: string }[];
  bookings: number;
  skus: string[];
  /** The demo's webhook endpoint (when the webhooks service runs and a receiver URL was given). */
  webhook?: { id: string; url: string; secret: string } | undefined;
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

const sessions = [
  { name: 'Morning tour 09:00', description: 'Two hours through the old town', maxCapacity: 20 },
  { name: 'Afternoon tour 14:00', description: 'The harbour and the market', maxCapacity: 12 },
  { name: 'Sunset cruise 19:00', description: 'Small boat, small party', maxCapacity: 6 },
];

const skus = [
  { sku: 'TSHIRT-M', name: 'Tour T-shirt (M)', quantity: 40, reorderLevel: 10 },
  { sku: 'GUIDEBOOK', name: 'Old town guidebook', quantity: 5, reorderLevel: 3 },
  { sku: 'UMBRELLA', name: 'Umbrella', quantity: 0, reorderLevel: 2 },
];

const dayAfter = (today: Date, days: number) => new Date(today.getTime() + days * 86_400_000).toISOString().slice(0, 10);

export async function seedDemo(base: string, rootKey: string, now = new Date(), webhookUrl?: string): Promise<Demo> {
  const post = async (key: string, path: string, body: unknown, idempotencyKey: string): Promise<Answer> => {
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, unknown> };
  };
  const must = (answer: Answer, what: string) => {
    if (answer.status >= 300) throw new Error(`demo: ${what} answered ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body;
  };

  const created = must(await post(rootKey, '/v1/tenants', { name: 'Demo' }, 'dev-demo-tenant'), 'creating the tenant');
  const tenantId = (created.tenant as { id: string }).id;
  const apiKey = (created.apiKey as { key: string }).key;
  // First, so the demo's own events are delivered to it too.
  const webhook = webhookUrl ? await seedWebhook(post, must, apiKey, webhookUrl) : undefined;

  const made: Demo['sessions'] = [];
  for (const [i, session] of sessions.entries()) {
    const body = must(await post(apiKey, '/v1/sessions', session, `dev-demo-session-${i}`), `creating ${session.name}`);
    made.push({ id: body.id as string, name: session.name });
  }

  // [session, day offset, adults, children, userId, hold]
  const bookings: [number, number, number, number, string | null, boolean][] = [
    [0, 0, 2, 1, 'alice', false],
    [0, 1, 4, 0, null, false],
    [1, 0, 2, 0, 'bob', true],
    [1, 2, 3, 2, 'carol', false],
    [2, 1, 4, 2, null, false],
  ];
  let booked = 0;
  for (const [i, [session, day, adults, children, userId, hold]] of bookings.entries()) {
    const body = { sessionId: made[session]?.id, date: dayAfter(now, day), adults, children, hold, ...(userId ? { userId } : {}) };
    must(await post(apiKey, '/v1/bookings', body, `dev-demo-booking-${i}`), 'booking');
    booked++;
  }
  // The sunset cruise is full tomorrow: dave waits for a cancellation.
  const queued = { sessionId: made[2]?.id, date: dayAfter(now, 1), requestedSlots: 2, userId: 'dave' };
  must(await post(apiKey, '/v1/queue', queued, 'dev-demo-queue-0'), 'joining the waitlist');

  return { tenantId, apiKey, sessions: made, bookings: booked, skus: await seedInventory(post, must, apiKey), webhook };
}

type Post = (key: string, path: string, body: unknown, idempotencyKey: string) => Promise<Answer>;
type Must = (answer: Answer, what: string) => Record<string, unknown>;

/** The demo's webhook endpoint, only when the gateway routes it (the webhooks service exists). */
async function seedWebhook(post: Post, must: Must, apiKey: string, url: string): Promise<Demo['webhook']> {
  const answer = await post(apiKey, '/v1/webhooks/endpoints', { url, description: 'The make dev receiver' }, 'dev-demo-webhook');
  if (answer.status === 404) return undefined;
  const body = must(answer, 'creating the webhook endpoint');
  return { id: body.id as string, url, secret: body.secret as string };
}

/** SKUs and orders, only when the gateway routes them (the inventory service exists). */
async function seedInventory(post: Post, must: Must, apiKey: string): Promise<string[]> {
  const first = await post(apiKey, '/v1/skus', skus[0], 'dev-demo-sku-0');
  if (first.status === 404) return [];
  if (first.status !== 409) must(first, 'creating a SKU');
  for (const [i, sku] of skus.entries()) {
    if (i === 0) continue;
    const res = await post(apiKey, '/v1/skus', sku, `dev-demo-sku-${i}`);
    if (res.status !== 409) must(res, `creating SKU ${sku.sku}`);
  }
  must(await post(apiKey, '/v1/orders', { sku: 'TSHIRT-M', qty: 2 }, 'dev-demo-order-0'), 'ordering');
  must(await post(apiKey, '/v1/orders', { sku: 'GUIDEBOOK', qty: 8 }, 'dev-demo-order-1'), 'ordering');
  return skus.map((s) => s.sku);
}
