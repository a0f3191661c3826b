/**
 * The venue sampler feeds the cascade detector and the OI signal (issue 17): real ccxt against the relay stand-in,
 * real Redis and BullMQ. When one venue's recorded open interest and mark drop, the detector raises a cascade alert
 * that names that venue and carries it in `Alert.venue`; the desk's own cascade state (limit-only) is untouched.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVenueSampler, venueSeries } from '../../jobs/venue-sampler.js';
import type { JobContext } from '../../jobs/job-context.js';
import { silentLogger } from '../../src/log.js';
import type { Alert } from '../../src/services/alerts/types.js';
import { MarketVenues } from '../../src/venues/market-venues.js';
import { RECORDED_AT } from '../fakes/venue-relay/recordings.js';
import { startVenueRelay, type VenueRelay } from '../fakes/venue-relay/relay.js';
import { jobsHarness, type JobsHarness } from './support/harness.js';

const MIN = 60_000;
let relay: VenueRelay;
let venues: MarketVenues;
let h: JobsHarness;
let clock = RECORDED_AT;

beforeAll(async () => {
  relay = await startVenueRelay();
  venues = await MarketVenues.open({ ids: ['binanceusdm', 'bybit', 'okx', 'hyperliquid'], proxyUrl: relay.proxyUrl, timeoutMs: 8_000, log: silentLogger, now: () => clock });
  // No delivery: published alerts stay in the alert queue, where the test reads them whole (Alert.venue included).
  h = await jobsHarness({ venues, noDelivery: true });
}, 90_000);
afterAll(async () => {
  await h?.close();
  await venues?.close();
  await relay?.close();
});

async function queuedAlerts(): Promise<Alert[]> {
  const jobs = await h.bg.services.alerts.queue.getJobs(['waiting', 'delayed', 'prioritized', 'active']);
  return jobs.map((j) => (j.data as { alert: Alert }).alert).filter(Boolean);
}

function ctxAt(ts: number): JobContext {
  clock = ts;
  return { ...h.bg.ctx, now: () => ts };
}

describe('venue sampler', () => {
  it('stores each venue reading, its APR next to the desk, and an OI/price series per venue', async () => {
    const out = await runVenueSampler(ctxAt(RECORDED_AT));
    expect(out.map((o) => o.symbol)).toEqual(['BTC-PERP']); // the recordings list BTC only: no other symbol is sampled
    expect(Object.keys(out[0]!.venues).sort()).toEqual(['binanceusdm', 'bybit', 'hyperliquid', 'okx']);
    const latest = await h.bg.services.venues!.readings.latest('BTC-PERP', 'bybit');
    expect(latest).toMatchObject({ fundingRate: 0.0001, markPrice: 73312.5, openInterest: 56321.118, ts: RECORDED_AT });
    const [sample] = await h.bg.services.venues!.history.since('BTC-PERP', 0);
    expect(sample!.aprs['binanceusdm']).toBeCloseTo(0.00034012 * 1095, 12);
    expect(sample!.aprs['hyperliquid']).toBeCloseTo(0.0000125 * 8760, 12);
    expect(sample!.aprs['paper']).toBeDefined();
    const series = await h.ctx.samples.oiSince(venueSeries('BTC-PERP', 'bybit'), 0);
    expect(series).toEqual([{ ts: RECORDED_AT, oi: 56321.118, price: 73312.5 }]);
  });

  it('raises a cascade alert about bybit, with Alert.venue, when bybit’s OI and mark drop; other venues and the desk stay quiet', async () => {
    await runVenueSampler(ctxAt(RECORDED_AT + 5 * MIN));
    expect((await queuedAlerts()).filter((a) => a.kind === 'cascade')).toEqual([]);
    // Bybit: open interest -6 % and mark -3 % over one 5-minute window (score min(2, 1.5) = 1.5: level "cascade").
    relay.rewrite('bybit', 'openInterest', (b) => {
      const body = b as { result: { list: { openInterest: string }[] } };
      body.result.list[0]!.openInterest = String(56321.118 * 0.94);
      return body;
    });
    relay.rewrite('bybit', 'tickers', (b) => {
      const body = b as { result: { list: { markPrice: string }[] } };
      body.result.list[0]!.markPrice = String(73312.5 * 0.97);
      return body;
    });
    const out = await runVenueSampler(ctxAt(RECORDED_AT + 10 * MIN));
    expect(out[0]!.venues['bybit']).toBe('cascade (new)');
    expect(out[0]!.venues['okx']).toBe('none');
    const cascades = (await queuedAlerts()).filter((a) => a.kind === 'cascade');
    expect(cascades).toHaveLength(1);
    const a = cascades[0]!;
    expect(a).toMatchObject({ venue: 'bybit', symbol: 'BTC-PERP', severity: 'warning' });
    expect(a.title).toBe('Liquidation cascade on bybit — BTC-PERP');
    const fields = Object.fromEntries((a.fields ?? []).map((f) => [f.name, f.value]));
    expect(fields['OI change']).toBe('-6.00% per 5 min window');
    expect(fields['Price change']).toBe('-3.00% per 5 min window');
    // Another venue's cascade informs; it does not make the desk's own trading limit-only.
    expect(await h.ctx.cascade.get('BTC-PERP')).toBeNull();
    relay.clearRewrites();
  });

  it('raises the OI signal about okx, with Alert.venue, when okx’s open interest jumps over the hour with price flat', async () => {
    await runVenueSampler(ctxAt(RECORDED_AT + 20 * MIN));
    // OKX open interest +8 % against its samples of 35 minutes ago, mark unchanged: no cascade (price flat), an OI move.
    relay.rewrite('okx', 'openInterest', (b) => {
      const body = b as { data: { oi: string; oiCcy: string }[] };
      body.data[0]!.oi = String(Math.round(2125419 * 1.08));
      return body;
    });
    const out = await runVenueSampler(ctxAt(RECORDED_AT + 55 * MIN));
    relay.clearRewrites();
    expect(out[0]!.venues['okx']).toBe('none');
    const oi = (await queuedAlerts()).filter((a) => a.kind === 'oi');
    expect(oi.map((a) => [a.venue, a.symbol])).toEqual([['okx', 'BTC-PERP']]);
    expect(oi[0]!.title).toMatch(/^Open interest signal — BTC-PERP on okx: OI \+8\.00% in 55 min$/);
  });
});
