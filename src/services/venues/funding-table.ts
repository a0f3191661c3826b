/**
 * One symbol's funding across the desk's own exchange and the real venues, on the common bases of domain.md §1
 * (per 8 h, simple APR), sorted — the desk first, then by APR, then venues whose interval is unknown, then venues
 * that failed — and the best short/long pair after taker fees with how long its gap has held.
 */
import { normalizeRate } from '../../domain/funding.js';
import { isDomainError } from '../../domain/result.js';
import { bestFundingPair, gapHeld, spreadAfterFees, type FundingPair, type Spread } from '../../domain/venue-spread.js';
import type { VenueFailure, VenueOutcome } from '../../venues/types.js';
import type { FundingAprSample } from './funding-history.js';

/** Taker fee assumed where ccxt's market data has none (and for the desk's own exchange): stated in every reply. */
export const ESTIMATED_TAKER = 0.0005;
/** Fees are spread over this holding period to compare them with an APR (stated in `/spread`). */
export const SPREAD_HOLD_DAYS = 7;

export interface FundingRow {
  venue: string;
  /** The desk's own exchange. */
  own: boolean;
  rate: number | null;
  /** The venue's own prediction; null when it publishes none (then the current rate stands as "est."). */
  predicted: number | null;
  intervalHours: number | null;
  intervalSource: string | null;
  per8h: number | null;
  apr: number | null;
  nextFundingTs: number | null;
  markPrice: number | null;
  openInterestUsd: number | null;
  taker: number;
  takerEstimated: boolean;
  failure: VenueFailure | null;
}

export interface DeskFunding {
  venue: string;
  rate: number;
  predicted: number | null;
  intervalHours: number;
  nextFundingTs: number;
  markPrice: number | null;
}

function normalized(rate: number | null, h: number | null): { per8h: number | null; apr: number | null } {
  if (rate === null || h === null) return { per8h: null, apr: null };
  const n = normalizeRate({ rate, intervalHours: h });
  return isDomainError(n) ? { per8h: null, apr: null } : { per8h: n.per8h, apr: n.apr };
}

export function fundingRows(desk: DeskFunding | null, outcomes: readonly VenueOutcome[]): FundingRow[] {
  const rows: FundingRow[] = [];
  if (desk) {
    rows.push({
      venue: desk.venue, own: true, rate: desk.rate, predicted: desk.predicted, intervalHours: desk.intervalHours, intervalSource: 'the exchange',
      ...normalized(desk.rate, desk.intervalHours), nextFundingTs: desk.nextFundingTs, markPrice: desk.markPrice, openInterestUsd: null,
      taker: ESTIMATED_TAKER, takerEstimated: true, failure: null,
    });
  }
  const venues = outcomes.map((o): FundingRow => {
    if (!o.ok) {
      return {
        venue: o.failure.venue, own: false, rate: null, predicted: null, intervalHours: null, intervalSource: null, per8h: null, apr: null,
        nextFundingTs: null, markPrice: null, openInterestUsd: null, taker: ESTIMATED_TAKER, takerEstimated: true, failure: o.failure,
      };
    }
    const r = o.reading;
    return {
      venue: r.venue, own: false, rate: r.fundingRate, predicted: r.predictedRate, intervalHours: r.intervalHours, intervalSource: r.intervalSource,
      ...normalized(r.fundingRate, r.intervalHours), nextFundingTs: r.nextFundingTs, markPrice: r.markPrice, openInterestUsd: r.openInterestUsd,
      taker: r.takerFee ?? ESTIMATED_TAKER, takerEstimated: r.takerFee === null, failure: null,
    };
  });
  const rank = (r: FundingRow) => (r.failure ? 2 : r.apr === null ? 1 : 0);
  venues.sort((a, b) => rank(a) - rank(b) || (b.apr ?? 0) - (a.apr ?? 0));
  return [...rows, ...venues];
}

export interface SpreadView {
  pair: FundingPair;
  spread: Spread;
  short: FundingRow;
  long: FundingRow;
  /** How long the net gap after fees has stayed positive, from the sampler's history; null without history. */
  heldMs: number | null;
  heldSince: number | null;
}

/**
 * The best pair among rows with a known APR. The gap "holds" while the same pair's gross gap covers the fees over
 * the holding period (net APR ≥ 0), sampled every `sampleEveryMs` (a hole longer than three samples breaks it).
 */
export function bestSpread(rows: readonly FundingRow[], history: readonly FundingAprSample[], sampleEveryMs: number): SpreadView | { error: string } {
  const usable = rows.filter((r) => r.apr !== null);
  const pair = bestFundingPair(usable.map((r) => ({ venue: r.venue, apr: r.apr! })));
  if (isDomainError(pair)) return pair;
  const short = usable.find((r) => r.venue === pair.short)!;
  const long = usable.find((r) => r.venue === pair.long)!;
  const spread = spreadAfterFees({ shortApr: pair.shortApr, longApr: pair.longApr, shortTaker: short.taker, longTaker: long.taker, holdDays: SPREAD_HOLD_DAYS });
  if (isDomainError(spread)) return spread;
  const hurdle = (spread.feeCost * 365) / SPREAD_HOLD_DAYS;
  const series = history
    .filter((s) => s.aprs[pair.short] !== undefined && s.aprs[pair.long] !== undefined)
    .map((s) => ({ ts: s.ts, gap: s.aprs[pair.short]! - s.aprs[pair.long]! }));
  const held = series.length === 0 ? null : gapHeld({ samples: series, minGap: hurdle, maxStepMs: 3 * sampleEveryMs });
  return {
    pair,
    spread,
    short,
    long,
    heldMs: held === null || isDomainError(held) ? null : held.heldMs,
    heldSince: held === null || isDomainError(held) ? null : held.sinceTs,
  };
}

/** A failed venue's reason in a few words for a table cell. */
export function failureCell(f: VenueFailure): string {
  switch (f.reason) {
    case 'timeout':
      return 'timeout';
    case 'rate_limited':
      return f.retryAfterMs !== undefined ? `rate-limited ${Math.ceil(f.retryAfterMs / 1000)}s` : 'rate-limited';
    case 'bad_answer':
      return 'bad answer';
    case 'unavailable':
      return 'unavailable';
    case 'no_market':
      return 'no market';
  }
}
