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
}
