/**
 * PurpleFleaClient against a scripted HTTP stand-in: every way the wire can go wrong ends in a typed
 * ExchangeError or a correct retry, an order is never placed twice, and the API key never leaks.
 */
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { ExchangeError, type PlaceOrderRequest } from '../../src/exchange/port.js';
import { PurpleFleaClient, type PurpleFleaClientOptions } from '../../src/exchange/purpleflea.js';
import { freePort } from '../../src/queues/redis-server.js';
import { orderBody, tickerBody } from '../../src/exchange/wire.js';
import { startExchangeStandIn, type ExchangeStandIn } from '../fakes/exchange-stand-in.js';

const KEY = 'pf-secret-key-8c1f2e';
const TICKER = tickerBody({ symbol: 'BTC-PERP', markPrice: 65_000, indexPrice: 64_990, lastPrice: 65_001, ts: 1_704_067_200_000 });

let standIn: ExchangeStandIn;
let clients: PurpleFleaClient[] = [];
let logged = '';
const errors: unknown[] = [];

function client(over: Partial<PurpleFleaClientOptions> = {}): PurpleFleaClient {
  const sink = new Writable({ write(chunk, _enc, done) { logged += String(chunk); done(); } });
  const c = new PurpleFleaClient({
    baseUrl: standIn.url, apiKey: KEY, timeoutMs: 300, retries: 2, backoff: { baseDelayMs: 5, maxDelayMs: 20 },
    log: createLogger('debug', sink), ...over,
  });
  clients.push(c);
  return c;
}

async function failure(p: Promise<unknown>): Promise<ExchangeError> {
  const e = await p.then(() => null, (err: unknown) => err);
  errors.push(e);
  expect(e).toBeInstanceOf(ExchangeError);
  return e as ExchangeError;
}

const REQ: PlaceOrderRequest = {
  symbol: 'BTC-PERP', side: 'buy', orderType: 'market', quantity: 0.01, leverage: 3, reduceOnly: false, clientOrderId: 'pd-abc',
};

function acceptedOrder(clientOrderId: string): Record<string, unknown> {
  return orderBody({
    orderId: 'X-1', clientOrderId, symbol: 'BTC-PERP', side: 'buy', orderType: 'market', quantity: 0.01, price: null,
    status: 'filled', filledQuantity: 0.01, avgPrice: 65_000, reduceOnly: false, ts: 1_704_067_200_000,
  });
}

beforeEach(async () => {
  standIn = await startExchangeStandIn();
});

afterEach(async () => {
  await Promise.all(clients.map((c) => c.close()));
  clients = [];
  await standIn.close();
});

