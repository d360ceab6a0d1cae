/**
 * What gets deployed: every service of `domainServices` whose code exists, the gateway and the
 * supplier simulator when it exists. A service another engineer has not landed yet is simply
 * absent; `make deploy-files` regenerates docker-compose.yml and deploy/k8s once it lands.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { domainServices, type ServiceName } from '@allot/contracts';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export interface Deployable {
  name: ServiceName;
  /** Serves the public API (the gateway) rather than only health and metrics. */
  public: boolean;
  /** Variables of its own beyond the common ones. */
  env: Record<string, string>;
  /** Variables read from its own secret (`allot-<name>` in Kubernetes, `.env` in compose): variable → key. */
  secrets: Record<string, string>;
}

const exists = (dir: string) => existsSync(path.join(root, dir, 'src/main.ts'));

export function deployables(): { services: Deployable[]; simulator: boolean } {
  const domain = domainServices.filter((name) => exists(`services/${name}`));
  const services: Deployable[] = domain.map((name) => ({
    name,
    public: false,
    env: name === 'inventory' ? { SUPPLIER_URL: 'http://supplier-sim:8090' } : ({} as Record<string, string>),
    // The key the webhooks service encrypts the endpoints' signing secrets with.
    secrets: name === 'webhooks' ? { WEBHOOK_SECRET_KEY: 'secret-key' } : ({} as Record<string, string>),
  }));
  if (exists('services/gateway'))
    services.push({
      name: 'gateway',
      public: true,
      env: { OPS_PORT: '9464', READY_SERVICES: domain.join(',') },
      secrets: {},
    });
  return { services, simulator: exists('tools/supplier-sim') };
}
