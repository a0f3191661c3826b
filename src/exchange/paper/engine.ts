/**
 * The paper exchange's engine: market state, order matching, isolated-margin positions, liquidation and funding,
 * all in memory and synchronous. No I/O and no clock: every call that can change the market takes `nowMs`.
 * Formulas come from the domain library (funding rate, payment, liquidation price, next stamp, step rounding);
 * this file only decides when they apply.
 */
import {
  fundingPayment, fundingRateBinance, liqPriceIsolated, nextFundingTime, roundWithMode,
  type RoundMode,
} from '../../domain/index.js';
import {
  ExchangeError, type Account, type AccruedFunding, type FundingInfo, type Instrument, type ListOrdersQuery,
  type OpenInterest, type Order, type OrderSide, type PlaceOrderRequest, type Position, type SpotTicker, type Ticker,
} from '../port.js';
import { DEFAULT_MARKETS, type MarketSpec, type SpotSpec } from './instruments.js';
import { ok, rejected, unknownSymbol } from './errors.js';
import { cascadeStep, evolveMarket, freshMarket, moveIndex, type ReplaySeries } from './market.js';

export type { ReplaySeries } from './market.js';
import type {
  CascadeState, CoreState, FundingRecord, LiquidationRecord, MarketState, OrderState, PositionState,
} from './state.js';

export interface Fees {
  perpMaker: number;
  perpTaker: number;
  spotMaker: number;
  spotTaker: number;
}

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

export interface CascadeOptions {
  /** Open interest falls this many percent over the cascade (0 < x < 100). */
  oiDropPct: number;
  /** Price falls this many percent (negative: rises, a short squeeze). */
  priceDropPct: number;
  /** Ticks the move is spread over. */
  steps: number;
}

/** The engine takes exactly the port's request. */
export type PaperOrderRequest = PlaceOrderRequest;

export interface PaperSpotOrderRequest {
  symbol: string;
  side: OrderSide;
  orderType: 'market' | 'limit';
  quantity: number;
  price?: number;
  clientOrderId: string;
}

const HISTORY_MAX = 200;
const CLIENT_ORDER_ID = /^[A-Za-z0-9._:/-]{1,64}$/;
/** Relative slack on size comparisons: sizes are sums of lot multiples and carry float noise. */
const SIZE_EPS = 1e-9;

const DEFAULT_FEES: Fees = { perpMaker: 0.0002, perpTaker: 0.0005, spotMaker: 0.001, spotTaker: 0.001 };

function isFinitePositive(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x) && x > 0;
}

/** Domain step rounding without the input-object wrapper: it runs per market per tick on checked numbers. */
function round(value: number, step: number, mode: RoundMode): number {
  return roundWithMode(value, step, mode);
}

/** True when `x` is a whole multiple of `step` up to float noise. */
function onStep(x: number, step: number): boolean {
  return Math.abs(round(x, step, 'nearest') - x) <= step * 1e-6;
}

function isOpen(o: OrderState): boolean {
  return o.status === 'new' || o.status === 'partially_filled';
}

export class PaperEngine {
  readonly initialBalance: number;
  private readonly specs = new Map<string, MarketSpec>();
  private readonly spotSpecs = new Map<string, { spec: SpotSpec; perp: string; base: string }>();
  private readonly fees: Fees;
  private readonly halfSpread: number;
  private readonly volatility: number;
  private readonly replay: Record<string, ReplaySeries>;
  private readonly maxOrders: number;
  private readonly seed: number;
  private state: CoreState;
  private readonly orders = new Map<string, OrderState>();
  private readonly byClientId = new Map<string, OrderState>();
  /** Resting orders per symbol (perp or spot). */
  private readonly resting = new Map<string, OrderState[]>();
  private reservedQuote = 0;
  private readonly reservedBase = new Map<string, number>();
  private readonly dirtyOrders = new Set<string>();
  private readonly deletedOrders = new Set<string>();

