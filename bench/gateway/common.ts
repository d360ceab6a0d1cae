/** What the gateway benchmarks share: child env, tenant creation, versions and result files. */

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startChild } from './ipc';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const here = path.join(root, 'bench/gateway');

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
export const mib = (bytes: number) => round(bytes / 2 ** 20, 1);

export function versions(): Record<string, string> {
  return Object.fromEntries(
    readFileSync(path.join(root, 'tools/local-servers/versions.env'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => l.split('=') as [string, string]),
  );
}

/**
 * A benchmark server (a file of `bench/gateway`) as an image runs a service: compiled by the
 * image's build step (esbuild, workspace code bundled, third-party packages left as imports) and
 * run by plain Node. Under tsx every function made at run time also gets its name set by a
 * helper, which production never pays (a few KiB per SSE stream, and CPU on every request).
 * Third-party imports resolve through pnpm's flat view of every installed package (one version
 * of each here), as `pnpm deploy` lays them out. Returns the compiled entry.
 */
export function compiled(file: string): string {
  const outDir = path.join(root, '.cache/bench', path.basename(file, '.ts'));
  execFileSync(process.execPath, ['--import', 'tsx', 'tools/image-build/bundle.ts', path.join('bench/gateway', file), outDir], {
    cwd: root,
    stdio: 'inherit',
  });
  writeFileSync(path.join(outDir, 'package.json'), '{ "type": "module" }\n');
  const modules = path.join(outDir, 'node_modules');
  if (!existsSync(modules)) symlinkSync(path.join(root, 'node_modules/.pnpm/node_modules'), modules);
  return path.join(outDir, 'main.js');
}

/** The environment of a benchmark child process: the run's servers, its own database, quiet logs. */
export function childEnv(
  infra: { natsUrl: string; mongoUrl: string },
  db: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    NATS_URL: infra.natsUrl,
    MONGO_URL: infra.mongoUrl,
    MONGO_DB: `bench_${db}_${Date.now()}`,
    PORT: '0',
    OPS_PORT: '0',
    USER_TOKEN_SECRET: randomBytes(32).toString('hex'),
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
    ...extra,
  };
}

/** The real gateway in its own process (`gateway-server.ts`), with rate limits out of the benchmark's way. */
export function startGatewayChild(
  infra: { natsUrl: string; mongoUrl: string },
  rootKey: string,
  options: { readyServices: string; nodeArgs?: string[]; env?: Record<string, string>; entry?: string },
) {
  const env = childEnv(infra, 'gateway', {
    ROOT_API_KEY: rootKey,
    READY_SERVICES: options.readyServices,
    RATE_LIMIT_PER_SECOND: '100000000',
    RATE_LIMIT_BURST: '100000000',
    ...options.env,
  });
  return startChild(options.entry ?? path.join(here, 'gateway-server.ts'), env, { nodeArgs: options.nodeArgs });
}

export const newRootKey = () => `root_${randomBytes(16).toString('hex')}`;

/** Creates a tenant with the root key (`POST /v1/tenants`); returns its id and API key. */
export async function createTenant(base: string, rootKey: string, name = 'Bench tenant'): Promise<{ tenantId: string; key: string }> {
  const res = await fetch(`${base}/v1/tenants`, {
    method: 'POST',
    headers: { authorization: `Bearer ${rootKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`tenant creation failed: ${res.status} ${text}`);
  const body = JSON.parse(text) as { tenant: { id: string }; apiKey: { key: string } };
  return { tenantId: body.tenant.id, key: body.apiKey.key };
}

export function writeResults(name: string, report: unknown, md: string): void {
  writeFileSync(path.join(root, `bench/results/${name}.json`), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(path.join(root, `bench/results/${name}.md`), md);
}
