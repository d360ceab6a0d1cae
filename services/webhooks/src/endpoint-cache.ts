import type { Clock } from '@allot/kit';
import type { EndpointDoc, EndpointStore } from './store/endpoints';

/**
 * Endpoints as the fan-out and the dispatcher read them: every event and attempt needs its
 * endpoints, so they are read at most once per `ttlMs` (a change made in this process is seen at
 * once; one made by another replica within `ttlMs`, the service's README.md says so).
 */
export class EndpointCache {
  private readonly byId = new Map<string, { doc: EndpointDoc | null; until: number }>();
  private readonly byTenant = new Map<string, { docs: Promise<EndpointDoc[]>; until: number }>();
  /** The tenants with an enabled endpoint: most events are of tenants without one, and cost no read. */
  private tenants: { ids: Promise<Set<string>>; until: number } | undefined;

  constructor(
    private readonly store: EndpointStore,
    private readonly clock: Clock,
    private readonly ttlMs = 2000,
  ) {}

  async get(id: string): Promise<EndpointDoc | null> {
    const now = this.clock.now().getTime();
    const cached = this.byId.get(id);
    if (cached && cached.until > now) return cached.doc;
    const doc = await this.store.byId(id);
    this.byId.set(id, { doc, until: now + this.ttlMs });
    return doc;
  }

  /** The tenant's enabled endpoints. */
  async enabledOf(tenantId: string): Promise<EndpointDoc[]> {
    if (!(await this.tenantsWithEnabled()).has(tenantId)) return [];
    const now = this.clock.now().getTime();
    const cached = this.byTenant.get(tenantId);
    if (cached && cached.until > now) return cached.docs;
    const docs = this.store.enabledOf(tenantId);
    this.byTenant.set(tenantId, { docs, until: now + this.ttlMs });
    docs.catch(() => this.byTenant.delete(tenantId));
    return docs;
  }

  private tenantsWithEnabled(): Promise<Set<string>> {
    const now = this.clock.now().getTime();
    if (this.tenants && this.tenants.until > now) return this.tenants.ids;
    const ids = this.store.tenantsWithEnabled().then((list) => new Set(list));
    const entry = { ids, until: now + this.ttlMs };
    this.tenants = entry;
    ids.catch(() => {
      if (this.tenants === entry) this.tenants = undefined;
    });
    return ids;
  }

  /** After a change made here: read again next time. */
  forget(doc: { _id: string; tenantId: string }): void {
    this.byId.delete(doc._id);
    this.byTenant.delete(doc.tenantId);
    this.tenants = undefined;
  }

  /** Drops what has expired (run now and then, so tenants seen once do not stay forever). */
  sweep(): void {
    const now = this.clock.now().getTime();
    for (const [id, entry] of this.byId) if (entry.until <= now) this.byId.delete(id);
    for (const [id, entry] of this.byTenant) if (entry.until <= now) this.byTenant.delete(id);
  }
}
