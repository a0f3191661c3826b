/** Funding accrual: the rate a market will settle and the settlement at each stamp, which only the clock (`tick`) reaches. */
import { fundingPayment, fundingRateBinance, nextFundingTime } from '../../domain/index.js';
import { HISTORY_MAX, type EngineContext } from './context.js';
import { ok } from './errors.js';
import type { MarketSpec } from './instruments.js';
import type { MarketState } from './state.js';

export function rateFor(premium: number, spec: MarketSpec): number {
  return ok(fundingRateBinance({ premium, intervalHours: spec.perp.fundingIntervalHours }), 'funding rate');
}

/** The rate the next stamp will settle: from the interval's time-weighted premium so far. */
export function currentRate(m: MarketState, spec: MarketSpec): number {
  if (m.fundingOverride !== null) return m.fundingOverride;
  return rateFor(m.premiumMs > 0 ? m.premiumSum / m.premiumMs : m.premium, spec);
}

export function settleFunding(ctx: EngineContext, m: MarketState, spec: MarketSpec, stamp: number): void {
  const s = ctx.state;
  const symbol = spec.perp.symbol;
  const rate = currentRate(m, spec);
  const pos = s.positions[symbol];
  let payment = 0;
  if (pos) {
    payment = ok(fundingPayment({ side: pos.side, size: pos.size, price: m.mark, rate }), 'funding payment');
    s.wallet += payment;
    s.accrued[symbol] = (s.accrued[symbol] ?? 0) + payment;
  }
  s.fundingHistory.push({ symbol, ts: stamp, rate, markPrice: m.mark, payment });
  if (s.fundingHistory.length > HISTORY_MAX) s.fundingHistory.splice(0, s.fundingHistory.length - HISTORY_MAX);
  m.lastSettledRate = rate;
  m.premiumSum = 0;
  m.premiumMs = 0;
  m.nextFundingTs = ok(nextFundingTime({ nowMs: stamp, intervalHours: spec.perp.fundingIntervalHours }), 'funding time').nextMs;
}
