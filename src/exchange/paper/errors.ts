/** The paper exchange's refusals, shaped as the REST API reports them (a 4xx with a stable code). */
import { isDomainError } from '../../domain/index.js';
import { ExchangeError } from '../port.js';

export function rejected(code: string, message: string): ExchangeError {
  return new ExchangeError('rejected', message, 400, code);
}

export function unknownSymbol(symbol: unknown): ExchangeError {
  return new ExchangeError('unknown_symbol', `unknown symbol ${String(symbol).slice(0, 40)}`, 400, 'unknown_symbol');
}

/** Our inputs to the domain are validated already; a domain error here is a bad request that slipped through. */
export function ok<T>(r: T | { error: string }, what: string): T {
  if (isDomainError(r)) throw rejected(r.error, `${what}: ${r.error}`);
  return r;
}
