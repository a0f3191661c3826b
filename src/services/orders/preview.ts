/**
 * Builds the `/order` and `/close` previews: the exact order that approval would send (rounded to lot and tick),
 * and every risk check with its result. Reads the exchange only; nothing is sent.
 */
import type { Config } from '../../config/env.js';
import { UserError } from '../../errors.js';
import type { Exchange, Instrument, Position } from '../../exchange/port.js';
import {
  annualize, bufferOf, fundingAgainstClose, fundingPayment, formatCountdown, isDomainError, kelly, orderChecks,
  riskSize, roundOrder, worstFillPrice, type OrderChecks,
} from '../../domain/index.js';
import { compactUsd, multiple, pct, price as fmtPrice, ratePct, qty as fmtQty, signedPct, signedUsd, usd, utc } from '../../format.js';
import type { CascadeState } from '../cascade-state.js';
import type { KillSwitch } from '../kill-switch.js';
import type { MarketService } from '../market.js';
import type { SampleStore } from '../samples.js';
import { readOi, QUADRANT_WORDS } from '../oi-reading.js';
import type { OrderPlan, PreviewView } from '../approvals/types.js';
import {
  CASCADE_MAX_SLIPPAGE, DEFAULT_RISK_FRACTION, DEFAULT_STOP_DISTANCE, EST_MAKER_FEE, EST_TAKER_FEE, FUNDING_AGAINST_APR,
  FUNDING_STAMP_WARN_MS, KELLY_ASSUMPTION, MIN_LIQ_BUFFER, TOUCH_ALLOWANCE,
} from './policy.js';
import { leverageAfter, leverageAfterWords, notionalAtWorst, notionalWords, type RefusalReason } from './guards.js';

export type PreviewConfig = Pick<Config, 'MAX_LEVERAGE' | 'MAX_NOTIONAL_USD'>;

export interface PreviewDeps {
  exchange: Exchange;
  market: MarketService;
  samples: SampleStore;
  killSwitch: KillSwitch;
  cascade: CascadeState;
  config: PreviewConfig;
  now(): number;
}

export interface OpenOrderInput {
  symbol: string;
  side: 'long' | 'short';
  sizeUsd: number;
  leverage: number;
  /** Limit price; absent = market order. */
  price?: number;
}

export interface Preview {
  plan: OrderPlan;
  view: PreviewView;
  /** Reasons the order may not be sent; a blocked preview gets no Approve button. */
  blockers: string[];
  /** The same reasons as codes, for metrics. */
  reasons: RefusalReason[];
}

type Mark = '✅' | '⚠️' | '⛔';
interface Check {
  mark: Mark;
  text: string;
  reason?: RefusalReason;
}

/** A limit further than this from mark gets a warning line in the preview (not a blocker). */
export const LIMIT_FAR_FROM_MARK = 0.1;

const pass = (text: string): Check => ({ mark: '✅', text });
const warn = (text: string): Check => ({ mark: '⚠️', text });
const block = (reason: RefusalReason, text: string): Check => ({ mark: '⛔', text, reason });

function checkText(checks: Check[]): string {
  return ['Risk checks:', ...checks.map((c) => `${c.mark} ${c.text}`)].join('\n');
}

/** Refuses, with the cap named, anything above a configured limit: PerpDesk never lowers a trader's numbers silently. */
function refuseAboveCaps(inst: Instrument, input: OpenOrderInput, config: PreviewConfig): void {
  if (!(input.sizeUsd > 0)) throw new UserError('bad_size', 'size_usd must be more than 0.');
  if (!(input.leverage >= 1)) throw new UserError('bad_leverage', 'leverage must be at least 1.');
  if (input.leverage > config.MAX_LEVERAGE) {
    throw new UserError(
      'leverage_above_cap',
      `Refused: leverage ${input.leverage}x is above the desk's cap of ${config.MAX_LEVERAGE}x (MAX_LEVERAGE). ` +
        `Ask for ${config.MAX_LEVERAGE}x or less; PerpDesk never lowers it for you.`,
    );
  }
  if (input.leverage > inst.maxLeverage) {
    throw new UserError('leverage_above_exchange_max', `Refused: leverage ${input.leverage}x is above ${inst.symbol}'s exchange maximum of ${inst.maxLeverage}x.`);
  }
  if (input.sizeUsd > config.MAX_NOTIONAL_USD) {
    throw new UserError(
      'notional_above_cap',
      `Refused: size ${usd(input.sizeUsd)} is above the notional cap of ${usd(config.MAX_NOTIONAL_USD)} per order (MAX_NOTIONAL_USD). ` +
        `Ask for ${usd(config.MAX_NOTIONAL_USD)} or less; PerpDesk never lowers it for you.`,
    );
  }
  if (input.price !== undefined && !(input.price > 0)) throw new UserError('bad_price', 'price must be more than 0.');
}

