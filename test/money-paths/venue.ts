/**
 * The venue of the money-path fault test: the paper engine (in memory: the venue outlives every desk crash) behind
 * the Exchange port, with the answers a real venue and network give an order request injected one call at a time:
 * a timeout before or after the venue accepted it, 429, 5xx before or after, and a desk crash right before or right
 * after the venue accepted it. Partial fills, resting and rejected orders come from the paper engine's own fill
 * models (`setFillModel`), the same scenario controls `/paper partial|resting|reject|normal` sets.
 *
 * Every order that reaches the venue for the first time is handed to `onArrival` with its request, so the
 * invariant checker can look at the desk's state at that instant (paused? cascade?).
 */
import { PaperEngine } from '../../src/exchange/paper/engine.js';
import { DEFAULT_MARKETS } from '../../src/exchange/paper/instruments.js';
import {
  ExchangeError, type Account, type AccruedFunding, type Exchange, type FundingInfo, type Instrument, type ListOrdersQuery,
  type OpenInterest, type Order, type PlaceOrderRequest, type PlaceSpotOrderRequest, type Position, type SpotTicker, type Ticker,
} from '../../src/exchange/port.js';

/** What the next order request meets. `*-after` faults happen once the venue has accepted the order. */
export const PLACE_FAULTS = ['timeout-before', 'timeout-after', '429', '503-before', '503-after', 'crash-before', 'crash-after'] as const;
export type PlaceFault = (typeof PLACE_FAULTS)[number];

/** Thrown into a desk whose process "died": every later call of that process fails too. */
export class CrashError extends Error {
  constructor() {
    super('process crashed (fault test)');
    this.name = 'CrashError';
  }
}

/** One process of the desk: dead after a crash, and then nothing it started may touch the venue or Redis again. */
export interface Life {
  dead: boolean;
}

export interface Arrival {
  market: 'perp' | 'spot';
  request: PlaceOrderRequest | PlaceSpotOrderRequest;
  /** Signed base position (perp) or balance (spot) of the base before the order. */
  perpBefore: number;
  spotBefore: number;
  /** Account before the order: perp notional at mark over every position, equity, and this symbol's mark. */
  notionalBefore: number;
  equityBefore: number;
  mark: number;
}

export interface VenueOptions {
  now: () => number;
  /** Markets listed; default BTC and ETH with their spot pairs. */
  symbols?: string[];
  /** Starting balance (USD); small enough that the account leverage cap can be reached. */
  initialBalance?: number;
}

export class FaultVenue {
  readonly engine: PaperEngine;
  /** Faults of the next order requests (placeOrder, placeSpotOrder), in order. */
  readonly faults: PlaceFault[] = [];
  /** Faults of the next listOrders calls ('timeout'). */
  readonly listFaults: 'timeout'[] = [];
  /** Every order that reached the venue, in arrival order. */
  readonly arrivals: Arrival[] = [];
  onArrival: ((a: Arrival) => Promise<void>) | undefined;

  constructor(private readonly o: VenueOptions) {
    const wanted = new Set(o.symbols ?? ['BTC-PERP', 'ETH-PERP']);
    this.engine = new PaperEngine({ markets: DEFAULT_MARKETS.filter((m) => wanted.has(m.perp.symbol)), volatilityScale: 0, seed: 7, initialBalance: o.initialBalance ?? 100_000 }, o.now());
  }

  /** The Exchange port as one desk process sees it. */
  client(life: Life): Exchange {
    return new VenueClient(this, life);
  }

  perpSize(symbol: string): number {
    const p = this.engine.positions().find((x) => x.symbol === symbol);
    return p ? (p.side === 'long' ? p.size : -p.size) : 0;
  }

  spotBalance(base: string): number {
    return this.engine.spotBalances()[base] ?? 0;
  }

  /** Perp and spot orders the venue holds (closed ones included). */
  orders(): Order[] {
    return [...this.engine.listOrders({}, 'perp'), ...this.engine.listOrders({}, 'spot')];
  }

