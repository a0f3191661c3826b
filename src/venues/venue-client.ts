/**
 * One real venue through ccxt: its markets (loaded once, again after a failure), and a reading of one desk symbol —
 * funding, mark and open interest — parsed with zod, with the funding interval read from the venue itself. Errors
 * become a VenueFailure with the reason a person can act on (timeout, rate-limited with Retry-After, bad answer,
 * unavailable, no such market); after a 429 no request goes to that venue until its Retry-After has passed.
 */
import { z } from 'zod';
import { intervalHoursOf } from '../domain/venue-spread.js';
import { venueSymbolCandidates } from '../domain/venue-symbols.js';
import type { Logger } from '../log.js';
import type { CcxtExchange, CcxtMarket } from './ccxt-shape.js';
import type { VenueFailure, VenueFailureReason, VenueOutcome, VenueReading } from './types.js';

const Num = z.number().finite();
const OptNum = z.number().finite().nullish().transform((v) => v ?? null);

const FundingRate = z.object({
  fundingRate: Num,
  fundingTimestamp: OptNum,
  nextFundingRate: OptNum,
  markPrice: OptNum,
  interval: z.string().nullish(),
});
const Ticker = z.object({ markPrice: OptNum, last: OptNum, close: OptNum });
const OpenInterest = z.object({ openInterestAmount: OptNum, openInterestValue: OptNum });
const History = z.array(z.object({ timestamp: Num })).min(2);

/** ccxt fills these from its own constants, not from the venue: they must not pass for the venue's word. */
const CCXT_ASSUMES_INTERVAL = new Set(['hyperliquid']);
const CCXT_ASSUMES_NEXT_FUNDING = new Set(['hyperliquid']);

/** How an interval ccxt reports was read from the venue, per venue (for the reply's footnote). */
const CCXT_INTERVAL_SOURCE: Record<string, string> = {
  bybit: 'instrument info (fundingInterval)',
  okx: 'funding stamps (nextFundingTime − fundingTime)',
};

/** Only the perp markets are loaded where ccxt lets us say so: a fraction of the venue's full listing. */
export const PERP_MARKET_TYPES: Record<string, string[]> = {
  binanceusdm: ['linear'],
  binance: ['linear'],
  bybit: ['linear'],
  okx: ['swap'],
  hyperliquid: ['swap'],
};

/** An interval once read holds for an hour: venues change it rarely and announce it. */
const INTERVAL_TTL_MS = 3_600_000;

export class VenueTimeout extends Error {
  constructor(venue: string, ms: number) {
    super(`${venue} did not answer within ${(ms / 1000).toFixed(1)} s`);
    this.name = 'VenueTimeout';
  }
}

type RequestFn = (path: unknown, api?: unknown, method?: unknown, params?: unknown, headers?: unknown, body?: unknown, config?: unknown) => Promise<unknown>;

interface IntervalInfo { hours: number | null; source: string | null; nextFundingTs: number | null; predicted: number | null; at: number }

export class VenueClient {
  #markets: Promise<Record<string, CcxtMarket>> | undefined;
  #holdUntil = 0;
  #lastRetryAfterMs: number | undefined;
  readonly #intervals = new Map<string, IntervalInfo>();

