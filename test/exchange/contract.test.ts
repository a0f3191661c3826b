/**
 * One contract, run twice: against the in-process PaperExchange and against PurpleFleaClient talking HTTP to the
 * paper server. Both must answer the same questions the same way, errors included.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  fundingPayment, fundingRateBinance, isDomainError, liqPriceIsolated, nextFundingTime, roundToStep,
} from '../../src/domain/index.js';
import { ExchangeError, type Exchange, type PlaceOrderRequest } from '../../src/exchange/port.js';
import { PaperExchange } from '../../src/exchange/paper/paper-exchange.js';
import { startPaperServer } from '../../src/exchange/paper-server.js';
import { PurpleFleaClient } from '../../src/exchange/purpleflea.js';
import { closeTestRedis, deletePrefix, testPrefix, testRedis } from '../support/redis.js';

/** 2024-01-01T05:30:00Z: 2.5 h before the 08:00 stamp of the 8-hour instruments. */
const T0 = Date.UTC(2024, 0, 1, 5, 30);
const INITIAL = 100_000;

interface Controls {
  setPrice(symbol: string, price: number): Promise<void>;
  setFunding(symbol: string, rate: number | null): Promise<void>;
  tick(nowMs: number): Promise<void>;
}

interface Harness {
  exchange: Exchange;
  controls: Controls;
  close(): Promise<void>;
}

type Factory = () => Promise<Harness>;

function value<T>(r: T | { error: string }): T {
  if (isDomainError(r)) throw new Error(`domain error ${r.error}`);
  return r;
}

const redis = testRedis();
const prefixes: string[] = [];
afterAll(async () => {
  for (const p of prefixes) await deletePrefix(redis, p);
  await closeTestRedis();
});

async function openPaper(): Promise<PaperExchange> {
  const prefix = testPrefix();
  prefixes.push(prefix);
  // A frozen market (volatility 0) so every number below is exact; the walk is covered by paper-engine tests.
  return PaperExchange.open({ redis, keyPrefix: prefix, clock: () => T0, volatilityScale: 0, seed: 7 });
}

const inProcess: Factory = async () => {
  const paper = await openPaper();
  return {
    exchange: paper,
    controls: {
      setPrice: (s, p) => paper.setPrice(s, p),
      setFunding: (s, r) => paper.setFunding(s, r),
      tick: (t) => paper.tick(t),
    },
    close: () => paper.close(),
  };
};

