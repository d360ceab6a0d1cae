import { z } from 'zod';
import { eventCatalog, rpcCatalog } from './catalog';
import { EventEnvelope } from './envelope';
import { ErrorBody } from './errors';
import { RpcRequest } from './rpc';
import { eventStream, type ServiceName } from './subjects';

const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'output', unrepresentable: 'any' });
const key = (...parts: string[]) => parts.join('_').replace(/[^A-Za-z0-9_]/g, '_');

/** Builds the AsyncAPI 3 document of every event subject and RPC operation from the contracts. */
export function buildAsyncApi(version: string) {
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};

  for (const [service, events] of Object.entries(eventCatalog)) {
    for (const [type, contract] of Object.entries(events)) {
      const id = key('evt', service, type);
      messages[id] = {
        name: type,
        title: `${type} v${contract.version}`,
        summary: contract.summary,
        contentType: 'application/json',
        headers: {
          type: 'object',
          properties: { 'Nats-Msg-Id': { type: 'string', description: 'the event id' }, traceparent: { type: 'string' } },
        },
        payload: schema(EventEnvelope.extend({ type: z.literal(type), version: z.literal(contract.version), data: contract.data })),
      };
      channels[id] = {
        address: `evt.${service}.{tenantId}.${type}`,
        description: `On stream ${eventStream(service as ServiceName)}. ${contract.summary}.`,
        parameters: { tenantId: { description: 'the tenant the event belongs to' } },
        messages: { [id]: { $ref: `#/components/messages/${id}` } },
      };
      operations[key('publish', service, type)] = {
        action: 'send',
        channel: { $ref: `#/channels/${id}` },
        summary: `${service} publishes ${type}`,
      };
    }
  }

  for (const [service, ops] of Object.entries(rpcCatalog)) {
    for (const [op, contract] of Object.entries(ops)) {
      const id = key('rpc', service, op);
      messages[`${id}_request`] = {
        name: `${service}.${op} request`,
        contentType: 'application/json',
        payload: schema(RpcRequest.extend({ input: contract.input })),
      };
      messages[`${id}_reply`] = {
        name: `${service}.${op} reply`,
        contentType: 'application/json',
        payload: schema(
          z.discriminatedUnion('ok', [
            z.object({ ok: z.literal(true), data: contract.output }),
            z.object({ ok: z.literal(false), error: ErrorBody }),
          ]),
        ),
      };
      channels[id] = {
        address: `rpc.${service}.${op}`,
        description: `${contract.summary}. Served in queue group "${service}".`,
        messages: {
          [`${id}_request`]: { $ref: `#/components/messages/${id}_request` },
          [`${id}_reply`]: { $ref: `#/components/messages/${id}_reply` },
        },
      };
      operations[id] = {
        action: 'receive',
        channel: { $ref: `#/channels/${id}` },
        summary: contract.summary,
        messages: [{ $ref: `#/channels/${id}/messages/${id}_request` }],
        reply: { messages: [{ $ref: `#/channels/${id}/messages/${id}_reply` }] },
      };
    }
  }

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Allot events and RPC',
      version,
      description:
        'Generated from libs/contracts; do not edit. Events are at-least-once on JetStream (one stream per service, 7 days, dedupe by Nats-Msg-Id). RPC is NATS request-reply.',
    },
    servers,
    defaultContentType: 'application/json',
    channels,
    operations,
    components: { messages },
  };
}

/**
 * Where the subjects live. Integrators attach their own durable JetStream consumers there
 * (docs/events.md); every channel is on every server.
 */
const servers = {
  local: {
    host: 'localhost:{port}',
    protocol: 'nats',
    description: 'The NATS server of `make dev` (its URL is printed at start) or of docker-compose.yml (port 4222).',
    variables: { port: { default: '4222', description: 'the port in the NATS URL `make dev` printed' } },
  },
  kubernetes: {
    host: 'nats.allot.svc.cluster.local:4222',
    protocol: 'nats',
    description: 'The 3-node JetStream cluster of deploy/k8s, from inside the cluster; each client authenticates as its own NATS user.',
  },
};
