/**
 * Order throughput of the real stack against this machine's database ceiling, both measured in
 * this run: `POST /v1/orders` with local stock through the real gateway to the real inventory
 * service (their own main.ts, each in a child process, on the run's own nats-server and FerretDB),
 * 50 closed-loop clients. (a) one hot SKU; (b) round-robin over 100 SKUs. An order is reserved in
 * the same SKU write that accepts it and written before the 202, so the 202's latency is the time
 * to `reserved`; every 20th order is read back at once to confirm it, and every SKU's ledger is
 * checked at the end (initial + Σ movements = quantity; one reserve per 202).
 *
 * Baseline: bare FerretDB guarded `findOneAndUpdate`, 32 callers (`make bench-baseline`'s figure).
 * Env: BENCH_SECONDS (default 5) per figure. Writes bench/results/inventory-orders.{json,md}.
 */
import path from 'node:path';
import { freePort, spawnGuarded, startInfra } from '@allot/infra';
import { startSupplierSim } from '@allot/supplier-sim';
import { childEnv, createTenant, newRootKey, root, round, sleep, versions, writeResults } from '../gateway/common';
import { closedLoop, machineInfo, mongoFindOneAndUpdate, type Rate } from '../lib/measure';

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const clients = 50;
const targets = { hot: 1.5, spread: 0.5, p99Ms: 150 };

const infra = await startInfra();
const sim = await startSupplierSim();
const started: ReturnType<typeof spawnGuarded>[] = [];
const run = (entry: string, env: Record<string, string>) => {
  const child = spawnGuarded(process.execPath, ['--import', 'tsx', path.join(root, entry)], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  started.push(child);
};

try {
  const baseline = await mongoFindOneAndUpdate(infra.mongoUrl, seconds);
  const rootKey = newRootKey();
  const port = await freePort();
  run('services/inventory/src/main.ts', childEnv(infra, 'inventory', { SUPPLIER_URL: sim.url }));
  run(
    'services/gateway/src/main.ts',
    childEnv(infra, 'gateway', {
      PORT: String(port),
      ROOT_API_KEY: rootKey,
      READY_SERVICES: 'inventory',
      RATE_LIMIT_PER_SECOND: '1000000',
      RATE_LIMIT_BURST: '1000000',
    }),
  );
  const base = `http://127.0.0.1:${port}`;
  for (let ready = false; !ready; await sleep(200))
    ready = await fetch(`${base}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
  const { key } = await createTenant(base, rootKey);
  const call = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(base + url, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  const skus = ['HOT', ...Array.from({ length: 100 }, (_, i) => `SPREAD-${i}`)];
  for (const sku of skus) await call('POST', '/v1/skus', { sku, name: sku, quantity: 1_000_000_000 });

  const accepted = new Map<string, number>();
  const sampled = { checked: 0, reserved: 0 };
  const scenario = async (pick: (n: number) => string): Promise<Rate & { other: number }> => {
    let n = 0;
    let other = 0;
    const rate = await closedLoop(clients, seconds, async () => {
      const sku = pick(n++);
      const res = await call('POST', '/v1/orders', { sku, qty: 1 });
      if (res.status !== 202) return void other++;
      accepted.set(sku, (accepted.get(sku) ?? 0) + 1);
      if (n % 20 === 0) {
        sampled.checked++;
        if ((await call('GET', `/v1/orders/${res.body.id}`)).body.status === 'reserved') sampled.reserved++;
      }
    });
    return { ...rate, other };
  };
  const hot = await scenario(() => 'HOT');
  const spread = await scenario((n) => `SPREAD-${n % 100}`);

  // Every SKU's ledger balances and holds one reserve per accepted order.
  let unbalanced = 0;
  for (const sku of skus) {
    let sum = 0;
    let reserves = 0;
    for (let cursor: string | null = ''; cursor !== null; ) {
      const page: { items: { quantity: number; type: string }[]; nextCursor: string | null } = (
        await call('GET', `/v1/inventory/${sku}/movements?limit=200${cursor ? `&cursor=${cursor}` : ''}`)
      ).body;
      for (const m of page.items) {
        sum += m.quantity;
        if (m.type === 'reserve') reserves++;
      }
      cursor = page.nextCursor;
    }
    const quantity = (await call('GET', `/v1/skus/${sku}`)).body.quantity;
    if (sum !== quantity || reserves !== (accepted.get(sku) ?? 0)) unbalanced++;
  }

  const ratio = (r: Rate) => round(r.perSecond / baseline.perSecond, 3);
  const verdict = (ok: boolean) => (ok ? 'MET' : 'NOT MET');
  const rows = [
    `| baseline: bare FerretDB guarded findOneAndUpdate (32 callers) | ${baseline.perSecond} | ${baseline.p50Ms} | ${baseline.p99Ms} | 1 | — |`,
    `| (a) one hot SKU | ${hot.perSecond} | ${hot.p50Ms} | ${hot.p99Ms} | **${ratio(hot)}** | ≥ ${targets.hot} |`,
    `| (b) spread over 100 SKUs | ${spread.perSecond} | ${spread.p50Ms} | ${spread.p99Ms} | **${ratio(spread)}** | ≥ ${targets.spread} |`,
  ];
  const md = `# Inventory: orders to \`reserved\` with local stock

Measured ${new Date().toISOString()} on ${machineInfo().cpu}; ${JSON.stringify(versions())}. ${seconds} s per figure, ${clients} closed-loop clients.
\`POST /v1/orders\` (qty 1) through the real gateway to the real inventory service; the 202 comes after the order is written
reserved (same SKU write), so its latency is the time to \`reserved\`.

| what | orders/s | p50 ms | p99 ms | ratio to baseline | target |
|---|---:|---:|---:|---:|---:|
${rows.join('\n')}

Non-202 answers: hot ${hot.other}, spread ${spread.other}. Read back at once: ${sampled.reserved} of ${sampled.checked} sampled orders already \`reserved\`.
Ledgers of ${skus.length} SKUs: ${unbalanced} unbalanced (initial + Σ movements ≠ quantity, or reserves ≠ 202s).

## Verdicts

- **Hot SKU — ${verdict(ratio(hot) >= targets.hot)}: ${hot.perSecond} orders/s = ${ratio(hot)} × bare findOneAndUpdate (${baseline.perSecond}/s); target ≥ ${targets.hot}**
- **Spread — ${verdict(ratio(spread) >= targets.spread)}: ${spread.perSecond} orders/s = ${ratio(spread)} ×; target ≥ ${targets.spread}**
- **p99 to reserved — ${verdict(Math.max(hot.p99Ms, spread.p99Ms) < targets.p99Ms)}: hot ${hot.p99Ms} ms, spread ${spread.p99Ms} ms; target < ${targets.p99Ms} ms**
- **Ledgers — ${unbalanced === 0 ? 'PASS' : 'FAIL'}: ${unbalanced} of ${skus.length} unbalanced**
`;
  writeResults(
    'inventory-orders',
    { baseline, hot, spread, sampled, unbalanced, targets, machine: machineInfo(), versions: versions() },
    md,
  );
  console.log(md);
} finally {
  for (const child of started) child.kill('SIGTERM');
  await sleep(1500);
  await sim.close();
  await infra.stop();
}
