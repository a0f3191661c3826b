/**
 * Paper fill models (scenario controls): `partial` fills a share on arrival and holds the rest, `resting` holds it
 * all, `reject` answers with a rejected order, `normal` lets held orders fill at the next market move. Checked on
 * the engine (quantities, average price, margin held, cancel reports the fill), across a restart, over the paper
 * server's REST route, and through `/paper` in chat.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { PaperEngine } from '../../src/exchange/paper/engine.js';
import { PaperExchange } from '../../src/exchange/paper/paper-exchange.js';
import { startPaperServer } from '../../src/exchange/paper-server.js';
import type { PlaceOrderRequest } from '../../src/exchange/port.js';
import { closeTestRedis, deletePrefix, testPrefix, testRedis } from '../support/redis.js';
import { makeHarness } from '../services/approvals-harness.js';

const T0 = Date.UTC(2024, 0, 1, 5, 30);

function order(over: Partial<PlaceOrderRequest> & { clientOrderId: string }): PlaceOrderRequest {
  return { symbol: 'BTC-PERP', side: 'sell', orderType: 'market', quantity: 0.1, leverage: 5, reduceOnly: false, ...over };
}

function frozen(): PaperEngine {
  const e = new PaperEngine({ volatilityScale: 0, seed: 3 }, T0);
  e.setPrice('BTC-PERP', 50_000);
  return e;
}

const redis = testRedis();
// The chat test's harness closes every test connection when it is done: each test cleans its own prefix first.
afterAll(closeTestRedis);

describe('fill models on the paper engine', () => {
  it('partial: fills the share now, keeps the rest open with its margin held, fills it after normal at the next move', () => {
    const e = frozen();
    e.setFillModel('BTC-PERP', 'partial', 0.3);
    const o = e.placeOrder(order({ clientOrderId: 'p-1', quantity: 0.153 }), T0);
    expect(o).toMatchObject({ status: 'partially_filled', filledQuantity: 0.045 });
    expect(e.positions()[0]).toMatchObject({ side: 'short', size: 0.045 });
    const held = e.account().usedMargin - e.positions()[0]!.margin;
    expect(held).toBeGreaterThan(0);
    // Still held while the model is set, whatever the market does.
    e.tick(T0 + 1000);
    e.setPrice('BTC-PERP', 50_100);
    expect(e.listOrders({ clientOrderId: 'p-1' })[0]).toMatchObject({ status: 'partially_filled', filledQuantity: 0.045 });
    e.setFillModel('BTC-PERP', 'normal');
    expect(e.listOrders({ clientOrderId: 'p-1' })[0]!.status).toBe('partially_filled');
    e.setPrice('BTC-PERP', 50_200);
    const done = e.listOrders({ clientOrderId: 'p-1' })[0]!;
    expect(done).toMatchObject({ status: 'filled', filledQuantity: 0.153 });
    // Average of 0.045 at the first bid and 0.108 at the later one, both below the mark by the half spread.
    expect(done.avgPrice!).toBeGreaterThan(50_000 * 0.999);
    expect(done.avgPrice!).toBeLessThan(50_200);
    expect(e.positions()[0]).toMatchObject({ side: 'short', size: 0.153 });
    expect(e.account().usedMargin).toBeCloseTo(e.positions()[0]!.margin, 6);
  });

  it('partial: a cancel of the open rest reports what filled and frees the held margin', () => {
    const e = frozen();
    e.setFillModel('BTC-PERP', 'partial');
    const o = e.placeOrder(order({ clientOrderId: 'p-2', quantity: 0.2 }), T0);
    expect(o).toMatchObject({ status: 'partially_filled', filledQuantity: 0.1 });
    const c = e.cancelOrder(o.orderId, T0);
    expect(c).toMatchObject({ status: 'canceled', filledQuantity: 0.1 });
    e.setFillModel('BTC-PERP', 'normal');
    e.setPrice('BTC-PERP', 49_000);
    expect(e.positions()[0]!.size).toBe(0.1);
    expect(e.account().usedMargin).toBeCloseTo(e.positions()[0]!.margin, 6);
  });

  it('resting: accepts a market order unfilled; a re-send with the same client order id returns it, not a second order', () => {
    const e = frozen();
    e.setFillModel('BTC-PERP', 'resting');
    const o = e.placeOrder(order({ clientOrderId: 'r-1' }), T0);
    expect(o).toMatchObject({ status: 'new', filledQuantity: 0 });
    expect(e.positions()).toEqual([]);
    expect(e.placeOrder(order({ clientOrderId: 'r-1' }), T0).orderId).toBe(o.orderId);
    e.setFillModel('BTC-PERP', 'normal');
    e.tick(T0 + 1000);
    expect(e.listOrders({ clientOrderId: 'r-1' })[0]).toMatchObject({ status: 'filled', filledQuantity: 0.1 });
  });

  it('resting: a crossing limit waits, then fills at the touch (never worse than its limit) or rests if the market left it', () => {
    const e = frozen();
    e.setFillModel('BTC-PERP', 'resting');
    const a = e.placeOrder(order({ clientOrderId: 'r-2', orderType: 'limit', price: 49_000 }), T0);
    const b = e.placeOrder(order({ clientOrderId: 'r-3', orderType: 'limit', price: 49_900 }), T0);
    expect([a.status, b.status]).toEqual(['new', 'new']);
    e.setFillModel('BTC-PERP', 'normal');
    e.setPrice('BTC-PERP', 49_500);
    const fa = e.listOrders({ clientOrderId: 'r-2' })[0]!;
    expect(fa.status).toBe('filled');
    expect(fa.avgPrice!).toBeGreaterThanOrEqual(49_000);
    expect(fa.avgPrice!).toBeLessThan(49_500);
    expect(e.listOrders({ clientOrderId: 'r-3' })[0]!.status).toBe('new');
    e.setPrice('BTC-PERP', 49_950);
    expect(e.listOrders({ clientOrderId: 'r-3' })[0]).toMatchObject({ status: 'filled', avgPrice: 49_900 });
  });

  it('an immediate-or-cancel order keeps no rest: partial fills the share and cancels the rest, resting cancels it all', () => {
    const e = frozen();
    e.setFillModel('BTC-PERP', 'partial', 0.5);
    const a = e.placeOrder(order({ clientOrderId: 'i-1', quantity: 0.2, timeInForce: 'ioc' }), T0);
    expect(a).toMatchObject({ status: 'canceled', filledQuantity: 0.1, rejectReason: 'ioc_remainder_canceled' });
    e.setFillModel('BTC-PERP', 'resting');
    const b = e.placeOrder(order({ clientOrderId: 'i-2', quantity: 0.2, timeInForce: 'ioc' }), T0);
    expect(b).toMatchObject({ status: 'canceled', filledQuantity: 0 });
    e.setFillModel('BTC-PERP', 'normal');
    e.setPrice('BTC-PERP', 49_000);
    expect(e.positions()[0]!.size).toBe(0.1);
    expect(e.account().usedMargin).toBeCloseTo(e.positions()[0]!.margin, 6);
  });

  it('reject: answers with a rejected order listed under its client order id; other symbols and spot are unaffected', () => {
    const e = frozen();
    e.setFillModel('BTC-PERP', 'reject');
    const o = e.placeOrder(order({ clientOrderId: 'x-1' }), T0);
    expect(o).toMatchObject({ status: 'rejected', filledQuantity: 0, rejectReason: 'rejected_by_venue' });
    expect(e.listOrders({ clientOrderId: 'x-1' })[0]!.status).toBe('rejected');
    expect(e.positions()).toEqual([]);
    expect(e.placeSpotOrder({ symbol: 'BTC-USD', side: 'buy', orderType: 'market', quantity: 0.1, clientOrderId: 's-1' }, T0).status).toBe('filled');
    expect(e.placeOrder(order({ clientOrderId: 'x-2', symbol: 'ETH-PERP', quantity: 1 }), T0).status).toBe('filled');
  });

  it('applies to spot legs by the spot symbol: a partial buy holds the rest of its cost', () => {
    const e = frozen();
    e.setFillModel('BTC-USD', 'partial', 0.5);
    const usd0 = e.spotBalances().USD!;
    const o = e.placeSpotOrder({ symbol: 'BTC-USD', side: 'buy', orderType: 'market', quantity: 0.2, clientOrderId: 's-2' }, T0);
    expect(o).toMatchObject({ status: 'partially_filled', filledQuantity: 0.1 });
    expect(e.spotBalances().BTC).toBe(0.1);
    expect(e.account().availableMargin).toBeLessThan(usd0 - 0.2 * 49_000);
    e.setFillModel('BTC-USD', 'normal');
    e.tick(T0 + 1000);
    expect(e.spotBalances().BTC).toBe(0.2);
  });

  it('refuses unknown symbols, unknown models and a fraction outside (0, 1)', () => {
    const e = frozen();
    expect(() => e.setFillModel('XRP-PERP', 'partial')).toThrow(/unknown/i);
    expect(() => e.setFillModel('BTC-PERP', 'sometimes' as never)).toThrow(/fill model/);
    expect(() => e.setFillModel('BTC-PERP', 'partial', 1.5)).toThrow(/fraction/);
    expect(() => e.setFillModel('BTC-PERP', 'resting', 0.5)).toThrow(/fraction/);
  });
});

describe('fill models persist and are served', () => {
  it('survive a restart of the paper exchange, with the held order still held', async () => {
    const prefix = testPrefix();
    const a = await PaperExchange.open({ redis, keyPrefix: prefix, volatilityScale: 0, clock: () => T0 });
    await a.setPrice('BTC-PERP', 50_000);
    await a.setFillModel('BTC-PERP', 'partial', 0.5);
    await a.placeOrder(order({ clientOrderId: 'pp-1', quantity: 0.2 }));
    await a.close();
    const b = await PaperExchange.open({ redis, keyPrefix: prefix, volatilityScale: 0, clock: () => T0 + 1000 });
    expect(await b.fillModels()).toEqual({ 'BTC-PERP': { mode: 'partial', fraction: 0.5 } });
    await b.tick();
    expect((await b.listOrders({ clientOrderId: 'pp-1' }))[0]).toMatchObject({ status: 'partially_filled', filledQuantity: 0.1 });
    await b.setFillModel('BTC-PERP', 'normal');
    await b.tick(T0 + 2000);
    expect((await b.listOrders({ clientOrderId: 'pp-1' }))[0]).toMatchObject({ status: 'filled', filledQuantity: 0.2 });
    await b.close();
    await deletePrefix(redis, prefix);
  });

  it('POST /api/v1/paper/fill sets a model and refuses a bad one', async () => {
    const prefix = testPrefix();
    const ex = await PaperExchange.open({ redis, keyPrefix: prefix, volatilityScale: 0, clock: () => T0 });
    const server = await startPaperServer({ exchange: ex, port: 0 });
    try {
      const post = async (body: unknown) => {
        const r = await fetch(`${server.url}/paper/fill`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'k' }, body: JSON.stringify(body) });
        return r.status;
      };
      expect(await post({ symbol: 'BTC-PERP', mode: 'reject' })).toBe(200);
      expect(await ex.fillModels()).toEqual({ 'BTC-PERP': { mode: 'reject' } });
      expect(await post({ symbol: 'BTC-PERP', mode: 'maybe' })).toBe(400);
      expect(await post({ symbol: 'BTC-PERP', mode: 'partial', fraction: 2 })).toBe(400);
      const got = await (await fetch(`${server.url}/paper/fill`, { headers: { 'x-api-key': 'k' } })).json();
      expect(got).toEqual({ fill_models: { 'BTC-PERP': { mode: 'reject' } } });
    } finally {
      await server.close();
      await ex.close();
      await deletePrefix(redis, prefix);
    }
  });
});

describe('/paper fill verbs in chat', () => {
  it('/paper partial|resting|reject|normal set the model, are audited, and explain themselves', async () => {
    const h = await makeHarness();
    try {
      const r1 = await h.run('dana', 'paper', { action: 'partial', symbol: 'BTC-PERP', value: 0.25 });
      expect(r1.text).toMatch(/25%.*rest stays open/i);
      expect(await h.paper.fillModels()).toEqual({ 'BTC-PERP': { mode: 'partial', fraction: 0.25 } });
      const r2 = await h.run('dana', 'paper', { action: 'reject', symbol: 'BTC-USD' });
      expect(r2.text).toMatch(/rejected/i);
      const r3 = await h.run('dana', 'paper', { action: 'resting', symbol: 'ETH-PERP' });
      expect(r3.text).toMatch(/fill nothing/i);
      const bad = await h.run('dana', 'paper', { action: 'partial', symbol: 'BTC-PERP', value: 3 });
      expect(bad.text).toMatch(/between 0 and 1/);
      const r4 = await h.run('dana', 'paper', { action: 'normal', symbol: 'BTC-PERP' });
      expect(r4.text).toMatch(/next market move/i);
      expect(await h.paper.fillModels()).toEqual({ 'BTC-USD': { mode: 'reject' }, 'ETH-PERP': { mode: 'resting' } });
      const audit = await h.ctx.audit.latest(10);
      expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['paper.partial', 'paper.reject', 'paper.resting', 'paper.normal']));
      const denied = await h.run('bob', 'paper', { action: 'reject', symbol: 'BTC-PERP' });
      expect(denied.text).toMatch(/admin/i);
    } finally {
      await h.close();
    }
  });
});
