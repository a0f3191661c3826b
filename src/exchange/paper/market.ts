/**
 * The paper market model of one perpetual: a seeded log-normal index walk (or a replayed close series), a
 * mean-reverting premium that sets mark and funding, drifting open interest, and scripted cascades. Pure
 * functions on MarketState; time is an argument.
 */
import { nextFundingTime } from '../../domain/index.js';
import { ok } from './errors.js';
import type { MarketSpec } from './instruments.js';
import { gaussian, seedFor } from './rng.js';
import type { MarketState } from './state.js';

/** An hourly (or any fixed-step) close series replayed as the index price, looping at its end. */
export interface ReplaySeries {
  closes: number[];
  /** Engine time at which `closes[0]` applies. */
  startMs: number;
  /** Engine milliseconds per bar: 3 600 000 replays in real time, 1 000 plays an hour per second. */
  msPerBar: number;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const YEAR_MS = 365 * DAY_MS;
/** The premium reverts to the interest level, so funding mostly sits at 0.01 %/8h as on real venues. */
export const PREMIUM_MEAN = 0.0001;
const PREMIUM_REVERSION_MS = 2 * HOUR_MS;
const OI_DAILY_VOL = 0.03;

export function freshMarket(spec: MarketSpec, seed: number, replay: ReplaySeries | undefined, nowMs: number): MarketState {
  const symbol = spec.perp.symbol;
  const index = replay ? replayClose(replay, nowMs) : spec.initialPrice;
  return {
    symbol, index, mark: index * (1 + PREMIUM_MEAN), premium: PREMIUM_MEAN, oi: spec.initialOi, replayScale: 1,
    rng: seedFor(seed, symbol), premiumSum: 0, premiumMs: 0,
    nextFundingTs: ok(nextFundingTime({ nowMs, intervalHours: spec.perp.fundingIntervalHours }), 'funding time').nextMs,
    lastSettledRate: null, fundingOverride: null, cascade: null,
  };
}

/**
 * Moves the market from `from` to `to`: premium (Ornstein-Uhlenbeck), OI drift and index, each scaled by
 * `volatility` (0 freezes them). Also accumulates the time-weighted premium that funding is computed from.
 */
export function evolveMarket(
  m: MarketState, spec: MarketSpec, from: number, to: number, volatility: number, replay: ReplaySeries | undefined,
): void {
  const dt = to - from;
  if (dt <= 0) return;
  if (volatility > 0) {
    const a = Math.exp(-dt / PREMIUM_REVERSION_MS);
    m.premium = PREMIUM_MEAN + (m.premium - PREMIUM_MEAN) * a + spec.premiumSd * volatility * Math.sqrt(1 - a * a) * gaussian(m);
    m.oi *= Math.exp(OI_DAILY_VOL * volatility * Math.sqrt(dt / DAY_MS) * gaussian(m));
  }
  m.premiumSum += m.premium * dt;
  m.premiumMs += dt;
  if (replay) {
    m.index = replayClose(replay, to) * m.replayScale;
  } else if (volatility > 0) {
    const sigma = spec.annualVol * volatility * Math.sqrt(dt / YEAR_MS);
    m.index *= Math.exp(sigma * gaussian(m) - (sigma * sigma) / 2);
  }
  markFromIndex(m);
}

/** One step of a scripted cascade: price and OI each move by their per-step factor. */
export function cascadeStep(m: MarketState): void {
  const c = m.cascade;
  if (!c) return;
  moveIndex(m, c.priceFactor);
  m.oi *= c.oiFactor;
  c.stepsLeft -= 1;
  if (c.stepsLeft <= 0) m.cascade = null;
}

/** Scales the index (and a replay, so the move persists through it) and re-derives the mark. */
export function moveIndex(m: MarketState, factor: number): void {
  m.index *= factor;
  m.replayScale *= factor;
  markFromIndex(m);
}

function markFromIndex(m: MarketState): void {
  m.mark = m.index * (1 + m.premium);
}

/** Linear interpolation between bars, looping over the series. */
export function replayClose(r: ReplaySeries, t: number): number {
  const n = r.closes.length;
  const pos = (t - r.startMs) / r.msPerBar;
  const wrapped = ((pos % n) + n) % n;
  const i = Math.floor(wrapped);
  const frac = wrapped - i;
  const a = r.closes[i]!;
  const b = r.closes[(i + 1) % n]!;
  return a + (b - a) * frac;
}
