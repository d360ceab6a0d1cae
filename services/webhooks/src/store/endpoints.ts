import type { EventEnvelope, WebhookEndpoint } from '@allot/contracts';
import type { OutboxCollection, OutboxEntry } from '@allot/kit';
import type { Filter, IndexDescription, UpdateFilter } from 'mongodb';

/** A signing secret, sealed (secret-box.ts); a replaced one signs on until `retiresAt`. */
export interface StoredSecret {
  sealed: string;
  addedAt: Date;
  retiresAt: Date | null;
}

export interface EndpointDoc extends Omit<WebhookEndpoint, 'id'> {
  _id: string;
  tenantId: string;
  /** Newest first. */
  secrets: StoredSecret[];
  /** Since when every attempt failed (null after a success): disabled once this is too long ago. */
  failingSince: Date | null;
  outbox?: OutboxEntry[];
}

export const endpointIndexes: IndexDescription[] = [{ key: { tenantId: 1, _id: 1 } }, { key: { enabled: 1, tenantId: 1 } }];

export function toEndpoint(doc: EndpointDoc): WebhookEndpoint {
  return {
    id: doc._id,
    url: doc.url,
    description: doc.description,
    eventTypes: doc.eventTypes,
    enabled: doc.enabled,
    disabledReason: doc.disabledReason,
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
  };
}

/** A tenant's endpoints; every write is one guarded document update. */
export class EndpointStore {
  constructor(private readonly docs: OutboxCollection<EndpointDoc>) {}

  insert(doc: Omit<EndpointDoc, 'outbox'>): Promise<{ doc: EndpointDoc; created: boolean }> {
    return this.docs.insertOrGet(doc);
  }

  get(tenantId: string, id: string): Promise<EndpointDoc | null> {
    return this.docs.findOne({ _id: id, tenantId });
  }

  /** By id alone, for the dispatcher (the deliveries it works on name the tenant already); one read for many. */
  byIds(ids: string[]): Promise<EndpointDoc[]> {
    return this.docs.find({ _id: { $in: ids } }).toArray();
  }

  countOf(tenantId: string): Promise<number> {
    return this.docs.raw.countDocuments({ tenantId });
  }

  /** The tenants that have an enabled endpoint. */
  async tenantsWithEnabled(): Promise<string[]> {
    return (await this.docs.raw.distinct('tenantId', { enabled: true })) as string[];
  }

  /** The enabled endpoints of these tenants (one read for many: the endpoint cache batches its misses). */
  enabledOf(tenantIds: string[]): Promise<EndpointDoc[]> {
    return this.docs.find({ tenantId: { $in: tenantIds }, enabled: true }).toArray();
  }

  list(tenantId: string, limit: number, after?: string, enabled?: boolean): Promise<EndpointDoc[]> {
    const query: Filter<EndpointDoc> = { tenantId };
    if (after) query._id = { $gt: after };
    if (enabled !== undefined) query.enabled = enabled;
    return this.docs.find(query).sort({ _id: 1 }).limit(limit).toArray();
  }

  update(tenantId: string, id: string, update: UpdateFilter<EndpointDoc>, guard: Filter<EndpointDoc> = {}): Promise<EndpointDoc | null> {
    return this.docs.update({ ...guard, _id: id, tenantId }, update);
  }

  async delete(tenantId: string, id: string): Promise<boolean> {
    return (await this.docs.raw.deleteOne({ _id: id, tenantId })).deletedCount === 1;
  }

  /** Marks the first failure of a run of failures (a no-op while one is already marked). */
  async markFailing(id: string, at: Date): Promise<void> {
    await this.docs.raw.updateOne({ _id: id, failingSince: null }, { $set: { failingSince: at } });
  }

  async markHealthy(id: string): Promise<void> {
    await this.docs.raw.updateOne({ _id: id, failingSince: { $ne: null } }, { $set: { failingSince: null } });
  }

  /**
   * Disables an enabled endpoint, with the event that announces it in the same write; null when
   * it was disabled already (by another attempt, replica or an admin), so it is announced once.
   */
  async disable(
    id: string,
    reason: 'gone' | 'failing',
    at: string,
    announce: (doc: EndpointDoc) => EventEnvelope,
  ): Promise<EndpointDoc | null> {
    const current = await this.docs.findOne({ _id: id, enabled: true });
    if (!current) return null;
    const after = { ...current, enabled: false, disabledReason: reason, updatedAt: at };
    return this.docs.update({ _id: id, enabled: true }, { $set: { enabled: false, disabledReason: reason, updatedAt: at } }, [
      announce(after),
    ]);
  }
}
