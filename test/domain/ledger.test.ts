import { describe, expect, it } from 'vitest';
import {
  applyFill, FEE_SCHEDULE, fillLiquidity, FLAT, ledgerTotals, orderFills, settlementBetween, type OrderFacts,
} from '../../src/domain/index.js';

const facts = (o: Partial<OrderFacts> = {}): OrderFacts => ({
  clientOrderId: 'pd-x', symbol: 'BTC-PERP', market: 'perp', side: 'buy', orderType: 'limit', limit: 100, ref: 'approval:x', ...o,
});

describe('fillLiquidity (the venue rule)', () => {
  it('makes a fill at placement or of a market order taker, a later fill at the limit maker, a later better fill taker', () => {
    expect(fillLiquidity({ orderType: 'limit', side: 'buy', limit: 100, price: 99.5, atPlacement: true })).toBe('taker');
    expect(fillLiquidity({ orderType: 'market', side: 'sell', limit: null, price: 99.5, atPlacement: false })).toBe('taker');
    expect(fillLiquidity({ orderType: 'limit', side: 'buy', limit: 100, price: 100, atPlacement: false })).toBe('maker');
    expect(fillLiquidity({ orderType: 'limit', side: 'buy', limit: 100, price: 99.9, atPlacement: false })).toBe('taker');
    expect(fillLiquidity({ orderType: 'limit', side: 'sell', limit: 100, price: 100.1, atPlacement: false })).toBe('taker');
    expect(fillLiquidity({ orderType: 'limit', side: 'sell', limit: 100, price: 100, atPlacement: false })).toBe('maker');
  });
});

describe('orderFills', () => {
  it('prices each step by the change in avg × filled and times it by the earliest later sighting', () => {
    const fills = orderFills(facts(), [
      { filled: 1, notional: 1.5 * 100, seenAt: 50, atPlacement: false },
      { filled: 0.5, notional: 0.5 * 99, seenAt: 10, atPlacement: true },
    ]);
    expect(fills).toHaveLength(2);
    expect(fills[0]).toMatchObject({ qty: 0.5, filled: 0.5, ts: 10, liquidity: 'taker' });
    expect(fills[0]!.price).toBeCloseTo(99, 9);
    expect(fills[1]!.qty).toBeCloseTo(0.5, 12);
    expect(fills[1]!.price).toBeCloseTo(((150 - 49.5) / 0.5), 9);
    expect(fills[0]!.fee).toBeCloseTo(0.5 * 99 * FEE_SCHEDULE.perpTaker, 12);
  });

  it('dates a state by the earliest sighting of any later state (it happened before that)', () => {
    const fills = orderFills(facts(), [
      { filled: 0.5, notional: 50, seenAt: 90, atPlacement: false },
      { filled: 1, notional: 100, seenAt: 40, atPlacement: false },
    ]);
    expect(fills.map((f) => f.ts)).toEqual([40, 40]);
  });
});

describe('applyFill (average cost)', () => {
  it('realises the move on the part that closes and opens the rest at the fill price', () => {
    let b = applyFill(FLAT, 'buy', 2, 100).book;
    b = applyFill(b, 'buy', 2, 110).book;
    expect(b).toEqual({ qty: 4, avgPrice: 105 });
    const r = applyFill(b, 'sell', 6, 120);
    expect(r.realised).toBeCloseTo(4 * 15, 9);
    expect(r.book).toEqual({ qty: -2, avgPrice: 120 });
    const back = applyFill(r.book, 'buy', 2, 100);
    expect(back.realised).toBeCloseTo(40, 9);
    expect(back.book.qty).toBe(0);
  });
});

describe('ledgerTotals', () => {
  it('adds realised, fees and funding per symbol and draws the cumulative curve', () => {
    const f = orderFills(facts({ orderType: 'market', limit: null }), [{ filled: 1, notional: 100, seenAt: 1, atPlacement: true }]);
    const g = orderFills(facts({ clientOrderId: 'pd-y', side: 'sell', orderType: 'market', limit: null }), [{ filled: 1, notional: 110, seenAt: 3, atPlacement: true }]);
    const t = ledgerTotals({}, [...g, ...f], [{ symbol: 'BTC-PERP', ts: 2, amount: -0.5 }]);
    const s = t.bySymbol['BTC-PERP']!;
    expect(s.realised).toBeCloseTo(10, 9);
    expect(s.fees).toBeCloseTo(210 * 0.0005, 12);
    expect(s.funding).toBe(-0.5);
    expect(t.curve.map((c) => c.ts)).toEqual([1, 2, 3]);
    expect(t.curve[2]!.pnl).toBeCloseTo(10 - 0.5 - 210 * 0.0005, 9);
    expect(t.books['BTC-PERP']!.qty).toBe(0);
  });
});

describe('settlementBetween', () => {
  const s = (at: number, stamp: number, accrued: number, size: number) => ({ at, stamp, accrued, size });
  it('is the change in accrued funding across the stamp, from zero for a position opened or flipped in between', () => {
    expect(settlementBetween(s(90, 100, 5, 1), s(110, 200, 7.5, 1))).toEqual({ amount: 2.5 });
    expect(settlementBetween(s(90, 100, 5, 1), s(95, 100, 5, 1))).toBeNull();
    expect(settlementBetween(s(90, 100, 0, 0), s(110, 200, 1.2, -1))!.amount).toBe(1.2);
    expect(settlementBetween(s(90, 100, 3, 1), s(110, 200, -0.4, -1))!.amount).toBe(-0.4);
    expect(settlementBetween(s(90, 100, 0, 0), s(110, 200, 0, 0))).toBeNull();
    expect(settlementBetween(s(90, 100, 3, 1), s(110, 200, 0, 0))).toMatchObject({ amount: 0 });
  });
});
