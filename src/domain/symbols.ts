/**
 * Symbol resolution for chat input. People type `btc`, `BTC`, `btc-perp` or ` BTC-PERP `; the exchange knows
 * perps as `<BASE>-PERP` and spot as `<BASE>-USD`. A typo gets the closest valid symbols instead of a guess:
 * trading the wrong market is worse than asking again.
 */
import { distance } from 'fastest-levenshtein';

export type ResolvedSymbol = { symbol: string };
export type UnknownSymbol = { error: 'unknown_symbol'; closest: string[] };

const MAX_SUGGESTIONS = 3;

/** Upper-case, trimmed, with `_`, `/` and inner spaces read as the `-` separator. */
function normalize(input: unknown): string {
  return typeof input === 'string' ? input.trim().toUpperCase().replace(/[\s_/]+/g, '-') : '';
}

/** Resolve free text against the exchange's symbols; a bare base means its perp. */
export function resolveSymbol(input: string, symbols: readonly string[]): ResolvedSymbol | UnknownSymbol {
  const known = new Map<string, string>();
  for (const s of Array.isArray(symbols) ? symbols : []) {
    if (typeof s === 'string' && s.length > 0) known.set(s.toUpperCase(), s);
  }
  const text = normalize(input);
  const wanted = text.includes('-') ? text : `${text}-PERP`;
  const exact = known.get(text) ?? known.get(wanted);
  if (text.length > 0 && exact !== undefined) return { symbol: exact };

  const closest = [...known.entries()]
    .map(([upper, original]) => ({ original, d: distance(wanted, upper) }))
    .sort((a, b) => a.d - b.d || (a.original < b.original ? -1 : a.original > b.original ? 1 : 0))
    .slice(0, MAX_SUGGESTIONS)
    .map((c) => c.original);
  return { error: 'unknown_symbol', closest };
}

/**
 * The spot market hedging a perp: `BTC-PERP` (or `btc`) -> `BTC-USD`. Callers pass an already resolved perp
 * symbol, so this only swaps the suffix; anything odd yields a symbol the exchange will reject by name.
 */
export function spotSymbolFor(perp: string): string {
  const text = normalize(perp);
  const base = text.endsWith('-PERP') ? text.slice(0, -'-PERP'.length) : text;
  return `${base}-USD`;
}
