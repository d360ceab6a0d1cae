import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { isAlive as alive, freePort } from '@allot/local-servers';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '../../..');

/** Every live descendant of `pid`, read from /proc. */
function descendants(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // The process ended while we looked.
    }
  }
  const found: number[] = [];
  const visit = (parent: number) => {
    for (const [child, ppid] of parents) {
      if (ppid !== parent) continue;
      found.push(child);
      visit(child);
    }
  };
  visit(pid);
  return found;
}

describe('make dev', () => {
  it('dev - starts the stack with a demo tenant, prints how to reach it, and Ctrl-C leaves no process behind', async () => {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      GATEWAY_PORT: String(port),
      WEBHOOK_RECEIVER_PORT: String(await freePort()),
      LOG_LEVEL: 'warn',
    };
    for (const name of ['NATS_URL', 'MONGO_URL', 'ROOT_API_KEY', 'OPS_PORT']) delete env[name];
    const dev = spawn(process.execPath, ['--import', 'tsx', 'tools/dev/main.ts'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const output: string[] = [];
    createInterface({ input: dev.stderr }).on('line', (line) => output.push(line));
    const banner = await new Promise<Record<string, string>>((resolve, reject) => {
      const rows: Record<string, string> = {};
      dev.once('exit', (code) => reject(new Error(`make dev exited with ${code}:\n${output.join('\n')}`)));
      createInterface({ input: dev.stdout }).on('line', (line) => {
        output.push(line);
        const row = /^ {2}(\S.*?)\s{2,}(\S.*)$/.exec(line);
        if (row) rows[row[1] as string] = row[2] as string;
        if (line.includes('Ctrl-C stops everything')) resolve(rows);
      });
    });

    expect(banner.Gateway).toBe(`http://127.0.0.1:${port}`);
    expect(banner.NATS).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
    expect(banner['Ops (metrics)']).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics/);
    expect(banner['Root key']).toMatch(/^root_/);
    const auth = { authorization: `Bearer ${banner['Demo API key']}` };
    const get = async (url: string): Promise<any> => (await fetch(`${banner.Gateway}${url}`, { headers: auth })).json();
    const me = await get('/v1/me');
    expect(me.tenant.id).toBe(banner['Demo tenant id']);
    const sessions = await get('/v1/sessions');
    expect(sessions.items).toHaveLength(3);
    const bookings = await get('/v1/bookings');
    expect(bookings.items.length).toBeGreaterThanOrEqual(5);
    const skus = await fetch(`${banner.Gateway}/v1/skus`, { headers: auth });
    // Inventory is in the demo once its service exists (until then its routes are 404).
    if (skus.status !== 404) expect(((await skus.json()) as { items: unknown[] }).items.length).toBeGreaterThan(0);
    // The demo's webhook endpoint points at the local receiver, which gets the demo's events.
    const endpoints = await get('/v1/webhooks/endpoints');
    expect(endpoints.items).toHaveLength(1);
    const receiver = /^(http:\/\/127\.0\.0\.1:\d+)\/_received/.exec(banner['Webhook receiver'] ?? '')?.[1];
    expect(endpoints.items[0].url).toBe(`${receiver}/hooks/accept/demo`);
    await expect
      .poll(async () => ((await (await fetch(`${receiver}/_received`)).json()) as { items: unknown[] }).items.length, { timeout: 20_000 })
      .toBeGreaterThan(0);

    const started = descendants(dev.pid as number);
    expect(started.length).toBeGreaterThanOrEqual(4);
    const exited = new Promise<number | null>((resolve) => dev.once('exit', resolve));
    dev.kill('SIGINT');
    expect(await exited).toBe(0);
    await expect.poll(() => started.filter(alive), { timeout: 5000 }).toEqual([]);
  }, 120_000);
});