  async place(life: Life, market: 'perp' | 'spot', req: PlaceOrderRequest | PlaceSpotOrderRequest): Promise<Order> {
    alive(life);
    const fault = this.faults.shift();
    await Promise.resolve();
    alive(life);
    if (fault === 'timeout-before') throw new ExchangeError('timeout', 'request timed out');
    if (fault === '429') throw new ExchangeError('rate_limited', 'rate limited (429) after retries', 429);
    if (fault === '503-before') throw new ExchangeError('http', 'service unavailable', 503);
    if (fault === 'crash-before') throw die(life);
    const base = market === 'perp' ? this.engine.instruments().find((i) => i.symbol === req.symbol)?.base : req.symbol.replace(/-USD$/, '');
    const known = this.engine.listOrders({ clientOrderId: req.clientOrderId }, market).length > 0
      || this.engine.listOrders({ clientOrderId: req.clientOrderId }, market === 'perp' ? 'spot' : 'perp').length > 0;
    const perpBefore = base ? this.perpSize(`${base}-PERP`) : 0;
    const spotBefore = base ? this.spotBalance(base) : 0;
    const notionalBefore = this.engine.positions().reduce((sum, p) => sum + p.size * p.markPrice, 0);
    const equityBefore = this.engine.account().equity;
    const mark = base ? this.engine.ticker(`${base}-PERP`).markPrice : 0;
    // The observer looks at the desk as the request arrives, before the venue answers: once the order exists, a
    // concurrent sweep may already have recorded it.
    if (!known) {
      const a: Arrival = { market, request: { ...req }, perpBefore, spotBefore, notionalBefore, equityBefore, mark };
      this.arrivals.push(a);
      await this.onArrival?.(a);
      alive(life);
    }
    const order = market === 'perp'
      ? this.engine.placeOrder(req as PlaceOrderRequest, this.o.now())
      : this.engine.placeSpotOrder(req as PlaceSpotOrderRequest, this.o.now());
    if (fault === 'timeout-after') throw new ExchangeError('timeout', 'request timed out');
    if (fault === '503-after') throw new ExchangeError('http', 'bad gateway', 502);
    if (fault === 'crash-after') throw die(life);
    alive(life);
    return order;
  }

  async list(life: Life, query: ListOrdersQuery = {}): Promise<Order[]> {
    alive(life);
    await Promise.resolve();
    if (this.listFaults.shift() === 'timeout') throw new ExchangeError('timeout', 'request timed out');
    alive(life);
    return this.engine.listOrders(query, 'perp');
  }
}

function alive(life: Life): void {
  if (life.dead) throw new CrashError();
}

function die(life: Life): CrashError {
  life.dead = true;
  return new CrashError();
}

/** The port over the fault venue for one process; reads are answered from the engine as they are. */
class VenueClient implements Exchange {
  readonly name = 'paper';

  constructor(
    private readonly v: FaultVenue,
    private readonly life: Life,
  ) {}

  async #read<T>(f: () => T): Promise<T> {
    alive(this.life);
    const r = f();
    await Promise.resolve();
    alive(this.life);
    return r;
  }

  instruments(): Promise<Instrument[]> {
    return this.#read(() => this.v.engine.instruments());
  }

  funding(symbol: string): Promise<FundingInfo> {
    return this.#read(() => this.v.engine.funding(symbol));
  }

  ticker(symbol: string): Promise<Ticker> {
    return this.#read(() => this.v.engine.ticker(symbol));
  }

  spotTicker(symbol: string): Promise<SpotTicker> {
    return this.#read(() => this.v.engine.spotTicker(symbol));
  }

  openInterest(symbol: string): Promise<OpenInterest> {
    return this.#read(() => this.v.engine.openInterest(symbol));
  }

  account(): Promise<Account> {
    return this.#read(() => this.v.engine.account());
  }

  positions(): Promise<Position[]> {
    return this.#read(() => this.v.engine.positions());
  }

  accruedFunding(symbol: string): Promise<AccruedFunding> {
    return this.#read(() => this.v.engine.accruedFunding(symbol));
  }

  placeOrder(req: PlaceOrderRequest): Promise<Order> {
    return this.v.place(this.life, 'perp', req);
  }

  placeSpotOrder(req: PlaceSpotOrderRequest): Promise<Order> {
    return this.v.place(this.life, 'spot', req);
  }

  listOrders(query?: ListOrdersQuery): Promise<Order[]> {
    return this.v.list(this.life, query);
  }

  cancelOrder(orderId: string): Promise<Order> {
    return this.#read(() => this.v.engine.cancelOrder(orderId, 0));
  }

  listSpotOrders(query: ListOrdersQuery = {}): Promise<Order[]> {
    return this.#read(() => this.v.engine.listOrders(query, 'spot'));
  }

  /** One book holds both markets' orders. */
  cancelSpotOrder(orderId: string): Promise<Order> {
    return this.cancelOrder(orderId);
  }

  async close(): Promise<void> {}
}
