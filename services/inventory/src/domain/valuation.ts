/**
 * Stock valued first-in, first-out (pure): every unit that came in is a layer at its unit cost;
 * every unit that went out takes the oldest layer first. A unit that came back or was found
 * (a release, a positive adjustment, a supplier delivery without a price) is valued at the
 * latest unit cost known at that point; before any is known it has no cost, and a stock that
 * still holds such units has no FIFO value (null) rather than a wrong one.
 */
import type { MovementType } from './stock';

export interface CostedMovement {
  type: MovementType;
  /** Signed: + in, − out. */
  quantity: number;
  unitCost?: number | null;
}

export interface Valuation {
  quantity: number;
  /** The value of the stock left divided by its units (4 decimals); null without stock or with units of unknown cost. */
  unitCostFifo: number | null;
  /** The value of the stock left (4 decimals); null if some of it has no known cost. */
  value: number | null;
}

interface Layer {
  qty: number;
  cost: number | null;
}

/** Folds a SKU's movements, in ledger order, into its FIFO layers. */
export class FifoValuation {
  private readonly layers: Layer[] = [];
  private lastCost: number | null = null;
  private quantity = 0;

  add(movement: CostedMovement): void {
    this.quantity += movement.quantity;
    if (movement.quantity > 0) {
      const cost = movement.unitCost ?? this.lastCost;
      if (movement.unitCost != null) this.lastCost = movement.unitCost;
      this.layers.push({ qty: movement.quantity, cost });
      return;
    }
    let out = -movement.quantity;
    while (out > 0 && this.layers.length > 0) {
      const oldest = this.layers[0] as Layer;
      const take = Math.min(out, oldest.qty);
      oldest.qty -= take;
      out -= take;
      if (oldest.qty === 0) this.layers.shift();
    }
  }

  result(): Valuation {
    if (this.quantity <= 0) return { quantity: Math.max(0, this.quantity), unitCostFifo: null, value: this.quantity === 0 ? 0 : null };
    let value = 0;
    for (const layer of this.layers) {
      if (layer.cost === null) return { quantity: this.quantity, unitCostFifo: null, value: null };
      value += layer.qty * layer.cost;
    }
    return { quantity: this.quantity, unitCostFifo: round4(value / this.quantity), value: round4(value) };
  }
}

/** The FIFO valuation of a whole list of movements (tests, small ledgers). */
export function valueFifo(movements: Iterable<CostedMovement>): Valuation {
  const valuation = new FifoValuation();
  for (const m of movements) valuation.add(m);
  return valuation.result();
}

const round4 = (n: number) => Math.round(n * 10_000) / 10_000;
