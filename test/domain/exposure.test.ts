/** The price an order's notional cap is measured at, and account leverage after an order (issue 12, defects 2, 3, 10). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  aboveLeverageCap, accountLeverage, exceedsRel, grossNotional, grossNotionalAfter, isDomainError, roundOrder, worstFillPrice,
} from '../../src/domain/index.js';

const A = 0.001;

describe('worstFillPrice', () => {
  it('is the touch above mark for a market order, the limit for a buy limit, the higher of limit and touch for a sell limit', () => {
    expect(worstFillPrice({ side: 'buy', orderType: 'market', price: null, mark: 100, touchAllowance: A })).toBeCloseTo(100.1, 9);
    expect(worstFillPrice({ side: 'sell', orderType: 'market', price: null, mark: 100, touchAllowance: A })).toBeCloseTo(100.1, 9);
    // A buy limit above mark crosses and takes the ask, below its limit; below mark it rests and fills at the limit.
    expect(worstFillPrice({ side: 'buy', orderType: 'limit', price: 110, mark: 100, touchAllowance: A })).toBe(110);
    expect(worstFillPrice({ side: 'buy', orderType: 'limit', price: 90, mark: 100, touchAllowance: A })).toBe(90);
    // A sell limit far below mark crosses and fills near mark: that, not its limit, is what it costs.
    expect(worstFillPrice({ side: 'sell', orderType: 'limit', price: 55, mark: 100, touchAllowance: A })).toBeCloseTo(100.1, 9);
    expect(worstFillPrice({ side: 'sell', orderType: 'limit', price: 120, mark: 100, touchAllowance: A })).toBe(120);
  });

  it('never lets an order sized at it exceed the asked notional at any price it can fill at', () => {
    const px = fc.double({ min: 1, max: 1e5, noNaN: true, noDefaultInfinity: true });
    fc.assert(
      // Limits on the tick, as the preview rounds them before it sizes.
      fc.property(px, fc.integer({ min: 1, max: 100_000 }), fc.boolean(), fc.boolean(), fc.double({ min: 10, max: 1e5, noNaN: true }), fc.constantFrom(0.001, 0.01, 0.1, 1),
        (mark, limit, buy, market, sizeUsd, lot) => {
          const side = buy ? 'buy' : 'sell';
          const worst = worstFillPrice({ side, orderType: market ? 'market' : 'limit', price: market ? null : limit, mark, touchAllowance: A });
          const r = roundOrder({ side: buy ? 'long' : 'short', qty: sizeUsd / worst, price: market ? mark : limit, lotSize: lot, tickSize: 1, maxNotional: sizeUsd, capPrice: worst });
          if (isDomainError(r)) return false;
          // Fills: a market or crossing order at the touch (≤ mark + allowance), a resting one at its limit.
          const fills = market ? [mark, mark * (1 + A)] : buy ? [Math.min(limit, mark), limit] : [Math.max(limit, mark), Math.max(limit, mark * (1 + A))];
          return fills.every((f) => !exceedsRel(r.qty * f, sizeUsd));
        }),
    );
  });
});

describe('account leverage after an order', () => {
  const positions = [
    { symbol: 'BTC-PERP', side: 'long' as const, size: 1, markPrice: 60_000 },
    { symbol: 'ETH-PERP', side: 'short' as const, size: 10, markPrice: 3_000 },
  ];

  it('is gross notional at mark over equity, the rule the risk monitor alerts on', () => {
    expect(grossNotional(positions)).toBe(90_000);
    expect(accountLeverage(90_000, 30_000)).toBe(3);
    expect(accountLeverage(0, 0)).toBe(0);
    expect(accountLeverage(1, 0)).toBe(Infinity);
    expect(aboveLeverageCap(5 * (1 + 1e-14), 5)).toBe(false);
    expect(aboveLeverageCap(5.0001, 5)).toBe(true);
  });

  it('adds an order in a new symbol or the same direction, and nets an order against a position', () => {
    expect(grossNotionalAfter(positions, { symbol: 'SOL-PERP', side: 'long', quantity: 10, price: 150 })).toBe(91_500);
    expect(grossNotionalAfter(positions, { symbol: 'BTC-PERP', side: 'long', quantity: 0.5, price: 60_000 })).toBe(120_000);
    // Shrinking the short by 4 leaves 6 ETH; flipping the long by 3 BTC leaves a 2 BTC short.
    expect(grossNotionalAfter(positions, { symbol: 'ETH-PERP', side: 'long', quantity: 4, price: 3_000 })).toBe(78_000);
    expect(grossNotionalAfter(positions, { symbol: 'BTC-PERP', side: 'short', quantity: 3, price: 60_000 })).toBe(150_000);
    // The symbol is valued at the higher of mark and the order's price, never below mark.
    expect(grossNotionalAfter(positions, { symbol: 'BTC-PERP', side: 'long', quantity: 1, price: 61_000 })).toBe(152_000);
    expect(grossNotionalAfter(positions, { symbol: 'BTC-PERP', side: 'long', quantity: 1, price: 59_000 })).toBe(150_000);
  });
});
