/**
 * The ccxt adapter against the relay stand-in (MARKET_VENUES_PROXY_URL): real ccxt, real HTTP, recorded venue
 * answers; nothing reaches the internet (every request goes through the relay and matches a recording).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { annualize, unwrap } from '../../src/domain/index.js';
import { ConfigError } from '../../src/errors.js';
import { createLogger, silentLogger } from '../../src/log.js';
import { MarketVenues } from '../../src/venues/market-venues.js';
import { checkVenueIds, loadCcxt } from '../../src/venues/ccxt-loader.js';
import type { VenueOutcome, VenueReading } from '../../src/venues/types.js';
import { RECORDED_AT } from '../fakes/venue-relay/recordings.js';
import { startVenueRelay, type VenueRelay } from '../fakes/venue-relay/relay.js';

const IDS = ['binanceusdm', 'bybit', 'okx', 'hyperliquid'];
const TIMEOUT_MS = 5_000;
let relay: VenueRelay;
let clock = RECORDED_AT;
let venues: MarketVenues;

function byVenue(out: VenueOutcome[]): Record<string, VenueOutcome> {
  return Object.fromEntries(out.map((o) => [o.ok ? o.reading.venue : o.failure.venue, o]));
}
function reading(o: VenueOutcome | undefined): VenueReading {
  if (!o?.ok) throw new Error(`expected a reading, got ${JSON.stringify(o)}`);
  return o.reading;
}

beforeAll(async () => {
  relay = await startVenueRelay();
  venues = await MarketVenues.open({ ids: IDS, proxyUrl: relay.proxyUrl, timeoutMs: TIMEOUT_MS, log: silentLogger, now: () => clock });
}, 60_000);
afterEach(() => {
  relay.clearFaults();
  clock += 3_600_000; // past any Retry-After a test left behind
});
afterAll(async () => {
  await venues?.close();
  await relay?.close();
});

describe('MarketVenues through ccxt and a relay', () => {
  it('reads all four venues from the recorded answers, every request through the relay', async () => {
    const out = byVenue(await venues.read('BTC-PERP'));
    const bin = reading(out['binanceusdm']);
    expect(bin).toMatchObject({ market: 'BTC/USDT:USDT', fundingRate: 0.00034012, nextFundingTs: 1710345600000, markPrice: 73350.1, openInterest: 85213.482 });
    const bybit = reading(out['bybit']);
    expect(bybit).toMatchObject({ market: 'BTC/USDT:USDT', fundingRate: 0.0001, markPrice: 73312.5, openInterest: 56321.118 });
    const okx = reading(out['okx']);
    // OKX counts open interest in contracts of 0.01 BTC: 2,125,419 contracts = 21,254.19 BTC.
    expect(okx.openInterest).toBeCloseTo(21254.19, 6);
    expect(okx.fundingRate).toBe(0.00027815);
    const hl = reading(out['hyperliquid']);
    expect(hl).toMatchObject({ market: 'BTC/USDC:USDC', fundingRate: 0.0000125, markPrice: 73300, openInterest: 10764.48, predictedRate: 0.0000125, nextFundingTs: 1710331200000 });
    expect(relay.unmatched).toEqual([]);
    expect(relay.requests.every((r) => r.venue !== null)).toBe(true);
  });

  it('reads each funding interval from the venue itself and says where', async () => {
    const out = byVenue(await venues.read('BTC-PERP'));
    // Binance's fundingInfo does not list BTCUSDT: the gap between its last two settlements says 8 h.
    expect(reading(out['binanceusdm'])).toMatchObject({ intervalHours: 8, intervalSource: 'settlement history' });
    expect(reading(out['bybit'])).toMatchObject({ intervalHours: 8, intervalSource: 'instrument info (fundingInterval)' });
    expect(reading(out['okx'])).toMatchObject({ intervalHours: 8, intervalSource: expect.stringContaining('funding stamps') });
    expect(reading(out['hyperliquid'])).toMatchObject({ intervalHours: 1, intervalSource: 'predictedFundings (fundingIntervalHours)' });
    // domain.md §1 on the venue numbers: 0.0000125 per 1 h is 10.95 % APR, like 0.0001 per 8 h.
    expect(unwrap(annualize({ rate: reading(out['hyperliquid']).fundingRate, intervalHours: 1 }))).toBeCloseTo(0.1095, 12);
    expect(unwrap(annualize({ rate: reading(out['bybit']).fundingRate, intervalHours: 8 }))).toBeCloseTo(0.1095, 12);
  });

  it('leaves the interval unknown when the venue does not say it', async () => {
    relay.rewrite('binanceusdm', 'fundingRateHistory', () => []);
    try {
      const fresh = await MarketVenues.open({ ids: ['binanceusdm'], proxyUrl: relay.proxyUrl, timeoutMs: TIMEOUT_MS, log: silentLogger, now: () => clock });
      const r = reading((await fresh.read('BTC-PERP'))[0]);
      await fresh.close();
      expect(r.intervalHours).toBeNull();
      expect(r.intervalSource).toBeNull();
      expect(r.fundingRate).toBe(0.00034012);
    } finally {
      relay.clearRewrites();
    }
  });

  it('says "no market" for a symbol no venue lists as a linear perpetual, without asking the venues', async () => {
    const before = relay.requests.length;
    const out = await venues.read('SOL-PERP');
    expect(out.map((o) => (o.ok ? 'ok' : o.failure.reason))).toEqual(['no_market', 'no_market', 'no_market', 'no_market']);
    expect(relay.requests.length).toBe(before);
  });

  it('answers the other venues on time while one hangs, and names the timeout in its row', async () => {
    relay.fault('okx', { kind: 'hang' });
    const t0 = Date.now();
    const out = byVenue(await venues.read('BTC-PERP'));
    const took = Date.now() - t0;
    expect(out['okx']).toMatchObject({ ok: false, failure: { reason: 'timeout', detail: expect.stringContaining('5.0 s') } });
    for (const v of ['binanceusdm', 'bybit', 'hyperliquid']) expect(out[v]?.ok, v).toBe(true);
    // The whole reading waits for the slow venue's own deadline at most, not for its hang.
    expect(took).toBeLessThan(TIMEOUT_MS + 2_000);
    // The venue comes back: the request it sat on fails, and the next reading has its numbers again.
    relay.clearFaults();
    const deadline = Date.now() + 20_000;
    while (!byVenue(await venues.read('BTC-PERP'))['okx']?.ok) expect(Date.now()).toBeLessThan(deadline);
  });

  it('holds a venue that answered 429 until its Retry-After has passed, and says so', async () => {
    relay.fault('bybit', { kind: 'rate_limit', retryAfterS: 30 });
    const first = byVenue(await venues.read('BTC-PERP'));
    expect(first['bybit']).toMatchObject({ ok: false, failure: { reason: 'rate_limited', retryAfterMs: 30_000, detail: 'rate-limited (Retry-After 30 s)' } });
    expect(first['okx']?.ok, JSON.stringify(first['okx'])).toBe(true);
    relay.clearFaults();
    const asked = relay.calls('bybit').length;
    clock += 10_000;
    const second = byVenue(await venues.read('BTC-PERP'));
    expect(second['bybit']).toMatchObject({ ok: false, failure: { reason: 'rate_limited', retryAfterMs: 20_000 } });
    expect(relay.calls('bybit').length).toBe(asked); // not asked again while it said wait
    clock += 21_000;
    expect(byVenue(await venues.read('BTC-PERP'))['bybit']?.ok).toBe(true);
  });

  it('reports a malformed body as a bad answer', async () => {
    relay.fault('binanceusdm', { kind: 'malformed' }, 'premiumIndex');
    const out = byVenue(await venues.read('BTC-PERP'));
    expect(out['binanceusdm']).toMatchObject({ ok: false, failure: { reason: 'bad_answer' } });
    expect(out['bybit']?.ok).toBe(true);
  });

  it('reports a venue error status as unavailable', async () => {
    relay.fault('hyperliquid', { kind: 'status', status: 503, body: 'Service Unavailable' });
    const out = byVenue(await venues.read('BTC-PERP'));
    expect(out['hyperliquid']).toMatchObject({ ok: false, failure: { reason: 'unavailable' } });
  });

  it('never writes the relay URL (it may hold credentials) into the log', async () => {
    const lines: string[] = [];
    const log = createLogger('warn', { write: (l: string) => void lines.push(l) });
    const secretRelay = relay.proxyUrl.replace('http://', 'http://user:s3cret@');
    const v = await MarketVenues.open({ ids: ['binanceusdm'], proxyUrl: secretRelay, timeoutMs: TIMEOUT_MS, log, now: () => clock });
    relay.fault('binanceusdm', { kind: 'status', status: 500, body: 'boom' });
    const [o] = await v.read('BTC-PERP');
    await v.close();
    expect(o?.ok).toBe(false);
    expect(lines.join('')).toContain('venue reading failed');
    expect(lines.join('')).not.toContain('s3cret');
    expect(JSON.stringify(o)).not.toContain('s3cret');
  });

  it('refuses an unknown id at start-up with one line naming MARKET_VENUES', async () => {
    const ccxt = await loadCcxt();
    expect(() => checkVenueIds(['bybit', 'bybitt'], ccxt.exchanges)).toThrow(ConfigError);
    expect(() => checkVenueIds(['bybit', 'bybitt'], ccxt.exchanges)).toThrow(/^MARKET_VENUES: "bybitt" is not a ccxt exchange id/);
    await expect(MarketVenues.open({ ids: ['nosuchvenue'], timeoutMs: 1000, log: silentLogger })).rejects.toThrow(/MARKET_VENUES: "nosuchvenue"/);
  });
});
