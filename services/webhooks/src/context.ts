import { type Clock, every, type Logger, type PeriodicTask, type Service } from '@allot/kit';
import type { WebhooksConfig } from './config';
import { Dispatcher } from './dispatcher';
import { FairSlots } from './domain/fair-slots';
import { EndpointCache } from './endpoint-cache';
import { checkUrl, WebhookPoster } from './http-post';
import { recoverDeliveries } from './job-kinds';
import { SecretBox } from './secret-box';
import { webhookHeaders } from './signing';
import { DeliveryStore } from './store/deliveries';
import { type EndpointDoc, EndpointStore, toEndpoint } from './store/endpoints';

export type WebhooksService = Service<WebhooksConfig, 'webhooks'>;

/** What the webhooks handlers, consumers, jobs and background work use. */
export interface Webhooks {
  config: WebhooksConfig;
  clock: Clock;
  log: Logger;
  requestIds: WebhooksService['requestIds'];
  endpoints: EndpointStore;
  cache: EndpointCache;
  deliveries: DeliveryStore;
  box: SecretBox;
  /** Why a URL may not be stored, or undefined. */
  checkUrl(url: string): Promise<string | undefined>;
  dispatcher: Dispatcher;
  /** Schedules a recovery job (due now). */
  scheduleRecovery(tenantId: string, id: string, payload: { endpointId: string; since: string }): Promise<void>;
  /** The periodic upkeep: the cache's expired entries, old finished deliveries. */
  upkeep: PeriodicTask[];
}

/** Finished deliveries are kept this long for the deliveries list, then purged. */
const KEEP_DELIVERIES_MS = 30 * 86_400_000;

/** The composition root: stores on the service's database, the poster and the dispatcher that uses them. */
export function webhooksContext(service: WebhooksService): Webhooks {
  const { config, clock, log } = service;
  const rules = { allowPrivate: config.WEBHOOK_ALLOW_PRIVATE };
  const endpoints = new EndpointStore(service.outboxCollection<EndpointDoc>('endpoints'));
  const cache = new EndpointCache(endpoints, clock);
  const deliveries = new DeliveryStore(service.db);
  const box = new SecretBox(config.WEBHOOK_SECRET_KEY);
  const poster = new WebhookPoster(rules, config.WEBHOOK_TIMEOUT_MS);
  const disable = async (endpoint: EndpointDoc, reason: 'gone' | 'failing') => {
    const at = clock.now().toISOString();
    const disabled = await endpoints.disable(endpoint._id, reason, at, (doc) =>
      service.event(doc.tenantId, 'endpoint.disabled', { endpoint: toEndpoint(doc) }),
    );
    cache.forget(endpoint);
    if (disabled) log.warn({ endpointId: endpoint._id, tenantId: endpoint.tenantId, reason }, 'webhook endpoint disabled');
  };
  const dispatcher = new Dispatcher({
    clock,
    log,
    deliveries,
    endpoint: (id) => cache.get(id),
    headers: (endpoint, messageId, at, body) => webhookHeaders(box, endpoint, messageId, at, body),
    post: (url, headers, body, signal) => poster.post(url, headers, body, signal),
    health: {
      healthy: async (endpoint) => {
        await endpoints.markHealthy(endpoint._id);
        endpoint.failingSince = null;
      },
      failing: async (endpoint, at) => {
        await endpoints.markFailing(endpoint._id, at);
        endpoint.failingSince = at;
      },
      disable,
    },
    close: () => poster.close(),
    slots: new FairSlots(config.WEBHOOK_CONCURRENCY, config.WEBHOOK_TENANT_CONCURRENCY),
    settings: {
      endpointConcurrency: config.WEBHOOK_ENDPOINT_CONCURRENCY,
      timeoutMs: config.WEBHOOK_TIMEOUT_MS,
      schedule: config.WEBHOOK_RETRY_SCHEDULE,
      disableAfterMs: config.WEBHOOK_DISABLE_AFTER_SECONDS * 1000,
      pollMs: config.WEBHOOK_POLL_MS,
    },
  });
  return {
    config,
    clock,
    log,
    requestIds: service.requestIds,
    endpoints,
    cache,
    deliveries,
    box,
    checkUrl: (url) => checkUrl(url, rules),
    dispatcher,
    scheduleRecovery: (tenantId, id, payload) => service.jobs.schedule(recoverDeliveries, { id, tenantId, dueAt: clock.now(), payload }),
    upkeep: [
      every(10_000, 'endpoint-cache-sweep', async () => cache.sweep()),
      every(3_600_000, 'deliveries-purge', () => deliveries.purge(new Date(clock.now().getTime() - KEEP_DELIVERIES_MS))),
    ],
  };
}
