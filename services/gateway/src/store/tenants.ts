import type { Tenant } from '@allot/contracts';
import type { Collection, Db } from 'mongodb';

interface TenantDoc {
  _id: string;
  name: string;
  createdAt: string;
}

export class TenantStore {
  private readonly tenants: Collection<TenantDoc>;

  constructor(db: Db) {
    this.tenants = db.collection<TenantDoc>('tenants');
  }

  async create(tenant: Tenant): Promise<void> {
    await this.tenants.insertOne({ _id: tenant.id, name: tenant.name, createdAt: tenant.createdAt });
  }

  async get(id: string): Promise<Tenant | undefined> {
    const doc = await this.tenants.findOne({ _id: id });
    return doc ? { id: doc._id, name: doc.name, createdAt: doc.createdAt } : undefined;
  }
}
