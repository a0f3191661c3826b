/** Checks repeated after the preview: at the approval click and right before the order is sent. */
import type { Config } from '../../config/env.js';
import type { Exchange } from '../../exchange/port.js';
import { gt } from '../../domain/numbers.js';
import { pct, signedPct, usd } from '../../format.js';
import type { OrderPlan } from '../approvals/types.js';
import type { CascadeState } from '../cascade-state.js';
import type { KillSwitch } from '../kill-switch.js';
import { PRICE_TOLERANCE } from './policy.js';

export interface SubmissionGuardDeps {
  killSwitch: KillSwitch;
  config: Pick<Config, 'MAX_LEVERAGE' | 'MAX_NOTIONAL_USD'>;
}

export interface ApprovalGuardDeps extends SubmissionGuardDeps {
  exchange: Exchange;
  cascade: CascadeState;
  now(): number;
}

/**
 * Why an order may not be sent now, or null. Reduce-only closes pass a pause (a pause must never trap a position)
 * and the caps (they only shrink exposure).
 */
export async function submissionBlocker(plan: OrderPlan, d: SubmissionGuardDeps): Promise<string | null> {
  if (plan.reduceOnly) return null;
  const pause = await d.killSwitch.state();
  if (pause) return `trading is paused by ${pause.by}: ${pause.reason}`;
  if (gt(plan.leverage, d.config.MAX_LEVERAGE)) return `leverage ${plan.leverage}x is above the cap of ${d.config.MAX_LEVERAGE}x (MAX_LEVERAGE)`;
  if (plan.notional > d.config.MAX_NOTIONAL_USD * (1 + 1e-9)) {
    return `notional ${usd(plan.notional)} is above the cap of ${usd(d.config.MAX_NOTIONAL_USD)} (MAX_NOTIONAL_USD)`;
  }
  return null;
}

/** submissionBlocker, plus: the market has not moved beyond the tolerance, and no cascade forbids a market order. */
export async function approvalBlocker(plan: OrderPlan, d: ApprovalGuardDeps): Promise<string | null> {
  const b = await submissionBlocker(plan, d);
  if (b) return b;
  const t = await d.exchange.ticker(plan.symbol);
  const moved = t.markPrice / plan.refMark - 1;
  if (gt(Math.abs(moved), PRICE_TOLERANCE)) {
    return `the market moved ${signedPct(moved)} since the preview (tolerance ${pct(PRICE_TOLERANCE, 0)}); run the command again for a fresh preview`;
  }
  if (plan.orderType === 'market' && (await d.cascade.active(plan.symbol, d.now()))) {
    return `a liquidation cascade is running in ${plan.symbol}: market orders are refused; run the command again for a limit preview`;
  }
  return null;
}
