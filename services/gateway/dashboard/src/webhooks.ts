import { type AllotClient, ApiError, must } from './api';
import { el, fill, timeAgo } from './dom';

interface Endpoint {
  id: string;
  url: string;
  description: string;
  enabled: boolean;
  disabledReason: string | null;
}

interface Delivery {
  messageId: string;
  eventType: string;
  status: string;
  attempts: { at: string; statusCode: number | null; error: string | null }[];
  nextAttemptAt: string | null;
  createdAt: string;
}

const SHOWN = 8;
/** Deliveries change without an event on the stream: read again this often while the page is open. */
const REFRESH_MS = 5000;

/**
 * The tenant's webhook endpoints (API keys only) and the recent deliveries of the one picked,
 * each with its last attempt and a Resend button. Absent when the webhooks service is not
 * deployed (its routes answer 503).
 */
export class WebhookPanel {
  readonly element = el('section', { class: 'card webhooks', hidden: true });
  private readonly endpointList = el('ul', { class: 'list' });
  private readonly deliveryList = el('ul', { class: 'list deliveries', 'aria-live': 'polite' });
  private endpoints: Endpoint[] = [];
  private picked: string | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly client: AllotClient) {
    fill(this.element, el('h2', {}, 'Webhooks'), this.endpointList, el('h3', { class: 'sub' }, 'Recent deliveries'), this.deliveryList);
  }

  /** Loads the endpoints and keeps the deliveries current until `stop`. */
  async start() {
    await this.load();
    this.timer = setInterval(() => void this.load().catch(() => {}), REFRESH_MS);
  }

  stop() {
    if (this.timer) clearInterval(this.timer);
  }

  async load() {
    try {
      this.endpoints = (await must(() => this.client.GET('/v1/webhooks/endpoints', { params: { query: { limit: 20 } } }))).items;
    } catch (error) {
      if (error instanceof ApiError && (error.status === 503 || error.status === 404)) return;
      throw error;
    }
    this.element.hidden = false;
    if (!this.endpoints.some((e) => e.id === this.picked)) this.picked = this.endpoints[0]?.id;
    this.renderEndpoints();
    await this.loadDeliveries();
  }

  private async loadDeliveries() {
    const id = this.picked;
    if (!id) {
      fill(this.deliveryList, el('li', { class: 'empty' }, 'No endpoint yet (POST /v1/webhooks/endpoints).'));
      return;
    }
    const page = await must(() =>
      this.client.GET('/v1/webhooks/endpoints/{id}/deliveries', { params: { path: { id }, query: { limit: SHOWN } } }),
    );
    if (id !== this.picked) return;
    const items = page.items as Delivery[];
    if (items.length === 0) {
      fill(this.deliveryList, el('li', { class: 'empty' }, 'Nothing sent to it yet: its events appear here as they are delivered.'));
      return;
    }
    fill(this.deliveryList, ...items.map((d) => this.deliveryRow(id, d)));
  }

  private renderEndpoints() {
    if (this.endpoints.length === 0) {
      fill(this.endpointList, el('li', { class: 'empty' }, 'No webhook endpoints.'));
      return;
    }
    fill(
      this.endpointList,
      ...this.endpoints.map((endpoint) =>
        el(
          'li',
          { class: `row endpoint${endpoint.id === this.picked ? ' picked' : ''}`, 'data-endpoint': endpoint.id },
          el(
            'button',
            {
              type: 'button',
              class: 'row-main link',
              onclick: () => {
                this.picked = endpoint.id;
                this.renderEndpoints();
                void this.loadDeliveries();
              },
            },
            el('span', { class: 'row-title' }, endpoint.description || endpoint.url),
            el('span', { class: 'muted meta' }, endpoint.url),
          ),
          el(
            'span',
            { class: `badge ${endpoint.enabled ? 'enabled' : 'disabled'}` },
            endpoint.enabled ? 'enabled' : `disabled${endpoint.disabledReason ? ` (${endpoint.disabledReason})` : ''}`,
          ),
        ),
      ),
    );
  }

  private deliveryRow(endpointId: string, delivery: Delivery) {
    const last = delivery.attempts.at(-1);
    const attempts = delivery.attempts.length === 1 ? '1 attempt' : `${delivery.attempts.length} attempts`;
    const lastText = last ? ` · last ${last.statusCode ?? last.error ?? 'no answer'} ${timeAgo(last.at)}` : '';
    const resend = async () => {
      await must(() =>
        this.client.POST('/v1/webhooks/endpoints/{id}/deliveries/{messageId}/resend', {
          params: { path: { id: endpointId, messageId: delivery.messageId } },
        }),
      ).catch((error: Error) => alert(error.message));
      await this.loadDeliveries();
    };
    return el(
      'li',
      { class: 'row delivery', 'data-message': delivery.messageId },
      el(
        'div',
        { class: 'row-main' },
        el('span', { class: 'row-title' }, delivery.eventType),
        el('span', { class: 'muted meta' }, `${attempts}${lastText}`),
      ),
      el('span', { class: `badge ${delivery.status}` }, delivery.status),
      el('button', { type: 'button', class: 'small', onclick: () => void resend() }, 'Resend'),
    );
  }
}
