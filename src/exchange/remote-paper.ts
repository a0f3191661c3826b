/**
 * The shared paper exchange of `npm run paper-exchange`, reached over its REST API: the Purple Flea client for
 * trading, plus the server's `/paper/...` scenario routes so `/paper` works as with the embedded one. It lets the
 * bot and any number of workers trade on one paper market (PAPER_EXCHANGE_URL).
 */
import axios, { type AxiosInstance } from 'axios';
import type { Logger } from '../log.js';
import { ExchangeError } from './port.js';
import { PurpleFleaClient } from './purpleflea.js';
import type { FillMode } from './paper/fill-models.js';
import type { FeedMode, PaperFeed } from './paper/feed-freeze.js';

/** The paper server accepts any non-empty key unless it was started with one. */
const PAPER_KEY = 'paper';

export class RemotePaperExchange extends PurpleFleaClient {
  override readonly name = 'paper';
  readonly #http: AxiosInstance;

  constructor(opts: { baseUrl: string; log?: Logger }) {
    super({ baseUrl: opts.baseUrl, apiKey: PAPER_KEY, log: opts.log });
    this.#http = axios.create({ baseURL: opts.baseUrl.replace(/\/+$/, ''), timeout: 10_000, headers: { 'X-API-Key': PAPER_KEY } });
  }

  setPrice(symbol: string, price: number): Promise<void> {
    return this.#post('/paper/price', { symbol, price });
  }

  setFunding(symbol: string, rate: number | null): Promise<void> {
    return this.#post('/paper/funding', { symbol, rate });
  }

  startCascade(symbol: string, o: { oiDropPct: number; priceDropPct: number; steps: number }): Promise<void> {
    return this.#post('/paper/cascade', { symbol, oi_drop_pct: o.oiDropPct, price_drop_pct: o.priceDropPct, steps: o.steps });
  }

  setFillModel(symbol: string, mode: FillMode, fraction?: number): Promise<void> {
    return this.#post('/paper/fill', { symbol, mode, ...(fraction === undefined ? {} : { fraction }) });
  }

  setFeedMode(symbol: string, feed: PaperFeed | 'all', mode: FeedMode): Promise<void> {
    return this.#post('/paper/feed', { symbol, feed, mode });
  }

  reset(): Promise<void> {
    return this.#post('/paper/reset', {});
  }

  async #post(path: string, body: object): Promise<void> {
    try {
      await this.#http.post(path, body);
    } catch (e) {
      const res = axios.isAxiosError(e) ? e.response : undefined;
      const err = (res?.data as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new ExchangeError(res ? 'http' : 'network', err?.message ?? `paper exchange scenario call failed (${res?.status ?? 'no answer'})`, res?.status, err?.code);
    }
  }
}
