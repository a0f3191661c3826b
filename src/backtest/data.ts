/**
 * Backtest history: funding settlements joined with the perp and spot closes at each settlement stamp.
 * Shipped data (data/, BTC) or user CSVs with the same columns.
 */
import { readFile } from 'node:fs/promises';
import { SHIPPED_DATA_DIR } from '../config/paths.js';
import { UserError } from '../errors.js';
import { allocColumns, type EventColumns } from './engine.js';
import { parseFundingCsv, parseIsoUtc, parsePriceCsv, type FundingColumns, type PriceColumns } from './csv.js';

const MS_PER_HOUR = 3_600_000;

export const DEFAULT_PERP_COLUMN = 'perp_btcusdt_usdtm_close';
export const DEFAULT_SPOT_COLUMN = 'spot_btcusdt_close';
/** A settlement whose exact bar is missing may use an earlier close this many hours old at most. */
export const DEFAULT_MAX_PRICE_AGE_HOURS = 2;

const DATA_DIR = SHIPPED_DATA_DIR;
const SHIPPED: Record<string, { funding: string; prices: string }> = {
  BTC: {
    funding: `${DATA_DIR}funding-binance-btcusdt-8h-2019-09_2023-06.csv`,
    prices: `${DATA_DIR}basis-1h-binance-btc-spot-perp-2021-07_2023-06.csv`,
  },
};

export interface HistoryRequest {
  symbol: string;
  /** Inclusive start: ISO date/time or epoch ms. Absent = start of the data. */
  from?: string | number;
  /** Exclusive end: ISO date/time or epoch ms. Absent = end of the data. */
  to?: string | number;
  /** User CSVs instead of the shipped files; pass both or neither. */
  fundingCsv?: string;
  pricesCsv?: string;
  perpColumn?: string;
  spotColumn?: string;
  maxPriceAgeHours?: number;
}

export interface History {
  symbol: string;
  series: EventColumns;
  /** First and last settlement in `series` (epoch ms). */
  first: number;
  last: number;
  /** Settlements priced from an earlier bar because their own bar is missing. */
  stalePrices: number;
  /** Human-readable caveats, e.g. the requested range was wider than the data. */
  notes: string[];
  sources: { funding: string; prices: string };
}

/** `BTC`, `btc`, `BTCUSDT`, `BTC-PERP`, `BTC-USDT` all mean the BTC perpetual. */
export function normaliseSymbol(symbol: string): string {
  const s = symbol.trim().toUpperCase();
  const m = /^([A-Z0-9]+?)(?:[-_/]?(?:USDT|USD|PERP|USDT-PERP|USD-PERP))?$/.exec(s);
  return m?.[1] ?? s;
}

export function shippedSymbols(): string[] {
  return Object.keys(SHIPPED);
}

/** `2021-01-01` (UTC midnight), a full ISO time with zone, or epoch ms. */
export function parseTime(value: string | number, what: string): number {
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= 0) return value;
  } else {
    const ms = parseIsoUtc(value.trim());
    if (ms !== null) return ms;
  }
  throw new UserError('invalid_time', `${what} "${String(value)}" is not a date (use YYYY-MM-DD or an ISO time with Z)`);
}

const cache = new Map<string, Promise<unknown>>();

/** Shipped files are parsed once per process: the chat command runs many backtests on the same data. */
function cached<T>(key: string, load: () => Promise<T>): Promise<T> {
  let p = cache.get(key) as Promise<T> | undefined;
  if (!p) {
    p = load();
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError('file_unreadable', `cannot read ${what} file ${path}${code ? ` (${code})` : ''}`);
  }
}

export async function loadHistory(req: HistoryRequest): Promise<History> {
  const perpColumn = req.perpColumn ?? DEFAULT_PERP_COLUMN;
  const spotColumn = req.spotColumn ?? DEFAULT_SPOT_COLUMN;
  const maxAge = req.maxPriceAgeHours ?? DEFAULT_MAX_PRICE_AGE_HOURS;
  if (!Number.isFinite(maxAge) || maxAge < 0) {
    throw new UserError('invalid_max_price_age', `max price age must be >= 0 hours, got ${maxAge}`);
  }
  const from = req.from === undefined ? undefined : parseTime(req.from, 'from');
  const to = req.to === undefined ? undefined : parseTime(req.to, 'to');
  if (from !== undefined && to !== undefined && from >= to) {
    throw new UserError('invalid_range', `from (${iso(from)}) must be before to (${iso(to)})`);
  }

  let fundingPath: string;
  let pricesPath: string;
  let funding: FundingColumns;
  let prices: PriceColumns;
  const symbol = normaliseSymbol(req.symbol);
  if (req.fundingCsv !== undefined || req.pricesCsv !== undefined) {
    if (req.fundingCsv === undefined || req.pricesCsv === undefined) {
      throw new UserError('invalid_args', 'pass both --funding and --prices, or neither to use the shipped data');
    }
    fundingPath = req.fundingCsv;
    pricesPath = req.pricesCsv;
    funding = parseFundingCsv(await readText(fundingPath, 'funding'), fundingPath);
    prices = parsePriceCsv(await readText(pricesPath, 'prices'), pricesPath, perpColumn, spotColumn);
  } else {
    const files = SHIPPED[symbol];
    if (!files) {
      throw new UserError(
        'unknown_symbol',
        `no shipped history for ${req.symbol}; shipped: ${shippedSymbols().join(', ')} (or pass --funding and --prices CSVs)`,
      );
    }
    fundingPath = files.funding;
    pricesPath = files.prices;
    funding = await cached(`f:${fundingPath}`, async () => parseFundingCsv(await readText(fundingPath, 'funding'), fundingPath));
    prices = await cached(`p:${pricesPath}:${perpColumn}:${spotColumn}`, async () =>
      parsePriceCsv(await readText(pricesPath, 'prices'), pricesPath, perpColumn, spotColumn));
  }
  const joined = joinHistory(funding, prices, { from, to, maxPriceAgeHours: maxAge, fundingName: fundingPath });
  return { symbol, ...joined, sources: { funding: fundingPath, prices: pricesPath } };
}