function orderWords(plan: Pick<OrderPlan, 'orderType' | 'side' | 'price' | 'tickSize' | 'reduceOnly'>): string {
  const how = plan.orderType === 'limit' && plan.price !== null ? `Limit ${plan.side} at ${fmtPrice(plan.price, plan.tickSize)}` : `Market ${plan.side}`;
  return plan.reduceOnly ? `${how}, reduce-only` : how;
}

function feeText(notional: number, orderType: 'market' | 'limit'): string {
  return orderType === 'market'
    ? `≈ ${usd(notional * EST_TAKER_FEE)} (taker ${pct(EST_TAKER_FEE, 2)}, est.)`
    : `≤ ${usd(notional * EST_TAKER_FEE)} (maker ${pct(EST_MAKER_FEE, 2)} if it rests, taker ${pct(EST_TAKER_FEE, 2)} if it crosses; est.)`;
}

/** Cascade rules of domain.md §7 as one check line, using the blockers the domain computed. */
function cascadeCheck(symbol: string, cascade: { level: string } | null, c: OrderChecks): Check {
  if (!cascade) return pass(`No liquidation cascade in ${symbol}`);
  if (c.blockers.includes('market_order_in_cascade')) {
    return block('cascade_market_order', `Liquidation cascade (${cascade.level}) in ${symbol}: market orders are refused; use a limit within ${pct(CASCADE_MAX_SLIPPAGE, 1)} of mark`);
  }
  if (c.blockers.includes('limit_beyond_slippage')) {
    return block('cascade_limit_slippage', `Liquidation cascade (${cascade.level}) in ${symbol}: the limit must sit within ${pct(CASCADE_MAX_SLIPPAGE, 1)} of mark`);
  }
  return pass(`Liquidation cascade (${cascade.level}) in ${symbol}: limit within ${pct(CASCADE_MAX_SLIPPAGE, 1)} of mark is allowed`);
}

function pausedCheck(pause: { by: string; reason: string } | null, reduceOnly: boolean): Check {
  if (!pause) return pass('Trading is not paused');
  return reduceOnly
    ? pass(`Trading is paused by ${pause.by} (${pause.reason}); reduce-only closes still go through`)
    : block('paused', `Trading is paused by ${pause.by}: ${pause.reason}. /resume first`);
}

async function oiField(d: PreviewDeps, symbol: string, fundingRate: number, h: number): Promise<string> {
  try {
    const r = await readOi(d.exchange, d.samples, symbol, d.now());
    const funding = `funding ${signedPct(fundingRate, 4)}/${h}h`;
    if (r.oiChange === null || !r.quadrant) return `${compactUsd(r.openInterestUsd)}; no history yet for the change; ${funding}`;
    const words = QUADRANT_WORDS[r.quadrant.quadrant] ?? r.quadrant.quadrant;
    return `${compactUsd(r.openInterestUsd)}, ${signedPct(r.oiChange)} OI / ${signedPct(r.priceChange ?? 0)} price over ${Math.max(1, Math.round(r.spanMs / 60_000))} min: ${words}; ${funding}`;
  } catch {
    // The OI reading is context, not a check: an exchange hiccup here must not block the preview.
    return 'unavailable right now';
  }
}

