/**
 * The paper server's own surface: API key check, request validation, the error envelope, and the scenario
 * routes (cascade, reset, faucet) that the contract suite does not drive.
 */
import { describe, expect, it } from 'vitest';
import { PurpleFleaClient } from '../../src/exchange/purpleflea.js';
import { paperServerPerTest } from '../support/paper-server.js';

const T0 = Date.UTC(2024, 0, 1, 5, 30);
const KEY = 'server-test-key';
const t = paperServerPerTest({ now: T0, apiKey: KEY });

async function call(method: string, path: string, body?: object, key: string | null = KEY): Promise<{ status: number; json: unknown }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (key !== null) headers['x-api-key'] = key;
  const res = await fetch(`${t.server.url}${path}`, { method, headers, ...(body ? { body: JSON.stringify(body) } : {}) });
  return { status: res.status, json: await res.json() };
}

describe('paper server', () => {
  it('answers /healthz without a key, for container health checks, and nothing else outside /api/v1', async () => {
    const res = await fetch(`${t.server.url.replace(/\/api\/v1$/, '')}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
    expect((await fetch(`${t.server.url.replace(/\/api\/v1$/, '')}/other`)).status).toBe(404);
  });

  it('serves under /api/v1 and demands the API key', async () => {
    expect(t.server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/v1$/);
    expect(await call('GET', '/account', undefined, null)).toEqual({ status: 401, json: { error: { code: 'missing_api_key', message: expect.any(String) } } });
    const wrong = await call('GET', '/account', undefined, 'nope');
    expect(wrong.status).toBe(401);
    expect(JSON.stringify(wrong.json)).not.toContain(KEY);
    expect((await call('GET', '/account')).status).toBe(200);
  });

  it('answers bad requests and unknown routes with the error envelope', async () => {
    expect(await call('GET', '/perp/ticker')).toMatchObject({ status: 400, json: { error: { code: 'invalid_request' } } });
    expect(await call('POST', '/perp/orders', { symbol: 'BTC-PERP', side: 'up' })).toMatchObject({ status: 400, json: { error: { code: 'invalid_request' } } });
    expect(await call('GET', '/perp/nothing')).toMatchObject({ status: 404, json: { error: { code: 'not_found' } } });
    expect(await call('GET', '/perp/ticker?symbol=XRP-PERP')).toMatchObject({ status: 400, json: { error: { code: 'unknown_symbol' } } });
  });

  it('accepts decimal strings in an order body', async () => {
    const r = await call('POST', '/perp/orders', {
      symbol: 'BTC-PERP', side: 'buy', order_type: 'market', quantity: '0.010', leverage: '3', reduce_only: false, client_order_id: 'str-1',
    });
    expect(r).toMatchObject({ status: 200, json: { client_order_id: 'str-1', status: 'filled', filled_quantity: 0.01 } });
  });

  it('runs a cascade over ticks, then resets and tops up the account through scenario routes', async () => {
    const client = new PurpleFleaClient({ baseUrl: t.server.url, apiKey: KEY, retries: 0 });
    const oi0 = (await client.openInterest('BTC-PERP')).openInterest;
    const px0 = (await client.ticker('BTC-PERP')).markPrice;
    expect(await call('POST', '/paper/cascade', { symbol: 'BTC-PERP', oi_drop_pct: 5, price_drop_pct: 3, steps: 3 })).toMatchObject({ status: 200 });
    for (let i = 1; i <= 3; i++) expect((await call('POST', '/paper/tick', { now_ms: T0 + i * 1000 })).json).toMatchObject({ now_ms: T0 + i * 1000 });
    expect((await client.openInterest('BTC-PERP')).openInterest).toBeCloseTo(oi0 * 0.95, 6);
    expect((await client.ticker('BTC-PERP')).markPrice).toBeCloseTo(px0 * 0.97, 6);
    expect((await call('POST', '/paper/cascade', { symbol: 'BTC-PERP', oi_drop_pct: 500, price_drop_pct: 3, steps: 3 })).status).toBe(400);

    await client.placeOrder({ symbol: 'BTC-PERP', side: 'sell', orderType: 'market', quantity: 0.1, leverage: 2, reduceOnly: false, clientOrderId: 'srv-1' });
    expect(await client.positions()).toHaveLength(1);
    expect((await call('POST', '/paper/reset', {})).status).toBe(200);
    expect(await client.positions()).toEqual([]);
    expect((await call('POST', '/paper/faucet', { amount: 2500 })).status).toBe(200);
    expect((await client.account()).equity).toBe(102_500);
    await client.close();
  });
});
