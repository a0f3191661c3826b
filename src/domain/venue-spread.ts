/**
 * Cross-venue funding (issue 17): the same perp's funding on several venues, compared on the common bases of
 * domain.md §1 (per 8 h and simple APR), the best short/long pair, its APR difference after taker fees in and out of
 * both legs, and how long that gap has held. Pure: no clock, no I/O; time is an argument.
 */
import { HOURS_PER_YEAR } from './funding.js';
import { fail, guard, nonNegative, out, positive } from './input.js';
import type { Result } from './result.js';

export type VenueApr = { venue: string; apr: number };
export type FundingPair = { short: string; long: string; shortApr: number; longApr: number; grossApr: number };

/**
 * Short where funding is highest (shorts receive a positive rate), long where it is lowest. Ties keep the earlier
 * venue, so the desk's own exchange listed first wins a tie. Needs two venues.
 */
export function bestFundingPair(rows: readonly VenueApr[]): Result<FundingPair> {
  return guard({ rows }, () => {
    if (!Array.isArray(rows)) fail('invalid_rows');
    const valid = rows.map((r) => {
      if (typeof r?.venue !== 'string' || r.venue.length === 0) fail('invalid_venue');
      if (typeof r.apr !== 'number' || !Number.isFinite(r.apr)) fail('invalid_rate');
      return r;
    });
    if (valid.length < 2) fail('insufficient_data');
    let hi = valid[0]!;
    let lo = valid[0]!;
    for (const r of valid) {
      if (r.apr > hi.apr) hi = r;
      if (r.apr < lo.apr) lo = r;
    }
    // All equal: any two distinct venues make a zero-gap pair.
    if (hi === lo) lo = valid[1]!;
    return { short: hi.venue, long: lo.venue, shortApr: hi.apr, longApr: lo.apr, grossApr: out(hi.apr - lo.apr) };
  });
}

export type SpreadInput = { shortApr: number; longApr: number; shortTaker: number; longTaker: number; holdDays: number };
export type Spread = {
  grossApr: number;
  /** Taker fees to open and close both legs, as a fraction of one leg's notional: 2 × (short + long). */
  feeCost: number;
  /** The gross APR less the fees spread over the holding period (simple, 365-day year like `apr`). */
  netApr: number;
  /** Days of the current gap that pay the fees back; null when the gap pays nothing. */
  breakEvenDays: number | null;
};

/**
 * The APR difference of a short/long pair after both venues' taker fees in and out. Fees are paid once per trade,
 * funding per year: the fees count against the APR over `holdDays` (`feeCost × 365 / holdDays`).
 */
export function spreadAfterFees(input: SpreadInput): Result<Spread> {
  return guard(input, (f) => {
    const shortApr = f.num('shortApr', 'invalid_rate');
    const longApr = f.num('longApr', 'invalid_rate');
    const fee = (k: string) => {
      const v = f.num(k, 'invalid_fee', nonNegative);
      if (v >= 0.1) fail('invalid_fee'); // 10 % per trade is a unit error (bps or percent), not a fee
      return v;
    };
    const shortTaker = fee('shortTaker');
    const longTaker = fee('longTaker');
    const holdDays = f.num('holdDays', 'invalid_horizon', positive);
    const grossApr = out(shortApr - longApr);
    const feeCost = out(2 * (shortTaker + longTaker));
    const netApr = out(grossApr - (feeCost * 365) / holdDays);
    // A gap too small to ever pay the fees back (the quotient overflows) has no break-even either.
    const be = grossApr > 0 ? (feeCost * 365) / grossApr : Number.NaN;
    const breakEvenDays = Number.isFinite(be) ? out(be) : null;
    return { grossApr, feeCost, netApr, breakEvenDays };
  });
}

export type GapSample = { ts: number; gap: number };
export type GapHeld = { heldMs: number; sinceTs: number | null };

/**
 * How long a gap has stayed at or above `minGap` up to the newest sample: the run of qualifying samples ending at the
 * newest one, cut where two samples are more than `maxStepMs` apart (nothing is known in between). `heldMs` is 0 when
 * the newest sample does not qualify, or with no samples. Samples must have strictly increasing `ts`.
 */
export function gapHeld(input: { samples: readonly GapSample[]; minGap: number; maxStepMs: number }): Result<GapHeld> {
  return guard(input, (f) => {
    const minGap = f.num('minGap', 'invalid_threshold');
    const maxStep = f.num('maxStepMs', 'invalid_interval', positive);
    const samples = f.raw('samples');
    if (!Array.isArray(samples)) fail('invalid_samples');
    let prevTs = -Infinity;
    for (const s of samples as GapSample[]) {
      if (typeof s?.ts !== 'number' || !Number.isFinite(s.ts) || s.ts <= prevTs) fail('invalid_samples');
      if (typeof s.gap !== 'number' || !Number.isFinite(s.gap)) fail('invalid_samples');
      prevTs = s.ts;
    }
    const list = samples as GapSample[];
    const newest = list.at(-1);
    // `>= t` is `> t - 1e-12` (domain.md §0).
    const ok = (g: number) => g > minGap - 1e-12;
    if (!newest || !ok(newest.gap)) return { heldMs: 0, sinceTs: null };
    let start = list.length - 1;
    while (start > 0 && ok(list[start - 1]!.gap) && list[start]!.ts - list[start - 1]!.ts <= maxStep) start--;
    return { heldMs: out(newest.ts - list[start]!.ts), sinceTs: list[start]!.ts };
  });
}

/** `'8h'` → 8; anything that is not a whole number of hours (or minutes that make one) → null. */
export function intervalHoursOf(text: unknown): number | null {
  if (typeof text !== 'string') return null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(h|m|min)\s*$/i.exec(text);
  if (!m) return null;
  const v = Number(m[1]);
  const hours = m[2]!.toLowerCase() === 'h' ? v : v / 60;
  return Number.isFinite(hours) && hours > 0 && hours <= HOURS_PER_YEAR ? hours : null;
}
