/**
 * Whatever order the venue's answers arrive in, however often each is seen, and across a restart of the observer,
 * the ledger ends the same: the same fills (quantity, price, fee, maker/taker, time) and the same totals.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Order } from '../../src/exchange/port.js';
import { Ledger } from '../../src/services/ledger/ledger.js';
import { pnlReport } from '../../src/services/ledger/report.js';
import { closeTestRedis, deletePrefix, testPrefix, testRedis } from '../support/redis.js';

const T0 = Date.parse('2026-12-01T01:00:00Z');

interface Sighting {
  order: Order;
  market: 'perp' | 'spot';
  atPlacement: boolean;
  seenAt: number;
}

const orderArb = fc.record({
  symbol: fc.constantFrom('BTC-PERP', 'ETH-PERP', 'BTC-USD'),
  side: fc.constantFrom('buy' as const, 'sell' as const),
  limit: fc.option(fc.integer({ min: 90, max: 110 }), { nil: null }),
  // Each step: quantity in lots and a price; cumulative states follow.
  steps: fc.array(fc.record({ lots: fc.integer({ min: 1, max: 50 }), price: fc.integer({ min: 9_000, max: 11_000 }) }), { minLength: 1, maxLength: 4 }),
  placedFirst: fc.boolean(),
  start: fc.integer({ min: 0, max: 3_600_000 }),
});

/** Every answer a set of orders produced: each cumulative state seen one to three times, at or after it happened. */
const scheduleArb = fc.array(orderArb, { minLength: 1, maxLength: 5 }).chain((orders) => {
  const sightings: fc.Arbitrary<Sighting[]>[] = orders.map((o, i) => {
    const states = o.steps.reduce<{ filled: number; notional: number }[]>((acc, s) => {
      const prev = acc[acc.length - 1] ?? { filled: 0, notional: 0 };
      const qty = s.lots * 0.01;
      acc.push({ filled: Math.round((prev.filled + qty) * 100) / 100, notional: prev.notional + qty * (s.price / 100) });
      return acc;
    }, []);
    const per = states.map((st, k) => fc.array(fc.integer({ min: 0, max: 600_000 }), { minLength: 1, maxLength: 3 }).map((lags) => lags.map((lag, j): Sighting => ({
      order: {
        orderId: `P${i}`, clientOrderId: `pd-o${i}`, symbol: o.symbol, side: o.side, orderType: o.limit === null ? 'market' : 'limit',
        quantity: 10, price: o.limit, status: 'partially_filled', filledQuantity: st.filled, avgPrice: st.notional / st.filled,
        reduceOnly: false, ts: T0,
      },
      market: o.symbol.endsWith('-USD') ? 'spot' : 'perp',
      atPlacement: o.placedFirst && k === 0 && j === 0,
      seenAt: T0 + o.start + k * 700_000 + lag,
    }))));
    return fc.tuple(...per).map((xs) => xs.flat());
  });
  return fc.tuple(...sightings).map((xs) => xs.flat());
});

describe('ledger observation order', () => {
  const redis = testRedis();
  afterAll(closeTestRedis);

  async function replay(list: readonly Sighting[], restartAt: number): Promise<{ fills: unknown; totals: unknown }> {
    const prefix = testPrefix();
    const store = { redis, prefix };
    let ledger = new Ledger({ store, now: () => T0 });
    try {
      for (const [i, s] of list.entries()) {
        if (i === restartAt) ledger = new Ledger({ store, now: () => T0 });
        await ledger.observe([s.order], s.market, { atPlacement: s.atPlacement, seenAt: s.seenAt });
      }
      const fills = (await ledger.fills(0)).map((f) => ({ ...f, price: round(f.price), notional: round(f.notional), fee: round(f.fee), qty: round(f.qty) }));
      const r = await pnlReport(ledger, { from: 0, to: T0 + 86_400_000 });
      const totals = Object.fromEntries(Object.entries(r.bySymbol).map(([s, t]) => [s, { realised: round(t.realised), fees: round(t.fees), fills: t.fills }]));
      return { fills, totals };
    } finally {
      await deletePrefix(redis, prefix);
    }
  }

  it('gives the same ledger for any order, duplication and restart of the same answers', async () => {
    await fc.assert(
      fc.asyncProperty(
        scheduleArb.chain((list) => fc.tuple(
          fc.constant(list),
          fc.shuffledSubarray(list, { minLength: list.length, maxLength: list.length }),
          fc.array(fc.nat({ max: list.length - 1 }), { maxLength: 6 }),
          fc.nat({ max: list.length * 2 }),
        )),
        async ([list, shuffled, dupIdx, restartAt]) => {
          const inOrder = [...list].sort((a, b) => a.seenAt - b.seenAt);
          const messy = [...shuffled, ...dupIdx.map((i) => shuffled[i]!)];
          const a = await replay(inOrder, -1);
          const b = await replay(messy, restartAt);
          expect(b).toEqual(a);
        },
      ),
      { numRuns: 150 },
    );
  });
});

function round(x: number): number {
  return Math.round(x * 1e8) / 1e8;
}
