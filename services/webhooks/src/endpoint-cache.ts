import { type Clock, GroupCommit } from '@allot/kit';
import { RefreshingMap } from './refreshing-map';
import type { EndpointDoc, EndpointStore } from './store/endpoints';

/**
 * Endpoints as the fan-out and the dispatcher read them: every event and attempt needs its
 * endpoints, so what they use was read at most `ttlMs` ago (a change made in this process is
 * seen at once; one made by another replica within `ttlMs`, the service's README.md says so).
 */
export class EndpointCache {
  private readonly byId: RefreshingMap<string, EndpointDoc | null>;
  private readonly byTenant: RefreshingMap<string, EndpointDoc[]>;
  /** The tenants with an enabled endpoint: most events are of tenants without one, and cost no read. */
  private readonly tenants: RefreshingMap<'all', Set<string>>;

  constructor(store: EndpointStore, clock: Clock, ttlMs = 2000) {
    // What is asked for while a read is under way is read together next, with one query: a cold
    // start (every tenant's first event at once) or the refreshes of many busy tenants or
    // endpoints cost a few reads rather than one each.
    const readsById = new GroupCommit<string, EndpointDoc | null>(async (_key, ids) => {
      const byId = new Map((await store.byIds([...new Set(ids)])).map((doc) => [doc._id, doc]));
      return ids.map((id) => byId.get(id) ?? null);
    });
    this.byId = new RefreshingMap(clock, ttlMs, (id) => readsById.submit('byId', id));
    const readsByTenant = new GroupCommit<string, EndpointDoc[]>(async (_key, tenantIds) => {
      const byTenant = new Map<string, EndpointDoc[]>();
      for (const doc of await store.enabledOf([...new Set(tenantIds)]))
        byTenant.set(doc.tenantId, [...(byTenant.get(doc.tenantId) ?? []), doc]);
      return tenantIds.map((tenantId) => byTenant.get(tenantId) ?? []);
    });
    this.byTenant = new RefreshingMap(clock, ttlMs, (tenantId) => readsByTenant.submit('enabled', tenantId));
    this.tenants = new RefreshingMap(clock, ttlMs, async () => new Set(await store.tenantsWithEnabled()));
  }

  get(id: string): Promise<EndpointDoc | null> {
    return this.byId.get(id);
  }

  /** The tenant's enabled endpoints. */
  async enabledOf(tenantId: string): Promise<EndpointDoc[]> {
    if (!(await this.tenants.get('all')).has(tenantId)) return [];
    return this.byTenant.get(tenantId);
  }

  /** After a change made here: read again next time. */
  forget(doc: { _id: string; tenantId: string }): void {
    this.byId.delete(doc._id);
    this.byTenant.delete(doc.tenantId);
    this.tenants.clear();
  }

  /** Drops what has expired (run now and then, so tenants seen once do not stay forever). */
  sweep(): void {
    this.byId.sweep();
    this.byTenant.sweep();
  }
}
