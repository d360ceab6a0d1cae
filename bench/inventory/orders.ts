/**
 * Order throughput of Allot against its peer, both measured in this run with the same load:
 * `POST /v1/orders` (qty 1) with local stock, 50 closed-loop clients; (a) one hot SKU; (b)
 * round-robin over 100 SKUs. Order: peer, Allot, peer again — each stopped before the next starts;
 * every Allot figure is a ratio to the mean of the two peer runs.
 *
 * Peer: `bench/peer/main.ts` (Hono + mongodb driver: a guarded findOneAndUpdate of the SKU's stock
 * plus an insertOne of the order, answered 202 reserved) on a FerretDB of its own. Allot: the whole
 * platform as `make dev` runs it (bench/lib/targets.ts). Allot reserves an order in the same SKU
 * write that accepts it and writes it before the 202, so on both the 202's latency is the time to
 * `reserved`. Every 20th order is read back at once (outside its latency) to confirm it; at the end
 * Allot's SKU ledgers are checked (initial + Σ movements = quantity; one reserve per 202), and the
 * peer's stock counters (one reserved unit and one stored order per 202).
 *
 * Env: BENCH_SECONDS (default 5) per figure, BENCH_WARMUP_SECONDS (default 1), BENCH_LOG_LEVEL
 * (default warn) for the children. Writes bench/results/inventory-orders.{json,md}.
 */
import { writeResults } from '../gateway/common';
import { call, errorOutcome, measure, type Outcome, outcomeOf } from '../lib/drive';
import { startPeer, startPlatform, type Target } from '../lib/targets';
import * as versus from '../lib/versus';

const shape = versus.shapeFromEnv();
const spreadSkus = 100;
const stock = 1_000_000_000;
// Issue 16: a hot SKU is cheaper than the naive one guarded write per order; spread at least as fast.
const targets = { hot: { ratio: 2.0 }, spread: { ratio: 1.0 } };
const skus = ['HOT', ...Array.from({ length: spreadSkus }, (_, i) => `SPREAD-${i}`)];

/** One target's load: both scenarios, the 202s per SKU and the read-back sample. */
async function load(t: Target) {
  for (let i = 0; i < skus.length; i += 10) {
    await Promise.all(
      skus.slice(i, i + 10).map(async (sku) => {
        const r = await call(t, 'POST', '/v1/skus', { sku, name: sku, quantity: stock });
        if (r.status !== 201) throw new Error(`${t.kind}: SKU creation failed: ${r.status} ${r.text}`);
      }),
    );
  }
  const accepted = new Map<string, number>();
  const unknown = new Map<string, number>();
  const sampled = { checked: 0, reserved: 0 };
  let n = 0;
  const order = async (sku: string): Promise<Outcome> => {
    let outcome: string;
    let id: string | undefined;
    try {
      const r = await call(t, 'POST', '/v1/orders', { sku, qty: 1 });
      outcome = outcomeOf(r);
      if (r.status === 202) id = r.body.id;
    } catch (error) {
      outcome = errorOutcome(error);
    }
    if (!id) {
      if (outcome.startsWith('error') || outcome.startsWith('5')) unknown.set(sku, (unknown.get(sku) ?? 0) + 1);
      return { outcome, ok: false };
    }
    accepted.set(sku, (accepted.get(sku) ?? 0) + 1);
    if (++n % 20 !== 0) return { outcome, ok: true };
    const after = async () => {
      sampled.checked++;
      const r = await call(t, 'GET', `/v1/orders/${id}`).catch(() => undefined);
      if (r?.body?.status === 'reserved') sampled.reserved++;
    };
    return { outcome, ok: true, after };
  };
  const hot = await measure(t, 'hot SKU', shape, () => order('HOT'));
  const spread = await measure(t, `spread over ${spreadSkus} SKUs`, shape, (i) => order(`SPREAD-${i % spreadSkus}`));
  const unknownTotal = [...unknown.values()].reduce((a, b) => a + b, 0);
  return { hot, spread, accepted, unknown, unknownTotal, sampled };
}

type Run = Awaited<ReturnType<typeof load>>;
/** Whether a SKU's count of something (reserves, stored orders) fits its 202s plus requests with an unknown outcome. */
const fits = (run: Run, sku: string, count: number) =>
  count >= (run.accepted.get(sku) ?? 0) && count <= (run.accepted.get(sku) ?? 0) + (run.unknown.get(sku) ?? 0);

/** The peer's stock: one reserved unit and one stored order per 202 (read through its driver). */
const peerRun = () =>
  versus.withTarget(startPeer, async (t) => {
    const run = await load(t);
    const db = t.admin.db(t.db);
    let mismatched = 0;
    for (const sku of skus) {
      const doc = await db.collection<{ _id: string; quantity: number; reserved: number }>('skus').findOne({ _id: sku });
      const stored = await db.collection('orders').countDocuments({ sku });
      if (!doc || doc.quantity + doc.reserved !== stock || !fits(run, sku, doc.reserved) || !fits(run, sku, stored)) mismatched++;
    }
    const checks = { skusChecked: skus.length, mismatched, unknownOutcomes: run.unknownTotal, pass: mismatched === 0 };
    console.log(`peer stock: ${JSON.stringify(checks)}`);
    return { ...run, checks };
  });

