import { readFileSync } from 'node:fs';
import path from 'node:path';
import { durableConsumers, natsRights, services } from '@allot/contracts';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { grantedUsers } from '../src/nats-users';
import { root } from '../src/services';

const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

/** The NATS users of each deployment, as the servers will read them. */
const deployments = {
  kubernetes: grantedUsers(read('deploy/k8s/base/nats/users.conf')),
  compose: grantedUsers(read('deploy/compose/nats.conf')),
};

/** Grants reaching every stream's API or every inbox: never in anyone's list. */
const wide = /^(\$JS\.API\.>|\$JS\.API\.[A-Z]+\.>|\$JS\.>|_INBOX\.>|_INBOX\.\*|>|\*\..*|\$JS\.ACK\.>)$/;

describe('deploy - NATS rights', () => {
  for (const [name, users] of Object.entries(deployments)) {
    it(`nats rights - ${name} grants each service's user exactly its declared subjects, nothing else`, () => {
      expect(users.map((u) => u.user).sort()).toEqual([...services].sort());
      for (const user of users) {
        const declared = natsRights(user.user as (typeof services)[number]);
        expect({ user: user.user, publish: user.publish }).toEqual({ user: user.user, publish: declared.publish });
        expect({ user: user.user, publishDeny: user.publishDeny }).toEqual({ user: user.user, publishDeny: declared.publishDeny });
        expect({ user: user.user, subscribe: user.subscribe }).toEqual({ user: user.user, subscribe: declared.subscribe });
        expect({ user: user.user, subscribeDeny: user.subscribeDeny }).toEqual({ user: user.user, subscribeDeny: [] });
        expect({ user: user.user, other: user.other }).toEqual({ user: user.user, other: [] });
      }
    });

    it(`nats rights - ${name} grants no user the whole JetStream API, every inbox or another's inbox`, () => {
      for (const user of users) {
        for (const subject of [...user.publish, ...user.subscribe])
          expect({ user: user.user, subject }).not.toMatchObject({ subject: expect.stringMatching(wide) });
        for (const subject of user.subscribe.filter((s) => s.startsWith('_INBOX'))) expect(subject).toBe(`_INBOX_${user.user}.>`);
      }
    });
  }

  it('nats rights - no service may update, delete or purge another service’s stream', () => {
    for (const service of services) {
      const { publish } = natsRights(service);
      const managed = publish.filter((s) => /^\$JS\.API\.STREAM\.(UPDATE|DELETE|PURGE|MSG\.DELETE)\./.test(s));
      for (const subject of managed) {
        const stream = subject.split('.').at(-1) ?? '';
        const own = [`EVT_${service.toUpperCase()}`, `JOBS_${service.toUpperCase()}`, ...(service === 'gateway' ? ['CLIENT'] : [])];
        // The dead-letter stream is the notifications service's inbox of every service's letters.
        if (service === 'notifications' && stream === 'DEAD_LETTERS') continue;
        expect({ service, stream }).toEqual({ service, stream: own.find((s) => s === stream) ?? `not ${stream}` });
      }
    }
  });

  it('nats rights - a consumer of any name granted on a shared stream never reaches another service’s durable on it', () => {
    for (const service of services) {
      const { publish, publishDeny } = natsRights(service);
      const wildcardStreams = publish.flatMap((s) => /^\$JS\.API\.CONSUMER\.(?:CREATE|MSG\.NEXT)\.([A-Z_]+)\.\*/.exec(s)?.[1] ?? []);
      for (const stream of new Set(wildcardStreams)) {
        for (const other of services.filter((s) => s !== service)) {
          for (const { name } of durableConsumers[other].filter((c) => c.stream === stream)) {
            expect(publishDeny).toContain(`$JS.API.CONSUMER.CREATE.${stream}.${name}.>`);
            expect(publishDeny).toContain(`$JS.API.CONSUMER.MSG.NEXT.${stream}.${name}`);
          }
        }
      }
    }
  });

  it('nats rights - availability calls only the capacity read-model operations it rebuilds from', () => {
    const calls = natsRights('availability').publish.filter((s) => s.startsWith('rpc.'));
    expect(calls.sort()).toEqual(['rpc.capacity.readModel.bookings', 'rpc.capacity.readModel.sessions', 'rpc.capacity.readModel.slots']);
    expect(natsRights('gateway').publish.filter((s) => s.startsWith('rpc.capacity.readModel'))).toEqual([]);
  });

  it('nats rights - compose publishes no port beyond the loopback but the gateway’s', () => {
    const compose = parse(read('docker-compose.yml')) as { services: Record<string, { ports?: string[] }> };
    for (const [name, service] of Object.entries(compose.services)) {
      for (const port of service.ports ?? []) {
        if (name === 'gateway' && port.endsWith(':8080')) continue;
        expect({ name, port }).toEqual({ name, port: expect.stringMatching(/^127\.0\.0\.1:/) });
      }
    }
    expect(compose.services.nats?.ports).toBeUndefined();
  });
});
