import type { Session } from '@allot/client';
import type { Cell, CellKey } from './availability';
import { el } from './dom';

/**
 * Sessions down, dates across; each cell shows the seats left and is coloured by how full the
 * date is. Clicking a cell picks it for the booking form. A cell that changes flashes briefly.
 */
export class AvailabilityGrid {
  readonly element: HTMLElement;
  private readonly cells = new Map<string, HTMLTableCellElement>();

  constructor(
    private readonly sessions: Session[],
    dates: string[],
    onPick: (key: CellKey) => void,
  ) {
    const head = el(
      'tr',
      {},
      el('th', { class: 'corner', scope: 'col' }, 'Session'),
      ...dates.map((d) => el('th', { scope: 'col' }, dayHeader(d))),
    );
    const rows = sessions.map((session) =>
      el(
        'tr',
        {},
        el(
          'th',
          { scope: 'row' },
          el('span', { class: 'session-name' }, session.name),
          el('span', { class: 'muted' }, `${session.maxCapacity} seats`),
        ),
        ...dates.map((date) => {
          const td = el('td', { class: 'cell loading', 'data-session': session.id, 'data-date': date });
          td.append(
            el(
              'button',
              { type: 'button', title: `${session.name}, ${date}: pick to book`, onclick: () => onPick({ sessionId: session.id, date }) },
              el('span', { class: 'cell-available' }, '…'),
              el('span', { class: 'cell-of' }, 'left'),
            ),
          );
          this.cells.set(`${session.id}/${date}`, td);
          return td;
        }),
      ),
    );
    this.element = el('div', { class: 'grid-scroll' }, el('table', { class: 'grid' }, el('thead', {}, head), el('tbody', {}, ...rows)));
  }

  show(cell: Cell, changed = false) {
    const td = this.cells.get(`${cell.sessionId}/${cell.date}`);
    const session = this.sessions.find((s) => s.id === cell.sessionId);
    if (!td || !session) return;
    const max = cell.maxSlots ?? session.maxCapacity;
    const left = Math.max(0, cell.availableSlots);
    const before = td.querySelector('.cell-available')!.textContent;
    td.querySelector('.cell-available')!.textContent = String(left);
    td.querySelector('.cell-of')!.textContent = left === 0 ? 'full' : `of ${max}`;
    td.className = `cell ${level(left, max)}`;
    if (changed && before !== '…' && before !== String(left)) {
      td.classList.add('flash');
      setTimeout(() => td.classList.remove('flash'), 1200);
    }
  }

  highlight(key: CellKey | undefined) {
    for (const td of this.cells.values())
      td.classList.toggle('picked', td.dataset.session === key?.sessionId && td.dataset.date === key?.date);
  }
}

function level(left: number, max: number) {
  if (left === 0) return 'full';
  const share = left / Math.max(1, max);
  if (share <= 0.2) return 'few';
  if (share <= 0.5) return 'filling';
  return 'open';
}

/** `Sun` over `22 Nov`, so fourteen dates fit beside the sessions. */
function dayHeader(date: string) {
  const day = new Date(`${date}T00:00:00Z`);
  const weekday = day.toLocaleDateString('en-GB', { weekday: 'short', timeZone: 'UTC' });
  return el(
    'span',
    { class: 'day' },
    el('span', { class: 'weekday' }, weekday),
    day.toLocaleDateString('en-GB', { day: 'numeric', month: 'short', timeZone: 'UTC' }),
  );
}
