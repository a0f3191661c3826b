/** Isolated-margin liquidation: checked after every price move, before any resting order may fill at the new price. */
import { HISTORY_MAX, type EngineContext } from './context.js';
import type { MarketSpec } from './instruments.js';

/** Liquidated at the liquidation price: the isolated margin is lost, the position and its OI leave the book. */
export function checkLiquidation(ctx: EngineContext, spec: MarketSpec, nowMs: number): void {
  const s = ctx.state;
  const symbol = spec.perp.symbol;
  const p = s.positions[symbol];
  const m = s.markets[symbol]!;
  if (!p || p.liq === null) return;
  const crossed = p.side === 'long' ? m.mark <= p.liq : m.mark >= p.liq;
  if (!crossed) return;
  s.wallet -= p.margin;
  m.oi = Math.max(0, m.oi - p.size);
  delete s.positions[symbol];
  s.liquidations.push({
    symbol, side: p.side, size: p.size, entry: p.entry, liqPrice: p.liq, markPrice: m.mark, marginLost: p.margin,
    ts: Math.trunc(nowMs),
  });
  if (s.liquidations.length > HISTORY_MAX) s.liquidations.splice(0, s.liquidations.length - HISTORY_MAX);
  for (const o of [...ctx.book.restingList(symbol)]) {
    if (o.reduceOnly) ctx.book.closeResting(o, 'position_liquidated');
  }
}