/** Every SKU's ledger balances and holds one reserve per accepted order. */
const allotRun = () =>
  versus.withTarget(startPlatform, async (t) => {
    const run = await load(t);
    let unbalanced = 0;
    for (const sku of skus) {
      let sum = 0;
      let reserves = 0;
      for (let cursor: string | null = ''; cursor !== null; ) {
        const page = (
          await call(t, 'GET', `/v1/inventory/${sku}/movements?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
        ).body as { items: { quantity: number; type: string }[]; nextCursor: string | null };
        for (const m of page.items) {
          sum += m.quantity;
          if (m.type === 'reserve') reserves++;
        }
        cursor = page.nextCursor;
      }
      const quantity = (await call(t, 'GET', `/v1/skus/${sku}`)).body.quantity;
      if (sum !== quantity || !fits(run, sku, reserves)) unbalanced++;
    }
    const checks = { skusChecked: skus.length, unbalanced, unknownOutcomes: run.unknownTotal, pass: unbalanced === 0 };
    console.log(`allot ledgers: ${JSON.stringify(checks)}`);
    return { ...run, checks };
  });

const r = await versus.peerAllotPeer(peerRun, allotRun);
const { peerBefore, allot, peerAfter } = r;
const ratios = { hot: versus.versusPeer(r, 'hot'), spread: versus.versusPeer(r, 'spread') };
const sampledMet = [peerBefore, allot, peerAfter].every((r) => r.sampled.reserved === r.sampled.checked);
const peerMet = peerBefore.checks.pass && peerAfter.checks.pass;
const verdicts = {
  hot: versus.verdictOf(r, 'hot', 'hot SKU', 'orders to reserved', targets.hot),
  spread: versus.verdictOf(r, 'spread', `spread (${spreadSkus} SKUs)`, 'orders to reserved', targets.spread),
  ledgers: {
    met: allot.checks.pass,
    text: `${allot.checks.pass ? 'PASS' : 'FAIL'}: ${allot.checks.unbalanced} of ${skus.length} Allot SKU ledgers unbalanced (initial + Σ movements ≠ quantity, or reserves ≠ 202s)`,
  },
  readBack: {
    met: sampledMet,
    text: `${sampledMet ? 'PASS' : 'FAIL'}: read back at once, reserved — Allot ${allot.sampled.reserved} of ${allot.sampled.checked}; peer ${peerBefore.sampled.reserved} of ${peerBefore.sampled.checked} and ${peerAfter.sampled.reserved} of ${peerAfter.sampled.checked}`,
  },
  peerStock: {
    met: peerMet,
    text: `${peerMet ? 'PASS' : 'FAIL'}: in both peer runs every SKU's stock reserved one unit and stored one order per 202 (${peerBefore.checks.mismatched} + ${peerAfter.checks.mismatched} SKUs disagree)`,
  },
};

const summary = (r: Run & { checks: { pass: boolean } }) => ({
  hot: r.hot,
  spread: r.spread,
  sampled: r.sampled,
  checks: r.checks,
  unknownOutcomes: r.unknownTotal,
});
const report = {
  ...versus.reportBase(shape),
  peerBefore: summary(peerBefore),
  allot: summary(allot),
  peerAfter: summary(peerAfter),
  ratios,
  targets,
  serviceLog: versus.logsByRun(r),
  verdicts,
};

const md = [
  ...versus.reportHead(
    report,
    r,
    {
      title: 'Inventory: orders to `reserved` against the peer',
      workload: `\`POST /v1/orders\` of 1 unit with local stock (${stock.toLocaleString('en')} per SKU, so none runs out). Only 202s count. Allot writes the order reserved before its 202, as the peer does, so on both the latency is the time to \`reserved\`.`,
      peer: 'one guarded `findOneAndUpdate` of the SKU’s stock plus an `insertOne` of the order, answered 202 `reserved`.',
      unit: 'orders to reserved',
      hot: '(a) one hot SKU',
      spread: `(b) spread over ${spreadSkus} SKUs`,
    },
    targets,
  ),
  ...versus.reportProcesses(r, 'reserved order'),
  '## Verdicts',
  '',
  `- **Hot SKU — ${verdicts.hot.text}**`,
  `- **Spread — ${verdicts.spread.text}**`,
  `- **Allot ledgers — ${verdicts.ledgers.text}**`,
  `- **Read-back — ${verdicts.readBack.text}**`,
  `- **Peer stock — ${verdicts.peerStock.text}**`,
  '',
  versus.reportLogs(r),
  '',
].join('\n');
writeResults('inventory-orders', report, md);
console.log(md);
