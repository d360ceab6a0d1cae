import { type Booking, type Notification, type Session, type StreamStatus, streamEvents } from '@allot/client';
import { type AllotClient, ApiError, clientFor, must } from './api';
import { type Cell, type CellKey, cellChange, gridChannels, loadCell, loadCells, nextDates } from './availability';
import { BookingForm, type BookingRequest } from './booking-form';
import { RecentBookings } from './bookings';
import { forget, recognise, remember, remembered, type SignedIn } from './credential';
import { el, fill } from './dom';
import { AvailabilityGrid } from './grid';
import { ImportPanel } from './imports';
import { Inbox } from './notifications';
import { type OrderRow, RecentOrders } from './orders';
import { ReportPanel } from './reports';
import { signInView } from './sign-in';
import { WebhookPanel } from './webhooks';

const root = document.getElementById('app')!;

function start(message?: string) {
  const signedIn = remembered();
  if (signedIn) void showDashboard(signedIn);
  else fill(root, signInView(signIn, message));
}

/** Checks the credential with one cheap call before keeping it for this tab. */
async function signIn(secret: string): Promise<string | undefined> {
  const signedIn = recognise(secret);
  if (typeof signedIn === 'string') return signedIn;
  try {
    await must(() => clientFor(signedIn.secret).GET('/v1/sessions', { params: { query: { limit: 1 } } }));
  } catch (error) {
    return `The gateway refused it: ${(error as Error).message}`;
  }
  remember(signedIn);
  void showDashboard(signedIn);
  return undefined;
}

