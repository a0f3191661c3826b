/**
 * The venue sampler (issue 17), at the basis sampler's period: for every desk symbol a venue lists, one reading of
 * every venue at once (stored as the venue's latest reading), each venue's funding APR next to the desk's own (the
 * history behind `/spread`'s "gap held"), and each venue's OI and mark as a sample series (`BTC-PERP@bybit`) that the
 * cascade detector and the OI signal watch like the desk's own. A venue that fails is skipped for this round only.
 */
import { normalizeRate } from '../src/domain/funding.js';
import { isDomainError } from '../src/domain/result.js';
import type { Instrument } from '../src/exchange/port.js';
import type { VenueReading } from '../src/venues/types.js';
import type { JobContext } from './job-context.js';
import { checkOiSignal } from './oi-signal.js';
import { detectVenueCascade } from './venue-cascade.js';

export interface VenueSampleOutcome {
  symbol: string;
  /** Per venue: the cascade level seen, or why there was no reading. */
  venues: Record<string, string>;
}

export function venueSeries(symbol: string, venue: string): string {
  return `${symbol}@${venue}`;
}

export async function runVenueSampler(ctx: JobContext): Promise<VenueSampleOutcome[]> {
  if (!ctx.venues) return [];
  const out: VenueSampleOutcome[] = [];
  for (const inst of await ctx.market.instruments()) {
    try {
      const o = await sampleSymbol(ctx, inst);
      if (o) out.push(o);
    } catch (err) {
      ctx.log.warn({ err, symbol: inst.symbol }, 'venue sampler: symbol skipped');
    }
  }
  return out;
}

async function sampleSymbol(ctx: JobContext, inst: Instrument): Promise<VenueSampleOutcome | null> {
  const venues = ctx.venues!;
  const now = ctx.now();
  const outcomes = await venues.snapshot(inst.symbol);
  // A symbol no venue lists is not sampled (nor reported): most desk symbols may be the desk's own.
  if (outcomes.every((o) => !o.ok && o.failure.reason === 'no_market')) return null;
  const result: Record<string, string> = {};
  const aprs: Record<string, number> = {};
  const own = await ctx.exchange.funding(inst.symbol).catch(() => null);
  if (own) {
    const n = normalizeRate({ rate: own.currentRate, intervalHours: own.fundingIntervalHours });
    if (!isDomainError(n)) aprs[ctx.exchange.name] = n.apr;
  }
  for (const o of outcomes) {
    if (!o.ok) {
      result[o.failure.venue] = o.failure.reason;
      continue;
    }
    const r = o.reading;
    if (r.intervalHours !== null) {
      const n = normalizeRate({ rate: r.fundingRate, intervalHours: r.intervalHours });
      if (!isDomainError(n)) aprs[r.venue] = n.apr;
    }
    result[r.venue] = await watch(ctx, inst, r, now);
  }
  if (Object.keys(aprs).length > 1) await venues.history.add(inst.symbol, { ts: now, aprs });
  return { symbol: inst.symbol, venues: result };
}

/** One venue's OI and mark into its sample series, then the cascade detector and the OI signal over it. */
async function watch(ctx: JobContext, inst: Instrument, r: VenueReading, now: number): Promise<string> {
  if (r.openInterest === null || r.markPrice === null || r.openInterest <= 0 || r.markPrice <= 0) return 'no open interest';
  const series = venueSeries(inst.symbol, r.venue);
  await ctx.samples.addOi(series, { ts: now, oi: r.openInterest, price: r.markPrice });
  const c = await detectVenueCascade(ctx, inst, r, series, now);
  await checkOiSignal(ctx, inst, r.openInterest, r.markPrice, now, { id: r.venue, series });
  return c.alerted ? `${c.level} (${c.alerted})` : c.level;
}
