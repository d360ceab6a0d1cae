import { newId } from '@allot/kit';
import { describe, expect, it } from 'vitest';
import { capacityUnderTest } from './service-under-test';

describe('capacity backstop', () => {
  const under = capacityUnderTest();

  it('backstop - one read finds the releases left unfinished and the holds past due, and nothing else', async () => {
    const { running, mongo, env } = under;
    const tenantId = newId('t');
    const now = '2030-01-01T12:00:00.000Z';
    const before = '2030-01-01T11:59:00.000Z';
    const booking = (name: string, fields: Record<string, unknown>) => ({ _id: `bk_${name}_${tenantId}`, tenantId, ...fields });
    await mongo
      .db(env.MONGO_DB)
      .collection('bookings')
      .insertMany([
        booking('stale-release', { status: 'cancelled', releasing: true, updatedAt: '2030-01-01T11:00:00.000Z' }),
        booking('fresh-release', { status: 'expired', releasing: true, updatedAt: '2030-01-01T11:59:30.000Z' }),
        booking('released', { status: 'cancelled', updatedAt: '2030-01-01T11:00:00.000Z' }),
        booking('hold-due', { status: 'held', holdExpiresAt: '2030-01-01T12:00:00.000Z', updatedAt: '2030-01-01T11:00:00.000Z' }),
        booking('hold-later', { status: 'held', holdExpiresAt: '2030-01-01T12:05:00.000Z', updatedAt: '2030-01-01T11:00:00.000Z' }),
        booking('confirmed', { status: 'confirmed', holdExpiresAt: null, updatedAt: '2030-01-01T11:00:00.000Z' }),
      ] as never[]);

    const found = await running.context.bookings.overdue(before, now, 200);
    const names = found
      .filter((doc) => doc.tenantId === tenantId)
      .map((doc) => doc._id.split('_')[1])
      .sort();
    expect(names).toEqual(['hold-due', 'stale-release']);
  });
});