  constructor(config: EngineConfig, nowMs: number, restore?: { core: CoreState; orders: OrderState[] }) {
    const markets = config.markets ?? DEFAULT_MARKETS;
    for (const m of markets) {
      this.specs.set(m.perp.symbol, m);
      if (m.spot) this.spotSpecs.set(m.spot.symbol, { spec: m.spot, perp: m.perp.symbol, base: m.perp.base });
    }
    this.seed = config.seed ?? 1;
    this.initialBalance = config.initialBalance ?? 100_000;
    this.fees = { ...DEFAULT_FEES, ...config.fees };
    this.halfSpread = config.halfSpread ?? 0.00005;
    this.volatility = config.volatilityScale ?? 1;
    this.replay = config.replay ?? {};
    this.maxOrders = config.maxOrders ?? 5000;
    if (!(this.initialBalance > 0) || !(this.volatility >= 0) || !(this.halfSpread >= 0)) {
      throw new RangeError('paper engine: initialBalance > 0, volatilityScale >= 0 and halfSpread >= 0 are required');
    }
    for (const [symbol, r] of Object.entries(this.replay)) {
      if (!this.specs.has(symbol) || r.closes.length === 0 || !(r.msPerBar > 0) || !r.closes.every(isFinitePositive)) {
        throw new RangeError(`paper engine: bad replay series for ${symbol}`);
      }
    }
    this.state = restore ? this.adopt(restore.core, nowMs) : this.fresh(Math.trunc(nowMs));
    for (const o of restore?.orders ?? []) this.index(o);
  }

  // --- queries --------------------------------------------------------------------------------------------

  get now(): number {
    return this.state.now;
  }

  instruments(): Instrument[] {
    return [...this.specs.values()].map((m) => ({ ...m.perp }));
  }

  spotInstruments(): (SpotSpec & { base: string; quote: string })[] {
    return [...this.spotSpecs.values()].map((s) => ({ ...s.spec, base: s.base, quote: 'USD' }));
  }

  funding(symbol: string): FundingInfo {
    const { spec, m } = this.perp(symbol);
    return {
      symbol: spec.perp.symbol,
      currentRate: this.currentRate(m, spec),
      predictedRate: m.fundingOverride ?? this.rateFor(m.premium, spec),
      nextFundingTs: m.nextFundingTs,
      fundingIntervalHours: spec.perp.fundingIntervalHours,
    };
  }

  ticker(symbol: string): Ticker {
    const { spec, m } = this.perp(symbol);
    return { symbol: spec.perp.symbol, markPrice: m.mark, indexPrice: m.index, lastPrice: round(m.mark, spec.perp.tickSize, 'nearest'), ts: this.state.now };
  }

  spotTicker(symbol: string): SpotTicker {
    const { spot, m } = this.spotMarket(symbol);
    return { symbol: spot.spec.symbol, lastPrice: this.spotPrice(m, spot.spec), ts: this.state.now };
  }

  openInterest(symbol: string): OpenInterest {
    const { spec, m } = this.perp(symbol);
    return { symbol: spec.perp.symbol, openInterest: m.oi, openInterestUsd: m.oi * m.mark, ts: this.state.now };
  }

  account(): Account {
    const s = this.state;
    let upnl = 0;
    let margin = 0;
    for (const p of Object.values(s.positions)) {
      const m = s.markets[p.symbol];
      if (!m) continue;
      upnl += this.upnl(p, m.mark);
      margin += p.margin;
    }
    let spotValue = 0;
    for (const info of this.spotSpecs.values()) {
      const bal = s.spot[info.base] ?? 0;
      const m = s.markets[info.perp];
      if (bal !== 0 && m) spotValue += bal * this.spotPrice(m, info.spec);
    }
    const used = margin + this.reservedQuote;
    return { equity: s.wallet + upnl + spotValue, availableMargin: s.wallet - used, usedMargin: used, currency: 'USD' };
  }

  positions(): Position[] {
    const out: Position[] = [];
    for (const p of Object.values(this.state.positions)) {
      const m = this.state.markets[p.symbol];
      if (!m) continue;
      out.push({
        symbol: p.symbol,
        side: p.side,
        size: p.size,
        entryPrice: p.entry,
        markPrice: m.mark,
        unrealizedPnl: this.upnl(p, m.mark),
        liquidationPrice: p.liq,
        leverage: p.leverage,
        margin: p.margin,
      });
    }
    return out;
  }

  accruedFunding(symbol: string): AccruedFunding {
    const { spec } = this.perp(symbol);
    return { symbol: spec.perp.symbol, amount: this.state.accrued[spec.perp.symbol] ?? 0 };
  }

