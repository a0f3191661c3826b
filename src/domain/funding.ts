/**
 * Funding rates, annualisation, payments and the next-funding countdown (domain.md §1-2). Rates are always per
 * the venue's own interval; only these functions convert them.
 */
import { fail, guard, out, positive, nonNegative, type Fields } from './input.js';
import { clamp } from './numbers.js';
import type { Result } from './result.js';

/** Simple (non-compounded) 365-day year: 0.01 %/8h is 10.95 % APR, never the `x3x365` shortcut. */
export const HOURS_PER_YEAR = 8760;
const MS_PER_HOUR = 3_600_000;

function rateAndInterval(f: Fields): { rate: number; h: number } {
  return { rate: f.num('rate', 'invalid_rate'), h: f.num('intervalHours', 'invalid_interval', positive) };
}

export type RateInput = { rate: number; intervalHours: number };

/** Simple APR of a per-interval rate: `r * 8760 / h`. */
export function annualize(input: RateInput): Result<number> {
  return guard(input, (f) => {
    const { rate, h } = rateAndInterval(f);
    return out((rate * HOURS_PER_YEAR) / h);
  });
}

export type NormalizedRate = { perHour: number; per8h: number; apr: number };

/** A per-interval rate on the common bases used by cross-venue tables. */
export function normalizeRate(input: RateInput): Result<NormalizedRate> {
  return guard(input, (f) => {
    const { rate, h } = rateAndInterval(f);
    return { perHour: out(rate / h), per8h: out((rate * 8) / h), apr: out((rate * HOURS_PER_YEAR) / h) };
  });
}

export type PremiumIndexInput = { impactBid: number; impactAsk: number; index: number };

/** `(max(0, impactBid - index) - max(0, index - impactAsk)) / index`. */
export function premiumIndex(input: PremiumIndexInput): Result<number> {
  return guard(input, (f) => {
    const bid = f.num('impactBid', 'invalid_price', positive);
    const ask = f.num('impactAsk', 'invalid_price', positive);
    const index = f.num('index', 'invalid_price', positive);
    return out((Math.max(0, bid - index) - Math.max(0, index - ask)) / index);
  });
}

export type FundingRateBinanceInput = {
  premium: number;
  intervalHours?: number | null;
  interest?: number | null;
  clampBand?: number | null;
  cap?: number | null;
  floor?: number | null;
};

/** Binance/Bybit/BitMEX: `P + clamp(I - P, -band, band)`, then the per-symbol cap/floor when given. */
export function fundingRateBinance(input: FundingRateBinanceInput): Result<number> {
  return guard(input, (f) => {
    const p = f.num('premium', 'invalid_rate');
    const h = f.opt('intervalHours', 'invalid_interval', 8, positive);
    const interest = f.opt('interest', 'invalid_rate', (0.0001 * h) / 8);
    const band = f.opt('clampBand', 'invalid_threshold', 0.0005, nonNegative);
    const cap = f.optOrNull('cap', 'invalid_threshold');
    const floor = f.optOrNull('floor', 'invalid_threshold');
    if (cap !== null && floor !== null && floor > cap) fail('invalid_threshold');
    let rate = p + clamp(interest - p, -band, band);
    if (cap !== null) rate = Math.min(rate, cap);
    if (floor !== null) rate = Math.max(rate, floor);
    return out(rate);
  });
}

export type FundingRateHyperliquidInput = {
  premium: number;
  interest8h?: number | null;
  clampBand?: number | null;
  hourlyCap?: number | null;
};

/** Hyperliquid pays hourly 1/8 of an 8-hour rate, capped at 4 %/hour. Returns the hourly rate. */
export function fundingRateHyperliquid(input: FundingRateHyperliquidInput): Result<number> {
  return guard(input, (f) => {
    const p = f.num('premium', 'invalid_rate');
    const interest = f.opt('interest8h', 'invalid_rate', 0.0001);
    const band = f.opt('clampBand', 'invalid_threshold', 0.0005, nonNegative);
    const cap = f.opt('hourlyCap', 'invalid_threshold', 0.04, positive);
    const rate8h = p + clamp(interest - p, -band, band);
    return out(clamp(rate8h / 8, -cap, cap));
  });
}

