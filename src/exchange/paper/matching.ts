/** Runs after every price move (liquidation, then crossed resting orders), whereas placement runs per request. */
import { account, spotPrice, touchPrice, type EngineContext } from './context.js';
import { holdsBack } from './fill-models.js';
import { fillPerp, fillSpot, openingMargin, remainingOf } from './fills.js';
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
    const hold = holdsBack(ctx, spec.perp.symbol);
    // Backwards: a fill removes the order from this list.
    for (let i = perpList.length - 1; i >= 0; i--) {
      const o = perpList[i]!;
      if (o.held) {
        if (hold) continue;
        // Released by the fill model: fills at the touch if still marketable, else rests at its limit.
        o.held = false;
        const touch = touchPrice(ctx, m.mark, spec.perp.tickSize, o.side);
        if (o.price === null || (o.side === 'buy' ? touch <= o.price : touch >= o.price)) {
          fillRestingPerp(ctx, o, touch, ctx.fees.perpTaker, nowMs);
          continue;
        }
      }
      const px = o.price!;
      if (o.side === 'buy' ? m.mark <= px : m.mark >= px) fillRestingPerp(ctx, o, px, ctx.fees.perpMaker, nowMs);
    }
  }
  const spot = spec.spot;
  const spotList = spot ? ctx.book.restingOn(spot.symbol) : undefined;
  if (spot && spotList && spotList.length) {
    const price = spotPrice(m, spot);
    const base = spec.perp.base;
    const hold = holdsBack(ctx, spot.symbol);
    for (let i = spotList.length - 1; i >= 0; i--) {
      const o = spotList[i]!;
      let px = o.price;
      let fee = ctx.fees.spotMaker;
      if (o.held) {
        if (hold) continue;
        o.held = false;
        const touch = touchPrice(ctx, m.index, spot.tickSize, o.side);
        if (o.price === null || (o.side === 'buy' ? touch <= o.price : touch >= o.price)) {
          px = touch;
          fee = ctx.fees.spotTaker;
        }
      }
      if (px === null) continue;
      if (px !== o.price || (o.side === 'buy' ? price <= px : price >= px)) {
        ctx.book.release(o, base);
        fillSpot(ctx, o, base, px, fee);
        ctx.book.unrest(o);
      }
    }
  }
}

function fillRestingPerp(ctx: EngineContext, o: OrderState, price: number, feeRate: number, nowMs: number): void {
  ctx.book.release(o, null);
  const rest = remainingOf(o, ctx.specs.get(o.symbol)!.perp.lotSize);
  let qty = rest;
  if (o.reduceOnly) {
    const pos = ctx.state.positions[o.symbol];
    if (!pos || pos.side === (o.side === 'buy' ? 'long' : 'short')) {
      ctx.book.closeResting(o, 'position_closed');
      return;
    }
    qty = Math.min(qty, pos.size);
  } else {
    const need = openingMargin(ctx, o.symbol, o.side, qty, price, o.leverage, false) + qty * price * feeRate;
    if (need > account(ctx).availableMargin + 1e-9) {
      ctx.book.closeResting(o, 'insufficient_margin');
      return;
    }
  }
  fillPerp(ctx, o, price, feeRate, nowMs, qty);
  if (qty < rest) {
    // The position was smaller than the reduce-only order: the rest would open exposure, so it is dropped.
    o.status = 'canceled';
    o.rejectReason = 'reduce_only_remainder_canceled';
  }
  ctx.book.unrest(o);
}
