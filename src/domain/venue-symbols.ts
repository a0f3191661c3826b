/**
 * The desk's perp symbols and ccxt's unified ones (issue 17): `BTC-PERP` is a linear perpetual of BTC, which a venue
 * lists as `BTC/USDT:USDT` (USDT-margined) or `BTC/USDC:USDC` (USDC-margined, e.g. Hyperliquid). Dated futures
 * (`BTC/USDT:USDT-250328`) and inverse contracts (`BTC/USD:BTC`) are not the desk's perp.
 */

/** Stablecoin settlements in the order a venue's listing is preferred. */
export const PERP_SETTLES = ['USDT', 'USDC'] as const;

/** `BTC-PERP` → `['BTC/USDT:USDT', 'BTC/USDC:USDC']`; anything but `<BASE>-PERP` → []. */
export function venueSymbolCandidates(deskSymbol: string): string[] {
  const m = /^([A-Z0-9]+)-PERP$/.exec(typeof deskSymbol === 'string' ? deskSymbol.trim().toUpperCase() : '');
  if (!m) return [];
  return PERP_SETTLES.map((q) => `${m[1]}/${q}:${q}`);
}

/** `BTC/USDT:USDT` or `BTC/USDC:USDC` → `BTC-PERP`; dated, inverse or other symbols → null. */
export function deskSymbolOf(unified: string): string | null {
  const m = /^([A-Z0-9]+)\/([A-Z0-9]+):([A-Z0-9]+)$/.exec(typeof unified === 'string' ? unified : '');
  if (!m || m[2] !== m[3] || !(PERP_SETTLES as readonly string[]).includes(m[2]!)) return null;
  return `${m[1]}-PERP`;
}
