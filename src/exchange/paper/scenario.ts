/** Scenario controls (price, funding pin, cascade, reset, faucet): test and demo levers that no real venue has. */
import { isFinitePositive } from './checks.js';
import { canonical, perpMarket, type EngineContext } from './context.js';
import { rejected, unknownSymbol } from './errors.js';
import { moveIndex } from './market.js';
import { afterMove } from './matching.js';
import type { CascadeState } from './state.js';

export interface CascadeOptions {
  /** Open interest falls this many percent over the cascade (0 < x < 100). */
  oiDropPct: number;
  /** Price falls this many percent (negative: rises, a short squeeze). */
  priceDropPct: number;
  /** Ticks the move is spread over. */
  steps: number;
}

/** Sets a perp's mark (index follows, keeping the premium), or a spot pair's price (the index). */
export function setPrice(ctx: EngineContext, symbol: string, price: number): void {
  if (!isFinitePositive(price)) throw rejected('invalid_price', `price must be a positive number, got ${String(price)}`);
  const sym = canonical(symbol);
  const spotInfo = ctx.spotSpecs.get(sym);
  const perpSymbol = spotInfo ? spotInfo.perp : sym;
  const spec = ctx.specs.get(perpSymbol);
  const m = ctx.state.markets[perpSymbol];
  if (!spec || !m) throw unknownSymbol(symbol);
  const index = spotInfo ? price : price / (1 + m.premium);
  moveIndex(m, index / m.index);
  if (!spotInfo) m.mark = price;
  afterMove(ctx, spec, ctx.state.now);
}

/** Pins the funding rate (current and predicted) until `null` clears it. */
export function setFunding(ctx: EngineContext, symbol: string, rate: number | null): void {
  const { m } = perpMarket(ctx, symbol);
  if (rate !== null && (typeof rate !== 'number' || !Number.isFinite(rate) || Math.abs(rate) >= 1)) {
    throw rejected('invalid_rate', `funding rate must be a number between -1 and 1, got ${String(rate)}`);
  }
  m.fundingOverride = rate;
}

/** Over the next `steps` ticks OI falls `oiDropPct` % and price `priceDropPct` % (compounded evenly). */
export function startCascade(ctx: EngineContext, symbol: string, opts: CascadeOptions): void {
  const { m } = perpMarket(ctx, symbol);
  const { oiDropPct, priceDropPct, steps } = opts;
  if (typeof oiDropPct !== 'number' || !(oiDropPct > 0 && oiDropPct < 100)) {
    throw rejected('invalid_oi_drop', 'oi drop must be a percentage between 0 and 100');
  }
  if (typeof priceDropPct !== 'number' || !(priceDropPct > -100 && priceDropPct < 100)) {
    throw rejected('invalid_price_drop', 'price drop must be a percentage between -100 and 100');
  }
  if (!Number.isInteger(steps) || steps < 1 || steps > 10_000) {
    throw rejected('invalid_steps', 'steps must be an integer between 1 and 10000');
  }
  const cascade: CascadeState = {
    oiFactor: (1 - oiDropPct / 100) ** (1 / steps),
    priceFactor: (1 - priceDropPct / 100) ** (1 / steps),
    stepsLeft: steps,
  };
  m.cascade = cascade;
}

/** A fresh account (balance, no positions, orders or funding) and no scenario overrides; prices carry on. */
export function reset(ctx: EngineContext): void {
  const s = ctx.state;
  s.wallet = ctx.initialBalance;
  s.spot = {};
  s.positions = {};
  s.accrued = {};
  s.liquidations = [];
  s.fundingHistory = [];
  s.fillModels = {};
  s.frozenFeeds = {};
  for (const m of Object.values(s.markets)) {
    m.fundingOverride = null;
    m.cascade = null;
  }
  ctx.book.clear();
}

/** Adds quote currency to the wallet. */
export function faucet(ctx: EngineContext, amount: number): void {
  if (!isFinitePositive(amount) || amount > 1e12) throw rejected('invalid_amount', 'amount must be a positive number');
  ctx.state.wallet += amount;
}
