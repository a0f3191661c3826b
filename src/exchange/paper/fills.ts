/** A fill's effect on wallet, positions and OI: shared by orders filled on arrival and resting orders filled later. */
import { liqPriceIsolated } from '../../domain/index.js';
import type { OrderSide } from '../port.js';
import { round, SIZE_EPS } from './checks.js';
import type { EngineContext } from './context.js';
import { ok } from './errors.js';
import type { MarketSpec } from './instruments.js';
import type { OrderState, PositionState } from './state.js';

/**
 * Margin the order would lock when it fills: only the part that opens or adds exposure. A resting order
 * reserves for its whole size (`resting`), because the position it would reduce may be gone by then.
 */
export function openingMargin(
  ctx: EngineContext, symbol: string, side: OrderSide, qty: number, price: number, leverage: number, reduceOnly: boolean,
  resting = false,
): number {
  if (reduceOnly) return 0;
  const pos = ctx.state.positions[symbol];
  const opposing = !resting && pos && pos.side !== (side === 'buy' ? 'long' : 'short') ? pos.size : 0;
  return (Math.max(0, qty - opposing) * price) / leverage;
}

/** What is left to fill of an order. */
export function remainingOf(o: OrderState, lot: number): number {
  return round(Math.max(0, o.quantity - o.filledQuantity), lot, 'nearest');
}

/** Adds a fill of `qty` (default: all that is left) at `price` to the order: average price, fee and status follow. */
function addFill(o: OrderState, qty: number, price: number, fee: number, lot: number): void {
  const before = o.filledQuantity;
  const filled = round(before + qty, lot, 'nearest');
  o.avgPrice = before > 0 && o.avgPrice !== null ? (before * o.avgPrice + qty * price) / filled : price;
  o.filledQuantity = filled;
  o.fee += fee;
  o.status = filled >= o.quantity * (1 - SIZE_EPS) ? 'filled' : 'partially_filled';
}

export function fillPerp(
  ctx: EngineContext, o: OrderState, price: number, feeRate: number, nowMs: number, qty?: number,
): void {
  const spec = ctx.specs.get(o.symbol)!;
  const q = qty ?? remainingOf(o, spec.perp.lotSize);
  const fee = q * price * feeRate;
  ctx.state.wallet -= fee;
  applyPerpFill(ctx, spec, o.side === 'buy' ? 'long' : 'short', q, price, o.leverage, nowMs);
  addFill(o, q, price, fee, spec.perp.lotSize);
  ctx.book.markDirty(o.orderId);
}

function applyPerpFill(
  ctx: EngineContext, spec: MarketSpec, dir: 'long' | 'short', qty: number, price: number, lev: number, nowMs: number,
): void {
  const s = ctx.state;
  const symbol = spec.perp.symbol;
  const lot = spec.perp.lotSize;
  const m = s.markets[symbol]!;
  const pos = s.positions[symbol];
  let remaining = qty;
  if (pos && pos.side !== dir) {
    const closing = Math.min(remaining, pos.size);
    const sign = pos.side === 'long' ? 1 : -1;
    s.wallet += sign * closing * (price - pos.entry);
    const left = round(pos.size - closing, lot, 'nearest');
    m.oi = Math.max(0, m.oi - closing);
    if (left <= 0) {
      delete s.positions[symbol];
    } else {
      pos.margin *= left / pos.size;
      pos.size = left;
    }
    remaining = round(remaining - closing, lot, 'nearest');
  }
  if (remaining <= 0) return;
  m.oi += remaining;
  const cur = s.positions[symbol];
  if (!cur) {
    // Accrued funding counts from the opening of a position (domain.md §2).
    s.accrued[symbol] = 0;
    const margin = (remaining * price) / lev;
    s.positions[symbol] = withLiq(spec, {
      symbol, side: dir, size: remaining, entry: price, margin, leverage: lev, liq: null, openedAt: Math.trunc(nowMs),
    });
    return;
  }
  const size = round(cur.size + remaining, lot, 'nearest');
  cur.entry = (cur.size * cur.entry + remaining * price) / size;
  cur.margin += (remaining * price) / lev;
  cur.size = size;
  // Adding at another leverage blends into one effective leverage: notional at entry over margin.
  cur.leverage = (size * cur.entry) / cur.margin;
  withLiq(spec, cur);
}

function withLiq(spec: MarketSpec, p: PositionState): PositionState {
  p.liq = ok(liqPriceIsolated({
    side: p.side, entry: p.entry, leverage: p.leverage, mmr: spec.perp.maintenanceMarginRate,
  }), 'liquidation price');
  return p;
}

export function fillSpot(ctx: EngineContext, o: OrderState, base: string, price: number, feeRate: number, qty?: number): void {
  const s = ctx.state;
  const lot = ctx.spotSpecs.get(o.symbol)!.spec.lotSize;
  const q = qty ?? remainingOf(o, lot);
  const notional = q * price;
  const fee = notional * feeRate;
  const held = s.spot[base] ?? 0;
  if (o.side === 'buy') {
    s.wallet -= notional + fee;
    s.spot[base] = round(held + q, lot, 'nearest');
  } else {
    s.wallet += notional - fee;
    const left = round(Math.max(0, held - q), lot, 'nearest');
    if (left > 0) s.spot[base] = left;
    else delete s.spot[base];
  }
  addFill(o, q, price, fee, lot);
  ctx.book.markDirty(o.orderId);
}
