import type { Config } from '../config/env.js';
import type { Logger } from '../log.js';
import { MarketVenues } from './market-venues.js';

/** The venues of MARKET_VENUES, or undefined when it is empty (then ccxt is never loaded). */
export async function openConfiguredVenues(config: Pick<Config, 'MARKET_VENUES' | 'MARKET_VENUES_PROXY_URL' | 'MARKET_VENUES_TIMEOUT_MS'>, log: Logger, now?: () => number): Promise<MarketVenues | undefined> {
  if (config.MARKET_VENUES.length === 0) return undefined;
  return MarketVenues.open({ ids: config.MARKET_VENUES, proxyUrl: config.MARKET_VENUES_PROXY_URL, timeoutMs: config.MARKET_VENUES_TIMEOUT_MS, log, now });
}
