/**
 * The paper exchange's engine: market state, order matching, isolated-margin positions, liquidation and funding,
 * all in memory and synchronous. No I/O and no clock: every call that can change the market takes `nowMs`.
 * Formulas come from the domain library (funding rate, payment, liquidation price, next stamp, step rounding);
 * the engine only decides when they apply. This class is the public face and the clock (`tick`); each seam
 * (orders, matching, fills, funding, liquidation, scenario controls) lives in its own module on a shared context.
 */
import type {
  Account, AccruedFunding, FundingInfo, Instrument, ListOrdersQuery, OpenInterest, Order, Position, SpotTicker,
  Ticker,
} from '../port.js';
import { FEE_SCHEDULE } from '../../domain/fees.js';
import { isFinitePositive, round } from './checks.js';
import {
  account, perpMarket, spotMarket, spotPrice, upnl, type EngineContext, type Fees, type SpotListing,
} from './context.js';
import { currentRate, rateFor, settleFunding } from './funding.js';
import { DEFAULT_MARKETS, type MarketSpec, type SpotSpec } from './instruments.js';
import { cascadeStep, evolveMarket, freshMarket, type ReplaySeries } from './market.js';
import { afterMove } from './matching.js';
import { OrderBook, publicOrder } from './order-book.js';
import { cancelOrder, placePerpOrder, placeSpotOrder, type PaperOrderRequest, type PaperSpotOrderRequest } from './orders.js';
import { setFillModel, type FillMode } from './fill-models.js';
import { faucet, reset, setFunding, setPrice, startCascade, type CascadeOptions } from './scenario.js';
import { frozenAnswer, setFeedMode, type FeedMode, type FrozenFeed, type LiveAnswers, type PaperFeed } from './feed-freeze.js';
import type { CoreState, FillModel, FundingRecord, LiquidationRecord, MarketState, OrderState, PositionState } from './state.js';

export type { Fees } from './context.js';
export type { ReplaySeries } from './market.js';
export type { PaperOrderRequest, PaperSpotOrderRequest } from './orders.js';
export type { CascadeOptions } from './scenario.js';
export type { FillMode } from './fill-models.js';
export type { FeedMode, PaperFeed } from './feed-freeze.js';

export interface EngineConfig {
  markets?: readonly MarketSpec[];
  /** Seed of the price walk: the same seed, markets and tick times give the same prices. */
  seed?: number;
  initialBalance?: number;
  /** Multiplies every random move (price, premium, OI drift); 0 freezes the market between scenario controls. */
  volatilityScale?: number;
  fees?: Partial<Fees>;
  /** Market orders fill this fraction away from mark (buy above, sell below). */
  halfSpread?: number;
  /** Index replay per perp symbol instead of the random walk. */
  replay?: Record<string, ReplaySeries>;
  /** Closed orders beyond this many are forgotten (oldest first); their client_order_ids with them. */
  maxOrders?: number;
}

/** The schedule every PerpDesk estimate uses (domain/fees.ts), so the paper venue charges what the desk expects. */
const DEFAULT_FEES: Fees = { ...FEE_SCHEDULE };

export class PaperEngine {
  readonly initialBalance: number;
  private readonly volatility: number;
  private readonly replay: Record<string, ReplaySeries>;
  private readonly seed: number;
  private readonly ctx: EngineContext;

  constructor(config: EngineConfig, nowMs: number, restore?: { core: CoreState; orders: OrderState[] }) {
    const specs = new Map<string, MarketSpec>();
    const spotSpecs = new Map<string, SpotListing>();
    const markets = config.markets ?? DEFAULT_MARKETS;
    for (const m of markets) {
      specs.set(m.perp.symbol, m);
      if (m.spot) spotSpecs.set(m.spot.symbol, { spec: m.spot, perp: m.perp.symbol, base: m.perp.base });
    }
    this.seed = config.seed ?? 1;
    this.initialBalance = config.initialBalance ?? 100_000;
    const fees = { ...DEFAULT_FEES, ...config.fees };
    const halfSpread = config.halfSpread ?? 0.00005;
    this.volatility = config.volatilityScale ?? 1;
    this.replay = config.replay ?? {};
    const maxOrders = config.maxOrders ?? 5000;
    if (!(this.initialBalance > 0) || !(this.volatility >= 0) || !(halfSpread >= 0)) {
      throw new RangeError('paper engine: initialBalance > 0, volatilityScale >= 0 and halfSpread >= 0 are required');
    }
    for (const [symbol, r] of Object.entries(this.replay)) {
      if (!specs.has(symbol) || r.closes.length === 0 || !(r.msPerBar > 0) || !r.closes.every(isFinitePositive)) {
        throw new RangeError(`paper engine: bad replay series for ${symbol}`);
      }
    }
    const state = restore ? this.adopt(specs, restore.core, nowMs) : this.fresh(specs, Math.trunc(nowMs));
    const book = new OrderBook(maxOrders, (symbol) => spotSpecs.get(symbol)?.base);
    this.ctx = { specs, spotSpecs, fees, halfSpread, initialBalance: this.initialBalance, state, book };
    for (const o of restore?.orders ?? []) book.index(o);
  }