describe('PurpleFleaClient reads', () => {
  it('sends X-API-Key and normalises string numbers, epoch seconds and ISO timestamps', async () => {
    standIn.on('GET /perp/ticker', () => ({
      body: { symbol: 'btc-perp', mark_price: '65000.5', index_price: 64990, last_price: '6.5e4', ts: 1_704_067_200 },
    }));
    standIn.on('GET /perp/funding', () => ({
      body: { symbol: 'BTC-PERP', current_rate: '0.0001', predicted_rate: null, next_funding_ts: '2024-01-01T08:00:00Z', funding_interval_hours: '8' },
    }));
    const c = client();
    expect(await c.ticker('BTC-PERP')).toEqual({
      symbol: 'BTC-PERP', markPrice: 65_000.5, indexPrice: 64_990, lastPrice: 65_000, ts: 1_704_067_200_000,
    });
    expect(await c.funding('BTC-PERP')).toEqual({
      symbol: 'BTC-PERP', currentRate: 0.0001, predictedRate: null, nextFundingTs: Date.UTC(2024, 0, 1, 8), fundingIntervalHours: 8,
    });
    expect(standIn.requests.every((r) => r.headers['x-api-key'] === KEY)).toBe(true);
    expect(standIn.calls('GET /perp/ticker')[0]!.query.get('symbol')).toBe('BTC-PERP');
  });

  it('retries a 500 and gives up with a typed http error', async () => {
    standIn.on('GET /perp/ticker', () => ({ status: 500, body: { error: { code: 'internal', message: 'boom' } } }));
    const e = await failure(client().ticker('BTC-PERP'));
    expect(e).toMatchObject({ kind: 'http', status: 500, code: 'internal' });
    expect(standIn.calls('GET /perp/ticker')).toHaveLength(3);
  });

  it('recovers when a 5xx clears before the retries run out', async () => {
    standIn.on('GET /perp/ticker', (_r, n) => (n < 3 ? { status: 503, raw: '<html>busy</html>' } : { body: TICKER }));
    expect((await client().ticker('BTC-PERP')).markPrice).toBe(65_000);
    expect(standIn.calls('GET /perp/ticker')).toHaveLength(3);
  });

  it('times out a hanging call as kind timeout', async () => {
    standIn.on('GET /account', () => ({ hang: true }));
    const e = await failure(client({ timeoutMs: 50, retries: 1 }).account());
    expect(e.kind).toBe('timeout');
    expect(standIn.calls('GET /account')).toHaveLength(2);
  });

  it('reports a body that is not JSON as malformed without retrying', async () => {
    standIn.on('GET /perp/positions', () => ({ raw: '{"positions": [' }));
    const e = await failure(client().positions());
    expect(e.kind).toBe('malformed');
    expect(standIn.calls('GET /perp/positions')).toHaveLength(1);
  });

  it('reports wrong field types as malformed, naming the field', async () => {
    standIn.on('GET /perp/ticker', () => ({ body: { ...TICKER, mark_price: 'sixty-five thousand' } }));
    standIn.on('GET /account', () => ({ body: { equity: 1, available_margin: true, used_margin: 0, currency: 'USD' } }));
    standIn.on('GET /perp/oi', () => ({ body: { symbol: 'BTC-PERP', open_interest: 5, open_interest_usd: 5, ts: 'yesterday' } }));
    const c = client();
    const e = await failure(c.ticker('BTC-PERP'));
    expect(e.kind).toBe('malformed');
    expect(e.message).toContain('mark_price');
    expect((await failure(c.account())).kind).toBe('malformed');
    expect((await failure(c.openInterest('BTC-PERP'))).kind).toBe('malformed');
  });

  it('waits out Retry-After on 429 and then succeeds', async () => {
    standIn.on('GET /perp/ticker', (_r, n) => (n === 1
      ? { status: 429, headers: { 'Retry-After': '1' }, body: { error: { code: 'rate_limited', message: 'slow down' } } }
      : { body: TICKER }));
    const t = await client().ticker('BTC-PERP');
    expect(t.markPrice).toBe(65_000);
    const [first, second] = standIn.calls('GET /perp/ticker');
    // Backoff alone would retry within 20 ms; the second call waited for the server's Retry-After.
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(950);
  });

  it('fails as rate_limited when Retry-After is longer than it will wait', async () => {
    standIn.on('GET /perp/ticker', () => ({ status: 429, headers: { 'Retry-After': '3600' }, body: { error: { code: 'rate_limited', message: 'later' } } }));
    const e = await failure(client().ticker('BTC-PERP'));
    expect(e).toMatchObject({ kind: 'rate_limited', status: 429 });
    expect(standIn.calls('GET /perp/ticker')).toHaveLength(1);
  });

  it('maps the error envelope of a 4xx to kind and code without retrying', async () => {
    standIn.on('GET /perp/funding', () => ({ status: 400, body: { error: { code: 'unknown_symbol', message: 'no DOGE-PERP' } } }));
    const e = await failure(client().funding('DOGE-PERP'));
    expect(e).toMatchObject({ kind: 'unknown_symbol', status: 400, code: 'unknown_symbol' });
    expect(e.message).toContain('no DOGE-PERP');
    expect(standIn.calls('GET /perp/funding')).toHaveLength(1);
  });

  it('reports connection refused as a network error', async () => {
    const port = await freePort();
    const c = new PurpleFleaClient({ baseUrl: `http://127.0.0.1:${port}/api/v1`, apiKey: KEY, retries: 1, backoff: { baseDelayMs: 1, maxDelayMs: 2 } });
    clients.push(c);
    const e = await failure(c.instruments());
    expect(e).toMatchObject({ kind: 'network', code: 'ECONNREFUSED' });
  });
});

