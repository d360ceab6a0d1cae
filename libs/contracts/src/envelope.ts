import { z } from 'zod';
import { Timestamp } from './primitives';

/** The JSON envelope of every event (docs/events.md). */
export const EventEnvelope = z.object({
  id: z.string(),
  type: z.string(),
  version: z.number().int().min(1),
  tenantId: z.string(),
  occurredAt: Timestamp,
  source: z.string(),
  data: z.unknown(),
});
export type EventEnvelope<T = unknown> = Omit<z.infer<typeof EventEnvelope>, 'data'> & { data: T };

/** An event's contract: its payload schema and the version of that payload. */
export interface EventContract<T extends z.ZodType = z.ZodType> {
  readonly version: number;
  readonly summary: string;
  readonly data: T;
}

export function event<T extends z.ZodType>(summary: string, data: T, version = 1): EventContract<T> {
  return { summary, data, version };
}