function sizeHints(equity: number, side: 'long' | 'short', entry: number, inst: Instrument, config: PreviewConfig): { risk: string; kelly: string } {
  const stop = side === 'long' ? entry * (1 - DEFAULT_STOP_DISTANCE) : entry * (1 + DEFAULT_STOP_DISTANCE);
  const size = (riskFraction: number): string => {
    const r = riskSize({
      equity, riskFraction, side, entry, stop, maxLeverage: config.MAX_LEVERAGE, maxNotional: config.MAX_NOTIONAL_USD,
      lotSize: inst.lotSize, minQty: inst.minQuantity,
    });
    if (isDomainError(r)) return r.error === 'below_min_quantity' ? 'below the minimum quantity' : `n/a (${r.error})`;
    return `${usd(r.notional)} (${fmtQty(r.qty, inst.lotSize)} ${inst.base}, ${r.leverage.toFixed(2)}x leverage, capped by ${r.cappedBy})`;
  };
  const k = kelly(KELLY_ASSUMPTION);
  const kellyText = isDomainError(k) || k.sized <= 0
    ? 'no edge under the stated assumption'
    : `${size(Math.min(1, k.sized))}: risks ${pct(k.sized, 2)} of equity (assumes ${pct(KELLY_ASSUMPTION.p, 0)} wins at ${KELLY_ASSUMPTION.b}:1)`;
  return {
    risk: `${size(DEFAULT_RISK_FRACTION)}: risks ${pct(DEFAULT_RISK_FRACTION, 0)} of equity ${usd(equity)} with a ${pct(DEFAULT_STOP_DISTANCE, 0)} stop`,
    kelly: kellyText,
  };
}

