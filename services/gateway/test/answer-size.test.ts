import { rpc } from '@allot/contracts';
import { z } from '@hono/zod-openapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireCredential } from '../src/http/auth';
import { createTenant, startTestGateway, type TestGateway } from './harness';

const sized = rpc('answers a text of the size asked for', z.object({ bytes: z.number().int() }), z.object({ text: z.string() }));

describe('answers too large to carry', () => {
  let gw: TestGateway;
  let key: string;

  beforeAll(async () => {
    gw = await startTestGateway(
      {},
      {
        // A probe route onto an operation this test serves itself, answering as much as asked.
        extend: (app, deps) => {
          app.get('/v1/probe/sized', requireCredential('apiKey'), async (c) =>
            c.json(await deps.callService(c, 'gateway', 'probe-sized', sized, { bytes: Number(c.req.query('bytes')) })),
          );
        },
      },
    );
    gw.service.rpc.add('probe-sized', sized, async ({ bytes }) => ({ text: 'x'.repeat(bytes) }));
    ({ key } = await createTenant(gw));
  });
  afterAll(() => gw.stop());

  it('answer size - an answer over the max payload is a 422 answer_too_large problem, and the next request is answered', async () => {
    const maxBytes = gw.service.nc.info?.max_payload ?? 0;
    const res = await gw.call('GET', `/v1/probe/sized?bytes=${maxBytes}`, { key });
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body).toMatchObject({
      type: 'https://allot.dev/problems/answer-too-large',
      title: 'Answer too large',
      status: 422,
      code: 'answer_too_large',
      maxBytes,
    });
    expect(res.body.detail).toContain('ask for less');

    const small = await gw.call('GET', '/v1/probe/sized?bytes=10', { key });
    expect(small.status).toBe(200);
    expect(small.body).toEqual({ text: 'x'.repeat(10) });
  });
});