export type FundingRateOkxInput = { premium: number; cap: number; floor: number };

/** OKX has no interest term: the averaged premium clamped to the symbol's cap/floor. */
export function fundingRateOkx(input: FundingRateOkxInput): Result<number> {
  return guard(input, (f) => {
    const p = f.num('premium', 'invalid_rate');
    const cap = f.num('cap', 'invalid_threshold');
    const floor = f.num('floor', 'invalid_threshold');
    if (floor > cap) fail('invalid_threshold');
    return out(clamp(p, floor, cap));
  });
}

export type FundingRateDydxInput = {
  premium: number;
  defaultFunding8h?: number | null;
  imf: number;
  mmf: number;
  clampFactor?: number | null;
};

export type DydxRate = { rate8h: number; hourly: number };

/** dYdX v4: premium plus default funding, clamped to `clampFactor * (IMF - MMF)`, paid hourly as 1/8. */
export function fundingRateDydx(input: FundingRateDydxInput): Result<DydxRate> {
  return guard(input, (f) => {
    const p = f.num('premium', 'invalid_rate');
    const d = f.opt('defaultFunding8h', 'invalid_rate', 0);
    const imf = f.num('imf', 'invalid_margin_rate', (v) => v > 0 && v <= 1);
    const mmf = f.num('mmf', 'invalid_margin_rate', (v) => v >= 0 && v <= imf);
    const k = f.opt('clampFactor', 'invalid_threshold', 6, positive);
    const bound = k * (imf - mmf);
    const rate8h = clamp(p + d, -bound, bound);
    return { rate8h: out(rate8h), hourly: out(rate8h / 8) };
  });
}

export type FundingPaymentInput = { side: 'long' | 'short'; size: number; price: number; rate: number };

/** `-s * size * price * rate`: + when received, - when paid (a positive rate means longs pay shorts). */
export function fundingPayment(input: FundingPaymentInput): Result<number> {
  return guard(input, (f) => {
    const s = f.side();
    const size = f.num('size', 'invalid_size', nonNegative);
    const price = f.num('price', 'invalid_price', positive);
    const rate = f.num('rate', 'invalid_rate');
    return out(-s * size * price * rate);
  });
}

/** `HH:MM:SS` with seconds floored; hours are not wrapped (a 24h interval shows `24:00:00`). */
export function formatCountdown(ms: number): string {
  const total = Math.floor(Math.max(0, ms) / 1000);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${pad(Math.floor(total / 3600))}:${pad(Math.floor((total % 3600) / 60))}:${pad(total % 60)}`;
}

export type NextFundingTimeInput = { nowMs: number; intervalHours: number; offsetHours?: number | null };
export type NextFundingTime = { nextMs: number; countdownMs: number; countdown: string };

/**
 * Next settlement stamp at `offset + k*h` hours UTC, strictly after `nowMs` (at a stamp, the following one).
 * Integer arithmetic on safe integers, so no float division decides which stamp is next.
 */
export function nextFundingTime(input: NextFundingTimeInput): Result<NextFundingTime> {
  return guard(input, (f) => {
    const now = f.int('nowMs', 'invalid_time', 0);
    const h = f.int('intervalHours', 'invalid_interval', 1);
    if (24 % h !== 0) fail('invalid_interval');
    const offset = f.has('offsetHours') ? f.int('offsetHours', 'invalid_offset', 0) : 0;
    if (offset >= h) fail('invalid_offset');
    const period = h * MS_PER_HOUR;
    const o = offset * MS_PER_HOUR;
    const sincePrevious = (((now - o) % period) + period) % period;
    const nextMs = now - sincePrevious + period;
    if (!Number.isSafeInteger(nextMs)) fail('invalid_time');
    const countdownMs = nextMs - now;
    return { nextMs, countdownMs, countdown: formatCountdown(countdownMs) };
  });
}