const overHttp: Factory = async () => {
  const paper = await openPaper();
  const server = await startPaperServer({ exchange: paper, port: 0, apiKey: 'contract-key' });
  const client = new PurpleFleaClient({ baseUrl: server.url, apiKey: 'contract-key', timeoutMs: 5000, retries: 0 });
  const admin = async (path: string, body: object): Promise<void> => {
    const res = await fetch(`${server.url}/paper/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'contract-key' },
      body: JSON.stringify(body),
    });
    if (res.status !== 200) throw new Error(`admin ${path}: ${res.status} ${await res.text()}`);
  };
  return {
    exchange: client,
    controls: {
      setPrice: (symbol, price) => admin('price', { symbol, price }),
      setFunding: (symbol, rate) => admin('funding', { symbol, rate }),
      tick: (nowMs) => admin('tick', { now_ms: nowMs }),
    },
    close: async () => {
      await client.close();
      await server.close();
      await paper.close();
    },
  };
};

function order(over: Partial<PlaceOrderRequest> & { clientOrderId: string }): PlaceOrderRequest {
  return { symbol: 'BTC-PERP', side: 'buy', orderType: 'market', quantity: 0.01, leverage: 5, reduceOnly: false, ...over };
}

function exchangeContract(name: string, factory: Factory): void {
  describe(`Exchange contract: ${name}`, () => {
    let h: Harness;
    let ex: Exchange;
    beforeEach(async () => {
      h = await factory();
      ex = h.exchange;
    });
    afterEach(async () => {
      await h.close();
    });

    it('lists the three perpetuals with their limits', async () => {
      const list = await ex.instruments();
      const by = Object.fromEntries(list.map((i) => [i.symbol, i]));
      expect(Object.keys(by).sort()).toEqual(['BTC-PERP', 'ETH-PERP', 'SOL-PERP']);
      expect(by['BTC-PERP']).toMatchObject({ base: 'BTC', quote: 'USD', tickSize: 0.1, lotSize: 0.001, maxLeverage: 50, fundingIntervalHours: 8 });
      expect(by['ETH-PERP']).toMatchObject({ maxLeverage: 50, fundingIntervalHours: 8 });
      expect(by['SOL-PERP']).toMatchObject({ maxLeverage: 20, fundingIntervalHours: 1 });
      for (const i of list) expect(i.maintenanceMarginRate).toBeGreaterThan(0);
    });

    it('reports funding from the premium, the next stamp, and a pinned rate', async () => {
      const btc = await ex.funding('BTC-PERP');
      expect(btc.currentRate).toBeCloseTo(value(fundingRateBinance({ premium: 0.0001, intervalHours: 8 })), 12);
      expect(btc.nextFundingTs).toBe(value(nextFundingTime({ nowMs: T0, intervalHours: 8 })).nextMs);
      expect(btc.fundingIntervalHours).toBe(8);
      const sol = await ex.funding('SOL-PERP');
      expect(sol.nextFundingTs).toBe(Date.UTC(2024, 0, 1, 6));
      expect(sol.currentRate).toBeCloseTo(value(fundingRateBinance({ premium: 0.0001, intervalHours: 1 })), 12);
      await h.controls.setFunding('BTC-PERP', 0.0007);
      const pinned = await ex.funding('BTC-PERP');
      expect(pinned.currentRate).toBeCloseTo(0.0007, 12);
      expect(pinned.predictedRate).toBeCloseTo(0.0007, 12);
    });

    it('quotes perp and spot tickers that follow a price change', async () => {
      await h.controls.setPrice('BTC-PERP', 60_000);
      const t = await ex.ticker('BTC-PERP');
      expect(t).toMatchObject({ symbol: 'BTC-PERP', markPrice: 60_000, lastPrice: 60_000, ts: T0 });
      expect(t.indexPrice).toBeCloseTo(60_000 / 1.0001, 6);
      const spot = await ex.spotTicker('BTC-USD');
      expect(spot.symbol).toBe('BTC-USD');
      expect(spot.lastPrice).toBeCloseTo(60_000 / 1.0001, 2);
    });

    it('moves open interest with fills', async () => {
      const before = await ex.openInterest('ETH-PERP');
      expect(before.openInterestUsd).toBeCloseTo(before.openInterest * (await ex.ticker('ETH-PERP')).markPrice, 4);
      await ex.placeOrder(order({ symbol: 'ETH-PERP', quantity: 2, clientOrderId: 'oi-1' }));
      const after = await ex.openInterest('ETH-PERP');
      expect(after.openInterest).toBeCloseTo(before.openInterest + 2, 6);
    });

    it('fills a market order and opens an isolated position with the domain liquidation price', async () => {
      await h.controls.setPrice('BTC-PERP', 50_000);
      const o = await ex.placeOrder(order({ quantity: 0.02, leverage: 10, clientOrderId: 'mkt-1' }));
      const ask = value(roundToStep({ value: 50_000 * 1.00005, step: 0.1, mode: 'up' }));
      expect(o).toMatchObject({ clientOrderId: 'mkt-1', symbol: 'BTC-PERP', side: 'buy', status: 'filled', filledQuantity: 0.02 });
      expect(o.avgPrice).toBeCloseTo(ask, 6);
      const [p] = await ex.positions();
      expect(p).toMatchObject({ symbol: 'BTC-PERP', side: 'long', size: 0.02, markPrice: 50_000 });
      expect(p!.entryPrice).toBeCloseTo(ask, 6);
      expect(p!.leverage).toBeCloseTo(10, 9);
      expect(p!.margin).toBeCloseTo((0.02 * ask) / 10, 6);
      expect(p!.unrealizedPnl).toBeCloseTo(0.02 * (50_000 - ask), 6);
      expect(p!.liquidationPrice).toBeCloseTo(value(liqPriceIsolated({ side: 'long', entry: ask, leverage: 10, mmr: 0.004 }))!, 6);
    });

    it('rests a limit order and fills it when the price crosses', async () => {
      await h.controls.setPrice('BTC-PERP', 50_000);
      const o = await ex.placeOrder(order({ orderType: 'limit', price: 49_000, clientOrderId: 'lim-1' }));
      expect(o).toMatchObject({ status: 'new', filledQuantity: 0, avgPrice: null, price: 49_000 });
      expect((await ex.listOrders({ status: 'new' })).map((x) => x.clientOrderId)).toEqual(['lim-1']);
      expect(await ex.positions()).toEqual([]);
      await h.controls.setPrice('BTC-PERP', 48_900);
      await h.controls.tick(T0 + 1000);
      const [filled] = await ex.listOrders({ clientOrderId: 'lim-1' });
      expect(filled).toMatchObject({ status: 'filled', filledQuantity: 0.01, avgPrice: 49_000 });
      const [p] = await ex.positions();
      expect(p).toMatchObject({ side: 'long', size: 0.01, entryPrice: 49_000 });
    });

    it('returns the first order for a repeated client_order_id and places nothing twice', async () => {
      const first = await ex.placeOrder(order({ clientOrderId: 'dup-1' }));
      const again = await ex.placeOrder(order({ clientOrderId: 'dup-1', quantity: 0.05 }));
      expect(again.orderId).toBe(first.orderId);
      expect(again.quantity).toBe(0.01);
      const [p] = await ex.positions();
      expect(p!.size).toBe(0.01);
      expect(await ex.listOrders({ clientOrderId: 'dup-1' })).toHaveLength(1);
    });

    it('only lets reduce-only orders reduce', async () => {
      await expect(ex.placeOrder(order({ side: 'sell', reduceOnly: true, clientOrderId: 'ro-0' })))
        .rejects.toMatchObject({ kind: 'rejected', code: 'reduce_only_rejected', status: 400 });
      await ex.placeOrder(order({ quantity: 0.02, clientOrderId: 'ro-open' }));
      await expect(ex.placeOrder(order({ side: 'sell', quantity: 0.03, reduceOnly: true, clientOrderId: 'ro-big' })))
        .rejects.toMatchObject({ kind: 'rejected', code: 'reduce_only_rejected' });
      await expect(ex.placeOrder(order({ side: 'buy', reduceOnly: true, clientOrderId: 'ro-same' })))
        .rejects.toMatchObject({ code: 'reduce_only_rejected' });
      const closed = await ex.placeOrder(order({ side: 'sell', quantity: 0.01, reduceOnly: true, clientOrderId: 'ro-1' }));
      expect(closed).toMatchObject({ status: 'filled', reduceOnly: true });
      const [p] = await ex.positions();
      expect(p).toMatchObject({ side: 'long', size: 0.01 });
    });

    it('cancels a resting order once', async () => {
      const o = await ex.placeOrder(order({ orderType: 'limit', price: 10_000, clientOrderId: 'c-1' }));
      const usedWhileResting = (await ex.account()).usedMargin;
      expect(usedWhileResting).toBeGreaterThan(0);
      const c = await ex.cancelOrder(o.orderId);
      expect(c).toMatchObject({ orderId: o.orderId, status: 'canceled', clientOrderId: 'c-1' });
      expect((await ex.account()).usedMargin).toBe(0);
      await expect(ex.cancelOrder(o.orderId)).rejects.toMatchObject({ code: 'order_not_open', status: 400 });
      await expect(ex.cancelOrder('P-nope')).rejects.toMatchObject({ kind: 'http', code: 'order_not_found', status: 404 });
    });

    it('lists orders by client_order_id', async () => {
      await ex.placeOrder(order({ clientOrderId: 'list-a' }));
      await ex.placeOrder(order({ clientOrderId: 'list-b', side: 'sell' }));
      const [b] = await ex.listOrders({ clientOrderId: 'list-b' });
      expect(b).toMatchObject({ clientOrderId: 'list-b', side: 'sell', symbol: 'BTC-PERP', status: 'filled' });
      expect(await ex.listOrders({ clientOrderId: 'never-sent' })).toEqual([]);
      expect((await ex.listOrders()).map((o) => o.clientOrderId)).toEqual(['list-a', 'list-b']);
    });

    it('accounts equity, used and available margin', async () => {
      const fresh = await ex.account();
      expect(fresh).toEqual({ equity: INITIAL, availableMargin: INITIAL, usedMargin: 0, currency: 'USD' });
      await h.controls.setPrice('ETH-PERP', 3000);
      const o = await ex.placeOrder(order({ symbol: 'ETH-PERP', quantity: 1, leverage: 4, clientOrderId: 'acct-1' }));
      const px = o.avgPrice!;
      const fee = px * 0.0005;
      await h.controls.setPrice('ETH-PERP', 3100);
      const a = await ex.account();
      expect(a.usedMargin).toBeCloseTo(px / 4, 6);
      expect(a.equity).toBeCloseTo(INITIAL - fee + (3100 - px), 6);
      expect(a.availableMargin).toBeCloseTo(INITIAL - fee - px / 4, 6);
    });

    it('credits funding at the stamp into accrued funding and equity', async () => {
      await h.controls.setPrice('BTC-PERP', 40_000);
      await ex.placeOrder(order({ side: 'sell', quantity: 0.5, leverage: 2, clientOrderId: 'fund-1' }));
      await h.controls.setFunding('BTC-PERP', 0.0004);
      const { nextFundingTs } = await ex.funding('BTC-PERP');
      const before = await ex.account();
      await h.controls.tick(nextFundingTs - 1);
      expect((await ex.accruedFunding('BTC-PERP')).amount).toBe(0);
      await h.controls.tick(nextFundingTs);
      const expected = value(fundingPayment({ side: 'short', size: 0.5, price: 40_000, rate: 0.0004 }));
      expect(expected).toBeCloseTo(8, 9);
      const accrued = await ex.accruedFunding('BTC-PERP');
      expect(accrued.symbol).toBe('BTC-PERP');
      expect(accrued.amount).toBeCloseTo(expected, 9);
      expect((await ex.account()).equity).toBeCloseTo(before.equity + expected, 6);
      expect((await ex.funding('BTC-PERP')).nextFundingTs).toBe(nextFundingTs + 8 * 3_600_000);
    });

    it('places a spot hedge leg', async () => {
      const o = await ex.placeSpotOrder({ symbol: 'BTC-USD', side: 'buy', orderType: 'market', quantity: 0.01, clientOrderId: 'spot-1' });
      expect(o).toMatchObject({ symbol: 'BTC-USD', status: 'filled', filledQuantity: 0.01, clientOrderId: 'spot-1' });
      const again = await ex.placeSpotOrder({ symbol: 'BTC-USD', side: 'buy', orderType: 'market', quantity: 0.01, clientOrderId: 'spot-1' });
      expect(again.orderId).toBe(o.orderId);
      await expect(ex.placeSpotOrder({ symbol: 'BTC-USD', side: 'sell', orderType: 'market', quantity: 1, clientOrderId: 'spot-2' }))
        .rejects.toMatchObject({ kind: 'rejected', code: 'insufficient_balance' });
    });

    it('rejects an unknown symbol with a typed error', async () => {
      for (const call of [
        () => ex.ticker('DOGE-PERP'),
        () => ex.funding('DOGE-PERP'),
        () => ex.spotTicker('BTC-PERP'),
        () => ex.placeOrder(order({ symbol: 'DOGE-PERP', clientOrderId: 'unk-1' })),
      ]) {
        const e = await call().then(() => null, (err: unknown) => err);
        expect(e).toBeInstanceOf(ExchangeError);
        expect(e).toMatchObject({ kind: 'unknown_symbol', code: 'unknown_symbol', status: 400 });
      }
    });

    it('rejects leverage above the instrument maximum', async () => {
      const e = await ex.placeOrder(order({ symbol: 'SOL-PERP', quantity: 1, leverage: 21, clientOrderId: 'lev-1' }))
        .then(() => null, (err: unknown) => err);
      expect(e).toBeInstanceOf(ExchangeError);
      expect(e).toMatchObject({ kind: 'rejected', code: 'leverage_too_high', status: 400 });
      expect((e as Error).message).toContain('20');
      expect(await ex.listOrders({ clientOrderId: 'lev-1' })).toEqual([]);
      const ok = await ex.placeOrder(order({ symbol: 'SOL-PERP', quantity: 1, leverage: 20, clientOrderId: 'lev-2' }));
      expect(ok.status).toBe('filled');
    });

    it('rejects quantities off the lot size and orders beyond the margin', async () => {
      await expect(ex.placeOrder(order({ quantity: 0.0105, clientOrderId: 'lot-1' })))
        .rejects.toMatchObject({ kind: 'rejected', code: 'invalid_quantity' });
      await expect(ex.placeOrder(order({ quantity: 100, leverage: 1, clientOrderId: 'big-1' })))
        .rejects.toMatchObject({ kind: 'rejected', code: 'insufficient_margin' });
    });
  });
}

exchangeContract('in-process PaperExchange', inProcess);
exchangeContract('PurpleFleaClient over HTTP to the paper server', overHttp);
