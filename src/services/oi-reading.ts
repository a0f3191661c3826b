import type { Exchange } from '../exchange/port.js';
import { oiQuadrant } from '../domain/oi.js';
import { unwrap } from '../domain/result.js';
import type { SampleStore } from './samples.js';

export interface OiReading {
  symbol: string;
  openInterest: number;
  openInterestUsd: number;
  markPrice: number;
  /** Fractional changes over `spanMs` (the last hour, or less while history builds up); null without history. */
  oiChange: number | null;
  priceChange: number | null;
  spanMs: number;
  quadrant: { quadrant: string; bias: string; strength: string } | null;
}

export const OI_WINDOW_MS = 3600_000;

/**
 * Open interest now and its change over the last hour with the OI × price quadrant (domain.md §6). The current
 * reading is stored as a sample too, so history builds up even before the cascade detector has run for an hour.
 */
export async function readOi(exchange: Exchange, samples: SampleStore, symbol: string, now: number): Promise<OiReading> {
  const [oi, t] = await Promise.all([exchange.openInterest(symbol), exchange.ticker(symbol)]);
  const history = await samples.oiSince(symbol, now - OI_WINDOW_MS);
  await samples.addOi(symbol, { ts: now, oi: oi.openInterest, price: t.markPrice });
  const base = history.find((s) => s.ts < now && s.oi > 0 && s.price > 0);
  if (!base) {
    return { symbol, openInterest: oi.openInterest, openInterestUsd: oi.openInterestUsd, markPrice: t.markPrice, oiChange: null, priceChange: null, spanMs: 0, quadrant: null };
  }
  const oiChange = oi.openInterest / base.oi - 1;
  const priceChange = t.markPrice / base.price - 1;
  return {
    symbol,
    openInterest: oi.openInterest,
    openInterestUsd: oi.openInterestUsd,
    markPrice: t.markPrice,
    oiChange,
    priceChange,
    spanMs: now - base.ts,
    quadrant: unwrap(oiQuadrant({ priceChange, oiChange })),
  };
}

export const QUADRANT_WORDS: Record<string, string> = {
  new_longs: 'new longs — bullish confirmation',
  short_covering: 'short covering — less conviction, near exhaustion',
  new_shorts: 'new shorts — bearish confirmation',
  long_capitulation: 'long capitulation — possible capitulation bottom',
  neutral: 'neutral — no clear positioning signal',
};
