/** Runs after every price move (liquidation, then crossed resting orders), whereas placement runs per request. */
import { account, spotPrice, type EngineContext } from './context.js';
import { fillPerp, fillSpot, openingMargin } from './fills.js';
import type { MarketSpec } from './instruments.js';
import { checkLiquidation } from './liquidation.js';
import type { OrderState } from './state.js';

export function afterMove(ctx: EngineContext, spec: MarketSpec, nowMs: number): void {
  checkLiquidation(ctx, spec, nowMs);
  matchResting(ctx, spec, nowMs);
}

function matchResting(ctx: EngineContext, spec: MarketSpec, nowMs: number): void {
  const m = ctx.state.markets[spec.perp.symbol]!;
  const perpList = ctx.book.restingOn(spec.perp.symbol);
  if (perpList && perpList.length) {
    // Backwards: a fill removes the order from this list.
    for (let i = perpList.length - 1; i >= 0; i--) {
      const o = perpList[i]!;
      const px = o.price!;
      if (o.side === 'buy' ? m.mark <= px : m.mark >= px) fillRestingPerp(ctx, o, nowMs);
    }
  }
  const spot = spec.spot;
  const spotList = spot ? ctx.book.restingOn(spot.symbol) : undefined;
  if (spot && spotList && spotList.length) {
    const price = spotPrice(m, spot);
    const base = spec.perp.base;
    for (let i = spotList.length - 1; i >= 0; i--) {
      const o = spotList[i]!;
      const px = o.price!;
      if (o.side === 'buy' ? price <= px : price >= px) {
        ctx.book.release(o, base);
        fillSpot(ctx, o, base, px, ctx.fees.spotMaker);
        ctx.book.unrest(o);
      }
    }
  }
}

function fillRestingPerp(ctx: EngineContext, o: OrderState, nowMs: number): void {
  const price = o.price!;
  ctx.book.release(o, null);
  let qty = o.quantity;
  if (o.reduceOnly) {
    const pos = ctx.state.positions[o.symbol];
    if (!pos || pos.side === (o.side === 'buy' ? 'long' : 'short')) {
      ctx.book.closeResting(o, 'position_closed');
      return;
    }
    qty = Math.min(qty, pos.size);
  } else {
    const need = openingMargin(ctx, o.symbol, o.side, qty, price, o.leverage, false) + qty * price * ctx.fees.perpMaker;
    if (need > account(ctx).availableMargin + 1e-9) {
      ctx.book.closeResting(o, 'insufficient_margin');
      return;
    }
  }
  fillPerp(ctx, o, price, ctx.fees.perpMaker, nowMs, qty);
  if (qty < o.quantity) {
    // The position was smaller than the reduce-only order: the rest would open exposure, so it is dropped.
    o.status = 'canceled';
    o.rejectReason = 'reduce_only_remainder_canceled';
  }
  ctx.book.unrest(o);
}
