/**
 * ccxt is large (~660 ms and ~80 MB RSS to import): it is loaded on first use, only when MARKET_VENUES is set, and
 * only once per process.
 */
import { ConfigError } from '../errors.js';
import type { CcxtExchange } from './ccxt-shape.js';

export interface CcxtModule {
  exchanges: string[];
  version: string;
  [id: string]: unknown;
}

let loading: Promise<CcxtModule> | undefined;

export function loadCcxt(): Promise<CcxtModule> {
  loading ??= import('ccxt').then((m) => ((m as { default?: unknown }).default ?? m) as CcxtModule);
  return loading;
}

/** Every id must be one of ccxt's exchanges: one line naming the variable and the bad id otherwise. */
export function checkVenueIds(ids: readonly string[], known: readonly string[]): void {
  const set = new Set(known);
  const bad = ids.filter((id) => !set.has(id));
  if (bad.length > 0) {
    throw new ConfigError(`MARKET_VENUES: ${bad.map((b) => `"${b}"`).join(', ')} ${bad.length === 1 ? 'is not a ccxt exchange id' : 'are not ccxt exchange ids'} (e.g. binanceusdm, bybit, okx, hyperliquid)`);
  }
}

export type CcxtConstructor = new (config: Record<string, unknown>) => CcxtExchange;

export function constructorOf(mod: CcxtModule, id: string): CcxtConstructor {
  const C = mod[id];
  if (typeof C !== 'function') throw new ConfigError(`MARKET_VENUES: "${id}" is not a ccxt exchange id`);
  return C as CcxtConstructor;
}