  /** Base-currency balances held on the spot side (hedge legs). */
  spotBalances(): Record<string, number> {
    return { USD: this.state.wallet, ...this.state.spot };
  }

  listOrders(query: ListOrdersQuery = {}, market: 'perp' | 'spot' = 'perp'): Order[] {
    let list: OrderState[];
    if (query.clientOrderId !== undefined) {
      const o = this.byClientId.get(query.clientOrderId);
      list = o ? [o] : [];
    } else {
      list = [...this.orders.values()];
    }
    return list
      .filter((o) => o.market === market && (query.status === undefined || o.status === query.status))
      .map(publicOrder);
  }

  order(orderId: string): Order | null {
    const o = this.orders.get(orderId);
    return o ? publicOrder(o) : null;
  }

  liquidations(): LiquidationRecord[] {
    return this.state.liquidations.map((l) => ({ ...l }));
  }

  fundingHistory(): FundingRecord[] {
    return this.state.fundingHistory.map((f) => ({ ...f }));
  }

  // --- orders ---------------------------------------------------------------------------------------------

  placeOrder(req: PaperOrderRequest, nowMs: number): Order {
    const prior = this.prior(req.clientOrderId);
    if (prior) return prior;
    const { spec, m } = this.perp(req.symbol);
    const inst = spec.perp;
    const side = checkSide(req.side);
    const type = checkType(req.orderType);
    this.checkQuantity(req.quantity, inst.lotSize, inst.minQuantity);
    const price = this.checkPrice(type, req.price, inst.tickSize);
    if (typeof req.leverage !== 'number' || !Number.isFinite(req.leverage) || req.leverage < 1) {
      throw rejected('invalid_leverage', `leverage must be a number >= 1, got ${String(req.leverage)}`);
    }
    if (req.leverage > inst.maxLeverage) {
      throw rejected('leverage_too_high', `leverage ${req.leverage} is above the maximum ${inst.maxLeverage} for ${inst.symbol}`);
    }
    if (typeof req.reduceOnly !== 'boolean') throw rejected('invalid_reduce_only', 'reduce_only must be true or false');
    const tif = req.timeInForce ?? 'gtc';
    if (tif !== 'gtc' && tif !== 'ioc') throw rejected('invalid_time_in_force', 'time_in_force must be gtc or ioc');
    const pos = this.state.positions[inst.symbol];
    if (req.reduceOnly) {
      const opposite = side === 'buy' ? 'short' : 'long';
      if (!pos || pos.side !== opposite) {
        throw rejected('reduce_only_rejected', `reduce-only ${side} needs an open ${opposite} position in ${inst.symbol}`);
      }
      if (req.quantity > pos.size * (1 + SIZE_EPS)) {
        throw rejected('reduce_only_rejected', `reduce-only quantity ${req.quantity} exceeds the position size ${pos.size}`);
      }
    }
    const o = this.newOrder(req.clientOrderId, 'perp', inst.symbol, side, type, req.quantity, price, req.reduceOnly,
      req.leverage, tif, nowMs);
    const ask = round(m.mark * (1 + this.halfSpread), inst.tickSize, 'up');
    const bid = round(m.mark * (1 - this.halfSpread), inst.tickSize, 'down');
    const touch = side === 'buy' ? ask : bid;
    const marketable = price === null || (side === 'buy' ? price >= ask : price <= bid);
    if (marketable) {
      const need = this.openingMargin(inst.symbol, side, o.quantity, touch, o.leverage, o.reduceOnly)
        + o.quantity * touch * this.fees.perpTaker;
      this.requireAvailable(need, 'insufficient_margin');
      this.fillPerp(o, touch, this.fees.perpTaker, nowMs);
    } else if (tif === 'ioc') {
      o.status = 'canceled';
      o.rejectReason = 'ioc_not_marketable';
    } else {
      const reserve = this.openingMargin(inst.symbol, side, o.quantity, price, o.leverage, o.reduceOnly, true)
        + (o.reduceOnly ? 0 : o.quantity * price * this.fees.perpMaker);
      this.requireAvailable(reserve, 'insufficient_margin');
      // Counted into the reserved totals when the order is indexed.
      o.reserved = reserve;
    }
    this.record(o);
    return publicOrder(o);
  }