  constructor(
    readonly id: string,
    private readonly ex: CcxtExchange,
    private readonly timeoutMs: number,
    private readonly now: () => number = Date.now,
    private readonly log?: Logger,
    /** MARKET_VENUES_PROXY_URL: ccxt's messages start URLs with it, and it may carry the relay's credentials. */
    private readonly proxyUrl?: string,
  ) {
    const original = ex.onRestResponse.bind(ex);
    // The only place ccxt shows us the status and headers of every answer: remember a 429's Retry-After.
    ex.onRestResponse = (status, text, url, method, headers, body, reqHeaders, reqBody) => {
      if (status === 429) this.#noteRateLimit(headers);
      return original(status, text, url, method, headers, body, reqHeaders, reqBody);
    };
    // One reading asks several methods that some venues answer from the same endpoint (Hyperliquid's
    // metaAndAssetCtxs weighs 20 of its 1200 per minute; Bybit's tickers serve funding and ticker): identical requests
    // in flight at once share one answer, so the rate limiter spends the venue's budget once.
    const request = (ex['request'] as RequestFn).bind(ex);
    const inFlight = new Map<string, Promise<unknown>>();
    ex['request'] = ((path, api, method, params, headers, body, config) => {
      const key = JSON.stringify([path, api, method, params ?? null, body ?? null]);
      let p = inFlight.get(key);
      if (!p) {
        p = request(path, api, method, params, headers, body, config).finally(() => inFlight.delete(key));
        inFlight.set(key, p);
      }
      // Each caller parses its own copy: a parser that edits its answer must not change another's.
      return p.then((r) => structuredClone(r));
    }) satisfies RequestFn;
  }

