/**
 * The Purple Flea REST client (interfaces.md §3). Reads retry with jittered backoff; a `Retry-After` holds every
 * request to the venue (see venue-hold.ts), not only the call that got it. Order placement is never retried blindly:
 * after an ambiguous failure it asks the exchange for the client_order_id and re-sends the same id only when the
 * exchange has no record of it.
 */
import axios, { type AxiosInstance, type Method } from 'axios';
import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import {
  ExchangeError, type Account, type AccruedFunding, type Exchange, type FundingInfo, type Instrument,
  type ListOrdersQuery, type OpenInterest, type Order, type PlaceOrderRequest, type PlaceSpotOrderRequest,
  type Position, type SpotTicker, type Ticker,
} from './port.js';
import {
  AccountBody, AccruedFundingBody, ErrorEnvelope, FullWireOrder, FundingBody, InstrumentsBody, OpenInterestBody, OrdersBody,
  PositionsBody, SpotTickerBody, TickerBody, WireOrder, parseBody, toOrder, type OrderDefaults,
} from './schemas.js';
import { AbortedError, backoffDelay, parseRetryAfter, sleep, type BackoffPolicy } from './retry.js';
import { venueHoldFor, venueHoldKey, type VenueHold } from './venue-hold.js';
import { exchangeRequestDuration, exchangeRequestErrorsTotal, rateLimitedTotal } from '../metrics/registry.js';

export interface PurpleFleaClientOptions {
  baseUrl: string;
  apiKey: string;
  /** Per request, whole exchange (connect to last byte). Default 10 s. */
  timeoutMs?: number;
  /** Extra attempts for reads, and re-sends of an order the exchange proved it never received. Default 3. */
  retries?: number;
  log?: Logger;
  /** Backoff base/ceiling; tests shorten them. Defaults 250 ms doubling to 8 s. */
  backoff?: Partial<BackoffPolicy>;
  /** A `Retry-After` longer than this is not waited out: the call fails as `rate_limited`. Default 60 s. */
  maxRetryAfterMs?: number;
  /**
   * How long a read waits for the venue's hold to pass before it fails with "the exchange is rate-limiting us,
   * retrying in N s" (someone is usually waiting for the answer). Order placement waits up to `maxRetryAfterMs`.
   * Default 5 s.
   */
  maxHoldWaitMs?: number;
  /** The venue's hold; default the process-wide one of `baseUrl` (shared by every client of that venue). */
  hold?: VenueHold;
  /** Share the hold with every PerpDesk process on this Redis (see VenueHold.shareThroughRedis). */
  holdRedisUrl?: string;
}

interface RawResponse {
  status: number;
  retryAfter: string | undefined;
  text: string;
}

/** One attempt's outcome, classified for the retry loops. */
type Attempt =
  | { ok: true; body: unknown }
  | { ok: false; error: ExchangeError; sent: 'no' | 'maybe' | 'rejected'; retryAfterMs: number | null };