  placeSpotOrder(req: PaperSpotOrderRequest, nowMs: number): Order {
    const prior = this.prior(req.clientOrderId);
    if (prior) return prior;
    const { spot, m } = this.spotMarket(req.symbol);
    const side = checkSide(req.side);
    const type = checkType(req.orderType);
    this.checkQuantity(req.quantity, spot.spec.lotSize, spot.spec.minQuantity);
    const price = this.checkPrice(type, req.price, spot.spec.tickSize);
    const o = this.newOrder(req.clientOrderId, 'spot', spot.spec.symbol, side, type, req.quantity, price, false, 1,
      'gtc', nowMs);
    const ref = m.index;
    const ask = round(ref * (1 + this.halfSpread), spot.spec.tickSize, 'up');
    const bid = round(ref * (1 - this.halfSpread), spot.spec.tickSize, 'down');
    const touch = side === 'buy' ? ask : bid;
    const marketable = price === null || (side === 'buy' ? price >= ask : price <= bid);
    if (marketable) {
      this.checkSpotFunds(spot.base, side, o.quantity, touch, this.fees.spotTaker);
      this.fillSpot(o, spot.base, touch, this.fees.spotTaker);
    } else {
      this.checkSpotFunds(spot.base, side, o.quantity, price, this.fees.spotMaker);
      if (side === 'buy') o.reserved = o.quantity * price * (1 + this.fees.spotMaker);
      else o.reservedBase = o.quantity;
    }
    this.record(o);
    return publicOrder(o);
  }

  cancelOrder(orderId: string, nowMs: number): Order {
    const o = typeof orderId === 'string' ? this.orders.get(orderId) : undefined;
    if (!o) throw new ExchangeError('http', `order ${String(orderId).slice(0, 64)} not found`, 404, 'order_not_found');
    if (!isOpen(o)) throw rejected('order_not_open', `order ${o.orderId} is ${o.status} and cannot be canceled`);
    this.closeResting(o);
    return publicOrder(o);
  }

  // --- market ---------------------------------------------------------------------------------------------

  /**
   * Advances every market to `nowMs`: price walk (or replay), premium and OI drift, a cascade step, funding
   * stamps settled in time order, liquidations and resting fills. Time never runs backwards: an earlier `nowMs`
   * still applies a cascade step but moves nothing else.
   */
  tick(nowMs: number): void {
    const to = Math.max(this.state.now, Math.trunc(nowMs));
    for (const [symbol, spec] of this.specs) {
      const m = this.state.markets[symbol]!;
      let t = this.state.now;
      while (m.nextFundingTs <= to) {
        const stamp = m.nextFundingTs;
        evolveMarket(m, spec, t, stamp, this.volatility, this.replay[symbol]);
        this.afterMove(spec, stamp);
        this.settleFunding(m, spec, stamp);
        t = stamp;
      }
      evolveMarket(m, spec, t, to, this.volatility, this.replay[symbol]);
      cascadeStep(m);
      this.afterMove(spec, to);
    }
    this.state.now = to;
  }

  /** Sets a perp's mark (index follows, keeping the premium), or a spot pair's price (the index). */
  setPrice(symbol: string, price: number): void {
    if (!isFinitePositive(price)) throw rejected('invalid_price', `price must be a positive number, got ${String(price)}`);
    const sym = canonical(symbol);
    const spotInfo = this.spotSpecs.get(sym);
    const perpSymbol = spotInfo ? spotInfo.perp : sym;
    const spec = this.specs.get(perpSymbol);
    const m = this.state.markets[perpSymbol];
    if (!spec || !m) throw unknownSymbol(symbol);
    const index = spotInfo ? price : price / (1 + m.premium);
    moveIndex(m, index / m.index);
    if (!spotInfo) m.mark = price;
    this.afterMove(spec, this.state.now);
  }

  /** Pins the funding rate (current and predicted) until `null` clears it. */
  setFunding(symbol: string, rate: number | null): void {
    const { m } = this.perp(symbol);
    if (rate !== null && (typeof rate !== 'number' || !Number.isFinite(rate) || Math.abs(rate) >= 1)) {
      throw rejected('invalid_rate', `funding rate must be a number between -1 and 1, got ${String(rate)}`);
    }
    m.fundingOverride = rate;
  }

