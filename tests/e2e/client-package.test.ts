import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack, today } from './stack';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const pnpm = path.join(root, '.cache/pnpm/node_modules/.bin/pnpm');
const tsc = path.join(root, 'node_modules/.bin/tsc');

/**
 * `@allot/client` as an integrator receives it: packed by pnpm (which builds it and swaps in the
 * published `exports`, pointing at dist), installed with npm into an empty project outside this
 * workspace, then used from plain Node — typed calls and a stream against a running gateway — and
 * type-checked against the declarations it ships. Every child process runs asynchronously: the
 * gateway it calls lives in this process.
 */
describe('client package', () => {
  let stack: Stack;
  let key: string;
  let project: string;

  beforeAll(async () => {
    stack = await startStack();
    ({ key } = await stack.newTenant());
    project = mkdtempSync(path.join(tmpdir(), 'allot-client-'));
    await run(pnpm, ['pack', '--pack-destination', project], { cwd: path.join(root, 'libs/client') });
    const tarball = readdirSync(project).find((f) => f.endsWith('.tgz'));
    expect(tarball).toBeDefined();
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'integrator', private: true, type: 'module' }));
    // npm, not pnpm: the integrator's own tool, with none of this workspace's settings (pnpm passes them on as npm_config_*).
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)));
    await run('npm', ['install', `./${tarball}`, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: project, env });
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    if (project) rmSync(project, { recursive: true, force: true });
  });

  it('client package - plain Node imports the installed package, calls the gateway and reads its stream', async () => {
    writeFileSync(path.join(project, 'integrate.mjs'), integratorScript);
    const { stdout } = await run('node', ['integrate.mjs'], {
      cwd: project,
      env: { ...process.env, ALLOT_URL: stack.base, ALLOT_KEY: key, ALLOT_DATE: today(2) },
      timeout: 30_000,
    });
    const seen = JSON.parse(stdout);
    expect(seen.resolved).toBe(path.join(project, 'node_modules/@allot/client/dist/index.js'));
    expect(seen.session).toMatchObject({ status: 201, name: 'Packaged tour' });
    expect(seen.booking).toMatchObject({ status: 201, data: { status: 'confirmed', slots: 2, sessionId: seen.session.id } });
    expect(seen.event).toMatchObject({ event: 'booking.created', data: { id: seen.booking.data.id } });
    expect(seen.refused).toMatchObject({ status: 409, code: 'capacity_exhausted' });
  }, 60_000);

  it('client package - its declarations type-check a TypeScript project (node16 and bundler resolution)', async () => {
    writeFileSync(path.join(project, 'typed.ts'), typedUse);
    writeFileSync(
      path.join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          lib: ['ES2023', 'DOM'],
          module: 'node16',
          moduleResolution: 'node16',
          types: [],
          strict: true,
          noEmit: true,
        },
        files: ['typed.ts'],
      }),
    );
    // A failure prints tsc's diagnostics; `@ts-expect-error` lines fail too if the types came out as `any`.
    await run(tsc, ['-p', 'tsconfig.json'], { cwd: project });
    await run(tsc, ['-p', 'tsconfig.json', '--module', 'esnext', '--moduleResolution', 'bundler'], { cwd: project });
  }, 60_000);
});

/** What an integrator writes in plain JavaScript: no TypeScript, no loader. */
const integratorScript = `
import { createAllotClient, streamEvents } from '@allot/client';

const { ALLOT_URL: baseUrl, ALLOT_KEY: credential, ALLOT_DATE: date } = process.env;
const allot = createAllotClient({ baseUrl, credential });
const session = await allot.POST('/v1/sessions', { body: { name: 'Packaged tour', maxCapacity: 3 } });

const events = [];
let arrived = () => {};
const until = async (found) => {
  while (!events.some(found)) await new Promise((resolve) => (arrived = resolve));
  return events.find(found);
};
const stream = streamEvents({
  baseUrl,
  credential,
  channels: ['bookings'],
  onEvent: (event) => { events.push(event); arrived(); },
  onStatus: (status) => { events.push({ event: 'status:' + status }); arrived(); },
});
await until((e) => e.event === 'status:open');
const booking = await allot.POST('/v1/bookings', { body: { sessionId: session.data.id, date, adults: 2 } });
const event = await until((e) => e.event === 'booking.created' && e.data.id === booking.data.id);
stream.close();
const refused = await allot.POST('/v1/bookings', { body: { sessionId: session.data.id, date, adults: 2 } });

console.log(JSON.stringify({
  resolved: new URL(import.meta.resolve('@allot/client')).pathname,
  session: { status: session.response.status, ...session.data },
  booking: { status: booking.response.status, data: booking.data },
  event,
  refused: { status: refused.response.status, code: refused.error?.code },
}));
`;

/** What an integrator writes in TypeScript: typed bodies, answers, problems and stream events. */
const typedUse = `
import { type Booking, createAllotClient, type Problem, type StreamEvent, streamEvents } from '@allot/client';

const allot = createAllotClient({ baseUrl: 'http://localhost:8080', credential: () => 'key' });
const { data, error } = await allot.POST('/v1/sessions', { body: { name: 'Tour', maxCapacity: 2 } });
export const id: string | undefined = data?.id;
export const problem: Problem | undefined = error;
// @ts-expect-error the body is typed: maxCapacity is a number
await allot.POST('/v1/sessions', { body: { name: 'Tour', maxCapacity: 'two' } });
// @ts-expect-error only the gateway's routes exist
await allot.GET('/v1/no-such-route');
export const booking: Booking | undefined = (await allot.GET('/v1/bookings/{id}', { params: { path: { id: 'b' } } })).data;
const stream = streamEvents({ baseUrl: 'http://localhost:8080', credential: 'key', channels: ['bookings'], onEvent: (event: StreamEvent) => event.data });
stream.close();
`;
