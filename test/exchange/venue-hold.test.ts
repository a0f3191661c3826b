/**
 * Issue 14 item 3: a 429 with Retry-After from the venue holds the whole client — every caller, every route, order
 * placement included, and (through Redis) other processes — until it passes. Counted at the venue: requests that
 * arrive inside the back-off window must be none.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commands } from '../../commands/registry.js';
import { dispatch } from '../../commands/dispatch.js';
import { ExchangeError, type PlaceOrderRequest } from '../../src/exchange/port.js';
import { PurpleFleaClient, type PurpleFleaClientOptions } from '../../src/exchange/purpleflea.js';
import { VenueHold, venueHoldKey } from '../../src/exchange/venue-hold.js';
import { fundingBody, orderBody, positionsBody, tickerBody } from '../../src/exchange/wire.js';
import { MarketService } from '../../src/services/market.js';
import { actor, buildTestDesk } from '../support/desk.js';
import { redisUrl } from '../support/redis.js';
import { startExchangeStandIn, type ExchangeStandIn, type StandInRequest } from '../fakes/exchange-stand-in.js';

const TS = 1_704_067_200_000;
const REQ: PlaceOrderRequest = {
  symbol: 'BTC-PERP', side: 'buy', orderType: 'market', quantity: 0.01, leverage: 3, reduceOnly: false, clientOrderId: 'pd-hold-1',
};

let venue: ExchangeStandIn;
let clients: PurpleFleaClient[] = [];

function client(over: Partial<PurpleFleaClientOptions> = {}): PurpleFleaClient {
  const c = new PurpleFleaClient({ baseUrl: venue.url, apiKey: 'k-venue-hold', timeoutMs: 2_000, retries: 2, backoff: { baseDelayMs: 5, maxDelayMs: 20 }, ...over });
  clients.push(c);
  return c;
}

/** The venue answers everything; GET /perp/funding answers its first call 429 with `Retry-After: retryAfter`. */
function scriptVenue(retryAfter: string): void {
  venue.on('GET /perp/funding', (_r, n) =>
    n === 1
      ? { status: 429, headers: { 'retry-after': retryAfter }, body: { error: { code: 'rate_limited', message: 'slow down' } } }
      : { body: fundingBody({ symbol: 'BTC-PERP', currentRate: 0.0001, predictedRate: null, nextFundingTs: TS + 8 * 3600_000, fundingIntervalHours: 8 }) },
  );
  venue.on('GET /perp/ticker', () => ({ body: tickerBody({ symbol: 'BTC-PERP', markPrice: 65_000, indexPrice: 64_990, lastPrice: 65_001, ts: TS }) }));
  venue.on('GET /perp/positions', () => ({ body: positionsBody([]) }));
  venue.on('POST /perp/orders', (r) =>
    ({
      body: orderBody({
        orderId: 'X-1', clientOrderId: (r.body as { client_order_id: string }).client_order_id, symbol: 'BTC-PERP', side: 'buy', orderType: 'market',
        quantity: 0.01, price: null, status: 'filled', filledQuantity: 0.01, avgPrice: 65_000, reduceOnly: false, ts: TS,
      }),
    }),
  );
}

/** Waits until the venue has answered the 429 and the client has had a moment to read it. */
async function after429(): Promise<StandInRequest> {
  for (let i = 0; i < 200 && venue.calls('GET /perp/funding').length === 0; i++) await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => setTimeout(r, 50));
  return venue.calls('GET /perp/funding')[0]!;
}

const inWindow = (first: StandInRequest, ms: number) => venue.requests.filter((r) => r !== first && r.at < first.at + ms);

beforeEach(async () => {
  venue = await startExchangeStandIn();
});

afterEach(async () => {
  await Promise.all(clients.map((c) => c.close()));
  clients = [];
  await venue.close();
});

describe('a Retry-After from the venue holds the whole client', () => {
  it('after one 429 (Retry-After: 1) on GET /perp/funding, no request of any caller reaches the venue within that second, order placement included', async () => {
    scriptVenue('1');
    const jobs = client();
    const commandsClient = client(); // another client of the same venue in this process
    const funding = jobs.funding('BTC-PERP');
    const first = await after429();

    const others = await Promise.all([commandsClient.ticker('BTC-PERP'), jobs.positions(), commandsClient.placeOrder(REQ), funding]);

    expect(inWindow(first, 1_000)).toEqual([]);
    expect(others[0].markPrice).toBe(65_000);
    expect(others[2].clientOrderId).toBe('pd-hold-1');
    expect(others[3].currentRate).toBeCloseTo(0.0001, 10);
    expect(venue.calls('POST /perp/orders')).toHaveLength(1);
    expect(venue.calls('GET /perp/funding')).toHaveLength(2);
  });

  it('tells a caller the hold is longer than it may wait, with when it ends, and sends nothing', async () => {
    scriptVenue('30');
    const c = client();
    const e1 = await c.funding('BTC-PERP').then(() => null, (e: unknown) => e);
    const e2 = await c.ticker('BTC-PERP').then(() => null, (e: unknown) => e);

    for (const e of [e1, e2]) {
      expect(e).toBeInstanceOf(ExchangeError);
      expect((e as ExchangeError).kind).toBe('rate_limited');
      expect((e as ExchangeError).message).toMatch(/^The exchange is rate-limiting us, retrying in (30|29) s\.$/);
    }
    expect(venue.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /perp/funding']);
  });

  it('shows a chat command the same clear message instead of an internal error', async () => {
    scriptVenue('30');
    venue.on('GET /perp/instruments', () => ({ status: 429, headers: { 'retry-after': '30' }, body: { error: { code: 'rate_limited', message: 'slow down' } } }));
    const c = client();
    const t = await buildTestDesk();
    try {
      const ctx = { ...t.ctx, exchange: c, market: new MarketService(c) };
      const first = await dispatch(ctx, commands, 'funding', { symbol: 'BTC-PERP' }, actor('telegram', '1'));
      const second = await dispatch(ctx, commands, 'funding', { symbol: 'BTC-PERP' }, actor('telegram', '1'));

      expect(first.text).toMatch(/The exchange is rate-limiting us, retrying in (30|29) s\./);
      expect(second.text).toMatch(/The exchange is rate-limiting us, retrying in \d+ s\./);
      expect(venue.requests).toHaveLength(1);
    } finally {
      await t.close();
    }
  });

  it('holds another process on the same Redis too', async () => {
    scriptVenue('1');
    // Two processes: each its own hold, linked only through Redis.
    const [holdA, holdB] = [new VenueHold(), new VenueHold()];
    const unshare = await Promise.all([holdA, holdB].map((h) => h.shareThroughRedis(redisUrl(), venueHoldKey(venue.url))));
    try {
      const a = client({ hold: holdA });
      const b = client({ hold: holdB });
      const funding = a.funding('BTC-PERP');
      const first = await after429();

      const [ticker] = await Promise.all([b.ticker('BTC-PERP'), funding]);

      expect(ticker.markPrice).toBe(65_000);
      expect(inWindow(first, 1_000)).toEqual([]);
    } finally {
      await Promise.all(unshare.map((u) => u()));
    }
  });
});
