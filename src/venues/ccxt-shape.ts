/**
 * The part of a ccxt Exchange that PerpDesk uses, typed by hand: ccxt's own declarations are large, and every value
 * that comes back is parsed with zod anyway (venue-client.ts), so nothing here is trusted beyond its shape.
 */
export interface CcxtMarket {
  symbol: string;
  id?: string;
  base?: string;
  swap?: boolean;
  linear?: boolean;
  active?: boolean | null;
  taker?: number | null;
  contractSize?: number | null;
  info?: unknown;
}

export interface CcxtExchange {
  id: string;
  has: Record<string, boolean | string | undefined>;
  markets?: Record<string, CcxtMarket> | null;
  loadMarkets(reload?: boolean): Promise<Record<string, CcxtMarket>>;
  fetchFundingRate(symbol: string, params?: Record<string, unknown>): Promise<unknown>;
  fetchTicker(symbol: string, params?: Record<string, unknown>): Promise<unknown>;
  fetchOpenInterest(symbol: string, params?: Record<string, unknown>): Promise<unknown>;
  fetchFundingInterval?(symbol: string, params?: Record<string, unknown>): Promise<unknown>;
  fetchFundingRateHistory?(symbol?: string, since?: number, limit?: number, params?: Record<string, unknown>): Promise<unknown>;
  /** ccxt's hook on every REST answer before it is parsed; wrapped to hear a 429's Retry-After. */
  onRestResponse(statusCode: number, statusText: string, url: string, method: string, responseHeaders: Record<string, string>, responseBody: string, requestHeaders: unknown, requestBody: unknown): string;
  close?(): Promise<unknown>;
  [method: string]: unknown;
}
