/**
 * The paper exchange's market mechanics, checked against the domain formulas: liquidation exactly where
 * liqPriceIsolated puts it, funding exactly fundingPayment at the stamp, cascades, the seeded walk, replay,
 * and state that survives a restart on the same Redis prefix.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { fundingPayment, fundingRateBinance, isDomainError, liqPriceIsolated } from '../../src/domain/index.js';
import { PaperEngine } from '../../src/exchange/paper/engine.js';
import { PaperExchange, PaperStateError } from '../../src/exchange/paper/paper-exchange.js';
import type { PlaceOrderRequest } from '../../src/exchange/port.js';
import { closeTestRedis, deletePrefix, testPrefix, testRedis } from '../support/redis.js';

const T0 = Date.UTC(2024, 0, 1, 5, 30);
const HOUR = 3_600_000;

function value<T>(r: T | { error: string }): T {
  if (isDomainError(r)) throw new Error(`domain error ${r.error}`);
  return r;
}

function order(over: Partial<PlaceOrderRequest> & { clientOrderId: string }): PlaceOrderRequest {
  return { symbol: 'BTC-PERP', side: 'buy', orderType: 'market', quantity: 0.1, leverage: 10, reduceOnly: false, ...over };
}

function frozen(): PaperEngine {
  return new PaperEngine({ volatilityScale: 0, seed: 3 }, T0);
}

const redis = testRedis();
const prefixes: string[] = [];
afterAll(async () => {
  for (const p of prefixes) await deletePrefix(redis, p);
  await closeTestRedis();
});

describe('liquidation', () => {
  it('liquidates a long when the mark crosses liqPriceIsolated, not before', () => {
    const e = frozen();
    e.setPrice('BTC-PERP', 50_000);
    const oiBefore = e.openInterest('BTC-PERP').openInterest;
    const o = e.placeOrder(order({ clientOrderId: 'l-1' }), T0);
    const liq = value(liqPriceIsolated({ side: 'long', entry: o.avgPrice!, leverage: 10, mmr: 0.004 }))!;
    const [p] = e.positions();
    expect(p!.liquidationPrice).toBeCloseTo(liq, 8);
    const walletBefore = e.spotBalances().USD!;
    e.setPrice('BTC-PERP', liq * 1.0001);
    expect(e.positions()).toHaveLength(1);
    e.setPrice('BTC-PERP', liq * 0.9999);
    expect(e.positions()).toEqual([]);
    const [rec] = e.liquidations();
    expect(rec).toMatchObject({ symbol: 'BTC-PERP', side: 'long', size: 0.1 });
    expect(rec!.liqPrice).toBeCloseTo(liq, 8);
    expect(rec!.marginLost).toBeCloseTo(p!.margin, 8);
    // The whole isolated margin is lost from the wallet, and nothing more.
    expect(e.spotBalances().USD).toBeCloseTo(walletBefore - p!.margin, 6);
    expect(e.account().equity).toBeCloseTo(walletBefore - p!.margin, 6);
    expect(e.account().usedMargin).toBe(0);
    expect(e.openInterest('BTC-PERP').openInterest).toBeCloseTo(oiBefore, 6);
  });

  it('liquidates a short during a squeeze driven by a cascade over ticks', () => {
    const e = frozen();
    e.setPrice('ETH-PERP', 3000);
    const o = e.placeOrder(order({ symbol: 'ETH-PERP', side: 'sell', quantity: 1, leverage: 20, clientOrderId: 's-1' }), T0);
    const liq = value(liqPriceIsolated({ side: 'short', entry: o.avgPrice!, leverage: 20, mmr: 0.005 }))!;
    expect(e.positions()[0]!.liquidationPrice).toBeCloseTo(liq, 8);
    e.startCascade('ETH-PERP', { oiDropPct: 6, priceDropPct: -10, steps: 5 });
    let t = T0;
    let ticks = 0;
    while (e.positions().length > 0 && ticks < 5) {
      t += 1000;
      e.tick(t);
      ticks += 1;
      const mark = e.ticker('ETH-PERP').markPrice;
      // Still open means the mark has not reached the liquidation price yet.
      if (e.positions().length > 0) expect(mark).toBeLessThan(liq);
      else expect(mark).toBeGreaterThanOrEqual(liq);
    }
    expect(e.positions()).toEqual([]);
    expect(e.liquidations()[0]).toMatchObject({ side: 'short', symbol: 'ETH-PERP' });
  });
});

describe('cascade', () => {
  it('drops OI and price by the requested percentages over the requested ticks', () => {
    const e = frozen();
    e.setPrice('BTC-PERP', 60_000);
    const oi0 = e.openInterest('BTC-PERP').openInterest;
    e.startCascade('BTC-PERP', { oiDropPct: 8, priceDropPct: 4, steps: 4 });
    e.tick(T0 + 1000);
    const mid = e.openInterest('BTC-PERP').openInterest;
    expect(mid).toBeLessThan(oi0);
    expect(mid).toBeGreaterThan(oi0 * 0.92);
    for (let i = 2; i <= 6; i++) e.tick(T0 + i * 1000);
    expect(e.openInterest('BTC-PERP').openInterest).toBeCloseTo(oi0 * 0.92, 6);
    expect(e.ticker('BTC-PERP').markPrice).toBeCloseTo(60_000 * 0.96, 6);
  });

  it('refuses nonsense cascade parameters', () => {
    const e = frozen();
    expect(() => e.startCascade('BTC-PERP', { oiDropPct: 120, priceDropPct: 2, steps: 3 })).toThrow(/oi drop/);
    expect(() => e.startCascade('BTC-PERP', { oiDropPct: 5, priceDropPct: 2, steps: 0 })).toThrow(/steps/);
  });
});

describe('funding accrual', () => {
  it('credits fundingPayment at the stamp from the pinned rate and the mark', () => {
    const e = frozen();
    e.setPrice('BTC-PERP', 42_000);
    e.placeOrder(order({ quantity: 1, leverage: 5, clientOrderId: 'f-1' }), T0);
    e.setFunding('BTC-PERP', 0.0003);
    const stamp = e.funding('BTC-PERP').nextFundingTs;
    expect(stamp).toBe(Date.UTC(2024, 0, 1, 8));
    const wallet = e.spotBalances().USD!;
    e.tick(stamp - 1);
    expect(e.accruedFunding('BTC-PERP').amount).toBe(0);
    e.tick(stamp + 1);
    const expected = value(fundingPayment({ side: 'long', size: 1, price: 42_000, rate: 0.0003 }));
    expect(expected).toBeCloseTo(-12.6, 9);
    expect(e.accruedFunding('BTC-PERP').amount).toBeCloseTo(expected, 9);
    expect(e.spotBalances().USD!).toBeCloseTo(wallet + expected, 9);
    expect(e.fundingHistory().find((f) => f.symbol === 'BTC-PERP')).toMatchObject({ ts: stamp, rate: 0.0003, payment: expected });
    // The next 8 hours pass: one more payment, not one per tick.
    for (let t = stamp + HOUR; t <= stamp + 8 * HOUR; t += HOUR) e.tick(t);
    expect(e.accruedFunding('BTC-PERP').amount).toBeCloseTo(2 * expected, 9);
  });

  it('settles the hourly SOL rate computed from the premium with fundingRateBinance', () => {
    const e = frozen();
    e.placeOrder(order({ symbol: 'SOL-PERP', side: 'sell', quantity: 10, leverage: 5, clientOrderId: 'sol-1' }), T0);
    const rate = value(fundingRateBinance({ premium: 0.0001, intervalHours: 1 }));
    expect(e.funding('SOL-PERP').currentRate).toBeCloseTo(rate, 12);
    const mark = e.ticker('SOL-PERP').markPrice;
    e.tick(Date.UTC(2024, 0, 1, 7));
    const one = value(fundingPayment({ side: 'short', size: 10, price: mark, rate }));
    expect(e.accruedFunding('SOL-PERP').amount).toBeCloseTo(2 * one, 9);
  });

  it('pays nothing to a position closed a minute before the stamp', () => {
    const e = frozen();
    e.setFunding('BTC-PERP', 0.001);
    e.placeOrder(order({ quantity: 0.5, clientOrderId: 'early-open' }), T0);
    const stamp = e.funding('BTC-PERP').nextFundingTs;
    e.tick(stamp - 60_000);
    e.placeOrder(order({ side: 'sell', quantity: 0.5, reduceOnly: true, clientOrderId: 'early-close' }), stamp - 60_000);
    const wallet = e.spotBalances().USD!;
    e.tick(stamp + 1);
    expect(e.accruedFunding('BTC-PERP').amount).toBe(0);
    expect(e.spotBalances().USD).toBe(wallet);
  });

  it('settles the rate it announced, derived from the premium when nothing is pinned', () => {
    const e = new PaperEngine({ seed: 11 }, T0);
    e.tick(T0 + HOUR);
    const t = e.ticker('BTC-PERP');
    const f = e.funding('BTC-PERP');
    // The prediction is the Binance formula on the premium right now.
    expect(f.predictedRate!).toBeCloseTo(value(fundingRateBinance({ premium: (t.markPrice - t.indexPrice) / t.indexPrice, intervalHours: 8 })), 12);
    e.tick(f.nextFundingTs - 1);
    const announced = e.funding('BTC-PERP').currentRate;
    e.tick(f.nextFundingTs);
    const settled = e.fundingHistory().find((r) => r.symbol === 'BTC-PERP' && r.ts === f.nextFundingTs);
    expect(settled!.rate).toBeCloseTo(announced, 9);
    expect(e.funding('BTC-PERP').nextFundingTs).toBe(f.nextFundingTs + 8 * HOUR);
  });
});

describe('market model', () => {
  it('walks prices deterministically per seed', () => {
    const run = (seed: number): number[] => {
      const e = new PaperEngine({ seed }, T0);
      const out: number[] = [];
      for (let i = 1; i <= 20; i++) {
        e.tick(T0 + i * 60_000);
        out.push(e.ticker('BTC-PERP').markPrice, e.openInterest('SOL-PERP').openInterest);
      }
      return out;
    };
    const a = run(5);
    expect(run(5)).toEqual(a);
    expect(run(6)).not.toEqual(a);
    expect(new Set(a).size).toBeGreaterThan(20);
  });

  it('replays a close series as the index, carrying setPrice moves along', () => {
    const e = new PaperEngine({ volatilityScale: 0, replay: { 'BTC-PERP': { closes: [100, 110, 120], startMs: T0, msPerBar: HOUR } } }, T0);
    expect(e.ticker('BTC-PERP').indexPrice).toBeCloseTo(100, 9);
    e.tick(T0 + HOUR);
    expect(e.ticker('BTC-PERP').indexPrice).toBeCloseTo(110, 9);
    e.setPrice('BTC-USD', 220);
    e.tick(T0 + 2 * HOUR);
    expect(e.ticker('BTC-PERP').indexPrice).toBeCloseTo(240, 9);
  });

  it('fills a resting sell limit when the walk reaches it', () => {
    const e = new PaperEngine({ seed: 9 }, T0);
    const start = e.ticker('SOL-PERP').markPrice;
    const limit = Math.round(start * 1.002 * 1000) / 1000;
    e.placeOrder(order({ symbol: 'SOL-PERP', side: 'sell', orderType: 'limit', price: limit, quantity: 1, leverage: 2, clientOrderId: 'walk-1' }), T0);
    let t = T0;
    while (e.listOrders({ clientOrderId: 'walk-1' })[0]!.status === 'new' && t < T0 + 30 * 24 * HOUR) {
      t += 5 * 60_000;
      e.tick(t);
    }
    const [o] = e.listOrders({ clientOrderId: 'walk-1' });
    expect(o).toMatchObject({ status: 'filled', avgPrice: limit });
    expect(e.positions().find((p) => p.symbol === 'SOL-PERP')).toMatchObject({ side: 'short', size: 1, entryPrice: limit });
  });
});

describe('persistence', () => {
  it('resumes account, positions, orders, market and scenario state on the same prefix', async () => {
    const prefix = testPrefix();
    prefixes.push(prefix);
    let now = T0;
    const first = await PaperExchange.open({ redis, keyPrefix: prefix, clock: () => now, seed: 21 });
    await first.setPrice('BTC-PERP', 45_000);
    const filled = await first.placeOrder(order({ quantity: 0.2, leverage: 4, clientOrderId: 'keep-1' }));
    const resting = await first.placeOrder(order({ orderType: 'limit', price: 30_000, clientOrderId: 'keep-2' }));
    await first.setFunding('ETH-PERP', -0.0005);
    now = T0 + 10 * 60_000;
    await first.tick();
    const snapshot = {
      account: await first.account(),
      positions: await first.positions(),
      ticker: await first.ticker('BTC-PERP'),
      oi: await first.openInterest('SOL-PERP'),
    };
    await first.close();

    const second = await PaperExchange.open({ redis, keyPrefix: prefix, clock: () => now, seed: 21 });
    expect(await second.account()).toEqual(snapshot.account);
    expect(await second.positions()).toEqual(snapshot.positions);
    expect(await second.ticker('BTC-PERP')).toEqual(snapshot.ticker);
    expect(await second.openInterest('SOL-PERP')).toEqual(snapshot.oi);
    expect((await second.funding('ETH-PERP')).currentRate).toBe(-0.0005);
    const again = await second.placeOrder(order({ quantity: 0.2, leverage: 4, clientOrderId: 'keep-1' }));
    expect(again.orderId).toBe(filled.orderId);
    expect((await second.listOrders({ status: 'new' })).map((o) => o.orderId)).toEqual([resting.orderId]);
    await second.cancelOrder(resting.orderId);
    expect((await second.account()).usedMargin).toBeCloseTo(snapshot.positions[0]!.margin, 9);
    await second.close();

    const other = await PaperExchange.open({ redis, keyPrefix: testPrefix(), clock: () => now });
    expect(await other.positions()).toEqual([]);
    await other.close();
  });

  it('continues the same price path after a restart', async () => {
    const prefix = testPrefix();
    prefixes.push(prefix);
    const straight = new PaperEngine({ seed: 4 }, T0);
    for (let i = 1; i <= 6; i++) straight.tick(T0 + i * 60_000);

    const a = await PaperExchange.open({ redis, keyPrefix: prefix, clock: () => T0, seed: 4 });
    for (let i = 1; i <= 3; i++) await a.tick(T0 + i * 60_000);
    await a.close();
    const b = await PaperExchange.open({ redis, keyPrefix: prefix, clock: () => T0, seed: 4 });
    for (let i = 4; i <= 6; i++) await b.tick(T0 + i * 60_000);
    expect((await b.ticker('BTC-PERP')).markPrice).toBe(straight.ticker('BTC-PERP').markPrice);
    await b.close();
  });

  it('refuses to start from an unreadable state instead of resetting it', async () => {
    const prefix = testPrefix();
    prefixes.push(prefix);
    await redis.set(`${prefix}:paper:core`, '{"version":1,"wallet":"lots"}');
    await expect(PaperExchange.open({ redis, keyPrefix: prefix })).rejects.toBeInstanceOf(PaperStateError);
  });

  it('resets to a fresh account and survives that too', async () => {
    const prefix = testPrefix();
    prefixes.push(prefix);
    const a = await PaperExchange.open({ redis, keyPrefix: prefix, clock: () => T0, volatilityScale: 0 });
    await a.placeOrder(order({ clientOrderId: 'r-1' }));
    await a.faucet(5000);
    await a.reset();
    expect(await a.positions()).toEqual([]);
    expect((await a.account()).equity).toBe(100_000);
    await a.close();
    const b = await PaperExchange.open({ redis, keyPrefix: prefix, clock: () => T0, volatilityScale: 0 });
    expect(await b.listOrders()).toEqual([]);
    expect((await b.account()).equity).toBe(100_000);
    const fresh = await b.placeOrder(order({ clientOrderId: 'r-1' }));
    expect(fresh.status).toBe('filled');
    await b.close();
  });
});
