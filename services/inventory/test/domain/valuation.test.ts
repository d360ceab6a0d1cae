import { describe, expect, it } from 'vitest';
import { FifoValuation, valueFifo } from '../../src/domain/valuation';

describe('FIFO stock valuation', () => {
  it('valuation - units leave the oldest layer first; what is left is valued at its own layers', () => {
    expect(
      valueFifo([
        { type: 'initial', quantity: 0 },
        { type: 'restock', quantity: 10, unitCost: 2 },
        { type: 'restock', quantity: 10, unitCost: 3.5 },
        { type: 'reserve', quantity: -12 },
      ]),
    ).toEqual({ quantity: 8, unitCostFifo: 3.5, value: 28 });
    expect(
      valueFifo([
        { type: 'restock', quantity: 4, unitCost: 1 },
        { type: 'restock', quantity: 6, unitCost: 2 },
        { type: 'reserve', quantity: -3 },
      ]),
    ).toEqual({ quantity: 7, unitCostFifo: 1.8571, value: 13 });
  });

  it('valuation - an initial stock with its cost is the first layer; sales across layers take from both', () => {
    expect(
      valueFifo([
        { type: 'initial', quantity: 5, unitCost: 10 },
        { type: 'restock', quantity: 5, unitCost: 20 },
        { type: 'reserve', quantity: -7 },
        { type: 'restock', quantity: 2, unitCost: 30 },
      ]),
    ).toEqual({ quantity: 5, unitCostFifo: 24, value: 120 });
  });

  it('valuation - returned and found units take the latest known cost; units of unknown cost leave the value empty', () => {
    expect(
      valueFifo([
        { type: 'restock', quantity: 5, unitCost: 2 },
        { type: 'reserve', quantity: -5 },
        { type: 'restock', quantity: 5, unitCost: 4 },
        { type: 'release', quantity: 5 },
      ]),
    ).toEqual({ quantity: 10, unitCostFifo: 4, value: 40 });
    // Stock from before any cost was given: no value rather than a wrong one.
    expect(
      valueFifo([
        { type: 'initial', quantity: 3 },
        { type: 'restock', quantity: 2, unitCost: 5 },
      ]),
    ).toEqual({
      quantity: 5,
      unitCostFifo: null,
      value: null,
    });
    // Once the uncosted units have left (oldest first), the rest has a value again.
    expect(
      valueFifo([
        { type: 'initial', quantity: 3 },
        { type: 'restock', quantity: 2, unitCost: 5 },
        { type: 'reserve', quantity: -3 },
      ]),
    ).toEqual({ quantity: 2, unitCostFifo: 5, value: 10 });
  });

  it('valuation - no stock is worth 0 with no unit cost; the fold can be fed one movement at a time', () => {
    expect(valueFifo([])).toEqual({ quantity: 0, unitCostFifo: null, value: 0 });
    const fold = new FifoValuation();
    fold.add({ type: 'restock', quantity: 2, unitCost: 1.25 });
    fold.add({ type: 'adjust', quantity: -2 });
    expect(fold.result()).toEqual({ quantity: 0, unitCostFifo: null, value: 0 });
    fold.add({ type: 'adjust', quantity: 1 });
    expect(fold.result()).toEqual({ quantity: 1, unitCostFifo: 1.25, value: 1.25 });
  });
});
