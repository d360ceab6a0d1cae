import { describe, expect, it } from 'vitest';
import { decideBatch, type Figures, type StockChange } from '../../src/domain/stock';

let n = 0;
const newId = () => `mv_${++n}`;
const order = (orderId: string, qty: number) => ({ kind: 'order', order: { orderId, qty, userId: null, createdAt: '' } }) as const;
const start = (quantity: number, waiting: Figures['waiting'] = []): Figures => ({ quantity, waiting, seq: 1 });

describe('stock decisions', () => {
  it('stock - orders take stock in arrival order and never below zero; the rest wait', () => {
    const { figures, decisions } = decideBatch(start(5), [order('a', 3), order('b', 3), order('c', 2)], newId);
    expect(figures.quantity).toBe(0);
    expect(figures.waiting.map((w) => w.orderId)).toEqual(['b']);
    expect(decisions.map((d) => d.accepted && d.orders[0]?.status)).toEqual(['reserved', 'pending', 'reserved']);
  });

  it('stock - a restock serves waiting orders oldest first, before a later order', () => {
    const waiting = [
      { orderId: 'a', qty: 2, userId: null, createdAt: '' },
      { orderId: 'b', qty: 4, userId: null, createdAt: '' },
      { orderId: 'c', qty: 1, userId: null, createdAt: '' },
    ];
    const changes: StockChange[] = [{ kind: 'restock', quantity: 5, reason: null }, order('d', 1)];
    const { figures, decisions } = decideBatch(start(0, waiting), changes, newId);
    const served = decisions[0]?.accepted ? decisions[0].orders.map((o) => o.orderId) : [];
    expect(served).toEqual(['a']); // b does not fit, and c may not pass it
    expect(figures.waiting.map((w) => w.orderId)).toEqual(['b', 'c']);
    expect(figures.quantity).toBe(2);
    expect(decisions[1]?.accepted && decisions[1].orders[0]?.status).toBe('reserved');
  });

  it('stock - every movement keeps the balance: start + Σ quantity = quantity after', () => {
    const changes: StockChange[] = [
      order('a', 4),
      { kind: 'adjust', delta: -3, reason: 'count' },
      { kind: 'settle', orderId: 'a', to: 'reserved' },
    ];
    const { figures, decisions } = decideBatch(start(3), changes, newId);
    const movements = decisions.flatMap((d) => (d.accepted ? d.movements : []));
    expect(3 + movements.reduce((sum, m) => sum + m.quantity, 0)).toBe(figures.quantity);
    expect(movements.map((m) => m.balanceAfter).every((b) => b >= 0)).toBe(true);
    expect(movements.filter((m) => m.type === 'reserve' && m.orderId === 'a')).toHaveLength(1);
  });

  it('stock - an adjustment below zero and a settle of an order no longer waiting are refused', () => {
    const { decisions } = decideBatch(
      start(2),
      [
        { kind: 'adjust', delta: -3, reason: 'x' },
        { kind: 'settle', orderId: 'z', to: 'failed' },
      ],
      newId,
    );
    expect(decisions).toEqual([
      { accepted: false, reason: 'below_zero' },
      { accepted: false, reason: 'not_waiting' },
    ]);
  });
});