  // --- queries --------------------------------------------------------------------------------------------

  get now(): number {
    return this.ctx.state.now;
  }

  instruments(): Instrument[] {
    return [...this.ctx.specs.values()].map((m) => ({ ...m.perp }));
  }

  spotInstruments(): (SpotSpec & { base: string; quote: string })[] {
    return [...this.ctx.spotSpecs.values()].map((s) => ({ ...s.spec, base: s.base, quote: 'USD' }));
  }

  funding(symbol: string): FundingInfo {
    const { spec, m } = perpMarket(this.ctx, symbol);
    const frozen = frozenAnswer(this.ctx, spec.perp.symbol, 'funding', 'funding');
    if (frozen) return { ...frozen };
    return {
      symbol: spec.perp.symbol,
      currentRate: currentRate(m, spec),
      predictedRate: m.fundingOverride ?? rateFor(m.premium, spec),
      nextFundingTs: m.nextFundingTs,
      fundingIntervalHours: spec.perp.fundingIntervalHours,
    };
  }

  ticker(symbol: string): Ticker {
    const { spec, m } = perpMarket(this.ctx, symbol);
    const frozen = frozenAnswer(this.ctx, spec.perp.symbol, 'mark', 'ticker');
    if (frozen) return { ...frozen };
    return { symbol: spec.perp.symbol, markPrice: m.mark, indexPrice: m.index, lastPrice: round(m.mark, spec.perp.tickSize, 'nearest'), ts: this.ctx.state.now };
  }

  spotTicker(symbol: string): SpotTicker {
    const { spot, m } = spotMarket(this.ctx, symbol);
    return { symbol: spot.spec.symbol, lastPrice: spotPrice(m, spot.spec), ts: this.ctx.state.now };
  }

  openInterest(symbol: string): OpenInterest {
    const { spec, m } = perpMarket(this.ctx, symbol);
    const frozen = frozenAnswer(this.ctx, spec.perp.symbol, 'oi', 'oi');
    if (frozen) return { ...frozen };
    return { symbol: spec.perp.symbol, openInterest: m.oi, openInterestUsd: m.oi * m.mark, ts: this.ctx.state.now };
  }

  account(): Account {
    return account(this.ctx);
  }

  positions(): Position[] {
    const out: Position[] = [];
    for (const p of Object.values(this.ctx.state.positions)) {
      const m = this.ctx.state.markets[p.symbol];
      if (!m) continue;
      out.push({
        symbol: p.symbol,
        side: p.side,
        size: p.size,
        entryPrice: p.entry,
        markPrice: m.mark,
        unrealizedPnl: upnl(p, m.mark),
        liquidationPrice: p.liq,
        leverage: p.leverage,
        margin: p.margin,
      });
    }
    return out;
  }

  accruedFunding(symbol: string): AccruedFunding {
    const { spec } = perpMarket(this.ctx, symbol);
    return { symbol: spec.perp.symbol, amount: this.ctx.state.accrued[spec.perp.symbol] ?? 0 };
  }

  /** Base-currency balances held on the spot side (hedge legs). */
  spotBalances(): Record<string, number> {
    return { USD: this.ctx.state.wallet, ...this.ctx.state.spot };
  }

  listOrders(query: ListOrdersQuery = {}, market: 'perp' | 'spot' = 'perp'): Order[] {
    return this.ctx.book.list(query, market);
  }

  order(orderId: string): Order | null {
    const o = this.ctx.book.get(orderId);
    return o ? publicOrder(o) : null;
  }

  liquidations(): LiquidationRecord[] {
    return this.ctx.state.liquidations.map((l) => ({ ...l }));
  }

  fundingHistory(): FundingRecord[] {
    return this.ctx.state.fundingHistory.map((f) => ({ ...f }));
  }

  // --- orders ---------------------------------------------------------------------------------------------

  placeOrder(req: PaperOrderRequest, nowMs: number): Order {
    return placePerpOrder(this.ctx, req, nowMs);
  }

  placeSpotOrder(req: PaperSpotOrderRequest, nowMs: number): Order {
    return placeSpotOrder(this.ctx, req, nowMs);
  }

  cancelOrder(orderId: string, _nowMs: number): Order {
    return cancelOrder(this.ctx, orderId);
  }

  // --- market ---------------------------------------------------------------------------------------------

