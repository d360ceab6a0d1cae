import type { paths } from '@allot/client';
import { type AllotClient, must } from './api';
import { el, fill } from './dom';
import { EarlyUpdates } from './early-updates';

type Import = paths['/v1/imports/{id}']['get']['responses'][200]['content']['application/json'];
type Progress = Pick<Import, 'id' | 'status' | 'processedRows' | 'totalRows'>;

const types = [
  ['sessions', 'Sessions (externalId, name, maxCapacity, …)'],
  ['capacity', 'Capacity of dates (sessionExternalId, date, capacity)'],
  ['bookings', 'Bookings (externalRef, sessionExternalId, date, adults, …)'],
  ['skus', 'SKUs (sku, name, quantity, reorderLevel, unitCost)'],
] as const;
const ended = ['previewed', 'completed', 'failed'];

/**
 * Bulk imports (API keys): a file is uploaded as a dry run first, so the preview shows what it
 * would create, update and leave unchanged, and the rows it would refuse (line, column, value,
 * why); Confirm applies it without uploading again. Progress follows `import.updated` on the
 * stream; the full counts and errors are read once the import has ended.
 */
export class ImportPanel {
  readonly element = el('section', { class: 'card imports' });
  private readonly status = el('div', { class: 'import-status', 'aria-live': 'polite' });
  private readonly errors = el('div', { class: 'import-errors' });
  private readonly type = el('select', { name: 'type' }, ...types.map(([value, label]) => el('option', { value }, label)));
  private readonly file = el('input', {
    type: 'file',
    name: 'file',
    accept: '.csv,.ndjson,.jsonl,text/csv,application/x-ndjson',
    required: true,
  });
  private current: Import | undefined;
  private readonly early = new EarlyUpdates<Progress>();

  constructor(
    private readonly client: AllotClient,
    /** Without a stream (the page before any session exists), the import is read again every second until it ends. */
    private readonly poll = false,
  ) {
    const form = el(
      'form',
      { class: 'import-form', onsubmit: (event: Event) => void this.preview(event) },
      el('label', {}, 'Type', this.type),
      el('label', {}, 'File (CSV with a header row, or NDJSON)', this.file),
      el('button', { type: 'submit', class: 'primary' }, 'Preview'),
    );
    fill(this.element, el('h2', {}, 'Import'), form, this.status, this.errors);
  }

  /** An `import.updated` from the stream: the progress of the import shown, and its result once it ends. */
  updated(progress: Progress) {
    if (!this.current || progress.id !== this.current.id) return this.early.note(progress);
    this.apply(progress);
  }

  private apply(progress: Progress) {
    if (ended.includes(progress.status)) void this.load(progress.id);
    else if (this.current) this.show({ ...this.current, ...progress });
  }

  /** An import as a POST answered it (as it was accepted), then what the stream said of it meanwhile. */
  private accepted(imp: Import) {
    this.show(imp);
    const early = this.early.take(imp.id);
    if (early) this.apply(early);
  }

  private async preview(event: Event) {
    event.preventDefault();
    const file = this.file.files?.[0];
    if (!file) return;
    const form = new FormData();
    form.set('type', this.type.value);
    form.set('file', file, file.name);
    form.set('dryRun', 'true');
    await this.run(async () => {
      this.accepted(await must(() => this.client.POST('/v1/imports', { body: form as never })));
    });
  }

  private async confirm(id: string) {
    // Until the answer comes, the stream's news of this import waits for it (see `accepted`).
    this.current = undefined;
    await this.run(async () => {
      this.accepted(await must(() => this.client.POST('/v1/imports/{id}/confirm', { params: { path: { id } } })));
    });
  }

  private async load(id: string) {
    await this.run(async () => this.show(await must(() => this.client.GET('/v1/imports/{id}', { params: { path: { id } } }))));
  }

  private async run(work: () => Promise<void>) {
    try {
      await work();
    } catch (error) {
      fill(this.status, el('p', { class: 'error' }, (error as Error).message));
    }
  }

  private show(imp: Import) {
    this.current = imp;
    if (this.poll && !ended.includes(imp.status)) setTimeout(() => void this.load(imp.id), 1000);
    const of = imp.totalRows === null ? '' : ` of ${imp.totalRows}`;
    const counts = `${imp.created} to create, ${imp.updated} to update, ${imp.unchanged} unchanged, ${imp.failedRows} refused`;
    const label: Record<string, string> = {
      queued: 'Queued…',
      running: `Reading rows: ${imp.processedRows}${of}`,
      previewed: `Preview of ${imp.totalRows} rows: ${counts}.`,
      completed: `Imported ${imp.totalRows} rows: ${counts.replaceAll('to create', 'created').replaceAll('to update', 'updated')}.`,
      failed: `Failed: ${imp.reason ?? 'see the errors'}`,
    };
    fill(
      this.status,
      el('p', { class: `import-${imp.status}`, 'data-status': imp.status }, label[imp.status] ?? imp.status),
      imp.status === 'previewed'
        ? el('button', { type: 'button', class: 'primary', onclick: () => void this.confirm(imp.id) }, 'Confirm import')
        : null,
    );
    fill(
      this.errors,
      imp.errors.length === 0
        ? null
        : el(
            'table',
            { class: 'errors' },
            el('thead', {}, el('tr', {}, ...['Line', 'Column', 'Value', 'Why'].map((h) => el('th', {}, h)))),
            el(
              'tbody',
              {},
              ...imp.errors.map((e) =>
                el('tr', {}, el('td', {}, e.line), el('td', {}, e.column), el('td', {}, e.value ?? ''), el('td', {}, e.message)),
              ),
            ),
          ),
    );
  }
}