async function showDashboard(who: SignedIn) {
  const client = clientFor(who.secret);
  const live = el('span', { class: 'live connecting', id: 'live' }, 'Connecting…');
  const signOut = () => {
    stream?.close();
    webhooks?.stop();
    forget();
    start();
  };
  const gridCard = el('section', { class: 'card grid-card' }, el('p', { class: 'muted' }, 'Loading sessions…'));
  const gridColumn = el('div', { class: 'column' }, gridCard);
  const side = el('div', { class: 'column' });
  fill(
    root,
    el(
      'header',
      { class: 'top' },
      el('div', { class: 'brand' }, el('span', { class: 'logo' }, 'A'), 'Allot'),
      el(
        'div',
        { class: 'who' },
        live,
        el('span', { class: 'muted' }, `Signed in with ${who.label}`),
        el('button', { type: 'button', class: 'small', onclick: signOut }, 'Sign out'),
      ),
    ),
    el(
      'p',
      { class: 'intro' },
      'Each cell is the number of seats left in a session on a date. Pick one, then book it (confirmed at once) or hold it (kept a few minutes until you confirm). ',
      who.kind === 'apiKey'
        ? 'You see the whole tenant: every booking and the admins’ notifications.'
        : 'You see your own bookings and notifications.',
      ' Everything updates live; if the connection drops, the page catches up on what it missed.',
    ),
    el('main', { class: 'layout' }, gridColumn, side),
  );

  let stream: ReturnType<typeof streamEvents> | undefined;
  let webhooks: WebhookPanel | undefined;
  let imports: ImportPanel | undefined;
  let reports: ReportPanel | undefined;
  let sessions: Session[];
  try {
    sessions = (await must(() => client.GET('/v1/sessions', { params: { query: { active: true, limit: 200 } } }))).items;
  } catch (error) {
    forget();
    start(`Could not load sessions: ${(error as Error).message}`);
    return;
  }
  if (sessions.length === 0) {
    fill(gridCard, ...noSessions(client, who));
    if (who.kind === 'apiKey') side.append(new ImportPanel(client, true).element);
    return;
  }

  const dates = nextDates();
  const byId = new Map(sessions.map((s) => [s.id, s]));
  const grid = new AvailabilityGrid(sessions, dates, (key) => {
    form.pick(key);
    grid.highlight(key);
  });
  // Until the first load says otherwise, the figures come from the availability read model and
  // change by `availability.updated`; without it, a cell is read again when a booking of it changes.
  let source: 'availability' | 'capacity' = 'availability';
  const readCell = cellRefresher(client, byId, (cell) => grid.show(cell, true));
  const refreshCell = (key: CellKey) => source === 'capacity' && readCell(key);
  const cells = liveCells((cell, changed) => grid.show(cell, changed));
  const orders = new RecentOrders();
  const bookings = new RecentBookings(byId, {
    confirm: (b) => void act(() => client.POST('/v1/bookings/{id}/confirm', { params: { path: { id: b.id } } })),
    cancel: (b) => void act(() => client.POST('/v1/bookings/{id}/cancel', { params: { path: { id: b.id } } })),
  });
  const inbox = new Inbox({
    read: (n) => void must(() => client.POST('/v1/notifications/{id}/read', { params: { path: { id: n.id } } })).then(loadInbox),
    readAll: () => void must(() => client.POST('/v1/notifications/read-all')).then(loadInbox),
  });
  const form = new BookingForm(sessions, dates, async (request: BookingRequest) => {
    const booking = await must(() =>
      client.POST('/v1/bookings', {
        body: { sessionId: request.sessionId, date: request.date, adults: request.adults, children: request.children, hold: request.hold },
        // A retried click never books twice.
        params: { header: { 'idempotency-key': crypto.randomUUID() } },
      }),
    );
    changed(booking);
    return booking.status === 'held' ? 'Held. Confirm it in Recent bookings before the hold ends.' : `Booked ${booking.slots} seat(s).`;
  });
  const changed = (booking: Booking) => {
    bookings.upsert(booking);
    refreshCell(booking);
  };
  const act = async (call: () => Promise<{ data?: Booking; error?: unknown; response: Response }>) => {
    try {
      changed(await must(call));
    } catch (error) {
      alert((error as Error).message);
    }
  };
  const loadInbox = async () => {
    const page = await must(() => client.GET('/v1/notifications', { params: { query: { limit: 20 } } }));
    inbox.set(page.items, page.unreadCount);
  };

  fill(
    gridCard,
    el(
      'div',
      { class: 'card-head' },
      el('h2', {}, 'Availability'),
      el(
        'span',
        { class: 'legend' },
        legend('open', 'plenty'),
        legend('filling', 'filling'),
        legend('few', 'few left'),
        legend('full', 'full'),
      ),
    ),
    grid.element,
  );
  gridColumn.append(el('section', { class: 'card' }, el('h2', {}, 'Recent bookings'), bookings.element));
  fill(
    side,
    el('section', { class: 'card' }, el('h2', {}, 'Book or hold'), form.element),
    el(
      'section',
      { class: 'card' },
      el('div', { class: 'card-head' }, el('h2', {}, 'Notifications ', inbox.badge), inbox.markAll),
      inbox.element,
    ),
    el('section', { class: 'card' }, el('h2', {}, 'Recent orders'), orders.element),
  );
  // An API key's bulk imports, with their progress from the stream.
  imports = who.kind === 'apiKey' ? new ImportPanel(client) : undefined;
  if (imports) side.append(imports.element);
  // Reports of the tenant's data (API keys; the page's user-token view keeps to bookings and the grid).
  reports = who.kind === 'apiKey' ? new ReportPanel(client) : undefined;
  if (reports) side.append(reports.element);
  // An API key's endpoints and their deliveries (a user token has no webhooks).
  webhooks = who.kind === 'apiKey' ? new WebhookPanel(client) : undefined;
  if (webhooks) {
    side.append(webhooks.element);
    void webhooks.start().catch((error) => showStatus(live, 'closed', error));
  }
  grid.highlight(form.picked);

  const loadAll = () => {
    cells.loading();
    orders.loading();
    return Promise.all([
      loadCells(client, sessions, dates, cells.loaded).then((from) => {
        source = from;
      }),
      loadRecentBookings(client).then((list) => bookings.set(list)),
      loadRecentOrders(client).then((list) => orders.set(list)),
      loadInbox(),
    ]).catch((error) => showStatus(live, 'closed', error));
  };

  // Live first, then the initial load: a change made while loading is not missed.
  stream = streamEvents({
    baseUrl: location.origin,
    credential: who.secret,
    channels: [...gridChannels(who.kind), ...(who.kind === 'apiKey' ? ['orders', 'alerts', 'imports', 'reports'] : [])],
    onStatus: (status, error) => showStatus(live, status, error),
    onResync: () => void loadAll(),
    onEvent: (event) => {
      const change = cellChange(event);
      if (change && 'cell' in change) cells.updated(change.cell, change.version);
      if (change && 'stale' in change) refreshCell(change.stale);
      if (event.event.startsWith('booking.')) bookings.upsert(event.data as Booking);
      if (event.event === 'queue.promoted') bookings.upsert((event.data as { booking: Booking }).booking);
      if (event.event === 'notification.created') inbox.arrived(event.data as Notification);
      if (event.event === 'order.updated') orders.updated(event.data as OrderRow);
      if (event.event === 'import.updated') imports?.updated(event.data as Parameters<ImportPanel['updated']>[0]);
      if (event.event === 'report.updated') reports?.updated(event.data as Parameters<ReportPanel['updated']>[0]);
    },
  });
  await loadAll();
}