  /**
   * Advances every market to `nowMs`: price walk (or replay), premium and OI drift, a cascade step, funding
   * stamps settled in time order, liquidations and resting fills. Time never runs backwards: an earlier `nowMs`
   * still applies a cascade step but moves nothing else.
   */
  tick(nowMs: number): void {
    const ctx = this.ctx;
    const to = Math.max(ctx.state.now, Math.trunc(nowMs));
    for (const [symbol, spec] of ctx.specs) {
      const m = ctx.state.markets[symbol]!;
      let t = ctx.state.now;
      while (m.nextFundingTs <= to) {
        const stamp = m.nextFundingTs;
        evolveMarket(m, spec, t, stamp, this.volatility, this.replay[symbol]);
        afterMove(ctx, spec, stamp);
        settleFunding(ctx, m, spec, stamp);
        t = stamp;
      }
      evolveMarket(m, spec, t, to, this.volatility, this.replay[symbol]);
      cascadeStep(m);
      afterMove(ctx, spec, to);
    }
    ctx.state.now = to;
  }

  // --- scenario controls ----------------------------------------------------------------------------------

  /** Sets a perp's mark (index follows, keeping the premium), or a spot pair's price (the index). */
  setPrice(symbol: string, price: number): void {
    setPrice(this.ctx, symbol, price);
  }

  /** Pins the funding rate (current and predicted) until `null` clears it. */
  setFunding(symbol: string, rate: number | null): void {
    setFunding(this.ctx, symbol, rate);
  }

  /** Over the next `steps` ticks OI falls `oiDropPct` % and price `priceDropPct` % (compounded evenly). */
  startCascade(symbol: string, opts: CascadeOptions): void {
    startCascade(this.ctx, symbol, opts);
  }

  /**
   * How marketable orders in `symbol` (perp or spot) fill on arrival: `partial` (fill `fraction`, hold the rest),
   * `resting` (hold it all), `reject`, or `normal`. Held orders fill at the first market move after `normal`.
   */
  setFillModel(symbol: string, mode: FillMode, fraction?: number): void {
    setFillModel(this.ctx, symbol, mode, fraction);
  }

  fillModels(): Record<string, FillModel> {
    return { ...this.ctx.state.fillModels };
  }

  /**
   * Freezes a perp's `mark` (ticker), `funding` or `oi` feed, or `all`: `stale` answers with the values and stamp
   * of now from then on, `fail` answers with a 503; `live` undoes it. The market itself carries on.
   */
  setFeedMode(symbol: string, feed: PaperFeed | 'all', mode: FeedMode): void {
    const sym = perpMarket(this.ctx, symbol).spec.perp.symbol;
    // The live answers of this moment: a feed frozen earlier must not lend its old values to a new snapshot.
    const saved = this.ctx.state.frozenFeeds[sym];
    delete this.ctx.state.frozenFeeds[sym];
    let live: LiveAnswers;
    try {
      live = { ticker: this.ticker(sym), funding: this.funding(sym), oi: this.openInterest(sym) };
    } finally {
      if (saved) this.ctx.state.frozenFeeds[sym] = saved;
    }
    setFeedMode(this.ctx, sym, feed, mode, live);
  }

  frozenFeeds(): Record<string, Record<string, FrozenFeed>> {
    return structuredClone(this.ctx.state.frozenFeeds);
  }

  /** A fresh account (balance, no positions, orders or funding) and no scenario overrides; prices carry on. */
  reset(): void {
    reset(this.ctx);
  }

  /** Adds quote currency to the wallet. */
  faucet(amount: number): void {
    faucet(this.ctx, amount);
  }

  // --- persistence ----------------------------------------------------------------------------------------

  /** The live core state; serialise it before the next mutation. */
  core(): CoreState {
    return this.ctx.state;
  }

  allOrders(): OrderState[] {
    return this.ctx.book.all();
  }

  /** Orders changed or forgotten since the last call (for incremental persistence). */
  takeOrderChanges(): { upserts: OrderState[]; deletes: string[] } {
    return this.ctx.book.takeChanges();
  }

  // --- internals: setup -----------------------------------------------------------------------------------

  private fresh(specs: Map<string, MarketSpec>, nowMs: number): CoreState {
    const markets: Record<string, MarketState> = {};
    for (const [symbol, spec] of specs) markets[symbol] = freshMarket(spec, this.seed, this.replay[symbol], nowMs);
    return {
      version: 1, now: nowMs, seq: 0, wallet: this.initialBalance, spot: {}, markets, positions: {}, accrued: {},
      liquidations: [], fundingHistory: [], fillModels: {}, frozenFeeds: {},
    };
  }

  /** A restored state keeps markets still listed and starts fresh ones for new listings. */
  private adopt(specs: Map<string, MarketSpec>, core: CoreState, nowMs: number): CoreState {
    const markets: Record<string, MarketState> = {};
    for (const [symbol, spec] of specs) {
      markets[symbol] = core.markets[symbol] ?? freshMarket(spec, this.seed, this.replay[symbol], Math.max(core.now, Math.trunc(nowMs)));
    }
    const positions: Record<string, PositionState> = {};
    for (const [symbol, p] of Object.entries(core.positions)) if (specs.has(symbol)) positions[symbol] = p;
    return { ...core, markets, positions };
  }
}