  /** Over the next `steps` ticks OI falls `oiDropPct` % and price `priceDropPct` % (compounded evenly). */
  startCascade(symbol: string, opts: CascadeOptions): void {
    const { m } = this.perp(symbol);
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
  reset(): void {
    const s = this.state;
    s.wallet = this.initialBalance;
    s.spot = {};
    s.positions = {};
    s.accrued = {};
    s.liquidations = [];
    s.fundingHistory = [];
    for (const m of Object.values(s.markets)) {
      m.fundingOverride = null;
      m.cascade = null;
    }
    for (const id of this.orders.keys()) {
      this.deletedOrders.add(id);
      this.dirtyOrders.delete(id);
    }
    this.orders.clear();
    this.byClientId.clear();
    this.resting.clear();
    this.reservedQuote = 0;
    this.reservedBase.clear();
  }

  /** Adds quote currency to the wallet. */
  faucet(amount: number): void {
    if (!isFinitePositive(amount) || amount > 1e12) throw rejected('invalid_amount', 'amount must be a positive number');
    this.state.wallet += amount;
  }

  // --- persistence ----------------------------------------------------------------------------------------

  /** The live core state; serialise it before the next mutation. */
  core(): CoreState {
    return this.state;
  }

  allOrders(): OrderState[] {
    return [...this.orders.values()];
  }

  /** Orders changed or forgotten since the last call (for incremental persistence). */
  takeOrderChanges(): { upserts: OrderState[]; deletes: string[] } {
    const upserts: OrderState[] = [];
    for (const id of this.dirtyOrders) {
      const o = this.orders.get(id);
      if (o) upserts.push(o);
    }
    const deletes = [...this.deletedOrders];
    this.dirtyOrders.clear();
    this.deletedOrders.clear();
    return { upserts, deletes };
  }

  // --- internals: setup -----------------------------------------------------------------------------------

  private fresh(nowMs: number): CoreState {
    const markets: Record<string, MarketState> = {};
    for (const [symbol, spec] of this.specs) markets[symbol] = freshMarket(spec, this.seed, this.replay[symbol], nowMs);
    return {
      version: 1, now: nowMs, seq: 0, wallet: this.initialBalance, spot: {}, markets, positions: {}, accrued: {},
      liquidations: [], fundingHistory: [],
    };
  }

  /** A restored state keeps markets still listed and starts fresh ones for new listings. */
  private adopt(core: CoreState, nowMs: number): CoreState {
    const markets: Record<string, MarketState> = {};
    for (const [symbol, spec] of this.specs) {
      markets[symbol] = core.markets[symbol] ?? freshMarket(spec, this.seed, this.replay[symbol], Math.max(core.now, Math.trunc(nowMs)));
    }
    const positions: Record<string, PositionState> = {};
    for (const [symbol, p] of Object.entries(core.positions)) if (this.specs.has(symbol)) positions[symbol] = p;
    return { ...core, markets, positions };
  }

  private index(o: OrderState): void {
    this.orders.set(o.orderId, o);
    this.byClientId.set(o.clientOrderId, o);
    if (isOpen(o)) {
      this.restingList(o.symbol).push(o);
      this.reservedQuote += o.reserved;
      if (o.reservedBase > 0) {
        const base = this.spotSpecs.get(o.symbol)?.base;
        if (base) this.reservedBase.set(base, (this.reservedBase.get(base) ?? 0) + o.reservedBase);
      }
    }
  }

  private record(o: OrderState): void {
    this.index(o);
    this.dirtyOrders.add(o.orderId);
    if (this.orders.size > this.maxOrders) this.forgetOldOrders();
  }

  /** Drops the oldest closed orders down to 90 % of the cap, so trimming is not paid on every order. */
  private forgetOldOrders(): void {
    const target = Math.floor(this.maxOrders * 0.9);
    for (const [id, o] of this.orders) {
      if (this.orders.size <= target) break;
      if (isOpen(o)) continue;
      this.orders.delete(id);
      if (this.byClientId.get(o.clientOrderId) === o) this.byClientId.delete(o.clientOrderId);
      this.dirtyOrders.delete(id);
      this.deletedOrders.add(id);
    }
  }

  // --- internals: lookups and checks ----------------------------------------------------------------------

  private perp(symbol: string): { spec: MarketSpec; m: MarketState } {
    const sym = canonical(symbol);
    const spec = this.specs.get(sym);
    const m = this.state.markets[sym];
    if (!spec || !m) throw unknownSymbol(symbol);
    return { spec, m };
  }

  private spotMarket(symbol: string): { spot: { spec: SpotSpec; perp: string; base: string }; m: MarketState } {
    const spot = this.spotSpecs.get(canonical(symbol));
    const m = spot ? this.state.markets[spot.perp] : undefined;
    if (!spot || !m) throw unknownSymbol(symbol);
    return { spot, m };
  }

  private prior(clientOrderId: unknown): Order | null {
    if (typeof clientOrderId !== 'string' || !CLIENT_ORDER_ID.test(clientOrderId)) {
      throw rejected('invalid_client_order_id', 'client_order_id must be 1-64 characters of A-Z a-z 0-9 . _ : / -');
    }
    const o = this.byClientId.get(clientOrderId);
    return o ? publicOrder(o) : null;
  }

  private checkQuantity(q: unknown, lot: number, min: number): asserts q is number {
    if (!isFinitePositive(q)) throw rejected('invalid_quantity', `quantity must be a positive number, got ${String(q)}`);
    if (!onStep(q, lot)) throw rejected('invalid_quantity', `quantity ${q} is not a multiple of the lot size ${lot}`);
    if (q < min * (1 - SIZE_EPS)) throw rejected('below_min_quantity', `quantity ${q} is below the minimum ${min}`);
  }

  private checkPrice(type: 'market' | 'limit', price: unknown, tick: number): number | null {
    if (type === 'market') {
      if (price !== undefined && price !== null) throw rejected('invalid_price', 'a market order takes no price');
      return null;
    }
    if (!isFinitePositive(price)) throw rejected('invalid_price', 'a limit order needs a positive price');
    if (!onStep(price, tick)) throw rejected('invalid_price', `price ${price} is not a multiple of the tick size ${tick}`);
    return price;
  }

  private requireAvailable(need: number, code: string): void {
    const available = this.account().availableMargin;
    if (need > available + 1e-9) {
      throw rejected(code, `needs ${need.toFixed(2)} USD of margin, ${Math.max(0, available).toFixed(2)} available`);
    }
  }

  private checkSpotFunds(base: string, side: OrderSide, qty: number, price: number, feeRate: number): void {
    if (side === 'buy') {
      this.requireAvailable(qty * price * (1 + feeRate), 'insufficient_balance');
      return;
    }
    const free = (this.state.spot[base] ?? 0) - (this.reservedBase.get(base) ?? 0);
    if (qty > free * (1 + SIZE_EPS) + 1e-12) {
      throw rejected('insufficient_balance', `needs ${qty} ${base}, ${Math.max(0, free)} available`);
    }
  }

  /**
   * Margin the order would lock when it fills: only the part that opens or adds exposure. A resting order
   * reserves for its whole size (`resting`), because the position it would reduce may be gone by then.
   */
  private openingMargin(
    symbol: string, side: OrderSide, qty: number, price: number, leverage: number, reduceOnly: boolean, resting = false,
  ): number {
    if (reduceOnly) return 0;
    const pos = this.state.positions[symbol];
    const opposing = !resting && pos && pos.side !== (side === 'buy' ? 'long' : 'short') ? pos.size : 0;
    return (Math.max(0, qty - opposing) * price) / leverage;
  }

  private newOrder(
    clientOrderId: string, market: 'perp' | 'spot', symbol: string, side: OrderSide, orderType: 'market' | 'limit',
    quantity: number, price: number | null, reduceOnly: boolean, leverage: number, timeInForce: 'gtc' | 'ioc',
    nowMs: number,
  ): OrderState {
    this.state.seq += 1;
    return {
      orderId: `P${String(this.state.seq).padStart(8, '0')}`, clientOrderId, market, symbol, side, orderType, quantity,
      price, status: 'new', filledQuantity: 0, avgPrice: null, reduceOnly, leverage, timeInForce, reserved: 0,
      reservedBase: 0, fee: 0, ts: Math.trunc(nowMs),
    };
  }

  // --- internals: fills, positions, funding ---------------------------------------------------------------

  private fillPerp(o: OrderState, price: number, feeRate: number, nowMs: number, qty = o.quantity): void {
    const spec = this.specs.get(o.symbol)!;
    const fee = qty * price * feeRate;
    this.state.wallet -= fee;
    this.applyPerpFill(spec, o.side === 'buy' ? 'long' : 'short', qty, price, o.leverage, nowMs);
    o.filledQuantity = qty;
    o.avgPrice = price;
    o.fee = fee;
    o.status = 'filled';
    this.dirtyOrders.add(o.orderId);
  }

  private applyPerpFill(spec: MarketSpec, dir: 'long' | 'short', qty: number, price: number, lev: number, nowMs: number): void {
    const s = this.state;
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
      s.positions[symbol] = this.withLiq(spec, {
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
    this.withLiq(spec, cur);
  }

  private withLiq(spec: MarketSpec, p: PositionState): PositionState {
    p.liq = ok(liqPriceIsolated({
      side: p.side, entry: p.entry, leverage: p.leverage, mmr: spec.perp.maintenanceMarginRate,
    }), 'liquidation price');
    return p;
  }

  private fillSpot(o: OrderState, base: string, price: number, feeRate: number): void {
    const s = this.state;
    const lot = this.spotSpecs.get(o.symbol)!.spec.lotSize;
    const notional = o.quantity * price;
    const fee = notional * feeRate;
    const held = s.spot[base] ?? 0;
    if (o.side === 'buy') {
      s.wallet -= notional + fee;
      s.spot[base] = round(held + o.quantity, lot, 'nearest');
    } else {
      s.wallet += notional - fee;
      const left = round(Math.max(0, held - o.quantity), lot, 'nearest');
      if (left > 0) s.spot[base] = left;
      else delete s.spot[base];
    }
    o.filledQuantity = o.quantity;
    o.avgPrice = price;
    o.fee = fee;
    o.status = 'filled';
    this.dirtyOrders.add(o.orderId);
  }

  private upnl(p: PositionState, mark: number): number {
    return (p.side === 'long' ? 1 : -1) * p.size * (mark - p.entry);
  }

  private rateFor(premium: number, spec: MarketSpec): number {
    return ok(fundingRateBinance({ premium, intervalHours: spec.perp.fundingIntervalHours }), 'funding rate');
  }

  /** The rate the next stamp will settle: from the interval's time-weighted premium so far. */
  private currentRate(m: MarketState, spec: MarketSpec): number {
    if (m.fundingOverride !== null) return m.fundingOverride;
    return this.rateFor(m.premiumMs > 0 ? m.premiumSum / m.premiumMs : m.premium, spec);
  }

  private settleFunding(m: MarketState, spec: MarketSpec, stamp: number): void {
    const s = this.state;
    const symbol = spec.perp.symbol;
    const rate = this.currentRate(m, spec);
    const pos = s.positions[symbol];
    let payment = 0;
    if (pos) {
      payment = ok(fundingPayment({ side: pos.side, size: pos.size, price: m.mark, rate }), 'funding payment');
      s.wallet += payment;
      s.accrued[symbol] = (s.accrued[symbol] ?? 0) + payment;
    }
    s.fundingHistory.push({ symbol, ts: stamp, rate, markPrice: m.mark, payment });
    if (s.fundingHistory.length > HISTORY_MAX) s.fundingHistory.splice(0, s.fundingHistory.length - HISTORY_MAX);
    m.lastSettledRate = rate;
    m.premiumSum = 0;
    m.premiumMs = 0;
    m.nextFundingTs = ok(nextFundingTime({ nowMs: stamp, intervalHours: spec.perp.fundingIntervalHours }), 'funding time').nextMs;
  }

  // --- internals: market moves ----------------------------------------------------------------------------

  private spotPrice(m: MarketState, spot: SpotSpec): number {
    return round(m.index, spot.tickSize, 'nearest');
  }

  private afterMove(spec: MarketSpec, nowMs: number): void {
    this.checkLiquidation(spec, nowMs);
    this.matchResting(spec, nowMs);
  }

  /** Liquidated at the liquidation price: the isolated margin is lost, the position and its OI leave the book. */
  private checkLiquidation(spec: MarketSpec, nowMs: number): void {
    const s = this.state;
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
    for (const o of [...this.restingList(symbol)]) {
      if (o.reduceOnly) this.closeResting(o, 'position_liquidated');
    }
  }

  private matchResting(spec: MarketSpec, nowMs: number): void {
    const m = this.state.markets[spec.perp.symbol]!;
    const perpList = this.resting.get(spec.perp.symbol);
    if (perpList && perpList.length) {
      // Backwards: a fill removes the order from this list.
      for (let i = perpList.length - 1; i >= 0; i--) {
        const o = perpList[i]!;
        const px = o.price!;
        if (o.side === 'buy' ? m.mark <= px : m.mark >= px) this.fillRestingPerp(o, nowMs);
      }
    }
    const spot = spec.spot;
    const spotList = spot ? this.resting.get(spot.symbol) : undefined;
    if (spot && spotList && spotList.length) {
      const price = this.spotPrice(m, spot);
      const base = spec.perp.base;
      for (let i = spotList.length - 1; i >= 0; i--) {
        const o = spotList[i]!;
        const px = o.price!;
        if (o.side === 'buy' ? price <= px : price >= px) {
          this.release(o, base);
          this.fillSpot(o, base, px, this.fees.spotMaker);
          this.unrest(o);
        }
      }
    }
  }

  private fillRestingPerp(o: OrderState, nowMs: number): void {
    const price = o.price!;
    this.release(o, null);
    let qty = o.quantity;
    if (o.reduceOnly) {
      const pos = this.state.positions[o.symbol];
      if (!pos || pos.side === (o.side === 'buy' ? 'long' : 'short')) {
        this.closeResting(o, 'position_closed');
        return;
      }
      qty = Math.min(qty, pos.size);
    } else {
      const need = this.openingMargin(o.symbol, o.side, qty, price, o.leverage, false) + qty * price * this.fees.perpMaker;
      if (need > this.account().availableMargin + 1e-9) {
        this.closeResting(o, 'insufficient_margin');
        return;
      }
    }
    this.fillPerp(o, price, this.fees.perpMaker, nowMs, qty);
    if (qty < o.quantity) {
      // The position was smaller than the reduce-only order: the rest would open exposure, so it is dropped.
      o.status = 'canceled';
      o.rejectReason = 'reduce_only_remainder_canceled';
    }
    this.unrest(o);
  }

  private closeResting(o: OrderState, reason?: string): void {
    this.release(o, this.spotSpecs.get(o.symbol)?.base ?? null);
    o.status = 'canceled';
    if (reason !== undefined) o.rejectReason = reason;
    this.unrest(o);
    this.dirtyOrders.add(o.orderId);
  }

  private release(o: OrderState, base: string | null): void {
    this.reservedQuote -= o.reserved;
    if (this.reservedQuote < 1e-9) this.reservedQuote = 0;
    o.reserved = 0;
    if (base && o.reservedBase > 0) {
      const left = (this.reservedBase.get(base) ?? 0) - o.reservedBase;
      if (left > 1e-12) this.reservedBase.set(base, left);
      else this.reservedBase.delete(base);
    }
    o.reservedBase = 0;
  }

  private restingList(symbol: string): OrderState[] {
    let list = this.resting.get(symbol);
    if (!list) {
      list = [];
      this.resting.set(symbol, list);
    }
    return list;
  }

  private unrest(o: OrderState): void {
    const list = this.resting.get(o.symbol);
    if (!list) return;
    const i = list.indexOf(o);
    if (i >= 0) list.splice(i, 1);
  }
}

function canonical(symbol: unknown): string {
  return typeof symbol === 'string' ? symbol.trim().toUpperCase() : '';
}

function checkSide(side: unknown): OrderSide {
  if (side !== 'buy' && side !== 'sell') throw rejected('invalid_side', 'side must be buy or sell');
  return side;
}

function checkType(type: unknown): 'market' | 'limit' {
  if (type !== 'market' && type !== 'limit') throw rejected('invalid_order_type', 'order_type must be market or limit');
  return type;
}

function publicOrder(o: OrderState): Order {
  const order: Order = {
    orderId: o.orderId,
    clientOrderId: o.clientOrderId,
    symbol: o.symbol,
    side: o.side,
    orderType: o.orderType,
    quantity: o.quantity,
    price: o.price,
    status: o.status,
    filledQuantity: o.filledQuantity,
    avgPrice: o.avgPrice,
    reduceOnly: o.reduceOnly,
    ts: o.ts,
  };
  if (o.rejectReason !== undefined) order.rejectReason = o.rejectReason;
  return order;
}
