/** Funding harvester decisions, the funding-against rule and hedge PnL attribution (domain.md §8). */
import { harvesterShouldEnter, harvesterShouldExit } from './harvester-thresholds.js';
import { fail, guard, isFiniteNumber, out, positive, nonNegative, type Fields } from './input.js';
import { gt, gte, lt } from './numbers.js';
import type { Side } from './liquidation.js';
import type { Result } from './result.js';

export type FundingAgainstCloseInput = { side: Side; annRate: number; maxAgainstAnn?: number | null };

/**
 * Close when the position *pays* more than `maxAgainstAnn` a year (strict). A long pays a positive rate, a short
 * a negative one; the seed code tested the opposite signs and would have closed positions that were being paid.
 */
export function fundingAgainstClose(input: FundingAgainstCloseInput): Result<boolean> {
  return guard(input, (f) => {
    const s = f.side();
    const annRate = f.num('annRate', 'invalid_rate');
    const maxAgainst = f.opt('maxAgainstAnn', 'invalid_threshold', 1, positive);
    return gt(s * annRate, maxAgainst);
  });
}

export type HarvesterAction = 'enter' | 'exit' | 'hold' | 'none';
export type HarvesterReason =
  | 'rate_above_entry'
  | 'below_entry'
  | 'predicted_below_entry'
  | 'blocked_paused'
  | 'blocked_cascade'
  | 'funding_against'
  | 'below_exit'
  | 'above_exit';
export type HarvesterDecisionInput = {
  annRate: number;
  predictedAnnRate?: number | null;
  position?: 'short' | null;
  minAnnRate?: number | null;
  maxAgainstAnn?: number | null;
  paused?: boolean | null;
  cascadeActive?: boolean | null;
};
export type HarvesterDecision = { action: HarvesterAction; reason: HarvesterReason };

/**
 * Flat: enter when the current (and predicted, if known) annualised rate reaches the entry threshold, unless
 * paused or in a cascade. Short perp + long spot: exit when funding turns strongly against or decays below half
 * the entry threshold. The thresholds are shared with the backtest so both trade on the same rule.
 */
export function harvesterDecision(input: HarvesterDecisionInput): Result<HarvesterDecision> {
  return guard(input, (f): HarvesterDecision => {
    const annRate = f.num('annRate', 'invalid_rate');
    const predicted = f.optOrNull('predictedAnnRate', 'invalid_rate');
    const position = f.raw('position') ?? null;
    const minAnn = f.opt('minAnnRate', 'invalid_threshold', 0.5, positive);
    const maxAgainst = f.opt('maxAgainstAnn', 'invalid_threshold', 1, positive);
    const paused = f.flag('paused');
    const cascadeActive = f.flag('cascadeActive');
    if (position === null) {
      if (!harvesterShouldEnter(annRate, minAnn)) return { action: 'none', reason: 'below_entry' };
      if (predicted !== null && !gte(predicted, minAnn)) return { action: 'none', reason: 'predicted_below_entry' };
      if (paused) return { action: 'none', reason: 'blocked_paused' };
      if (cascadeActive) return { action: 'none', reason: 'blocked_cascade' };
      return { action: 'enter', reason: 'rate_above_entry' };
    }
    if (position !== 'short') return fail('invalid_position');
    if (lt(annRate, -maxAgainst)) return { action: 'exit', reason: 'funding_against' };
    if (harvesterShouldExit(annRate, minAnn)) return { action: 'exit', reason: 'below_exit' };
    return { action: 'hold', reason: 'above_exit' };
  });
}

export type HedgePnlInput = {
  perpSide: Side;
  perpQty: number;
  perpEntry: number;
  perpMark: number;
  spotQty: number;
  spotEntry: number;
  spotPrice: number;
  fundingPayments?: number[] | null;
  feesPaid?: number[] | null;
};
export type HedgePnl = { funding: number; fees: number; basis: number; delta: number; total: number };

function numberList(f: Fields, key: string, ok: (v: number) => boolean): number[] {
  const raw = f.raw(key) ?? [];
  if (!Array.isArray(raw) || !raw.every((v: unknown) => isFiniteNumber(v) && ok(v))) fail('invalid_value');
  return raw as number[];
}

/** Splits a perp+spot hedge's PnL into funding, fees, basis convergence and the residual delta of unequal legs. */
export function hedgePnl(input: HedgePnlInput): Result<HedgePnl> {
  return guard(input, (f) => {
    const s = f.side('perpSide');
    const qp = f.num('perpQty', 'invalid_size', nonNegative);
    const perpEntry = f.num('perpEntry', 'invalid_price', positive);
    const perpMark = f.num('perpMark', 'invalid_price', positive);
    const qs = f.num('spotQty', 'invalid_size', nonNegative);
    const spotEntry = f.num('spotEntry', 'invalid_price', positive);
    const spotPrice = f.num('spotPrice', 'invalid_price', positive);
    const payments = numberList(f, 'fundingPayments', () => true);
    const feesPaid = numberList(f, 'feesPaid', (v) => v >= 0);
    const funding = payments.reduce((a, x) => a + x, 0);
    const fees = -feesPaid.reduce((a, x) => a + x, 0);
    const basis = s * qp * (perpMark - spotPrice - (perpEntry - spotEntry));
    const delta = -s * (qs - qp) * (spotPrice - spotEntry);
    return {
      funding: out(funding),
      fees: out(fees),
      basis: out(basis),
      delta: out(delta),
      total: out(funding + fees + basis + delta),
    };
  });
}
