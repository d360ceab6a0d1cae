import { AppError, IsoDate } from '@allot/contracts';
import type { Credential } from '../auth/credentials';
import { userKey } from './client-messages';

/** A parsed SSE channel: which client messages of the tenant it lets through. */
export interface Channel {
  name: string;
  readableBy: Credential['kind'][];
  /** Tests the subject tokens after `client.<tenantId>.`. */
  matches(tokens: string[], credential: Credential): boolean;
}

const ID = /^[A-Za-z0-9_-]{1,64}$/;

/** The channels without a parameter, made once: every stream naming them shares them. */
const fixed = new Map<string, Channel>(
  [
    { name: 'availability', readableBy: ['apiKey', 'user'], matches: (t: string[]) => t[0] === 'availability' },
    ...(['bookings', 'orders', 'alerts', 'imports', 'reports'] as const).map((name) => ({
      name,
      readableBy: ['apiKey'] as Credential['kind'][],
      matches: (t: string[]) => t[0] === name,
    })),
    {
      name: 'user',
      readableBy: ['user'],
      matches: (t: string[], credential: Credential) =>
        credential.kind === 'user' && t[0] === 'user' && t[1] === userKey(credential.userId),
    },
  ].map((channel) => [channel.name, channel as Channel]),
);

function parse(name: string): Channel | undefined {
  const known = fixed.get(name);
  if (known) return known;
  const date = /^availability\.(.+)$/.exec(name)?.[1];
  const session = /^availability\.session\.(.+)$/.exec(name)?.[1];
  if (session !== undefined) {
    if (!ID.test(session)) return undefined;
    return { name, readableBy: ['apiKey', 'user'], matches: (t) => t[0] === 'availability' && t[1] === session };
  }
  if (date !== undefined) {
    if (!IsoDate.safeParse(date).success) return undefined;
    return { name, readableBy: ['apiKey', 'user'], matches: (t) => t[0] === 'availability' && t[2] === date };
  }
  return undefined;
}

/**
 * Parses `?channels=a,b,c` and checks the credential may read each: an unknown channel is 400
 * naming it, a channel the credential may not read is 403 — both before the stream opens.
 */
export function resolveChannels(list: string | undefined, credential: Credential): Channel[] {
  const names = (list ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 0) {
    throw new AppError('validation_failed', 'Name at least one channel', { errors: [{ path: 'channels', message: 'is required' }] });
  }
  const channels = names.map((name) => ({ name, channel: parse(name) }));
  const unknown = channels.filter((c) => !c.channel).map((c) => c.name);
  if (unknown.length > 0) {
    throw new AppError('validation_failed', `Unknown channel ${unknown.join(', ')}`, {
      errors: unknown.map((name) => ({ path: 'channels', message: `unknown channel "${name}"` })),
    });
  }
  const resolved = channels.map((c) => c.channel as Channel);
  const denied = resolved.filter((c) => !c.readableBy.includes(credential.kind));
  if (denied.length > 0) throw new AppError('forbidden', `This credential may not read ${denied.map((c) => c.name).join(', ')}`);
  return resolved;
}