/** The `/order` preview. Throws UserError for anything above a cap; lists every other check with its result. */
export async function previewOpen(d: PreviewDeps, input: OpenOrderInput): Promise<Preview> {
  const inst = await d.market.resolve(input.symbol);
  refuseAboveCaps(inst, input, d.config);
  const now = d.now();
  const [ticker, funding, account, positions, pause, cascade] = await Promise.all([
    d.exchange.ticker(inst.symbol),
    d.exchange.funding(inst.symbol),
    d.exchange.account(),
    d.exchange.positions(),
    d.killSwitch.state(),
    d.cascade.active(inst.symbol, now),
  ]);
  const mark = ticker.markPrice;
  const orderType = input.price === undefined ? 'market' : 'limit';
  const side = input.side === 'long' ? 'buy' : 'sell';
  const cannotRound = (error: string): UserError => new UserError('bad_order', `This order cannot be rounded to ${inst.symbol}'s steps (${error}).`);
  // The limit goes to the tick first (buys down, sells up): the worst fill price depends on the price actually sent.
  const limit = input.price === undefined ? null : roundOrder({ side: input.side, qty: 0, price: input.price, lotSize: inst.lotSize, tickSize: inst.tickSize });
  if (limit !== null && isDomainError(limit)) throw cannotRound(limit.error);
  const orderPrice = limit === null ? mark : limit.price;
  // Sized at the worst price it can fill at (a sell limit below mark fills near mark, not at its limit), so the
  // filled notional stays within what was asked and the cap.
  const worst = worstFillPrice({ side, orderType, price: limit?.price ?? null, mark, touchAllowance: TOUCH_ALLOWANCE });
  const rounded = roundOrder({
    side: input.side, qty: input.sizeUsd / worst, price: orderPrice, lotSize: inst.lotSize, tickSize: inst.tickSize,
    maxNotional: input.sizeUsd, capPrice: worst,
  });
  if (isDomainError(rounded)) throw cannotRound(rounded.error);
  const quantity = rounded.qty;
  if (!(quantity > 0) || quantity < inst.minQuantity) {
    throw new UserError(
      'below_min_quantity',
      `${usd(input.sizeUsd)} buys ${fmtQty(quantity, inst.lotSize)} ${inst.base} at ${fmtPrice(worst, inst.tickSize)}, below ${inst.symbol}'s minimum of ` +
        `${fmtQty(inst.minQuantity, inst.lotSize)} ${inst.base} (≈ ${usd(inst.minQuantity * worst)}).`,
    );
  }
  const sized = { side, orderType, price: limit?.price ?? null, quantity, base: inst.base, tickSize: inst.tickSize, lotSize: inst.lotSize } as const;
  const atWorst = notionalAtWorst(sized, mark, d.config);
  const notional = atWorst.notional;
  const lev = leverageAfter(positions, account.equity, { symbol: inst.symbol, positionSide: input.side, quantity }, atWorst.price, d.config);
  const margin = notional / input.leverage;
  const c = orderChecks({
    side: input.side, sizeUsd: notional, leverage: input.leverage, mark, mmr: inst.maintenanceMarginRate, orderType,
    price: orderType === 'limit' ? orderPrice : null, maxLeverage: d.config.MAX_LEVERAGE, maxNotional: d.config.MAX_NOTIONAL_USD,
    minBuffer: MIN_LIQ_BUFFER, maxSlippage: CASCADE_MAX_SLIPPAGE, reduceOnly: false, paused: pause !== null, cascadeActive: cascade !== null,
  });
  if (isDomainError(c)) throw new UserError('bad_order', `This order cannot be checked (${c.error}).`);

  const h = funding.fundingIntervalHours;
  const apr = annualize({ rate: funding.currentRate, intervalHours: h });
  const aprValue = isDomainError(apr) ? 0 : apr;
  const against = fundingAgainstClose({ side: input.side, annRate: aprValue, maxAgainstAnn: FUNDING_AGAINST_APR });
  const payment = fundingPayment({ side: input.side, size: quantity, price: mark, rate: funding.currentRate });
  const buffer = c.liqPrice === null ? null : bufferOf(input.side === 'long' ? 1 : -1, mark, c.liqPrice);
  // Worst case: a limit that crosses pays taker too.
  const fees = notional * EST_TAKER_FEE;

  const capWords = `${usd(d.config.MAX_NOTIONAL_USD)} (MAX_NOTIONAL_USD)`;
  const levCap = `${multiple(d.config.MAX_LEVERAGE)}`;
  const checks: Check[] = [
    pass(`Leverage ${multiple(input.leverage)} ≤ cap ${levCap} (MAX_LEVERAGE)`),
    atWorst.above
      ? block('notional_above_cap', `Notional ${notionalWords(sized, atWorst)} is above the cap of ${capWords}`)
      : pass(`Notional ${usd(notional)} at the worst fill price ≤ cap ${capWords}; checked again at the fresh mark on approval and before sending`),
    lev.above
      ? block('account_leverage_above_cap', `Account leverage after this order ${multiple(lev.leverage, 2)} is above the ${levCap} cap (MAX_LEVERAGE): ${leverageAfterWords(lev)}; reduce positions (/close) or add margin`)
      : pass(`Account leverage after this order ${multiple(lev.leverage, 2)} ≤ cap ${levCap} (MAX_LEVERAGE)`),
  ];
  if (c.blockers.includes('leverage_too_high')) {
    checks.push(block('liquidated_at_entry', `At ${input.leverage}x the maintenance margin (${pct(inst.maintenanceMarginRate, 2)}) reaches the initial margin: liquidated at entry`));
  } else if (buffer === null) {
    checks.push(pass('Liquidation: none at this leverage'));
  } else if (c.blockers.includes('liq_buffer_below_min')) {
    checks.push(block('liq_buffer_below_min', `Liquidation buffer ${pct(buffer, 1)} is below the ${pct(MIN_LIQ_BUFFER, 0)} minimum; lower the leverage`));
  } else {
    checks.push(pass(`Liquidation buffer ${pct(buffer, 1)} ≥ ${pct(MIN_LIQ_BUFFER, 0)}`));
  }
  const rateText = `${funding.currentRate > 0 ? '+' : ''}${ratePct(funding.currentRate)}/${h}h (${pct(aprValue, 2)} APR)`;
  checks.push(
    against === true
      ? warn(`Funding ${rateText} works strongly against a ${input.side} (beyond ${pct(FUNDING_AGAINST_APR, 0)} APR)`)
      : pass(`Funding ${rateText} is not strongly against a ${input.side}`),
  );
  if (orderType === 'limit' && Math.abs(orderPrice / mark - 1) > LIMIT_FAR_FROM_MARK) {
    // Usually a typo (a missing digit): the size, margin and funding above assume a fill at the limit price.
    const gap = pct(Math.abs(orderPrice / mark - 1), 1);
    const below = orderPrice < mark;
    checks.push(warn(
      (side === 'buy') === below
        ? `Limit ${side} at ${fmtPrice(orderPrice, inst.tickSize)} is ${gap} ${below ? 'below' : 'above'} mark: it rests until the market gets there; check the price`
        : `Limit ${side} at ${fmtPrice(orderPrice, inst.tickSize)} is ${gap} ${below ? 'below' : 'above'} mark: it fills at once near mark, so the quantity is sized there, not at your limit; check the price`,
    ));
  }
  checks.push(pausedCheck(pause, false));
  checks.push(cascadeCheck(inst.symbol, cascade, c));
  const marginNeed = margin + fees;
  checks.push(
    marginNeed <= account.availableMargin
      ? pass(`Margin ${usd(margin)} + fees fits the available ${usd(account.availableMargin)}`)
      : block('insufficient_margin', `Margin ${usd(margin)} + fees is more than the available ${usd(account.availableMargin)}`),
  );
  const blockers = checks.filter((x) => x.mark === '⛔').map((x) => x.text);
  const reasons = checks.flatMap((x) => (x.reason ? [x.reason] : []));

  // Hints are sized at the same worst fill price as the order, so a hinted size passes the notional cap.
  const hints = sizeHints(account.equity, input.side, atWorst.price, inst, d.config);
  const priceNote = orderType === 'limit' && orderPrice !== input.price
    ? ` (asked ${input.price}, rounded ${side === 'buy' ? 'down' : 'up'} to the ${inst.tickSize} tick)`
    : '';
  const fields = [
    { name: 'Order', value: `${orderWords({ orderType, side, price: orderType === 'limit' ? orderPrice : null, tickSize: inst.tickSize, reduceOnly: false })}${priceNote}`, inline: true },
    { name: 'Quantity', value: `${fmtQty(quantity, inst.lotSize)} ${inst.base} (rounded down to the ${inst.lotSize} lot)`, inline: true },
    {
      name: 'Notional',
      value: atWorst.basis === 'the limit'
        ? `${usd(notional)} (asked ${usd(input.sizeUsd)})`
        : `${usd(notional)} at most, at ${fmtPrice(atWorst.price, inst.tickSize)} = ${atWorst.basis} (asked ${usd(input.sizeUsd)})`,
      inline: true,
    },
    { name: 'Leverage · margin', value: `${multiple(input.leverage)} · ${usd(margin)}`, inline: true },
    { name: 'Mark', value: fmtPrice(mark, inst.tickSize), inline: true },
    {
      name: 'Liquidation',
      value: c.liqPrice === null ? (c.blockers.includes('leverage_too_high') ? 'at entry' : 'none') : `${fmtPrice(c.liqPrice, inst.tickSize)} (buffer ${pct(buffer ?? 0, 1)})`,
      inline: true,
    },
    {
      name: 'Next funding',
      value: `${utc(funding.nextFundingTs)} (in ${formatCountdown(funding.nextFundingTs - now)}): ${isDomainError(payment) ? 'n/a' : `${signedUsd(payment)} (+ receives, − pays)`}`,
    },
    { name: 'Fees', value: feeText(notional, orderType), inline: true },
    { name: 'Open interest', value: await oiField(d, inst.symbol, funding.currentRate, h) },
    { name: 'Requested size', value: `${usd(notional)} at ${multiple(input.leverage)}` },
    { name: 'Suggested size (risk-based)', value: hints.risk },
    { name: 'Quarter-Kelly', value: hints.kelly },
  ];
  const plan: OrderPlan = {
    kind: 'open', symbol: inst.symbol, base: inst.base, positionSide: input.side, side, orderType, quantity,
    price: orderType === 'limit' ? orderPrice : null, leverage: input.leverage, reduceOnly: false, notional, refMark: mark,
    tickSize: inst.tickSize, lotSize: inst.lotSize,
  };
  return {
    plan,
    blockers,
    reasons,
    view: { title: `Order preview: ${input.side.toUpperCase()} ${fmtQty(quantity, inst.lotSize)} ${inst.symbol}`, fields, text: checkText(checks) },
  };
}

