/** Position sizing: risk-based size, Kelly fraction, and exchange rounding of an order (domain.md §5). */
import { fail, guard, out, positive, nonNegative } from './input.js';
import { ceilToStep, exceedsRel, floorToStep, THRESHOLD_EPS } from './numbers.js';
import type { Side } from './liquidation.js';
import type { Result } from './result.js';

export type RiskSizeInput = {
  equity: number;
  riskFraction: number;
  side: Side;
  entry: number;
  stop: number;
  maxLeverage?: number | null;
  maxNotional?: number | null;
  lotSize: number;
  minQty?: number | null;
};

export type CappedBy = 'risk' | 'leverage' | 'notional';
export type RiskSize = { qty: number; notional: number; leverage: number; riskAmount: number; cappedBy: CappedBy };

/**
 * Size so that hitting the stop loses `equity * riskFraction`, capped by leverage and notional, floored to the
 * lot. Never rounds up: a lot that does not fit is not taken.
 */
export function riskSize(input: RiskSizeInput): Result<RiskSize> {
  return guard(input, (f) => {
    const equity = f.num('equity', 'invalid_equity', positive);
    const riskFraction = f.num('riskFraction', 'invalid_fraction', (v) => v > 0 && v <= 1);
    const s = f.side();
    const entry = f.num('entry', 'invalid_price', positive);
    const stop = f.num('stop', 'invalid_price', positive);
    if (s === 1 ? !(stop < entry) : !(stop > entry)) fail('invalid_stop');
    const maxLeverage = f.opt('maxLeverage', 'invalid_leverage', 5, (v) => v >= 1);
    const maxNotional = f.opt('maxNotional', 'invalid_threshold', 10_000, positive);
    const lot = f.num('lotSize', 'invalid_step', positive);
    const minQty = f.opt('minQty', 'invalid_size', 0, nonNegative);

    const dist = Math.abs(entry - stop) / entry;
    const candidates: [CappedBy, number][] = [
      ['risk', (equity * riskFraction) / dist],
      ['leverage', equity * maxLeverage],
      ['notional', maxNotional],
    ];
    let [cappedBy, target] = candidates[0] as [CappedBy, number];
    for (const [name, value] of candidates.slice(1)) {
      // Ties keep the earlier term; float noise must not turn an exact tie into a different reason.
      if (value < target - THRESHOLD_EPS * Math.max(1, target)) [cappedBy, target] = [name, value];
    }
    let qty = floorToStep(target / entry, lot);
    // The float snap may land a hair above the target; one lot less keeps the cap a cap.
    if (qty > 0 && exceedsRel(qty * entry, target)) qty = floorToStep(Math.max(0, qty - lot), lot);
    if (qty === 0 || qty < minQty) fail('below_min_quantity');
    const notional = qty * entry;
    return {
      qty: out(qty),
      notional: out(notional),
      leverage: out(notional / equity),
      riskAmount: out(qty * Math.abs(entry - stop)),
      cappedBy,
    };
  });
}

export type KellyInput = {
  p: number;
  b?: number | null;
  avgWin?: number | null;
  avgLoss?: number | null;
  fraction?: number | null;
};
export type Kelly = { full: number; sized: number };

/** `f* = p - (1 - p) / b`; `sized = max(0, f*) * fraction` (quarter-Kelly by default) is the fraction to risk. */
export function kelly(input: KellyInput): Result<Kelly> {
  return guard(input, (f) => {
    const p = f.num('p', 'invalid_probability', (v) => v >= 0 && v <= 1);
    const b = f.has('b')
      ? f.num('b', 'invalid_payoff', positive)
      : f.num('avgWin', 'invalid_payoff', positive) / f.num('avgLoss', 'invalid_payoff', positive);
    const fraction = f.opt('fraction', 'invalid_fraction', 0.25, (v) => v > 0 && v <= 1);
    const full = p - (1 - p) / b;
    return { full: out(full), sized: out(Math.max(0, full) * fraction) };
  });
}

export type RoundOrderInput = {
  side: Side;
  qty: number;
  price: number;
  lotSize: number;
  tickSize: number;
  maxNotional?: number | null;
  /** The price the notional cap is measured at (the worst the order can fill at); default the rounded price. */
  capPrice?: number | null;
};
export type RoundedOrder = { qty: number; price: number; notional: number };

/**
 * What is sent to the exchange: qty floored to the lot, buy limits floored and sell limits ceiled to the tick
 * (never worse than asked), and qty cut again if the rounded order would exceed the notional cap.
 */
export function roundOrder(input: RoundOrderInput): Result<RoundedOrder> {
  return guard(input, (f) => {
    const s = f.side();
    const rawQty = f.num('qty', 'invalid_size', nonNegative);
    const rawPrice = f.num('price', 'invalid_price', positive);
    const lot = f.num('lotSize', 'invalid_step', positive);
    const tick = f.num('tickSize', 'invalid_step', positive);
    const maxNotional = f.optOrNull('maxNotional', 'invalid_threshold', positive);
    const price = s === 1 ? floorToStep(rawPrice, tick) : ceilToStep(rawPrice, tick);
    if (!(price > 0)) fail('invalid_price');
    const capPrice = f.optOrNull('capPrice', 'invalid_price', positive) ?? price;
    let qty = floorToStep(rawQty, lot);
    if (maxNotional !== null && exceedsRel(qty * capPrice, maxNotional)) {
      qty = floorToStep(maxNotional / capPrice, lot);
      // The float snap may land a hair above the cap; one lot less keeps the cap a cap.
      if (qty > 0 && exceedsRel(qty * capPrice, maxNotional)) qty = floorToStep(Math.max(0, qty - lot), lot);
    }
    return { qty: out(qty), price: out(price), notional: out(qty * price) };
  });
}
