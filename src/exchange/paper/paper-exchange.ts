/**
 * The paper exchange the app embeds: the in-memory engine behind the `Exchange` port, persisted in Redis after
 * every change so a restart resumes the same account, orders and market. Time comes from an injectable clock.
 */
import type { Redis } from 'ioredis';
import { silentLogger, type Logger } from '../../log.js';
import { closeRedis, createRedis } from '../../queues/redis.js';
import type {
  Account, AccruedFunding, Exchange, FundingInfo, Instrument, ListOrdersQuery, OpenInterest, Order,
  PlaceOrderRequest, PlaceSpotOrderRequest, Position, SpotTicker, Ticker,
} from '../port.js';
import { PaperEngine, type CascadeOptions, type EngineConfig, type FillMode } from './engine.js';
import type { FeedMode, FrozenFeed, PaperFeed } from './feed-freeze.js';
import { CoreState, OrderState, type FillModel, type FundingRecord, type LiquidationRecord } from './state.js';

export interface PaperExchangeOptions extends EngineConfig {
  /** A connection to use (left open on close) or a URL to connect to (closed on close). */
  redis: Redis | string;
  /** Keys live under `${keyPrefix}:paper:`; separate prefixes are separate exchanges. Default `perpdesk`. */
  keyPrefix?: string;
  clock?: () => number;
  log?: Logger;
}

export class PaperStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PaperStateError';
  }
}

export class PaperExchange implements Exchange {
  readonly name = 'paper';
  private timer: NodeJS.Timeout | undefined;
  private pending: Promise<unknown> = Promise.resolve();
  private fullSaveNeeded = false;
  private closed = false;

  private constructor(
    private readonly engine: PaperEngine,
    private readonly redis: Redis,
    private readonly ownsRedis: boolean,
    private readonly coreKey: string,
    private readonly ordersKey: string,
    private readonly clock: () => number,
    private readonly log: Logger,
  ) {}

  /** Loads the state under the prefix, or starts a fresh account and market when there is none. */
  static async open(opts: PaperExchangeOptions): Promise<PaperExchange> {
    const ownsRedis = typeof opts.redis === 'string';
    const redis = typeof opts.redis === 'string' ? createRedis(opts.redis, 'client') : opts.redis;
    const prefix = `${opts.keyPrefix ?? 'perpdesk'}:paper:`;
    const coreKey = `${prefix}core`;
    const ordersKey = `${prefix}orders`;
    const clock = opts.clock ?? Date.now;
    try {
      const [rawCore, rawOrders] = await Promise.all([redis.get(coreKey), redis.hgetall(ordersKey)]);
      const restore = rawCore === null ? undefined : {
        core: parseStored(CoreState, rawCore, coreKey),
        orders: Object.values(rawOrders).map((o) => parseStored(OrderState, o, ordersKey)),
      };
      const engine = new PaperEngine(opts, clock(), restore);
      const ex = new PaperExchange(engine, redis, ownsRedis, coreKey, ordersKey, clock, opts.log ?? silentLogger);
      if (!restore) await ex.save();
      return ex;
    } catch (e) {
      if (ownsRedis) await closeRedis(redis);
      throw e;
    }
  }

  // --- Exchange port --------------------------------------------------------------------------------------

  async instruments(): Promise<Instrument[]> {
    return this.engine.instruments();
  }

  async funding(symbol: string): Promise<FundingInfo> {
    return this.engine.funding(symbol);
  }

  async ticker(symbol: string): Promise<Ticker> {
    return this.engine.ticker(symbol);
  }

  async spotTicker(symbol: string): Promise<SpotTicker> {
    return this.engine.spotTicker(symbol);
  }

  async openInterest(symbol: string): Promise<OpenInterest> {
    return this.engine.openInterest(symbol);
  }

  async account(): Promise<Account> {
    return this.engine.account();
  }

  async positions(): Promise<Position[]> {
    return this.engine.positions();
  }

  async accruedFunding(symbol: string): Promise<AccruedFunding> {
    return this.engine.accruedFunding(symbol);
  }

  async placeOrder(req: PlaceOrderRequest): Promise<Order> {
    return this.mutate(() => this.engine.placeOrder(req, this.clock()));
  }

  async placeSpotOrder(req: PlaceSpotOrderRequest): Promise<Order> {
    return this.mutate(() => this.engine.placeSpotOrder(req, this.clock()));
  }

  async listOrders(query: ListOrdersQuery = {}): Promise<Order[]> {
    return this.engine.listOrders(query, 'perp');
  }

  async cancelOrder(orderId: string): Promise<Order> {
    return this.mutate(() => this.engine.cancelOrder(orderId, this.clock()));
  }

  /** One book holds both markets' orders, so a spot order cancels like a perp one. */
  async cancelSpotOrder(orderId: string): Promise<Order> {
    return this.cancelOrder(orderId);
  }

