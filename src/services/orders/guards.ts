/**
 * The checks an order passes again after its preview: at the approval click and right before every send to the
 * exchange (the first one and any re-send by a retry or the reconcile sweep), each time with a fresh ticker, account
 * and positions. The preview shows the same rules as check lines; the numbers come from the functions here.
 */
import type { Config } from '../../config/env.js';
import type { Exchange, Position } from '../../exchange/port.js';
import {
  aboveLeverageCap, accountLeverage, exceedsRel, grossNotionalAfter, gt, limitBeyondSlippage, worstFillPrice,
} from '../../domain/index.js';
import { multiple, pct, price as fmtPrice, qty as fmtQty, signedPct, usd } from '../../format.js';
import type { OrderPlan } from '../approvals/types.js';
import type { CascadeState } from '../cascade-state.js';
import type { KillSwitch } from '../kill-switch.js';
import { CASCADE_MAX_SLIPPAGE, PRICE_TOLERANCE, TOUCH_ALLOWANCE } from './policy.js';

export type GuardConfig = Pick<Config, 'MAX_LEVERAGE' | 'MAX_NOTIONAL_USD'>;

export interface OrderGuardDeps {
  exchange: Exchange;
  killSwitch: KillSwitch;
  cascade: CascadeState;
  config: GuardConfig;
  now(): number;
}

type Priced = Pick<OrderPlan, 'side' | 'orderType' | 'price' | 'quantity' | 'base' | 'tickSize' | 'lotSize'>;

export interface NotionalAtWorst {
  /** The highest price the order can fill at with this mark. */
  price: number;
  notional: number;
  /** How that price was found, for people: "mark 65,000.00 + 0.1% fill allowance" or "the limit". */
  basis: string;
  above: boolean;
}

/** The order's notional at the worst price it can fill at (domain worstFillPrice), against MAX_NOTIONAL_USD. */
export function notionalAtWorst(plan: Priced, mark: number, config: GuardConfig): NotionalAtWorst {
  const price = worstFillPrice({ side: plan.side, orderType: plan.orderType, price: plan.price, mark, touchAllowance: TOUCH_ALLOWANCE });
  const notional = plan.quantity * price;
  const atTouch = plan.orderType === 'market' || plan.price === null || price !== plan.price;
  const basis = atTouch ? `mark ${fmtPrice(mark, plan.tickSize)} + ${pct(TOUCH_ALLOWANCE, 1)} fill allowance` : 'the limit';
  return { price, notional, basis, above: exceedsRel(notional, config.MAX_NOTIONAL_USD) };
}

export function notionalWords(plan: Priced, n: NotionalAtWorst): string {
  return `${fmtQty(plan.quantity, plan.lotSize)} ${plan.base} × ${fmtPrice(n.price, plan.tickSize)} (${n.basis}) = ${usd(n.notional)}`;
}

export interface LeverageAfter {
  leverage: number;
  notional: number;
  equity: number;
  above: boolean;
}

/** Account leverage once the order has filled, by the risk monitor's rule, against MAX_LEVERAGE. */
export function leverageAfter(
  positions: readonly Position[], equity: number, plan: Pick<OrderPlan, 'symbol' | 'positionSide' | 'quantity'>, fillPrice: number,
  config: GuardConfig,
): LeverageAfter {
  const notional = grossNotionalAfter(positions, { symbol: plan.symbol, side: plan.positionSide, quantity: plan.quantity, price: fillPrice });
  const leverage = accountLeverage(notional, equity);
  return { leverage, notional, equity, above: aboveLeverageCap(leverage, config.MAX_LEVERAGE) };
}

export function leverageAfterWords(l: LeverageAfter): string {
  return `${multiple(l.leverage, 2)} (gross notional ${usd(l.notional)} on equity ${usd(l.equity)})`;
}

const FRESH = 'run the command again for a fresh preview';

/**
 * Why a check turned an order down, as a code for metrics (`perpdesk_orders_refused_total`): the same words the
 * preview's refusals use (UserError identifiers such as `notional_above_cap`).
 */
export type RefusalReason =
  | 'paused' | 'leverage_above_cap' | 'price_moved' | 'cascade_market_order' | 'cascade_limit_slippage'
  | 'notional_above_cap' | 'account_leverage_above_cap' | 'liquidated_at_entry' | 'liq_buffer_below_min'
  | 'insufficient_margin' | 'self_approval';

export interface Blocker {
  reason: RefusalReason;
  /** For people: what stops the order and what to do. */
  text: string;
}

const blocked = (reason: RefusalReason, text: string): Blocker => ({ reason, text });

/**
 * Why the order may not be sent now, or null. Reduce-only closes pass a pause (a pause must never trap a position),
 * the caps and the account leverage rule (they only shrink exposure); the price tolerance and the cascade rules
 * apply to every order.
 */
export async function orderBlocker(plan: OrderPlan, d: OrderGuardDeps): Promise<Blocker | null> {
  const opening = !plan.reduceOnly;
  const [pause, ticker, cascade, account, positions] = await Promise.all([
    opening ? d.killSwitch.state() : null,
    d.exchange.ticker(plan.symbol),
    d.cascade.active(plan.symbol, d.now()),
    opening ? d.exchange.account() : null,
    opening ? d.exchange.positions() : null,
  ]);
  const cap = d.config;
  if (pause) return blocked('paused', `trading is paused by ${pause.by}: ${pause.reason}`);
  if (opening && gt(plan.leverage, cap.MAX_LEVERAGE)) {
    return blocked('leverage_above_cap', `leverage ${multiple(plan.leverage)} is above the cap of ${multiple(cap.MAX_LEVERAGE)} (MAX_LEVERAGE)`);
  }
  const mark = ticker.markPrice;
  const moved = mark / plan.refMark - 1;
  if (gt(Math.abs(moved), PRICE_TOLERANCE)) {
    return blocked('price_moved', `the market moved ${signedPct(moved)} since the preview (tolerance ${pct(PRICE_TOLERANCE, 0)}); ${FRESH}`);
  }
  if (cascade) {
    const running = `a liquidation cascade (${cascade.level}) is running in ${plan.symbol}`;
    if (plan.orderType === 'market' || plan.price === null) return blocked('cascade_market_order', `${running}: market orders are refused; ${FRESH} (a limit)`);
    if (limitBeyondSlippage(plan.side === 'buy' ? 1 : -1, plan.price, mark, CASCADE_MAX_SLIPPAGE)) {
      return blocked('cascade_limit_slippage', `${running}: the limit ${fmtPrice(plan.price, plan.tickSize)} is more than ${pct(CASCADE_MAX_SLIPPAGE, 1)} from mark ${fmtPrice(mark, plan.tickSize)}; ${FRESH}`);
    }
  }
  if (!opening || !account || !positions) return null;
  const n = notionalAtWorst(plan, mark, cap);
  if (n.above) {
    return blocked('notional_above_cap', `notional ${notionalWords(plan, n)} is above the cap of ${usd(cap.MAX_NOTIONAL_USD)} (MAX_NOTIONAL_USD) at the fresh mark; ${FRESH}`);
  }
  const l = leverageAfter(positions, account.equity, plan, n.price, cap);
  if (l.above) {
    return blocked('account_leverage_above_cap', `account leverage after this order would be ${leverageAfterWords(l)}, above the cap of ${multiple(cap.MAX_LEVERAGE)} (MAX_LEVERAGE); reduce positions or add margin first`);
  }
  return null;
}
