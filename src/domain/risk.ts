/** Pre-trade checks behind the `/order` preview (domain.md §5, "Order checks"). */
import { fail, guard, outOrNull, out, positive, unitInterval, type Sign } from './input.js';
import { bufferOf, isolatedLiq, type Side } from './liquidation.js';
import { gt, gte, lt } from './numbers.js';
import type { Result } from './result.js';

export type OrderWarning = 'leverage_capped' | 'notional_capped';
export type OrderBlocker =
  | 'leverage_too_high'
  | 'liq_buffer_below_min'
  | 'paused'
  | 'market_order_in_cascade'
  | 'limit_beyond_slippage';

export type OrderChecksInput = {
  side: Side;
  sizeUsd: number;
  leverage: number;
  mark: number;
  mmr: number;
  orderType?: 'market' | 'limit' | null;
  price?: number | null;
  maxLeverage?: number | null;
  maxNotional?: number | null;
  minBuffer?: number | null;
  maxSlippage?: number | null;
  reduceOnly?: boolean | null;
  paused?: boolean | null;
  cascadeActive?: boolean | null;
};

export type OrderChecks = {
  allowed: boolean;
  leverage: number;
  notional: number;
  liqPrice: number | null;
  warnings: OrderWarning[];
  blockers: OrderBlocker[];
};

/**
 * Caps leverage and notional (warnings), then lists every reason the order may not be sent (blockers, in a fixed
 * order). Reduce-only orders skip the liquidation and pause checks so a pause never traps a position.
 */
export function orderChecks(input: OrderChecksInput): Result<OrderChecks> {
  return guard(input, (f) => {
    const s = f.side();
    let notional = f.num('sizeUsd', 'invalid_size', positive);
    let leverage = f.num('leverage', 'invalid_leverage', (v) => v >= 1);
    const mark = f.num('mark', 'invalid_price', positive);
    const orderType = f.raw('orderType') ?? 'market';
    if (orderType !== 'market' && orderType !== 'limit') fail('invalid_order_type');
    const price = orderType === 'limit' ? f.num('price', 'invalid_price', positive) : mark;
    const mmr = f.num('mmr', 'invalid_margin_rate', unitInterval);
    const maxLeverage = f.opt('maxLeverage', 'invalid_leverage', 5, (v) => v >= 1);
    const maxNotional = f.opt('maxNotional', 'invalid_threshold', 10_000, positive);
    const minBuffer = f.opt('minBuffer', 'invalid_threshold', 0.1, unitInterval);
    const maxSlippage = f.opt('maxSlippage', 'invalid_threshold', 0.005, unitInterval);
    const reduceOnly = f.flag('reduceOnly');
    const paused = f.flag('paused');
    const cascadeActive = f.flag('cascadeActive');

    const warnings: OrderWarning[] = [];
    const blockers: OrderBlocker[] = [];
    if (leverage > maxLeverage) {
      leverage = maxLeverage;
      warnings.push('leverage_capped');
    }
    if (notional > maxNotional) {
      notional = maxNotional;
      warnings.push('notional_capped');
    }
    let liqPrice: number | null = null;
    if (!reduceOnly) {
      // Limit orders fill at their price, so liquidation is measured from there; the buffer is against mark.
      const liq = isolatedLiq(s, price, leverage, mmr);
      if (liq === 'too_high') blockers.push('leverage_too_high');
      else if (liq !== null) {
        liqPrice = liq;
        if (!gte(bufferOf(s, mark, liq), minBuffer)) blockers.push('liq_buffer_below_min');
      }
    }
    if (paused && !reduceOnly) blockers.push('paused');
    if (cascadeActive) {
      if (orderType === 'market') blockers.push('market_order_in_cascade');
      else if (limitBeyondSlippage(s, price, mark, maxSlippage)) blockers.push('limit_beyond_slippage');
    }
    return {
      allowed: blockers.length === 0,
      leverage: out(leverage),
      notional: out(notional),
      liqPrice: outOrNull(liqPrice),
      warnings,
      blockers,
    };
  });
}

/**
 * Cascade rule (domain.md §7): a limit buy more than `maxSlippage` above mark, or a sell as far below it, would sweep
 * a thin book like a market order.
 */
export function limitBeyondSlippage(s: Sign, price: number, mark: number, maxSlippage: number): boolean {
  return s === 1 ? gt(price / mark - 1, maxSlippage) : lt(price / mark - 1, -maxSlippage);
}