  /** One reading of a desk symbol; never rejects. The whole reading has one deadline. */
  async read(symbol: string): Promise<VenueOutcome> {
    const wait = this.#holdUntil - this.now();
    if (wait > 0) return this.#fail(symbol, 'rate_limited', `rate-limited, retrying in ${Math.ceil(wait / 1000)} s`, wait);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new VenueTimeout(this.id, this.timeoutMs)), this.timeoutMs);
    });
    try {
      return { ok: true, reading: await Promise.race([this.#read(symbol), deadline]) };
    } catch (err) {
      const failure = this.#classify(symbol, err);
      // ccxt's message names the URL and the venue's own error text: for the operator's log, not for the chat.
      this.log?.warn({ venue: this.id, symbol, reason: failure.reason, err: { name: (err as Error)?.name, message: this.#redact(String((err as Error)?.message)) } }, 'venue reading failed');
      return { ok: false, failure };
    } finally {
      clearTimeout(timer);
    }
  }

  #redact(message: string): string {
    return this.proxyUrl ? message.split(this.proxyUrl).join('<relay>/') : message;
  }

  async close(): Promise<void> {
    await this.ex.close?.().catch(() => undefined);
  }

  async #read(symbol: string): Promise<VenueReading> {
    const markets = await this.#loadMarkets();
    const market = venueSymbolCandidates(symbol).map((s) => markets[s]).find((m) => m && m.swap === true && m.linear === true && m.active !== false);
    if (!market) throw new NoMarket(`${this.id} lists no linear perpetual for ${symbol}`);
    const m = market.symbol;
    const [fundingRaw, tickerRaw, oiRaw, interval] = await Promise.all([
      this.ex.fetchFundingRate(m),
      this.ex.fetchTicker(m),
      this.ex.has.fetchOpenInterest ? this.ex.fetchOpenInterest(m) : Promise.resolve(null),
      this.#interval(market),
    ]);
    const funding = parse(FundingRate, fundingRaw, 'funding rate');
    const ticker = parse(Ticker, tickerRaw, 'ticker');
    const oi = oiRaw === null ? null : parse(OpenInterest, oiRaw, 'open interest');
    const mark = ticker.markPrice ?? funding.markPrice ?? ticker.last ?? ticker.close;
    let hours: number | null = null;
    let source: string | null = null;
    if (!CCXT_ASSUMES_INTERVAL.has(this.id)) {
      hours = intervalHoursOf(funding.interval);
      source = hours === null ? null : (CCXT_INTERVAL_SOURCE[this.id] ?? 'the venue (via ccxt)');
    }
    if (hours === null && interval.hours !== null) {
      hours = interval.hours;
      source = interval.source;
    }
    const next = CCXT_ASSUMES_NEXT_FUNDING.has(this.id) ? interval.nextFundingTs : (funding.fundingTimestamp ?? interval.nextFundingTs);
    // ccxt counts open interest in contracts (OKX: 0.01 BTC each); the desk counts base units.
    const contract = typeof market.contractSize === 'number' && market.contractSize > 0 ? market.contractSize : 1;
    const oiBase = oi?.openInterestAmount != null ? oi.openInterestAmount * contract : oi?.openInterestValue != null && mark ? oi.openInterestValue / mark : null;
    const oiUsd = oi?.openInterestValue ?? (oiBase !== null && mark ? oiBase * mark : null);
    return {
      venue: this.id,
      symbol,
      market: m,
      fundingRate: funding.fundingRate,
      predictedRate: funding.nextFundingRate ?? interval.predicted,
      intervalHours: hours,
      intervalSource: source,
      nextFundingTs: next,
      markPrice: mark ?? null,
      openInterest: oiBase,
      openInterestUsd: oiUsd,
      takerFee: typeof market.taker === 'number' && Number.isFinite(market.taker) ? market.taker : null,
      ts: this.now(),
    };
  }

  #loadMarkets(): Promise<Record<string, CcxtMarket>> {
    this.#markets ??= this.ex.loadMarkets().catch((err: unknown) => {
      this.#markets = undefined; // the next reading tries again
      throw err;
    });
    return this.#markets;
  }

  /**
   * What ccxt's funding structure does not carry for this venue, asked of the venue itself: Binance's fundingInfo
   * (only symbols with adjusted settings) or else its settlement history; Hyperliquid's predictedFundings (interval,
   * next stamp and predicted rate of its own perp). Cached for an hour; a venue that says nothing leaves it unknown.
   */
  async #interval(market: CcxtMarket): Promise<IntervalInfo> {
    const cached = this.#intervals.get(market.symbol);
    const nowMs = this.now();
    if (cached && nowMs - cached.at < INTERVAL_TTL_MS && this.id !== 'hyperliquid') return cached;
    let info: IntervalInfo = { hours: null, source: null, nextFundingTs: null, predicted: null, at: nowMs };
    if (this.id === 'hyperliquid') info = { ...info, ...(await this.#hyperliquidPredicted(market)) };
    else if (this.id.startsWith('binance')) info = { ...info, ...(await this.#binanceInterval(market)) };
    this.#intervals.set(market.symbol, info);
    return info;
  }

  async #binanceInterval(market: CcxtMarket): Promise<Partial<IntervalInfo>> {
    const fetchIntervals = this.ex['fetchFundingIntervals'];
    if (typeof fetchIntervals === 'function') {
      const raw = (await fetchIntervals.call(this.ex, [market.symbol])) as unknown;
      const list = Array.isArray(raw) ? raw : raw && typeof raw === 'object' ? Object.values(raw) : [];
      const mine = list.find((x) => (x as { symbol?: string })?.symbol === market.symbol) as { interval?: string } | undefined;
      const hours = intervalHoursOf(mine?.interval);
      if (hours !== null) return { hours, source: 'fundingInfo (fundingIntervalHours)' };
    }
    return this.#historyInterval(market);
  }

  /** The gap between the venue's last two settlements of this market. */
  async #historyInterval(market: CcxtMarket): Promise<Partial<IntervalInfo>> {
    if (!this.ex.has.fetchFundingRateHistory || !this.ex.fetchFundingRateHistory) return {};
    const h = History.safeParse(await this.ex.fetchFundingRateHistory(market.symbol, undefined, 3));
    if (!h.success) return {};
    const ts = h.data.map((x) => x.timestamp).sort((a, b) => a - b);
    const gapMs = ts.at(-1)! - ts.at(-2)!;
    // Settlement stamps sit on whole hours; a stamp a few ms late must not make 8 h into 7.999 h.
    const hours = Math.round(gapMs / 3_600_000);
    return hours >= 1 && Math.abs(gapMs - hours * 3_600_000) < 60_000 ? { hours, source: 'settlement history' } : {};
  }

  async #hyperliquidPredicted(market: CcxtMarket): Promise<Partial<IntervalInfo>> {
    const post = this.ex['publicPostInfo'];
    if (typeof post !== 'function') return {};
    const raw = (await post.call(this.ex, { type: 'predictedFundings' })) as unknown;
    const parsed = HlPredicted.safeParse(raw);
    if (!parsed.success) throw new BadAnswer(`${this.id} sent a predictedFundings answer PerpDesk cannot read`);
    const coin = market.base ?? market.symbol.split('/')[0];
    const venues = parsed.data.find(([c]) => c === coin)?.[1] ?? [];
    const hl = venues.find(([v]) => v === 'HlPerp')?.[1];
    if (!hl) return {};
    return {
      hours: hl.fundingIntervalHours ?? null,
      source: hl.fundingIntervalHours ? 'predictedFundings (fundingIntervalHours)' : null,
      nextFundingTs: hl.nextFundingTime ?? null,
      predicted: hl.fundingRate,
    };
  }

  #noteRateLimit(headers: Record<string, string> | undefined): void {
    const raw = Object.entries(headers ?? {}).find(([k]) => k.toLowerCase() === 'retry-after')?.[1];
    const s = raw === undefined ? Number.NaN : Number(raw);
    // Without a usable Retry-After, hold a short while anyway rather than hammer a venue that said stop.
    const ms = Number.isFinite(s) && s >= 0 ? Math.min(s, 3600) * 1000 : 10_000;
    this.#lastRetryAfterMs = Number.isFinite(s) && s >= 0 ? ms : undefined;
    this.#holdUntil = Math.max(this.#holdUntil, this.now() + ms);
  }

  #classify(symbol: string, err: unknown): VenueFailure {
    const name = (err as Error | undefined)?.constructor?.name ?? '';
    if (err instanceof VenueTimeout || name === 'RequestTimeout') return this.#fail(symbol, 'timeout', `no answer within ${(this.timeoutMs / 1000).toFixed(1)} s`).failure;
    const held = this.#holdUntil - this.now();
    if (held > 0 || name === 'RateLimitExceeded' || name === 'DDoSProtection') {
      const after = this.#lastRetryAfterMs;
      return this.#fail(symbol, 'rate_limited', after !== undefined ? `rate-limited (Retry-After ${Math.ceil(after / 1000)} s)` : 'rate-limited', after).failure;
    }
    if (err instanceof NoMarket || name === 'BadSymbol') return this.#fail(symbol, 'no_market', err instanceof NoMarket ? 'no linear perpetual for this symbol' : 'unknown symbol at the venue').failure;
    if (err instanceof BadAnswer || name === 'BadResponse' || name === 'NullResponse' || err instanceof SyntaxError || err instanceof TypeError) {
      return this.#fail(symbol, 'bad_answer', 'sent an answer PerpDesk cannot read').failure;
    }
    if (name === 'NetworkError' || name === 'ExchangeNotAvailable' || name === 'OnMaintenance') return this.#fail(symbol, 'unavailable', 'unavailable (network error or maintenance)').failure;
    return this.#fail(symbol, 'bad_answer', 'answered with an error').failure;
  }

  #fail(symbol: string, reason: VenueFailureReason, detail: string, retryAfterMs?: number): { ok: false; failure: VenueFailure } {
    return { ok: false, failure: { venue: this.id, symbol, reason, detail, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) } };
  }
}

const HlPredicted = z.array(
  z.tuple([
    z.string(),
    z.array(z.tuple([z.string(), z.object({ fundingRate: z.coerce.number().pipe(Num), nextFundingTime: z.number().int().nullish(), fundingIntervalHours: z.number().positive().nullish() }).nullable()]))
      .transform((list) => list.filter((x): x is [string, NonNullable<(typeof x)[1]>] => x[1] !== null)),
  ]),
);

class NoMarket extends Error {}
class BadAnswer extends Error {}

function parse<T>(schema: z.ZodType<T>, raw: unknown, what: string): T {
  const r = schema.safeParse(raw);
  if (!r.success) throw new BadAnswer(`no usable ${what} in the answer`);
  return r.data;
}