/**
 * Reads a cell again after a change; when several changes of one cell overlap, only the answer
 * to the latest read is shown, so an older figure never overwrites a newer one.
 */
function cellRefresher(client: AllotClient, sessions: Map<string, Session>, show: (cell: Awaited<ReturnType<typeof loadCell>>) => void) {
  const latest = new Map<string, number>();
  let counter = 0;
  return (key: CellKey) => {
    const session = sessions.get(key.sessionId);
    if (!session) return;
    const name = `${key.sessionId}/${key.date}`;
    const mine = ++counter;
    latest.set(name, mine);
    void loadCell(client, session, key.date).then((cell) => {
      if (latest.get(name) === mine) show(cell);
    });
  };
}

/**
 * The grid's figures as they arrive: an `availability.updated` is shown unless an event of a later
 * version of that cell was shown already (a resumed stream may replay one), and the figures of a
 * (re)load fill only the cells no event changed while it ran — the load may have been read
 * before that event.
 */
function liveCells(show: (cell: Cell, changed: boolean) => void) {
  const versions = new Map<string, number>();
  let changedWhileLoading = new Set<string>();
  const name = (cell: CellKey) => `${cell.sessionId}/${cell.date}`;
  return {
    loading() {
      changedWhileLoading = new Set();
    },
    loaded: (cell: Cell) => {
      if (!changedWhileLoading.has(name(cell))) show(cell, true);
    },
    updated(cell: Cell, version: number | undefined) {
      const key = name(cell);
      const shown = versions.get(key);
      if (version !== undefined && shown !== undefined && version < shown) return;
      if (version !== undefined) versions.set(key, version);
      changedWhileLoading.add(key);
      show(cell, true);
    },
  };
}

/** The newest orders (the list is newest first); none when the inventory service is not deployed. */
async function loadRecentOrders(client: AllotClient): Promise<OrderRow[]> {
  try {
    return (await must(() => client.GET('/v1/orders', { params: { query: { limit: 20 } } }))).items;
  } catch (error) {
    if (error instanceof ApiError && error.status === 503) return [];
    throw error;
  }
}

/** The bookings list is oldest first: walk a few pages and keep the newest. */
async function loadRecentBookings(client: AllotClient): Promise<Booking[]> {
  const all: Booking[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 5; page++) {
    const result = await must(() => client.GET('/v1/bookings', { params: { query: { limit: 200, ...(cursor ? { cursor } : {}) } } }));
    all.push(...result.items);
    if (!result.nextCursor) break;
    cursor = result.nextCursor;
  }
  return all.slice(-50);
}

function noSessions(client: AllotClient, who: SignedIn) {
  if (who.kind === 'user') return [el('h2', {}, 'Availability'), el('p', { class: 'muted' }, 'This tenant has no active sessions yet.')];
  const name = el('input', { name: 'name', value: 'Morning tour 09:00', required: true });
  const capacity = el('input', { type: 'number', name: 'capacity', min: 1, value: 20, required: true });
  const create = async (event: Event) => {
    event.preventDefault();
    await must(() => client.POST('/v1/sessions', { body: { name: name.value, maxCapacity: Number(capacity.value) } }));
    void showDashboard(who);
  };
  return [
    el('h2', {}, 'Availability'),
    el('p', {}, 'No sessions yet. A session is something bookable that runs every date, with a number of seats. Create one to start:'),
    el(
      'form',
      { class: 'inline-form', onsubmit: create },
      el('label', {}, 'Name', name),
      el('label', {}, 'Seats', capacity),
      el('button', { type: 'submit', class: 'primary' }, 'Create session'),
    ),
  ];
}

const legend = (level: string, text: string) => el('span', { class: `legend-item ${level}` }, text);

function showStatus(live: HTMLElement, status: StreamStatus, error?: Error) {
  const text: Record<StreamStatus, string> = { connecting: 'Connecting…', open: 'Live', reconnecting: 'Reconnecting…', closed: 'Offline' };
  live.textContent = text[status];
  live.className = `live ${status}`;
  live.title = error?.message ?? (status === 'open' ? 'Receiving changes as they happen' : '');
}

start();