  /** Stops the timer, waits for the last write, and closes the Redis connection if this exchange opened it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stop();
    await this.pending.catch(() => undefined);
    if (this.ownsRedis) await closeRedis(this.redis);
  }

  // --- paper extras ---------------------------------------------------------------------------------------

  async listSpotOrders(query: ListOrdersQuery = {}): Promise<Order[]> {
    return this.engine.listOrders(query, 'spot');
  }

  async spotBalances(): Promise<Record<string, number>> {
    return this.engine.spotBalances();
  }

  async liquidations(): Promise<LiquidationRecord[]> {
    return this.engine.liquidations();
  }

  async fundingHistory(): Promise<FundingRecord[]> {
    return this.engine.fundingHistory();
  }

  /** Engine time of the last tick (ticker and OI timestamps). */
  get now(): number {
    return this.engine.now;
  }

  /** Advances the market to `nowMs` (default: the clock). */
  async tick(nowMs?: number): Promise<void> {
    return this.mutate(() => this.engine.tick(nowMs ?? this.clock()));
  }

  async setPrice(symbol: string, price: number): Promise<void> {
    return this.mutate(() => this.engine.setPrice(symbol, price));
  }

  async setFunding(symbol: string, rate: number | null): Promise<void> {
    return this.mutate(() => this.engine.setFunding(symbol, rate));
  }

  async startCascade(symbol: string, opts: CascadeOptions): Promise<void> {
    return this.mutate(() => this.engine.startCascade(symbol, opts));
  }

  /** Fill model of a perp or spot symbol: `partial` (with `fraction`), `resting`, `reject` or `normal`. */
  async setFillModel(symbol: string, mode: FillMode, fraction?: number): Promise<void> {
    return this.mutate(() => this.engine.setFillModel(symbol, mode, fraction));
  }

  async fillModels(): Promise<Record<string, FillModel>> {
    return this.engine.fillModels();
  }

  /** Freezes a feed (`stale`: old values and stamp; `fail`: 503) or brings it back (`live`); see feed-freeze.ts. */
  async setFeedMode(symbol: string, feed: PaperFeed | 'all', mode: FeedMode): Promise<void> {
    return this.mutate(() => this.engine.setFeedMode(symbol, feed, mode));
  }

  async frozenFeeds(): Promise<Record<string, Record<string, FrozenFeed>>> {
    return this.engine.frozenFeeds();
  }

  async reset(): Promise<void> {
    return this.mutate(() => this.engine.reset());
  }

  async faucet(amount: number): Promise<void> {
    return this.mutate(() => this.engine.faucet(amount));
  }

  /** Ticks every `intervalMs` until `stop()`/`close()`. */
  start(intervalMs: number): void {
    if (!(Number.isFinite(intervalMs) && intervalMs >= 10)) throw new RangeError('tick interval must be >= 10 ms');
    if (this.closed) throw new Error('paper exchange is closed');
    this.stop();
    this.timer = setInterval(() => {
      this.tick().catch((err: unknown) => this.log.error({ err }, 'paper exchange tick failed'));
    }, intervalMs);
    // The app's own servers keep the process alive; a forgotten timer must not.
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  // --- persistence ----------------------------------------------------------------------------------------

  /** Runs a synchronous engine change, then persists before answering: an acknowledged order survives a restart. */
  private async mutate<T>(change: () => T): Promise<T> {
    if (this.closed) throw new Error('paper exchange is closed');
    const result = change();
    await this.save();
    return result;
  }

  /**
   * Writes the core state and the orders changed since the last write in one MULTI. Commands on one connection
   * run in the order sent, so concurrent saves land in mutation order without waiting for each other.
   */
  private save(): Promise<void> {
    const core = JSON.stringify(this.engine.core());
    const changes = this.engine.takeOrderChanges();
    const upserts = this.fullSaveNeeded ? this.engine.allOrders() : changes.upserts;
    const full = this.fullSaveNeeded;
    this.fullSaveNeeded = false;
    const multi = this.redis.multi();
    if (full) multi.del(this.ordersKey);
    multi.set(this.coreKey, core);
    if (upserts.length) {
      multi.hset(this.ordersKey, Object.fromEntries(upserts.map((o) => [o.orderId, JSON.stringify(o)])));
    }
    if (!full && changes.deletes.length) multi.hdel(this.ordersKey, ...changes.deletes);
    const write = multi.exec().then((results) => {
      const failed = results?.find(([err]) => err);
      if (!results || failed) throw failed?.[0] ?? new Error('paper exchange state write was discarded');
    }).catch((err: unknown) => {
      // The changes taken above are lost for the incremental path: rewrite everything next time.
      this.fullSaveNeeded = true;
      this.log.error({ err }, 'paper exchange state write failed');
      throw err;
    });
    this.pending = write.catch(() => undefined);
    return write;
  }
}

function parseStored<T>(schema: { safeParse(x: unknown): { success: true; data: T } | { success: false } }, raw: string, key: string): T {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    json = undefined;
  }
  const r = schema.safeParse(json);
  if (!r.success) {
    throw new PaperStateError(`paper exchange state at ${key} is unreadable; delete the key or use another prefix`);
  }
  return r.data;
}