/** The `/close` preview: a reduce-only order for the whole position (a limit near mark while a cascade runs). */
export async function previewClose(d: PreviewDeps, input: { symbol: string }): Promise<Preview> {
  const inst = await d.market.resolve(input.symbol);
  const now = d.now();
  const [ticker, funding, positions, pause, cascade] = await Promise.all([
    d.exchange.ticker(inst.symbol),
    d.exchange.funding(inst.symbol),
    d.exchange.positions(),
    d.killSwitch.state(),
    d.cascade.active(inst.symbol, now),
  ]);
  const pos: Position | undefined = positions.find((p) => p.symbol === inst.symbol && p.size > 0);
  if (!pos) throw new UserError('no_position', `There is no open position in ${inst.symbol} to close.`);
  const mark = ticker.markPrice;
  const side = pos.side === 'long' ? 'sell' : 'buy';
  // Cascade rule (domain.md §7): closes go as limit orders, placed at the edge of the allowed band so they fill.
  const orderType = cascade ? 'limit' : 'market';
  const raw = side === 'sell' ? mark * (1 - CASCADE_MAX_SLIPPAGE) : mark * (1 + CASCADE_MAX_SLIPPAGE);
  const rounded = roundOrder({ side: pos.side === 'long' ? 'short' : 'long', qty: pos.size, price: raw, lotSize: inst.lotSize, tickSize: inst.tickSize });
  if (isDomainError(rounded)) throw new UserError('bad_order', `The position cannot be rounded to ${inst.symbol}'s steps (${rounded.error}).`);
  const quantity = rounded.qty;
  if (!(quantity > 0)) throw new UserError('below_min_quantity', `The ${inst.symbol} position is smaller than one lot and cannot be closed by order.`);
  const orderPrice = orderType === 'limit' ? rounded.price : mark;
  const leverage = Math.max(1, Math.min(pos.leverage, inst.maxLeverage));
  const c = orderChecks({
    side: pos.side === 'long' ? 'short' : 'long', sizeUsd: quantity * orderPrice, leverage, mark, mmr: inst.maintenanceMarginRate,
    orderType, price: orderType === 'limit' ? orderPrice : null, reduceOnly: true, paused: pause !== null, cascadeActive: cascade !== null,
    maxLeverage: Math.max(leverage, d.config.MAX_LEVERAGE), maxNotional: Math.max(quantity * orderPrice, d.config.MAX_NOTIONAL_USD),
    maxSlippage: CASCADE_MAX_SLIPPAGE,
  });
  if (isDomainError(c)) throw new UserError('bad_order', `This close cannot be checked (${c.error}).`);
  const notional = quantity * orderPrice;
  const payment = fundingPayment({ side: pos.side, size: pos.size, price: mark, rate: funding.currentRate });
  const toStamp = funding.nextFundingTs - now;

  const checks: Check[] = [pass('Reduce-only: can only shrink the position')];
  checks.push(pausedCheck(pause, true));
  checks.push(cascadeCheck(inst.symbol, cascade, c));
  if (toStamp >= 0 && toStamp < FUNDING_STAMP_WARN_MS && !isDomainError(payment) && payment !== 0) {
    const mins = Math.max(1, Math.ceil(toStamp / 60_000));
    checks.push(
      payment > 0
        ? warn(`Funding stamp in ${mins} min: closing now forfeits the next payment of ${signedUsd(payment)} (only positions open at the stamp are paid)`)
        : warn(`Funding stamp in ${mins} min: closing now avoids the next payment of ${signedUsd(payment)}`),
    );
  } else if (toStamp >= 0 && toStamp < FUNDING_STAMP_WARN_MS) {
    checks.push(warn(`Funding stamp in ${Math.max(1, Math.ceil(toStamp / 60_000))} min: closing now settles before it`));
  }
  const blockers = checks.filter((x) => x.mark === '⛔').map((x) => x.text);
  const reasons = checks.flatMap((x) => (x.reason ? [x.reason] : []));
  const fields = [
    {
      name: 'Position',
      value: `${pos.side} ${fmtQty(pos.size, inst.lotSize)} ${inst.base} at ${fmtPrice(pos.entryPrice, inst.tickSize)} · ${multiple(pos.leverage)} · PnL ${signedUsd(pos.unrealizedPnl)}`,
    },
    { name: 'Order', value: orderWords({ orderType, side, price: orderType === 'limit' ? orderPrice : null, tickSize: inst.tickSize, reduceOnly: true }), inline: true },
    { name: 'Quantity', value: `${fmtQty(quantity, inst.lotSize)} ${inst.base}`, inline: true },
    { name: 'Notional', value: usd(notional), inline: true },
    { name: 'Mark', value: fmtPrice(mark, inst.tickSize), inline: true },
    { name: 'Fees', value: feeText(notional, orderType), inline: true },
    {
      name: 'Next funding',
      value: `${utc(funding.nextFundingTs)} (in ${formatCountdown(toStamp)}): ${isDomainError(payment) ? 'n/a' : `${signedUsd(payment)} if still open (+ receives, − pays)`}`,
    },
    { name: 'Open interest', value: await oiField(d, inst.symbol, funding.currentRate, funding.fundingIntervalHours) },
  ];
  const plan: OrderPlan = {
    kind: 'close', symbol: inst.symbol, base: inst.base, positionSide: pos.side, side, orderType, quantity,
    price: orderType === 'limit' ? orderPrice : null, leverage, reduceOnly: true, notional, refMark: mark,
    tickSize: inst.tickSize, lotSize: inst.lotSize,
  };
  return {
    plan,
    blockers,
    reasons,
    view: { title: `Close preview: ${pos.side.toUpperCase()} ${fmtQty(quantity, inst.lotSize)} ${inst.symbol}`, fields, text: checkText(checks) },
  };
}