export interface JoinOptions {
  from?: number | undefined;
  to?: number | undefined;
  maxPriceAgeHours: number;
  fundingName: string;
}

/**
 * Pairs each settlement stamp T with the close of the hour bar ending at T (bar open T - 1h): the price at which
 * the payment was computed and at which a trade decided on this settlement would fill. Settlements outside the
 * price data's coverage are left out and reported in `notes`; a missing price inside it is an error.
 */
export function joinHistory(
  funding: FundingColumns,
  prices: PriceColumns,
  opts: JoinOptions,
): Omit<History, 'symbol' | 'sources'> {
  const notes: string[] = [];
  const firstClose = firstValid(prices, 1);
  const lastClose = firstValid(prices, -1);
  if (firstClose === null || lastClose === null) {
    throw new UserError('no_data', 'the prices file has no row with both perp and spot prices');
  }
  const coverFrom = Math.max(firstClose, funding.ts[0] as number);
  const coverTo = Math.min(lastClose, funding.ts[funding.ts.length - 1] as number);
  const lo = Math.max(opts.from ?? -Infinity, coverFrom);
  const hi = Math.min(opts.to === undefined ? Infinity : opts.to - 1, coverTo);
  const clipped = (opts.from !== undefined && opts.from < coverFrom) || (opts.to !== undefined && opts.to - 1 > coverTo);

  let start = 0;
  while (start < funding.ts.length && (funding.ts[start] as number) < lo) start++;
  let end = start;
  while (end < funding.ts.length && (funding.ts[end] as number) <= hi) end++;
  const n = end - start;
  if (n <= 0) {
    throw new UserError(
      'no_data',
      `no settlements with prices in the requested range; data covers ${iso(coverFrom)} .. ${iso(coverTo)}`,
    );
  }

  const series = allocColumns(n);
  const maxAgeMs = opts.maxPriceAgeHours * MS_PER_HOUR;
  let stale = 0;
  let p = 0;
  for (let k = 0; k < n; k++) {
    const i = start + k;
    const t = funding.ts[i] as number;
    // Latest complete bar whose close (open + 1h) is at or before the stamp, with both prices present.
    while (p + 1 < prices.ts.length && (prices.ts[p + 1] as number) + MS_PER_HOUR <= t) p++;
    let q = p;
    while (q >= 0 && !(isPriced(prices, q) && (prices.ts[q] as number) + MS_PER_HOUR <= t)) q--;
    const closeAt = q >= 0 ? (prices.ts[q] as number) + MS_PER_HOUR : -Infinity;
    if (t - closeAt > maxAgeMs) {
      const age = q >= 0 ? `the latest close before it is ${iso(closeAt)}` : 'no close before it';
      throw new UserError(
        'price_gap',
        `${opts.fundingName} line ${funding.line[i]} (${iso(t)}): no perp/spot close at the settlement; ${age} ` +
          `(older than ${opts.maxPriceAgeHours} h)`,
      );
    }
    if (closeAt !== t) stale++;
    series.ts[k] = t;
    series.rate[k] = funding.rate[i] as number;
    series.intervalHours[k] = funding.intervalHours[i] as number;
    series.perp[k] = prices.perp[q] as number;
    series.spot[k] = prices.spot[q] as number;
  }
  if (clipped) {
    notes.push(
      `requested range clipped to the data: settlements ${iso(series.ts[0] as number)} .. ${iso(series.ts[n - 1] as number)}`,
    );
  }
  if (stale > 0) notes.push(`${stale} settlement(s) priced from a close up to ${opts.maxPriceAgeHours} h before the stamp (missing bars)`);
  return { series, first: series.ts[0] as number, last: series.ts[n - 1] as number, stalePrices: stale, notes };
}

function isPriced(prices: PriceColumns, i: number): boolean {
  return !Number.isNaN(prices.perp[i]) && !Number.isNaN(prices.spot[i]);
}

/** Close time of the first (dir 1) or last (dir -1) bar with both prices. */
function firstValid(prices: PriceColumns, dir: 1 | -1): number | null {
  const n = prices.ts.length;
  for (let k = 0; k < n; k++) {
    const i = dir === 1 ? k : n - 1 - k;
    if (isPriced(prices, i)) return (prices.ts[i] as number) + MS_PER_HOUR;
  }
  return null;
}

export function iso(ms: number): string {
  return new Date(ms).toISOString().replace(':00.000Z', 'Z');
}