describe('PurpleFleaClient order placement', () => {
  it('does not place an order twice when the POST times out after the exchange accepted it', async () => {
    const book = new Map<string, Record<string, unknown>>();
    standIn.on('POST /perp/orders', (r) => {
      const cid = (r.body as { client_order_id: string }).client_order_id;
      book.set(cid, acceptedOrder(cid));
      return { hang: true };
    });
    standIn.on('GET /perp/orders', (r) => {
      const o = book.get(r.query.get('client_order_id') ?? '');
      return { body: { orders: o ? [o] : [] } };
    });
    const o = await client({ timeoutMs: 300 }).placeOrder(REQ);
    expect(o).toMatchObject({ orderId: 'X-1', clientOrderId: 'pd-abc', status: 'filled', avgPrice: 65_000 });
    expect(standIn.calls('POST /perp/orders')).toHaveLength(1);
    expect(standIn.calls('GET /perp/orders')[0]!.query.get('client_order_id')).toBe('pd-abc');
  });

  it('re-sends the same client_order_id only when the exchange has no record of it', async () => {
    // The first POST is lost before the exchange books it; the second is booked (and found, should its answer
    // be slow on a busy machine).
    const book = new Map<string, Record<string, unknown>>();
    standIn.on('POST /perp/orders', (r, n) => {
      const cid = (r.body as { client_order_id: string }).client_order_id;
      if (n === 1) return { hang: true };
      book.set(cid, acceptedOrder(cid));
      return { body: acceptedOrder(cid) };
    });
    standIn.on('GET /perp/orders', (r) => {
      const o = book.get(r.query.get('client_order_id') ?? '');
      return { body: { orders: o ? [o] : [] } };
    });
    const o = await client({ timeoutMs: 300 }).placeOrder(REQ);
    expect(o.clientOrderId).toBe('pd-abc');
    const posts = standIn.calls('POST /perp/orders');
    expect(posts).toHaveLength(2);
    expect(posts.map((p) => (p.body as { client_order_id: string }).client_order_id)).toEqual(['pd-abc', 'pd-abc']);
    expect(standIn.calls('GET /perp/orders').length).toBeGreaterThanOrEqual(1);
  });

  it('returns the order found after a 503 and after a dropped connection', async () => {
    standIn.on('POST /perp/orders', (_r, n) => (n === 1 ? { status: 503, body: { error: { code: 'unavailable', message: 'later' } } } : { destroy: true }));
    standIn.on('GET /perp/orders', (r) => ({ body: { orders: [acceptedOrder(r.query.get('client_order_id')!)] } }));
    const c = client();
    expect((await c.placeOrder(REQ)).orderId).toBe('X-1');
    expect((await c.placeOrder({ ...REQ, clientOrderId: 'pd-def' })).clientOrderId).toBe('pd-def');
    expect(standIn.calls('POST /perp/orders')).toHaveLength(2);
  });

  it('fails without re-sending when the lookup cannot tell whether the order exists', async () => {
    standIn.on('POST /perp/orders', () => ({ hang: true }));
    standIn.on('GET /perp/orders', () => ({ status: 500, body: { error: { code: 'internal', message: 'db down' } } }));
    const e = await failure(client({ timeoutMs: 100 }).placeOrder(REQ));
    expect(e.kind).toBe('timeout');
    expect(e.message).toContain('state unknown');
    expect(standIn.calls('POST /perp/orders')).toHaveLength(1);
  });

  it('does not retry an order the exchange rejected', async () => {
    standIn.on('POST /perp/orders', () => ({ status: 400, body: { error: { code: 'leverage_too_high', message: 'max 50' } } }));
    const e = await failure(client().placeOrder({ ...REQ, leverage: 100 }));
    expect(e).toMatchObject({ kind: 'rejected', code: 'leverage_too_high', status: 400 });
    expect(standIn.calls('POST /perp/orders')).toHaveLength(1);
    expect(standIn.calls('GET /perp/orders')).toHaveLength(0);
  });

  it('places a spot leg with the same safety, looking it up among spot orders', async () => {
    const book = new Map<string, Record<string, unknown>>();
    standIn.on('POST /spot/orders', (r) => {
      const cid = (r.body as { client_order_id: string }).client_order_id;
      book.set(cid, { ...acceptedOrder(cid), symbol: 'BTC-USD', reduce_only: false });
      return { status: 502, raw: 'bad gateway' };
    });
    standIn.on('GET /spot/orders', (r) => ({ body: { orders: [...book.values()].filter((o) => o.client_order_id === r.query.get('client_order_id')) } }));
    const o = await client().placeSpotOrder({ symbol: 'BTC-USD', side: 'buy', orderType: 'market', quantity: 0.01, clientOrderId: 'pd-hedge' });
    expect(o).toMatchObject({ symbol: 'BTC-USD', clientOrderId: 'pd-hedge' });
    expect(standIn.calls('POST /spot/orders')).toHaveLength(1);
  });
});

describe('PurpleFleaClient secrets', () => {
  it('never puts the API key in an error or a log line, even when the exchange echoes it', async () => {
    standIn.on('GET /account', () => ({ status: 401, body: { error: { code: 'unauthorized', message: `bad key ${KEY}` } } }));
    standIn.on('GET /perp/ticker', () => ({ status: 500, raw: `oops ${KEY}` }));
    standIn.on('POST /perp/orders', () => ({ hang: true }));
    standIn.on('GET /perp/orders', () => ({ hang: true }));
    const c = client({ timeoutMs: 60, retries: 1 });
    const e = await failure(c.account());
    expect(e).toMatchObject({ kind: 'http', status: 401, code: 'unauthorized' });
    await failure(c.ticker('BTC-PERP'));
    await failure(c.placeOrder(REQ));
    expect(errors.length).toBeGreaterThan(0);
    for (const err of errors) {
      const text = `${String(err)} ${JSON.stringify(err)} ${(err as Error).stack ?? ''}`;
      expect(text).not.toContain(KEY);
    }
    expect(logged).toContain('retrying');
    expect(logged).not.toContain(KEY);
    expect(JSON.stringify(c)).not.toContain(KEY);
  });
});
