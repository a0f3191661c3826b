/** State, lookups and valuation every engine seam reads; kept below the seams so none has to import another. */
import type { Account } from '../port.js';
import { round } from './checks.js';
import { unknownSymbol } from './errors.js';
import type { MarketSpec, SpotSpec } from './instruments.js';
import type { OrderBook } from './order-book.js';
import type { CoreState, MarketState, PositionState } from './state.js';

export interface Fees {
  perpMaker: number;
  perpTaker: number;
  spotMaker: number;
  spotTaker: number;
}

/** A listed spot pair, the perp whose index prices it, and its base currency. */
export interface SpotListing {
  spec: SpotSpec;
  perp: string;
  base: string;
}

export interface EngineContext {
  readonly specs: Map<string, MarketSpec>;
  readonly spotSpecs: Map<string, SpotListing>;
  readonly fees: Fees;
  readonly halfSpread: number;
  readonly initialBalance: number;
  /** Mutated in place, never replaced: the engine hands it out for persistence. */
  readonly state: CoreState;
  readonly book: OrderBook;
}

/** Liquidation and funding records kept (newest). */
export const HISTORY_MAX = 200;

export function canonical(symbol: unknown): string {
  return typeof symbol === 'string' ? symbol.trim().toUpperCase() : '';
}

export function perpMarket(ctx: EngineContext, symbol: string): { spec: MarketSpec; m: MarketState } {
  const sym = canonical(symbol);
  const spec = ctx.specs.get(sym);
  const m = ctx.state.markets[sym];
  if (!spec || !m) throw unknownSymbol(symbol);
  return { spec, m };
}

export function spotMarket(ctx: EngineContext, symbol: string): { spot: SpotListing; m: MarketState } {
  const spot = ctx.spotSpecs.get(canonical(symbol));
  const m = spot ? ctx.state.markets[spot.perp] : undefined;
  if (!spot || !m) throw unknownSymbol(symbol);
  return { spot, m };
}

export function spotPrice(m: MarketState, spot: SpotSpec): number {
  return round(m.index, spot.tickSize, 'nearest');
}

export function upnl(p: PositionState, mark: number): number {
  return (p.side === 'long' ? 1 : -1) * p.size * (mark - p.entry);
}

export function account(ctx: EngineContext): Account {
  const s = ctx.state;
  let upnlSum = 0;
  let margin = 0;
  for (const p of Object.values(s.positions)) {
    const m = s.markets[p.symbol];
    if (!m) continue;
    upnlSum += upnl(p, m.mark);
    margin += p.margin;
  }
  let spotValue = 0;
  for (const info of ctx.spotSpecs.values()) {
    const bal = s.spot[info.base] ?? 0;
    const m = s.markets[info.perp];
    if (bal !== 0 && m) spotValue += bal * spotPrice(m, info.spec);
  }
  const used = margin + ctx.book.reservedQuote;
  return { equity: s.wallet + upnlSum + spotValue, availableMargin: s.wallet - used, usedMargin: used, currency: 'USD' };
}

/** The price a marketable order fills at: the ask for a buy, the bid for a sell, `halfSpread` away from `ref`. */
export function touchPrice(ctx: EngineContext, ref: number, tickSize: number, side: 'buy' | 'sell'): number {
  return side === 'buy' ? round(ref * (1 + ctx.halfSpread), tickSize, 'up') : round(ref * (1 - ctx.halfSpread), tickSize, 'down');
}
