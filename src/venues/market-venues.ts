/**
 * The venues of MARKET_VENUES, read-only and keyless, through ccxt: one ccxt instance per venue with its rate limiter
 * on and a per-venue timeout, every request sent to `<MARKET_VENUES_PROXY_URL><venue URL>` when a relay is set. Every
 * venue is asked at once and waited for only until its own deadline, so one slow or failing venue never delays or
 * breaks the others.
 */
import type { Logger } from '../log.js';
import { checkVenueIds, constructorOf, loadCcxt } from './ccxt-loader.js';
import type { VenueOutcome, VenueSource } from './types.js';
import { PERP_MARKET_TYPES, VenueClient } from './venue-client.js';

export interface MarketVenuesOptions {
  ids: readonly string[];
  proxyUrl?: string;
  /** Per venue, for a whole reading (markets, funding, ticker, open interest). */
  timeoutMs: number;
  log: Logger;
  now?: () => number;
}

export class MarketVenues implements VenueSource {
  private constructor(
    readonly ids: readonly string[],
    private readonly clients: readonly VenueClient[],
  ) {}

  /** Loads ccxt and checks every id against its exchange list (a ConfigError naming MARKET_VENUES otherwise). */
  static async open(o: MarketVenuesOptions): Promise<MarketVenues> {
    const ccxt = await loadCcxt();
    checkVenueIds(o.ids, ccxt.exchanges);
    const clients = o.ids.map((id) => {
      const Ctor = constructorOf(ccxt, id);
      const types = PERP_MARKET_TYPES[id];
      const ex = new Ctor({
        enableRateLimit: true,
        timeout: o.timeoutMs,
        ...(o.proxyUrl ? { proxyUrl: o.proxyUrl } : {}),
        options: { defaultType: 'swap', ...(types ? { fetchMarkets: { types } } : {}) },
      });
      // Currencies need keys on several venues and say nothing about perps' funding: markets are enough.
      ex.has['fetchCurrencies'] = false;
      return new VenueClient(id, ex, o.timeoutMs, o.now, o.log, o.proxyUrl);
    });
    o.log.info({ venues: o.ids, ccxt: ccxt.version, relay: Boolean(o.proxyUrl) }, 'market venues ready');
    return new MarketVenues(o.ids, clients);
  }

  read(symbol: string): Promise<VenueOutcome[]> {
    return Promise.all(this.clients.map((c) => c.read(symbol)));
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close()));
  }
}
