import type { Session } from '@allot/client';
import type { CellKey } from './availability';
import { el, shortDate } from './dom';

export interface BookingRequest extends CellKey {
  adults: number;
  children: number;
  hold: boolean;
}

/**
 * Book or hold seats for the picked session and date. A hold keeps the seats for a few minutes
 * and becomes a booking when confirmed (in the bookings list); otherwise it expires by itself.
 */
export class BookingForm {
  readonly element: HTMLFormElement;
  private readonly session: HTMLSelectElement;
  private readonly date: HTMLSelectElement;
  private readonly adults = el('input', { type: 'number', name: 'adults', min: 1, max: 50, value: 1, required: true });
  private readonly children = el('input', { type: 'number', name: 'children', min: 0, max: 50, value: 0, required: true });
  private readonly message = el('p', { class: 'message', role: 'status' });

  constructor(sessions: Session[], dates: string[], submit: (request: BookingRequest) => Promise<string>) {
    this.session = el('select', { name: 'session' }, ...sessions.map((s) => el('option', { value: s.id }, s.name)));
    this.date = el('select', { name: 'date' }, ...dates.map((d) => el('option', { value: d }, shortDate(d))));
    const send = (hold: boolean) => async (event: Event) => {
      event.preventDefault();
      if (!this.element.reportValidity()) return;
      this.say('Booking…');
      const request = {
        sessionId: this.session.value,
        date: this.date.value,
        adults: Number(this.adults.value),
        children: Number(this.children.value),
        hold,
      };
      try {
        this.say(await submit(request), 'ok');
      } catch (error) {
        this.say((error as Error).message, 'error');
      }
    };
    this.element = el(
      'form',
      { class: 'booking-form', onsubmit: send(false) },
      el('label', {}, 'Session', this.session),
      el('label', {}, 'Date', this.date),
      el('div', { class: 'pair' }, el('label', {}, 'Adults', this.adults), el('label', {}, 'Children', this.children)),
      el(
        'div',
        { class: 'buttons' },
        el('button', { type: 'submit', class: 'primary', name: 'book' }, 'Book'),
        el(
          'button',
          {
            type: 'button',
            name: 'hold',
            onclick: send(true),
            title: 'Keep the seats for a few minutes; confirm them from the bookings list',
          },
          'Hold',
        ),
      ),
      this.message,
    );
  }

  pick(key: CellKey) {
    this.session.value = key.sessionId;
    this.date.value = key.date;
    this.adults.focus();
  }

  get picked(): CellKey {
    return { sessionId: this.session.value, date: this.date.value };
  }

  private say(text: string, kind: 'ok' | 'error' | '' = '') {
    this.message.textContent = text;
    this.message.className = `message ${kind}`;
  }
}