/** Network failures that happen before a byte of the request left: nothing can have been placed. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

function errorCode(e: unknown): string | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && code !== 'ERR_CANCELED') return code;
  const cause = (e as { cause?: unknown }).cause;
  return cause === undefined ? undefined : errorCode(cause);
}

export class PurpleFleaClient implements Exchange {
  readonly name: string = 'purpleflea';
  readonly #http: AxiosInstance;
  readonly #secret: string;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #backoff: BackoffPolicy;
  readonly #maxRetryAfterMs: number;
  readonly #maxHoldWaitMs: number;
  readonly #hold: VenueHold;
  readonly #log: Logger;
  readonly #closing = new AbortController();
  readonly #unshare: Promise<() => Promise<void>> | undefined;

  constructor(opts: PurpleFleaClientOptions) {
    if (typeof opts.apiKey !== 'string' || opts.apiKey.trim() === '') {
      throw new ConfigError('Purple Flea API key is empty');
    }
    const retries = opts.retries ?? 3;
    const timeoutMs = opts.timeoutMs ?? 10_000;
    if (!Number.isInteger(retries) || retries < 0) throw new ConfigError('Purple Flea retries must be an integer >= 0');
    if (!(timeoutMs > 0)) throw new ConfigError('Purple Flea timeoutMs must be > 0');
    this.#secret = opts.apiKey;
    this.#timeoutMs = timeoutMs;
    this.#retries = retries;
    this.#backoff = { baseDelayMs: 250, maxDelayMs: 8000, ...opts.backoff };
    this.#maxRetryAfterMs = opts.maxRetryAfterMs ?? 60_000;
    this.#maxHoldWaitMs = opts.maxHoldWaitMs ?? 5_000;
    this.#hold = opts.hold ?? venueHoldFor(opts.baseUrl);
    if (opts.holdRedisUrl) this.#unshare = this.#hold.shareThroughRedis(opts.holdRedisUrl, venueHoldKey(opts.baseUrl), opts.log);
    this.#log = opts.log ?? silentLogger;
    this.#http = axios.create({
      baseURL: opts.baseUrl.replace(/\/+$/, ''),
      headers: { 'X-API-Key': opts.apiKey, Accept: 'application/json' },
      // Status handling and JSON parsing are ours: a 5xx must not become an AxiosError carrying the
      // request config (and so the key), and a bad body must become `malformed`, not a SyntaxError.
      validateStatus: () => true,
      responseType: 'text',
      transformResponse: [(d: unknown) => d],
      maxRedirects: 0,
    });
  }

  instruments(): Promise<Instrument[]> {
    return this.read('/perp/instruments', {}, InstrumentsBody, 'instruments');
  }

  funding(symbol: string): Promise<FundingInfo> {
    return this.read('/perp/funding', { symbol }, FundingBody, 'funding');
  }

  ticker(symbol: string): Promise<Ticker> {
    return this.read('/perp/ticker', { symbol }, TickerBody, 'ticker');
  }

  spotTicker(symbol: string): Promise<SpotTicker> {
    return this.read('/spot/ticker', { symbol }, SpotTickerBody, 'spot ticker');
  }

  openInterest(symbol: string): Promise<OpenInterest> {
    return this.read('/perp/oi', { symbol }, OpenInterestBody, 'open interest');
  }

  account(): Promise<Account> {
    return this.read('/account', {}, AccountBody, 'account');
  }

  positions(): Promise<Position[]> {
    return this.read('/perp/positions', {}, PositionsBody, 'positions');
  }

  accruedFunding(symbol: string): Promise<AccruedFunding> {
    return this.read('/perp/accrued-funding', { symbol }, AccruedFundingBody, 'accrued funding');
  }

  listOrders(query: ListOrdersQuery = {}): Promise<Order[]> {
    return this.read('/perp/orders', orderQuery(query), OrdersBody, 'orders');
  }

  /** Spot orders, e.g. to find a hedge leg by client_order_id. */
  listSpotOrders(query: ListOrdersQuery = {}): Promise<Order[]> {
    return this.read('/spot/orders', orderQuery(query), OrdersBody, 'spot orders');
  }

  placeOrder(req: PlaceOrderRequest): Promise<Order> {
    const body: Record<string, unknown> = {
      symbol: req.symbol,
      side: req.side,
      order_type: req.orderType,
      quantity: req.quantity,
      leverage: req.leverage,
      reduce_only: req.reduceOnly,
      client_order_id: req.clientOrderId,
    };
    if (req.price !== undefined) body.price = req.price;
    if (req.timeInForce !== undefined) body.time_in_force = req.timeInForce;
    return this.place('/perp/orders', body, {
      symbol: req.symbol, side: req.side, orderType: req.orderType, quantity: req.quantity,
      price: req.price ?? null, reduceOnly: req.reduceOnly, ts: Date.now(),
    }, req.clientOrderId, (q) => this.listOrders(q));
  }

  placeSpotOrder(req: PlaceSpotOrderRequest): Promise<Order> {
    const body: Record<string, unknown> = {
      symbol: req.symbol,
      side: req.side,
      order_type: req.orderType,
      quantity: req.quantity,
      client_order_id: req.clientOrderId,
    };
    if (req.price !== undefined) body.price = req.price;
    return this.place('/spot/orders', body, {
      symbol: req.symbol, side: req.side, orderType: req.orderType, quantity: req.quantity,
      price: req.price ?? null, reduceOnly: false, ts: Date.now(),
    }, req.clientOrderId, (q) => this.listSpotOrders(q));
  }

  /** One attempt: a retried cancel of a cancel that did land would only earn a confusing "not open" error. */
  cancelOrder(orderId: string): Promise<Order> {
    return this.cancel('perp', orderId);
  }

  cancelSpotOrder(orderId: string): Promise<Order> {
    return this.cancel('spot', orderId);
  }

  async close(): Promise<void> {
    this.#closing.abort();
    await (await this.#unshare)?.();
  }

  // --- internals -----------------------------------------------------------------------------------------

  private async cancel(market: 'perp' | 'spot', orderId: string): Promise<Order> {
    const out = await this.attempt('DELETE', `/${market}/orders/${encodeURIComponent(orderId)}`, {}, 'cancel order', this.#maxRetryAfterMs);
    if (!out.ok) throw out.error;
    return parseBody(FullWireOrder, out.body, 'cancel order');
  }

  private async read<S extends z.ZodType>(
    path: string, params: Record<string, string>, schema: S, what: string,
  ): Promise<z.output<S>> {
    const body = await this.withRetry(() => this.attempt('GET', path, { params }, what, this.#maxHoldWaitMs), what);
    return parseBody(schema, body, what);
  }

  /** Retries an idempotent call on timeouts, network errors, 5xx and 429 (waiting `Retry-After`). */
  private async withRetry(run: () => Promise<Attempt>, what: string): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      const out = await run();
      if (out.ok) return out.body;
      if (out.sent === 'rejected' || attempt >= this.#retries) throw out.error;
      const delayMs = this.delayFor(out, attempt);
      this.#log.warn({ what, attempt: attempt + 1, delayMs, kind: out.error.kind, status: out.error.status },
        'exchange call failed; retrying');
      await this.pause(delayMs, out.error);
    }
  }

  /**
   * Places an order at most once. A definite answer (2xx or 4xx) ends it. After an ambiguous failure
   * (timeout, reset, 5xx, 429) the exchange is asked for the client_order_id: an order found is returned;
   * only "no such order" allows re-sending the same id. If the lookup itself fails, the state is unknown and
   * the call fails rather than risk a second order.
   */
  private async place(
    path: string, body: Record<string, unknown>, defaults: OrderDefaults, clientOrderId: string,
    lookup: (q: ListOrdersQuery) => Promise<Order[]>,
  ): Promise<Order> {
    if (typeof clientOrderId !== 'string' || clientOrderId.trim() === '') {
      throw new ExchangeError('rejected', 'place order: client_order_id is required', undefined, 'invalid_client_order_id');
    }
    const what = 'place order';
    for (let attempt = 0; ; attempt++) {
      const out = await this.attempt('POST', path, { data: body }, what, this.#maxRetryAfterMs);
      if (out.ok) {
        try {
          return toOrder(parseBody(WireOrder, out.body, what), defaults);
        } catch (e) {
          // A 2xx means accepted: never re-send; the listing may still describe the order properly.
          const found = await this.findOrder(lookup, clientOrderId, e as ExchangeError);
          if (found) return found;
          throw e;
        }
      }
      if (out.error.kind === 'malformed') {
        const found = await this.findOrder(lookup, clientOrderId, out.error);
        if (found) return found;
        throw out.error;
      }
      if (out.sent === 'rejected') throw out.error;
      if (out.sent === 'maybe') {
        if (out.retryAfterMs !== null) await this.pause(this.delayFor(out, attempt), out.error);
        const found = await this.findOrder(lookup, clientOrderId, out.error);
        if (found) {
          this.#log.info({ clientOrderId, attempt: attempt + 1 }, 'order found after ambiguous failure');
          return found;
        }
      }
      if (attempt >= this.#retries) throw out.error;
      this.#log.warn({ clientOrderId, attempt: attempt + 1, kind: out.error.kind, status: out.error.status },
        'exchange has no record of the order; re-sending the same client_order_id');
      await this.pause(backoffDelay(attempt, this.#backoff), out.error);
    }
  }

  private async findOrder(
    lookup: (q: ListOrdersQuery) => Promise<Order[]>, clientOrderId: string, cause: ExchangeError,
  ): Promise<Order | null> {
    let orders: Order[];
    try {
      orders = await lookup({ clientOrderId });
    } catch (e) {
      const why = e instanceof ExchangeError ? e.message : 'lookup failed';
      throw new ExchangeError(cause.kind,
        `order ${clientOrderId} state unknown (${cause.message}; lookup: ${why}); ` +
        'look it up by client_order_id before placing it again', cause.status, cause.code);
    }
    return orders.find((o) => o.clientOrderId === clientOrderId) ?? null;
  }

  private delayFor(out: Extract<Attempt, { ok: false }>, attempt: number): number {
    return out.retryAfterMs ?? backoffDelay(attempt, this.#backoff);
  }

  private async pause(ms: number, cause: ExchangeError): Promise<void> {
    try {
      await sleep(ms, this.#closing.signal);
    } catch (e) {
      if (e instanceof AbortedError) throw new ExchangeError(cause.kind, `${cause.message} (client closed)`, cause.status, cause.code);
      throw e;
    }
  }

  private async attempt(
    method: Method, path: string, opts: { params?: Record<string, string>; data?: unknown }, what: string, maxHoldWaitMs: number,
  ): Promise<Attempt> {
    try {
      await this.awaitHold(what, maxHoldWaitMs);
    } catch (e) {
      // Held back before anything was sent: nothing to retry or look up now; the message says when.
      if (e instanceof ExchangeError) return { ok: false, error: e, sent: 'rejected', retryAfterMs: null };
      throw e;
    }
    return this.request(method, path, opts, what, maxHoldWaitMs);
  }

  /** One request sent, metered by route template: its time, and the kind of its failure (a 429 also as a rate limit). */
  private async request(
    method: Method, path: string, opts: { params?: Record<string, string>; data?: unknown }, what: string, maxHoldWaitMs: number,
  ): Promise<Attempt> {
    const labels = { venue: this.name, route: routeTemplate(method, path) };
    const end = exchangeRequestDuration.startTimer(labels);
    const out = await this.requestOnce(method, path, opts, what, maxHoldWaitMs).finally(() => end());
    if (!out.ok) exchangeRequestErrorsTotal.inc({ ...labels, kind: out.error.kind });
    if (!out.ok && out.error.status === 429) rateLimitedTotal.inc({ platform: 'exchange', venue: this.name });
    return out;
  }

  private async requestOnce(
    method: Method, path: string, opts: { params?: Record<string, string>; data?: unknown }, what: string, maxHoldWaitMs: number,
  ): Promise<Attempt> {
    let raw: RawResponse;
    try {
      raw = await this.send(method, path, opts);
    } catch (e) {
      if (e instanceof ExchangeError) {
        const sent = e.kind === 'network' && NOT_SENT_CODES.has(e.code ?? '') ? 'no' : 'maybe';
        return { ok: false, error: this.scrub(e, what), sent, retryAfterMs: null };
      }
      throw e;
    }
    if (raw.status >= 200 && raw.status < 300) {
      try {
        return { ok: true, body: raw.text === '' ? {} : JSON.parse(raw.text) };
      } catch {
        // A 2xx with a body we cannot read: the request landed, so it is not retried as "maybe".
        return { ok: false, error: new ExchangeError('malformed', `malformed ${what} response: not JSON`, raw.status), sent: 'rejected', retryAfterMs: null };
      }
    }
    const error = this.scrub(this.httpError(raw, what), what);
    if (raw.status === 429) {
      const retryAfterMs = parseRetryAfter(raw.retryAfter) ?? backoffDelay(0, this.#backoff);
      // The venue means the client: every caller holds until then, not just this one.
      this.#hold.hold(retryAfterMs);
      this.#log.warn({ what, retryAfterMs }, 'exchange is rate-limiting us; every request to it waits');
      if (retryAfterMs > Math.min(maxHoldWaitMs, this.#maxRetryAfterMs)) {
        return { ok: false, error: rateLimited(retryAfterMs), sent: 'rejected', retryAfterMs: null };
      }
      return { ok: false, error: rateLimited(retryAfterMs), sent: 'maybe', retryAfterMs };
    }
    if (raw.status >= 500) return { ok: false, error, sent: 'maybe', retryAfterMs: null };
    return { ok: false, error, sent: 'rejected', retryAfterMs: null };
  }

  /**
   * Waits while the venue's hold lasts (it may be extended meanwhile). A hold longer than the caller may wait fails
   * at once with the time it ends, and nothing is sent.
   */
  private async awaitHold(what: string, maxWaitMs: number): Promise<void> {
    for (let ms = this.#hold.remainingMs(); ms > 0; ms = this.#hold.remainingMs()) {
      if (ms > maxWaitMs) throw rateLimited(ms);
      this.#log.info({ what, retryInMs: ms }, 'exchange is rate-limiting us; request held');
      await this.pause(ms, rateLimited(ms));
    }
  }

  private httpError(raw: RawResponse, what: string): ExchangeError {
    let code = `http_${raw.status}`;
    let message = `HTTP ${raw.status}`;
    try {
      const env = ErrorEnvelope.safeParse(JSON.parse(raw.text));
      if (env.success) {
        code = env.data.error.code;
        message = env.data.error.message || code;
      }
    } catch {
      // Not JSON (a proxy's HTML page): keep the status alone.
    }
    const kind = raw.status === 429 ? 'rate_limited'
      : code === 'unknown_symbol' ? 'unknown_symbol'
        : raw.status === 400 || raw.status === 409 || raw.status === 422 ? 'rejected'
          : 'http';
    return new ExchangeError(kind, `${what} failed: ${code}: ${message.slice(0, 300)}`, raw.status, code);
  }

  /** The key could only reach a message if the exchange echoed it; it never leaves this client. */
  private scrub(e: ExchangeError, what: string): ExchangeError {
    if (!e.message.includes(this.#secret)) return e;
    return new ExchangeError(e.kind, `${what} failed: ${e.message.split(this.#secret).join('[redacted]')}`, e.status, e.code);
  }

  private async send(
    method: Method, path: string, opts: { params?: Record<string, string>; data?: unknown },
  ): Promise<RawResponse> {
    if (this.#closing.signal.aborted) throw new ExchangeError('network', 'exchange client is closed');
    const ctrl = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; ctrl.abort(); }, this.#timeoutMs);
    const onClose = (): void => ctrl.abort();
    this.#closing.signal.addEventListener('abort', onClose, { once: true });
    try {
      const res = await this.#http.request<string>({
        method, url: path, params: opts.params, data: opts.data, signal: ctrl.signal,
      });
      const retryAfter = res.headers['retry-after'];
      return {
        status: res.status,
        retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined,
        text: typeof res.data === 'string' ? res.data : '',
      };
    } catch (e) {
      // Build our own error: axios errors carry the request config, headers included.
      if (timedOut) throw new ExchangeError('timeout', `${method} ${path} timed out after ${this.#timeoutMs} ms`);
      if (this.#closing.signal.aborted) throw new ExchangeError('network', `${method} ${path} aborted: client closed`);
      const code = errorCode(e) ?? 'ERR_NETWORK';
      throw new ExchangeError('network', `${method} ${path} failed: ${code}`, undefined, code);
    } finally {
      clearTimeout(timer);
      this.#closing.signal.removeEventListener('abort', onClose);
    }
  }
}

/** What a caller held back by the venue's Retry-After is told (shown as is in chat). */
function rateLimited(ms: number): ExchangeError {
  return new ExchangeError('rate_limited', `The exchange is rate-limiting us, retrying in ${Math.max(1, Math.ceil(ms / 1000))} s.`, 429, 'rate_limited');
}

/** The route as a metric label: an order id in the path (a cancel) becomes `:id`. */
function routeTemplate(method: string, path: string): string {
  return `${method} ${path.replace(/^(\/(?:perp|spot)\/orders)\/[^/]+$/, '$1/:id')}`;
}

function orderQuery(q: ListOrdersQuery): Record<string, string> {
  const params: Record<string, string> = {};
  if (q.clientOrderId !== undefined) params.client_order_id = q.clientOrderId;
  if (q.status !== undefined) params.status = q.status;
  return params;
}
