/**
 * The ledger against the paper exchange's own books over a scripted day: market and limit orders, partial fills,
 * a resting limit filled later, a held remainder released, hedge legs on spot, a cancel after a partial fill,
 * funding settlements at several stamps (1 h and 8 h symbols), and the ledger observer restarted in the middle.
 * Fees, funding and realised PnL must match the engine's records to the cent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { PaperExchange } from '../../src/exchange/paper/paper-exchange.js';
import { OrderState } from '../../src/exchange/paper/state.js';
import type { Exchange } from '../../src/exchange/port.js';
import { Ledger } from '../../src/services/ledger/ledger.js';
import { observedExchange } from '../../src/services/ledger/observed-exchange.js';
import { recordFundingSettlements } from '../../src/services/ledger/funding-recorder.js';
import { pnlReport } from '../../src/services/ledger/report.js';
import { closeTestRedis, deletePrefix, testPrefix, testRedis } from '../support/redis.js';

const H = 3_600_000;
const DAY0 = Date.parse('2026-11-30T00:00:00Z');

describe('ledger over a scripted paper day', () => {
  let redis: Redis;
  let prefix: string;
  let paper: PaperExchange;
  let t = DAY0 + 30 * 60_000;
  const clock = () => t;
  let ledger: Ledger;
  let ex: Exchange;
  const store = () => ({ redis, prefix });

  /** A fresh observer over the same Redis: what a restarted process has. */
  const restartObserver = () => {
    ledger = new Ledger({ store: store(), now: clock });
    ex = observedExchange(paper, ledger);
  };
  const record = () => recordFundingSettlements({ store: store(), ledger, exchange: ex, now: clock });
  /** Moves the clock, samples funding just before the stamp the move crosses and just after it. */
  const advanceTo = async (to: number) => {
    while (t < to) {
      const next = Math.min(to, t + 20 * 60_000);
      t = next;
      await paper.tick(t);
      await record();
    }
  };

  beforeAll(async () => {
    redis = testRedis();
    prefix = testPrefix();
    paper = await PaperExchange.open({ redis, keyPrefix: prefix, clock, volatilityScale: 0, seed: 7 });
    await paper.tick(t);
    await paper.setPrice('BTC-PERP', 65_000);
    await paper.setPrice('ETH-PERP', 3_500);
    await paper.setPrice('SOL-PERP', 150);
    restartObserver();
    await record();
  });

  afterAll(async () => {
    await paper.close();
    await deletePrefix(redis, prefix);
    await closeTestRedis();
  });

  it('matches the engine to the cent after orders, partial fills, hedge legs, settlements and a restart', async () => {
    const walletBefore = (await paper.spotBalances()).USD!;
    // 1. A market buy (taker at arrival).
    await ex.placeOrder({ symbol: 'BTC-PERP', side: 'buy', orderType: 'market', quantity: 0.2, leverage: 3, reduceOnly: false, timeInForce: 'ioc', clientOrderId: 'pd-a1' });
    // 2. A resting limit sell above mark, filled later as maker.
    await ex.placeOrder({ symbol: 'ETH-PERP', side: 'sell', orderType: 'limit', price: 3_550, quantity: 2, leverage: 2, reduceOnly: false, clientOrderId: 'pd-a2' });
    // 3. SOL in 1 h funding: a long opened in two parts (partial fill at arrival, the rest held and released later).
    await paper.setFillModel('SOL-PERP', 'partial', 0.4);
    await ex.placeOrder({ symbol: 'SOL-PERP', side: 'buy', orderType: 'limit', price: 151, quantity: 50, leverage: 2, reduceOnly: false, clientOrderId: 'pd-a3' });
    await paper.setFunding('SOL-PERP', 0.0003);
    await advanceTo(DAY0 + 2 * H + 10 * 60_000);
    await paper.setFillModel('SOL-PERP', 'normal');
    await paper.setPrice('SOL-PERP', 150.5);
    await ex.listOrders();
    // 4. Hedge legs: short perp + long spot.
    await ex.placeOrder({ symbol: 'BTC-PERP', side: 'sell', orderType: 'market', quantity: 0.5, leverage: 2, reduceOnly: false, timeInForce: 'ioc', clientOrderId: 'hv-plan1-0' });
    await ex.placeSpotOrder({ symbol: 'BTC-USD', side: 'buy', orderType: 'market', quantity: 0.3, clientOrderId: 'hv-plan1-1' });
    await advanceTo(DAY0 + 5 * H);
    // ETH crosses the resting limit: maker fill at its limit, seen by a listing.
    await paper.setPrice('ETH-PERP', 3_560);
    await ex.listOrders({ status: 'filled' });

    // The observer restarts: its in-memory cache is gone; everything seen again must count once.
    restartObserver();
    await ex.listOrders();
    await ex.listSpotOrders();
    await ex.listOrders();

    await paper.setFunding('BTC-PERP', -0.0002);
    await advanceTo(DAY0 + 9 * H);
    // 5. A partial fill left open, then canceled: the cancel answer carries the filled part.
    await paper.setFillModel('ETH-PERP', 'partial', 0.5);
    await ex.placeOrder({ symbol: 'ETH-PERP', side: 'buy', orderType: 'limit', price: 3_600, quantity: 1, leverage: 2, reduceOnly: true, clientOrderId: 'pd-a4' });
    await paper.setFillModel('ETH-PERP', 'normal');
    const open = (await paper.listOrders({ clientOrderId: 'pd-a4' }))[0]!;
    await paper.setFillModel('ETH-PERP', 'resting');
    await ex.cancelOrder(open.orderId);
    await paper.setFillModel('ETH-PERP', 'normal');
    // 6. Reduce-only closes at new prices realise PnL.
    await paper.setPrice('SOL-PERP', 155);
    await ex.placeOrder({ symbol: 'SOL-PERP', side: 'sell', orderType: 'market', quantity: 30, leverage: 2, reduceOnly: true, timeInForce: 'ioc', clientOrderId: 'pd-a5' });
    await paper.setPrice('BTC-PERP', 66_000);
    await ex.placeOrder({ symbol: 'BTC-PERP', side: 'buy', orderType: 'market', quantity: 0.1, leverage: 3, reduceOnly: true, timeInForce: 'ioc', clientOrderId: 'pd-a6' });
    await ex.placeSpotOrder({ symbol: 'BTC-USD', side: 'sell', orderType: 'market', quantity: 0.1, clientOrderId: 'hv-plan2-1' });
    restartObserver();
    await advanceTo(DAY0 + 17 * H);
    await advanceTo(DAY0 + 23 * H + 50 * 60_000);

    // --- the engine's own account ---
    const orders = Object.values(await redis.hgetall(`${prefix}:paper:orders`)).map((raw) => OrderState.parse(JSON.parse(raw)));
    const engineFees = orders.reduce((s, o) => s + o.fee, 0);
    const history = await paper.fundingHistory();
    const engineFunding = history.reduce((s, f) => s + f.payment, 0);
    const spotCash = orders.filter((o) => o.market === 'spot').reduce((s, o) => s + (o.side === 'sell' ? 1 : -1) * o.filledQuantity * (o.avgPrice ?? 0), 0);
    const walletAfter = (await paper.spotBalances()).USD!;
    // wallet moves by perp realised PnL + funding − every fee + spot cash flow.
    const enginePerpRealised = walletAfter - walletBefore - engineFunding + engineFees - spotCash;

    // --- the ledger's ---
    const fills = await ledger.fills(0);
    const funding = await ledger.funding(0);
    const ledgerFees = fills.reduce((s, f) => s + f.fee, 0);
    const ledgerFunding = funding.reduce((s, f) => s + f.amount, 0);
    const report = await pnlReport(ledger, { from: DAY0, to: DAY0 + 24 * H });
    const perpRealised = Object.entries(report.bySymbol).filter(([s]) => s.endsWith('-PERP')).reduce((s, [, x]) => s + x.realised, 0);

    // Every order's filled quantity and notional, once.
    for (const o of orders.filter((x) => x.filledQuantity > 0)) {
      const mine = fills.filter((f) => f.clientOrderId === o.clientOrderId);
      expect(mine.reduce((s, f) => s + f.qty, 0)).toBeCloseTo(o.filledQuantity, 9);
      expect(mine.reduce((s, f) => s + f.notional, 0)).toBeCloseTo(o.filledQuantity * o.avgPrice!, 6);
      expect(mine.reduce((s, f) => s + f.fee, 0)).toBeCloseTo(o.fee, 6);
    }
    expect(orders.filter((o) => o.filledQuantity > 0)).toHaveLength(9);
    expect(fills.some((f) => f.liquidity === 'maker')).toBe(true);
    expect(fills.filter((f) => f.clientOrderId === 'pd-a3')).toHaveLength(2);
    // The day moved real money: none of these comparisons is between zeros.
    expect(engineFees).toBeGreaterThan(10);
    expect(Math.abs(engineFunding)).toBeGreaterThan(1);
    expect(Math.abs(enginePerpRealised)).toBeGreaterThan(10);
    expect(Math.abs(ledgerFees - engineFees)).toBeLessThan(0.005);
    // Several stamps settled: SOL hourly, BTC and ETH at 08:00 and 16:00.
    expect(funding.length).toBeGreaterThanOrEqual(20);
    expect(history.filter((h) => h.payment !== 0).length).toBe(funding.filter((f) => f.amount !== 0).length);
    expect(Math.abs(ledgerFunding - engineFunding)).toBeLessThan(0.005);
    expect(Math.abs(perpRealised - enginePerpRealised)).toBeLessThan(0.005);
    expect(Math.abs(report.total.fees - engineFees)).toBeLessThan(0.005);
    expect(Math.abs(report.total.funding - engineFunding)).toBeLessThan(0.005);

    // Folded a day later, the day's totals are the same numbers, and they stay put.
    const before = await ledger.eventCount();
    const closed = await ledger.foldDays(DAY0 + 48 * H + 1);
    expect(closed).toEqual(['2026-11-30']);
    const folded = await pnlReport(ledger, { from: DAY0, to: DAY0 + 24 * H });
    expect(folded.total.fees).toBeCloseTo(report.total.fees, 6);
    expect(folded.total.funding).toBeCloseTo(report.total.funding, 6);
    expect(folded.total.realised).toBeCloseTo(report.total.realised, 6);
    // Seeing the day's answers again after the fold changes nothing.
    restartObserver();
    await ex.listOrders();
    await ex.listSpotOrders();
    expect(await ledger.eventCount()).toBe(before);
    expect((await ledger.day('2026-11-30'))!.bySymbol['SOL-PERP']!.fees).toBeCloseTo(report.bySymbol['SOL-PERP']!.fees, 9);
  });
});
