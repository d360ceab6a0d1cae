import type { paths } from '@allot/client';
import { type AllotClient, ApiError, must } from './api';
import { el, fill } from './dom';
import { EarlyUpdates } from './early-updates';

type Report = paths['/v1/reports/{id}']['get']['responses'][200]['content']['application/json'];
type ReportUpdate = Pick<Report, 'id' | 'status' | 'percentage' | 'rows' | 'sizeBytes' | 'error'>;

const types = ['bookings', 'occupancy', 'orders', 'stock-movements', 'stock-valuation'] as const;
const formats = ['csv', 'ndjson', 'xlsx'] as const;

/**
 * Reports: ask for one (type, format, dates), watch it being written (`report.updated` on the
 * stream), download it once ready. The download sends the credential, so the file is fetched by
 * the page and handed to the browser as a download rather than linked.
 */
export class ReportPanel {
  readonly element = el('section', { class: 'card reports' });
  private readonly status = el('div', { class: 'report-status', 'aria-live': 'polite' });
  private readonly type = el('select', { name: 'type' }, ...types.map((t) => el('option', { value: t }, t)));
  private readonly format = el('select', { name: 'format' }, ...formats.map((f) => el('option', { value: f }, f.toUpperCase())));
  private readonly from = el('input', { type: 'date', name: 'from' });
  private readonly to = el('input', { type: 'date', name: 'to' });
  private current: Report | undefined;
  private readonly early = new EarlyUpdates<ReportUpdate>();

  constructor(private readonly client: AllotClient) {
    const form = el(
      'form',
      { class: 'report-form', onsubmit: (event: Event) => void this.ask(event) },
      el('label', {}, 'Report', this.type),
      el('label', {}, 'Format', this.format),
      el('label', {}, 'From', this.from),
      el('label', {}, 'To', this.to),
      el('button', { type: 'submit', class: 'primary' }, 'Ask for it'),
    );
    fill(this.element, el('h2', {}, 'Reports'), form, this.status);
  }

  /** A `report.updated` from the stream: the report shown moves on. */
  updated(update: ReportUpdate) {
    if (this.current && update.id === this.current.id) this.show({ ...this.current, ...update });
    else this.early.note(update);
  }

  private async ask(event: Event) {
    event.preventDefault();
    const body = {
      type: this.type.value as Report['type'],
      format: this.format.value as Report['format'],
      ...(this.from.value ? { from: this.from.value } : {}),
      ...(this.to.value ? { to: this.to.value } : {}),
    };
    try {
      // As the POST answered it, then what the stream said of it meanwhile.
      const report = await must(() => this.client.POST('/v1/reports', { body }));
      this.show({ ...report, ...this.early.take(report.id) });
    } catch (error) {
      fill(this.status, el('p', { class: 'error' }, (error as Error).message));
    }
  }

  private async download(report: Report) {
    const res = await this.client.GET('/v1/reports/{id}/download', { params: { path: { id: report.id } }, parseAs: 'blob' });
    if (!res.response.ok) {
      const problem = (res.error ?? {}) as { detail?: string; code?: string };
      return alert(new ApiError(res.response.status, problem.code ?? 'internal', problem.detail ?? res.response.statusText).message);
    }
    const name =
      /filename="?([^";]+)"?/.exec(res.response.headers.get('content-disposition') ?? '')?.[1] ?? `${report.type}.${report.format}`;
    const link = el('a', { href: URL.createObjectURL(res.data as Blob), download: name });
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  }

  private show(report: Report) {
    this.current = report;
    const label: Record<string, string> = {
      queued: 'Queued…',
      running: `Writing: ${report.percentage}% (${report.rows} rows)`,
      ready: `Ready: ${report.rows} rows, ${Math.max(1, Math.round((report.sizeBytes ?? 0) / 1024))} KiB`,
      failed: `Failed: ${report.error ?? 'unknown reason'}`,
      expired: 'Expired: ask for it again',
    };
    fill(
      this.status,
      el('p', { 'data-status': report.status }, `${report.type} (${report.format}) — ${label[report.status] ?? report.status}`),
      report.status === 'ready'
        ? el('button', { type: 'button', class: 'primary', onclick: () => void this.download(report) }, 'Download')
        : null,
    );
  }
}
